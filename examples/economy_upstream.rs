//! Scale harness support (`bench/economy.sh`), not part of crmgate: a HubSpot-shaped contacts
//! API over N generated contacts, with the vendor's round trip and rate limits.
//!
//! `economy_upstream DIR PORT CRMGATE_PORT` writes into DIR a routes file (the shipped one),
//! a crmgate configuration (`crmgate.toml`, plain HTTP on CRMGATE_PORT, upstream PORT) and
//! then serves until killed:
//!
//! - on PORT, the rate-limited API, as crmgate's upstream;
//! - on PORT+1, the same API without limits and uncounted: the direct baseline.
//!
//! Contacts are generated, never stored: contact `i` (0 ≤ i < `CONTACTS`) has id
//! `10000000 + i` and the properties of demo contact `i mod T` (T: the demo's contacts, in
//! seed order — its customers, leads, partners, consents and archived records), so the mix
//! is the demo's at any size. Writes are answered as HubSpot answers them, not kept.
//!
//! The environment sizes it: `CONTACTS` (1000000), `RTT_MS` (150: added before every
//! answer), `LIMIT_10S` (190 requests per rolling 10 seconds), `SEARCH_PER_S` (5),
//! `DAILY` (1000000). Past a limit: 429 with `Retry-After` and HubSpot's body
//! (`policyName`); every other answer but a search's carries `X-HubSpot-RateLimit-Max`,
//! `-Remaining`, `-Interval-Milliseconds`, `-Daily` and `-Daily-Remaining`, as HubSpot's
//! do. `GET /__economy/stats` (JSON): CRM requests per `x-request-id`, 429s sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use democrm::DemoCrm;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

const UPSTREAM_TOKEN: &str = "economy-upstream-token";
const STAMP: &str = "2026-12-02T10:00:00.000Z";
const FIRST_ID: usize = 10_000_000;
/// HubSpot's search stops at 10,000 results.
const SEARCH_CAP: usize = 10_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One demo contact standing for every `i ≡ index (mod T)`.
struct Template {
    properties: Map<String, Value>,
    archived: bool,
}

struct Limits {
    per_10s: usize,
    search_per_s: usize,
    daily: usize,
}

#[derive(Default)]
struct Counters {
    window: VecDeque<Instant>,
    search: VecDeque<Instant>,
    daily: usize,
    by_request: HashMap<String, u32>,
    sent_429: u64,
    served: u64,
}

struct Crm {
    templates: Vec<Template>,
    contacts: usize,
    rtt: Duration,
    limits: Limits,
    counters: Mutex<Counters>,
}

