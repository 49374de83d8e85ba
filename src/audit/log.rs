//! The local audit log's handle: open the directory (lock, key, repair), start the writer
//! thread, and write through it with a deadline. It is the first [`AuditSink`] and the
//! fail-closed point: a response is released only once its record is durable here.
//!
//! It must never report a record written that is not durable, nor let a request wait on a
//! hung disk past `write_timeout`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tokio::sync::oneshot;

use super::event::AuditEvent;
use super::sink::{self, AuditError, AuditSink};
pub use super::writer::Progress;
use super::writer::{self, Msg, COMPONENT};
use super::{lock, signing};
use crate::admin::Health;
use crate::config::AuditConfig;

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
