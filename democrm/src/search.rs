//! The demo CRM's search: `filterGroups` (groups OR, filters AND) with
//! HubSpot's operators, free-text `query`, `sorts` and paging. It takes the
//! store's read lock through its caller and must never change a record.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::crm::DemoCrm;
use crate::dates;
use crate::model::{ObjectType, Record, Store};
use crate::query::{parse_after, parse_limit, LIST_DEFAULT_LIMIT, SEARCH_MAX_LIMIT};
use crate::render::{render, Selection};
use crate::reply::{bad_request, object, parse_body, scalar, Answer, Reply};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    filter_groups: Option<Vec<FilterGroupBody>>,
    query: Option<String>,
    properties: Option<Vec<String>>,
    sorts: Option<Vec<Value>>,
    limit: Option<Value>,
    after: Option<Value>,
}

#[derive(Deserialize)]
struct FilterGroupBody {
    filters: Option<Vec<FilterBody>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterBody {
    property_name: String,
    operator: String,
    value: Option<Value>,
    high_value: Option<Value>,
    values: Option<Vec<Value>>,
}

pub(crate) fn search(crm: &DemoCrm, store: &Store, kind: ObjectType, body: &[u8]) -> Answer {
    let request: SearchBody = parse_body(crm, body)?;
    let groups = request
        .filter_groups
        .unwrap_or_default()
        .into_iter()
        .map(|group| {
            group
                .filters
                .unwrap_or_default()
                .into_iter()
                .map(Filter::compile)
                .collect::<Result<Vec<Filter>, String>>()
        })
        .collect::<Result<Vec<Vec<Filter>>, String>>()
        .map_err(|message| bad_request(crm, message))?;
    let sorts = request
        .sorts
        .unwrap_or_default()
        .iter()
        .map(Sort::parse)
        .collect::<Result<Vec<Sort>, String>>()
        .map_err(|message| bad_request(crm, message))?;
    let limit_text = request.limit.as_ref().and_then(scalar);
    let limit = parse_limit(limit_text.as_deref(), LIST_DEFAULT_LIMIT, SEARCH_MAX_LIMIT)
        .map_err(|message| bad_request(crm, message))?
        .min(crm.search_page_cap);
    let after_text = request.after.as_ref().and_then(scalar);
    let after = parse_after(after_text.as_deref()).map_err(|message| bad_request(crm, message))?;
    let text = request
        .query
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());

