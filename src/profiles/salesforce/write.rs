//! Salesforce's writes of one record: create (`POST …/sobjects/{Type}`), update (`PATCH
//! …/sobjects/{Type}/{id}`), delete (`DELETE …/sobjects/{Type}/{id}`) and upsert by an
//! external id or another lookup field named in the path (`PATCH
//! …/sobjects/{Type}/{Field}/{value}`), parsed strictly into the neutral write body and
//! rebuilt from the decided inputs; and crmgate's own read of the records a write names (a
//! query by id or by the lookup field).
//!
//! A body is one flat JSON object: every member a field, `attributes` allowed only as
//! `{type}` naming the path's type; strings, booleans, numbers and null as Salesforce takes
//! them (booleans and numbers written back as such). This module must never forward a
//! client's bytes, let a member through that is not a field value, or name a record by a
//! string that is not a Salesforce id (that names no record: answered like a missing one).

use std::collections::BTreeSet;

use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::ids;
use crate::error::RequestError;
use crate::routes::{Cardinality, Operation, Route, WriteOp};
use crate::stages::authz::RecordRead;
use crate::stages::sanitize;
use crate::stages::vendor::Outgoing;
use crate::stages::write_inputs::{WriteBody, WriteInput};

/// What a write route's path template names: the object type, and for an upsert the
/// lookup field (`…/sobjects/{Type}/{Field}/{id}`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct WritePath<'a> {
    pub sobject: &'a str,
    pub lookup: Option<&'a str>,
}

/// The type and lookup field of a write route, from its path template.
pub(super) fn write_path(template: &str) -> Result<WritePath<'_>, RequestError> {
    let segments: Vec<&str> = template.split('/').collect();
    let at = segments
        .iter()
        .position(|s| *s == "sobjects")
        .ok_or_else(|| RequestError::Internal(format!("`{template}` is not a record path")))?;
    let rest = segments.get(at + 1..).unwrap_or_default();
    match rest {
        [sobject] | [sobject, "{id}"] => Ok(WritePath {
            sobject,
            lookup: None,
        }),
        [sobject, field, "{id}"] => Ok(WritePath {
            sobject,
            lookup: Some(field),
        }),
        _ => Err(RequestError::Internal(format!(
            "`{template}` names no record type"
        ))),
    }
}

/// Parse a write of one record.
pub(super) fn parse(
    route: &Route,
    body: &[u8],
    id: Option<&str>,
) -> Result<WriteBody, RequestError> {
    let path = write_path(&route.path)?;
    let record_id = || {
        // fail closed: what is not an id names no record, answered like a missing one.
        id.and_then(ids::to_18).ok_or(RequestError::RecordNotFound)
    };
    let (key, lookup, fields) = match route.body {
        Operation::Write(WriteOp::Create, Cardinality::One) => {
            (None, None, fields(body, path.sobject, "create")?)
        }
        Operation::Write(WriteOp::Update, Cardinality::One) => (
            Some(record_id()?),
            None,
            fields(body, path.sobject, "update")?,
        ),
        Operation::Write(WriteOp::Upsert, Cardinality::One) => {
            let field = path.lookup.ok_or_else(|| {
                RequestError::Internal("an upsert route names no lookup field".into())
            })?;
            let value = id
                .filter(|v| !v.is_empty())
                .ok_or(RequestError::RecordNotFound)?;
            let (key, lookup) = if field.eq_ignore_ascii_case("Id") {
                (ids::to_18(value).ok_or(RequestError::RecordNotFound)?, None)
            } else {
                (value.to_string(), Some(field.to_string()))
            };
            let (properties, literal) = fields(body, path.sobject, "upsert")?;
            if properties.keys().any(|k| k.eq_ignore_ascii_case(field)) {
                return Err(RequestError::BadRequest(format!(
                    "the upsert body names `{field}`, the field the path looks the record up by"
                )));
            }
            (Some(key), lookup, (properties, literal))
        }
        Operation::Write(WriteOp::Archive, Cardinality::One) => {
            if !body.iter().all(u8::is_ascii_whitespace) {
                return Err(RequestError::BadRequest(
                    "a delete takes no request body".into(),
                ));
            }
            (Some(record_id()?), None, (IndexMap::new(), BTreeSet::new()))
        }
        other => {
            return Err(RequestError::NotGoverned(format!(
                "the `{}` write is not governed for this CRM",
                other.name()
            )))
        }
    };
    let (properties, literal) = fields;
    Ok(WriteBody {
        inputs: vec![WriteInput {
            key,
            properties,
            literal,
            associations: None,
            trace: None,
        }],
        lookup,
        merge_into: None,
        all_or_none: false,
    })
}

/// The fields of a flat record body: values as text, and which of them were JSON literals.
type Fields = (IndexMap<String, Option<String>>, BTreeSet<String>);

