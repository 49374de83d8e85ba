//! `crmgate docs`: the documents a data protection officer files, generated from what
//! crmgate enforces for the loaded policy revision — the permission concept
//! (Berechtigungskonzept), the record of processing activities (Art. 30 GDPR), the answer
//! to an access request (Art. 15 GDPR) and the deletion concept with its deletion record
//! (Löschkonzept, Löschprotokoll) — in English or German, as HTML for print, Markdown,
//! JSON or CSV.
//!
//! It must never decide anything itself (every right is asked of the decision core the
//! proxy uses), never write to the CRM or the audit log, never read the CRM but through
//! crmgate (the Art. 15 copy, an audited request), and never print a secret.

pub mod copy;
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
    /// Access request answer: the person's record, `type/id` (`contact/1001`), or their
    /// e-mail address (looked up through crmgate; never written into the document).
    #[arg(long)]
    pub subject: Option<String>,
    /// Access request answer: the property an e-mail address is looked up by.
    #[arg(long, default_value = "email")]
    pub lookup_property: String,
    /// Access request answer: crmgate's base URL, through which the copy of the data is read.
    #[arg(long, default_value = "https://localhost:8443")]
    pub url: String,
    /// Access request answer: the data protection officer's key (a user with the DPO role,
    /// purpose `data_subject_access`), to read the copy of the data through crmgate.
    #[arg(long, env = "CRMGATE_DPO_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Access request answer: a CA file to trust for crmgate's certificate.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Access request answer without the copy of the data (a draft; the copy follows).
    #[arg(long)]
    pub no_copy: bool,
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
async fn central_hits(
    url: &str,
    filter: &crate::audit::query::Filter,
) -> Result<Vec<crate::audit::query::Hit>, String> {
    let client = crate::audit::central::db::connect(url).await?;
    crate::audit::central::db::query(&client, filter).await
}

/// Where the answer to an access request reads the audit log.
#[derive(Debug, Clone)]
pub enum AuditSource {
    /// An audit directory (one replica).
    Dir(PathBuf),
    /// The central store (every replica).
    Central(String),
}

/// What the answer to an access request is made of.
#[derive(Debug, Clone)]
pub struct SubjectRequest {
    /// `type/id`, or an e-mail address.
    pub subject: String,
    /// The property an e-mail address is looked up by.
    pub lookup_property: String,
    /// Where crmgate is and the DPO's key; none: the answer without the copy.
    pub copy_through: Option<crate::tools::retention::Connection>,
    pub audit: AuditSource,
    pub name_employees: bool,
    pub lang: Lang,
    pub date: String,
}

/// The answer to an access request: the copy of the data read through crmgate (as the
/// DPO, audited), then the audit log's accesses to the record.
pub async fn subject_access(
    config: &Config,
    policies: &Policies,
    req: &SubjectRequest,
) -> Result<subject::SubjectAccess, String> {
    let pc = permission::compute(config, policies, &req.date);
    subject_access_with(config, policies, &pc, req).await
}

/// [`subject_access`] with the permission concept of the loaded revision already computed
/// (the console keeps it).
pub async fn subject_access_with(
    config: &Config,
    policies: &Policies,
    pc: &PermissionConcept,
    req: &SubjectRequest,
) -> Result<subject::SubjectAccess, String> {
    let (t, key) = copy::Key::parse(&req.subject, &req.lookup_property)?;
    let res = copy::resource(policies, &t)
        .ok_or_else(|| format!("no record type `{t}` in the routes"))?;
    let copy = match &req.copy_through {
        Some(conn) => Some(copy::read(policies, conn, res, &key).await?),
        None => None,
    };
    let id = match (&key, &copy) {
        (copy::Key::Id(id), _) => Some(id.clone()),
        (copy::Key::Lookup { .. }, Some(c)) => c.record_id.clone(),
        (copy::Key::Lookup { .. }, None) => {
            return Err("an e-mail address is looked up through crmgate: give --key".into())
        }
    };
    let hits = match &id {
        None => Vec::new(),
        Some(id) => {
            let filter = crate::audit::query::Filter {
                record: Some((t.clone(), id.clone())),
                ..Default::default()
            };
            match &req.audit {
                AuditSource::Dir(dir) => crate::audit::query::query(dir, &filter)?.0,
                AuditSource::Central(url) => central_hits(url, &filter).await?,
            }
        }
    };
    Ok(subject::compute(
        config,
        policies,
        pc,
        &hits,
        (&t, id.as_deref().unwrap_or("–")),
        req.name_employees,
        req.lang,
        copy,
    ))
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
            let req = SubjectRequest {
                subject: args
                    .subject
                    .clone()
                    .ok_or("give --subject contact/<id> or the person's e-mail address")?,
                lookup_property: args.lookup_property.clone(),
                copy_through: match (&args.key, args.no_copy) {
                    (_, true) => None,
                    (Some(key), false) => Some(crate::tools::retention::Connection {
                        base: args.url.clone(),
                        key: key.clone(),
                        ca: args.ca.clone(),
                        rate: 0.0,
                        max_pages: 1,
                    }),
                    // fail closed: an answer to an access request carries the copy
                    (None, false) => {
                        return Err("the answer carries a copy of the data, read through \
                             crmgate with the data protection officer's key: give --key (or \
                             CRMGATE_DPO_KEY), or --no-copy for a draft without it"
                            .into())
                    }
                },
                audit: match (&args.audit_dir, &args.db) {
                    (Some(dir), _) => AuditSource::Dir(dir.clone()),
                    (None, Some(url)) => AuditSource::Central(url.clone()),
                    (None, None) => AuditSource::Dir(config.audit.dir.clone()),
                },
                name_employees: args.name_employees,
                lang: args.lang,
                date: date.clone(),
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let s = rt.block_on(subject_access(&config, &policies, &req))?;
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
