//! Unit tests of Salesforce's writes of one record: strict flat bodies, typed values, the
//! type and lookup the path names, ids, and crmgate's read before a write. A test must
//! never need a network or a CRM: the routes are a small file of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::routes::RouteTable;

const ROUTES: &str = r#"
[resources.Contact]
collection = "contacts"
id_field = "Id"

[resources.Contact.properties]
identity = ["FirstName", "LastName"]
consent = ["Consent_Greetings__c"]
status = ["External_Id__c", "Lifecycle__c"]
business = ["NumberOfEmployees"]

[[routes]]
name = "contact.retrieve"
method = "POST"
path = "/services/data/v62.0/composite/sobjects/Contact"
action = "list"
resource = "Contact"
records = "$[*]"
body = "batch_read"

[[routes]]
name = "contact.create"
method = "POST"
path = "/services/data/v62.0/sobjects/Contact"
action = "write"
resource = "Contact"
records = "$.records[*]"
envelope = ["id", "success", "errors"]
body = "create"

[[routes]]
name = "contact.update"
method = "PATCH"
path = "/services/data/v62.0/sobjects/Contact/{id}"
action = "write"
resource = "Contact"
records = "$.records[*]"
body = "update"

[[routes]]
name = "contact.delete"
method = "DELETE"
path = "/services/data/v62.0/sobjects/Contact/{id}"
action = "write"
resource = "Contact"
records = "$.records[*]"
body = "archive"

[[routes]]
name = "contact.upsert_external_id"
method = "PATCH"
path = "/services/data/v62.0/sobjects/Contact/External_Id__c/{id}"
action = "write"
resource = "Contact"
records = "$.records[*]"
envelope = ["id", "success", "errors", "created"]
body = "upsert"
"#;

fn routes() -> RouteTable {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("routes.toml");
    std::fs::write(&p, ROUTES).unwrap();
    RouteTable::load(&p).unwrap()
}

fn route<'a>(t: &'a RouteTable, name: &str) -> &'a Route {
    t.routes().iter().find(|r| r.name == name).unwrap()
}

const ID15: &str = "003Dm0000001001";

#[test]
fn the_path_names_the_type_and_an_upsert_its_lookup_field() {
    let p = write_path("/services/data/v62.0/sobjects/Contact/External_Id__c/{id}").unwrap();
    assert_eq!(
        p,
        WritePath {
            sobject: "Contact",
            lookup: Some("External_Id__c")
        }
    );
    let p = write_path("/services/data/v62.0/sobjects/Lead/{id}").unwrap();
    assert_eq!(p.lookup, None);
    assert_eq!(p.sobject, "Lead");
    assert!(write_path("/services/data/v62.0/composite/sobjects").is_err());
}

#[test]
fn a_create_is_a_flat_object_of_typed_field_values() {
    let t = routes();
    let body = br#"{"attributes":{"type":"Contact"},"FirstName":"Ada","Consent_Greetings__c":true,"NumberOfEmployees":12,"LastName":null}"#;
    let w = parse(route(&t, "contact.create"), body, None).unwrap();
    let input = &w.inputs[0];
    assert_eq!(input.key, None);
    assert_eq!(input.properties["FirstName"].as_deref(), Some("Ada"));
    assert_eq!(
        input.properties["Consent_Greetings__c"].as_deref(),
        Some("true")
    );
    assert_eq!(input.properties["NumberOfEmployees"].as_deref(), Some("12"));
    assert_eq!(input.properties["LastName"], None);
    assert!(!input.properties.contains_key("attributes"));
    let literal: Vec<&str> = input.literal.iter().map(String::as_str).collect();
    assert_eq!(literal, ["Consent_Greetings__c", "NumberOfEmployees"]);

    // Rebuilt: the literals as literals, the text as text, cleared as null.
    let out = Outgoing {
        id: None,
        key: None,
        properties: &input.properties,
        literal: &input.literal,
        associations: None,
        trace: None,
    };
    let sent = upstream_body(route(&t, "contact.create").body, &[out])
        .unwrap()
        .unwrap();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"FirstName":"Ada","Consent_Greetings__c":true,"NumberOfEmployees":12,"LastName":null})
    );
}

