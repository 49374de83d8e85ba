//! The audit writer thread: group commit, segments, checkpoints, recovery.
//!
//! One thread owns the log directory. It writes batches (records that arrived while the
//! previous batch was written), one write + one fsync per batch, and answers every waiting
//! request with the batch's result. State (`seq`, `prev`, …) advances only after a batch is
//! durable, so a failed batch leaves no trace in the chain.
//!
//! It must never release a request before its record is durable, nor write a record twice or out of order.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use super::chain::{
    checkpoint_message, entry_head, line_hash, list_segments, segment_name, split_lines, GENESIS,
};
use super::event::{AuditEvent, Framed};
use super::lock::DirLock;
use super::query::{self, SegIndex};
use super::signing::SigningKey;
use super::sink::AuditError;
use crate::admin::Health;
use crate::config::AuditConfig;

/// The [`Health`] component the audit log reports under.
pub(super) const COMPONENT: &str = "audit";

pub(super) enum Msg {
    Write(Box<Job>),
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

    pub(super) fn advance(&self, next: u64) {
        self.durable_next.fetch_max(next, Ordering::SeqCst);
        self.changed.notify_one();
    }
}

/// One group commit's lines, framed but not yet written, and the state after them.
struct Batch {
    buf: Vec<u8>,
    /// (offset in the segment, seq) of each job's record, for the segment's index.
    indexed: Vec<(u64, u64)>,
    seq: u64,
    prev: String,
    uncovered: u64,
    /// The signature of the checkpoint the batch ends with, if it does.
    sig: Option<String>,
}

pub(super) struct Job {
    pub event: AuditEvent,
    pub done: oneshot::Sender<Result<(), AuditError>>,
}

/// How often the writer wakes up without traffic (checkpoint interval, recovery retries).
const TICK: Duration = Duration::from_millis(250);

struct Segment {
    path: PathBuf,
    file: File,
    /// Bytes written and (when configured) fsync'd.
    len: u64,
    opened: Instant,
    index: SegIndex,
}

/// The log could not be written; what to repair before writing again.
struct Broken {
    reason: String,
    since: String,
    refused: u64,
    /// The segment that failed and its durable length: to be checked and cut back.
    segment: Option<(PathBuf, u64, SegIndex)>,
    /// What the repair found (for the recovery entry).
    report: Map<String, Value>,
}

pub(super) struct Writer {
    cfg: AuditConfig,
    /// The directory's lock, held while this thread writes it; released at close.
    lock: Option<DirLock>,
    key: SigningKey,
    health: Health,
    /// Next sequence number.
    seq: u64,
    /// Hash of the last durable entry.
    prev: String,
    /// Signature of the last durable checkpoint ("" before the first).
    last_sig: String,
    /// Entries written since the last checkpoint.
    uncovered: u64,
    last_checkpoint: Instant,
    seg: Option<Segment>,
    broken: Option<Broken>,
    /// Entries (without `seq`/`prev`) to write before the next records.
    notices: Vec<Map<String, Value>>,
    /// Set by a request that stopped waiting past the deadline; cleared (and health
    /// restored) once this thread is seen working again.
    stalled: Arc<AtomicBool>,
    /// How far the log is durable, for readers that ship it (the central store).
    progress: Arc<Progress>,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

pub(super) fn notice(kind: &str, fields: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), Value::from(kind));
    m.insert("time".into(), Value::from(now()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    m
}

/// Where the chain of the segments `segs` ends, walking back from the end: the `seq` and
/// `prev` of the next entry (the last entry continues the chain), the last checkpoint's
/// signature (it continues the checkpoint chain) and how many entries follow it.
fn chain_end(segs: &[(u64, PathBuf)]) -> Result<(u64, String, String, u64), String> {
    // Walk back from the end: the last entry continues the chain, the last checkpoint
    // continues the checkpoint chain.
    let (mut seq, mut prev) = (0, GENESIS.to_string());
    let (mut last_sig, mut uncovered, mut found_last) = (String::new(), 0u64, false);
    'segments: for (_, path) in segs.iter().rev() {
        let data = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
        let (lines, _) = split_lines(&data);
        for (_, line) in lines.iter().rev() {
            let v: Value = serde_json::from_slice(line).map_err(|e| {
                format!(
                    "`{}` ends in an unreadable entry ({e}); run `crmgate audit verify`",
                    path.display()
                )
            })?;
            let (s, kind) = entry_head(&v);
            if !found_last {
                let s =
                    s.ok_or_else(|| format!("`{}`: last entry has no `seq`", path.display()))?;
                seq = s + 1;
                prev = line_hash(line);
                found_last = true;
            }
            if kind == Some("checkpoint") {
                last_sig = v
                    .get("sig")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                break 'segments;
            }
            uncovered += 1;
        }
    }
    Ok((seq, prev, last_sig, uncovered))
}

