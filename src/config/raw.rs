//! Start-up: the configuration file's format, as serde reads it: one struct per section,
//! each with `deny_unknown_fields`, and the defaults of the keys that may be left out.
//!
//! It must never accept an unknown key (a misspelt key is an error, not a silent default),
//! nor check or resolve anything: the section loaders ([`super::load`]) turn these into the
//! typed configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{CertUserFrom, ClientAuth, Directory};
use crate::jwk::JwtAlgorithm;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) listen: RawListen,
    pub(super) upstream: RawUpstream,
    #[serde(default)]
    pub(super) limits: RawLimits,
    pub(super) policies: RawPolicies,
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) admin: RawAdmin,
    pub(super) masks: RawMasks,
    #[serde(default)]
    pub(super) identity: RawIdentity,
    #[serde(default)]
    pub(super) purposes: BTreeMap<String, RawPurpose>,
    #[serde(default)]
    pub(super) departments: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    pub(super) apps: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    pub(super) retention: RawRetentionConfig,
    #[serde(default)]
    pub(super) documents: super::Documents,
    #[serde(default)]
    pub(super) notices: RawNotices,
}

/// `[notices]`: how long, and how many, redaction notices are kept for their writers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotices {
    #[serde(default = "default_notice_ttl_ms")]
    pub(super) ttl_ms: u64,
    #[serde(default = "default_max_notices")]
    pub(super) max_entries: usize,
}

impl Default for RawNotices {
    fn default() -> Self {
        Self {
            ttl_ms: default_notice_ttl_ms(),
            max_entries: default_max_notices(),
        }
    }
}

/// A day: long enough for the application to show it the same day, short enough that the
/// store stays small.
fn default_notice_ttl_ms() -> u64 {
    24 * 3_600_000
}
/// A notice is a few hundred bytes: 10 000 are a few megabytes.
fn default_max_notices() -> usize {
    10_000
}

