//! Request-path errors: one enum, one status table, one problem body.
//!
//! Every way a request can fail maps here to exactly one HTTP status, one problem `type` and
//! one audit outcome ([`RequestError::audit_decision`], [`RequestError::kind`] as the
//! reason, [`RequestError::audit_detail`]). The tables in [`RequestError::status`] and
//! `audit_decision` have no catch-all arm, so adding a variant forces a decision, and
//! `tests::status_table_is_pinned` pins every row. This module must never put upstream
//! data, secrets or field values into a message.

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use http::StatusCode;
use serde::Serialize;

/// Everything that can end a request before a filtered response is released.
///
/// Messages follow cedar's style: lowercase, no final period, user input in backticks.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request line, path, query or headers are ambiguous or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A query in the vendor's query language that crmgate does not read (a construct it
    /// does not govern, or a syntax error): never forwarded.
    #[error("{0}")]
    BadQuery(String),
    /// The request names a field the routes file does not classify, or the resource type
    /// does not have: never forwarded (no one may see an unclassified field).
    #[error("{0}")]
    UnknownField(String),
    /// The method is not one crmgate will ever forward (TRACE, CONNECT, unknown).
    #[error("method `{0}` is not allowed")]
    MethodNotAllowed(String),
    /// The client did not send its request (body) in time.
    #[error("the request was not received within {0} ms")]
    RequestTimeout(u64),
    /// The request body is larger than the configured cap.
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// No credential, or a credential crmgate does not accept.
    #[error("{0}")]
    Unauthenticated(String),
    /// A credential was presented and is not valid: each kind has its own audit reason, so
    /// that a bad token never looks like a missing one.
    #[error("{0}")]
    Credential(CredentialError),
    /// More than one credential (certificate, bearer token, api key) in one request: which
    /// one would the policy see?
    #[error("{0}")]
    AmbiguousCredentials(String),
    /// The request framing is ambiguous (Host, Transfer-Encoding, Content-Length): answered
    /// with 400 and the connection is closed, since its next bytes cannot be trusted.
    #[error("{0}")]
    BadFraming(String),
    /// A token's issuer keys (JWKS URL) cannot be fetched and no unexpired copy is held:
    /// nothing can be verified, so nothing is let through.
    #[error("the identity provider's keys are unavailable")]
    KeysUnavailable,
    /// The principal's account is deactivated.
    #[error("account `{0}` is inactive")]
    InactivePrincipal(String),
    /// `X-Purpose` names a purpose the registry does not know.
    #[error("unknown purpose `{0}`")]
    UnknownPurpose(String),
    /// The purpose exists but this principal may not declare it.
    #[error("purpose `{purpose}` is not allowed here; allowed: {allowed}")]
    PurposeNotAllowed { purpose: String, allowed: String },
    /// Method and path match no configured route: never forwarded.
    #[error("no route for `{method} {path}`")]
    NoRoute { method: String, path: String },
    /// Cedar denied the request itself (or failed to evaluate, which is a denial).
    #[error("the policy does not permit `{action}` on `{resource}` for purpose `{purpose}`")]
    Forbidden {
        action: String,
        resource: String,
        purpose: String,
    },
    /// The request filters, sorts or looks up records by a field group the caller does not
    /// see in clear in every record it may see: the answer would reveal those values.
    #[error("records cannot be selected, sorted or looked up by field group {groups} for purpose `{purpose}`: the caller does not see it in clear")]
    HiddenSelection { groups: String, purpose: String },
    /// The route is known to crmgate but not yet governed for the configured CRM: never
    /// forwarded.
    #[error("{0}")]
    NotGoverned(String),
    /// A write body that is not `application/json`.
    #[error("the request body must be `application/json`, not `{0}`")]
    UnsupportedMediaType(String),
    /// A write names field groups the caller may not write, on a route that refuses such a
    /// write whole (instead of stripping them).
    #[error("the policy does not permit writing field group {groups} for purpose `{purpose}`")]
    WriteRefused { groups: String, purpose: String },
    /// A free-text value holds special-category data or identifiers that the policy does
    /// not let crmgate redact for this caller: the write is refused whole.
    #[error("the text in {fields} holds {categories}, which may not be stored (and this caller's writes are not redacted): remove it and send again")]
    SensitiveRefused { fields: String, categories: String },
    /// A single record was requested and the row decision denied it. Answered as "not found"
    /// so that a denied record is indistinguishable from a missing one.
    #[error("record not found")]
    RecordNotFound,
    /// The upstream answered with an error status; its body is never passed through.
    #[error("the CRM answered {0}")]
    UpstreamStatus(u16),
    /// The CRM refused for its rate limit (429). Its retry signals (`Retry-After`, the
    /// vendor's rate-limit headers, the name of the limit) are passed on so that a client's
    /// retry logic works through crmgate; its body is not.
    #[error("{0}")]
    UpstreamRateLimited(RateLimit),
    /// The upstream could not be reached or broke the connection.
    #[error("the CRM could not be reached")]
    UpstreamUnavailable(String),
    /// The upstream did not answer in time.
    #[error("the CRM did not answer within {0} ms")]
    UpstreamTimeout(u64),
    /// The upstream answered with something crmgate cannot filter (not JSON, compressed,
    /// truncated, oversize, partial content): the raw body is never released.
    #[error("the CRM response cannot be filtered: {0}")]
    Unfilterable(String),
    /// The audit record could not be written: no data is released without one.
    #[error("the audit log is unavailable")]
    AuditUnavailable,
    /// A bug or an impossible state; details go to the log, not to the client.
    #[error("internal error")]
    Internal(String),
}