/// Closed segments without an index (after a crash) get one now.
fn index_closed(segs: &[(u64, PathBuf)]) {
    for (_, path) in segs {
        if !query::index_path(path).exists() {
            if let Err(e) = query::build_index(path).and_then(|i| query::write_index(path, &i)) {
                tracing::warn!(segment = %path.display(), error = %e, "cannot index audit segment");
            }
        }
    }
}

impl Writer {
    /// Take over the directory: cut a torn tail, find where the chain ends, open a new
    /// segment and write a `start` entry (and a `recovery` entry for what was cut).
    pub(super) fn open(
        cfg: AuditConfig,
        lock: DirLock,
        key: SigningKey,
        health: Health,
        stalled: Arc<AtomicBool>,
        progress: Arc<Progress>,
    ) -> Result<Writer, String> {
        let dir = &cfg.dir;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut segs = list_segments(dir).map_err(|e| e.to_string())?;
        let mut cut = None;
        if let Some((_, last)) = segs.last() {
            cut = cut_torn_tail(last)?;
        }
        // An empty last segment (a start that never wrote, or all of it torn) is dropped,
        // so the new segment can take its name.
        while let Some((_, last)) = segs.last() {
            let empty = std::fs::metadata(last)
                .map(|m| m.len() == 0)
                .unwrap_or(false);
            if !empty {
                break;
            }
            std::fs::remove_file(last).map_err(|e| format!("`{}`: {e}", last.display()))?;
            segs.pop();
        }

        let (seq, prev, last_sig, uncovered) = chain_end(&segs)?;

        let mut w = Writer {
            lock: Some(lock),
            key,
            health,
            seq,
            prev,
            last_sig,
            uncovered,
            last_checkpoint: Instant::now(),
            seg: None,
            broken: None,
            notices: Vec::new(),
            stalled,
            progress,
            cfg,
        };
        w.progress.advance(w.seq);
        index_closed(&segs);
        w.notices.push(notice(
            "start",
            json!({ "version": env!("CARGO_PKG_VERSION"), "pid": std::process::id() }),
        ));
        if let Some(c) = cut {
            w.notices.push(c);
        }
        if let Some(removed) = w.apply_retention() {
            w.notices.push(removed);
        }
        w.commit(&mut [], false)
            .map_err(|e| format!("cannot write: {e}"))?;
        Ok(w)
    }

