//! Start-up: everything that can fail fails here, before the port is bound.
//!
//! Loads the configuration, the routes and the policies (validated against each other),
//! builds the upstream client, opens the audit log, and only then binds the listener.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

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
    // A service key names an App, a user key a User: the kind decides which purposes apply.
    for (id, p) in config
        .api_keys
        .values()
        .filter_map(|u| Some((u, engine.principal(u)?)))
    {
        let is_app = p.uid.type_name().to_string() == "App";
        if is_app != config.app_keys.contains(id) {
            missing.push(format!(
                "{}: api key of `{id}` names {}; write `{} = \"{id}\"`",
                config.path.display(),
                if is_app { "an App" } else { "a User" },
                if is_app { "app" } else { "user" },
            ));
        }
    }
    for id in config.apps.keys() {
        if engine
            .principal(id)
            .is_none_or(|p| p.uid.type_name().to_string() != "App")
        {
            missing.push(format!(
                "{}: apps.{id}: there is no App `{id}` in the entities",
                config.path.display()
            ));
        }
    }
    missing.sort();
    if !missing.is_empty() {
        return Err(missing.join("\n"));
    }
    Ok(Policies { routes, engine })
}

/// A gateway ready to serve, and its TLS acceptor.
pub struct Prepared {
    pub gateway: Arc<Gateway>,
    pub tls: Option<TlsAcceptor>,
}

/// Everything short of binding the port.
pub fn prepare(config: Config) -> Result<Prepared, String> {
    let policies = load_policies(&config)?;
    let tls = match &config.listen.tls {
        Some(files) => Some(TlsAcceptor::from(tls::server_config(
            files,
            config.mtls.as_ref(),
        )?)),
        None => None,
    };
    let upstream = Upstream::new(&config.upstream)?;
    let audit =
        AuditLog::open(&config.audit.path, config.audit.fsync).map_err(|e| e.to_string())?;
    let gateway = Arc::new(Gateway::new(config, policies, upstream, audit));
    Ok(Prepared { gateway, tls })
}

/// Bind and serve until `shutdown`.
pub async fn run(
    prepared: Prepared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    server::serve(prepared.gateway, listener, prepared.tls, shutdown).await
}

/// Load a config file (for `serve` and `check`).
pub fn load_config(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}
