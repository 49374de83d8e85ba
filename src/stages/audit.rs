//! Stage 10, audit: exactly one record per request, durable before the response leaves.
//!
//! # The log on disk
//!
//! The log is a directory of **segments**, `seg-<first seq, 20 digits>.jsonl`, one JSON
//! object per line. Every line (an *entry*) carries `seq` (0, 1, 2, … with no gaps, across
//! segments and restarts) and `prev`, the SHA-256 (hex) of the previous entry's
//! **canonical form**: the exact bytes of its line without the trailing `\n`. The first
//! entry ever has `prev` = 64 zeros ([`GENESIS`]). So a changed, deleted, inserted or
//! reordered line breaks the chain at the first bad entry. Entries are:
//!
//! - request records ([`AuditRecord`], no `kind` field): one per request;
//! - `"kind":"start"`: crmgate started (every start opens a new segment);
//! - `"kind":"recovery"`: what was cut or lost and why — a torn last line after a crash
//!   (its length and SHA-256), or an outage of the log (the error, since when, how many
//!   requests were refused meanwhile, bytes cut from the segment that failed);
//! - `"kind":"retention"`: segments deleted by `retention_days` (`first_kept_seq`);
//! - `"kind":"connection_events"`: what reached crmgate but never became a request — failed
//!   or timed-out TLS handshakes, requests hyper refused itself, connections refused by the
//!   per-address limit or cut by a timeout — as counts by reason over an interval (`since`,
//!   `until`), never one entry per connection, and with no client data, so that nobody can
//!   flood the log by opening bogus connections;
//! - `"kind":"checkpoint"`: an Ed25519 signature ([`signing`]) over
//!   [`checkpoint_message`]: its own `seq`, its `prev` (which pins every entry before it),
//!   its `time` and the previous checkpoint's `sig` (`prev_sig`, empty for the first), so
//!   checkpoints form a signed chain of their own. They are written every
//!   `checkpoint_every` entries, every `checkpoint_interval_s` seconds when anything is
//!   uncovered, and at shutdown, in the same write (and fsync) as the records they cover.
//!
//! Segments rotate by size and age. Each closed segment gets an index `seg-….idx`
//! ([`query`]) for `audit query`; indexes are derived data and are not chained. One
//! process writes a directory: it holds `crmgate.lock` ([`lock`]) from before its first
//! write; readers take no lock.
//!
//! The hash chain alone does not stop someone who rewrites the log from a point onward and
//! recomputes every hash; the checkpoint signatures do, up to the last checkpoint. Entries
//! after the last checkpoint are only as good as the chain: `audit verify` reports how many.
//!
//! # Writing
//!
//! Records go to a writer thread ([`writer`]) that appends them in batches: every record
//! that arrived while the previous batch was being written is written and fsync'd together,
//! then every waiting request is released (group commit). If a write or fsync fails, the
//! batch's requests get a 503, the segment is closed and never written or fsync'd again as
//! such: the writer reopens it, checks that its durable part still ends in the expected
//! hash, cuts off the failed batch, and continues in a new segment starting with a recovery
//! entry. Until that works every record fails (data routes answer 503) and the admin
//! listener's `/healthz` says why. A crash between writing a batch and releasing its
//! responses can leave records of responses that never left; never the other way round.
//! Records hold names and ids, never field values, tokens or keys.
//!
//! A request waits for its record at most `write_timeout` (a hung disk must not stall every
//! request): then it answers 503, and so do the requests after it, at once, until the
//! writer completes a write again; `/readyz` fails meanwhile. The writer keeps the record
//! and its place in the chain: it lands when the disk answers, followed by an
//! `"kind":"audit_deadline"` entry naming its `request_id` and the 503 its client got.

pub mod central;
pub mod lock;
pub mod query;
pub mod signing;
pub mod sink;
pub mod verify;
mod writer;

pub use sink::{AuditEvent, AuditSink, Framed, WriteIntent};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::admin::Health;
use crate::config::AuditConfig;
use crate::stages::filter::{GroupsAudit, RecordAudit};
use crate::stages::write_inputs::WriteAudit;

