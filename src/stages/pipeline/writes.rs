//! The write path of the pipeline (stage 7 and the forward and filter stages for writes),
//! in its steps: parse the body strictly; check that a lookup property is clear to the
//! caller; read the records it names first, with crmgate's own credential; decide every
//! input ([`crate::stages::write_inputs`]); make the intent durable in the audit log and only
//! then forward, once; answer with the records that come back, filtered like a read.
//!
//! It must never forward a write whose intent is not durable in the audit log, nor a body
//! it did not rebuild from decided inputs, nor release a stored record the caller may not
//! read.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use crate::config::Config;
use crate::error::RequestError;
use crate::policy::{PolicyEngine, Scope};
use crate::redact::Redactor;
use crate::routes::{Cardinality, Operation, Route, RouteTable, WriteKind, WriteOp};
use crate::stages::authz::Allowed;
use crate::stages::filter::Releasable;
use crate::stages::sanitize::{self, Canonical};
use crate::stages::upstream::{BufferTurn, UpstreamResponse};
use crate::stages::vendor::{Decided as DecidedInput, InputEntry, Outgoing, Shown};
use crate::stages::write_inputs::{
    self as write, stored_key, Forward, Stamp, Stored, Verdict, WriteBody, Writer,
};

use super::associated::{decide_associated, read_records};
use super::ctx::{micros, RequestCtx, Step};
use super::respond::{empty_response, json_response, with_notices, Body};
use super::revision::Policies;
use super::shared::Shared;

mod intent;

use intent::DurableIntent;

/// What a write needs besides its body.
pub(super) struct WriteStep<'a> {
    pub allowed: &'a Allowed,
    /// The revision the request is decided by (for work moved off the async workers).
    pub policies: &'a Arc<Policies>,
    pub route: &'a Route,
    pub scope: &'a Scope,
    pub canonical: &'a Canonical,
    /// The record id the path names (update, archive).
    pub id: Option<&'a str>,
    pub request_id: &'a str,
    pub peer: SocketAddr,
}

impl WriteStep<'_> {
    fn routes(&self) -> &RouteTable {
        &self.policies.routes
    }

    fn engine(&self) -> &PolicyEngine {
        &self.policies.engine
    }

    fn redactor(&self) -> Option<&Redactor> {
        self.policies.redactor.as_deref()
    }
}

/// The archive of one record (answered 204 whether or not the CRM has it).
const ARCHIVE: Operation = Operation::Write(WriteOp::Archive, Cardinality::One);

/// One input as decided: the record it names, its position in the request, its trace id,
/// and what became of it (a batch's error entries name the input by all three).
type InputVerdict = (Option<String>, usize, Option<String>, Verdict);

/// A write decided: what goes upstream, and what the client hears about the rest.
struct Decided {
    kind: WriteKind,
    forward: Vec<Forward>,
    errors: Vec<Value>,
    lookup: Option<String>,
    merge_into: Option<String>,
}

/// The verdicts sorted: a write to send, or an answer already (a single input refused or
/// not found, an archive of a record that is not there).
enum Triaged {
    Send(Vec<Forward>, Vec<Value>),
    Answered(Response<Body>),
}

/// The CRM's answer to the write, or the answer a missing record gets.
enum Sent {
    Answer(UpstreamResponse),
    Answered(Response<Body>),
}

