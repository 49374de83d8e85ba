//! Salesforce's error shape: a JSON array of one error object with Salesforce's members
//! (`message`, `errorCode`, and `fields` where the error names fields) and, in the same
//! object, crmgate's problem (RFC 9457: `type`, `title`, `status`, `detail`, `request_id`),
//! so that Salesforce's clients raise crmgate's refusal as their own exception types. This
//! module must never put upstream data into a body: it only respells crmgate's own problem.

use serde::Serialize;

use crate::error::{Problem, RateLimitShape, RequestError};

/// Salesforce's rate-limit signals: it announces usage in `Sforce-Limit-Info`
/// (`api-usage=25/5000`, not a number: never passed on) and names the limit in its error
/// body's `errorCode`; only `Retry-After` is passed on.
pub(super) const RATE_LIMIT: RateLimitShape = RateLimitShape {
    header_prefix: "",
    name_member: "errorCode",
};

/// The content type of crmgate's error answers: Salesforce answers errors as
/// `application/json`, and its clients parse only that.
pub(super) const CONTENT_TYPE: &str = "application/json";

/// Salesforce's `errorCode` for one of crmgate's errors. No catch-all arm: a new error
/// must be given its code.
pub(super) fn error_code(e: &RequestError) -> &'static str {
    match e {
        RequestError::BadQuery(_) => "MALFORMED_QUERY",
        RequestError::UnknownField(_) => "INVALID_FIELD",
        RequestError::BadRequest(_) | RequestError::BadFraming(_) => "INVALID_INPUT",
        RequestError::UnknownPurpose(_) => "INVALID_INPUT",
        RequestError::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
        RequestError::RequestTimeout(_) | RequestError::UpstreamTimeout(_) => {
            "REQUEST_RUNNING_TOO_LONG"
        }
        RequestError::PayloadTooLarge(_) => "REQUEST_ENTITY_TOO_LARGE",
        RequestError::Unauthenticated(_) | RequestError::Credential(_) => "INVALID_SESSION_ID",
        RequestError::AmbiguousCredentials(_) => "INVALID_AUTH_HEADER",
        RequestError::InactivePrincipal(_) => "INACTIVE_OWNER_OR_USER",
        RequestError::PurposeNotAllowed { .. }
        | RequestError::Forbidden { .. }
        | RequestError::HiddenSelection { .. }
        | RequestError::WriteRefused { .. } => "INSUFFICIENT_ACCESS_OR_READONLY",
        RequestError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
        RequestError::NotGoverned(_) => "NOT_IMPLEMENTED",
        RequestError::SensitiveRefused { .. } => "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        RequestError::RecordNotFound | RequestError::NoRoute { .. } => "NOT_FOUND",
        RequestError::UpstreamStatus(code) => match code {
            401 => "INVALID_SESSION_ID",
            403 => "INSUFFICIENT_ACCESS_OR_READONLY",
            404 => "NOT_FOUND",
            400..=499 => "INVALID_INPUT",
            _ => "SERVER_UNAVAILABLE",
        },
        RequestError::UpstreamRateLimited(_) => "REQUEST_LIMIT_EXCEEDED",
        RequestError::KeysUnavailable
        | RequestError::UpstreamUnavailable(_)
        | RequestError::AuditUnavailable => "SERVER_UNAVAILABLE",
        RequestError::Unfilterable(_) | RequestError::Internal(_) => "UNKNOWN_EXCEPTION",
    }
}

/// One Salesforce error object that is also crmgate's problem.
#[derive(Serialize)]
struct SalesforceProblem<'a> {
    /// Salesforce `message`: the same text as `detail`.
    message: &'a str,
    #[serde(rename = "errorCode")]
    error_code: &'static str,
    /// The fields the error is about, where it names some.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    fields: &'a [String],
    #[serde(flatten)]
    problem: &'a Problem,
}

/// The error body of `e` for request `request_id`: `[{message, errorCode, …problem}]`.
pub(super) fn body(e: &RequestError, request_id: &str) -> Vec<u8> {
    let p = e.problem(request_id);
    let doc = [SalesforceProblem {
        message: &p.detail,
        error_code: error_code(e),
        fields: &[],
        problem: &p,
    }];
    serde_json::to_vec(&doc).unwrap_or_default()
}
