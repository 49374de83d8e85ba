//! The write path of the pipeline (stage 7 and the forward and filter stages for writes):
//! parse the body strictly, read the records it names with crmgate's own credential,
//! decide every input ([`crate::stages::write_inputs`]), write the intent to the audit log and
//! only then forward, once; the records that come back are filtered like a read.
//!
//! It must never forward a write whose intent is not durable in the audit log, nor a body
//! it did not rebuild from decided inputs, nor release a stored record the caller may not
//! read.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use super::{json_response, micros, record_filtering, Body, Gateway, Policies, Step};
use crate::audit::{AuditEvent, AuditRecord, WriteIntent};
use crate::error::RequestError;
use crate::policy::{PolicyEngine, Scope};
use crate::redact::Redactor;
use crate::routes::{Cardinality, Operation, Route, RouteTable, WriteKind, WriteOp};
use crate::stages::authz::Allowed;
use crate::stages::filter::Releasable;
use crate::stages::sanitize::{self, Canonical};
use crate::stages::vendor::{Decided, Outgoing, Shown};
use crate::stages::write_inputs::{
    self as write, Forward, Stamp, Stored, Verdict, WriteAudit, Writer,
};

/// What a write needs besides its body.
pub(super) struct WriteStep<'a> {
    pub allowed: &'a Allowed,
    /// The revision the request is decided by (for work moved off the async workers).
    pub policies: &'a Arc<Policies>,
    pub routes: &'a RouteTable,
    pub route: &'a Route,
    pub scope: &'a Scope,
    pub engine: &'a PolicyEngine,
    pub redactor: Option<&'a Redactor>,
    pub canonical: &'a Canonical,
    /// The record id the path names (update, archive).
    pub id: Option<&'a str>,
    pub request_id: &'a str,
    pub peer: SocketAddr,
}

/// The archive of one record (answered 204 whether or not the CRM has it).
const ARCHIVE: Operation = Operation::Write(WriteOp::Archive, Cardinality::One);

/// The header naming the field groups stripped from a write.
pub const STRIPPED_HEADER: &str = "x-crmgate-stripped";
/// The header telling what was redacted (field, category, count; never values).
pub const REDACTED_HEADER: &str = "x-crmgate-redacted";

