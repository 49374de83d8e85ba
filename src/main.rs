//! The `crmgate` binary: parse the command line, set up logging, run one subcommand.
//!
//! It must never hold logic of its own: each subcommand is a function of `crmgate::tools`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crmgate::tools::audit::{self, AuditCommand};
use crmgate::tools::cli::{ConfigArgs, ExplainFormat, MatrixFormat};
use crmgate::tools::retention::{self, RetentionCommand};
use crmgate::tools::{certs, cli, console, demo, docs, explain, serve};

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
    /// The data protection officer's web console (TLS, OIDC sign-in).
    Console(console::ConsoleArgs),
    /// Run the proxy.
    Serve {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Validate configuration, routes, schema, policies and entities, reporting every
    /// problem with file and line. Exit 0 ok, 1 error, 3 invalid.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
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
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Explain, per record and field group, what a persona sees for a purpose and why.
    Explain {
        #[command(flatten)]
        config: ConfigArgs,
        /// User or app id (`penny`).
        #[arg(long)]
        user: String,
        /// Purpose (default: the department's default purpose).
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request path, as a client would send it to the CRM's API.
        #[arg(long)]
        path: String,
        /// A sample upstream response body (JSON file) to decide on; for a write route,
        /// `{"request": <the body sent>, "stored": [<the records it names>]}`.
        #[arg(long)]
        sample: Option<PathBuf>,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Santa's company: the demo CRM, crmgate in front of it, and a tour.
    Demo {
        #[command(flatten)]
        config: ConfigArgs,
        /// Where crmgate listens (default: the config's listen.addr).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Where the admin listener (`/healthz`, `/readyz`, `/metrics`) listens (default:
        /// the config's admin.addr).
        #[arg(long)]
        admin: Option<SocketAddr>,
        /// The CRM vendor whose demo CRM and API to run (default: the default vendor);
        /// without --config, its configuration is `policies/<vendor>/crmgate.toml`.
        #[arg(long)]
        vendor: Option<String>,
        /// Where the data protection officer's console listens (default: 127.0.0.1:8444,
        /// or a free port when --listen's port is 0).
        #[arg(long)]
        console: Option<SocketAddr>,
    },
    /// The access matrix: department × purpose × resource type × field group.
    Matrix {
        #[command(flatten)]
        config: ConfigArgs,
        /// The output format.
        #[arg(long, value_enum, default_value_t = MatrixFormat::Markdown)]
        format: MatrixFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The documents a data protection officer files: permission concept, record of
    /// processing activities (Art. 30), access request answer (Art. 15), deletion record.
    Docs(docs::DocsArgs),
    /// Run only the demo CRM (the vendor-shaped upstream of the demo, for manual tests).
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
    /// The deletion concept: what is due (`plan`), carry it out (`apply`), the document
    /// (`report`).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
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
    // Colour is for a person at a terminal: logs that go to a file, a pipe or a container
    // runtime carry no escape codes, and NO_COLOR (any non-empty value) turns it off.
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve { config } => {
            runtime().and_then(|rt| rt.block_on(serve::serve(&config.path)))
        }
        Command::Check { config, sample } => return cli::check(&config.path, &sample),
        Command::Test { dir, config } => return cli::test(&config.path, &dir),
        Command::Matrix {
            config,
            format,
            out,
        } => return cli::matrix(&config.path, format, out),
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
            return cli::explain(
                &config.path,
                question,
                sample,
                format == ExplainFormat::Json,
            );
        }
        Command::Demo {
            config,
            listen,
            admin,
            vendor,
            console,
        } => cli::demo_config(config.path, vendor.as_deref()).and_then(|path| {
            runtime().and_then(|rt| {
                rt.block_on(demo::vendor::dispatch(demo::DemoOptions {
                    config: path,
                    listen,
                    admin,
                    vendor,
                    console,
                }))
            })
        }),
        Command::DemoCrm { listen, token } => {
            runtime().and_then(|rt| rt.block_on(demo::demo_crm(listen, token)))
        }
        Command::Audit { command } => audit::run(command),
        Command::Docs(args) => docs::run(args),
        Command::Console(args) => runtime().and_then(|rt| rt.block_on(console::run(args))),
        Command::Retention { command } => retention::run(command),
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
