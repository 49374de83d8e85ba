//! The request pipeline: [`Gateway::handle`] gives every request exactly one response and
//! exactly one audit record; [`Gateway::handle_inner`] reads top to bottom as the stages of
//! DESIGN.md, one `?` per stage. Nothing leaves before its audit record is written: when the
//! audit log fails, the response becomes a 503 (fail closed).
//!
//! Once a request has passed the front door it is carried out and recorded whatever the
//! client does: the listener runs it through [`Gateway::handle_detached`], a task of its own
//! that hyper cannot drop when the client hangs up (HTTP/1 EOF, HTTP/2 RST_STREAM) — the CRM
//! may already have been called with crmgate's credential. A panic in a stage is caught and
//! becomes a 500 with its record. This module must never release a response without its
//! record, nor let a client's departure skip one.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::admin::{Health, Metrics};
use crate::audit::{AuditEvent, AuditRecord, AuditSink};
use crate::config::Config;
use crate::error::RequestError;
use crate::policy::memo::Memo;
use crate::policy::obligations::MaskKind;
use crate::policy::plan::{RowCondition, Selectability};
use crate::policy::{PolicyEngine, Scope};
use crate::redact::Redactor;
use crate::routes::{Operation, ResourceProfile, Route, RouteTable};
use crate::stages::authz::Allowed;
pub use crate::stages::body::ResponseBody;
use crate::stages::filter::masks::{self, HashKeys, PurposeKey};
use crate::stages::filter::{self, Filtered, FilteredDoc, RecordAudit, Releasable};
use crate::stages::identity::ClientCert;
use crate::stages::sanitize::{self, Canonical};
use crate::stages::upstream::{BufferTurn, Upstream};
use crate::stages::vendor::{Answer, CountedSearch, Prepared, RefilledList, Shown, Vendor};
use crate::stages::{identity, purpose};

mod associated;
mod writes;

/// One consistent revision of routes and policies: a request is decided by one revision.
#[derive(Debug)]
pub struct Policies {
    pub routes: RouteTable,
    pub engine: PolicyEngine,
    /// Owners of configured API keys that the entities do not list: those keys are refused.
    pub unlisted_key_owners: Vec<String>,
    /// The redaction rules for free text written through crmgate.
    pub redactor: Option<Arc<Redactor>>,
    /// The deletion concept, if configured (its evaluators are attached to `routes`).
    pub retention: Option<Arc<crate::retention::RetentionRules>>,
    /// The CRM's API the routes are spelt in (`[upstream] vendor`), for the tools that
    /// speak it as a client.
    pub vendor: Arc<dyn Vendor>,
}

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct Gateway {
    pub config: Config,
    /// The JWKS clients and caches of the issuers with a `jwks_url`, built from the
    /// configuration at start-up and kept across policy reloads.
    jwks: identity::jwks::IssuerKeys,
    policies: RwLock<Arc<Policies>>,
    upstream: Upstream,
    /// The CRM's API: how its requests, answers, lookups and errors are spelt.
    vendor: Arc<dyn Vendor>,
    /// Where audit events go (the local hash-chained log first): the response waits for it.
    audit: Arc<dyn AuditSink>,
    hash_keys: HashKeys,
    /// The key of the pseudonyms that stand for looked-up values in audit paths.
    lookup_key: PurposeKey,
    /// The key that seals crmgate's own paging cursors.
    cursor_key: PurposeKey,
    /// What each scope may select records by, per policy revision (see [`Selectability`]).
    selectable: Arc<Memo<SelectKey, Selectability>>,
    /// Held while a selectability is computed (requests and warming alike): that work
    /// takes at most one core, whatever the number of new callers after a reload, and a
    /// scope asked for by several requests at once is computed once.
    analysis: Arc<Mutex<()>>,
    /// Scopes whose selectability was asked for: a new revision is warmed for them.
    warm_scopes: Mutex<HashSet<WarmScope>>,
    reloads: ReloadStatus,
    health: Health,
    /// Requests that may be between forwarding and a sent response at once: each holds an
    /// upstream body (up to `upstream.max_body_bytes`) and its filtered copy, so this bounds
    /// memory; the others wait their turn, already authorized, before anything is sent. The
    /// permit travels in the response body and is released once the client has taken it
    /// (`limits.max_buffered_responses`).
    buffering: Arc<Semaphore>,
    /// Requests being handled (detached from their connections): shutdown waits for them,
    /// so that no record is lost to a closed audit log.
    in_flight: Arc<InFlight>,
    /// Per single-record read route, the last record body the CRM sent for it: a missing
    /// record's 404 rehearses the filter's work on it (see [`Gateway::rehearse_hidden`]).
    /// Kept in memory only, replaced by the next one, never released to anyone.
    decoys: Mutex<HashMap<String, Bytes>>,
}

/// What hot reloads did: for logs, metrics and `/readyz`.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// The problems of the last rejected policy set (cleared by a successful reload).
    pub last_error: Mutex<Option<String>>,
}

/// The body of every response the pipeline gives (see [`crate::stages::body`]).
pub type Body = ResponseBody;

/// Requests still running; [`InFlight::wait_idle`] returns when there are none.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a request ending in between still wakes us.
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Sets the flag when the listener's future is dropped before the response was handed back
/// (the client went away); disarmed once it was.
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// A future whose panic is caught and returned, so that a panicking stage still ends in a
/// response and an audit record. (A small `catch_unwind` for futures: no extra crate.)
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().0;
        // Unwind safety: after a panic the future is never polled again, and the state it
        // borrowed (the audit record) is only read, as a record of what was known.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Policy revision, scope and resource type.
type SelectKey = (String, Arc<str>, String);

/// Most selectabilities memoised (one per principal × purpose × resource type).
const SELECTABLE_MEMO_ENTRIES: usize = 4096;

/// A scope a new revision is warmed for: principal id, purpose, resource type.
type WarmScope = (String, String, String);

/// Most scopes remembered for warming.
const WARM_SCOPES: usize = 256;

