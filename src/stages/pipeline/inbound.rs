//! What the request brings, read once (stages 2 to 5 and the body): its canonical form
//! with a purpose named in the path and the vendor's other spellings resolved, the query
//! parameters its route accepts, the deletion run's rule header, and its body — read only
//! after the request was authorized, bounded in size and time.
//!
//! It must never read a body before the request is authorized, accept a query
//! parameter its route does not document, or let anyone but the deletion run name a rule.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, Limited};

use std::sync::Arc;

use crate::config::{Config, Limits};
use crate::error::RequestError;
use crate::policy::{PolicyEngine, PrincipalInfo};
use crate::routes::{ResourceProfile, Route, RouteTable};
use crate::stages::identity::jwks::IssuerKeys;
use crate::stages::identity::{self, ClientCert};
use crate::stages::purpose;
use crate::stages::sanitize::{self, Canonical};
use crate::stages::vendor::Vendor;

use super::ctx::RequestCtx;
use super::revision::Policies;

/// Stage 2, sanitize: one reading of the request; its canonical path is all later stages see.
/// A purpose declared in the base URL (`/purpose/<name>/…`, for clients that cannot add a
/// header) is taken off the path and returned; the vendor's other spellings of a path
/// (date versions) are resolved.
pub(super) fn canonical(
    parts: &http::request::Parts,
    routes: &RouteTable,
    vendor: &dyn Vendor,
) -> Result<(Canonical, Option<String>), RequestError> {
    let mut canonical = sanitize::check(parts, vendor.spelling())?;
    let path_purpose = match purpose::take_path_purpose(&canonical.segments) {
        Some((name, rest)) => {
            canonical = canonical.with_segments(rest);
            Some(name)
        }
        None => None,
    };
    if let Some(segments) = routes.resolve_alias(&canonical.segments) {
        canonical = canonical.with_segments(segments);
    }
    if let Some(segments) = vendor.canonical_segments(&canonical.segments) {
        canonical = canonical.with_segments(segments);
    }
    Ok((canonical, path_purpose))
}

/// Stage 5, route: the route of the request's path — or of the path the vendor routes it
/// by (a query's object). Unmatched: never forwarded.
pub(super) fn route<'r>(
    routes: &'r RouteTable,
    vendor: &dyn Vendor,
    canonical: &Canonical,
) -> Result<crate::routes::RouteMatch<'r>, RequestError> {
    let routed_by = vendor.route_path(canonical, routes)?;
    routes.find(
        &canonical.method,
        routed_by.as_deref().unwrap_or(&canonical.segments),
    )
}

/// Stage 5 again, for a write whose body names its record type: the route of the path the
/// vendor routes it by, if it names one (a write route, or none).
pub(super) fn route_by_body<'r>(
    routes: &'r RouteTable,
    vendor: &dyn Vendor,
    route: &Route,
    canonical: &Canonical,
    body: &[u8],
) -> Result<Option<crate::routes::RouteMatch<'r>>, RequestError> {
    if route.write().is_none() {
        return Ok(None);
    }
    let Some(path) = vendor.route_by_body(route, canonical, body)? else {
        return Ok(None);
    };
    let again = routes.find(&canonical.method, &path)?;
    // fail closed: a body routes a write to a write route only.
    if again.route.write().is_none() {
        return Err(RequestError::NoRoute {
            method: canonical.method.to_string(),
            path: canonical.path.clone(),
        });
    }
    Ok(Some(again))
}

/// Stage 3, identify: who is calling, and the purpose its credential declares. A credential
/// that named a known principal goes into the record also when it is refused (inactive,
/// or a department the directory contradicts): the record says who asked.
pub(super) async fn identify(
    headers: &http::HeaderMap,
    client_cert: Option<&ClientCert>,
    cfg: &Config,
    jwks: &IssuerKeys,
    engine: &PolicyEngine,
    ctx: &mut RequestCtx,
) -> Result<(Arc<PrincipalInfo>, Option<String>), RequestError> {
    let mut recognised = None;
    match identity::identify(headers, client_cert, cfg, jwks, engine, &mut recognised).await {
        Ok(i) => {
            ctx.identified(&i.principal, i.credential, true);
            Ok((i.principal, i.purpose))
        }
        Err(e) => {
            if let Some(who) = recognised {
                ctx.identified(&who.principal, who.credential, false);
            }
            Err(e)
        }
    }
}

/// Stage 4, purpose: the one declared (in the path, or by the credential) or the
/// default, from the registry; and the deletion run's rule, if the request names one.
pub(super) fn purpose(
    headers: &http::HeaderMap,
    (in_path, by_credential): (Option<String>, Option<String>),
    principal: &PrincipalInfo,
    cfg: &Config,
    policies: &Policies,
    ctx: &mut RequestCtx,
) -> Result<String, RequestError> {
    let purpose = purpose::resolve(
        headers,
        in_path.as_deref(),
        by_credential.as_deref(),
        principal,
        &cfg.purposes,
        &cfg.departments,
        &cfg.apps,
    )?;
    ctx.purposed(&purpose);
    ctx.carries_rule(retention_rule(headers, &principal.id, &purpose, policies)?);
    Ok(purpose)
}

/// The body, read only once the request is authorized: bounded in size and time. A
/// client that went away meanwhile (a reset stream, a closed connection) ends its request
/// here, and its record says so.
pub(super) async fn body<B>(
    body: B,
    headers: &http::HeaderMap,
    limits: &Limits,
    ctx: &mut RequestCtx,
) -> Result<Bytes, RequestError>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    read_body(
        body,
        headers,
        limits.max_request_body_bytes,
        limits.request_timeout,
    )
    .await
    .map_err(|(e, gone)| {
        ctx.went_away(gone);
        e
    })
}

/// Only the route's documented query parameters pass.
pub(super) fn check_query(route: &Route, c: &Canonical) -> Result<(), RequestError> {
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
pub(super) fn group_names(res: &ResourceProfile, mask: u64) -> String {
    res.groups
        .iter()
        .enumerate()
        .filter(|(g, _)| mask & (1u64 << g) != 0)
        .map(|(_, name)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule a request of the deletion run carries out, for its audit record. Only the
/// run's own app, declaring the run's purpose, may name one, and only a rule of the
/// concept: anyone else's header is refused, so that no audit record names a rule that
/// did not send it.
pub(super) fn retention_rule(
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