/// What a rate-limit check decides: go on (with the headers to send) or 429.
enum Gate {
    Pass(Vec<(&'static str, String)>),
    Limited(&'static str, u64),
}

impl Crm {
    fn template(&self, i: usize) -> &Template {
        &self.templates[i % self.templates.len()]
    }

    fn index(&self, id: &str) -> Option<usize> {
        let i = id.parse::<usize>().ok()?.checked_sub(FIRST_ID)?;
        (i < self.contacts).then_some(i)
    }

    fn record(&self, i: usize, wanted: Option<&[String]>) -> Value {
        let t = self.template(i);
        let id = (FIRST_ID + i).to_string();
        let mut p: Map<String, Value> = match wanted {
            None => t.properties.clone(),
            Some(w) => w
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        t.properties.get(k).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect(),
        };
        p.insert("hs_object_id".into(), json!(id));
        if let Some(e) = t.properties.get("email").and_then(Value::as_str) {
            if p.contains_key("email") {
                p.insert("email".into(), json!(format!("c{i}.{e}")));
            }
        }
        for k in ["createdate", "lastmodifieddate"] {
            if let Some(v) = t.properties.get(k) {
                p.insert(k.into(), v.clone());
            }
        }
        json!({"id": id, "properties": p, "createdAt": STAMP, "updatedAt": STAMP, "archived": t.archived})
    }

    /// The rate limits, as HubSpot keeps them: every request counts in the rolling ten
    /// seconds and the day; searches also in their own second.
    fn gate(&self, search: bool, request_id: Option<&str>) -> Gate {
        let now = Instant::now();
        let mut c = self.counters.lock().unwrap();
        if let Some(r) = request_id {
            *c.by_request.entry(r.to_string()).or_default() += 1;
        }
        c.served += 1;
        while c
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(10))
        {
            c.window.pop_front();
        }
        while c
            .search
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            c.search.pop_front();
        }
        let wait = |from: Option<&Instant>, span: u64| {
            from.map_or(1, |t| {
                span.saturating_sub(now.duration_since(*t).as_millis() as u64)
                    .div_ceil(1000)
            })
            .max(1)
        };
        if c.daily >= self.limits.daily {
            c.sent_429 += 1;
            return Gate::Limited("DAILY", 3600);
        }
        if c.window.len() >= self.limits.per_10s {
            c.sent_429 += 1;
            return Gate::Limited("TEN_SECONDLY_ROLLING", wait(c.window.front(), 10_000));
        }
        if search && c.search.len() >= self.limits.search_per_s {
            c.sent_429 += 1;
            return Gate::Limited("SECONDLY", wait(c.search.front(), 1_000));
        }
        c.window.push_back(now);
        c.daily += 1;
        if search {
            c.search.push_back(now);
            // HubSpot's search answers carry no rate-limit headers.
            return Gate::Pass(Vec::new());
        }
        Gate::Pass(vec![
            ("x-hubspot-ratelimit-max", self.limits.per_10s.to_string()),
            (
                "x-hubspot-ratelimit-remaining",
                (self.limits.per_10s - c.window.len()).to_string(),
            ),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000".into()),
            ("x-hubspot-ratelimit-daily", self.limits.daily.to_string()),
            (
                "x-hubspot-ratelimit-daily-remaining",
                (self.limits.daily - c.daily).to_string(),
            ),
        ])
    }

    fn stats(&self) -> Value {
        let c = self.counters.lock().unwrap();
        json!({"by_request": c.by_request, "sent_429": c.sent_429, "served": c.served})
    }
}

/// Does a template match HubSpot's `filterGroups` (groups OR, filters AND)?
fn matches(t: &Template, groups: &[Value]) -> bool {
    if t.archived {
        return false;
    }
    groups.is_empty()
        || groups.iter().any(|g| {
            g["filters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .all(|f| filter_matches(t, f))
        })
}

fn filter_matches(t: &Template, f: &Value) -> bool {
    let name = f["propertyName"].as_str().unwrap_or_default();
    let have = t.properties.get(name).and_then(|v| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let value = f["value"].as_str().map(str::to_string).or_else(|| {
        f["value"]
            .as_bool()
            .map(|b| b.to_string())
            .or_else(|| f["value"].as_i64().map(|n| n.to_string()))
    });
    let values: Vec<String> = f["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let eq = |a: &Option<String>, b: &Option<String>| {
        a.as_deref().map(str::to_lowercase) == b.as_deref().map(str::to_lowercase)
    };
    match f["operator"].as_str().unwrap_or_default() {
        "EQ" => eq(&have, &value),
        "NEQ" => !eq(&have, &value),
        "IN" => have
            .as_ref()
            .is_some_and(|h| values.iter().any(|v| v.eq_ignore_ascii_case(h))),
        "NOT_IN" => have
            .as_ref()
            .is_none_or(|h| !values.iter().any(|v| v.eq_ignore_ascii_case(h))),
        "HAS_PROPERTY" => have.is_some(),
        "NOT_HAS_PROPERTY" => have.is_none(),
        // Anything else: every record (crmgate decides each row it is sent).
        _ => true,
    }
}

fn error(status: u16, category: &str, message: &str) -> (u16, Value) {
    (
        status,
        json!({"status": "error", "message": message, "category": category, "correlationId": "00000000-0000-0000-0000-000000000000"}),
    )
}

fn properties_param(query: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("properties=") {
            out.extend(
                v.split("%2C")
                    .flat_map(|s| s.split(','))
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
    }
    (!out.is_empty()).then_some(out)
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

fn list(crm: &Crm, query: &str) -> (u16, Value) {
    let limit = param(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10usize)
        .clamp(1, 100);
    let mut i = param(query, "after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0usize);
    let wanted = properties_param(query);
    let mut results = Vec::new();
    while i < crm.contacts && results.len() < limit {
        if !crm.template(i).archived {
            results.push(crm.record(i, wanted.as_deref()));
        }
        i += 1;
    }
    let mut out = json!({"results": results});
    if i < crm.contacts {
        out["paging"] = json!({"next": {"after": i.to_string(), "link": format!("https://api.hubapi.com/crm/v3/objects/contacts?after={i}")}});
    }
    (200, out)
}

fn search(crm: &Crm, req: &Value) -> (u16, Value) {
    let groups = req["filterGroups"].as_array().cloned().unwrap_or_default();
    let limit = req["limit"].as_u64().unwrap_or(10).clamp(1, 200) as usize;
    let after: usize = match &req["after"] {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
        _ => 0,
    };
    if after + limit > SEARCH_CAP {
        return error(
            400,
            "VALIDATION_ERROR",
            "Search results are limited to 10,000.",
        );
    }
    let wanted: Option<Vec<String>> = req["properties"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    });
    // `hs_object_id GT n` (crmgate's position in a list it pages itself): the contacts
    // after n; every other filter is decided on the contact's template.
    let mut start = 0usize;
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|mut g| {
            if let Some(f) = g["filters"].as_array_mut() {
                f.retain(|f| {
                    let keyset = f["propertyName"] == "hs_object_id" && f["operator"] == "GT";
                    if keyset {
                        let id = f["value"].as_str().and_then(|v| v.parse::<usize>().ok());
                        start = start.max(id.map_or(0, |id| id.saturating_sub(FIRST_ID) + 1));
                    }
                    !keyset
                });
            }
            g
        })
        .collect();
    let hits: Vec<bool> = crm.templates.iter().map(|t| matches(t, &groups)).collect();
    let count_to = |end: usize| {
        let per_cycle = hits.iter().filter(|h| **h).count();
        per_cycle * (end / hits.len()) + hits[..end % hits.len()].iter().filter(|h| **h).count()
    };
    let per_cycle = count_to(hits.len());
    let before = count_to(start.min(crm.contacts));
    let total = count_to(crm.contacts) - before;
    // `after` counts matches, as HubSpot's search cursor does.
    let mut results = Vec::new();
    if per_cycle > 0 && after < total {
        // The contact the `after`-th match from `start` is near: whole cycles skipped.
        let target = before + after;
        let mut i = (target / per_cycle) * hits.len();
        let mut seen = (target / per_cycle) * per_cycle;
        let after = target;
        while i < crm.contacts && results.len() < limit {
            if hits[i % hits.len()] {
                if seen >= after {
                    results.push(crm.record(i, wanted.as_deref()));
                }
                seen += 1;
            }
            i += 1;
        }
    }
    let next = after + results.len();
    let mut out = json!({"total": total, "results": results});
    if next < total {
        out["paging"] = json!({"next": {"after": next.to_string()}});
    }
    (200, out)
}

fn batch_read(crm: &Crm, req: &Value) -> (u16, Value) {
    let wanted: Option<Vec<String>> = req["properties"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    });
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in req["inputs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let id = input["id"].as_str().unwrap_or_default();
        match crm.index(id).filter(|i| !crm.template(*i).archived) {
            Some(i) => results.push(crm.record(i, wanted.as_deref())),
            None => missing.push(id.to_string()),
        }
    }
    let mut out =
        json!({"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP});
    if missing.is_empty() {
        return (200, out);
    }
    out["numErrors"] = json!(1);
    out["errors"] = json!([{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some CONTACT objects, they may be deleted or not exist.", "context": {"ids": missing}}]);
    (207, out)
}

/// A written record as HubSpot answers it: the stored one with the written properties.
fn written(crm: &Crm, i: usize, input: &Value) -> Value {
    let mut r = crm.record(i, None);
    if let (Some(p), Some(w)) = (
        r["properties"].as_object_mut(),
        input["properties"].as_object(),
    ) {
        for (k, v) in w {
            p.insert(k.clone(), v.clone());
        }
    }
    r
}

fn route(crm: &Crm, method: &hyper::Method, path: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let Some(rest) = path.strip_prefix("/crm/v3/objects/contacts") else {
        return error(404, "OBJECT_NOT_FOUND", "not found");
    };
    let req: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return error(400, "VALIDATION_ERROR", "Invalid input JSON"),
        }
    };
    match (method.as_str(), rest) {
        ("GET", "") => list(crm, query),
        ("POST", "/search") => search(crm, &req),
        ("POST", "/batch/read") => batch_read(crm, &req),
        ("POST", "/batch/update") => {
            let mut results = Vec::new();
            for input in req["inputs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(i) = input["id"].as_str().and_then(|id| crm.index(id)) {
                    results.push(written(crm, i, input));
                }
            }
            (
                200,
                json!({"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}),
            )
        }
        ("POST", "") => (201, written(crm, 0, &req)),
        (m, id) => {
            let Some(i) = id
                .strip_prefix('/')
                .and_then(|id| crm.index(id))
                .filter(|i| !crm.template(*i).archived)
            else {
                return error(404, "OBJECT_NOT_FOUND", "resource not found");
            };
            match m {
                "GET" => (200, crm.record(i, properties_param(query).as_deref())),
                "PATCH" => (200, written(crm, i, &req)),
                "DELETE" => (204, Value::Null),
                _ => error(405, "VALIDATION_ERROR", "method not allowed"),
            }
        }
    }
}

async fn serve(
    crm: Arc<Crm>,
    limited: bool,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    if path == "/__economy/stats" {
        return answer(200, &crm.stats(), Vec::new());
    }
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let is_search = path.ends_with("/search");
    let gate = if limited {
        crm.gate(is_search, request_id.as_deref())
    } else {
        Gate::Pass(Vec::new())
    };
    let (status, value, headers) = match gate {
        Gate::Limited(policy, retry) => {
            let (s, mut v) = error(
                429,
                "RATE_LIMITS",
                &format!("You have reached your {} limit.", policy.to_lowercase()),
            );
            v["errorType"] = json!("RATE_LIMIT");
            v["policyName"] = json!(policy);
            v["groupName"] = json!("publicapi:private-app:economy");
            (s, v, vec![("retry-after", retry.to_string())])
        }
        Gate::Pass(h) => {
            let (s, v) = route(&crm, &method, &path, &query, &body);
            (s, v, h)
        }
    };
    tokio::time::sleep(crm.rtt.saturating_sub(start.elapsed())).await;
    answer(status, &value, headers)
}

fn answer(
    status: u16,
    v: &Value,
    headers: Vec<(&'static str, String)>,
) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=utf-8");
    for (k, v) in headers {
        b = b.header(k, v);
    }
    let body = if status == 204 {
        Bytes::new()
    } else {
        Bytes::from(serde_json::to_vec(v).unwrap())
    };
    b.body(Full::new(body)).unwrap()
}

fn templates() -> Vec<Template> {
    let crm = DemoCrm::seeded();
    let t: Vec<Template> = (1001..1200)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .map(|r| Template {
            archived: r["archived"].as_bool().unwrap_or(false),
            properties: r["properties"].as_object().cloned().unwrap_or_default(),
        })
        .collect();
    assert!(!t.is_empty(), "the demo has contacts");
    t
}

fn write_files(dir: &Path, port: u16, gate_port: u16) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routes = std::fs::read_to_string(repo.join("policies/routes.toml")).unwrap();
    std::fs::write(dir.join("routes.toml"), routes).unwrap();
    std::fs::write(dir.join("upstream.token"), UPSTREAM_TOKEN).unwrap();
    std::fs::write(dir.join("hash.key"), "economy-hash-key-0123456789abcdef").unwrap();
    let shipped = std::fs::read_to_string(repo.join("policies/crmgate.toml")).unwrap();
    let keys_start = shipped.find("[[identity.api_keys]]").unwrap();
    let keys_end = shipped.find("[identity.mtls]").unwrap_or(shipped.len());
    let registry = &shipped[shipped.find("[purposes.").unwrap()..];
    let rest = format!("{}\n{registry}", &shipped[keys_start..keys_end]);
    let pol = repo.join("policies");
    let extra = std::env::var("CRMGATE_EXTRA").unwrap_or_default();
    let text = format!(
        r#"[listen]
addr = "127.0.0.1:{gate_port}"
plaintext = true

[upstream]
url = "http://127.0.0.1:{port}"
credential_file = "upstream.token"
timeout_ms = 30000
max_body_bytes = 8388608

[limits]
max_request_body_bytes = 1048576
max_connections = 1024
max_connections_per_ip = 1024
header_read_timeout_ms = 10000
request_timeout_ms = 60000

[policies]
schema = "{pol}/schema.cedarschema"
policies = ["{pol}/santa.cedar"]
entities = "{pol}/entities.json"
routes = "routes.toml"
redaction = "{pol}/redaction"

[audit]
dir = "audit"
fsync = false
signing_key_file = "audit-signing.key"
generate_signing_key = true

[admin]
addr = "127.0.0.1:{admin}"

[masks]
hash_key_file = "hash.key"
{extra}
{rest}"#,
        pol = pol.display(),
        admin = gate_port + 1,
    );
    std::fs::write(dir.join("crmgate.toml"), text).unwrap();
}

async fn listen(crm: Arc<Crm>, port: u16, limited: bool) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let crm = crm.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let crm = crm.clone();
                async move { Ok::<_, Infallible>(serve(crm, limited, req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: economy_upstream DIR PORT CRMGATE_PORT");
        std::process::exit(2);
    }
    let port: u16 = args[2].parse().unwrap();
    write_files(Path::new(&args[1]), port, args[3].parse().unwrap());
    let crm = Arc::new(Crm {
        templates: templates(),
        contacts: env("CONTACTS", 1_000_000),
        rtt: Duration::from_millis(env("RTT_MS", 150) as u64),
        limits: Limits {
            per_10s: env("LIMIT_10S", 190),
            search_per_s: env("SEARCH_PER_S", 5),
            daily: env("DAILY", 1_000_000),
        },
        counters: Mutex::new(Counters::default()),
    });
    tokio::spawn(listen(crm.clone(), port + 1, false));
    println!("ready {}", crm.templates.len());
    listen(crm, port, true).await;
}
