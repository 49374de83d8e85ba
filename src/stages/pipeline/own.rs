//! crmgate's own endpoints on the data port, answered after the caller is identified and
//! before anything is routed: `GET /crmgate/v1/notices/{id}`, a redacted write's notice for
//! the identity that made the write ([`crate::stages::notice`]).
//!
//! A request under crmgate's own prefix must never reach the route table or the CRM, and a
//! notice that is another's must never answer any differently from one that does not exist.

use std::collections::BTreeMap;

use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Response, StatusCode};

use crate::error::RequestError;
use crate::policy::PrincipalInfo;
use crate::stages::notice::{self, Missing, NoticeText};
use crate::stages::sanitize::Canonical;
use crate::stages::write_inputs as write;

use super::ctx::RequestCtx;
use super::respond::Body;
use super::shared::Shared;

/// Answer a request under crmgate's own prefix: the notice it names, to its writer; any
/// other path there is not found, any other method on a notice not allowed.
pub(super) fn answer(
    sh: &Shared,
    canonical: &Canonical,
    principal: &PrincipalInfo,
    headers: &http::HeaderMap,
    ctx: &mut RequestCtx,
) -> Result<Response<Body>, RequestError> {
    let Some(id) = notice::notice_id(&canonical.segments) else {
        return Err(RequestError::NoRoute {
            method: canonical.method.to_string(),
            path: canonical.path.clone(),
        });
    };
    ctx.own_endpoint("crmgate.notice", "read_notice", "Notice");
    if canonical.method != Method::GET {
        return Err(RequestError::MethodNotAllowed(canonical.method.to_string()));
    }
    if let Some((name, _)) = canonical.query.first() {
        return Err(RequestError::BadQuery(format!(
            "`{name}` is not a parameter of a notice"
        )));
    }
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = notice::format_for(accept);
    // The request itself is allowed to anyone identified: what it may see is decided by
    // whose notice it is.
    ctx.decide(true);
    let body = match sh.notices.read(id, &principal.uid.to_string(), format) {
        Ok(body) => body,
        // hidden equals missing: the caller hears the same 404 either way; the record
        // says it asked for another's.
        Err(Missing::Another) => {
            ctx.deny();
            return Err(RequestError::RecordNotFound);
        }
        Err(Missing::Unknown) => return Err(RequestError::RecordNotFound),
    };
    let mut response = Response::new(Body::new(body.into_bytes()));
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(notice::content_type(format)),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert("vary", HeaderValue::from_static("accept, authorization"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The HTML form is the notice's text alone: nothing to run, load or frame.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        h.insert("x-request-id", v);
    }
    Ok(response)
}

/// Keep a redacted write's notice for the identity that made it: its path, for the response
/// header and the write's record; `None` when nothing forwarded was redacted.
pub(super) fn issue(
    sh: &Shared,
    principal: &PrincipalInfo,
    ctx: &mut RequestCtx,
) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut records: Vec<String> = Vec::new();
    for a in ctx.writes.iter().filter(|a| a.outcome == "forwarded") {
        for (category, n) in a.redacted.values().flatten() {
            *counts.entry(category.clone()).or_insert(0) += n;
        }
        if let Some(id) = a.id.as_ref().filter(|_| !a.redacted.is_empty()) {
            if !records.contains(id) {
                records.push(id.clone());
            }
        }
    }
    if counts.is_empty() {
        return None;
    }
    let (language, text) = write::person_notice(&ctx.writes)?;
    let notice = NoticeText {
        language,
        text,
        counts,
        records,
    };
    let path = sh.notices.issue(&principal.uid.to_string(), notice)?;
    ctx.notice = Some(path.clone());
    Some(path)
}
