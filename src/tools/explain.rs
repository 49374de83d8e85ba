//! `crmgate explain`: why a persona sees what it sees.
//!
//! Given a persona, a purpose, a method and path, and a sample upstream body, it runs the
//! same stages the proxy runs (purpose rules, route, request decision, record selection,
//! row and field-group decisions) and shows, per record and field group, the outcome, the
//! mask, and the policies (id, file, line) that decided it — "why can't marketing see this
//! birthday?" in one command. It reads files only: it never calls the CRM.
//!
//! For a write route the sample is `{"request": <the body the client sends>, "stored":
//! [<the records it names, as the CRM holds them>]}`, and each input is decided by the write
//! stage's own function: its outcome (forwarded, not found, refused) and what the proxy
//! answers for it, the field groups written, stripped or refused, and what was redacted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use http::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::decide;
use crate::error::RequestError;
use crate::policy::decision::Decision;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::{Layout, RecordSelector, ResourceProfile, Route, WriteKind};
use crate::stages::filter::records;
use crate::stages::pipeline::Policies;
use crate::stages::sanitize;
use crate::stages::write_inputs::{Verdict, WriteAudit};
use crate::tools::policytest;

/// A policy that took part in a decision, with where it is written.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PolicyRef {
    pub id: String,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Serialize)]
