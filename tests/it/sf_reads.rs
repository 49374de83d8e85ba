//! Salesforce reads through crmgate, over sockets, against the Salesforce-shaped demo CRM:
//! a record's get (hidden equals missing), queries and their pages counted over what the
//! caller is shown, selections by hidden groups refused, `COUNT()`, describe, and the API
//! families crmgate does not govern refused by name.

use std::sync::Arc;

use democrm::salesforce::SalesforceCrm;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{repo, Options, Proxy, Reply, Upstream, UPSTREAM_TOKEN};

/// The API base crmgate answers under.
pub const BASE: &str = "/services/data/v62.0";

/// crmgate in front of the seeded Salesforce demo (pages of `page_size` upstream), with the
/// Salesforce demo configuration's routes; and the demo itself.
pub async fn sf_proxy_paged(page_size: usize) -> (Proxy, Arc<SalesforceCrm>) {
    let crm = Arc::new(
        SalesforceCrm::seeded()
            .with_static_token(UPSTREAM_TOKEN)
            .with_page_size(page_size),
    );
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(democrm::salesforce::serve(
        crm.clone(),
        l,
        std::future::pending(),
    ));
    let routes = std::fs::read_to_string(repo().join("policies/salesforce/routes.toml")).unwrap();
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        routes: Some(routes),
        upstream_lines: "vendor = \"salesforce\"\napi_version = \"v62.0\"".into(),
        ..Options::default()
    })
    .await;
    (proxy, crm)
}

pub async fn sf_proxy() -> (Proxy, Arc<SalesforceCrm>) {
    sf_proxy_paged(2000).await
}

/// A query through crmgate.
async fn query(proxy: &Proxy, soql: &str, user: &str, purpose: Option<&str>) -> Reply {
    let q = crmgate::stages::sanitize::encode_query(&[("q".to_string(), soql.to_string())]);
    proxy.get(&format!("{BASE}/query?{q}"), user, purpose).await
}