/// A write, step by step (see the module header).
pub(super) async fn handle(
    sh: &Shared,
    w: &WriteStep<'_>,
    headers: &http::HeaderMap,
    body: Bytes,
    ctx: &mut RequestCtx,
) -> Result<Response<Body>, RequestError> {
    // Writes take their turn before forwarding (their bodies are read already).
    let buffering = BufferTurn::new(sh.buffering.clone()).into_permit().await?;
    let route = w.route;
    let kind = route
        .write()
        .ok_or_else(|| RequestError::Internal("not a write route".into()))?;
    // A delete names its records in the path or the query, and has no body.
    let deletes = matches!(route.body, Operation::Write(WriteOp::Archive, _));
    if !(deletes && body.is_empty()) {
        check_json(headers)?;
    }
    let parsed = sh
        .vendor
        .parse_write(route, &body, w.id, &w.canonical.query)?;
    check_lookup(sh, w, parsed.lookup.as_deref(), ctx).await?;
    let stored = read_first(sh, w, &parsed, ctx).await?;
    let WriteBody {
        inputs,
        lookup,
        merge_into,
        all_or_none,
    } = parsed;
    let verdicts = decide(
        sh,
        w,
        kind,
        inputs,
        merge_into.as_deref(),
        lookup.is_some(),
        &stored,
        ctx,
    );
    let all = (merge_into.is_some(), all_or_none);
    let (forward, errors) = match triage(sh, w, kind, verdicts, all, ctx)? {
        Triaged::Send(forward, errors) => (forward, errors),
        Triaged::Answered(response) => return Ok(response),
    };
    // The associations a write makes name records: only ones the caller may read.
    check_association_targets(sh, w, &forward, ctx).await?;
    let decided = Decided {
        kind,
        forward,
        errors,
        lookup,
        merge_into,
    };
    let Some((upstream_body, upstream_query)) = upstream_body(sh, w, &decided, ctx)? else {
        // Nothing to forward (every input of a batch refused or not found).
        ctx.decide(decided.errors.is_empty());
        return batch_without_upstream(sh, w, decided.errors, buffering);
    };
    // Markers can make a redacted body longer than the client's: it never goes out longer
    // than crmgate itself accepts (the CRM takes at least that), and a write that would is
    // refused before its intent is logged.
    let limit = sh.config.limits.max_request_body_bytes;
    if upstream_body.as_ref().is_some_and(|b| b.len() > limit) {
        return Err(ctx.unsent(RequestError::PayloadTooLarge(limit)));
    }
    let durable = intent::make_durable(sh, w.request_id, ctx).await?;
    let upstream = match forward_once(sh, w, (upstream_body, upstream_query), durable, ctx).await? {
        Sent::Answer(upstream) => upstream,
        Sent::Answered(response) => return Ok(response),
    };
    let response = answer(sh, w, decided, upstream, buffering, ctx)?;
    // The person is told: the notice is kept for the writer to fetch, and the answer points
    // to it (besides the headers that tell it in place).
    let notice = super::own::issue(sh, &w.scope.principal, ctx);
    Ok(with_notices(response, &ctx.writes, notice.as_deref()))
}

/// A write that names its records by a property value (a lookup by `email`) selects them by
/// it: the caller must see that property in clear in every record it may see, or the
/// answer (404 or not) would be an oracle for the value.
async fn check_lookup(
    sh: &Shared,
    w: &WriteStep<'_>,
    lookup: Option<&str>,
    ctx: &mut RequestCtx,
) -> Result<(), RequestError> {
    let Some(p) = lookup else {
        return Ok(());
    };
    let res = &w.route.resource;
    let group = res.property_groups.get(p).copied().ok_or_else(|| {
        RequestError::BadRequest(format!(
            "cannot look up records by unclassified property `{}`",
            p.chars().take(64).collect::<String>()
        ))
    })?;
    let (s, evaluations) = sh.selector.selectability(w.policies, w.scope, res).await?;
    ctx.analysis_evaluations += evaluations;
    if s.clear & (1u64 << group) == 0 {
        return Err(RequestError::HiddenSelection {
            groups: format!("`{}`", res.groups.get(group).map_or("?", String::as_str)),
            purpose: w.scope.purpose.clone(),
        });
    }
    Ok(())
}

/// The records the write names, as the CRM holds them now (crmgate's own read).
async fn read_first(
    sh: &Shared,
    w: &WriteStep<'_>,
    parsed: &WriteBody,
    ctx: &mut RequestCtx,
) -> Result<HashMap<String, Stored>, RequestError> {
    let mut keys: Vec<String> = parsed
        .inputs
        .iter()
        .filter_map(|i| i.key.clone())
        .chain(parsed.merge_into.clone())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let res = &w.route.resource;
    let alike = w
        .route
        .write()
        .is_some_and(|k| write::needs_no_read(w.engine(), w.scope, res, k, parsed));
    if alike {
        // The policies decide these inputs alike whatever the CRM holds (not found, refused,
        // or written and answered the same): no read first. A record the CRM lacks that is
        // written is then answered by the CRM itself, as a missing one.
        ctx.detail = Some("decided without reading the records first".into());
        return Ok(keys
            .iter()
            .map(|k| (k.clone(), Stored::stand_in(res, k)))
            .collect());
    }
    prior_read(sh, w, &keys, parsed.lookup.as_deref(), ctx).await
}