impl Gateway {
    pub(super) async fn handle_write(
        &self,
        w: &WriteStep<'_>,
        headers: &http::HeaderMap,
        body: Bytes,
        rec: &mut AuditRecord,
        buffering: OwnedSemaphorePermit,
    ) -> Result<Response<Body>, RequestError> {
        let route = w.route;
        let res = &route.resource;
        let kind = route
            .write()
            .ok_or_else(|| RequestError::Internal("not a write route".into()))?;
        if route.body != ARCHIVE {
            check_json(headers)?;
        }
        let parsed = self
            .vendor
            .parse_write(route.body, &body, w.id, &w.canonical.query)?;
        // A write that names its records by a property value (a lookup by `email`) selects
        // them by it: the caller must see that property in clear in every record it may
        // see, or the answer (404 or not) would be an oracle for the value.
        if let Some(p) = parsed.lookup.as_deref() {
            let group = res.property_groups.get(p).copied().ok_or_else(|| {
                RequestError::BadRequest(format!(
                    "cannot look up records by unclassified property `{}`",
                    p.chars().take(64).collect::<String>()
                ))
            })?;
            let (s, evaluations) = self.selectability(w.policies, w.scope, res).await?;
            rec.analysis_evaluations += evaluations;
            if s.clear & (1u64 << group) == 0 {
                return Err(RequestError::HiddenSelection {
                    groups: format!("`{}`", res.groups.get(group).map_or("?", String::as_str)),
                    purpose: w.scope.purpose.clone(),
                });
            }
        }

        // The records the write names, as the CRM holds them now (crmgate's own read).
        let mut keys: Vec<String> = parsed
            .inputs
            .iter()
            .filter_map(|i| i.key.clone())
            .chain(parsed.merge_into.clone())
            .collect();
        keys.sort();
        keys.dedup();
        let stored = if keys.is_empty() {
            HashMap::new()
        } else {
            self.prior_read(w, &keys, parsed.lookup.as_deref(), rec)
                .await?
        };

        let evaluations_before = w.scope.evaluations();
        let stamp = self.stamp(w.scope);
        let mut writer = Writer {
            engine: w.engine,
            scope: w.scope,
            res,
            kind,
            denied_fields: route.denied_fields,
            redactor: w.redactor,
            stamp: &stamp,
            policies: Vec::new(),
            errors: Vec::new(),
        };
        // Per input: the record it names, its position in the request, its trace id, and
        // what became of it (a batch's error entries name the input by all three).
        let mut verdicts: Vec<(Option<String>, usize, Option<String>, Verdict)> = Vec::new();
        let mut audits: Vec<WriteAudit> = Vec::new();
        // A merge is decided on both records: the one merged away and the one it joins.
        if let Some(primary) = &parsed.merge_into {
            let (v, a) = writer.decide(
                write::WriteInput::key(primary.clone()),
                stored.get(&norm(primary, parsed.lookup.is_some())),
            );
            verdicts.push((Some(primary.clone()), 0, None, v));
            audits.push(a);
        }
        for (index, input) in parsed.inputs.into_iter().enumerate() {
            let key = input.key.clone();
            let trace = input.trace.clone();
            let s = key
                .as_deref()
                .and_then(|k| stored.get(&norm(k, parsed.lookup.is_some())));
            let (v, a) = writer.decide(input, s);
            verdicts.push((key, index, trace, v));
            audits.push(a);
        }
        // Every Cedar evaluation the write cost (record, groups, redaction), memo hits none.
        rec.cedar_evaluations += w.scope.evaluations().saturating_sub(evaluations_before);
        rec.policies.extend(writer.policies);
        rec.policies.sort();
        rec.policies.dedup();
        rec.cedar_errors.extend(writer.errors);
        rec.cedar_errors.sort();
        rec.cedar_errors.dedup();
        rec.writes = audits;

        // What goes upstream, and what the client hears about the rest.
        let batch = route.body.is_batch();
        let mut forward: Vec<Forward> = Vec::new();
        let mut not_found: Vec<String> = Vec::new();
        let mut errors: Vec<Value> = Vec::new();
        for (key, index, trace, verdict) in verdicts {
            match verdict {
                Verdict::Write(f) => forward.push(f),
                // The CRM answers the archive of a missing id with 204: a hidden record
                // answers the same, and nothing is forwarded.
                Verdict::NotFound if route.body == ARCHIVE => {
                    return empty_response(StatusCode::NO_CONTENT, w.request_id);
                }
                Verdict::NotFound if !batch => {
                    return Err(unsent(rec, RequestError::RecordNotFound))
                }
                Verdict::Refused(e) if !batch => {
                    rec.decision = "deny";
                    return Err(unsent(rec, e));
                }
                Verdict::NotFound => not_found.extend(key),
                Verdict::Refused(e) => errors.push(self.vendor.batch_error(
                    &e,
                    w.request_id,
                    index,
                    key.as_deref(),
                    trace.as_deref(),
                )),
            }
        }
        if parsed.merge_into.is_some() && forward.len() != 2 {
            return Err(unsent(
                rec,
                RequestError::Internal("a merge decided on one record".into()),
            ));
        }
        if !not_found.is_empty() && kind != WriteKind::Delete {
            // The same entry whether the CRM lacks the record or the policy hides it.
            errors.extend(self.vendor.not_found_entries(res, &not_found));
        }
        // Hidden or missing records of a batch archive are answered as the CRM answers
        // missing ones: nothing to do, no error.

        // The associations a write makes name records: only ones the caller may read.
        self.check_association_targets(w, &forward, rec).await?;

        let outgoing: Vec<Outgoing<'_>> = forward
            .iter()
            .skip(usize::from(parsed.merge_into.is_some()))
            .map(|f| Outgoing {
                id: f.id.as_deref(),
                key: f.key.as_deref(),
                properties: &f.properties,
                associations: f.associations.as_ref(),
                trace: f.trace.as_deref(),
            })
            .collect();
        if outgoing.is_empty() {
            // Nothing to forward (every input of a batch refused or not found).
            rec.decision = if errors.is_empty() { "allow" } else { "deny" };
            return self.batch_without_upstream(w, errors, buffering);
        }
        let upstream_body = self
            .vendor
            .upstream_write_body(
                route.body,
                &outgoing,
                parsed.lookup.as_deref(),
                parsed.merge_into.as_deref(),
            )
            .map_err(|e| unsent(rec, e))?;
        drop(outgoing);

        // Write-ahead: the intent is durable before the CRM is called.
        // fail closed: without it nothing is forwarded.
        let intent = WriteIntent {
            kind: "write_intent",
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_id: w.request_id.to_string(),
            principal: rec.principal.clone(),
            purpose: rec.purpose.clone(),
            method: rec.method.clone(),
            path: rec.path.clone(),
            route: rec.route.clone(),
            resource: rec.resource.clone(),
            policy_revision: rec.policy_revision.clone(),
            writes: rec.writes.clone(),
        };
        if let Err(e) = self
            .audit
            .write(AuditEvent::WriteIntent(Box::new(intent)))
            .await
        {
            tracing::error!(request_id = %w.request_id, error = %e, "write intent not durable; the write is not forwarded");
            return Err(unsent(rec, RequestError::AuditUnavailable));
        }

        let path_and_query = if w.canonical.query.is_empty() {
            w.canonical.path.clone()
        } else {
            format!(
                "{}?{}",
                w.canonical.path,
                sanitize::encode_query(&w.canonical.query)
            )
        };
        let permit = w
            .allowed
            .permit(path_and_query, upstream_body)
            .map_err(|e| unsent(rec, e))?;
        let t = Instant::now();
        let upstream = self
            .upstream
            .send(permit, w.request_id, w.peer.ip(), None)
            .await;
        rec.latency_us.insert("upstream", micros(t));
        let upstream = match upstream {
            // The record went away between crmgate's read and the archive: as above.
            Err(RequestError::UpstreamStatus(404)) if route.body == ARCHIVE => {
                rec.upstream_status = Some(404);
                return empty_response(StatusCode::NO_CONTENT, w.request_id);
            }
            Err(RequestError::UpstreamStatus(404)) if !batch => {
                rec.upstream_status = Some(404);
                return Err(RequestError::RecordNotFound);
            }
            Err(RequestError::UpstreamStatus(status)) => {
                // The CRM refused the write (413, 409, …): the record says what it answered.
                rec.upstream_status = Some(status);
                return Err(RequestError::UpstreamStatus(status));
            }
            other => other?,
        };
        rec.upstream_status = Some(upstream.status.as_u16());

        // The answer: the written records filtered for the caller like a read.
        let written_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let response = if upstream.body.is_empty() {
            if errors.is_empty() {
                empty_response(upstream.status, w.request_id)?
            } else {
                let (answer, _) = self.vendor.batch_answer(
                    Value::Null,
                    Vec::new(),
                    errors,
                    StatusCode::OK,
                    &written_at,
                )?;
                let (body, status) = (
                    Releasable::without_records(&answer)?,
                    StatusCode::MULTI_STATUS,
                );
                json_response(status, body, w.request_id, Some(buffering))?
            }
        } else {
            let decided: Vec<Decided<'_>> = forward
                .iter()
                .map(|f| Decided {
                    id: f.id.as_deref(),
                    key: parsed
                        .lookup
                        .as_ref()
                        .and(f.key.as_deref())
                        .map(str::to_lowercase),
                    attributes: &f.decided,
                })
                .collect();
            let (answer, hidden) = self.vendor.complete_answer(
                res,
                &upstream.body,
                route.is_single(),
                parsed.lookup.as_deref(),
                &decided,
            )?;
            let hidden: HashSet<String> = hidden;
            let key = self.hash_keys.for_purpose(&w.scope.purpose);
            let step = Step {
                allowed: w.allowed,
                routes: w.routes,
                route,
                scope: w.scope,
                engine: w.engine,
                hidden: &hidden,
                selection: 0,
                key: &key,
                request_id: w.request_id,
                peer: w.peer,
                associations: false,
            };
            let t = Instant::now();
            // fail closed: a write's answer names no associated record (none is decided).
            let filtered = step.filter(&answer, &Shown::nothing(self.vendor.associations()));
            rec.latency_us.insert("filter", micros(t));
            let filtered = filtered?;
            record_filtering(rec, &filtered);
            created_ids(rec, kind, &filtered.records, &filtered.dropped);
            // Records the caller wrote but may not read: their ids (and what the spec
            // requires of a record), nothing else. An upsert says whether it created one:
            // the inputs crmgate decided on a stored record were updates.
            let upsert = route.body == Operation::Write(WriteOp::Upsert, Cardinality::Batch);
            let stub = |id: &str| {
                let new = upsert.then(|| !forward.iter().any(|f| f.id.as_deref() == Some(id)));
                self.vendor.stub(res, id, &written_at, new)
            };
            if batch {
                let stubs: Vec<Value> = filtered.dropped.iter().map(|id| stub(id)).collect();
                let (body, status) = filtered.reshape(|doc| {
                    self.vendor
                        .batch_answer(doc, stubs, errors, upstream.status, &written_at)
                })?;
                json_response(status, body, w.request_id, Some(buffering))?
            } else {
                let body = filtered.release_written(stub)?;
                json_response(upstream.status, body, w.request_id, Some(buffering))?
            }
        };
        Ok(with_notices(response, &rec.writes))
    }