/// One audit record. Filled in as the request passes the stages; its place in the chain
/// (`seq`, `prev`) is added by the sink that writes it ([`Framed`]).
#[derive(Debug, Default, Serialize)]
pub struct AuditRecord {
    pub time: String,
    pub request_id: String,
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    pub principal: Option<String>,
    /// How the principal authenticated: `mtls`, `jwt` or `api_key` (never the credential).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<&'static str>,
    pub department: Option<String>,
    /// `claims` when the identity provider's token described the principal (department,
    /// roles, active) instead of the entities file; `roles` are then the claimed roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    pub purpose: Option<String>,
    /// The deletion concept's rule this request carries out (`X-Crmgate-Retention-Rule`,
    /// accepted only from the deletion run's app, for a rule of the concept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_rule: Option<String>,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub action: Option<String>,
    /// Entity type of the records the route serves (`Contact`): `records` ids are of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub policy_revision: String,
    /// The route is in shadow mode: the client received the upstream body unfiltered, and
    /// `records` says so (every record, every field group in clear); what enforcement
    /// would have done is in `would_have`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_have: Option<WouldHave>,
    /// `allow`, `deny` or `error` (the request failed before or after the decision).
    pub decision: &'static str,
    /// Why, when the request did not succeed: the error kind (`unauthenticated`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub policies: Vec<String>,
    pub cedar_errors: Vec<String>,
    /// Cedar evaluations this request's decisions cost (request, records, field groups).
    pub cedar_evaluations: usize,
    /// Cedar evaluations of the one-off analysis of what this caller may select records by
    /// and whether it sees every record ([`crate::stages::authz::selectability`]): made once
    /// per caller, purpose and policy revision, then memoised.
    #[serde(skip_serializing_if = "is_zero")]
    pub analysis_evaluations: usize,
    pub records: Vec<RecordAudit>,
    pub rows_dropped: Vec<String>,
    /// A request refused (or failed) before any record was shown or written: the records
    /// it named (the id in its path), so that who asked for them is on record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<String>,
    /// Write routes: per input, the record, the action, what was written, stripped,
    /// redacted (categories and counts, never values) and stamped, and the outcome.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<WriteAudit>,
    /// Records crmgate read with its own credential to decide a write on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prior_read: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unclassified: Vec<String>,
    /// Records of other types the answer names as associated (`contacts/1001`, ids only):
    /// those shown, and those left out because the caller may not read them or the CRM
    /// does not have them (the two are not told apart).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub associations_shown: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub associations_dropped: Vec<String>,
    /// Associated records crmgate read with its own credential to decide them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub associated_read: Vec<String>,
    pub upstream_status: Option<u16>,
    pub status: u16,
    /// The client went away (HTTP/1 EOF, HTTP/2 stream reset) before its response was
    /// ready: the request was still carried out to the end and recorded, but the response
    /// (`status`) was never delivered.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_cancelled: bool,
    pub latency_us: BTreeMap<&'static str, u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What enforcement would have done to a response a shadow route released unfiltered.
#[derive(Debug, Default, Serialize)]
pub struct WouldHave {
    pub records: Vec<RecordAudit>,
    pub rows_dropped: Vec<String>,
    pub status: u16,
}

impl AuditRecord {
    /// A shadow route released the upstream body as it came. The filter's findings move
    /// to `would_have`; `records` becomes what the client got: every record the body held
    /// (kept or not), with every field group of the resource (`groups`) in clear.
    pub fn shadow_release(&mut self, groups: &[String], would_have_status: u16) {
        let records = std::mem::take(&mut self.records);
        let rows_dropped = std::mem::take(&mut self.rows_dropped);
        let all_clear = GroupsAudit::new(groups.to_vec(), BTreeMap::new(), Vec::new());
        self.records = records
            .iter()
            .map(|r| r.id.clone())
            .chain(rows_dropped.iter().cloned())
            .map(|id| RecordAudit::new(id, all_clear.clone()))
            .collect();
        self.shadow = true;
        self.would_have = Some(WouldHave {
            records,
            rows_dropped,
            status: would_have_status,
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open audit log `{path}`: {message}")]
    Open { path: PathBuf, message: String },
    /// Another process writes this directory (it holds `crmgate.lock`).
    #[error("the audit directory `{}` is in use by another crmgate process ({}): one process writes an audit directory; stop that one, or give this one an `audit.dir` of its own", dir.display(), holder.map_or_else(|| "pid unknown".to_string(), |p| format!("pid {p}")))]
    Locked { dir: PathBuf, holder: Option<u32> },
    #[error("audit log write failed: {0}")]
    Write(String),
    #[error("the audit writer has stopped")]
    Stopped,
    #[error("the audit write did not complete within its deadline of {0} ms")]
    Deadline(u64),
    /// The record is durable locally, but the central store is too far behind.
    #[error("{lag} audit entries are not yet stored centrally (bound: {max})")]
    CentralLag { lag: u64, max: u64 },
}

/// The [`Health`] component the audit log reports under.
const COMPONENT: &str = "audit";

enum Msg {
    Write(Box<writer::Job>),
    /// An entry that is not a request record (`kind` and its fields): written after the
    /// batch it arrives with (so a notice about a request follows its record); nobody waits.
    Notice(serde_json::Map<String, serde_json::Value>),
    /// Write a final checkpoint and the index, then answer.
    Close(oneshot::Sender<()>),
}

/// How far the local log is durable: the sequence number after the last entry that is
/// written (and fsync'd when configured). Readers of the log (the central shipper) read
/// no further, so they never pass on an entry a crash could still take back.
#[derive(Debug, Default)]
pub struct Progress {
    durable_next: AtomicU64,
    /// Woken after every durable batch.
    pub changed: tokio::sync::Notify,
}

impl Progress {
    /// Entries `0..durable_next()` are durable.
    pub fn durable_next(&self) -> u64 {
        self.durable_next.load(Ordering::SeqCst)
    }

    fn advance(&self, next: u64) {
        self.durable_next.fetch_max(next, Ordering::SeqCst);
        self.changed.notify_one();
    }
}

/// Handle to the audit writer; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    health: Health,
    write_timeout: Duration,
    /// A write went past its deadline and the writer has not completed one since.
    stalled: Arc<AtomicBool>,
    progress: Arc<Progress>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Open (or create) the log directory, take its lock, repair a torn tail, continue the
    /// chain in a new segment, and start the writer thread. Degradation is reported to
    /// `health`.
    pub fn open(cfg: &AuditConfig, health: Health) -> Result<AuditLog, AuditError> {
        let open_err = |message: String| AuditError::Open {
            path: cfg.dir.clone(),
            message,
        };
        std::fs::create_dir_all(&cfg.dir).map_err(|e| open_err(e.to_string()))?;
        // fail closed: the directory is ours before anything is written to it (or a key is
        // made); a second process writing it would repeat sequence numbers.
        let lock = lock::DirLock::acquire(&cfg.dir)?;
        let key = signing::SigningKey::load(&cfg.signing_key_file, cfg.generate_signing_key)
            .map_err(open_err)?;
        let stalled = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Progress::default());
        let w = writer::Writer::open(
            cfg.clone(),
            lock,
            key,
            health.clone(),
            stalled.clone(),
            progress.clone(),
        )
        .map_err(open_err)?;
        let (tx, rx) = mpsc::channel::<Msg>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| open_err(e.to_string()))?;
        Ok(AuditLog {
            tx,
            health,
            write_timeout: cfg.write_timeout,
            stalled,
            progress,
        })
    }

