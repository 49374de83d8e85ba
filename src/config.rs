//! Start-up: the TOML configuration, parsed into typed values before anything binds a port.
//!
//! This file holds the typed [`Config`] and its parts, as plain data (paths, URLs, limits:
//! no client, no connection; start-up builds the live things from them). The raw serde
//! structs (`deny_unknown_fields`, so a misspelt key is an error, not a silent default) are
//! in `raw`; `load` turns them into a [`Config`], one loader per section (`identity` and
//! [`central`] in files of their own); every path is resolved relative to the config file.
//! The file is parsed with spans ([`crate::diagnostic::TomlSource`]): every problem is
//! collected, each at the line of the key it is about, and options with a closed set of
//! values are enums that serde checks. Nothing here runs on the request path, and no secret
//! is ever printed: secrets are held in [`Secret`], whose `Debug` says `<redacted>`.
//!
//! It must never accept an unknown key, let a secret's value reach a log or a message, or
//! hold a live thing (a client, a connection, a cache).

pub(crate) mod central;
mod documents;
mod identity;
mod load;
mod oauth;
mod raw;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::TomlSource;
pub use crate::diagnostic::{line_col, Problem, Problems};
use crate::jwk::JwtKey;
use crate::secret::Secret;
pub use documents::{Documents, Wording};
pub use oauth::{JwtAssertion, OAuthConfig, OAuthGrant};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    pub listen: ListenConfig,
    pub upstream: UpstreamConfig,
    pub limits: Limits,
    pub policies: PolicyFiles,
    pub audit: AuditConfig,
    pub admin: AdminConfig,
    /// Master key for `hash` masks; a separate key per purpose is derived from it.
    pub hash_key: Secret,
    /// SHA-256 (hex) of an API key → the `User` or `App` id it authenticates.
    pub api_keys: HashMap<String, String>,
    /// SHA-256 (hex) of an API key → the purpose it is bound to, if any.
    pub api_key_purposes: HashMap<String, String>,
    /// Ids named as `app = "…"` in `identity.api_keys`: they must be `App` entities.
    pub app_keys: Vec<String>,
    /// Who each `identity.api_keys` entry names, in file order, with where it is written:
    /// the cross-checks against the entities point at that line.
    pub key_owners: Vec<KeyOwner>,
    /// Client certificates (mTLS): the client CA, whether a certificate is required, and
    /// how a certificate names its user. `None`: the listener asks for no certificate.
    pub mtls: Option<MtlsConfig>,
    /// OIDC issuers whose bearer tokens are accepted, each with its keys and rules.
    pub jwt: Vec<JwtIssuer>,
    pub purposes: BTreeMap<String, Purpose>,
    /// Department name → the purposes its members may declare, and their default.
    pub departments: BTreeMap<String, DepartmentPurposes>,
    /// App (service account) id → the purposes it may declare, and its default.
    pub apps: BTreeMap<String, DepartmentPurposes>,
    /// `[documents]`: controller, processor and labels for the data protection documents.
    pub documents: Documents,
    /// `[notices]`: how long, and how many, redaction notices are kept for their writers.
    pub notices: NoticeConfig,
    /// The file as parsed, with the position of every key: problems found later (against
    /// the entities) name the line of the key they are about.
    pub source: Arc<TomlSource>,
}

/// One `identity.api_keys` entry: the `User` (or, with `app = "…"`, `App`) it names.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub id: String,
    pub app: bool,
    /// Dotted path of the `user`/`app` key (`identity.api_keys.2.app`).
    pub at: String,
}

impl Config {
    /// A problem about the key at a dotted path of the config file.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        self.source.problem(path, message)
    }
}

/// Whether the TLS listener demands a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// No certificate, no connection.
    Required,
    /// A certificate is verified when presented; other credentials are accepted without.
    Optional,
}

/// Which part of a client certificate names the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertUserFrom {
    /// The subject's common name.
    #[default]
    Cn,
    /// The first `rfc822Name` SAN (an e-mail address); the user id is its local part.
    SanEmail,
    /// The first `dNSName` SAN.
    SanDns,
    /// The first URI SAN.
    SanUri,
}

#[derive(Debug, Clone)]
pub struct MtlsConfig {
    pub client_ca: PathBuf,
    pub mode: ClientAuth,
    /// Certificate revocation lists (PEM) checked for every client certificate.
    pub crl: Option<PathBuf>,
    pub user_from: CertUserFrom,
}

/// One trusted OIDC issuer.
#[derive(Clone)]
pub struct JwtIssuer {
    /// Exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values (at least one).
    pub audiences: Vec<String>,
    /// The signature algorithms this issuer uses: asymmetric only, fixed in config, never
    /// taken from the token.
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// The issuer's public keys: a JWKS file read at start-up, or a URL fetched and cached.
    pub keys: KeySet,
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// Claim naming the user (an id of the entities file).
    pub user_claim: String,
    /// Claim naming the department; when present it must agree with the entities file.
    pub department_claim: Option<String>,
    /// Claim listing roles; when present it must agree with the entities file.
    pub roles_claim: Option<String>,
    /// Where the principal's attributes come from: the entities file, or the token itself.
    pub directory: Directory,
    /// Claim holding the active flag (`directory = "claims"` only).
    pub active_claim: Option<String>,
    /// Claim declaring the request's purpose (for clients that cannot add `X-Purpose`):
    /// checked against the registry exactly like the header.
    pub purpose_claim: Option<String>,
}

