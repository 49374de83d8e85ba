//! The policy engine (stages 6 and 9 decide with it): the Cedar schema, policies (each with a
//! stable id and its file and line), entities and mask annotations of one revision, loaded
//! and validated strictly at start-up ([`load`]), and the decisions asked of them: on a
//! request, on a record ([`plan`]), on a write ([`write`]), each memoised per revision
//! ([`memo`]).
//!
//! Any Cedar evaluation error is a denial (Cedar skips a policy that errors, so a failing
//! `forbid` would otherwise let a `permit` win). The proofs that a request was authorized
//! (`Allowed`, `Permit`) are not minted here but by the authorize stage, from these
//! decisions.
//!
//! It must never turn a Cedar error into an allow, nor answer a decision from anything but
//! Cedar on the inputs the memo key holds.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema,
};
use sha2::{Digest, Sha256};

use crate::error::RequestError;
use crate::policy::decision::Decision;
use crate::policy::memo::{IndependenceMemo, Memo, PlanMemo, RedactMemo, RequestKey, WriteMemo};
use crate::policy::obligations::MaskKind;
use crate::routes::AttrValue;

mod check;
pub mod decision;
mod load;
pub mod memo;
pub mod obligations;
pub mod plan;
pub mod write;

/// Where a policy came from and what it obliges.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub file: PathBuf,
    pub line: usize,
    pub mask: Option<MaskKind>,
}

/// A caller known to the policies: a `User` or an `App` of the entities file.
#[derive(Debug)]
pub struct PrincipalInfo {
    pub uid: EntityUid,
    pub id: String,
    pub department: Option<String>,
    pub active: bool,
    /// `Some(roles)` when an identity provider's token described this principal
    /// (`directory = "claims"`) instead of the entities file.
    pub claimed_roles: Option<Vec<String>>,
    /// The principal and its ancestors: all a decision needs besides the resource.
    entities: Entities,
    /// What decisions are memoised under: derived from `entities` itself on first use (never
    /// copied from another principal), so two principals with the same uid but different
    /// attributes — e.g. roles taken from a token — never share a memoised decision.
    memo_fingerprint: OnceLock<Arc<str>>,
}

impl PrincipalInfo {
    /// Everything Cedar can read about this principal: each entity of its store (attributes
    /// and parents) except the schema's action entities, in a stable order.
    fn memo_fingerprint(&self) -> Arc<str> {
        self.memo_fingerprint
            .get_or_init(|| {
                let mut parts: Vec<String> = Vec::new();
                for e in self.entities.iter() {
                    if e.uid().type_name().basename() == "Action" {
                        continue;
                    }
                    match e.to_json_value() {
                        Ok(v) => parts.push(v.to_string()),
                        // fail closed: a principal that cannot be described shares nothing.
                        Err(_) => parts.push(uuid::Uuid::new_v4().to_string()),
                    }
                }
                parts.sort();
                // A digest keeps memo keys short (they are hashed on every lookup).
                let digest = Sha256::digest(parts.join("\n").as_bytes());
                format!("{}#{}", self.uid, hex::encode(digest)).into()
            })
            .clone()
    }
}

/// Everything a request puts into the Cedar context. The scope's memo key is derived from
/// it: add a field here and decisions are keyed by it too.
#[derive(serde::Serialize)]
struct ContextInputs<'a> {
    purpose: &'a str,
}

/// What every decision of one request shares: who, for which purpose.
#[derive(Debug)]
pub struct Scope {
    pub principal: Arc<PrincipalInfo>,
    pub purpose: String,
    /// The context's inputs as JSON; the Cedar [`Context`] is built from them on the first
    /// evaluation only (most requests are answered from the memo and never need it).
    inputs: serde_json::Value,
    context: OnceLock<Result<Context, String>>,
    /// Everything of this scope that Cedar can observe (principal uid and the whole
    /// context), as one memo key. Built in [`PolicyEngine::scope`] from the same values as
    /// the context: whoever adds a context attribute adds it there, to both.
    memo_key: Arc<str>,
    /// Cedar evaluations made for this request (memo hits are not evaluations).
    evaluations: AtomicUsize,
}

impl Scope {
    /// The memo key of everything Cedar observes about principal and context.
    pub fn memo_key(&self) -> &Arc<str> {
        &self.memo_key
    }

    /// Cedar evaluations made so far for this request.
    pub fn evaluations(&self) -> usize {
        self.evaluations.load(Ordering::Relaxed)
    }
}

