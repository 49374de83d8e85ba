//! What clients ask before they read: the versions list (`GET /services/data`),
//! a version's resources, the global describe (`…/sobjects`), a type's basic
//! information (`…/sobjects/{Type}`) and its describe (`…/sobjects/{Type}/describe`)
//! with every field's type, length and access. It only describes: it must never
//! show a record's values beyond a picklist's values.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::crm::SalesforceCrm;
use super::fields::{Access, Field, Kind, SObject, ALL};
use super::store::SfStore;
use crate::reply::Reply;

/// The API versions the demo lists (it serves any `vNN.N`).
const VERSIONS: &[(&str, &str)] = &[
    ("59.0", "Winter '24"),
    ("60.0", "Spring '24"),
    ("61.0", "Summer '24"),
    ("62.0", "Winter '25"),
    ("63.0", "Spring '25"),
    ("64.0", "Summer '25"),
];

/// `GET /services/data`.
pub(crate) fn versions() -> Reply {
    let list = VERSIONS
        .iter()
        .map(|(version, label)| {
            json!({ "label": label, "url": format!("/services/data/v{version}"), "version": version })
        })
        .collect();
    Reply::ok(Value::Array(list))
}

/// `GET /services/data/vNN.N`.
pub(crate) fn resources(version: &str) -> Reply {
    let base = format!("/services/data/{version}");
    Reply::ok(json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "composite": format!("{base}/composite"),
    }))
}

fn urls(kind: SObject, version: &str) -> Value {
    let base = format!("/services/data/{version}/sobjects/{}", kind.name());
    json!({
        "sobject": base,
        "describe": format!("{base}/describe"),
        "rowTemplate": format!("{base}/{{ID}}"),
    })
}

/// A type's summary, as the global describe lists it.
fn summary(kind: SObject, version: &str) -> Value {
    json!({
        "name": kind.name(),
        "label": kind.name(),
        "labelPlural": kind.label_plural(),
        "keyPrefix": kind.key_prefix(),
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "undeletable": true,
        "queryable": true,
        "retrieveable": true,
        "searchable": true,
        "layoutable": true,
        "replicateable": true,
        "triggerable": true,
        "mergeable": kind != SObject::Account,
        "urls": urls(kind, version),
    })
}

/// `GET …/sobjects`.
pub(crate) fn global(version: &str) -> Reply {
    let sobjects: Vec<Value> = ALL.iter().map(|kind| summary(*kind, version)).collect();
    Reply::ok(json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects }))
}

/// `GET …/sobjects/{Type}`.
pub(crate) fn basic(kind: SObject, version: &str) -> Reply {
    Reply::ok(json!({ "objectDescribe": summary(kind, version), "recentItems": [] }))
}

/// `GET …/sobjects/{Type}/describe`.
pub(crate) fn describe(crm: &SalesforceCrm, kind: SObject, version: &str) -> Reply {
    let store = crm.read_store();
    let fields: Vec<Value> = kind
        .fields()
        .iter()
        .map(|field| describe_field(&store, kind, field))
        .collect();
    let mut out = summary(kind, version);
    if let Value::Object(members) = &mut out {
        members.insert("fields".into(), Value::Array(fields));
        members.insert("childRelationships".into(), json!([]));
        members.insert("recordTypeInfos".into(), json!([]));
    }
    Reply::ok(out)
}

fn describe_field(store: &SfStore, kind: SObject, field: &Field) -> Value {
    let writable = field.writable();
    let (reference_to, relationship) = match field.kind {
        Kind::Reference(parent) => (json!([parent.name()]), json!(field.relationship)),
        _ => (json!([]), Value::Null),
    };
    let long_text = field.kind == Kind::TextArea && field.length > 255;
    json!({
        "name": field.name,
        "label": field.label,
        "type": field.kind.name(),
        "soapType": field.kind.soap_type(),
        "length": field.length,
        "byteLength": field.length * 3,
        "digits": if field.kind == Kind::Int { 9 } else { 0 },
        "precision": if field.kind == Kind::Currency { 18 } else { 0 },
        "scale": if field.kind == Kind::Currency { 2 } else { 0 },
        "nillable": field.access == Access::ReadWrite && field.kind != Kind::Boolean,
        "createable": writable,
        "updateable": writable,
        "defaultedOnCreate": !writable || field.kind == Kind::Boolean,
        "defaultValue": if field.kind == Kind::Boolean && writable { json!(false) } else { Value::Null },
        "calculated": field.name == "Name" && kind != SObject::Account,
        "nameField": field.name == "Name",
        "externalId": field.external_id,
        "idLookup": field.id_lookup,
        "unique": field.unique,
        "caseSensitive": false,
        "custom": field.is_custom(),
        "autoNumber": false,
        "filterable": !long_text,
        "sortable": !long_text && field.kind != Kind::MultiPicklist,
        "groupable": !long_text && field.kind != Kind::MultiPicklist,
        "htmlFormatted": false,
        "restrictedPicklist": false,
        "referenceTo": reference_to,
        "relationshipName": relationship,
        "picklistValues": picklist(store, kind, field),
    })
}

/// A picklist's values: those the records hold.
fn picklist(store: &SfStore, kind: SObject, field: &Field) -> Value {
    if !matches!(field.kind, Kind::Picklist | Kind::MultiPicklist) {
        return json!([]);
    }
    let values: BTreeSet<String> = store
        .records
        .iter()
        .filter(|record| record.kind == kind)
        .filter_map(|record| record.value(field).as_str().map(str::to_string))
        .flat_map(|value| {
            value
                .split(';')
                .map(|v| v.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|value| !value.is_empty())
        .collect();
    values
        .into_iter()
        .map(|value| {
            json!({ "active": true, "defaultValue": false, "label": value, "validFor": null, "value": value })
        })
        .collect()
}
