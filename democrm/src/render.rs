//! Records in HubSpot's shape: what a request asked to see of each record, the
//! rendering of one record with its history and associations, and finding a
//! record by id or by a unique property. It reads records and must never
//! change one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::crm::DemoCrm;
use crate::model::{ObjectType, Record, Version};
use crate::query::Query;
use crate::reply::{object, string};

/// What a request asked to see of each record.
pub(crate) struct Selection {
    /// Requested properties; empty means the type's defaults.
    pub(crate) properties: Vec<String>,
    pub(crate) history: Vec<String>,
    pub(crate) associations: Vec<ObjectType>,
}

impl Selection {
    pub(crate) fn from_query(query: &Query) -> Selection {
        Selection {
            properties: query.list("properties"),
            history: query.list("propertiesWithHistory"),
            associations: query
                .list("associations")
                .iter()
                .filter_map(|name| ObjectType::parse(name))
                .collect(),
        }
    }

    /// Every known property of the type (custom ones included), as if each
    /// had been requested.
    pub(crate) fn all_properties(crm: &DemoCrm, kind: ObjectType) -> Selection {
        Selection {
            properties: kind
                .known_properties()
                .iter()
                .map(|name| (*name).to_string())
                .chain(
                    crm.custom_properties
                        .iter()
                        .filter(|(custom_kind, _)| *custom_kind == kind)
                        .map(|(_, name)| name.clone()),
                )
                .collect(),
            history: Vec::new(),
            associations: Vec::new(),
        }
    }

    /// Every known property with its history.
    pub(crate) fn all_properties_with_history(crm: &DemoCrm, kind: ObjectType) -> Selection {
        let mut selection = Selection::all_properties(crm, kind);
        selection.history = selection.properties.clone();
        selection
    }

    /// The properties a write named, plus those HubSpot always returns.
    pub(crate) fn written(names: Vec<String>) -> Selection {
        Selection {
            properties: names,
            history: Vec::new(),
            associations: Vec::new(),
        }
    }
}

fn version_json(version: &Version) -> Value {
    let mut entry = Map::new();
    entry.insert("value".into(), string(&version.value));
    entry.insert("timestamp".into(), string(&version.timestamp));
    entry.insert("sourceType".into(), string(version.source_type));
    entry.insert("sourceId".into(), Value::Null);
    if let Some(user) = version.updated_by_user_id {
        entry.insert("updatedByUserId".into(), Value::from(user));
    }
    Value::Object(entry)
}

/// One record in HubSpot's shape; `propertiesWithHistory` and `associations`
/// only when asked for, `archivedAt` only on archived records.
pub(crate) fn render(
    crm: &DemoCrm,
    kind: ObjectType,
    record: &Record,
    selection: &Selection,
) -> Value {
    let names: Vec<&str> = if selection.properties.is_empty() {
        kind.default_properties().to_vec()
    } else {
        selection
            .properties
            .iter()
            .map(String::as_str)
            .chain(kind.always_returned().iter().copied())
            .collect()
    };
    // Sorted by name like HubSpot's own answers; unknown names are left out,
    // known but empty ones are null.
    let mut properties: BTreeMap<String, Value> = names
        .into_iter()
        .filter(|name| crm.knows(kind, name))
        .map(|name| {
            let value = record
                .properties
                .get(name)
                .map_or(Value::Null, |v| string(v));
            (name.to_string(), value)
        })
        .collect();
    for (name, value) in &crm.extra_properties {
        properties.insert(name.clone(), string(value));
    }

    let mut out = Map::new();
    out.insert("id".into(), string(&record.id));
    out.insert(
        "properties".into(),
        Value::Object(properties.into_iter().collect()),
    );
    if !selection.history.is_empty() {
        out.insert(
            "propertiesWithHistory".into(),
            properties_with_history(crm, kind, record, selection),
        );
    }
    out.insert("createdAt".into(), string(&record.created_at));
    out.insert("updatedAt".into(), string(&record.updated_at));
    out.insert("archived".into(), Value::Bool(record.is_archived()));
    if let Some(archived_at) = &record.archived_at {
        out.insert("archivedAt".into(), string(archived_at));
    }
    let mut associations = Map::new();
    for other in &selection.associations {
        // Records are only associated across the two types, and HubSpot omits
        // an association type that has no entries.
        if *other == kind || record.associations.is_empty() {
            continue;
        }
        let results = record
            .associations
            .iter()
            .map(|id| {
                object([
                    ("id", string(id)),
                    ("type", string(kind.association_label())),
                ])
            })
            .collect();
        associations.insert(
            other.name().to_string(),
            object([("results", Value::Array(results))]),
        );
    }
    if !associations.is_empty() {
        out.insert("associations".into(), Value::Object(associations));
    }
    Value::Object(out)
}

/// `propertiesWithHistory`: the versions of each requested property (newest first), and
/// the vendor's extra properties with one version each.
fn properties_with_history(
    crm: &DemoCrm,
    kind: ObjectType,
    record: &Record,
    selection: &Selection,
) -> Value {
    let mut history: BTreeMap<String, Value> = selection
        .history
        .iter()
        .filter(|name| crm.knows(kind, name))
        .map(|name| {
            let versions = record
                .history
                .get(name.as_str())
                .map(|versions| versions.iter().map(version_json).collect())
                .unwrap_or_default();
            (name.clone(), Value::Array(versions))
        })
        .collect();
    for (name, value) in &crm.extra_properties {
        let version = Version {
            value: value.clone(),
            timestamp: record.updated_at.clone(),
            source_type: "INTEGRATION",
            updated_by_user_id: None,
        };
        history.insert(name.clone(), Value::Array(vec![version_json(&version)]));
    }
    Value::Object(history.into_iter().collect())
}

/// The record named `key`: by id, or by the value of `id_property` (compared
/// without regard to case, as e-mail addresses are).
pub(crate) fn find<'a>(
    crm: &DemoCrm,
    records: &'a [Record],
    key: &str,
    id_property: Option<&str>,
    archived: bool,
) -> Option<&'a Record> {
    position(crm, records, key, id_property, archived).and_then(|at| records.get(at))
}

/// Where [`find`]'s record sits in `records`.
pub(crate) fn position(
    crm: &DemoCrm,
    records: &[Record],
    key: &str,
    id_property: Option<&str>,
    archived: bool,
) -> Option<usize> {
    let id_property = id_property.filter(|name| !name.is_empty() && *name != "hs_object_id");
    let key = key.to_lowercase();
    records.iter().position(|record| {
        record.is_archived() == archived
            && match id_property {
                None => record.id == key,
                Some(name) => crm
                    .property_value(record, name)
                    .is_some_and(|value| value.to_lowercase() == key),
            }
    })
}
