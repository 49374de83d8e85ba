//! The deletion concept and deletion record (Löschkonzept, Löschprotokoll): the rules per
//! data kind with their legal bases, the holds with theirs, the audit log's own retention
//! (on the local log and in the central store), and from the checkpoint files of
//! `crmgate retention apply` a per-record deletion log (what, when, which rule and basis,
//! archived or erased, restorable until — the CRM vendor's restore window comes from its
//! profile) and the records a hold keeps, each with its hold.
//!
//! It must never show a record's data: a checkpoint holds record ids, rules and actions
//! only, and nothing else is read.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::retention::{Day, RetentionRules};
use crate::stages::pipeline::Policies;
use crate::tools::retention::report::{hold_rows, kind_rows};
use crate::tools::retention::{figures_of, read_checkpoint, RunFigures};

use super::permission::doc::head;
use super::render::{Block, Cell, Document};
use super::text::Lang;

/// One record the deletion runs acted on.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub at: String,
    pub run: String,
    pub rule: String,
    pub legal_basis: String,
    pub resource: String,
    pub id: String,
    /// `archive`, `gdpr_delete`, `anonymise`.
    pub action: String,
    /// An archived record can be restored in the CRM until this day (the vendor's window).
    pub restorable_until: Option<String>,
}

/// A record a hold keeps past its rule.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub seen: String,
    pub rule: String,
    pub resource: String,
    pub id: String,
    pub held_by: Vec<String>,
}

/// The audit log's own retention.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRetention {
    /// Days after which closed local segments are deleted; `None`: kept for ever.
    pub local_days: Option<u64>,
    /// Whether a central store is configured (the same rule deletes its old rows).
    pub central: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletionRecord {
    pub policy_revision: String,
    pub date: String,
    pub run_app: String,
    pub run_purpose: String,
    pub kinds: Vec<Vec<String>>,
    pub holds: Vec<Vec<String>>,
    pub audit_log: AuditRetention,
    pub vendor: String,
    pub vendor_restore_days: Option<u32>,
    /// The vendor has no delete for good: an erased record is restorable as long.
    pub vendor_erases_by_archive: bool,
    pub deleted: Vec<Deleted>,
    pub held: Vec<Held>,
    pub runs: Vec<RunFigures>,
    /// The rules themselves, for the document's words.
    #[serde(skip)]
    pub rules: Option<std::sync::Arc<RetentionRules>>,
}

/// The deletion record of the loaded rules and these checkpoint files.
pub fn compute(
    config: &Config,
    policies: &Policies,
    checkpoints: &[PathBuf],
    date: &str,
) -> Result<DeletionRecord, String> {
    let rules: &RetentionRules = policies
        .retention
        .as_deref()
        .ok_or("no deletion concept is configured (`[policies] retention`)")?;
    let restore = policies.vendor.archive_restorable_days();
    // A vendor without a delete for good erases to its recycle bin too.
    let erased_by_archive = policies.vendor.erases_by_archive();
    let basis = |rule: &str| {
        rules
            .kinds
            .iter()
            .find(|k| k.name == rule)
            .map(|k| k.legal_basis.clone())
            .unwrap_or_default()
    };
    let mut deleted = Vec::new();
    let mut held: Vec<Held> = Vec::new();
    let mut last_held_run = String::new();
    for file in checkpoints {
        for l in read_checkpoint(file)? {
            let Some(e) = l.entry else { continue };
            match l.event.as_str() {
                "done" => deleted.push(Deleted {
                    restorable_until: (e.action == "archive" || erased_by_archive)
                        .then(|| restore.and_then(|n| until(&l.at, n)))
                        .flatten(),
                    at: l.at,
                    run: l.run,
                    legal_basis: basis(&e.rule),
                    rule: e.rule,
                    resource: e.resource,
                    id: e.id,
                    action: e.action,
                }),
                "held" => {
                    // The list of the latest run that saw holds.
                    if l.run != last_held_run {
                        held.clear();
                        last_held_run = l.run.clone();
                    }
                    held.push(Held {
                        seen: l.at,
                        rule: e.rule,
                        resource: e.resource,
                        id: e.id,
                        held_by: e.held_by,
                    });
                }
                _ => {}
            }
        }
    }
    deleted.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(DeletionRecord {
        policy_revision: policies.engine.revision().to_string(),
        date: date.to_string(),
        run_app: rules.run.app.clone(),
        run_purpose: rules.run.purpose.clone(),
        kinds: kind_rows(rules),
        holds: hold_rows(rules),
        audit_log: AuditRetention {
            local_days: config.audit.retention.map(|d| d.as_secs() / 86_400),
            central: config.audit.central.is_some(),
        },
        vendor: config
            .documents
            .vendor_name
            .clone()
            .unwrap_or_else(|| policies.vendor.name().to_string()),
        vendor_restore_days: restore,
        vendor_erases_by_archive: erased_by_archive,
        deleted,
        held,
        runs: figures_of(checkpoints)?,
        rules: policies.retention.clone(),
    })
}

