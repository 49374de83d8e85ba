//! sObject Collections through crmgate, over real sockets, in front of the Salesforce-shaped
//! demo CRM: create, update, delete and retrieve decided input by input, every input
//! answered in its place; a record hidden answers like a missing one; `allOrNone` sends
//! nothing when one input is not sent; what reached the CRM is only what was allowed.

use serde_json::{json, Value};

use crate::sf_writes::Sf;

/// Contacts 1001 and 1002 (customers), 1036 (a subscriber: a prospect), one the CRM lacks.
const CUSTOMER: &str = "003Dm0000001001IAA";
const CUSTOMER2: &str = "003Dm0000001002IAA";
const PROSPECT: &str = "003Dm0000001036IAA";
const MISSING: &str = "003Dm0000009999IAA";

fn contact(fields: Value) -> Value {
    let mut r = json!({"attributes": {"type": "Contact"}});
    r.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    r
}

/// The entries of a collection answer without their ids.
fn codes(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            if e["success"] == json!(true) {
                "ok".to_string()
            } else {
                e["errors"][0]["statusCode"].as_str().unwrap().to_string()
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_create_strips_each_input_and_audits_the_ids_created() {
    let sf = Sf::start().await;
    let records = json!([
        contact(
            json!({"LastName": "Frost", "Email": "ada@example.org", "Lifecycle__c": "lead", "Billing_IBAN__c": "DE89370400440532013000"})
        ),
        contact(json!({"LastName": "Snow", "Email": "bo@example.org", "Lifecycle__c": "lead"})),
    ]);
    let r = sf
        .send(
            "POST",
            "/composite/sobjects",
            "wishlist",
            Some(json!({"allOrNone": false, "records": records})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(codes(&answer), ["ok", "ok"], "{answer}");
    let ids: Vec<String> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 18);
        assert!(sf.stored(id)["Billing_IBAN__c"].is_null());
        assert_eq!(sf.stored(id)["Data_Source__c"], "wish_list_form");
    }
    // What reached the CRM: one collection, rebuilt, without what was stripped.
    let sent = sf.bodies("POST");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(!sent[0].to_string().contains("Billing_IBAN__c"), "{sent:?}");
    let audit = sf.proxy.audit_of(&r);
    let writes = audit["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 2);
    for (w, id) in writes.iter().zip(&ids) {
        assert_eq!(w["outcome"], "forwarded");
        assert_eq!(w["id"], json!(id), "{audit}");
    }
    assert_eq!(writes[0]["stripped"], json!(["billing"]));
    // One record of another type in the same request: refused before anything is sent.
    let mixed = sf
        .send(
            "POST",
            "/composite/sobjects",
            "wishlist",
            Some(json!({"records": [contact(json!({"LastName": "A"})), {"attributes": {"type": "Lead"}, "LastName": "B"}]})),
        )
        .await;
    assert_eq!(mixed.status, 400, "{}", mixed.text());
    // crmgate's own route of a type is not a client's path.
    let own = sf
        .send(
            "POST",
            "/composite/sobjects/Contact/@create",
            "wishlist",
            Some(json!({"records": [contact(json!({"LastName": "A"}))]})),
        )
        .await;
    assert_eq!(own.status, 404, "{}", own.text());
    assert_eq!(sf.bodies("POST").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_input_answers_in_its_place_like_a_missing_one() {
    let sf = Sf::start().await;
    // Marketing does not see customers: 1001 is not there for it.
    let update = |id: &str| {
        let mut r = contact(json!({"Consent_Marketing__c": false}));
        r["id"] = json!(id);
        r
    };
    let r = sf
        .send(
            "PATCH",
            "/composite/sobjects",
            "tinsel",
            Some(json!({"records": [update(PROSPECT), update(CUSTOMER), update(MISSING)]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(
        codes(&answer),
        [
            "ok",
            "INVALID_CROSS_REFERENCE_KEY",
            "INVALID_CROSS_REFERENCE_KEY"
        ],
        "{answer}"
    );
    assert_eq!(answer[0]["id"], PROSPECT);
    assert_eq!(answer[1]["id"], CUSTOMER);
    assert_eq!(answer[2]["id"], MISSING);
    // The hidden entry and the missing one differ in their id only.
    let mut hidden = answer[1].clone();
    hidden["id"] = json!(MISSING);
    assert_eq!(hidden, answer[2]);
    // Only the prospect reached the CRM.
    let sent = sf.bodies("PATCH");
    assert_eq!(sent.len(), 1);
    let records = sent[0]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{sent:?}");
    assert_eq!(records[0]["id"], PROSPECT);
    assert_eq!(sf.stored(PROSPECT)["Consent_Marketing__c"], json!(false));
    let audit = sf.proxy.audit_of(&r);
    let outcomes: Vec<&str> = audit["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["forwarded", "not-found", "not-found"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_input_is_answered_in_its_place_and_the_others_are_written() {
    let sf = Sf::start().await;
    let mut refused =
        contact(json!({"FirstName": "Nick", "Billing_IBAN__c": "DE02120300000000202051"}));
    refused["id"] = json!(CUSTOMER);
    let mut allowed = contact(json!({"FirstName": "Clarissa"}));
    allowed["id"] = json!(CUSTOMER2);
    let r = sf
        .send(
            "PATCH",
            "/composite/sobjects",
            "noelle",
            Some(json!({"records": [refused, allowed]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(
        codes(&answer),
        ["INSUFFICIENT_ACCESS_OR_READONLY", "ok"],
        "{answer}"
    );
    assert!(answer[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("`billing`"));
    assert_eq!(sf.stored(CUSTOMER2)["FirstName"], "Clarissa");
    assert_ne!(sf.stored(CUSTOMER)["FirstName"], "Nick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_or_none_sends_nothing_when_one_input_is_not_sent() {
    let sf = Sf::start().await;
    let update = |id: &str| {
        let mut r = contact(json!({"Consent_Marketing__c": false}));
        r["id"] = json!(id);
        r
    };
    let before = sf.stored(PROSPECT)["Consent_Marketing__c"].clone();
    let r = sf
        .send(
            "PATCH",
            "/composite/sobjects",
            "tinsel",
            Some(json!({"allOrNone": true, "records": [update(PROSPECT), update(CUSTOMER)]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        codes(&r.json()),
        [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "INVALID_CROSS_REFERENCE_KEY"
        ]
    );
    assert!(
        sf.writes_received().is_empty(),
        "{:?}",
        sf.writes_received()
    );
    assert_eq!(sf.stored(PROSPECT)["Consent_Marketing__c"], before);
    let audit = sf.proxy.audit_of(&r);
    assert_eq!(audit["writes"][0]["outcome"], "not-sent");
    assert_eq!(audit["writes"][0]["reason"], "all-or-none");
    // All allowed: sent, all or none at the CRM too.
    let ok = sf
        .send(
            "PATCH",
            "/composite/sobjects",
            "tinsel",
            Some(json!({"allOrNone": true, "records": [update(PROSPECT)]})),
        )
        .await;
    assert_eq!(codes(&ok.json()), ["ok"], "{}", ok.text());
    assert_eq!(sf.bodies("PATCH")[0]["allOrNone"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_delete_sends_only_the_ids_allowed() {
    let sf = Sf::start().await;
    let path = format!("/composite/sobjects?ids={CUSTOMER},{MISSING}");
    // Sales may not delete.
    let noelle = sf.send("DELETE", &path, "noelle", None).await;
    assert_eq!(noelle.status, 200, "{}", noelle.text());
    assert_eq!(
        codes(&noelle.json()),
        [
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "INVALID_CROSS_REFERENCE_KEY"
        ]
    );
    assert!(sf.writes_received().is_empty());
    // Marketing does not see customers: 1001 answers like the missing id.
    let tinsel = sf.send("DELETE", &path, "tinsel", None).await;
    assert_eq!(
        codes(&tinsel.json()),
        ["INVALID_CROSS_REFERENCE_KEY", "INVALID_CROSS_REFERENCE_KEY"]
    );
    assert!(sf.writes_received().is_empty());
    // Customer service may.
    let holly = sf.send("DELETE", &path, "holly", None).await;
    assert_eq!(
        codes(&holly.json()),
        ["ok", "INVALID_CROSS_REFERENCE_KEY"],
        "{}",
        holly.text()
    );
    assert_eq!(sf.stored(CUSTOMER)["IsDeleted"], json!(true));
    let sent = sf.writes_received();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].1.contains(&format!("ids={CUSTOMER}")), "{sent:?}");
    assert!(!sent[0].1.contains(MISSING), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrieve_answers_null_for_a_hidden_id_as_for_a_missing_one() {
    let sf = Sf::start().await;
    let r = sf
        .send(
            "POST",
            "/composite/sobjects/Contact",
            "tinsel",
            Some(json!({"ids": [PROSPECT, CUSTOMER, MISSING], "fields": ["FirstName", "Email"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let records = answer.as_array().unwrap();
    assert_eq!(records.len(), 3, "{answer}");
    assert_eq!(records[0]["Id"], PROSPECT);
    assert!(records[0]["FirstName"].is_string());
    assert!(records[0].get("Lifecycle__c").is_none(), "{answer}");
    assert_eq!(records[1], Value::Null);
    assert_eq!(records[2], Value::Null);
    // A field no group names is refused, like one Salesforce lacks.
    let unknown = sf
        .send(
            "POST",
            "/composite/sobjects/Contact",
            "tinsel",
            Some(json!({"ids": [PROSPECT], "fields": ["Made_Up__c"]})),
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_pages_by_the_batch_size_its_client_names() {
    let sf = Sf::start().await;
    let api = "/services/data/v62.0";
    for batch in 0..2 {
        let records: Vec<Value> = (0..200)
            .map(|i| {
                contact(json!({
                    "LastName": format!("Elf{batch}x{i}"),
                    "Email": format!("elf-{batch}-{i}@workshop.example"),
                    "Lifecycle__c": "subscriber"
                }))
            })
            .collect();
        let r = sf
            .proxy
            .request(
                "POST",
                &format!("{api}/composite/sobjects"),
                Some("holly"),
                Some("prospect_management"),
                Some(json!({"records": records})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let q = crmgate::stages::sanitize::encode_query(&[(
        "q".to_string(),
        "SELECT Id FROM Contact".to_string(),
    )]);
    let get = |path: String, options: Option<&'static str>| {
        let proxy = &sf.proxy;
        async move {
            let mut headers = vec![
                ("authorization", "Bearer demo-key-holly"),
                ("x-purpose", "prospect_management"),
            ];
            if let Some(o) = options {
                headers.push(("sforce-query-options", o));
            }
            proxy.get_headers(&path, &headers).await
        }
    };
    let first = get(format!("{api}/query?{q}"), Some("batchSize=200")).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    let total = first["totalSize"].as_u64().unwrap();
    assert!(total > 400, "{total}");
    assert_eq!(first["records"].as_array().unwrap().len(), 200);
    assert_eq!(first["done"], json!(false));
    // The next page keeps the size the query named, without the header.
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    let second = get(next, None).await.json();
    assert_eq!(second["records"].as_array().unwrap().len(), 200, "{second}");
    // Without the option: Salesforce's default, 2,000.
    let all = get(format!("{api}/query?{q}"), None).await.json();
    assert_eq!(all["records"].as_array().unwrap().len() as u64, total);
    // A size that is no number is refused.
    let bad = get(format!("{api}/query?{q}"), Some("batchSize=many")).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
}
