//! The demo CRM's writes — create, update, archive, batch create / update /
//! upsert / archive, GDPR delete and merge — in HubSpot CRM v3's request and
//! response shapes, on the in-memory store only.
//!
//! Every request is checked in full (JSON shape, property names, string
//! values, ids) before anything changes, so a refused write never leaves a
//! record half-changed; the demo never persists anything and never calls out.

use std::collections::BTreeSet;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::checks::{
    check_all, check_associations, check_batch_size, conflict, conflict_entry, email_owner,
    invalid_properties, required_id, AssociationBody, Problem, Properties,
};
use crate::crm::DemoCrm;
use crate::dates;
use crate::model::{ObjectType, Record, Store, Version};
use crate::query::Query;
use crate::render::{self, Selection};
use crate::reply::{self, Answer, Reply};

/// The `sourceType` HubSpot records for values written through the API with
/// a private app's token.
const WRITE_SOURCE: &str = "INTEGRATION";

// ---------------------------------------------------------------------------
// Request bodies (unknown fields are ignored, as HubSpot does)

#[derive(Deserialize)]
struct CreateBody {
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    associations: Vec<AssociationBody>,
}

#[derive(Deserialize)]
struct UpdateBody {
    properties: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct BatchBody<T> {
    inputs: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    associations: Vec<AssociationBody>,
    object_write_trace_id: Option<String>,
}

/// An input of `batch/update` and of `batch/upsert`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyedInput {
    id: Option<Value>,
    properties: Option<Map<String, Value>>,
    id_property: Option<String>,
    object_write_trace_id: Option<String>,
}

