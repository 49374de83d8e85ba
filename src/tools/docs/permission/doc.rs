//! The permission concept as a document, in one language: the document block, the changes
//! since an earlier revision, purposes with legal bases, roles, the CRM fields of each
//! group, one section per department (or app) × purpose × record type with its record
//! rights and a table of field groups (read, create, change) — narrow enough for A4 — the
//! handling of special-category data in free text, and the approval block.
//!
//! It must never compute a right: it words what [`super::compute`] found.

use super::diff::Changes;
use super::{PermissionConcept, Right};
use crate::config::Config;
use crate::tools::docs::render::{Block, Cell, Document, Tone};
use crate::tools::docs::text::Lang;

/// Where a right is worded: the words differ for records, reads, writes and free text.
#[derive(Clone, Copy)]
enum Ctx {
    Record,
    Read,
    Write,
    FreeText,
}

/// A condition in the document's language: the connectors, and the names of attributes
/// and values in words where the configuration (or the built-in words) has some.
fn condition(lang: Lang, config: &Config, when: &str) -> String {
    let when = match lang {
        Lang::En => when.replace(" in {", " one of {"),
        Lang::De => when
            .replace(" and ", " und ")
            .replace("not ", "nicht ")
            .replace(" in {", " eines von {")
            .replace("some records", "manche Datensätze"),
    };
    lang.worded(config, &when)
}

fn shown(lang: Lang, s: &str) -> String {
    match s {
        "clear" => lang.t("clear").into(),
        "records" => lang.t("records").into(),
        "allowed" => lang.t("allowed").into(),
        "stripped" => lang.t("stripped").into(),
        "refused" => lang.t("refused").into(),
        "redacted" => lang.t("redacted").into(),
        mask => mask_text(lang, mask),
    }
}

fn mask_text(lang: Lang, mask: &str) -> String {
    match lang.t(&format!("mask-{mask}")) {
        "?" => format!("{} ({mask})", lang.t("masked")),
        t => t.into(),
    }
}

/// A right in words, with its shade.
fn right(lang: Lang, config: &Config, r: &Right, ctx: Ctx) -> Cell {
    let (text, tone) = match (r, ctx) {
        (Right::Yes, Ctx::Record) => (lang.t("yes").to_string(), Tone::Yes),
        (Right::Yes, Ctx::Read) => (lang.t("clear").to_string(), Tone::Yes),
        (Right::Yes, Ctx::Write) => (lang.t("allowed").to_string(), Tone::Yes),
        (Right::Yes, Ctx::FreeText) => (lang.t("redacted").to_string(), Tone::Yes),
        (Right::No, Ctx::Write) => (lang.t("not-applicable").to_string(), Tone::No),
        (Right::No, Ctx::FreeText) => (lang.t("refused").to_string(), Tone::No),
        (Right::No, _) => (lang.t("never").to_string(), Tone::No),
        (Right::Masked { mask }, _) => (mask_text(lang, mask), Tone::Partly),
        (Right::Stripped, _) => (lang.t("stripped").to_string(), Tone::No),
        (Right::Refused, _) => (lang.t("refused").to_string(), Tone::No),
        (Right::Depends { when, shows }, _) => {
            let shows: Vec<String> = shows.iter().map(|s| shown(lang, s)).collect();
            (
                format!(
                    "{} {} {}",
                    shows.join(" / "),
                    lang.t("only-if"),
                    condition(lang, config, when)
                ),
                Tone::Depends,
            )
        }
    };
    Cell::toned(text, tone)
}

fn subject_label(lang: Lang, config: &Config, subject: &str, roles: &[String]) -> String {
    let name = lang.department(config, subject);
    if roles.is_empty() {
        name
    } else {
        let roles: Vec<String> = roles.iter().map(|r| lang.word(config, r)).collect();
        format!("{name} ({}: {})", lang.t("roles"), roles.join(", "))
    }
}