/// The day `n` days after the date of an RFC 3339 time.
fn until(at: &str, n: u32) -> Option<String> {
    let day = Day::parse(at.get(..10)?)?;
    Some(Day(day.0 + i64::from(n)).to_string())
}

fn words(lang: Lang) -> [&'static str; 24] {
    match lang {
        Lang::En => [
            "Deletion concept",
            "Retention rules per data kind (structured like DIN 66398). From the day a whole-record rule falls due, the record is hidden from every purpose but the deletion run's and accounting's statutory duties; the deletion run archives, erases or anonymises it through crmgate, each action audited with its rule. A hold stops a rule while it is in force.",
            "Carried out by",
            "Data kinds and rules",
            "Holds",
            "The audit log's own retention",
            "Deletion record",
            "Records kept by a hold",
            "Last runs",
            "rule",
            "data kind",
            "records",
            "scope",
            "start event",
            "period",
            "action",
            "legal basis",
            "hold",
            "what",
            "keeps",
            "When (UTC)",
            "record",
            "restorable until",
            "held by",
        ],
        Lang::De => [
            "Löschkonzept",
            "Aufbewahrungsregeln je Datenart (gegliedert nach DIN 66398). Ab dem Tag, an dem eine Regel für ganze Datensätze fällig wird, ist der Datensatz für jeden Zweck außer dem Löschlauf und den gesetzlichen Pflichten der Buchhaltung verborgen; der Löschlauf archiviert, löscht oder anonymisiert ihn über crmgate, jede Aktion mit ihrer Regel protokolliert. Eine Sperre (Aufbewahrungspflicht) hält eine Regel an, solange sie besteht.",
            "Ausgeführt von",
            "Datenarten und Regeln",
            "Sperren",
            "Aufbewahrung des Audit-Protokolls",
            "Löschprotokoll",
            "Durch eine Sperre aufbewahrte Datensätze",
            "Letzte Läufe",
            "Regel",
            "Datenart",
            "Datensätze",
            "Umfang",
            "Startereignis",
            "Frist",
            "Aktion",
            "Rechtsgrundlage",
            "Sperre",
            "Beschreibung",
            "bewahrt auf",
            "Zeitpunkt (UTC)",
            "Datensatz",
            "wiederherstellbar bis",
            "gesperrt durch",
        ],
    }
}

fn audit_text(lang: Lang, r: &DeletionRecord) -> String {
    let central = r.audit_log.central;
    match (lang, r.audit_log.local_days) {
        (Lang::En, Some(d)) => format!(
            "Closed segments of the audit log older than {d} days are deleted{}; each deletion is itself written to the log (the first sequence number kept). Legal basis: Art. 5(1)(e), Art. 5(2) GDPR (accountability for the period the records may be needed, no longer).",
            if central { ", and rows of that age in the central store" } else { "" }
        ),
        (Lang::De, Some(d)) => format!(
            "Abgeschlossene Segmente des Audit-Protokolls, die älter als {d} Tage sind, werden gelöscht{}; jede Löschung wird selbst protokolliert (erste aufbewahrte Folgenummer). Rechtsgrundlage: Art. 5 Abs. 1 lit. e, Art. 5 Abs. 2 DSGVO (Rechenschaft für die Zeit, in der die Einträge benötigt werden, nicht länger).",
            if central { ", ebenso Zeilen dieses Alters im zentralen Speicher" } else { "" }
        ),
        (Lang::En, None) => "No retention rule is configured for the audit log ([audit] retention_days): it is kept without limit. Set one.".into(),
        (Lang::De, None) => "Für das Audit-Protokoll ist keine Aufbewahrungsfrist eingestellt ([audit] retention_days): es wird unbegrenzt aufbewahrt. Bitte festlegen.".into(),
    }
}