    /// How far the log is durable (for the central shipper).
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// Write one record; returns once it is written (and fsync'd when configured), or
    /// fails when that takes longer than the configured deadline.
    pub async fn write(&self, event: AuditEvent) -> Result<(), AuditError> {
        let request_id = event.request_id().unwrap_or_default().to_string();
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Write(Box::new(writer::Job { event, done })))
            .map_err(|_| AuditError::Stopped)?;
        let deadline_ms = u64::try_from(self.write_timeout.as_millis()).unwrap_or(u64::MAX);
        // fail closed: while an earlier write is past its deadline, nobody waits for the
        // hung disk again; the record stays queued and lands when the disk answers.
        let waited = if self.stalled.load(Ordering::SeqCst) {
            None
        } else {
            tokio::time::timeout(self.write_timeout, wait).await.ok()
        };
        match waited {
            Some(result) => result.map_err(|_| AuditError::Stopped)?,
            None => {
                // The request stops waiting and answers 503. The writer owns the record
                // and its place in the chain; the entry after it says what the client got.
                if !self.stalled.swap(true, Ordering::SeqCst) {
                    tracing::error!(
                        deadline_ms,
                        "audit write past its deadline; data requests answer 503 until the writer completes one"
                    );
                }
                self.health.degrade(
                    COMPONENT,
                    format!(
                        "an audit write did not complete within its deadline of {deadline_ms} ms \
                         (a hung disk?): data requests answer 503 until one completes"
                    ),
                );
                let _ = self.tx.send(Msg::Notice(writer::notice(
                    "audit_deadline",
                    serde_json::json!({
                        "request_id": request_id,
                        "status": 503,
                        "deadline_ms": deadline_ms,
                    }),
                )));
                Err(AuditError::Deadline(deadline_ms))
            }
        }
    }