/// The document block: title, revision, date, controller.
pub fn head(lang: Lang, config: &Config, title: &str, revision: &str, date: &str) -> Block {
    let mut pairs = vec![
        (lang.t("policy-revision").to_string(), revision.to_string()),
        (lang.t("date").to_string(), date.to_string()),
    ];
    if let Some(c) = &config.documents.controller {
        pairs.insert(0, (controller_word(lang).into(), c.get(lang.code())));
    }
    let _ = title;
    Block::Pairs(pairs)
}

fn controller_word(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Controller",
        Lang::De => "Verantwortlicher",
    }
}

/// The permission concept as a document.
pub fn document(
    pc: &PermissionConcept,
    changes: Option<&Changes>,
    config: &Config,
    lang: Lang,
) -> Document {
    let title = lang.t("permission-concept").to_string();
    let running = format!(
        "{title} · {} {} · {} {}",
        lang.t("policy-revision"),
        pc.policy_revision,
        lang.t("date"),
        pc.date
    );
    let mut d = Document::new(lang.code(), title.clone(), running);
    d.blocks
        .push(head(lang, config, &title, &pc.policy_revision, &pc.date));
    d.para(lang.t("pc-intro"));
    d.para(lang.t("generated-by"));
    if let Some(ch) = changes {
        changes_section(&mut d, ch, config, lang);
    }
    purposes_section(&mut d, pc, config, lang);
    roles_section(&mut d, pc, config, lang);
    groups_section(&mut d, pc, config, lang);
    rights_section(&mut d, pc, config, lang);
    redaction_section(&mut d, pc, config, lang);
    conditions_section(&mut d, pc, config, lang);
    approval_section(&mut d, config, lang);
    d
}

fn purposes_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    d.h2(lang.t("purposes"));
    let rows = pc
        .purposes
        .iter()
        .map(|p| {
            let by: Vec<String> = p
                .declared_by
                .iter()
                .map(|s| lang.department(config, s))
                .collect();
            vec![
                Cell::plain(lang.purpose(config, &p.purpose)),
                Cell::plain(lang.text(
                    config,
                    &format!("{}.legal_basis", p.purpose),
                    &p.legal_basis,
                )),
                Cell::plain(by.join(", ")),
            ]
        })
        .collect();
    d.table(
        vec![
            lang.t("purpose").into(),
            lang.t("legal-basis").into(),
            lang.t("declared-by").into(),
        ],
        rows,
    );
}

fn roles_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    d.h2(lang.t("roles"));
    let rows = pc
        .roles
        .iter()
        .map(|(role, who)| {
            vec![
                Cell::plain(lang.word(config, role)),
                Cell::plain(who.join(", ")),
            ]
        })
        .collect();
    d.table(vec![lang.t("role").into(), lang.t("held-by").into()], rows);
}

fn groups_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    d.h2(lang.t("field-groups"));
    let rows = pc
        .groups
        .iter()
        .map(|g| {
            let special = config.documents.special_category_groups.contains(&g.group);
            let mut label = lang.group(config, &g.group);
            if special {
                label.push_str(special_mark(lang));
            }
            vec![
                Cell::plain(lang.word(config, &g.resource_type)),
                Cell::plain(label),
                Cell::plain(g.fields.join(", ")),
            ]
        })
        .collect();
    d.table(
        vec![
            lang.t("record-type").into(),
            lang.t("field-group").into(),
            lang.t("crm-fields").into(),
        ],
        rows,
    );
}

/// The mark of a group that holds (or may hold) special categories of data.
pub fn special_mark(lang: Lang) -> &'static str {
    match lang {
        Lang::En => " (may hold special categories, Art. 9 GDPR)",
        Lang::De => " (kann besondere Kategorien enthalten, Art. 9 DSGVO)",
    }
}

