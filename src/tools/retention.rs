//! `crmgate retention plan|apply|report`: the deletion concept carried out and documented.
//!
//! `plan` and `apply` are clients of a running crmgate: they read the CRM through it as the
//! deletion run's app (its service key, purpose `deletion`), so every read and every
//! deletion is authorized and audited like any request, and a deletion crmgate does not
//! compute as due is refused by the policies. What is due is decided by the same rules
//! ([`crate::retention`]) and the same "today" as the proxy's.
//!
//! `apply` keeps a write-ahead checkpoint file (JSON lines): an action is marked `started`
//! (and synced) before its request is sent and `done` after; on a restart an action
//! started but not done is first re-checked by reading the record, so nothing is done twice.
//! Each request names its rule (`X-Crmgate-Retention-Rule`), which crmgate writes into the
//! audit record. `report` renders the concept and the figures of the last runs.
//!
//! This tool never writes to the CRM except through crmgate, and never decides on its own
//! that a record may be deleted: crmgate's policies have the last word.

mod apply;
pub(crate) mod plan;
pub(crate) mod report;

use std::path::{Path, PathBuf};

use crate::stages::pipeline::Policies;
use crate::tools::cli::ConfigArgs;

pub use apply::{apply, read_checkpoint, Applied, ApplyOptions, CheckpointLine};
use plan::rules_of;
pub use plan::{plan, render_csv, render_table, Connection, Entry, Plan};
pub use report::{figures_of, html, markdown, run_figures, today, RunFigures};

// ---------------------------------------------------------------------------------------
// the subcommand

/// Where crmgate is, for `plan` and `apply`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// crmgate's base URL.
    #[arg(long, default_value = "https://localhost:8443")]
    pub url: String,
    /// The deletion run's service key (the App of retention.toml `[run]`).
    #[arg(long, env = "CRMGATE_RETENTION_KEY", hide_env_values = true)]
    pub key: String,
    /// A CA file to trust for crmgate's certificate (the dev CA: `certs/ca.pem`).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Most requests per second (a CRM's private app may be allowed 100 per 10 s).
    #[arg(long, default_value_t = 9.0)]
    pub rate: f64,
    /// Most pages read per resource type.
    #[arg(long, default_value_t = 1000)]
    pub max_pages: usize,
}

impl ConnectionArgs {
    pub fn connection(&self) -> Connection {
        Connection {
            base: self.url.clone(),
            key: self.key.clone(),
            ca: self.ca.clone(),
            rate: self.rate,
            max_pages: self.max_pages,
        }
    }
}

/// `retention plan --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// A table for a person.
    Table,
    /// The plan as JSON.
    Json,
    /// One line per record due.
    Csv,
}

/// `retention report --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The document as Markdown.
    #[value(alias = "md")]
    Markdown,
    /// The document as an HTML page.
    Html,
}

#[derive(clap::Subcommand, Debug)]
pub enum RetentionCommand {
    /// What each rule finds due (and what a hold keeps), read through a running crmgate.
    /// Changes nothing.
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        conn: ConnectionArgs,
        /// The output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Carry the plan out through crmgate's write path, resumable from a checkpoint file.
    Apply {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        conn: ConnectionArgs,
        /// Write-ahead checkpoint (JSON lines); a restart resumes from it.
        #[arg(long, default_value = "retention-checkpoint.jsonl")]
        checkpoint: PathBuf,
        /// Testing only: stop after this many requests, before marking them done.
        #[arg(long, hide = true)]
        crash_after: Option<usize>,
    },
    /// The deletion concept as a document (Markdown or HTML) with the figures of the last
    /// runs (from checkpoint files).
    Report {
        #[command(flatten)]
        config: ConfigArgs,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Checkpoint files of runs (`apply --checkpoint`).
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn load(config: &Path) -> Result<(crate::config::Config, Policies), String> {
    let (config, _) = crate::tools::cli::load_config_for_tools(config)
        .map_err(|p| format!("the configuration has problems:\n{p}"))?;
    let policies = crate::startup::app::load_policies(&config)
        .map_err(|p| format!("the policies have problems (run `crmgate check`):\n{p}"))?;
    Ok((config, policies))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Run a `crmgate retention` subcommand.
pub fn run(cmd: RetentionCommand) -> Result<(), String> {
    match cmd {
        RetentionCommand::Plan {
            config,
            conn,
            format,
        } => {
            let (config, policies) = load(&config.path)?;
            let clock = config.policies.retention_clock;
            let p = runtime()?.block_on(plan(&policies, clock, &conn.connection()))?;
            let rules = rules_of(&policies)?;
            let text = match format {
                PlanFormat::Json => {
                    serde_json::to_string_pretty(&p).map_err(|e| e.to_string())? + "\n"
                }
                PlanFormat::Csv => render_csv(&p),
                PlanFormat::Table => render_table(rules, &p),
            };
            print!("{text}");
            Ok(())
        }
        RetentionCommand::Apply {
            config,
            conn,
            checkpoint,
            crash_after,
        } => {
            let (config, policies) = load(&config.path)?;
            let clock = config.policies.retention_clock;
            let opts = ApplyOptions {
                checkpoint,
                crash_after,
            };
            let a = runtime()?.block_on(apply(&policies, clock, &conn.connection(), &opts))?;
            println!(
                "retention apply: {} done, {} found done on re-reading, {} done before, {} held, {} failed",
                a.done,
                a.rechecked,
                a.skipped,
                a.held,
                a.failed.len()
            );
            for f in &a.failed {
                eprintln!("failed: {f}");
            }
            if a.failed.is_empty() {
                Ok(())
            } else {
                Err(format!("{} action(s) failed", a.failed.len()))
            }
        }
        RetentionCommand::Report {
            config,
            format,
            checkpoint,
            out,
        } => {
            let (_, policies) = load(&config.path)?;
            let rules = rules_of(&policies)?;
            let runs = figures_of(&checkpoint)?;
            let text = match format {
                ReportFormat::Markdown => markdown(rules, &runs),
                ReportFormat::Html => html(rules, &runs),
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
                }
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}
