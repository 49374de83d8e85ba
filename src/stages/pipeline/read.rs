//! Stages 8 and 9 for a read the CRM answers in one request: forward exactly the
//! permitted request, then filter the answer (rows, field groups, masks) and release it —
//! or, for a shadow or passthrough route, release it as it came and record so. A single
//! record the CRM does not have is answered exactly like one the policies hide, after the
//! same work. Lists and searches whose pages crmgate refills or counts itself are
//! [`super::paging`]'s.
//!
//! This module must never release a body the filter did not release (outside the routes
//! configured to), nor answer a missing record faster or otherwise than a hidden one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use http::Response;

use crate::error::RequestError;
use crate::policy::plan::Selectability;
use crate::policy::Scope;
use crate::routes::Route;
use crate::stages::filter::{self, Releasable};
use crate::stages::sanitize::Canonical;
use crate::stages::upstream::BufferTurn;
use crate::stages::vendor::{Answer, DescribeAnswer, Prepared};

use super::associated::filter_answer;
use super::ctx::{micros, RequestCtx, Step};
use super::inbound::group_names;
use super::paging;
use super::respond::{json_response, Body};
use super::revision::Policies;
use super::shared::Shared;

/// What the request selects, orders or looks up records by must be clear to the caller
/// in every record it may see, decided from the policies — not from the records that
/// happen to match, which would make the refusal itself an oracle. Returns the
/// selectability when it was needed (a selection, or a list or search crmgate may page).
pub(super) async fn selectable(
    sh: &Shared,
    policies: &Arc<Policies>,
    scope: &Scope,
    route: &Route,
    prepared: &Prepared,
    ctx: &mut RequestCtx,
) -> Result<Option<Selectability>, RequestError> {
    let res = &route.resource;
    let selection = prepared.selection();
    if selection == 0
        && !matches!(
            prepared.answer,
            Answer::Counted(_) | Answer::Refilled(_) | Answer::Describe(_)
        )
    {
        return Ok(None);
    }
    let (s, evaluations) = sh.selector.selectability(policies, scope, res).await?;
    ctx.analysis_evaluations += evaluations;
    let blocked = selection & !s.clear;
    if blocked != 0 {
        return Err(RequestError::HiddenSelection {
            groups: group_names(res, blocked),
            purpose: scope.purpose.clone(),
        });
    }
    Ok(Some(s))
}

/// Stage 7 for a read: the upstream request as the vendor prepares it — or, for a search
/// going on from crmgate's cursor in the path, as the cursor says.
pub(super) fn prepare(
    sh: &Shared,
    step: (&Route, &crate::policy::PolicyEngine, &Scope),
    canonical: &Canonical,
    id: Option<&str>,
    body: bytes::Bytes,
) -> Result<Prepared, RequestError> {
    let (route, engine, scope) = step;
    match sh.vendor.client_cursor(route, id) {
        Some(token) => {
            let state = paging::resume(sh, route, engine, scope, token)?;
            sh.vendor.prepare_resumed(route, canonical, &state)
        }
        None => sh.vendor.prepare_read(route, canonical, body),
    }
}

/// A collection's schema: forwarded as permitted, answered by the vendor with only the
/// properties and fields of the groups the caller sees in some form in some record it may
/// see (from the policies, as for a selection). fail closed: without that analysis, none.
pub(super) async fn describe(
    sh: &Shared,
    step: &Step<'_>,
    prepared: &Prepared,
    describe: &dyn DescribeAnswer,
    selectable: Option<&Selectability>,
    ctx: &mut RequestCtx,
    mut turn: BufferTurn,
) -> Result<Response<Body>, RequestError> {
    let permit = step.allowed.permit(prepared.path_and_query.clone(), None)?;
    let t = Instant::now();
    let upstream = sh
        .upstream
        .send(permit, step.request_id, step.peer.ip(), Some(&mut turn))
        .await;
    ctx.took("upstream", micros(t));
    let upstream = upstream?;
    ctx.upstream_status = Some(upstream.status.as_u16());
    let res = &step.route.resource;
    let groups = selectable.map_or(0, |s| s.shown);
    let shown: HashSet<&str> = res
        .property_groups
        .iter()
        .chain(&res.field_groups)
        .filter(|(_, g)| groups & (1u64 << **g) != 0)
        .map(|(name, _)| name.as_str())
        .chain(std::iter::once(res.id_field.as_str()))
        .collect();
    let answer = describe.answer(&upstream.body, &shown)?;
    ctx.detail = Some(format!(
        "the collection's description, with the fields of {} field groups",
        groups.count_ones()
    ));
    let body = Releasable::without_records(&answer)?;
    json_response(
        upstream.status,
        body,
        step.request_id,
        Some(turn.into_permit().await?),
    )
}

