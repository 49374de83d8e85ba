//! HubSpot CRM v3 write bodies: create, update, archive, the four batches, GDPR delete and
//! merge, parsed strictly into one vendor-neutral form ([`WriteBody`]) and rebuilt from what
//! the write stage allowed.
//!
//! A property value must be a string (HubSpot's rule; a number or an object would be read
//! one way here and another way there); an unknown key, a duplicate key or a shape HubSpot
//! does not document is a 400. This module must never forward a client's bytes: every
//! upstream body is serialised from the typed inputs the write stage returned.

use std::collections::BTreeSet;

use bytes::Bytes;
use http::StatusCode;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::read::BATCH_MAX_INPUTS;
use super::strict::parse_strict;
use crate::error::RequestError;
use crate::routes::{Cardinality, Operation, ResourceProfile, WriteOp};
use crate::stages::vendor::{Decided, Outgoing};
use crate::stages::write_inputs::{WriteBody, WriteInput};

/// HubSpot's write bodies, one per write operation it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Create,
    Update,
    Archive,
    BatchCreate,
    BatchUpdate,
    BatchUpsert,
    BatchArchive,
    GdprDelete,
    Merge,
}

impl Body {
    /// The body of a write operation; a read, or a write HubSpot has no body for, is none.
    fn of(op: Operation) -> Result<Body, RequestError> {
        use Cardinality::{Batch, One};
        match op {
            Operation::Write(WriteOp::Create, One) => Ok(Body::Create),
            Operation::Write(WriteOp::Update, One) => Ok(Body::Update),
            Operation::Write(WriteOp::Archive, One) => Ok(Body::Archive),
            Operation::Write(WriteOp::Create, Batch) => Ok(Body::BatchCreate),
            Operation::Write(WriteOp::Update, Batch) => Ok(Body::BatchUpdate),
            Operation::Write(WriteOp::Upsert, Batch) => Ok(Body::BatchUpsert),
            Operation::Write(WriteOp::Archive, Batch) => Ok(Body::BatchArchive),
            Operation::Write(WriteOp::Erase, One) => Ok(Body::GdprDelete),
            Operation::Write(WriteOp::Merge, One) => Ok(Body::Merge),
            Operation::Read | Operation::Search | Operation::BatchRead | Operation::Describe => {
                Err(RequestError::Internal(
                    "a read route has no write body".into(),
                ))
            }
            Operation::Write(op, n) => Err(RequestError::Internal(format!(
                "HubSpot has no write body for {op:?} ({n:?})"
            ))),
        }
    }
}

/// A property map: every value a string (or null, which HubSpot reads as "clear it").
type Properties = IndexMap<String, Option<String>>;

