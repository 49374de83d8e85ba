//! The `crmgate` binary: parse the command line, set up logging, run one subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crmgate::stages::audit::{query, signing, verify};
use crmgate::startup::app;
use crmgate::tools::{certs, cli, demo, explain};
use crmgate::{admin, democrm};

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
    /// Validate configuration, routes, schema, policies and entities, reporting every
    /// problem with file and line. Exit 0 ok, 1 error, 3 invalid.
    Check {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
        /// `route=FILE`: a sample upstream body; lists its properties no group classifies.
        #[arg(long)]
        sample: Vec<String>,
    },
    /// Run policy test files (Cedar run-tests shape, with field-group outcomes).
    /// Exit 0 all pass, 1 error, 2 failures, 3 invalid policies.
    Test {
        /// Directory of `*.json` test files.
        #[arg(default_value = "policies/tests")]
        dir: PathBuf,
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
    },
    /// Explain, per record and field group, what a persona sees for a purpose and why.
    Explain {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
        /// User or app id (`penny`).
        #[arg(long)]
        user: String,
        /// Purpose (default: the department's default purpose).
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request path, e.g. `/crm/v3/objects/contacts/1001`.
        #[arg(long)]
        path: String,
        /// A sample upstream response body (JSON file) to decide on.
        #[arg(long)]
        sample: Option<PathBuf>,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Santa's company: the demo CRM, crmgate in front of it, and a tour.
    Demo {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
        /// Where crmgate listens (default: the config's listen.addr).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// The access matrix: department × purpose × resource type × field group.
    Matrix {
        #[arg(long, default_value = "policies/crmgate.toml")]
        config: PathBuf,
        /// `markdown`, `html` or `json`.
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run only the embedded demo CRM (a HubSpot-shaped upstream for manual tests).
    DemoCrm {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Require this bearer token (as the vendor credential crmgate injects).
        #[arg(long, env = "CRMGATE_UPSTREAM_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// The audit log: verify it, query it, make its checkpoint signing key.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Development certificates.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and checkpoint signatures; exit 0 only when all is intact.
    Verify {
        /// The audit directory (`audit.dir`).
        dir: PathBuf,
        /// The checkpoint public key (`<signing_key_file>.pub`); without it the key named
        /// in the log is used, which proves consistency but not authorship.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Who accessed what: filter request records; a table, JSON lines or a subject report.
    Query {
        /// The audit directory (`audit.dir`).
        dir: PathBuf,
        /// A data subject's record, `type/id` (`contact/1042`).
        #[arg(long)]
        record: Option<String>,
        /// The user who made the request.
        #[arg(long)]
        user: Option<String>,
        /// The user's department.
        #[arg(long)]
        department: Option<String>,
        /// The purpose the request served.
        #[arg(long)]
        purpose: Option<String>,
        /// `allow`, `deny` or `error`.
        #[arg(long)]
        decision: Option<String>,
        /// From this time on (UTC: `2026-11-29` or `2026-11-29T10:00:00Z`).
        #[arg(long)]
        since: Option<String>,
        /// Up to this time (a date alone means its first moment).
        #[arg(long)]
        until: Option<String>,
        /// The matching records as written, one JSON line each.
        #[arg(long, conflicts_with = "subject_report")]
        json: bool,
        /// The GDPR Art. 15 report (Markdown) for the `--record` data subject.
        #[arg(long, requires = "record")]
        subject_report: bool,
        /// The subject report as an HTML page instead of Markdown.
        #[arg(long, requires = "subject_report")]
        html: bool,
    },
    /// Create a checkpoint signing key (Ed25519) and `<out>.pub` next to it.
    Keygen {
        #[arg(long)]
        out: PathBuf,
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
    /// Print a bearer token for a demo persona, signed by the dev identity provider
    /// (`certs/idp.key`; development only).
    Token {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        #[arg(long, default_value_t = 60)]
        minutes: u64,
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
        Command::Check { config, sample } => return cli::check(&config, &sample),
        Command::Test { dir, config } => return cli::test(&config, &dir),
        Command::Matrix {
            config,
            format,
            out,
        } => return cli::matrix(&config, &format, out),
        Command::Explain {
            config,
            user,
            purpose,
            method,
            path,
            sample,
            format,
        } => {
            let question = explain::Question {
                user,
                purpose,
                method,
                path,
                sample: None,
            };
            return cli::explain(&config, question, sample, format == "json");
        }
        Command::Demo { config, listen } => {
            runtime().and_then(|rt| rt.block_on(demo::run(demo::DemoOptions { config, listen })))
        }
        Command::DemoCrm { listen, token } => {
            runtime().and_then(|rt| rt.block_on(demo_crm(listen, token)))
        }
        Command::Audit { command } => audit(command),
        Command::Certs {
            command: CertsCommand::Dev { out },
        } => certs::write_dev_pki(&out)
            .and_then(|mut files| {
                files.extend(certs::write_dev_idp(&out)?);
                Ok(files)
            })
            .map(|files| {
                for f in files {
                    println!("wrote {f}");
                }
            }),
        Command::Certs {
            command: CertsCommand::Token { user, dir, minutes },
        } => certs::dev_token(&dir, &user, minutes).map(|t| println!("{t}")),
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
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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

fn audit(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Verify { dir, public_key } => {
            let key = public_key
                .map(|p| signing::read_public_key(&p))
                .transpose()?;
            let report = verify::verify_dir(&dir, key.as_deref())?;
            println!("{report}");
            if report.intact() {
                Ok(())
            } else {
                Err(format!("audit log `{}` is not intact", dir.display()))
            }
        }
        AuditCommand::Query {
            dir,
            record,
            user,
            department,
            purpose,
            decision,
            since,
            until,
            json,
            subject_report,
            html,
        } => {
            let filter = query::Filter {
                record: record.as_deref().map(query::parse_record).transpose()?,
                user,
                department,
                purpose,
                decision,
                since: since.as_deref().map(query::parse_time).transpose()?,
                until: until.as_deref().map(query::parse_time).transpose()?,
            };
            let (hits, _) = query::query(&dir, &filter)?;
            if json {
                for h in &hits {
                    println!("{}", h.line);
                }
            } else if subject_report && html {
                print!(
                    "{}",
                    query::render_subject_report_html(&hits, &filter, &dir)
                );
            } else if subject_report {
                print!("{}", query::render_subject_report(&hits, &filter, &dir));
            } else {
                print!("{}", query::render_table(&hits, &filter));
            }
            Ok(())
        }
        AuditCommand::Keygen { out } => {
            let key = signing::SigningKey::generate(&out)?;
            println!(
                "wrote {} (private: keep it with crmgate only) and {} (public: give it to \
                 whoever verifies the log)\npublic key: {}",
                out.display(),
                signing::public_key_path(&out).display(),
                key.public_hex()
            );
            Ok(())
        }
    }
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