/// `[retention]`: only for tests and demos of a given date.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetentionConfig {
    /// `YYYY-MM-DD`: the deletion concept's "today" instead of the system date.
    pub(super) today: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListen {
    pub(super) addr: String,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    #[serde(default)]
    pub(super) plaintext: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub(super) url: String,
    /// The CRM's API: chosen among the vendor profiles at start-up (none: the default).
    #[serde(default)]
    pub(super) vendor: Option<String>,
    /// The API version of a vendor whose API is versioned in its paths (`v62.0`).
    #[serde(default)]
    pub(super) api_version: Option<String>,
    pub(super) credential_env: Option<String>,
    pub(super) credential_file: Option<PathBuf>,
    pub(super) ca_file: Option<PathBuf>,
    #[serde(default = "default_upstream_timeout_ms")]
    pub(super) timeout_ms: u64,
    #[serde(default = "default_upstream_body")]
    pub(super) max_body_bytes: usize,
    /// Milliseconds an idle pooled connection to the CRM is kept open.
    #[serde(default = "default_pool_idle_timeout_ms")]
    pub(super) pool_idle_timeout_ms: u64,
    /// `[upstream.oauth]`: an OAuth 2.0 grant instead of a static credential.
    #[serde(default)]
    pub(super) oauth: Option<super::oauth::RawOAuth>,
    /// `[upstream.budget]`: the account's request budget and this replica's share.
    #[serde(default)]
    pub(super) budget: Option<super::BudgetConfig>,
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
pub(super) struct RawLimits {
    #[serde(default = "default_request_body")]
    pub(super) max_request_body_bytes: usize,
    #[serde(default = "default_connections")]
    pub(super) max_connections: usize,
    /// Default: a quarter of `max_connections`.
    pub(super) max_connections_per_ip: Option<usize>,
    #[serde(default = "default_header_timeout_ms")]
    pub(super) header_read_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub(super) request_timeout_ms: u64,
    #[serde(default = "default_first_request_timeout_ms")]
    pub(super) first_request_timeout_ms: u64,
    #[serde(default = "default_idle_timeout_ms")]
    pub(super) idle_timeout_ms: u64,
    #[serde(default = "default_max_connection_age_ms")]
    pub(super) max_connection_age_ms: u64,
    #[serde(default = "default_h2_keep_alive_interval_ms")]
    pub(super) http2_keep_alive_interval_ms: u64,
    #[serde(default = "default_h2_keep_alive_timeout_ms")]
    pub(super) http2_keep_alive_timeout_ms: u64,
    #[serde(default = "default_send_timeout_ms")]
    pub(super) send_timeout_ms: u64,
    #[serde(default = "default_max_buffered_responses")]
    pub(super) max_buffered_responses: usize,
    #[serde(default = "default_max_upstream_requests")]
    pub(super) max_upstream_requests_per_request: usize,
    #[serde(default = "default_max_upstream_bytes")]
    pub(super) max_upstream_bytes_per_request: usize,
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

/// A refilled list page or a counted search: 50 pages of 200 is the first vendor's own search
/// cap.
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
pub(super) struct RawPolicies {
    pub(super) schema: PathBuf,
    pub(super) policies: Vec<PathBuf>,
    pub(super) entities: PathBuf,
    pub(super) routes: PathBuf,
    #[serde(default)]
    pub(super) redaction: Option<PathBuf>,
    #[serde(default)]
    pub(super) retention: Option<PathBuf>,
    /// Milliseconds between checks for changed policy files; 0 = reload on SIGHUP only.
    #[serde(default = "default_watch_ms")]
    pub(super) watch_interval_ms: u64,
    /// Milliseconds changed policy files must stay unchanged before they are loaded.
    #[serde(default = "default_settle_ms")]
    pub(super) reload_settle_ms: u64,
    /// The file confirming a reload that loses most policies (default `policies.confirm`
    /// next to this file).
    #[serde(default)]
    pub(super) confirm_file: Option<PathBuf>,
}

fn default_watch_ms() -> u64 {
    1000
}
fn default_settle_ms() -> u64 {
    1000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) dir: PathBuf,
    /// On unless switched off: a record that is not durable is not a record.
    #[serde(default = "default_fsync")]
    pub(super) fsync: bool,
    #[serde(default = "default_segment_max_bytes")]
    pub(super) segment_max_bytes: u64,
    #[serde(default = "default_segment_max_age_s")]
    pub(super) segment_max_age_s: u64,
    pub(super) retention_days: Option<u64>,
    #[serde(default = "default_checkpoint_every")]
    pub(super) checkpoint_every: u64,
    #[serde(default = "default_checkpoint_interval_s")]
    pub(super) checkpoint_interval_s: u64,
    /// Seconds between `connection_events` entries (counts of refused connections).
    #[serde(default = "default_connection_events_interval_s")]
    pub(super) connection_events_interval_s: u64,
    pub(super) signing_key_file: PathBuf,
    #[serde(default)]
    pub(super) generate_signing_key: bool,
    #[serde(default = "default_write_timeout_ms")]
    pub(super) write_timeout_ms: u64,
    pub(super) central: Option<RawCentral>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCentral {
    /// Exactly one of `url`, `url_file` (a mounted secret) or `url_env`.
    pub(super) url: Option<String>,
    pub(super) url_file: Option<PathBuf>,
    pub(super) url_env: Option<String>,
    pub(super) replica_id: Option<String>,
    #[serde(default = "default_max_lag_entries")]
    pub(super) max_lag_entries: u64,
    #[serde(default = "default_batch_size")]
    pub(super) batch_size: usize,
    #[serde(default = "default_retry_interval_ms")]
    pub(super) retry_interval_ms: u64,
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    #[serde(default = "default_admin_addr")]
    pub(super) addr: String,
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
pub(super) struct RawMasks {
    pub(super) hash_key_env: Option<String>,
    pub(super) hash_key_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdentity {
    #[serde(default)]
    pub(super) api_keys: Vec<RawApiKey>,
    pub(super) mtls: Option<RawMtls>,
    #[serde(default)]
    pub(super) jwt: Vec<RawJwt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiKey {
    /// Lowercase hex SHA-256 of the key; the key itself is never stored.
    pub(super) sha256: String,
    /// Exactly one of `user` (a `User` entity) or `app` (an `App` entity, a service key).
    pub(super) user: Option<String>,
    pub(super) app: Option<String>,
    /// The one purpose the key is for (a tool that cannot add `X-Purpose`): declared by
    /// every request made with it, checked like the header.
    pub(super) purpose: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMtls {
    pub(super) client_ca: PathBuf,
    pub(super) mode: ClientAuth,
    pub(super) crl_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) user_from: CertUserFrom,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwt {
    pub(super) issuer: String,
    pub(super) audience: Vec<String>,
    pub(super) algorithms: Vec<JwtAlgorithm>,
    /// Exactly one of `jwks_file` or `jwks_url`.
    pub(super) jwks_file: Option<PathBuf>,
    pub(super) jwks_url: Option<String>,
    /// How long fetched keys may be used (seconds).
    #[serde(default = "default_jwks_max_age")]
    pub(super) jwks_max_age_s: u64,
    /// Least time between two fetches caused by unknown `kid`s (seconds).
    #[serde(default = "default_jwks_min_refresh")]
    pub(super) jwks_min_refresh_s: u64,
    /// Extra CA (PEM) for an identity provider with a private PKI.
    pub(super) jwks_ca_file: Option<PathBuf>,
    #[serde(default = "default_jwt_leeway")]
    pub(super) leeway_s: u64,
    #[serde(default = "default_user_claim")]
    pub(super) user_claim: String,
    pub(super) department_claim: Option<String>,
    pub(super) roles_claim: Option<String>,
    #[serde(default)]
    pub(super) directory: Directory,
    pub(super) active_claim: Option<String>,
    pub(super) purpose_claim: Option<String>,
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
pub(super) struct RawPurpose {
    pub(super) description: String,
    pub(super) legal_basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDepartment {
    pub(super) purposes: Vec<String>,
    pub(super) default: Option<String>,
    pub(super) data_source: Option<String>,
}