/// HubSpot's `PublicAssociationsForObject`, parsed strictly and rebuilt.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Association {
    to: AssociationTarget,
    types: Vec<AssociationSpec>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AssociationTarget {
    id: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssociationSpec {
    association_category: AssociationCategory,
    association_type_id: i32,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum AssociationCategory {
    HubspotDefined,
    IntegratorDefined,
    UserDefined,
    Work,
}

/// Associations as crmgate forwards them: parsed into HubSpot's documented shape (else
/// 400) and rebuilt from it.
fn associations(a: Option<Vec<Association>>) -> Result<Option<Vec<Value>>, RequestError> {
    a.map(|list| {
        list.iter()
            .map(|x| {
                serde_json::to_value(x)
                    .map_err(|e| RequestError::Internal(format!("serialize associations: {e}")))
            })
            .collect()
    })
    .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInput {
    properties: Properties,
    #[serde(default)]
    associations: Option<Vec<Association>>,
    #[serde(default, rename = "objectWriteTraceId")]
    trace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateInput {
    properties: Properties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchUpdateInput {
    id: String,
    properties: Properties,
    #[serde(default, rename = "idProperty")]
    id_property: Option<String>,
    #[serde(default, rename = "objectWriteTraceId")]
    trace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdInput {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch<T> {
    inputs: Vec<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GdprDelete {
    #[serde(rename = "objectId")]
    object_id: String,
    #[serde(default, rename = "idProperty")]
    id_property: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Merge {
    #[serde(rename = "primaryObjectId")]
    primary: String,
    #[serde(rename = "objectIdToMerge")]
    merged: String,
}

fn strings(p: Properties, what: &str) -> Result<IndexMap<String, Option<String>>, RequestError> {
    if p.len() > 1000 {
        return Err(RequestError::BadRequest(format!(
            "the {what} body names more than 1000 properties"
        )));
    }
    Ok(p)
}

fn lookup(id_property: Option<String>) -> Option<String> {
    id_property.filter(|p| !p.is_empty() && p != "hs_object_id")
}

fn batch_size<T>(b: &Batch<T>, what: &str) -> Result<(), RequestError> {
    if b.inputs.len() > BATCH_MAX_INPUTS {
        return Err(RequestError::BadRequest(format!(
            "a {what} takes at most {BATCH_MAX_INPUTS} inputs"
        )));
    }
    if b.inputs.is_empty() {
        return Err(RequestError::BadRequest(format!(
            "a {what} needs at least one input"
        )));
    }
    Ok(())
}

/// Parse a write body. `id` is the record the path names (update, archive), `id_property`
/// the query's `idProperty` (update).
pub fn parse(
    op: Operation,
    body: &[u8],
    id: Option<&str>,
    id_property: Option<&str>,
) -> Result<WriteBody, RequestError> {
    let kind = Body::of(op)?;
    let path_id = || {
        id.map(String::from)
            .ok_or_else(|| RequestError::Internal("a write route without a record id".into()))
    };
    let single = |input: WriteInput| WriteBody {
        inputs: vec![input],
        lookup: None,
        merge_into: None,
        all_or_none: false,
    };
    match kind {
        Body::Create => {
            let c: CreateInput = parse_strict(body, "create")?;
            Ok(single(WriteInput {
                key: None,
                properties: strings(c.properties, "create")?,
                literal: BTreeSet::new(),
                associations: associations(c.associations)?,
                trace: c.trace,
            }))
        }
        Body::Update => {
            let u: UpdateInput = parse_strict(body, "update")?;
            Ok(WriteBody {
                inputs: vec![WriteInput {
                    key: Some(path_id()?),
                    properties: strings(u.properties, "update")?,
                    literal: BTreeSet::new(),
                    associations: None,
                    trace: None,
                }],
                lookup: lookup(id_property.map(String::from)),
                merge_into: None,
                all_or_none: false,
            })
        }
        Body::Archive => {
            if !body.is_empty() {
                return Err(RequestError::BadRequest(
                    "an archive request takes no body".into(),
                ));
            }
            Ok(single(WriteInput::key(path_id()?)))
        }
        Body::BatchCreate => parse_batch_create(body),
        Body::BatchUpdate | Body::BatchUpsert => parse_batch_update(kind, body),
        Body::BatchArchive => {
            let b: Batch<IdInput> = parse_strict(body, "batch archive")?;
            batch_size(&b, "batch archive")?;
            Ok(WriteBody {
                inputs: b
                    .inputs
                    .into_iter()
                    .map(|i| WriteInput::key(i.id))
                    .collect(),
                lookup: None,
                merge_into: None,
                all_or_none: false,
            })
        }
        Body::GdprDelete => {
            let g: GdprDelete = parse_strict(body, "GDPR delete")?;
            Ok(WriteBody {
                inputs: vec![WriteInput::key(g.object_id)],
                lookup: lookup(g.id_property),
                merge_into: None,
                all_or_none: false,
            })
        }
        Body::Merge => {
            let m: Merge = parse_strict(body, "merge")?;
            if m.primary == m.merged {
                return Err(RequestError::BadRequest(
                    "a record cannot be merged into itself".into(),
                ));
            }
            Ok(WriteBody {
                inputs: vec![WriteInput::key(m.merged)],
                lookup: None,
                merge_into: Some(m.primary),
                all_or_none: false,
            })
        }
    }
}

/// A batch create: each input a record to create.
fn parse_batch_create(body: &[u8]) -> Result<WriteBody, RequestError> {
    let b: Batch<CreateInput> = parse_strict(body, "batch create")?;
    batch_size(&b, "batch create")?;
    let inputs = b
        .inputs
        .into_iter()
        .map(|c| {
            Ok(WriteInput {
                key: None,
                properties: strings(c.properties, "batch create")?,
                literal: BTreeSet::new(),
                associations: associations(c.associations)?,
                trace: c.trace,
            })
        })
        .collect::<Result<_, RequestError>>()?;
    Ok(WriteBody {
        inputs,
        lookup: None,
        merge_into: None,
        all_or_none: false,
    })
}

/// A batch update or upsert: each input names its record, all by the same `idProperty`.
fn parse_batch_update(kind: Body, body: &[u8]) -> Result<WriteBody, RequestError> {
    let what = if kind == Body::BatchUpsert {
        "batch upsert"
    } else {
        "batch update"
    };
    let b: Batch<BatchUpdateInput> = parse_strict(body, what)?;
    batch_size(&b, what)?;
    // One lookup property per batch: the prior read and the answer are keyed by it.
    let mut props: Vec<Option<String>> = b
        .inputs
        .iter()
        .map(|i| lookup(i.id_property.clone()))
        .collect();
    props.dedup();
    let lookup_property = match props.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(RequestError::BadRequest(format!(
                "every input of a {what} must name the same `idProperty`"
            )))
        }
    };
    if kind == Body::BatchUpsert && lookup_property.is_none() {
        return Err(RequestError::BadRequest(
            "a batch upsert needs an `idProperty` (a unique property such as `email`)".into(),
        ));
    }
    let inputs = b
        .inputs
        .into_iter()
        .map(|i| {
            Ok(WriteInput {
                key: Some(i.id),
                properties: strings(i.properties, what)?,
                literal: BTreeSet::new(),
                associations: None,
                trace: i.trace,
            })
        })
        .collect::<Result<_, RequestError>>()?;
    Ok(WriteBody {
        inputs,
        lookup: lookup_property,
        merge_into: None,
        all_or_none: false,
    })
}

/// The body of crmgate's own read of the records a write names (HubSpot's batch read),
/// for the properties the attributes come from.
pub fn prior_read_body(
    keys: &[String],
    lookup: Option<&str>,
    properties: &[String],
) -> Result<Bytes, RequestError> {
    #[derive(Serialize)]
    struct Id<'a> {
        id: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Read<'a> {
        inputs: Vec<Id<'a>>,
        properties: &'a [String],
        properties_with_history: [&'a str; 0],
        #[serde(skip_serializing_if = "Option::is_none")]
        id_property: Option<&'a str>,
    }
    let body = Read {
        inputs: keys.iter().map(|k| Id { id: k }).collect(),
        properties,
        properties_with_history: [],
        id_property: lookup,
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| RequestError::Internal(format!("serialize prior read: {e}")))
}

/// The records of a batch read's answer.
pub fn prior_read_results(body: &[u8]) -> Result<Vec<Map<String, Value>>, RequestError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::Unfilterable(format!("the CRM's record read: {e}")))?;
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| RequestError::Unfilterable("the CRM's record read has no results".into()))?;
    results
        .iter()
        .map(|r| {
            r.as_object()
                .cloned()
                .ok_or_else(|| RequestError::Unfilterable("a record is not an object".into()))
        })
        .collect()
}

/// An input's properties as HubSpot takes them (null clears one).
fn props(o: &Outgoing<'_>) -> Value {
    Value::Object(
        o.properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
            .collect(),
    )
}

/// The record id crmgate's own read resolved for an input.
fn need_id(o: &Outgoing<'_>) -> Result<Value, RequestError> {
    o.id.map(Value::from)
        .ok_or_else(|| RequestError::Internal("an input without its record id".into()))
}

/// A batch input that names its record: by id, or by a lookup value and its property.
fn keyed(id: Value, id_property: Option<&str>, o: &Outgoing<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id);
    if let Some(p) = id_property {
        m.insert("idProperty".into(), Value::from(p));
    }
    m.insert("properties".into(), props(o));
    if let Some(t) = o.trace {
        m.insert("objectWriteTraceId".into(), Value::from(t));
    }
    Value::Object(m)
}

/// A record to create: its properties, associations and trace id.
fn create(o: &Outgoing<'_>) -> Value {
    let mut m = Map::new();
    m.insert("properties".into(), props(o));
    m.insert(
        "associations".into(),
        Value::Array(o.associations.cloned().unwrap_or_default()),
    );
    if let Some(t) = o.trace {
        m.insert("objectWriteTraceId".into(), Value::from(t));
    }
    Value::Object(m)
}

/// The upstream body of a write, rebuilt from the allowed inputs. Lookups were resolved to
/// record ids by crmgate's own read, so updates go by id (the record decided on).
pub fn upstream_body(
    op: Operation,
    inputs: &[Outgoing<'_>],
    lookup: Option<&str>,
    merge_into: Option<&str>,
) -> Result<Option<Bytes>, RequestError> {
    let kind = Body::of(op)?;
    let value = match kind {
        Body::Create => match inputs {
            [one] => create(one),
            _ => return Err(RequestError::Internal("a create of one record".into())),
        },
        Body::Update => match inputs {
            [one] => serde_json::json!({ "properties": props(one) }),
            _ => return Err(RequestError::Internal("an update of one record".into())),
        },
        Body::Archive => return Ok(None),
        Body::BatchCreate => {
            serde_json::json!({ "inputs": inputs.iter().map(create).collect::<Vec<_>>() })
        }
        Body::BatchUpdate => {
            let items = inputs
                .iter()
                .map(|o| Ok(keyed(need_id(o)?, None, o)))
                .collect::<Result<Vec<_>, RequestError>>()?;
            serde_json::json!({ "inputs": items })
        }
        Body::BatchUpsert => {
            // Upserts stay keyed by the lookup property: an input crmgate decided as a
            // create has no record id yet.
            let p = lookup
                .ok_or_else(|| RequestError::Internal("an upsert without idProperty".into()))?;
            let items = inputs
                .iter()
                .map(|o| {
                    let key = o.key.ok_or_else(|| {
                        RequestError::Internal("an upsert input without its key".into())
                    })?;
                    Ok(keyed(Value::from(key), Some(p), o))
                })
                .collect::<Result<Vec<_>, RequestError>>()?;
            serde_json::json!({ "inputs": items })
        }
        Body::BatchArchive => {
            let items = inputs
                .iter()
                .map(|o| Ok(serde_json::json!({ "id": need_id(o)? })))
                .collect::<Result<Vec<_>, RequestError>>()?;
            serde_json::json!({ "inputs": items })
        }
        Body::GdprDelete => match inputs {
            [one] => serde_json::json!({ "objectId": need_id(one)? }),
            _ => return Err(RequestError::Internal("a GDPR delete of one record".into())),
        },
        Body::Merge => match inputs {
            [one] => serde_json::json!({
                "primaryObjectId": merge_into.ok_or_else(|| RequestError::Internal("a merge without its primary".into()))?,
                "objectIdToMerge": need_id(one)?,
            }),
            _ => return Err(RequestError::Internal("a merge of one record".into())),
        },
    };
    serde_json::to_vec(&value)
        .map(|b| Some(Bytes::from(b)))
        .map_err(|e| RequestError::Internal(format!("serialize a write: {e}")))
}

/// The CRM answers a write with the properties written (and a few of its own), not
/// necessarily those the policies read: where a record of the answer lacks an attribute
/// property, it is taken from what crmgate decided the write on, so that the answer is
/// decided like the write. Returns the completed body and the properties added (removed
/// again by the filter: the caller did not ask for them).
pub fn complete_answer(
    res: &ResourceProfile,
    body: &[u8],
    single: bool,
    lookup: Option<&str>,
    decided: &[Decided<'_>],
) -> Result<(Bytes, std::collections::HashSet<String>), RequestError> {
    let mut added = std::collections::HashSet::new();
    let mut doc: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::Unfilterable(format!("invalid JSON ({e})")))?;
    let complete = |record: &mut Value, added: &mut std::collections::HashSet<String>| {
        let Some(obj) = record.as_object_mut() else {
            return;
        };
        let id = obj.get(&res.id_field).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let props = obj
            .entry(res.properties_field.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(props) = props.as_object_mut() else {
            return;
        };
        let key = lookup
            .and_then(|p| props.get(p))
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        let found = decided.iter().find(|d| match (d.id, &id) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        });
        let found = found
            .or_else(|| decided.iter().find(|d| d.key.is_some() && d.key == key))
            .or_else(|| match decided {
                [only] if single && only.id.is_none() => Some(only),
                _ => None,
            });
        if let Some(d) = found {
            for (k, v) in d.attributes {
                if !props.contains_key(k) {
                    props.insert(k.clone(), v.clone());
                    added.insert(k.clone());
                }
            }
        }
    };
    if single {
        complete(&mut doc, &mut added);
    } else if let Some(Value::Array(rs)) = doc.get_mut("results") {
        for r in rs {
            complete(r, &mut added);
        }
    }
    if added.is_empty() {
        return Ok((Bytes::copy_from_slice(body), added));
    }
    let bytes = serde_json::to_vec(&doc)
        .map_err(|e| RequestError::Internal(format!("serialize an answer: {e}")))?;
    Ok((Bytes::from(bytes), added))
}

/// A batch error entry in HubSpot's shape (the spec's `StandardError`) for an input crmgate
/// did not forward: HubSpot's category for the status and crmgate's message; crmgate's
/// problem type and status in `subCategory` (an object, as the spec has it); and in
/// `context` what tells the client which of its inputs it is: the record it named (`ids`),
/// its position in the request's `inputs` (`inputIndex`, from 0) and its
/// `objectWriteTraceId`, echoed.
pub fn batch_error(
    e: &RequestError,
    request_id: &str,
    index: usize,
    key: Option<&str>,
    trace: Option<&str>,
) -> Value {
    let p = e.problem(request_id);
    let category = super::errors::category(e.status());
    let mut context = Map::new();
    if let Some(k) = key {
        context.insert("ids".into(), serde_json::json!([k]));
    }
    context.insert("inputIndex".into(), serde_json::json!([index.to_string()]));
    if let Some(t) = trace {
        context.insert("objectWriteTraceId".into(), serde_json::json!([t]));
    }
    serde_json::json!({
        "status": "error",
        "category": category,
        "message": p.detail,
        "context": context,
        "errors": [],
        "links": {},
        "subCategory": { "type": p.kind, "status": p.status },
    })
}

/// A record the caller wrote but may not read, as a write's answer names it: its id and
/// the fields HubSpot's `SimplePublicObject` requires — empty `properties`, `createdAt` and
/// `updatedAt` both the time of this write (`at`), `archived` false — and, for an upsert,
/// whether it was created (`new`). Nothing of the stored record.
pub fn stub(res: &ResourceProfile, id: &str, at: &str, new: Option<bool>) -> Value {
    let mut m = Map::new();
    m.insert(res.id_field.clone(), Value::from(id));
    m.insert(res.properties_field.clone(), Value::Object(Map::new()));
    m.insert("createdAt".into(), Value::from(at));
    m.insert("updatedAt".into(), Value::from(at));
    m.insert("archived".into(), Value::Bool(false));
    if let Some(n) = new {
        m.insert("new".into(), Value::Bool(n));
    }
    Value::Object(m)
}

/// The answer of a batch write: the CRM's (filtered) answer with the records the caller
/// may not read as [`stub`]s and crmgate's errors for the inputs it did not forward added,
/// `numErrors` recounted, 207 when there are any. A batch the CRM did not answer (nothing
/// was forwarded) gets the envelope the spec requires, with `at` as its times.
pub fn batch_answer(
    filtered: Value,
    stubs: Vec<Value>,
    mut errors: Vec<Value>,
    upstream_status: StatusCode,
    at: &str,
) -> Result<(Value, StatusCode), RequestError> {
    let mut doc = match filtered {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => {
            return Err(RequestError::Unfilterable(
                "a batch answer that is not an object".into(),
            ))
        }
    };
    let results = doc
        .entry("results")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(rs) = results {
        rs.extend(stubs);
    }
    if let Some(Value::Array(upstream_errors)) = doc.remove("errors") {
        errors.extend(upstream_errors);
    }
    doc.remove("numErrors");
    let status = if errors.is_empty() {
        upstream_status
    } else {
        doc.insert("numErrors".into(), Value::from(errors.len()));
        doc.insert("errors".into(), Value::Array(errors));
        StatusCode::MULTI_STATUS
    };
    doc.entry("status")
        .or_insert_with(|| Value::from("COMPLETE"));
    for time in ["startedAt", "completedAt"] {
        doc.entry(time).or_insert_with(|| Value::from(at));
    }
    Ok((Value::Object(doc), status))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use Cardinality::{Batch, One};

    #[test]
    fn write_bodies_are_parsed_strictly() {
        let with = parse(
            Operation::Write(WriteOp::Create, One),
            br#"{"properties":{},"associations":[{"to":{"id":"2001"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#,
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            with.inputs[0].associations.as_ref().unwrap()[0]["types"][0]["associationTypeId"],
            279
        );
        let ok = parse(
            Operation::Write(WriteOp::Create, One),
            br#"{"properties":{"email":"a@b.example","firstname":null},"associations":[]}"#,
            None,
            None,
        )
        .unwrap();
        assert_eq!(ok.inputs.len(), 1);
        for bad in [
            &br#"{"properties":{"email":1}}"#[..],
            br#"{"properties":{"email":{"x":"y"}}}"#,
            br#"{"properties":{},"extra":1}"#,
            br#"{"properties":{"a":"1","a":"2"}}"#,
            br#"[]"#,
            br#"{"properties":[]}"#,
            br#"{"properties":{},"associations":[{"to":{"id":"2001"}}]}"#,
            br#"{"properties":{},"associations":[{"to":{"id":"2001"},"types":[{"associationCategory":"EVIL","associationTypeId":1}]}]}"#,
            br#"{"properties":{},"associations":[{"to":{"id":"2001","x":1},"types":[]}]}"#,
        ] {
            assert!(
                parse(Operation::Write(WriteOp::Create, One), bad, None, None).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse(
            Operation::Write(WriteOp::Upsert, Batch),
            br#"{"inputs":[{"id":"a","properties":{}}]}"#,
            None,
            None
        )
        .is_err());
        assert!(parse(
            Operation::Write(WriteOp::Merge, One),
            br#"{"primaryObjectId":"1","objectIdToMerge":"1"}"#,
            None,
            None
        )
        .is_err());
        assert!(parse(
            Operation::Write(WriteOp::Archive, One),
            b"{}",
            Some("1"),
            None
        )
        .is_err());
    }
}
