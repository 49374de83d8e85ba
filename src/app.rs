//! Start-up: everything that can fail fails here, before the port is bound.
//!
//! Loads the configuration, the routes and the policies (validated against each other),
//! builds the upstream client, opens the audit log, and only then binds the listener.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::admin::Health;
use crate::audit::AuditLog;
use crate::authz::PolicyEngine;
use crate::config::Config;
use crate::pipeline::{Gateway, Policies};
use crate::routing::RouteTable;
use crate::upstream::Upstream;
use crate::{server, tls};

/// Load routes and policies of a configuration and check them against each other.
pub fn load_policies(config: &Config) -> Result<Policies, String> {
    let routes = RouteTable::load(&config.policies.routes).map_err(|e| e.to_string())?;
    let engine = PolicyEngine::load(&config.policies, &routes).map_err(|e| e.to_string())?;
    let mut missing: Vec<String> = config
        .api_keys
        .values()
        .filter(|u| engine.principal(u).is_none())
        .map(|u| {
            format!(
                "{}: api key user `{u}` is not in the entities",
                config.path.display()
            )
        })
        .collect();
    missing.sort();
    if !missing.is_empty() {
        return Err(missing.join("\n"));
    }
    Ok(Policies { routes, engine })
}

/// A gateway ready to serve, its TLS acceptor, its audit log and health state.
pub struct Prepared {
    pub gateway: Arc<Gateway>,
    pub tls: Option<TlsAcceptor>,
    /// Closed (final checkpoint) when [`run`] ends.
    pub audit: AuditLog,
    /// What `/healthz` and `/readyz` report ([`crate::admin::serve`]).
    pub health: Health,
}

/// Everything short of binding the port.
pub fn prepare(config: Config) -> Result<Prepared, String> {
    let policies = load_policies(&config)?;
    let tls = match &config.listen.tls {
        Some(files) => Some(TlsAcceptor::from(tls::server_config(files)?)),
        None => None,
    };
    let upstream = Upstream::new(&config.upstream)?;
    let health = Health::new();
    let audit = AuditLog::open(&config.audit, health.clone()).map_err(|e| e.to_string())?;
    let gateway = Arc::new(Gateway::new(config, policies, upstream, audit.clone()));
    Ok(Prepared {
        gateway,
        tls,
        audit,
        health,
    })
}

/// Serve until `shutdown`, then let in-flight requests finish and close the audit log
/// with a final signed checkpoint.
pub async fn run(
    prepared: Prepared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let result = server::serve(prepared.gateway, listener, prepared.tls, shutdown).await;
    prepared.audit.close().await;
    result
}

/// Load a config file (for `serve` and `check`).
pub fn load_config(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}
