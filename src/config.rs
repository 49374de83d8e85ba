//! Start-up: the TOML configuration, parsed into typed values before anything binds a port.
//!
//! Raw serde structs (`deny_unknown_fields`, so a misspelt key is an error, not a silent
//! default) are turned into a typed [`Config`]; every path is resolved relative to the config
//! file. The file is parsed with spans ([`crate::diagnostic::TomlSource`]): every problem is
//! collected, each at the line of the key it is about, and options with a closed set of
//! values are enums that serde checks. Nothing here runs on the request path, and no secret is ever printed: secrets are
//! held in [`Secret`], whose `Debug` says `<redacted>`.
//!
//! It must never accept an unknown key, or let a secret's value reach a log or a message.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use crate::diagnostic::{line_col, Problem, Problems};
use crate::diagnostic::{Report, TomlSource};
use crate::stages::identity::jwks::{parse_jwks, JwtAlgorithm, JwtKey};

/// A secret value: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
    /// `jwks_url`, with its cache (shared by all clones of the config).
    Remote(std::sync::Arc<crate::stages::identity::jwks::RemoteJwks>),
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
    /// Injected as `Authorization: Bearer …` on every upstream request.
    pub credential: Option<Secret>,
    /// Extra CA for an HTTPS upstream with a private PKI.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Largest upstream body crmgate will buffer and filter; larger → 502.
    pub max_body_bytes: usize,
    /// A pooled connection to the CRM unused for this long is closed.
    pub pool_idle_timeout: Duration,
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
    pub retention_clock: crate::stages::retention::Clock,
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
/// (see [`crate::stages::audit`]).
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
/// [`crate::stages::audit::central`]).
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

// ---------------------------------------------------------------------------------------
// Raw file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: RawListen,
    upstream: RawUpstream,
    #[serde(default)]
    limits: RawLimits,
    policies: RawPolicies,
    audit: RawAudit,
    #[serde(default)]
    admin: RawAdmin,
    masks: RawMasks,
    #[serde(default)]
    identity: RawIdentity,
    #[serde(default)]
    purposes: BTreeMap<String, RawPurpose>,
    #[serde(default)]
    departments: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    apps: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    retention: RawRetentionConfig,
}

/// `[retention]`: only for tests and demos of a given date.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetentionConfig {
    /// `YYYY-MM-DD`: the deletion concept's "today" instead of the system date.
    today: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    addr: String,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    plaintext: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    url: String,
    /// The CRM's API: chosen among the vendor profiles at start-up (none: the default).
    #[serde(default)]
    vendor: Option<String>,
    credential_env: Option<String>,
    credential_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_upstream_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_upstream_body")]
    max_body_bytes: usize,
    /// Milliseconds an idle pooled connection to the CRM is kept open.
    #[serde(default = "default_pool_idle_timeout_ms")]
    pool_idle_timeout_ms: u64,
}

fn default_upstream_timeout_ms() -> u64 {
    10_000
}
fn default_pool_idle_timeout_ms() -> u64 {
    30_000
}
fn default_upstream_body() -> usize {
    8 * 1024 * 1024
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default = "default_request_body")]
    max_request_body_bytes: usize,
    #[serde(default = "default_connections")]
    max_connections: usize,
    /// Default: a quarter of `max_connections`.
    max_connections_per_ip: Option<usize>,
    #[serde(default = "default_header_timeout_ms")]
    header_read_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    request_timeout_ms: u64,
    #[serde(default = "default_first_request_timeout_ms")]
    first_request_timeout_ms: u64,
    #[serde(default = "default_idle_timeout_ms")]
    idle_timeout_ms: u64,
    #[serde(default = "default_max_connection_age_ms")]
    max_connection_age_ms: u64,
    #[serde(default = "default_h2_keep_alive_interval_ms")]
    http2_keep_alive_interval_ms: u64,
    #[serde(default = "default_h2_keep_alive_timeout_ms")]
    http2_keep_alive_timeout_ms: u64,
    #[serde(default = "default_send_timeout_ms")]
    send_timeout_ms: u64,
    #[serde(default = "default_max_buffered_responses")]
    max_buffered_responses: usize,
    #[serde(default = "default_max_upstream_requests")]
    max_upstream_requests_per_request: usize,
    #[serde(default = "default_max_upstream_bytes")]
    max_upstream_bytes_per_request: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: default_request_body(),
            max_connections: default_connections(),
            max_connections_per_ip: None,
            header_read_timeout_ms: default_header_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            first_request_timeout_ms: default_first_request_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_connection_age_ms: default_max_connection_age_ms(),
            http2_keep_alive_interval_ms: default_h2_keep_alive_interval_ms(),
            http2_keep_alive_timeout_ms: default_h2_keep_alive_timeout_ms(),
            send_timeout_ms: default_send_timeout_ms(),
            max_buffered_responses: default_max_buffered_responses(),
            max_upstream_requests_per_request: default_max_upstream_requests(),
            max_upstream_bytes_per_request: default_max_upstream_bytes(),
        }
    }
}

