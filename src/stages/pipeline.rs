//! The request pipeline: [`Gateway::handle`] gives every request exactly one response and
//! exactly one audit record; `handle_inner` reads top to bottom as the stages of DESIGN.md,
//! one `?` per stage, and ends in one `match` on what the vendor profile prepared. Nothing
//! leaves before its audit record is written: when the audit log fails, the response
//! becomes a 503 (fail closed).
//!
//! Once a request has passed the front door it is carried out and recorded whatever the
//! client does: the listener runs it through [`Gateway::handle_detached`], a task of its own
//! that hyper cannot drop when the client hangs up (HTTP/1 EOF, HTTP/2 RST_STREAM) — the CRM
//! may already have been called with crmgate's credential. A panic in a stage is caught and
//! becomes a 500 with its record.
//!
//! Its rooms, each used by this file only downwards (none of them uses it back):
//! - `inbound`: what the request brings (canonical form, caller, query, body);
//! - `ctx`: the request context each stage writes its output into, and from which the
//!   audit record is derived; `Step`, what the filter needs for one request;
//! - `read`: forward and filter a read the CRM answers in one request (and answer a
//!   missing record like a hidden one);
//! - `paging`: the paging engine — **refill** of lists and **counted** searches, when
//!   the caller may not see every record the CRM would page over; `cursor`: crmgate's
//!   sealed paging cursors;
//! - `writes`: the write path (read first, decide, durable intent, forward once, answer);
//! - `associated`: the associated records an answer names, decided before it is filtered;
//! - `revision`: policy revisions, reloads and the selectability memo; `shared`: what the
//!   steps share across requests; `guards`: requests in flight, hang-ups, caught panics;
//!   `respond`: responses and problem bodies; `own`: crmgate's own endpoints (a write's
//!   notice).
//!
//! This module must never release a response without its record, nor let a client's
//! departure skip one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response};

use crate::admin::{Health, Metrics};
use crate::audit::{AuditEvent, AuditRecord, AuditSink};
use crate::config::Config;
use crate::error::RequestError;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::Route;
use crate::stages::authz::Allowed;
use crate::stages::identity::ClientCert;
use crate::stages::sanitize::Canonical;
use crate::stages::upstream::{BufferTurn, Upstream};
use crate::stages::vendor::{Answer, Vendor};

mod associated;
mod ctx;
mod cursor;
mod guards;
mod inbound;
mod own;
mod paging;
mod read;
mod respond;
mod revision;
mod shared;
mod writes;

pub use crate::stages::body::ResponseBody;
pub use respond::{problem_response, Body, REDACTED_HEADER, STRIPPED_HEADER};
pub use revision::{warn_shadow_routes, Policies, ReloadStatus};

use ctx::{vendor_audit_path, RequestCtx, Step};
use guards::{CancelOnDrop, CatchUnwind, InFlight};
use revision::Revisions;
use shared::Shared;

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct Gateway {
    pub config: Arc<Config>,
    /// What the steps share across requests (upstream, audit sink, keys, budgets).
    shared: Shared,
    /// The policy revision requests are decided by, and what reloads did.
    revisions: Revisions,
    health: Health,
    /// Requests being handled (detached from their connections): shutdown waits for them,
    /// so that no record is lost to a closed audit log.
    in_flight: Arc<InFlight>,
}

impl Gateway {
    pub fn new(
        config: Config,
        policies: Policies,
        upstream: Upstream,
        vendor: Arc<dyn Vendor>,
        audit: Arc<dyn AuditSink>,
        health: Health,
    ) -> Gateway {
        health.metrics.set_revision(policies.engine.revision());
        let config = Arc::new(config);
        Gateway {
            shared: Shared::new(config.clone(), upstream, vendor, audit),
            revisions: Revisions::new(policies),
            health,
            in_flight: Arc::new(InFlight::default()),
            config,
        }
    }

