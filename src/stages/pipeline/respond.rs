//! How the pipeline answers: a JSON response with a body the filter released (its own
//! ETag, no caching), an empty one, a write's notices, and the problem response of an
//! error.
//!
//! A response must never carry a body the filter did not release: only a [`Releasable`]
//! becomes a JSON body, and a problem body holds crmgate's own text, never the CRM's.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::{Response, StatusCode};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::RequestError;
use crate::stages::body::ResponseBody;
use crate::stages::filter::Releasable;
use crate::stages::notice::NOTICE_URL_HEADER;
use crate::stages::vendor::Vendor;
use crate::stages::write_inputs::{self as write, WriteAudit};

/// The body of every response the pipeline gives (see [`crate::stages::body`]).
pub type Body = ResponseBody;

/// The header naming the field groups stripped from a write.
pub const STRIPPED_HEADER: &str = "x-crmgate-stripped";
/// The header telling what was redacted (field, category, count; never values).
pub const REDACTED_HEADER: &str = "x-crmgate-redacted";
/// The header with the notice for the person whose text was redacted (which kinds of data
/// were removed and why, in the language of the write, never a value), as an RFC 8187
/// value: `UTF-8'de'Zu%20Ihrem%20Schutz…`.
pub const REDACTION_NOTICE_HEADER: &str = "x-crmgate-redaction-notice";

/// RFC 8187 `attr-char`: what an extended header value keeps as is.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A response with a body the filter (or an explicitly configured route) released.
pub(super) fn json_response(
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
        HeaderValue::from_static(vendor.error_content_type()),
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

pub(super) fn empty_response(
    status: StatusCode,
    request_id: &str,
) -> Result<Response<Body>, RequestError> {
    Response::builder()
        .status(status)
        .header(http::header::CACHE_CONTROL, "private, no-store")
        .header("x-request-id", request_id)
        .body(Body::new(Vec::new()))
        .map_err(|e| RequestError::Internal(format!("response: {e}")))
}

/// The notices of a write: which field groups were stripped and what was redacted, and
/// where its notice for the person can be fetched (`notice`, its path).
pub(super) fn with_notices(
    mut response: Response<Body>,
    audits: &[WriteAudit],
    notice: Option<&str>,
) -> Response<Body> {
    let h = response.headers_mut();
    if let Some(v) = write::stripped_notice(audits).and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert(STRIPPED_HEADER, v);
    }
    if let Some(v) = write::redaction_notice(audits).and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert(REDACTED_HEADER, v);
    }
    if let Some(v) = write::person_notice(audits).and_then(|(lang, n)| {
        let encoded = percent_encoding::utf8_percent_encode(&n, ATTR_CHAR);
        HeaderValue::from_str(&format!("UTF-8'{lang}'{encoded}")).ok()
    }) {
        h.insert(REDACTION_NOTICE_HEADER, v);
    }
    if let Some(v) = notice.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert(NOTICE_URL_HEADER, v);
    }
    response
}
