//! The request pipeline: [`Gateway::handle`] gives every request exactly one response and
//! exactly one audit record; [`Gateway::handle_inner`] reads top to bottom as the stages of
//! DESIGN.md, one `?` per stage. Nothing leaves before its audit record is written: when the
//! audit log fails, the response becomes a 503 (fail closed).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use crate::admin::Health;
use crate::audit::{AuditLog, AuditRecord};
use crate::authz::PolicyEngine;
use crate::config::Config;
use crate::error::RequestError;
use crate::filter::{self, Filtered};
use crate::identity::ClientCert;
use crate::masks::HashKeys;
use crate::routing::{RequestBody, Route, RouteTable};
use crate::sanitize::{self, Canonical};
use crate::upstream::Upstream;
use crate::{identity, purpose};

/// One consistent revision of routes and policies: a request is decided by one revision.
#[derive(Debug)]
pub struct Policies {
    pub routes: RouteTable,
    pub engine: PolicyEngine,
    /// Owners of configured API keys that the entities do not list: those keys are refused.
    pub unlisted_key_owners: Vec<String>,
}

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct Gateway {
    pub config: Config,
    policies: RwLock<Arc<Policies>>,
    upstream: Upstream,
    audit: AuditLog,
    hash_keys: HashKeys,
    reloads: ReloadStatus,
    health: Health,
    /// Requests that may be between forwarding and a filtered response at once: each holds an
    /// upstream body (up to `upstream.max_body_bytes`) and its filtered copy, so this bounds
    /// memory; the others wait their turn, already authorized, before anything is sent.
    buffering: tokio::sync::Semaphore,
}

/// What hot reloads did: for logs, metrics and `/readyz`.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// The problems of the last rejected policy set (cleared by a successful reload).
    pub last_error: Mutex<Option<String>>,
}

/// How many upstream bodies may be buffered and filtered at once. Filtering is CPU-bound, so
/// a few per core keep the cores busy; more only adds memory (and queueing in the kernel
/// becomes queueing here). TODO(lead): a `[limits]` setting, for CRMs far away.
const MAX_BUFFERED_RESPONSES: usize = 32;

type Body = Full<Bytes>;

impl Gateway {
    pub fn new(
        config: Config,
        policies: Policies,
        upstream: Upstream,
        audit: AuditLog,
        health: Health,
    ) -> Gateway {
        health.metrics.set_revision(policies.engine.revision());
        crate::app::report_unlisted_keys(&policies, &health);
        let hash_keys = HashKeys::new(config.hash_key.clone());
        Gateway {
            config,
            policies: RwLock::new(Arc::new(policies)),
            upstream,
            audit,
            hash_keys,
            reloads: ReloadStatus::default(),
            health,
            buffering: tokio::sync::Semaphore::new(MAX_BUFFERED_RESPONSES),
        }
    }