/// A refilled list page or a counted search: 50 pages of 200 is HubSpot's own search cap.
fn default_max_upstream_requests() -> usize {
    50
}
fn default_max_upstream_bytes() -> usize {
    64 * 1024 * 1024
}

fn default_first_request_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}
fn default_max_connection_age_ms() -> u64 {
    3_600_000
}
fn default_h2_keep_alive_interval_ms() -> u64 {
    30_000
}
fn default_h2_keep_alive_timeout_ms() -> u64 {
    10_000
}
fn default_send_timeout_ms() -> u64 {
    30_000
}
/// A turn is held while a CRM body is read, filtered and sent (not while the CRM is awaited):
/// mostly CPU, so a few per core keep the cores busy; more only adds memory. Eight per core,
/// at least 16.
fn default_max_buffered_responses() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_mul(8)
        .max(16)
}

fn default_request_body() -> usize {
    1024 * 1024
}
fn default_connections() -> usize {
    1024
}
fn default_header_timeout_ms() -> u64 {
    10_000
}
fn default_request_timeout_ms() -> u64 {
    30_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicies {
    schema: PathBuf,
    policies: Vec<PathBuf>,
    entities: PathBuf,
    routes: PathBuf,
    #[serde(default)]
    redaction: Option<PathBuf>,
    #[serde(default)]
    retention: Option<PathBuf>,
    /// Milliseconds between checks for changed policy files; 0 = reload on SIGHUP only.
    #[serde(default = "default_watch_ms")]
    watch_interval_ms: u64,
    /// Milliseconds changed policy files must stay unchanged before they are loaded.
    #[serde(default = "default_settle_ms")]
    reload_settle_ms: u64,
    /// The file confirming a reload that loses most policies (default `policies.confirm`
    /// next to this file).
    #[serde(default)]
    confirm_file: Option<PathBuf>,
}

fn default_watch_ms() -> u64 {
    1000
}
fn default_settle_ms() -> u64 {
    1000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    dir: PathBuf,
    /// On unless switched off: a record that is not durable is not a record.
    #[serde(default = "default_fsync")]
    fsync: bool,
    #[serde(default = "default_segment_max_bytes")]
    segment_max_bytes: u64,
    #[serde(default = "default_segment_max_age_s")]
    segment_max_age_s: u64,
    retention_days: Option<u64>,
    #[serde(default = "default_checkpoint_every")]
    checkpoint_every: u64,
    #[serde(default = "default_checkpoint_interval_s")]
    checkpoint_interval_s: u64,
    /// Seconds between `connection_events` entries (counts of refused connections).
    #[serde(default = "default_connection_events_interval_s")]
    connection_events_interval_s: u64,
    signing_key_file: PathBuf,
    #[serde(default)]
    generate_signing_key: bool,
    #[serde(default = "default_write_timeout_ms")]
    write_timeout_ms: u64,
    central: Option<RawCentral>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentral {
    /// Exactly one of `url`, `url_file` (a mounted secret) or `url_env`.
    url: Option<String>,
    url_file: Option<PathBuf>,
    url_env: Option<String>,
    replica_id: Option<String>,
    #[serde(default = "default_max_lag_entries")]
    max_lag_entries: u64,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
    #[serde(default = "default_retry_interval_ms")]
    retry_interval_ms: u64,
}

fn default_max_lag_entries() -> u64 {
    100_000
}
fn default_batch_size() -> usize {
    500
}
fn default_retry_interval_ms() -> u64 {
    1000
}

fn default_write_timeout_ms() -> u64 {
    5000
}
fn default_fsync() -> bool {
    true
}
fn default_segment_max_bytes() -> u64 {
    // The open segment's query index lives in memory until the segment closes: 16 MiB
    // segments keep it to a few MiB (64 MiB ones cost ~20 MiB of peak RSS under load).
    16 * 1024 * 1024
}
fn default_segment_max_age_s() -> u64 {
    24 * 3600
}
fn default_checkpoint_every() -> u64 {
    1000
}
fn default_checkpoint_interval_s() -> u64 {
    60
}
fn default_connection_events_interval_s() -> u64 {
    60
}

/// The typed limits. A zero timeout or count would switch a protection off or refuse
/// everything; neither is a setting, so it is an error at start.
fn limits_from(raw: &RawLimits, r: &mut Report<'_>) -> Limits {
    let mut ms = |key: &str, v: u64| -> Duration {
        if v == 0 {
            r.at(
                &format!("limits.{key}"),
                format!("limits.{key} must be at least 1"),
            );
        }
        Duration::from_millis(v)
    };
    let first_request_timeout = ms("first_request_timeout_ms", raw.first_request_timeout_ms);
    let idle_timeout = ms("idle_timeout_ms", raw.idle_timeout_ms);
    let max_connection_age = ms("max_connection_age_ms", raw.max_connection_age_ms);
    let http2_keep_alive_interval = ms(
        "http2_keep_alive_interval_ms",
        raw.http2_keep_alive_interval_ms,
    );
    let http2_keep_alive_timeout = ms(
        "http2_keep_alive_timeout_ms",
        raw.http2_keep_alive_timeout_ms,
    );
    let send_timeout = ms("send_timeout_ms", raw.send_timeout_ms);
    let max_connections = raw.max_connections.max(1);
    let per_ip = match raw.max_connections_per_ip {
        Some(0) => {
            r.at(
                "limits.max_connections_per_ip",
                "limits.max_connections_per_ip must be at least 1".into(),
            );
            1
        }
        Some(n) => n,
        None => (max_connections / 4).max(1),
    };
    if raw.max_buffered_responses == 0 {
        r.at(
            "limits.max_buffered_responses",
            "limits.max_buffered_responses must be at least 1".into(),
        );
    }
    if raw.max_upstream_requests_per_request == 0 || raw.max_upstream_bytes_per_request == 0 {
        r.at(
            "limits.max_upstream_requests_per_request",
            "limits.max_upstream_requests_per_request and max_upstream_bytes_per_request must be at least 1"
                .into(),
        );
    }
    Limits {
        max_request_body_bytes: raw.max_request_body_bytes,
        max_connections,
        max_connections_per_ip: per_ip.min(max_connections),
        header_read_timeout: Duration::from_millis(raw.header_read_timeout_ms),
        request_timeout: Duration::from_millis(raw.request_timeout_ms),
        first_request_timeout,
        idle_timeout,
        max_connection_age,
        http2_keep_alive_interval,
        http2_keep_alive_timeout,
        send_timeout,
        max_buffered_responses: raw.max_buffered_responses,
        max_upstream_requests_per_request: raw.max_upstream_requests_per_request,
        max_upstream_bytes_per_request: raw.max_upstream_bytes_per_request,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default = "default_admin_addr")]
    addr: String,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            addr: default_admin_addr(),
        }
    }
}