    // Filters within a group must all hold; any one group suffices; no groups
    // match everything. Search never returns archived records.
    let mut matching: Vec<&Record> = store
        .records(kind)
        .iter()
        .filter(|record| !record.is_archived())
        .filter(|record| {
            groups.is_empty()
                || groups.iter().any(|filters| {
                    filters
                        .iter()
                        .all(|filter| filter.matches(crm.property_value(record, &filter.property)))
                })
        })
        .filter(|record| {
            text.as_deref().is_none_or(|text| {
                kind.searchable_properties().iter().any(|name| {
                    crm.property_value(record, name)
                        .is_some_and(|value| value.to_lowercase().contains(text))
                })
            })
        })
        .collect();
    // A stable sort keeps id order among equal keys.
    matching.sort_by(|a, b| {
        sorts
            .iter()
            .map(|sort| sort.compare(crm, a, b))
            .find(|ordering| *ordering != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });

    let selection = Selection {
        properties: request.properties.unwrap_or_default(),
        history: Vec::new(),
        associations: Vec::new(),
    };
    let results = matching
        .iter()
        .skip(after)
        .take(limit)
        .map(|record| render(crm, kind, record, &selection))
        .collect();
    let mut out = Map::new();
    out.insert("total".into(), Value::from(matching.len()));
    out.insert("results".into(), Value::Array(results));
    let next = after.saturating_add(limit);
    if next < matching.len() {
        out.insert(
            "paging".into(),
            object([("next", object([("after", Value::String(next.to_string()))]))]),
        );
    }
    Ok(Reply::ok(Value::Object(out)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

/// One search filter, checked once before any record is looked at.
struct Filter {
    property: String,
    operator: Operator,
    value: String,
    high_value: String,
    values: Vec<String>,
}

impl Filter {
    fn compile(body: FilterBody) -> Result<Filter, String> {
        let operator = match body.operator.to_ascii_uppercase().as_str() {
            "EQ" => Operator::Eq,
            "NEQ" => Operator::Neq,
            "LT" => Operator::Lt,
            "LTE" => Operator::Lte,
            "GT" => Operator::Gt,
            "GTE" => Operator::Gte,
            "BETWEEN" => Operator::Between,
            "IN" => Operator::In,
            "NOT_IN" => Operator::NotIn,
            "HAS_PROPERTY" => Operator::HasProperty,
            "NOT_HAS_PROPERTY" => Operator::NotHasProperty,
            "CONTAINS_TOKEN" => Operator::ContainsToken,
            "NOT_CONTAINS_TOKEN" => Operator::NotContainsToken,
            other => return Err(format!("Unknown filter operator '{other}'")),
        };
        let value = body.value.as_ref().and_then(scalar);
        let high_value = body.high_value.as_ref().and_then(scalar);
        let mut values: Vec<String> = body
            .values
            .unwrap_or_default()
            .iter()
            .filter_map(scalar)
            .collect();
        let needs_value = !matches!(
            operator,
            Operator::HasProperty | Operator::NotHasProperty | Operator::In | Operator::NotIn
        );
        if needs_value && value.is_none() {
            return Err(format!(
                "Filter on '{}' with operator {} needs a value",
                body.property_name, body.operator
            ));
        }
        if operator == Operator::Between && high_value.is_none() {
            return Err(format!(
                "Filter on '{}' with operator BETWEEN needs a highValue",
                body.property_name
            ));
        }
        if matches!(operator, Operator::In | Operator::NotIn) {
            values.extend(value.clone());
            if values.is_empty() {
                return Err(format!(
                    "Filter on '{}' with operator {} needs values",
                    body.property_name, body.operator
                ));
            }
        }
        Ok(Filter {
            property: body.property_name,
            operator,
            value: value.unwrap_or_default(),
            high_value: high_value.unwrap_or_default(),
            values,
        })
    }

    /// Whether a record whose property holds `actual` passes. An empty value
    /// counts as no value; the negated operators also pass records without one.
    fn matches(&self, actual: Option<&str>) -> bool {
        let actual = actual.filter(|value| !value.is_empty());
        let wanted = self.value.as_str();
        let equal = |value: &str| compare(value, wanted) == Ordering::Equal;
        let in_values = |value: &str| {
            self.values
                .iter()
                .any(|candidate| compare(value, candidate) == Ordering::Equal)
        };
        match self.operator {
            Operator::HasProperty => actual.is_some(),
            Operator::NotHasProperty => actual.is_none(),
            Operator::Eq => actual.is_some_and(equal),
            Operator::Neq => actual.is_none_or(|value| !equal(value)),
            Operator::Lt => actual.is_some_and(|value| compare(value, wanted).is_lt()),
            Operator::Lte => actual.is_some_and(|value| compare(value, wanted).is_le()),
            Operator::Gt => actual.is_some_and(|value| compare(value, wanted).is_gt()),
            Operator::Gte => actual.is_some_and(|value| compare(value, wanted).is_ge()),
            Operator::Between => actual.is_some_and(|value| {
                compare(value, wanted).is_ge() && compare(value, &self.high_value).is_le()
            }),
            Operator::In => actual.is_some_and(in_values),
            Operator::NotIn => actual.is_none_or(|value| !in_values(value)),
            Operator::ContainsToken => actual.is_some_and(|value| contains_token(value, wanted)),
            Operator::NotContainsToken => actual.is_none_or(|value| !contains_token(value, wanted)),
        }
    }
}

/// A plain decimal number (so names like "Nan" or "Infinity" stay text).
fn number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && text.chars().any(|c| c.is_ascii_digit());
    plain.then(|| text.parse::<f64>().ok()).flatten()
}

/// HubSpot compares numbers as numbers, dates also against epoch milliseconds,
/// and text without regard to case.
fn compare(actual: &str, wanted: &str) -> Ordering {
    let date_first = dates::parse_millis(actual).zip(wanted.parse::<i64>().ok());
    let date_second = actual.parse::<i64>().ok().zip(dates::parse_millis(wanted));
    if let Some((a, b)) = date_first.or(date_second) {
        return a.cmp(&b);
    }
    if let (Some(a), Some(b)) = (number(actual), number(wanted)) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    actual.to_lowercase().cmp(&wanted.to_lowercase())
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty())
}

/// CONTAINS_TOKEN: every word of `wanted` is a word of `actual` (case
/// ignored); with `*` wildcards, the pattern matches the whole value or a word.
fn contains_token(actual: &str, wanted: &str) -> bool {
    let actual = actual.to_lowercase();
    let wanted = wanted.trim().to_lowercase();
    if wanted.contains('*') {
        return glob(&wanted, &actual) || tokens(&actual).any(|token| glob(&wanted, token));
    }
    let words: Vec<&str> = tokens(&actual).collect();
    let mut wanted_words = tokens(&wanted).peekable();
    wanted_words.peek().is_some() && wanted_words.all(|word| words.contains(&word))
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle_and_last: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle_and_last.split_last() else {
        return rest.is_empty();
    };
    let mut remaining = rest;
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = remaining.get(at + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    remaining.ends_with(last)
}

/// One sort key of a search: `{"propertyName", "direction"}` or a bare name
/// (a leading `-` meaning descending).
struct Sort {
    property: String,
    descending: bool,
}

impl Sort {
    fn parse(value: &Value) -> Result<Sort, String> {
        match value {
            Value::String(name) => Ok(match name.strip_prefix('-') {
                Some(name) => Sort {
                    property: name.to_string(),
                    descending: true,
                },
                None => Sort {
                    property: name.clone(),
                    descending: false,
                },
            }),
            Value::Object(fields) => {
                let property = fields
                    .get("propertyName")
                    .and_then(Value::as_str)
                    .ok_or("Each sort needs a propertyName")?;
                let direction = fields
                    .get("direction")
                    .and_then(Value::as_str)
                    .unwrap_or("ASCENDING");
                let descending = match direction.to_ascii_uppercase().as_str() {
                    "ASCENDING" => false,
                    "DESCENDING" => true,
                    _ => return Err(format!("Unknown sort direction '{direction}'")),
                };
                Ok(Sort {
                    property: property.to_string(),
                    descending,
                })
            }
            _ => Err("Each sort must be a property name or an object".to_string()),
        }
    }

    /// Records without the property come last in either direction.
    fn compare(&self, crm: &DemoCrm, a: &Record, b: &Record) -> Ordering {
        let first = crm
            .property_value(a, &self.property)
            .filter(|value| !value.is_empty());
        let second = crm
            .property_value(b, &self.property)
            .filter(|value| !value.is_empty());
        match (first, second) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) if self.descending => compare(y, x),
            (Some(x), Some(y)) => compare(x, y),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_globs() {
        assert!(contains_token("Seit meiner Diabetes-Diagnose", "diabetes"));
        assert!(contains_token(
            "ebenezer@scrooge-marley.example",
            "scrooge-marley.example"
        ));
        assert!(!contains_token("Diabetesberatung", "diabetes"));
        assert!(contains_token("Diabetesberatung", "diabetes*"));
        assert!(contains_token("a@b.example", "*.example"));
        assert!(!contains_token("anything", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abcd"));
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
    }

    #[test]
    fn compares_numbers_dates_and_text() {
        assert_eq!(compare("9", "10"), Ordering::Less);
        assert_eq!(compare("2021-01-08", "2023-11-29"), Ordering::Less);
        assert_eq!(compare("2021-01-08", "1700000000000"), Ordering::Less);
        assert_eq!(compare("Nürnberg", "NÜRNBERG"), Ordering::Equal);
        assert_eq!(compare("Nan", "nan"), Ordering::Equal);
    }
}
