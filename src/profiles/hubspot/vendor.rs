//! HubSpot CRM v3 as the stages' [`Vendor`]: each method hands the stages' question to the
//! module of this profile that knows the answer (read bodies, write bodies, associations,
//! the error shape). This module must never decide on access: it only spells requests and
//! answers the way HubSpot does.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::read::BATCH_MAX_INPUTS;
use super::{associations, errors, write};
use crate::error::{RateLimitShape, RequestError};
use crate::profiles::credential;
use crate::routes::{Operation, ResourceProfile, Route};
use crate::stages::authz::RecordRead;
use crate::stages::sanitize::Canonical;
use crate::stages::vendor::{
    AssociationShape, ClientRequest, CredentialInputs, CredentialSource, Decided, Erasure,
    ListPage, Outgoing, Prepared, Vendor,
};
use crate::stages::write_inputs::WriteBody;

/// The query parameter (and batch member) naming a lookup property.
const LOOKUP_PARAM: &str = "idProperty";
/// The record id under its property name: naming it is no lookup.
const ID_PROPERTY: &str = "hs_object_id";

/// HubSpot CRM v3.
#[derive(Debug, Clone, Copy)]
pub struct HubSpot;

impl Vendor for HubSpot {
    fn name(&self) -> &'static str {
        "hubspot"
    }

    /// An archived (deleted) CRM record can be restored for 90 days; the GDPR delete
    /// removes it for good.
    fn archive_restorable_days(&self) -> Option<u32> {
        Some(90)
    }

    fn prepare_read(
        &self,
        route: &Route,
        c: &Canonical,
        body: Bytes,
    ) -> Result<Prepared, RequestError> {
        super::read::prepare(route, c, body)
    }

    fn lookup_param(&self) -> Option<&'static str> {
        Some(LOOKUP_PARAM)
    }

    fn is_lookup(&self, property: &str) -> bool {
        !property.is_empty() && property != ID_PROPERTY
    }

    fn parse_write(
        &self,
        route: &Route,
        body: &[u8],
        id: Option<&str>,
        query: &[(String, String)],
    ) -> Result<WriteBody, RequestError> {
        let id_property = query
            .iter()
            .find(|(k, _)| k == LOOKUP_PARAM)
            .map(|(_, v)| v.as_str());
        write::parse(route.body, body, id, id_property)
    }

    fn upstream_write_body(
        &self,
        op: Operation,
        inputs: &[Outgoing<'_>],
        lookup: Option<&str>,
        merge_into: Option<&str>,
    ) -> Result<Option<Bytes>, RequestError> {
        write::upstream_body(op, inputs, lookup, merge_into)
    }

    fn complete_answer(
        &self,
        res: &ResourceProfile,
        body: &[u8],
        single: bool,
        lookup: Option<&str>,
        decided: &[Decided<'_>],
    ) -> Result<(Bytes, HashSet<String>), RequestError> {
        write::complete_answer(res, body, single, lookup, decided)
    }

    fn batch_error(
        &self,
        e: &RequestError,
        request_id: &str,
        index: usize,
        key: Option<&str>,
        trace: Option<&str>,
    ) -> Value {
        write::batch_error(e, request_id, index, key, trace)
    }

    fn stub(&self, res: &ResourceProfile, id: &str, at: &str, new: Option<bool>) -> Value {
        write::stub(res, id, at, new)
    }

    fn batch_answer(
        &self,
        filtered: Value,
        stubs: Vec<Value>,
        errors: Vec<Value>,
        upstream_status: StatusCode,
        at: &str,
    ) -> Result<(Value, StatusCode), RequestError> {
        write::batch_answer(filtered, stubs, errors, upstream_status, at)
    }

    fn not_found_entries(&self, res: &ResourceProfile, keys: &[String]) -> Vec<Value> {
        super::read::not_found_errors(&res.entity_type.to_uppercase(), keys)
    }

    fn batch_max_inputs(&self) -> usize {
        BATCH_MAX_INPUTS
    }

    fn record_read(
        &self,
        read_path: &str,
        keys: &[String],
        lookup: Option<&str>,
        properties: &[String],
    ) -> Result<RecordRead, RequestError> {
        // HubSpot's batch read: `POST …/batch/read`.
        Ok(RecordRead {
            method: Method::POST,
            path_and_query: read_path.to_string(),
            body: Some(write::prior_read_body(keys, lookup, properties)?),
        })
    }

    fn read_records(&self, body: &[u8]) -> Result<Vec<Map<String, Value>>, RequestError> {
        write::prior_read_results(body)
    }

    fn association_target(&self, association: &Value) -> Option<String> {
        // `{"to": {"id": "2001"}, "types": [...]}`
        match association.get("to")?.get("id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn associations(&self) -> Arc<dyn AssociationShape> {
        Arc::new(associations::Associations)
    }

    fn error_body(&self, e: &RequestError, request_id: &str) -> Vec<u8> {
        errors::body(e, request_id)
    }

    fn rate_limit(&self) -> RateLimitShape {
        errors::RATE_LIMIT
    }

    fn credential(&self, inputs: CredentialInputs) -> Result<Arc<dyn CredentialSource>, String> {
        // Its 401 says no more than that the token is not valid (any more).
        Ok(credential::configured(inputs, |_| true))
    }

    fn list_request(
        &self,
        collection: &str,
        properties: &[String],
        after: Option<&str>,
    ) -> ClientRequest {
        let mut path = format!(
            "/crm/v3/objects/{collection}?limit=100&properties={}",
            properties.join(",")
        );
        if let Some(a) = after {
            path.push_str("&after=");
            path.push_str(a);
        }
        ClientRequest {
            method: "GET",
            path,
            body: None,
        }
    }

    fn read_list(&self, page: &Value) -> ListPage {
        let empty = Map::new();
        let records = page
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                let id = r.get("id").and_then(Value::as_str).map(String::from);
                let props = self.record_properties(r).unwrap_or(&empty).clone();
                (id, props)
            })
            .collect();
        let next = page
            .pointer("/paging/next/after")
            .and_then(Value::as_str)
            .map(String::from);
        ListPage { records, next }
    }

    fn get_request(&self, collection: &str, id: &str, properties: &[String]) -> ClientRequest {
        let mut path = format!("/crm/v3/objects/{collection}/{id}");
        if !properties.is_empty() {
            path.push_str("?properties=");
            path.push_str(&properties.join(","));
        }
        ClientRequest {
            method: "GET",
            path,
            body: None,
        }
    }

    fn record_properties<'a>(&self, record: &'a Value) -> Option<&'a Map<String, Value>> {
        record.get("properties").and_then(Value::as_object)
    }

    fn erase_request(&self, collection: &str, id: &str, how: Erasure<'_>) -> ClientRequest {
        match how {
            Erasure::Archive => ClientRequest {
                method: "DELETE",
                path: format!("/crm/v3/objects/{collection}/{id}"),
                body: None,
            },
            Erasure::Erase => ClientRequest {
                method: "POST",
                path: format!("/crm/v3/objects/{collection}/gdpr-delete"),
                body: Some(serde_json::json!({ "objectId": id })),
            },
            Erasure::Clear(properties) => {
                let props: Map<String, Value> = properties
                    .iter()
                    .map(|p| (p.clone(), Value::String(String::new())))
                    .collect();
                ClientRequest {
                    method: "PATCH",
                    path: format!("/crm/v3/objects/{collection}/{id}"),
                    body: Some(serde_json::json!({ "properties": props })),
                }
            }
        }
    }
}
