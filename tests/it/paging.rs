//! Pages that come back full: a list is paged over what the caller is shown, every page but
//! the last holds exactly `limit` records, walking the pages yields exactly what a full scan
//! with the policies yields, and crmgate's cursor cannot be changed or used by another.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::Proxy;

/// Walk every page of a list; returns the pages' record ids.
async fn walk(
    proxy: &Proxy,
    collection: &str,
    user: &str,
    purpose: &str,
    limit: usize,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let mut path = format!("/crm/v3/objects/{collection}?limit={limit}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let reply = proxy.get(&path, user, Some(purpose)).await;
        assert_eq!(
            reply.status,
            200,
            "{user}/{purpose} {path}: {}",
            reply.text()
        );
        let body = reply.json();
        pages.push(
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect(),
        );
        after = body["paging"]["next"]["after"].as_str().map(String::from);
        if after.is_none() {
            return pages;
        }
    }
    panic!("{user}/{purpose}: paging never ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_come_back_full_for_every_persona_and_purpose() {
    let proxy = Proxy::start_binary().await;
    // The tools' view of the same files: what a full scan with the policies shows (the
    // proxy's own config: the shipped one adds the deletion concept on today's date).
    let (config, _) =
        crmgate::tools::cli::load_config_for_tools(&proxy.dir.path().join("crmgate.toml")).unwrap();
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    let engine = &policies.engine;
    let stored = crate::support::demo_records(proxy.crm());
    let mut walked = 0;
    for user in ["noelle", "rudolph", "tinsel", "holly", "penny", "santa"] {
        let dept = engine.principal(user).unwrap().department.clone().unwrap();
        for purpose in config.departments[&dept].purposes.clone() {
            let scope = crmgate::decide::subject(&config, engine, user, Some(&purpose)).unwrap();
            for collection in ["contacts", "companies"] {
                let expected: BTreeSet<String> = stored
                    .iter()
                    .filter(|(c, _, _)| *c == collection)
                    .filter(|(_, ty, r)| {
                        let res = policies.routes.resource(ty).unwrap();
                        crmgate::decide::record(engine, &scope, res, r)
                            .unwrap()
                            .plan
                            .row
                            .allow
                    })
                    .map(|(_, _, r)| r["id"].as_str().unwrap().to_string())
                    .collect();
                for limit in [1, 10, 100] {
                    let pages = walk(&proxy, collection, user, &purpose, limit).await;
                    let case = format!("{user}/{purpose}/{collection} limit {limit}");
                    for (i, p) in pages.iter().enumerate() {
                        if i + 1 < pages.len() {
                            assert_eq!(p.len(), limit, "{case}: page {i} is not full: {pages:?}");
                        } else if !expected.is_empty() {
                            assert!(!p.is_empty(), "{case}: an empty last page: {pages:?}");
                        }
                    }
                    let all: Vec<String> = pages.concat();
                    let unique: BTreeSet<String> = all.iter().cloned().collect();
                    assert_eq!(unique.len(), all.len(), "{case}: a record repeated");
                    assert_eq!(unique, expected, "{case}: not what a full scan shows");
                    walked += 1;
                }
            }
        }
    }
    assert!(walked > 60, "{walked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_foreign_cursor_is_refused() {
    let proxy = Proxy::start_binary().await;
    let first = proxy
        .get(
            "/crm/v3/objects/contacts?limit=2",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let cursor = first.json()["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    let page = |user: &'static str, purpose: &'static str, after: String| {
        let proxy = &proxy;
        async move {
            proxy
                .get(
                    &format!("/crm/v3/objects/contacts?limit=2&after={after}"),
                    user,
                    Some(purpose),
                )
                .await
        }
    };
    // The owner continues.
    assert_eq!(
        page("tinsel", "product_marketing", cursor.clone())
            .await
            .status,
        200
    );
    // Changed: a skip or a CRM position of one's choosing.
    let mut bytes = hex::decode(&cursor).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    let tampered = hex::encode(bytes);
    let forged = hex::encode(r#"{"a":null,"k":0}"#);
    for (user, purpose, after) in [
        ("tinsel", "product_marketing", tampered),
        ("tinsel", "product_marketing", forged),
        ("tinsel", "product_marketing", "10".to_string()),
        // Foreign: another caller, or the same caller for another purpose.
        ("holly", "contract_fulfilment", cursor.clone()),
        ("tinsel", "greetings", cursor.clone()),
    ] {
        let reply = page(user, purpose, after.clone()).await;
        assert_eq!(
            reply.status,
            400,
            "{user}/{purpose} {after}: {}",
            reply.text()
        );
        assert!(reply.text().contains("cursor"), "{}", reply.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_down_query_never_widens_what_is_shown() {
    // A consenting prospect marketing would see, but which one policy singles out by id:
    // the row condition pushed into the CRM's search admits it, the full decision does not.
    let crm = democrm::DemoCrm::seeded();
    let target = (1001..=1070)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .find(|r| {
            r["archived"] != Value::Bool(true)
                && r["properties"]["lifecyclestage"] == "lead"
                && r["properties"]["consent_marketing"] == "true"
        })
        .unwrap();
    let id = target["id"].as_str().unwrap().to_string();
    let policies = format!(
        "{}\n@id(\"one-prospect-withdrew\")\nforbid (principal, action == Action::\"read\", resource == Contact::\"{id}\");\n",
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap()
    );
    let proxy = Proxy::start_with(crate::support::Options {
        binary: true,
        upstream: crate::support::Upstream::Crm(crm),
        policies: Some(policies),
        ..Default::default()
    })
    .await;
    let pages = walk(&proxy, "contacts", "tinsel", "product_marketing", 10).await;
    let shown: BTreeSet<String> = pages.concat().into_iter().collect();
    assert!(!shown.is_empty());
    assert!(!shown.contains(&id), "{id} was shown: {shown:?}");
    // The CRM was asked through a search carrying the row condition (which the record meets).
    let received = proxy.crm().received();
    let searches: Vec<String> = received
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/contacts/search"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(!searches.is_empty(), "the list was not pushed down");
    assert!(
        searches.iter().all(|b| b.contains("consent_marketing")),
        "{searches:?}"
    );
    assert!(
        received.iter().all(
            |r| r.method != "GET" || !r.path_and_query.starts_with("/crm/v3/objects/contacts?")
        ),
        "a plain list was read as well"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refilled_page_stays_within_the_configured_crm_requests() {
    // A CRM whose list never ends, with one customer (which sales sees) in every page of
    // five: refilling ten records would take ten CRM requests; the bound allows two.
    let record = |id: usize, stage: &str| {
        serde_json::json!({"id": id.to_string(), "properties": {"firstname": "A", "lifecyclestage": stage},
            "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z", "archived": false})
    };
    let page = serde_json::to_vec(&serde_json::json!({
        "results": [record(1, "customer"), record(2, "lead"), record(3, "lead"), record(4, "other"), record(5, "lead")],
        "paging": {"next": {"after": "5"}}
    }))
    .unwrap();
    let raw = crate::support::RawUpstream::start(move |_| {
        crate::support::http_response("200 OK", &[("Content-Type", "application/json")], &page)
    })
    .await;
    let proxy = Proxy::start_with(crate::support::Options {
        binary: true,
        upstream: crate::support::Upstream::Addr(raw.addr),
        extra_config: "[limits]\nmax_upstream_requests_per_request = 2\n".into(),
        ..Default::default()
    })
    .await;
    let reply = proxy
        .get("/crm/v3/objects/contacts?limit=10", "noelle", None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["results"].as_array().unwrap().len(), 2, "{body}");
    assert!(body["paging"]["next"]["after"].is_string(), "{body}");
    assert_eq!(raw.received.lock().unwrap().len(), 2);
}
