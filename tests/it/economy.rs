//! A real-size CRM's economy: a search answers from the CRM's first pages instead of
//! walking its whole result, and where the caller's row condition goes into the CRM's query
//! exactly, the CRM's own count is the answer — the same answer a full walk gives.

use std::collections::BTreeSet;

use democrm::DemoCrm;
use serde_json::{json, Value};

use crate::support::{Options, Proxy, Upstream};

const PERSONAS: [&str; 6] = ["noelle", "rudolph", "tinsel", "holly", "penny", "santa"];

/// Every page of a contact search of `limit`, from the first on: the pages' ids and the
/// first page's `total`.
async fn search_pages(
    proxy: &Proxy,
    user: &str,
    purpose: &str,
    filter: &Value,
    limit: usize,
) -> Option<(Vec<Vec<String>>, u64)> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    let mut first_total = None;
    for _ in 0..100 {
        let mut body = json!({"filterGroups": filter, "limit": limit, "properties": ["firstname"]});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let reply = proxy
            .post("/crm/v3/objects/contacts/search", user, Some(purpose), body)
            .await;
        if reply.status == 403 && after.is_none() {
            // A selection the caller may not make: refused before the CRM, alike on both.
            return None;
        }
        assert_eq!(reply.status, 200, "{user}/{purpose}: {}", reply.text());
        let v = reply.json();
        first_total.get_or_insert(v["total"].as_u64().unwrap());
        pages.push(
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect(),
        );
        after = v["paging"]["next"]["after"].as_str().map(String::from);
        if after.is_none() {
            return Some((pages, first_total.unwrap()));
        }
    }
    panic!("{user}/{purpose}: paging never ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_pushdown_search_answers_like_the_full_walk_for_every_persona() {
    // The same demo data twice: a CRM whose search pages hold all of it (crmgate's walk
    // reaches the end and counts what the caller is shown), and one that pages it five
    // records at a time (crmgate reads only as far as the client's page and one beyond).
    let whole = Proxy::start_binary().await;
    let paged = Proxy::start_with(Options {
        binary: true,
        upstream: Upstream::Crm(DemoCrm::seeded().with_search_page_cap(5)),
        ..Options::default()
    })
    .await;
    let (config, _) =
        crmgate::tools::cli::load_config_for_tools(&whole.dir.path().join("crmgate.toml")).unwrap();
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    let engine = &policies.engine;
    let filters = [
        json!([]),
        json!([{"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]}]),
    ];
    let mut exact = 0;
    let mut bounded = 0;
    for user in PERSONAS {
        let dept = engine.principal(user).unwrap().department.clone().unwrap();
        for purpose in config.departments[&dept].purposes.clone() {
            for filter in &filters {
                let Some((walked, full_total)) =
                    search_pages(&whole, user, &purpose, filter, 3).await
                else {
                    assert!(search_pages(&paged, user, &purpose, filter, 3)
                        .await
                        .is_none());
                    continue;
                };
                let shown: Vec<String> = walked.concat();
                assert_eq!(full_total as usize, shown.len(), "{user}/{purpose}");
                paged.crm().clear_received();
                let (pages, total) = search_pages(&paged, user, &purpose, filter, 3)
                    .await
                    .unwrap();
                // Page by page the same records, in the same order.
                assert_eq!(pages.concat(), shown, "{user}/{purpose} {filter}");
                let first_page_requests = {
                    paged.crm().clear_received();
                    let (_, again) = search_pages_first(&paged, user, &purpose, filter).await;
                    assert_eq!(again, total);
                    paged.crm().received().len()
                };
                if total == full_total {
                    if shown.len() > 5 && first_page_requests == 1 {
                        // One CRM page of five could not have counted them: the CRM's count.
                        exact += 1;
                    }
                } else {
                    // Not exact: the shown records read so far (the page and at least one
                    // beyond), never a hidden record, never the whole.
                    assert!(
                        total < full_total,
                        "{user}/{purpose}: {total} > {full_total}"
                    );
                    assert!(
                        total >= 4,
                        "{user}/{purpose}: {total}: the page and one more"
                    );
                    bounded += 1;
                }
                assert!(
                    first_page_requests <= 4,
                    "{user}/{purpose}: the first page took {first_page_requests} CRM requests"
                );
            }
        }
    }
    eprintln!("exact: {exact}, bounded: {bounded}");
    assert!(
        exact > 0,
        "no persona's search was answered by the CRM's count"
    );
}

/// The first page of a search of 3 alone: its ids and `total`.
async fn search_pages_first(
    proxy: &Proxy,
    user: &str,
    purpose: &str,
    filter: &Value,
) -> (BTreeSet<String>, u64) {
    let body = json!({"filterGroups": filter, "limit": 3, "properties": ["firstname"]});
    let reply = proxy
        .post("/crm/v3/objects/contacts/search", user, Some(purpose), body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    let ids = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    (ids, v["total"].as_u64().unwrap())
}

/// A CRM of one contact that keeps HubSpot's rolling limit of `limit` requests (per ten
/// seconds, longer than the test): past it, 429 with `Retry-After`. Returns its address, the
/// requests it answered and the 429s it sent.
pub(crate) async fn limited_crm(
    limit: usize,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let record =
        serde_json::to_vec(&DemoCrm::seeded().record_json("contacts", "1001").unwrap()).unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (s, r) = (served.clone(), refused.clone());
    let crm = crate::support::RawUpstream::start(move |_| {
        let n = s.fetch_add(1, Ordering::SeqCst);
        if n >= limit {
            r.fetch_add(1, Ordering::SeqCst);
            return crate::support::http_response(
                "429 Too Many Requests",
                &[("Content-Type", "application/json"), ("Retry-After", "10")],
                br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","policyName":"TEN_SECONDLY_ROLLING"}"#,
            );
        }
        let remaining = (limit - n - 1).to_string();
        crate::support::http_response(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("X-HubSpot-RateLimit-Max", &limit.to_string()),
                ("X-HubSpot-RateLimit-Remaining", &remaining),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
            ],
            &record,
        )
    })
    .await;
    (crm.addr, served, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_together_stay_within_one_budget() {
    use std::sync::atomic::Ordering;
    // The account allows 8 requests per window; two replicas take half each.
    let (addr, served, crm_429) = limited_crm(8).await;
    let replica = || {
        Proxy::start_with(Options {
            upstream: Upstream::Addr(addr),
            extra_config: "[upstream.budget]\nrequests = 8\nwindow_ms = 600000\nshare = 0.5\nmax_wait_ms = 0\n"
                .into(),
            ..Options::default()
        })
    };
    let (a, b) = (replica().await, replica().await);
    let mut answered = 0;
    let mut refused = 0;
    for _ in 0..8 {
        for proxy in [&a, &b] {
            let reply = proxy
                .get(
                    "/crm/v3/objects/contacts/1001",
                    "holly",
                    Some("contract_fulfilment"),
                )
                .await;
            if reply.status == 429 {
                // crmgate's own answer, before the CRM would: when to come back.
                let after = reply.headers["retry-after"].to_str().unwrap();
                assert!(after.parse::<u64>().unwrap() >= 1, "{after}");
                assert_eq!(reply.json()["status"], 429);
                refused += 1;
            } else {
                assert_eq!(reply.status, 200, "{}", reply.text());
                answered += 1;
            }
        }
    }
    assert_eq!(crm_429.load(Ordering::SeqCst), 0, "the CRM had to refuse");
    assert!(
        served.load(Ordering::SeqCst) <= 8,
        "more than the account's budget"
    );
    assert_eq!(answered, 8, "each replica used its share");
    assert_eq!(refused, 8);
    let (_, metrics) = crate::support::plain_get(a.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_rate_limited_total{origin=\"crmgate\"} 4"),
        "{metrics}"
    );
}

/// A CRM that answers every contact search as HubSpot does when its filter compares a
/// string without regard to case: a page of 200 customers, and a `total` of 251 that counts
/// one more record, spelt `Customer`, further on — a record the policies hide.
async fn case_blind_crm() -> std::net::SocketAddr {
    let template = DemoCrm::seeded().record_json("contacts", "1001").unwrap();
    let results: Vec<Value> = (1..=200)
        .map(|i| {
            let mut r = template.clone();
            r["id"] = json!(i.to_string());
            r["properties"]["hs_object_id"] = json!(i.to_string());
            r["properties"]["lifecyclestage"] = json!("customer");
            r
        })
        .collect();
    let page = serde_json::to_vec(&json!({
        "total": 251,
        "results": results,
        "paging": {"next": {"after": "200"}}
    }))
    .unwrap();
    crate::support::RawUpstream::start(move |_| {
        crate::support::http_response("200 OK", &[("Content-Type", "application/json")], &page)
    })
    .await
    .addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_pushed_down_on_free_text_never_counts_a_hidden_spelling() {
    let addr = case_blind_crm().await;
    let shipped =
        std::fs::read_to_string(crate::support::repo().join("policies/routes.toml")).unwrap();
    let search = json!({
        "filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "HAS_PROPERTY"}]}],
        "limit": 3,
        "properties": ["firstname"]
    });
    // The lifecycle stage kept as free text: HubSpot's `EQ customer` also matches the hidden
    // `Customer`, so its count is not the caller's; crmgate counts what it has shown.
    let free_text = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        routes: Some(shipped.replace(
            "type = \"string\", enumeration = true,",
            "type = \"string\",",
        )),
        ..Options::default()
    })
    .await;
    let reply = free_text
        .post(
            "/crm/v3/objects/contacts/search",
            "penny",
            Some("contract_fulfilment"),
            search.clone(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["total"], 200,
        "the CRM's count of a free-text match is not the caller's"
    );
    assert!(v["paging"]["next"]["after"].is_string());
    // As an enumeration (the shipped routes), the CRM keeps one spelling: its count is the
    // caller's, as a full walk would count it.
    let enumeration = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    let reply = enumeration
        .post(
            "/crm/v3/objects/contacts/search",
            "penny",
            Some("contract_fulfilment"),
            search,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["total"], 251);
}

/// Policies under which no decision on a contact looks at the record: anyone may read every
/// contact's names and company, and update its company details.
const RECORD_BLIND_POLICIES: &str = r#"
permit (principal is User, action in Action::"access", resource);
permit (principal, action == Action::"read", resource is Contact);
permit (principal, action in [Action::"read.identity", Action::"read.meta", Action::"read.company"], resource is Contact);
permit (principal, action in [Action::"update", Action::"write.company"], resource is Contact);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_decided_alike_on_every_record_is_not_read_first() {
    let proxy = Proxy::start_with(Options {
        policies: Some(RECORD_BLIND_POLICIES.into()),
        ..Options::default()
    })
    .await;
    let body = json!({"properties": {"jobtitle": "Chief Elf"}});
    proxy.crm().clear_received();
    let reply = proxy
        .request(
            "PATCH",
            "/crm/v3/objects/contacts/1001",
            Some("noelle"),
            Some("contract_fulfilment"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["properties"]["jobtitle"], "Chief Elf");
    let sent: Vec<String> = proxy
        .crm()
        .received()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(sent, ["PATCH"], "one CRM request: the write");
    // A record the CRM lacks: the CRM's own answer, as a missing one.
    proxy.crm().clear_received();
    let reply = proxy
        .request(
            "PATCH",
            "/crm/v3/objects/contacts/999999",
            Some("noelle"),
            Some("contract_fulfilment"),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert_eq!(proxy.crm().received().len(), 1);
    // Batched: one write, no read.
    proxy.crm().clear_received();
    let inputs: Vec<Value> = ["1001", "1002", "1003"]
        .iter()
        .map(|id| json!({"id": id, "properties": {"jobtitle": "Elf"}}))
        .collect();
    let reply = proxy
        .post(
            "/crm/v3/objects/contacts/batch/update",
            "noelle",
            Some("contract_fulfilment"),
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(proxy.crm().received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_to_records_the_caller_may_never_see_makes_no_crm_request() {
    // The caller may update contacts but see none: every record answers as a missing one,
    // and the policies alone say so — nothing reaches the CRM, for a stored id or a missing
    // one, and the answers are alike.
    let policies = RECORD_BLIND_POLICIES.replace(
        "permit (principal, action == Action::\"read\", resource is Contact);",
        "",
    );
    let proxy = Proxy::start_with(Options {
        policies: Some(policies),
        ..Options::default()
    })
    .await;
    let body = json!({"properties": {"jobtitle": "Chief Elf"}});
    let mut answers = Vec::new();
    for id in ["1001", "999999"] {
        proxy.crm().clear_received();
        let reply = proxy
            .request(
                "PATCH",
                &format!("/crm/v3/objects/contacts/{id}"),
                Some("noelle"),
                Some("contract_fulfilment"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, 404, "{id}: {}", reply.text());
        assert!(proxy.crm().received().is_empty(), "{id}: the CRM was asked");
        let mut v = reply.json();
        v.as_object_mut().unwrap().remove("request_id");
        v.as_object_mut().unwrap().remove("correlationId");
        answers.push(v);
    }
    assert_eq!(answers[0], answers[1]);
}