    /// Load the policy files again and, only if the new set passes every start-up check,
    /// swap it in atomically. Requests in flight finish with the revision they started
    /// with; a set that fails validation never replaces the active one.
    pub fn reload(&self) -> Result<String, String> {
        match crate::app::load_policies(&self.config) {
            Ok(new) => {
                let revision = new.engine.revision().to_string();
                warn_shadow_routes(&new);
                crate::app::report_unlisted_keys(&new, &self.health);
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
            Err(e) => {
                let message = e.to_string();
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
            path: req.uri().path().chars().take(2048).collect(),
            policy_revision: policies.engine.revision().to_string(),
            decision: "error",
            ..AuditRecord::default()
        };

        let result = self
            .handle_inner(req, peer, client_cert, &policies, &request_id, &mut rec)
            .await;
        let response = match result {
            Ok(resp) => resp,
            Err(e) => {
                rec.reason = Some(e.kind());
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
                problem_response(&e, &request_id)
            }
        };
        rec.status = response.status().as_u16();
        rec.latency_us.insert("total", micros(started));
        let (decision, evaluations, dropped) =
            (rec.decision, rec.cedar_evaluations, rec.rows_dropped.len());

        // fail closed: the response is released only once its record is written.
        let response = match self.audit.write(rec).await {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(request_id = %request_id, error = %e, "audit write failed; answering 503");
                problem_response(&RequestError::AuditUnavailable, &request_id)
            }
        };
        self.health
            .metrics
            .request(response.status().as_u16(), decision, evaluations, dropped);
        response
    }

    /// The stages, in order. Each `?` is one stage that can end the request.
    async fn handle_inner<B>(
        &self,
        req: Request<B>,
        peer: SocketAddr,
        client_cert: Option<&ClientCert>,
        policies: &Policies,
        request_id: &str,
        rec: &mut AuditRecord,
    ) -> Result<Response<Body>, RequestError>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let cfg = &self.config;
        let engine = &policies.engine;

        // 2. sanitize: one reading of the request; its canonical path is all later stages see.
        let canonical = sanitize::check(&parts)?;
        rec.path.clone_from(&canonical.path);

        // 3. identify, 4. purpose: before routing, so an unknown caller learns nothing.
        let (principal, credential) =
            identity::identify(&parts.headers, client_cert, cfg, engine).await?;
        rec.credential = Some(credential);
        rec.principal = Some(principal.id.clone());
        rec.department.clone_from(&principal.department);
        let purpose = purpose::resolve(
            &parts.headers,
            &principal,
            &cfg.purposes,
            &cfg.departments,
            &cfg.apps,
        )?;
        rec.purpose = Some(purpose.clone());

        // 5. route: unmatched → never forwarded.
        let matched = policies
            .routes
            .find(&canonical.method, &canonical.segments)?;
        let route = matched.route;
        rec.route = Some(route.name.clone());
        rec.action = Some(route.action.clone());
        rec.resource = Some(route.resource.entity_type.clone());
        check_query(route, &canonical)?;

        // 6. authorize the request itself; only an allow yields a Permit.
        let scope = engine.scope(principal, &purpose)?;
        let (decision, permit) = engine.authorize_request(
            &scope,
            &route.name,
            &route.action,
            &route.resource.collection,
        );
        // 0 when the decision came from the revision's memo.
        rec.cedar_evaluations += scope.evaluations();
        rec.policies.extend(decision.policies.iter().cloned());
        rec.cedar_errors.extend(decision.errors.iter().cloned());
        rec.decision = if decision.allow { "allow" } else { "deny" };
        let Some(permit) = permit else {
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
        .await?;

        // 7. (read routes) ask the CRM for what the client asked for plus what the policies
        // need to decide; remember what to hide again.
        let (path_and_query, upstream_body, hidden, selection) =
            upstream_request(route, &canonical, body)?;

        // 8. forward. Only so many bodies are buffered at once (memory stays bounded).
        let _buffering = self
            .buffering
            .acquire()
            .await
            .map_err(|_| RequestError::Internal("the buffering limit was closed".into()))?;
        let t = Instant::now();
        let upstream = self
            .upstream
            .send(
                &permit,
                canonical.method.clone(),
                &path_and_query,
                upstream_body,
                request_id,
                peer.ip(),
            )
            .await;
        rec.latency_us.insert("upstream", micros(t));
        let upstream = upstream?;
        rec.upstream_status = Some(upstream.status.as_u16());

        // Benchmark reference only (never in the shipped routes): authorized and audited like
        // any request, but the body is returned as the upstream sent it.
        if route.passthrough {
            rec.detail = Some("passthrough route: the body was not filtered".into());
            return json_response(upstream.status, upstream.body, request_id);
        }

        // 9. filter: rows, field groups, masks; anything unfilterable is a 502.
        let t = Instant::now();
        let key = self.hash_keys.for_purpose(&purpose);
        let filtered = filter::filter_body(
            engine,
            &scope,
            route,
            &hidden,
            selection,
            &key,
            &upstream.body,
        );
        rec.latency_us.insert("filter", micros(t));
        let filtered = filtered?;
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
            return json_response(upstream.status, upstream.body, request_id);
        }
        if filtered.single_denied {
            return Err(RequestError::RecordNotFound);
        }
        json_response(upstream.status, Bytes::from(filtered.body), request_id)
    }
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

fn record_filtering(rec: &mut AuditRecord, f: &Filtered) {
    rec.cedar_evaluations += f.evaluations;
    rec.policies.extend(f.policies.iter().cloned());
    rec.policies.sort();
    rec.policies.dedup();
    rec.cedar_errors.extend(f.errors.iter().cloned());
    rec.records.clone_from(&f.records);
    rec.rows_dropped.clone_from(&f.dropped);
    rec.unclassified = f.unclassified.iter().cloned().collect();
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
) -> Result<Bytes, RequestError>
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
            return Err(RequestError::PayloadTooLarge(max));
        }
    }
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect())
        .await
        .map_err(|_| RequestError::RequestTimeout(timeout_ms))?;
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(RequestError::PayloadTooLarge(max))
        }
        Err(e) => Err(RequestError::BadRequest(format!(
            "the request body could not be read: {e}"
        ))),
    }
}