impl RequestError {
    /// The one status table. No catch-all arm: a new variant must be placed here.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::UnknownField(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Credential(_) => StatusCode::UNAUTHORIZED,
            Self::AmbiguousCredentials(_) => StatusCode::BAD_REQUEST,
            Self::BadFraming(_) => StatusCode::BAD_REQUEST,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InactivePrincipal(_) => StatusCode::FORBIDDEN,
            Self::UnknownPurpose(_) => StatusCode::BAD_REQUEST,
            Self::PurposeNotAllowed { .. } => StatusCode::FORBIDDEN,
            Self::NoRoute { .. } => StatusCode::NOT_FOUND,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::HiddenSelection { .. } => StatusCode::FORBIDDEN,
            Self::NotGoverned(_) => StatusCode::NOT_IMPLEMENTED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::WriteRefused { .. } => StatusCode::FORBIDDEN,
            Self::SensitiveRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RecordNotFound => StatusCode::NOT_FOUND,
            Self::UpstreamStatus(code) => upstream_status(*code),
            Self::UpstreamRateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Unfilterable(_) => StatusCode::BAD_GATEWAY,
            Self::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Short machine-readable name: the last part of the problem `type` and the audit reason.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::BadQuery(_) => "bad-query",
            Self::UnknownField(_) => "unknown-field",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::RequestTimeout(_) => "request-timeout",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Credential(c) => c.kind(),
            Self::AmbiguousCredentials(_) => "ambiguous-credentials",
            Self::BadFraming(_) => "bad-framing",
            Self::KeysUnavailable => "jwks-unavailable",
            Self::InactivePrincipal(_) => "inactive-principal",
            Self::UnknownPurpose(_) => "unknown-purpose",
            Self::PurposeNotAllowed { .. } => "purpose-not-allowed",
            Self::NoRoute { .. } => "no-route",
            Self::Forbidden { .. } => "forbidden",
            Self::HiddenSelection { .. } => "hidden-selection",
            Self::NotGoverned(_) => "not-governed",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::WriteRefused { .. } => "write-refused",
            Self::SensitiveRefused { .. } => "sensitive-data-refused",
            Self::RecordNotFound => "record-not-found",
            Self::UpstreamStatus(_) => "upstream-error",
            Self::UpstreamRateLimited(_) => "upstream-rate-limited",
            Self::UpstreamUnavailable(_) => "upstream-unavailable",
            Self::UpstreamTimeout(_) => "upstream-timeout",
            Self::Unfilterable(_) => "unfilterable-response",
            Self::AuditUnavailable => "audit-unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Human-readable title of the problem type.
    pub fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Bad request",
            Self::BadQuery(_) => "Query not governed",
            Self::UnknownField(_) => "Unknown field",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::RequestTimeout(_) => "Request timeout",
            Self::PayloadTooLarge(_) => "Payload too large",
            Self::Unauthenticated(_) => "Authentication required",
            Self::Credential(_) => "Invalid credential",
            Self::AmbiguousCredentials(_) => "More than one credential",
            Self::BadFraming(_) => "Ambiguous request framing",
            Self::KeysUnavailable => "Identity provider unavailable",
            Self::InactivePrincipal(_) => "Account inactive",
            Self::UnknownPurpose(_) => "Unknown purpose",
            Self::PurposeNotAllowed { .. } => "Purpose not allowed",
            Self::NoRoute { .. } => "No such route",
            Self::Forbidden { .. } => "Access denied by policy",
            Self::HiddenSelection { .. } => "Selection by a hidden field",
            Self::NotGoverned(_) => "Not governed",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::WriteRefused { .. } => "Write refused by policy",
            Self::SensitiveRefused { .. } => "Sensitive data refused",
            Self::RecordNotFound => "Record not found",
            Self::UpstreamStatus(_) => "CRM error",
            Self::UpstreamRateLimited(_) => "CRM rate limit reached",
            Self::UpstreamUnavailable(_) => "CRM unavailable",
            Self::UpstreamTimeout(_) => "CRM timeout",
            Self::Unfilterable(_) => "Response cannot be filtered",
            Self::AuditUnavailable => "Audit log unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    /// What the client is told. Internal details (upstream connection errors, bugs) stay in
    /// the log and the audit record; the client gets the generic message.
    pub fn detail(&self) -> String {
        self.to_string()
    }

