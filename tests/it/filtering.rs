//! What each persona sees, for each purpose: exact property sets, masks, rows.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{prop_names, Proxy};

const GROUPS: &[(&str, &[&str])] = &[
    ("identity", &["firstname", "lastname", "salutation"]),
    ("email", &["email"]),
    ("phone", &["phone", "mobilephone"]),
    ("address", &["address", "city", "zip", "country"]),
    (
        "billing",
        &["billing_address", "billing_iban", "payment_method"],
    ),
    ("birthday", &["date_of_birth"]),
    ("photo", &["photo_url"]),
    ("wish_text", &["wish_text"]),
    ("company", &["company", "jobtitle"]),
    (
        "consent",
        &["consent_greetings", "consent_survey", "consent_marketing"],
    ),
    ("provenance", &["data_source", "data_source_detail"]),
    (
        "status",
        &[
            "lifecyclestage",
            "owner_department",
            "last_activity_date",
            "hs_object_id",
            "createdate",
            "lastmodifieddate",
        ],
    ),
];

fn all_properties() -> String {
    GROUPS
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
}

fn props_of(groups: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = GROUPS
        .iter()
        .filter(|(g, _)| groups.contains(g))
        .flat_map(|(_, p)| p.iter().map(|s| s.to_string()))
        .collect();
    v.sort();
    v
}

/// The upstream's own view of a contact, as the CRM stores it.
fn stored(proxy: &Proxy, id: &str) -> Value {
    proxy.crm().record_json("contacts", id).unwrap()
}

fn prop<'a>(record: &'a Value, name: &str) -> &'a str {
    record["properties"][name].as_str().unwrap_or("")
}