fn default_admin_addr() -> String {
    "127.0.0.1:9901".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMasks {
    hash_key_env: Option<String>,
    hash_key_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(default)]
    api_keys: Vec<RawApiKey>,
    mtls: Option<RawMtls>,
    #[serde(default)]
    jwt: Vec<RawJwt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    /// Lowercase hex SHA-256 of the key; the key itself is never stored.
    sha256: String,
    /// Exactly one of `user` (a `User` entity) or `app` (an `App` entity, a service key).
    user: Option<String>,
    app: Option<String>,
    /// The one purpose the key is for (a tool that cannot add `X-Purpose`): declared by
    /// every request made with it, checked like the header.
    purpose: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMtls {
    client_ca: PathBuf,
    mode: ClientAuth,
    crl_file: Option<PathBuf>,
    #[serde(default)]
    user_from: CertUserFrom,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwt {
    issuer: String,
    audience: Vec<String>,
    algorithms: Vec<JwtAlgorithm>,
    /// Exactly one of `jwks_file` or `jwks_url`.
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    /// How long fetched keys may be used (seconds).
    #[serde(default = "default_jwks_max_age")]
    jwks_max_age_s: u64,
    /// Least time between two fetches caused by unknown `kid`s (seconds).
    #[serde(default = "default_jwks_min_refresh")]
    jwks_min_refresh_s: u64,
    /// Extra CA (PEM) for an identity provider with a private PKI.
    jwks_ca_file: Option<PathBuf>,
    #[serde(default = "default_jwt_leeway")]
    leeway_s: u64,
    #[serde(default = "default_user_claim")]
    user_claim: String,
    department_claim: Option<String>,
    roles_claim: Option<String>,
    #[serde(default)]
    directory: Directory,
    active_claim: Option<String>,
    purpose_claim: Option<String>,
}

fn default_jwks_max_age() -> u64 {
    300
}
fn default_jwks_min_refresh() -> u64 {
    10
}
fn default_jwt_leeway() -> u64 {
    30
}
fn default_user_claim() -> String {
    "sub".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    description: String,
    legal_basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    purposes: Vec<String>,
    default: Option<String>,
    data_source: Option<String>,
}

// ---------------------------------------------------------------------------------------

/// The SHA-256 of an API key as stored in the config.
pub fn api_key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Config {
    /// Load and validate the config file. Secrets named by env var or file are read here.
    pub fn load(path: &Path) -> Result<Config, Problems> {
        Self::load_with_env(path, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with another source of environment variables (the demo supplies
    /// its generated secrets this way). Every problem of the file is reported, each at the
    /// line of its key, in file order.
    pub fn load_with_env(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Problems> {
        let mut src = TomlSource::read(path)?;
        let parsed = src.deserialize::<RawConfig>();
        let Some(raw) = parsed.value else {
            return Err(Problems(parsed.problems));
        };
        let mut r = Report {
            src: &src,
            problems: parsed.problems,
        };
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let rel = |p: &Path| dir.join(p);

        let addr: Option<SocketAddr> = match raw.listen.addr.parse() {
            Ok(a) => Some(a),
            Err(e) => {
                r.at(
                    "listen.addr",
                    format!("listen.addr `{}`: {e}", raw.listen.addr),
                );
                None
            }
        };
        let tls = match (
            raw.listen.tls_cert,
            raw.listen.tls_key,
            raw.listen.plaintext,
        ) {
            (Some(cert), Some(key), false) => Some(TlsFiles {
                cert: rel(&cert),
                key: rel(&key),
            }),
            (None, None, true) => None,
            (_, _, true) => {
                r.at(
                    "listen.plaintext",
                    "listen.plaintext = true cannot be combined with tls_cert/tls_key".into(),
                );
                None
            }
            _ => {
                r.at(
                    "listen",
                    "listen needs both tls_cert and tls_key (or plaintext = true, for a \
                     listener behind a TLS-terminating load balancer)"
                        .into(),
                );
                None
            }
        };

        let url = &raw.upstream.url;
        let base: Option<http::Uri> = match url.parse::<http::Uri>() {
            Err(e) => {
                r.at("upstream.url", format!("upstream.url `{url}`: {e}"));
                None
            }
            Ok(base) => match (base.scheme_str(), base.authority()) {
                (Some("http" | "https"), Some(_))
                    if base.path() == "/" || base.path().is_empty() =>
                {
                    Some(base)
                }
                (Some("http" | "https"), Some(_)) => {
                    r.at(
                        "upstream.url",
                        format!("upstream.url `{url}` must not have a path"),
                    );
                    None
                }
                _ => {
                    r.at(
                        "upstream.url",
                        format!("upstream.url `{url}` must be http:// or https:// with a host"),
                    );
                    None
                }
            },
        };
        if raw.upstream.pool_idle_timeout_ms == 0 {
            // Zero would close every connection after each request, or never: not a setting.
            r.at(
                "upstream.pool_idle_timeout_ms",
                "upstream.pool_idle_timeout_ms must be at least 1".into(),
            );
        }
        let credential = match (raw.upstream.credential_env, raw.upstream.credential_file) {
            (Some(_), Some(_)) => {
                r.at(
                    "upstream.credential_file",
                    "upstream: give credential_env or credential_file, not both".into(),
                );
                None
            }
            (Some(var), None) => match env(&var) {
                Some(v) => Some(Some(Secret::new(v))),
                None => {
                    r.at(
                        "upstream.credential_env",
                        format!("upstream.credential_env: environment variable `{var}` is not set"),
                    );
                    None
                }
            },
            (None, Some(file)) => match read_secret_file(&rel(&file)) {
                Ok(s) => Some(Some(s)),
                Err(m) => {
                    r.at("upstream.credential_file", m);
                    None
                }
            },
            (None, None) => Some(None),
        };

        let (hash_key, hash_key_at) = match (raw.masks.hash_key_env, raw.masks.hash_key_file) {
            (Some(var), None) => match env(&var) {
                Some(v) => (Some(Secret::new(v)), "masks.hash_key_env"),
                None => {
                    r.at(
                        "masks.hash_key_env",
                        format!("masks.hash_key_env: environment variable `{var}` is not set"),
                    );
                    (None, "")
                }
            },
            (None, Some(file)) => match read_secret_file(&rel(&file)) {
                Ok(s) => (Some(s), "masks.hash_key_file"),
                Err(m) => {
                    r.at("masks.hash_key_file", m);
                    (None, "")
                }
            },
            _ => {
                r.at(
                    "masks",
                    "masks needs exactly one of hash_key_env or hash_key_file".into(),
                );
                (None, "")
            }
        };
        if hash_key.as_ref().is_some_and(|k| k.expose().len() < 16) {
            r.at(
                hash_key_at,
                "the hash mask key must be at least 16 characters".into(),
            );
        }

        let admin_addr: Option<SocketAddr> = match raw.admin.addr.parse() {
            Ok(a) => Some(a),
            Err(e) => {
                r.at(
                    "admin.addr",
                    format!("admin.addr `{}`: {e}", raw.admin.addr),
                );
                None
            }
        };
        let limits = limits_from(&raw.limits, &mut r);
        for (key, value) in [
            ("segment_max_bytes", raw.audit.segment_max_bytes),
            ("segment_max_age_s", raw.audit.segment_max_age_s),
            ("checkpoint_every", raw.audit.checkpoint_every),
            ("checkpoint_interval_s", raw.audit.checkpoint_interval_s),
            (
                "connection_events_interval_s",
                raw.audit.connection_events_interval_s,
            ),
            ("write_timeout_ms", raw.audit.write_timeout_ms),
        ] {
            if value == 0 {
                r.at(
                    &format!("audit.{key}"),
                    format!("audit.{key} must be at least 1"),
                );
            }
        }

        let central = raw
            .audit
            .central
            .as_ref()
            .and_then(|c| central_from(c, &env, &rel, &mut r));

        let mut api_keys = HashMap::new();
        let mut api_key_purposes = HashMap::new();
        let mut app_keys = Vec::new();
        let mut key_owners = Vec::new();
        for (i, k) in raw.identity.api_keys.into_iter().enumerate() {
            let at = format!("identity.api_keys.{i}");
            let (owner, is_app) = match (k.user, k.app) {
                (Some(u), None) => (u, false),
                (None, Some(a)) => (a, true),
                _ => {
                    r.at(
                        &at,
                        "identity.api_keys: each key names exactly one of `user` or `app`".into(),
                    );
                    continue;
                }
            };
            let digest = k.sha256.to_ascii_lowercase();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                r.at(
                    &format!("{at}.sha256"),
                    format!(
                        "identity.api_keys: `sha256` for `{owner}` is not a SHA-256 hex digest"
                    ),
                );
                continue;
            }
            if let Some(p) = &k.purpose {
                // Checked against the registry like `X-Purpose`; the owner's department or
                // app must also allow it, which the request's purpose stage checks.
                if !raw.purposes.contains_key(p) {
                    r.at(
                        &format!("{at}.purpose"),
                        format!("identity.api_keys: purpose `{p}` of `{owner}`'s key is not in the registry"),
                    );
                    continue;
                }
                api_key_purposes.insert(digest.clone(), p.clone());
            }
            if api_keys.insert(digest, owner.clone()).is_some() {
                r.at(
                    &format!("{at}.sha256"),
                    format!("identity.api_keys: the key of `{owner}` is listed twice"),
                );
                continue;
            }
            key_owners.push(KeyOwner {
                id: owner.clone(),
                app: is_app,
                at: format!("{at}.{}", if is_app { "app" } else { "user" }),
            });
            if is_app {
                app_keys.push(owner);
            }
        }
        let mtls = raw.identity.mtls.map(|m| MtlsConfig {
            client_ca: rel(&m.client_ca),
            mode: m.mode,
            crl: m.crl_file.map(|p| rel(&p)),
            user_from: m.user_from,
        });
        if mtls.is_some() && tls.is_none() && raw.listen.plaintext {
            r.at(
                "identity.mtls",
                "identity.mtls needs a TLS listener (it cannot work with plaintext = true)".into(),
            );
        }
        let mut jwt: Vec<JwtIssuer> = Vec::new();
        for (i, j) in raw.identity.jwt.into_iter().enumerate() {
            let at = format!("identity.jwt.{i}");
            match load_jwt_issuer(j, &rel) {
                Err((key, m)) => r.at(&format!("{at}.{key}"), m),
                Ok(issuer) if jwt.iter().any(|x| x.issuer == issuer.issuer) => r.at(
                    &format!("{at}.issuer"),
                    format!("identity.jwt: issuer `{}` is listed twice", issuer.issuer),
                ),
                Ok(issuer) => jwt.push(issuer),
            }
        }

        let purposes: BTreeMap<String, Purpose> = raw
            .purposes
            .into_iter()
            .map(|(name, p)| {
                (
                    name,
                    Purpose {
                        description: p.description,
                        legal_basis: p.legal_basis,
                    },
                )
            })
            .collect();
        let mut departments = BTreeMap::new();
        let mut apps = BTreeMap::new();
        let sections = raw
            .departments
            .into_iter()
            .map(|(n, d)| ("departments", n, d))
            .chain(raw.apps.into_iter().map(|(n, d)| ("apps", n, d)));
        for (section, name, d) in sections {
            let at = format!("{section}.{name}");
            for (i, p) in d.purposes.iter().enumerate() {
                if !purposes.contains_key(p) {
                    r.at(
                        &format!("{at}.purposes.{i}"),
                        format!("{at}: unknown purpose `{p}`"),
                    );
                }
            }
            if let Some(def) = &d.default {
                if !purposes.contains_key(def) {
                    r.at(
                        &format!("{at}.default"),
                        format!("{at}: unknown purpose `{def}`"),
                    );
                } else if !d.purposes.contains(def) {
                    r.at(
                        &format!("{at}.default"),
                        format!("{at}: default purpose `{def}` is not among its purposes"),
                    );
                }
            }
            let target = if section == "apps" {
                &mut apps
            } else {
                &mut departments
            };
            target.insert(
                name,
                DepartmentPurposes {
                    purposes: d.purposes,
                    default: d.default,
                    data_source: d.data_source,
                },
            );
        }

        let retention_clock = match &raw.retention.today {
            None => crate::stages::retention::Clock::System,
            Some(t) => match crate::stages::retention::Day::parse(t) {
                Some(d) if t.len() == 10 => crate::stages::retention::Clock::Fixed(d),
                _ => {
                    r.at(
                        "retention.today",
                        format!("retention.today: `{t}` is not a date (`YYYY-MM-DD`)"),
                    );
                    crate::stages::retention::Clock::System
                }
            },
        };

        let mut problems = r.problems;
        let (Some(addr), Some(base), Some(credential), Some(hash_key), Some(admin_addr), true) = (
            addr,
            base,
            credential,
            hash_key,
            admin_addr,
            problems.is_empty(),
        ) else {
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(Problems(problems));
        };
        Ok(Config {
            path: path.to_path_buf(),
            listen: ListenConfig { addr, tls },
            upstream: UpstreamConfig {
                base,
                vendor: raw.upstream.vendor,
                credential,
                ca_file: raw.upstream.ca_file.map(|p| rel(&p)),
                timeout: Duration::from_millis(raw.upstream.timeout_ms),
                max_body_bytes: raw.upstream.max_body_bytes,
                pool_idle_timeout: Duration::from_millis(raw.upstream.pool_idle_timeout_ms),
            },
            limits,
            policies: PolicyFiles {
                schema: rel(&raw.policies.schema),
                policies: raw.policies.policies.iter().map(|p| rel(p)).collect(),
                entities: rel(&raw.policies.entities),
                routes: rel(&raw.policies.routes),
                redaction: raw.policies.redaction.as_ref().map(|p| rel(p)),
                retention: raw.policies.retention.as_ref().map(|p| rel(p)),
                retention_clock,
                watch_interval: (raw.policies.watch_interval_ms > 0)
                    .then(|| Duration::from_millis(raw.policies.watch_interval_ms)),
                reload_settle: Duration::from_millis(raw.policies.reload_settle_ms),
                confirm_file: rel(raw
                    .policies
                    .confirm_file
                    .as_deref()
                    .unwrap_or(Path::new("policies.confirm"))),
            },
            audit: AuditConfig {
                dir: rel(&raw.audit.dir),
                fsync: raw.audit.fsync,
                segment_max_bytes: raw.audit.segment_max_bytes,
                segment_max_age: Duration::from_secs(raw.audit.segment_max_age_s),
                retention: raw
                    .audit
                    .retention_days
                    .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
                checkpoint_every: raw.audit.checkpoint_every,
                checkpoint_interval: Duration::from_secs(raw.audit.checkpoint_interval_s),
                connection_events_interval: Duration::from_secs(
                    raw.audit.connection_events_interval_s,
                ),
                signing_key_file: rel(&raw.audit.signing_key_file),
                generate_signing_key: raw.audit.generate_signing_key,
                write_timeout: Duration::from_millis(raw.audit.write_timeout_ms),
                central,
            },
            admin: AdminConfig { addr: admin_addr },
            hash_key,
            api_keys,
            api_key_purposes,
            app_keys,
            key_owners,
            mtls,
            jwt,
            purposes,
            departments,
            apps,
            source: Arc::new(src),
        })
    }
}

/// The typed `[audit.central]`; every problem at the line of its key. The URL is checked
/// here (before the port is bound), and no message ever quotes it: it may hold a password.
fn central_from(
    c: &RawCentral,
    env: &impl Fn(&str) -> Option<String>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<CentralConfig> {
    let url = match (&c.url, &c.url_file, &c.url_env) {
        (Some(u), None, None) => Some((Secret::new(u.clone()), "audit.central.url")),
        (None, Some(f), None) => match read_secret_file(&rel(f)) {
            Ok(s) => Some((s, "audit.central.url_file")),
            Err(m) => {
                r.at("audit.central.url_file", m);
                None
            }
        },
        (None, None, Some(var)) => match env(var) {
            Some(v) => Some((Secret::new(v), "audit.central.url_env")),
            None => {
                r.at(
                    "audit.central.url_env",
                    format!("audit.central.url_env: environment variable `{var}` is not set"),
                );
                None
            }
        },
        _ => {
            r.at(
                "audit.central",
                "audit.central needs exactly one of url, url_file or url_env".into(),
            );
            None
        }
    };
    let mut ok = true;
    if let Some((url, at)) = &url {
        if let Err(e) = crate::stages::audit::central::check_url(url.expose()) {
            // At the key's line, but without the line itself: it may hold a password.
            let mut p = r.src.problem(at, format!("audit.central: {e}"));
            p.snippet = None;
            r.problems.push(p);
            ok = false;
        }
    }
    if let Some(id) = &c.replica_id {
        if let Err(e) = crate::stages::audit::central::check_replica_id(id) {
            r.at(
                "audit.central.replica_id",
                format!("audit.central.replica_id: {e}"),
            );
            ok = false;
        }
    }
    for (key, value) in [
        ("max_lag_entries", c.max_lag_entries),
        ("batch_size", c.batch_size as u64),
        ("retry_interval_ms", c.retry_interval_ms),
    ] {
        if value == 0 {
            r.at(
                &format!("audit.central.{key}"),
                format!("audit.central.{key} must be at least 1"),
            );
            ok = false;
        }
    }
    if c.batch_size > 10_000 {
        r.at(
            "audit.central.batch_size",
            "audit.central.batch_size must be at most 10000".into(),
        );
        ok = false;
    }
    let (url, _) = url?;
    ok.then(|| CentralConfig {
        url,
        replica_id: c.replica_id.clone(),
        max_lag_entries: c.max_lag_entries,
        batch_size: c.batch_size,
        retry_interval: Duration::from_millis(c.retry_interval_ms),
    })
}

/// A problem of one issuer: the key of its `[[identity.jwt]]` entry it is about.
type JwtProblem = (&'static str, String);

fn load_jwt_issuer(j: RawJwt, rel: &impl Fn(&Path) -> PathBuf) -> Result<JwtIssuer, JwtProblem> {
    let at = |m: String| format!("identity.jwt `{}`: {m}", j.issuer);
    if j.issuer.is_empty() {
        return Err(("issuer", "identity.jwt: `issuer` is empty".into()));
    }
    if j.audience.is_empty() {
        return Err(("audience", at("`audience` needs at least one value".into())));
    }
    if j.algorithms.is_empty() {
        return Err((
            "algorithms",
            at("`algorithms` needs at least one value".into()),
        ));
    }
    let algorithms = j.algorithms.iter().map(|&a| a.into()).collect();
    if j.leeway_s > 300 {
        return Err((
            "leeway_s",
            at(format!(
                "`leeway_s` {} is more than 300 seconds",
                j.leeway_s
            )),
        ));
    }
    let keys = match (&j.jwks_file, &j.jwks_url) {
        (Some(file), None) => {
            let path = rel(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                (
                    "jwks_file",
                    at(format!("cannot read jwks_file `{}`: {e}", path.display())),
                )
            })?;
            KeySet::Static(
                parse_jwks(&text)
                    .map_err(|m| ("jwks_file", at(format!("`{}`: {m}", path.display()))))?,
            )
        }
        (None, Some(url)) => KeySet::Remote(std::sync::Arc::new(
            remote_jwks(url, &j, rel).map_err(|m| ("jwks_url", at(m)))?,
        )),
        _ => {
            return Err((
                "jwks_file",
                at("give exactly one of `jwks_file` or `jwks_url`".into()),
            ))
        }
    };
    // With the token as the directory, its claims are the attributes: each has a name.
    let (department_claim, roles_claim, active_claim) = match j.directory {
        Directory::Entities => {
            if j.active_claim.is_some() {
                return Err((
                    "active_claim",
                    at("`active_claim` needs `directory = \"claims\"`".into()),
                ));
            }
            (j.department_claim, j.roles_claim, None)
        }
        Directory::Claims => (
            Some(j.department_claim.unwrap_or_else(|| "department".into())),
            Some(j.roles_claim.unwrap_or_else(|| "roles".into())),
            Some(j.active_claim.unwrap_or_else(|| "active".into())),
        ),
    };
    Ok(JwtIssuer {
        issuer: j.issuer,
        audiences: j.audience,
        algorithms,
        keys,
        leeway_s: j.leeway_s,
        user_claim: j.user_claim,
        department_claim,
        roles_claim,
        directory: j.directory,
        active_claim,
        purpose_claim: j.purpose_claim,
    })
}

fn remote_jwks(
    url: &str,
    j: &RawJwt,
    rel: &impl Fn(&Path) -> PathBuf,
) -> Result<crate::stages::identity::jwks::RemoteJwks, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("jwks_url `{url}`: {e}"))?;
    // Keys fetched in the clear could be swapped on the way: plain HTTP only on loopback.
    let loopback = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if loopback => {}
        _ => {
            return Err(format!(
                "jwks_url `{url}` must be https:// (http:// only on loopback)"
            ))
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &j.jwks_ca_file {
        let ca = rel(ca);
        let certs = crate::pki::load_certs(&ca)?;
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("jwks_ca_file `{}`: {e}", ca.display()))?;
        }
    }
    crate::stages::identity::jwks::RemoteJwks::new(
        uri,
        Duration::from_secs(j.jwks_max_age_s),
        Duration::from_secs(j.jwks_min_refresh_s),
        roots,
    )
}

fn read_secret_file(path: &Path) -> Result<Secret, String> {
    std::fs::read_to_string(path)
        .map(|s| Secret::new(s.trim().to_string()))
        .map_err(|e| format!("cannot read secret file `{}`: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::stages::identity::jwks::parse_jwt_algorithm;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn semantic_errors_name_the_line_of_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(dir.path().join("h"), "0123456789abcdef0123").unwrap();
        let text = "[listen]\naddr = \"x\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n\
                    [policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n\
                    [audit]\ndir = \"a\"\nsigning_key_file = \"k\"\n[masks]\nhash_key_file = \"h\"\n\
                    [purposes.b]\ndescription = \"\"\nlegal_basis = \"\"\n\
                    [departments.sales]\npurposes = [\"a\"]\ndefault = \"b\"\n";
        std::fs::write(&p, text).unwrap();
        let Problems(problems) = Config::load(&p).unwrap_err();
        let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
        let got: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, line_of("addr = \"x\""), "{got:?}");
        assert_eq!(got[1].0, line_of("purposes = [\"a\"]"), "{got:?}");
        assert!(got[1].1.contains("unknown purpose `a`"), "{got:?}");
        assert_eq!(got[2].0, line_of("default = \"b\""), "{got:?}");
        assert!(got[2].1.contains("not among its purposes"), "{got:?}");
    }

    #[test]
    fn symmetric_and_none_algorithms_are_refused() {
        for bad in ["none", "HS256", "HS512", "rs256"] {
            assert!(parse_jwt_algorithm(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_jwt_algorithm("ES256").is_ok());
    }

    #[test]
    fn a_jwks_needs_kids_and_public_keys() {
        // A symmetric key in a JWKS would turn a public document into a signing secret.
        let oct = r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#;
        assert!(parse_jwks(oct).unwrap_err().contains("symmetric"));
        let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
        let no_kid = format!(r#"{{"keys":[{ec}}}]}}"#);
        assert!(parse_jwks(&no_kid).unwrap_err().contains("kid"));
        let twice = format!(r#"{{"keys":[{ec},"kid":"a"}},{ec},"kid":"a"}}]}}"#);
        assert!(parse_jwks(&twice).unwrap_err().contains("twice"));
        let hs = format!(r#"{{"keys":[{ec},"kid":"a","alg":"HS256"}}]}}"#);
        assert!(parse_jwks(&hs).is_err());
        let ok = format!(r#"{{"keys":[{ec},"kid":"a","alg":"ES256"}}]}}"#);
        let keys = parse_jwks(&ok).unwrap();
        assert_eq!(keys["a"].alg, Some(jsonwebtoken::Algorithm::ES256));
        // An encryption key next to the signing key is skipped, not an error.
        let with_enc =
            format!(r#"{{"keys":[{ec},"kid":"a","alg":"ES256"}},{ec},"kid":"e","use":"enc"}}]}}"#);
        let keys = parse_jwks(&with_enc).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
    }

    #[test]
    fn a_jwks_url_must_be_https_except_on_loopback() {
        let raw = |url: &str| RawJwt {
            issuer: "i".into(),
            audience: vec!["a".into()],
            algorithms: vec![JwtAlgorithm::Es256],
            jwks_file: None,
            jwks_url: Some(url.into()),
            jwks_max_age_s: 300,
            jwks_min_refresh_s: 10,
            jwks_ca_file: None,
            leeway_s: 30,
            user_claim: "sub".into(),
            department_claim: None,
            roles_claim: None,
            directory: Directory::Entities,
            active_claim: None,
            purpose_claim: None,
        };
        let rel = |p: &Path| p.to_path_buf();
        let (_, err) = load_jwt_issuer(raw("http://idp.example/jwks"), &rel).unwrap_err();
        assert!(err.contains("must be https://"), "{err}");
        assert!(load_jwt_issuer(raw("http://127.0.0.1:9/jwks"), &rel).is_ok());
        assert!(load_jwt_issuer(raw("https://idp.example/jwks"), &rel).is_ok());
        let mut both = raw("https://idp.example/jwks");
        both.jwks_file = Some("jwks.json".into());
        assert!(load_jwt_issuer(both, &rel)
            .unwrap_err()
            .1
            .contains("exactly one"));
    }

    #[test]
    fn mtls_needs_a_tls_listener_and_a_known_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(dir.path().join("k"), "0123456789abcdef0123").unwrap();
        let base = "[upstream]\nurl = \"http://127.0.0.1:1\"\n[policies]\nschema = \"s\"\n\
                    policies = []\nentities = \"e\"\nroutes = \"r\"\n[audit]\ndir = \"a\"\n\
                    signing_key_file = \"sk\"\n[masks]\nhash_key_file = \"k\"\n";
        let write = |listen: &str, mode: &str| {
            std::fs::write(
                &p,
                format!("[listen]\naddr = \"127.0.0.1:0\"\n{listen}\n{base}[identity.mtls]\nclient_ca = \"ca.pem\"\nmode = \"{mode}\"\n"),
            )
            .unwrap();
            Config::load(&p).map(|_| ()).unwrap_err().to_string()
        };
        assert!(write("plaintext = true", "required").contains("needs a TLS listener"));
        let err = write("tls_cert = \"c\"\ntls_key = \"k\"", "sometimes");
        assert!(err.contains("`sometimes`"), "{err}");
    }

    #[test]
    fn audit_intervals_of_zero_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n[audit]\ndir = \"a\"\nsigning_key_file = \"k\"\ncheckpoint_every = 0\n[masks]\nhash_key_file = \"h\"\n").unwrap();
        std::fs::write(dir.path().join("h"), "0123456789abcdef0123").unwrap();
        let err = Config::load(&p).unwrap_err().to_string();
        assert!(err.contains("checkpoint_every"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\nplaintxt = true\n",
        )
        .unwrap();
        let err = Config::load(&p).unwrap_err().to_string();
        assert!(err.contains(":4:"), "{err}");
        assert!(err.contains("plaintxt"), "{err}");
    }
}
