//! Start-up: the `[audit.central]` section (shipping the audit log to PostgreSQL), and the
//! checks of its values that the audit log's shipper relies on: the connection URL and the
//! replica id.
//!
//! It must never quote the connection URL in a message or a log (it may hold a password),
//! nor connect to anything: the shipper does, once the configuration is known.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::raw::RawCentral;
use super::CentralConfig;
use crate::diagnostic::Report;
use crate::secret::Secret;

/// The typed `[audit.central]`; every problem at the line of its key. The URL is checked
/// here (before the port is bound), and no message ever quotes it: it may hold a password.
pub(super) fn central_from(
    c: &RawCentral,
    env: &impl Fn(&str) -> Option<String>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<CentralConfig> {
    let url = match (&c.url, &c.url_file, &c.url_env) {
        (Some(u), None, None) => Some((Secret::new(u.clone()), "audit.central.url")),
        (None, Some(f), None) => match Secret::read_file(&rel(f)) {
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
        if let Err(e) = check_url(url.expose()) {
            // At the key's line, but without the line itself: it may hold a password.
            let mut p = r.src.problem(at, format!("audit.central: {e}"));
            p.snippet = None;
            r.problems.push(p);
            ok = false;
        }
    }
    if let Some(id) = &c.replica_id {
        if let Err(e) = check_replica_id(id) {
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

/// Check a connection URL at start-up (before any port is bound).
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    parse_url(url).map(|_| ())
}

/// A `postgres://…` connection URL as the client reads it; the message never quotes it.
pub(crate) fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    let cfg = tokio_postgres::Config::from_str(url).map_err(|_| {
        "the url is not a PostgreSQL connection string (postgres://user@host:5432/db)".to_string()
    })?;
    if cfg.get_hosts().is_empty() {
        return Err("the url names no host".into());
    }
    Ok(cfg)
}

/// A replica id: 1 to 128 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn check_replica_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a replica id (1 to 128 of A-Z a-z 0-9 . _ -)",
            id.chars().take(64).collect::<String>()
        ))
    }
}