fn rights_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    d.blocks.push(Block::Break);
    d.h2(lang.t("access-rights"));
    for r in &pc.rows {
        d.h3(format!(
            "{} — {} — {}",
            subject_label(lang, config, &r.subject, &r.roles),
            lang.purpose(config, &r.purpose),
            lang.word(config, &r.resource_type)
        ));
        let mut pairs: Vec<(String, String)> = ["read", "create", "update", "delete", "merge"]
            .iter()
            .filter_map(|a| {
                let right = r.records.get(*a)?;
                let ctx = if *a == "read" { Ctx::Read } else { Ctx::Record };
                let text = match (right, *a) {
                    (Right::Yes, "read") => lang.t("all-records").to_string(),
                    (Right::No, "read") => lang.t("no-records").to_string(),
                    _ => right_text(lang, config, right, ctx),
                };
                Some((format!("{}: {}", lang.t("records"), lang.t(a)), text))
            })
            .collect();
        if !r.redaction.is_empty() {
            pairs.push((lang.t("redaction").into(), redaction_line(lang, r)));
        }
        d.blocks.push(Block::Pairs(pairs));
        let none_readable = r.records.get("read") == Some(&Right::No);
        let none_writable = ["create", "update"]
            .iter()
            .all(|a| r.records.get(*a) == Some(&Right::No));
        if none_readable && none_writable {
            continue;
        }
        let rows = r
            .groups
            .iter()
            .map(|g| {
                vec![
                    Cell::plain(lang.group(config, &g.group)),
                    right(lang, config, &g.read, Ctx::Read),
                    right(lang, config, &g.create, Ctx::Write),
                    right(lang, config, &g.update, Ctx::Write),
                ]
            })
            .collect();
        d.table(
            vec![
                lang.t("field-group").into(),
                lang.t("read").into(),
                lang.t("create").into(),
                lang.t("update").into(),
            ],
            rows,
        );
    }
}

fn right_text(lang: Lang, config: &Config, r: &Right, ctx: Ctx) -> String {
    right(lang, config, r, ctx).text
}

fn redaction_line(lang: Lang, r: &super::AccessRow) -> String {
    let pick = |want: fn(&Right) -> bool| -> Vec<String> {
        r.redaction
            .iter()
            .filter(|(_, x)| want(x))
            .map(|(c, _)| c.replace('_', " "))
            .collect()
    };
    let yes = pick(|x| *x == Right::Yes);
    let no = pick(|x| *x == Right::No);
    let depends = pick(|x| matches!(x, Right::Depends { .. }));
    let mut parts = Vec::new();
    if !yes.is_empty() {
        parts.push(format!("{}: {}", lang.t("redacted"), yes.join(", ")));
    }
    if !no.is_empty() {
        parts.push(format!("{}: {}", lang.t("refused"), no.join(", ")));
    }
    if !depends.is_empty() {
        parts.push(format!(
            "{} {}",
            depends.join(", "),
            lang.t("only-if").to_owned() + " …"
        ));
    }
    parts.join("; ")
}

fn redaction_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    let categories: std::collections::BTreeSet<&String> =
        pc.rows.iter().flat_map(|r| r.redaction.keys()).collect();
    if categories.is_empty() {
        return;
    }
    d.h2(lang.t("redaction"));
    d.para(lang.t("redaction-intro"));
    let who = |r: &super::AccessRow| {
        format!(
            "{} ({}, {})",
            lang.department(config, &r.subject),
            lang.purpose(config, &r.purpose),
            lang.word(config, &r.resource_type)
        )
    };
    let rows = categories
        .into_iter()
        .map(|c| {
            let list = |want: fn(&Right) -> bool| -> Cell {
                Cell::list(
                    pc.rows
                        .iter()
                        .filter(|r| r.redaction.get(c).is_some_and(want))
                        .map(who)
                        .collect(),
                )
            };
            let key = format!("redaction.{c}");
            let label = match lang.word(config, &key) {
                w if w == key.replace('_', " ") => c.replace('_', " "),
                w => w,
            };
            vec![
                Cell::plain(label),
                list(|x| *x == Right::Yes),
                list(|x| *x == Right::No),
            ]
        })
        .collect();
    d.table(
        vec![
            lang.t("category").into(),
            lang.t("redacted-by").into(),
            lang.t("refused-for").into(),
        ],
        rows,
    );
}