/// Longest a reload spends warming the new revision before swapping it in (it delays the
/// swap, and with it a revocation, by at most this).
const WARM_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

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
        let hash_keys = HashKeys::new(config.hash_key.clone());
        let lookup_key = hash_keys.for_purpose("crmgate/audit/lookup");
        let cursor_key = hash_keys.for_purpose("crmgate/cursor/v1");
        Gateway {
            policies: RwLock::new(Arc::new(policies)),
            upstream,
            vendor,
            audit,
            hash_keys,
            lookup_key,
            cursor_key,
            selectable: Arc::new(Memo::new(SELECTABLE_MEMO_ENTRIES)),
            analysis: Arc::new(Mutex::new(())),
            warm_scopes: Mutex::new(HashSet::new()),
            reloads: ReloadStatus::default(),
            health,
            buffering: Arc::new(Semaphore::new(config.limits.max_buffered_responses)),
            in_flight: Arc::new(InFlight::default()),
            decoys: Mutex::new(HashMap::new()),
            jwks: identity::jwks::IssuerKeys::start(&config.jwt),
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

    /// The path as the audit record shows it, its lookup value pseudonymised (see
    /// [`audit_path`]).
    fn audit_path(&self, path: &str, query: Option<&str>) -> String {
        let vendor = self.vendor.as_ref();
        let is_lookup = |p: &str| vendor.is_lookup(p);
        audit_path(
            path,
            query,
            &self.lookup_key,
            vendor.lookup_param(),
            &is_lookup,
        )
    }

    /// Wait until every request that has passed the front door is done (written to the
    /// audit log), including those whose clients went away. Shutdown calls this before it
    /// closes the log.
    pub async fn drain(&self) {
        self.in_flight.wait_idle().await;
    }

    /// Buffering permits free now (for tests and diagnostics).
    pub fn buffering_available(&self) -> usize {
        self.buffering.available_permits()
    }

    /// Swap in a newly loaded policy set atomically, or, when loading it failed, keep the
    /// active one and say why. Requests in flight finish with the revision they started
    /// with; a set that failed validation never replaces the active one. (Loading is
    /// start-up's business: `app::reload` loads and hands the result here.)
    pub fn install(&self, loaded: Result<Policies, String>) -> Result<String, String> {
        match loaded {
            Ok(new) => {
                let revision = new.engine.revision().to_string();
                warn_shadow_routes(&new);
                match self.policies.write() {
                    Ok(mut guard) => *guard = Arc::new(new),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(new),
                }
                self.reloads.succeeded.fetch_add(1, Ordering::Relaxed);
                self.health
                    .metrics
                    .policy_reloads_ok
                    .fetch_add(1, Ordering::Relaxed);
                self.health.metrics.set_revision(&revision);
                self.health.note("policies", None);
                if let Ok(mut e) = self.reloads.last_error.lock() {
                    *e = None;
                }
                tracing::info!(revision = %revision, "policies reloaded");
                Ok(revision)
            }
            Err(message) => {
                self.reloads.failed.fetch_add(1, Ordering::Relaxed);
                self.health
                    .metrics
                    .policy_reloads_failed
                    .fetch_add(1, Ordering::Relaxed);
                // Not a readiness failure: the active set keeps serving; the operator sees
                // why the new one was rejected.
                self.health.note(
                    "policies",
                    Some(format!("reload rejected, active revision kept: {message}")),
                );
                if let Ok(mut last) = self.reloads.last_error.lock() {
                    *last = Some(message.clone());
                }
                tracing::error!(problems = %message, "policy reload rejected; the active set stays");
                Err(message)
            }
        }
    }

    pub fn reload_status(&self) -> &ReloadStatus {
        &self.reloads
    }

    /// The policy revision requests are decided by now.
    pub fn policies(&self) -> Arc<Policies> {
        match self.policies.read() {
            Ok(p) => p.clone(),
            // A writer panicked mid-swap; the Arc inside is still a whole revision.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
                    self.vendor.as_ref(),
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
        let path = self.audit_path(uri.path(), uri.query());
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
        let response = match self.audit.write(AuditEvent::Request(Box::new(rec))).await {
            Ok(()) => problem_response(self.vendor.as_ref(), &e, &request_id),
            Err(err) => {
                tracing::error!(request_id = %request_id, error = %err, "audit write failed; answering 503");
                problem_response(
                    self.vendor.as_ref(),
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
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let policies = self.policies();
        let mut rec = AuditRecord {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_id: request_id.clone(),
            client: peer.to_string(),
            client_request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(128).collect()),
            method: req.method().to_string(),
            path: self.audit_path(req.uri().path(), req.uri().query()),
            policy_revision: policies.engine.revision().to_string(),
            decision: "error",
            ..AuditRecord::default()
        };

        // The request as the stages read it, once sanitized: what a refusal names.
        let mut canonical = None;
        let result = CatchUnwind(Box::pin(self.handle_inner(
            req,
            peer,
            client_cert,
            &policies,
            &request_id,
            &mut rec,
            &mut canonical,
        )))
        .await
        .unwrap_or_else(|_| {
            // fail closed: a stage that panicked ends in a 500 and a record of what was
            // known by then (principal, route, upstream status, record ids).
            tracing::error!(request_id = %request_id, "a stage panicked; answering 500");
            Err(RequestError::Internal("a stage panicked".into()))
        });
        let response = match result {
            Ok(resp) => resp,
            Err(e) => {
                if let Some(c) = &canonical {
                    name_refused(&mut rec, &policies, c, self.vendor.as_ref());
                }
                rec.reason = Some(e.kind());
                // A request the CRM refused (its 429, an error status) records what it
                // answered, also when a walk's earlier pages were answered.
                if let Some(code) = e.upstream_code() {
                    rec.upstream_status = Some(code);
                }
                rec.detail = Some(match e.internal_detail() {
                    Some(internal) => format!("{e}: {internal}"),
                    None => e.to_string(),
                });
                if matches!(
                    e,
                    RequestError::Internal(_) | RequestError::UpstreamUnavailable(_)
                ) {
                    tracing::warn!(request_id = %request_id, reason = e.kind(), detail = ?e.internal_detail(), "request failed");
                }
                problem_response(self.vendor.as_ref(), &e, &request_id)
            }
        };
        rec.status = response.status().as_u16();
        rec.latency_us.insert("total", micros(started));
        // The client went away while this request was being handled: it is still recorded,
        // and the record says the response was never delivered. (A stage that saw it go,
        // reading its body, has said so already.)
        rec.client_cancelled |= cancelled.is_some_and(|c| c.load(Ordering::SeqCst));
        let (decision, evaluations, dropped) =
            (rec.decision, rec.cedar_evaluations, rec.rows_dropped.len());

        // fail closed: the response is released only once its record is written.
        let response = match self.audit.write(AuditEvent::Request(Box::new(rec))).await {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(request_id = %request_id, error = %e, "audit write failed; answering 503");
                problem_response(
                    self.vendor.as_ref(),
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

    /// The stages, in order. Each `?` is one stage that can end the request.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request and what the outer handler keeps of it: its record and, for a refusal, the canonical request"
    )]
    async fn handle_inner<B>(
        &self,
        req: Request<B>,
        peer: SocketAddr,
        client_cert: Option<&ClientCert>,
        policies: &Arc<Policies>,
        request_id: &str,
        rec: &mut AuditRecord,
        named: &mut Option<Canonical>,
    ) -> Result<Response<Body>, RequestError>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let cfg = &self.config;
        let engine = &policies.engine;

        // 2. sanitize: one reading of the request; its canonical path is all later stages see.
        let mut canonical = sanitize::check(&parts)?;
        // A purpose declared in the base URL (`/purpose/<name>/…`) for clients that cannot
        // add a header; and the vendor's other spellings of a path (date versions).
        let path_purpose = match purpose::take_path_purpose(&canonical.segments) {
            Some((name, rest)) => {
                canonical = canonical.with_segments(rest);
                Some(name)
            }
            None => None,
        };
        if let Some(segments) = policies.routes.resolve_alias(&canonical.segments) {
            canonical = canonical.with_segments(segments);
        }
        rec.path = lookup_path(&canonical, &self.lookup_key, self.vendor.as_ref());
        // Kept by the caller: a refusal from here on names the records the path names.
        let canonical: &Canonical = named.insert(canonical);

        // 3. identify, 4. purpose: before routing, so an unknown caller learns nothing.
        let mut recognised = None;
        let identified = identity::identify(
            &parts.headers,
            client_cert,
            cfg,
            &self.jwks,
            engine,
            &mut recognised,
        )
        .await;
        let identity::Identified {
            principal,
            credential,
            purpose: credential_purpose,
        } = match identified {
            Ok(i) => i,
            Err(e) => {
                // Refused although the credential named a known principal (inactive, or a
                // department the directory contradicts): the record says who asked.
                if let Some(who) = recognised {
                    rec.credential = Some(who.credential);
                    rec.principal = Some(who.principal.id.clone());
                    rec.department.clone_from(&who.principal.department);
                }
                return Err(e);
            }
        };
        rec.credential = Some(credential);
        rec.principal = Some(principal.id.clone());
        rec.department.clone_from(&principal.department);
        if let Some(roles) = &principal.claimed_roles {
            (rec.directory, rec.roles) = (Some("claims"), Some(roles.clone()));
        }
        let purpose = purpose::resolve(
            &parts.headers,
            path_purpose.as_deref(),
            credential_purpose.as_deref(),
            &principal,
            &cfg.purposes,
            &cfg.departments,
            &cfg.apps,
        )?;
        rec.purpose = Some(purpose.clone());
        rec.retention_rule = retention_rule(&parts.headers, &principal.id, &purpose, policies)?;

        // 5. route: unmatched → never forwarded.
        let matched = policies
            .routes
            .find(&canonical.method, &canonical.segments)?;
        let route = matched.route;
        rec.route = Some(route.name.clone());
        rec.action = Some(route.action.clone());
        rec.resource = Some(route.resource.entity_type.clone());
        check_query(route, canonical)?;

        // 6. authorize the request itself; only an allow yields the `Allowed` from which the
        // upstream request's Permit is made.
        let scope = engine.scope(principal, &purpose)?;
        let (decision, allowed) =
            engine.authorize_request(&scope, route, &canonical.method, &canonical.path);
        // 0 when the decision came from the revision's memo.
        rec.cedar_evaluations += scope.evaluations();
        rec.policies.extend(decision.policies.iter().cloned());
        rec.cedar_errors.extend(decision.errors.iter().cloned());
        rec.decision = if decision.allow { "allow" } else { "deny" };
        let Some(allowed) = allowed else {
            return Err(RequestError::Forbidden {
                action: route.action.clone(),
                resource: route.resource.collection.clone(),
                purpose,
            });
        };

        // The body is read only after authorization: a denied request's body is never read.
        let body = read_body(
            body,
            &parts.headers,
            cfg.limits.max_request_body_bytes,
            cfg.limits.request_timeout,
        )
        .await
        .map_err(|(e, gone)| {
            // The client reset its stream or closed its connection mid-body: its request
            // ends here, and its record says that it went away.
            rec.client_cancelled |= gone;
            e
        })?;

        // 7. write routes: per record and field group, redaction, provenance, write-ahead
        // audit; their own path from here (`writes.rs`).
        if route.write().is_some() {
            // Writes take their turn before forwarding (their bodies are read already).
            let buffering = BufferTurn::new(self.buffering.clone())
                .into_permit()
                .await?;
            let w = writes::WriteStep {
                allowed: &allowed,
                policies,
                routes: &policies.routes,
                route,
                scope: &scope,
                engine,
                redactor: policies.redactor.as_deref(),
                canonical,
                id: matched.id.as_deref(),
                request_id,
                peer,
            };
            return self
                .handle_write(&w, &parts.headers, body, rec, buffering)
                .await;
        }

        // 7. (read routes) ask the CRM for what the client asked for plus what the policies
        // need to decide; remember what to hide again.
        let prepared = self.vendor.prepare_read(route, canonical, body)?;
        // What the request selects, orders or looks up records by must be clear to the
        // caller in every record it may see, decided from the policies — not from the records
        // that happen to match, which would make the refusal itself an oracle.
        let res = &route.resource;
        let selection = prepared.selection();
        let selectable = if selection != 0
            || matches!(prepared.answer, Answer::Counted(_) | Answer::Refilled(_))
        {
            let (s, evaluations) = self.selectability(policies, &scope, res).await?;
            rec.analysis_evaluations += evaluations;
            Some(s)
        } else {
            None
        };
        if let Some(s) = &selectable {
            let blocked = selection & !s.clear;
            if blocked != 0 {
                return Err(RequestError::HiddenSelection {
                    groups: group_names(res, blocked),
                    purpose,
                });
            }
        }

        // 8. forward. Only so many bodies are buffered at once (memory stays bounded until
        // the response is sent: the permit goes with the response body); the turn is taken
        // when the CRM's answer arrives, so that its latency holds none.
        let mut turn = BufferTurn::new(self.buffering.clone());
        let key = self.hash_keys.for_purpose(&purpose);
        let step = Step {
            allowed: &allowed,
            routes: &policies.routes,
            route,
            scope: &scope,
            engine,
            hidden: &prepared.hidden,
            selection,
            key: &key,
            request_id,
            peer,
            associations: self.vendor.associations().requested(&canonical.query),
        };
        if let Answer::Refilled(list) = &prepared.answer {
            // Rows the caller may not see are dropped after the CRM chose its page: a page
            // would come back short or empty, and its size would count hidden records.
            // Unless the policies show the caller every record, crmgate pages itself.
            if !route.shadow && !selectable.as_ref().is_some_and(|s| s.every_row_visible) {
                let rows = selectable.as_ref().and_then(|s| s.rows.clone());
                return self
                    .list_refill(&step, list.as_ref(), rows, rec, turn)
                    .await;
            }
        }
        if let Answer::Counted(search) = &prepared.answer {
            // The CRM's `total` and paging count every match, also those the caller is not
            // shown; unless the policies show the caller every record, crmgate walks the
            // whole result and counts and pages over what it shows.
            if !route.shadow && !selectable.as_ref().is_some_and(|s| s.every_row_visible) {
                return self
                    .search_walk(&step, search.as_ref(), &prepared, rec, turn)
                    .await;
            }
        }
        let permit = allowed.permit(prepared.path_and_query.clone(), prepared.body.clone())?;
        let t = Instant::now();
        let upstream = self
            .upstream
            .send(permit, request_id, peer.ip(), Some(&mut turn))
            .await;
        rec.latency_us.insert("upstream", micros(t));
        let upstream = match upstream {
            // A record the CRM does not have answers exactly like one the policy hides,
            // and after the same work.
            Err(RequestError::UpstreamStatus(404)) if route.is_single() && !route.shadow => {
                rec.upstream_status = Some(404);
                self.rehearse_hidden(&step, &mut turn, rec).await;
                return Err(RequestError::RecordNotFound);
            }
            other => other?,
        };
        rec.upstream_status = Some(upstream.status.as_u16());
        if route.is_single() && !route.shadow {
            self.keep_decoy(route, &upstream.body);
        }

        // Benchmark reference only (never in the shipped routes): authorized and audited like
        // any request, but the body is returned as the upstream sent it.
        if route.passthrough {
            rec.detail = Some("passthrough route: the body was not filtered".into());
            let body = Releasable::unfiltered(route, upstream.body)
                .ok_or_else(|| RequestError::Internal("not a passthrough route".into()))?;
            let buffering = turn.into_permit().await?;
            return json_response(upstream.status, body, request_id, Some(buffering));
        }

        // 9. filter: rows, field groups, masks; anything unfilterable is a 502.
        let (filtered, filter_us) = self.filter_answer(&step, &upstream.body, rec).await?;
        rec.latency_us.insert("filter", filter_us);
        record_filtering(rec, &filtered);
        if route.shadow {
            // Shadow mode (explicitly configured per route, warned about at start-up): the
            // upstream body is released as it came, and the record says so; what the
            // decisions above would have done is kept apart (`would_have`).
            let would_have = if filtered.single_denied {
                RequestError::RecordNotFound.status()
            } else {
                upstream.status
            };
            rec.shadow_release(&route.resource.groups, would_have.as_u16());
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
                rec.records.clear();
                rec.rows_dropped.clear();
                self.search_walk(&step, search.as_ref(), &prepared, rec, turn)
                    .await
            }
            Answer::Batch(batch) => {
                let (body, status) =
                    filtered.reshape(|doc| batch.rebuild(res, &upstream.body, doc))?;
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
    async fn rehearse_hidden(&self, step: &Step<'_>, turn: &mut BufferTurn, rec: &mut AuditRecord) {
        // The turn is released with the request, as a hidden record's is.
        if turn.take().await.is_err() {
            return;
        }
        let Some(decoy) = self.decoy(step.route) else {
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
        rec.latency_us.insert("filter", micros(t));
    }

    /// Keep a single record's body as the route's decoy (the previous one is let go).
    fn keep_decoy(&self, route: &Route, body: &Bytes) {
        let mut decoys = self.decoys.lock().unwrap_or_else(PoisonError::into_inner);
        match decoys.get_mut(&route.name) {
            Some(d) => *d = body.clone(),
            None => {
                decoys.insert(route.name.clone(), body.clone());
            }
        }
    }

    fn decoy(&self, route: &Route) -> Option<Bytes> {
        let decoys = self.decoys.lock().unwrap_or_else(PoisonError::into_inner);
        decoys.get(&route.name).cloned()
    }

    /// The selectability of a resource for one scope, memoised per policy revision. The
    /// first time per scope and revision it costs thousands of Cedar evaluations: those run
    /// on a blocking thread, so that the async workers keep serving other requests, and the
    /// scope is remembered so that the next revision is warmed for it before it is swapped
    /// in ([`Gateway::warm`]).
    async fn selectability(
        &self,
        policies: &Arc<Policies>,
        scope: &Scope,
        res: &Arc<ResourceProfile>,
    ) -> Result<(Selectability, usize), RequestError> {
        let key = (
            policies.engine.revision().to_string(),
            scope.memo_key().clone(),
            res.entity_type.clone(),
        );
        if let Some(s) = self.selectable.get(&key) {
            return Ok((s, 0));
        }
        self.remember_scope(scope, res);
        let (p, principal, purpose, r) = (
            policies.clone(),
            scope.principal.clone(),
            scope.purpose.clone(),
            res.clone(),
        );
        let (memo, analysis) = (self.selectable.clone(), self.analysis.clone());
        tokio::task::spawn_blocking(move || {
            // The same principal and purpose: the same memo key, the same decisions.
            let scope = p.engine.scope(principal, &purpose)?;
            Ok(compute_selectability(
                &memo, &analysis, key, &p.engine, &scope, &r,
            ))
        })
        .await
        // fail closed: a computation that did not finish selects nothing.
        .map_err(|e| RequestError::Internal(format!("the selectability task failed: {e}")))?
    }

    /// Note a scope (a directory principal, a purpose, a resource type) whose selectability
    /// was computed, for warming the next revision. Bounded; principals described by token
    /// claims are left out (their entity data comes with each token).
    fn remember_scope(&self, scope: &Scope, res: &ResourceProfile) {
        if scope.principal.claimed_roles.is_some() {
            return;
        }
        if let Ok(mut warm) = self.warm_scopes.lock() {
            if warm.len() < WARM_SCOPES {
                warm.insert((
                    scope.principal.id.clone(),
                    scope.purpose.clone(),
                    res.entity_type.clone(),
                ));
            }
        }
    }

    /// Warm a new revision before it is swapped in: compute the selectability of every
    /// remembered scope under it (the plans this fills are the new revision's too), for at
    /// most [`WARM_BUDGET`]; the rest are computed when first asked for, off the async
    /// workers. Blocking: reloads call it on a blocking thread. Returns the scopes warmed.
    pub fn warm(&self, new: &Policies) -> usize {
        let started = Instant::now();
        let scopes: Vec<WarmScope> = match self.warm_scopes.lock() {
            Ok(w) => w.iter().cloned().collect(),
            Err(_) => return 0,
        };
        let mut warmed = 0;
        for (id, purpose, entity_type) in scopes {
            if started.elapsed() >= WARM_BUDGET {
                break;
            }
            let (Some(principal), Some(res)) =
                (new.engine.principal(&id), new.routes.resource(&entity_type))
            else {
                continue;
            };
            if !principal.active {
                continue;
            }
            let Ok(scope) = new.engine.scope(principal.clone(), &purpose) else {
                continue;
            };
            let key = (
                new.engine.revision().to_string(),
                scope.memo_key().clone(),
                entity_type,
            );
            let (_, evaluations) = compute_selectability(
                &self.selectable,
                &self.analysis,
                key,
                &new.engine,
                &scope,
                res,
            );
            warmed += usize::from(evaluations > 0);
        }
        if warmed > 0 {
            tracing::info!(
                revision = new.engine.revision(),
                scopes = warmed,
                ms = started.elapsed().as_millis() as u64,
                "new policy revision warmed"
            );
        }
        warmed
    }

    /// A search whose matches the caller may not all see: fetch every page of the CRM's
    /// result (bounded), filter each, and answer the client's page out of what it is shown,
    /// with `total` and paging counted over that alone.
    async fn search_walk(
        &self,
        step: &Step<'_>,
        search: &dyn CountedSearch,
        prepared: &Prepared,
        rec: &mut AuditRecord,
        mut turn: BufferTurn,
    ) -> Result<Response<Body>, RequestError> {
        // The client's position is crmgate's sealed cursor, not an offset it may choose:
        // bound like a list's to the route, the policy revision, the caller and purpose.
        let (cursor, limit) = search.client_page();
        let binding = CursorBinding {
            route: &step.route.name,
            revision: step.engine.revision(),
            scope: step.scope.memo_key(),
            mode: "counted",
        };
        let offset = match cursor.as_deref() {
            None => 0,
            Some(c) => open_cursor(c, &binding, &self.cursor_key)?.1,
        };
        let mut docs = Vec::new();
        let mut spans = Vec::new();
        let mut total = 0usize;
        let mut audits = Vec::new();
        let mut cursor: Option<String> = None;
        let mut walk = Walk::default();
        loop {
            let max_pages = search
                .max_pages()
                .min(self.config.limits.max_upstream_requests_per_request);
            if walk.pages == max_pages
                || walk.bytes >= self.config.limits.max_upstream_bytes_per_request
            {
                // The bounds are the vendor's own (a CRM's search may stop at 10,000 results)
                // and the configured ones; a count past them cannot be given.
                return Err(RequestError::BadRequest(format!(
                    "the search selects more records than crmgate counts per request ({} CRM \
                     pages of {}); narrow it",
                    walk.pages,
                    search.page_size()
                )));
            }
            let body = search.page_body(cursor.take())?;
            let permit = step
                .allowed
                .permit(prepared.path_and_query.clone(), Some(body))?;
            let page = self
                .walk_page(step, permit, &mut walk, rec, &mut turn, &|v| {
                    search.read_page(v)
                })
                .await
                .inspect_err(|_| nothing_released(rec))?;
            let results = page.audits.len();
            total += results;
            docs.push(page.doc);
            spans.push(page.records);
            audits.extend(page.audits);
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
        walk.record(rec);
        rec.detail = Some(format!(
            "search counted over what the caller is shown ({} CRM pages)",
            walk.pages
        ));
        let end = offset.saturating_add(limit);
        let next = (end < total)
            .then(|| seal_cursor(None, end, &binding, &self.cursor_key))
            .transpose()?;
        rec.records = audits.into_iter().skip(offset).take(limit).collect();
        // The client's page, made of the filtered pages only.
        let body = Releasable::compose(&docs, |docs| {
            let pages = page_records(docs, &spans)?;
            let page: Vec<&[u8]> = pages
                .into_iter()
                .flatten()
                .skip(offset)
                .take(limit)
                .collect();
            search.answer(total, &page, next.clone())
        })?;
        json_response(
            StatusCode::OK,
            body,
            step.request_id,
            Some(turn.into_permit().await?),
        )
    }
}

impl Gateway {
    /// A list whose rows the caller may not all see: fetch the CRM's pages from the
    /// client's position on, filter each, and answer `limit` shown records (the last page
    /// may be shorter) with crmgate's own sealed cursor. One record beyond the page is
    /// looked for, so that a cursor is given only when a further page has a record.
    async fn list_refill(
        &self,
        step: &Step<'_>,
        list: &dyn RefilledList,
        rows: Option<Arc<RowCondition>>,
        rec: &mut AuditRecord,
        mut turn: BufferTurn,
    ) -> Result<Response<Body>, RequestError> {
        // Push the row condition down into the vendor's search where it can carry it and
        // the caller may search: the CRM then sends (mostly) records the caller may see.
        // An optimisation only — every row that comes back is still decided one by one.
        let pushed = rows
            .as_deref()
            .and_then(|r| list.pushdown(&step.route.resource, r));
        let search = match &pushed {
            Some(p) => search_permission(step, p.path(), rec),
            None => None,
        };
        let pushed = pushed.filter(|_| search.is_some());
        let binding = CursorBinding {
            route: &step.route.name,
            revision: step.engine.revision(),
            scope: step.scope.memo_key(),
            mode: if pushed.is_some() { "search" } else { "list" },
        };
        let (mut after, mut skip) = match list.cursor() {
            None => (None, 0),
            Some(c) => open_cursor(c, &binding, &self.cursor_key)?,
        };
        let limit = list.limit();
        let first_skip = skip;
        // The filtered pages read, and each shown record's position in them: (the CRM's
        // page cursor, its index among that page's shown records).
        let mut docs = Vec::new();
        let mut spans = Vec::new();
        let mut shown: Vec<(Option<String>, usize)> = Vec::new();
        let mut audits = Vec::new();
        let mut walk = Walk::default();
        let mut exhausted = false;
        let bounds = &self.config.limits;
        while shown.len() <= limit {
            // The configured bounds of CRM requests and bytes per client request; the page
            // then ends short, with a cursor where the walk stopped.
            if walk.pages
                >= list
                    .max_pages()
                    .min(bounds.max_upstream_requests_per_request)
                || walk.bytes >= bounds.max_upstream_bytes_per_request
            {
                break;
            }
            let permit = match (&pushed, &search) {
                (Some(p), Some(a)) => {
                    a.permit(p.path().to_string(), Some(p.page_body(after.as_deref())?))?
                }
                _ => step
                    .allowed
                    .permit(list.page_request(after.as_deref()), None)?,
            };
            let page = self
                .walk_page(step, permit, &mut walk, rec, &mut turn, &|v| {
                    list.read_page(v)
                })
                .await
                .inspect_err(|_| nothing_released(rec))?;
            for (i, a) in page.audits.into_iter().enumerate().skip(skip) {
                shown.push((after.clone(), i));
                audits.push(a);
            }
            docs.push(page.doc);
            spans.push(page.records);
            skip = 0;
            match page.next {
                Some(n) => after = Some(n),
                None => {
                    exhausted = true;
                    break;
                }
            }
        }
        // Where the next client page starts: the first shown record not returned, or, when
        // the page bound stopped the walk first, the CRM page after the last one read.
        let next = match shown.get(limit) {
            Some((a, i)) => Some(seal_cursor(a.as_deref(), *i, &binding, &self.cursor_key)?),
            None if !exhausted => Some(seal_cursor(
                after.as_deref(),
                0,
                &binding,
                &self.cursor_key,
            )?),
            None => None,
        };
        audits.truncate(limit);
        rec.records = audits;
        walk.record(rec);
        rec.detail = Some(format!(
            "list refilled over what the caller is shown ({} CRM pages{})",
            walk.pages,
            if pushed.is_some() {
                ", row condition pushed into the CRM's search"
            } else {
                ""
            }
        ));
        // The client's page, made of the filtered pages only.
        let body = Releasable::compose(&docs, |docs| {
            let mut records = Vec::with_capacity(limit);
            for (n, p) in page_records(docs, &spans)?.into_iter().enumerate() {
                let skip = if n == 0 { first_skip } else { 0 };
                records.extend(p.into_iter().skip(skip));
            }
            records.truncate(limit);
            list.answer(&records, next)
        })?;
        json_response(
            StatusCode::OK,
            body,
            step.request_id,
            Some(turn.into_permit().await?),
        )
    }
}

/// Compute a selectability under `key` unless it is memoised, one computation at a time
/// (see [`Gateway::analysis`]), and memoise it; with the Cedar evaluations it took (0 when
/// another request or a warming computed it meanwhile). Blocking.
fn compute_selectability(
    memo: &Memo<SelectKey, Selectability>,
    analysis: &Mutex<()>,
    key: SelectKey,
    engine: &PolicyEngine,
    scope: &Scope,
    res: &ResourceProfile,
) -> (Selectability, usize) {
    let _one_at_a_time = analysis.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = memo.get(&key) {
        return (s, 0);
    }
    let (s, evaluations) = crate::policy::plan::selectability(engine, scope, res);
    memo.insert(key, s.clone());
    (s, evaluations)
}

/// A walk that ends in an error (the CRM's 429, a page it cannot filter) releases none of
/// the pages it read: the audit record must not list their records as shown.
fn nothing_released(rec: &mut AuditRecord) {
    rec.records.clear();
}

/// Where `part` (a slice of `whole`) lies in it; `None` when it is not a slice of it.
fn span_in(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The records of walked pages, as JSON text slices of their documents.
fn page_records<'d>(
    docs: &'d [FilteredDoc],
    spans: &[Vec<Range<usize>>],
) -> Result<Vec<Vec<&'d [u8]>>, RequestError> {
    docs.iter()
        .zip(spans)
        .map(|(doc, spans)| {
            spans
                .iter()
                .map(|r| doc.bytes().get(r.clone()))
                .collect::<Option<Vec<_>>>()
                // fail closed
                .ok_or_else(|| RequestError::Internal("a record outside its page".into()))
        })
        .collect()
}

/// The tallies of a walk over the CRM's pages (a counted search, a refilled list).
#[derive(Default)]
struct Walk {
    pages: usize,
    bytes: usize,
    upstream_us: u64,
    filter_us: u64,
}

impl Walk {
    fn record(&self, rec: &mut AuditRecord) {
        rec.latency_us.insert("upstream", self.upstream_us);
        rec.latency_us.insert("filter", self.filter_us);
    }
}

/// One CRM page of a walk, filtered: the document, the audit view of its shown records (in
/// the order of its records) and the CRM's cursor of the next page.
struct WalkedPage {
    doc: FilteredDoc,
    /// Where each shown record's JSON text lies in the document.
    records: Vec<Range<usize>>,
    audits: Vec<RecordAudit>,
    next: Option<String>,
}

/// Reads a filtered page's records and the CRM's next cursor (the vendor profile's).
type ReadPage<'a> = &'a (dyn for<'b> Fn(&'b [u8]) -> Result<crate::stages::vendor::PageRead<'b>, RequestError>
         + Sync);

impl Gateway {
    /// Send one permitted page request of a walk, filter the answer and account for it.
    async fn walk_page(
        &self,
        step: &Step<'_>,
        permit: crate::stages::authz::Permit,
        walk: &mut Walk,
        rec: &mut AuditRecord,
        turn: &mut BufferTurn,
        read: ReadPage<'_>,
    ) -> Result<WalkedPage, RequestError> {
        walk.pages += 1;
        let t = Instant::now();
        let upstream = self
            .upstream
            .send(permit, step.request_id, step.peer.ip(), Some(turn))
            .await;
        walk.upstream_us += micros(t);
        let upstream = upstream?;
        rec.upstream_status = Some(upstream.status.as_u16());
        walk.bytes = walk.bytes.saturating_add(upstream.body.len());
        let (mut filtered, filter_us) = self.filter_answer(step, &upstream.body, rec).await?;
        walk.filter_us += filter_us;
        record_filtering(rec, &filtered);
        let spans = filtered.take_spans();
        let doc = filtered.take_doc();
        let (records, next) = if let Some((first, last)) = spans
            .as_ref()
            .and_then(|s| Some((s.first()?.start, s.last()?.end)))
        {
            // The filter knows where its records lie: the vendor reads the rest alone (the
            // envelope around an empty records array), not the records a second time.
            let bytes = doc.bytes();
            let (Some(head), Some(tail)) = (bytes.get(..first), bytes.get(last..)) else {
                return Err(RequestError::Internal(
                    "a record outside its filtered page".into(),
                ));
            };
            let skeleton = [head, tail].concat();
            let page = read(&skeleton)?;
            if !page.records.is_empty() {
                // fail closed: records the spans do not account for.
                return Err(RequestError::Internal(
                    "a filtered page with records outside its spans".into(),
                ));
            }
            (spans.unwrap_or_default(), page.next)
        } else {
            let page = read(doc.bytes())?;
            // fail closed: a record not found inside the filtered body is not released.
            let records = page
                .records
                .iter()
                .map(|r| span_in(doc.bytes(), r.get().as_bytes()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    RequestError::Internal("a record outside its filtered page".into())
                })?;
            (records, page.next)
        };
        if records.len() != filtered.records.len() {
            // fail closed: the audit would not describe what is released.
            return Err(RequestError::Internal(
                "a page and its audit disagree".into(),
            ));
        }
        Ok(WalkedPage {
            doc,
            records,
            audits: filtered.records,
            next,
        })
    }
}

/// What a paging cursor is bound to: the route, the policy revision and the caller's scope
/// (principal and purpose). A cursor made for one never opens for another.
struct CursorBinding<'a> {
    route: &'a str,
    revision: &'a str,
    scope: &'a str,
    /// How the CRM was read (`list` or `search`): their cursors mean different things.
    mode: &'a str,
}

impl CursorBinding<'_> {
    fn message(&self, payload: &str) -> Vec<u8> {
        format!(
            "crmgate-cursor-v1\0{}\0{}\0{}\0{}\0{payload}",
            self.route, self.revision, self.scope, self.mode
        )
        .into_bytes()
    }
}

/// May the caller search the collection (its search route's request decision)? Only then
/// is a list pushed down into a search on its behalf.
fn search_permission(step: &Step<'_>, path: &str, rec: &mut AuditRecord) -> Option<Allowed> {
    let route = step.routes.routes().iter().find(|r| {
        r.body == Operation::Search
            && r.resource.entity_type == step.route.resource.entity_type
            && r.path == path
    })?;
    let (decision, allowed) =
        step.engine
            .authorize_request(step.scope, route, &http::Method::POST, path);
    if allowed.is_some() {
        rec.policies.extend(decision.policies.iter().cloned());
    }
    allowed
}

/// crmgate's cursor: the CRM's page cursor and how many shown records of that page to skip,
/// encrypted and sealed with the binding. The CRM's cursor is a position in everything the
/// CRM holds (it may name the record a page starts at, which may be one the caller may not
/// read): the client gets no readable part of it.
fn seal_cursor(
    after: Option<&str>,
    skip: usize,
    b: &CursorBinding<'_>,
    key: &PurposeKey,
) -> Result<String, RequestError> {
    let payload = serde_json::json!({"a": after, "k": skip}).to_string();
    key.encrypt(payload.as_bytes(), &b.message(""))
        // fail closed: no cursor at all rather than a readable one.
        .ok_or_else(|| RequestError::Internal("a paging cursor could not be sealed".into()))
}

/// Open a client's cursor. fail closed: anything tampered, foreign (another caller,
/// purpose, route or policy revision) or malformed is refused.
fn open_cursor(
    token: &str,
    b: &CursorBinding<'_>,
    key: &PurposeKey,
) -> Result<(Option<String>, usize), RequestError> {
    let bad = || {
        RequestError::BadRequest(
            "the paging cursor `after` is not valid for this request (changed, another \
             caller's or purpose's, or from before a policy change): start again without it"
                .into(),
        )
    };
    let payload = key
        .decrypt(token, &b.message(""))
        .and_then(|p| String::from_utf8(p).ok())
        .ok_or_else(bad)?;
    let v: Value = serde_json::from_str(&payload).map_err(|_| bad())?;
    let after = match v.get("a") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(_) => return Err(bad()),
    };
    let skip = v
        .get("k")
        .and_then(Value::as_u64)
        .and_then(|k| usize::try_from(k).ok())
        .ok_or_else(bad)?;
    Ok((after, skip))
}

/// What the filter needs for one request, besides a body.
struct Step<'a> {
    allowed: &'a Allowed,
    routes: &'a RouteTable,
    route: &'a Route,
    scope: &'a Scope,
    engine: &'a PolicyEngine,
    hidden: &'a HashSet<String>,
    selection: u64,
    key: &'a PurposeKey,
    request_id: &'a str,
    peer: SocketAddr,
    /// The request asked for associations: the associated records the answer names are
    /// decided before it is filtered (without, any the answer names are left out).
    associations: bool,
}

impl Step<'_> {
    /// Filter a body, showing the associated records of `shown` only.
    fn filter(&self, body: &Bytes, shown: &Shown) -> Result<Filtered, RequestError> {
        filter::filter_body(
            self.engine,
            self.scope,
            self.route,
            self.hidden,
            self.selection,
            self.key,
            shown,
            body,
        )
    }
}

