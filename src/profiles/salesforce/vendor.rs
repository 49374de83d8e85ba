//! Salesforce's REST API as the stages' [`Vendor`]: each method hands the stages' question
//! to the module of this profile that knows the answer (read routes, ids, the error shape).
//! The write side answers "not yet governed" until Salesforce's writes are in. This module
//! must never decide on access: it only spells requests and answers the way Salesforce does.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value};

use super::{collections, credential, errors, ids, query, read, write, Salesforce};
use crate::error::{RateLimitShape, RequestError};
use crate::routes::{Cardinality, Operation, ResourceProfile, Route, RouteTable};
use crate::stages::authz::RecordRead;
use crate::stages::sanitize::{self, Canonical, Spelling};
use crate::stages::vendor::{
    AssociationShape, ClientRequest, CredentialInputs, CredentialSource, Decided, Erasure,
    InputEntry, ListPage, Named, Outgoing, Prepared, Shown, Vendor,
};
use crate::stages::write_inputs::WriteBody;

/// Most records one sObject Collections request names (Salesforce's cap).
const COLLECTION_MAX: usize = collections::MAX;

impl Vendor for Salesforce {
    fn name(&self) -> &'static str {
        "salesforce"
    }

    fn canonical_segments(&self, segments: &[String]) -> Option<Vec<String>> {
        // `…/sobjects/{Type}/{id}`: the id in its 18-character form.
        match segments {
            [s, d, _, o, _, id] if s == "services" && d == "data" && o == "sobjects" => {
                let long = ids::to_18(id).filter(|l| l != id)?;
                let mut out = segments.to_vec();
                *out.last_mut()? = long;
                Some(out)
            }
            _ => None,
        }
    }

    fn spelling(&self) -> Spelling {
        Spelling {
            // SOQL: `LIKE 'DE%'`.
            query_text: &["q"],
            // Its clients send `…/query/?q=` and `…/sobjects/Contact/`.
            trailing_slash: true,
            // `Sforce-Query-Options: batchSize=500`: a query's client page.
            option_headers: &[query::OPTIONS_HEADER],
        }
    }

    fn route_path(
        &self,
        c: &Canonical,
        routes: &RouteTable,
    ) -> Result<Option<Vec<String>>, RequestError> {
        if collections::is_internal(&c.segments) {
            // A type's collection route is reached through its body only.
            return Err(RequestError::NoRoute {
                method: c.method.to_string(),
                path: c.path.clone(),
            });
        }
        query::route_path(c, routes)
    }

    fn route_by_body(
        &self,
        route: &Route,
        c: &Canonical,
        body: &[u8],
    ) -> Result<Option<Vec<String>>, RequestError> {
        collections::route_by_body(route, c, body)
    }

    fn client_cursor<'a>(&self, route: &Route, id: Option<&'a str>) -> Option<&'a str> {
        (route.body == Operation::Search)
            .then(|| query::client_cursor(route, id))
            .flatten()
    }

    fn prepare_resumed(
        &self,
        route: &Route,
        c: &Canonical,
        resume: &str,
    ) -> Result<Prepared, RequestError> {
        query::prepare(self, route, c, Some(resume))
    }

    fn prepare_read(
        &self,
        route: &Route,
        c: &Canonical,
        body: Bytes,
    ) -> Result<Prepared, RequestError> {
        if !body.is_empty() && route.body != Operation::BatchRead {
            return Err(RequestError::BadRequest(
                "this route takes no request body".into(),
            ));
        }
        match route.body {
            Operation::Search => query::prepare(self, route, c, None),
            Operation::BatchRead => collections::prepare_retrieve(route, c, &body),
            _ => read::prepare(route, c),
        }
    }

    fn lookup_param(&self) -> Option<&'static str> {
        // Salesforce names a lookup in the path (`…/sobjects/{Type}/{Field}/{value}`).
        None
    }

    fn is_lookup(&self, _property: &str) -> bool {
        false
    }

    fn parse_write(
        &self,
        route: &Route,
        body: &[u8],
        id: Option<&str>,
        query: &[(String, String)],
    ) -> Result<WriteBody, RequestError> {
        if route.body.is_batch() {
            return collections::parse(route, body, query);
        }
        write::parse(route, body, id)
    }

    fn upstream_write_body(
        &self,
        op: Operation,
        inputs: &[Outgoing<'_>],
        _lookup: Option<&str>,
        _merge_into: Option<&str>,
    ) -> Result<Option<Bytes>, RequestError> {
        match op {
            Operation::Write(w, Cardinality::Batch) => collections::upstream_body(w, inputs),
            _ => write::upstream_body(op, inputs),
        }
    }

    fn upstream_write_query(
        &self,
        op: Operation,
        inputs: &[Outgoing<'_>],
        query: &[(String, String)],
    ) -> Result<Vec<(String, String)>, RequestError> {
        match op {
            Operation::Write(crate::routes::WriteOp::Archive, Cardinality::Batch) => {
                collections::upstream_query(inputs)
            }
            _ => Ok(query.to_vec()),
        }
    }

    fn created_ids(&self, answer: &[u8]) -> Vec<Option<String>> {
        collections::created_ids(answer)
    }

    fn input_entry(&self, entry: InputEntry, index: usize, key: Option<&str>) -> Option<Value> {
        Some(collections::input_entry(entry, index, key))
    }

    fn complete_answer(
        &self,
        _res: &ResourceProfile,
        body: &[u8],
        _single: bool,
        _lookup: Option<&str>,
        _decided: &[Decided<'_>],
    ) -> Result<(Bytes, HashSet<String>), RequestError> {
        // A write's answer is `{id, success, errors, created?}`: no record, only the id of
        // the one written (its route keeps those members as its envelope); a collection's
        // is a list of them, rebuilt under `results`.
        if body.trim_ascii_start().first() == Some(&b'[') {
            return Ok((collections::complete_answer(body)?, HashSet::new()));
        }
        Ok((Bytes::copy_from_slice(body), HashSet::new()))
    }

    fn batch_error(
        &self,
        e: &RequestError,
        _request_id: &str,
        index: usize,
        key: Option<&str>,
        _trace: Option<&str>,
    ) -> Value {
        // An sObject Collections result entry: `{id, success, errors}`.
        collections::refused(e, index, key)
    }

    fn stub(&self, res: &ResourceProfile, id: &str, _at: &str, _new: Option<bool>) -> Value {
        serde_json::json!({
            "attributes": {"type": res.entity_type, "url": format!("{}/sobjects/{}/{id}", self.base(), res.entity_type)},
            "Id": id,
        })
    }

    fn batch_answer(
        &self,
        filtered: Value,
        _stubs: Vec<Value>,
        errors: Vec<Value>,
        _upstream_status: StatusCode,
        _at: &str,
    ) -> Result<(Value, StatusCode), RequestError> {
        // A collection's answer names no record: nothing is stubbed.
        collections::batch_answer(filtered, errors)
    }

    fn not_found_entries(&self, _res: &ResourceProfile, keys: &[String]) -> Vec<Value> {
        keys.iter()
            .map(|_| {
                serde_json::json!({
                    "success": false,
                    "errors": [{
                        "statusCode": "NOT_FOUND",
                        "message": "The requested resource does not exist",
                        "fields": [],
                    }],
                })
            })
            .collect()
    }

    fn batch_max_inputs(&self) -> usize {
        COLLECTION_MAX
    }

    /// A deleted record stays in the recycle bin for 15 days, then Salesforce purges it.
    fn archive_restorable_days(&self) -> Option<u32> {
        Some(15)
    }

    /// The REST API's delete is the only one (a delete for good is the Bulk API's hard
    /// delete, which crmgate does not govern): an erasure goes to the recycle bin too.
    fn erases_by_archive(&self) -> bool {
        true
    }

    fn archive_of_missing_is_not_found(&self) -> bool {
        // Salesforce answers 404 `NOT_FOUND` (or `ENTITY_IS_DELETED`) for it.
        true
    }

    fn record_read(
        &self,
        read_path: &str,
        keys: &[String],
        lookup: Option<&str>,
        properties: &[String],
    ) -> Result<RecordRead, RequestError> {
        write::record_read(read_path, keys, lookup, properties)
    }

    fn read_records(&self, body: &[u8]) -> Result<Vec<Map<String, Value>>, RequestError> {
        write::read_records(body)
    }

    fn association_target(&self, _association: &Value) -> Option<String> {
        None
    }

    fn associations(&self) -> Arc<dyn AssociationShape> {
        Arc::new(NoAssociations)
    }

    fn error_body(&self, e: &RequestError, request_id: &str) -> Vec<u8> {
        errors::body(e, request_id)
    }

    fn error_content_type(&self) -> &'static str {
        errors::CONTENT_TYPE
    }

    fn rate_limit(&self) -> RateLimitShape {
        errors::RATE_LIMIT
    }

    fn credential(&self, inputs: CredentialInputs) -> Result<Arc<dyn CredentialSource>, String> {
        Ok(credential::configured(inputs))
    }

    fn client_collection<'a>(&self, res: &'a ResourceProfile) -> &'a str {
        // Salesforce names each object type (Contact and Lead share a collection).
        &res.name
    }

    fn list_request(
        &self,
        collection: &str,
        properties: &[String],
        after: Option<&str>,
    ) -> ClientRequest {
        let path = match after {
            // `after` is the answer's `nextRecordsUrl`, a path under this API.
            Some(next) => next.to_string(),
            None => {
                let mut fields = vec!["Id".to_string()];
                fields.extend(properties.iter().filter(|p| *p != "Id").cloned());
                let soql = format!("SELECT {} FROM {collection} ORDER BY Id", fields.join(", "));
                format!(
                    "{}/query?{}",
                    self.base(),
                    sanitize::encode_query(&[("q".to_string(), soql)])
                )
            }
        };
        ClientRequest {
            method: "GET",
            path,
            body: None,
        }
    }

    fn read_list(&self, page: &Value) -> ListPage {
        let records = page
            .get("records")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let m = r.as_object()?;
                let id = m.get("Id").and_then(Value::as_str).map(String::from);
                Some((id, m.clone()))
            })
            .collect();
        let next = page
            .get("nextRecordsUrl")
            .and_then(Value::as_str)
            .map(String::from);
        ListPage { records, next }
    }

    fn get_request(&self, collection: &str, id: &str, properties: &[String]) -> ClientRequest {
        let mut path = format!("{}/sobjects/{collection}/{id}", self.base());
        if !properties.is_empty() {
            path.push('?');
            path.push_str(&sanitize::encode_query(&[(
                "fields".to_string(),
                properties.join(","),
            )]));
        }
        ClientRequest {
            method: "GET",
            path,
            body: None,
        }
    }

    fn record_properties<'a>(&self, record: &'a Value) -> Option<&'a Map<String, Value>> {
        // A flat record: its members are its fields.
        record.as_object()
    }

    fn erase_request(&self, collection: &str, id: &str, how: Erasure<'_>) -> ClientRequest {
        let path = format!("{}/sobjects/{collection}/{id}", self.base());
        match how {
            Erasure::Archive | Erasure::Erase => ClientRequest {
                method: "DELETE",
                path,
                body: None,
            },
            Erasure::Clear(fields) => {
                let cleared: Map<String, Value> =
                    fields.iter().map(|f| (f.clone(), Value::Null)).collect();
                ClientRequest {
                    method: "PATCH",
                    path,
                    body: Some(Value::Object(cleared)),
                }
            }
        }
    }
}

/// Salesforce records carry no associations member: parent records come as nested
/// relationship fields, classified like any field. Whatever member a body would hold
/// under this name is dropped.
struct NoAssociations;

impl AssociationShape for NoAssociations {
    fn field(&self) -> &'static str {
        // No record member is read as associations; a member of this name is dropped.
        "\u{0}associations"
    }

    fn requested(&self, _query: &[(String, String)]) -> bool {
        false
    }

    fn named(&self, _body: &[u8]) -> BTreeMap<String, BTreeSet<String>> {
        BTreeMap::new()
    }

    fn filter(&self, _value: &Value, _shown: &Shown, _named: &mut Named) -> Option<Value> {
        None
    }
}