    /// Read the records a write names, with crmgate's own credential, through the
    /// collection's batch read: keyed by id (or by lookup value, lower-cased).
    async fn prior_read(
        &self,
        w: &WriteStep<'_>,
        keys: &[String],
        lookup: Option<&str>,
        rec: &mut AuditRecord,
    ) -> Result<HashMap<String, Stored>, RequestError> {
        let res = &w.route.resource;
        let read_route = w
            .routes
            .routes()
            .iter()
            .find(|r| r.body == Operation::BatchRead && r.resource.entity_type == res.entity_type)
            .ok_or_else(|| {
                RequestError::Internal(format!(
                    "no batch read route for `{}`: a write cannot read the records it names",
                    res.entity_type
                ))
            })?;
        let mut properties: Vec<String> = res.attribute_properties().map(String::from).collect();
        if let Some(p) = lookup {
            properties.push(p.to_string());
        }
        properties.sort();
        properties.dedup();
        let mut stored = HashMap::new();
        for chunk in keys.chunks(self.vendor.batch_max_inputs()) {
            let read = self
                .vendor
                .record_read(&read_route.path, chunk, lookup, &properties)?;
            let permit = w.allowed.prior_read(read)?;
            let t = Instant::now();
            let answer = self
                .upstream
                .send(permit, w.request_id, w.peer.ip(), None)
                .await;
            *rec.latency_us.entry("prior_read").or_insert(0) += micros(t);
            let answer = match answer {
                // A batch read may answer 404 when none of the ids exists.
                Err(RequestError::UpstreamStatus(404)) => continue,
                other => other?,
            };
            for record in self.vendor.read_records(&answer.body)? {
                let Some(id) = crate::routes::record_id(res, &record) else {
                    continue;
                };
                let key = match lookup {
                    None => id.clone(),
                    Some(p) => match record
                        .get(&res.properties_field)
                        .and_then(|props| props.get(p))
                        .and_then(Value::as_str)
                    {
                        Some(v) => norm(v, true),
                        None => continue,
                    },
                };
                rec.prior_read.push(id.clone());
                stored.insert(key, Stored { id, record });
            }
        }
        Ok(stored)
    }