/// The loaded, validated policy set with everything decisions need.
pub struct PolicyEngine {
    schema: Schema,
    policies: PolicySet,
    info: HashMap<String, PolicyInfo>,
    principals: HashMap<String, Arc<PrincipalInfo>>,
    /// Each declared `Department` with its ancestors and the action entities: what a
    /// principal described by token claims is decided with.
    departments: HashMap<String, Vec<Entity>>,
    actions: HashMap<String, EntityUid>,
    /// Resource entity types whose record ids some policy can observe (an entity literal of
    /// that type, or an entity attribute pointing at one): their decisions are keyed by id.
    id_observable: HashSet<String>,
    /// Every policy's text, as Cedar prints it: which record attributes can matter.
    policy_text: String,
    authorizer: Authorizer,
    revision: String,
    /// Request-level decisions of this revision.
    requests: Memo<RequestKey, Decision>,
    /// Record plans of this revision (see [`plan::Planner`]).
    plans: PlanMemo,
    /// Write decisions of this revision (see [`decision::WriteDecision`]).
    writes: WriteMemo,
    /// `redact.<category>` decisions of this revision.
    redactions: RedactMemo,
    /// Which writes are decided alike whatever the stored record holds, of this revision.
    independence: IndependenceMemo,
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("revision", &self.revision)
            .field("policies", &self.info.len())
            .finish()
    }
}

