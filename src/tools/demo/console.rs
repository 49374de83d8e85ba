//! The demo's console: the development identity provider on loopback and `crmgate
//! console` beside the demo's proxy, reading through it as the data protection officer
//! (`demo-key-mira`, purpose `data_subject_access`) and planning the deletion run with the
//! run's key (`demo-key-retention`). What it prints: the console's URL and how the data
//! protection officer signs in.
//!
//! It must never run outside the demo: its identity provider signs in whoever clicks a
//! name. A console that cannot start does not stop the demo (it says why).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::tools::cli::ConfigArgs;
use crate::tools::console::{self, idp, ConsoleArgs};

/// The console's address when none is given: the usual port, or any free one when the
/// proxy's port is chosen by the system too (tests run demos side by side).
pub fn default_listen(proxy_listen: SocketAddr) -> SocketAddr {
    let port = if proxy_listen.port() == 0 { 0 } else { 8444 };
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The demo's console, serving until [`Running::stop`].
pub struct Running {
    /// What the demo prints about it.
    pub lines: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Stop it: its audit log closes with a final checkpoint.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Start the identity provider and the console for the demo's proxy at `proxy`.
pub async fn start(
    config: &Config,
    config_path: &Path,
    listen: SocketAddr,
    proxy: SocketAddr,
    ca: &Path,
) -> Running {
    match try_start(config, config_path, listen, proxy, ca).await {
        Ok((started, issuer)) => {
            let lines = format!(
                "  DPO console (TLS):                      {}\n    \
                 sign in as `{dpo}` (the data protection officer): open the URL, `Sign in`, and \
                 choose `{dpo}` at the demo's identity provider ({issuer}, no password, \
                 development only); `frost` is the security officer.\n",
                started.url,
                dpo = idp::DPO,
            );
            let (tx, rx) = oneshot::channel::<()>();
            let task = tokio::spawn(console::serve(started, async {
                let _ = rx.await;
            }));
            Running {
                lines,
                stop: Some(tx),
                task: Some(task),
            }
        }
        Err(e) => Running {
            lines: format!("  DPO console: not started ({e})\n"),
            stop: None,
            task: None,
        },
    }
}

async fn try_start(
    config: &Config,
    config_path: &Path,
    listen: SocketAddr,
    proxy: SocketAddr,
    ca: &Path,
) -> Result<(console::Started, String), String> {
    let certs = config
        .listen
        .tls
        .as_ref()
        .and_then(|t| t.cert.parent())
        .ok_or("the configuration has no TLS certificate")?;
    let idp_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("identity provider: {e}"))?;
    let issuer = idp::serve(idp_listener, certs).await?;
    let args = ConsoleArgs {
        config: ConfigArgs {
            path: config_path.to_path_buf(),
        },
        listen,
        issuer: issuer.clone(),
        client_id: "crmgate-console".into(),
        idp_ca: None,
        session_ttl: Duration::from_secs(15 * 60),
        audit_dir: None,
        url: Some(format!("https://localhost:{}", proxy.port())),
        ca: Some(ca.to_path_buf()),
        dpo_key: Some("demo-key-mira".into()),
        retention_key: Some("demo-key-retention".into()),
        checkpoint: Vec::new(),
        public_url: None,
    };
    let started = console::start_with(config.clone(), args).await?;
    Ok((started, issuer))
}
