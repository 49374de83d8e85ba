//! The central audit store: every replica ships its local log to PostgreSQL.
//!
//! The local hash-chained log stays the fail-closed point and the durability point: a
//! response still waits only for its record to be fsync'd there. A shipper task then tails
//! the log's segments — no further than the writer says is durable ([`Progress`]) — and
//! stores each entry at least once, by (replica id, seq), with the exact line, its hash and
//! the `prev` it names ([`db::store`]; checkpoints are entries too). A batch that was
//! stored but whose commit was never seen is sent again and skipped by its key, so at least
//! once becomes exactly once. Where to resume is read from the store itself (the last seq
//! stored for this replica, whose hash must match the local entry of that seq), so a
//! restart, a `kill -9` or PostgreSQL being away loses nothing and stores nothing twice.
//!
//! The lag — entries durable locally but not yet stored centrally — is a metric and a note
//! on `/healthz` and `/readyz`. Beyond `max_lag_entries` the replica refuses data requests
//! with 503 through the one mechanism the request path already has for a failing audit log:
//! the sink's `write` fails ([`AuditError::CentralLag`]) after the record — rewritten to say
//! 503, with the records the CRM returned listed as not shown — is durable locally.
//! `/readyz` fails meanwhile, so that a load balancer sends the traffic to replicas that
//! keep up.
//!
//! The replica id names the chain in the store; it must stay the same for as long as the
//! audit directory does. It is configured, or else made once (host name and a random
//! suffix) and kept in the audit directory (`replica_id`). An audit directory is never
//! shipped under another id than the one it was shipped under. This module must never
//! release a request whose record is not durable locally, store an entry that is not, or
//! let the connection URL (it may hold a password) reach a log or a message.

pub mod db;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::rand::SecureRandom;
use serde_json::Value;

use super::chain::{list_segments, split_lines};
use super::event::AuditEvent;
use super::log::{AuditLog, Progress};
use super::sink::{self, AuditError, AuditSink};
use crate::admin::Health;
use crate::config::central::check_replica_id;
use crate::config::{AuditConfig, CentralConfig};

/// The [`Health`] component the central store reports under.
const COMPONENT: &str = "audit_central";

/// File in the audit directory that keeps the replica id.
const REPLICA_ID_FILE: &str = "replica_id";

/// File in the audit directory with the position last stored centrally: only an estimate
/// of the lag until the store itself is reached (which is authoritative).
const POSITION_FILE: &str = "central.pos";

/// How long shutdown waits for the shipper to store the last entries.
const DRAIN: Duration = Duration::from_secs(10);

/// The host name, as the environment or the kernel tells it.
fn host_name() -> String {
    let raw = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect();
    if clean.is_empty() {
        "crmgate".into()
    } else {
        clean
    }
}

