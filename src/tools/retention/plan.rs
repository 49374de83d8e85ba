//! The deletion run's plan: the CRM read through crmgate as the run's app, each record
//! asked of the same rules and "today" as the proxy's. Changes nothing, and never reads the
//! CRM except through crmgate.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::retention::{Clock, RetentionRules, RULE_HEADER};
use crate::stages::pipeline::Policies;

/// Where crmgate is and how the deletion run signs in.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `https://localhost:8443`
    pub base: String,
    /// The retention app's service key.
    pub key: String,
    /// A CA file to trust (the dev CA), besides the web PKI.
    pub ca: Option<PathBuf>,
    /// Most requests per second (a CRM's private app may be allowed 100 per 10 s).
    pub rate: f64,
    /// Most pages read per resource type (a bound, not a target).
    pub max_pages: usize,
}

/// One thing to do (or held) on one record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub resource: String,
    pub id: String,
    pub action: String,
    pub due_on: String,
    /// Holds that stop it (`name` or `name until YYYY-MM-DD`); empty: to be done.
    #[serde(default)]
    pub held_by: Vec<String>,
    /// Anonymise: the properties that are cleared.
    #[serde(default)]
    pub properties: Vec<String>,
}

impl Entry {
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.rule, self.resource, self.id, self.action
        )
    }
    pub fn is_held(&self) -> bool {
        !self.held_by.is_empty()
    }
}

/// What `plan` found.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub today: String,
    pub records_read: usize,
    pub entries: Vec<Entry>,
}

impl Plan {
    pub fn due(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.is_held())
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) struct Crmgate<'a> {
    conn: &'a Connection,
    client: HttpClient,
    last: Option<std::time::Instant>,
    purpose: String,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl<'a> Crmgate<'a> {
    pub(crate) fn new(conn: &'a Connection, purpose: &str) -> Result<Crmgate<'a>, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &conn.ca {
            for c in crate::pki::load_certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| format!("`{}`: {e}", ca.display()))?;
            }
        }
        let https = crate::pki::https_connector(roots, "crmgate")?;
        Ok(Crmgate {
            conn,
            client: Client::builder(TokioExecutor::new()).build(https),
            last: None,
            purpose: purpose.to_string(),
        })
    }

    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        rule: Option<&str>,
    ) -> Result<Answer, String> {
        // Pace the requests: crmgate forwards each to the CRM, whose rate limit is ours.
        if self.conn.rate > 0.0 {
            let gap = Duration::from_secs_f64(1.0 / self.conn.rate);
            if let Some(last) = self.last {
                let elapsed = last.elapsed();
                if elapsed < gap {
                    tokio::time::sleep(gap.saturating_sub(elapsed)).await;
                }
            }
        }
        self.last = Some(std::time::Instant::now());
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.conn.base.trim_end_matches('/')))
            .header("authorization", format!("Bearer {}", self.conn.key))
            .header("x-purpose", &self.purpose);
        if let Some(rule) = rule {
            b = b.header(RULE_HEADER, rule);
        }
        let bytes = match &body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = b.body(Full::new(bytes)).map_err(|e| e.to_string())?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }
}

/// A progress line on standard error, only when it is a terminal.
pub(super) struct Progress {
    on: bool,
}

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
        }
    }
    pub(super) fn show(&self, text: &str) {
        if self.on {
            eprint!("\r\x1b[2K{text}");
            let _ = std::io::stderr().flush();
        }
    }
    pub(super) fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

pub(super) fn collection_of<'r>(policies: &'r Policies, resource: &str) -> Result<&'r str, String> {
    policies
        .routes
        .resource(resource)
        .map(|r| policies.vendor.client_collection(r))
        .ok_or_else(|| format!("no resource type `{resource}` in the routes"))
}

pub(super) fn rules_of(policies: &Policies) -> Result<&RetentionRules, String> {
    policies
        .retention
        .as_deref()
        .ok_or_else(|| "no deletion concept is configured (`[policies] retention`)".to_string())
}

/// Walk the CRM through crmgate and say what each rule finds due. Changes nothing.
pub async fn plan(policies: &Policies, clock: Clock, conn: &Connection) -> Result<Plan, String> {
    let rules = rules_of(policies)?;
    let mut gate = Crmgate::new(conn, &rules.run.purpose)?;
    plan_with(policies, rules, clock, &mut gate).await
}

