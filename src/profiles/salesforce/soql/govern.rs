//! What the profile asks of a parsed query to govern it: every field it selects, filters
//! and orders by, whether it counts, its paging; the row condition ANDed into its `WHERE`;
//! names resolved against a resource type case-insensitively. It must never widen what a
//! query selects: what it adds to a query only narrows it, and what it cannot express is
//! left out (the rows are decided one by one all the same).

use std::collections::HashSet;

use crate::policy::plan::{RowCondition, OTHER_VALUE};
use crate::routes::{AttrSource, AttrValue, GroupId, ResourceProfile};

use super::ast::{CompareOp, Condition, FieldPath, Literal, Query, SelectItem, SoqlString};

impl Query {
    /// Whether the query asks for `COUNT()` instead of records.
    pub fn is_count(&self) -> bool {
        self.select.contains(&SelectItem::Count)
    }

    /// The fields of the select list, in order.
    pub fn selects(&self) -> Vec<&FieldPath> {
        self.select
            .iter()
            .filter_map(|s| match s {
                SelectItem::Field(f) => Some(f),
                SelectItem::Count => None,
            })
            .collect()
    }

    /// The fields the `WHERE` reads, in order.
    pub fn filters_by(&self) -> Vec<&FieldPath> {
        self.filter
            .as_ref()
            .map(Condition::fields)
            .unwrap_or_default()
    }

    /// The fields of `ORDER BY`, in order.
    pub fn orders_by(&self) -> Vec<&FieldPath> {
        self.order_by.iter().map(|o| &o.field).collect()
    }

    /// Every field the query selects records by (`WHERE` and `ORDER BY`), each once.
    pub fn selected_by(&self) -> Vec<&FieldPath> {
        once_each(self.filters_by().into_iter().chain(self.orders_by()))
    }

    /// Every field the query names anywhere, each once.
    pub fn fields(&self) -> Vec<&FieldPath> {
        once_each(self.selects().into_iter().chain(self.selected_by()))
    }

    /// Add `path` to the select list unless it is there already (in any case) or the
    /// query counts; whether it was added (the profile then hides it again).
    pub fn add_field(&mut self, path: FieldPath) -> bool {
        if self.is_count() || self.selects().iter().any(|f| f.same_as(&path)) {
            return false;
        }
        self.select.push(SelectItem::Field(path));
        true
    }

    /// AND `c` into the `WHERE`: the client's condition stays whole (rendered in
    /// parentheses when it is a conjunction or disjunction), so `c` can only narrow it.
    pub fn and_condition(&mut self, c: Condition) {
        self.filter = Some(match self.filter.take() {
            None => c,
            Some(client) => Condition::And(vec![client, c]),
        });
    }

    /// The same query without `LIMIT` and `OFFSET` (crmgate pages itself when it counts
    /// over what the caller is shown).
    pub fn without_paging(&self) -> Query {
        Query {
            limit: None,
            offset: None,
            ..self.clone()
        }
    }

    /// The same query with `fields` as its select list (`Id` alone when there are none): a
    /// `COUNT()` read as records, so that crmgate counts what the caller is shown.
    pub fn with_fields(&self, fields: Vec<FieldPath>) -> Query {
        let select = if fields.is_empty() {
            vec![SelectItem::Field(FieldPath {
                parts: vec!["Id".to_string()],
            })]
        } else {
            fields.into_iter().map(SelectItem::Field).collect()
        };
        Query {
            select,
            ..self.clone()
        }
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    pub fn offset(&self) -> Option<u64> {
        self.offset
    }
}

/// The paths in order, each once whatever its case: in linear time, since a query of
/// 100,000 characters can name a field ten thousand times.
fn once_each<'a>(paths: impl Iterator<Item = &'a FieldPath>) -> Vec<&'a FieldPath> {
    let mut seen = HashSet::new();
    paths
        .filter(|f| seen.insert(f.dotted().to_ascii_lowercase()))
        .collect()
}

