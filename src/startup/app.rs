//! Start-up: everything that can fail fails here, before the port is bound.
//!
//! Loads the configuration, the routes and the policies (validated against each other),
//! builds the upstream client, opens the audit log, and only then binds the listener.
//!
//! It must never bind a port before every problem of the configuration and policies is known, nor install a policy set that failed a check.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::admin::Health;
use crate::audit::central::CentralSink;
use crate::audit::{AuditLog, AuditSink};
use crate::config::{Config, PolicyFiles};
use crate::diagnostic::{Problem, Problems};
use crate::policy::PolicyEngine;
use crate::redact::Redactor;
use crate::retention::RetentionRules;
use crate::routes::{RouteTable, WriteOp};
use crate::stages::listen as server;
use crate::stages::pipeline::{Gateway, Policies};
use crate::stages::upstream::Upstream;
use crate::startup::tls;

/// Load routes and policies of a configuration and check them against each other and
/// against the configuration. Every problem of every file is returned together, each with
/// file and line: a routes file with problems does not hide those of the policies.
pub fn load_policies(config: &Config) -> Result<Policies, Problems> {
    let (routes, mut problems) = match RouteTable::load(&config.policies.routes) {
        Ok(routes) => (Some(routes), Vec::new()),
        Err(Problems(p)) => (None, p),
    };
    let vendor_name = config
        .upstream
        .vendor
        .as_deref()
        .unwrap_or(crate::profiles::DEFAULT_VENDOR);
    let api_version = config.upstream.api_version.as_deref();
    let vendor = crate::profiles::select(vendor_name, api_version);
    // The deletion concept is checked against the routes' classification; its evaluators
    // are attached before anything reads a record of this revision. A vendor without a
    // delete for good erases with its delete.
    let erase = if vendor.as_deref().is_some_and(|v| v.erases_by_archive()) {
        WriteOp::Archive
    } else {
        WriteOp::Erase
    };
    let retention = match (&config.policies.retention, &routes) {
        (Some(path), Some(routes)) => match RetentionRules::load_erasing_by(path, routes, erase) {
            Ok(rules) => {
                let rules = Arc::new(rules);
                crate::retention::Evaluator::attach(
                    &rules,
                    routes,
                    config.policies.retention_clock,
                );
                Some(rules)
            }
            Err(Problems(p)) => {
                problems.extend(p);
                None
            }
        },
        _ => None,
    };
    let engine = match PolicyEngine::load_checked(&config.policies, routes.as_ref()) {
        Ok(engine) => Some(engine),
        Err(Problems(p)) => {
            problems.extend(p);
            None
        }
    };
    if let Some(p) = api_version.and_then(|v| crate::profiles::api_version_problem(vendor_name, v))
    {
        problems.push(config.problem("upstream.api_version", p));
    }
    if vendor.is_none() {
        problems.push(config.problem(
            "upstream.vendor",
            format!(
                "upstream.vendor: unknown vendor `{}` (crmgate speaks {})",
                vendor_name,
                crate::profiles::VENDORS
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if let Some(engine) = &engine {
        problems.extend(check_config_against_entities(config, engine));
    }
    if let (Some(rules), Some(engine)) = (&retention, &engine) {
        problems.extend(check_retention_run(config, rules, engine));
    }
    let redactor = match &config.policies.redaction {
        None => None,
        Some(dir) => match Redactor::load(dir) {
            Ok(r) => Some(Arc::new(r)),
            Err(p) => {
                problems.extend(p);
                None
            }
        },
    };
    if let (Some(routes), Some(engine)) = (&routes, &engine) {
        problems.extend(check_redaction(config, routes, engine, redactor.as_deref()));
    }
    match (routes, engine, vendor) {
        (Some(routes), Some(engine), Some(vendor)) if problems.is_empty() => {
            let unlisted_key_owners = unlisted_key_owners(config, &engine);
            Ok(Policies {
                routes,
                engine,
                unlisted_key_owners,
                redactor,
                retention,
                vendor,
            })
        }
        _ => Err(Problems(problems)),
    }
}

/// The deletion run is an App of the directory with a purpose of the registry it may
/// declare: else it could not read a due record or carry a rule out.
fn check_retention_run(
    config: &Config,
    rules: &RetentionRules,
    engine: &PolicyEngine,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let run = &rules.run;
    let is_app = engine
        .principal(&run.app)
        .is_some_and(|p| p.uid.type_name().to_string() == "App");
    if !is_app {
        problems.push(rules.problem(
            "run.app",
            format!("run.app: `{}` is not an App of the entities file", run.app),
        ));
    }
    if !config.purposes.contains_key(&run.purpose) {
        problems.push(rules.problem(
            "run.purpose",
            format!(
                "run.purpose: unknown purpose `{}` (crmgate.toml has no `[purposes.{}]`)",
                run.purpose, run.purpose
            ),
        ));
    } else if !config
        .apps
        .get(&run.app)
        .is_some_and(|a| a.purposes.contains(&run.purpose))
    {
        problems.push(rules.problem(
            "run.purpose",
            format!(
                "run.purpose: app `{}` may not declare `{}` (crmgate.toml `[apps.{}]`)",
                run.app, run.purpose, run.app
            ),
        ));
    }
    problems
}

/// Free text written through crmgate needs redaction rules, and every category the rules
/// name needs its `redact.<category>` action in the schema (else no policy could allow
/// redacting it, and every such write would be refused).
fn check_redaction(
    config: &Config,
    routes: &RouteTable,
    engine: &PolicyEngine,
    redactor: Option<&Redactor>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let free_text_written = routes
        .routes()
        .iter()
        .any(|r| r.write().is_some() && !r.resource.free_text.is_empty());
    match redactor {
        None if free_text_written && config.policies.redaction.is_none() => {
            problems.push(config.problem(
                "policies",
                "policies: write routes carry free-text properties, but no `redaction` rules are configured (free text is never forwarded unscanned)",
            ));
        }
        Some(r) => {
            for c in r.categories() {
                let action = format!("redact.{c}");
                if !engine.has_action(&action) {
                    problems.push(config.problem(
                        "policies.redaction",
                        format!(
                            "the redaction rules name category `{c}`, but the schema declares no action `{action}`"
                        ),
                    ));
                }
            }
        }
        None => {}
    }
    problems
}

/// The directory says who works here. A key whose owner it no longer lists is revoked
/// (identify finds no principal: 401), not a reason to reject the set: rejecting it
/// would keep the old set, where the owner is still active, in force. Start-up and
/// reload treat the same files alike; `check` and the logs warn, /readyz notes it.
fn unlisted_key_owners(config: &Config, engine: &PolicyEngine) -> Vec<String> {
    let mut owners: Vec<String> = config
        .api_keys
        .values()
        .filter(|u| engine.principal(u).is_none())
        .cloned()
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// The config names users and apps of the entities file: each that exists must have the
/// kind the config says. Each problem points at the config key that names the entity.
fn check_config_against_entities(config: &Config, engine: &PolicyEngine) -> Vec<Problem> {
    let mut problems = Vec::new();
    for owner in &config.key_owners {
        let id = &owner.id;
        let Some(p) = engine.principal(id) else {
            continue;
        };
        // A service key names an App, a user key a User: the kind decides which purposes apply.
        let is_app = p.uid.type_name().to_string() == "App";
        if is_app != owner.app {
            problems.push(config.problem(
                &owner.at,
                format!(
                    "api key of `{id}` names {}; write `{} = \"{id}\"`",
                    if is_app { "an App" } else { "a User" },
                    if is_app { "app" } else { "user" },
                ),
            ));
        }
    }
    for id in config.apps.keys() {
        // An App gone from the directory is revoked like a user (see above); one that
        // names a User is a mistake in the config.
        if engine
            .principal(id)
            .is_some_and(|p| p.uid.type_name().to_string() != "App")
        {
            problems.push(config.problem(
                &format!("apps.{id}"),
                format!("apps.{id}: there is no App `{id}` in the entities"),
            ));
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// API keys whose owner the directory does not list are refused: say so loudly whenever a
/// set becomes active (log, a note on `/healthz` and `/readyz`, a gauge), and clear it when
/// none are left.
pub fn report_unlisted_keys(policies: &Policies, health: &Health) {
    let owners = &policies.unlisted_key_owners;
    for owner in owners {
        tracing::warn!(owner = %owner, "api key names no principal in the entities: the key is refused (401)");
    }
    health
        .metrics
        .api_keys_without_principal
        .store(owners.len() as u64, std::sync::atomic::Ordering::Relaxed);
    health.note(
        "api_keys",
        (!owners.is_empty()).then(|| {
            format!(
                "api keys refused, their owners are not in the entities: {}",
                owners
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
    );
}

/// Load the policy files again and hand the result to the gateway, which swaps it in only
/// if it passed every start-up check and does not lose most of the active set's policies
/// unconfirmed ([`check_shrink`]). Before the swap the new revision is warmed for the
/// callers of the active one ([`Gateway::warm`]). Blocking (Cedar parsing, validation,
/// warming): the watcher calls it on a blocking thread.
pub fn reload(gateway: &Gateway) -> Result<String, String> {
    reload_settled(gateway, None)
        .unwrap_or_else(|| Err("the policy files changed while they were read".into()))
}

/// [`reload`], but only if the policy files still carry `expected` stamps once they have been
/// read: `None` (nothing installed, nothing reported) when they changed meanwhile — the set
/// read may mix old and new text.
fn reload_settled(gateway: &Gateway, expected: Option<&Stamps>) -> Option<Result<String, String>> {
    let files = &gateway.config.policies;
    let loaded = load_policies(&gateway.config).map_err(|e| {
        let mut message = e.to_string();
        // A problem of the configuration file is one of the file as loaded at start: if it
        // was changed since, that change is not what was checked.
        if e.0.iter().any(|p| p.file == gateway.config.path) && config_file_changed(gateway) {
            message.push_str(
                " (the configuration file is checked as it was loaded at start; it has changed since: restart crmgate to apply it)",
            );
        }
        message
    });
    if expected.is_some_and(|e| *e != stamps(files)) {
        return None;
    }
    let loaded = loaded.and_then(|new| check_shrink(files, &gateway.policies(), new));
    if let Ok(p) = &loaded {
        report_unlisted_keys(p, gateway.health());
        gateway.warm(p);
    }
    Some(gateway.install(loaded))
}

/// A new set with no policy where the active one has some, or with fewer than half of the
/// active set's policies, is most likely a file caught mid-write or emptied by mistake, and
/// would deny (or, with its `forbid`s gone, allow) far more than intended. It is refused
/// unless the operator confirmed exactly this set: its revision written into
/// `[policies] confirm_file`.
fn check_shrink(files: &PolicyFiles, active: &Policies, new: Policies) -> Result<Policies, String> {
    let before = active.engine.policy_ids().count();
    let after = new.engine.policy_ids().count();
    if !((after == 0 && before > 0) || after.saturating_mul(2) < before) {
        return Ok(new);
    }
    let revision = new.engine.revision().to_string();
    let confirmed = std::fs::read_to_string(&files.confirm_file)
        .is_ok_and(|text| text.split_whitespace().any(|word| word == revision));
    if confirmed {
        tracing::warn!(
            revision = %revision,
            policies = after,
            active_policies = before,
            confirm_file = %files.confirm_file.display(),
            "taking a policy set that loses most policies: confirmed"
        );
        return Ok(new);
    }
    Err(format!(
        "the new set has {after} policies where the active one has {before}: a set that \
         loses all or more than half of its policies is taken only when confirmed; to take \
         it, write its revision `{revision}` into `{}`",
        files.confirm_file.display()
    ))
}

/// What the watcher compares: per watched file, whether it exists, its modification time,
/// length and (unix) inode. A file being written changes its length or time.
type Stamps = Vec<(PathBuf, Option<(Option<SystemTime>, u64, u64)>)>;

/// The stamps of every file a revision is made of, and of the confirm file.
fn stamps(files: &PolicyFiles) -> Stamps {
    let mut watched = files.all_files();
    watched.push(files.confirm_file.clone());
    watched
        .into_iter()
        .map(|f| {
            let stamp = std::fs::metadata(&f).ok().map(|m| {
                #[cfg(unix)]
                let inode = std::os::unix::fs::MetadataExt::ino(&m);
                #[cfg(not(unix))]
                let inode = 0;
                (m.modified().ok(), m.len(), inode)
            });
            (f, stamp)
        })
        .collect()
}

/// A gateway ready to serve, its TLS acceptor, its audit log and health state.
pub struct Prepared {
    pub gateway: Arc<Gateway>,
    pub tls: Option<TlsAcceptor>,
    /// Closed (final checkpoint) when [`run`] ends.
    pub audit: Arc<dyn AuditSink>,
    /// What `/healthz` and `/readyz` report ([`crate::admin::serve`]).
    pub health: Health,
}

/// With a central store, the replicas count the account's budget there together (each
/// falls back to its configured share while the store cannot answer).
fn share_budget(config: &Config, upstream: &Upstream) {
    let (Some(budget), Some(cfg), Some(central)) = (
        upstream.budget(),
        config.upstream.budget.as_ref(),
        config.audit.central.as_ref(),
    ) else {
        return;
    };
    let account = cfg.account.clone().unwrap_or_else(|| {
        config
            .upstream
            .base
            .authority()
            .map_or_else(String::new, |a| a.to_string())
    });
    budget.share_through(crate::startup::budget_store::PgBudget::new(
        central.url.clone(),
        account,
        cfg,
    ));
}

/// Everything short of binding the port.
pub fn prepare(config: Config) -> Result<Prepared, String> {
    let policies = load_policies(&config).map_err(|e| e.render_after_prefix())?;
    crate::stages::pipeline::warn_shadow_routes(&policies);
    let tls = match &config.listen.tls {
        Some(files) => Some(TlsAcceptor::from(tls::server_config(
            files,
            config.mtls.as_ref(),
        )?)),
        None => None,
    };
    let vendor = policies.vendor.clone();
    let health = Health::new();
    let upstream = Upstream::new(&config.upstream, vendor.as_ref(), health.metrics.clone())?;
    share_budget(&config, &upstream);
    let local = AuditLog::open(&config.audit, health.clone()).map_err(|e| e.to_string())?;
    // With a central store, the local log stays the durability point and a shipper
    // copies it to PostgreSQL; without one, the local log alone.
    let audit: Arc<dyn AuditSink> = match &config.audit.central {
        None => Arc::new(local),
        Some(central) => Arc::new(CentralSink::start(
            local,
            &config.audit,
            central,
            health.clone(),
        )?),
    };
    report_unlisted_keys(&policies, &health);
    let gateway = Arc::new(Gateway::new(
        config,
        policies,
        upstream,
        vendor,
        audit.clone(),
        health.clone(),
    ));
    Ok(Prepared {
        gateway,
        tls,
        audit,
        health,
    })
}

/// Serve until `shutdown`, then let in-flight requests finish (also those whose clients
/// went away), write the last connection events and close the audit log with a final
/// signed checkpoint.
pub async fn run(
    prepared: Prepared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let watcher = tokio::spawn(watch_policies(prepared.gateway.clone()));
    let config_watcher = tokio::spawn(watch_config_file(prepared.gateway.clone()));
    let events = Arc::new(server::ConnectionEventsReport::new(
        prepared.health.metrics.clone(),
        prepared.audit.clone(),
    ));
    let reporter = tokio::spawn(server::report_connection_events(
        events.clone(),
        prepared.gateway.config.audit.connection_events_interval,
    ));
    let gateway = prepared.gateway.clone();
    let result = server::serve(prepared.gateway, listener, prepared.tls, shutdown).await;
    watcher.abort();
    config_watcher.abort();
    // Requests whose clients went away still run detached: their records come first.
    gateway.drain().await;
    reporter.abort();
    events.flush();
    // The final checkpoint: every record of this run is covered by a signature.
    prepared.audit.close().await;
    result
}

/// Hot reload: poll the policy files (every `watch_interval`), and reload on SIGHUP.
/// Polling needs no platform watcher and sees ConfigMap symlink swaps. A change is loaded
/// only once the files have stayed unchanged for `reload_settle` (a file still being
/// written never becomes a revision) and still are after they were read. Loading, checking
/// and warming run on a blocking thread: the async workers keep serving meanwhile.
async fn watch_policies(gateway: Arc<Gateway>) {
    let interval = gateway.config.policies.watch_interval;
    let settle = gateway.config.policies.reload_settle;
    let mut seen = stamps(&gateway.config.policies);
    // When the files were last seen to change, while a reload is pending.
    let mut changed: Option<Instant> = None;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let tick = async {
            match interval {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        let settled = tokio::select! {
            () = signalled => {
                // The operator's explicit request: no settle interval, but the files must
                // not change while they are read.
                tracing::info!("SIGHUP: reloading policies");
                seen = stamps(&gateway.config.policies);
                Some(seen.clone())
            }
            () = tick => {
                let now = stamps(&gateway.config.policies);
                if now != seen {
                    seen = now;
                    changed = Some(Instant::now());
                    None
                } else if changed.is_some_and(|at| at.elapsed() >= settle) {
                    Some(seen.clone())
                } else {
                    None
                }
            }
        };
        let Some(expected) = settled else {
            continue;
        };
        let g = gateway.clone();
        let outcome =
            tokio::task::spawn_blocking(move || reload_settled(&g, Some(&expected))).await;
        match outcome {
            Ok(Some(_)) => changed = None,
            Ok(None) => {
                // Changed while it was read: wait for the files to settle again.
                tracing::info!(
                    "policy files changed while they were read; waiting for them to settle"
                );
                seen = stamps(&gateway.config.policies);
                changed = Some(Instant::now());
            }
            Err(e) => {
                tracing::error!(error = %e, "policy reload task failed; the active set stays");
                changed = None;
            }
        }
    }
}

/// Whether the configuration file on disk differs from the one crmgate runs with.
fn config_file_changed(gateway: &Gateway) -> bool {
    std::fs::read_to_string(&gateway.config.path)
        .map_or(true, |now| *now != *gateway.config.source.text)
}

/// The configuration file is read once, at start: the listener, the audit log, keys and
/// registries are built from it, and a change to it is not hot-reloaded (policy files are).
/// Watching it only tells the operator so, once per settled change of its content: that a
/// restart is needed, or the new file's problems (a restart with it would fail). The note
/// on `/healthz` and `/readyz` stays until the file is back to what is running.
async fn watch_config_file(gateway: Arc<Gateway>) {
    let interval = gateway
        .config
        .policies
        .watch_interval
        .unwrap_or(std::time::Duration::from_secs(5));
    let mut last_seen = Some(gateway.config.source.text.to_string());
    // A change is reported once the file reads the same on two looks in a row: a file
    // caught in the middle of being written is not reported as the operator's change.
    let mut pending: Option<Option<String>> = None;
    loop {
        tokio::time::sleep(interval).await;
        let now = std::fs::read_to_string(&gateway.config.path).ok();
        if now == last_seen {
            pending = None;
            continue;
        }
        if pending.as_ref() != Some(&now) {
            pending = Some(now);
            continue;
        }
        pending = None;
        // Parsing and checking reads files: off the request threads.
        let g = gateway.clone();
        let seen = now.clone();
        let _ =
            tokio::task::spawn_blocking(move || report_config_change(&g, seen.as_deref())).await;
        last_seen = now;
    }
}

/// Log, once, what a change of the configuration file means (see [`watch_config_file`]).
fn report_config_change(gateway: &Gateway, now: Option<&str>) {
    let config = &gateway.config;
    let file = config.path.display().to_string();
    let health = gateway.health();
    match now {
        Some(text) if *text == *config.source.text => {
            tracing::info!(file = %file, "the configuration file is back to the running configuration");
            health.note("config", None);
        }
        None => {
            tracing::warn!(file = %file, "the configuration file cannot be read: the running configuration stays in force, and a restart would fail");
            health.note(
                "config",
                Some("the configuration file cannot be read; the running configuration stays in force".into()),
            );
        }
        Some(_) => {
            match Config::load(&config.path) {
                Ok(_) => tracing::warn!(
                    file = %file,
                    "the configuration file changed: configuration changes take effect only after a restart (policy files keep reloading)"
                ),
                Err(problems) => tracing::error!(
                    file = %file,
                    problems = %problems,
                    "the configuration file changed and has problems: the running configuration stays in force, and a restart with this file would fail"
                ),
            }
            health.note(
                "config",
                Some(
                    "the configuration file changed since start: restart crmgate to apply it"
                        .into(),
                ),
            );
        }
    }
}

/// Load a config file (for `serve`): every problem, each with file, line and source line.
pub fn load_config(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.render_after_prefix())
}
