//! The single-record endpoints under `…/sobjects/{Type}`: read by id (`fields`),
//! read by an external id, create, update, delete, and upsert by an external id
//! (201 created, 200 updated, 300 when several match). It must never change a
//! record before the whole write was checked.

use http::StatusCode;
use serde_json::{json, Value};

use super::columns::Column;
use super::crm::SalesforceCrm;
use super::fields::{Field, SObject};
use super::ids;
use super::render;
use super::reply::{with_status, SfAnswer, SfError};
use super::store::SfStore;
use super::writes::{self, Upserted};
use crate::reply::Reply;

/// `GET …/sobjects/{Type}/{id}`: the live record, all fields or those in `fields`.
pub(crate) fn get(
    crm: &SalesforceCrm,
    version: &str,
    kind: SObject,
    id: &str,
    fields: Option<&str>,
) -> SfAnswer {
    let store = crm.read_store();
    // A deleted record reads as a missing one here (only `queryAll` sees the bin).
    let number = writes::live(&store, kind, id).map_err(|_| SfError::not_found())?;
    answer_record(&store, version, kind, number, fields)
}

fn answer_record(
    store: &SfStore,
    version: &str,
    kind: SObject,
    number: u64,
    fields: Option<&str>,
) -> SfAnswer {
    let record = store.find(kind, number).ok_or_else(SfError::not_found)?;
    let Some(fields) = fields else {
        return Ok(Reply::ok(render::full(record, version)));
    };
    let mut columns = field_columns(kind, fields)?;
    if !columns.iter().any(|c| c.field.name == "Id") {
        columns.push(Column::bind(kind, "Id")?);
    }
    Ok(Reply::ok(render::selected(
        store, record, &columns, version,
    )))
}

/// The type's own fields a `fields` parameter names (comma-separated).
pub(crate) fn field_columns(kind: SObject, fields: &str) -> Result<Vec<Column>, SfError> {
    fields
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            kind.field(name)
                .map(|field| Column { field, via: None })
                .ok_or_else(|| SfError::no_such_column(name, kind.name()))
        })
        .collect()
}

/// The lookup field a path names, or Salesforce's 404 for it.
pub(crate) fn lookup_field(kind: SObject, name: &str) -> Result<&'static Field, SfError> {
    kind.lookup_field(name).ok_or_else(|| {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {name}"),
        )
    })
}

/// 300 Multiple Choices: the URLs of the records that match.
fn multiple(kind: SObject, version: &str, numbers: &[u64]) -> SfAnswer {
    let urls: Vec<Value> = numbers
        .iter()
        .map(|n| {
            json!(format!(
                "/services/data/{version}/sobjects/{}/{}",
                kind.name(),
                ids::id18(kind, *n)
            ))
        })
        .collect();
    Ok(with_status(
        StatusCode::MULTIPLE_CHOICES,
        Value::Array(urls),
    ))
}

/// `GET …/sobjects/{Type}/{Field}/{value}`: the one live record whose lookup field holds the value.
pub(crate) fn get_by(
    crm: &SalesforceCrm,
    version: &str,
    kind: SObject,
    field: &str,
    value: &str,
    fields: Option<&str>,
) -> SfAnswer {
    let field = lookup_field(kind, field)?;
    let store = crm.read_store();
    match writes::matching(&store, kind, field, value).as_slice() {
        [] => Err(SfError::not_found()),
        [number] => answer_record(&store, version, kind, *number, fields),
        numbers => multiple(kind, version, numbers),
    }
}

/// `POST …/sobjects/{Type}`: 201 `{id, success, errors}`.
pub(crate) fn create(crm: &SalesforceCrm, kind: SObject, body: &Value) -> SfAnswer {
    let mut store = crm.write_store();
    let id = writes::create(&mut store, kind, body)?;
    Ok(with_status(
        StatusCode::CREATED,
        json!({ "id": id, "success": true, "errors": [] }),
    ))
}

/// `PATCH …/sobjects/{Type}/{id}`: 204.
pub(crate) fn update(crm: &SalesforceCrm, kind: SObject, id: &str, body: &Value) -> SfAnswer {
    let mut store = crm.write_store();
    let number = writes::live(&store, kind, id)?;
    writes::update(&mut store, kind, number, body, false)?;
    Ok(Reply::no_content())
}

/// `DELETE …/sobjects/{Type}/{id}`: 204; the record goes to the recycle bin.
pub(crate) fn delete(crm: &SalesforceCrm, kind: SObject, id: &str) -> SfAnswer {
    let mut store = crm.write_store();
    let number = writes::live(&store, kind, id)?;
    writes::delete(&mut store, kind, number)?;
    Ok(Reply::no_content())
}

/// `DELETE …/sobjects/{Type}/{Field}/{value}`: deletes the one record that matches.
pub(crate) fn delete_by(
    crm: &SalesforceCrm,
    version: &str,
    kind: SObject,
    field: &str,
    value: &str,
) -> SfAnswer {
    let field = lookup_field(kind, field)?;
    let mut store = crm.write_store();
    match writes::matching(&store, kind, field, value).as_slice() {
        [] => Err(SfError::not_found()),
        [number] => {
            writes::delete(&mut store, kind, *number)?;
            Ok(Reply::no_content())
        }
        numbers => multiple(kind, version, numbers),
    }
}

/// `PATCH …/sobjects/{Type}/{Field}/{value}`: updates the one record whose
/// lookup field holds the value (200, `created` false), creates one holding it
/// when none does (201, `created` true), or lists several (300).
pub(crate) fn upsert(
    crm: &SalesforceCrm,
    version: &str,
    kind: SObject,
    field: &str,
    value: &str,
    body: &Value,
) -> SfAnswer {
    let field = lookup_field(kind, field)?;
    if let Some(given) = body
        .as_object()
        .and_then(|members| {
            members
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(field.name))
        })
        .map(|(_, given)| given)
    {
        // The key is the path's: a body may repeat it, never contradict it.
        if given
            .as_str()
            .is_none_or(|given| !given.eq_ignore_ascii_case(value))
        {
            return Err(SfError::bad(
                "INVALID_FIELD",
                format!(
                    "The external ID field {} in the body does not match the URL",
                    field.name
                ),
            )
            .on_fields(&[field.name]));
        }
    }
    let mut store = crm.write_store();
    let (status, id, created) = match writes::upsert(&mut store, kind, field, value, body)? {
        Upserted::Created(id) => (StatusCode::CREATED, id, true),
        Upserted::Updated(id) => (StatusCode::OK, id, false),
        Upserted::Several(numbers) => return multiple(kind, version, &numbers),
    };
    Ok(with_status(
        status,
        json!({ "id": id, "success": true, "errors": [], "created": created }),
    ))
}