    /// Extra detail for the operator (log and audit only, never the client).
    pub fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::UpstreamUnavailable(d) | Self::Internal(d) => Some(d),
            _ => None,
        }
    }

    /// The decision the audit record of a request that ended in this error states. A
    /// refusal by policy (of the request, of a write's field groups or its free text) is
    /// `deny` whatever came before; any other error keeps the decision the stages reached
    /// before it (`allowed`: `Some(true)` allow, `Some(false)` deny), or is `error` when
    /// none was reached. No catch-all arm: a new variant must say which it is.
    pub fn audit_decision(&self, allowed: Option<bool>) -> &'static str {
        let reached = match allowed {
            Some(true) => "allow",
            Some(false) => "deny",
            None => "error",
        };
        match self {
            Self::Forbidden { .. } | Self::WriteRefused { .. } | Self::SensitiveRefused { .. } => {
                "deny"
            }
            Self::BadRequest(_)
            | Self::BadQuery(_)
            | Self::UnknownField(_)
            | Self::MethodNotAllowed(_)
            | Self::RequestTimeout(_)
            | Self::PayloadTooLarge(_)
            | Self::Unauthenticated(_)
            | Self::Credential(_)
            | Self::AmbiguousCredentials(_)
            | Self::BadFraming(_)
            | Self::KeysUnavailable
            | Self::InactivePrincipal(_)
            | Self::UnknownPurpose(_)
            | Self::PurposeNotAllowed { .. }
            | Self::NoRoute { .. }
            | Self::HiddenSelection { .. }
            | Self::NotGoverned(_)
            | Self::UnsupportedMediaType(_)
            | Self::RecordNotFound
            | Self::UpstreamStatus(_)
            | Self::UpstreamRateLimited(_)
            | Self::UpstreamUnavailable(_)
            | Self::UpstreamTimeout(_)
            | Self::Unfilterable(_)
            | Self::AuditUnavailable
            | Self::Internal(_) => reached,
        }
    }

    /// The audit record's `detail` for this error: its message and, for the operator, the
    /// internal detail the client is never told.
    pub fn audit_detail(&self) -> String {
        match self.internal_detail() {
            Some(internal) => format!("{self}: {internal}"),
            None => self.to_string(),
        }
    }

    /// The status the CRM answered, where this error is the CRM's answer (for the audit
    /// record: a request the CRM refused says so).
    pub fn upstream_code(&self) -> Option<u16> {
        match self {
            Self::UpstreamStatus(code) => Some(*code),
            Self::UpstreamRateLimited(_) => Some(429),
            _ => None,
        }
    }

    /// Response headers this error carries besides crmgate's own (the CRM's retry
    /// signals on a 429).
    pub fn passed_headers(&self) -> &[(HeaderName, HeaderValue)] {
        match self {
            Self::UpstreamRateLimited(r) => &r.headers,
            _ => &[],
        }
    }

    /// The problem document for this error (RFC 9457). The vendor profile adds the
    /// members of its own error shape, so that a CRM client shows crmgate's message as it
    /// would the vendor's.
    pub fn problem(&self, request_id: &str) -> Problem {
        Problem {
            kind: format!("urn:crmgate:problem:{}", self.kind()),
            title: self.title(),
            status: self.status().as_u16(),
            detail: self.detail(),
            request_id: request_id.to_string(),
            limit: match self {
                Self::UpstreamRateLimited(r) => r.policy.clone(),
                _ => None,
            },
        }
    }
}

