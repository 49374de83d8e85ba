//! `crmgate retention plan|apply|report`: the deletion concept carried out and documented.
//!
//! `plan` and `apply` are clients of a running crmgate: they read the CRM through it as the
//! deletion run's app (its service key, purpose `deletion`), so every read and every
//! deletion is authorized and audited like any request, and a deletion crmgate does not
//! compute as due is refused by the policies. What is due is decided by the same rules
//! ([`crate::stages::retention`]) and the same "today" as the proxy's.
//!
//! `apply` keeps a write-ahead checkpoint file (JSON lines): an action is marked `started`
//! (and synced) before its request is sent and `done` after; on a restart an action
//! started but not done is first re-checked by reading the record, so nothing is done twice.
//! Each request names its rule (`X-Crmgate-Retention-Rule`), which crmgate writes into the
//! audit record. `report` renders the concept and the figures of the last runs.
//!
//! This tool never writes to the CRM except through crmgate, and never decides on its own
//! that a record may be deleted: crmgate's policies have the last word.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stages::pipeline::Policies;
use crate::stages::retention::{Action, Clock, Day, HoldRule, RetentionRules, RULE_HEADER};
use crate::stages::routing::RouteTable;
use crate::stages::vendor::{ClientRequest, Erasure};
use crate::tools::cli::ConfigArgs;

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

struct Crmgate<'a> {
    conn: &'a Connection,
    client: HttpClient,
    last: Option<std::time::Instant>,
    purpose: String,
}

struct Answer {
    status: u16,
    body: Value,
}

