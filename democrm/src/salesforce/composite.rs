//! sObject Collections under `…/composite/sobjects`: create, update, upsert by an
//! external id and delete up to 200 records, each answered in order with `{id, success, errors}` (with
//! `allOrNone` one failure rolls every change back), and retrieve by ids
//! (`null` for an id not found). It must never leave half of an `allOrNone`
//! request applied.

use http::StatusCode;
use serde_json::{json, Value};

use super::checks;
use super::crm::SalesforceCrm;
use super::fields::SObject;
use super::ids;
use super::render;
use super::reply::{SfAnswer, SfError};
use super::sobjects::{field_columns, lookup_field};
use super::store::SfStore;
use super::writes::{self, Upserted};
use crate::reply::Reply;

/// Salesforce's limit of records or ids in one collection request.
const MAX_RECORDS: usize = 200;

fn too_many() -> SfError {
    SfError::bad(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )
}

fn rolled_back() -> SfError {
    SfError::bad(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

/// `{allOrNone, records}` of a create or an update.
fn records_of(body: &Value) -> Result<(bool, &[Value]), SfError> {
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            SfError::bad("JSON_PARSER_ERROR", "records: must be an array of sObjects")
        })?;
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((all_or_none, records))
}

/// The type a record's `attributes.type` names.
fn kind_of(record: &Value) -> Result<SObject, SfError> {
    checks::attributes_type(record)
        .and_then(SObject::parse)
        .ok_or_else(|| SfError::bad("INVALID_TYPE", "Must send a concrete entity type."))
}

/// One input's outcome: the record's id (when known) and success (with an
/// upsert's `created`) or the error.
type Outcome = (Option<String>, Result<Option<bool>, SfError>);

/// Runs one write per input; with `all_or_none`, any failure restores the
/// store as it was and marks every other input rolled back.
fn each<T>(
    crm: &SalesforceCrm,
    inputs: &[T],
    all_or_none: bool,
    mut write: impl FnMut(&mut SfStore, &T) -> Outcome,
) -> Reply {
    let mut store = crm.write_store();
    let before = all_or_none.then(|| store.clone());
    let outcomes: Vec<Outcome> = inputs
        .iter()
        .map(|input| write(&mut store, input))
        .collect();
    let failed = outcomes.iter().any(|(_, outcome)| outcome.is_err());
    if let (true, Some(before)) = (failed, before) {
        *store = before;
    }
    let results = outcomes
        .into_iter()
        .map(|(id, outcome)| {
            let outcome = match outcome {
                Ok(_) if failed && all_or_none => Err(rolled_back()),
                other => other,
            };
            match outcome {
                Ok(None) => json!({ "id": id, "success": true, "errors": [] }),
                Ok(Some(created)) => {
                    json!({ "id": id, "success": true, "errors": [], "created": created })
                }
                Err(error) => match id {
                    Some(id) => json!({ "id": id, "success": false, "errors": [error.entry()] }),
                    None => json!({ "success": false, "errors": [error.entry()] }),
                },
            }
        })
        .collect();
    Reply::ok(Value::Array(results))
}

/// `POST …/composite/sobjects`.
pub(crate) fn create(crm: &SalesforceCrm, body: &Value) -> SfAnswer {
    let (all_or_none, records) = records_of(body)?;
    let kinds = records.iter().map(kind_of).collect::<Result<Vec<_>, _>>()?;
    let inputs: Vec<(SObject, &Value)> = kinds.into_iter().zip(records).collect();
    Ok(each(
        crm,
        &inputs,
        all_or_none,
        |store, (kind, record)| match writes::create(store, *kind, record) {
            Ok(id) => (Some(id), Ok(None)),
            Err(error) => (None, Err(error)),
        },
    ))
}

/// `PATCH …/composite/sobjects`: each record carries its `id`.
pub(crate) fn update(crm: &SalesforceCrm, body: &Value) -> SfAnswer {
    let (all_or_none, records) = records_of(body)?;
    let kinds = records.iter().map(kind_of).collect::<Result<Vec<_>, _>>()?;
    let inputs: Vec<(SObject, &Value)> = kinds.into_iter().zip(records).collect();
    Ok(each(crm, &inputs, all_or_none, |store, (kind, record)| {
        let id = record
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("id")))
            .and_then(|(_, id)| id.as_str());
        let Some(id) = id else {
            let error = SfError::bad("MISSING_ARGUMENT", "Id not specified in an update call");
            return (None, Err(error));
        };
        let outcome = collection_live(store, *kind, id)
            .and_then(|number| writes::update(store, *kind, number, record, true));
        (Some(canonical(id)), outcome.map(|()| None))
    }))
}

