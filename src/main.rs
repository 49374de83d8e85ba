//! The `crmgate` binary: parse the command line, set up logging, run one subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crmgate::{app, certs, demo, democrm};

/// Filtering allocates many small, short-lived values per response; with glibc malloc about
/// a quarter of a filtered list request went to the allocator (perf, bench/). See the README's
/// benchmark section for the measured effect.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "crmgate",
    version,
    about = "Attribute-based access control proxy for CRM APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy.
    Serve {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
    },
    /// Validate configuration, routes, schema, policies and entities; exit 0 when all is well.
    Check {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
    },
    /// Santa's company: the demo CRM, crmgate in front of it, and a tour.
    Demo {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
        /// Where crmgate listens (default: the config's listen.addr).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run only the embedded demo CRM (a HubSpot-shaped upstream for manual tests).
    DemoCrm {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Require this bearer token (as the vendor credential crmgate injects).
        #[arg(long, env = "CRMGATE_UPSTREAM_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Development certificates.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Write a dev CA, a localhost server certificate and one client certificate per demo
    /// persona (development only).
    Dev {
        #[arg(long, default_value = "certs")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve { config } => runtime().and_then(|rt| rt.block_on(serve(config))),
        Command::Check { config } => check(config),
        Command::Demo { config, listen } => {
            runtime().and_then(|rt| rt.block_on(demo::run(demo::DemoOptions { config, listen })))
        }
        Command::DemoCrm { listen, token } => {
            runtime().and_then(|rt| rt.block_on(demo_crm(listen, token)))
        }
        Command::Certs {
            command: CertsCommand::Dev { out },
        } => certs::write_dev_pki(&out).map(|files| {
            for f in files {
                println!("wrote {f}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

async fn serve(config: PathBuf) -> Result<(), String> {
    let config = app::load_config(&config)?;
    let addr = config.listen.addr;
    if config.listen.tls.is_none() {
        tracing::warn!(
            "listening without TLS (plaintext = true): only behind a TLS-terminating proxy"
        );
    }
    // Everything is loaded and checked before the port is bound.
    let prepared = app::prepare(config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(addr = %addr, revision = prepared.gateway.policies().engine.revision(), "crmgate listening");
    app::run(prepared, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

fn check(config: PathBuf) -> Result<(), String> {
    // Secrets come from the deployment's environment; `check` validates the files, so an
    // unset variable is reported but does not stop the check.
    let unset = std::cell::RefCell::new(Vec::new());
    let config = crmgate::config::Config::load_with_env(&config, |name| {
        std::env::var(name).ok().or_else(|| {
            unset.borrow_mut().push(name.to_string());
            Some("placeholder-for-check-only".to_string())
        })
    })
    .map_err(|e| e.to_string())?;
    for name in unset.borrow().iter() {
        println!("note: environment variable `{name}` is not set; `serve` needs it");
    }
    let policies = app::load_policies(&config)?;
    println!(
        "ok: {} routes, policy revision {}",
        policies.routes.routes().len(),
        policies.engine.revision()
    );
    Ok(())
}

async fn demo_crm(listen: SocketAddr, token: Option<String>) -> Result<(), String> {
    let mut crm = democrm::DemoCrm::seeded();
    if let Some(t) = token {
        crm = crm.with_required_token(t);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!(
        "demo CRM listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    democrm::serve(Arc::new(crm), listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}
