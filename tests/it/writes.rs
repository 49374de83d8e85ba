//! The write path over real sockets, in front of the demo CRM: record-level and field-level
//! write decisions, strip and refuse, each batch kind with mixed inputs, provenance, the
//! write-ahead audit, strict bodies — and what reached the CRM (its ledger) for each.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{audit_records, Proxy};

const CONTACTS: &str = "/crm/v3/objects/contacts";

/// Every request the demo CRM received with this method and path prefix.
fn received(proxy: &Proxy, method: &str, path: &str) -> Vec<Value> {
    proxy
        .crm()
        .received()
        .into_iter()
        .filter(|r| r.method == method && r.path_and_query.starts_with(path))
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

/// The write requests (anything but reads) the CRM received.
fn writes_received(proxy: &Proxy) -> Vec<(String, String)> {
    proxy
        .crm()
        .received()
        .into_iter()
        .filter(|r| {
            r.method != "GET"
                && !r.path_and_query.ends_with("/batch/read")
                && !r.path_and_query.ends_with("/search")
        })
        .map(|r| (r.method, r.path_and_query))
        .collect()
}

/// `PATCH /crm/v3/objects/contacts/<path>` as `user`, with the department's purpose.
async fn patch(proxy: &Proxy, user: &str, path: &str, body: Value) -> crate::support::Reply {
    proxy
        .request(
            "PATCH",
            &format!("{CONTACTS}/{path}"),
            Some(user),
            None,
            Some(body),
        )
        .await
}

/// Every entry of the audit log (requests, intents, checkpoints), in order.
fn log_entries(proxy: &Proxy) -> Vec<Value> {
    crmgate::audit::list_segments(&proxy.audit_dir())
        .unwrap()
        .iter()
        .flat_map(|(_, p)| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn stored(proxy: &Proxy, id: &str) -> Option<Value> {
    proxy.crm().record_json("contacts", id)
}

fn prospect(email: &str, wish: &str) -> Value {
    json!({"properties": {
        "firstname": "Ada", "lastname": "Frost", "email": email,
        "lifecyclestage": "lead", "wish_text": wish, "consent_marketing": "true"
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strip_route_drops_denied_groups_names_them_and_forwards_the_rest() {
    let proxy = Proxy::start().await;
    let mut body = prospect("ada.frost@example.org", "A sledge, please.");
    body["properties"]["billing_iban"] = json!("DE89370400440532013000");
    body["properties"]["photo_url"] = json!("https://img.example/ada.jpg");
    body["properties"]["made_up_property"] = json!("x");
    let r = proxy.post(CONTACTS, "wishlist", None, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let stripped = r.headers["x-crmgate-stripped"].to_str().unwrap();
    assert_eq!(stripped, "billing, photo, unclassified");
    // What reached the CRM: the rebuilt body, without what was stripped.
    let sent = received(&proxy, "POST", CONTACTS);
    assert_eq!(sent.len(), 1);
    let props = sent[0]["properties"].as_object().unwrap();
    for gone in ["billing_iban", "photo_url", "made_up_property"] {
        assert!(
            !props.contains_key(gone),
            "{gone} reached the CRM: {props:?}"
        );
    }
    assert_eq!(props["email"], "ada.frost@example.org");
    let audit = proxy.audit_of(&r);
    let w = &audit["writes"][0];
    assert_eq!(w["action"], "create");
    assert_eq!(w["outcome"], "forwarded");
    assert_eq!(w["stripped"], json!(["billing", "photo", "unclassified"]));
    // The answer is the stored record as the form may read it: names, not the e-mail, and
    // nothing of what was stripped.
    let answer = r.json();
    let id = answer["id"].as_str().unwrap();
    assert_eq!(answer["properties"]["firstname"], "Ada");
    for hidden in ["email", "billing_iban", "lifecyclestage", "wish_text"] {
        assert!(
            answer["properties"].get(hidden).is_none(),
            "{hidden}: {answer}"
        );
    }
    assert_eq!(w["id"], id);
    assert!(stored(&proxy, id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refuse_route_refuses_the_whole_write_and_never_forwards_it() {
    let proxy = Proxy::start().await;
    let before = stored(&proxy, "1001").unwrap();
    let r = patch(
        &proxy,
        "noelle",
        "1001",
        json!({"properties": {"firstname": "Nick", "billing_iban": "DE02120300000000202051"}}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let problem = r.json();
    assert_eq!(problem["type"], "urn:crmgate:problem:write-refused");
    assert!(problem["detail"].as_str().unwrap().contains("`billing`"));
    assert!(
        writes_received(&proxy).is_empty(),
        "{:?}",
        writes_received(&proxy)
    );
    assert_eq!(stored(&proxy, "1001").unwrap(), before);
    let audit = proxy.audit_of(&r);
    assert_eq!(audit["writes"][0]["outcome"], "refused");
    assert_eq!(audit["prior_read"], json!(["1001"]));
    // Without the denied group the same update goes through, and is answered filtered.
    let ok = patch(
        &proxy,
        "noelle",
        "1001",
        json!({"properties": {"firstname": "Nick"}}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["properties"]["firstname"], "Nick");
    assert!(ok.json()["properties"].get("billing_iban").is_none());
    assert_eq!(
        stored(&proxy, "1001").unwrap()["properties"]["firstname"],
        "Nick"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_is_decided_on_the_stored_record() {
    let proxy = Proxy::start().await;
    let consent = json!({"properties": {"consent_marketing": "false"}});
    // Marketing may keep a prospect's consent up to date …
    let lead = patch(&proxy, "tinsel", "1031", consent.clone()).await;
    assert_eq!(lead.status, 200, "{}", lead.text());
    assert_eq!(
        stored(&proxy, "1031").unwrap()["properties"]["consent_marketing"],
        "false"
    );
    // … but not change a customer: 1001 is one in the CRM, whatever the request says.
    // Marketing does not see customers for product marketing, so it is "not found".
    let customer = patch(
        &proxy,
        "tinsel",
        "1001",
        json!({"properties": {"consent_marketing": "false", "lifecyclestage": "lead"}}),
    )
    .await;
    assert_eq!(customer.status, 404, "{}", customer.text());
    let missing = patch(
        &proxy,
        "tinsel",
        "9999999",
        json!({"properties": {"consent_marketing": "false", "lifecyclestage": "lead"}}),
    )
    .await;
    assert_eq!(missing.status, 404);
    // A hidden record answers exactly like a missing one.
    let strip = |v: Value| {
        let mut v = v;
        for k in ["request_id", "correlationId"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    assert_eq!(strip(customer.json()), strip(missing.json()));
    // Marketing may read prospect 1031 but not update it into a customer.
    let promote = patch(
        &proxy,
        "tinsel",
        "1033",
        json!({"properties": {"lifecyclestage": "customer"}}),
    )
    .await;
    assert_eq!(promote.status, 403, "{}", promote.text());
    let writes = writes_received(&proxy);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].1, format!("{CONTACTS}/1031"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provenance_is_stamped_on_create_and_cannot_be_overwritten() {
    let proxy = Proxy::start().await;
    let mut body = prospect("bo.snow@example.org", "Skates.");
    body["properties"]["data_source"] = json!("purchased_list");
    body["properties"]["data_source_basis"] = json!("none");
    let r = proxy.post(CONTACTS, "wishlist", None, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let props = stored(&proxy, &id).unwrap()["properties"].clone();
    assert_eq!(props["data_source"], "wish_list_form");
    assert_eq!(
        props["data_source_basis"],
        "Art. 6(1)(b) GDPR (pre-contractual steps at the person's request)"
    );
    assert!(props["data_source_at"].as_str().unwrap().starts_with("20"));
    let audit = proxy.audit_of(&r);
    assert_eq!(
        audit["writes"][0]["stamped"],
        json!(["data_source", "data_source_at", "data_source_basis"])
    );
    // Staff cannot change it afterwards; only a data steward (penny) may.
    let noelle = patch(
        &proxy,
        "noelle",
        "1001",
        json!({"properties": {"data_source": "trade_fair"}}),
    )
    .await;
    assert_eq!(noelle.status, 403, "{}", noelle.text());
    assert_eq!(
        stored(&proxy, "1001").unwrap()["properties"]["data_source"],
        "order"
    );
    let penny = patch(
        &proxy,
        "penny",
        "1001",
        json!({"properties": {"data_source": "trade_fair"}}),
    )
    .await;
    assert_eq!(penny.status, 200, "{}", penny.text());
    assert_eq!(
        stored(&proxy, "1001").unwrap()["properties"]["data_source"],
        "trade_fair"
    );
}

/// Under the default `denied_fields = "refuse"`, a create that carries its own provenance
/// values is not refused for them: crmgate owns the stamped properties and replaces them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_carrying_its_own_provenance_is_stamped_not_refused() {
    // The shipped routes with the contact create on the default (`refuse`).
    let routes = std::fs::read_to_string(crate::support::repo().join("policies/routes.toml"))
        .unwrap()
        .replacen(
            "body = \"create\"\n# A web form sends what it has: fields it may not write are dropped, and named.\ndenied_fields = \"strip\"\n",
            "body = \"create\"\n",
            1,
        );
    assert!(
        routes.matches("denied_fields = \"strip\"").count() == 3,
        "{routes}"
    );
    let proxy = Proxy::start_with(crate::support::Options {
        routes: Some(routes),
        ..Default::default()
    })
    .await;
    let body = json!({"properties": {
        "firstname": "Flo", "lastname": "Drift", "email": "flo.drift@example.org",
        "lifecyclestage": "customer", "data_source": "purchased_list",
        "data_source_at": "1999-01-01T00:00:00Z", "data_source_basis": "none"
    }});
    let r = proxy.post(CONTACTS, "noelle", None, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.headers.get("x-crmgate-stripped").is_none());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let props = stored(&proxy, &id).unwrap()["properties"].clone();
    assert_eq!(props["data_source"], "order");
    assert_ne!(props["data_source_at"], "1999-01-01T00:00:00Z");
    assert_ne!(props["data_source_basis"], "none");
    let sent = received(&proxy, "POST", CONTACTS);
    assert_eq!(sent[0]["properties"]["data_source"], "order");
    let w = &proxy.audit_of(&r)["writes"][0];
    assert_eq!(w["outcome"], "forwarded");
    assert_eq!(
        w["replaced"],
        json!(["data_source", "data_source_at", "data_source_basis"])
    );
    // A provenance property crmgate does not stamp is decided like any other: refused.
    let body = json!({"properties": {
        "firstname": "Gus", "lastname": "Drift", "email": "gus.drift@example.org",
        "lifecyclestage": "customer", "data_source_detail": "a list"
    }});
    let r = proxy.post(CONTACTS, "noelle", None, body).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["type"], "urn:crmgate:problem:write-refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_create_with_allowed_and_denied_inputs_answers_207() {
    let proxy = Proxy::start().await;
    let mut customer = prospect("cy.ice@example.org", "Gloves.");
    customer["properties"]["lifecyclestage"] = json!("customer");
    let body = json!({"inputs": [prospect("di.flake@example.org", "A scarf."), customer]});
    let r = proxy
        .post(&format!("{CONTACTS}/batch/create"), "wishlist", None, body)
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    assert_eq!(answer["numErrors"], 1);
    assert_eq!(
        answer["errors"][0]["subCategory"]["type"], "urn:crmgate:problem:forbidden",
        "{answer}"
    );
    // Only the allowed input reached the CRM.
    let sent = received(&proxy, "POST", &format!("{CONTACTS}/batch/create"));
    assert_eq!(sent.len(), 1);
    let inputs = sent[0]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["properties"]["email"], "di.flake@example.org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_update_answers_refused_hidden_and_missing_inputs_with_207() {
    let proxy = Proxy::start().await;
    let body = json!({"inputs": [
        {"id": "1001", "properties": {"firstname": "Nicholas"}},
        {"id": "1002", "properties": {"billing_iban": "DE02120300000000202051"}},
        {"id": "1056", "properties": {"firstname": "Hidden"}},
        {"id": "9999999", "properties": {"firstname": "Missing"}}
    ]});
    let r = proxy
        .post(&format!("{CONTACTS}/batch/update"), "noelle", None, body)
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    let answer = r.json();
    let ids: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1001"]);
    assert_eq!(answer["numErrors"], 3);
    let errors = answer["errors"].as_array().unwrap();
    let refused = errors
        .iter()
        .find(|e| e["subCategory"]["type"] == "urn:crmgate:problem:write-refused")
        .unwrap();
    assert_eq!(refused["context"]["ids"], json!(["1002"]));
    // The partner contact (hidden for contract fulfilment) and the missing id get the same
    // not-found entry.
    let not_found: BTreeSet<&str> = errors
        .iter()
        .filter(|e| e["category"] == "OBJECT_NOT_FOUND")
        .flat_map(|e| e["context"]["ids"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(not_found, BTreeSet::from(["1056", "9999999"]));
    let sent = received(&proxy, "POST", &format!("{CONTACTS}/batch/update"));
    assert_eq!(
        sent,
        [json!({"inputs": [{"id": "1001", "properties": {"firstname": "Nicholas"}}]})]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_upsert_creates_and_updates_by_lookup_and_refuses_the_rest() {
    let proxy = Proxy::start().await;
    let existing = stored(&proxy, "1003").unwrap()["properties"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"inputs": [
        {"id": existing, "idProperty": "email", "properties": {"email": existing, "jobtitle": "Elf"}},
        {"id": "new.person@example.org", "idProperty": "email", "properties": {"firstname": "New", "lifecyclestage": "lead"}},
        {"id": "other@example.org", "idProperty": "email", "properties": {"email": "other@example.org", "lifecyclestage": "other"}}
    ]});
    let r = proxy
        .post(&format!("{CONTACTS}/batch/upsert"), "noelle", None, body)
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["results"].as_array().unwrap().len(), 2, "{answer}");
    assert_eq!(answer["numErrors"], 1);
    assert_eq!(
        stored(&proxy, "1003").unwrap()["properties"]["jobtitle"],
        "Elf"
    );
    let audit = proxy.audit_of(&r);
    let actions: Vec<&str> = audit["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create", "create"]);
    // The created one carries crmgate's provenance stamp.
    let sent = received(&proxy, "POST", &format!("{CONTACTS}/batch/upsert"));
    let created = sent[0]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "new.person@example.org")
        .unwrap();
    assert_eq!(created["properties"]["data_source"], "order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_archive_archives_what_is_allowed_and_skips_what_is_hidden() {
    let proxy = Proxy::start().await;
    // Customer service, for prospect management: prospects are visible and deletable,
    // customers hidden (skipped like missing ids).
    let body = json!({"inputs": [{"id": "1032"}, {"id": "1001"}, {"id": "9999999"}]});
    let r = proxy
        .post(
            &format!("{CONTACTS}/batch/archive"),
            "holly",
            Some("prospect_management"),
            body,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let sent = received(&proxy, "POST", &format!("{CONTACTS}/batch/archive"));
    assert_eq!(sent, [json!({"inputs": [{"id": "1032"}]})]);
    assert_eq!(stored(&proxy, "1032").unwrap()["archived"], true);
    assert_eq!(stored(&proxy, "1001").unwrap()["archived"], false);
    // Sales may see customers but not delete them: refused, with an error.
    let r = proxy
        .post(
            &format!("{CONTACTS}/batch/archive"),
            "noelle",
            None,
            json!({"inputs": [{"id": "1001"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert_eq!(
        r.json()["errors"][0]["subCategory"]["type"],
        "urn:crmgate:problem:forbidden"
    );
    assert_eq!(stored(&proxy, "1001").unwrap()["archived"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_gdpr_delete_and_merge_are_decided_on_the_stored_records() {
    let proxy = Proxy::start().await;
    let del = proxy
        .request(
            "DELETE",
            &format!("{CONTACTS}/1034"),
            Some("holly"),
            Some("prospect_management"),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.text());
    assert_eq!(stored(&proxy, "1034").unwrap()["archived"], true);
    let denied = proxy
        .request(
            "DELETE",
            &format!("{CONTACTS}/1003"),
            Some("noelle"),
            None,
            None,
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text());

    let gdpr = proxy
        .post(
            &format!("{CONTACTS}/gdpr-delete"),
            "holly",
            Some("prospect_management"),
            json!({"objectId": "1036"}),
        )
        .await;
    assert_eq!(gdpr.status, 204, "{}", gdpr.text());
    assert!(stored(&proxy, "1036").is_none());

    let merge = proxy
        .post(
            &format!("{CONTACTS}/merge"),
            "holly",
            Some("prospect_management"),
            json!({"primaryObjectId": "1031", "objectIdToMerge": "1033"}),
        )
        .await;
    assert_eq!(merge.status, 200, "{}", merge.text());
    assert_eq!(merge.json()["id"], "1031");
    // Merging a record the caller cannot see into one it can: not found, not forwarded.
    let hidden = proxy
        .post(
            &format!("{CONTACTS}/merge"),
            "holly",
            Some("prospect_management"),
            json!({"primaryObjectId": "1031", "objectIdToMerge": "1001"}),
        )
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.text());
    let merges = received(&proxy, "POST", &format!("{CONTACTS}/merge"));
    assert_eq!(merges.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intent_of_a_write_is_in_the_log_before_its_record() {
    let proxy = Proxy::start().await;
    let r = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("eve.hail@example.org", "A kite."),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rid = r.headers["x-request-id"].to_str().unwrap().to_string();
    let entries: Vec<Value> = log_entries(&proxy)
        .into_iter()
        .filter(|e| e["request_id"] == rid.as_str())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["kind"], "write_intent");
    assert_eq!(entries[0]["writes"][0]["action"], "create");
    assert!(entries[1].get("kind").is_none());
    assert_eq!(entries[1]["status"], 201);
    assert!(entries[0]["seq"].as_u64() < entries[1]["seq"].as_u64());
    // The subject report finds the write.
    let id = r.json()["id"].as_str().unwrap().to_string();
    let records = audit_records(&proxy.audit_dir());
    assert!(records
        .iter()
        .any(|rec| rec["writes"][0]["id"] == id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_bodies_must_be_json_objects_of_string_values() {
    let proxy = Proxy::start().await;
    let path = format!("{CONTACTS}/1001");
    let cases: Vec<(Option<&str>, Vec<u8>, u16)> = vec![
        (Some("text/plain"), br#"{"properties":{}}"#.to_vec(), 415),
        (None, br#"{"properties":{}}"#.to_vec(), 415),
        (
            Some("application/x-www-form-urlencoded"),
            b"properties=x".to_vec(),
            415,
        ),
        (
            Some("application/json"),
            br#"{"properties":{"firstname":"a","firstname":"b"}}"#.to_vec(),
            400,
        ),
        (
            Some("application/json"),
            br#"{"properties":{"firstname":1}}"#.to_vec(),
            400,
        ),
        (
            Some("application/json"),
            br#"{"properties":{"firstname":"a"},"x":1}"#.to_vec(),
            400,
        ),
        (
            Some("application/json"),
            b"{\"properties\":{\"firstname\":\"\xff\"}}".to_vec(),
            400,
        ),
        (
            Some("application/json"),
            br#"{"properties":{"firstname":"\ud800"}}"#.to_vec(),
            400,
        ),
        (Some("application/json"), b"".to_vec(), 400),
    ];
    for (ct, body, want) in cases {
        let r = proxy
            .request_bytes("PATCH", &path, "noelle", None, ct, body.clone())
            .await;
        assert_eq!(
            r.status,
            want,
            "{ct:?} {}: {}",
            String::from_utf8_lossy(&body),
            r.text()
        );
        assert!(r.json()["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:crmgate:problem:"));
        let audit = proxy.audit_of(&r);
        assert_eq!(audit["status"], want);
    }
    assert!(writes_received(&proxy).is_empty());
}

/// Every `n_*` file of the JSON conformance corpus as a write body: 400, never forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_json_of_the_test_suite_is_a_400_and_never_forwarded() {
    let Some(shared) = crate::conformance::shared(
        "every_invalid_json_of_the_test_suite_is_a_400_and_never_forwarded",
    ) else {
        return;
    };
    let proxy = Proxy::start().await;
    let dir = shared.join("jsontestsuite/test_parsing");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("n_"))
        })
        .collect();
    files.sort();
    assert!(files.len() > 150, "{}", files.len());
    for f in &files {
        let body = std::fs::read(f).unwrap();
        let r = proxy
            .request_bytes(
                "POST",
                CONTACTS,
                "wishlist",
                None,
                Some("application/json"),
                body,
            )
            .await;
        assert_eq!(r.status, 400, "{}: {}", f.display(), r.text());
    }
    assert!(writes_received(&proxy).is_empty());
    eprintln!("{} invalid JSON bodies refused with 400", files.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purpose_in_the_base_url_and_a_date_versioned_path_are_checked_like_the_header() {
    let proxy = Proxy::start().await;
    let r = proxy
        .post(
            "/purpose/prospect_management/crm/objects/2026-03/contacts",
            "wishlist",
            None,
            prospect("fay.drift@example.org", "A snow globe."),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let audit = proxy.audit_of(&r);
    assert_eq!(audit["purpose"], "prospect_management");
    assert_eq!(audit["route"], "contacts.create");
    // What reached the CRM is the canonical path, without the purpose.
    let sent: Vec<String> = proxy
        .crm()
        .received()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(sent, [CONTACTS.to_string()]);
    // A purpose the app may not declare is refused, in the path as in the header.
    let r = proxy
        .post(
            "/purpose/greetings/crm/v3/objects/contacts",
            "wishlist",
            None,
            prospect("gil.rime@example.org", "Mittens."),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = proxy
        .post(
            "/purpose/no_such_purpose/crm/v3/objects/contacts",
            "wishlist",
            None,
            prospect("gil.rime@example.org", "Mittens."),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // Path and header must agree.
    let r = proxy
        .post(
            "/purpose/prospect_management/crm/v3/objects/contacts",
            "holly",
            Some("contract_fulfilment"),
            prospect("gil.rime@example.org", "Mittens."),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(writes_received(&proxy).len(), 1);
}

/// A write that names its record by a property value selects by it: a property the caller
/// does not see in clear cannot be used, or 404-or-not would reveal who has that value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cannot_look_up_records_by_a_field_the_caller_may_not_see() {
    let proxy = Proxy::start().await;
    let iban = stored(&proxy, "1001").unwrap()["properties"]["billing_iban"]
        .as_str()
        .unwrap()
        .replace(' ', "");
    for (path, body) in [
        (
            format!("{CONTACTS}/{iban}?idProperty=billing_iban"),
            json!({"properties": {"firstname": "Nick"}}),
        ),
        (
            format!("{CONTACTS}/NOPE?idProperty=billing_iban"),
            json!({"properties": {"firstname": "Nick"}}),
        ),
    ] {
        let r = proxy
            .request("PATCH", &path, Some("noelle"), None, Some(body))
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()["type"], "urn:crmgate:problem:hidden-selection");
    }
    let r = proxy
        .post(
            &format!("{CONTACTS}/batch/update"),
            "noelle",
            None,
            json!({"inputs": [{"id": iban, "idProperty": "billing_iban", "properties": {"firstname": "N"}}]}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Nothing was read or written for them.
    assert!(proxy.crm().received().is_empty());
    // By e-mail, which sales sees in clear, the lookup works.
    let email = stored(&proxy, "1001").unwrap()["properties"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let r = patch(
        &proxy,
        "noelle",
        &format!("{email}?idProperty=email"),
        json!({"properties": {"jobtitle": "Miser emeritus"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        stored(&proxy, "1001").unwrap()["properties"]["jobtitle"],
        "Miser emeritus"
    );
}

/// Write-ahead: a write whose intent cannot be made durable is never forwarded (a full
/// disk under the audit log: 503, and the CRM sees no write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_audit_record_cannot_be_written_is_not_forwarded() {
    use crate::audit::{cannot_run, mount_tmpfs, Unmount};
    let tmp = tempfile::tempdir().unwrap();
    let fs = tmp.path().join("fs");
    if mount_tmpfs(&fs, "256k").is_none() {
        return cannot_run("it needs to mount a tmpfs (root with CAP_SYS_ADMIN)");
    }
    let _unmount = Unmount(fs.clone());
    let proxy = Proxy::start_with(crate::support::Options {
        audit_dir: Some(fs.join("audit")),
        ..crate::support::Options::default()
    })
    .await;
    let ok = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("hal.sleet@example.org", "A drum."),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    {
        use std::io::Write;
        let mut f = std::fs::File::create(fs.join("filler")).unwrap();
        let chunk = vec![b'x'; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    proxy.crm().clear_received();
    let mut replies = Vec::new();
    for i in 0..20 {
        let r = proxy
            .post(
                CONTACTS,
                "wishlist",
                None,
                prospect(&format!("ivy{i}.hail@example.org"), "A kite."),
            )
            .await;
        assert!(r.status == 503 || r.status == 201, "{}", r.text());
        replies.push(r);
    }
    // The intents that became durable, by request id.
    let intents: BTreeSet<String> = log_entries(&proxy)
        .into_iter()
        .filter(|e| e["kind"] == "write_intent")
        .map(|e| e["request_id"].as_str().unwrap().to_string())
        .collect();
    // Every write the CRM saw had its intent on disk first …
    let forwarded: Vec<String> = proxy
        .crm()
        .received()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "x-request-id")
                .map(|(_, v)| v.clone())
                .unwrap()
        })
        .collect();
    for id in &forwarded {
        assert!(
            intents.contains(id),
            "write {id} reached the CRM without its intent"
        );
    }
    // … and writes whose intent could not be written were refused and never forwarded.
    let not_written: Vec<String> = replies
        .iter()
        .filter(|r| r.status == 503)
        .map(|r| r.headers["x-request-id"].to_str().unwrap().to_string())
        .filter(|id| !intents.contains(id))
        .collect();
    assert!(
        !not_written.is_empty(),
        "the full disk never refused an intent"
    );
    for id in &not_written {
        assert!(
            !forwarded.contains(id),
            "{id} was forwarded without its intent"
        );
    }
}

/// Free text is scanned before it goes anywhere: what reaches the CRM holds markers, not
/// the illness or the account number; where the policy does not let crmgate redact for the
/// caller, the write is refused (422) and nothing is forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_unscanned_reaches_the_upstream() {
    let proxy = Proxy::start().await;
    let wish = "Ich habe Diabetes und wünsche mir zuckerfreie Plätzchen. \
                Meine IBAN: DE89 3704 0044 0532 0130 00, Steuer-ID 65929970489.";
    let r = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("jo.frost@example.org", wish),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let notice = r.headers["x-crmgate-redacted"].to_str().unwrap();
    for category in ["health", "iban", "tax_id"] {
        assert!(notice.contains(category), "{notice}");
    }
    // The CRM's ledger: the rebuilt body holds the redacted text only.
    let ledger: Vec<String> = proxy
        .crm()
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for secret in ["Diabetes", "0532", "65929970489", "3704"] {
        assert!(
            ledger.iter().all(|b| !b.contains(secret)),
            "{secret} reached the CRM: {ledger:?}"
        );
    }
    assert!(ledger.iter().any(|b| b.contains("zuckerfreie")));
    let audit = proxy.audit_of(&r);
    let redacted = &audit["writes"][0]["redacted"]["wish_text"];
    assert_eq!(redacted["health"], 1, "{audit}");
    assert_eq!(redacted["iban"], 1, "{audit}");
    // The audit log holds categories and counts, never the values.
    let log = std::fs::read_dir(proxy.audit_dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(!log.contains("Diabetes") && !log.contains("0532"));
}

/// The policy decides per caller whether a category is redacted or the write refused:
/// marketing (here allowed to write the wish text) is not redacted for, so its text with a
/// special category is refused with 422 and nothing is forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_text_the_policy_does_not_redact_for_the_caller_is_refused() {
    let santa =
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap();
    let proxy = Proxy::start_with(crate::support::Options {
        policies: Some(format!(
            "{santa}\n@id(\"marketing-notes-wishes\")\npermit (principal in Department::\"marketing\", \
             action == Action::\"write.wish_text\", resource is Contact);\n"
        )),
        ..crate::support::Options::default()
    })
    .await;
    let clean = patch(
        &proxy,
        "tinsel",
        "1031",
        json!({"properties": {"wish_text": "Lebkuchen, bitte."}}),
    )
    .await;
    assert_eq!(clean.status, 200, "{}", clean.text());
    proxy.crm().clear_received();
    let r = patch(
        &proxy,
        "tinsel",
        "1031",
        json!({"properties": {"wish_text": "Sie ist Muslima und fastet im Ramadan."}}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let problem = r.json();
    assert_eq!(
        problem["type"],
        "urn:crmgate:problem:sensitive-data-refused"
    );
    assert!(problem["detail"].as_str().unwrap().contains("religion"));
    assert!(!r.text().contains("Muslima"));
    assert!(writes_received(&proxy).is_empty());
    assert_eq!(proxy.audit_of(&r)["writes"][0]["outcome"], "refused");
}

/// A write's decisions (record, field groups, redaction categories) are counted in its audit
/// record and memoised: the same write for the same caller costs no Cedar evaluation again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_decisions_are_counted_and_memoised() {
    let proxy = Proxy::start().await;
    let wish = "My son has asthma. Please charge DE89 3704 0044 0532 0130 00.";
    let first = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("kim.thaw@example.org", wish),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let second = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("lou.thaw@example.org", wish),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text());
    let a = proxy.audit_of(&first);
    let b = proxy.audit_of(&second);
    // Request, create, read, the groups written, two redaction categories (and the
    // answer's read plan) — then nothing new.
    assert!(a["cedar_evaluations"].as_u64().unwrap() >= 5, "{a}");
    assert_eq!(b["cedar_evaluations"], 0, "{b}");
}

/// Issue 21, item 5: a merge refused with 404 (the record to merge is hidden from the
/// caller) used to record the visible record as `forwarded` although nothing was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_merge_records_nothing_as_forwarded() {
    let proxy = Proxy::start_with(crate::support::Options {
        binary: true,
        ..Default::default()
    })
    .await;
    let hidden = proxy
        .post(
            &format!("{CONTACTS}/merge"),
            "holly",
            Some("prospect_management"),
            json!({"primaryObjectId": "1031", "objectIdToMerge": "1001"}),
        )
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.text());
    assert!(received(&proxy, "POST", &format!("{CONTACTS}/merge")).is_empty());
    let rec = proxy.audit_of(&hidden);
    let writes = rec["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 2, "{rec}");
    assert!(
        writes.iter().all(|w| w["outcome"] != "forwarded"),
        "nothing was sent: {rec}"
    );
    let primary = writes.iter().find(|w| w["id"] == "1031").unwrap();
    assert_eq!(primary["outcome"], "not-sent", "{rec}");
    assert_eq!(primary["reason"], "record-not-found", "{rec}");
    assert!(rec["upstream_status"].is_null(), "{rec}");
}

/// Issue 21, item 5: when the CRM answered a write with an error status (seen: 413), the
/// record had `upstream_status: null`. It says what the CRM answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_crm_refuses_records_the_crm_status() {
    let crm = crate::support::RawUpstream::start(|_| {
        crate::support::http_response(
            "413 Payload Too Large",
            &[("Content-Type", "application/json")],
            br#"{"status":"error","message":"too large","category":"VALIDATION_ERROR"}"#,
        )
    })
    .await;
    let proxy = Proxy::start_with(crate::support::Options {
        binary: true,
        upstream: crate::support::Upstream::Addr(crm.addr),
        ..Default::default()
    })
    .await;
    let r = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("eve.hail@example.org", "A kite."),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(crm.received.lock().unwrap().len(), 1, "the write was sent");
    let rec = proxy.audit_of(&r);
    assert_eq!(rec["upstream_status"], 413, "{rec}");
    assert_eq!(rec["writes"][0]["outcome"], "forwarded", "{rec}");
}
