//! HubSpot lists crmgate pages itself: a list (`GET …/{type}`) refilled to the client's
//! page size over what the caller is shown, or pushed down into a search that carries the
//! row condition; a filtered page read as its records' JSON text and the next cursor; the
//! client's answer written from those records. This module must never rebuild a record:
//! the filter's text is copied as it is.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::search::{Filter, Operator, Scalar, SEARCH_MAX_LIMIT};
use crate::error::RequestError;
use crate::policy::plan::{RowCondition, OTHER_VALUE};
use crate::routes::{AttrSource, AttrValue, ResourceProfile};
use crate::stages::sanitize;
use crate::stages::vendor::{PageRead, PushedList, RefilledList};

/// HubSpot's cap and default for a list page (`limit`).
const LIST_MAX_LIMIT: usize = 100;
const LIST_DEFAULT_LIMIT: usize = 10;
/// Most vendor pages one refilled client page may take.
const LIST_MAX_PAGES: usize = 20;

/// A HubSpot list (`GET …/{type}`) crmgate refills: the client's query without its page.
pub(super) struct RefilledPlan {
    pub(super) path: String,
    /// The client's other query parameters (properties and the like), in order.
    pub(super) base: Vec<(String, String)>,
    pub(super) limit: usize,
    pub(super) cursor: Option<String>,
}

impl RefilledList for RefilledPlan {
    fn limit(&self) -> usize {
        self.limit
    }

    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    fn max_pages(&self) -> usize {
        LIST_MAX_PAGES
    }

    fn page_request(&self, after: Option<&str>) -> String {
        let mut q = self.base.clone();
        q.push(("limit".into(), LIST_MAX_LIMIT.to_string()));
        if let Some(a) = after {
            q.push(("after".into(), a.to_string()));
        }
        format!("{}?{}", self.path, sanitize::encode_query(&q))
    }

    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError> {
        read_results_page(filtered)
    }

    fn pushdown(&self, res: &ResourceProfile, rows: &RowCondition) -> Option<Box<dyn PushedList>> {
        // A search returns neither history, associations nor archived records.
        if self
            .base
            .iter()
            .any(|(k, _)| k == "propertiesWithHistory" || k == "associations" || k == "archived")
        {
            return None;
        }
        let filters = pushable_filters(res, rows);
        if filters.is_empty() {
            return None;
        }
        let properties = self
            .base
            .iter()
            .find(|(k, _)| k == "properties")
            .map(|(_, v)| v.split(',').map(String::from).collect())
            .unwrap_or_default();
        Some(Box::new(PushedSearch {
            path: format!("{}/search", self.path),
            filters,
            properties,
        }))
    }

    fn answer(&self, records: &[&[u8]], next: Option<String>) -> Result<Vec<u8>, RequestError> {
        let paging = next.map(|next| {
            let link = format!(
                "{}?{}",
                self.path,
                sanitize::encode_query(&[("after".to_string(), next.clone())])
            );
            (
                "paging",
                serde_json::json!({"next": {"after": next, "link": link}}),
            )
        });
        results_answer(&[], records, paging.as_slice())
    }
}

/// A list pushed down into a HubSpot search: the row condition as one filter group, in
/// record-id order like a list.
struct PushedSearch {
    path: String,
    filters: Vec<Filter>,
    properties: Vec<String>,
}

impl PushedList for PushedSearch {
    fn path(&self) -> &str {
        &self.path
    }

    fn page_body(&self, after: Option<&str>) -> Result<Bytes, RequestError> {
        // crmgate's own position "after record N" (see `cursor_after`): the records whose id
        // is greater, from the first; HubSpot's `after` is an offset into the result.
        let (filters, after) = match after.and_then(|a| a.strip_prefix(KEYSET)) {
            Some(id) => {
                let mut f = self.filters.clone();
                f.push(Filter {
                    property_name: "hs_object_id".into(),
                    operator: Operator::Gt,
                    value: Some(Scalar::Str(id.to_string())),
                    high_value: None,
                    values: None,
                });
                (f, None)
            }
            None => (self.filters.clone(), after),
        };
        let mut body = serde_json::json!({
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": SEARCH_MAX_LIMIT,
        });
        if let (Some(a), Some(obj)) = (after, body.as_object_mut()) {
            obj.insert("after".into(), Value::from(a));
        }
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| RequestError::Internal(format!("serialize a pushed-down search: {e}")))
    }

    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError> {
        read_results_page(filtered)
    }

    fn cursor_after(&self, record_id: &str) -> Option<String> {
        // Ids are numbers; the search is in id order; a group holds at most six filters.
        let numeric = !record_id.is_empty() && record_id.bytes().all(|b| b.is_ascii_digit());
        (numeric && self.filters.len() < 6).then(|| format!("{KEYSET}{record_id}"))
    }
}