/// Decide every input on the record it names: record and field-group decisions,
/// redaction, provenance. The record gets what was decided per input and what it cost.
#[expect(
    clippy::too_many_arguments,
    reason = "the write's inputs as parsed, and the records read for them"
)]
fn decide(
    sh: &Shared,
    w: &WriteStep<'_>,
    kind: WriteKind,
    inputs: Vec<write::WriteInput>,
    merge_into: Option<&str>,
    by_lookup: bool,
    stored: &HashMap<String, Stored>,
    ctx: &mut RequestCtx,
) -> Vec<InputVerdict> {
    let evaluations_before = w.scope.evaluations();
    let stamp = stamp(&sh.config, w.scope);
    let mut writer = Writer {
        engine: w.engine(),
        scope: w.scope,
        res: &w.route.resource,
        kind,
        denied_fields: w.route.denied_fields,
        redactor: w.redactor(),
        stamp: &stamp,
        policies: Vec::new(),
        errors: Vec::new(),
    };
    let mut verdicts: Vec<InputVerdict> = Vec::new();
    let mut audits = Vec::new();
    // A merge is decided on both records: the one merged away and the one it joins.
    if let Some(primary) = merge_into {
        let (v, a) = writer.decide(
            write::WriteInput::key(primary.to_string()),
            stored.get(&stored_key(primary, by_lookup)),
        );
        verdicts.push((Some(primary.to_string()), 0, None, v));
        audits.push(a);
    }
    for (index, input) in inputs.into_iter().enumerate() {
        let key = input.key.clone();
        let trace = input.trace.clone();
        let s = key
            .as_deref()
            .and_then(|k| stored.get(&stored_key(k, by_lookup)));
        let (v, a) = writer.decide(input, s);
        verdicts.push((key, index, trace, v));
        audits.push(a);
    }
    // Every Cedar evaluation the write cost (record, groups, redaction), memo hits none.
    ctx.cedar_evaluations += w.scope.evaluations().saturating_sub(evaluations_before);
    ctx.policies.extend(writer.policies);
    ctx.policies.sort();
    ctx.policies.dedup();
    ctx.cedar_errors.extend(writer.errors);
    ctx.cedar_errors.sort();
    ctx.cedar_errors.dedup();
    ctx.writes = audits;
    verdicts
}

