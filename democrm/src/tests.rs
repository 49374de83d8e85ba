//! End-to-end tests of the demo CRM over a real socket on 127.0.0.1:0, with a
//! minimal HTTP/1.1 client written on a raw `TcpStream`.
//!
//! Tests of the demo CRM itself; they must never depend on crmgate's filtering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{serve, DemoCrm};

struct Server {
    crm: Arc<DemoCrm>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(crm: DemoCrm) -> Server {
    let crm = Arc::new(crm);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(Arc::clone(&crm), listener, async {
        let _ = stopped.await;
    }));
    Server {
        crm,
        addr,
        stop: Some(stop),
        task,
    }
}

struct Answer {
    status: u16,
    head: String,
    json: Value,
}

/// Writes one request on `stream` and reads exactly one response (by Content-Length).
async fn exchange(
    stream: &mut TcpStream,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut request = format!("{method} {target} HTTP/1.1\r\nhost: crm.test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str("content-type: application/json\r\n");
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).await.unwrap();

    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0_u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed before the response head");
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let status: u16 = head[9..12].parse().unwrap();
    if status == 204 {
        // No body and no Content-Length, as HTTP requires.
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{head}"
        );
        return Answer {
            status,
            head,
            json: Value::Null,
        };
    }
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("content-length");
    while buffer.len() < head_end + length {
        let mut chunk = [0_u8; 8192];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed inside the body");
        buffer.extend_from_slice(&chunk[..read]);
    }
    let json = serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap();
    Answer { status, head, json }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(&mut stream, method, target, headers, body).await
    }

    async fn get(&self, target: &str) -> Answer {
        self.call("GET", target, &[], None).await
    }

    async fn post(&self, target: &str, body: &str) -> Answer {
        self.call("POST", target, &[], Some(body)).await
    }
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn property_names(record: &Value) -> Vec<String> {
    record["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn assert_hubspot_error(answer: &Answer, status: u16, category: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert!(answer.head.contains("content-type: application/json"));
    assert_eq!(answer.json["status"], "error");
    assert_eq!(answer.json["category"], category);
    assert!(answer.json["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    let correlation = answer.json["correlationId"].as_str().unwrap();
    let groups: Vec<usize> = correlation.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{correlation}");
}

#[tokio::test]
async fn list_pages_through_every_contact_and_caps_the_limit() {
    let server = start(DemoCrm::seeded()).await;
    let first = server.get("/crm/v3/objects/contacts").await;
    assert_eq!(first.status, 200);
    assert!(first.head.contains("content-type: application/json"));
    assert_eq!(ids(&first).len(), 10);
    assert_eq!(first.json["paging"]["next"]["after"], "10");
    assert_eq!(first.json["paging"]["next"]["link"], "?after=10");

    let mut seen = Vec::new();
    let mut after = "0".to_string();
    loop {
        let page = server
            .get(&format!("/crm/v3/objects/contacts?limit=30&after={after}"))
            .await;
        assert_eq!(page.status, 200);
        seen.extend(ids(&page));
        match page.json["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_string(),
            None => {
                assert!(page.json.get("paging").is_none());
                break;
            }
        }
    }
    assert_eq!(seen.len(), server.crm.contact_count());
    assert_eq!(seen.len(), 68);
    assert_eq!(seen.first().unwrap(), "1001");
    assert_eq!(seen.last().unwrap(), "1068");

    // Above the maximum the limit is capped, not refused.
    let capped = server.get("/crm/v3/objects/contacts?limit=500").await;
    assert_eq!(capped.status, 200);
    assert_eq!(ids(&capped).len(), 68);
    assert!(capped.json.get("paging").is_none());
    let companies = server.get("/crm/v3/objects/companies?limit=100").await;
    assert_eq!(ids(&companies).len(), 15);

    for bad in ["limit=abc", "limit=0", "limit=-5", "after=xyz"] {
        let refused = server.get(&format!("/crm/v3/objects/contacts?{bad}")).await;
        assert_hubspot_error(&refused, 400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn properties_repeat_split_at_commas_and_default() {
    let server = start(DemoCrm::seeded()).await;
    let answer = server
        .get("/crm/v3/objects/contacts/1031?properties=email,wish_text&properties=billing_iban&properties=no_such_property")
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        property_names(&answer.json),
        [
            "billing_iban",
            "createdate",
            "email",
            "hs_object_id",
            "lastmodifieddate",
            "wish_text"
        ]
    );
    // Known but empty is null; every value is a string otherwise.
    assert_eq!(answer.json["properties"]["billing_iban"], Value::Null);
    assert!(answer.json["properties"]["wish_text"]
        .as_str()
        .unwrap()
        .contains("Diabetes-Diagnose"));
    assert_eq!(answer.json["properties"]["hs_object_id"], "1031");
    assert!(answer.json.get("propertiesWithHistory").is_none());
    assert!(answer.json.get("associations").is_none());

    let defaults = server.get("/crm/v3/objects/contacts/1001").await;
    assert_eq!(
        property_names(&defaults.json),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
    assert_eq!(defaults.json["properties"]["firstname"], "Ebenezer");
    assert_eq!(defaults.json["archived"], false);
    assert!(defaults.json.get("archivedAt").is_none());
    assert_eq!(
        defaults.json["createdAt"],
        defaults.json["properties"]["createdate"]
    );
    assert_eq!(
        defaults.json["updatedAt"],
        defaults.json["properties"]["lastmodifieddate"]
    );

    let company = server
        .get("/crm/v3/objects/companies/2004?properties=founded_date")
        .await;
    assert_eq!(
        property_names(&company.json),
        [
            "createdate",
            "founded_date",
            "hs_lastmodifieddate",
            "hs_object_id"
        ]
    );
    let company_defaults = server.get("/crm/v3/objects/companies/2001").await;
    assert_eq!(
        property_names(&company_defaults.json),
        [
            "createdate",
            "domain",
            "hs_lastmodifieddate",
            "hs_object_id",
            "name"
        ]
    );
}

#[tokio::test]
async fn history_is_newest_first_and_ends_in_the_current_value() {
    let server = start(DemoCrm::seeded()).await;
    let answer = server
        .get("/crm/v3/objects/contacts/1001?propertiesWithHistory=email,lifecyclestage&propertiesWithHistory=unknown")
        .await;
    let history = answer.json["propertiesWithHistory"].as_object().unwrap();
    assert_eq!(
        history.keys().collect::<Vec<_>>(),
        ["email", "lifecyclestage"]
    );
    let email = history["email"].as_array().unwrap();
    assert_eq!(email.len(), 2);
    assert_eq!(email[0]["value"], "ebenezer.scrooge@scrooge-marley.example");
    assert_eq!(email[1]["value"], "e.scrooge@counting-house.example");
    assert!(email[0]["timestamp"].as_str() > email[1]["timestamp"].as_str());
    assert_eq!(email[0]["sourceType"], "CRM_UI");
    assert_eq!(email[0]["sourceId"], Value::Null);
    assert!(email[0]["updatedByUserId"].is_u64());
    let stages: Vec<&str> = history["lifecyclestage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["customer", "lead"]);
    // Without `properties`, the default properties still come along.
    assert_eq!(answer.json["properties"]["firstname"], "Ebenezer");
    // A form-entered prospect's values come from the form.
    let prospect = server
        .get("/crm/v3/objects/contacts/1032?propertiesWithHistory=wish_text,date_of_birth")
        .await;
    assert_eq!(
        prospect.json["propertiesWithHistory"]["wish_text"][0]["sourceType"],
        "FORM"
    );
    assert_eq!(
        prospect.json["propertiesWithHistory"]["date_of_birth"],
        Value::Array(Vec::new())
    );
}

#[tokio::test]
async fn single_records_by_id_email_and_with_associations() {
    let server = start(DemoCrm::seeded()).await;
    let missing = server.get("/crm/v3/objects/contacts/9999").await;
    assert_hubspot_error(&missing, 404, "OBJECT_NOT_FOUND");
    assert_eq!(
        missing.json["message"],
        "Object not found. objectId are usually numeric."
    );

    let by_email = server
        .get("/crm/v3/objects/contacts/Ebenezer.Scrooge%40scrooge-marley.example?idProperty=email")
        .await;
    assert_eq!(by_email.status, 200);
    assert_eq!(by_email.json["id"], "1001");

    let with_company = server
        .get("/crm/v3/objects/contacts/1001?associations=companies")
        .await;
    assert_eq!(
        with_company.json["associations"]["companies"]["results"][0],
        serde_json::json!({"id": "2001", "type": "contact_to_company"})
    );
    let prospect = server
        .get("/crm/v3/objects/contacts/1031?associations=companies")
        .await;
    assert!(prospect.json.get("associations").is_none());
    let company = server
        .get("/crm/v3/objects/companies/2001?associations=contacts")
        .await;
    assert_eq!(
        company.json["associations"]["contacts"]["results"][0]["id"],
        "1001"
    );
    let partners = server
        .get("/crm/v3/objects/contacts?limit=100&associations=company")
        .await;
    let associated = partners.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("associations").is_some())
        .count();
    assert_eq!(associated, 15, "1001, 1005 and the 13 partner contacts");
}

#[tokio::test]
async fn search_filters_groups_sorts_and_pages() {
    let server = start(DemoCrm::seeded()).await;
    let path = "/crm/v3/objects/contacts/search";
    let customers = server
        .post(
            path,
            r#"{"filterGroups":[{"filters":[{"propertyName":"lifecyclestage","operator":"EQ","value":"customer"}]}],"properties":["email"],"limit":10,"after":"0"}"#,
        )
        .await;
    assert_eq!(customers.status, 200);
    assert_eq!(customers.json["total"], 30);
    assert_eq!(ids(&customers).len(), 10);
    assert_eq!(customers.json["paging"]["next"]["after"], "10");
    assert_eq!(
        property_names(&customers.json["results"][0]),
        ["createdate", "email", "hs_object_id", "lastmodifieddate"]
    );

    let diabetes = server
        .post(
            path,
            r#"{"filterGroups":[{"filters":[{"propertyName":"wish_text","operator":"CONTAINS_TOKEN","value":"diabetes"}]}]}"#,
        )
        .await;
    assert_eq!(diabetes.json["total"], 1);
    assert_eq!(ids(&diabetes), ["1031"]);

    let billing = server
        .post(
            path,
            r#"{"filterGroups":[{"filters":[{"propertyName":"billing_iban","operator":"HAS_PROPERTY"}]}],"limit":100}"#,
        )
        .await;
    assert_eq!(billing.json["total"], 30, "archived 1069 is not searched");
    assert!(billing.json.get("paging").is_none());

    // Groups OR, filters AND.
    let either = server
        .post(
            path,
            r#"{"filterGroups":[
                {"filters":[{"propertyName":"lifecyclestage","operator":"EQ","value":"subscriber"}]},
                {"filters":[{"propertyName":"lifecyclestage","operator":"EQ","value":"other"},
                            {"propertyName":"country","operator":"EQ","value":"germany"}]}]}"#,
        )
        .await;
    assert_eq!(either.json["total"], 4 + 4);

    let cratchits = server
        .post(
            path,
            r#"{"query":"cratchit","sorts":[{"propertyName":"firstname","direction":"DESCENDING"}]}"#,
        )
        .await;
    assert_eq!(ids(&cratchits), ["1023", "1029", "1003"]);

    let old = server
        .post(
            path,
            r#"{"filterGroups":[{"filters":[{"propertyName":"last_activity_date","operator":"LT","value":"2023-11-29"}]}],"limit":100}"#,
        )
        .await;
    assert_eq!(
        ids(&old),
        ["1005", "1015", "1026", "1029", "1046", "1048", "1053", "1054", "1061"]
    );

    let malformed = server.post(path, r#"{"filterGroups": ["#).await;
    assert_hubspot_error(&malformed, 400, "VALIDATION_ERROR");
    let bad_operator = server
        .post(
            path,
            r#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"LIKE","value":"x"}]}]}"#,
        )
        .await;
    assert_hubspot_error(&bad_operator, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_read_reports_unknown_ids() {
    let server = start(DemoCrm::seeded()).await;
    let path = "/crm/v3/objects/contacts/batch/read";
    let partial = server
        .post(
            path,
            r#"{"properties":["consent_greetings"],"propertiesWithHistory":["lifecyclestage"],"inputs":[{"id":"1001"},{"id":"9999"},{"id":"1002"},{"id":"1001"}]}"#,
        )
        .await;
    assert_eq!(partial.status, 207);
    assert_eq!(partial.json["status"], "COMPLETE");
    assert_eq!(ids(&partial), ["1001", "1002"]);
    assert_eq!(partial.json["numErrors"], 1);
    assert_eq!(partial.json["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        partial.json["errors"][0]["context"]["ids"],
        serde_json::json!(["9999"])
    );
    let results = &partial.json["results"];
    assert_eq!(results[0]["properties"]["consent_greetings"], "true");
    assert_eq!(results[1]["properties"]["consent_greetings"], "false");
    assert!(results[0]["propertiesWithHistory"]["lifecyclestage"].is_array());
    assert!(partial.json["startedAt"].as_str().unwrap().ends_with('Z'));
    assert!(partial.json["completedAt"].is_string());

    let complete = server
        .post(
            "/crm/v3/objects/companies/batch/read",
            r#"{"idProperty":"domain","inputs":[{"id":"sleighway.example"}],"properties":[],"propertiesWithHistory":[]}"#,
        )
        .await;
    assert_eq!(complete.status, 200);
    assert_eq!(ids(&complete), ["2007"]);
    assert!(complete.json.get("errors").is_none());

    let malformed = server.post(path, "inputs: 1001").await;
    assert_hubspot_error(&malformed, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn archived_contacts_show_only_when_asked_for() {
    let server = start(DemoCrm::seeded()).await;
    let archived = server.get("/crm/v3/objects/contacts?archived=true").await;
    assert_eq!(ids(&archived), ["1069", "1070"]);
    for record in archived.json["results"].as_array().unwrap() {
        assert_eq!(record["archived"], true);
        assert!(record["archivedAt"].as_str().unwrap() > record["updatedAt"].as_str().unwrap());
    }
    let hidden = server.get("/crm/v3/objects/contacts/1069").await;
    assert_eq!(hidden.status, 404);
    let shown = server
        .get("/crm/v3/objects/contacts/1069?archived=true")
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json["properties"]["lastname"], "Marley");
    let active_by_archived_flag = server
        .get("/crm/v3/objects/contacts/1001?archived=true")
        .await;
    assert_eq!(active_by_archived_flag.status, 404);
}

#[tokio::test]
async fn required_token_refuses_and_records_every_attempt() {
    let server = start(DemoCrm::seeded().with_required_token("vendor-token")).await;
    let path = "/crm/v3/objects/contacts/1001";
    let missing = server.get(path).await;
    assert_hubspot_error(&missing, 401, "INVALID_AUTHENTICATION");
    let wrong = server
        .call("GET", path, &[("authorization", "Bearer other")], None)
        .await;
    assert_hubspot_error(&wrong, 401, "INVALID_AUTHENTICATION");
    let unknown_path = server.get("/nowhere").await;
    assert_eq!(unknown_path.status, 401);
    let right = server
        .call(
            "GET",
            path,
            &[("authorization", "Bearer vendor-token")],
            None,
        )
        .await;
    assert_eq!(right.status, 200);

    let received = server.crm.received();
    assert_eq!(received.len(), 4);
    let last = received.last().unwrap();
    assert!(last.headers.contains(&(
        "authorization".to_string(),
        "Bearer vendor-token".to_string()
    )));
    assert!(!format!("{:?}", server.crm).contains("vendor-token"));
}

#[tokio::test]
async fn extra_property_appears_everywhere() {
    let crm = DemoCrm::seeded().with_extra_property("hs_vendor_new_field", "surprise");
    let server = start(crm).await;
    let contact = server
        .get("/crm/v3/objects/contacts/1001?properties=email&propertiesWithHistory=email")
        .await;
    assert_eq!(
        contact.json["properties"]["hs_vendor_new_field"],
        "surprise"
    );
    assert_eq!(
        contact.json["propertiesWithHistory"]["hs_vendor_new_field"][0]["value"],
        "surprise"
    );
    let plain = server.get("/crm/v3/objects/companies?limit=2").await;
    for record in plain.json["results"].as_array().unwrap() {
        assert_eq!(record["properties"]["hs_vendor_new_field"], "surprise");
        assert!(record.get("propertiesWithHistory").is_none());
    }
    let searched = server
        .post(
            "/crm/v3/objects/contacts/search",
            r#"{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"IN","values":["1040","1041"]}]}]}"#,
        )
        .await;
    assert_eq!(ids(&searched), ["1040", "1041"]);
    assert_eq!(
        searched.json["results"][1]["properties"]["hs_vendor_new_field"],
        "surprise"
    );
    let batch = server
        .post(
            "/crm/v3/objects/contacts/batch/read",
            r#"{"inputs":[{"id":1002}],"properties":["email"]}"#,
        )
        .await;
    assert_eq!(
        batch.json["results"][0]["properties"]["hs_vendor_new_field"],
        "surprise"
    );
    let record = server.crm.record_json("contacts", "1069").unwrap();
    assert_eq!(record["properties"]["hs_vendor_new_field"], "surprise");
}

#[tokio::test]
async fn recorder_sees_method_path_headers_and_body() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"query":"stahlbaum"}"#;
    let answer = server
        .call(
            "POST",
            "/crm/v3/objects/contacts/search?hapikey=none",
            &[("x-request-id", "abc-1")],
            Some(body),
        )
        .await;
    assert_eq!(answer.json["total"], 2);
    let unrouted = server
        .call("PUT", "/crm/v3/objects/contacts/1001", &[], None)
        .await;
    assert_hubspot_error(&unrouted, 404, "RESOURCE_NOT_FOUND");

    let received = server.crm.received();
    assert_eq!(received.len(), 2);
    let search = &received[0];
    assert_eq!(search.method, "POST");
    assert_eq!(
        search.path_and_query,
        "/crm/v3/objects/contacts/search?hapikey=none"
    );
    assert_eq!(search.body, body.as_bytes());
    assert!(search
        .headers
        .contains(&("x-request-id".to_string(), "abc-1".to_string())));
    assert_eq!(received[1].method, "PUT");
    assert!(received[1].body.is_empty());
    server.crm.clear_received();
    assert!(server.crm.received().is_empty());
}

#[tokio::test]
async fn record_json_holds_every_property() {
    let crm = DemoCrm::seeded();
    let scrooge = crm.record_json("contacts", "1001").unwrap();
    let properties = scrooge["properties"].as_object().unwrap();
    // Every built-in property, filled; the custom properties (crmgate's provenance stamp,
    // the deletion concept's answer date and holds) are empty on 1001.
    let custom_properties = [
        "data_source_at",
        "data_source_basis",
        "wish_answered_at",
        "legal_hold",
        "dispute_open",
    ];
    assert_eq!(
        properties.len(),
        super::model::CONTACT_PROPERTIES.len() + custom_properties.len()
    );
    for (name, value) in properties {
        let custom = custom_properties.contains(&name.as_str());
        assert_eq!(value.is_string(), !custom, "{name}");
    }
    assert_eq!(
        properties["photo_url"],
        "https://crm.northpole.example/photos/1001.jpg"
    );
    assert_eq!(properties["billing_iban"], "GB08 NPOL 2412 2400 0010 01");
    let prospect = crm.record_json("contacts", "1040").unwrap();
    assert_eq!(prospect["properties"]["billing_iban"], Value::Null);
    assert!(prospect["properties"]["wish_text"]
        .as_str()
        .unwrap()
        .contains("DE89 3704 0044 0532 0130 00"));
    let company = crm.record_json("companies", "2001").unwrap();
    assert_eq!(
        company["properties"].as_object().unwrap().len(),
        super::model::COMPANY_PROPERTIES.len() + 2
    );
    assert_eq!(crm.record_json("contacts", "2001"), None);
    assert_eq!(crm.record_json("deals", "1001"), None);
    assert_eq!(
        crm.record_json("contacts", "1070").unwrap()["archived"],
        true
    );
}

#[tokio::test]
async fn keep_alive_connections_close_on_shutdown() {
    let mut server = start(DemoCrm::seeded()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let first = exchange(
        &mut stream,
        "GET",
        "/crm/v3/objects/contacts/1001",
        &[],
        None,
    )
    .await;
    let second = exchange(
        &mut stream,
        "GET",
        "/crm/v3/objects/companies/2001",
        &[],
        None,
    )
    .await;
    assert_eq!((first.status, second.status), (200, 200));

    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("serve returns after shutdown")
        .unwrap()
        .unwrap();
    // The idle keep-alive connection is closed rather than left open.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("connection closed after shutdown");
    assert!(read.is_ok());
    assert!(TcpStream::connect(server.addr).await.is_err());
}

// ---------------------------------------------------------------------------
// Writes

impl Server {
    async fn patch(&self, target: &str, body: &str) -> Answer {
        self.call("PATCH", target, &[], Some(body)).await
    }

    async fn delete(&self, target: &str) -> Answer {
        self.call("DELETE", target, &[], None).await
    }
}

fn history<'a>(record: &'a Value, property: &str) -> &'a Vec<Value> {
    record["propertiesWithHistory"][property]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn create_answers_201_with_the_written_and_calculated_properties() {
    let server = start(DemoCrm::seeded()).await;
    let created = server
        .post(
            "/crm/v3/objects/contacts",
            r#"{"properties":{"email":"tiny.fan@camden-mail.example","firstname":"Tiny","wish_text":"A crutch that sings."},"associations":[]}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert!(created.head.contains("content-type: application/json"));
    assert_eq!(created.json["id"], "1071");
    assert_eq!(
        property_names(&created.json),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "wish_text"
        ]
    );
    let properties = &created.json["properties"];
    assert_eq!(properties["hs_object_id"], "1071");
    assert_eq!(properties["wish_text"], "A crutch that sings.");
    assert_eq!(properties["createdate"], created.json["createdAt"]);
    assert_eq!(properties["lastmodifieddate"], created.json["updatedAt"]);
    assert!(created.json["createdAt"].as_str().unwrap() > "2026-01-01");
    assert_eq!(created.json["archived"], false);
    assert!(created.json.get("archivedAt").is_none());

    let read = server
        .get("/crm/v3/objects/contacts/1071?propertiesWithHistory=wish_text,hs_object_id")
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["properties"]["firstname"], "Tiny");
    let wish = history(&read.json, "wish_text");
    assert_eq!(wish.len(), 1);
    assert_eq!(wish[0]["sourceType"], "INTEGRATION");
    assert_eq!(wish[0]["timestamp"], created.json["createdAt"]);
    assert_eq!(
        history(&read.json, "hs_object_id")[0]["sourceType"],
        "CALCULATED"
    );

    // Ids continue after the seed, per type; the new contact is listed last.
    let second = server
        .post(
            "/crm/v3/objects/contacts",
            r#"{"properties":{"firstname":"Martha"}}"#,
        )
        .await;
    assert_eq!(second.json["id"], "1072");
    let company = server
        .post(
            "/crm/v3/objects/companies",
            r#"{"properties":{"name":"Fezziwig's Warehouse","domain":"fezziwig.example"},"associations":[]}"#,
        )
        .await;
    assert_eq!(company.status, 201);
    assert_eq!(company.json["id"], "2016");
    assert!(company.json["properties"]["hs_lastmodifieddate"].is_string());
    let listed = server.get("/crm/v3/objects/contacts?limit=100").await;
    assert_eq!(ids(&listed).last().unwrap(), "1072");
    assert_eq!(server.crm.contact_count(), 70);

    let stored = server
        .crm
        .find_record("contacts", "email", "TINY.FAN@camden-mail.example")
        .unwrap();
    assert_eq!(stored["id"], "1071");
    assert_eq!(stored["properties"]["city"], Value::Null);
    let with_history = server
        .crm
        .record_json_with_history("contacts", "1071")
        .unwrap();
    assert_eq!(history(&with_history, "firstname")[0]["value"], "Tiny");
}

#[tokio::test]
async fn create_with_an_association_links_both_records() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"properties":{"email":"dick.wilkins@fezziwig.example"},
        "associations":[{"to":{"id":"2001"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#;
    let created = server.post("/crm/v3/objects/contacts", body).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let contact = server
        .get("/crm/v3/objects/contacts/1071?associations=companies")
        .await;
    assert_eq!(
        contact.json["associations"]["companies"]["results"][0]["id"],
        "2001"
    );
    let company = server
        .get("/crm/v3/objects/companies/2001?associations=contacts")
        .await;
    let associated: Vec<&str> = company.json["associations"]["contacts"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(associated.contains(&"1071"), "{associated:?}");

    let dangling =
        r#"{"properties":{"firstname":"Nobody"},"associations":[{"to":{"id":"2999"},"types":[]}]}"#;
    let refused = server.post("/crm/v3/objects/contacts", dangling).await;
    assert_hubspot_error(&refused, 400, "VALIDATION_ERROR");
    assert_eq!(server.crm.contact_count(), 69);
}

#[tokio::test]
async fn non_string_values_and_unknown_properties_answer_400_naming_them() {
    let server = start(DemoCrm::seeded()).await;
    let refused = server
        .post(
            "/crm/v3/objects/contacts",
            r#"{"properties":{"firstname":"Jacob","zip":12345,"consent_greetings":true,"favourite_reindeer":"Rudolph"}}"#,
        )
        .await;
    assert_hubspot_error(&refused, 400, "VALIDATION_ERROR");
    let message = refused.json["message"].as_str().unwrap();
    assert!(
        message.starts_with("Property values were not valid: "),
        "{message}"
    );
    let listed: Value =
        serde_json::from_str(message.trim_start_matches("Property values were not valid: "))
            .unwrap();
    let named: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["error"].as_str().unwrap()))
        .collect();
    // In the order the request named them.
    assert_eq!(
        named,
        [
            ("zip", "INVALID_PROPERTY_VALUE"),
            ("consent_greetings", "INVALID_PROPERTY_VALUE"),
            ("favourite_reindeer", "PROPERTY_DOESNT_EXIST"),
        ]
    );
    assert_eq!(
        refused.json["errors"][2]["context"]["propertyName"][0],
        "favourite_reindeer"
    );
    assert_eq!(refused.json["errors"][2]["code"], "PROPERTY_DOESNT_EXIST");

    let read_only = server
        .patch(
            "/crm/v3/objects/contacts/1001",
            r#"{"properties":{"hs_object_id":"1"}}"#,
        )
        .await;
    assert_hubspot_error(&read_only, 400, "VALIDATION_ERROR");
    assert!(read_only.json["message"]
        .as_str()
        .unwrap()
        .contains("READ_ONLY_VALUE"));
    let nothing = server
        .patch("/crm/v3/objects/contacts/1001", r#"{"properties":{}}"#)
        .await;
    assert_hubspot_error(&nothing, 400, "VALIDATION_ERROR");
    assert_eq!(
        nothing.json["message"],
        "No properties found to update, please provide at least one."
    );
    let null_value = server
        .patch(
            "/crm/v3/objects/contacts/1001",
            r#"{"properties":{"city":null,"lastname":"Marley"}}"#,
        )
        .await;
    assert_hubspot_error(&null_value, 400, "VALIDATION_ERROR");
    for malformed in ["{", r#"{"properties":"Jacob"}"#, r#"{"associations":[]}"#] {
        let answer = server.post("/crm/v3/objects/contacts", malformed).await;
        assert_hubspot_error(&answer, 400, "VALIDATION_ERROR");
    }
    // Nothing was written by any refused request.
    assert_eq!(server.crm.contact_count(), 68);
    let scrooge = server.crm.record_json("contacts", "1001").unwrap();
    assert_eq!(scrooge["properties"]["lastname"], "Scrooge");
    assert_eq!(scrooge["properties"]["city"], "London");
}

#[tokio::test]
async fn a_custom_property_is_writable_and_readable() {
    let crm = DemoCrm::seeded().with_contact_property("favourite_sweet");
    let server = start(crm).await;
    let created = server
        .post(
            "/crm/v3/objects/contacts",
            r#"{"properties":{"firstname":"Fan","favourite_sweet":"Lebkuchen"}}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let read = server
        .get("/crm/v3/objects/contacts/1071?properties=favourite_sweet")
        .await;
    assert_eq!(read.json["properties"]["favourite_sweet"], "Lebkuchen");
    let seeded = server
        .get("/crm/v3/objects/contacts/1001?properties=favourite_sweet")
        .await;
    assert_eq!(seeded.json["properties"]["favourite_sweet"], Value::Null);
    // Not a company property.
    let company = server
        .post(
            "/crm/v3/objects/companies",
            r#"{"properties":{"favourite_sweet":"x"}}"#,
        )
        .await;
    assert_hubspot_error(&company, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn creating_a_contact_with_a_taken_email_answers_409() {
    let server = start(DemoCrm::seeded()).await;
    let taken = server
        .post(
            "/crm/v3/objects/contacts",
            r#"{"properties":{"email":"Ebenezer.Scrooge@scrooge-marley.example"}}"#,
        )
        .await;
    assert_hubspot_error(&taken, 409, "CONFLICT");
    assert_eq!(
        taken.json["message"],
        "Contact already exists. Existing ID: 1001"
    );
    let moved = server
        .patch(
            "/crm/v3/objects/contacts/1003",
            r#"{"properties":{"email":"ebenezer.scrooge@scrooge-marley.example"}}"#,
        )
        .await;
    assert_hubspot_error(&moved, 409, "CONFLICT");
    assert_eq!(server.crm.contact_count(), 68);
}

#[tokio::test]
async fn update_changes_values_appends_history_and_answers_200() {
    let server = start(DemoCrm::seeded()).await;
    let before = server
        .get("/crm/v3/objects/contacts/1002?propertiesWithHistory=lastname")
        .await;
    let updated = server
        .patch(
            "/crm/v3/objects/contacts/1002",
            r#"{"properties":{"lastname":"Drosselmeyer","jobtitle":"Toymaker's apprentice"}}"#,
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.json);
    assert_eq!(updated.json["id"], "1002");
    assert_eq!(
        property_names(&updated.json),
        [
            "createdate",
            "hs_object_id",
            "jobtitle",
            "lastmodifieddate",
            "lastname"
        ]
    );
    assert_eq!(updated.json["properties"]["lastname"], "Drosselmeyer");
    assert_eq!(updated.json["createdAt"], before.json["createdAt"]);
    assert!(updated.json["updatedAt"].as_str() > before.json["updatedAt"].as_str());
    assert_eq!(
        updated.json["properties"]["lastmodifieddate"],
        updated.json["updatedAt"]
    );

    let after = server
        .get("/crm/v3/objects/contacts/1002?properties=firstname,lastname&propertiesWithHistory=lastname")
        .await;
    assert_eq!(after.json["properties"]["firstname"], "Clara");
    let versions = history(&after.json, "lastname");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["value"], "Drosselmeyer");
    assert_eq!(versions[0]["sourceType"], "INTEGRATION");
    assert_eq!(versions[0]["timestamp"], updated.json["updatedAt"]);
    assert_eq!(versions[1], history(&before.json, "lastname")[0]);

    // An empty string clears a value; the history keeps the empty version.
    let cleared = server
        .patch(
            "/crm/v3/objects/contacts/1002",
            r#"{"properties":{"jobtitle":""}}"#,
        )
        .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.json["properties"]["jobtitle"], Value::Null);
    let companies = server
        .patch(
            "/crm/v3/objects/companies/2003",
            r#"{"properties":{"numberofemployees":"12"}}"#,
        )
        .await;
    assert_eq!(companies.status, 200);
    assert_eq!(companies.json["properties"]["numberofemployees"], "12");
    assert!(companies.json["properties"]["hs_lastmodifieddate"].is_string());
}

#[tokio::test]
async fn update_by_email_id_property_finds_the_contact() {
    let server = start(DemoCrm::seeded()).await;
    let updated = server
        .patch(
            "/crm/v3/objects/contacts/CLARA.stahlbaum%40lebkuchenpost.example?idProperty=email",
            r#"{"properties":{"city":"Fürth"}}"#,
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.json);
    assert_eq!(updated.json["id"], "1002");
    let stored = server.crm.record_json("contacts", "1002").unwrap();
    assert_eq!(stored["properties"]["city"], "Fürth");
}

#[tokio::test]
async fn update_of_an_unknown_or_archived_record_answers_404() {
    let server = start(DemoCrm::seeded()).await;
    for path in [
        "/crm/v3/objects/contacts/9999",
        "/crm/v3/objects/contacts/1069",
        "/crm/v3/objects/contacts/2001",
        "/crm/v3/objects/contacts/nobody%40nowhere.example?idProperty=email",
    ] {
        let answer = server
            .patch(path, r#"{"properties":{"firstname":"Jacob"}}"#)
            .await;
        assert_hubspot_error(&answer, 404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn archived_contact_is_listed_only_with_archived_true() {
    let server = start(DemoCrm::seeded()).await;
    let archived = server.delete("/crm/v3/objects/contacts/1003").await;
    assert_eq!(archived.status, 204);
    assert!(!archived.head.contains("content-type"));

    let hidden = server.get("/crm/v3/objects/contacts/1003").await;
    assert_hubspot_error(&hidden, 404, "OBJECT_NOT_FOUND");
    let shown = server
        .get("/crm/v3/objects/contacts/1003?archived=true")
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json["archived"], true);
    assert!(shown.json["archivedAt"].as_str().unwrap() > shown.json["updatedAt"].as_str().unwrap());
    let archived_list = server
        .get("/crm/v3/objects/contacts?archived=true&limit=100")
        .await;
    assert_eq!(ids(&archived_list), ["1003", "1069", "1070"]);
    let active = server.get("/crm/v3/objects/contacts?limit=100").await;
    assert!(!ids(&active).contains(&"1003".to_string()));
    assert_eq!(server.crm.contact_count(), 67);
    let searched = server
        .post(
            "/crm/v3/objects/contacts/search",
            r#"{"filterGroups":[{"filters":[{"propertyName":"lastname","operator":"EQ","value":"Cratchit"}]}]}"#,
        )
        .await;
    assert!(!ids(&searched).contains(&"1003".to_string()));
    assert_eq!(
        server.crm.record_ids("contacts", true),
        ["1003", "1069", "1070"]
    );

    // Archiving again, or an unknown id, is still 204, as HubSpot answers.
    assert_eq!(
        server.delete("/crm/v3/objects/contacts/1003").await.status,
        204
    );
    assert_eq!(
        server.delete("/crm/v3/objects/contacts/9999").await.status,
        204
    );
    let company = server.delete("/crm/v3/objects/companies/2015").await;
    assert_eq!(company.status, 204);
    let companies = server.get("/crm/v3/objects/companies?limit=100").await;
    assert_eq!(ids(&companies).len(), 14);
}

#[tokio::test]
async fn batch_create_answers_201_with_every_record() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[
        {"properties":{"email":"peter.cratchit@camden-mail.example","firstname":"Peter"},"associations":[],"objectWriteTraceId":"t-1"},
        {"properties":{"email":"martha.cratchit@camden-mail.example","firstname":"Martha"},"associations":[]}]}"#;
    let created = server
        .post("/crm/v3/objects/contacts/batch/create", body)
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["status"], "COMPLETE");
    assert_eq!(ids(&created), ["1071", "1072"]);
    assert_eq!(created.json["results"][0]["objectWriteTraceId"], "t-1");
    assert_eq!(
        created.json["results"][1]["properties"]["firstname"],
        "Martha"
    );
    assert!(created.json.get("errors").is_none());
    assert!(created.json.get("numErrors").is_none());
    assert!(
        created.json["startedAt"].as_str().unwrap()
            <= created.json["completedAt"].as_str().unwrap()
    );
    assert_eq!(server.crm.contact_count(), 70);
}

#[tokio::test]
async fn batch_create_with_a_taken_email_answers_207() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[
        {"properties":{"email":"bob.cratchit@camden-mail.example"}},
        {"properties":{"email":"belinda.cratchit@camden-mail.example"}},
        {"properties":{"email":"BELINDA.cratchit@camden-mail.example"}}]}"#;
    let answer = server
        .post("/crm/v3/objects/contacts/batch/create", body)
        .await;
    assert_eq!(answer.status, 207, "{}", answer.json);
    assert_eq!(ids(&answer), ["1071"]);
    assert_eq!(answer.json["numErrors"], 2);
    let errors = answer.json["errors"].as_array().unwrap();
    assert_eq!(errors[0]["status"], "error");
    assert_eq!(errors[0]["category"], "CONFLICT");
    assert_eq!(errors[0]["context"]["ids"][0], "1003");
    assert_eq!(errors[1]["context"]["ids"][0], "1071");
}

#[tokio::test]
async fn batch_create_with_an_invalid_property_writes_nothing() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[{"properties":{"firstname":"Ignorance"}},{"properties":{"firstname":"Want","age":7}}]}"#;
    let answer = server
        .post("/crm/v3/objects/contacts/batch/create", body)
        .await;
    assert_hubspot_error(&answer, 400, "VALIDATION_ERROR");
    assert!(answer.json["message"].as_str().unwrap().contains("age"));
    assert_eq!(server.crm.contact_count(), 68);
    let too_many = format!(
        r#"{{"inputs":[{}]}}"#,
        vec![r#"{"properties":{}}"#; 101].join(",")
    );
    let answer = server
        .post("/crm/v3/objects/contacts/batch/create", &too_many)
        .await;
    assert_hubspot_error(&answer, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_update_answers_200_when_every_id_is_known() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[
        {"id":"1004","properties":{"city":"Bristol"}},
        {"id":1006,"properties":{"city":"Aarhus"},"objectWriteTraceId":"t-6"},
        {"id":"fritz.stahlbaum@lebkuchenpost.example","idProperty":"email","properties":{"jobtitle":"Master woodcarver"}}]}"#;
    let answer = server
        .post("/crm/v3/objects/contacts/batch/update", body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(ids(&answer), ["1004", "1006", "1005"]);
    assert_eq!(answer.json["results"][1]["objectWriteTraceId"], "t-6");
    let stored = server.crm.record_json("contacts", "1005").unwrap();
    assert_eq!(stored["properties"]["jobtitle"], "Master woodcarver");
    let duplicate = server
        .post(
            "/crm/v3/objects/contacts/batch/update",
            r#"{"inputs":[{"id":"1004","properties":{}},{"id":"1004","properties":{}}]}"#,
        )
        .await;
    assert_hubspot_error(&duplicate, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_update_with_an_unknown_id_answers_207() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[
        {"id":"9998","properties":{"city":"Nowhere"}},
        {"id":"1004","properties":{"city":"Bristol"}},
        {"id":"1069","properties":{"city":"Nowhere"}}]}"#;
    let answer = server
        .post("/crm/v3/objects/contacts/batch/update", body)
        .await;
    assert_eq!(answer.status, 207, "{}", answer.json);
    assert_eq!(ids(&answer), ["1004"]);
    assert_eq!(answer.json["numErrors"], 1);
    let error = &answer.json["errors"][0];
    assert_eq!(error["status"], "error");
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"]["ids"], serde_json::json!(["9998", "1069"]));
    assert!(error["message"].as_str().unwrap().contains("CONTACT"));
    let stored = server.crm.record_json("contacts", "1069").unwrap();
    assert_ne!(stored["properties"]["city"], "Nowhere");
}

#[tokio::test]
async fn batch_upsert_updates_by_email_and_creates_when_missing() {
    let server = start(DemoCrm::seeded()).await;
    let body = r#"{"inputs":[
        {"id":"clara.stahlbaum@lebkuchenpost.example","idProperty":"email","properties":{"jobtitle":"Ballerina"}},
        {"id":"the.mouse.king@lebkuchenpost.example","idProperty":"email","properties":{"firstname":"Mouse","lastname":"King"}}]}"#;
    let answer = server
        .post("/crm/v3/objects/contacts/batch/upsert", body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(ids(&answer), ["1002", "1071"]);
    assert_eq!(answer.json["results"][0]["new"], false);
    assert_eq!(answer.json["results"][1]["new"], true);
    assert_eq!(
        answer.json["results"][1]["properties"]["email"],
        "the.mouse.king@lebkuchenpost.example"
    );
    let stored = server
        .crm
        .find_record("contacts", "email", "the.mouse.king@lebkuchenpost.example")
        .unwrap();
    assert_eq!(stored["properties"]["lastname"], "King");

    let by_id = server
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            r#"{"inputs":[{"id":"1004","idProperty":"hs_object_id","properties":{"city":"Wells"}},{"id":"9999","idProperty":"hs_object_id","properties":{}}]}"#,
        )
        .await;
    assert_eq!(by_id.status, 207, "{}", by_id.json);
    assert_eq!(ids(&by_id), ["1004"]);
    assert_eq!(by_id.json["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(by_id.json["errors"][0]["context"]["ids"][0], "9999");

    let without_id_property = server
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            r#"{"inputs":[{"id":"a@b.example","properties":{"firstname":"A"}}]}"#,
        )
        .await;
    assert_hubspot_error(&without_id_property, 400, "VALIDATION_ERROR");
    assert_eq!(server.crm.contact_count(), 69);
}

#[tokio::test]
async fn batch_archive_answers_204_and_ignores_unknown_ids() {
    let server = start(DemoCrm::seeded()).await;
    let answer = server
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            r#"{"inputs":[{"id":"1010"},{"id":1011},{"id":"9999"}]}"#,
        )
        .await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        server.crm.record_ids("contacts", true),
        ["1010", "1011", "1069", "1070"]
    );
    let malformed = server
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            r#"{"inputs":[{"identifier":"1012"}]}"#,
        )
        .await;
    assert_hubspot_error(&malformed, 400, "VALIDATION_ERROR");
    assert_eq!(server.crm.contact_count(), 66);
}

#[tokio::test]
async fn gdpr_delete_removes_the_contact_for_good() {
    let server = start(DemoCrm::seeded()).await;
    let deleted = server
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            r#"{"objectId":"1001"}"#,
        )
        .await;
    assert_eq!(deleted.status, 204);
    for path in [
        "/crm/v3/objects/contacts/1001",
        "/crm/v3/objects/contacts/1001?archived=true",
    ] {
        assert_hubspot_error(&server.get(path).await, 404, "OBJECT_NOT_FOUND");
    }
    assert!(!server
        .crm
        .record_ids("contacts", true)
        .contains(&"1001".to_string()));
    assert_eq!(server.crm.record_json("contacts", "1001"), None);
    let company = server
        .get("/crm/v3/objects/companies/2001?associations=contacts")
        .await;
    assert!(!company.json.to_string().contains("\"1001\""));

    // By e-mail address, and an archived contact too.
    let by_email = server
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            r#"{"objectId":"clara.stahlbaum@lebkuchenpost.example","idProperty":"email"}"#,
        )
        .await;
    assert_eq!(by_email.status, 204);
    let archived = server
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            r#"{"objectId":"1069"}"#,
        )
        .await;
    assert_eq!(archived.status, 204);
    assert_eq!(server.crm.record_ids("contacts", true), ["1070"]);
    assert_eq!(server.crm.contact_count(), 66);
    let unknown = server
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            r#"{"objectId":"1001"}"#,
        )
        .await;
    assert_hubspot_error(&unknown, 404, "OBJECT_NOT_FOUND");
    let companies = server
        .post(
            "/crm/v3/objects/companies/gdpr-delete",
            r#"{"objectId":"2001"}"#,
        )
        .await;
    assert_hubspot_error(&companies, 404, "RESOURCE_NOT_FOUND");
    // A deleted id is never handed out again.
    let created = server
        .post("/crm/v3/objects/contacts", r#"{"properties":{}}"#)
        .await;
    assert_eq!(created.json["id"], "1071");
}