    /// Every record a write would associate must be one the caller may read (decided as a
    /// GET of it would be, from crmgate's own read of it). One it may not read, and one the
    /// CRM does not have, are refused alike and before anything is sent, with the answer the
    /// CRM gives for an association to a missing record (400): the write's answer cannot
    /// tell them apart.
    async fn check_association_targets(
        &self,
        w: &WriteStep<'_>,
        forward: &[Forward],
        rec: &mut AuditRecord,
    ) -> Result<(), RequestError> {
        let targets: BTreeSet<String> = forward
            .iter()
            .filter_map(|f| f.associations.as_ref())
            .flatten()
            .filter_map(|a| self.vendor.association_target(a))
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let none = HashSet::new();
        let key = self.hash_keys.for_purpose(&w.scope.purpose);
        let step = Step {
            allowed: w.allowed,
            routes: w.routes,
            route: w.route,
            scope: w.scope,
            engine: w.engine,
            hidden: &none,
            selection: 0,
            key: &key,
            request_id: w.request_id,
            peer: w.peer,
            associations: true,
        };
        // A write's association may name the target's type only by the vendor's association
        // type id: a target is readable if the caller may read it as a record of another
        // type.
        let mut readable = BTreeSet::new();
        let res = &w.route.resource;
        let others: Vec<String> = w
            .routes
            .resources()
            .filter(|r| r.entity_type != res.entity_type)
            .map(|r| r.collection.clone())
            .collect();
        for other in others {
            // fail closed: an undecided target is not readable.
            if let Ok(ids) = self.decide_associated(&step, &other, &targets, rec).await {
                readable.extend(ids);
            }
        }
        if targets.iter().all(|t| readable.contains(t)) {
            return Ok(());
        }
        rec.decision = "deny";
        rec.detail = Some(
            "the write associates a record the caller may not read or the CRM does not have; \
             answered as the CRM answers an invalid association"
                .into(),
        );
        Err(RequestError::UpstreamStatus(400))
    }

