//! Tests of the Salesforce demo's writes and describe over a real socket: create,
//! update, delete to the recycle bin, upsert by external id, the collections with
//! and without `allOrNone`, the describe answers. They must never depend on crmgate.

use std::time::Duration;

use serde_json::{json, Value};

use super::salesforce::{assert_sf_error, number, query_url, start, Sf, V};
use super::Answer;
use crate::salesforce::SalesforceCrm;

impl Sf {
    async fn send(&self, method: &str, target: &str, body: &Value) -> Answer {
        self.call(method, target, &[], Some(&body.to_string()))
            .await
    }

    async fn count(&self, soql: &str) -> u64 {
        let answer = self.get(&query_url("query", soql)).await;
        answer.json["totalSize"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn create_update_and_delete_move_through_the_recycle_bin() {
    let sf = start(SalesforceCrm::seeded()).await;
    let created = sf
        .send(
            "POST",
            &format!("{V}/sobjects/Contact"),
            &json!({"attributes": {"type": "Contact"}, "FirstName": "Tiny", "LastName": "Tim",
                    "Consent_Survey__c": true, "Birthdate": "2019-12-24", "AccountId": "001Dm0000002001"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(
        created.json,
        json!({"id": "003Dm0000001071IAA", "success": true, "errors": []})
    );
    let record = sf.crm.record("003Dm0000001071").unwrap();
    assert_eq!(record["Name"], "Tiny Tim");
    assert_eq!(record["AccountId"], "001Dm0000002001IAA");
    assert_eq!(record["Consent_Greetings__c"], false);
    assert_eq!(record["CreatedDate"], record["LastModifiedDate"]);
    assert_eq!(
        sf.count("SELECT COUNT() FROM Contact WHERE CreatedDate = TODAY")
            .await,
        1
    );

    tokio::time::sleep(Duration::from_millis(5)).await;
    let url = format!("{V}/sobjects/Contact/003Dm0000001071IAA");
    let updated = sf
        .send(
            "PATCH",
            &url,
            &json!({"Title": "Carol singer", "Birthdate": null}),
        )
        .await;
    assert_eq!(updated.status, 204);
    let after = sf.crm.record("003Dm0000001071").unwrap();
    assert_eq!(after["Title"], "Carol singer");
    assert_eq!(after["Birthdate"], Value::Null);
    assert!(after["LastModifiedDate"].as_str() > record["LastModifiedDate"].as_str());
    assert_eq!(after["SystemModstamp"], after["LastModifiedDate"]);

    assert_eq!(sf.call("DELETE", &url, &[], None).await.status, 204);
    assert_sf_error(&sf.get(&url).await, 404, "NOT_FOUND");
    assert_sf_error(
        &sf.call("DELETE", &url, &[], None).await,
        404,
        "ENTITY_IS_DELETED",
    );
    assert_sf_error(
        &sf.send("PATCH", &url, &json!({"Title": "x"})).await,
        404,
        "ENTITY_IS_DELETED",
    );
    assert_eq!(
        sf.crm.record(&url[url.len() - 18..]).unwrap()["IsDeleted"],
        true
    );
    let missing = format!("{V}/sobjects/Contact/003Dm0000009999");
    assert_sf_error(
        &sf.call("DELETE", &missing, &[], None).await,
        404,
        "NOT_FOUND",
    );
    assert_sf_error(
        &sf.send("PATCH", &missing, &json!({})).await,
        404,
        "NOT_FOUND",
    );
    // The next record continues the numbers; leads share them with contacts.
    let lead = sf
        .send(
            "POST",
            &format!("{V}/sobjects/Lead"),
            &json!({"LastName": "Fezziwig", "Company": "Fezziwig's Warehouse"}),
        )
        .await;
    assert_eq!(lead.json["id"], "00QDm0000001072MAA");
    let account = sf
        .send(
            "POST",
            &format!("{V}/sobjects/Account"),
            &json!({"Name": "Fezziwig's Warehouse", "NumberOfEmployees": 7}),
        )
        .await;
    assert_eq!(account.json["id"], "001Dm0000002016IAA");
}

#[tokio::test]
async fn invalid_writes_are_refused_and_change_nothing() {
    let sf = start(SalesforceCrm::seeded()).await;
    let before = sf.count("SELECT COUNT() FROM Contact").await;
    let create = format!("{V}/sobjects/Contact");
    for (body, code, field) in [
        (
            json!({"FirstName": "No last name"}),
            "REQUIRED_FIELD_MISSING",
            Some("LastName"),
        ),
        (
            json!({"LastName": "X", "Nope__c": 1}),
            "INVALID_FIELD",
            None,
        ),
        (
            json!({"LastName": "X", "Name": "X Y"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some("Name"),
        ),
        (
            json!({"LastName": "X", "Id": "003Dm0000001001"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some("Id"),
        ),
        (
            json!({"LastName": "X", "CreatedDate": "2026-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some("CreatedDate"),
        ),
        (
            json!({"LastName": "X", "Consent_Survey__c": "true"}),
            "JSON_PARSER_ERROR",
            None,
        ),
        (
            json!({"LastName": "X", "Birthdate": "24.12.2019"}),
            "JSON_PARSER_ERROR",
            None,
        ),
        (json!({"LastName": 5}), "JSON_PARSER_ERROR", None),
        (
            json!({"LastName": "X", "Email": "not-an-address"}),
            "INVALID_EMAIL_ADDRESS",
            Some("Email"),
        ),
        (
            json!({"LastName": "X", "Salutation": "x".repeat(41)}),
            "STRING_TOO_LONG",
            Some("Salutation"),
        ),
        (
            json!({"LastName": "X", "AccountId": "003Dm0000001001"}),
            "MALFORMED_ID",
            Some("AccountId"),
        ),
        (
            json!({"LastName": "X", "AccountId": "001Dm0000002999"}),
            "INVALID_CROSS_REFERENCE_KEY",
            Some("AccountId"),
        ),
        (
            json!({"LastName": "X", "External_Id__c": "c-1001"}),
            "DUPLICATE_VALUE",
            Some("External_Id__c"),
        ),
        (json!(["not", "an", "object"]), "JSON_PARSER_ERROR", None),
    ] {
        let answer = sf.send("POST", &create, &body).await;
        assert_sf_error(&answer, 400, code);
        if let Some(field) = field {
            assert_eq!(answer.json[0]["fields"], json!([field]), "{body}");
        }
    }
    let broken = sf.call("POST", &create, &[], Some("{not json")).await;
    assert_sf_error(&broken, 400, "JSON_PARSER_ERROR");
    let lead = sf
        .send(
            "POST",
            &format!("{V}/sobjects/Lead"),
            &json!({"LastName": "X"}),
        )
        .await;
    assert_sf_error(&lead, 400, "REQUIRED_FIELD_MISSING");
    let clear = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/003Dm0000001001"),
            &json!({"LastName": ""}),
        )
        .await;
    assert_sf_error(&clear, 400, "REQUIRED_FIELD_MISSING");
    assert_eq!(sf.count("SELECT COUNT() FROM Contact").await, before);
    assert_eq!(
        sf.crm.record("003Dm0000001001").unwrap()["LastName"],
        "Scrooge"
    );
}

#[tokio::test]
async fn upsert_by_external_id_updates_creates_or_lists_the_choices() {
    let sf = start(SalesforceCrm::seeded()).await;
    let existing = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/External_Id__c/C-1001"),
            &json!({"Title": "Reformed"}),
        )
        .await;
    assert_eq!(existing.status, 200, "{}", existing.json);
    assert_eq!(
        existing.json,
        json!({"id": "003Dm0000001001IAA", "success": true, "errors": [], "created": false})
    );
    assert_eq!(
        sf.crm.record("003Dm0000001001").unwrap()["Title"],
        "Reformed"
    );
    let new = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/External_Id__c/C-9001"),
            &json!({"LastName": "Marley", "External_Id__c": "C-9001"}),
        )
        .await;
    assert_eq!(new.status, 201, "{}", new.json);
    assert_eq!(new.json["created"], true);
    let id = new.json["id"].as_str().unwrap();
    assert_eq!(sf.crm.record(id).unwrap()["External_Id__c"], "C-9001");
    let by_key = sf
        .get(&format!("{V}/sobjects/Contact/External_Id__c/c-9001"))
        .await;
    assert_eq!(by_key.json["Id"], id);
    // Email is a lookup too; two records holding one address are a 300.
    for _ in 0..2 {
        let created = sf
            .send(
                "POST",
                &format!("{V}/sobjects/Contact"),
                &json!({"LastName": "Twin", "Email": "twin@north.example"}),
            )
            .await;
        assert_eq!(created.status, 201);
    }
    let choices = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/Email/twin%40north.example"),
            &json!({"Title": "x"}),
        )
        .await;
    assert_eq!(choices.status, 300, "{}", choices.json);
    assert_eq!(choices.json.as_array().unwrap().len(), 2);
    assert!(choices.json[0]
        .as_str()
        .unwrap()
        .starts_with(&format!("{V}/sobjects/Contact/003Dm")));
    let unknown = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/LastName/Scrooge"),
            &json!({"Title": "x"}),
        )
        .await;
    assert_sf_error(&unknown, 404, "NOT_FOUND");
    let contradicting = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/External_Id__c/C-1002"),
            &json!({"External_Id__c": "C-1003"}),
        )
        .await;
    assert_sf_error(&contradicting, 400, "INVALID_FIELD");
    let invalid = sf
        .send(
            "PATCH",
            &format!("{V}/sobjects/Contact/External_Id__c/C-9002"),
            &json!({"Title": "no last name"}),
        )
        .await;
    assert_sf_error(&invalid, 400, "REQUIRED_FIELD_MISSING");
    assert_eq!(
        sf.count("SELECT COUNT() FROM Contact WHERE External_Id__c = 'C-9002'")
            .await,
        0
    );
    let deleted = sf
        .call(
            "DELETE",
            &format!("{V}/sobjects/Contact/External_Id__c/C-9001"),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_sf_error(
        &sf.get(&format!("{V}/sobjects/Contact/External_Id__c/C-9001"))
            .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn collections_answer_per_record_and_all_or_none_rolls_back() {
    let sf = start(SalesforceCrm::seeded()).await;
    let url = format!("{V}/composite/sobjects");
    let created = sf
        .send(
            "POST",
            &url,
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Cratchit", "FirstName": "Martha"},
                {"attributes": {"type": "Contact"}, "FirstName": "Nameless"},
                {"attributes": {"type": "Account"}, "Name": "Fezziwig's"},
            ]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.json);
    let results = created.json.as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": "003Dm0000001071IAA", "success": true, "errors": []})
    );
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["LastName"]));
    assert_eq!(results[2]["success"], true);

    let rolled = sf
        .send(
            "POST",
            &url,
            &json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Kept?"},
                {"attributes": {"type": "Contact"}, "LastName": "Bad", "Email": "nope"},
            ]}),
        )
        .await;
    let results = rolled.json.as_array().unwrap();
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_EMAIL_ADDRESS"
    );
    assert_eq!(
        sf.count("SELECT COUNT() FROM Contact WHERE LastName = 'Kept?'")
            .await,
        0
    );

    let updated = sf
        .send(
            "PATCH",
            &url,
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "id": "003Dm0000001001", "Title": "Partner"},
                {"attributes": {"type": "Contact"}, "id": "003Dm0000009999", "Title": "Ghost"},
                {"attributes": {"type": "Contact"}, "Title": "No id"},
            ]}),
        )
        .await;
    let results = updated.json.as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": "003Dm0000001001IAA", "success": true, "errors": []})
    );
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(results[2]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    assert_eq!(
        sf.crm.record("003Dm0000001001").unwrap()["Title"],
        "Partner"
    );

    let deleted = sf
        .call(
            "DELETE",
            &format!("{url}?ids=003Dm0000001071IAA,003Dm0000001069&allOrNone=true"),
            &[],
            None,
        )
        .await;
    let results = deleted.json.as_array().unwrap();
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(results[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    assert_eq!(
        sf.crm.record("003Dm0000001071").unwrap()["IsDeleted"],
        false
    );
    let deleted = sf
        .call(
            "DELETE",
            &format!("{url}?ids=003Dm0000001071IAA"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        deleted.json,
        json!([{"id": "003Dm0000001071IAA", "success": true, "errors": []}])
    );

    let retrieved = sf
        .get(&format!("{url}/Contact?ids=003Dm0000001001,003Dm0000001071,003Dm0000009999&fields=LastName,Email"))
        .await;
    let records = retrieved.json.as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(number(&json!({"Id": records[0]["Id"]})), 1001);
    let keys: Vec<&String> = records[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["attributes", "LastName", "Email", "Id"]);
    assert!(records[1].is_null() && records[2].is_null());
    let posted = sf
        .send(
            "POST",
            &format!("{url}/Contact"),
            &json!({"ids": ["003Dm0000001002"], "fields": ["FirstName"]}),
        )
        .await;
    assert_eq!(posted.json[0]["FirstName"], "Clara");
    let no_fields = sf.get(&format!("{url}/Contact?ids=003Dm0000001001")).await;
    assert_sf_error(&no_fields, 400, "MISSING_ARGUMENT");
    let records: Vec<Value> = (0..201)
        .map(|_| json!({"attributes": {"type": "Contact"}, "LastName": "X"}))
        .collect();
    let too_many = sf.send("POST", &url, &json!({"records": records})).await;
    assert_sf_error(&too_many, 400, "EXCEEDED_ID_LIMIT");
}

#[tokio::test]
async fn describe_names_every_field_with_its_type_and_access() {
    let sf = start(SalesforceCrm::seeded()).await;
    let describe = sf.get(&format!("{V}/sobjects/Contact/describe")).await;
    assert_eq!(describe.status, 200);
    assert_eq!(describe.json["name"], "Contact");
    assert_eq!(describe.json["keyPrefix"], "003");
    let fields = describe.json["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 38);
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(field("Id")["type"], "id");
    assert_eq!(field("Id")["createable"], false);
    assert_eq!(field("Email")["type"], "email");
    assert_eq!(field("Email")["idLookup"], true);
    assert_eq!(field("AccountId")["type"], "reference");
    assert_eq!(field("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(field("AccountId")["relationshipName"], "Account");
    assert_eq!(field("External_Id__c")["externalId"], true);
    assert_eq!(field("External_Id__c")["custom"], true);
    assert_eq!(field("Consent_Survey__c")["type"], "boolean");
    assert_eq!(field("Consent_Survey__c")["nillable"], false);
    assert_eq!(field("Birthdate")["type"], "date");
    assert_eq!(field("CreatedDate")["type"], "datetime");
    assert_eq!(field("Name")["updateable"], false);
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("Payment_Method__c")["type"], "multipicklist");
    let lifecycle_field = field("Lifecycle__c");
    let lifecycle: Vec<&Value> = lifecycle_field["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["value"])
        .collect();
    assert_eq!(lifecycle, ["customer", "other", "subscriber"]);
    let account = sf.get(&format!("{V}/sobjects/Account/describe")).await;
    let types: Vec<(String, String)> = account.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (name, kind) in [
        ("NumberOfEmployees", "int"),
        ("AnnualRevenue", "currency"),
        ("Description", "textarea"),
        ("Website", "url"),
        ("Industry", "picklist"),
    ] {
        assert!(types.contains(&(name.into(), kind.into())), "{name}");
    }
    let global = sf.get(&format!("{V}/sobjects")).await;
    let names: Vec<&Value> = global.json["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert_eq!(names, ["Account", "Contact", "Lead"]);
    let basic = sf.get(&format!("{V}/sobjects/Lead")).await;
    assert_eq!(basic.json["objectDescribe"]["keyPrefix"], "00Q");
}

#[tokio::test]
async fn collection_upserts_answer_created_per_record() {
    let sf = start(SalesforceCrm::seeded()).await;
    for _ in 0..2 {
        assert_eq!(
            sf.send(
                "POST",
                &format!("{V}/sobjects/Lead"),
                &json!({"LastName": "Twin", "Company": "North", "Email": "twin@north.example"})
            )
            .await
            .status,
            201
        );
    }
    let url = format!("{V}/composite/sobjects/Contact/External_Id__c");
    let answer = sf
        .send("PATCH", &url, &json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Contact"}, "External_Id__c": "C-1001", "Title": "Partner"},
            {"attributes": {"type": "Contact"}, "External_Id__c": "C-7001", "LastName": "Marley"},
            {"attributes": {"type": "Contact"}, "LastName": "No key"},
            {"attributes": {"type": "Contact"}, "External_Id__c": "C-7002", "FirstName": "No last name"},
        ]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let results = answer.json.as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": "003Dm0000001001IAA", "success": true, "errors": [], "created": false})
    );
    assert_eq!(results[1]["created"], true);
    assert_eq!(results[2]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    assert_eq!(
        results[3]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(
        sf.crm.record("003Dm0000001001").unwrap()["Title"],
        "Partner"
    );
    let leads = format!("{V}/composite/sobjects/Lead/Email");
    let several = sf
        .send("PATCH", &leads, &json!({"records": [{"attributes": {"type": "Lead"}, "Email": "twin@north.example", "Title": "x"}]}))
        .await;
    assert_eq!(
        several.json[0]["errors"][0]["statusCode"],
        "DUPLICATE_EXTERNAL_ID"
    );
    let mixed = sf
        .send(
            "PATCH",
            &url,
            &json!({"records": [{"attributes": {"type": "Lead"}, "External_Id__c": "x"}]}),
        )
        .await;
    assert_sf_error(&mixed, 400, "INVALID_TYPE");
    let unknown = sf
        .send(
            "PATCH",
            &format!("{V}/composite/sobjects/Contact/LastName"),
            &json!({"records": []}),
        )
        .await;
    assert_sf_error(&unknown, 404, "NOT_FOUND");
}

/// A seeded lead that came without a company (a wish-list prospect) stays updatable: like
/// Salesforce, an update is refused only for a required field it clears itself.
#[tokio::test]
async fn a_lead_without_a_company_can_be_updated_but_a_company_not_cleared() {
    let sf = start(SalesforceCrm::seeded()).await;
    let lead = "00QDm0000001034MAA";
    assert!(sf.crm.record(lead).unwrap()["Company"].is_null());
    let target = format!("{V}/sobjects/Lead/{lead}");
    let update = sf
        .send("PATCH", &target, &json!({"Wish_Text__c": null}))
        .await;
    assert_eq!(update.status, 204, "{:?}", update.json);
    assert!(sf.crm.record(lead).unwrap()["Wish_Text__c"].is_null());
    let set = sf
        .send("PATCH", &target, &json!({"Company": "North Pole Ltd"}))
        .await;
    assert_eq!(set.status, 204, "{:?}", set.json);
    let clear = sf.send("PATCH", &target, &json!({"Company": ""})).await;
    assert_sf_error(&clear, 400, "REQUIRED_FIELD_MISSING");
    assert_eq!(sf.crm.record(lead).unwrap()["Company"], "North Pole Ltd");
}