fn conditions_section(d: &mut Document, pc: &PermissionConcept, config: &Config, lang: Lang) {
    d.h2(lang.t("conditions"));
    d.para(lang.t("conditions-intro"));
    let items = pc
        .domains
        .iter()
        .flat_map(|(ty, attrs)| {
            attrs.iter().map(move |(a, v)| {
                let v: Vec<String> = v.iter().map(|x| lang.word(config, x)).collect();
                format!(
                    "{}: {}: {}",
                    lang.word(config, ty),
                    lang.word(config, a),
                    v.join(", ")
                )
            })
        })
        .collect();
    d.blocks.push(Block::List(items));
}

fn approval_section(d: &mut Document, config: &Config, lang: Lang) {
    d.h2(lang.t("approval"));
    d.para(lang.t("approval-intro"));
    let roles: Vec<String> = if config.documents.approvers.is_empty() {
        ["prepared", "reviewed", "approved"]
            .iter()
            .map(|k| lang.t(k).to_string())
            .collect()
    } else {
        config.documents.approvers.clone()
    };
    let rows = roles
        .into_iter()
        .map(|r| {
            vec![
                Cell::plain(r),
                Cell::plain(""),
                Cell::plain(""),
                Cell::plain(""),
            ]
        })
        .collect();
    d.table(
        vec![
            lang.t("role").into(),
            lang.t("name").into(),
            lang.t("date").into(),
            lang.t("signature").into(),
        ],
        rows,
    );
}

fn changes_section(d: &mut Document, ch: &Changes, config: &Config, lang: Lang) {
    d.h2(lang.t("changes"));
    d.para(format!(
        "{} {} ({}).",
        lang.t("changes-intro"),
        ch.since_revision,
        ch.since_date
    ));
    if ch.rights.is_empty() && ch.purposes.is_empty() {
        d.para(lang.t("no-changes"));
        return;
    }
    let word = |r: &Option<Right>, ctx: Ctx| match r {
        Some(r) => right(lang, config, r, ctx),
        None => Cell::plain(lang.t("absent")),
    };
    let mut rows: Vec<Vec<Cell>> = ch
        .rights
        .iter()
        .map(|c| {
            let (what, ctx) = match (c.aspect.as_str(), c.action.as_str()) {
                ("records", a) => (
                    format!("{}: {}", lang.t("records"), lang.t(a)),
                    if a == "read" { Ctx::Read } else { Ctx::Record },
                ),
                ("free_text", cat) => (
                    format!("{}: {}", lang.t("redaction"), cat.replace('_', " ")),
                    Ctx::FreeText,
                ),
                (g, a) => (
                    format!("{}: {}", lang.group(config, g), lang.t(a)),
                    if a == "read" { Ctx::Read } else { Ctx::Write },
                ),
            };
            vec![
                Cell::plain(format!(
                    "{} — {} — {}",
                    lang.department(config, &c.subject),
                    lang.purpose(config, &c.purpose),
                    lang.word(config, &c.resource_type)
                )),
                Cell::plain(what),
                word(&c.before, ctx),
                word(&c.now, ctx),
            ]
        })
        .collect();
    rows.extend(ch.purposes.iter().map(|p| {
        vec![
            Cell::plain(lang.purpose(config, &p.purpose)),
            Cell::plain(p.field.replace('_', " ")),
            Cell::plain(&p.before),
            Cell::plain(&p.now),
        ]
    }));
    d.table(
        vec![
            lang.t("who").into(),
            lang.t("what").into(),
            lang.t("before").into(),
            lang.t("now").into(),
        ],
        rows,
    );
}
