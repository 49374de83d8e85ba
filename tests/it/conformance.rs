//! Conformance with public material in `../shared/`: the vendor's published API and a JSON
//! parser test corpus.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{http_response, repo, Options, Proxy, RawUpstream, Upstream};

/// `shared/` beside the clone (as CI lays it out), or where `CRMGATE_SHARED` points.
fn shared() -> PathBuf {
    let candidates = [
        std::env::var_os("CRMGATE_SHARED").map(PathBuf::from),
        Some(repo().join("../shared")),
        Some(PathBuf::from("/work/shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("vendor/hubspot").is_dir())
        .unwrap_or_else(|| panic!("shared/ (vendor specs, JSON test suite) not found beside the clone; set CRMGATE_SHARED"))
}

/// Every route of the HubSpot profile is an operation of HubSpot's published OpenAPI spec,
/// and every query parameter crmgate lets through is one that operation declares.
#[test]
fn every_route_and_query_parameter_exists_in_the_vendor_spec() {
    let (config, _) =
        crmgate::cli::load_config_for_tools(&repo().join("policies/crmgate.toml")).unwrap();
    let policies = crmgate::app::load_policies(&config).unwrap();
    let spec = |object: &str| -> Value {
        let text =
            std::fs::read_to_string(shared().join(format!("vendor/hubspot/{object}-v3.json")))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let mut checked = 0;
    for route in policies.routes.routes() {
        let object = route.resource.collection.as_str();
        let doc = spec(object);
        let paths = doc["paths"].as_object().unwrap();
        let method = route.method.as_str().to_ascii_lowercase();
        // `{id}` in crmgate's routes is `{contactId}` / `{companyId}` in the spec.
        let op = paths
            .iter()
            .find(|(p, item)| {
                let normal: String = p
                    .split('/')
                    .map(|s| if s.starts_with('{') { "{id}" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                normal == route.path && item.get(&method).is_some()
            })
            .map(|(_, item)| &item[&method])
            .unwrap_or_else(|| {
                panic!(
                    "route `{}` is not an operation of the {object} spec",
                    route.name
                )
            });
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for q in &route.query {
            assert!(
                declared.contains(&q.as_str()),
                "route `{}` lets `{q}` through; the spec declares {declared:?}",
                route.name
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 8);
}

/// Every file of the JSON parser test corpus, served as a CRM response: invalid JSON is a
/// 502, nothing crashes the proxy, and nothing reaches the client unfiltered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_test_suite_bodies_are_filtered_or_refused_never_passed_through() {
    let dir = shared().join("jsontestsuite/test_parsing");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 300);
    let bodies: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let served = bodies.clone();
    let raw = RawUpstream::start(move |head| {
        // GET /crm/v3/objects/contacts/<index>?…
        let index: usize = head
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.split('?').next())
            .and_then(|p| p.rsplit('/').next())
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        http_response(
            "200 OK",
            &[("Content-Type", "application/json")],
            served.get(index).map_or(&[][..], |b| b),
        )
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        ..Options::default()
    })
    .await;
    for (i, (file, body)) in files.iter().zip(&bodies).enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let reply = proxy
            .get(&format!("/crm/v3/objects/contacts/{i}"), "noelle", None)
            .await;
        if name.starts_with("n_") {
            assert_eq!(
                reply.status, 502,
                "{name} is invalid JSON but got {}",
                reply.status
            );
        } else {
            assert!(
                matches!(reply.status, 200 | 404 | 502),
                "{name}: {}",
                reply.status
            );
        }
        if reply.status == 200 {
            // Only a record that passed the filter: an object with an id.
            let v = reply.json();
            assert!(v.get("id").is_some(), "{name}: {v}");
        }
        if body.len() > 8 && reply.status != 200 {
            assert!(
                !reply.body.windows(body.len()).any(|w| w == &body[..]),
                "{name}: raw body leaked"
            );
        }
    }
    // The proxy is still healthy afterwards.
    assert_eq!(raw.received.lock().unwrap().len(), files.len());
}
