//! The records an answer names as associated (stage 9, before the filter): each associated
//! id is decided for this caller and purpose as a GET of that record would be — the
//! request decision on the other type's single-record route, then the row decision on the
//! record as the CRM holds it (retention's `due_for_deletion` included). crmgate reads the
//! records with its own credential, one batch read per associated type (and per hundred
//! ids), asking only for the properties the policies decide by; the answer is never
//! released. Ids the CRM does not return are missing; hidden and missing ids are left out
//! alike by the filter, which shows only ids with an allowing verdict.
//!
//! This module must never give a verdict to an id it did not decide: when the read fails,
//! the type's ids stay undecided, and the filter leaves them out (fail closed).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::policy::plan::Planner;
use crate::routes::{self, Operation};
use crate::stages::authz::Permit;
use crate::stages::filter::Filtered;
use crate::stages::vendor::Shown;

use super::ctx::{micros, RequestCtx, Step};
use super::shared::Shared;

/// Filter an upstream body for the request: first decide the associated records it
/// names (when the request asked for associations), then filter with those verdicts.
/// Also returns the filter's own time (µs), the associated read not included.
pub(super) async fn filter_answer(
    sh: &Shared,
    step: &Step<'_>,
    body: &Bytes,
    ctx: &mut RequestCtx,
) -> Result<(Filtered, u64), RequestError> {
    let shown = if step.associations {
        associated_shown(sh, step, body, ctx).await
    } else {
        // fail closed: an answer that names associations nobody asked for shows none.
        Shown::nothing(sh.vendor.associations())
    };
    let t = Instant::now();
    let filtered = step.filter(body, &shown)?;
    Ok((filtered, micros(t)))
}

/// The associated records of `body` the caller may be named.
async fn associated_shown(
    sh: &Shared,
    step: &Step<'_>,
    body: &[u8],
    ctx: &mut RequestCtx,
) -> Shown {
    let shape = sh.vendor.associations();
    let named = shape.named(body);
    let mut shown = Shown::nothing(shape);
    for (key, ids) in named {
        match decide_associated(sh, step, &key, &ids, ctx).await {
            Ok(allowed) => shown.allow(&key, allowed),
            Err(e) => {
                // fail closed: the type's ids stay undecided and are left out.
                tracing::warn!(request_id = %step.request_id, associated = %key, reason = e.kind(), "associated records could not be decided; they are left out");
                ctx.detail = Some(format!(
                    "associated `{key}` records could not be decided ({}); left out",
                    e.kind()
                ));
            }
        }
    }
    shown
}

/// The ids of one associated type the caller may read.
pub(super) async fn decide_associated(
    sh: &Shared,
    step: &Step<'_>,
    key: &str,
    ids: &BTreeSet<String>,
    ctx: &mut RequestCtx,
) -> Result<Vec<String>, RequestError> {
    let routes = step.routes;
    // A type crmgate has no profile of cannot be decided: nothing of it is shown.
    let Some(res) = routes.resources().find(|r| r.collection == key) else {
        return Ok(Vec::new());
    };
    // The caller's GET of such a record: without a route, or refused, none is shown.
    let Some(get) = routes.routes().iter().find(|r| {
        r.resource.name == res.name
            && r.is_single()
            && r.method == http::Method::GET
            && r.write().is_none()
    }) else {
        return Ok(Vec::new());
    };
    let request = step
        .engine
        .decide_request(step.scope, &get.action, &res.collection);
    if !request.allow {
        return Ok(Vec::new());
    }
    let Some(read) = routes
        .routes()
        .iter()
        .find(|r| r.body == Operation::BatchRead && r.resource.name == res.name)
    else {
        return Ok(Vec::new());
    };
    let mut properties: Vec<String> = res.attribute_properties().map(String::from).collect();
    properties.sort();
    properties.dedup();
    let ids: Vec<String> = ids.iter().cloned().collect();
    let mut planner = Planner::new(step.engine, step.scope, res);
    let mut allowed = Vec::new();
    let chunks = ids.chunks(sh.vendor.batch_max_inputs());
    for (n, chunk) in chunks.enumerate() {
        if n >= sh.config.limits.max_upstream_requests_per_request {
            // fail closed: ids past the bound stay undecided and are left out.
            break;
        }
        let read = sh
            .vendor
            .record_read(&read.path, chunk, None, &properties)?;
        let permit = step.allowed.associated_read(read)?;
        let records = read_records(
            sh,
            permit,
            (step.request_id, step.peer.ip()),
            ctx,
            "associated_read",
        )
        .await?;
        for record in records {
            let Some(id) = routes::record_id(res, &record) else {
                continue;
            };
            if !chunk.contains(&id) {
                continue;
            }
            ctx.associated_read.push(format!("{key}/{id}"));
            let attrs = routes::extract_attributes(res, &record);
            let plan = planner.plan(&id, attrs);
            ctx.cedar_errors.extend(plan.row.errors.iter().cloned());
            if plan.row.allow {
                allowed.push(id);
            }
        }
    }
    ctx.cedar_evaluations += planner.evaluations;
    Ok(allowed)
}

/// crmgate's own read of stored records (the read before a write, the read of associated
/// records): sent as `permit` allows, timed under `stage`, the records of its answer. A 404
/// is no record: the CRM may answer so when none of the ids exists.
pub(super) async fn read_records(
    sh: &Shared,
    permit: Permit,
    (request_id, peer): (&str, IpAddr),
    ctx: &mut RequestCtx,
    stage: &'static str,
) -> Result<Vec<Map<String, Value>>, RequestError> {
    let t = Instant::now();
    let answer = sh.upstream.send(permit, request_id, peer, None).await;
    *ctx.latency_us.entry(stage).or_insert(0) += micros(t);
    match answer {
        Err(RequestError::UpstreamStatus(404)) => Ok(Vec::new()),
        other => sh.vendor.read_records(&other?.body),
    }
}
