//! HubSpot's error shape: crmgate's problem body (RFC 9457) with, in the same object, the
//! fields of HubSpot's published `Error` schema (`message`, `correlationId`, `category`,
//! and on a 429 `policyName`), so that a HubSpot client shows crmgate's message as it would
//! the vendor's. This module must never put upstream data into a body: it only respells
//! crmgate's own problem.

use http::StatusCode;
use serde::Serialize;

use crate::error::{Problem, RateLimitShape, RequestError};

/// HubSpot's rate-limit signals: its headers (`X-HubSpot-RateLimit-Remaining`, …) and
/// the limit's name in a 429's body (`policyName`).
pub(super) const RATE_LIMIT: RateLimitShape = RateLimitShape {
    header_prefix: "x-hubspot-ratelimit-",
    name_member: "policyName",
};

/// HubSpot's error category for a status, as its own API answers it.
pub(super) fn category(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "INVALID_AUTHENTICATION",
        403 => "MISSING_SCOPES",
        404 => "OBJECT_NOT_FOUND",
        409 => "CONFLICT",
        429 => "RATE_LIMITS",
        400..=499 => "VALIDATION_ERROR",
        _ => "INTERNAL_ERROR",
    }
}

/// An `application/problem+json` body (RFC 9457) that is also a HubSpot `Error`.
#[derive(Serialize)]
struct HubSpotProblem<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    /// HubSpot `Error.message`: the same text as `detail`.
    message: &'a str,
    /// HubSpot `Error.correlationId`: the request id, as a hyphenated UUID.
    #[serde(rename = "correlationId")]
    correlation_id: String,
    /// HubSpot `Error.category`.
    category: &'static str,
    /// On a CRM 429: the name of the limit that was reached, as HubSpot's 429 body names it
    /// (`TEN_SECONDLY_ROLLING`, `DAILY`), which HubSpot's clients read to decide on a retry.
    #[serde(rename = "policyName", skip_serializing_if = "Option::is_none")]
    policy_name: Option<&'a str>,
}

/// The error body of `e` for request `request_id`.
pub(super) fn body(e: &RequestError, request_id: &str) -> Vec<u8> {
    let p = e.problem(request_id);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let doc = HubSpotProblem {
        problem: &p,
        message: &p.detail,
        // HubSpot's correlation ids are UUIDs in hyphenated form.
        correlation_id: uuid::Uuid::try_parse(request_id)
            .map_or_else(|_| request_id.to_string(), |u| u.hyphenated().to_string()),
        category: category(status),
        policy_name: p.limit.as_deref(),
    };
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_error_body_is_a_problem_and_a_hubspot_error() {
        let e = RequestError::RecordNotFound;
        let v: serde_json::Value = serde_json::from_slice(&body(&e, "r")).unwrap();
        assert_eq!(v["status"], 404);
        assert_eq!(v["category"], "OBJECT_NOT_FOUND");
        assert_eq!(v["message"], v["detail"]);
        assert_eq!(v["correlationId"], "r");
        assert!(v.get("policyName").is_none());
    }
}
