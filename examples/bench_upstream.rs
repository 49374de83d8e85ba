//! Benchmark support (`bench/run.sh`), not part of crmgate: a static HubSpot-shaped upstream
//! and the crmgate configurations the benchmark runs.
//!
//! `bench_upstream DIR PORT CRMGATE_PORT CRMGATE_FSYNC_PORT` writes into DIR the bodies
//! (`list.json`: 100 contacts of the demo data, all 30 properties each; `single.json`:
//! contact 1001), a routes file (the shipped HubSpot profile plus the benchmark-only routes:
//! `passthrough = true` routes under `/passthrough/…`, and the scale routes
//! `/bench/contacts-N`) and two crmgate configurations (audit without and with fsync), then
//! serves on 127.0.0.1:PORT until killed, whatever the query:
//!
//! - `GET …/contacts-N` (N in [`SCALE`]): one page of N contacts (`{"results":[…]}`, no
//!   paging), the scale scenario;
//! - `GET …/contacts`: the 100-contact list; any other `GET`: contact 1001;
//! - `POST …/search`: `{"total":N,"results":[…]}` with the customers of the list and no
//!   `paging` (the benchmark searches `lifecyclestage EQ customer`);
//! - `POST …/batch/read`: a customer record (`lifecyclestage` customer, `data_source` order,
//!   consents) for every requested id, with the requested properties;
//! - `POST …/batch/update`: the updated records (written properties plus `hs_object_id`,
//!   `createdate`, `lastmodifieddate`);
//! - `POST …/contacts`: 201 with the created record (the written properties echoed, plus
//!   `hs_object_id`, `createdate`, `lastmodifieddate`, `createdAt`, `updatedAt`, `archived`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use democrm::DemoCrm;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

const UPSTREAM_TOKEN: &str = "bench-upstream-token";
/// The page sizes of the scale scenario (`/bench/contacts-N`).
const SCALE: [usize; 4] = [10, 100, 1000, 5000];
const STAMP: &str = "2026-12-02T10:00:00.000Z";

fn demo_contacts(crm: &DemoCrm) -> Vec<Value> {
    let originals: Vec<Value> = (1001..1200)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .collect();
    assert!(!originals.is_empty(), "the demo has contacts");
    originals
}

/// `n` contacts: the demo's contacts in seed order, repeated with fresh ids until there are
/// `n` (every record is a real demo record; only `id` and `hs_object_id` change).
fn records(originals: &[Value], n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut r = originals[i % originals.len()].clone();
            let id = (5001 + i).to_string();
            r["id"] = json!(id);
            if let Some(p) = r["properties"].as_object_mut() {
                p.insert("hs_object_id".into(), json!(id));
            }
            r
        })
        .collect()
}

/// The 100-contact list page (with a next page, as HubSpot sends it).
fn list_body(originals: &[Value]) -> Value {
    json!({
        "results": records(originals, 100),
        "paging": {"next": {"after": "5101", "link": "https://api.hubapi.com/crm/v3/objects/contacts?after=5101"}}
    })
}

/// What the CRM answers a search for `lifecyclestage EQ customer`: the customers of the
/// 100-contact list, all on one page.
fn search_body(originals: &[Value]) -> Value {
    let results: Vec<Value> = records(originals, 100)
        .into_iter()
        .filter(|r| r["properties"]["lifecyclestage"] == "customer")
        .collect();
    json!({"total": results.len(), "results": results})
}

/// The properties of a demo customer from an order: what `batch/read` answers for any id.
fn customer_template(originals: &[Value]) -> Map<String, Value> {
    originals
        .iter()
        .find(|r| {
            r["properties"]["lifecyclestage"] == "customer"
                && r["properties"]["data_source"] == "order"
        })
        .and_then(|r| r["properties"].as_object().cloned())
        .expect("the demo has a customer from an order")
}

fn record(id: &str, properties: Map<String, Value>) -> Value {
    json!({
        "id": id,
        "properties": properties,
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "archived": false,
    })
}