fn restore_text(lang: Lang, r: &DeletionRecord) -> Option<String> {
    let n = r.vendor_restore_days?;
    if r.vendor_erases_by_archive {
        return Some(match lang {
            Lang::En => format!("{} has no delete for good through its API: an archived or erased (GDPR-deleted) record goes to its recycle bin, stays restorable there for {n} days and is then purged for good.", r.vendor),
            Lang::De => format!("{} bietet über seine API kein endgültiges Löschen: ein archivierter oder (nach DSGVO) gelöschter Datensatz kommt in den Papierkorb, bleibt dort {n} Tage wiederherstellbar und wird danach endgültig entfernt.", r.vendor),
        });
    }
    Some(match lang {
        Lang::En => format!("An archived record stays restorable at {} for {n} days after the archive; an erased (GDPR-deleted) record is removed for good.", r.vendor),
        Lang::De => format!("Ein archivierter Datensatz bleibt bei {} {n} Tage nach der Archivierung wiederherstellbar; ein endgültig (nach DSGVO) gelöschter Datensatz ist sofort entfernt.", r.vendor),
    })
}

/// The deletion concept and record as a document.
pub fn document(r: &DeletionRecord, config: &Config, lang: Lang) -> Document {
    let w = words(lang);
    let title = lang.t("deletion-record").to_string();
    let running = format!(
        "{title} · {} {} · {} {}",
        lang.t("policy-revision"),
        r.policy_revision,
        lang.t("date"),
        r.date
    );
    let mut d = Document::new(lang.code(), title.clone(), running);
    d.blocks
        .push(head(lang, config, &title, &r.policy_revision, &r.date));
    d.h2(w[0]);
    d.para(w[1]);
    d.blocks.push(Block::Pairs(vec![(
        w[2].into(),
        format!(
            "{} ({})",
            lang.department(config, &format!("app {}", r.run_app)),
            lang.purpose(config, &r.run_purpose)
        ),
    )]));
    if let Some(rules) = &r.rules {
        rule_tables(&mut d, rules, config, lang, &w);
    }
    d.h3(w[5]);
    d.para(audit_text(lang, r));
    log_sections(&mut d, r, config, lang, &w);
    d
}