#[tokio::test]
async fn merge_keeps_the_primary_and_removes_the_merged_record() {
    let server = start(DemoCrm::seeded()).await;
    let merged = server
        .post(
            "/crm/v3/objects/contacts/merge",
            r#"{"primaryObjectId":"1002","objectIdToMerge":"1005"}"#,
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.json);
    assert_eq!(merged.json["id"], "1002");
    assert_eq!(merged.json["properties"]["firstname"], "Clara");
    assert_eq!(
        merged.json["properties"]["email"],
        "clara.stahlbaum@lebkuchenpost.example"
    );
    for path in [
        "/crm/v3/objects/contacts/1005",
        "/crm/v3/objects/contacts/1005?archived=true",
    ] {
        assert_hubspot_error(&server.get(path).await, 404, "OBJECT_NOT_FOUND");
    }
    // The primary gains what it lacked, and the merged record's associations.
    let primary = server.crm.record_json("contacts", "1002").unwrap();
    assert_eq!(
        primary["properties"]["company"],
        "Stahlbaum Nussknacker-Manufaktur"
    );
    let company = server
        .get("/crm/v3/objects/companies/2009?associations=contacts")
        .await;
    let associated = company.json["associations"]["contacts"].to_string();
    assert!(associated.contains("\"1002\"") && !associated.contains("\"1005\""));
    assert_eq!(server.crm.contact_count(), 67);

    let itself = server
        .post(
            "/crm/v3/objects/contacts/merge",
            r#"{"primaryObjectId":"1002","objectIdToMerge":"1002"}"#,
        )
        .await;
    assert_hubspot_error(&itself, 400, "VALIDATION_ERROR");
    let gone = server
        .post(
            "/crm/v3/objects/contacts/merge",
            r#"{"primaryObjectId":"1002","objectIdToMerge":"1005"}"#,
        )
        .await;
    assert_hubspot_error(&gone, 404, "OBJECT_NOT_FOUND");
    let companies = server
        .post(
            "/crm/v3/objects/companies/merge",
            r#"{"primaryObjectId":2002,"objectIdToMerge":2003}"#,
        )
        .await;
    assert_eq!(companies.status, 200, "{}", companies.json);
    assert_eq!(
        ids(&server.get("/crm/v3/objects/companies?limit=100").await).len(),
        14
    );
}