    pub(super) fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let first = match rx.recv_timeout(TICK) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.tick();
                    self.clear_stall();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.close();
                    return;
                }
            };
            let mut jobs = Vec::new();
            let mut closing = Vec::new();
            // Notices about requests follow their records: written after this batch.
            let mut received = Vec::new();
            let mut next = Some(first);
            while let Some(m) = next {
                match m {
                    Msg::Write(j) => jobs.push(*j),
                    Msg::Notice(n) => received.push(n),
                    Msg::Close(done) => closing.push(done),
                }
                next = rx.try_recv().ok();
            }
            if !jobs.is_empty() {
                let result = self.commit(&mut jobs, false);
                for job in jobs {
                    // A request that gave up waiting is fine to ignore.
                    let _ = job.done.send(result.clone().map_err(AuditError::Write));
                }
            } else if !self.notices.is_empty() {
                // Notices alone: written now; after a failure they stay pending and are
                // written with the first batch that succeeds.
                let _ = self.commit(&mut [], false);
            }
            if !received.is_empty() {
                self.notices.append(&mut received);
                if closing.is_empty() {
                    let _ = self.commit(&mut [], false);
                }
            }
            if !closing.is_empty() {
                self.close();
                for done in closing {
                    let _ = done.send(());
                }
                return;
            }
        }
    }

    /// This thread is working (not stuck in a write): a stall that made requests stop
    /// waiting is over, unless the log is broken (that reports itself).
    fn clear_stall(&self) {
        if self.broken.is_none() && self.stalled.swap(false, Ordering::SeqCst) {
            self.health.restore(COMPONENT);
            tracing::warn!("audit writes complete again");
        }
    }

    /// No traffic: retry a broken log, checkpoint by time.
    fn tick(&mut self) {
        if self.broken.is_some() && self.commit(&mut [], false).is_err() {
            return;
        }
        if self.uncovered > 0 && self.last_checkpoint.elapsed() >= self.cfg.checkpoint_interval {
            let _ = self.commit(&mut [], true);
        }
    }

    fn close(&mut self) {
        if self.uncovered > 0 || !self.notices.is_empty() {
            if let Err(e) = self.commit(&mut [], true) {
                tracing::error!(error = %e, "final audit checkpoint failed");
            }
        }
        if let Some(seg) = self.seg.take() {
            finish_segment(&seg);
        }
        // Released before whoever waits for the close is answered, so that a log reopened
        // right after (a restart in the same process) finds the directory free.
        drop(self.lock.take());
    }

    /// Write pending notices, `jobs`' records and (when due or `force_checkpoint`) a
    /// checkpoint as one durable batch. State advances only on success.
    fn commit(&mut self, jobs: &mut [Job], force_checkpoint: bool) -> Result<(), String> {
        if let Err(e) = self.repair() {
            self.fail(e.clone(), None, jobs.len() as u64);
            return Err(e);
        }
        if self.seg.as_ref().is_none_or(|s| {
            s.len >= self.cfg.segment_max_bytes || s.opened.elapsed() >= self.cfg.segment_max_age
        }) {
            self.rotate().inspect_err(|e| {
                self.fail(e.clone(), None, jobs.len() as u64);
            })?;
        }
        let Some(seg_len) = self.seg.as_ref().map(|s| s.len) else {
            return Err("no open segment".into());
        };
        let batch = self.frame(jobs, seg_len, force_checkpoint)?;
        if batch.buf.is_empty() {
            return Ok(());
        }
        let Some(seg) = self.seg.as_mut() else {
            return Err("no open segment".into());
        };

        let fsync = self.cfg.fsync;
        let written = seg
            .file
            .write_all(&batch.buf)
            .and_then(|()| seg.file.flush())
            .and_then(|()| if fsync { seg.file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Never write or fsync this file again: after a failed fsync the kernel may
            // have dropped the dirty pages and a retry could report success for lost data.
            let reason = format!("audit log write failed: {e}");
            let failed = self.seg.take().map(|s| (s.path, s.len, s.index));
            self.fail(reason.clone(), failed, jobs.len() as u64);
            return Err(reason);
        }

        for ((offset, s), job) in batch.indexed.into_iter().zip(jobs.iter()) {
            match &job.event {
                AuditEvent::Request(r) => seg.index.add(r, offset, s),
                // The request's own record (which follows) is what queries find.
                AuditEvent::WriteIntent(_) | AuditEvent::Review(_) => {}
            }
        }
        seg.len += batch.buf.len() as u64;
        self.seq = batch.seq;
        // Only now, written and fsync'd, may a reader ship these entries.
        self.progress.advance(batch.seq);
        self.prev = batch.prev;
        self.uncovered = batch.uncovered;
        self.notices.clear();
        if let Some(s) = batch.sig {
            self.last_sig = s;
            self.last_checkpoint = Instant::now();
        }
        if self.broken.take().is_some() {
            self.health.restore(COMPONENT);
            tracing::warn!("audit log writable again; continued in a new segment");
        }
        self.clear_stall();
        Ok(())
    }

    /// The next batch's lines, chained on from the current state (which is not changed):
    /// a recovery entry after an outage, pending notices, `jobs`' records, and a
    /// checkpoint when one is due (or `force_checkpoint`). `seg_len` is where it will start
    /// in the open segment (for the index).
    fn frame(&self, jobs: &[Job], seg_len: u64, force_checkpoint: bool) -> Result<Batch, String> {
        let (mut seq, mut prev) = (self.seq, self.prev.clone());
        let mut uncovered = self.uncovered;
        let mut buf: Vec<u8> = Vec::with_capacity(jobs.len() * 1024 + 512);
        let mut indexed = Vec::with_capacity(jobs.len());
        // After an outage, the new segment starts by saying what happened.
        let recovery = self.broken.as_ref().map(|b| {
            let mut m = notice(
                "recovery",
                json!({ "reason": b.reason, "since": b.since, "refused_requests": b.refused }),
            );
            m.extend(b.report.clone());
            m
        });
        for n in recovery.iter().chain(&self.notices) {
            let mut m = Map::new();
            m.insert("seq".into(), Value::from(seq));
            m.insert("prev".into(), Value::from(prev.clone()));
            m.extend(n.clone());
            let line = serde_json::to_vec(&m).map_err(|e| e.to_string())?;
            push(&mut buf, line, &mut seq, &mut prev);
            uncovered += 1;
        }
        for job in jobs {
            let start = buf.len();
            indexed.push((seg_len + start as u64, seq));
            // Serialised straight into the batch (a list's record is kilobytes).
            serde_json::to_writer(
                &mut buf,
                &Framed {
                    seq,
                    prev: &prev,
                    event: &job.event,
                },
            )
            .map_err(|e| e.to_string())?;
            prev = line_hash(buf.get(start..).unwrap_or_default());
            buf.push(b'\n');
            seq += 1;
            uncovered += 1;
        }
        let mut sig = None;
        if uncovered > 0
            && (force_checkpoint
                || uncovered >= self.cfg.checkpoint_every
                || self.last_checkpoint.elapsed() >= self.cfg.checkpoint_interval)
        {
            let time = now();
            let s = self
                .key
                .sign(&checkpoint_message(seq, &prev, &time, &self.last_sig));
            let entry = json!({
                "seq": seq, "prev": prev, "kind": "checkpoint", "time": time,
                "prev_sig": self.last_sig, "public_key": self.key.public_hex(), "sig": s,
            });
            let line = serde_json::to_vec(&entry).map_err(|e| e.to_string())?;
            push(&mut buf, line, &mut seq, &mut prev);
            uncovered = 0;
            sig = Some(s);
        }
        Ok(Batch {
            buf,
            indexed,
            seq,
            prev,
            uncovered,
            sig,
        })
    }

    fn fail(&mut self, reason: String, segment: Option<(PathBuf, u64, SegIndex)>, refused: u64) {
        if self.broken.is_none() {
            tracing::error!(reason = %reason, "audit log degraded: data requests are refused");
        }
        self.health.degrade(COMPONENT, reason.clone());
        match &mut self.broken {
            Some(b) => {
                b.refused += refused;
                if segment.is_some() {
                    b.segment = segment;
                }
            }
            None => {
                self.broken = Some(Broken {
                    reason,
                    since: now(),
                    refused,
                    segment,
                    report: Map::new(),
                });
            }
        }
    }

    /// After a failure: reopen the segment that failed, check that its durable part ends
    /// in the expected hash, and cut off what was not durable. Writing then continues in a
    /// new segment; the findings go into its recovery entry.
    fn repair(&mut self) -> Result<(), String> {
        let Some(b) = self.broken.as_mut() else {
            return Ok(());
        };
        let Some((path, len, index)) = b.segment.take() else {
            return Ok(());
        };
        match check_and_cut(&path, len, &self.prev) {
            Ok(report) => {
                b.report.insert(
                    "segment".into(),
                    Value::from(path.file_name().map(|n| n.to_string_lossy().into_owned())),
                );
                // Several attempts may cut bytes; the recovery entry reports the total.
                let cut_before = b
                    .report
                    .get("cut_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                for (k, v) in report {
                    if k == "cut_bytes" {
                        let add = v.as_u64().unwrap_or(0);
                        b.report.insert(k, Value::from(cut_before + add));
                    } else {
                        b.report.insert(k, v);
                    }
                }
                if len > 0 {
                    finish_index(&path, &index);
                }
                Ok(())
            }
            Err(e) => {
                b.segment = Some((path, len, index));
                Err(e)
            }
        }
    }

    fn rotate(&mut self) -> Result<(), String> {
        if let Some(old) = self.seg.take() {
            finish_segment(&old);
            if let Some(r) = self.apply_retention() {
                self.notices.push(r);
            }
        }
        let path = self.cfg.dir.join(segment_name(self.seq));
        let created = OpenOptions::new().create_new(true).append(true).open(&path);
        let file = match created {
            Ok(f) => f,
            // An earlier attempt (while the disk was full) created it and wrote nothing:
            // that one is ours to reuse. A segment with entries is never appended to.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let f = OpenOptions::new().append(true).open(&path);
                match f {
                    Ok(f) if f.metadata().is_ok_and(|m| m.len() == 0) => f,
                    _ => {
                        return Err(format!(
                            "audit segment `{}` already exists and is not empty",
                            path.display()
                        ))
                    }
                }
            }
            Err(e) => {
                return Err(format!(
                    "cannot create audit segment `{}`: {e}",
                    path.display()
                ))
            }
        };
        if self.cfg.fsync {
            // The new file's directory entry must be durable too.
            File::open(&self.cfg.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| format!("cannot sync `{}`: {e}", self.cfg.dir.display()))?;
        }
        self.seg = Some(Segment {
            index: SegIndex::new(self.seq),
            path,
            file,
            len: 0,
            opened: Instant::now(),
        });
        Ok(())
    }

    /// Delete the oldest closed segments past the retention period; the entry to record it.
    fn apply_retention(&self) -> Option<Map<String, Value>> {
        let keep = self.cfg.retention?;
        let segs = list_segments(&self.cfg.dir).ok()?;
        let current = self.seg.as_ref().map(|s| s.path.clone());
        let mut removed = Vec::new();
        let mut first_kept = None;
        // Only a prefix, oldest first: the log stays one contiguous chain.
        for (first, path) in &segs {
            let old = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > keep);
            if !old || Some(path) == current.as_ref() || *first >= self.seq {
                first_kept = Some(*first);
                break;
            }
            if std::fs::remove_file(path).is_err() {
                first_kept = Some(*first);
                break;
            }
            let _ = std::fs::remove_file(query::index_path(path));
            removed.push(path.file_name()?.to_string_lossy().into_owned());
        }
        if removed.is_empty() {
            return None;
        }
        Some(notice(
            "retention",
            json!({ "removed": removed, "first_kept_seq": first_kept.unwrap_or(self.seq) }),
        ))
    }
}