fn with_meta(id: &str, mut p: Map<String, Value>) -> Map<String, Value> {
    p.insert("hs_object_id".into(), json!(id));
    p.entry("createdate").or_insert(json!(STAMP));
    p.insert("lastmodifieddate".into(), json!(STAMP));
    p
}

fn input_properties(input: &Value) -> Map<String, Value> {
    input["properties"].as_object().cloned().unwrap_or_default()
}

/// `POST …/batch/read`: the template customer under every requested id, with the requested
/// properties (all of the template's when none are named).
fn batch_read(template: &Map<String, Value>, req: &Value) -> Value {
    let wanted: Option<Vec<&str>> = req["properties"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let results: Vec<Value> = req["inputs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .map(|id| {
            let mut p: Map<String, Value> = template
                .iter()
                .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w.contains(&k.as_str())))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            p.insert("hs_object_id".into(), json!(id));
            record(id, p)
        })
        .collect();
    json!({"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP})
}

/// `POST …/batch/update`: the written properties of every input, as HubSpot echoes them.
fn batch_update(req: &Value) -> Value {
    let results: Vec<Value> = req["inputs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            let id = i["id"].as_str()?;
            Some(record(id, with_meta(id, input_properties(i))))
        })
        .collect();
    json!({"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP})
}

/// `POST …/contacts`: the created record.
fn created(req: &Value) -> Value {
    record("9001", with_meta("9001", input_properties(req)))
}

/// What the static upstream answers.
struct Bodies {
    list: Bytes,
    single: Bytes,
    search: Bytes,
    /// `("/contacts-N", body)` per scale size.
    scale: Vec<(String, Bytes)>,
    customer: Map<String, Value>,
}

fn write_files(dir: &Path, port: u16, gate_port: u16, gate_fsync_port: u16) -> Bodies {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crm = DemoCrm::seeded();
    let originals = demo_contacts(&crm);
    let list = serde_json::to_vec(&list_body(&originals)).unwrap();
    let single = serde_json::to_vec(&crm.record_json("contacts", "1001").unwrap()).unwrap();
    let search = serde_json::to_vec(&search_body(&originals)).unwrap();
    std::fs::write(dir.join("list.json"), &list).unwrap();
    std::fs::write(dir.join("single.json"), &single).unwrap();
    std::fs::write(dir.join("search.json"), &search).unwrap();
    let scale: Vec<(String, Bytes)> = SCALE
        .iter()
        .map(|&n| {
            let body = serde_json::to_vec(&json!({"results": records(&originals, n)})).unwrap();
            (format!("/contacts-{n}"), Bytes::from(body))
        })
        .collect();

    // The shipped profile, plus the pass-through reference routes (benchmark only).
    let mut routes = std::fs::read_to_string(repo.join("policies/routes.toml")).unwrap();
    routes.push_str(
        r#"
# ---- benchmark only: the same requests, authorized and audited but not filtered ----
# Action `get`, not `list`: crmgate refills `list` GET routes over what the caller is shown
# (a search with the row condition pushed down, filtered) before a route's passthrough flag
# is looked at, so a `list` pass-through would be filtered.

[[routes]]
name = "bench.passthrough.list"
method = "GET"
path = "/passthrough/crm/v3/objects/contacts"
action = "get"
resource = "Contact"
records = "$.results[*]"
query = ["limit", "after", "properties"]
passthrough = true

[[routes]]
name = "bench.passthrough.get"
method = "GET"
path = "/passthrough/crm/v3/objects/contacts/{id}"
action = "get"
resource = "Contact"
records = "$"
query = ["properties"]
passthrough = true
"#,
    );
    // Scale: one upstream page of N records filtered as it comes. Action `get` (not `list`):
    // crmgate refills `list` GET routes page by page (capped at HubSpot's 100), which would
    // measure paging, not the filter's cost per record.
    for n in SCALE {
        write!(
            routes,
            r#"
[[routes]]
name = "bench.scale.{n}"
method = "GET"
path = "/bench/contacts-{n}"
action = "get"
resource = "Contact"
records = "$.results[*]"

[[routes]]
name = "bench.passthrough.scale.{n}"
method = "GET"
path = "/passthrough/bench/contacts-{n}"
action = "get"
resource = "Contact"
records = "$.results[*]"
passthrough = true
"#
        )
        .unwrap();
    }
    std::fs::write(dir.join("routes.toml"), routes).unwrap();
    std::fs::write(dir.join("upstream.token"), UPSTREAM_TOKEN).unwrap();
    std::fs::write(dir.join("hash.key"), "bench-hash-key-0123456789abcdef").unwrap();

    let shipped = std::fs::read_to_string(repo.join("policies/crmgate.toml")).unwrap();
    // API keys, purposes, departments and apps exactly as shipped; the shipped mTLS and
    // JWT sections are left out (the benchmark listener is plain HTTP, its clients use keys).
    let keys_start = shipped.find("[[identity.api_keys]]").unwrap();
    let keys_end = shipped.find("[identity.mtls]").unwrap_or(shipped.len());
    let registry = &shipped[shipped.find("[purposes.").unwrap()..];
    let rest = format!("{}\n{registry}", &shipped[keys_start..keys_end]);
    let pol = repo.join("policies");
    for (name, gport, fsync) in [
        ("crmgate.toml", gate_port, false),
        ("crmgate-fsync.toml", gate_fsync_port, true),
    ] {
        let audit = if fsync { "audit-fsync" } else { "audit" };
        let text = format!(
            r#"[listen]
addr = "127.0.0.1:{gport}"
plaintext = true

[upstream]
url = "http://127.0.0.1:{port}"
credential_file = "upstream.token"
timeout_ms = 10000
max_body_bytes = 8388608

[limits]
max_request_body_bytes = 1048576
max_connections = 1024
# Every benchmark client connects from 127.0.0.1.
max_connections_per_ip = 1024
header_read_timeout_ms = 10000
request_timeout_ms = 30000

[policies]
schema = "{pol}/schema.cedarschema"
policies = ["{pol}/santa.cedar"]
entities = "{pol}/entities.json"
routes = "routes.toml"
redaction = "{pol}/redaction"

[audit]
dir = "{audit}"
fsync = {fsync}
signing_key_file = "{audit}-signing.key"
generate_signing_key = true

[admin]
addr = "127.0.0.1:0"

[masks]
hash_key_file = "hash.key"

{rest}"#,
            pol = pol.display(),
        );
        std::fs::write(dir.join(name), text).unwrap();
    }
    Bodies {
        list: Bytes::from(list),
        single: Bytes::from(single),
        search: Bytes::from(search),
        scale,
        customer: customer_template(&originals),
    }
}

fn answer(status: u16, body: Bytes) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=utf-8")
        .body(Full::new(body))
        .unwrap()
}

async fn serve(
    b: Arc<Bodies>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::GET {
        if let Some((_, body)) = b
            .scale
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix.as_str()))
        {
            return answer(200, body.clone());
        }
        return answer(
            200,
            if path.ends_with("/contacts") {
                b.list.clone()
            } else {
                b.single.clone()
            },
        );
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if path.ends_with("/search") {
        return answer(200, b.search.clone());
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            400,
            Bytes::from_static(br#"{"status":"error","message":"bad JSON"}"#),
        );
    };
    let (status, out) = if path.ends_with("/batch/read") {
        (200, batch_read(&b.customer, &v))
    } else if path.ends_with("/batch/update") {
        (200, batch_update(&v))
    } else if path.ends_with("/contacts") {
        (201, created(&v))
    } else {
        return answer(
            404,
            Bytes::from_static(br#"{"status":"error","message":"not found"}"#),
        );
    };
    answer(status, Bytes::from(serde_json::to_vec(&out).unwrap()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: bench_upstream DIR PORT CRMGATE_PORT CRMGATE_FSYNC_PORT");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let port: u16 = args[2].parse().unwrap();
    let bodies = Arc::new(write_files(
        dir,
        port,
        args[3].parse().unwrap(),
        args[4].parse().unwrap(),
    ));
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("ready");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let bodies = bodies.clone();
                async move { Ok::<_, Infallible>(serve(bodies, req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