/// The mark of crmgate's own position in a pushed-down list: after the record of this id.
const KEYSET: &str = "id>";

/// A filtered page's `results` and the cursor of the next page. The records stay JSON text
/// (borrowed from the filtered body): they are copied into the answer, never rebuilt.
pub(super) fn read_results_page(filtered: &[u8]) -> Result<PageRead<'_>, RequestError> {
    #[derive(Deserialize)]
    struct Page<'a> {
        // The filter keeps a key only on the way to a record: an empty page has no
        // `results`.
        #[serde(borrow, default)]
        results: Option<Vec<&'a RawValue>>,
        #[serde(default)]
        paging: Option<Value>,
    }
    let page: Page<'_> = serde_json::from_slice(filtered).map_err(|e| {
        RequestError::Unfilterable(format!("a page whose `results` is not a list ({e})"))
    })?;
    let records = page.results.unwrap_or_default();
    let next = page
        .paging
        .as_ref()
        .and_then(|p| p.pointer("/next/after"))
        .and_then(|a| match a {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    Ok(PageRead { records, next })
}

/// An answer object: the members `before`, then `results` (the records' JSON text as the
/// filter wrote it), then the members `after`.
pub(super) fn results_answer(
    before: &[(&str, Value)],
    records: &[&[u8]],
    after: &[(&str, Value)],
) -> Result<Vec<u8>, RequestError> {
    let size: usize = records.iter().map(|r| r.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 256);
    let member = |out: &mut Vec<u8>, (k, v): &(&str, Value)| {
        serde_json::to_writer(&mut *out, k)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, v)
    };
    let fail = |e: serde_json::Error| RequestError::Internal(format!("serialize an answer: {e}"));
    out.push(b'{');
    for m in before {
        member(&mut out, m).map_err(fail)?;
        out.push(b',');
    }
    out.extend_from_slice(b"\"results\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.push(b']');
    for m in after {
        out.push(b',');
        member(&mut out, m).map_err(fail)?;
    }
    out.push(b'}');
    Ok(out)
}

/// The part of a row condition HubSpot's search can carry: one filter per property
/// attribute whose shown values are all named values, none of them the default (a record
/// without the property has the default, and no filter would admit it). Whatever is left
/// out only widens the query: the rows are decided one by one all the same.
pub(super) fn pushable_filters(res: &ResourceProfile, rows: &RowCondition) -> Vec<Filter> {
    let mut filters = Vec::new();
    for (i, values) in rows {
        let Some(spec) = res.attributes.get(*i) else {
            continue;
        };
        let AttrSource::Property(property) = &spec.source else {
            continue;
        };
        let mut texts = Vec::new();
        for v in values {
            let text = match v {
                Some(AttrValue::Str(s)) if s != OTHER_VALUE && !s.is_empty() => s.clone(),
                Some(AttrValue::Bool(b)) => b.to_string(),
                Some(AttrValue::Long(l)) => l.to_string(),
                _ => {
                    texts.clear();
                    break;
                }
            };
            if spec.default.as_ref() == v.as_ref() {
                texts.clear();
                break;
            }
            texts.push(text);
        }
        match texts.len() {
            0 => {}
            1 => filters.push(Filter {
                property_name: property.clone(),
                operator: Operator::Eq,
                value: texts.pop().map(Scalar::Str),
                high_value: None,
                values: None,
            }),
            _ => filters.push(Filter {
                property_name: property.clone(),
                operator: Operator::In,
                value: None,
                high_value: None,
                values: Some(texts.into_iter().map(Scalar::Str).collect()),
            }),
        }
    }
    filters
}

/// The client's list page: `limit` (1 to HubSpot's 100) and its cursor.
pub(super) fn list_page(
    query: &[(String, String)],
) -> Result<(usize, Option<String>), RequestError> {
    let mut limit = LIST_DEFAULT_LIMIT;
    let mut cursor = None;
    for (k, v) in query {
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=LIST_MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        RequestError::BadRequest(format!(
                            "`limit` must be between 1 and {LIST_MAX_LIMIT}"
                        ))
                    })?;
            }
            "after" => cursor = Some(v.clone()),
            _ => {}
        }
    }
    Ok((limit, cursor))
}
