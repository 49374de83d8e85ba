//! `crmgate test`: policy tests as data.
//!
//! Files in `policies/tests/*.json` follow the shape of the Cedar CLI's `run-tests` files
//! (a list of cases with `name`, `request`, `decision`, `reason`), extended for crmgate: a
//! case may give a `record` (as the CRM returns it) instead of a resource, and state the
//! expected outcome per field group (`clear`, `removed`, or a mask kind). Cases run through
//! the same engine and planner as the proxy, so a passing test describes what the proxy
//! does. The security team writes these; `cargo test` runs them too.
//!
//! It must never pass a case whose decision, reason or field outcome differs from what the engine decides.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::decide;
use crate::error::RequestError;
use crate::policy::decision::Outcome;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::ResourceProfile;
use crate::stages::pipeline::Policies;

/// One test case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: CaseRequest,
    /// For record cases: the record as the CRM returns it.
    #[serde(default)]
    pub record: Option<Value>,
    /// `allow` or `deny`: the request-level decision, or the row decision for a record.
    pub decision: String,
    /// Determining policy ids (order does not matter); checked when given.
    #[serde(default)]
    pub reason: Option<Vec<String>>,
    /// Expected outcome per field group: `clear`, `removed`, or a mask kind.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    /// A user or app id (`penny`) or a Cedar uid (`User::"penny"`).
    pub principal: String,
    pub purpose: String,
    /// Request-level cases: the action (`list`, `get`, `search`) and the collection.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub collection: Option<String>,
    /// Record cases: the resource type (`Contact`); default `Contact`.
    #[serde(default)]
    pub resource_type: Option<String>,
}

/// The result of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub file: PathBuf,
    pub name: String,
    /// Empty when the case passed.
    pub failures: Vec<String>,
}

/// A summary of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub results: Vec<CaseResult>,
    /// Policy ids that determined at least one decision of a case.
    pub exercised: std::collections::BTreeSet<String>,
    /// Policy ids of the set that no case exercised.
    pub unexercised: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| !r.failures.is_empty())
            .count()
    }
    pub fn passed(&self) -> usize {
        self.results.len() - self.failed()
    }

    /// Human-readable report: one line per failing case with its differences.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            if r.failures.is_empty() {
                continue;
            }
            let _ = writeln!(out, "FAIL {} :: {}", r.file.display(), r.name);
            for f in &r.failures {
                let _ = writeln!(out, "     {f}");
            }
        }
        if !self.unexercised.is_empty() {
            let _ = writeln!(
                out,
                "note: no case exercises these policies: {}",
                self.unexercised.join(", ")
            );
        }
        let _ = writeln!(out, "{} passed, {} failed", self.passed(), self.failed());
        out
    }
}

/// Load every `*.json` file of `dir` and run its cases.
pub fn run_dir(config: &Config, policies: &Policies, dir: &Path) -> Result<Report, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "no policy test files (*.json) in `{}`",
            dir.display()
        ));
    }
    let mut report = Report::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let cases: Vec<Case> = serde_json::from_str(&text)
            .map_err(|e| format!("{}:{}:{}: {e}", file.display(), e.line(), e.column()))?;
        for case in cases {
            let (failures, touched) = run_case(config, policies, &case);
            report.exercised.extend(touched);
            report.results.push(CaseResult {
                file: file.clone(),
                name: case.name,
                failures,
            });
        }
    }
    report.unexercised = policies
        .engine
        .policy_ids()
        .filter(|id| !report.exercised.contains(*id))
        .map(String::from)
        .collect();
    report.unexercised.sort();
    Ok(report)
}

fn principal_id(p: &str) -> String {
    // `User::"penny"` → `penny`
    match p.split_once("::") {
        Some((_, rest)) => rest.trim_matches('"').to_string(),
        None => p.to_string(),
    }
}

/// Run one case; returns the differences (empty = pass) and the policies that determined
/// any of its decisions.
pub fn run_case(config: &Config, policies: &Policies, case: &Case) -> (Vec<String>, Vec<String>) {
    let mut touched = Vec::new();
    let failures = run_case_into(config, policies, case, &mut touched);
    (failures, touched)
}