impl PolicyEngine {
    /// A short hash of routes, schema, policies and entities: the policy revision in audit
    /// records.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// Every policy id of the set.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.info.keys().map(String::as_str)
    }

    pub fn policy_info(&self, id: &str) -> Option<&PolicyInfo> {
        self.info.get(id)
    }

    /// Every principal (users and apps) of the entities.
    pub fn principals(&self) -> impl Iterator<Item = &Arc<PrincipalInfo>> {
        self.principals.values()
    }

    pub fn principal(&self, id: &str) -> Option<&Arc<PrincipalInfo>> {
        self.principals.get(id)
    }

    /// Record plans memoised across the requests of this revision.
    pub fn plans(&self) -> &PlanMemo {
        &self.plans
    }

    /// Whether any policy names this record attribute at all (`resource.x`, `resource has x`,
    /// `resource["x"]`): an attribute no policy names cannot change a decision. A plain text
    /// search over the printed policies, so it can only err towards "named".
    pub fn mentions_attribute(&self, name: &str) -> bool {
        self.policy_text.contains(name)
    }

    /// Whether some policy matches a string against a pattern (`like`): values the attribute
    /// domain does not declare may then be told apart. fail closed: any mention counts.
    pub fn matches_patterns(&self) -> bool {
        self.policy_text.contains("like")
    }

    /// Whether the schema declares this action.
    pub fn has_action(&self, name: &str) -> bool {
        self.actions.contains_key(name)
    }

    /// Whether decisions on records of this type may depend on the record id.
    pub fn id_observable(&self, entity_type: &str) -> bool {
        self.id_observable.contains(entity_type)
    }

    /// The decision scope of one request.
    pub fn scope(
        &self,
        principal: Arc<PrincipalInfo>,
        purpose: &str,
    ) -> Result<Scope, RequestError> {
        // The context and the memo key come from one value: whatever Cedar can see of the
        // request is in the key, and nothing has to be kept in step by hand.
        let inputs = serde_json::to_value(ContextInputs { purpose })
            .map_err(|e| RequestError::Internal(format!("context: {e}")))?;
        // The principal's whole entity data and the context; `\0` cannot occur in either
        // part's text unescaped (JSON escapes it).
        let memo_key = format!("{}\0{}", principal.memo_fingerprint(), inputs).into();
        Ok(Scope {
            principal,
            purpose: purpose.to_string(),
            inputs,
            context: OnceLock::new(),
            memo_key,
            evaluations: AtomicUsize::new(0),
        })
    }

    /// The request-level decision: may this principal perform the action on the collection,
    /// for this purpose? Memoised per revision.
    pub fn decide_request(&self, scope: &Scope, action: &str, collection: &str) -> Decision {
        // Cedar sees principal, context, action and the collection entity (no attributes):
        // exactly the memo key.
        let key: RequestKey = (
            scope.memo_key.clone(),
            action.to_string(),
            collection.to_string(),
        );
        if let Some(d) = self.requests.get(&key) {
            return d;
        }
        let d = match uid("Collection", collection) {
            Ok(resource) => self.decide(
                scope,
                action,
                Entity::new_no_attrs(resource, HashSet::new()),
            ),
            // fail closed
            Err(e) => Decision::deny_with_error(e),
        };
        self.requests.insert(key, d.clone());
        d
    }

    /// One decision on a record entity built from extracted attributes.
    pub fn decide_record(
        &self,
        scope: &Scope,
        action: &str,
        entity_type: &str,
        id: &str,
        attrs: &[(&str, Option<&AttrValue>)],
    ) -> Decision {
        let resource = match uid(entity_type, id) {
            Ok(r) => r,
            // fail closed
            Err(e) => return Decision::deny_with_error(e),
        };
        let attrs: HashMap<String, RestrictedExpression> = attrs
            .iter()
            .filter_map(|(name, v)| {
                // A missing value stays missing: policies reading it fail, which denies.
                let v = (*v)?;
                let expr = match v {
                    AttrValue::Str(s) => RestrictedExpression::new_string(s.clone()),
                    AttrValue::Bool(b) => RestrictedExpression::new_bool(*b),
                    AttrValue::Long(l) => RestrictedExpression::new_long(*l),
                };
                Some((name.to_string(), expr))
            })
            .collect();
        match Entity::new(resource, attrs, HashSet::new()) {
            Ok(entity) => self.decide(scope, action, entity),
            // fail closed: a record we cannot describe to Cedar is denied.
            Err(e) => Decision::deny_with_error(format!("record entity: {e}")),
        }
    }

    fn decide(&self, scope: &Scope, action: &str, resource: Entity) -> Decision {
        let Some(action_uid) = self.actions.get(action) else {
            // fail closed: an action the schema does not declare is denied.
            return Decision::deny_with_error(format!("unknown action `{action}`"));
        };
        let context = match scope.context.get_or_init(|| {
            Context::from_json_value(scope.inputs.clone(), None).map_err(|e| e.to_string())
        }) {
            Ok(c) => c.clone(),
            // fail closed: a context Cedar cannot take denies.
            Err(e) => return Decision::deny_with_error(format!("context: {e}")),
        };
        let request = match Request::new(
            scope.principal.uid.clone(),
            action_uid.clone(),
            resource.uid(),
            context,
            Some(&self.schema),
        ) {
            Ok(r) => r,
            Err(e) => return Decision::deny_with_error(format!("request: {e}")),
        };
        let entities = match scope
            .principal
            .entities
            .clone()
            .add_entities([resource], None)
        {
            Ok(e) => e,
            Err(e) => return Decision::deny_with_error(format!("entities: {e}")),
        };
        scope.evaluations.fetch_add(1, Ordering::Relaxed);
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policies.sort();
        // fail closed: any evaluation error denies, whatever Cedar decided without the
        // policy that failed.
        let allow = response.decision() == cedar_policy::Decision::Allow && errors.is_empty();
        let mask = if allow {
            policies
                .iter()
                .filter_map(|p| self.info.get(p).and_then(|i| i.mask))
                .max()
        } else {
            None
        };
        Decision {
            allow,
            policies,
            errors,
            mask,
        }
    }

    /// The principal with its `roles` taken from a verified credential (an OIDC roles
    /// claim) instead of the directory; department, membership and `active` stay the
    /// directory's. The changed entity is validated against the schema like the file.
    pub fn with_roles(
        &self,
        p: &PrincipalInfo,
        roles: &[String],
    ) -> Result<Arc<PrincipalInfo>, String> {
        let entity = p
            .entities
            .get(&p.uid)
            .ok_or_else(|| format!("principal `{}` has no entity", p.id))?;
        let mut json = entity.to_json_value().map_err(|e| flatten(&e))?;
        json.get_mut("attrs")
            .and_then(serde_json::Value::as_object_mut)
            .ok_or_else(|| format!("principal `{}` has no attributes", p.id))?
            .insert("roles".into(), serde_json::json!(roles));
        let updated = Entity::from_json_value(json, Some(&self.schema)).map_err(|e| flatten(&e))?;
        let others = p.entities.iter().filter(|e| e.uid() != p.uid).cloned();
        let entities =
            Entities::from_entities(others.chain([updated]), None).map_err(|e| flatten(&e))?;
        Ok(Arc::new(PrincipalInfo {
            uid: p.uid.clone(),
            id: p.id.clone(),
            department: p.department.clone(),
            active: p.active,
            claimed_roles: p.claimed_roles.clone(),
            entities,
            memo_fingerprint: OnceLock::new(),
        }))
    }

    /// A `User` that an identity provider's token describes (`directory = "claims"`): the
    /// same entity an entities file would hold — department attribute and parent, roles,
    /// active flag — validated against the schema, so it is decided on the same path, and
    /// its memo fingerprint covers the claimed values. `Ok(None)`: the department is not one
    /// the entities declare.
    pub fn claims_principal(
        &self,
        id: &str,
        department: &str,
        roles: &[String],
        active: bool,
    ) -> Result<Option<Arc<PrincipalInfo>>, String> {
        let Some(directory) = self.departments.get(department) else {
            return Ok(None);
        };
        let json = serde_json::json!({
            "uid": { "type": "User", "id": id },
            "attrs": { "department": department, "roles": roles, "active": active },
            "parents": [{ "type": "Department", "id": department }],
        });
        let user = Entity::from_json_value(json, Some(&self.schema)).map_err(|e| flatten(&e))?;
        let uid = user.uid();
        let entities = Entities::from_entities(directory.iter().cloned().chain([user]), None)
            .map_err(|e| flatten(&e))?;
        Ok(Some(Arc::new(PrincipalInfo {
            uid,
            id: id.to_string(),
            department: Some(department.to_string()),
            active,
            claimed_roles: Some(roles.to_vec()),
            entities,
            memo_fingerprint: OnceLock::new(),
        })))
    }
}