pub(super) async fn plan_with(
    policies: &Policies,
    rules: &RetentionRules,
    clock: Clock,
    gate: &mut Crmgate<'_>,
) -> Result<Plan, String> {
    let today = clock.today();
    let progress = Progress::new();
    let walks = walks(policies, rules);
    let mut entries = Vec::new();
    let mut records_read = 0;
    for (kind_type, resource) in walks {
        let collection = collection_of(policies, resource)?;
        let props: Vec<String> = rules.plan_inputs(kind_type).into_iter().collect();
        let mut after: Option<String> = None;
        for page in 0.. {
            if page >= gate.conn.max_pages {
                return Err(format!(
                    "{collection}: more than {} pages; raise --max-pages",
                    gate.conn.max_pages
                ));
            }
            let list = policies
                .vendor
                .list_request(collection, &props, after.as_deref());
            let path = list.path;
            let answer = gate.send(list.method, &path, list.body, None).await?;
            if answer.status != 200 {
                return Err(format!(
                    "GET {path}: status {}: {}",
                    answer.status, answer.body
                ));
            }
            let page = policies.vendor.read_list(&answer.body);
            for (id, props) in &page.records {
                records_read += 1;
                let Some(id) = id else {
                    continue;
                };
                for item in rules.evaluate(kind_type, props, today).items {
                    entries.push(Entry {
                        rule: item.kind,
                        resource: resource.to_string(),
                        id: id.to_string(),
                        action: item.action.name().to_string(),
                        due_on: item.due_on.to_string(),
                        held_by: item
                            .held_by
                            .iter()
                            .map(|(h, until)| match until {
                                Some(d) => format!("{h} until {d}"),
                                None => h.clone(),
                            })
                            .collect(),
                        properties: item.properties,
                    });
                }
            }
            progress.show(&format!(
                "retention plan: {collection}: {records_read} records read, {} due",
                entries.iter().filter(|e| !e.is_held()).count()
            ));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
    }
    progress.done();
    entries.sort_by(|a, b| {
        (rank(rules, &a.rule), num(&a.id), &a.id).cmp(&(rank(rules, &b.rule), num(&b.id), &b.id))
    });
    Ok(Plan {
        today: today.to_string(),
        records_read,
        entries,
    })
}

/// The resource types to walk: for each type the rules name, every resource of the routes
/// of that Cedar type (a vendor may keep one type's records in several objects: leads
/// and contacts are both `Contact`s), each with the type its rules are named by.
fn walks<'r>(policies: &'r Policies, rules: &'r RetentionRules) -> BTreeSet<(&'r str, &'r str)> {
    let types: BTreeSet<&str> = rules.kinds.iter().map(|k| k.resource.as_str()).collect();
    let mut out = BTreeSet::new();
    for t in types {
        out.insert((t, t));
        out.extend(
            policies
                .routes
                .resources()
                .filter(|r| r.entity_type == t)
                .map(|r| (t, r.name.as_str())),
        );
    }
    out
}

fn rank(rules: &RetentionRules, kind: &str) -> usize {
    rules
        .kinds
        .iter()
        .position(|k| k.name == kind)
        .unwrap_or(usize::MAX)
}

fn num(id: &str) -> u64 {
    id.parse().unwrap_or(u64::MAX)
}

/// The plan as a table: per rule the counts, then the record ids.
pub fn render_table(rules: &RetentionRules, plan: &Plan) -> String {
    let mut s = format!(
        "retention plan for {} ({} records read)\n\n",
        plan.today, plan.records_read
    );
    let _ = writeln!(
        s,
        "{:<22} {:<10} {:<12} {:>4} {:>5}  records",
        "rule", "resource", "action", "due", "held"
    );
    for k in &rules.kinds {
        let of: Vec<&Entry> = plan.entries.iter().filter(|e| e.rule == k.name).collect();
        let due: Vec<&str> = of
            .iter()
            .filter(|e| !e.is_held())
            .map(|e| e.id.as_str())
            .collect();
        let held: Vec<String> = of
            .iter()
            .filter(|e| e.is_held())
            .map(|e| format!("{} (held: {})", e.id, e.held_by.join(", ")))
            .collect();
        let line = format!(
            "{:<22} {:<10} {:<12} {:>4} {:>5}  {}",
            k.name,
            k.resource,
            k.action.name(),
            due.len(),
            held.len(),
            due.join(" ")
        );
        let _ = writeln!(s, "{}", line.trim_end());
        for h in held {
            let _ = writeln!(s, "{:<57}  {h}", "");
        }
    }
    s
}

pub fn render_csv(plan: &Plan) -> String {
    let mut s = String::from("rule,resource,id,action,due_on,status,held_by,properties\n");
    for e in &plan.entries {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},\"{}\",\"{}\"",
            e.rule,
            e.resource,
            e.id,
            e.action,
            e.due_on,
            if e.is_held() { "held" } else { "due" },
            e.held_by.join("; ").replace('"', "\"\""),
            e.properties.join(" ")
        );
    }
    s
}
