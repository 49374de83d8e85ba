//! Start-up: the TOML configuration, parsed into typed values before anything binds a port.
//!
//! Raw serde structs (`deny_unknown_fields`, so a misspelt key is an error, not a silent
//! default) are turned into a typed [`Config`]; every path is resolved relative to the config
//! file. Nothing here runs on the request path, and no secret is ever printed: secrets are
//! held in [`Secret`], whose `Debug` says `<redacted>`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A start-up problem, naming the file (and line, where the parser knows one).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

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
    /// SHA-256 (hex) of an API key → the `User` id it authenticates.
    pub api_keys: HashMap<String, String>,
    pub purposes: BTreeMap<String, Purpose>,
    /// Department name → the purposes its members may declare, and their default.
    pub departments: BTreeMap<String, DepartmentPurposes>,
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
    /// Injected as `Authorization: Bearer …` on every upstream request.
    pub credential: Option<Secret>,
    /// Extra CA for an HTTPS upstream with a private PKI.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Largest upstream body crmgate will buffer and filter; larger → 502.
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_request_body_bytes: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PolicyFiles {
    pub schema: PathBuf,
    pub policies: Vec<PathBuf>,
    pub entities: PathBuf,
    pub routes: PathBuf,
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
    /// Ed25519 signing key for checkpoints (hex seed); its public key sits next to it
    /// (`<file>.pub`).
    pub signing_key_file: PathBuf,
    /// Generate the signing key when the file is missing (demo and tests).
    pub generate_signing_key: bool,
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
    credential_env: Option<String>,
    credential_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_upstream_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_upstream_body")]
    max_body_bytes: usize,
}

fn default_upstream_timeout_ms() -> u64 {
    10_000
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
    #[serde(default = "default_header_timeout_ms")]
    header_read_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    request_timeout_ms: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: default_request_body(),
            max_connections: default_connections(),
            header_read_timeout_ms: default_header_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
        }
    }
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
    signing_key_file: PathBuf,
    #[serde(default)]
    generate_signing_key: bool,
}

fn default_fsync() -> bool {
    true
}
fn default_segment_max_bytes() -> u64 {
    64 * 1024 * 1024
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    /// Lowercase hex SHA-256 of the key; the key itself is never stored.
    sha256: String,
    user: String,
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
}

// ---------------------------------------------------------------------------------------

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Read and parse a TOML file into `T`, reporting syntax errors with file and line.
pub fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(&text, s.start));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