/// Where a JWT issuer's users are described.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Directory {
    /// The user must be a `User` of the entities file; claims may only agree with it.
    #[default]
    Entities,
    /// The identity provider is the directory: department, roles and active flag come from
    /// the token's claims, and the user need not be in the entities file. Departments stay
    /// declared there: a claim naming another one is refused.
    Claims,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum KeySet {
    /// `kid` → key, from `jwks_file`.
    Static(BTreeMap<String, JwtKey>),
    /// `jwks_url`: where and how to fetch them (the identity stage builds the client and
    /// its cache at start-up).
    Remote(RemoteKeys),
}

/// A JWKS URL and the rules of fetching it: data only, no client.
#[derive(Debug, Clone)]
pub struct RemoteKeys {
    /// `https://` (or `http://` on loopback).
    pub url: http::Uri,
    /// How long fetched keys may be used.
    pub max_age: Duration,
    /// Least time between two fetches caused by unknown `kid`s.
    pub min_refresh: Duration,
    /// The CAs the identity provider's certificate must chain to.
    pub roots: rustls::RootCertStore,
}

impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ListenConfig {
    pub addr: SocketAddr,
    /// `None` only when `plaintext = true` was written explicitly.
    pub tls: Option<TlsFiles>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Scheme and authority of the CRM (`http://127.0.0.1:8080`); paths are appended as is.
    pub base: http::Uri,
    /// The vendor profile that speaks the CRM's API (`[upstream] vendor`; none: the
    /// default profile); start-up refuses a name no profile has.
    pub vendor: Option<String>,
    /// The vendor's API version (`[upstream] api_version`), for vendors whose API is
    /// versioned in its paths; start-up refuses it for any other vendor.
    pub api_version: Option<String>,
    /// Injected as `Authorization: Bearer …` on every upstream request.
    pub credential: Option<Secret>,
    /// `[upstream.oauth]`: the credential is a token crmgate fetches and refreshes itself
    /// (never together with a static `credential`).
    pub oauth: Option<OAuthConfig>,
    /// Extra CA for an HTTPS upstream with a private PKI.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Largest upstream body crmgate will buffer and filter; larger → 502.
    pub max_body_bytes: usize,
    /// A pooled connection to the CRM unused for this long is closed.
    pub pool_idle_timeout: Duration,
    /// `[upstream.budget]`: this replica's share of the CRM account's request budget.
    pub budget: Option<BudgetConfig>,
}

/// `[upstream.budget]`: the CRM account's request budget and this replica's share of it.
/// Every CRM request takes a slot; without one within `max_wait_ms`, crmgate answers 429
/// with `Retry-After` itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Requests the account may make per `window_ms` (a CRM tier: e.g. 100 to 190 per 10 s).
    pub requests: u32,
    #[serde(default = "default_budget_window_ms")]
    pub window_ms: u64,
    /// Requests to the vendor's search endpoint the account may make per second (0: none
    /// of its own).
    #[serde(default)]
    pub searches_per_second: u32,
    /// This replica's part (0 < share ≤ 1); the replicas' shares sum to at most one.
    #[serde(default = "default_budget_share")]
    pub share: f64,
    /// Longest a request waits for a slot (queued) before crmgate answers 429.
    #[serde(default = "default_budget_wait_ms")]
    pub max_wait_ms: u64,
    /// The account's name in the central store's counters (`[audit.central]`), where the
    /// replicas count the budget together; by default the upstream's host.
    #[serde(default)]
    pub account: Option<String>,
}

fn default_budget_window_ms() -> u64 {
    10_000
}
fn default_budget_share() -> f64 {
    1.0
}
fn default_budget_wait_ms() -> u64 {
    1_000
}

/// Limits of the front door (stage 1) and of the memory the pipeline may hold.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_request_body_bytes: usize,
    pub max_connections: usize,
    /// Connections one client address may hold at once; more are closed on accept.
    pub max_connections_per_ip: usize,
    /// HTTP/1 request head, once its first byte arrived; also the TLS handshake deadline.
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    /// From accept (plaintext) or the end of the TLS handshake until the first request has
    /// arrived; a connection that sends nothing (or only part of an HTTP/2 preface) is closed.
    pub first_request_timeout: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1 keep-alive
    /// and HTTP/2 alike).
    pub idle_timeout: Duration,
    /// A connection is closed gracefully (HTTP/2 GOAWAY, HTTP/1 `Connection: close` after
    /// the current response) once it is this old.
    pub max_connection_age: Duration,
    /// HTTP/2 PING interval and how long to wait for the answer before closing.
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
    /// Longest time a response may take to be sent, and longest a write to the client may
    /// be blocked; a reader that does not read is cut off after it.
    pub send_timeout: Duration,
    /// Responses (upstream body + filtered copy) held at once, until each is sent.
    pub max_buffered_responses: usize,
    /// Most CRM requests, and CRM response bytes, one client request may take when crmgate
    /// pages a list or counts a search over what the caller is shown.
    pub max_upstream_requests_per_request: usize,
    pub max_upstream_bytes_per_request: usize,
}