/// Why a presented credential was refused. Messages never contain the credential itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not a well-formed JWT (three base64url parts of JSON), or a `crit` header.
    #[error("the bearer token is malformed: {0}")]
    TokenMalformed(String),
    /// `iss` names no configured issuer (or is missing).
    #[error("the token's issuer is not trusted")]
    TokenUnknownIssuer,
    /// The header's `alg` is not one the issuer is configured with (or not the key's).
    #[error("the token's algorithm `{0}` is not accepted for its issuer")]
    TokenAlgorithm(String),
    /// No `kid`, or one the issuer's JWKS does not hold.
    #[error("the token's key id is unknown")]
    TokenUnknownKid,
    /// The signature does not verify with the issuer's key.
    #[error("the token's signature is invalid")]
    TokenBadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the token has expired")]
    TokenExpired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    TokenNotYetValid,
    /// `aud` names none of crmgate's audiences.
    #[error("the token is not meant for crmgate (wrong audience)")]
    TokenWrongAudience,
    /// A required claim (`exp`, `aud`, the user claim, …) is missing or has the wrong type.
    #[error("the token lacks a valid `{0}` claim")]
    TokenMissingClaim(String),
    /// An `Authorization` header crmgate cannot read: another scheme than `Bearer`, an
    /// empty credential, or bytes that are not text.
    #[error("the Authorization header is not usable: {0}")]
    Malformed(&'static str),
    /// An API key that is not configured.
    #[error("unknown api key")]
    UnknownApiKey,
    /// The client certificate names no user under the configured mapping.
    #[error("the client certificate names no user")]
    CertificateUnmapped,
    /// The certificate's OU, or the token's department or roles claim, contradicts the
    /// entities file.
    #[error("the credential's {0} does not match the directory")]
    AttributeMismatch(&'static str),
    /// The credential is valid but names a principal the entities file does not hold
    /// (or a principal of the wrong kind, e.g. a user key naming an app).
    #[error("principal `{0}` is not known")]
    UnknownPrincipal(String),
    /// A token of an issuer that is the directory (`directory = "claims"`) names a
    /// department the entities file does not declare.
    #[error("the token's department `{0}` is not a declared department")]
    UnknownDepartment(String),
}

impl From<CredentialError> for RequestError {
    fn from(e: CredentialError) -> Self {
        RequestError::Credential(e)
    }
}

impl CredentialError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TokenMalformed(_) => "token-malformed",
            Self::TokenUnknownIssuer => "token-unknown-issuer",
            Self::TokenAlgorithm(_) => "token-algorithm-not-allowed",
            Self::TokenUnknownKid => "token-unknown-kid",
            Self::TokenBadSignature => "token-bad-signature",
            Self::TokenExpired => "token-expired",
            Self::TokenNotYetValid => "token-not-yet-valid",
            Self::TokenWrongAudience => "token-wrong-audience",
            Self::TokenMissingClaim(_) => "token-missing-claim",
            Self::Malformed(_) => "credential-malformed",
            Self::UnknownApiKey => "api-key-unknown",
            Self::CertificateUnmapped => "certificate-unmapped",
            Self::AttributeMismatch(_) => "credential-attribute-mismatch",
            Self::UnknownPrincipal(_) => "unknown-principal",
            Self::UnknownDepartment(_) => "unknown-department",
        }
    }
}

