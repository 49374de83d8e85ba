//! Benchmark support (`bench/run.sh`), not part of crmgate: a static HubSpot-shaped upstream
//! and the crmgate configurations the benchmark runs.
//!
//! `bench_upstream DIR PORT CRMGATE_PORT CRMGATE_FSYNC_PORT` writes into DIR the bodies
//! (`list.json`: 100 contacts of the demo data, all 30 properties each; `single.json`:
//! contact 1001), a routes file (the shipped HubSpot profile plus two `passthrough = true`
//! routes under `/passthrough/…`) and two crmgate configurations (audit without and with
//! fsync), then serves the bodies on 127.0.0.1:PORT until killed: a path ending in
//! `/contacts` gets the list, `/contacts/<id>` the single record, whatever the query.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use crmgate::democrm::DemoCrm;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const UPSTREAM_TOKEN: &str = "bench-upstream-token";

/// 100 contacts: the demo's contacts in seed order, repeated with fresh ids until there are
/// 100 (every record is a real demo record; only `id` and `hs_object_id` change).
fn list_body(crm: &DemoCrm) -> Value {
    let originals: Vec<Value> = (1001..1200)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .collect();
    assert!(!originals.is_empty(), "the demo has contacts");
    let results: Vec<Value> = (0..100)
        .map(|i| {
            let mut r = originals[i % originals.len()].clone();
            let id = (5001 + i).to_string();
            r["id"] = json!(id);
            if let Some(p) = r["properties"].as_object_mut() {
                p.insert("hs_object_id".into(), json!(id));
            }
            r
        })
        .collect();
    json!({
        "results": results,
        "paging": {"next": {"after": "5101", "link": "https://api.hubapi.com/crm/v3/objects/contacts?after=5101"}}
    })
}

fn write_files(dir: &Path, port: u16, gate_port: u16, gate_fsync_port: u16) -> (Bytes, Bytes) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crm = DemoCrm::seeded();
    let list = serde_json::to_vec(&list_body(&crm)).unwrap();
    let single = serde_json::to_vec(&crm.record_json("contacts", "1001").unwrap()).unwrap();
    std::fs::write(dir.join("list.json"), &list).unwrap();
    std::fs::write(dir.join("single.json"), &single).unwrap();

    // The shipped profile, plus the pass-through reference routes (benchmark only).
    let mut routes = std::fs::read_to_string(repo.join("policies/routes.toml")).unwrap();
    routes.push_str(
        r#"
# ---- benchmark only: the same requests, authorized and audited but not filtered ----

[[routes]]
name = "bench.passthrough.list"
method = "GET"
path = "/passthrough/crm/v3/objects/contacts"
action = "list"
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
    (Bytes::from(list), Bytes::from(single))
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
    let (list, single) = write_files(
        dir,
        port,
        args[3].parse().unwrap(),
        args[4].parse().unwrap(),
    );
    let bodies = Arc::new((list, single));
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
                async move {
                    let path = req.uri().path();
                    let body = if path.ends_with("/contacts") {
                        bodies.0.clone()
                    } else {
                        bodies.1.clone()
                    };
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json;charset=utf-8")
                            .body(Full::new(body))
                            .unwrap(),
                    )
                }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