/// The SHA-256 of an API key as stored in the config.
pub fn api_key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Config {
    /// Load and validate the config file. Secrets named by env var or file are read here.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with another source of environment variables (the demo supplies
    /// its generated secrets this way).
    pub fn load_with_env(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = read_toml(path)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let rel = |p: &Path| dir.join(p);

        let addr: SocketAddr = raw
            .listen
            .addr
            .parse()
            .map_err(|e| invalid(format!("listen.addr `{}`: {e}", raw.listen.addr)))?;
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
                return Err(invalid(
                    "listen.plaintext = true cannot be combined with tls_cert/tls_key".into(),
                ))
            }
            _ => {
                return Err(invalid(
                    "listen needs both tls_cert and tls_key (or plaintext = true, for a \
                     listener behind a TLS-terminating load balancer)"
                        .into(),
                ))
            }
        };

        let base: http::Uri = raw
            .upstream
            .url
            .parse()
            .map_err(|e| invalid(format!("upstream.url `{}`: {e}", raw.upstream.url)))?;
        match (base.scheme_str(), base.authority()) {
            (Some("http" | "https"), Some(_)) => {}
            _ => {
                return Err(invalid(format!(
                    "upstream.url `{}` must be http:// or https:// with a host",
                    raw.upstream.url
                )))
            }
        }
        if base.path() != "/" && !base.path().is_empty() {
            return Err(invalid(format!(
                "upstream.url `{}` must not have a path",
                raw.upstream.url
            )));
        }
        let credential = match (raw.upstream.credential_env, raw.upstream.credential_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "upstream: give credential_env or credential_file, not both".into(),
                ))
            }
            (Some(var), None) => Some(Secret::new(env(&var).ok_or_else(|| {
                invalid(format!(
                    "upstream.credential_env: environment variable `{var}` is not set"
                ))
            })?)),
            (None, Some(file)) => Some(read_secret_file(&rel(&file)).map_err(invalid)?),
            (None, None) => None,
        };

        let hash_key = match (raw.masks.hash_key_env, raw.masks.hash_key_file) {
            (Some(var), None) => Secret::new(env(&var).ok_or_else(|| {
                invalid(format!(
                    "masks.hash_key_env: environment variable `{var}` is not set"
                ))
            })?),
            (None, Some(file)) => read_secret_file(&rel(&file)).map_err(invalid)?,
            _ => {
                return Err(invalid(
                    "masks needs exactly one of hash_key_env or hash_key_file".into(),
                ))
            }
        };
        if hash_key.expose().len() < 16 {
            return Err(invalid(
                "the hash mask key must be at least 16 characters".into(),
            ));
        }

        let admin_addr: SocketAddr = raw
            .admin
            .addr
            .parse()
            .map_err(|e| invalid(format!("admin.addr `{}`: {e}", raw.admin.addr)))?;
        if raw.audit.segment_max_bytes == 0
            || raw.audit.checkpoint_every == 0
            || raw.audit.checkpoint_interval_s == 0
            || raw.audit.segment_max_age_s == 0
        {
            return Err(invalid(
                "audit: segment_max_bytes, segment_max_age_s, checkpoint_every and \
                 checkpoint_interval_s must be at least 1"
                    .into(),
            ));
        }

        let mut api_keys = HashMap::new();
        for k in raw.identity.api_keys {
            let digest = k.sha256.to_ascii_lowercase();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "identity.api_keys: `sha256` for user `{}` is not a SHA-256 hex digest",
                    k.user
                )));
            }
            if api_keys.insert(digest, k.user.clone()).is_some() {
                return Err(invalid(format!(
                    "identity.api_keys: the key of user `{}` is listed twice",
                    k.user
                )));
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
        for (name, d) in raw.departments {
            for p in d.purposes.iter().chain(d.default.iter()) {
                if !purposes.contains_key(p) {
                    return Err(invalid(format!(
                        "departments.{name}: unknown purpose `{p}`"
                    )));
                }
            }
            if let Some(def) = &d.default {
                if !d.purposes.contains(def) {
                    return Err(invalid(format!(
                        "departments.{name}: default purpose `{def}` is not among its purposes"
                    )));
                }
            }
            departments.insert(
                name,
                DepartmentPurposes {
                    purposes: d.purposes,
                    default: d.default,
                },
            );
        }

        Ok(Config {
            path: path.to_path_buf(),
            listen: ListenConfig { addr, tls },
            upstream: UpstreamConfig {
                base,
                credential,
                ca_file: raw.upstream.ca_file.map(|p| rel(&p)),
                timeout: Duration::from_millis(raw.upstream.timeout_ms),
                max_body_bytes: raw.upstream.max_body_bytes,
            },
            limits: Limits {
                max_request_body_bytes: raw.limits.max_request_body_bytes,
                max_connections: raw.limits.max_connections.max(1),
                header_read_timeout: Duration::from_millis(raw.limits.header_read_timeout_ms),
                request_timeout: Duration::from_millis(raw.limits.request_timeout_ms),
            },
            policies: PolicyFiles {
                schema: rel(&raw.policies.schema),
                policies: raw.policies.policies.iter().map(|p| rel(p)).collect(),
                entities: rel(&raw.policies.entities),
                routes: rel(&raw.policies.routes),
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
                signing_key_file: rel(&raw.audit.signing_key_file),
                generate_signing_key: raw.audit.generate_signing_key,
            },
            admin: AdminConfig { addr: admin_addr },
            hash_key,
            api_keys,
            purposes,
            departments,
        })
    }
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

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
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