pub struct DecisionView {
    pub allow: bool,
    pub policies: Vec<PolicyRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct GroupView {
    pub group: String,
    /// `clear`, `removed`, or the mask kind.
    pub outcome: String,
    /// The record's properties and fields in this group.
    pub fields: Vec<String>,
    pub decision: DecisionView,
}

#[derive(Debug, Serialize)]
pub struct RecordView {
    pub id: String,
    pub row: DecisionView,
    /// Empty when the row is denied.
    pub groups: Vec<GroupView>,
    /// Properties or fields no group classifies: always removed.
    pub unclassified: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub principal: String,
    pub department: Option<String>,
    pub purpose: String,
    pub method: String,
    pub path: String,
    pub route: String,
    pub action: String,
    pub policy_revision: String,
    pub request: DecisionView,
    pub records: Vec<RecordView>,
    /// For a write route: what becomes of each input, in the order the proxy decides them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<WriteView>,
    /// For a write route: the policies and Cedar errors of every write decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_decisions: Option<DecisionView>,
}

/// What becomes of one input of a write, as the proxy's write stage decides it.
#[derive(Debug, Serialize)]
pub struct WriteView {
    /// The record the input names (an id or a lookup value); none for a create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the proxy answers for this input on its own: `None` when it is forwarded (the
    /// CRM's answer, filtered, is passed on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it was refused, as the proxy says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// What the audit record says of it: action, outcome, reason, and the field groups
    /// written and stripped, what was redacted, stamped and replaced.
    pub audit: WriteAudit,
}

/// What to explain.
#[derive(Debug, Clone)]
pub struct Question {
    pub user: String,
    pub purpose: Option<String>,
    pub method: String,
    pub path: String,
    /// The upstream response body to filter (as the CRM would send it).
    pub sample: Option<Value>,
}

fn view(engine: &PolicyEngine, d: &Decision) -> DecisionView {
    DecisionView {
        allow: d.allow,
        policies: d
            .policies
            .iter()
            .map(|id| {
                let info = engine.policy_info(id);
                PolicyRef {
                    id: id.clone(),
                    file: info
                        .and_then(|i| i.file.file_name())
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    line: info.map_or(0, |i| i.line),
                }
            })
            .collect(),
        errors: d.errors.clone(),
    }
}

/// Answer a question. Errors are what the proxy would answer (401/403/404 reasons).
pub fn explain(config: &Config, policies: &Policies, q: &Question) -> Result<Explanation, String> {
    let engine = &policies.engine;
    let scope = decide::subject(config, engine, &q.user, q.purpose.as_deref()).map_err(|e| {
        format!(
            "{e} (the proxy answers {}: {})",
            e.status().as_u16(),
            e.kind()
        )
    })?;
    let principal = scope.principal.clone();
    let purpose = scope.purpose.clone();
    let method: Method = q
        .method
        .parse()
        .map_err(|_| format!("bad method `{}`", q.method))?;
    let (raw_path, query) = q.path.split_once('?').unwrap_or((&q.path, ""));
    let segments = sanitize::canonical_segments(raw_path).map_err(|e| e.to_string())?;
    let matched = policies
        .routes
        .find(&method, &segments)
        .map_err(|e| e.to_string())?;
    let route = matched.route;
    let request_decision = engine.decide_request(&scope, &route.action, &route.resource.collection);

    let mut records_out = Vec::new();
    let (mut writes, mut write_decisions) = (Vec::new(), None);
    let write = route.write().is_some();
    if let (Some(sample), true, true) = (&q.sample, request_decision.allow, write) {
        let (views, decisions) = explain_write(
            config,
            policies,
            &scope,
            route,
            matched.id.as_deref(),
            query,
            sample,
        )?;
        writes = views;
        write_decisions = Some(view(engine, &decisions));
    }
    if let (Some(sample), true, false) = (&q.sample, request_decision.allow, write) {
        let resource = &route.resource;
        let selected: Vec<&Value> = match &route.records {
            RecordSelector::Root => vec![sample],
            RecordSelector::Path { query, .. } => records::select_values(query, sample)?,
        };
        for rec in selected {
            let Value::Object(obj) = rec else {
                return Err("a selected record is not a JSON object".into());
            };
            records_out.push(record_view(engine, &scope, resource, obj)?);
        }
    }

    Ok(Explanation {
        principal: principal.id.clone(),
        department: principal.department.clone(),
        purpose,
        method: method.to_string(),
        path: raw_path.to_string(),
        route: route.name.clone(),
        action: route.action.clone(),
        policy_revision: engine.revision().to_string(),
        request: view(engine, &request_decision),
        records: records_out,
        writes,
        write_decisions,
    })
}

/// One record of a read's sample: its row and field-group decisions, and which of its
/// properties and fields each group holds.
fn record_view(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    obj: &Map<String, Value>,
) -> Result<RecordView, String> {
    let decide::RecordEvaluation { id, plan } = decide::record_of(engine, scope, resource, obj)?;
    let mut fields: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut unclassified = Vec::new();
    for name in resource.properties_of(obj).keys() {
        match resource.property_groups.get(name) {
            Some(&g) => fields.entry(g).or_default().push(name.clone()),
            None => unclassified.push(name.clone()),
        }
    }
    for name in obj.keys() {
        let flat_property = resource.layout == Layout::Flat && resource.is_flat_property(name);
        if name == &resource.id_field
            || name == &resource.properties_field
            || resource.history_field.as_deref() == Some(name.as_str())
            || resource.structure.contains(name)
            || flat_property
        {
            continue;
        }
        match resource.field_groups.get(name) {
            Some(&g) => fields.entry(g).or_default().push(name.clone()),
            None => unclassified.push(name.clone()),
        }
    }
    let groups = if plan.row.allow {
        resource
            .groups
            .iter()
            .enumerate()
            .filter_map(|(g, name)| {
                let (outcome, d) = plan.groups.get(g)?;
                Some(GroupView {
                    group: name.clone(),
                    outcome: policytest::outcome_name(*outcome),
                    fields: fields.get(&g).cloned().unwrap_or_default(),
                    decision: view(engine, d),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(RecordView {
        id,
        row: view(engine, &plan.row),
        groups,
        unclassified,
    })
}

/// The inputs of a write, decided by the write stage's own function on the stored records
/// the sample gives, and the policies and errors of all their decisions (as one view).
fn explain_write(
    config: &Config,
    policies: &Policies,
    scope: &Scope,
    route: &Route,
    path_id: Option<&str>,
    query: &str,
    sample: &Value,
) -> Result<(Vec<WriteView>, Decision), String> {
    let (Some(request), stored) = (sample.get("request"), sample.get("stored")) else {
        return Err("for a write route the sample is {\"request\": <the body the client sends>, \"stored\": [<the records it names, as the CRM holds them>]}".into());
    };
    let stored: &[Value] = match stored {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err("the sample's `stored` is not a list of records".into()),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let body = policies
        .vendor
        .parse_write(route, &bytes, path_id, &query)
        .map_err(|e| {
            format!(
                "{e} (the proxy answers {}: {})",
                e.status().as_u16(),
                e.kind()
            )
        })?;
    // A lookup, whether the query or the path names it: the proxy first checks that the
    // caller sees the property in clear (a selection); explain does not decide that yet,
    // and says so rather than answer what the proxy may refuse. fail closed.
    if let Some(p) = &body.lookup {
        return Err(format!(
            "explain does not yet decide a write that names its records by a property value (`{p}`): the proxy first checks that the caller sees `{p}` in clear (else 403 hidden-selection)"
        ));
    }
    let delete = route.write() == Some(WriteKind::Delete);
    let decide::WriteEvaluation {
        inputs,
        policies,
        errors,
    } = decide::write_request(config, policies, scope, route, body, stored)?;
    let views = inputs
        .into_iter()
        .map(|i| {
            let (status, refusal) = match &i.verdict {
                Verdict::Write(_) => (None, None),
                // A hidden record is answered as a missing one; a missing one's archive is
                // answered as the CRM answers it, with nothing to do.
                Verdict::NotFound if delete => (Some(204), None),
                Verdict::NotFound => (Some(RequestError::RecordNotFound.status().as_u16()), None),
                Verdict::Refused(e) => (Some(e.status().as_u16()), Some(e.to_string())),
            };
            WriteView {
                key: i.key,
                status,
                refusal,
                audit: i.audit,
            }
        })
        .collect();
    let allow = errors.is_empty();
    Ok((
        views,
        Decision {
            allow,
            policies,
            errors,
            mask: None,
        },
    ))
}

fn refs(d: &DecisionView) -> String {
    if d.policies.is_empty() {
        return if d.allow {
            String::new()
        } else {
            "no permit applies (default deny)".into()
        };
    }
    d.policies
        .iter()
        .map(|p| format!("{} ({}:{})", p.id, p.file, p.line))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The explanation as text for a person.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {} as `{}` ({}), purpose `{}`, policy revision {}",
        e.method,
        e.path,
        e.principal,
        e.department.as_deref().unwrap_or("no department"),
        e.purpose,
        e.policy_revision
    );
    let _ = writeln!(
        s,
        "route `{}`: action `{}` → {} — {}",
        e.route,
        e.action,
        if e.request.allow {
            "allowed"
        } else {
            "DENIED (403)"
        },
        refs(&e.request)
    );
    for err in &e.request.errors {
        let _ = writeln!(s, "  error (counts as deny): {err}");
    }
    for r in &e.records {
        let _ = writeln!(
            s,
            "\nrecord {}: {} — {}",
            r.id,
            if r.row.allow {
                "shown"
            } else {
                "HIDDEN (dropped from lists, 404 alone)"
            },
            refs(&r.row)
        );
        for err in &r.row.errors {
            let _ = writeln!(s, "  error (counts as deny): {err}");
        }
        for g in &r.groups {
            let fields = if g.fields.is_empty() {
                String::from("not in this record")
            } else {
                g.fields.join(", ")
            };
            let _ = writeln!(
                s,
                "  {:<13} {:<10} {}",
                g.group,
                g.outcome,
                refs(&g.decision)
            );
            let _ = writeln!(s, "  {:<13} {:<10} fields: {fields}", "", "");
            for err in &g.decision.errors {
                let _ = writeln!(s, "  {:<13} error (counts as deny): {err}", "");
            }
        }
        if !r.unclassified.is_empty() {
            let _ = writeln!(
                s,
                "  unclassified (always removed): {}",
                r.unclassified.join(", ")
            );
        }
    }
    render_writes(&mut s, e);
    if e.records.is_empty() && e.writes.is_empty() && e.request.allow {
        let _ = writeln!(
            s,
            "\n(no sample body given: pass --sample FILE to see record decisions)"
        );
    }
    s
}

/// The inputs of a write, one paragraph each.
fn render_writes(s: &mut String, e: &Explanation) {
    for w in &e.writes {
        let a = &w.audit;
        let status = match w.status {
            None => "forwarded once (the CRM's answer is filtered like a read)".to_string(),
            Some(code) => format!("{} ({code})", a.outcome.to_uppercase()),
        };
        let _ = writeln!(
            s,
            "\ninput {} ({}): {status}",
            w.key.as_deref().unwrap_or("new record"),
            a.action
        );
        if let Some(why) = &w.refusal {
            let _ = writeln!(s, "  refused: {why}");
        }
        for (label, names) in [
            ("written", &a.written),
            ("stripped", &a.stripped),
            ("stamped", &a.stamped),
            ("replaced by the stamp", &a.replaced),
        ] {
            if !names.is_empty() {
                let _ = writeln!(s, "  {label}: {}", names.join(", "));
            }
        }
        for (field, categories) in &a.redacted {
            let c: Vec<String> = categories
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect();
            let _ = writeln!(s, "  redacted in {field}: {}", c.join(", "));
        }
    }
    if let Some(d) = &e.write_decisions {
        let _ = writeln!(s, "\nwrite decisions by: {}", refs(d));
        for err in &d.errors {
            let _ = writeln!(s, "  error (counts as deny): {err}");
        }
    }
}
