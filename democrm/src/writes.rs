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

use super::api::{self, Answer, Query, Reply, Selection};
use super::dates;
use super::model::{ObjectType, Record, Store, Version};
use super::DemoCrm;

/// The `sourceType` HubSpot records for values written through the API with
/// a private app's token.
const WRITE_SOURCE: &str = "INTEGRATION";

/// HubSpot's limit on the inputs of one batch request.
const MAX_BATCH_INPUTS: usize = 100;

/// Checked properties of one write: known, writable names with string values.
type Properties = Vec<(String, String)>;

// ---------------------------------------------------------------------------
// Request bodies (unknown fields are ignored, as HubSpot does)

#[derive(Deserialize)]
struct CreateBody {
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    associations: Vec<AssociationBody>,
}

/// `{to: {id}, types: [...]}`; the association types are not checked.
#[derive(Deserialize)]
struct AssociationBody {
    to: AssociationTarget,
}

#[derive(Deserialize)]
struct AssociationTarget {
    id: Value,
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
// Validation

/// One refused property, as HubSpot lists it in "Property values were not valid".
struct Problem {
    name: String,
    code: &'static str,
    message: String,
}

/// The names, writability and string values of a write's `properties`.
fn check_properties(
    crm: &DemoCrm,
    kind: ObjectType,
    properties: Option<&Map<String, Value>>,
    problems: &mut Vec<Problem>,
) -> Properties {
    let mut checked = Vec::new();
    for (name, value) in properties.into_iter().flatten() {
        let is_extra = crm.extra_properties.iter().any(|(extra, _)| extra == name);
        if !crm.knows(kind, name) && !is_extra {
            problems.push(Problem {
                name: name.clone(),
                code: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist"),
            });
        } else if kind.is_calculated(name) || is_extra {
            problems.push(Problem {
                name: name.clone(),
                code: "READ_ONLY_VALUE",
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
            });
        } else if let Value::String(text) = value {
            checked.push((name.clone(), text.clone()));
        } else {
            problems.push(Problem {
                name: name.clone(),
                code: "INVALID_PROPERTY_VALUE",
                message: format!(
                    "Property \"{name}\" must be a string, not {}",
                    json_kind(value)
                ),
            });
        }
    }
    checked
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// 400 VALIDATION_ERROR in HubSpot's shape: the message embeds the list of
/// invalid properties as JSON, and `errors` names each property again.
fn invalid_properties(crm: &DemoCrm, problems: &[Problem]) -> Reply {
    let listed: Vec<Value> = problems
        .iter()
        .map(|problem| {
            api::object([
                ("isValid", Value::Bool(false)),
                ("message", Value::String(problem.message.clone())),
                ("error", api::string(problem.code)),
                ("name", Value::String(problem.name.clone())),
            ])
        })
        .collect();
    let details: Vec<Value> = problems
        .iter()
        .map(|problem| {
            api::object([
                ("message", Value::String(problem.message.clone())),
                ("code", api::string(problem.code)),
                (
                    "context",
                    api::object([(
                        "propertyName",
                        Value::Array(vec![Value::String(problem.name.clone())]),
                    )]),
                ),
            ])
        })
        .collect();
    let listed = serde_json::to_string(&listed).unwrap_or_default();
    let mut reply = api::bad_request(crm, format!("Property values were not valid: {listed}"));
    if let Value::Object(body) = &mut reply.body {
        body.insert("errors".into(), Value::Array(details));
    }
    reply
}

/// The properties of every input, or one 400 for the whole request (HubSpot
/// validates a batch before it writes any of it).
fn check_all<'a>(
    crm: &DemoCrm,
    kind: ObjectType,
    inputs: impl Iterator<Item = Option<&'a Map<String, Value>>>,
    required: bool,
) -> Result<Vec<Properties>, Reply> {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for properties in inputs {
        if required && properties.is_none() {
            return Err(api::bad_request(
                crm,
                "Invalid input JSON: missing required field \"properties\"",
            ));
        }
        checked.push(check_properties(crm, kind, properties, &mut problems));
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(invalid_properties(crm, &problems))
    }
}

fn check_batch_size<T>(crm: &DemoCrm, inputs: &[T]) -> Result<(), Reply> {
    if inputs.len() > MAX_BATCH_INPUTS {
        return Err(api::bad_request(
            crm,
            format!(
                "Batch input cannot exceed {MAX_BATCH_INPUTS} inputs, got {}",
                inputs.len()
            ),
        ));
    }
    Ok(())
}

/// An id given as a JSON string or number.
fn required_id(crm: &DemoCrm, value: Option<&Value>, field: &str) -> Result<String, Reply> {
    value
        .and_then(api::scalar)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            api::bad_request(
                crm,
                format!("Invalid input JSON: \"{field}\" must be a string or number"),
            )
        })
}