impl<'a> Crmgate<'a> {
    fn new(conn: &'a Connection, purpose: &str) -> Result<Crmgate<'a>, String> {
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

    async fn send(
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
struct Progress {
    on: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
        }
    }
    fn show(&self, text: &str) {
        if self.on {
            eprint!("\r\x1b[2K{text}");
            let _ = std::io::stderr().flush();
        }
    }
    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

fn collection_of<'r>(routes: &'r RouteTable, resource: &str) -> Result<&'r str, String> {
    routes
        .resource(resource)
        .map(|r| r.collection.as_str())
        .ok_or_else(|| format!("no resource type `{resource}` in the routes"))
}

fn rules_of(policies: &Policies) -> Result<&RetentionRules, String> {
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

async fn plan_with(
    policies: &Policies,
    rules: &RetentionRules,
    clock: Clock,
    gate: &mut Crmgate<'_>,
) -> Result<Plan, String> {
    let today = clock.today();
    let progress = Progress::new();
    let resources: BTreeSet<&str> = rules.kinds.iter().map(|k| k.resource.as_str()).collect();
    let mut entries = Vec::new();
    let mut records_read = 0;
    for resource in resources {
        let collection = collection_of(&policies.routes, resource)?;
        let props: Vec<String> = rules.plan_inputs(resource).into_iter().collect();
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
                for item in rules.evaluate(resource, props, today).items {
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

// ---------------------------------------------------------------------------------------
// apply

/// One line of the checkpoint file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointLine {
    pub run: String,
    pub at: String,
    /// `run` (a run began), `started`, `done`, `failed`.
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `done` found by re-reading the record after a restart (the request had gone out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rechecked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
}

/// What `apply` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub run: String,
    /// Actions carried out by this run (requests sent and answered with success).
    pub done: usize,
    /// Actions an earlier run had sent, found done on re-reading the record.
    pub rechecked: usize,
    /// Actions an earlier run had finished (skipped).
    pub skipped: usize,
    pub held: usize,
    pub failed: Vec<String>,
}

pub struct ApplyOptions {
    pub checkpoint: PathBuf,
    /// Test-only: stop (as a crash would) after this many requests were sent, before they
    /// are marked done.
    pub crash_after: Option<usize>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

struct Checkpoint {
    file: std::fs::File,
}

impl Checkpoint {
    fn open(path: &Path) -> Result<(Checkpoint, Vec<CheckpointLine>), String> {
        let lines = read_checkpoint(path)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((Checkpoint { file }, lines))
    }

    /// Append a line and sync it: the mark is durable before the next step.
    fn mark(&mut self, line: &CheckpointLine) -> Result<(), String> {
        let mut text = serde_json::to_string(line).map_err(|e| e.to_string())?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("checkpoint: {e}"))
    }
}

/// The lines of a checkpoint file; a torn last line (a crash mid-write) is ignored.
pub fn read_checkpoint(path: &Path) -> Result<Vec<CheckpointLine>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Carry the plan out through crmgate's write path, resumable from the checkpoint file.
pub async fn apply(
    policies: &Policies,
    clock: Clock,
    conn: &Connection,
    opts: &ApplyOptions,
) -> Result<Applied, String> {
    let rules = rules_of(policies)?;
    let mut gate = Crmgate::new(conn, &rules.run.purpose)?;
    let (mut checkpoint, lines) = Checkpoint::open(&opts.checkpoint)?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut applied = Applied {
        run: run.clone(),
        ..Applied::default()
    };
    checkpoint.mark(&CheckpointLine {
        run: run.clone(),
        at: now(),
        event: "run".into(),
        entry: None,
        status: None,
        rechecked: false,
        today: Some(clock.today().to_string()),
    })?;
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut started: BTreeMap<String, Entry> = BTreeMap::new();
    for l in lines {
        let Some(entry) = l.entry else { continue };
        match l.event.as_str() {
            "started" => {
                started.insert(entry.key(), entry);
            }
            "done" => {
                started.remove(&entry.key());
                done.insert(entry.key());
            }
            // A failed action may be tried again.
            _ => {
                started.remove(&entry.key());
            }
        }
    }
    // Sent, perhaps carried out, never marked: read the record before anything else.
    for (key, entry) in started {
        let collection = collection_of(&policies.routes, &entry.resource)?;
        let get = policies
            .vendor
            .get_request(collection, &entry.id, &entry.properties);
        let answer = gate.send(get.method, &get.path, get.body, None).await?;
        let finished = match (entry.action.as_str(), answer.status) {
            ("archive" | "gdpr_delete", 404) => true,
            ("anonymise", 200) => entry.properties.iter().all(|p| {
                policies
                    .vendor
                    .record_properties(&answer.body)
                    .and_then(|props| props.get(p))
                    .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
            }),
            _ => false,
        };
        if finished {
            checkpoint.mark(&CheckpointLine {
                run: run.clone(),
                at: now(),
                event: "done".into(),
                entry: Some(entry),
                status: None,
                rechecked: true,
                today: None,
            })?;
            done.insert(key);
            applied.rechecked += 1;
        }
    }
    let plan = plan_with(policies, rules, clock, &mut gate).await?;
    applied.held = plan.entries.iter().filter(|e| e.is_held()).count();
    let progress = Progress::new();
    let total = plan.due().count();
    let mut sent = 0usize;
    for (i, entry) in plan.due().enumerate() {
        if done.contains(&entry.key()) {
            applied.skipped += 1;
            continue;
        }
        progress.show(&format!("retention apply: {}/{total}", i + 1));
        let collection = collection_of(&policies.routes, &entry.resource)?;
        let how = match entry.action.as_str() {
            "archive" => Erasure::Archive,
            "gdpr_delete" => Erasure::Erase,
            _ => Erasure::Clear(&entry.properties),
        };
        let ClientRequest { method, path, body } =
            policies.vendor.erase_request(collection, &entry.id, how);
        // Write-ahead: the mark is durable before the request leaves.
        checkpoint.mark(&CheckpointLine {
            run: run.clone(),
            at: now(),
            event: "started".into(),
            entry: Some(entry.clone()),
            status: None,
            rechecked: false,
            today: None,
        })?;
        let answer = gate.send(method, &path, body, Some(&entry.rule)).await?;
        sent += 1;
        if opts.crash_after.is_some_and(|n| sent >= n) {
            return Err(format!("stopped after {sent} actions (--crash-after)"));
        }
        let ok = (200..300).contains(&answer.status)
            || (answer.status == 404 && entry.action != "anonymise");
        checkpoint.mark(&CheckpointLine {
            run: run.clone(),
            at: now(),
            event: if ok { "done" } else { "failed" }.into(),
            entry: Some(entry.clone()),
            status: Some(answer.status),
            rechecked: false,
            today: None,
        })?;
        if ok {
            applied.done += 1;
        } else {
            applied.failed.push(format!(
                "{}: status {} {}",
                entry.key(),
                answer.status,
                answer.body
            ));
        }
    }
    progress.done();
    Ok(applied)
}

// ---------------------------------------------------------------------------------------
// report

/// Figures of one run, from a checkpoint file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    pub run: String,
    pub at: String,
    pub today: String,
    /// rule → actions done
    pub done: BTreeMap<String, usize>,
    pub failed: usize,
}

pub fn run_figures(lines: &[CheckpointLine]) -> Vec<RunFigures> {
    let mut runs: Vec<RunFigures> = Vec::new();
    for l in lines {
        if l.event == "run" {
            runs.push(RunFigures {
                run: l.run.clone(),
                at: l.at.clone(),
                today: l.today.clone().unwrap_or_default(),
                ..RunFigures::default()
            });
            continue;
        }
        let Some(r) = runs.iter_mut().rev().find(|r| r.run == l.run) else {
            continue;
        };
        match (l.event.as_str(), &l.entry) {
            ("done", Some(e)) => *r.done.entry(e.rule.clone()).or_default() += 1,
            ("failed", _) => r.failed += 1,
            _ => {}
        }
    }
    runs
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The deletion concept as a document: (heading, table header, rows) per section.
fn sections(
    rules: &RetentionRules,
    runs: &[RunFigures],
) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let kinds = rules
        .kinds
        .iter()
        .map(|k| {
            let when: Vec<String> = k
                .when
                .iter()
                .map(|(p, v)| {
                    format!(
                        "{p} ∈ {{{}}}",
                        v.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            let action = match k.action {
                Action::Anonymise => format!("anonymise {}", k.groups.join(", ")),
                a => a.name().to_string(),
            };
            vec![
                k.name.clone(),
                k.description.clone(),
                format!("{} {}", k.resource, when.join("; ")),
                if k.groups.is_empty() {
                    "whole record".into()
                } else {
                    k.groups.join(", ")
                },
                k.start.describe(),
                k.period.to_string(),
                action,
                k.legal_basis.clone(),
            ]
        })
        .collect();
    let holds = rules
        .holds
        .iter()
        .map(|h| {
            let what = match &h.rule {
                HoldRule::Flag { property } => {
                    format!("while `{property}` is true: the whole record")
                }
                HoldRule::Statutory {
                    groups,
                    start,
                    period,
                    ..
                } => format!(
                    "{} from the {}: the record and its {} data",
                    period,
                    start.describe(),
                    groups.join(", ")
                ),
            };
            vec![
                h.name.clone(),
                h.description.clone(),
                h.resource.clone(),
                what,
                h.legal_basis.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let figures = runs
        .iter()
        .rev()
        .take(10)
        .map(|r| {
            let done: Vec<String> = r.done.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            vec![
                r.at.clone(),
                r.today.clone(),
                r.run.clone(),
                if done.is_empty() {
                    "nothing".into()
                } else {
                    done.join(", ")
                },
                r.failed.to_string(),
            ]
        })
        .collect();
    vec![
        (
            "Data kinds and rules".into(),
            [
                "rule",
                "data kind",
                "records",
                "scope",
                "start event",
                "period",
                "action",
                "legal basis",
            ]
            .map(String::from)
            .to_vec(),
            kinds,
        ),
        (
            "Holds".into(),
            ["hold", "what", "resource", "keeps", "legal basis"]
                .map(String::from)
                .to_vec(),
            holds,
        ),
        (
            "Last runs".into(),
            ["at", "today", "run", "actions done", "failed"]
                .map(String::from)
                .to_vec(),
            figures,
        ),
    ]
}

const INTRO: &str = "Retention rules per data kind (policies/retention.toml). From the day a \
whole-record rule falls due, the record is invisible to every purpose but the deletion run's \
and accounting's statutory duties; `crmgate retention apply` archives, deletes or anonymises \
it through crmgate's write path, each action audited with its rule. A hold stops a rule while \
it is in force.";

pub fn markdown(rules: &RetentionRules, runs: &[RunFigures]) -> String {
    let mut s = format!(
        "# Deletion concept\n\n{INTRO}\n\nCarried out by app `{}` with purpose `{}`.\n",
        rules.run.app, rules.run.purpose
    );
    for (title, head, rows) in sections(rules, runs) {
        let _ = writeln!(s, "\n## {title}\n");
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
    }
    s
}

pub fn html(rules: &RetentionRules, runs: &[RunFigures]) -> String {
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>crmgate deletion concept</title><style>\
         body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}\
         th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left;vertical-align:top}th{background:#f3f3f3}\
         </style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Deletion concept</h1><p>{}</p><p>Carried out by app <code>{}</code> with purpose <code>{}</code>.</p>",
        esc(INTRO),
        esc(&rules.run.app),
        esc(&rules.run.purpose)
    );
    for (title, head, rows) in sections(rules, runs) {
        let _ = write!(s, "<h2>{}</h2><table><tr>", esc(&title));
        for h in head {
            let _ = write!(s, "<th>{}</th>", esc(&h));
        }
        s.push_str("</tr>");
        for r in rows {
            s.push_str("<tr>");
            for c in r {
                let _ = write!(s, "<td>{}</td>", esc(&c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}

/// The figures of every checkpoint file given.
pub fn figures_of(checkpoints: &[PathBuf]) -> Result<Vec<RunFigures>, String> {
    let mut runs = Vec::new();
    for c in checkpoints {
        runs.extend(run_figures(&read_checkpoint(c)?));
    }
    runs.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(runs)
}

/// Today as the configuration says (for messages).
pub fn today(clock: Clock) -> Day {
    clock.today()
}

// ---------------------------------------------------------------------------------------
// the subcommand

/// Where crmgate is, for `plan` and `apply`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// crmgate's base URL.
    #[arg(long, default_value = "https://localhost:8443")]
    pub url: String,
    /// The deletion run's service key (the App of retention.toml `[run]`).
    #[arg(long, env = "CRMGATE_RETENTION_KEY", hide_env_values = true)]
    pub key: String,
    /// A CA file to trust for crmgate's certificate (the dev CA: `certs/ca.pem`).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Most requests per second (a CRM's private app may be allowed 100 per 10 s).
    #[arg(long, default_value_t = 9.0)]
    pub rate: f64,
    /// Most pages read per resource type.
    #[arg(long, default_value_t = 1000)]
    pub max_pages: usize,
}

impl ConnectionArgs {
    pub fn connection(&self) -> Connection {
        Connection {
            base: self.url.clone(),
            key: self.key.clone(),
            ca: self.ca.clone(),
            rate: self.rate,
            max_pages: self.max_pages,
        }
    }
}

/// `retention plan --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// A table for a person.
    Table,
    /// The plan as JSON.
    Json,
    /// One line per record due.
    Csv,
}

/// `retention report --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The document as Markdown.
    #[value(alias = "md")]
    Markdown,
    /// The document as an HTML page.
    Html,
}

#[derive(clap::Subcommand, Debug)]
pub enum RetentionCommand {
    /// What each rule finds due (and what a hold keeps), read through a running crmgate.
    /// Changes nothing.
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        conn: ConnectionArgs,
        /// The output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Carry the plan out through crmgate's write path, resumable from a checkpoint file.
    Apply {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        conn: ConnectionArgs,
        /// Write-ahead checkpoint (JSON lines); a restart resumes from it.
        #[arg(long, default_value = "retention-checkpoint.jsonl")]
        checkpoint: PathBuf,
        /// Testing only: stop after this many requests, before marking them done.
        #[arg(long, hide = true)]
        crash_after: Option<usize>,
    },
    /// The deletion concept as a document (Markdown or HTML) with the figures of the last
    /// runs (from checkpoint files).
    Report {
        #[command(flatten)]
        config: ConfigArgs,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Checkpoint files of runs (`apply --checkpoint`).
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn load(config: &Path) -> Result<(crate::config::Config, Policies), String> {
    let (config, _) = crate::tools::cli::load_config_for_tools(config)
        .map_err(|p| format!("the configuration has problems:\n{p}"))?;
    let policies = crate::startup::app::load_policies(&config)
        .map_err(|p| format!("the policies have problems (run `crmgate check`):\n{p}"))?;
    Ok((config, policies))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Run a `crmgate retention` subcommand.
pub fn run(cmd: RetentionCommand) -> Result<(), String> {
    match cmd {
        RetentionCommand::Plan {
            config,
            conn,
            format,
        } => {
            let (config, policies) = load(&config.path)?;
            let clock = config.policies.retention_clock;
            let p = runtime()?.block_on(plan(&policies, clock, &conn.connection()))?;
            let rules = rules_of(&policies)?;
            let text = match format {
                PlanFormat::Json => {
                    serde_json::to_string_pretty(&p).map_err(|e| e.to_string())? + "\n"
                }
                PlanFormat::Csv => render_csv(&p),
                PlanFormat::Table => render_table(rules, &p),
            };
            print!("{text}");
            Ok(())
        }
        RetentionCommand::Apply {
            config,
            conn,
            checkpoint,
            crash_after,
        } => {
            let (config, policies) = load(&config.path)?;
            let clock = config.policies.retention_clock;
            let opts = ApplyOptions {
                checkpoint,
                crash_after,
            };
            let a = runtime()?.block_on(apply(&policies, clock, &conn.connection(), &opts))?;
            println!(
                "retention apply: {} done, {} found done on re-reading, {} done before, {} held, {} failed",
                a.done,
                a.rechecked,
                a.skipped,
                a.held,
                a.failed.len()
            );
            for f in &a.failed {
                eprintln!("failed: {f}");
            }
            if a.failed.is_empty() {
                Ok(())
            } else {
                Err(format!("{} action(s) failed", a.failed.len()))
            }
        }
        RetentionCommand::Report {
            config,
            format,
            checkpoint,
            out,
        } => {
            let (_, policies) = load(&config.path)?;
            let rules = rules_of(&policies)?;
            let runs = figures_of(&checkpoint)?;
            let text = match format {
                ReportFormat::Markdown => markdown(rules, &runs),
                ReportFormat::Html => html(rules, &runs),
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
                }
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}
