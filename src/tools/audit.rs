//! `crmgate audit`: verify the hash chain and checkpoints, query who accessed what (and the
//! GDPR Art. 15 subject report), make a checkpoint signing key. It reads the log; it must
//! never write to it.

use std::path::PathBuf;

use clap::Subcommand;

use crate::stages::audit::{query, signing, verify};

#[derive(Subcommand)]
pub enum AuditCommand {
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

/// Run one `crmgate audit` subcommand.
pub fn run(command: AuditCommand) -> Result<(), String> {
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
