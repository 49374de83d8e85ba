//! sObject Collections (`…/composite/sobjects`): create (`POST`, `{allOrNone, records}`),
//! update (`PATCH`, each record with its `id`), delete (`DELETE ?ids=…&allOrNone=`) and
//! retrieve (`POST …/composite/sobjects/{Type}`, `{ids, fields}`), decided input by input.
//!
//! A create, update or delete names its records' type in its body (or in its ids): it is
//! routed again by that type, to the type's collection route (`…/composite/sobjects/<Type>/
//! @create`, a path no client names), and decided there. Every input is answered in its
//! place, Salesforce's way: `{id, success, errors:[{statusCode, message, fields}]}`; a
//! record the caller may not write to or see answers like one the CRM lacks
//! (`INVALID_CROSS_REFERENCE_KEY`); with `allOrNone` one input not sent and none is. A
//! retrieve answers `null` for a hidden id as for a missing one. This module must never
//! forward a client's bytes, mix types in one request, or pass on a message of the CRM's
//! about a record (it may name another one).

use std::collections::HashSet;

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::read::{field_list, with_attribute_fields};
use super::{errors, ids, write};
use crate::error::RequestError;
use crate::routes::{Cardinality, Operation, ResourceProfile, Route, WriteOp};
use crate::stages::sanitize::Canonical;
use crate::stages::vendor::{Answer, BatchAnswer, InputEntry, Outgoing, Prepared};
use crate::stages::write_inputs::{WriteBody, WriteInput};

/// Most records one collection request names (Salesforce's cap).
pub(super) const MAX: usize = 200;

/// The member of an entry crmgate answers itself that holds its input's position (taken
/// off before the answer goes out).
const INDEX: &str = "\u{0}index";

/// The segment a type's collection route ends with, per operation (no client path has it:
/// a field name has no `@`).
fn op_segment(method: &http::Method) -> Option<&'static str> {
    match *method {
        http::Method::POST => Some("@create"),
        http::Method::PATCH => Some("@update"),
        http::Method::DELETE => Some("@delete"),
        _ => None,
    }
}

/// Whether a path names a type's collection route itself (a client may not).
pub(super) fn is_internal(segments: &[String]) -> bool {
    segments.iter().any(|s| s.starts_with('@'))
}

/// The standard objects' id prefixes: the type a delete's ids name.
const PREFIXES: &[(&str, &str)] = &[("001", "Account"), ("003", "Contact"), ("00Q", "Lead")];

/// The path a collection write is routed by: its type's collection route. `None` for any
/// other route. All records must be of one type.
pub(super) fn route_by_body(
    route: &Route,
    c: &Canonical,
    body: &[u8],
) -> Result<Option<Vec<String>>, RequestError> {
    if !route.path.ends_with("/composite/sobjects") {
        return Ok(None);
    }
    let op = op_segment(&c.method)
        .ok_or_else(|| RequestError::MethodNotAllowed(c.method.to_string()))?;
    let types: Vec<String> = if c.method == http::Method::DELETE {
        delete_ids(&c.query)?
            .0
            .iter()
            .map(|id| {
                PREFIXES
                    .iter()
                    .find(|(p, _)| id.starts_with(p))
                    .map(|(_, t)| (*t).to_string())
                    .ok_or_else(|| {
                        RequestError::BadRequest(
                            "an id names no record type crmgate governs".into(),
                        )
                    })
            })
            .collect::<Result<_, _>>()?
    } else {
        let doc: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
        doc.get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("`records` must be an array of records"))?
            .iter()
            .map(|r| {
                r.get("attributes")
                    .and_then(|a| a.get("type"))
                    .and_then(Value::as_str)
                    .map(String::from)
                    .ok_or_else(|| bad("every record must name its `attributes.type`"))
            })
            .collect::<Result<_, _>>()?
    };
    let Some(first) = types.first() else {
        return Err(bad("the request names no record"));
    };
    if types.iter().any(|t| t != first) {
        return Err(bad(
            "crmgate takes the records of one sObject type per collection request",
        ));
    }
    if !first
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(bad("`attributes.type` is not an sObject type"));
    }
    let mut path = c.segments.clone();
    path.push(first.clone());
    path.push(op.to_string());
    Ok(Some(path))
}

fn bad(m: &str) -> RequestError {
    RequestError::BadRequest(format!("the collection request is not valid: {m}"))
}

/// The sObject type a collection route names (`…/composite/sobjects/<Type>/…`).
fn sobject_of(route: &Route) -> Result<&str, RequestError> {
    let mut segments = route.path.split('/');
    segments.find(|s| *s == "sobjects");
    segments
        .next()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RequestError::Internal(format!("`{}` names no sObject type", route.path)))
}