/// Forward the permitted request, filter the CRM's answer and release what the caller may
/// see. `turn` is the request's buffering turn, taken when the CRM's answer arrives.
pub(super) async fn forward(
    sh: &Shared,
    step: &Step<'_>,
    prepared: &Prepared,
    ctx: &mut RequestCtx,
    mut turn: BufferTurn,
) -> Result<Response<Body>, RequestError> {
    let (route, request_id) = (step.route, step.request_id);
    let permit = step
        .allowed
        .permit(prepared.path_and_query.clone(), prepared.body.clone())?;
    let t = Instant::now();
    let upstream = sh
        .upstream
        .send(permit, request_id, step.peer.ip(), Some(&mut turn))
        .await;
    ctx.took("upstream", micros(t));
    let upstream = match upstream {
        // A record the CRM does not have answers exactly like one the policy hides,
        // and after the same work.
        Err(RequestError::UpstreamStatus(404)) if route.is_single() && !route.shadow => {
            ctx.upstream_status = Some(404);
            rehearse_hidden(sh, step, &mut turn, ctx).await;
            return Err(RequestError::RecordNotFound);
        }
        other => other?,
    };
    ctx.upstream_status = Some(upstream.status.as_u16());
    if route.is_single() && !route.shadow {
        sh.keep_decoy(route, &upstream.body);
    }

    // Benchmark reference only (never in the shipped routes): authorized and audited like
    // any request, but the body is returned as the upstream sent it.
    if route.passthrough {
        ctx.detail = Some("passthrough route: the body was not filtered".into());
        let body = Releasable::unfiltered(route, upstream.body)
            .ok_or_else(|| RequestError::Internal("not a passthrough route".into()))?;
        let buffering = turn.into_permit().await?;
        return json_response(upstream.status, body, request_id, Some(buffering));
    }

    // A batch's answer in the shape its route's records are read in.
    let upstream = match &prepared.answer {
        Answer::Batch(batch) => crate::stages::upstream::UpstreamResponse {
            status: upstream.status,
            body: batch.as_filtered(upstream.body)?,
        },
        _ => upstream,
    };

    // 9. filter: rows, field groups, masks; anything unfilterable is a 502.
    let (filtered, filter_us) = filter_answer(sh, step, &upstream.body, ctx).await?;
    ctx.took("filter", filter_us);
    ctx.filtered(&filtered);
    if route.shadow {
        // Shadow mode (explicitly configured per route, warned about at start-up): the
        // upstream body is released as it came, and the record says so; what the
        // decisions above would have done is kept apart (`would_have`).
        let would_have = if filtered.single_denied {
            RequestError::RecordNotFound.status()
        } else {
            upstream.status
        };
        ctx.shadow_release(&route.resource.groups, would_have.as_u16());
        let body = Releasable::unfiltered(route, upstream.body)
            .ok_or_else(|| RequestError::Internal("not a shadow route".into()))?;
        let buffering = turn.into_permit().await?;
        return json_response(upstream.status, body, request_id, Some(buffering));
    }
    if filtered.single_denied {
        return Err(RequestError::RecordNotFound);
    }
    match &prepared.answer {
        Answer::Counted(search) if !filtered.dropped.is_empty() => {
            // The policies were to show every record, yet one was hidden (a value the
            // attribute domain did not foresee): the CRM's count is not the caller's.
            // fail closed: count over what is shown instead.
            ctx.records.clear();
            ctx.rows_dropped.clear();
            paging::search(sh, step, search.as_ref(), None, false, ctx, turn).await
        }
        Answer::Batch(batch) => {
            let (body, status) =
                filtered.reshape(|doc| batch.rebuild(&route.resource, &upstream.body, doc))?;
            json_response(status, body, request_id, Some(turn.into_permit().await?))
        }
        _ => json_response(
            upstream.status,
            filtered.release(),
            request_id,
            Some(turn.into_permit().await?),
        ),
    }
}

/// No timing side channel: a single record the CRM does not have costs crmgate what one
/// the policies hide does. A hidden record's 404 comes after a buffering turn and the
/// filter's reading of the record up to its row decision; a missing one's would come at
/// once. So a missing record takes the turn too and rehearses that reading on the last
/// record the CRM sent for this route (the decoy), whatever its decision, discarding
/// the result. Not a sleep: the same work, so it scales with the machine as the hidden
/// path does.
async fn rehearse_hidden(
    sh: &Shared,
    step: &Step<'_>,
    turn: &mut BufferTurn,
    ctx: &mut RequestCtx,
) {
    // The turn is released with the request, as a hidden record's is.
    if turn.take().await.is_err() {
        return;
    }
    let Some(decoy) = sh.decoy(step.route) else {
        return;
    };
    let t = Instant::now();
    filter::rehearse_hidden(
        step.engine,
        step.scope,
        step.route,
        step.hidden,
        step.key,
        &decoy,
    );
    ctx.took("filter", micros(t));
}