/// What goes upstream, and what the client hears about the rest. A single input refused
/// or not found ends the write before anything is sent; so does any input of a batch that
/// is all or none (`(merge, all_or_none)`).
fn triage(
    sh: &Shared,
    w: &WriteStep<'_>,
    kind: WriteKind,
    verdicts: Vec<InputVerdict>,
    (merge, all_or_none): (bool, bool),
    ctx: &mut RequestCtx,
) -> Result<Triaged, RequestError> {
    let route = w.route;
    let batch = route.body.is_batch();
    let mut forward: Vec<Forward> = Vec::new();
    let mut not_found: Vec<String> = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    // The inputs allowed, by position and record: rolled back if an all-or-none fails.
    let mut allowed: Vec<(usize, Option<String>)> = Vec::new();
    for (key, index, trace, verdict) in verdicts {
        match verdict {
            Verdict::Write(f) => {
                allowed.push((index, key));
                forward.push(f);
            }
            // The CRM answers the archive of a missing id with 204: a hidden record
            // answers the same, and nothing is forwarded.
            Verdict::NotFound
                if route.body == ARCHIVE && !sh.vendor.archive_of_missing_is_not_found() =>
            {
                return Ok(Triaged::Answered(empty_response(
                    StatusCode::NO_CONTENT,
                    w.request_id,
                )?));
            }
            Verdict::NotFound if !batch => return Err(ctx.unsent(RequestError::RecordNotFound)),
            Verdict::Refused(e) if !batch => {
                ctx.deny();
                return Err(ctx.unsent(e));
            }
            Verdict::NotFound => {
                match sh
                    .vendor
                    .input_entry(InputEntry::NotFound, index, key.as_deref())
                {
                    Some(entry) => errors.push(entry),
                    None => not_found.extend(key),
                }
            }
            Verdict::Refused(e) => errors.push(sh.vendor.batch_error(
                &e,
                w.request_id,
                index,
                key.as_deref(),
                trace.as_deref(),
            )),
        }
    }
    if merge && forward.len() != 2 {
        return Err(ctx.unsent(RequestError::Internal(
            "a merge decided on one record".into(),
        )));
    }
    if !not_found.is_empty() && kind != WriteKind::Delete {
        // The same entry whether the CRM lacks the record or the policy hides it.
        errors.extend(sh.vendor.not_found_entries(&route.resource, &not_found));
    }
    if all_or_none && !errors.is_empty() {
        // fail closed: one input is not sent, so none is; the others answer so.
        errors.extend(allowed.iter().filter_map(|(index, key)| {
            sh.vendor
                .input_entry(InputEntry::RolledBack, *index, key.as_deref())
        }));
        forward.clear();
        for a in ctx.writes.iter_mut().filter(|a| a.outcome == "forwarded") {
            a.outcome = "not-sent";
            a.reason = Some("all-or-none");
        }
    }
    // Hidden or missing records of a batch archive are answered as the CRM answers
    // missing ones: nothing to do, no error.
    Ok(Triaged::Send(forward, errors))
}

/// The body that goes upstream and its query, rebuilt from the decided inputs only; `None`
/// when there is nothing to forward.
fn upstream_body(
    sh: &Shared,
    w: &WriteStep<'_>,
    d: &Decided,
    ctx: &mut RequestCtx,
) -> Result<Option<Upstream>, RequestError> {
    let outgoing: Vec<Outgoing<'_>> = d
        .forward
        .iter()
        .skip(usize::from(d.merge_into.is_some()))
        .map(|f| Outgoing {
            id: f.id.as_deref(),
            key: f.key.as_deref(),
            properties: &f.properties,
            literal: &f.literal,
            associations: f.associations.as_ref(),
            trace: f.trace.as_deref(),
        })
        .collect();
    if outgoing.is_empty() {
        return Ok(None);
    }
    let body = sh
        .vendor
        .upstream_write_body(
            w.route.body,
            &outgoing,
            d.lookup.as_deref(),
            d.merge_into.as_deref(),
        )
        .map_err(|e| ctx.unsent(e))?;
    let query = sh
        .vendor
        .upstream_write_query(w.route.body, &outgoing, &w.canonical.query)
        .map_err(|e| ctx.unsent(e))?;
    Ok(Some((body, query)))
}

/// A write's upstream body and query.
type Upstream = (Option<Bytes>, Vec<(String, String)>);

/// Forward the write once, exactly as permitted, and only with the proof that its intent
/// is durable (consumed: one intent, one forward). A record that went away between
/// crmgate's read and the write is answered as a missing one.
async fn forward_once(
    sh: &Shared,
    w: &WriteStep<'_>,
    (upstream_body, query): Upstream,
    _durable: DurableIntent,
    ctx: &mut RequestCtx,
) -> Result<Sent, RequestError> {
    let route = w.route;
    let path_and_query = if query.is_empty() {
        w.canonical.path.clone()
    } else {
        format!("{}?{}", w.canonical.path, sanitize::encode_query(&query))
    };
    let permit = w
        .allowed
        .permit(path_and_query, upstream_body)
        .map_err(|e| ctx.unsent(e))?;
    let t = Instant::now();
    let upstream = sh
        .upstream
        .send(permit, w.request_id, w.peer.ip(), None)
        .await;
    ctx.took("upstream", micros(t));
    let upstream = match upstream {
        // The record went away between crmgate's read and the archive: as above.
        Err(RequestError::UpstreamStatus(404))
            if route.body == ARCHIVE && !sh.vendor.archive_of_missing_is_not_found() =>
        {
            ctx.upstream_status = Some(404);
            return Ok(Sent::Answered(empty_response(
                StatusCode::NO_CONTENT,
                w.request_id,
            )?));
        }
        Err(RequestError::UpstreamStatus(404)) if !route.body.is_batch() => {
            ctx.upstream_status = Some(404);
            return Err(RequestError::RecordNotFound);
        }
        Err(RequestError::UpstreamStatus(status)) => {
            // The CRM refused the write (413, 409, …): the record says what it answered.
            ctx.upstream_status = Some(status);
            return Err(RequestError::UpstreamStatus(status));
        }
        other => other?,
    };
    ctx.upstream_status = Some(upstream.status.as_u16());
    Ok(Sent::Answer(upstream))
}