/// A name found in a map keyed by a resource's own spelling, whatever case the query used:
/// the map's key and value. An exact match first; names are unique regardless of case in
/// the vendor's API, so the first case-insensitive match is the one.
pub fn lookup<'a, V>(
    map: impl IntoIterator<Item = (&'a String, &'a V)>,
    name: &str,
) -> Option<(&'a str, &'a V)> {
    let mut found = None;
    for (k, v) in map {
        if k == name {
            return Some((k.as_str(), v));
        }
        if found.is_none() && k.eq_ignore_ascii_case(name) {
            found = Some((k.as_str(), v));
        }
    }
    found
}

/// A field path resolved against a resource type: the routes file's spelling of it
/// (dotted: `Account.Name`) and its field group. `None`: the resource does not classify it
/// (the profile refuses it, as it would an unknown field).
pub fn resolve<'a>(res: &'a ResourceProfile, path: &FieldPath) -> Option<(&'a str, GroupId)> {
    let dotted = path.dotted();
    lookup(&res.property_groups, &dotted)
        .or_else(|| lookup(&res.field_groups, &dotted))
        .map(|(k, g)| (k, *g))
}

/// The planner's row condition as a condition a query can carry, the way the other
/// profiles push it down: per attribute read from a field (`field_of` maps the routes
/// file's property or field name to the query's field name, `None`: not expressible), the
/// exact values a shown record may have, with `= NULL` where a record without the value is
/// shown (its default is among them, or it has none). An attribute whose shown values
/// include "any other value" or the empty string is left out: that only widens the query,
/// never what a caller is shown. `None`: nothing can be pushed.
pub fn pushdown(
    res: &ResourceProfile,
    rows: &RowCondition,
    field_of: impl Fn(&str) -> Option<String>,
) -> Option<Condition> {
    let mut parts = Vec::new();
    for (i, values) in rows {
        let Some(spec) = res.attributes.get(*i) else {
            continue;
        };
        let name = match &spec.source {
            AttrSource::Property(p) | AttrSource::Field(p) => p,
            AttrSource::Computed(_) => continue,
        };
        let Some(field) = field_of(name).as_deref().and_then(FieldPath::from_dotted) else {
            continue;
        };
        if let Some(c) = attribute_condition(field, values, spec.default.as_ref()) {
            parts.push(c);
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Condition::And(parts)),
    }
}

/// One attribute's shown values as a condition on `field`, if they can all be written.
fn attribute_condition(
    field: FieldPath,
    values: &[Option<AttrValue>],
    default: Option<&AttrValue>,
) -> Option<Condition> {
    let mut literals = Vec::new();
    let mut null = false;
    for v in values {
        if v.is_none() || v.as_ref() == default {
            // A record without the value has the default (or no value): shown.
            null = true;
        }
        let lit = match v {
            None => continue,
            // fail closed: "any other value" has no literal, and the vendor stores an
            // empty string as no value; either way, push nothing for this attribute.
            Some(AttrValue::Str(s)) if s == OTHER_VALUE || s.is_empty() => return None,
            Some(AttrValue::Str(s)) => Literal::String(SoqlString::from_value(s)),
            Some(AttrValue::Bool(b)) => Literal::Bool(*b),
            Some(AttrValue::Long(l)) => Literal::Number(l.to_string()),
        };
        if !literals.contains(&lit) {
            literals.push(lit);
        }
    }
    let is_null = |field: FieldPath| Condition::Compare {
        field,
        op: CompareOp::Eq,
        value: Literal::Null,
    };
    let values = match literals.len() {
        0 if null => return Some(is_null(field)),
        0 => return None,
        1 => Condition::Compare {
            field: field.clone(),
            op: CompareOp::Eq,
            value: literals.pop()?,
        },
        _ => Condition::In {
            field: field.clone(),
            negated: false,
            values: literals,
        },
    };
    Some(if null {
        Condition::Or(vec![values, is_null(field)])
    } else {
        values
    })
}