/// `DELETE …/composite/sobjects?ids=…&allOrNone=…`.
pub(crate) fn delete(crm: &SalesforceCrm, ids_param: Option<&str>, all_or_none: bool) -> SfAnswer {
    let ids: Vec<&str> = ids_param
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if ids.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok(each(crm, &ids, all_or_none, |store, id| {
        let outcome = ids::parse(id)
            .ok_or_else(cross_reference)
            .and_then(|(kind, _)| {
                let number = collection_live(store, kind, id)?;
                writes::delete(store, kind, number)
            });
        (Some(canonical(id)), outcome.map(|()| None))
    }))
}

/// `PATCH …/composite/sobjects/{Type}/{ExtIdField}`: each record carries its key.
pub(crate) fn upsert(crm: &SalesforceCrm, kind: SObject, field: &str, body: &Value) -> SfAnswer {
    let field = lookup_field(kind, field)?;
    let (all_or_none, records) = records_of(body)?;
    for record in records {
        if kind_of(record)? != kind {
            return Err(SfError::bad(
                "INVALID_TYPE",
                "Must send records of the type in the URL.",
            ));
        }
    }
    Ok(each(crm, records, all_or_none, |store, record| {
        let key = record
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(field.name)))
            .and_then(|(_, value)| value.as_str());
        let Some(key) = key else {
            let message = format!("{} not specified", field.name);
            return (None, Err(SfError::bad("MISSING_ARGUMENT", message)));
        };
        match writes::upsert(store, kind, field, key, record) {
            Ok(Upserted::Created(id)) => (Some(id), Ok(Some(true))),
            Ok(Upserted::Updated(id)) => (Some(id), Ok(Some(false))),
            Ok(Upserted::Several(numbers)) => {
                let found: Vec<String> = numbers.iter().map(|n| ids::id18(kind, *n)).collect();
                let message = format!(
                    "{}: more than one record found for external id field: [{}]",
                    field.name,
                    found.join(", ")
                );
                (None, Err(SfError::bad("DUPLICATE_EXTERNAL_ID", message)))
            }
            Err(error) => (None, Err(error)),
        }
    }))
}

/// A collection's answer for an id that names no live record.
fn collection_live(store: &SfStore, kind: SObject, id: &str) -> Result<u64, SfError> {
    writes::live(store, kind, id).map_err(|error| {
        if error.code == "ENTITY_IS_DELETED" {
            error
        } else {
            cross_reference()
        }
    })
}

fn cross_reference() -> SfError {
    SfError::bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
}

/// The 18-character form of an id the caller sent (as given when it is no id).
fn canonical(id: &str) -> String {
    ids::parse(id).map_or_else(|| id.to_string(), |(kind, n)| ids::id18(kind, n))
}

/// `GET …/composite/sobjects/{Type}?ids=…&fields=…` and its `POST` form `{ids, fields}`.
pub(crate) fn retrieve(
    crm: &SalesforceCrm,
    version: &str,
    kind: SObject,
    ids_list: &[String],
    fields: &[String],
) -> SfAnswer {
    if fields.is_empty() {
        return Err(SfError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "The fields parameter is required",
        ));
    }
    if ids_list.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let mut columns = field_columns(kind, &fields.join(","))?;
    if !columns.iter().any(|c| c.field.name == "Id") {
        columns.extend(field_columns(kind, "Id")?);
    }
    let store = crm.read_store();
    let records = ids_list
        .iter()
        .map(|id| {
            writes::live(&store, kind, id)
                .ok()
                .and_then(|number| store.find(kind, number))
                .map_or(Value::Null, |record| {
                    render::selected(&store, record, &columns, version)
                })
        })
        .collect();
    Ok(Reply::ok(Value::Array(records)))
}