    /// What `/healthz` and `/readyz` report.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The counters `/metrics` exports (the listener counts connection events into them).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.health.metrics
    }

    /// Wait until every request that has passed the front door is done (written to the
    /// audit log), including those whose clients went away. Shutdown calls this before it
    /// closes the log.
    pub async fn drain(&self) {
        self.in_flight.wait_idle().await;
    }

    /// Buffering permits free now (for tests and diagnostics).
    pub fn buffering_available(&self) -> usize {
        self.shared.buffering.available_permits()
    }

    /// Swap in a newly loaded policy set atomically, or, when loading it failed, keep the
    /// active one and say why. Requests in flight finish with the revision they started
    /// with; a set that failed validation never replaces the active one. (Loading is
    /// start-up's business: `app::reload` loads and hands the result here.)
    pub fn install(&self, loaded: Result<Policies, String>) -> Result<String, String> {
        self.revisions.install(loaded, &self.health)
    }

    pub fn reload_status(&self) -> &ReloadStatus {
        &self.revisions.reloads
    }

    /// The policy revision requests are decided by now.
    pub fn policies(&self) -> Arc<Policies> {
        self.revisions.current()
    }

    /// Warm a new revision before it is swapped in: compute the selectability of every
    /// scope asked for under the active one, within a time budget. Blocking: reloads call
    /// it on a blocking thread. Returns the scopes warmed.
    pub fn warm(&self, new: &Policies) -> usize {
        self.shared.selector.warm(new)
    }

    /// Handle one request: one response, one audit record, always.
    pub async fn handle<B>(&self, req: Request<B>, peer: SocketAddr) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.handle_conn(req, peer, None).await
    }

    /// [`Gateway::handle`] for a connection whose client certificate the TLS stage verified.
    pub async fn handle_conn<B>(
        &self,
        req: Request<B>,
        peer: SocketAddr,
        client_cert: Option<&ClientCert>,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.handle_recorded(req, peer, client_cert, None).await
    }

    /// How the listener hands over a request: [`Gateway::handle_conn`] in a task of its own,
    /// so that it runs to the end and writes its record even when the client goes away and
    /// hyper drops this future. The record then says `client_cancelled`.
    pub async fn handle_detached<B>(
        self: &Arc<Self>,
        req: Request<B>,
        peer: SocketAddr,
        client_cert: Option<Arc<ClientCert>>,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut on_drop = CancelOnDrop(Some(cancelled.clone()));
        let gateway = self.clone();
        let tracked = self.in_flight.enter();
        // For the record of a panic outside the stages (they are caught inside).
        let method = req.method().to_string();
        // The audit path is worked out only if it is needed (a `Uri` clone shares its bytes).
        let uri = req.uri().clone();
        let task = tokio::spawn(async move {
            let _tracked = tracked;
            let handled = CatchUnwind(Box::pin(gateway.handle_recorded(
                req,
                peer,
                client_cert.as_deref(),
                Some(&cancelled),
            )))
            .await;
            match handled {
                Ok(response) => response,
                Err(_) => {
                    gateway
                        .record_panic(peer, method, &uri, cancelled.load(Ordering::SeqCst))
                        .await
                }
            }
        });
        let joined = task.await;
        // Handed back: whatever happens to the response now, the record is written.
        on_drop.0 = None;
        match joined {
            Ok(response) => response,
            Err(e) => {
                // Only when the runtime goes down under the task. fail closed: a bare 500,
                // never a partial answer.
                let request_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(request_id = %request_id, panicked = e.is_panic(), "request task failed");
                problem_response(
                    self.shared.vendor.as_ref(),
                    &RequestError::Internal("the request task failed".into()),
                    &request_id,
                )
            }
        }
    }

    /// A panic in the bookkeeping around the stages (building or writing the record): a
    /// 500, recorded with what the listener knew (client, method, path).
    async fn record_panic(
        &self,
        peer: SocketAddr,
        method: String,
        uri: &http::Uri,
        client_cancelled: bool,
    ) -> Response<Body> {
        let sh = &self.shared;
        let path = vendor_audit_path(uri.path(), uri.query(), &sh.lookup_key, sh.vendor.as_ref());
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(request_id = %request_id, "request handling panicked outside the stages; answering 500");
        let e = RequestError::Internal("the request handling panicked".into());
        let rec = AuditRecord {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_id: request_id.clone(),
            client: peer.to_string(),
            method,
            path,
            policy_revision: self.policies().engine.revision().to_string(),
            decision: "error",
            reason: Some(e.kind()),
            detail: Some("the request handling panicked outside the stages".into()),
            status: e.status().as_u16(),
            client_cancelled,
            ..AuditRecord::default()
        };
        // fail closed: without its record, not even the 500 is released as such.
        let response = match self
            .shared
            .audit
            .write(AuditEvent::Request(Box::new(rec)))
            .await
        {
            Ok(()) => problem_response(sh.vendor.as_ref(), &e, &request_id),
            Err(err) => {
                tracing::error!(request_id = %request_id, error = %err, "audit write failed; answering 503");
                problem_response(
                    sh.vendor.as_ref(),
                    &RequestError::AuditUnavailable,
                    &request_id,
                )
            }
        };
        self.health
            .metrics
            .request(response.status().as_u16(), "error", 0, 0);
        response
    }

    async fn handle_recorded<B>(
        &self,
        req: Request<B>,
        peer: SocketAddr,
        client_cert: Option<&ClientCert>,
        cancelled: Option<&AtomicBool>,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let policies = self.policies();
        let (parts, body) = req.into_parts();
        let revision = policies.engine.revision().to_string();
        let sh = &self.shared;
        let mut ctx =
            RequestCtx::arrive(&parts, peer, revision, &sh.lookup_key, sh.vendor.as_ref());
        let request_id = ctx.request_id.clone();
        let result = CatchUnwind(Box::pin(self.handle_inner(
            parts,
            body,
            peer,
            client_cert,
            &policies,
            &request_id,
            &mut ctx,
        )))
        .await
        .unwrap_or_else(|_| {
            // fail closed: a stage that panicked ends in a 500 and a record of what was
            // known by then (principal, route, upstream status, record ids).
            tracing::error!(request_id = %request_id, "a stage panicked; answering 500");
            Err(RequestError::Internal("a stage panicked".into()))
        });
        let (response, failed) = match result {
            Ok(resp) => (resp, None),
            Err(e) => {
                if matches!(
                    e,
                    RequestError::Internal(_) | RequestError::UpstreamUnavailable(_)
                ) {
                    tracing::warn!(request_id = %request_id, reason = e.kind(), detail = ?e.internal_detail(), "request failed");
                }
                (
                    problem_response(sh.vendor.as_ref(), &e, &request_id),
                    Some(e),
                )
            }
        };
        // The client went away while this request was being handled: it is still recorded,
        // and the record says the response was never delivered. (A stage that saw it go,
        // reading its body, has said so already.)
        let gone = cancelled.is_some_and(|c| c.load(Ordering::SeqCst));
        let status = response.status().as_u16();
        let rec = ctx.into_record(&policies, sh.vendor.as_ref(), status, failed.as_ref(), gone);
        let (decision, evaluations, dropped) =
            (rec.decision, rec.cedar_evaluations, rec.rows_dropped.len());

        // fail closed: the response is released only once its record is written.
        let response = match self
            .shared
            .audit
            .write(AuditEvent::Request(Box::new(rec)))
            .await
        {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(request_id = %request_id, error = %e, "audit write failed; answering 503");
                problem_response(
                    sh.vendor.as_ref(),
                    &RequestError::AuditUnavailable,
                    &request_id,
                )
            }
        };
        self.health
            .metrics
            .request(response.status().as_u16(), decision, evaluations, dropped);
        response
    }

    /// The stages, in order. Each `?` is one stage that can end the request; each stage's
    /// output goes into the request context, from which the audit record is derived.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request, where it came from, its revision, and what the outer handler keeps of it"
    )]
    async fn handle_inner<B>(
        &self,
        parts: http::request::Parts,
        body: B,
        peer: SocketAddr,
        client_cert: Option<&ClientCert>,
        policies: &Arc<Policies>,
        request_id: &str,
        ctx: &mut RequestCtx,
    ) -> Result<Response<Body>, RequestError>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (cfg, engine, sh) = (&*self.config, &policies.engine, &self.shared);

        // 2. sanitize: one reading of the request; its canonical path is all later stages
        // see. Kept by the context: a refusal from here on names the records it names.
        let (canonical, path_purpose) =
            inbound::canonical(&parts, &policies.routes, sh.vendor.as_ref())?;
        let canonical = ctx.sanitized(canonical, &sh.lookup_key, sh.vendor.as_ref());

        // 3. identify, 4. purpose: before routing, so an unknown caller learns nothing.
        let (principal, declared) =
            inbound::identify(&parts.headers, client_cert, cfg, &sh.jwks, engine, ctx).await?;
        // crmgate's own endpoints (a write's notice): for the caller, never routed or forwarded.
        if crate::stages::notice::is_own(&canonical.segments) {
            return own::answer(sh, &canonical, &principal, &parts.headers, ctx);
        }
        let declared = (path_purpose, declared);
        let purpose = inbound::purpose(&parts.headers, declared, &principal, cfg, policies, ctx)?;

        // 5. route: unmatched → never forwarded. The vendor may route by what the request
        // names elsewhere than in its path (a query's object).
        let matched = inbound::route(&policies.routes, sh.vendor.as_ref(), &canonical)?;
        let route = matched.route;
        ctx.routed(route);
        inbound::check_query(route, &canonical)?;

        // 6. authorize the request itself; only an allow yields the `Allowed` from which the
        // upstream request's Permit is made.
        let scope = engine.scope(principal, &purpose)?;
        let allowed = authorize(engine, &scope, route, &canonical, ctx)?;

        // The body is read only after authorization: a denied request's body is never read.
        let body = inbound::body(body, &parts.headers, &cfg.limits, ctx).await?;

        // A write whose body names its record type: routed and authorized again by it.
        let again = route_again(policies, sh, &scope, (&canonical, &body), matched, ctx)?;
        let (matched, allowed) = (again.0, again.1.unwrap_or(allowed));
        let route = matched.route;

        // 7. write routes: per record and field group, redaction, provenance, write-ahead
        // audit; their own path from here (`writes`).
        if route.write().is_some() {
            let w = writes::WriteStep {
                allowed: &allowed,
                policies,
                route,
                scope: &scope,
                canonical: &canonical,
                id: matched.id.as_deref(),
                request_id,
                peer,
            };
            return writes::handle(sh, &w, &parts.headers, body, ctx).await;
        }

        // 7. (read routes) ask the CRM for what the client asked for plus what the policies
        // need to decide; remember what to hide again. What the request selects records by
        // must be clear to the caller.
        let prepared = read::prepare(
            sh,
            (route, engine, &scope),
            &canonical,
            matched.id.as_deref(),
            body,
        )?;
        let selectable = read::selectable(sh, policies, &scope, route, &prepared, ctx).await?;

        // 8. forward, 9. filter. Only so many bodies are buffered at once (memory stays
        // bounded until the response is sent: the permit goes with the response body); the
        // turn is taken when the CRM's answer arrives, so that its latency holds none.
        let turn = BufferTurn::new(sh.buffering.clone());
        let key = sh.hash_keys.for_purpose(&purpose);
        let step = Step {
            allowed: &allowed,
            routes: &policies.routes,
            route,
            scope: &scope,
            engine,
            hidden: &prepared.hidden,
            selection: prepared.selection(),
            key: &key,
            request_id,
            peer,
            associations: sh.vendor.associations().requested(&canonical.query),
        };
        answer_read(sh, &step, &prepared, selectable, ctx, turn).await
    }
}