#[tokio::test]
async fn date_versioned_paths_serve_reads_and_writes() {
    let server = start(DemoCrm::seeded()).await;
    let created = server
        .post(
            "/crm/objects/2026-03/contacts",
            r#"{"properties":{"firstname":"Fan"}}"#,
        )
        .await;
    assert_eq!(created.status, 201);
    let updated = server
        .patch(
            "/crm/objects/2026-03/contacts/1071",
            r#"{"properties":{"lastname":"Scrooge"}}"#,
        )
        .await;
    assert_eq!(updated.status, 200);
    let read = server
        .get("/crm/objects/2026-03/contacts/1071?properties=lastname")
        .await;
    assert_eq!(read.json["properties"]["lastname"], "Scrooge");
    let listed = server.get("/crm/objects/2026-03/companies?limit=3").await;
    assert_eq!(ids(&listed), ["2001", "2002", "2003"]);
    let batch = server
        .post(
            "/crm/objects/2026-03/contacts/batch/read",
            r#"{"inputs":[{"id":"1071"}],"properties":["firstname"]}"#,
        )
        .await;
    assert_eq!(batch.json["results"][0]["properties"]["firstname"], "Fan");
    assert_eq!(
        server
            .delete("/crm/objects/2026-03/contacts/1071")
            .await
            .status,
        204
    );
    let unknown_version = server.get("/crm/objects/v4/contacts").await;
    assert_hubspot_error(&unknown_version, 404, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids_and_are_recorded() {
    let server = Arc::new(start(DemoCrm::seeded()).await);
    let mut tasks = Vec::new();
    for n in 0..16 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            let body = format!(r#"{{"properties":{{"email":"elf{n}@northpole.example"}}}}"#);
            let answer = server.post("/crm/v3/objects/contacts", &body).await;
            assert_eq!(answer.status, 201);
            answer.json["id"].as_str().unwrap().to_string()
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    created.sort();
    let expected: Vec<String> = (1071..1087).map(|id| id.to_string()).collect();
    assert_eq!(created, expected);
    let received = server.crm.received();
    assert_eq!(received.len(), 16);
    assert!(received.iter().all(|r| r.method == "POST"));
}
