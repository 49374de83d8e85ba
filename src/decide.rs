//! The decision core as the tools see it: one question — a principal, a declared purpose
//! (or none), a route or resource type, a record — and one evaluation, computed by exactly
//! the functions the proxy's stages use (the identity stage's `active` rule, the purpose
//! stage's [`purpose::resolve_declared`], [`PolicyEngine::decide_request`], the
//! [`Planner`] the filter uses, the routes file's attribute extraction and id rule).
//! `explain`, `matrix`, `test` and the demo tour ask here; a differential test holds them
//! against the proxy's real responses. This module must never decide anything itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::RequestError;
use crate::routes::{extract_attributes, record_id, ResourceProfile};
use crate::stages::authz::{
    Decision, Outcome, Planner, PolicyEngine, PrincipalInfo, RecordPlan, Scope,
};
use crate::stages::purpose;

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

/// A write decision on a record: `action` (`create`, `update`, `delete`, `merge`,
/// `redact.<category>`) and, per field group of the resource, its `write.<group>`.
pub fn write(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
    record: &Value,
    action: &str,
) -> Result<(Decision, BTreeMap<String, Decision>), String> {
    let Value::Object(obj) = record else {
        return Err("a record is not a JSON object".into());
    };
    let id = record_id(resource, obj).unwrap_or_else(|| "(new record)".into());
    let attrs = extract_attributes(resource, obj);
    let named = crate::stages::authz::named_attributes(resource, &attrs);
    let decide = |a: &str| engine.decide_record(scope, a, &resource.entity_type, &id, &named);
    let groups = resource
        .groups
        .iter()
        .map(|g| (g.clone(), decide(&format!("write.{g}"))))
        .collect();
    Ok((decide(action), groups))
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