/// Stages 8 and 9 of a read, as the vendor prepared its answer: forwarded and filtered in one
/// request, or paged and counted by crmgate, or a collection's description.
async fn answer_read(
    sh: &Shared,
    step: &Step<'_>,
    prepared: &crate::stages::vendor::Prepared,
    selectable: Option<crate::policy::plan::Selectability>,
    ctx: &mut RequestCtx,
    turn: BufferTurn,
) -> Result<Response<Body>, RequestError> {
    let route = step.route;
    match &prepared.answer {
        // Rows the caller may not see are dropped after the CRM chose its page: a page
        // would come back short or empty, and its size would count hidden records.
        // Unless the policies show the caller every record, crmgate refills the page.
        Answer::Refilled(list) if paging::walks(route, selectable.as_ref()) => {
            let rows = selectable.as_ref().and_then(|s| s.rows.clone());
            paging::list(sh, step, list.as_ref(), rows, ctx, turn).await
        }
        // The CRM's `total` and paging count every match, also those the caller is not
        // shown: crmgate walks the whole result and counts and pages over what it shows.
        Answer::Counted(search)
            if search.always_counted() || paging::walks(route, selectable.as_ref()) =>
        {
            let rows = selectable.as_ref().and_then(|s| s.rows.clone());
            let exact = selectable.as_ref().is_some_and(|s| s.exact_rows);
            paging::search(sh, step, search.as_ref(), rows, exact, ctx, turn).await
        }
        Answer::Describe(d) => {
            let s = selectable.as_ref();
            read::describe(sh, step, prepared, d.as_ref(), s, ctx, turn).await
        }
        _ => read::forward(sh, step, prepared, ctx, turn).await,
    }
}