/// A flat record body, strictly: a JSON object without duplicate members, each a field
/// value (`attributes` only as `{type}` naming `sobject`).
pub(super) fn fields(body: &[u8], sobject: &str, what: &str) -> Result<Fields, RequestError> {
    let bad = |m: String| RequestError::BadRequest(format!("the {what} body is not valid: {m}"));
    crate::profiles::json::reject_duplicate_keys(body).map_err(bad)?;
    let value: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let Value::Object(members) = value else {
        return Err(bad("it must be a JSON object".into()));
    };
    record_fields(members, sobject).map_err(bad)
}

/// One record's members as field values.
pub(super) fn record_fields(members: Map<String, Value>, sobject: &str) -> Result<Fields, String> {
    let mut properties = IndexMap::new();
    let mut literal = BTreeSet::new();
    for (name, v) in members {
        if name == "attributes" {
            check_attributes(&v, sobject)?;
            continue;
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "`{}` is not a field name",
                name.chars().take(64).collect::<String>()
            ));
        }
        let text = match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Bool(_) | Value::Number(_) => {
                literal.insert(name.clone());
                Some(v.to_string())
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(format!("field `{name}` holds no field value"));
            }
        };
        properties.insert(name, text);
    }
    Ok((properties, literal))
}

/// `attributes` in a write: `{type}` (and the `url` Salesforce's answers carry) naming the
/// path's object type, nothing else.
fn check_attributes(v: &Value, sobject: &str) -> Result<(), String> {
    let Value::Object(a) = v else {
        return Err("`attributes` must be an object".into());
    };
    for (k, v) in a {
        match (k.as_str(), v) {
            ("type", Value::String(t)) if t == sobject => {}
            ("type", _) => return Err(format!("`attributes.type` must be `{sobject}`")),
            ("url" | "referenceId", Value::String(_)) => {}
            _ => return Err(format!("`attributes.{k}` is not accepted")),
        }
    }
    Ok(())
}

/// The body of a decided write of one record (none for a delete).
pub(super) fn upstream_body(
    op: Operation,
    inputs: &[Outgoing<'_>],
) -> Result<Option<Bytes>, RequestError> {
    if op == Operation::Write(WriteOp::Archive, Cardinality::One) {
        return Ok(None);
    }
    let [input] = inputs else {
        return Err(RequestError::Internal(
            "a write of one record decided on more than one".into(),
        ));
    };
    let record = record_body(input)?;
    serde_json::to_vec(&Value::Object(record))
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| RequestError::Internal(format!("write body: {e}")))
}

/// One decided input as Salesforce's flat record: literals as JSON literals, cleared fields
/// as `null`.
pub(super) fn record_body(input: &Outgoing<'_>) -> Result<Map<String, Value>, RequestError> {
    let mut record = Map::new();
    for (name, v) in input.properties {
        let value = match v {
            None => Value::Null,
            Some(text) if input.literal.contains(name) => {
                // fail closed: a literal that does not read back as one is not sent.
                match serde_json::from_str::<Value>(text) {
                    Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
                    _ => {
                        return Err(RequestError::Internal(format!(
                            "field `{name}` is no longer a literal"
                        )))
                    }
                }
            }
            Some(text) => Value::String(text.clone()),
        };
        record.insert(name.clone(), value);
    }
    Ok(record)
}

/// crmgate's own read of the records a write names: a query of their `properties` by id,
/// or by the `lookup` field's values. `read_path` is the type's batch-read route
/// (`…/composite/sobjects/{Type}`): it names the API's base and the type.
pub(super) fn record_read(
    read_path: &str,
    keys: &[String],
    lookup: Option<&str>,
    properties: &[String],
) -> Result<RecordRead, RequestError> {
    let (base, sobject) = read_path
        .split_once("/composite/sobjects/")
        .filter(|(_, t)| !t.is_empty() && !t.contains('/'))
        .ok_or_else(|| {
            RequestError::Internal(format!("`{read_path}` is not a batch read of one type"))
        })?;
    let mut fields = vec!["Id".to_string()];
    fields.extend(properties.iter().filter(|p| *p != "Id").cloned());
    let by = lookup.unwrap_or("Id");
    if !by.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(RequestError::Internal(format!(
            "`{by}` is not a field name"
        )));
    }
    let values: Vec<String> = keys.iter().map(|k| soql_string(k)).collect();
    let soql = format!(
        "SELECT {} FROM {sobject} WHERE {by} IN ({})",
        fields.join(", "),
        values.join(", ")
    );
    Ok(RecordRead {
        method: http::Method::GET,
        path_and_query: format!(
            "{base}/query?{}",
            sanitize::encode_query(&[("q".to_string(), soql)])
        ),
        body: None,
    })
}

/// A SOQL string literal: quoted, with Salesforce's escapes.
fn soql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The records of a query's answer.
pub(super) fn read_records(body: &[u8]) -> Result<Vec<Map<String, Value>>, RequestError> {
    let bad = || RequestError::Unfilterable("the record read is not a query answer".into());
    let doc: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let records = doc
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    records
        .iter()
        .map(|r| r.as_object().cloned().ok_or_else(bad))
        .collect()
}

#[cfg(test)]
mod tests;
