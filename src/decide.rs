//! The decision core as the tools see it: one question — a principal, a declared purpose
//! (or none), a route or resource type, a record — and one evaluation, computed by exactly
//! the functions the proxy's stages use (the identity stage's `active` rule, the purpose
//! stage's [`purpose::resolve_declared`], [`PolicyEngine::decide_request`], the
//! [`Planner`] the filter uses, the write stage's [`PolicyEngine::decide_write`] and
//! [`Writer`], the routes file's attribute extraction and id rule).
//! `explain`, `matrix`, `test` and the demo tour ask here; a differential test holds them
//! against the proxy's real responses. This module must never decide anything itself.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::RequestError;
use crate::policy::decision::{Decision, Outcome, RecordPlan, WriteDecision};
use crate::policy::plan::Planner;
use crate::policy::{PolicyEngine, PrincipalInfo, Scope};
use crate::routes::{extract_attributes, record_id, ResourceProfile, Route};
use crate::stages::pipeline::Policies;
use crate::stages::purpose;
use crate::stages::write_inputs::{
    stored_key, Stamp, Stored, Verdict, WriteAudit, WriteBody, WriteInput, Writer,
};

/// Who asks, and for which purpose, resolved as the proxy resolves a request.
pub fn subject(
    config: &Config,
    engine: &PolicyEngine,
    user: &str,
    declared_purpose: Option<&str>,
) -> Result<Scope, RequestError> {
    let principal = engine
        .principal(user)
        .ok_or_else(|| RequestError::Unauthenticated(format!("unknown user or app `{user}`")))?
        .clone();
    subject_of(config, engine, principal, declared_purpose)
}

/// [`subject`] for a principal already in hand.
pub fn subject_of(
    config: &Config,
    engine: &PolicyEngine,
    principal: Arc<PrincipalInfo>,
    declared_purpose: Option<&str>,
) -> Result<Scope, RequestError> {
    // fail closed: the identity stage refuses an inactive account before anything else.
    if !principal.active {
        return Err(RequestError::InactivePrincipal(principal.id.clone()));
    }
    policy_subject(config, engine, principal, declared_purpose)
}

/// [`subject_of`] without the identity stage's `active` rule: what the policies alone
/// decide. Policy tests use it, so that a policy that also refuses inactive accounts (a
/// second line behind the identity stage) is tested too.
pub fn policy_subject(
    config: &Config,
    engine: &PolicyEngine,
    principal: Arc<PrincipalInfo>,
    declared_purpose: Option<&str>,
) -> Result<Scope, RequestError> {
    let purpose = purpose::resolve_declared(
        declared_purpose,
        &principal,
        &config.purposes,
        &config.departments,
        &config.apps,
    )?;
    engine.scope(principal, &purpose)
}

/// One record's evaluation: its id as the proxy reads it, and its plan (row decision, and
/// per field group the outcome and the decision behind it).
#[derive(Debug, Clone)]
pub struct RecordEvaluation {
    pub id: String,
    pub plan: Arc<RecordPlan>,
}

impl RecordEvaluation {
    /// Per field group (in the routes file's order): its outcome, `None` when the row is
    /// hidden.
    pub fn outcomes<'a>(
        &'a self,
        resource: &'a ResourceProfile,
    ) -> Option<Vec<(&'a str, Outcome, &'a Decision)>> {
        self.plan.row.allow.then(|| {
            resource
                .groups
                .iter()
                .enumerate()
                .filter_map(|(g, name)| {
                    let (o, d) = self.plan.groups.get(g)?;
                    Some((name.as_str(), *o, d))
                })
                .collect()
        })
    }
}

/// Evaluate one record (as the CRM sends it) for a scope.
pub fn record(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    record: &Value,
) -> Result<RecordEvaluation, String> {
    let Value::Object(obj) = record else {
        return Err("a record is not a JSON object".into());
    };
    record_of(engine, scope, resource, obj)
}

/// The record-level write actions, as the write stage names them.
const WRITE_ACTIONS: [&str; 4] = ["create", "update", "delete", "merge"];