#[test]
fn a_body_that_is_not_one_flat_record_is_refused() {
    let t = routes();
    let create = route(&t, "contact.create");
    for body in [
        &br#"{"attributes":{"type":"Lead"},"FirstName":"Ada"}"#[..],
        br#"{"attributes":{"type":"Contact","extra":1}}"#,
        br#"{"FirstName":"Ada","FirstName":"Eve"}"#,
        br#"{"Account":{"Name":"x"}}"#,
        br#"{"Tags":["a"]}"#,
        br#"{"First Name":"Ada"}"#,
        br#"[{"FirstName":"Ada"}]"#,
        b"not json",
    ] {
        let e = parse(create, body, None).unwrap_err();
        assert_eq!(
            e.status().as_u16(),
            400,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn an_update_and_a_delete_name_the_record_by_its_eighteen_character_id() {
    let t = routes();
    let w = parse(
        route(&t, "contact.update"),
        br#"{"LastName":"B"}"#,
        Some(ID15),
    )
    .unwrap();
    assert_eq!(w.inputs[0].key.as_deref(), Some("003Dm0000001001IAA"));
    let w = parse(route(&t, "contact.delete"), b"", Some("003Dm0000001001IAA")).unwrap();
    assert_eq!(w.inputs[0].key.as_deref(), Some("003Dm0000001001IAA"));
    assert!(w.inputs[0].properties.is_empty());
    assert!(upstream_body(route(&t, "contact.delete").body, &[])
        .unwrap()
        .is_none());
    // What is no id names no record: answered like a missing one.
    let e = parse(route(&t, "contact.update"), b"{}", Some("1001")).unwrap_err();
    assert_eq!(e.kind(), "record-not-found");
    let e = parse(route(&t, "contact.delete"), b"{}", Some(ID15)).unwrap_err();
    assert_eq!(e.status().as_u16(), 400, "a delete takes no body");
}

#[test]
fn an_upsert_looks_its_record_up_by_the_field_the_path_names() {
    let t = routes();
    let upsert = route(&t, "contact.upsert_external_id");
    let w = parse(upsert, br#"{"LastName":"Claus"}"#, Some("C-1001")).unwrap();
    assert_eq!(w.lookup.as_deref(), Some("External_Id__c"));
    assert_eq!(w.inputs[0].key.as_deref(), Some("C-1001"));
    let e = parse(upsert, br#"{"External_Id__c":"C-2"}"#, Some("C-1001")).unwrap_err();
    assert_eq!(e.status().as_u16(), 400);
}

#[test]
fn the_read_before_a_write_is_a_query_by_id_or_by_the_lookup_field() {
    let props = vec!["Lifecycle__c".to_string(), "Id".to_string()];
    let r = record_read(
        "/services/data/v62.0/composite/sobjects/Contact",
        &["003Dm0000001001IAA".to_string()],
        None,
        &props,
    )
    .unwrap();
    assert_eq!(r.method, http::Method::GET);
    let (path, query) = r.path_and_query.split_once('?').unwrap();
    assert_eq!(path, "/services/data/v62.0/query");
    let q: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        q,
        [(
            "q".to_string(),
            "SELECT Id, Lifecycle__c FROM Contact WHERE Id IN ('003Dm0000001001IAA')".to_string()
        )]
    );
    let r = record_read(
        "/services/data/v62.0/composite/sobjects/Contact",
        &["O'Brien\\".to_string()],
        Some("External_Id__c"),
        &props,
    )
    .unwrap();
    let q: Vec<(String, String)> =
        form_urlencoded::parse(r.path_and_query.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert!(
        q[0].1.ends_with(r"WHERE External_Id__c IN ('O\'Brien\\')"),
        "{}",
        q[0].1
    );
    let records = read_records(
        br#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact"},"Id":"003Dm0000001001IAA"}]}"#,
    )
    .unwrap();
    assert_eq!(records[0]["Id"], "003Dm0000001001IAA");
    assert!(read_records(br#"[{"errorCode":"NOT_FOUND"}]"#).is_err());
}