#[derive(Deserialize)]
struct IdInput {
    id: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GdprBody {
    object_id: Option<Value>,
    id_property: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeBody {
    primary_object_id: Option<Value>,
    object_id_to_merge: Option<Value>,
}

// ---------------------------------------------------------------------------
// Changing records

/// A write's time: now, but strictly after the record's last change, so
/// versions stay ordered even within one millisecond.
fn write_time(record: Option<&Record>) -> String {
    let now = dates::now_millis();
    let after_last = record
        .and_then(|record| dates::parse_millis(&record.updated_at))
        .map_or(now, |last| last.saturating_add(1));
    dates::format_millis(now.max(after_last))
}

fn version(value: &str, timestamp: &str, source_type: &'static str) -> Version {
    Version {
        value: value.to_string(),
        timestamp: timestamp.to_string(),
        source_type,
        updated_by_user_id: None,
    }
}

/// Sets one property with a new version; an empty value clears it (its
/// history keeps the empty version, as HubSpot's does). An unchanged value
/// adds no version.
fn set_property(record: &mut Record, name: &str, value: &str, at: &str, source: &'static str) {
    let current = record.properties.get(name).map_or("", String::as_str);
    if current == value {
        return;
    }
    if value.is_empty() {
        record.properties.remove(name);
    } else {
        record
            .properties
            .insert(name.to_string(), value.to_string());
    }
    record
        .history
        .entry(name.to_string())
        .or_default()
        .insert(0, version(value, at, source));
}

/// Applies checked properties and maintains the last-modified date.
fn apply(record: &mut Record, kind: ObjectType, properties: &Properties, at: &str) {
    for (name, value) in properties {
        set_property(record, name, value, at, WRITE_SOURCE);
    }
    touch(record, kind, at);
}

fn touch(record: &mut Record, kind: ObjectType, at: &str) {
    set_property(record, kind.last_modified_property(), at, at, "CALCULATED");
    record.updated_at = at.to_string();
}

/// A new record with the next id, its properties and HubSpot's calculated ones.
fn new_record(store: &mut Store, kind: ObjectType, properties: &Properties) -> Record {
    let id = store.allocate_id(kind);
    let at = write_time(None);
    let mut record = Record {
        id: id.clone(),
        properties: Default::default(),
        history: Default::default(),
        created_at: at.clone(),
        updated_at: at.clone(),
        archived_at: None,
        associations: Vec::new(),
    };
    for (name, value) in properties {
        set_property(&mut record, name, value, &at, WRITE_SOURCE);
    }
    set_property(&mut record, "hs_object_id", &id, &at, "CALCULATED");
    set_property(&mut record, "createdate", &at, &at, "CALCULATED");
    touch(&mut record, kind, &at);
    record
}

/// Adds a created record with its associations (on both sides).
fn insert(store: &mut Store, kind: ObjectType, mut record: Record, targets: &[String]) -> Record {
    for target in targets {
        record.associations.push(target.clone());
        let other = store
            .records_mut(kind.other())
            .iter_mut()
            .find(|other| other.id == *target);
        if let Some(other) = other {
            if !other.associations.contains(&record.id) {
                other.associations.push(record.id.clone());
            }
        }
    }
    store.records_mut(kind).push(record.clone());
    record
}

/// Removes or re-points every association to `id` held by the other type.
fn repoint_associations(store: &mut Store, kind: ObjectType, id: &str, to: Option<&str>) {
    for other in store.records_mut(kind.other()) {
        let mut seen = BTreeSet::new();
        let repointed: Vec<String> = other
            .associations
            .iter()
            .filter_map(|associated| match (associated == id, to) {
                (true, None) => None,
                (true, Some(to)) => Some(to.to_string()),
                (false, _) => Some(associated.clone()),
            })
            .filter(|associated| seen.insert(associated.clone()))
            .collect();
        other.associations = repointed;
    }
}

/// A written record as HubSpot answers a write: the written properties plus
/// those it always returns, and the caller's trace id when one was given.
fn written(
    crm: &DemoCrm,
    kind: ObjectType,
    record: &Record,
    properties: &Properties,
    trace_id: Option<&str>,
) -> Value {
    let names = properties.iter().map(|(name, _)| name.clone()).collect();
    let mut rendered = render::render(crm, kind, record, &Selection::written(names));
    if let (Value::Object(fields), Some(trace_id)) = (&mut rendered, trace_id) {
        fields.insert(
            "objectWriteTraceId".into(),
            Value::String(trace_id.to_string()),
        );
    }
    rendered
}

// ---------------------------------------------------------------------------
// Endpoints

/// `POST /crm/v3/objects/{type}` → 201 with the new record.
pub(crate) fn create(crm: &DemoCrm, store: &mut Store, kind: ObjectType, body: &[u8]) -> Answer {
    let request: CreateBody = reply::parse_body(crm, body)?;
    let properties = check_all(
        crm,
        kind,
        std::iter::once(request.properties.as_ref()),
        true,
    )?
    .into_iter()
    .next()
    .unwrap_or_default();
    let targets = check_associations(crm, store, kind, &request.associations)?;
    if let Some(existing) = email_owner(store, kind, &properties, None) {
        return Err(conflict(crm, &existing));
    }
    let record = new_record(store, kind, &properties);
    let record = insert(store, kind, record, &targets);
    Ok(Reply {
        status: StatusCode::CREATED,
        body: written(crm, kind, &record, &properties, None),
    })
}

/// `PATCH /crm/v3/objects/{type}/{id}` (or `?idProperty=email`) → 200 with
/// the record; an unknown or archived record is a 404, no properties a 400.
pub(crate) fn update(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    id: &str,
    query: &Query,
    body: &[u8],
) -> Answer {
    let request: UpdateBody = reply::parse_body(crm, body)?;
    let properties = check_all(
        crm,
        kind,
        std::iter::once(request.properties.as_ref()),
        true,
    )?
    .into_iter()
    .next()
    .unwrap_or_default();
    if properties.is_empty() {
        return Err(reply::bad_request(
            crm,
            "No properties found to update, please provide at least one.",
        ));
    }
    let at = render::position(
        crm,
        store.records(kind),
        id,
        query.first("idProperty"),
        false,
    )
    .ok_or_else(|| reply::object_not_found(crm))?;
    let record_id = store
        .records(kind)
        .get(at)
        .map(|record| record.id.clone())
        .ok_or_else(|| reply::object_not_found(crm))?;
    if let Some(existing) = email_owner(store, kind, &properties, Some(&record_id)) {
        return Err(conflict(crm, &existing));
    }
    let record = store
        .records_mut(kind)
        .get_mut(at)
        .ok_or_else(|| reply::object_not_found(crm))?;
    let now = write_time(Some(record));
    apply(record, kind, &properties, &now);
    Ok(Reply::ok(written(crm, kind, record, &properties, None)))
}

/// Archives the active record `key` (by id or `id_property`); false when
/// there is none.
fn archive_one(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    key: &str,
    id_property: Option<&str>,
) -> bool {
    let Some(at) = render::position(crm, store.records(kind), key, id_property, false) else {
        return false;
    };
    let Some(record) = store.records_mut(kind).get_mut(at) else {
        return false;
    };
    record.archived_at = Some(write_time(Some(record)));
    true
}

/// `DELETE /crm/v3/objects/{type}/{id}` → 204. Like HubSpot, an unknown or
/// already archived id is also answered 204.
pub(crate) fn archive(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    id: &str,
    query: &Query,
) -> Answer {
    archive_one(crm, store, kind, id, query.first("idProperty"));
    Ok(Reply::no_content())
}

/// `POST …/batch/create` → 201; inputs whose e-mail address is taken fail
/// (207, CONFLICT) while the others are created.
pub(crate) fn batch_create(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<CreateInput> = reply::parse_body(crm, body)?;
    check_batch_size(crm, &request.inputs)?;
    let checked = check_all(
        crm,
        kind,
        request.inputs.iter().map(|input| input.properties.as_ref()),
        true,
    )?;
    let mut targets = Vec::new();
    for input in &request.inputs {
        targets.push(check_associations(crm, store, kind, &input.associations)?);
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for ((input, properties), targets) in request.inputs.iter().zip(&checked).zip(&targets) {
        if let Some(existing) = email_owner(store, kind, properties, None) {
            errors.push(conflict_entry(&existing));
            continue;
        }
        let record = new_record(store, kind, properties);
        let record = insert(store, kind, record, targets);
        let trace_id = input.object_write_trace_id.as_deref();
        results.push(written(crm, kind, &record, properties, trace_id));
    }
    Ok(reply::batch_reply(
        StatusCode::CREATED,
        results,
        errors,
        started_at,
    ))
}

/// The ids of a batch, refused with 400 when one is missing or repeated.
fn batch_keys(crm: &DemoCrm, inputs: &[KeyedInput]) -> Result<Vec<String>, Reply> {
    let mut keys: Vec<String> = Vec::new();
    for input in inputs {
        let key = required_id(crm, input.id.as_ref(), "id")?;
        if keys.contains(&key) {
            return Err(reply::bad_request(
                crm,
                format!("Duplicate IDs found in batch input: [{key}]. IDs must be unique"),
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// `POST …/batch/update` → 200; unknown ids fail together in one
/// OBJECT_NOT_FOUND error (207) while the others are updated.
pub(crate) fn batch_update(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<KeyedInput> = reply::parse_body(crm, body)?;
    check_batch_size(crm, &request.inputs)?;
    let checked = check_all(
        crm,
        kind,
        request.inputs.iter().map(|input| input.properties.as_ref()),
        true,
    )?;
    let keys = batch_keys(crm, &request.inputs)?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut missing = Vec::new();
    for ((input, properties), key) in request.inputs.iter().zip(&checked).zip(&keys) {
        let id_property = input.id_property.as_deref();
        let Some(at) = render::position(crm, store.records(kind), key, id_property, false) else {
            missing.push(key.clone());
            continue;
        };
        let record_id = store.records(kind).get(at).map(|r| r.id.clone());
        if let Some(existing) = email_owner(store, kind, properties, record_id.as_deref()) {
            errors.push(conflict_entry(&existing));
            continue;
        }
        if let Some(record) = store.records_mut(kind).get_mut(at) {
            let now = write_time(Some(record));
            apply(record, kind, properties, &now);
            let trace_id = input.object_write_trace_id.as_deref();
            results.push(written(crm, kind, record, properties, trace_id));
        }
    }
    if !missing.is_empty() {
        errors.insert(0, reply::not_found_error(kind, "update", &missing));
    }
    Ok(reply::batch_reply(
        StatusCode::OK,
        results,
        errors,
        started_at,
    ))
}

/// `POST …/batch/upsert` → 200: each input names its `idProperty` (required);
/// a record whose property holds the id is updated, else one is created with
/// it (`new: true`). With `idProperty` `hs_object_id` an unknown id fails (207).
pub(crate) fn batch_upsert(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<KeyedInput> = reply::parse_body(crm, body)?;
    check_batch_size(crm, &request.inputs)?;
    let checked = check_all(
        crm,
        kind,
        request.inputs.iter().map(|input| input.properties.as_ref()),
        true,
    )?;
    let keys = batch_keys(crm, &request.inputs)?;
    let mut id_properties = Vec::new();
    for input in &request.inputs {
        let name = input
            .id_property
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                reply::bad_request(crm, "idProperty is required for every input of an upsert")
            })?;
        let usable = name == "hs_object_id" || (crm.knows(kind, name) && !kind.is_calculated(name));
        if !usable {
            let problem = Problem {
                name: name.to_string(),
                code: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist or cannot identify records"),
            };
            return Err(invalid_properties(crm, &[problem]));
        }
        id_properties.push(name);
    }

    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut missing = Vec::new();
    let inputs = request.inputs.iter().zip(&checked).zip(&keys);
    for (((input, properties), key), id_property) in inputs.zip(&id_properties) {
        let trace_id = input.object_write_trace_id.as_deref();
        let found = render::position(crm, store.records(kind), key, Some(id_property), false);
        let mut written_properties = properties.clone();
        let (record, is_new) = match found {
            Some(at) => {
                let record_id = store.records(kind).get(at).map(|r| r.id.clone());
                if let Some(existing) = email_owner(store, kind, properties, record_id.as_deref()) {
                    errors.push(conflict_entry(&existing));
                    continue;
                }
                let Some(record) = store.records_mut(kind).get_mut(at) else {
                    continue;
                };
                let now = write_time(Some(record));
                apply(record, kind, properties, &now);
                (record.clone(), false)
            }
            None if *id_property == "hs_object_id" => {
                missing.push(key.clone());
                continue;
            }
            None => {
                // The new record holds the id it was looked up by.
                if !written_properties
                    .iter()
                    .any(|(name, _)| name == id_property)
                {
                    written_properties.push(((*id_property).to_string(), key.clone()));
                }
                if let Some(existing) = email_owner(store, kind, &written_properties, None) {
                    errors.push(conflict_entry(&existing));
                    continue;
                }
                let record = new_record(store, kind, &written_properties);
                (insert(store, kind, record, &[]), true)
            }
        };
        let mut rendered = written(crm, kind, &record, &written_properties, trace_id);
        if let Value::Object(fields) = &mut rendered {
            fields.insert("new".into(), Value::Bool(is_new));
        }
        results.push(rendered);
    }
    if !missing.is_empty() {
        errors.insert(0, reply::not_found_error(kind, "upsert", &missing));
    }
    Ok(reply::batch_reply(
        StatusCode::OK,
        results,
        errors,
        started_at,
    ))
}

/// `POST …/batch/archive` → 204 (unknown ids are ignored, as HubSpot does).
pub(crate) fn batch_archive(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let request: BatchBody<IdInput> = reply::parse_body(crm, body)?;
    check_batch_size(crm, &request.inputs)?;
    let mut keys = Vec::new();
    for input in &request.inputs {
        keys.push(required_id(crm, input.id.as_ref(), "id")?);
    }
    for key in &keys {
        archive_one(crm, store, kind, key, None);
    }
    Ok(Reply::no_content())
}

/// `POST /crm/v3/objects/contacts/gdpr-delete` → 204: the contact (archived
/// or not) is removed for good, with its associations; an unknown one is a 404.
pub(crate) fn gdpr_delete(crm: &DemoCrm, store: &mut Store, body: &[u8]) -> Answer {
    let kind = ObjectType::Contacts;
    let request: GdprBody = reply::parse_body(crm, body)?;
    let key = required_id(crm, request.object_id.as_ref(), "objectId")?;
    let id_property = request.id_property.as_deref();
    let records = store.records(kind);
    let found = render::find(crm, records, &key, id_property, false)
        .or_else(|| render::find(crm, records, &key, id_property, true))
        .map(|record| record.id.clone())
        .ok_or_else(|| reply::object_not_found(crm))?;
    store.records_mut(kind).retain(|record| record.id != found);
    repoint_associations(store, kind, &found, None);
    Ok(Reply::no_content())
}

/// `POST …/merge` → 200 with the primary record: it keeps its values, gains
/// the merged record's values where it had none and its associations; the
/// merged record is gone (404, not listed even with `archived=true`).
pub(crate) fn merge(crm: &DemoCrm, store: &mut Store, kind: ObjectType, body: &[u8]) -> Answer {
    let request: MergeBody = reply::parse_body(crm, body)?;
    let primary_id = required_id(crm, request.primary_object_id.as_ref(), "primaryObjectId")?;
    let merged_id = required_id(crm, request.object_id_to_merge.as_ref(), "objectIdToMerge")?;
    if primary_id == merged_id {
        return Err(reply::bad_request(
            crm,
            "Cannot merge an object with itself: primaryObjectId equals objectIdToMerge",
        ));
    }
    let records = store.records(kind);
    let primary = render::find(crm, records, &primary_id, None, false);
    let merged = render::find(crm, records, &merged_id, None, false).cloned();
    let (Some(primary), Some(merged)) = (primary, merged) else {
        return Err(reply::object_not_found(crm));
    };
    let primary_id = primary.id.clone();
    let adopted: Properties = merged
        .properties
        .iter()
        .filter(|(name, _)| !kind.is_calculated(name) && !primary.properties.contains_key(*name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();

    store
        .records_mut(kind)
        .retain(|record| record.id != merged.id);
    repoint_associations(store, kind, &merged.id, Some(&primary_id));
    let record = store
        .records_mut(kind)
        .iter_mut()
        .find(|record| record.id == primary_id)
        .ok_or_else(|| reply::object_not_found(crm))?;
    for associated in &merged.associations {
        if !record.associations.contains(associated) {
            record.associations.push(associated.clone());
        }
    }
    let now = write_time(Some(record));
    apply(record, kind, &adopted, &now);
    let rendered = render::render(crm, kind, record, &Selection::written(Vec::new()));
    Ok(Reply::ok(rendered))
}
