//! What a write must be before anything changes: every member a field of the
//! type, writable, of the field's JSON type and format (checkboxes booleans,
//! dates `YYYY-MM-DD`, references to live parents, e-mail addresses, lengths),
//! and after the write every required field set and every unique value unique.
//! It checks and normalises: it must never change the store.

use serde_json::Value;

use super::fields::{Access, Field, Kind, SObject};
use super::filter::datetime_millis;
use super::ids;
use super::reply::SfError;
use super::store::{self, SfRecord, SfStore};
use crate::dates;

/// The fields and normalised values a write body sets. `Id` (any case) and
/// `attributes` are left to the caller when `id_allowed` (collection updates).
pub(crate) fn values(
    store: &SfStore,
    kind: SObject,
    body: &Value,
    id_allowed: bool,
) -> Result<Vec<(&'static Field, Value)>, SfError> {
    let Value::Object(members) = body else {
        return Err(parser_error(
            "Cannot deserialize instance of an sObject from a non-object value",
        ));
    };
    let mut out = Vec::new();
    for (name, value) in members {
        if name == "attributes" || (id_allowed && name.eq_ignore_ascii_case("id")) {
            continue;
        }
        let field = kind
            .field(name)
            .ok_or_else(|| SfError::no_such_column(name, kind.name()))?;
        if !field.writable() {
            return Err(SfError::bad(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of \
                     this field and verify that it is read/write for your profile or permission set.",
                    field.name
                ),
            )
            .on_fields(&[field.name]));
        }
        out.push((field, value_for(store, field, value)?));
    }
    Ok(out)
}

/// The attributes' `type`, when given, must name the type written.
pub(crate) fn attributes_type(body: &Value) -> Option<&str> {
    body.get("attributes")?.get("type")?.as_str()
}

fn parser_error(message: impl Into<String>) -> SfError {
    SfError::bad("JSON_PARSER_ERROR", message)
}

/// A value of the field's type, normalised as Salesforce stores it ("" is null).
fn value_for(store: &SfStore, field: &Field, value: &Value) -> Result<Value, SfError> {
    let type_error = || {
        parser_error(format!(
            "Cannot deserialize instance of {} from {} value {value} or request may be missing a required field",
            field.kind.name(),
            json_type(value)
        ))
    };
    if value.is_null() || value.as_str() == Some("") {
        return Ok(if field.kind == Kind::Boolean {
            Value::Bool(false)
        } else {
            Value::Null
        });
    }
    match field.kind {
        Kind::Boolean if value.is_boolean() => Ok(value.clone()),
        Kind::Int if value.as_i64().is_some() => Ok(value.clone()),
        Kind::Currency if value.is_number() => Ok(value.clone()),
        Kind::Date => {
            let text = value.as_str().ok_or_else(type_error)?;
            let valid = text.len() == 10 && dates::parse_day(text).is_some();
            if valid {
                Ok(value.clone())
            } else {
                Err(type_error())
            }
        }
        Kind::DateTime => {
            let millis = value
                .as_str()
                .and_then(datetime_millis)
                .ok_or_else(type_error)?;
            Ok(Value::String(store::datetime(millis)))
        }
        Kind::Reference(parent) => {
            let text = value.as_str().ok_or_else(type_error)?;
            let Some((kind, number)) = ids::parse(text).filter(|(kind, _)| *kind == parent) else {
                return Err(SfError::bad(
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {text}", field.label),
                )
                .on_fields(&[field.name]));
            };
            if store.find(kind, number).is_none_or(|record| record.deleted) {
                return Err(SfError::bad(
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("{}: invalid cross reference id", field.label),
                )
                .on_fields(&[field.name]));
            }
            Ok(Value::String(ids::id18(kind, number)))
        }
        kind if kind.is_text() => {
            let text = value.as_str().ok_or_else(type_error)?;
            text_value(field, text)
        }
        _ => Err(type_error()),
    }
}

fn text_value(field: &Field, text: &str) -> Result<Value, SfError> {
    let length = text.chars().count();
    if field.length > 0 && length > field.length as usize {
        return Err(SfError::bad(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {} (max length={})",
                field.label,
                text.chars().take(40).collect::<String>(),
                field.length
            ),
        )
        .on_fields(&[field.name]));
    }
    if field.kind == Kind::Email && !is_email(text) {
        return Err(SfError::bad(
            "INVALID_EMAIL_ADDRESS",
            format!("{}: invalid email address: {text}", field.label),
        )
        .on_fields(&[field.name]));
    }
    Ok(Value::String(text.to_string()))
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !text.contains(char::is_whitespace)
        && domain
            .split_once('.')
            .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "VALUE_TRUE_OR_FALSE",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

/// After a write: required fields hold a value, unique fields are unique
/// among the type's other records. An update (`written`: the fields its body names) is
/// refused only for a required field it clears, as Salesforce does: a seeded lead
/// without a company stays updatable.
pub(crate) fn complete(
    store: &SfStore,
    record: &SfRecord,
    written: Option<&[&str]>,
) -> Result<(), SfError> {
    let missing: Vec<&str> = record
        .kind
        .fields()
        .iter()
        .filter(|field| field.access == Access::Required && record.value(field).is_null())
        .filter(|field| written.is_none_or(|w| w.contains(&field.name)))
        .map(|field| field.name)
        .collect();
    if !missing.is_empty() {
        return Err(SfError::bad(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
        )
        .on_fields(&missing));
    }
    for field in record.kind.fields().iter().filter(|field| field.unique) {
        let Some(value) = record.values.get(field.name).and_then(Value::as_str) else {
            continue;
        };
        let clash = store.records.iter().find(|other| {
            other.kind == record.kind
                && other.number != record.number
                && other
                    .values
                    .get(field.name)
                    .and_then(Value::as_str)
                    .is_some_and(|theirs| theirs.eq_ignore_ascii_case(value))
        });
        if let Some(other) = clash {
            return Err(SfError::bad(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {} duplicates value on record with id: {}",
                    field.name,
                    other.id()
                ),
            )
            .on_fields(&[field.name]));
        }
    }
    Ok(())
}