/// The upstream path, query and body for a read route: the client's property selection
/// plus the properties the record attributes come from. Returns the properties the client
/// did not ask for, which the filter removes again.
fn upstream_request(
    route: &Route,
    c: &Canonical,
    body: Bytes,
) -> Result<(String, Option<Bytes>, HashSet<String>, u64), RequestError> {
    let res = &route.resource;
    let mut hidden = HashSet::new();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut requested: Option<Vec<String>> = None;
    for (k, v) in &c.query {
        if route.properties_param.as_deref() == Some(k.as_str()) {
            let list = requested.get_or_insert_with(Vec::new);
            list.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        } else {
            query.push((k.clone(), v.clone()));
        }
    }
    let mut upstream_body = None;
    let mut selection = 0u64;
    match route.body {
        RequestBody::None => {
            if !body.is_empty() {
                return Err(RequestError::BadRequest(
                    "this route takes no request body".into(),
                ));
            }
            if let Some(param) = &route.properties_param {
                let props = with_attribute_properties(res, requested, &mut hidden);
                query.insert(0, (param.clone(), props.join(",")));
            }
        }
        RequestBody::JsonProperties => {
            let mut doc: Value = serde_json::from_slice(&body).map_err(|e| {
                RequestError::BadRequest(format!("the request body is not valid JSON: {e}"))
            })?;
            let Value::Object(obj) = &mut doc else {
                return Err(RequestError::BadRequest(
                    "the request body must be a JSON object".into(),
                ));
            };
            let requested = match obj.get("properties") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(String::from))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| {
                            RequestError::BadRequest(
                                "`properties` must be an array of strings".into(),
                            )
                        })?,
                ),
                Some(_) => {
                    return Err(RequestError::BadRequest(
                        "`properties` must be an array of strings".into(),
                    ))
                }
            };
            selection = search_selection(route, obj)?;
            let props = with_attribute_properties(res, requested, &mut hidden);
            obj.insert("properties".into(), Value::from(props));
            upstream_body =
                Some(Bytes::from(serde_json::to_vec(&doc).map_err(|e| {
                    RequestError::Internal(format!("serialize: {e}"))
                })?));
        }
    }
    let pq = if query.is_empty() {
        c.path.clone()
    } else {
        format!("{}?{}", c.path, sanitize::encode_query(&query))
    };
    Ok((pq, upstream_body, hidden, selection))
}

/// Merge the attribute properties into the requested list; fill `hidden` with those the
/// client will not see.
fn with_attribute_properties(
    res: &crate::routing::ResourceProfile,
    requested: Option<Vec<String>>,
    hidden: &mut HashSet<String>,
) -> Vec<String> {
    let (mut props, visible): (Vec<String>, HashSet<String>) = match requested {
        Some(list) => {
            let visible = list.iter().chain(&res.always_properties).cloned().collect();
            (list, visible)
        }
        None => (
            res.default_properties.clone(),
            res.default_properties.iter().cloned().collect(),
        ),
    };
    for p in res.attribute_properties() {
        if !props.iter().any(|x| x == p) {
            props.push(p.to_string());
        }
        if !visible.contains(p) {
            hidden.insert(p.to_string());
        }
    }
    props
}

/// A search may filter and sort only on classified properties: filtering on a property
/// nobody may read would turn search results into an oracle for its values.
/// The field groups (bitmask) a search selects records by: its filters, sorts and free-text
/// query (which the vendor runs over `query_properties`). Unclassified properties → 400.
fn search_selection(
    route: &Route,
    obj: &serde_json::Map<String, Value>,
) -> Result<u64, RequestError> {
    let res = &route.resource;
    let mut names: Vec<&str> = Vec::new();
    if obj.get("query").is_some_and(|q| !q.is_null()) {
        names.extend(res.query_properties.iter().map(String::as_str));
    }
    if let Some(Value::Array(groups)) = obj.get("filterGroups") {
        for g in groups {
            if let Some(Value::Array(filters)) = g.get("filters") {
                names.extend(
                    filters
                        .iter()
                        .filter_map(|f| f.get("propertyName").and_then(Value::as_str)),
                );
            }
        }
    }
    if let Some(Value::Array(sorts)) = obj.get("sorts") {
        names.extend(
            sorts
                .iter()
                .filter_map(|s| s.get("propertyName").and_then(Value::as_str)),
        );
    }
    let mut selection = 0u64;
    for n in names {
        match res.property_groups.get(n) {
            Some(&g) => selection |= 1 << g,
            None => {
                return Err(RequestError::BadRequest(format!(
                    "cannot filter or sort on unclassified property `{}`",
                    n.chars().take(64).collect::<String>()
                )))
            }
        }
    }
    Ok(selection)
}

fn json_response(
    status: StatusCode,
    body: Bytes,
    request_id: &str,
) -> Result<Response<Body>, RequestError> {
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
        .body(Full::new(body))
        .map_err(|e| RequestError::Internal(format!("response: {e}")))
}

/// The problem response for an error. Built from constants and the error's own text, so it
/// cannot fail; if it somehow did, a bare status is sent.
pub fn problem_response(e: &RequestError, request_id: &str) -> Response<Body> {
    let body = serde_json::to_vec(&e.problem(request_id)).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
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
    if matches!(e, RequestError::BadFraming(_)) {
        // The bytes after an ambiguous frame cannot be trusted: close the connection (an
        // HTTP/1 response with `Connection: close`; hyper drops the header on HTTP/2).
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
