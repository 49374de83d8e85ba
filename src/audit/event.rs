//! The audit log's vocabulary: what an entry says. A request's record ([`AuditRecord`]),
//! a write's intent ([`WriteIntent`]), and the audit views the stages fill in: of a
//! returned record ([`RecordAudit`], [`GroupsAudit`]) and of a written input
//! ([`WriteAudit`]).
//!
//! A leaf: the stages that fill these in and the log that writes them both import it, so
//! the log imports neither the filter nor the write stage. It must never hold a field's
//! value, a token or a key: names, ids, categories and counts only.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

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
    /// and whether it sees every record ([`crate::policy::plan::selectability`]): made once
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
    /// The notice a redacted write left for its writer (its path, where the writer fetches
    /// it; kinds and counts only, never a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
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

/// One thing to account for.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuditEvent {
    /// One request (no `kind` field, as request records always were).
    Request(Box<AuditRecord>),
    /// A write about to be forwarded (`kind: "write_intent"`): durable before the CRM
    /// is called; the request's own record, with the outcome, follows.
    WriteIntent(Box<WriteIntent>),
    /// What the console did that the log must prove (`kind: "console_view"` or
    /// `"approval"`): a view of personal data, or a permission concept approved.
    Review(Box<ReviewEntry>),
}

/// A console entry: who looked at whose data for `data_protection_review`, or who approved
/// which revision of the permission concept, with their comment. Ids and names only.
#[derive(Debug, Default, Serialize)]
pub struct ReviewEntry {
    /// `console_view` or `approval`.
    pub kind: &'static str,
    pub time: String,
    pub request_id: String,
    pub principal: String,
    pub roles: Vec<String>,
    pub purpose: &'static str,
    /// The console page (`subject`, `subject_download`, `access_log`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'static str>,
    /// The person whose data the page shows (`contact/1001`), never an e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What else the page was narrowed to (an access log filter), as names and ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Approval: the policy revision approved, the SHA-256 of the concept as approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concept_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
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
    pub writes: Vec<WriteAudit>,
}

impl AuditEvent {
    /// The request id the event is about, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            AuditEvent::Request(r) => Some(&r.request_id),
            AuditEvent::WriteIntent(w) => Some(&w.request_id),
            AuditEvent::Review(r) => Some(&r.request_id),
        }
    }

    /// The request record, when the event is one (a sink that refuses the request after
    /// all says so in it).
    pub fn request_mut(&mut self) -> Option<&mut AuditRecord> {
        match self {
            AuditEvent::Request(r) => Some(r),
            // A refused intent fails the write before it is forwarded; the request's own
            // record then says what the client got.
            AuditEvent::WriteIntent(_) | AuditEvent::Review(_) => None,
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

/// The audit view of one returned record: its id and what happened to its field groups
/// (group names and mask kinds, never values). Records with the same outcome share one
/// [`GroupsAudit`], so a page of a hundred records makes and writes a few, not a hundred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAudit {
    pub id: String,
    pub(crate) groups: Arc<GroupsAudit>,
}

/// What happened to a record's field groups, with its JSON text written once.
#[derive(Debug)]
pub struct GroupsAudit {
    pub clear: Vec<String>,
    pub masked: BTreeMap<String, String>,
    pub removed: Vec<String>,
    /// `clear`, `masked` and `removed` as JSON, in that order.
    json: [Box<RawValue>; 3],
}

impl PartialEq for GroupsAudit {
    fn eq(&self, other: &Self) -> bool {
        (&self.clear, &self.masked, &self.removed) == (&other.clear, &other.masked, &other.removed)
    }
}
impl Eq for GroupsAudit {}

impl GroupsAudit {
    pub fn new(
        clear: Vec<String>,
        masked: BTreeMap<String, String>,
        removed: Vec<String>,
    ) -> Arc<GroupsAudit> {
        // Vectors of strings and a map of strings always serialise; `null` is unreachable.
        let raw = |v: Result<String, serde_json::Error>| {
            RawValue::from_string(v.unwrap_or_else(|_| "null".into())).unwrap_or_default()
        };
        let json = [
            raw(serde_json::to_string(&clear)),
            raw(serde_json::to_string(&masked)),
            raw(serde_json::to_string(&removed)),
        ];
        Arc::new(GroupsAudit {
            clear,
            masked,
            removed,
            json,
        })
    }
}

impl RecordAudit {
    pub fn new(id: String, groups: Arc<GroupsAudit>) -> RecordAudit {
        RecordAudit { id, groups }
    }

    pub fn groups(&self) -> &GroupsAudit {
        &self.groups
    }
}

impl Serialize for RecordAudit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let [clear, masked, removed] = &self.groups.json;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("clear", clear)?;
        m.serialize_entry("masked", masked)?;
        m.serialize_entry("removed", removed)?;
        m.end()
    }
}

/// The audit view of one input: names, categories and counts, never values.
#[derive(Debug, Clone, Serialize, Default)]
pub struct WriteAudit {
    /// The record (for a create: filled in once the CRM has answered, when it can be told).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub action: &'static str,
    /// `forwarded`, `not-found` or `refused`; `not-sent` when the request ended before
    /// the write was sent (a merge whose other record is not found, say), with `reason`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub written: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripped: Vec<String>,
    /// Property → category → number of passages redacted.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub redacted: BTreeMap<String, BTreeMap<String, usize>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stamped: Vec<String>,
    /// Stamped properties the client sent values for: dropped, and replaced by the stamp.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<String>,
    /// The notice for the person whose text was redacted, with its language (kinds and
    /// why; never a value): answered to the client, not audited.
    #[serde(skip)]
    pub notice: Option<(String, String)>,
}
