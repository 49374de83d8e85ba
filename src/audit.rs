//! Stage 10, audit: exactly one record per request, durable before the response leaves.
//!
//! Records go to a writer thread that appends them as JSON lines, in batches: every record
//! that arrived while the previous batch was being written is written, flushed (and, when
//! configured, fsync'd) together, then every waiting request is released — one fsync shared
//! by many requests. Each record carries a sequence number and the SHA-256 of the previous
//! line, so a changed, removed or reordered line breaks the chain. If a record cannot be
//! written the request gets a 503 instead of its data (fail closed). Records hold names and
//! ids, never field values, tokens or keys.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::filter::RecordAudit;

/// One audit record. Filled in as the request passes the stages.
#[derive(Debug, Default, Serialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub prev: String,
    pub time: String,
    pub request_id: String,
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    pub principal: Option<String>,
    pub department: Option<String>,
    pub purpose: Option<String>,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub action: Option<String>,
    pub policy_revision: String,
    /// The route is in shadow mode: decisions were made and recorded here, but the client
    /// received the upstream body unfiltered.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// `allow`, `deny` or `error` (the request failed before or after the decision).
    pub decision: &'static str,
    /// Why, when the request did not succeed: the error kind (`unauthenticated`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub policies: Vec<String>,
    pub cedar_errors: Vec<String>,
    pub cedar_evaluations: usize,
    pub records: Vec<RecordAudit>,
    pub rows_dropped: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unclassified: Vec<String>,
    pub upstream_status: Option<u16>,
    pub status: u16,
    pub latency_us: BTreeMap<&'static str, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open audit log `{path}`: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log write failed: {0}")]
    Write(String),
    #[error("the audit writer has stopped")]
    Stopped,
}

struct Job {
    record: AuditRecord,
    done: oneshot::Sender<Result<(), AuditError>>,
}

/// Handle to the audit writer; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Open (or create) the log, continue its chain, and start the writer thread.
    pub fn open(path: &Path, fsync: bool) -> Result<AuditLog, AuditError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let (seq, prev) = chain_tail(&mut file).map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(file, rx, fsync, seq, prev))
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuditLog { tx })
    }

    /// Write one record; returns once it is written (and fsync'd when configured).
    pub async fn write(&self, record: AuditRecord) -> Result<(), AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { record, done })
            .map_err(|_| AuditError::Stopped)?;
        wait.await.map_err(|_| AuditError::Stopped)?
    }
}

/// The hash every chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The next sequence number and the hash of the last complete line of an existing log.
fn chain_tail(file: &mut File) -> std::io::Result<(u64, String)> {
    file.seek(SeekFrom::Start(0))?;
    let mut last: Option<String> = None;
    for line in BufReader::new(&*file).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            last = Some(line);
        }
    }
    let Some(last) = last else {
        return Ok((0, GENESIS.to_string()));
    };
    let seq = serde_json::from_str::<serde_json::Value>(&last)
        .ok()
        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
        .map_or(0, |s| s + 1);
    Ok((seq, hex::encode(Sha256::digest(last.as_bytes()))))
}

fn writer(mut file: File, rx: mpsc::Receiver<Job>, fsync: bool, mut seq: u64, mut prev: String) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut buf = Vec::with_capacity(batch.len() * 1024);
        let (start_seq, start_prev) = (seq, prev.clone());
        let mut failed = None;
        for job in &mut batch {
            job.record.seq = seq;
            job.record.prev = std::mem::take(&mut prev);
            match serde_json::to_vec(&job.record) {
                Ok(line) => {
                    prev = hex::encode(Sha256::digest(&line));
                    buf.extend_from_slice(&line);
                    buf.push(b'\n');
                    seq += 1;
                }
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        let result = match failed {
            Some(e) => Err(e),
            None => file
                .write_all(&buf)
                .and_then(|()| file.flush())
                .and_then(|()| if fsync { file.sync_data() } else { Ok(()) })
                .map_err(|e| e.to_string()),
        };
        if result.is_err() {
            // The batch is not in the log: the chain continues from before it.
            seq = start_seq;
            prev = start_prev;
        }
        for job in batch {
            let r = result.clone().map_err(AuditError::Write);
            // A request that gave up waiting is fine to ignore.
            let _ = job.done.send(r);
        }
    }
}