/// Association targets must be existing records of the other type.
fn check_associations(
    crm: &DemoCrm,
    store: &Store,
    kind: ObjectType,
    associations: &[AssociationBody],
) -> Result<Vec<String>, Reply> {
    let mut targets = Vec::new();
    for association in associations {
        let id = required_id(crm, Some(&association.to.id), "to.id")?;
        let exists = store
            .records(kind.other())
            .iter()
            .any(|record| record.id == id && !record.is_archived());
        if !exists {
            return Err(api::bad_request(
                crm,
                format!(
                    "One or more associations are invalid: {} {id} does not exist",
                    kind.other().label()
                ),
            ));
        }
        if !targets.contains(&id) {
            targets.push(id);
        }
    }
    Ok(targets)
}

/// The id of another active contact that already has this e-mail address
/// (HubSpot keeps contact e-mail addresses unique).
fn email_owner(
    store: &Store,
    kind: ObjectType,
    properties: &Properties,
    except: Option<&str>,
) -> Option<String> {
    if kind != ObjectType::Contacts {
        return None;
    }
    let email = properties
        .iter()
        .find(|(name, _)| name == "email")
        .map(|(_, value)| value.to_lowercase())
        .filter(|email| !email.is_empty())?;
    store
        .contacts
        .iter()
        .filter(|record| !record.is_archived() && Some(record.id.as_str()) != except)
        .find(|record| {
            record
                .properties
                .get("email")
                .is_some_and(|value| value.to_lowercase() == email)
        })
        .map(|record| record.id.clone())
}

fn conflict_message(existing: &str) -> String {
    format!("Contact already exists. Existing ID: {existing}")
}

fn conflict(crm: &DemoCrm, existing: &str) -> Reply {
    api::error(
        crm,
        StatusCode::CONFLICT,
        "CONFLICT",
        conflict_message(existing),
    )
}