/// The replica id of the audit directory `dir`: the one kept there; else the configured
/// one, or a new one (host name and a random suffix, so that a fresh volume on a host
/// of the same name never continues another log's chain), written there first.
pub fn replica_id(dir: &Path, configured: Option<&str>) -> Result<String, String> {
    let path = dir.join(REPLICA_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(kept) => {
            let kept = kept.trim().to_string();
            check_replica_id(&kept).map_err(|e| format!("`{}`: {e}", path.display()))?;
            match configured {
                Some(c) if c != kept => Err(format!(
                    "the audit directory `{}` was shipped as replica `{kept}`, and the config \
                     names `{c}`: a log keeps its replica id (use another audit directory for \
                     another id)",
                    dir.display()
                )),
                _ => Ok(kept),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = match configured {
                Some(c) => c.to_string(),
                None => {
                    let mut suffix = [0u8; 4];
                    ring::rand::SystemRandom::new()
                        .fill(&mut suffix)
                        .map_err(|_| "no randomness for a replica id".to_string())?;
                    format!("{}-{}", host_name(), hex::encode(suffix))
                }
            };
            std::fs::create_dir_all(dir)
                .and_then(|()| write_durably(&path, &format!("{id}\n")))
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            Ok(id)
        }
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

fn write_durably(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// What the shipper and the sink share.
#[derive(Debug)]
struct State {
    replica: String,
    max_lag: u64,
    progress: Arc<Progress>,
    /// Entries `0..shipped_next` are stored centrally (as far as this process knows).
    shipped_next: AtomicU64,
    health: Health,
    /// The last error talking to the store (`None` while it works).
    last_error: Mutex<Option<String>>,
    /// The store holds another log under this replica id: nothing is shipped.
    conflict: AtomicBool,
    stopping: AtomicBool,
    stop: tokio::sync::Notify,
}

impl State {
    fn lag(&self) -> u64 {
        self.progress
            .durable_next()
            .saturating_sub(self.shipped_next.load(Ordering::SeqCst))
    }

    /// A request's record would make more than `max_lag` entries unstored centrally: no
    /// response is released while its own record would be beyond the bound.
    fn over_bound(&self) -> bool {
        self.conflict.load(Ordering::SeqCst) || self.lag() >= self.max_lag
    }

    /// Publish the lag: the metric, the note on `/healthz` and `/readyz`, and — beyond the
    /// bound — a degraded component, so that `/readyz` fails.
    fn report(&self) {
        let lag = self.lag();
        let m = &self.health.metrics;
        m.central_lag_entries.store(lag, Ordering::Relaxed);
        let error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut note = format!(
            "replica `{}`: {lag} audit entries not yet stored centrally (bound {})",
            self.replica, self.max_lag
        );
        if let Some(e) = &error {
            note.push_str(&format!("; last error: {e}"));
        }
        self.health.note(COMPONENT, Some(note.clone()));
        if self.over_bound() {
            self.health
                .degrade(COMPONENT, format!("{note}: data requests answer 503"));
        } else {
            self.health.restore(COMPONENT);
        }
    }

    fn error(&self, e: &str) {
        self.health
            .metrics
            .central_errors_total
            .fetch_add(1, Ordering::Relaxed);
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(e) {
            tracing::warn!(replica = %self.replica, error = %e, "central audit store: cannot store entries");
        }
        *last = Some(e.to_string());
        drop(last);
        self.report();
    }

    fn stored(&self, next: u64, new: u64) {
        self.shipped_next.fetch_max(next, Ordering::SeqCst);
        self.health
            .metrics
            .central_shipped_total
            .fetch_add(new, Ordering::Relaxed);
        let recovered = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some();
        if recovered {
            tracing::info!(replica = %self.replica, "central audit store reachable again");
        }
        self.report();
    }
}

/// The audit sink of a replica with a central store: the local log, plus the lag bound.
pub struct CentralSink {
    local: AuditLog,
    state: Arc<State>,
    shipper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for CentralSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentralSink")
            .field("replica", &self.state.replica)
            .finish_non_exhaustive()
    }
}

impl CentralSink {
    /// Start shipping `local` (opened on `audit.dir`) to the store; must run inside a
    /// Tokio runtime. PostgreSQL need not be up: the shipper keeps trying.
    pub fn start(
        local: AuditLog,
        audit: &AuditConfig,
        central: &CentralConfig,
        health: Health,
    ) -> Result<CentralSink, String> {
        let replica = replica_id(&audit.dir, central.replica_id.as_deref())?;
        // Until the store answers, the last position this replica saw stored estimates
        // the lag (none: everything counts as behind, which fails closed).
        let estimate = std::fs::read_to_string(audit.dir.join(POSITION_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        health
            .metrics
            .central_enabled
            .store(true, Ordering::Relaxed);
        let state = Arc::new(State {
            replica: replica.clone(),
            max_lag: central.max_lag_entries,
            progress: local.progress(),
            shipped_next: AtomicU64::new(estimate),
            health,
            last_error: Mutex::new(None),
            conflict: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop: tokio::sync::Notify::new(),
        });
        state.report();
        tracing::info!(replica = %replica, store = %db::describe(central.url.expose()), "shipping the audit log to the central store");
        let shipper = Shipper {
            state: state.clone(),
            url: central.url.expose().to_string(),
            dir: audit.dir.clone(),
            batch: central.batch_size,
            retry: central.retry_interval,
        };
        let handle = tokio::spawn(shipper.run());
        Ok(CentralSink {
            local,
            state,
            shipper: Mutex::new(Some(handle)),
        })
    }

    /// This replica's id in the store.
    pub fn replica(&self) -> &str {
        &self.state.replica
    }

    async fn write(&self, mut event: AuditEvent) -> Result<(), AuditError> {
        // Decided once, before the record is written: the record then says what the
        // client gets.
        let refused = self.state.over_bound().then(|| self.state.lag());
        if let (Some(lag), Some(rec)) = (refused, event.request_mut()) {
            // fail closed: the store is too far behind (or holds another log under this
            // id). The response becomes a 503 and nothing of the CRM's data leaves: the
            // records it held were fetched but not shown.
            rec.status = 503;
            rec.reason = Some("audit-unavailable");
            rec.detail = Some(format!(
                "{lag} audit entries are not yet stored centrally (bound {}): refused",
                self.state.max_lag
            ));
            let fetched: Vec<String> = rec.records.drain(..).map(|r| r.id).collect();
            rec.rows_dropped.extend(fetched);
        }
        // Durable locally first, whatever the lag: every request is accounted for, also the
        // ones refused for it.
        self.local.write(event).await?;
        match refused {
            None => Ok(()),
            Some(lag) => {
                self.state.report();
                Err(AuditError::CentralLag {
                    lag,
                    max: self.state.max_lag,
                })
            }
        }
    }

    /// Close the local log (its final checkpoint), give the shipper a little time to
    /// store the rest, then stop it.
    async fn close(&self) {
        self.local.close().await;
        let target = self.state.progress.durable_next();
        let deadline = tokio::time::Instant::now() + DRAIN;
        while self.state.shipped_next.load(Ordering::SeqCst) < target
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.state.lag();
        if left > 0 {
            tracing::warn!(replica = %self.state.replica, entries = left, "stopping with audit entries not yet stored centrally: they are shipped at the next start on this audit directory");
        }
        self.state.stopping.store(true, Ordering::SeqCst);
        self.state.stop.notify_one();
        let handle = self
            .shipper
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
        }
    }
}

impl AuditSink for CentralSink {
    fn write(&self, event: AuditEvent) -> sink::SinkFuture<'_, Result<(), AuditError>> {
        Box::pin(CentralSink::write(self, event))
    }

    fn notice(&self, kind: &str, fields: Value) -> Result<(), AuditError> {
        self.local.notice(kind, fields)
    }

    fn close(&self) -> sink::SinkFuture<'_, ()> {
        Box::pin(CentralSink::close(self))
    }
}

/// Where the shipper reads next: a segment, a byte offset in it, the next seq.
struct Cursor {
    dir: PathBuf,
    segment: Option<(u64, PathBuf)>,
    offset: u64,
    next: u64,
}

impl Cursor {
    /// Read from the entry `seq` on (or from the oldest one kept, when retention removed it).
    fn at(dir: &Path, seq: u64) -> Result<Cursor, String> {
        let segs = list_segments(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
        let segment = segs
            .iter()
            .rev()
            .find(|(first, _)| *first <= seq)
            .or_else(|| segs.first())
            .cloned();
        if let Some((first, _)) = &segment {
            if *first > seq {
                tracing::warn!(from = seq, to = first, "audit entries not stored centrally were removed locally by retention: the central chain has a gap");
            }
        }
        Ok(Cursor {
            dir: dir.to_path_buf(),
            segment,
            offset: 0,
            next: seq,
        })
    }

    /// Up to `max` complete entries from `next` on, none at or beyond `durable`.
    fn read(&mut self, durable: u64, max: usize) -> Result<Vec<db::Entry>, String> {
        let mut out = Vec::new();
        while out.len() < max && self.next < durable {
            let Some((first, path)) = self.segment.clone() else {
                // No segment yet when the cursor was made: look again.
                *self = Cursor::at(&self.dir, self.next)?;
                if self.segment.is_none() {
                    break;
                }
                continue;
            };
            let data = read_lines_from(&path, self.offset)?;
            let (lines, _) = split_lines(&data);
            let mut progressed = false;
            for (_, line) in lines {
                let Ok(v) = serde_json::from_slice::<Value>(line) else {
                    return Err(format!(
                        "`{}`: an unreadable entry after seq {}; run `crmgate audit verify`",
                        path.display(),
                        self.next
                    ));
                };
                let seq = v.get("seq").and_then(Value::as_u64).unwrap_or_default();
                if seq >= durable || out.len() >= max {
                    break;
                }
                self.offset += line.len() as u64 + 1;
                progressed = true;
                if seq < self.next {
                    continue;
                }
                out.push(db::Entry {
                    seq,
                    line: String::from_utf8_lossy(line).into_owned(),
                });
                self.next = seq + 1;
            }
            if progressed || out.len() >= max || self.next >= durable {
                continue;
            }
            // Nothing more in this segment below `durable`: the rest is in a later one.
            let segs = list_segments(&self.dir).map_err(|e| e.to_string())?;
            match segs.into_iter().find(|(f, _)| *f > first) {
                Some(s) => {
                    self.segment = Some(s);
                    self.offset = 0;
                }
                None => break,
            }
        }
        Ok(out)
    }
}

/// Bytes read at a time while catching up: a batch's lines, not the rest of a segment
/// (which may be many MiB) on every batch.
const CHUNK: u64 = 1 << 20;

/// The bytes of `path` from `offset` on, up to about [`CHUNK`] but at least one complete
/// line when there is one.
fn read_lines_from(path: &Path, offset: u64) -> Result<Vec<u8>, String> {
    use std::io::{Read as _, Seek as _};
    let err = |e: std::io::Error| format!("`{}`: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut limit = CHUNK;
    loop {
        f.seek(std::io::SeekFrom::Start(offset)).map_err(err)?;
        let mut data = Vec::new();
        (&mut f).take(limit).read_to_end(&mut data).map_err(err)?;
        // A line longer than the chunk: read more until it is whole (or the file ends).
        if (data.len() as u64) < limit || data.contains(&b'\n') {
            return Ok(data);
        }
        limit = limit.saturating_mul(2);
    }
}

struct Shipper {
    state: Arc<State>,
    url: String,
    dir: PathBuf,
    batch: usize,
    retry: Duration,
}

impl Shipper {
    async fn run(self) {
        loop {
            if self.state.stopping.load(Ordering::SeqCst) {
                return;
            }
            let result = self.session().await;
            if let Err(e) = result {
                self.state.error(&e);
            }
            // Wait before reconnecting; a stop ends the wait.
            tokio::select! {
                () = tokio::time::sleep(self.retry) => {}
                () = self.state.stop.notified() => {}
            }
        }
    }

    /// One connection: migrate, find where the store ends, ship until an error or a stop.
    async fn session(&self) -> Result<(), String> {
        let state = &self.state;
        let mut client = db::connect(&self.url).await?;
        let applied = db::migrate(&mut client).await?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "central audit store migrated");
        }
        let mut cursor = self.resume(&client).await?;
        loop {
            if state.stopping.load(Ordering::SeqCst) {
                return Ok(());
            }
            let durable = state.progress.durable_next();
            let dir = self.dir.clone();
            let batch = self.batch;
            // File reads off the async workers.
            let (c, entries) = tokio::task::spawn_blocking(move || {
                let mut c = cursor;
                let r = c.read(durable, batch);
                (c, r)
            })
            .await
            .map_err(|e| e.to_string())?;
            cursor = c;
            let entries = entries?;
            let Some(last) = entries.last().map(|e| e.seq) else {
                state.report();
                // Caught up: wait for the writer (or a stop, or a periodic look).
                tokio::select! {
                    () = state.progress.changed.notified() => {}
                    () = state.stop.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            };
            match db::store(&mut client, &state.replica, &entries).await {
                Ok(new) => {
                    state.stored(last + 1, new);
                    let _ = std::fs::write(dir.join(POSITION_FILE), format!("{}\n", last + 1));
                    // The local log's retention applies to its central copy too.
                    if let Some(first) = db::retention_in(&entries) {
                        let removed = db::apply_retention(&client, &state.replica, first).await?;
                        tracing::info!(
                            replica = %state.replica,
                            first_kept_seq = first,
                            removed,
                            "audit retention deleted old entries from the central store"
                        );
                    }
                }
                Err(db::StoreError::Conflict(m)) => {
                    state.conflict.store(true, Ordering::SeqCst);
                    return Err(m);
                }
                Err(db::StoreError::Db(m)) => return Err(m),
            }
        }
    }

    /// Where to go on: after the last entry the store holds for this replica, which must
    /// be the local entry of that seq (else the id is another log's: fail closed).
    async fn resume(&self, client: &tokio_postgres::Client) -> Result<Cursor, String> {
        let state = &self.state;
        let last = db::last_stored(client, &state.replica).await?;
        let Some((seq, hash)) = last else {
            state.shipped_next.store(0, Ordering::SeqCst);
            return Cursor::at(&self.dir, 0);
        };
        let dir = self.dir.clone();
        let durable = state.progress.durable_next();
        let local = tokio::task::spawn_blocking(move || -> Result<_, String> {
            let mut c = Cursor::at(&dir, seq)?;
            let found = c.read(durable, 1)?;
            Ok(((), found))
        })
        .await
        .map_err(|e| e.to_string())??;
        let (_, found) = local;
        match found.first() {
            Some(e) if e.seq == seq => {
                if super::line_hash(e.line.as_bytes()) != hash {
                    state.conflict.store(true, Ordering::SeqCst);
                    return Err(format!(
                        "the central store holds another entry as seq {seq} of replica `{}`: \
                         is the replica id used by another crmgate?",
                        state.replica
                    ));
                }
            }
            // Removed locally by retention: nothing left to compare with.
            Some(_) => {}
            None => {
                state.conflict.store(true, Ordering::SeqCst);
                return Err(format!(
                    "the central store holds seq {seq} of replica `{}`, beyond this audit \
                     log's end: is the replica id used by another crmgate?",
                    state.replica
                ));
            }
        }
        state.conflict.store(false, Ordering::SeqCst);
        state.shipped_next.store(seq + 1, Ordering::SeqCst);
        state.report();
        Cursor::at(&self.dir, seq + 1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::central::check_url;

    #[test]
    fn a_replica_id_is_kept_with_its_audit_directory() {
        let dir = tempfile::tempdir().unwrap();
        let made = replica_id(dir.path(), None).unwrap();
        assert!(check_replica_id(&made).is_ok(), "{made}");
        assert_eq!(replica_id(dir.path(), None).unwrap(), made);
        let err = replica_id(dir.path(), Some("other")).unwrap_err();
        assert!(err.contains("was shipped as replica"), "{err}");
        let dir2 = tempfile::tempdir().unwrap();
        assert_eq!(replica_id(dir2.path(), Some("r1")).unwrap(), "r1");
        assert_eq!(replica_id(dir2.path(), None).unwrap(), "r1");
        assert!(check_replica_id("a b").is_err());
        assert!(check_replica_id("").is_err());
    }

    #[test]
    fn the_url_is_checked_without_being_quoted() {
        let err = check_url("postgres://u:s3cret@").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(check_url("not a url at all ::").is_err());
        assert!(check_url("postgres://crmgate:pw@127.0.0.1:5432/audit").is_ok());
        let shown = db::describe("postgres://crmgate:s3cret@db.example:5433/audit");
        assert_eq!(shown, "postgres://crmgate@db.example:5433/audit");
    }

    #[test]
    fn the_cursor_reads_only_durable_entries_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let line = |s: u64| format!("{{\"seq\":{s},\"prev\":\"x\"}}\n");
        std::fs::write(
            dir.path().join(super::super::segment_name(0)),
            (0..3).map(line).collect::<String>(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(super::super::segment_name(3)),
            (3..6).map(line).collect::<String>() + "{\"seq\":6,",
        )
        .unwrap();
        let mut c = Cursor::at(dir.path(), 1).unwrap();
        let got: Vec<u64> = c.read(5, 100).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(got, vec![1, 2, 3, 4]);
        assert!(c.read(5, 100).unwrap().is_empty());
        let got: Vec<u64> = c.read(6, 100).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(got, vec![5], "the torn line is never read");
        let mut c = Cursor::at(dir.path(), 0).unwrap();
        let got: Vec<u64> = c.read(6, 2).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(got, vec![0, 1]);
    }

    #[test]
    fn a_segment_larger_than_a_read_is_shipped_whole_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let pad = "x".repeat(1000);
        let n = 3 * CHUNK / 1000;
        let text: String = (0..n)
            .map(|s| format!("{{\"seq\":{s},\"pad\":\"{pad}\"}}\n"))
            .collect();
        std::fs::write(dir.path().join(super::super::segment_name(0)), text).unwrap();
        let mut c = Cursor::at(dir.path(), 0).unwrap();
        let mut seen = Vec::new();
        loop {
            let batch = c.read(n, 500).unwrap();
            if batch.is_empty() {
                break;
            }
            seen.extend(batch.iter().map(|e| e.seq));
        }
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
    }
}
