//! The audit log: exactly one record per request, durable before the response leaves.
//! The pipeline builds the record and hands it to an [`AuditSink`]; this room writes,
//! ships, verifies and queries the log.
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
pub mod chain;
pub mod event;
pub mod lock;
pub mod log;
pub mod query;
pub mod signing;
pub mod sink;
pub mod verify;
mod writer;

pub use chain::{
    checkpoint_message, entry_head, line_hash, list_segments, segment_name, split_lines, GENESIS,
};
pub use event::{AuditEvent, AuditRecord, Framed, WouldHave, WriteIntent};
pub use log::{AuditLog, Progress};
pub use sink::{AuditError, AuditSink};

#[cfg(test)]
mod tests;