fn push(buf: &mut Vec<u8>, line: Vec<u8>, seq: &mut u64, prev: &mut String) {
    *prev = line_hash(&line);
    buf.extend_from_slice(&line);
    buf.push(b'\n');
    *seq += 1;
}

fn finish_segment(seg: &Segment) {
    finish_index(&seg.path, &seg.index);
}

fn finish_index(path: &std::path::Path, index: &SegIndex) {
    if let Err(e) = query::write_index(path, index) {
        tracing::warn!(segment = %path.display(), error = %e, "cannot write audit index");
    }
}

/// After a crash: cut bytes after the last newline of `path`; the recovery entry for it.
fn cut_torn_tail(path: &std::path::Path) -> Result<Option<Map<String, Value>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let (_, torn) = split_lines(&data);
    if torn.is_empty() {
        return Ok(None);
    }
    let keep = (data.len() - torn.len()) as u64;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    f.set_len(keep)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot cut the torn tail of `{}`: {e}", path.display()))?;
    tracing::warn!(segment = %path.display(), bytes = torn.len(), "cut a torn audit entry (crash while writing)");
    Ok(Some(notice(
        "recovery",
        json!({
            "reason": "torn last entry after a crash",
            "segment": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "cut_bytes": torn.len(),
            "cut_sha256": line_hash(torn),
        }),
    )))
}

/// Reopen a segment whose write failed: its first `len` bytes must end in the entry hashed
/// `expected_prev`; anything after them is the failed batch and is cut off.
fn check_and_cut(
    path: &std::path::Path,
    len: u64,
    expected_prev: &str,
) -> Result<Map<String, Value>, String> {
    let mut report = Map::new();
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.insert("segment_missing".into(), Value::from(true));
            return Ok(report);
        }
        Err(e) => return Err(format!("cannot reopen `{}`: {e}", path.display())),
    };
    let durable = usize::try_from(len).unwrap_or(usize::MAX);
    let head = data.get(..durable.min(data.len())).unwrap_or_default();
    let (lines, _) = split_lines(head);
    let tail_ok = data.len() >= durable
        && match lines.last() {
            Some((_, last)) => line_hash(last) == expected_prev,
            None => true,
        };
    report.insert("tail_verified".into(), Value::from(tail_ok));
    if data.len() > durable {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot reopen `{}`: {e}", path.display()))?;
        f.set_len(len)
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot cut `{}` back: {e}", path.display()))?;
        report.insert("cut_bytes".into(), Value::from(data.len() - durable));
    }
    Ok(report)
}
