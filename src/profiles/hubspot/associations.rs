//! HubSpot's associations on a record (`?associations=contacts`): the ids of records of
//! other types, `"associations": {"contacts": {"results": [{"id": "1001", "type": "…"}],
//! "paging": …}}`.
//!
//! An associated id names a record: it is shown only when the caller may read that record,
//! exactly as a GET of it would be decided ([`Shown`], worked out by the pipeline). Ids the
//! caller may not read and ids the CRM does not have are left out alike, and an association
//! type left without entries is omitted, as HubSpot omits one that has none — so a hidden
//! record cannot be told from a missing one. This module must never pass an id that has no
//! verdict, nor the CRM's association paging (it would count hidden records).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::stages::vendor::{AssociationShape, Named, Shown};

/// The record member holding associations.
pub const FIELD: &str = "associations";

/// HubSpot's associations, as the stages' filter reads them.
pub(super) struct Associations;

impl AssociationShape for Associations {
    fn field(&self) -> &'static str {
        FIELD
    }

    fn requested(&self, query: &[(String, String)]) -> bool {
        // `?associations=contacts`
        query.iter().any(|(k, _)| k == FIELD)
    }

    fn named(&self, body: &[u8]) -> BTreeMap<String, BTreeSet<String>> {
        named(body)
    }

    fn filter(&self, value: &Value, shown: &Shown, named: &mut Named) -> Option<Value> {
        filter(value, shown, named)
    }
}

/// The ids every associations member of a body names, per association key. Only these can
/// be decided; anything else the filter finds is dropped.
pub fn named(body: &[u8]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    // Most bodies name no association: no parse for them.
    if !contains(body, b"\"associations\"") {
        return out;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        collect(&v, &mut out);
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn collect(v: &Value, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == FIELD {
                    if let Value::Object(types) = v {
                        for (key, assoc) in types {
                            let ids = out.entry(key.clone()).or_default();
                            ids.extend(entries(assoc).filter_map(entry_id));
                        }
                    }
                } else {
                    collect(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

/// The entries of one association type (`{"results": [...]}`).
fn entries(assoc: &Value) -> impl Iterator<Item = &Value> {
    assoc
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn entry_id(e: &Value) -> Option<String> {
    match e.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A record's associations as the caller may see them: per type the entries whose record
/// it may read (id and association type only), types without any omitted, the CRM's paging
/// dropped. `None` when nothing is left: the member is then omitted, as HubSpot omits it.
pub fn filter(value: &Value, shown: &Shown, named: &mut Named) -> Option<Value> {
    let Value::Object(types) = value else {
        return None;
    };
    let mut out = Map::new();
    for (key, assoc) in types {
        let mut kept = Vec::new();
        for e in entries(assoc) {
            let Some(id) = entry_id(e) else {
                continue;
            };
            if !shown.contains(key, &id) {
                named.dropped.push(format!("{key}/{id}"));
                continue;
            }
            let mut entry = Map::new();
            entry.insert("id".into(), Value::String(id.clone()));
            if let Some(Value::String(t)) = e.get("type") {
                entry.insert("type".into(), Value::String(t.clone()));
            }
            named.shown.push(format!("{key}/{id}"));
            kept.push(Value::Object(entry));
        }
        if !kept.is_empty() {
            let mut m = Map::new();
            m.insert("results".into(), Value::Array(kept));
            out.insert(key.clone(), Value::Object(m));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_decided_ids_are_named_and_an_emptied_type_is_omitted() {
        let body = json!({"results": [{"id": "2001", "associations": {
            "contacts": {"results": [{"id": "1001", "type": "company_to_contact"},
                                     {"id": 1002, "type": "company_to_contact", "x": 1}],
                         "paging": {"next": {"after": "1003"}}},
            "deals": {"results": [{"id": "9"}]}
        }}]});
        let bytes = serde_json::to_vec(&body).unwrap();
        let ids = named(&bytes);
        assert_eq!(ids["contacts"], ["1001", "1002"].map(String::from).into());
        assert_eq!(ids["deals"], ["9".to_string()].into());
        let assoc = &body["results"][0]["associations"];

        let mut shown = Shown::none();
        shown.allow("contacts", ["1002".to_string()]);
        let mut n = Named::default();
        let out = filter(assoc, &shown, &mut n).unwrap();
        assert_eq!(
            out,
            json!({"contacts": {"results": [{"id": "1002", "type": "company_to_contact"}]}})
        );
        assert_eq!(n.shown, ["contacts/1002"]);
        assert_eq!(n.dropped, ["contacts/1001", "deals/9"]);

        let mut n = Named::default();
        assert_eq!(filter(assoc, &Shown::none(), &mut n), None);
        assert_eq!(n.dropped.len(), 3);
        assert!(named(br#"{"id":"1"}"#).is_empty());
    }
}