    /// The provenance stamp of a create by this caller for this purpose, now.
    fn stamp(&self, scope: &Scope) -> Stamp {
        let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        Stamp::of(&self.config, scope, at)
    }

    /// A batch of which nothing was forwarded: its errors, 207 (or, with none, 204).
    fn batch_without_upstream(
        &self,
        w: &WriteStep<'_>,
        errors: Vec<Value>,
        buffering: OwnedSemaphorePermit,
    ) -> Result<Response<Body>, RequestError> {
        // Only a batch archive ends without an error for anything (hidden and missing
        // records are skipped alike): it is answered as the CRM answers one, 204.
        if errors.is_empty() {
            return empty_response(StatusCode::NO_CONTENT, w.request_id);
        }
        let at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let (answer, _) =
            self.vendor
                .batch_answer(Value::Null, Vec::new(), errors, StatusCode::OK, &at)?;
        let body = Releasable::without_records(&answer)?;
        let status = StatusCode::MULTI_STATUS;
        json_response(status, body, w.request_id, Some(buffering))
    }
}

/// The write ends before anything was sent: inputs decided `forwarded` were not, and the
/// record must not say they were (`not-sent`, with the reason the request ended).
fn unsent(rec: &mut AuditRecord, e: RequestError) -> RequestError {
    for a in rec.writes.iter_mut().filter(|a| a.outcome == "forwarded") {
        a.outcome = "not-sent";
        a.reason = Some(e.kind());
    }
    e
}

/// A key as the prior read's map holds it: lookup values compared without case (as a CRM
/// compares e-mail addresses), ids as they are.
fn norm(key: &str, lookup: bool) -> String {
    if lookup {
        key.to_lowercase()
    } else {
        key.to_string()
    }
}

/// The ids of the records a create made, into the audit of its inputs (in order where the
/// vendor answers in order; the record ids are in `records` and `rows_dropped` anyway).
fn created_ids(
    rec: &mut AuditRecord,
    kind: WriteKind,
    records: &[crate::stages::filter::RecordAudit],
    dropped: &[String],
) {
    if !matches!(kind, WriteKind::Create) {
        return;
    }
    let mut ids = records
        .iter()
        .map(|r| r.id.clone())
        .chain(dropped.iter().cloned());
    for a in rec.writes.iter_mut().filter(|a| a.outcome == "forwarded") {
        if a.id.is_none() {
            a.id = ids.next();
        }
    }
}

/// A write body must be JSON: anything else is 415, before it is parsed.
fn check_json(headers: &http::HeaderMap) -> Result<(), RequestError> {
    let ct = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
    let mime = ct.as_deref().map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match mime.as_deref() {
        Some("application/json") => Ok(()),
        other => Err(RequestError::UnsupportedMediaType(
            other.unwrap_or("none").chars().take(64).collect::<String>(),
        )),
    }
}

fn empty_response(status: StatusCode, request_id: &str) -> Result<Response<Body>, RequestError> {
    Response::builder()
        .status(status)
        .header(http::header::CACHE_CONTROL, "private, no-store")
        .header("x-request-id", request_id)
        .body(Body::new(Vec::new()))
        .map_err(|e| RequestError::Internal(format!("response: {e}")))
}

/// The notices of a write: which field groups were stripped and what was redacted.
fn with_notices(mut response: Response<Body>, audits: &[WriteAudit]) -> Response<Body> {
    let h = response.headers_mut();
    if let Some(v) = write::stripped_notice(audits).and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert(STRIPPED_HEADER, v);
    }
    if let Some(v) = write::redaction_notice(audits).and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert(REDACTED_HEADER, v);
    }
    response
}
