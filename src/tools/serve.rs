//! `crmgate serve`: the proxy. Every configuration and policy problem is reported before a
//! port is bound; then the admin listener and the proxy run until a signal, and shutdown
//! finishes in-flight requests and writes the final signed checkpoint.
//!
//! It must never bind a port before the configuration and policies are loaded and checked.

use std::path::Path;

use crate::admin;
use crate::startup::app;

/// `crmgate serve`: load and check everything, then bind and serve until Ctrl-C or SIGTERM.
pub async fn serve(config: &Path) -> Result<(), String> {
    let config = app::load_config(config)?;
    let addr = config.listen.addr;
    if config.listen.tls.is_none() {
        tracing::warn!(
            "listening without TLS (plaintext = true): only behind a TLS-terminating proxy"
        );
    }
    let admin_addr = config.admin.addr;
    // Everything is loaded and checked before the port is bound.
    let prepared = app::prepare(config)?;
    let admin_listener = tokio::net::TcpListener::bind(admin_addr)
        .await
        .map_err(|e| format!("cannot listen on {admin_addr} (admin): {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let shutdown = shutdown_signal();
    let local = |l: &tokio::net::TcpListener| l.local_addr().map_err(|e| e.to_string());
    tracing::info!(addr = %local(&admin_listener)?, "admin listening");
    tracing::info!(addr = %local(&listener)?, revision = prepared.gateway.policies().engine.revision(), "crmgate listening");
    tokio::spawn(admin::serve(
        prepared.health.clone(),
        admin_listener,
        std::future::pending(),
    ));
    app::run(prepared, listener, shutdown)
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests, write the final checkpoint.
/// The SIGTERM handler is installed when this is called, not when first polled, so a
/// SIGTERM right after "crmgate listening" is not the default (killing) action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
