//! Carrying the plan out through crmgate's write path, resumable from a write-ahead
//! checkpoint file. Never sends an action before its `started` mark is synced, and never
//! repeats an action a restart finds carried out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::retention::Clock;
use crate::stages::pipeline::Policies;
use crate::stages::vendor::{ClientRequest, Erasure};

use super::plan::{collection_of, plan_with, rules_of, Connection, Crmgate, Entry, Progress};

/// One line of the checkpoint file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointLine {
    pub run: String,
    pub at: String,
    /// `run` (a run began), `held` (a record a hold keeps), `started`, `done`, `failed`.
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
    let (mut done, started) = resume(lines);
    // Sent, perhaps carried out, never marked: read the record before anything else.
    for (key, entry) in started {
        if carried_out(policies, &mut gate, &entry).await? {
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
    // The records a hold keeps, each with its hold: the deletion record lists them.
    mark_held(&mut checkpoint, &run, &plan.entries)?;
    let progress = Progress::new();
    let total = plan.due().count();
    let mut sent = 0usize;
    for (i, entry) in plan.due().enumerate() {
        if done.contains(&entry.key()) {
            applied.skipped += 1;
            continue;
        }
        progress.show(&format!("retention apply: {}/{total}", i + 1));
        let ClientRequest { method, path, body } = action_request(policies, entry)?;
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

/// Mark every record a hold keeps, with its hold.
fn mark_held(checkpoint: &mut Checkpoint, run: &str, entries: &[Entry]) -> Result<(), String> {
    for entry in entries.iter().filter(|e| e.is_held()) {
        checkpoint.mark(&CheckpointLine {
            run: run.to_string(),
            at: now(),
            event: "held".into(),
            entry: Some(entry.clone()),
            status: None,
            rechecked: false,
            today: None,
        })?;
    }
    Ok(())
}

/// What the checkpoint file says of earlier runs: the entries done, and those started but
/// never marked done or failed (sent, perhaps carried out), by key.
fn resume(lines: Vec<CheckpointLine>) -> (BTreeSet<String>, BTreeMap<String, Entry>) {
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
            // A record kept by a hold was not acted on.
            "held" => {}
            // A failed action may be tried again.
            _ => {
                started.remove(&entry.key());
            }
        }
    }
    (done, started)
}

/// Whether a started action was carried out: the record is gone, or its properties are
/// empty, as the CRM answers now.
async fn carried_out(
    policies: &Policies,
    gate: &mut Crmgate<'_>,
    entry: &Entry,
) -> Result<bool, String> {
    let collection = collection_of(policies, &entry.resource)?;
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
    Ok(finished)
}

/// The request that carries out an entry's action, as the vendor spells it.
fn action_request(policies: &Policies, entry: &Entry) -> Result<ClientRequest, String> {
    let collection = collection_of(policies, &entry.resource)?;
    let how = match entry.action.as_str() {
        "archive" => Erasure::Archive,
        "gdpr_delete" => Erasure::Erase,
        _ => Erasure::Clear(&entry.properties),
    };
    Ok(policies.vendor.erase_request(collection, &entry.id, how))
}