/// A create's or an update's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Records {
    #[serde(default)]
    all_or_none: bool,
    records: Vec<Map<String, Value>>,
}

/// The ids of a delete (18-character form) and its `allOrNone`.
fn delete_ids(query: &[(String, String)]) -> Result<(Vec<String>, bool), RequestError> {
    let mut ids = query.iter().filter(|(k, _)| k == "ids");
    let Some((_, list)) = ids.next().filter(|_| ids.next().is_none()) else {
        return Err(bad("name the records as exactly one `ids` parameter"));
    };
    let out = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| ids::to_18(id).ok_or_else(|| bad("an id is not a record id")))
        .collect::<Result<Vec<_>, _>>()?;
    let all_or_none = match query.iter().find(|(k, _)| k == "allOrNone") {
        None => false,
        Some((_, v)) if v.eq_ignore_ascii_case("true") => true,
        Some((_, v)) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(bad("`allOrNone` is `true` or `false`")),
    };
    Ok((out, all_or_none))
}

/// What every input of a collection carries to its upstream body: its type, and whether
/// the request is all or none (the vendor's own use of the input's trace).
fn trace(sobject: &str, all_or_none: bool) -> Option<String> {
    Some(format!("{sobject}|{all_or_none}"))
}

fn read_trace(input: &Outgoing<'_>) -> Result<(String, bool), RequestError> {
    input
        .trace
        .and_then(|t| t.split_once('|'))
        .map(|(t, a)| (t.to_string(), a == "true"))
        .ok_or_else(|| RequestError::Internal("a collection input without its type".into()))
}

/// Parse a collection write into the neutral form.
pub(super) fn parse(
    route: &Route,
    body: &[u8],
    query: &[(String, String)],
) -> Result<WriteBody, RequestError> {
    let sobject = sobject_of(route)?;
    let (inputs, all_or_none) = match route.body {
        Operation::Write(WriteOp::Archive, Cardinality::Batch) => {
            if !body.iter().all(u8::is_ascii_whitespace) {
                return Err(bad("a delete takes no request body"));
            }
            let (keys, all_or_none) = delete_ids(query)?;
            let inputs = keys
                .into_iter()
                .map(|k| WriteInput {
                    trace: trace(sobject, all_or_none),
                    ..WriteInput::key(k)
                })
                .collect();
            (inputs, all_or_none)
        }
        Operation::Write(op @ (WriteOp::Create | WriteOp::Update), Cardinality::Batch) => {
            crate::profiles::json::reject_duplicate_keys(body).map_err(|m| bad(&m))?;
            let r: Records = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
            let mut inputs = Vec::with_capacity(r.records.len());
            for mut record in r.records {
                let key = match op {
                    WriteOp::Update => {
                        let name = record
                            .keys()
                            .find(|k| k.eq_ignore_ascii_case("id"))
                            .cloned()
                            .ok_or_else(|| bad("every record of an update names its `id`"))?;
                        let id = record.remove(&name);
                        Some(
                            id.as_ref()
                                .and_then(Value::as_str)
                                .and_then(ids::to_18)
                                .ok_or_else(|| bad("an `id` is not a record id"))?,
                        )
                    }
                    _ => None,
                };
                let (properties, literal) =
                    write::record_fields(record, sobject).map_err(|m| bad(&m))?;
                inputs.push(WriteInput {
                    key,
                    properties,
                    literal,
                    associations: None,
                    trace: trace(sobject, r.all_or_none),
                });
            }
            (inputs, r.all_or_none)
        }
        other => {
            return Err(RequestError::NotGoverned(format!(
                "the `{}` collection write is not governed for this CRM",
                other.name()
            )))
        }
    };
    if inputs.is_empty() {
        return Err(bad("the request names no record"));
    }
    if inputs.len() > MAX {
        return Err(bad("a collection request names at most 200 records"));
    }
    Ok(WriteBody {
        inputs,
        lookup: None,
        merge_into: None,
        all_or_none,
    })
}

/// The upstream body of a collection create or update: the allowed inputs only, each
/// rebuilt as a record of its type.
pub(super) fn upstream_body(
    op: WriteOp,
    inputs: &[Outgoing<'_>],
) -> Result<Option<Bytes>, RequestError> {
    if op == WriteOp::Archive {
        return Ok(None);
    }
    let mut all = false;
    let mut records = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (sobject, all_or_none) = read_trace(input)?;
        all |= all_or_none;
        let mut record = Map::new();
        record.insert("attributes".into(), json!({ "type": sobject }));
        if op == WriteOp::Update {
            let id = input.id.or(input.key).ok_or_else(|| {
                RequestError::Internal("an update of a record without its id".into())
            })?;
            record.insert("id".into(), Value::from(id));
        }
        record.extend(write::record_body(input)?);
        records.push(Value::Object(record));
    }
    serde_json::to_vec(&json!({ "allOrNone": all, "records": records }))
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| RequestError::Internal(format!("collection body: {e}")))
}