fn uid(entity_type: &str, id: &str) -> Result<EntityUid, String> {
    let type_name = EntityTypeName::from_str(entity_type)
        .map_err(|e| format!("entity type `{entity_type}`: {e}"))?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

/// An error and its sources on one line.
fn flatten(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let m = inner.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = inner.source();
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::PolicyFiles;
    use crate::routes::RouteTable;

    #[test]
    fn principals_with_one_uid_but_other_attributes_never_share_a_memo_key() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let routes = RouteTable::load(&repo.join("routes.toml")).unwrap();
        let files = PolicyFiles {
            schema: repo.join("schema.cedarschema"),
            policies: vec![repo.join("santa.cedar")],
            entities: repo.join("entities.json"),
            routes: repo.join("routes.toml"),
            redaction: None,
            retention: None,
            retention_clock: crate::retention::Clock::System,
            watch_interval: None,
            reload_settle: std::time::Duration::ZERO,
            confirm_file: "policies.confirm".into(),
        };
        let engine = PolicyEngine::load(&files, &routes).unwrap();
        let holly = engine.principal("holly").unwrap().clone();
        // The same user with other roles (as a token's roles claim could give).
        let entity = holly.entities.get(&holly.uid).unwrap();
        let mut json = entity.to_json_value().unwrap();
        json["attrs"]["roles"] = serde_json::json!(["auditor"]);
        let changed = Entity::from_json_value(json, Some(&engine.schema)).unwrap();
        let others = holly
            .entities
            .iter()
            .filter(|e| e.uid() != holly.uid)
            .cloned();
        let other_roles = Arc::new(PrincipalInfo {
            uid: holly.uid.clone(),
            id: holly.id.clone(),
            department: holly.department.clone(),
            active: holly.active,
            claimed_roles: None,
            entities: Entities::from_entities(others.chain([changed]), None).unwrap(),
            memo_fingerprint: OnceLock::new(),
        });
        let a = engine.scope(holly.clone(), "contract_fulfilment").unwrap();
        let b = engine.scope(other_roles, "contract_fulfilment").unwrap();
        let c = engine.scope(holly.clone(), "contract_fulfilment").unwrap();
        assert_ne!(a.memo_key(), b.memo_key());
        assert_eq!(a.memo_key(), c.memo_key());

        // A token describing holly as the entities do is the same principal to Cedar (the
        // same memo key); other claimed roles or another department are not.
        let roles = vec!["agent".to_string()];
        let claimed = |dept: &str, roles: &[String]| {
            let p = engine
                .claims_principal("holly", dept, roles, true)
                .unwrap()
                .unwrap();
            engine
                .scope(p, "contract_fulfilment")
                .unwrap()
                .memo_key()
                .clone()
        };
        assert_eq!(&claimed("customer_service", &roles), a.memo_key());
        assert_ne!(&claimed("sales", &roles), a.memo_key());
        assert_ne!(&claimed("customer_service", &[]), a.memo_key());
        assert!(engine
            .claims_principal("holly", "elves", &roles, true)
            .unwrap()
            .is_none());
    }
}
