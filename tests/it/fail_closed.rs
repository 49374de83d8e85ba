//! Nothing unauthorized reaches the CRM; nothing unfiltered reaches the client.

use std::collections::BTreeSet;

use democrm::DemoCrm;
use serde_json::{json, Value};

use crate::support::{http_response, Options, Proxy, RawUpstream, Upstream, UPSTREAM_TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_never_reach_the_upstream() {
    let proxy = Proxy::start().await;
    // (user, purpose, path, status, audit reason)
    type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            None,
            None,
            "/crm/v3/objects/contacts",
            401,
            "unauthenticated",
        ),
        (
            Some("nobody"),
            None,
            "/crm/v3/objects/contacts",
            401,
            "api-key-unknown",
        ),
        (
            Some("grinch"),
            None,
            "/crm/v3/objects/contacts",
            403,
            "inactive-principal",
        ),
        (
            Some("tinsel"),
            Some("contract_fulfilment"),
            "/crm/v3/objects/contacts",
            403,
            "purpose-not-allowed",
        ),
        (
            Some("tinsel"),
            Some("world_domination"),
            "/crm/v3/objects/contacts",
            400,
            "unknown-purpose",
        ),
        (
            Some("noelle"),
            None,
            "/crm/v3/objects/deals",
            404,
            "no-route",
        ),
        (
            Some("noelle"),
            None,
            "/crm/v3/objects/contacts/%2e%2e/deals",
            400,
            "bad-request",
        ),
        (
            Some("noelle"),
            None,
            "/crm/v3/objects/contacts?hapikey=x",
            400,
            "bad-request",
        ),
        (
            Some("noelle"),
            None,
            "/crm/v3/objects/contacts/1001?_method=DELETE",
            400,
            "bad-request",
        ),
    ];
    for (user, purpose, path, status, reason) in cases {
        let reply = proxy.request("GET", path, user, purpose, None).await;
        assert_eq!(reply.status, status, "{user:?} {path}: {}", reply.text());
        let problem = reply.json();
        assert_eq!(problem["type"], format!("urn:crmgate:problem:{reason}"));
        assert_eq!(problem["status"], status);
        assert!(problem["detail"].is_string() && problem["title"].is_string());
        assert_eq!(
            problem["request_id"].as_str().unwrap(),
            reply.headers["x-request-id"].to_str().unwrap()
        );
        assert_eq!(proxy.audit_of(&reply)["reason"], reason);
    }
    let delete = proxy
        .request(
            "PUT",
            "/crm/v3/objects/contacts/1001",
            Some("noelle"),
            None,
            None,
        )
        .await;
    assert_eq!(delete.status, 405);
    assert!(
        proxy.crm().received().is_empty(),
        "the CRM saw: {:?}",
        proxy.crm().received()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_level_deny_never_reaches_the_upstream() {
    // Without the `access` permit, every request is denied by Cedar itself.
    let santa =
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap();
    let without_access = santa.replace(
        "@id(\"staff-may-query-the-crm\")\npermit (principal is User, action in Action::\"access\", resource);",
        "",
    );
    assert_ne!(santa, without_access);
    let proxy = Proxy::start_with(Options {
        policies: Some(without_access),
        ..Options::default()
    })
    .await;
    let reply = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["decision"], "deny");
    assert_eq!(audit["reason"], "forbidden");
    assert!(proxy.crm().received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_and_purpose_never_reach_the_crm_but_the_vendor_credential_does() {
    let proxy = Proxy::start().await;
    let reply = proxy
        .request(
            "GET",
            "/crm/v3/objects/contacts/1001",
            Some("noelle"),
            Some("contract_fulfilment"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    let received = proxy.crm().received();
    assert_eq!(received.len(), 1);
    let headers: Vec<(String, String)> = received[0].headers.clone();
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(
        get("authorization"),
        Some(format!("Bearer {UPSTREAM_TOKEN}"))
    );
    assert_eq!(get("accept-encoding").as_deref(), Some("identity"));
    assert_eq!(get("x-purpose"), None);
    assert!(!headers.iter().any(|(_, v)| v.contains("demo-key-noelle")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_the_vendor_adds_is_removed() {
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Crm(
            DemoCrm::seeded().with_extra_property("hs_new_ai_profile", "loves-cookies"),
        ),
        ..Options::default()
    })
    .await;
    for path in [
        "/crm/v3/objects/contacts/1001?propertiesWithHistory=firstname",
        "/crm/v3/objects/contacts?limit=20",
    ] {
        let reply = proxy.get(path, "noelle", None).await;
        assert_eq!(reply.status, 200);
        assert!(
            !reply.text().contains("hs_new_ai_profile"),
            "{}",
            reply.text()
        );
        assert!(!reply.text().contains("loves-cookies"));
        let audit = proxy.audit_of(&reply);
        assert!(audit["unclassified"]
            .as_array()
            .unwrap()
            .contains(&json!("hs_new_ai_profile")));
    }
}

async fn proxy_with_raw(
    respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    max_body: usize,
) -> (Proxy, RawUpstream) {
    let raw = RawUpstream::start(respond).await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        max_upstream_body: max_body,
        ..Options::default()
    })
    .await;
    (proxy, raw)
}

fn record_json(id: &str, lifecycle: Option<&str>) -> Value {
    let mut props =
        json!({"firstname": "Secret", "lastname": "Person", "billing_iban": "DE00SECRETIBAN"});
    if let Some(l) = lifecycle {
        props["lifecyclestage"] = json!(l);
    }
    json!({"id": id, "properties": props, "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z", "archived": false})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfilterable_upstream_bodies_become_502_never_the_raw_body() {
    let valid = serde_json::to_vec(&record_json("1", Some("customer"))).unwrap();
    let big =
        serde_json::to_vec(&json!({"id": "1", "properties": {"firstname": "x".repeat(10_000)}}))
            .unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "html",
            http_response(
                "200 OK",
                &[("Content-Type", "text/html")],
                b"<html>Secret Person DE00SECRETIBAN</html>",
            ),
        ),
        (
            "invalid-json",
            http_response(
                "200 OK",
                &[("Content-Type", "application/json")],
                b"{\"id\":\"1\",\"properties\":{\"firstname\":\"Secret",
            ),
        ),
        (
            "gzip",
            http_response(
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Encoding", "gzip"),
                ],
                &valid,
            ),
        ),
        ("truncated", {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                valid.len() + 500
            )
            .into_bytes();
            r.extend_from_slice(&valid);
            r
        }),
        (
            "oversize",
            http_response("200 OK", &[("Content-Type", "application/json")], &big),
        ),
        (
            "partial",
            http_response(
                "206 Partial Content",
                &[("Content-Type", "application/json")],
                &valid,
            ),
        ),
    ];
    for (name, bytes) in cases {
        let (proxy, raw) = proxy_with_raw(move |_| bytes.clone(), 4096).await;
        let reply = proxy
            .get("/crm/v3/objects/contacts/1", "noelle", None)
            .await;
        assert_eq!(reply.status, 502, "{name}: {}", reply.text());
        assert!(
            !reply.text().contains("Secret"),
            "{name} leaked: {}",
            reply.text()
        );
        assert!(!reply.text().contains("DE00SECRETIBAN"));
        assert_eq!(raw.received.lock().unwrap().len(), 1, "{name}");
        let audit = proxy.audit_of(&reply);
        assert_eq!(audit["reason"], "unfilterable-response", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_error_bodies_are_replaced_but_the_status_kept() {
    let (proxy, _raw) = proxy_with_raw(
        |_| {
            http_response(
                "404 Not Found",
                &[("Content-Type", "application/json")],
                b"{\"message\":\"contact Secret Person not found\"}",
            )
        },
        4096,
    )
    .await;
    let reply = proxy
        .get("/crm/v3/objects/contacts?limit=5", "noelle", None)
        .await;
    assert_eq!(reply.status, 404);
    assert!(!reply.text().contains("Secret"));
    assert_eq!(reply.json()["type"], "urn:crmgate:problem:upstream-error");
    // On a single record the CRM's 404 answers exactly like a record the policy hides, so
    // the two cannot be told apart (see side_channels.rs).
    let reply = proxy
        .get("/crm/v3/objects/contacts/1", "noelle", None)
        .await;
    assert_eq!(reply.status, 404);
    assert!(!reply.text().contains("Secret"));
    assert_eq!(reply.json()["type"], "urn:crmgate:problem:record-not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_missing_a_policy_attribute_is_denied() {
    // `lifecycle` has no default: the policies that read it fail, and failing means deny.
    let (proxy, _raw) = proxy_with_raw(
        |_| {
            let body = serde_json::to_vec(&record_json("7", None)).unwrap();
            http_response("200 OK", &[("Content-Type", "application/json")], &body)
        },
        1 << 20,
    )
    .await;
    let reply = proxy
        .get("/crm/v3/objects/contacts/7", "noelle", None)
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert!(!reply.text().contains("Secret"));
    let audit = proxy.audit_of(&reply);
    assert!(
        !audit["cedar_errors"].as_array().unwrap().is_empty(),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erroring_forbid_denies_instead_of_letting_a_permit_win() {
    // Cedar skips a policy whose evaluation fails: without crmgate's rule, this forbid
    // would be skipped for a record lacking `lifecycle`, and the permit would win.
    let policies = r#"
        permit (principal, action, resource);
        @id("no-leads")
        forbid (principal, action == Action::"read", resource is Contact)
        when { resource.lifecycle == "lead" };
    "#;
    let raw = RawUpstream::start(|_| {
        let body = serde_json::to_vec(&record_json("8", None)).unwrap();
        http_response("200 OK", &[("Content-Type", "application/json")], &body)
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        policies: Some(policies.to_string()),
        ..Options::default()
    })
    .await;
    let reply = proxy
        .get("/crm/v3/objects/contacts/8", "noelle", None)
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    let errors = audit["cedar_errors"].to_string();
    assert!(errors.contains("no-leads"), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cedar_evaluations_are_bounded_by_distinct_attributes_not_records() {
    // A 100-record page built from the demo customers, each appearing several times under
    // new ids: what Cedar can see repeats, so decisions must be reused.
    let crm = DemoCrm::seeded();
    let base: Vec<Value> = (1001..=1030)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .collect();
    let mut results = Vec::new();
    for i in 0..100 {
        let mut r = base[i % base.len()].clone();
        r["id"] = json!(format!("{}", 5000 + i));
        results.push(r);
    }
    let attrs = [
        "lifecyclestage",
        "owner_department",
        "data_source",
        "consent_greetings",
        "consent_survey",
        "consent_marketing",
    ];
    let distinct: BTreeSet<Vec<String>> = results
        .iter()
        .map(|r| {
            attrs
                .iter()
                .map(|a| r["properties"][a].to_string())
                .collect()
        })
        .collect();
    let page =
        serde_json::to_vec(&json!({"results": results, "paging": {"next": {"after": "100"}}}))
            .unwrap();
    let (proxy, _raw) = proxy_with_raw(
        move |_| http_response("200 OK", &[("Content-Type", "application/json")], &page),
        8 << 20,
    )
    .await;
    let reply = proxy
        .get("/crm/v3/objects/contacts?limit=100", "noelle", None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["results"].as_array().unwrap().len(), 100);
    let audit = proxy.audit_of(&reply);
    let evaluations = audit["cedar_evaluations"].as_u64().unwrap() as usize;
    let groups = 14; // field groups of Contact in policies/routes.toml
    let bound = 1 + distinct.len() * (1 + groups);
    assert!(
        evaluations <= bound,
        "{evaluations} evaluations for {} distinct inputs (bound {bound})",
        distinct.len()
    );
    assert!(
        evaluations < 100 * (1 + groups) / 2,
        "{evaluations}: not memoised"
    );
}