/// The answer: the written records filtered for the caller like a read; records it wrote
/// but may not read appear as their ids only.
fn answer(
    sh: &Shared,
    w: &WriteStep<'_>,
    d: Decided,
    upstream: UpstreamResponse,
    buffering: OwnedSemaphorePermit,
    ctx: &mut RequestCtx,
) -> Result<Response<Body>, RequestError> {
    let route = w.route;
    let res = &route.resource;
    let written_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    if upstream.body.is_empty() {
        if d.errors.is_empty() {
            return empty_response(upstream.status, w.request_id);
        }
        let (answer, status) = sh.vendor.batch_answer(
            Value::Null,
            Vec::new(),
            d.errors,
            StatusCode::OK,
            &written_at,
        )?;
        let body = Releasable::without_records(&answer)?;
        return json_response(status, body, w.request_id, Some(buffering));
    }
    let decided: Vec<DecidedInput<'_>> = d
        .forward
        .iter()
        .map(|f| DecidedInput {
            id: f.id.as_deref(),
            key: d
                .lookup
                .as_ref()
                .and(f.key.as_deref())
                .map(str::to_lowercase),
            attributes: &f.decided,
        })
        .collect();
    let (answer, hidden) = sh.vendor.complete_answer(
        res,
        &upstream.body,
        route.is_single(),
        d.lookup.as_deref(),
        &decided,
    )?;
    let hidden: HashSet<String> = hidden;
    let key = sh.hash_keys.for_purpose(&w.scope.purpose);
    let step = Step {
        allowed: w.allowed,
        routes: w.routes(),
        route,
        scope: w.scope,
        engine: w.engine(),
        hidden: &hidden,
        selection: 0,
        key: &key,
        request_id: w.request_id,
        peer: w.peer,
        associations: false,
    };
    let t = Instant::now();
    // fail closed: a write's answer names no associated record (none is decided).
    let filtered = step.filter(&answer, &Shown::nothing(sh.vendor.associations()));
    ctx.took("filter", micros(t));
    let filtered = filtered?;
    ctx.filtered(&filtered);
    let answered = sh.vendor.created_ids(&upstream.body);
    created_ids(ctx, d.kind, &filtered.records, &filtered.dropped, answered);
    // Records the caller wrote but may not read: their ids (and what the spec requires of
    // a record), nothing else. An upsert says whether it created one: the inputs crmgate
    // decided on a stored record were updates.
    let upsert = route.body == Operation::Write(WriteOp::Upsert, Cardinality::Batch);
    let stub = |id: &str| {
        let new = upsert.then(|| !d.forward.iter().any(|f| f.id.as_deref() == Some(id)));
        sh.vendor.stub(res, id, &written_at, new)
    };
    if route.body.is_batch() {
        let stubs: Vec<Value> = filtered.dropped.iter().map(|id| stub(id)).collect();
        let (body, status) = filtered.reshape(|doc| {
            sh.vendor
                .batch_answer(doc, stubs, d.errors, upstream.status, &written_at)
        })?;
        json_response(status, body, w.request_id, Some(buffering))
    } else {
        let body = filtered.release_written(stub)?;
        json_response(upstream.status, body, w.request_id, Some(buffering))
    }
}

