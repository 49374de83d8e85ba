//! Tests of sObject Collections' pieces: every input answered in its place. Test code only:
//! it must never be compiled into the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{json, Value};

use super::*;

#[test]
fn every_input_is_answered_in_its_place() {
    let refused = refused(
        &RequestError::WriteRefused {
            groups: "`billing`".into(),
            purpose: "p".into(),
        },
        1,
        Some("003Dm0000001001IAA"),
    );
    let missing = input_entry(InputEntry::NotFound, 3, Some("003Dm0000001002IAA"));
    let upstream = json!({"results": [
        {"id": "003Dm0000001003IAA", "success": true, "errors": []},
        {"id": "003Dm0000001004IAA", "success": true, "errors": []},
    ]});
    let (answer, status) = batch_answer(upstream, vec![missing, refused]).unwrap();
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "003Dm0000001003IAA",
            "003Dm0000001001IAA",
            "003Dm0000001004IAA",
            "003Dm0000001002IAA"
        ]
    );
    assert_eq!(
        answer[3]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert!(answer[1].get(INDEX).is_none());
}

#[test]
fn the_crms_messages_about_a_record_are_not_passed_on() {
    let body = json!([{"success": false, "errors": [{
        "statusCode": "DUPLICATE_VALUE",
        "message": "duplicate value found: External_Id__c duplicates value on record with id: 003Dm0000009999",
        "fields": ["External_Id__c"]
    }]}]);
    let out: Value =
        serde_json::from_slice(&complete_answer(body.to_string().as_bytes()).unwrap()).unwrap();
    let e = &out["results"][0]["errors"][0];
    assert_eq!(e["statusCode"], "DUPLICATE_VALUE");
    assert_eq!(e["fields"], json!(["External_Id__c"]));
    assert!(!e["message"].as_str().unwrap().contains("003"));
}