/// The path as the audit record shows it. A lookup by a property (`…/{value}` and the
/// vendor's lookup parameter naming `p`)
/// names customer data in its last segment (an e-mail, an IBAN): that segment is replaced by
/// a keyed pseudonym from the first moment the request is recorded, whether or not it
/// passes a stage, so the value never enters the log in clear.
/// `param` is the vendor's lookup parameter, `is_lookup` tells a lookup property from the
/// record id.
fn audit_path(
    path: &str,
    query: Option<&str>,
    key: &PurposeKey,
    param: Option<&str>,
    is_lookup: &dyn Fn(&str) -> bool,
) -> String {
    let path: String = path.chars().take(2048).collect();
    let lookup = query.zip(param).and_then(|(q, param)| {
        // As `form_urlencoded::parse(q).find(…)`, but a pair is decoded only when its key
        // may be the lookup parameter (every request passes here; most name no lookup).
        q.split('&')
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                key == param || key.contains(['%', '+'])
            })
            .flat_map(|pair| form_urlencoded::parse(pair.as_bytes()))
            .find(|(k, v)| k == param && is_lookup(v))
            .map(|(_, v)| v.into_owned())
    });
    match (lookup, path.rsplit_once('/')) {
        (Some(p), Some((head, value))) => pseudonymised(head, &p, value, key),
        _ => path,
    }
}

