//! The demo CRM's reads: list, get and batch read, in the shapes HubSpot's CRM
//! v3 API answers (search has its own module). The reads take the store's read
//! lock and must never change a record; every write goes through `writes.rs`
//! under the write lock.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::crm::DemoCrm;
use crate::dates;
use crate::model::{ObjectType, Record, Store};
use crate::query::{parse_after, parse_limit, Query, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT};
use crate::render::{find, render, Selection};
use crate::reply::{
    bad_request, batch_reply, not_found_error, object, object_not_found, parse_body, scalar,
    Answer, Reply,
};

pub(crate) fn list(crm: &DemoCrm, store: &Store, kind: ObjectType, query: &Query) -> Answer {
    let limit = parse_limit(query.first("limit"), LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
        .map_err(|message| bad_request(crm, message))?;
    let after = parse_after(query.first("after")).map_err(|message| bad_request(crm, message))?;
    let archived = query
        .flag("archived")
        .map_err(|message| bad_request(crm, message))?;
    let selection = Selection::from_query(query);

    let matching: Vec<&Record> = store
        .records(kind)
        .iter()
        .filter(|record| record.is_archived() == archived)
        .collect();
    let results = matching
        .iter()
        .skip(after)
        .take(limit)
        .map(|record| render(crm, kind, record, &selection))
        .collect();
    let mut body = Map::new();
    body.insert("results".into(), Value::Array(results));
    let next = after.saturating_add(limit);
    if next < matching.len() {
        let next = next.to_string();
        let link = format!("?after={next}");
        body.insert(
            "paging".into(),
            object([(
                "next",
                object([
                    ("after", Value::String(next)),
                    ("link", Value::String(link)),
                ]),
            )]),
        );
    }
    Ok(Reply::ok(Value::Object(body)))
}

pub(crate) fn get(
    crm: &DemoCrm,
    store: &Store,
    kind: ObjectType,
    id: &str,
    query: &Query,
) -> Answer {
    let archived = query
        .flag("archived")
        .map_err(|message| bad_request(crm, message))?;
    let selection = Selection::from_query(query);
    let record = find(
        crm,
        store.records(kind),
        id,
        query.first("idProperty"),
        archived,
    )
    .ok_or_else(|| object_not_found(crm))?;
    Ok(Reply::ok(render(crm, kind, record, &selection)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchReadBody {
    inputs: Vec<BatchInput>,
    properties: Option<Vec<String>>,
    properties_with_history: Option<Vec<String>>,
    id_property: Option<String>,
}

#[derive(Deserialize)]
struct BatchInput {
    id: Value,
}

pub(crate) fn batch_read(
    crm: &DemoCrm,
    store: &Store,
    kind: ObjectType,
    query: &Query,
    body: &[u8],
) -> Answer {
    let started_at = dates::now_iso();
    let request: BatchReadBody = parse_body(crm, body)?;
    let archived = query
        .flag("archived")
        .map_err(|message| bad_request(crm, message))?;
    let mut keys: Vec<String> = Vec::new();
    for input in &request.inputs {
        let key = scalar(&input.id)
            .ok_or_else(|| bad_request(crm, "Each input needs an id (string or number)"))?;
        // HubSpot answers each distinct id once.
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let selection = Selection {
        properties: request.properties.unwrap_or_default(),
        history: request.properties_with_history.unwrap_or_default(),
        associations: Vec::new(),
    };

    let mut results = Vec::new();
    let mut errors = Vec::new();
    for key in &keys {
        let records = store.records(kind);
        match find(crm, records, key, request.id_property.as_deref(), archived) {
            Some(record) => results.push(render(crm, kind, record, &selection)),
            None => errors.push(not_found_error(kind, "get", std::slice::from_ref(key))),
        }
    }
    Ok(batch_reply(StatusCode::OK, results, errors, started_at))
}
