//! Writes on the store, one record at a time, shared by the single-record
//! endpoints and the collections: create, update, delete (to the recycle bin),
//! each checked in full before it is applied, each moving the modification
//! stamps. It must never answer HTTP and never apply a write that failed a check.

use std::collections::BTreeMap;

use serde_json::Value;

use super::checks;
use super::fields::{Field, Kind, SObject};
use super::ids;
use super::reply::SfError;
use super::store::{self, SfRecord, SfStore};
use crate::dates;

/// Creates a record from a body; its 18-character id.
pub(crate) fn create(store: &mut SfStore, kind: SObject, body: &Value) -> Result<String, SfError> {
    create_with(store, kind, body, &[])
}

/// Creates a record from a body and `extra` values (an upsert's key).
pub(crate) fn create_with(
    store: &mut SfStore,
    kind: SObject,
    body: &Value,
    extra: &[(&'static Field, Value)],
) -> Result<String, SfError> {
    let mut values: BTreeMap<&'static str, Value> = kind
        .fields()
        .iter()
        .filter(|field| field.kind == Kind::Boolean && field.writable())
        .map(|field| (field.name, Value::Bool(false)))
        .collect();
    for (field, value) in checks::values(store, kind, body, false)?
        .into_iter()
        .chain(extra.iter().cloned())
    {
        values.insert(field.name, value);
    }
    // One instant for the creation and the first modification stamps.
    let now = Value::String(store::datetime(dates::now_millis()));
    for stamp in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        values.insert(stamp, now.clone());
    }
    let mut record = SfRecord {
        kind,
        number: 0,
        values: values.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        deleted: false,
    };
    checks::complete(store, &record, None)?;
    record.number = store.allocate(kind);
    let id = record.id();
    store.records.push(record);
    Ok(id)
}

/// The live record an id names, or why there is none: 404 `NOT_FOUND` for an
/// unknown id (or one of another type), `ENTITY_IS_DELETED` for the recycle bin.
pub(crate) fn live(store: &SfStore, kind: SObject, id: &str) -> Result<u64, SfError> {
    let number = ids::parse(id)
        .filter(|(of, _)| *of == kind)
        .map(|(_, number)| number)
        .ok_or_else(SfError::not_found)?;
    match store.find(kind, number) {
        None => Err(SfError::not_found()),
        Some(record) if record.deleted => Err(SfError::deleted()),
        Some(_) => Ok(number),
    }
}

/// Updates a live record with a body's values.
pub(crate) fn update(
    store: &mut SfStore,
    kind: SObject,
    number: u64,
    body: &Value,
    id_allowed: bool,
) -> Result<(), SfError> {
    let changes = checks::values(store, kind, body, id_allowed)?;
    let mut record = store
        .find(kind, number)
        .cloned()
        .ok_or_else(SfError::not_found)?;
    let written: Vec<&str> = changes.iter().map(|(field, _)| field.name).collect();
    for (field, value) in changes {
        if value.is_null() {
            record.values.remove(field.name);
        } else {
            record.values.insert(field.name, value);
        }
    }
    record.touch();
    checks::complete(store, &record, Some(&written))?;
    if let Some(stored) = store.find_mut(kind, number) {
        *stored = record;
    }
    Ok(())
}

/// Moves a live record to the recycle bin.
pub(crate) fn delete(store: &mut SfStore, kind: SObject, number: u64) -> Result<(), SfError> {
    let record = store
        .find_mut(kind, number)
        .ok_or_else(SfError::not_found)?;
    if record.deleted {
        return Err(SfError::deleted());
    }
    record.deleted = true;
    record.touch();
    Ok(())
}

/// The live records whose lookup field holds `value` (text case-insensitive,
/// ids in either form).
pub(crate) fn matching(store: &SfStore, kind: SObject, field: &Field, value: &str) -> Vec<u64> {
    let wanted = if field.kind.is_id() {
        value.get(..15).unwrap_or(value).to_string()
    } else {
        value.to_lowercase()
    };
    store
        .records
        .iter()
        .filter(|record| record.kind == kind && !record.deleted)
        .filter(|record| {
            record.value(field).as_str().is_some_and(|held| {
                if field.kind.is_id() {
                    held.get(..15) == Some(wanted.as_str())
                } else {
                    held.to_lowercase() == wanted
                }
            })
        })
        .map(|record| record.number)
        .collect()
}

/// What an upsert did.
pub(crate) enum Upserted {
    Created(String),
    Updated(String),
    /// Several live records hold the value: nothing changed.
    Several(Vec<u64>),
}

/// Updates the one live record whose lookup field holds `value`, or creates one
/// holding it (never for `Id`: an unknown id is `NOT_FOUND`).
pub(crate) fn upsert(
    store: &mut SfStore,
    kind: SObject,
    field: &'static Field,
    value: &str,
    body: &Value,
) -> Result<Upserted, SfError> {
    let body = without(body, field.name);
    match matching(store, kind, field, value).as_slice() {
        [] if field.name == "Id" => Err(SfError::not_found()),
        [] => {
            let key = (field, Value::String(value.to_string()));
            create_with(store, kind, &body, &[key]).map(Upserted::Created)
        }
        [number] => {
            update(store, kind, *number, &body, false)?;
            Ok(Upserted::Updated(ids::id18(kind, *number)))
        }
        numbers => Ok(Upserted::Several(numbers.to_vec())),
    }
}

/// The body without the member `name` (any case).
fn without(body: &Value, name: &str) -> Value {
    match body {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(key, _)| !key.eq_ignore_ascii_case(name))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