/// Upstream error statuses are kept (a 404 stays a 404) when they are client or server
/// errors; anything else from the upstream that is not a success becomes a 502.
fn upstream_status(code: u16) -> StatusCode {
    match StatusCode::from_u16(code) {
        Ok(s) if s.is_client_error() || s.is_server_error() => s,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// An `application/problem+json` body (RFC 9457); the vendor profile serialises it with
/// the members of its own error shape.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub request_id: String,
    /// On a CRM 429: the name of the limit that was reached, as the CRM's 429 body named
    /// it, which its clients read to decide on a retry (the profile says where it goes).
    #[serde(skip)]
    pub limit: Option<String>,
}

/// The CRM's retry signals of a 429, each checked to be what its name says: a number of
/// seconds or an HTTP date, and numbers in the vendor's rate-limit headers. Nothing
/// else of the CRM's answer (headers, body) is passed on.
#[derive(Debug, Clone, Default)]
pub struct RateLimit {
    /// `Retry-After` and the vendor's rate-limit headers, as the CRM sent them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The limit's name from the CRM's 429 body, upper-case letters and `_`.
    pub policy: Option<String>,
}

/// How a vendor spells its rate-limit signals.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitShape {
    /// The prefix of its rate-limit headers (lower case), passed on when numeric.
    pub header_prefix: &'static str,
    /// The member of its 429 body naming the limit that was reached.
    pub name_member: &'static str,
}

impl RateLimit {
    /// The retry signals of a CRM 429: its headers and (a bounded prefix of) its body, as
    /// the vendor spells them.
    pub fn from_answer(headers: &HeaderMap, body: &[u8], shape: &RateLimitShape) -> RateLimit {
        let prefix = shape.header_prefix;
        let mut passed = Vec::new();
        if let Some(v) = headers.get(RETRY_AFTER) {
            if retry_after_is_valid(v.as_bytes()) {
                passed.push((RETRY_AFTER, v.clone()));
            }
        }
        for (name, value) in headers {
            let digits = !value.is_empty()
                && value.len() <= 20
                && value.as_bytes().iter().all(u8::is_ascii_digit);
            if !prefix.is_empty()
                && name.as_str().starts_with(prefix)
                && name.as_str().len() <= 64
                && digits
                && passed.len() < 16
            {
                passed.push((name.clone(), value.clone()));
            }
        }
        // Only the limit's name is taken from the body, and only if it is a plain token:
        // the rest of a CRM error body is never passed on.
        let policy = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get(shape.name_member)?.as_str().map(String::from))
            .filter(|p| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            });
        RateLimit {
            headers: passed,
            policy,
        }
    }

    /// `Retry-After` as passed on, if the CRM sent one.
    pub fn retry_after(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == RETRY_AFTER)
            .and_then(|(_, v)| v.to_str().ok())
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.retry_after() {
            Some(after) if after.bytes().all(|b| b.is_ascii_digit()) => write!(
                f,
                "the CRM's rate limit was reached: retry after {after} seconds"
            ),
            Some(after) => write!(f, "the CRM's rate limit was reached: retry after {after}"),
            None => write!(f, "the CRM's rate limit was reached: retry later"),
        }
    }
}