/// The rules and the holds in words, each table narrow enough for A4: the rule's data kind
/// (its technical name as a note) with what it covers, then when and why.
fn rule_tables(
    d: &mut Document,
    rules: &RetentionRules,
    config: &Config,
    lang: Lang,
    w: &[&'static str; 24],
) {
    use crate::retention::Action;
    d.h3(w[3]);
    let kind = |k: &crate::retention::Kind| {
        Cell::noted(
            lang.text(config, &format!("{}.description", k.name), &k.description),
            k.name.clone(),
        )
    };
    let mut covers = Vec::new();
    let mut when = Vec::new();
    for k in &rules.kinds {
        let mut records = vec![lang.word(config, &k.resource)];
        records.extend(k.when.iter().map(|(p, v)| {
            let v: Vec<String> = v.iter().map(|x| lang.word(config, x)).collect();
            format!("{}: {}", lang.word(config, p), v.join(", "))
        }));
        let scope = if k.groups.is_empty() {
            lang.word(config, "whole record")
        } else {
            let g: Vec<String> = k.groups.iter().map(|g| lang.group(config, g)).collect();
            g.join(", ")
        };
        let action = match k.action {
            Action::Anonymise => format!("{}: {scope}", lang.word(config, "anonymise")),
            a => lang.word(config, a.name()),
        };
        covers.push(vec![kind(k), Cell::list(records), Cell::plain(scope)]);
        when.push(vec![
            kind(k),
            Cell::plain(format!(
                "{}, {}",
                lang.period(&k.period),
                lang.start(config, &k.start)
            )),
            Cell::plain(action),
            Cell::plain(lang.text(config, &format!("{}.legal_basis", k.name), &k.legal_basis)),
        ]);
    }
    d.table(vec![w[10].into(), w[11].into(), w[12].into()], covers);
    d.table(
        vec![
            w[10].into(),
            format!("{} ({})", w[14], w[13]),
            w[15].into(),
            w[16].into(),
        ],
        when,
    );
    hold_table(d, rules, config, lang, w);
}

/// The holds in words: what each keeps, and why.
fn hold_table(
    d: &mut Document,
    rules: &RetentionRules,
    config: &Config,
    lang: Lang,
    w: &[&'static str; 24],
) {
    use crate::retention::HoldRule;
    d.h3(w[4]);
    let rows = rules
        .holds
        .iter()
        .map(|h| {
            let keeps = match (&h.rule, lang) {
                (HoldRule::Flag { property }, Lang::En) => {
                    format!("the whole record, while {}", lang.word(config, property))
                }
                (HoldRule::Flag { property }, Lang::De) => format!(
                    "der ganze Datensatz, solange {}",
                    lang.word(config, property)
                ),
                (
                    HoldRule::Statutory {
                        groups,
                        start,
                        period,
                        ..
                    },
                    _,
                ) => {
                    let g: Vec<String> = groups.iter().map(|g| lang.group(config, g)).collect();
                    format!(
                        "{}: {}, {}",
                        g.join(", "),
                        lang.period(period),
                        lang.start(config, start)
                    )
                }
            };
            vec![
                Cell::noted(
                    lang.text(config, &format!("{}.description", h.name), &h.description),
                    h.name.clone(),
                ),
                Cell::plain(keeps),
                Cell::plain(lang.text(
                    config,
                    &format!("{}.legal_basis", h.name),
                    h.legal_basis.as_deref().unwrap_or_default(),
                )),
            ]
        })
        .collect();
    d.table(vec![w[17].into(), w[19].into(), w[16].into()], rows);
}

/// A deletion rule in words, its technical name as a note.
fn rule_cell(r: &DeletionRecord, config: &Config, lang: Lang, name: &str) -> Cell {
    let description = r
        .rules
        .as_deref()
        .and_then(|rs| rs.kinds.iter().find(|k| k.name == name))
        .map(|k| k.description.clone())
        .unwrap_or_else(|| name.replace('_', " "));
    Cell::noted(
        lang.text(config, &format!("{name}.description"), &description),
        name,
    )
}

/// A hold (`name` or `name until YYYY-MM-DD`) in words.
fn hold_words(r: &DeletionRecord, config: &Config, lang: Lang, h: &str) -> String {
    let (name, until) = h.split_once(" until ").unwrap_or((h, ""));
    let text = r
        .rules
        .as_deref()
        .and_then(|rs| rs.holds.iter().find(|x| x.name == name))
        .map(|x| lang.text(config, &format!("{name}.description"), &x.description))
        .unwrap_or_else(|| name.replace('_', " "));
    match (until, lang) {
        ("", _) => text,
        (u, Lang::En) => format!("{text} (until {u})"),
        (u, Lang::De) => format!("{text} (bis {u})"),
    }
}

/// The deletion log, the held records and the last runs.
fn log_sections(
    d: &mut Document,
    r: &DeletionRecord,
    config: &Config,
    lang: Lang,
    w: &[&'static str; 24],
) {
    let rule = |name: &str| rule_cell(r, config, lang, name);
    let hold = |h: &str| hold_words(r, config, lang, h);
    d.h2(w[6]);
    if let Some(t) = restore_text(lang, r) {
        d.para(t);
    }
    let rows = r
        .deleted
        .iter()
        .map(|x| {
            vec![
                Cell::plain(&x.at),
                Cell::plain(format!("{} {}", lang.word(config, &x.resource), x.id)),
                rule(&x.rule),
                Cell::plain(lang.text(config, &format!("{}.legal_basis", x.rule), &x.legal_basis)),
                Cell::plain(lang.word(config, &x.action)),
                Cell::plain(x.restorable_until.clone().unwrap_or_else(|| "–".into())),
            ]
        })
        .collect();
    d.table(
        vec![
            w[20].into(),
            w[21].into(),
            w[9].into(),
            w[16].into(),
            w[15].into(),
            w[22].into(),
        ],
        rows,
    );
    d.h2(w[7]);
    let rows = r
        .held
        .iter()
        .map(|h| {
            vec![
                Cell::plain(format!("{} {}", lang.word(config, &h.resource), h.id)),
                rule(&h.rule),
                Cell::list(h.held_by.iter().map(|x| hold(x)).collect()),
                Cell::plain(&h.seen),
            ]
        })
        .collect();
    d.table(
        vec![w[21].into(), w[9].into(), w[23].into(), w[20].into()],
        rows,
    );
    d.h2(w[8]);
    let rows = r
        .runs
        .iter()
        .rev()
        .take(10)
        .map(|x| {
            let done: Vec<String> = x
                .done
                .iter()
                .map(|(k, n)| format!("{}: {n}", lang.word(config, k)))
                .collect();
            vec![
                Cell::plain(&x.at),
                Cell::plain(&x.today),
                Cell::plain(done.join(", ")),
                Cell::plain(x.failed.to_string()),
            ]
        })
        .collect();
    d.table(
        vec![
            w[20].into(),
            lang.t("date").into(),
            w[15].into(),
            lang.t("failed").into(),
        ],
        rows,
    );
}
