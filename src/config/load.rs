//! Start-up: the configuration file turned into the typed [`Config`], one loader per
//! section (listen, upstream, masks, admin, limits, audit, policies, purposes and
//! departments; identity and the central store in their own files), each writing its
//! problems into one report, at the line of the key they are about.
//!
//! Every path is resolved relative to the config file; secrets named by environment
//! variable or file are read here. It must never stop at the first problem (all are
//! reported, in file order), never build a configuration from a file with problems, and
//! never put a secret's value into a message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::central::central_from;
use super::identity::{api_keys_from, jwt_from, mtls_from};
use super::oauth::oauth_from;
use super::raw::{
    RawAdmin, RawAudit, RawConfig, RawDepartment, RawLimits, RawListen, RawMasks, RawNotices,
    RawPolicies, RawPurpose, RawRetentionConfig, RawUpstream,
};
use super::{
    AdminConfig, AuditConfig, Config, DepartmentPurposes, Limits, ListenConfig, PolicyFiles,
    Purpose, TlsFiles, UpstreamConfig,
};
use crate::diagnostic::{Problems, Report, TomlSource};
use crate::retention::{Clock, Day};
use crate::secret::Secret;

/// Where a section's secret comes from, as its keys say: an environment variable or a file.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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

        // One loader per section, in the order of the file's usual layout.
        let (addr, tls) = listen_from(&raw.listen, &rel, &mut r);
        let upstream = upstream_from(raw.upstream, &env, &rel, &mut r);
        let hash_key = hash_key_from(raw.masks, &env, &rel, &mut r);
        let admin = admin_from(&raw.admin, &mut r);
        let limits = limits_from(&raw.limits, &mut r);
        let notices = notices_from(&raw.notices, &mut r);
        let audit = audit_from(raw.audit, &env, &rel, &mut r);
        let keys = api_keys_from(raw.identity.api_keys, &raw.purposes, &mut r);
        let mtls = mtls_from(raw.identity.mtls, raw.listen.plaintext, &rel, &mut r);
        let jwt = jwt_from(raw.identity.jwt, &rel, &mut r);
        let purposes = purposes_from(raw.purposes);
        let departments = purposes_of(raw.departments, "departments", &purposes, &mut r);
        let apps = purposes_of(raw.apps, "apps", &purposes, &mut r);
        let policies = policies_from(raw.policies, &raw.retention, &rel, &mut r);

        let mut problems = r.problems;
        let (Some(addr), Some(upstream), Some(hash_key), Some(admin), true) =
            (addr, upstream, hash_key, admin, problems.is_empty())
        else {
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(Problems(problems));
        };
        Ok(Config {
            path: path.to_path_buf(),
            listen: ListenConfig { addr, tls },
            upstream,
            limits,
            policies,
            audit,
            admin,
            hash_key,
            api_keys: keys.api_keys,
            api_key_purposes: keys.api_key_purposes,
            app_keys: keys.app_keys,
            key_owners: keys.key_owners,
            mtls,
            jwt,
            purposes,
            departments,
            apps,
            documents: raw.documents,
            notices,
            source: Arc::new(src),
        })
    }
}