/// A write decision on a record (as the CRM holds it, or for a create as it would be), asked
/// as the proxy's write stage asks it: the same [`PolicyEngine::decide_write`] and memo, with
/// the id the write stage shows Cedar (none for a create, which names no stored record).
/// It holds `action` (`create`, `update`, `delete`, `merge`) on the record, the row decision
/// `read`, and `write.<group>` for every field group of the resource.
pub fn write(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    record: &Value,
    action: &str,
) -> Result<Arc<WriteDecision>, String> {
    let Value::Object(obj) = record else {
        return Err("a record is not a JSON object".into());
    };
    let Some(action) = WRITE_ACTIONS.into_iter().find(|a| *a == action) else {
        return Err(format!(
            "unknown write action `{action}` (known: {}, redact.<category>)",
            WRITE_ACTIONS.join(", ")
        ));
    };
    let id = (action != "create")
        .then(|| record_id(resource, obj))
        .flatten();
    let attrs = extract_attributes(resource, obj);
    let groups = match resource.groups.len() {
        n if n >= 64 => u64::MAX,
        n => (1u64 << n) - 1,
    };
    Ok(engine.decide_write(scope, resource, id.as_deref(), &attrs, action, groups))
}

/// May the caller's free text holding `category` be stored redacted in this record? The
/// write stage's own question ([`PolicyEngine::may_redact`]), on the record as it would be.
pub fn redaction(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    record: &Value,
    category: &str,
) -> Result<Decision, String> {
    let Value::Object(obj) = record else {
        return Err("a record is not a JSON object".into());
    };
    let attrs = extract_attributes(resource, obj);
    Ok(engine.may_redact(scope, resource, &attrs, category))
}

/// One input of a write request and what the write stage made of it.
#[derive(Debug)]
pub struct InputEvaluation {
    /// The record the input names (an id or a lookup value); none for a create.
    pub key: Option<String>,
    pub verdict: Verdict,
    /// What the audit record says of it (names, categories and counts, never values).
    pub audit: WriteAudit,
}

/// What the write stage made of the inputs of one write request.
#[derive(Debug)]
pub struct WriteEvaluation {
    /// In the order the write stage decides them (a merge's other record first).
    pub inputs: Vec<InputEvaluation>,
    /// Determining policies and Cedar errors of every decision on them.
    pub policies: Vec<String>,
    pub errors: Vec<String>,
}

/// The inputs of a write request decided as the proxy's write stage decides them: the same
/// [`Writer::decide`] per input (a merge's other record first), on the records the request
/// names as the CRM holds them (`stored`, each as the CRM sends it), stamped as the proxy
/// would stamp a create now.
pub fn write_request(
    config: &Config,
    policies: &Policies,
    scope: &Scope,
    route: &Route,
    body: WriteBody,
    stored: &[Value],
) -> Result<WriteEvaluation, String> {
    let res = &route.resource;
    let kind = route.write().ok_or("not a write route")?;
    let lookup = body.lookup.as_deref();
    // Keyed as the write stage keys its own read: by id, or by the lookup value (any case).
    let mut by_key: HashMap<String, Stored> = HashMap::new();
    for record in stored {
        let Value::Object(obj) = record else {
            return Err("a stored record is not a JSON object".into());
        };
        record_id(res, obj).ok_or("a stored record has no id")?;
        if let Some((key, stored)) = Stored::keyed(res, obj.clone(), lookup) {
            by_key.insert(key, stored);
        }
    }
    let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp = Stamp::of(config, scope, at);
    let mut writer = Writer {
        engine: &policies.engine,
        scope,
        res,
        kind,
        denied_fields: route.denied_fields,
        redactor: policies.redactor.as_deref(),
        stamp: &stamp,
        policies: Vec::new(),
        errors: Vec::new(),
    };
    let merge = body.merge_into.map(WriteInput::key);
    let mut out = Vec::new();
    for input in merge.into_iter().chain(body.inputs) {
        let key = input.key.clone();
        let s = key
            .as_deref()
            .and_then(|k| by_key.get(&stored_key(k, lookup.is_some())));
        let (verdict, audit) = writer.decide(input, s);
        out.push(InputEvaluation {
            key,
            verdict,
            audit,
        });
    }
    let (mut policies, mut errors) = (writer.policies, writer.errors);
    policies.sort();
    policies.dedup();
    errors.sort();
    errors.dedup();
    Ok(WriteEvaluation {
        inputs: out,
        policies,
        errors,
    })
}

/// [`record`] for a record object.
pub fn record_of(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    obj: &Map<String, Value>,
) -> Result<RecordEvaluation, String> {
    let id = record_id(resource, obj).ok_or("a record has no id")?;
    let plan = Planner::new(engine, scope, resource).plan(&id, extract_attributes(resource, obj));
    Ok(RecordEvaluation { id, plan })
}
