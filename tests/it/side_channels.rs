//! No side channels: what a caller may not see must not shape what it gets back — search
//! counts, paging, lookups and sorts by hidden fields, and the answer for a hidden record.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{Proxy, Reply};

const SEARCH: &str = "/crm/v3/objects/contacts/search";
const BATCH: &str = "/crm/v3/objects/contacts/batch/read";

/// The upstream's own view of a contact.
fn stored(proxy: &Proxy, id: &str) -> Value {
    proxy.crm().record_json("contacts", id).unwrap()
}

fn prop(record: &Value, name: &str) -> String {
    record["properties"][name]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// All non-archived contacts as the CRM stores them.
fn contacts(proxy: &Proxy) -> Vec<Value> {
    (1001..=1070)
        .filter_map(|id| proxy.crm().record_json("contacts", &id.to_string()))
        .filter(|r| r["archived"] != Value::Bool(true))
        .collect()
}

/// The problem body without the parts that differ per request (the request id, also as
/// HubSpot's `correlationId`).
fn problem_without_request_id(reply: &Reply) -> Value {
    let id = reply.headers["x-request-id"].to_str().unwrap().to_string();
    let mut body = reply.json();
    let obj = body.as_object_mut().unwrap();
    assert_eq!(obj.remove("request_id").unwrap(), id.as_str());
    assert!(obj.remove("correlationId").is_some());
    body
}

fn result_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_count_never_counts_hidden_records() {
    let proxy = Proxy::start_binary().await;
    // Marketing may never read wish texts (health data): a search by one is refused whether
    // or not any wish holds the word, so the answer says nothing about the wishes.
    let by_wish = |word: &str| {
        json!({
            "filterGroups": [{"filters": [{"propertyName": "wish_text", "operator": "CONTAINS_TOKEN", "value": word}]}],
            "limit": 1
        })
    };
    let written = proxy
        .post(
            SEARCH,
            "tinsel",
            Some("product_marketing"),
            by_wish("Diabetes*"),
        )
        .await;
    let unwritten = proxy
        .post(
            SEARCH,
            "tinsel",
            Some("product_marketing"),
            by_wish("Xylophonitis*"),
        )
        .await;
    assert_eq!(written.status, 403, "{}", written.text());
    assert_eq!(
        written.json()["type"],
        "urn:crmgate:problem:hidden-selection"
    );
    assert!(written.text().contains("`wish_text`"), "{}", written.text());
    assert_eq!(unwritten.status, written.status);
    assert_eq!(
        problem_without_request_id(&written),
        problem_without_request_id(&unwritten)
    );
    assert!(
        !proxy
            .crm()
            .received()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("wish_text")),
        "a refused search never reaches the CRM"
    );

    // A search by a field marketing sees in clear matches every contact in the CRM; `total`
    // and the pages count only the consenting prospects marketing is shown.
    let expected: BTreeSet<String> = contacts(&proxy)
        .iter()
        .filter(|r| {
            ["lead", "subscriber"].contains(&prop(r, "lifecyclestage").as_str())
                && prop(r, "consent_marketing") == "true"
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(expected.len() > 5 && expected.len() < contacts(&proxy).len());
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..50 {
        let mut body = json!({
            "filterGroups": [{"filters": [{"propertyName": "lastname", "operator": "HAS_PROPERTY"}]}],
            "properties": ["firstname", "lastname"],
            "limit": 5
        });
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let reply = proxy
            .post(SEARCH, "tinsel", Some("product_marketing"), body)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let body = reply.json();
        assert_eq!(
            body["total"],
            json!(expected.len()),
            "page {page}: the count is of what marketing is shown"
        );
        let ids = result_ids(&body);
        after = body["paging"]["next"]["after"].as_str().map(String::from);
        if after.is_some() {
            assert_eq!(ids.len(), 5, "every page but the last is full");
        }
        seen.extend(ids);
        if after.is_none() {
            break;
        }
    }
    assert!(after.is_none(), "paging ends");
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "no record is repeated across pages"
    );
    assert_eq!(
        unique, expected,
        "paging yields exactly what marketing may see"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_by_a_hidden_field_is_refused_and_never_reaches_the_crm() {
    let proxy = Proxy::start_binary().await;
    let scrooge = stored(&proxy, "1001");
    let iban = prop(&scrooge, "billing_iban");
    let email = prop(&scrooge, "email");
    assert!(!iban.is_empty() && !email.is_empty());
    let before = proxy.crm().received().len();

    // Sales does not see billing data: who owns this IBAN is not theirs to learn.
    let path = format!(
        "/crm/v3/objects/contacts/{}?idProperty=billing_iban",
        iban.replace(' ', "%20")
    );
    let reply = proxy.get(&path, "noelle", None).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("`billing`"), "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["reason"], "hidden-selection");
    let compact = iban.replace(' ', "");
    let logged = audit.to_string();
    assert!(
        !logged.contains(&compact) && !logged.contains("NPOL"),
        "the looked-up value never enters the audit record: {logged}"
    );

    // The same lookup in a batch.
    let reply = proxy
        .post(
            BATCH,
            "noelle",
            None,
            json!({"idProperty": "billing_iban", "inputs": [{"id": iban}], "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());

    // Management sees names only as pseudonyms and no e-mail: a lookup by e-mail would tell
    // whose pseudonym is whose.
    let reply = proxy
        .get(
            &format!("/crm/v3/objects/contacts/{email}?idProperty=email"),
            "santa",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("`email`"), "{}", reply.text());
    assert_eq!(
        proxy.crm().received().len(),
        before,
        "no refused lookup reached the CRM"
    );

    // Refused before any stage looked at it (no credential): the value is not logged either.
    let reply = proxy
        .request(
            "GET",
            &format!("/crm/v3/objects/contacts/{email}?idProperty=email"),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert!(!audit.to_string().contains(&email), "{audit}");
    assert!(
        audit["path"]
            .as_str()
            .unwrap()
            .starts_with("/crm/v3/objects/contacts/{email=h_"),
        "{audit}"
    );

    // Sales sees e-mail addresses in clear: its lookup works, and the audit path holds a
    // pseudonym of the address, not the address.
    let reply = proxy
        .get(
            &format!("/crm/v3/objects/contacts/{email}?idProperty=email"),
            "noelle",
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["id"], "1001");
    let audit = proxy.audit_of(&reply);
    let path = audit["path"].as_str().unwrap();
    assert!(!audit.to_string().contains(&email), "{audit}");
    assert!(
        path.starts_with("/crm/v3/objects/contacts/{email=h_"),
        "{path}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sort_by_a_hidden_field_is_refused() {
    let proxy = Proxy::start_binary().await;
    // HubSpot also takes a bare property name as a sort; crmgate does not guess what it
    // orders by.
    let bare = proxy
        .post(
            SEARCH,
            "noelle",
            None,
            json!({"sorts": ["billing_iban"], "limit": 100}),
        )
        .await;
    assert_eq!(bare.status, 400, "{}", bare.text());
    let object = proxy
        .post(
            SEARCH,
            "noelle",
            None,
            json!({"sorts": [{"propertyName": "billing_iban", "direction": "ASCENDING"}], "limit": 100}),
        )
        .await;
    assert_eq!(object.status, 403, "{}", object.text());
    assert!(object.text().contains("`billing`"), "{}", object.text());
    for malformed in [
        json!({"filterGroups": {"filters": []}}),
        json!({"sorts": "lastname"}),
        json!({"filterGroups": [{"filters": [{"propertyName": "lastname", "operator": "SOUNDS_LIKE", "value": "x"}]}]}),
        json!({"limit": 10, "offset": 3}),
        json!({"properties": "firstname"}),
    ] {
        let reply = proxy.post(SEARCH, "noelle", None, malformed.clone()).await;
        assert_eq!(reply.status, 400, "{malformed}: {}", reply.text());
    }
    // A sort by a field sales sees in clear works, in the CRM's order.
    let ok = proxy
        .post(
            SEARCH,
            "noelle",
            None,
            json!({"sorts": [{"propertyName": "lastname", "direction": "DESCENDING"}], "properties": ["lastname"], "limit": 100}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let names: Vec<String> = ok.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| prop(r, "lastname"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert!(!names.is_empty());
    assert_eq!(names, sorted);
    assert_eq!(ok.json()["total"], json!(names.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_record_answers_exactly_like_a_missing_one() {
    let proxy = Proxy::start_binary().await;
    // 1001 is a customer: product marketing is shown only consenting prospects.
    let hidden = proxy
        .get(
            "/crm/v3/objects/contacts/1001",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    let missing = proxy
        .get(
            "/crm/v3/objects/contacts/999999",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    assert_eq!(hidden.status, 404);
    assert_eq!(missing.status, hidden.status);
    assert_eq!(
        problem_without_request_id(&hidden),
        problem_without_request_id(&missing)
    );
    let names = |r: &Reply| -> BTreeSet<String> {
        r.headers.keys().map(|k| k.as_str().to_string()).collect()
    };
    assert_eq!(names(&hidden), names(&missing));
    for h in [
        "content-type",
        "cache-control",
        "www-authenticate",
        "connection",
    ] {
        assert_eq!(hidden.headers.get(h), missing.headers.get(h), "{h}");
    }

    // In a batch read a hidden and a missing input get the same error entry.
    let visible = contacts(&proxy)
        .into_iter()
        .find(|r| prop(r, "lifecyclestage") == "lead" && prop(r, "consent_marketing") == "true")
        .unwrap();
    let visible_id = visible["id"].as_str().unwrap().to_string();
    let reply = proxy
        .post(
            BATCH,
            "tinsel",
            Some("product_marketing"),
            json!({"inputs": [{"id": "1001"}, {"id": "999999"}, {"id": visible_id}], "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(reply.status, 207, "{}", reply.text());
    let body = reply.json();
    assert_eq!(result_ids(&body), vec![visible_id]);
    assert_eq!(body["numErrors"], 2);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    let mut shapes: Vec<Value> = errors.to_vec();
    let ids: Vec<Value> = shapes
        .iter_mut()
        .map(|e| e["context"].as_object_mut().unwrap().remove("ids").unwrap())
        .collect();
    assert_eq!(ids, vec![json!(["1001"]), json!(["999999"])]);
    assert_eq!(
        shapes[0], shapes[1],
        "the two entries differ only in the id"
    );
    assert!(!reply.text().contains("Scrooge"));
}

/// The ids a record's answer lists as associated of one type.
fn associated(record: &Value, key: &str) -> BTreeSet<String> {
    record["associations"][key]["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Which records of `kind` a caller can GET (200), asked once per id.
async fn readable(
    proxy: &Proxy,
    kind: &str,
    ids: &BTreeSet<String>,
    user: &str,
    purpose: &str,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for id in ids {
        let reply = proxy
            .get(&format!("/crm/v3/objects/{kind}/{id}"), user, Some(purpose))
            .await;
        assert!(
            [200, 404].contains(&reply.status),
            "{kind}/{id}: {}",
            reply.text()
        );
        if reply.status == 200 {
            out.insert(id.clone());
        }
    }
    out
}

/// Every record of `from` (single and list form) names, of type `to`, exactly the
/// associated records the caller can GET.
async fn associations_match_reads(
    proxy: &Proxy,
    from: &str,
    to: &str,
    user: &str,
    purpose: &str,
) -> usize {
    let crm = proxy.crm();
    let all: BTreeSet<String> = crm
        .record_ids(from, false)
        .iter()
        .flat_map(|id| crm.associated_ids(from, id))
        .collect();
    let can_read = readable(proxy, to, &all, user, purpose).await;
    let list = proxy
        .get(
            &format!("/crm/v3/objects/{from}?associations={to}&limit=100"),
            user,
            Some(purpose),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    let listed: Vec<Value> = list.json()["results"].as_array().unwrap().clone();
    let mut checked = 0;
    for record in &listed {
        let id = record["id"].as_str().unwrap();
        let expected: BTreeSet<String> = crm
            .associated_ids(from, id)
            .into_iter()
            .filter(|a| can_read.contains(a))
            .collect();
        assert_eq!(
            associated(record, to),
            expected,
            "{user}/{purpose}: {from} {id} in a list names exactly the {to} it may read"
        );
        let single = proxy
            .get(
                &format!("/crm/v3/objects/{from}/{id}?associations={to}"),
                user,
                Some(purpose),
            )
            .await;
        assert_eq!(single.status, 200, "{}", single.text());
        let body = single.json();
        assert_eq!(
            associated(&body, to),
            expected,
            "{user}/{purpose}: {from}/{id} names exactly the {to} it may read"
        );
        if expected.is_empty() {
            // Left with none, the member is omitted as the CRM omits it: hidden = missing.
            assert!(body.get("associations").is_none(), "{body}");
        }
        checked += usize::from(!crm.associated_ids(from, id).is_empty());
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn associations_never_name_a_record_the_caller_cannot_read() {
    // With the deletion concept: records due for deletion are hidden too.
    let retention = || crate::support::Options {
        binary: true,
        policy_lines: format!(
            "retention = \"{}\"",
            crate::support::repo()
                .join("policies/retention.toml")
                .display()
        ),
        extra_config: "[retention]\ntoday = \"2026-12-02\"\n".into(),
        ..crate::support::Options::default()
    };
    let proxy = Proxy::start_with(retention()).await;
    // holly (customer service) manages prospects: customer 1001 is not hers to read, and
    // company 2001 must not name it either.
    let hidden = proxy
        .get(
            "/crm/v3/objects/contacts/1001",
            "holly",
            Some("prospect_management"),
        )
        .await;
    assert_eq!(hidden.status, 404);
    assert!(proxy
        .crm()
        .associated_ids("companies", "2001")
        .contains(&"1001".to_string()));
    let company = proxy
        .get(
            "/crm/v3/objects/companies/2001?associations=contacts",
            "holly",
            Some("prospect_management"),
        )
        .await;
    assert_eq!(company.status, 200, "{}", company.text());
    assert!(!associated(&company.json(), "contacts").contains("1001"));
    assert!(!company.text().contains("\"1001\""), "{}", company.text());
    let audit = proxy.audit_of(&company);
    assert!(
        audit["associations_dropped"]
            .as_array()
            .unwrap()
            .contains(&json!("contacts/1001")),
        "{audit}"
    );
    // For contract fulfilment she reads 1001, and 2001 names it.
    let company = proxy
        .get(
            "/crm/v3/objects/companies/2001?associations=contacts",
            "holly",
            Some("contract_fulfilment"),
        )
        .await;
    assert!(associated(&company.json(), "contacts").contains("1001"));
    let audit = proxy.audit_of(&company);
    assert!(
        audit["associations_shown"]
            .as_array()
            .unwrap()
            .contains(&json!("contacts/1001")),
        "{audit}"
    );

    // 1005 is due for deletion: 404 to sales, and company 2009 does not name it.
    let due = proxy
        .get(
            "/crm/v3/objects/contacts/1005",
            "noelle",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(due.status, 404);
    assert!(proxy
        .crm()
        .associated_ids("companies", "2009")
        .contains(&"1005".to_string()));
    let company = proxy
        .get(
            "/crm/v3/objects/companies/2009?associations=contacts",
            "noelle",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(company.status, 200, "{}", company.text());
    assert!(!associated(&company.json(), "contacts").contains("1005"));

    // Every company, single and listed, names exactly the contacts the caller can read.
    let mut checked = 0;
    for (user, purpose) in [
        ("holly", "prospect_management"),
        ("noelle", "contract_fulfilment"),
        ("santa", "partner_relations"),
    ] {
        checked += associations_match_reads(&proxy, "companies", "contacts", user, purpose).await;
        checked += associations_match_reads(&proxy, "contacts", "companies", user, purpose).await;
    }
    assert!(
        checked > 20,
        "too few records with associations were checked"
    );

    // The other direction: a contact does not name a company the caller may not read.
    let santa =
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap();
    let policies = format!(
        "{santa}\n@id(\"test-no-customer-companies-for-customer-service\")\n\
         forbid (principal in Department::\"customer_service\", action == Action::\"read\", resource is Company)\n\
         when {{ resource.lifecycle == \"customer\" }};\n"
    );
    let proxy = Proxy::start_with(crate::support::Options {
        policies: Some(policies),
        ..retention()
    })
    .await;
    let company = proxy
        .get(
            "/crm/v3/objects/companies/2001",
            "holly",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(company.status, 404);
    let contact = proxy
        .get(
            "/crm/v3/objects/contacts/1001?associations=companies",
            "holly",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(contact.status, 200, "{}", contact.text());
    assert!(
        contact.json().get("associations").is_none(),
        "{}",
        contact.text()
    );
    assert!(!contact.text().contains("\"2001\""), "{}", contact.text());
    let checked = associations_match_reads(
        &proxy,
        "contacts",
        "companies",
        "holly",
        "contract_fulfilment",
    )
    .await;
    assert!(checked > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_never_show_the_crms_position() {
    // The CRM's cursor is a position among everything it holds (HubSpot's names the record a
    // page starts at, which may be hidden): crmgate's cursor carries it, but unreadably.
    let proxy = Proxy::start_binary().await;
    let mut after: Option<String> = None;
    let mut cursors = Vec::new();
    for _ in 0..3 {
        let mut path = "/crm/v3/objects/contacts?limit=2".to_string();
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let reply = proxy.get(&path, "tinsel", Some("product_marketing")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        after = reply.json()["paging"]["next"]["after"]
            .as_str()
            .map(String::from);
        cursors.push(after.clone().unwrap());
    }
    for cursor in &cursors {
        for part in cursor.split(['.', '-', '_']) {
            let readable = hex::decode(part)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            assert!(
                !readable.contains("\"a\"") && !readable.contains("\"k\""),
                "the cursor shows the CRM's position: {readable}"
            );
        }
    }
    // The same position sealed twice reads differently (a fresh nonce each time).
    let again = proxy
        .get(
            "/crm/v3/objects/contacts?limit=2",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    assert_ne!(
        again.json()["paging"]["next"]["after"].as_str().unwrap(),
        cursors[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answers_an_association_to_a_hidden_record_like_one_to_a_missing_record() {
    // Customer service may associate what it creates, but may not read customer companies:
    // whether company 2001 exists is not its to learn through a create.
    let santa =
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap();
    let policies = format!(
        "{santa}\n@id(\"test-service-writes-associations\")\n\
         permit (principal in Department::\"customer_service\", action == Action::\"write.associations\", resource is Contact);\n\
         @id(\"test-no-customer-companies-for-customer-service\")\n\
         forbid (principal in Department::\"customer_service\", action == Action::\"read\", resource is Company)\n\
         when {{ resource.lifecycle == \"customer\" }};\n"
    );
    let proxy = Proxy::start_with(crate::support::Options {
        binary: true,
        policies: Some(policies),
        ..crate::support::Options::default()
    })
    .await;
    let purpose = Some("contract_fulfilment");
    assert_eq!(
        proxy
            .get("/crm/v3/objects/companies/2001", "holly", purpose)
            .await
            .status,
        404
    );
    let readable = proxy
        .get("/crm/v3/objects/companies/2002", "holly", purpose)
        .await;
    assert_eq!(readable.status, 200, "{}", readable.text());
    let create = |n: u32, company: &str| {
        json!({
            "properties": {"firstname": "Ivy", "lastname": format!("Probe{n}"),
                           "email": format!("ivy{n}@example.com"), "lifecyclestage": "customer"},
            "associations": [{"to": {"id": company},
                              "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]
        })
    };
    let path = "/crm/v3/objects/contacts";
    let hidden = proxy.post(path, "holly", purpose, create(1, "2001")).await;
    let missing = proxy.post(path, "holly", purpose, create(2, "2999")).await;
    assert_eq!(missing.status, 400, "{}", missing.text());
    assert_eq!(hidden.status, missing.status, "{}", hidden.text());
    assert_eq!(
        problem_without_request_id(&hidden),
        problem_without_request_id(&missing)
    );
    assert!(
        proxy
            .crm()
            .find_record("contacts", "email", "ivy1@example.com")
            .is_none(),
        "no contact was associated to the hidden company"
    );
    // A company it may read is associated as asked.
    let shown = proxy.post(path, "holly", purpose, create(3, "2002")).await;
    assert_eq!(shown.status, 201, "{}", shown.text());
    let id = shown.json()["id"].as_str().unwrap().to_string();
    assert!(proxy
        .crm()
        .associated_ids("contacts", &id)
        .contains(&"2002".to_string()));
}
