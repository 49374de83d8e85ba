//! The deletion concept as a document (Markdown or HTML) with the figures of the last runs,
//! read from checkpoint files. Renders only names, rules and counts, never record data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::retention::{Action, Clock, Day, HoldRule, RetentionRules};

use super::apply::{read_checkpoint, CheckpointLine};

/// Figures of one run, from a checkpoint file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    pub run: String,
    pub at: String,
    pub today: String,
    /// rule → actions done
    pub done: BTreeMap<String, usize>,
    pub failed: usize,
}

pub fn run_figures(lines: &[CheckpointLine]) -> Vec<RunFigures> {
    let mut runs: Vec<RunFigures> = Vec::new();
    for l in lines {
        if l.event == "run" {
            runs.push(RunFigures {
                run: l.run.clone(),
                at: l.at.clone(),
                today: l.today.clone().unwrap_or_default(),
                ..RunFigures::default()
            });
            continue;
        }
        let Some(r) = runs.iter_mut().rev().find(|r| r.run == l.run) else {
            continue;
        };
        match (l.event.as_str(), &l.entry) {
            ("done", Some(e)) => *r.done.entry(e.rule.clone()).or_default() += 1,
            ("failed", _) => r.failed += 1,
            _ => {}
        }
    }
    runs
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The deletion concept as a document: (heading, table header, rows) per section.
fn sections(
    rules: &RetentionRules,
    runs: &[RunFigures],
) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let kinds = kind_rows(rules);
    let holds = hold_rows(rules);
    let figures = run_rows(runs);
    vec![
        (
            "Data kinds and rules".into(),
            [
                "rule",
                "data kind",
                "records",
                "scope",
                "start event",
                "period",
                "action",
                "legal basis",
            ]
            .map(String::from)
            .to_vec(),
            kinds,
        ),
        (
            "Holds".into(),
            ["hold", "what", "resource", "keeps", "legal basis"]
                .map(String::from)
                .to_vec(),
            holds,
        ),
        (
            "Last runs".into(),
            ["at", "today", "run", "actions done", "failed"]
                .map(String::from)
                .to_vec(),
            figures,
        ),
    ]
}

/// One row per data kind: its rule, records, scope, start, period, action and basis.
pub(crate) fn kind_rows(rules: &RetentionRules) -> Vec<Vec<String>> {
    rules
        .kinds
        .iter()
        .map(|k| {
            let when: Vec<String> = k
                .when
                .iter()
                .map(|(p, v)| {
                    format!(
                        "{p} ∈ {{{}}}",
                        v.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            let action = match k.action {
                Action::Anonymise => format!("anonymise {}", k.groups.join(", ")),
                a => a.name().to_string(),
            };
            vec![
                k.name.clone(),
                k.description.clone(),
                format!("{} {}", k.resource, when.join("; ")),
                if k.groups.is_empty() {
                    "whole record".into()
                } else {
                    k.groups.join(", ")
                },
                k.start.describe(),
                k.period.to_string(),
                action,
                k.legal_basis.clone(),
            ]
        })
        .collect()
}

/// One row per hold: what it keeps, and why.
pub(crate) fn hold_rows(rules: &RetentionRules) -> Vec<Vec<String>> {
    rules
        .holds
        .iter()
        .map(|h| {
            let what = match &h.rule {
                HoldRule::Flag { property } => {
                    format!("while `{property}` is true: the whole record")
                }
                HoldRule::Statutory {
                    groups,
                    start,
                    period,
                    ..
                } => format!(
                    "{} from the {}: the record and its {} data",
                    period,
                    start.describe(),
                    groups.join(", ")
                ),
            };
            vec![
                h.name.clone(),
                h.description.clone(),
                h.resource.clone(),
                what,
                h.legal_basis.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// The last ten runs, newest first, with the actions each carried out.
fn run_rows(runs: &[RunFigures]) -> Vec<Vec<String>> {
    runs.iter()
        .rev()
        .take(10)
        .map(|r| {
            let done: Vec<String> = r.done.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            vec![
                r.at.clone(),
                r.today.clone(),
                r.run.clone(),
                if done.is_empty() {
                    "nothing".into()
                } else {
                    done.join(", ")
                },
                r.failed.to_string(),
            ]
        })
        .collect()
}

const INTRO: &str = "Retention rules per data kind (policies/retention.toml). From the day a \
whole-record rule falls due, the record is invisible to every purpose but the deletion run's \
and accounting's statutory duties; `crmgate retention apply` archives, deletes or anonymises \
it through crmgate's write path, each action audited with its rule. A hold stops a rule while \
it is in force.";

pub fn markdown(rules: &RetentionRules, runs: &[RunFigures]) -> String {
    let mut s = format!(
        "# Deletion concept\n\n{INTRO}\n\nCarried out by app `{}` with purpose `{}`.\n",
        rules.run.app, rules.run.purpose
    );
    for (title, head, rows) in sections(rules, runs) {
        let _ = writeln!(s, "\n## {title}\n");
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
    }
    s
}

pub fn html(rules: &RetentionRules, runs: &[RunFigures]) -> String {
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>crmgate deletion concept</title><style>\
         body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}\
         th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left;vertical-align:top}th{background:#f3f3f3}\
         </style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Deletion concept</h1><p>{}</p><p>Carried out by app <code>{}</code> with purpose <code>{}</code>.</p>",
        esc(INTRO),
        esc(&rules.run.app),
        esc(&rules.run.purpose)
    );
    for (title, head, rows) in sections(rules, runs) {
        let _ = write!(s, "<h2>{}</h2><table><tr>", esc(&title));
        for h in head {
            let _ = write!(s, "<th>{}</th>", esc(&h));
        }
        s.push_str("</tr>");
        for r in rows {
            s.push_str("<tr>");
            for c in r {
                let _ = write!(s, "<td>{}</td>", esc(&c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}

/// The figures of every checkpoint file given.
pub fn figures_of(checkpoints: &[PathBuf]) -> Result<Vec<RunFigures>, String> {
    let mut runs = Vec::new();
    for c in checkpoints {
        runs.extend(run_figures(&read_checkpoint(c)?));
    }
    runs.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(runs)
}

/// Today as the configuration says (for messages).
pub fn today(clock: Clock) -> Day {
    clock.today()
}