fn run_case_into(
    config: &Config,
    policies: &Policies,
    case: &Case,
    touched: &mut Vec<String>,
) -> Vec<String> {
    let engine = &policies.engine;
    let id = principal_id(&case.request.principal);
    let Some(principal) = engine.principal(&id) else {
        return vec![format!("unknown principal `{id}`")];
    };
    // The question the proxy asks, with its purpose rules (a purpose the department may not
    // declare is refused before any policy: a deny no policy decided). Inactive accounts are
    // left to the policies here, so that their own rule for them is tested too.
    let scope = match decide::policy_subject(
        config,
        engine,
        principal.clone(),
        Some(&case.request.purpose),
    ) {
        Ok(s) => s,
        Err(e @ RequestError::PurposeNotAllowed { .. }) => {
            return compare(case, false, &[], &[e.to_string()], None);
        }
        Err(e) => return vec![e.to_string()],
    };
    match (&case.record, &case.request.action) {
        (Some(record), None) => {
            let ty = case.request.resource_type.as_deref().unwrap_or("Contact");
            let Some(resource) = policies.routes.resource(ty) else {
                return vec![format!("unknown resource type `{ty}`")];
            };
            let eval = match decide::record(engine, &scope, resource, record) {
                Ok(e) => e,
                Err(e) => return vec![format!("`record`: {e}")],
            };
            let plan = &eval.plan;
            touched.extend(plan.row.policies.iter().cloned());
            for (_, d) in &plan.groups {
                touched.extend(d.policies.iter().cloned());
            }
            let groups: BTreeMap<String, Outcome> = resource
                .groups
                .iter()
                .enumerate()
                .map(|(g, name)| (name.clone(), plan.outcome(g)))
                .collect();
            compare(
                case,
                plan.row.allow,
                &plan.row.policies,
                &plan.row.errors,
                Some(groups),
            )
        }
        (Some(record), Some(action)) => {
            // A write case: the record-level action (`create`, `update`, `delete`, `merge`,
            // `redact.<category>`) on the record, and per field group its `write.<group>`,
            // asked as the proxy's write stage asks them.
            let ty = case.request.resource_type.as_deref().unwrap_or("Contact");
            let Some(resource) = policies.routes.resource(ty) else {
                return vec![format!("unknown resource type `{ty}`")];
            };
            write_case(engine, &scope, resource, record, action, case, touched)
        }
        (None, Some(action)) => {
            let collection = case.request.collection.as_deref().unwrap_or("contacts");
            let d = engine.decide_request(&scope, action, collection);
            touched.extend(d.policies.iter().cloned());
            compare(case, d.allow, &d.policies, &d.errors, None)
        }
        _ => vec!["give either `record` or `request.action` (with `request.collection`)".into()],
    }
}

/// A write case's differences: the record-level decision, and per field group named in
/// `fields` its `write.<group>` decision (`allow` or `deny`).
fn write_case(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    record: &Value,
    action: &str,
    case: &Case,
    touched: &mut Vec<String>,
) -> Vec<String> {
    if let Some(category) = action.strip_prefix("redact.") {
        let d = match decide::redaction(engine, scope, resource, record, category) {
            Ok(d) => d,
            Err(e) => return vec![format!("`record`: {e}")],
        };
        touched.extend(d.policies.iter().cloned());
        let mut failures = compare(case, d.allow, &d.policies, &d.errors, None);
        if !case.fields.is_empty() {
            failures.push("a `redact.<category>` case decides no field group".into());
        }
        return failures;
    }
    let w = match decide::write(engine, scope, resource, record, action) {
        Ok(w) => w,
        Err(e) => return vec![format!("`record`: {e}")],
    };
    let d = &w.record;
    touched.extend(d.policies.iter().cloned());
    let mut failures = compare(case, d.allow, &d.policies, &d.errors, None);
    for (group, want) in &case.fields {
        let Some(g) = resource
            .group_id(group)
            .and_then(|id| w.groups.iter().find(|(g, _)| *g == id))
            .map(|(_, d)| d)
        else {
            failures.push(format!("field group `{group}` does not exist"));
            continue;
        };
        touched.extend(g.policies.iter().cloned());
        let got = if g.allow { "allow" } else { "deny" };
        if want != got {
            failures.push(format!("write.{group}: expected {want}, got {got}"));
        }
    }
    failures
}

/// The differences between what a case expects and what was decided.
fn compare(
    case: &Case,
    allow: bool,
    reason: &[String],
    errors: &[String],
    groups: Option<BTreeMap<String, Outcome>>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let expect_allow = match case.decision.as_str() {
        "allow" => true,
        "deny" => false,
        other => return vec![format!("decision must be `allow` or `deny`, not `{other}`")],
    };
    if allow != expect_allow {
        let mut f = format!(
            "decision: expected {}, got {}",
            case.decision,
            if allow { "allow" } else { "deny" }
        );
        if !errors.is_empty() {
            let _ = write!(f, " (errors: {})", errors.join("; "));
        }
        failures.push(f);
    }
    if let Some(expected) = &case.reason {
        let mut e = expected.clone();
        e.sort();
        if e != reason {
            failures.push(format!("reason: expected {e:?}, got {reason:?}"));
        }
    }
    match groups {
        Some(groups) => {
            for (group, want) in &case.fields {
                let Some(got) = groups.get(group) else {
                    failures.push(format!("field group `{group}` does not exist"));
                    continue;
                };
                let got = outcome_name(*got);
                if &got != want {
                    failures.push(format!("{group}: expected {want}, got {got}"));
                }
            }
        }
        None if !case.fields.is_empty() && case.record.is_none() => {
            failures.push("`fields` needs a `record` case".into());
        }
        None => {}
    }
    failures
}

/// `clear`, `removed`, or the mask kind.
pub fn outcome_name(o: Outcome) -> String {
    match o {
        Outcome::Clear => "clear".into(),
        Outcome::Removed => "removed".into(),
        Outcome::Masked(k) => k.name().into(),
    }
}
