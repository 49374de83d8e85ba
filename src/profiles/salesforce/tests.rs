//! Tests of the Salesforce profile's pieces: ids, the error shape, API versions. Test code
//! only: it must never be compiled into the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;

use super::{errors, ids, is_api_version};
use crate::error::RequestError;

#[test]
fn a_fifteen_character_id_gets_its_case_suffix() {
    assert_eq!(
        ids::to_18("003Dm0000001001").as_deref(),
        Some("003Dm0000001001IAA")
    );
    assert_eq!(
        ids::to_18("00QDm0000001042").as_deref(),
        Some("00QDm0000001042MAA")
    );
    // Salesforce's own documented example.
    assert_eq!(
        ids::to_18("a0D30000001n7Pi").as_deref(),
        Some("a0D30000001n7PiEAI")
    );
    // The 18-character form is kept (its suffix read without case) ...
    assert_eq!(
        ids::to_18("003Dm0000001001iaa").as_deref(),
        Some("003Dm0000001001IAA")
    );
    // ... unless the suffix contradicts the case of the 15.
    assert_eq!(ids::to_18("003dm0000001001IAA"), None);
    for bad in [
        "",
        "003Dm000000100",
        "003Dm0000001001I",
        "003Dm00000010'1",
        "003Dm0000001001IAAB",
    ] {
        assert_eq!(ids::to_18(bad), None, "{bad}");
    }
}

#[test]
fn an_error_is_a_salesforce_error_array_and_a_problem() {
    let cases = [
        (RequestError::RecordNotFound, 404, "NOT_FOUND"),
        (
            RequestError::HiddenSelection {
                groups: "`billing`".into(),
                purpose: "p".into(),
            },
            403,
            "INSUFFICIENT_ACCESS_OR_READONLY",
        ),
        (RequestError::BadQuery("x".into()), 400, "MALFORMED_QUERY"),
        (RequestError::UnknownField("x".into()), 400, "INVALID_FIELD"),
        (
            RequestError::Unauthenticated("x".into()),
            401,
            "INVALID_SESSION_ID",
        ),
        (
            RequestError::UpstreamRateLimited(Default::default()),
            429,
            "REQUEST_LIMIT_EXCEEDED",
        ),
    ];
    for (e, status, code) in cases {
        let v: Value = serde_json::from_slice(&errors::body(&e, "rid")).unwrap();
        let list = v.as_array().expect("an array");
        assert_eq!(list.len(), 1);
        let o = &list[0];
        assert_eq!(o["errorCode"], code);
        assert_eq!(o["message"], o["detail"]);
        assert_eq!(o["status"], status);
        assert_eq!(o["request_id"], "rid");
        assert!(o["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:crmgate:problem:"));
    }
}

#[test]
fn api_versions_are_spelt_like_salesforce_spells_them() {
    for ok in ["v62.0", "v9.0", "v100.1"] {
        assert!(is_api_version(ok), "{ok}");
    }
    for bad in ["62.0", "v62", "v62.00", "v.0", "vx.0", "v62.0/", ""] {
        assert!(!is_api_version(bad), "{bad}");
    }
}