/// Stages 5 and 6 again for a write whose body names its record type (a collection of
/// records): the route of that type and its authorization; otherwise the route as it was
/// (and its authorization stands).
fn route_again<'r>(
    policies: &'r Policies,
    sh: &Shared,
    scope: &Scope,
    (canonical, body): (&Canonical, &[u8]),
    matched: crate::routes::RouteMatch<'r>,
    ctx: &mut RequestCtx,
) -> Result<(crate::routes::RouteMatch<'r>, Option<Allowed>), RequestError> {
    let again = inbound::route_by_body(
        &policies.routes,
        sh.vendor.as_ref(),
        matched.route,
        canonical,
        body,
    )?;
    let Some(again) = again else {
        return Ok((matched, None));
    };
    ctx.routed(again.route);
    let allowed = authorize(&policies.engine, scope, again.route, canonical, ctx)?;
    Ok((again, Some(allowed)))
}

/// Stage 6, authorize the request itself: only an allow yields the `Allowed` from which the
/// upstream request's `Permit` is made.
fn authorize(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    canonical: &Canonical,
    ctx: &mut RequestCtx,
) -> Result<Allowed, RequestError> {
    let (decision, allowed) =
        engine.authorize_request(scope, route, &canonical.method, &canonical.path);
    // 0 evaluations when the decision came from the revision's memo.
    ctx.authorized(&decision, scope.evaluations());
    allowed.ok_or_else(|| RequestError::Forbidden {
        action: route.action.clone(),
        resource: route.resource.collection.clone(),
        purpose: scope.purpose.clone(),
    })
}

#[cfg(test)]
mod tests;