/// The redaction notices' store: each notice is answered for `ttl`, at most `max_entries`
/// at once (the oldest go first).
#[derive(Debug, Clone)]
pub struct NoticeConfig {
    pub ttl: Duration,
    pub max_entries: usize,
}

#[derive(Debug, Clone)]
pub struct PolicyFiles {
    pub schema: PathBuf,
    pub policies: Vec<PathBuf>,
    pub entities: PathBuf,
    pub routes: PathBuf,
    /// The redaction rules for free text written through crmgate (a directory of TOML
    /// files: lexicons and identifier patterns), if any.
    pub redaction: Option<PathBuf>,
    /// The deletion concept (`retention.toml`), if any: without it no record is due.
    pub retention: Option<PathBuf>,
    /// Where the deletion concept's "today" comes from (`[retention] today`: a fixed day,
    /// for tests; else the system date).
    pub retention_clock: crate::retention::Clock,
    /// How often to look for changed files (hot reload); `None` = only on SIGHUP.
    pub watch_interval: Option<Duration>,
    /// How long changed files must stay unchanged before a revision is built from them: a
    /// file still being written never becomes a revision.
    pub reload_settle: Duration,
    /// Where an operator confirms a reload that would lose all, or more than half, of the
    /// active set's policies: the file must hold that new set's revision.
    pub confirm_file: PathBuf,
}

impl PolicyFiles {
    /// Every file a policy revision is made of.
    pub fn all_files(&self) -> Vec<PathBuf> {
        let mut v = vec![
            self.schema.clone(),
            self.entities.clone(),
            self.routes.clone(),
        ];
        v.extend(self.policies.iter().cloned());
        v.extend(self.retention.iter().cloned());
        if let Some(dir) = &self.redaction {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            v.extend(files);
        }
        v
    }
}

/// The audit log: a directory of hash-chained segments with signed checkpoints
/// (see [`crate::audit`]).
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub dir: PathBuf,
    /// fsync after each group of records (durable against power loss).
    pub fsync: bool,
    /// A segment is closed and a new one started once it holds this many bytes…
    pub segment_max_bytes: u64,
    /// …or is this old.
    pub segment_max_age: Duration,
    /// Closed segments older than this are deleted (the deletion is itself recorded).
    pub retention: Option<Duration>,
    /// A signed checkpoint after this many entries…
    pub checkpoint_every: u64,
    /// …or after this long, whichever comes first (and at shutdown).
    pub checkpoint_interval: Duration,
    /// How often refused and cut connections are written as one aggregated
    /// `connection_events` entry (when there were any).
    pub connection_events_interval: Duration,
    /// Ed25519 signing key for checkpoints (hex seed); its public key sits next to it
    /// (`<file>.pub`).
    pub signing_key_file: PathBuf,
    /// Generate the signing key when the file is missing (demo and tests).
    pub generate_signing_key: bool,
    /// How long a request waits for its record to be written; then it answers 503 (a hung
    /// disk must not stall every request).
    pub write_timeout: Duration,
    /// The central store (`[audit.central]`): `None` keeps the local log alone.
    pub central: Option<CentralConfig>,
}

/// `[audit.central]`: ship the local log to PostgreSQL (see
/// [`crate::audit::central`]).
#[derive(Debug, Clone)]
pub struct CentralConfig {
    /// `postgres://…` connection URL; it may hold a password, so it is a secret.
    pub url: Secret,
    /// This replica's name in the store; `None`: generated once and kept in the audit dir.
    pub replica_id: Option<String>,
    /// Entries written locally but not yet stored centrally beyond which data requests are
    /// refused (503).
    pub max_lag_entries: u64,
    /// Entries per insert.
    pub batch_size: usize,
    /// Wait between attempts while PostgreSQL cannot be reached.
    pub retry_interval: Duration,
}

/// The admin listener: `/healthz`, `/readyz` (plain HTTP, loopback by default).
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub addr: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct Purpose {
    pub description: String,
    pub legal_basis: String,
}

#[derive(Debug, Clone)]
pub struct DepartmentPurposes {
    pub purposes: Vec<String>,
    pub default: Option<String>,
    /// What crmgate stamps as the data source of records this department or app creates
    /// (provenance); without it, `crmgate:<kind>:<id>`.
    pub data_source: Option<String>,
}

/// The SHA-256 of an API key as stored in the config.
pub fn api_key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