/// [`audit_path`] for the canonical request (its decoded query).
fn lookup_path(c: &Canonical, key: &PurposeKey, vendor: &dyn Vendor) -> String {
    let lookup = vendor.lookup(&c.query);
    match (lookup, c.segments.split_last()) {
        (Some(p), Some((value, _))) => {
            let head = c.path.rsplit_once('/').map_or("", |(h, _)| h);
            pseudonymised(head, p, value, key)
        }
        _ => c.path.clone(),
    }
}

/// A request that ended without its answer after the caller was recognised names who asked
/// (set by then) and what it asked for: the route and resource its path matches, and the
/// record id the path names — unless the record lists records already (returned, withheld,
/// written) or the path names its record by a property value (a value never goes into the
/// log; the path holds its pseudonym). So a refused request shows in `audit query --user`,
/// `--record` and in the data subject's report.
fn name_refused(
    rec: &mut AuditRecord,
    policies: &Policies,
    canonical: &Canonical,
    vendor: &dyn Vendor,
) {
    if rec.principal.is_none() {
        return;
    }
    let Ok(matched) = policies.routes.find(&canonical.method, &canonical.segments) else {
        return;
    };
    let route = matched.route;
    if rec.route.is_none() {
        rec.route = Some(route.name.clone());
        rec.action = Some(route.action.clone());
        rec.resource = Some(route.resource.entity_type.clone());
    }
    let by_value = vendor.lookup(&canonical.query).is_some();
    let listed = !rec.records.is_empty()
        || !rec.rows_dropped.is_empty()
        || rec.writes.iter().any(|w| w.id.is_some());
    if let Some(id) = matched.id.filter(|_| !by_value && !listed) {
        rec.named.push(id);
    }
}