/// The query of a collection delete: the allowed ids only.
pub(super) fn upstream_query(
    inputs: &[Outgoing<'_>],
) -> Result<Vec<(String, String)>, RequestError> {
    let mut all = false;
    let mut list = Vec::with_capacity(inputs.len());
    for input in inputs {
        all |= read_trace(input)?.1;
        list.push(
            input.id.or(input.key).ok_or_else(|| {
                RequestError::Internal("a delete of a record without its id".into())
            })?,
        );
    }
    let mut query = vec![("ids".to_string(), list.join(","))];
    if all {
        query.push(("allOrNone".to_string(), "true".to_string()));
    }
    Ok(query)
}

/// One error entry, Salesforce's way.
fn entry(id: Option<&str>, code: &str, message: &str, index: usize) -> Value {
    let mut e = json!({
        "success": false,
        "errors": [{ "statusCode": code, "message": message, "fields": [] }],
    });
    if let (Some(id), Value::Object(m)) = (id, &mut e) {
        m.insert("id".into(), Value::from(id));
    }
    if let Value::Object(m) = &mut e {
        m.insert(INDEX.into(), Value::from(index));
    }
    e
}

/// The entry of an input crmgate refused.
pub(super) fn refused(e: &RequestError, index: usize, key: Option<&str>) -> Value {
    entry(key, errors::error_code(e), &e.detail(), index)
}

/// The entry of an input crmgate answers itself: a record missing or hidden (as
/// Salesforce answers an id it lacks), or one rolled back.
pub(super) fn input_entry(what: InputEntry, index: usize, key: Option<&str>) -> Value {
    match what {
        InputEntry::NotFound => entry(
            key,
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            index,
        ),
        InputEntry::RolledBack => entry(
            key,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request was using AllOrNone header",
            index,
        ),
    }
}

/// The CRM's answer to a collection write, rebuilt strictly (`{id, success, errors}` per
/// input, an error's message replaced by one that names nothing), under `results` (the
/// route's envelope: no record is selected from it).
pub(super) fn complete_answer(body: &[u8]) -> Result<Bytes, RequestError> {
    let bad =
        || RequestError::Unfilterable("a collection answer that is not a list of results".into());
    let doc: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let results = doc
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|r| result(r).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()?;
    serde_json::to_vec(&json!({ "results": results }))
        .map(Bytes::from)
        .map_err(|e| RequestError::Internal(format!("collection answer: {e}")))
}

/// One result of the CRM's, rebuilt.
fn result(r: &Value) -> Option<Value> {
    let success = r.get("success")?.as_bool()?;
    let mut out = Map::new();
    if let Some(id) = r.get("id").and_then(Value::as_str) {
        out.insert("id".into(), Value::from(ids::to_18(id)?));
    }
    out.insert("success".into(), Value::from(success));
    let mut errs = Vec::new();
    for e in r.get("errors")?.as_array()? {
        let code = e.get("statusCode")?.as_str()?;
        if !code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return None;
        }
        let fields: Vec<Value> = e
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .map(Value::from)
            .collect();
        errs.push(json!({
            "statusCode": code,
            "message": format!("the CRM refused this record ({code})"),
            "fields": fields,
        }));
    }
    out.insert("errors".into(), Value::Array(errs));
    if let Some(created) = r.get("created").and_then(Value::as_bool) {
        out.insert("created".into(), Value::from(created));
    }
    Some(Value::Object(out))
}

/// The client's answer: the CRM's results and crmgate's own entries, each in its input's
/// place; 200, as Salesforce answers a collection.
pub(super) fn batch_answer(
    filtered: Value,
    mut errors: Vec<Value>,
) -> Result<(Value, StatusCode), RequestError> {
    let mut results = match filtered {
        Value::Null => Vec::new(),
        Value::Object(mut m) => match m.remove("results") {
            Some(Value::Array(rs)) => rs,
            None => Vec::new(),
            Some(_) => {
                return Err(RequestError::Unfilterable(
                    "a collection answer without its results".into(),
                ))
            }
        },
        _ => {
            return Err(RequestError::Unfilterable(
                "a collection answer that is not an object".into(),
            ))
        }
    }
    .into_iter();
    let index = |e: &Value| e.get(INDEX).and_then(Value::as_u64).unwrap_or(u64::MAX);
    errors.sort_by_key(index);
    let total = errors.len() + results.len();
    let mut errors = errors.into_iter().peekable();
    let mut out = Vec::with_capacity(total);
    for i in 0..total as u64 {
        let next = match errors.peek() {
            Some(e) if index(e) == i => errors.next(),
            _ => results.next().or_else(|| errors.next()),
        };
        if let Some(mut v) = next {
            if let Value::Object(m) = &mut v {
                m.remove(INDEX);
            }
            out.push(v);
        }
    }
    Ok((Value::Array(out), StatusCode::OK))
}

