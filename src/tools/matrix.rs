//! `crmgate matrix`: the access matrix of a policy set, computed, not written by hand.
//!
//! For every department × declarable purpose × resource type × field group it evaluates the
//! policies over the declared domains of the record attributes the policies read (the
//! `values` of an attribute in the routes file; booleans are `true`/`false`), using a
//! representative active member of the department as principal. A cell is `clear`, a mask
//! kind, `never`, or `conditional` with a summary of the attribute values it depends on.
//! Output as Markdown or as one self-contained HTML page for the permission concept.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::decide;
use crate::policy::decision::{Outcome, RecordPlan};
use crate::policy::plan::{cartesian, Planner};
use crate::policy::{PolicyEngine, Scope};
use crate::routes::{AttrType, AttrValue, ResourceProfile};
use crate::stages::pipeline::Policies;

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cell {
    Clear,
    Masked {
        mask: String,
    },
    Never,
    /// Depends on record attributes: `when` summarises where it is visible, `shows` lists
    /// how it is shown there (`clear` or mask kinds).
    Conditional {
        when: String,
        shows: Vec<String>,
    },
}

impl Cell {
    pub fn label(&self) -> String {
        match self {
            Cell::Clear => "clear".into(),
            Cell::Masked { mask } => mask.clone(),
            Cell::Never => "never".into(),
            Cell::Conditional { when, shows } => format!("{} if {when}", shows.join("/")),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub department: String,
    /// The member whose attributes stood for the department.
    pub principal: String,
    pub purpose: String,
    pub resource_type: String,
    /// Whether records are visible at all.
    pub row: Cell,
    pub groups: Vec<(String, Cell)>,
}

#[derive(Debug, Serialize)]
pub struct Matrix {
    pub policy_revision: String,
    pub rows: Vec<Row>,
    /// Per resource type, the attribute domains that were evaluated.
    pub domains: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

pub(crate) fn show(v: &AttrValue) -> String {
    match v {
        AttrValue::Str(s) => s.clone(),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::Long(l) => l.to_string(),
    }
}

/// The values each attribute ranges over: only attributes some policy reads vary.
pub(crate) fn domains(policies_text: &str, res: &ResourceProfile) -> Vec<Vec<Option<AttrValue>>> {
    res.attributes
        .iter()
        .map(|a| {
            let read = policies_text.contains(&format!("resource.{}", a.name));
            let declared: Vec<Option<AttrValue>> = match a.kind {
                AttrType::Bool => vec![Some(AttrValue::Bool(false)), Some(AttrValue::Bool(true))],
                _ => a.values.iter().cloned().map(Some).collect(),
            };
            match (read, declared.is_empty()) {
                (true, false) => declared,
                // Not read by any policy (or no declared domain): one representative value.
                _ => vec![a
                    .default
                    .clone()
                    .or_else(|| declared.into_iter().flatten().next())
                    .or(Some(match a.kind {
                        AttrType::String => AttrValue::Str(String::new()),
                        AttrType::Bool => AttrValue::Bool(false),
                        AttrType::Long => AttrValue::Long(0),
                    }))],
            }
        })
        .collect()
}

/// Summarise where a set of combinations holds, against all considered combinations.
pub(crate) fn summarise(
    res: &ResourceProfile,
    holds: &[&Vec<Option<AttrValue>>],
    all: &[&Vec<Option<AttrValue>>],
) -> String {
    let mut parts = Vec::new();
    for (i, a) in res.attributes.iter().enumerate() {
        let vals = |set: &[&Vec<Option<AttrValue>>]| -> BTreeSet<String> {
            set.iter()
                .filter_map(|c| c.get(i).cloned().flatten())
                .map(|v| show(&v))
                .collect()
        };
        let (h, t) = (vals(holds), vals(all));
        if h == t {
            continue;
        }
        let h: Vec<String> = h.into_iter().collect();
        parts.push(match (a.kind, h.as_slice()) {
            (AttrType::Bool, [only]) if only == "true" => a.name.clone(),
            (AttrType::Bool, [only]) if only == "false" => format!("not {}", a.name),
            (_, [only]) => format!("{} = {only}", a.name),
            _ => format!("{} in {{{}}}", a.name, h.join(", ")),
        });
    }
    if parts.is_empty() {
        "some records".into()
    } else {
        parts.join(" and ")
    }
}

fn outcome_label(o: Outcome) -> String {
    match o {
        Outcome::Clear => "clear".into(),
        Outcome::Masked(k) => k.name().into(),
        Outcome::Removed => "never".into(),
    }
}

/// Compute the matrix of the loaded policies.
pub fn compute(config: &Config, policies: &Policies) -> Matrix {
    let engine = &policies.engine;
    let text: String = config
        .policies
        .policies
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let mut rows = Vec::new();
    let mut all_domains = BTreeMap::new();
    for res in policies.routes.resources() {
        let doms = domains(&text, res);
        all_domains.insert(
            res.entity_type.clone(),
            res.attributes
                .iter()
                .zip(&doms)
                .map(|(a, d)| (a.name.clone(), d.iter().flatten().map(show).collect()))
                .collect(),
        );
        let combos = cartesian(&doms);
        // Departments (through a representative member) and client applications.
        let subjects = config
            .departments
            .iter()
            .filter_map(|(d, dp)| Some((d.clone(), representative(policies, d)?, dp)))
            .chain(config.apps.iter().filter_map(|(a, dp)| {
                Some((format!("app {a}"), engine.principal(a)?.clone(), dp))
            }));
        for (dept, principal, dp) in subjects {
            for purpose in &dp.purposes {
                let Ok(scope) =
                    decide::subject_of(config, engine, principal.clone(), Some(purpose))
                else {
                    continue;
                };
                // Records only matter if some route of this type lets the request through.
                let reachable = policies.routes.routes().iter().any(|r| {
                    r.resource.name == res.name
                        && engine
                            .decide_request(&scope, &r.action, &r.resource.collection)
                            .allow
                });
                if !reachable {
                    rows.push(Row {
                        department: dept.clone(),
                        principal: principal.id.clone(),
                        purpose: purpose.clone(),
                        resource_type: res.entity_type.clone(),
                        row: Cell::Never,
                        groups: res
                            .groups
                            .iter()
                            .map(|g| (g.clone(), Cell::Never))
                            .collect(),
                    });
                    continue;
                }
                let (row, groups) = cells(engine, &scope, res, &combos);
                rows.push(Row {
                    department: dept.clone(),
                    principal: principal.id.clone(),
                    purpose: purpose.clone(),
                    resource_type: res.entity_type.clone(),
                    row,
                    groups,
                });
            }
        }
    }
    Matrix {
        policy_revision: engine.revision().to_string(),
        rows,
        domains: all_domains,
    }
}

/// The row cell and the field-group cells of one subject and purpose on one resource type,
/// from the plans of every attribute combination.
pub(crate) fn cells(
    engine: &PolicyEngine,
    scope: &Scope,
    res: &ResourceProfile,
    combos: &[Vec<Option<AttrValue>>],
) -> (Cell, Vec<(String, Cell)>) {
    let mut planner = Planner::new(engine, scope, res);
    let plans: Vec<_> = combos
        .iter()
        .map(|c| (c, planner.plan("matrix-sample", c.clone())))
        .collect();
    let all: Vec<&Vec<Option<AttrValue>>> = plans.iter().map(|(c, _)| *c).collect();
    let visible: Vec<(&Vec<Option<AttrValue>>, &RecordPlan)> = plans
        .iter()
        .filter(|(_, p)| p.row.allow)
        .map(|(c, p)| (*c, &**p))
        .collect();
    let visible_combos: Vec<&Vec<Option<AttrValue>>> = visible.iter().map(|(c, _)| *c).collect();
    let row = if visible.is_empty() {
        Cell::Never
    } else if visible.len() == plans.len() {
        Cell::Clear
    } else {
        Cell::Conditional {
            when: summarise(res, &visible_combos, &all),
            shows: vec!["records".into()],
        }
    };
    let groups = res
        .groups
        .iter()
        .enumerate()
        .map(|(g, name)| (name.clone(), group_cell(res, &visible, &visible_combos, g)))
        .collect();
    (row, groups)
}

/// One field group's cell over the visible combinations.
fn group_cell(
    res: &ResourceProfile,
    visible: &[(&Vec<Option<AttrValue>>, &RecordPlan)],
    visible_combos: &[&Vec<Option<AttrValue>>],
    g: usize,
) -> Cell {
    let outcomes: Vec<(&Vec<Option<AttrValue>>, Outcome)> =
        visible.iter().map(|(c, p)| (*c, p.outcome(g))).collect();
    let kinds: BTreeSet<String> = outcomes.iter().map(|(_, o)| outcome_label(*o)).collect();
    match kinds.len() {
        0 => Cell::Never,
        1 => match outcomes.first().map(|(_, o)| *o) {
            Some(Outcome::Clear) => Cell::Clear,
            Some(Outcome::Masked(k)) => Cell::Masked {
                mask: k.name().into(),
            },
            _ => Cell::Never,
        },
        _ => {
            let shown: Vec<&Vec<Option<AttrValue>>> = outcomes
                .iter()
                .filter(|(_, o)| *o != Outcome::Removed)
                .map(|(c, _)| *c)
                .collect();
            Cell::Conditional {
                when: summarise(res, &shown, visible_combos),
                shows: kinds.into_iter().filter(|k| k != "never").collect(),
            }
        }
    }
}

/// The first active user (by id) of a department.
pub(crate) fn representative(
    policies: &Policies,
    dept: &str,
) -> Option<std::sync::Arc<crate::policy::PrincipalInfo>> {
    let mut members: Vec<_> = policies
        .engine
        .principals()
        .filter(|p| p.active && p.department.as_deref() == Some(dept))
        .collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    members.first().map(|p| (*p).clone())
}

/// The matrix as Markdown: one table per resource type.
pub fn markdown(m: &Matrix) -> String {
    let mut s = format!(
        "# Access matrix (policy revision {})\n\n",
        m.policy_revision
    );
    s.push_str(
        "Computed from the policies over the attribute domains below, for a representative \
         active member of each department. `clear` = shown as stored; a mask name = shown \
         masked; `never` = removed; `… if …` = depends on the record.\n",
    );
    for (ty, rows) in by_type(m) {
        let groups: Vec<&str> = rows
            .first()
            .map(|r| r.groups.iter().map(|(g, _)| g.as_str()).collect())
            .unwrap_or_default();
        let _ = writeln!(s, "\n## {ty}\n");
        if let Some(d) = m.domains.get(ty) {
            let doms: Vec<String> = d
                .iter()
                .filter(|(_, v)| v.len() > 1)
                .map(|(k, v)| format!("`{k}` ∈ {{{}}}", v.join(", ")))
                .collect();
            let _ = writeln!(s, "Attributes evaluated: {}\n", doms.join("; "));
        }
        let _ = writeln!(
            s,
            "| department | purpose | records | {} |",
            groups.join(" | ")
        );
        let _ = writeln!(s, "|{}", "---|".repeat(groups.len() + 3));
        for r in rows {
            let cells: Vec<String> = r.groups.iter().map(|(_, c)| c.label()).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r.department,
                r.purpose,
                r.row.label(),
                cells.join(" | ")
            );
        }
    }
    s
}

fn by_type(m: &Matrix) -> BTreeMap<&str, Vec<&Row>> {
    let mut out: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &m.rows {
        out.entry(r.resource_type.as_str()).or_default().push(r);
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The matrix as one self-contained HTML page (no scripts, no external resources).
pub fn html(m: &Matrix) -> String {
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>crmgate access matrix</title><style>\
         body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}\
         th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}\
         .clear{background:#c8efc8}.masked{background:#fff1b8}.never{background:#eee;color:#999}.conditional{background:#cfe3ff}\
         .legend span{display:inline-block;padding:2px 8px;margin-right:6px}</style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Access matrix</h1><p>Policy revision <code>{}</code>. Computed from the policies for a representative \
         active member of each department.</p><p class=\"legend\"><span class=\"clear\">clear</span>\
         <span class=\"masked\">masked</span><span class=\"conditional\">depends on the record</span>\
         <span class=\"never\">never</span></p>",
        esc(&m.policy_revision)
    );
    for (ty, rows) in by_type(m) {
        let _ = write!(
            s,
            "<h2>{}</h2><table><tr><th>department</th><th>purpose</th><th>records</th>",
            esc(ty)
        );
        if let Some(first) = rows.first() {
            for (g, _) in &first.groups {
                let _ = write!(s, "<th>{}</th>", esc(g));
            }
        }
        s.push_str("</tr>");
        for r in rows {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td>",
                esc(&r.department),
                esc(&r.purpose)
            );
            for c in std::iter::once(&r.row).chain(r.groups.iter().map(|(_, c)| c)) {
                let class = match c {
                    Cell::Clear => "clear",
                    Cell::Masked { .. } => "masked",
                    Cell::Never => "never",
                    Cell::Conditional { .. } => "conditional",
                };
                let _ = write!(s, "<td class=\"{class}\">{}</td>", esc(&c.label()));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}