/// (user, purpose, groups seen in clear or masked) for contact 1001, an existing customer
/// with greetings and survey consent.
const SINGLE_CASES: &[(&str, &str, &[&str])] = &[
    (
        "noelle",
        "contract_fulfilment",
        &[
            "identity",
            "email",
            "phone",
            "address",
            "company",
            "consent",
            "provenance",
            "status",
        ],
    ),
    (
        "rudolph",
        "customer_visit",
        &[
            "identity",
            "email",
            "phone",
            "address",
            "company",
            "photo",
            "provenance",
            "status",
        ],
    ),
    (
        "tinsel",
        "greetings",
        &["identity", "email", "address", "consent", "birthday"],
    ),
    (
        "tinsel",
        "satisfaction_survey",
        &["identity", "email", "consent"],
    ),
    (
        "holly",
        "contract_fulfilment",
        &[
            "identity",
            "email",
            "phone",
            "address",
            "consent",
            "provenance",
            "status",
            "wish_text",
        ],
    ),
    (
        "penny",
        "contract_fulfilment",
        &[
            "identity",
            "email",
            "address",
            "billing",
            "provenance",
            "status",
        ],
    ),
    (
        "santa",
        "contract_fulfilment",
        &["identity", "company", "provenance", "status"],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_persona_sees_exactly_its_field_groups_of_a_single_contact() {
    let proxy = Proxy::start().await;
    let path = format!(
        "/crm/v3/objects/contacts/1001?properties={}",
        all_properties()
    );
    for (user, purpose, groups) in SINGLE_CASES {
        let reply = proxy.get(&path, user, Some(purpose)).await;
        assert_eq!(reply.status, 200, "{user}/{purpose}: {}", reply.text());
        let body = reply.json();
        assert_eq!(prop_names(&body), props_of(groups), "{user}/{purpose}");
        // Typed record fields are kept as they are, never masked.
        assert_eq!(body["archived"], Value::Bool(false), "{user}/{purpose}");
        assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
        let audit = proxy.audit_of(&reply);
        assert_eq!(audit["decision"], "allow");
        assert_eq!(audit["records"][0]["id"], "1001");
        assert_eq!(audit["credential"], "api_key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_values_keep_their_type_and_reveal_only_what_the_mask_allows() {
    let proxy = Proxy::start().await;
    let original = stored(&proxy, "1001");
    let path = format!(
        "/crm/v3/objects/contacts/1001?properties={}",
        all_properties()
    );

    // Birthday greetings: day and month only.
    let body = proxy.get(&path, "tinsel", Some("greetings")).await.json();
    let dob = prop(&original, "date_of_birth");
    assert_eq!(prop(&body, "date_of_birth"), format!("--{}", &dob[5..10]));

    // Customer service: the phone number's last four digits only.
    let body = proxy
        .get(&path, "holly", Some("contract_fulfilment"))
        .await
        .json();
    let digits: String = prop(&original, "phone")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(
        prop(&body, "phone"),
        format!("***{}", &digits[digits.len() - 4..])
    );
    assert_ne!(prop(&body, "mobilephone"), prop(&original, "mobilephone"));

    // Management: names as stable keyed pseudonyms.
    let a = proxy
        .get(&path, "santa", Some("contract_fulfilment"))
        .await
        .json();
    let b = proxy
        .get(&path, "santa", Some("contract_fulfilment"))
        .await
        .json();
    let pseudonym = prop(&a, "lastname");
    assert!(
        pseudonym.starts_with("h_") && pseudonym.len() == 26,
        "{pseudonym}"
    );
    assert_ne!(pseudonym, prop(&original, "lastname"));
    assert_eq!(pseudonym, prop(&b, "lastname"));
    assert_ne!(prop(&a, "firstname"), pseudonym);
    for v in a["properties"].as_object().unwrap().values() {
        assert!(
            v.is_string() || v.is_null(),
            "property values stay strings: {v}"
        );
    }
    let audit = proxy.audit_of(&proxy.get(&path, "santa", Some("contract_fulfilment")).await);
    assert_eq!(audit["records"][0]["masked"]["identity"], "hash");
}

/// All non-archived contacts as the CRM stores them.
fn contacts(proxy: &Proxy) -> Vec<Value> {
    (1001..=1070)
        .filter_map(|id| proxy.crm().record_json("contacts", &id.to_string()))
        .filter(|r| r["archived"] != Value::Bool(true))
        .collect()
}

fn ids(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_hold_only_the_rows_each_purpose_may_see() {
    let proxy = Proxy::start().await;
    let all = contacts(&proxy);
    let lifecycle = |r: &Value| prop(r, "lifecyclestage").to_string();
    let consent = |r: &Value, c: &str| prop(r, c) == "true";
    let cases: Vec<(&str, &str, BTreeSet<String>, Vec<String>)> = vec![
        (
            "noelle",
            "contract_fulfilment",
            ids(&all
                .iter()
                .filter(|r| lifecycle(r) == "customer")
                .cloned()
                .collect::<Vec<_>>()),
            props_of(&[
                "identity",
                "email",
                "phone",
                "address",
                "company",
                "consent",
                "provenance",
                "status",
            ]),
        ),
        (
            "tinsel",
            "product_marketing",
            ids(&all
                .iter()
                .filter(|r| {
                    ["lead", "subscriber"].contains(&lifecycle(r).as_str())
                        && consent(r, "consent_marketing")
                })
                .cloned()
                .collect::<Vec<_>>()),
            props_of(&["identity", "email"]),
        ),
        (
            "tinsel",
            "greetings",
            ids(&all
                .iter()
                .filter(|r| lifecycle(r) == "customer" && consent(r, "consent_greetings"))
                .cloned()
                .collect::<Vec<_>>()),
            props_of(&["identity", "email", "address", "consent", "birthday"]),
        ),
        (
            "noelle",
            "partner_relations",
            ids(&all
                .iter()
                .filter(|r| lifecycle(r) == "other")
                .cloned()
                .collect::<Vec<_>>()),
            props_of(&[
                "identity",
                "email",
                "phone",
                "company",
                "consent",
                "provenance",
                "status",
            ]),
        ),
    ];
    let path = format!(
        "/crm/v3/objects/contacts?limit=100&properties={}",
        all_properties()
    );
    for (user, purpose, expected_ids, allowed_props) in cases {
        assert!(!expected_ids.is_empty());
        let reply = proxy.get(&path, user, Some(purpose)).await;
        assert_eq!(reply.status, 200, "{user}/{purpose}: {}", reply.text());
        let body = reply.json();
        let results = body["results"].as_array().unwrap();
        assert_eq!(ids(results), expected_ids, "{user}/{purpose}");
        for r in results {
            let names: BTreeSet<String> = prop_names(r).into_iter().collect();
            let allowed: BTreeSet<String> = allowed_props.iter().cloned().collect();
            assert!(
                names.is_subset(&allowed),
                "{user}/{purpose} record {}: {names:?}",
                r["id"]
            );
        }
        let audit = proxy.audit_of(&reply);
        assert_eq!(
            audit["records"].as_array().unwrap().len(),
            expected_ids.len()
        );
        let dropped = audit["rows_dropped"].as_array().unwrap().len();
        let pushed = audit["detail"]
            .as_str()
            .is_some_and(|d| d.contains("pushed into the CRM's search"));
        if pushed {
            // The CRM was asked only for rows matching the caller's row condition: it sent
            // fewer of the others, and each one it did send is returned or dropped.
            assert!(
                dropped + expected_ids.len() < all.len(),
                "{user}/{purpose}: the pushed-down query did not narrow ({dropped} dropped)"
            );
        } else {
            assert_eq!(
                dropped + expected_ids.len(),
                all.len(),
                "every row is either returned or recorded as dropped"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_single_record_answers_404_like_a_missing_one() {
    let proxy = Proxy::start().await;
    // 1001 is a customer: product marketing only sees consenting prospects.
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
    assert_eq!(missing.status, 404);
    assert!(!hidden.text().contains("Scrooge"));
    let audit = proxy.audit_of(&hidden);
    assert_eq!(audit["reason"], "record-not-found");
    assert_eq!(audit["rows_dropped"][0], "1001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_batch_read_are_filtered_like_lists() {
    let proxy = Proxy::start().await;
    let search = serde_json::json!({
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}],
        "properties": ["firstname", "email", "wish_text", "billing_iban"],
        "limit": 100
    });
    let reply = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "tinsel",
            Some("product_marketing"),
            search,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert!(body["total"].is_number());
    assert!(!body["results"].as_array().unwrap().is_empty());
    for r in body["results"].as_array().unwrap() {
        assert_eq!(prop_names(r), vec!["email", "firstname"]);
        let stored = stored(&proxy, r["id"].as_str().unwrap());
        assert_eq!(prop(&stored, "consent_marketing"), "true");
    }
    let batch = serde_json::json!({"properties": ["firstname", "billing_iban"], "inputs": [{"id": "1001"}, {"id": "1031"}]});
    let reply = proxy
        .post("/crm/v3/objects/contacts/batch/read", "penny", None, batch)
        .await;
    // 207: the hidden input answers like a missing one (an error entry).
    assert_eq!(reply.status, 207, "{}", reply.text());
    let body = reply.json();
    let results = body["results"].as_array().unwrap();
    // Accounting's contract purpose covers customers (1001), not prospects (1031).
    assert_eq!(ids(results), BTreeSet::from(["1001".to_string()]));
    assert_eq!(body["errors"][0]["context"]["ids"][0], "1031");
    assert_eq!(
        prop_names(&results[0]),
        vec![
            "billing_iban",
            "createdate",
            "firstname",
            "hs_object_id",
            "lastmodifieddate"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_fetched_only_to_decide_are_not_returned() {
    let proxy = Proxy::start().await;
    let reply = proxy
        .get(
            "/crm/v3/objects/contacts/1001?properties=firstname",
            "noelle",
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    // HubSpot adds these three to any explicit list; lifecyclestage & co. were crmgate's.
    assert_eq!(
        prop_names(&reply.json()),
        vec![
            "createdate",
            "firstname",
            "hs_object_id",
            "lastmodifieddate"
        ]
    );
    let received = proxy.crm().received();
    let last = received.last().unwrap();
    assert!(
        last.path_and_query.contains("lifecyclestage"),
        "{}",
        last.path_and_query
    );
    assert!(last.path_and_query.contains("consent_marketing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn property_history_is_filtered_and_masked_like_properties() {
    let proxy = Proxy::start().await;
    let reply = proxy
        .get(
            "/crm/v3/objects/contacts/1001?properties=firstname&propertiesWithHistory=lastname,email,billing_iban",
            "santa",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let hist = body["propertiesWithHistory"].as_object().unwrap();
    assert!(!hist.contains_key("billing_iban"));
    assert!(!hist.contains_key("email"));
    let versions = hist["lastname"].as_array().unwrap();
    assert!(!versions.is_empty());
    for v in versions {
        assert!(v["value"].as_str().unwrap().starts_with("h_"));
        assert!(v.get("updatedByUserId").is_none());
        assert!(v["timestamp"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_a_fresh_etag_and_no_store() {
    let proxy = Proxy::start().await;
    let a = proxy
        .get("/crm/v3/objects/contacts/1001", "noelle", None)
        .await;
    let b = proxy
        .get(
            "/crm/v3/objects/contacts/1001",
            "santa",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(a.headers["cache-control"], "private, no-store");
    assert_ne!(
        a.headers["etag"], b.headers["etag"],
        "different views, different ETags"
    );
    assert_eq!(
        a.headers["content-length"].to_str().unwrap(),
        a.body.len().to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_cannot_select_records_by_fields_the_caller_may_not_see() {
    let proxy = Proxy::start().await;
    // 1031's wish mentions a diabetes diagnosis: only customer service may read wish texts.
    let by_wish = serde_json::json!({
        "filterGroups": [{"filters": [{"propertyName": "wish_text", "operator": "CONTAINS_TOKEN", "value": "Diabetes*"}]}],
        "properties": ["firstname", "email"],
        "limit": 100
    });
    let service = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "holly",
            Some("prospect_management"),
            by_wish.clone(),
        )
        .await;
    assert_eq!(service.status, 200, "{}", service.text());
    let found = ids(service.json()["results"].as_array().unwrap());
    assert!(
        found.contains("1031"),
        "the control search finds 1031: {found:?}"
    );

    // Marketing may see 1031 (a consenting prospect), but not its wish: selecting by the
    // wish would reveal it, so the search is refused — decided from the policies, before
    // any record is looked at (side_channels.rs shows the count oracle this closes).
    let marketing = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "tinsel",
            Some("product_marketing"),
            by_wish,
        )
        .await;
    assert_eq!(marketing.status, 403, "{}", marketing.text());
    assert!(
        marketing.text().contains("`wish_text`"),
        "{}",
        marketing.text()
    );
    let audit = proxy.audit_of(&marketing);
    assert_eq!(audit["reason"], "hidden-selection", "{audit}");
    assert!(audit["records"].as_array().unwrap().is_empty(), "{audit}");

    // A free-text search runs over names and e-mail: management sees names only as
    // pseudonyms, so it cannot find people by name.
    let by_name = serde_json::json!({"query": "Scrooge", "properties": ["firstname"], "limit": 10});
    let reply = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "santa",
            Some("contract_fulfilment"),
            by_name.clone(),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("`identity`"), "{}", reply.text());
    let reply = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "noelle",
            Some("contract_fulfilment"),
            by_name,
        )
        .await;
    assert!(ids(reply.json()["results"].as_array().unwrap()).contains("1001"));
}