fn pseudonymised(head: &str, property: &str, value: &str, key: &PurposeKey) -> String {
    let property: String = property.chars().take(64).collect();
    let pseudonym = masks::mask_str(MaskKind::Hash, value, key);
    format!("{head}/{{{property}={pseudonym}}}")
}

/// Shadow routes hand out unfiltered data by design: say so loudly whenever a set with
/// them becomes active.
pub fn warn_shadow_routes(policies: &Policies) {
    for r in policies.routes.routes().iter().filter(|r| r.shadow) {
        tracing::warn!(route = %r.name, "route in SHADOW mode: decisions are audited but NOT enforced");
    }
    for r in policies.routes.routes().iter().filter(|r| r.passthrough) {
        tracing::warn!(route = %r.name, "route in PASSTHROUGH mode (benchmark reference): responses are NOT filtered");
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Add what one filter run decided to the audit record (a search walk filters several).
fn record_filtering(rec: &mut AuditRecord, f: &Filtered) {
    rec.cedar_evaluations += f.evaluations;
    rec.policies.extend(f.policies.iter().cloned());
    rec.policies.sort();
    rec.policies.dedup();
    rec.cedar_errors.extend(f.errors.iter().cloned());
    rec.records.extend(f.records.iter().cloned());
    rec.rows_dropped.extend(f.dropped.iter().cloned());
    rec.unclassified.extend(f.unclassified.iter().cloned());
    rec.unclassified.sort();
    rec.unclassified.dedup();
    rec.associations_shown
        .extend(f.associations.shown.iter().cloned());
    rec.associations_dropped
        .extend(f.associations.dropped.iter().cloned());
}

/// Only the route's documented query parameters pass.
fn check_query(route: &Route, c: &Canonical) -> Result<(), RequestError> {
    for (k, _) in &c.query {
        if !route.query.contains(k) {
            let mut allowed: Vec<&str> = route.query.iter().map(String::as_str).collect();
            allowed.sort_unstable();
            return Err(RequestError::BadRequest(format!(
                "query parameter `{}` is not accepted on this route (accepted: {})",
                k.chars().take(64).collect::<String>(),
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    Ok(())
}

async fn read_body<B>(
    body: B,
    headers: &http::HeaderMap,
    max: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, (RequestError, bool)>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Refuse a declared oversize body before reading any of it.
    if let Some(len) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > max {
            return Err((RequestError::PayloadTooLarge(max), false));
        }
    }
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect())
        .await
        .map_err(|_| (RequestError::RequestTimeout(timeout_ms), false))?;
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err((RequestError::PayloadTooLarge(max), false))
        }
        Err(e) if client_went_away(e.as_ref()) => Err((
            RequestError::BadRequest(
                "the request body was not received: the client cancelled the request".into(),
            ),
            true,
        )),
        Err(e) => Err((
            RequestError::BadRequest(format!("the request body could not be read: {e}")),
            false,
        )),
    }
}

/// Did reading the request fail because the client went away: an HTTP/2 stream it reset
/// or a connection it closed or lost (GOAWAY, I/O error), an HTTP/1 connection closed
/// before the body was complete?
fn client_went_away(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(h2) = c.downcast_ref::<h2::Error>() {
            if (h2.is_remote() && (h2.is_reset() || h2.is_go_away())) || h2.is_io() {
                return true;
            }
        }
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return true;
            }
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
            ) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

/// The names of the groups in a bitmask, for messages.
fn group_names(res: &ResourceProfile, mask: u64) -> String {
    res.groups
        .iter()
        .enumerate()
        .filter(|(g, _)| mask & (1u64 << g) != 0)
        .map(|(_, name)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A response with a body the filter (or an explicitly configured route) released.
fn json_response(
    status: StatusCode,
    body: Releasable,
    request_id: &str,
    budget: Option<OwnedSemaphorePermit>,
) -> Result<Response<Body>, RequestError> {
    let body = body.into_bytes();
    // The ETag describes the filtered body, not the upstream's. It only tells versions of a
    // response apart (crmgate answers no conditional requests and marks responses no-store),
    // so a fast non-cryptographic 128-bit hash does: SHA-256 was 40% of a pass-through's CPU.
    let etag = format!("\"x3-{:032x}\"", xxhash_rust::xxh3::xxh3_128(&body));
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CACHE_CONTROL, "private, no-store")
        .header(ETAG, etag)
        .header("x-request-id", request_id)
        .body(ResponseBody::with_budget(body, budget))
        .map_err(|e| RequestError::Internal(format!("response: {e}")))
}

/// The problem response for an error. Built from constants and the error's own text, so it
/// cannot fail; if it somehow did, a bare status is sent.
pub fn problem_response(vendor: &dyn Vendor, e: &RequestError, request_id: &str) -> Response<Body> {
    let body = vendor.error_body(e, request_id);
    let mut resp = Response::new(ResponseBody::new(body));
    *resp.status_mut() = e.status();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    if matches!(e, RequestError::Unauthenticated(_)) {
        h.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"crmgate\""),
        );
    }
    if matches!(e, RequestError::Credential(_)) {
        h.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"crmgate\", error=\"invalid_token\""),
        );
    }
    // The CRM's retry signals of a 429 (checked when they were read).
    for (name, value) in e.passed_headers() {
        h.append(name.clone(), value.clone());
    }
    if matches!(e, RequestError::BadFraming(_)) {
        // The bytes after an ambiguous frame cannot be trusted: close the connection (an
        // HTTP/1 response with `Connection: close`; hyper drops the header on HTTP/2).
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The rule a request of the deletion run carries out, for its audit record. Only the
/// run's own app, declaring the run's purpose, may name one, and only a rule of the
/// concept: anyone else's header is refused, so that no audit record names a rule that
/// did not send it.
fn retention_rule(
    headers: &http::HeaderMap,
    principal: &str,
    purpose: &str,
    policies: &Policies,
) -> Result<Option<String>, RequestError> {
    let mut values = headers.get_all(crate::retention::RULE_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let refuse = |why: &str| {
        Err(RequestError::BadRequest(format!(
            "X-Crmgate-Retention-Rule: {why}"
        )))
    };
    if values.next().is_some() {
        return refuse("given more than once");
    }
    let Some(rules) = &policies.retention else {
        return refuse("no deletion concept is configured");
    };
    if principal != rules.run.app || purpose != rules.run.purpose {
        return refuse("only the deletion run may name a rule");
    }
    let name = value.to_str().unwrap_or("");
    if rules.kind(name).is_none() {
        return refuse("not a rule of the deletion concept");
    }
    Ok(Some(name.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::stages::filter::masks::HashKeys;

    #[test]
    fn audit_paths_pseudonymise_lookups_however_the_key_is_spelt() {
        let key = HashKeys::new(Secret::new("0123456789abcdef0123")).for_purpose("t");
        let by_id = |v: &str| !v.is_empty() && v != "hs_object_id";
        let path = "/crm/v3/objects/contacts/santa@northpole.example";
        let expected = pseudonymised(
            "/crm/v3/objects/contacts",
            "email",
            "santa@northpole.example",
            &key,
        );
        for q in [
            "idProperty=email",
            "properties=a,b&idProperty=email",
            "id%50roperty=email",
            "idProperty=&idProperty=email",
            "idProperty=hs_object_id&idProperty=email",
            "&&idProperty=email&",
            "idProperty=em%61il",
        ] {
            let got = audit_path(path, Some(q), &key, Some("idProperty"), &by_id);
            assert_eq!(got, expected, "{q}");
            assert!(!got.contains("santa"), "{q}");
        }
        for q in [
            "idProperty=",
            "idProperty=hs_object_id",
            "idproperty=email",
            "a=b",
        ] {
            assert_eq!(
                audit_path(path, Some(q), &key, Some("idProperty"), &by_id),
                path,
                "{q}"
            );
        }
        assert_eq!(
            audit_path(path, None, &key, Some("idProperty"), &by_id),
            path
        );
    }
}