/// `[listen]`: the address, and TLS files unless `plaintext = true` says otherwise.
fn listen_from(
    raw: &RawListen,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> (Option<SocketAddr>, Option<TlsFiles>) {
    let addr: Option<SocketAddr> = match raw.addr.parse() {
        Ok(a) => Some(a),
        Err(e) => {
            r.at("listen.addr", format!("listen.addr `{}`: {e}", raw.addr));
            None
        }
    };
    let tls = match (&raw.tls_cert, &raw.tls_key, raw.plaintext) {
        (Some(cert), Some(key), false) => Some(TlsFiles {
            cert: rel(cert),
            key: rel(key),
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
    (addr, tls)
}

/// `[upstream]`: the CRM's base URL, its credential and the connection's bounds.
fn upstream_from(
    raw: RawUpstream,
    env: Env<'_>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<UpstreamConfig> {
    // The vendor profile a `vendor = "…"` key selects belongs here, with the other keys of
    // the CRM the proxy fronts: checked against the known profiles, at its line.
    let base = upstream_base(&raw.url, r);
    if raw.pool_idle_timeout_ms == 0 {
        // Zero would close every connection after each request, or never: not a setting.
        r.at(
            "upstream.pool_idle_timeout_ms",
            "upstream.pool_idle_timeout_ms must be at least 1".into(),
        );
    }
    let credential = match (raw.credential_env, raw.credential_file) {
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
        (None, Some(file)) => match Secret::read_file(&rel(&file)) {
            Ok(s) => Some(Some(s)),
            Err(m) => {
                r.at("upstream.credential_file", m);
                None
            }
        },
        (None, None) => Some(None),
    };
    let oauth = match raw.oauth {
        None => Some(None),
        Some(_) if matches!(credential, Some(Some(_))) => {
            r.at(
                "upstream.oauth",
                "upstream: give a static credential (credential_env, credential_file) or [upstream.oauth], not both".into(),
            );
            None
        }
        Some(o) => oauth_from(o, env, rel, r).map(Some),
    };
    let budget = match raw.budget {
        Some(b) if b.requests == 0 || !(b.share > 0.0 && b.share <= 1.0) => {
            r.at(
                "upstream.budget",
                "upstream.budget needs requests of at least 1 and a share above 0 and at most 1"
                    .into(),
            );
            None
        }
        b => Some(b),
    };
    Some(UpstreamConfig {
        base: base?,
        vendor: raw.vendor,
        api_version: raw.api_version,
        credential: credential?,
        oauth: oauth?,
        ca_file: raw.ca_file.map(|p| rel(&p)),
        timeout: Duration::from_millis(raw.timeout_ms),
        max_body_bytes: raw.max_body_bytes,
        pool_idle_timeout: Duration::from_millis(raw.pool_idle_timeout_ms),
        budget: budget?,
    })
}

/// `upstream.url`: scheme and authority only; paths are appended to it as they are.
fn upstream_base(url: &str, r: &mut Report<'_>) -> Option<http::Uri> {
    match url.parse::<http::Uri>() {
        Err(e) => {
            r.at("upstream.url", format!("upstream.url `{url}`: {e}"));
            None
        }
        Ok(base) => match (base.scheme_str(), base.authority()) {
            (Some("http" | "https"), Some(_)) if base.path() == "/" || base.path().is_empty() => {
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
    }
}

/// `[masks]`: the master key of `hash` masks, from exactly one of an environment variable
/// or a file, at least 16 characters.
fn hash_key_from(
    raw: RawMasks,
    env: Env<'_>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<Secret> {
    let (hash_key, hash_key_at) = match (raw.hash_key_env, raw.hash_key_file) {
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
        (None, Some(file)) => match Secret::read_file(&rel(&file)) {
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
    hash_key
}

/// `[admin]`: the admin listener's address.
fn admin_from(raw: &RawAdmin, r: &mut Report<'_>) -> Option<AdminConfig> {
    match raw.addr.parse() {
        Ok(addr) => Some(AdminConfig { addr }),
        Err(e) => {
            r.at("admin.addr", format!("admin.addr `{}`: {e}", raw.addr));
            None
        }
    }
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

/// `[notices]`: a zero time or count would make every notice unreadable; neither is a
/// setting.
fn notices_from(raw: &RawNotices, r: &mut Report<'_>) -> super::NoticeConfig {
    if raw.ttl_ms == 0 {
        r.at("notices.ttl_ms", "notices.ttl_ms must be at least 1".into());
    }
    if raw.max_entries == 0 {
        r.at(
            "notices.max_entries",
            "notices.max_entries must be at least 1".into(),
        );
    }
    super::NoticeConfig {
        ttl: Duration::from_millis(raw.ttl_ms),
        max_entries: raw.max_entries.max(1),
    }
}

/// `[audit]`: the log directory, its segments, checkpoints and timeouts (none of them zero),
/// and the central store.
fn audit_from(
    raw: RawAudit,
    env: Env<'_>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> AuditConfig {
    for (key, value) in [
        ("segment_max_bytes", raw.segment_max_bytes),
        ("segment_max_age_s", raw.segment_max_age_s),
        ("checkpoint_every", raw.checkpoint_every),
        ("checkpoint_interval_s", raw.checkpoint_interval_s),
        (
            "connection_events_interval_s",
            raw.connection_events_interval_s,
        ),
        ("write_timeout_ms", raw.write_timeout_ms),
    ] {
        if value == 0 {
            r.at(
                &format!("audit.{key}"),
                format!("audit.{key} must be at least 1"),
            );
        }
    }
    let central = raw
        .central
        .as_ref()
        .and_then(|c| central_from(c, &env, rel, r));
    AuditConfig {
        dir: rel(&raw.dir),
        fsync: raw.fsync,
        segment_max_bytes: raw.segment_max_bytes,
        segment_max_age: Duration::from_secs(raw.segment_max_age_s),
        retention: raw
            .retention_days
            .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
        checkpoint_every: raw.checkpoint_every,
        checkpoint_interval: Duration::from_secs(raw.checkpoint_interval_s),
        connection_events_interval: Duration::from_secs(raw.connection_events_interval_s),
        signing_key_file: rel(&raw.signing_key_file),
        generate_signing_key: raw.generate_signing_key,
        write_timeout: Duration::from_millis(raw.write_timeout_ms),
        central,
    }
}

/// `[purposes]`: the registry of purposes a request may declare.
fn purposes_from(raw: BTreeMap<String, RawPurpose>) -> BTreeMap<String, Purpose> {
    raw.into_iter()
        .map(|(name, p)| {
            (
                name,
                Purpose {
                    description: p.description,
                    legal_basis: p.legal_basis,
                },
            )
        })
        .collect()
}

/// `[departments.*]` or `[apps.*]` (`section`): the purposes each may declare, from the
/// registry, and its default among them.
fn purposes_of(
    raw: BTreeMap<String, RawDepartment>,
    section: &str,
    purposes: &BTreeMap<String, Purpose>,
    r: &mut Report<'_>,
) -> BTreeMap<String, DepartmentPurposes> {
    let mut out = BTreeMap::new();
    for (name, d) in raw {
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
        out.insert(
            name,
            DepartmentPurposes {
                purposes: d.purposes,
                default: d.default,
                data_source: d.data_source,
            },
        );
    }
    out
}

/// `[policies]` (the files a policy revision is made of, and how reloads find them) and
/// `[retention]` (the deletion concept's "today").
fn policies_from(
    raw: RawPolicies,
    retention: &RawRetentionConfig,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> PolicyFiles {
    let retention_clock = match &retention.today {
        None => Clock::System,
        Some(t) => match Day::parse(t) {
            Some(d) if t.len() == 10 => Clock::Fixed(d),
            _ => {
                r.at(
                    "retention.today",
                    format!("retention.today: `{t}` is not a date (`YYYY-MM-DD`)"),
                );
                Clock::System
            }
        },
    };
    PolicyFiles {
        schema: rel(&raw.schema),
        policies: raw.policies.iter().map(|p| rel(p)).collect(),
        entities: rel(&raw.entities),
        routes: rel(&raw.routes),
        redaction: raw.redaction.as_ref().map(|p| rel(p)),
        retention: raw.retention.as_ref().map(|p| rel(p)),
        retention_clock,
        watch_interval: (raw.watch_interval_ms > 0)
            .then(|| Duration::from_millis(raw.watch_interval_ms)),
        reload_settle: Duration::from_millis(raw.reload_settle_ms),
        confirm_file: rel(raw
            .confirm_file
            .as_deref()
            .unwrap_or(Path::new("policies.confirm"))),
    }
}