    /// Append an entry of `kind` (not a request record) with `fields`; `seq`, `prev` and
    /// `time` are added by the writer. It is written with the next batch, and retried after
    /// an outage like any entry; nobody waits for it.
    pub fn notice(&self, kind: &str, fields: serde_json::Value) -> Result<(), AuditError> {
        self.tx
            .send(Msg::Notice(writer::notice(kind, fields)))
            .map_err(|_| AuditError::Stopped)
    }

    /// Shutdown: write a final checkpoint over everything written, and the segment index.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl AuditSink for AuditLog {
    fn write(&self, event: AuditEvent) -> sink::SinkFuture<'_, Result<(), AuditError>> {
        Box::pin(AuditLog::write(self, event))
    }

    fn notice(&self, kind: &str, fields: serde_json::Value) -> Result<(), AuditError> {
        AuditLog::notice(self, kind, fields)
    }

    fn close(&self) -> sink::SinkFuture<'_, ()> {
        Box::pin(AuditLog::close(self))
    }
}

/// The hash every chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 (hex) of an entry's canonical form: its line without the trailing newline.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// What a checkpoint signs.
pub fn checkpoint_message(seq: u64, prev: &str, time: &str, prev_sig: &str) -> Vec<u8> {
    format!(
        "crmgate-audit-checkpoint-v1\nseq={seq}\nprev={prev}\ntime={time}\nprev_sig={prev_sig}\n"
    )
    .into_bytes()
}

/// File name of the segment whose first entry is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.jsonl")
}

/// The segments of a log directory, ordered by first sequence number.
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix("seg-")
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        if let Ok(first) = num.parse::<u64>() {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The complete lines of a segment with their byte offsets, and the bytes after the last
/// newline (a torn line, normally empty).
pub fn split_lines(data: &[u8]) -> (Vec<(u64, &[u8])>, &[u8]) {
    let mut lines = Vec::new();
    let mut start = 0usize;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            lines.push((start as u64, data.get(start..i).unwrap_or_default()));
            start = i + 1;
        }
    }
    (lines, data.get(start..).unwrap_or_default())
}

/// `seq` and `kind` of an entry line (`kind` is `None` for request records).
pub fn entry_head(v: &serde_json::Value) -> (Option<u64>, Option<&str>) {
    (
        v.get("seq").and_then(serde_json::Value::as_u64),
        v.get("kind").and_then(serde_json::Value::as_str),
    )
}

#[cfg(test)]
mod tests;