/// `Retry-After` is delta-seconds or an HTTP date (RFC 9110 10.2.3); anything else is not
/// passed on.
fn retry_after_is_valid(v: &[u8]) -> bool {
    let seconds = !v.is_empty() && v.len() <= 10 && v.iter().all(u8::is_ascii_digit);
    seconds
        || std::str::from_utf8(v)
            .ok()
            .is_some_and(|d| httpdate::parse_http_date(d).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const SHAPE: RateLimitShape = RateLimitShape {
        header_prefix: "x-hubspot-ratelimit-",
        name_member: "policyName",
    };

    /// Every variant with its status and kind: changing a mapping must change this table.
    #[test]
    fn status_table_is_pinned() {
        let table: Vec<(RequestError, u16, &str)> = vec![
            (RequestError::BadRequest("x".into()), 400, "bad-request"),
            (RequestError::BadQuery("x".into()), 400, "bad-query"),
            (RequestError::UnknownField("x".into()), 400, "unknown-field"),
            (
                RequestError::MethodNotAllowed("TRACE".into()),
                405,
                "method-not-allowed",
            ),
            (RequestError::RequestTimeout(10), 408, "request-timeout"),
            (RequestError::PayloadTooLarge(10), 413, "payload-too-large"),
            (
                RequestError::Unauthenticated("x".into()),
                401,
                "unauthenticated",
            ),
            (
                RequestError::AmbiguousCredentials("x".into()),
                400,
                "ambiguous-credentials",
            ),
            (RequestError::BadFraming("x".into()), 400, "bad-framing"),
            (RequestError::KeysUnavailable, 503, "jwks-unavailable"),
            (
                RequestError::InactivePrincipal("g".into()),
                403,
                "inactive-principal",
            ),
            (
                RequestError::UnknownPurpose("x".into()),
                400,
                "unknown-purpose",
            ),
            (
                RequestError::PurposeNotAllowed {
                    purpose: "x".into(),
                    allowed: "y".into(),
                },
                403,
                "purpose-not-allowed",
            ),
            (
                RequestError::NoRoute {
                    method: "GET".into(),
                    path: "/".into(),
                },
                404,
                "no-route",
            ),
            (
                RequestError::Forbidden {
                    action: "list".into(),
                    resource: "contacts".into(),
                    purpose: "p".into(),
                },
                403,
                "forbidden",
            ),
            (
                RequestError::HiddenSelection {
                    groups: "`billing`".into(),
                    purpose: "p".into(),
                },
                403,
                "hidden-selection",
            ),
            (RequestError::NotGoverned("x".into()), 501, "not-governed"),
            (
                RequestError::UnsupportedMediaType("text/plain".into()),
                415,
                "unsupported-media-type",
            ),
            (
                RequestError::WriteRefused {
                    groups: "`billing`".into(),
                    purpose: "p".into(),
                },
                403,
                "write-refused",
            ),
            (
                RequestError::SensitiveRefused {
                    fields: "`wish_text`".into(),
                    categories: "health".into(),
                },
                422,
                "sensitive-data-refused",
            ),
            (RequestError::RecordNotFound, 404, "record-not-found"),
            (RequestError::UpstreamStatus(404), 404, "upstream-error"),
            (RequestError::UpstreamStatus(503), 503, "upstream-error"),
            (RequestError::UpstreamStatus(302), 502, "upstream-error"),
            (
                RequestError::UpstreamRateLimited(RateLimit::default()),
                429,
                "upstream-rate-limited",
            ),
            (
                RequestError::UpstreamUnavailable("x".into()),
                502,
                "upstream-unavailable",
            ),
            (RequestError::UpstreamTimeout(5), 504, "upstream-timeout"),
            (
                RequestError::Unfilterable("x".into()),
                502,
                "unfilterable-response",
            ),
            (RequestError::AuditUnavailable, 503, "audit-unavailable"),
            (RequestError::Internal("x".into()), 500, "internal"),
        ];
        use CredentialError as C;
        let credentials: Vec<(C, &str)> = vec![
            (C::TokenMalformed("x".into()), "token-malformed"),
            (C::TokenUnknownIssuer, "token-unknown-issuer"),
            (
                C::TokenAlgorithm("HS256".into()),
                "token-algorithm-not-allowed",
            ),
            (C::TokenUnknownKid, "token-unknown-kid"),
            (C::TokenBadSignature, "token-bad-signature"),
            (C::TokenExpired, "token-expired"),
            (C::TokenNotYetValid, "token-not-yet-valid"),
            (C::TokenWrongAudience, "token-wrong-audience"),
            (C::TokenMissingClaim("exp".into()), "token-missing-claim"),
            (C::Malformed("x"), "credential-malformed"),
            (C::UnknownApiKey, "api-key-unknown"),
            (C::CertificateUnmapped, "certificate-unmapped"),
            (C::AttributeMismatch("OU"), "credential-attribute-mismatch"),
            (C::UnknownPrincipal("x".into()), "unknown-principal"),
            (C::UnknownDepartment("x".into()), "unknown-department"),
        ];
        let mut table = table;
        for (c, kind) in credentials {
            table.push((RequestError::Credential(c), 401, kind));
        }
        for (err, status, kind) in table {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.kind(), kind, "{err:?}");
            let p = err.problem("rid");
            assert_eq!(p.status, status);
            assert_eq!(p.kind, format!("urn:crmgate:problem:{kind}"));
            assert_eq!(p.request_id, "rid");
        }
    }

    #[test]
    fn a_refusal_by_policy_is_recorded_as_a_denial_whatever_was_decided_before() {
        let forbidden = RequestError::Forbidden {
            action: "read".into(),
            resource: "contacts".into(),
            purpose: "p".into(),
        };
        assert_eq!(forbidden.audit_decision(None), "deny");
        assert_eq!(forbidden.audit_decision(Some(true)), "deny");
        let missing = RequestError::RecordNotFound;
        assert_eq!(missing.audit_decision(None), "error");
        assert_eq!(missing.audit_decision(Some(true)), "allow");
        assert_eq!(missing.audit_decision(Some(false)), "deny");
        let internal = RequestError::Internal("boom".into());
        assert_eq!(internal.audit_detail(), "internal error: boom");
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let err = RequestError::UpstreamUnavailable("connect 10.0.0.7:443 refused".into());
        assert!(!err.problem("r").detail.contains("10.0.0.7"));
        let err = RequestError::Internal("secret state".into());
        assert!(!err.problem("r").detail.contains("secret"));
    }

    #[test]
    fn only_well_formed_retry_signals_are_passed_on() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("10"));
        h.insert(
            "x-hubspot-ratelimit-remaining",
            HeaderValue::from_static("0"),
        );
        h.insert(
            "x-hubspot-ratelimit-max",
            HeaderValue::from_static("110; customer=x@example.org"),
        );
        h.insert("x-internal-host", HeaderValue::from_static("7"));
        let r = RateLimit::from_answer(
            &h,
            br#"{"policyName":"TEN_SECONDLY_ROLLING","message":"record 1001 ..."}"#,
            &SHAPE,
        );
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["retry-after", "x-hubspot-ratelimit-remaining"]);
        assert_eq!(r.policy.as_deref(), Some("TEN_SECONDLY_ROLLING"));
        let e = RequestError::UpstreamRateLimited(r);
        assert_eq!(
            e.problem("r").limit.as_deref(),
            Some("TEN_SECONDLY_ROLLING")
        );
        assert!(e.detail().contains("10 seconds"));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon; id=1001"));
        let r = RateLimit::from_answer(&h, br#"{"policyName":"daily limit of x@y"}"#, &SHAPE);
        assert!(r.retry_after().is_none() && r.policy.is_none());
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert!(RateLimit::from_answer(&h, b"", &SHAPE)
            .retry_after()
            .is_some());
    }
}
