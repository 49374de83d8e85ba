//! `crmgate audit`: verify the hash chain and checkpoints, query who accessed what (and the
//! GDPR Art. 15 subject report), make a checkpoint signing key, migrate the central store.
//! Verify and query work on a log directory or on the central store (`--db`, every
//! replica). It reads the log; it must never write to it, nor print the `--db` password.

use std::path::PathBuf;

use clap::Subcommand;

use crate::audit::central::db;
use crate::audit::{query, signing, verify};

pub mod report;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and checkpoint signatures; exit 0 only when all is intact.
    Verify {
        /// The audit directory (`audit.dir`).
        #[arg(required_unless_present = "db")]
        dir: Option<PathBuf>,
        /// The central store instead (`postgres://…`): every replica's chain. A directory
        /// given as well wins (so that `CRMGATE_AUDIT_DB` in the environment does not).
        #[arg(long, env = "CRMGATE_AUDIT_DB", hide_env_values = true)]
        db: Option<String>,
        /// The checkpoint public key (`<signing_key_file>.pub`); without it the key named
        /// in the log is used, which proves consistency but not authorship.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Who accessed what: filter request records; a table, JSON lines or a subject report.
    Query {
        /// The audit directory (`audit.dir`).
        #[arg(required_unless_present = "db")]
        dir: Option<PathBuf>,
        /// The central store instead (`postgres://…`): the records of every replica. A
        /// directory given as well wins.
        #[arg(long, env = "CRMGATE_AUDIT_DB", hide_env_values = true)]
        db: Option<String>,
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
    /// Apply the central store's schema migrations (crmgate also does at start-up).
    Migrate {
        /// The central store (`postgres://…`).
        #[arg(long, env = "CRMGATE_AUDIT_DB", hide_env_values = true)]
        db: String,
    },
}

/// Run `f` against the central store on a runtime of its own (the tools are synchronous).
fn with_db<T>(
    url: &str,
    f: impl AsyncFnOnce(&mut tokio_postgres::Client) -> Result<T, String>,
) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut client = db::connect(url).await?;
        f(&mut client).await
    })
}

/// Run one `crmgate audit` subcommand.
pub fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Verify {
            dir: None,
            db: Some(url),
            public_key,
        } => verify_db(&url, public_key),
        AuditCommand::Verify {
            dir, public_key, ..
        } => {
            let dir = dir.ok_or("give an audit directory or --db")?;
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
            db: url,
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
            let output = match (json, subject_report, html) {
                (true, _, _) => Output::Json,
                (false, true, true) => Output::SubjectReportHtml,
                (false, true, false) => Output::SubjectReport,
                (false, false, _) => Output::Table,
            };
            query_and_print(dir, url, &filter, output)
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
        AuditCommand::Migrate { db: url } => {
            let applied = with_db(&url, async |c| db::migrate(c).await)?;
            if applied.is_empty() {
                println!("{} is up to date", db::describe(&url));
            } else {
                println!("{}: applied migrations {applied:?}", db::describe(&url));
            }
            Ok(())
        }
    }
}

/// `audit verify --db`: every replica's chain in the central store.
fn verify_db(url: &str, public_key: Option<PathBuf>) -> Result<(), String> {
    let key = public_key
        .map(|p| signing::read_public_key(&p))
        .transpose()?;
    let reports = with_db(url, async |c| db::verify(c, key.as_deref()).await)?;
    if reports.is_empty() {
        return Err(format!("{} holds no audit entries", db::describe(url)));
    }
    if let Some(note) = reports.first().and_then(|r| r.report.notes.first()) {
        println!("note: {note}");
    }
    for r in &reports {
        for n in r.report.notes.iter().skip(usize::from(key.is_none())) {
            println!("note: replica `{}`: {n}", r.replica);
        }
        println!("{r}");
    }
    let bad = reports.iter().filter(|r| !r.report.intact()).count();
    if bad == 0 {
        println!(
            "intact: {} replicas in {}",
            reports.len(),
            db::describe(url)
        );
        Ok(())
    } else {
        Err(format!(
            "{bad} of {} replicas in {} are not intact",
            reports.len(),
            db::describe(url)
        ))
    }
}

/// How `audit query` prints what it found.
enum Output {
    Json,
    SubjectReport,
    SubjectReportHtml,
    Table,
}

/// `audit query`: the matching records of a log directory (which wins) or of the central
/// store, printed as `output` says.
fn query_and_print(
    dir: Option<PathBuf>,
    url: Option<String>,
    filter: &query::Filter,
    output: Output,
) -> Result<(), String> {
    let (hits, source) = match (&dir, &url) {
        (None, Some(url)) => (
            with_db(url, async |c| db::query(c, filter).await)?,
            format!(
                "the central audit store {} (all replicas)",
                db::describe(url)
            ),
        ),
        (Some(dir), _) => (
            query::query(dir, filter)?.0,
            format!("the audit log `{}`", dir.display()),
        ),
        (None, None) => return Err("give an audit directory or --db".into()),
    };
    match output {
        Output::Json => {
            for h in &hits {
                println!("{}", h.line);
            }
        }
        Output::SubjectReportHtml => print!(
            "{}",
            report::render_subject_report_html(&hits, filter, &source)
        ),
        Output::SubjectReport => {
            print!("{}", report::render_subject_report(&hits, filter, &source))
        }
        Output::Table => print!("{}", report::render_table(&hits, filter)),
    }
    Ok(())
}
