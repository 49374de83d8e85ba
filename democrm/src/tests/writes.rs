//! The demo CRM's writes over a real socket: create, update, archive, the batch
//! writes, GDPR delete, merge, date-versioned paths and concurrent creates. Tests
//! only: they must never depend on crmgate.

use super::*;

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