fn error_code(r: &Reply) -> String {
    let v = r.json();
    v[0]["errorCode"].as_str().unwrap_or_default().to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_read_flat_with_its_attributes_and_the_groups_the_caller_may_see() {
    let (proxy, _crm) = sf_proxy().await;
    // noelle (sales) sees a customer contact to fulfil its orders; its id given in the
    // 15-character form.
    let r = proxy
        .get(
            &format!("{BASE}/sobjects/Contact/003Dm0000001001"),
            "noelle",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(r.status, 200, "{} {}", r.text(), proxy.audit_of(&r));
    let v = r.json();
    assert_eq!(v["Id"], "003Dm0000001001IAA");
    assert_eq!(v["attributes"]["type"], "Contact");
    assert!(v.get("properties").is_none());
    assert!(v.get("LastName").is_some(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_record_answers_like_a_missing_one() {
    let (proxy, _crm) = sf_proxy().await;
    // grinch is inactive; penny (accounting) sees archived records only for accounting.
    // A contact id that does not exist, and one the caller may not read, give the same 404.
    let missing = proxy
        .get(
            &format!("{BASE}/sobjects/Contact/003Dm0000009999"),
            "tinsel",
            None,
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let malformed = proxy
        .get(&format!("{BASE}/sobjects/Contact/nope"), "tinsel", None)
        .await;
    assert_eq!(malformed.status, 404);
    assert_eq!(
        missing.headers.get("content-type").unwrap(),
        "application/json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_is_counted_over_what_the_caller_is_shown() {
    let (proxy, crm) = sf_proxy_paged(10).await;
    let r = query(&proxy, "SELECT Id, LastName FROM Contact", "santa", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let shown = ids(&v);
    assert_eq!(v["totalSize"], shown.len());
    assert_eq!(v["done"], true);
    // What reached the CRM is crmgate's own query text, never the client's.
    let received = crm.received();
    assert!(received.iter().any(|q| q.path_and_query.contains("query")));
    // A caller who may see fewer records is counted over what it sees.
    let r2 = query(&proxy, "SELECT Id FROM Contact", "tinsel", None).await;
    assert_eq!(r2.status, 200, "{}", r2.text());
    let v2 = r2.json();
    assert_eq!(v2["totalSize"], ids(&v2).len());
    // COUNT() counts the same records.
    let c = query(&proxy, "SELECT COUNT() FROM Contact", "tinsel", None).await;
    assert_eq!(c.status, 200, "{}", c.text());
    assert_eq!(c.json()["totalSize"], v2["totalSize"]);
    assert_eq!(c.json()["records"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_that_selects_by_a_hidden_group_is_refused() {
    let (proxy, _crm) = sf_proxy().await;
    // tinsel (marketing) does not see billing data in clear.
    for soql in [
        "SELECT Id FROM Contact WHERE Billing_IBAN__c LIKE 'DE%'",
        "SELECT Id FROM Contact ORDER BY Billing_IBAN__c",
        "SELECT COUNT() FROM Contact WHERE Billing_IBAN__c != null",
        "SELECT Id FROM Contact WHERE Payment_Method__c INCLUDES ('card')",
    ] {
        let r = query(&proxy, soql, "tinsel", None).await;
        assert_eq!(r.status, 403, "{soql}: {}", r.text());
        assert_eq!(error_code(&r), "INSUFFICIENT_ACCESS_OR_READONLY");
        assert!(r.json()[0]["type"]
            .as_str()
            .unwrap()
            .ends_with("hidden-selection"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_subset_does_not_hold_is_refused_by_name() {
    let (proxy, _crm) = sf_proxy().await;
    let r = query(
        &proxy,
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
        "santa",
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(error_code(&r), "MALFORMED_QUERY");
    let r = query(&proxy, "SELECT Secret__c FROM Contact", "santa", None).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(error_code(&r), "INVALID_FIELD");
    for path in [
        format!("{BASE}/search?q=FIND+%7Bx%7D"),
        format!("{BASE}/composite/graph"),
        format!("{BASE}/jobs/query"),
        format!("{BASE}/tooling/query?q=x"),
        "/services/apexrest/santa".to_string(),
    ] {
        let r = proxy.get(&path, "santa", None).await;
        assert_eq!(r.status, 501, "{path}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_describe_names_only_the_fields_the_caller_may_see_in_some_form() {
    let (proxy, _crm) = sf_proxy().await;
    let names = |r: &Reply| -> Vec<String> {
        r.json()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    let path = format!("{BASE}/sobjects/Contact/describe");
    let noelle = proxy
        .get(&path, "noelle", Some("contract_fulfilment"))
        .await;
    assert_eq!(noelle.status, 200, "{}", noelle.text());
    let tinsel = proxy.get(&path, "tinsel", None).await;
    assert_eq!(tinsel.status, 200, "{}", tinsel.text());
    let (n, t) = (names(&noelle), names(&tinsel));
    assert!(n.contains(&"Id".to_string()) && n.contains(&"LastName".to_string()));
    // Marketing never sees billing data in any form: its describe does not name it.
    assert!(!t.iter().any(|f| f.starts_with("Billing_")), "{t:?}");
    // A field no group classifies is named to no one.
    assert!(!n
        .iter()
        .chain(&t)
        .any(|f| f == "OwnerId" || f == "MasterRecordId"));
    assert!(t.len() < n.len() || n != t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_orders_by_a_group_not_clear_are_refused_parent_fields_too() {
    let (proxy, _crm) = sf_proxy().await;
    // Marketing never sees a contact's company nor its phone.
    for soql in [
        "SELECT Id FROM Contact WHERE Account.Name = 'Elf Toys'",
        "SELECT Id FROM Contact ORDER BY Account.Name",
        "SELECT Id FROM Contact WHERE Phone LIKE '+49%'",
        "SELECT COUNT() FROM Lead WHERE Company LIKE '%Toys%'",
        "SELECT Id FROM Contact WHERE NOT (Title IN ('CEO'))",
    ] {
        let r = query(&proxy, soql, "tinsel", None).await;
        assert_eq!(r.status, 403, "{soql}: {}", r.text());
    }
    // Sales, fulfilling contracts, sees the company in clear: the same query is answered,
    // and counted over what is shown.
    let r = query(
        &proxy,
        "SELECT Id, Account.Name FROM Contact WHERE Account.Name != null ORDER BY Account.Name",
        "noelle",
        Some("contract_fulfilment"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["totalSize"], ids(&v).len());
    assert!(v["records"][0]["Account"]["Name"].is_string(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_record_answers_exactly_like_a_missing_one() {
    let (proxy, crm) = sf_proxy().await;
    let shown = ids(&query(&proxy, "SELECT Id FROM Contact", "tinsel", None)
        .await
        .json());
    let hidden = (1001..=1068)
        .map(|n| format!("003Dm{n:010}"))
        .find(|id| {
            crm.record(id).is_some_and(|r| r["IsDeleted"] == false)
                && !shown.iter().any(|s| s.starts_with(id.as_str()))
        })
        .expect("a contact marketing may not read");
    let a = proxy
        .get(&format!("{BASE}/sobjects/Contact/{hidden}"), "tinsel", None)
        .await;
    let b = proxy
        .get(
            &format!("{BASE}/sobjects/Contact/003Dm0000009998"),
            "tinsel",
            None,
        )
        .await;
    assert_eq!((a.status, b.status), (404, 404), "{}", a.text());
    let strip = |r: &Reply| {
        let mut v = r.json();
        v[0]["request_id"] = Value::Null;
        v
    };
    assert_eq!(strip(&a), strip(&b));
    let names = |r: &Reply| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(n, _)| *n != "x-request-id" && *n != "date")
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(names(&a), names(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_and_limit_window_what_is_shown_and_the_crm_gets_crmgates_own_query() {
    let (proxy, crm) = sf_proxy_paged(5).await;
    let who = ("noelle", Some("contract_fulfilment"));
    let all = query(
        &proxy,
        "SELECT Id FROM Contact ORDER BY LastName",
        who.0,
        who.1,
    )
    .await;
    assert_eq!(all.status, 200, "{}", all.text());
    let all_ids = ids(&all.json());
    assert!(all_ids.len() > 4, "{all_ids:?}");
    let r = query(
        &proxy,
        "SELECT Id FROM Contact ORDER BY LastName LIMIT 3 OFFSET 2",
        who.0,
        who.1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(ids(&v), all_ids[2..5].to_vec());
    assert_eq!(v["totalSize"], 3);
    // Upstream: crmgate's rebuilt text, without LIMIT/OFFSET, ordered to the record, with
    // the fields the policies read; Salesforce's pages of 5 were walked by crmgate.
    let received: Vec<String> = crm
        .received()
        .iter()
        .map(|r| r.path_and_query.clone())
        .filter(|p| p.contains("/query"))
        .collect();
    let first = &received[0];
    assert!(
        first.contains("ORDER%20BY%20LastName,%20Id%20ASC"),
        "{first}"
    );
    // The caller's row condition (sales sees customers) pushed into the WHERE.
    assert!(
        first.contains("WHERE%20Lifecycle__c%20%3D%20%27customer%27"),
        "{first}"
    );
    assert!(
        received.iter().all(|p| !p.contains("LIMIT")),
        "{received:?}"
    );
    assert!(
        received.iter().any(|p| p.contains("/query/")),
        "walked: {received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_foreign_page_cursor_is_refused() {
    let (proxy, _crm) = sf_proxy().await;
    for path in [
        format!("{BASE}/query/Contact-00ff00ff"),
        format!("{BASE}/query/Contact"),
        format!("{BASE}/query/01gDm0000000001-2000"),
    ] {
        let r = proxy.get(&path, "santa", None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_with_fields_shows_what_was_asked_and_hides_what_the_policies_needed() {
    let (proxy, _crm) = sf_proxy().await;
    let r = proxy
        .get(
            &format!("{BASE}/sobjects/Contact/003Dm0000001001IAA?fields=lastname,Email"),
            "noelle",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    // The attribute fields (lifecycle, consents, …) were fetched to decide, and hidden again.
    assert_eq!(keys, ["Email", "Id", "LastName", "attributes"], "{v}");
    let bad = proxy
        .get(
            &format!("{BASE}/sobjects/Contact/003Dm0000001001IAA?fields=Secret__c"),
            "noelle",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(error_code(&bad), "INVALID_FIELD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_all_shows_archived_records_only_to_whom_the_policies_show_archived_ones() {
    let (proxy, _crm) = sf_proxy().await;
    let count = |v: Value| v["totalSize"].as_u64().unwrap();
    let all = |who: &'static str, purpose: &'static str, family: &'static str| {
        let proxy = &proxy;
        async move {
            let q = crmgate::stages::sanitize::encode_query(&[(
                "q".to_string(),
                "SELECT Id FROM Contact".to_string(),
            )]);
            let r = proxy
                .get(&format!("{BASE}/{family}?{q}"), who, Some(purpose))
                .await;
            assert_eq!(r.status, 200, "{who} {family}: {}", r.text());
            r.json()
        }
    };
    // Accounting sees archived records; sales does not.
    let (p_live, p_all) = (
        count(all("penny", "contract_fulfilment", "query").await),
        count(all("penny", "contract_fulfilment", "queryAll").await),
    );
    assert!(p_all > p_live, "{p_all} > {p_live}");
    let (n_live, n_all) = (
        count(all("noelle", "contract_fulfilment", "query").await),
        count(all("noelle", "contract_fulfilment", "queryAll").await),
    );
    assert_eq!(n_all, n_live);
}