/// The ids a collection create's (or a create's) answer names, in input order.
pub(super) fn created_ids(answer: &[u8]) -> Vec<Option<String>> {
    let id = |r: &Value| {
        r.get("success")
            .and_then(Value::as_bool)
            .filter(|s| *s)
            .and_then(|_| r.get("id"))
            .and_then(Value::as_str)
            .and_then(ids::to_18)
    };
    match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Array(rs)) => rs.iter().map(id).collect(),
        Ok(r @ Value::Object(_)) => vec![id(&r)],
        _ => Vec::new(),
    }
}

/// A retrieve's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrieve {
    ids: Vec<String>,
    fields: Vec<String>,
}

/// `POST …/composite/sobjects/{Type}` `{ids, fields}`: the ids in their 18-character form
/// (a string that is no id names no record: answered `null`), the client's fields plus
/// those the policies read.
pub(super) fn prepare_retrieve(
    route: &Route,
    c: &Canonical,
    body: &[u8],
) -> Result<Prepared, RequestError> {
    let res = &route.resource;
    crate::profiles::json::reject_duplicate_keys(body).map_err(|m| bad(&m))?;
    let r: Retrieve = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    if r.ids.len() > MAX {
        return Err(bad("a collection request names at most 200 records"));
    }
    if r.fields.is_empty() {
        return Err(bad("name the `fields` to retrieve"));
    }
    let requested = field_list(res, &r.fields.join(","))?;
    let mut hidden = HashSet::new();
    let mut fields = with_attribute_fields(res, requested, &mut hidden);
    // The id comes with every record (as Salesforce answers it): the place of each in the
    // answer is read from it.
    if !fields.iter().any(|f| f == &res.id_field) {
        fields.push(res.id_field.clone());
    }
    let asked: Vec<Option<String>> = r.ids.iter().map(|i| ids::to_18(i)).collect();
    let mut sent: Vec<&str> = asked.iter().flatten().map(String::as_str).collect();
    sent.dedup();
    let body = serde_json::to_vec(&json!({ "ids": sent, "fields": fields }))
        .map_err(|e| RequestError::Internal(format!("retrieve body: {e}")))?;
    Ok(Prepared {
        path_and_query: c.path.clone(),
        body: Some(Bytes::from(body)),
        hidden,
        selected_by: Vec::new(),
        answer: Answer::Batch(Box::new(Retrieved { asked })),
    })
}

/// A retrieve's answer: per id asked, the record shown or `null`.
struct Retrieved {
    asked: Vec<Option<String>>,
}

impl BatchAnswer for Retrieved {
    fn as_filtered(&self, upstream: Bytes) -> Result<Bytes, RequestError> {
        // `[record | null, …]` → `{"records": [record, …]}` (the route's records).
        let bad = || RequestError::Unfilterable("a retrieve answer that is not a list".into());
        let list: Vec<Value> = serde_json::from_slice(&upstream).map_err(|_| bad())?;
        let records: Vec<Value> = list.into_iter().filter(|r| !r.is_null()).collect();
        serde_json::to_vec(&json!({ "records": records }))
            .map(Bytes::from)
            .map_err(|e| RequestError::Internal(format!("retrieve answer: {e}")))
    }

    fn rebuild(
        &self,
        res: &ResourceProfile,
        _upstream: &[u8],
        filtered: Value,
    ) -> Result<(Value, StatusCode), RequestError> {
        let shown: Vec<Value> = match filtered {
            Value::Object(mut m) => match m.remove("records") {
                Some(Value::Array(rs)) => rs,
                _ => Vec::new(),
            },
            _ => {
                return Err(RequestError::Unfilterable(
                    "a retrieve answer that is not an object".into(),
                ))
            }
        };
        let by_id = |id: &str| {
            shown
                .iter()
                .find(|r| r.get(&res.id_field).and_then(Value::as_str) == Some(id))
                .cloned()
        };
        let out = self
            .asked
            .iter()
            .map(|id| id.as_deref().and_then(by_id).unwrap_or(Value::Null))
            .collect();
        Ok((Value::Array(out), StatusCode::OK))
    }
}

#[cfg(test)]
mod tests;
