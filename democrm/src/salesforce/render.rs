//! Records in Salesforce's shape: `attributes {type, url}` first, then the fields
//! (all of the type's, or those a query or a `fields` parameter named, parent
//! fields nested under their relationship). It must never change a record.

use serde_json::{json, Map, Value};

use super::columns::{self, Column};
use super::fields::SObject;
use super::store::{SfRecord, SfStore};

/// `{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/<id>"}`.
pub(crate) fn attributes(kind: SObject, id: &str, version: &str) -> Value {
    json!({
        "type": kind.name(),
        "url": format!("/services/data/{version}/sobjects/{}/{id}", kind.name()),
    })
}

/// Every field of the record, in the type's order.
pub(crate) fn full(record: &SfRecord, version: &str) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(record.kind, &record.id(), version),
    );
    for field in record.kind.fields() {
        out.insert(field.name.into(), record.value(field));
    }
    Value::Object(out)
}

/// The named columns in the order named; parent fields nested under their
/// relationship (one object per parent, `null` when there is none).
pub(crate) fn selected(
    store: &SfStore,
    record: &SfRecord,
    columns: &[Column],
    version: &str,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(record.kind, &record.id(), version),
    );
    for column in columns {
        let Some((reference, relationship, kind)) = column.via else {
            out.insert(column.field.name.into(), record.value(column.field));
            continue;
        };
        let Some(parent) = columns::parent(store, record, reference) else {
            out.insert(relationship.into(), Value::Null);
            continue;
        };
        let nested = out
            .entry(relationship)
            .or_insert_with(|| json!({ "attributes": attributes(kind, &parent.id(), version) }));
        if let Value::Object(nested) = nested {
            nested.insert(column.field.name.into(), parent.value(column.field));
        }
    }
    Value::Object(out)
}

/// Adds the fields "the vendor added" to every record in an answer (each object
/// with `attributes`, parents included), whatever was asked for.
pub(crate) fn add_extra_fields(body: &mut Value, extra: &[(String, Value)]) {
    match body {
        Value::Object(members) => {
            let is_record = members
                .get("attributes")
                .is_some_and(|a| a.get("type").is_some());
            for value in members.values_mut() {
                add_extra_fields(value, extra);
            }
            if is_record {
                for (name, value) in extra {
                    members.insert(name.clone(), value.clone());
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                add_extra_fields(item, extra);
            }
        }
        _ => {}
    }
}
