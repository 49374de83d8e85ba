//! The demo CRM's reads over a real socket: lists and paging, properties and
//! history, single records, search, batch read, archived records, the token, the
//! recorder and shutdown. Tests only: they must never depend on crmgate.

use super::*;

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
        crate::model::CONTACT_PROPERTIES.len() + custom_properties.len()
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
        crate::model::COMPANY_PROPERTIES.len() + 2
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
