//! Where audit events go: the [`AuditSink`] interface the request path writes through.
//!
//! An event is what happened ([`AuditEvent`]: a request today; write, redaction and
//! retention events next); the chain framing (`seq`, `prev`) is the sink's business, added
//! as it writes ([`Framed`]). The first sink is the hash-chained local log
//! ([`super::AuditLog`]), which stays the fail-closed point: a response is released only
//! once its event is durable there. A central store (PostgreSQL) is a second implementation
//! that ships what the local log holds. A sink must never report an event written that is
//! not durable.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::{AuditError, AuditRecord};

/// One thing to account for.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuditEvent {
    /// One request (no `kind` field, as request records always were).
    Request(Box<AuditRecord>),
    /// A write about to be forwarded (`kind: "write_intent"`): durable before the CRM
    /// is called; the request's own record, with the outcome, follows.
    WriteIntent(Box<WriteIntent>),
}

/// What a write is about to do, written ahead of it.
#[derive(Debug, Serialize)]
pub struct WriteIntent {
    pub kind: &'static str,
    pub time: String,
    pub request_id: String,
    pub principal: Option<String>,
    pub purpose: Option<String>,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub resource: Option<String>,
    pub policy_revision: String,
    pub writes: Vec<crate::stages::write_inputs::WriteAudit>,
}

impl AuditEvent {
    /// The request id the event is about, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            AuditEvent::Request(r) => Some(&r.request_id),
            AuditEvent::WriteIntent(w) => Some(&w.request_id),
        }
    }

    /// The request record, when the event is one (a sink that refuses the request after
    /// all says so in it).
    pub fn request_mut(&mut self) -> Option<&mut AuditRecord> {
        match self {
            AuditEvent::Request(r) => Some(r),
            // A refused intent fails the write before it is forwarded; the request's own
            // record then says what the client got.
            AuditEvent::WriteIntent(_) => None,
        }
    }
}

/// An event with its place in a hash chain: `seq` and `prev` first, then the event's own
/// fields, on one line.
#[derive(Serialize)]
pub struct Framed<'a> {
    pub seq: u64,
    pub prev: &'a str,
    #[serde(flatten)]
    pub event: &'a AuditEvent,
}

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
