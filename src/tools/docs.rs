//! `crmgate docs`: the documents a data protection officer files, generated from what
//! crmgate enforces for the loaded policy revision — the permission concept
//! (Berechtigungskonzept), the record of processing activities (Art. 30 GDPR), the answer
//! to an access request (Art. 15 GDPR) and the deletion concept with its deletion record
//! (Löschkonzept, Löschprotokoll) — in English or German, as HTML for print, Markdown,
//! JSON or CSV.
//!
//! It must never decide anything itself (every right is asked of the decision core the
//! proxy uses), never write to the CRM or the audit log, and never print a secret.

pub mod deletion;
pub mod permission;
pub mod processing;
pub mod render;
pub mod subject;
pub mod text;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::stages::pipeline::Policies;

use permission::diff::{diff, Changes};
use permission::PermissionConcept;
use render::Document;
pub use text::Lang;

/// Which document.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// Berechtigungskonzept: who may read and write what, for which purpose.
    PermissionConcept,
    /// Verzeichnis von Verarbeitungstätigkeiten (Art. 30 GDPR).
    ProcessingRecord,
    /// Auskunft nach Art. 15 DSGVO for one person.
    SubjectAccess,
    /// Löschkonzept and Löschprotokoll.
    DeletionRecord,
}

/// The output format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    /// A self-contained HTML page with print styles (A4).
    Html,
    /// Markdown.
    #[value(alias = "markdown")]
    Md,
    /// The document's data, machine-readable.
    Json,
    /// The document's tables, one row per line.
    Csv,
}

/// `crmgate docs` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct DocsArgs {
    /// Which document.
    #[arg(value_enum)]
    pub kind: DocKind,
    #[command(flatten)]
    pub config: crate::tools::cli::ConfigArgs,
    /// The document's language.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    #[arg(long, value_enum, default_value_t = DocFormat::Html)]
    pub format: DocFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Permission concept: what changed since this earlier revision — a JSON file written
    /// by `--format json`, or a git revision of the configuration's directory.
    #[arg(long)]
    pub since: Option<String>,
    /// Deletion record: checkpoint files of `crmgate retention apply` runs.
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
    /// Access request answer: the person's record, `type/id` (`contact/1001`).
    #[arg(long)]
    pub subject: Option<String>,
    /// Access request answer: the audit directory (`audit.dir`).
    #[arg(long)]
    pub audit_dir: Option<PathBuf>,
    /// Access request answer: the central audit store instead (every replica).
    #[arg(long, env = "CRMGATE_AUDIT_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// Access request answer: name the employees who looked the record up (only where the
    /// person needs their names to exercise their rights).
    #[arg(long)]
    pub name_employees: bool,
    /// The document's date (`YYYY-MM-DD`; default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
}

/// Today's date, UTC.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .take(10)
        .collect()
}

fn load(config: &Path) -> Result<(Config, Policies), String> {
    let (config, _) = crate::tools::cli::load_config_for_tools(config)
        .map_err(|p| format!("the configuration has problems:\n{p}"))?;
    let policies = crate::startup::app::load_policies(&config)
        .map_err(|p| format!("the policies have problems (run `crmgate check`):\n{p}"))?;
    Ok((config, policies))
}

/// A document rendered in `format`, or its data as JSON.
pub fn render(
    doc: &Document,
    data: &impl serde::Serialize,
    format: DocFormat,
) -> Result<String, String> {
    Ok(match format {
        DocFormat::Html => render::html(doc),
        DocFormat::Md => render::markdown(doc),
        DocFormat::Csv => render::csv(doc),
        DocFormat::Json => serde_json::to_string_pretty(data).map_err(|e| e.to_string())? + "\n",
    })
}

/// The permission concept of an earlier revision: a JSON file, or the configuration's
/// directory as a git revision holds it.
pub fn earlier(since: &str, config_path: &Path, date: &str) -> Result<PermissionConcept, String> {
    if Path::new(since).is_file() {
        let text = std::fs::read_to_string(since).map_err(|e| format!("`{since}`: {e}"))?;
        return serde_json::from_str(&text).map_err(|e| format!("`{since}`: {e}"));
    }
    let dir = config_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "`{since}` is neither a file nor a git revision of `{}`: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?)
        .trim()
        .to_string();
    let top = String::from_utf8_lossy(&git(&["rev-parse", "--show-toplevel"])?)
        .trim()
        .to_string();
    let tar = git(&["-C", &top, "archive", "--format=tar", since])?;
    let tmp = std::env::temp_dir().join(format!("crmgate-since-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let result = (|| {
        let mut child = std::process::Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&tmp)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, &tar).map_err(|e| e.to_string())?;
        }
        child.wait().map_err(|e| e.to_string())?;
        let file = tmp
            .join(&prefix)
            .join(config_path.file_name().ok_or("no config file name")?);
        let (config, policies) = load(&file)?;
        Ok(permission::compute(&config, &policies, date))
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// The hits of the central store (every replica).
fn central_hits(
    url: &str,
    filter: &crate::audit::query::Filter,
) -> Result<Vec<crate::audit::query::Hit>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = crate::audit::central::db::connect(url).await?;
        crate::audit::central::db::query(&client, filter).await
    })
}

/// Run `crmgate docs`.
pub fn run(args: DocsArgs) -> Result<(), String> {
    let (config, policies) = load(&args.config.path)?;
    let date = args.date.clone().unwrap_or_else(today);
    let text = match args.kind {
        DocKind::PermissionConcept => {
            let pc = permission::compute(&config, &policies, &date);
            let changes: Option<Changes> = match &args.since {
                Some(s) => Some(diff(&earlier(s, &args.config.path, &date)?, &pc)),
                None => None,
            };
            let doc = permission::doc::document(&pc, changes.as_ref(), &config, args.lang);
            match (&changes, args.format) {
                (Some(ch), DocFormat::Json) => render(
                    &doc,
                    &serde_json::json!({"concept": pc, "changes": ch}),
                    args.format,
                )?,
                _ => render(&doc, &pc, args.format)?,
            }
        }
        DocKind::DeletionRecord => {
            let r = deletion::compute(&config, &policies, &args.checkpoint, &date)?;
            render(&deletion::document(&r, &config, args.lang), &r, args.format)?
        }
        DocKind::ProcessingRecord => {
            let pc = permission::compute(&config, &policies, &date);
            let r = processing::compute(&config, &policies, &pc, args.lang);
            render(&processing::document(&r, args.lang), &r, args.format)?
        }
        DocKind::SubjectAccess => {
            let subject = args
                .subject
                .as_deref()
                .ok_or("give --subject contact/<id>")?;
            let record = crate::audit::query::parse_record(subject)?;
            let filter = crate::audit::query::Filter {
                record: Some(record.clone()),
                ..Default::default()
            };
            let hits = match (&args.audit_dir, &args.db) {
                (Some(dir), _) => crate::audit::query::query(dir, &filter)?.0,
                (None, Some(url)) => central_hits(url, &filter)?,
                (None, None) => crate::audit::query::query(&config.audit.dir, &filter)?.0,
            };
            let pc = permission::compute(&config, &policies, &date);
            let s = subject::compute(
                &config,
                &policies,
                &pc,
                &hits,
                (&record.0, &record.1),
                args.name_employees,
                args.lang,
            );
            render(&subject::document(&s, &config, args.lang), &s, args.format)?
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