/// Read the records a write names, with crmgate's own credential, through the
/// collection's batch read: keyed by id (or by lookup value, lower-cased).
async fn prior_read(
    sh: &Shared,
    w: &WriteStep<'_>,
    keys: &[String],
    lookup: Option<&str>,
    ctx: &mut RequestCtx,
) -> Result<HashMap<String, Stored>, RequestError> {
    let res = &w.route.resource;
    let read_route = w
        .routes()
        .routes()
        .iter()
        .find(|r| r.body == Operation::BatchRead && r.resource.name == res.name)
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
    for chunk in keys.chunks(sh.vendor.batch_max_inputs()) {
        let read = sh
            .vendor
            .record_read(&read_route.path, chunk, lookup, &properties)?;
        let permit = w.allowed.prior_read(read)?;
        let records =
            read_records(sh, permit, (w.request_id, w.peer.ip()), ctx, "prior_read").await?;
        for (key, record) in records
            .into_iter()
            .filter_map(|r| Stored::keyed(res, r, lookup))
        {
            ctx.prior_read.push(record.id.clone());
            stored.insert(key, record);
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
    sh: &Shared,
    w: &WriteStep<'_>,
    forward: &[Forward],
    ctx: &mut RequestCtx,
) -> Result<(), RequestError> {
    let targets: BTreeSet<String> = forward
        .iter()
        .filter_map(|f| f.associations.as_ref())
        .flatten()
        .filter_map(|a| sh.vendor.association_target(a))
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let none = HashSet::new();
    let key = sh.hash_keys.for_purpose(&w.scope.purpose);
    let step = Step {
        allowed: w.allowed,
        routes: w.routes(),
        route: w.route,
        scope: w.scope,
        engine: w.engine(),
        hidden: &none,
        selection: 0,
        key: &key,
        request_id: w.request_id,
        peer: w.peer,
        associations: true,
    };
    // A write's body may name the target's type only by an association type id: a target
    // is readable if the caller may read it as a record of another type.
    let mut readable = BTreeSet::new();
    let res = &w.route.resource;
    let others: Vec<String> = w
        .routes()
        .resources()
        .filter(|r| r.entity_type != res.entity_type)
        .map(|r| r.collection.clone())
        .collect();
    for other in others {
        // fail closed: an undecided target is not readable.
        if let Ok(ids) = decide_associated(sh, &step, &other, &targets, ctx).await {
            readable.extend(ids);
        }
    }
    if targets.iter().all(|t| readable.contains(t)) {
        return Ok(());
    }
    ctx.deny();
    ctx.detail = Some(
        "the write associates a record the caller may not read or the CRM does not have; \
         answered as the CRM answers an invalid association"
            .into(),
    );
    Err(RequestError::UpstreamStatus(400))
}

/// The provenance stamp of a create by this caller for this purpose, now.
fn stamp(config: &Config, scope: &Scope) -> Stamp {
    let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    Stamp::of(config, scope, at)
}

/// A batch of which nothing was forwarded: its errors, 207 (or, with none, 204).
fn batch_without_upstream(
    sh: &Shared,
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
    let (answer, status) =
        sh.vendor
            .batch_answer(Value::Null, Vec::new(), errors, StatusCode::OK, &at)?;
    let body = Releasable::without_records(&answer)?;
    json_response(status, body, w.request_id, Some(buffering))
}

/// The ids of the records a create made, into the audit of its inputs (in order where the
/// vendor answers in order; the record ids are in `records` and `rows_dropped` anyway).
fn created_ids(
    ctx: &mut RequestCtx,
    kind: WriteKind,
    records: &[crate::stages::filter::RecordAudit],
    dropped: &[String],
    answered: Vec<Option<String>>,
) {
    if !matches!(kind, WriteKind::Create) {
        return;
    }
    let mut ids = records
        .iter()
        .map(|r| Some(r.id.clone()))
        .chain(dropped.iter().cloned().map(Some))
        .chain(answered);
    for a in ctx.writes.iter_mut().filter(|a| a.outcome == "forwarded") {
        if a.id.is_none() {
            a.id = ids.next().flatten();
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