/// A batch `errors` entry for a conflicting e-mail address.
fn conflict_entry(existing: &str) -> Value {
    api::object([
        ("status", api::string("error")),
        ("category", api::string("CONFLICT")),
        ("message", Value::String(conflict_message(existing))),
        (
            "context",
            api::object([("ids", Value::Array(vec![api::string(existing)]))]),
        ),
        ("errors", Value::Array(Vec::new())),
        ("links", Value::Object(Map::new())),
    ])
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
    let mut rendered = api::render(crm, kind, record, &Selection::written(names));
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
pub(super) fn create(crm: &DemoCrm, store: &mut Store, kind: ObjectType, body: &[u8]) -> Answer {
    let request: CreateBody = api::parse_body(crm, body)?;
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
pub(super) fn update(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    id: &str,
    query: &Query,
    body: &[u8],
) -> Answer {
    let request: UpdateBody = api::parse_body(crm, body)?;
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
        return Err(api::bad_request(
            crm,
            "No properties found to update, please provide at least one.",
        ));
    }
    let at = api::position(
        crm,
        store.records(kind),
        id,
        query.first("idProperty"),
        false,
    )
    .ok_or_else(|| api::object_not_found(crm))?;
    let record_id = store
        .records(kind)
        .get(at)
        .map(|record| record.id.clone())
        .ok_or_else(|| api::object_not_found(crm))?;
    if let Some(existing) = email_owner(store, kind, &properties, Some(&record_id)) {
        return Err(conflict(crm, &existing));
    }
    let record = store
        .records_mut(kind)
        .get_mut(at)
        .ok_or_else(|| api::object_not_found(crm))?;
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
    let Some(at) = api::position(crm, store.records(kind), key, id_property, false) else {
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
pub(super) fn archive(
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
pub(super) fn batch_create(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<CreateInput> = api::parse_body(crm, body)?;
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
    Ok(api::batch_reply(
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
            return Err(api::bad_request(
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
pub(super) fn batch_update(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<KeyedInput> = api::parse_body(crm, body)?;
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
        let Some(at) = api::position(crm, store.records(kind), key, id_property, false) else {
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
        errors.insert(0, api::not_found_error(kind, "update", &missing));
    }
    Ok(api::batch_reply(
        StatusCode::OK,
        results,
        errors,
        started_at,
    ))
}

/// `POST …/batch/upsert` → 200: each input names its `idProperty` (required);
/// a record whose property holds the id is updated, else one is created with
/// it (`new: true`). With `idProperty` `hs_object_id` an unknown id fails (207).
pub(super) fn batch_upsert(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchBody<KeyedInput> = api::parse_body(crm, body)?;
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
                api::bad_request(crm, "idProperty is required for every input of an upsert")
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
        let found = api::position(crm, store.records(kind), key, Some(id_property), false);
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
        errors.insert(0, api::not_found_error(kind, "upsert", &missing));
    }
    Ok(api::batch_reply(
        StatusCode::OK,
        results,
        errors,
        started_at,
    ))
}

/// `POST …/batch/archive` → 204 (unknown ids are ignored, as HubSpot does).
pub(super) fn batch_archive(
    crm: &DemoCrm,
    store: &mut Store,
    kind: ObjectType,
    body: &[u8],
) -> Answer {
    let request: BatchBody<IdInput> = api::parse_body(crm, body)?;
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
pub(super) fn gdpr_delete(crm: &DemoCrm, store: &mut Store, body: &[u8]) -> Answer {
    let kind = ObjectType::Contacts;
    let request: GdprBody = api::parse_body(crm, body)?;
    let key = required_id(crm, request.object_id.as_ref(), "objectId")?;
    let id_property = request.id_property.as_deref();
    let records = store.records(kind);
    let found = api::find(crm, records, &key, id_property, false)
        .or_else(|| api::find(crm, records, &key, id_property, true))
        .map(|record| record.id.clone())
        .ok_or_else(|| api::object_not_found(crm))?;
    store.records_mut(kind).retain(|record| record.id != found);
    repoint_associations(store, kind, &found, None);
    Ok(Reply::no_content())
}

/// `POST …/merge` → 200 with the primary record: it keeps its values, gains
/// the merged record's values where it had none and its associations; the
/// merged record is gone (404, not listed even with `archived=true`).
pub(super) fn merge(crm: &DemoCrm, store: &mut Store, kind: ObjectType, body: &[u8]) -> Answer {
    let request: MergeBody = api::parse_body(crm, body)?;
    let primary_id = required_id(crm, request.primary_object_id.as_ref(), "primaryObjectId")?;
    let merged_id = required_id(crm, request.object_id_to_merge.as_ref(), "objectIdToMerge")?;
    if primary_id == merged_id {
        return Err(api::bad_request(
            crm,
            "Cannot merge an object with itself: primaryObjectId equals objectIdToMerge",
        ));
    }
    let records = store.records(kind);
    let primary = api::find(crm, records, &primary_id, None, false);
    let merged = api::find(crm, records, &merged_id, None, false).cloned();
    let (Some(primary), Some(merged)) = (primary, merged) else {
        return Err(api::object_not_found(crm));
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
        .ok_or_else(|| api::object_not_found(crm))?;
    for associated in &merged.associations {
        if !record.associations.contains(associated) {
            record.associations.push(associated.clone());
        }
    }
    let now = write_time(Some(record));
    apply(record, kind, &adopted, &now);
    let rendered = api::render(crm, kind, record, &Selection::written(Vec::new()));
    Ok(Reply::ok(rendered))
}
