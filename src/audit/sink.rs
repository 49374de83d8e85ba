//! Where audit events go: the [`AuditSink`] interface the request path writes through.
//!
//! An event is what happened ([`AuditEvent`]: a request today; write, redaction and
//! retention events next); the chain framing (`seq`, `prev`) is the sink's business, added
//! as it writes ([`super::event::Framed`]). The first sink is the hash-chained local log
//! ([`super::log::AuditLog`]), which stays the fail-closed point: a response is released only
//! once its event is durable there. A central store (PostgreSQL) is a second implementation
//! that ships what the local log holds. A sink must never report an event written that is
//! not durable.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::event::AuditEvent;

/// A boxed future, so that sinks can sit behind `dyn`.
pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The interface the request path writes through.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Write one event; resolves once it is durable (or fails: the caller answers 503).
    fn write(&self, event: AuditEvent) -> SinkFuture<'_, Result<(), AuditError>>;
    /// Append an entry of `kind` that nobody waits for (aggregated counts and the like).
    fn notice(&self, kind: &str, fields: serde_json::Value) -> Result<(), AuditError>;
    /// Make everything written so far final (a signed checkpoint, the index) and stop.
    fn close(&self) -> SinkFuture<'_, ()>;
}

/// Why an event could not be written (the request answers 503).
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
