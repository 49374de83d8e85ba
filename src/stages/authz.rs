//! Stages 6 and 9 (decisions): the Cedar policy engine.
//!
//! Loads the schema, the policies (each with a stable id and its file and line), the
//! entities and the mask annotations, validates everything strictly at start-up, and answers
//! decisions. Two rules hold everywhere: any Cedar evaluation error is a denial (Cedar skips
//! a policy that errors, so a failing `forbid` would otherwise let a `permit` win), and only
//! this module can mint a [`Permit`] (in [`permit`]), the proof that one exact upstream
//! request was authorized, which the upstream call consumes.
//!
//! It must never turn a Cedar error into an allow.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, EvalResult, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;
use sha2::{Digest, Sha256};

use crate::config::PolicyFiles;
use crate::diagnostic::{json_array_elements, line_col};
use crate::error::RequestError;
use crate::routes::{AttrType, AttrValue, Route, RouteTable};
use crate::stages::filter::masks::MaskKind;

/// Start-up problems of the policy folder are the one problem type of every start-up file.
pub use crate::diagnostic::{Problem, Problems};

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

/// The outcome of one Cedar decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    /// Determining policies (sorted): the satisfied permits on allow, the satisfied
    /// forbids on an explicit deny, none on default deny.
    pub policies: Vec<String>,
    /// Evaluation errors; non-empty always means deny.
    pub errors: Vec<String>,
    /// On allow: the most restrictive mask of the satisfied permits (`None` = clear).
    pub mask: Option<MaskKind>,
}

impl Decision {
    fn deny_with_error(message: String) -> Decision {
        Decision {
            allow: false,
            policies: Vec::new(),
            errors: vec![message],
            mask: None,
        }
    }
}

mod permit;
mod plan;
mod write;
pub use permit::{Allowed, Permit, RecordRead};
pub use plan::{
    cartesian, selectability, Outcome, PlanMemo, PlanMemoKey, Planner, RecordPlan, RowCondition,
    Selectability, OTHER_VALUE, UNOBSERVED_ID,
};
pub use write::{named_attributes, WriteDecision};

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

use crate::fasthash::FastMap;

/// A bounded map shared by all requests of one policy revision. It lives inside the
/// [`PolicyEngine`], so a new revision (a reload) starts with an empty memo: a decision is
/// never served from another revision. When full it is emptied, which bounds its memory and
/// costs only re-evaluations. A poisoned lock is a miss, never a panic.
pub struct Memo<K, V> {
    map: Mutex<FastMap<K, V>>,
    cap: usize,
}

impl<K, V> fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo").field("cap", &self.cap).finish()
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub fn new(cap: usize) -> Self {
        Memo {
            map: Mutex::new(FastMap::default()),
            cap,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.cap {
                map.clear();
            }
            map.insert(key, value);
        }
    }

    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Most request-level decisions memoised per revision (principal × purpose × route).
const REQUEST_MEMO_ENTRIES: usize = 4096;
/// Most record plans memoised per revision; one plan is a few hundred bytes.
const PLAN_MEMO_ENTRIES: usize = 16384;

/// Request-level memo key: scope, action, collection.
type RequestKey = (Arc<str>, String, String);

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
    /// Record plans of this revision (see [`crate::stages::filter::Planner`]).
    plans: PlanMemo,
    /// Write decisions of this revision (see [`WriteDecision`]).
    writes: write::WriteMemo,
    /// `redact.<category>` decisions of this revision.
    redactions: write::RedactMemo,
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("revision", &self.revision)
            .field("policies", &self.info.len())
            .finish()
    }
}

/// One file's share of the revision hash: its kind, length and text, so that text moved
/// from one file to another is a new revision too.
fn revision_part(hasher: &mut Sha256, kind: &str, text: &str) {
    hasher.update(kind.as_bytes());
    hasher.update([0u8]);
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

impl PolicyEngine {
    /// Load schema, policies and entities, and check them against each other and against
    /// the routes. Every problem found is reported, each with file and line.
    pub fn load(files: &PolicyFiles, routes: &RouteTable) -> Result<PolicyEngine, Problems> {
        Self::load_checked(files, Some(routes))
    }

    /// [`PolicyEngine::load`]; without routes (the routes file has problems of its own),
    /// every problem of schema, policies and entities is still found and returned, so that
    /// one run reports the problems of all files.
    pub fn load_checked(
        files: &PolicyFiles,
        routes: Option<&RouteTable>,
    ) -> Result<PolicyEngine, Problems> {
        let mut problems = Vec::new();
        let mut hasher = Sha256::new();

        // The revision covers every file a revision is made of (`PolicyFiles::all_files`):
        // the routes as the table was loaded from them, schema, policies, entities.
        // (Without routes no engine is built: the revision is never used.)
        revision_part(&mut hasher, "routes", routes.map_or("", RouteTable::source));
        let schema_text = read(&files.schema, &mut problems);
        revision_part(&mut hasher, "schema", &schema_text);
        let schema = match Schema::from_cedarschema_str(&schema_text) {
            Ok((schema, _warnings)) => Some(schema),
            Err(e) => {
                problems.push(diagnostic_problem(&files.schema, &schema_text, &e));
                None
            }
        };

        // Parse each file on its own so that positions refer to that file.
        let mut policies = PolicySet::new();
        let mut info: HashMap<String, PolicyInfo> = HashMap::new();
        let mut texts: HashMap<String, (PathBuf, Arc<str>)> = HashMap::new();
        for file in &files.policies {
            let text: Arc<str> = read(file, &mut problems).into();
            // The file stem names policies without an @id: a rename is a new revision.
            let stem = file.file_stem().map(|s| s.to_string_lossy());
            revision_part(
                &mut hasher,
                &format!("policies {}", stem.as_deref().unwrap_or_default()),
                &text,
            );
            let set = match PolicySet::from_str(&text) {
                Ok(set) => set,
                Err(e) => {
                    problems.push(diagnostic_problem(file, &text, &e));
                    continue;
                }
            };
            let starts = statement_starts(&text);
            let mut parsed: Vec<&Policy> = set.policies().collect();
            // `from_str` names policies policy0, policy1, … in source order.
            parsed.sort_by_key(|p| {
                p.id()
                    .to_string()
                    .trim_start_matches("policy")
                    .parse::<usize>()
                    .unwrap_or(usize::MAX)
            });
            for (i, p) in parsed.into_iter().enumerate() {
                let (line, column) = starts.get(i).map_or((0, 0), |&off| line_col(&text, off));
                let stem = file
                    .file_stem()
                    .map_or("policy".into(), |s| s.to_string_lossy());
                let id = match p.annotation("id") {
                    Some(id) => id.to_string(),
                    None => format!("{stem}:{line}"),
                };
                let at = |message: String| Problem::at_line(file, &text, line, column, message);
                if let Some(prev) = info.get(&id) {
                    problems.push(at(format!(
                        "policy id `{id}` is already used at {}:{}",
                        prev.file.display(),
                        prev.line
                    )));
                    continue;
                }
                let mask = match p.annotation("mask") {
                    None => None,
                    Some(m) => match MaskKind::from_str(m) {
                        Ok(k) if p.effect() == cedar_policy::Effect::Permit => Some(k),
                        Ok(_) => {
                            problems.push(at(format!(
                                "policy `{id}`: @mask on a forbid has no meaning; a forbid removes"
                            )));
                            continue;
                        }
                        Err(e) => {
                            // At the mask's value, not at the statement's first line (an
                            // `@id` above it).
                            let end = starts.get(i + 1).copied().unwrap_or(text.len());
                            let problem = match annotation_value_at(
                                &text,
                                starts.get(i).copied().unwrap_or(0),
                                end,
                                "mask",
                            ) {
                                Some(offset) => {
                                    Problem::at(file, &text, offset, format!("policy `{id}`: {e}"))
                                }
                                None => at(format!("policy `{id}`: {e}")),
                            };
                            problems.push(problem);
                            continue;
                        }
                    },
                };
                for (key, _) in p.annotations() {
                    if !["id", "mask", "description"].contains(&key) {
                        problems.push(at(format!(
                            "policy `{id}`: unknown annotation `@{key}` (known: @id, @mask, @description)"
                        )));
                    }
                }
                if let Err(e) = policies.add(p.new_id(PolicyId::new(&id))) {
                    problems.push(at(format!("policy `{id}`: {e}")));
                    continue;
                }
                info.insert(
                    id.clone(),
                    PolicyInfo {
                        file: file.clone(),
                        line,
                        mask,
                    },
                );
                texts.insert(id, (file.clone(), text.clone()));
            }
        }

        let entities_text = read(&files.entities, &mut problems);
        revision_part(&mut hasher, "entities", &entities_text);
        // The redaction rules decide what a write stores: a change to them is a new revision.
        if let Some(dir) = &files.redaction {
            let mut rules: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            rules.sort();
            for f in rules
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "toml"))
            {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
                let text = std::fs::read_to_string(f).unwrap_or_default();
                revision_part(
                    &mut hasher,
                    &format!("redaction {}", name.unwrap_or_default()),
                    &text,
                );
            }
        }
        let revision = hex::encode(hasher.finalize().get(..8).unwrap_or(&[]));

        let Some(schema) = schema else {
            return Err(Problems(problems));
        };

        // Strict validation: every policy must type-check against the schema.
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        for e in validation.validation_errors() {
            let id = e.policy_id().to_string();
            let (file, text) = texts
                .get(&id)
                .cloned()
                .unwrap_or_else(|| (files.schema.clone(), Arc::from("")));
            let mut p = diagnostic_problem(&file, &text, e);
            if !p.message.contains(&id) {
                p.message = format!("policy `{id}`: {}", p.message);
            }
            if p.line == 0 {
                if let Some(i) = info.get(&id) {
                    p = Problem::at_line(&file, &text, i.line, 1, p.message);
                }
            }
            problems.push(p);
        }

        let entities = load_entities(&files.entities, &entities_text, &schema, &mut problems);

        let actions: HashMap<String, EntityUid> = schema
            .actions()
            .map(|a| (a.id().unescaped().to_string(), a.clone()))
            .collect();
        let Some(routes) = routes else {
            return Err(Problems(problems));
        };
        check_routes_against_schema(
            routes,
            &schema,
            &actions,
            files,
            &schema_text,
            &mut problems,
        );

        let Some(entities) = entities else {
            return Err(Problems(problems));
        };
        if !problems.is_empty() {
            return Err(Problems(problems));
        }

        // Action groups (`access`, `read.fields`) are entities too: every decision's store
        // carries them, or `action in Action::"…"` would never hold.
        let action_entities: Vec<Entity> = match schema.action_entities() {
            Ok(a) => a.iter().cloned().collect(),
            Err(e) => return Err(Problems(vec![Problem::file(&files.schema, flatten(&e))])),
        };
        let departments = departments_of(&entities, &action_entities);
        let principals = principals_of(&entities, &action_entities).map_err(|(uid, m)| {
            Problems(vec![entity_problem(
                &files.entities,
                &entities_text,
                &uid,
                true,
                m,
            )])
        })?;

        let mut id_observable = HashSet::new();
        for resource in routes.resources() {
            let observable = policies.policies().any(|p| {
                p.entity_literals()
                    .iter()
                    .any(|uid| uid.type_name().to_string() == resource.entity_type)
            }) || entities
                .iter()
                .any(|e| entity_refers_to(e, &resource.entity_type));
            if observable {
                id_observable.insert(resource.entity_type.clone());
            }
        }

        let policy_text = policies
            .policies()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");

        Ok(PolicyEngine {
            schema,
            policies,
            info,
            principals,
            departments,
            actions,
            id_observable,
            policy_text,
            authorizer: Authorizer::new(),
            revision,
            requests: Memo::new(REQUEST_MEMO_ENTRIES),
            plans: Memo::new(PLAN_MEMO_ENTRIES),
            writes: Memo::new(PLAN_MEMO_ENTRIES),
            redactions: Memo::new(REQUEST_MEMO_ENTRIES),
        })
    }

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

    /// The request-level decision on a route for one method and canonical path. Only an
    /// allow mints the [`Allowed`] from which the upstream call's [`Permit`] is made.
    pub fn authorize_request(
        &self,
        scope: &Scope,
        route: &Route,
        method: &http::Method,
        path: &str,
    ) -> (Decision, Option<Allowed>) {
        let decision = self.decide_request(scope, &route.action, &route.resource.collection);
        let allowed = decision
            .allow
            .then(|| Allowed::new(&route.name, method, path, route.write().is_some()));
        (decision, allowed)
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

/// Parse the entities file against the schema. Cedar stops at the first bad entity: on a
/// failure each entity is checked on its own, so that every bad one is reported, at the line
/// where it starts.
fn load_entities(
    file: &Path,
    text: &str,
    schema: &Schema,
    problems: &mut Vec<Problem>,
) -> Option<Entities> {
    let json = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => json,
        Err(e) => {
            let message = format!("invalid JSON: {e}");
            problems.push(Problem::at_line(file, text, e.line(), e.column(), message));
            return None;
        }
    };
    let all = match Entities::from_json_value(json.clone(), Some(schema)) {
        Ok(e) => return Some(e),
        Err(e) => e,
    };
    let starts = json_array_elements(text);
    let items = json.as_array().map(Vec::as_slice).unwrap_or_default();
    let before = problems.len();
    for (i, item) in items.iter().enumerate() {
        let alone = serde_json::Value::Array(vec![item.clone()]);
        if let Err(e) = Entities::from_json_value(alone, Some(schema)) {
            let message = flatten(&e);
            problems.push(match starts.get(i) {
                Some(&offset) => Problem::at(file, text, offset, message),
                None => Problem::file(file, message),
            });
        }
    }
    if problems.len() == before {
        // Wrong only together (an entity listed twice): the last entity the message names.
        let message = flatten(&all);
        let at = items
            .iter()
            .zip(&starts)
            .filter(|(item, _)| element_uid(item).is_some_and(|u| message.contains(&u)))
            .map(|(_, &offset)| offset)
            .next_back();
        problems.push(match at {
            Some(offset) => Problem::at(file, text, offset, message),
            None => Problem::file(file, message),
        });
    }
    None
}

/// `Type::"id"` of an element of the entities file, as cedar prints it.
fn element_uid(item: &serde_json::Value) -> Option<String> {
    let uid = item.get("uid")?;
    let uid = uid.get("__entity").unwrap_or(uid);
    let t = uid.get("type")?.as_str()?;
    let id = uid.get("id")?.as_str()?;
    Some(format!("{t}::{}", serde_json::Value::from(id)))
}

/// A problem about one entity, at the line where it starts in the entities file (the last
/// of several with that uid when `last`).
fn entity_problem(file: &Path, text: &str, uid: &str, last: bool, message: String) -> Problem {
    let wanted = uid;
    let items: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
    let mut at = items
        .iter()
        .zip(json_array_elements(text))
        .filter(|(item, _)| element_uid(item).as_deref() == Some(wanted))
        .map(|(_, offset)| offset);
    let offset = if last { at.next_back() } else { at.next() };
    match offset {
        Some(offset) => Problem::at(file, text, offset, message),
        None => Problem::file(file, message),
    }
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::file(path, format!("cannot read: {e}")));
            String::new()
        }
    }
}

/// A cedar diagnostic (with source spans) as a problem with line and column.
fn diagnostic_problem(file: &Path, text: &str, e: &impl Diagnostic) -> Problem {
    let offset = first_label_offset(e);
    let (line, column) = offset.map_or((0, 0), |o| line_col(text, o));
    let mut message = flatten(e);
    if let Some(help) = e.help() {
        message = format!("{message} (help: {help})");
    }
    Problem::at_line(file, text, line, column, message)
}

fn first_label_offset(e: &dyn Diagnostic) -> Option<usize> {
    if let Some(mut labels) = e.labels() {
        if let Some(l) = labels.next() {
            return Some(l.offset());
        }
    }
    if let Some(related) = e.related() {
        for r in related {
            if let Some(mut labels) = r.labels() {
                if let Some(l) = labels.next() {
                    return Some(l.offset());
                }
            }
        }
    }
    None
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

/// Where the value of annotation `@name(…)` is written in the statement `text[start..end]`
/// (the offset of its opening quote), if it is there.
fn annotation_value_at(text: &str, start: usize, end: usize, name: &str) -> Option<usize> {
    let statement = text.get(start..end)?;
    let needle = format!("@{name}");
    let mut from = 0;
    while let Some(found) = statement.get(from..)?.find(&needle) {
        let after = from + found + needle.len();
        let rest = statement.get(after..)?;
        let open = rest.trim_start();
        // `@mask(` and not `@masks(`.
        if let Some(inner) = open.strip_prefix('(') {
            let quote = inner.len() - inner.trim_start().len();
            let value_at = after + (rest.len() - open.len()) + 1 + quote;
            return Some(start + value_at);
        }
        from = after;
    }
    None
}

/// Byte offsets where each policy statement starts (annotations included), in order:
/// statements end at `;` outside strings and comments.
fn statement_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    let mut in_statement = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                if !in_statement {
                    starts.push(i);
                    in_statement = true;
                }
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                continue;
            }
            b';' => in_statement = false,
            c if c.is_ascii_whitespace() => {}
            _ => {
                if !in_statement {
                    starts.push(i);
                    in_statement = true;
                }
            }
        }
        i += 1;
    }
    starts
}

fn check_routes_against_schema(
    routes: &RouteTable,
    schema: &Schema,
    actions: &HashMap<String, EntityUid>,
    files: &PolicyFiles,
    schema_text: &str,
    problems: &mut Vec<Problem>,
) {
    // About the schema: at the line that declares the action, where there is one.
    let in_schema = |needle: &str, message: String| match schema_text.find(needle) {
        Some(offset) => Problem::at(&files.schema, schema_text, offset, message),
        None => Problem::file(&files.schema, message),
    };
    let types: BTreeSet<String> = schema.entity_types().map(ToString::to_string).collect();
    if !types.contains("Collection") {
        problems.push(in_schema(
            "entity Collection",
            "the schema must declare `entity Collection` for request-level decisions".into(),
        ));
    }
    let mut written: BTreeSet<&str> = BTreeSet::new();
    for (i, route) in routes.routes().iter().enumerate() {
        if !actions.contains_key(&route.action) {
            let at = format!("{}.action", RouteTable::route_path(i));
            problems.push(routes.problem(
                &at,
                format!(
                    "route `{}`: action `{}` is not declared in the schema",
                    route.name, route.action
                ),
            ));
        }
        if let Some(kind) = route.write() {
            written.insert(&route.resource.entity_type);
            let needed: &[&str] = match kind {
                crate::routes::WriteKind::Upsert => &["create", "update"],
                k => &[k.action()],
            };
            for a in needed {
                if !actions.contains_key(*a) {
                    let at = format!("{}.body", RouteTable::route_path(i));
                    problems.push(routes.problem(
                        &at,
                        format!(
                            "route `{}`: its records are decided by the action `{a}`, which the schema does not declare",
                            route.name
                        ),
                    ));
                }
            }
        }
    }
    // Every property group of a resource that is written needs its `write.<group>`: a group
    // without one could never be written, which is almost always a forgotten declaration.
    for res in routes.resources() {
        if !written.contains(res.entity_type.as_str()) {
            continue;
        }
        let mut groups: Vec<&String> = res
            .property_groups
            .values()
            .filter_map(|&g| res.groups.get(g))
            .collect();
        groups.sort();
        groups.dedup();
        for g in groups {
            if !actions.contains_key(&format!("write.{g}")) {
                problems.push(routes.problem(
                    &format!("resources.{}.properties.{g}", res.entity_type),
                    format!(
                        "resource `{}` is written, but the schema declares no action `write.{g}` for its field group `{g}`",
                        res.entity_type
                    ),
                ));
            }
        }
    }
    // A field action no resource classifies is dead: policies on it never apply, which is
    // almost always a typo in the routes file or the schema.
    let groups_of_actions: BTreeSet<String> = schema
        .action_groups()
        .map(|a| a.id().unescaped().to_string())
        .collect();
    let classified: BTreeSet<&str> = routes
        .resources()
        .flat_map(|r| r.groups.iter().map(String::as_str))
        .collect();
    let mut leaf: Vec<&String> = actions
        .keys()
        .filter(|a| {
            (a.starts_with("read.") || a.starts_with("write.")) && !groups_of_actions.contains(*a)
        })
        .collect();
    leaf.sort();
    for a in leaf {
        let g = a.trim_start_matches("read.").trim_start_matches("write.");
        if !classified.contains(g) {
            problems.push(in_schema(
                &format!("\"{a}\""),
                format!(
                    "action `{a}`: no resource has a field group `{g}`, so no policy on it can apply"
                ),
            ));
        }
    }
    if !actions.contains_key("read") {
        problems.push(Problem::file(
            &files.schema,
            "the schema must declare the row action `read`",
        ));
    }
    for res in routes.resources() {
        let at = format!("resources.{}", res.entity_type);
        if !types.contains(&res.entity_type) {
            problems.push(routes.problem(
                &at,
                format!(
                    "resource `{}` is not an entity type of the schema",
                    res.entity_type
                ),
            ));
            continue;
        }
        for g in &res.groups {
            let action = format!("read.{g}");
            if !actions.contains_key(&action) {
                let kind = if res
                    .property_groups
                    .values()
                    .any(|&id| res.group_id(g) == Some(id))
                {
                    "properties"
                } else {
                    "fields"
                };
                problems.push(routes.problem(
                    &format!("{at}.{kind}.{g}"),
                    format!(
                        "resource `{}`: field group `{g}` has no action `{action}` in the schema",
                        res.entity_type
                    ),
                ));
            }
        }
        // The extracted attributes must be exactly what the schema declares: build a sample
        // entity from the attribute types and let the schema judge it.
        let attrs: HashMap<String, RestrictedExpression> = res
            .attributes
            .iter()
            .map(|a| {
                let v = match a.kind {
                    AttrType::String => RestrictedExpression::new_string(String::new()),
                    AttrType::Bool => RestrictedExpression::new_bool(false),
                    AttrType::Long => RestrictedExpression::new_long(0),
                };
                (a.name.clone(), v)
            })
            .collect();
        let checked = uid(&res.entity_type, "sample")
            .and_then(|u| Entity::new(u, attrs, HashSet::new()).map_err(|e| e.to_string()))
            .and_then(|e| {
                Entities::from_entities([e], Some(schema))
                    .map(|_| ())
                    .map_err(|e| flatten(&e))
            });
        if let Err(e) = checked {
            problems.push(routes.problem(
                &format!("{at}.attributes"),
                format!(
                    "resource `{}`: its attributes do not match the schema: {e}",
                    res.entity_type
                ),
            ));
        }
    }
}

fn principals_of(
    entities: &Entities,
    action_entities: &[Entity],
) -> Result<HashMap<String, Arc<PrincipalInfo>>, (String, String)> {
    let mut out = HashMap::new();
    for e in entities.iter() {
        let uid = e.uid();
        let type_name = uid.type_name().to_string();
        if type_name != "User" && type_name != "App" {
            continue;
        }
        let department = match e.attr("department") {
            Some(Ok(EvalResult::String(s))) => Some(s),
            _ => None,
        };
        // fail closed: a principal without `active = true` is inactive.
        let active = matches!(e.attr("active"), Some(Ok(EvalResult::Bool(true))));
        let mut own = vec![e.clone()];
        own.extend(action_entities.iter().cloned());
        for a in entities.ancestors(&uid).into_iter().flatten() {
            if let Some(anc) = entities.get(a) {
                own.push(anc.clone());
            }
        }
        let sub = Entities::from_entities(own, None).map_err(|e| (uid.to_string(), flatten(&e)))?;
        let id = uid.id().unescaped().to_string();
        // Users and Apps share the id space of credentials: an id used twice is ambiguous.
        if out.contains_key(&id) {
            return Err((
                uid.to_string(),
                format!("principal id `{id}` is used by more than one entity"),
            ));
        }
        out.insert(
            id.clone(),
            Arc::new(PrincipalInfo {
                uid,
                id,
                department,
                active,
                claimed_roles: None,
                entities: sub,
                memo_fingerprint: OnceLock::new(),
            }),
        );
    }
    Ok(out)
}

/// Each `Department` entity with its ancestors and the action entities, by id.
fn departments_of(entities: &Entities, action_entities: &[Entity]) -> HashMap<String, Vec<Entity>> {
    let mut out = HashMap::new();
    for e in entities.iter() {
        let uid = e.uid();
        if uid.type_name().to_string() != "Department" {
            continue;
        }
        let mut own = vec![e.clone()];
        own.extend(action_entities.iter().cloned());
        for a in entities.ancestors(&uid).into_iter().flatten() {
            if let Some(anc) = entities.get(a) {
                own.push(anc.clone());
            }
        }
        out.insert(uid.id().unescaped().to_string(), own);
    }
    out
}

fn entity_refers_to(e: &Entity, entity_type: &str) -> bool {
    fn walk(v: &EvalResult, t: &str) -> bool {
        match v {
            EvalResult::EntityUid(u) => u.type_name().to_string() == t,
            EvalResult::Set(s) => s.iter().any(|x| walk(x, t)),
            EvalResult::Record(r) => r.iter().any(|(_, x)| walk(x, t)),
            _ => false,
        }
    }
    let json = e.to_json_value().ok();
    let names: Vec<String> = json
        .as_ref()
        .and_then(|j| j.get("attrs"))
        .and_then(|a| a.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names
        .iter()
        .any(|n| matches!(e.attr(n), Some(Ok(v)) if walk(&v, entity_type)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

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

    #[test]
    fn statement_starts_skip_comments_and_strings() {
        let text = "// a;\n@id(\"x;y\")\npermit(principal, action, resource);\n\nforbid(principal, action, resource) when { \"a;b\" == \"\" };\n";
        let starts = statement_starts(text);
        assert_eq!(starts.len(), 2);
        assert_eq!(line_col(text, starts[0]).0, 2);
        assert_eq!(line_col(text, starts[1]).0, 5);
    }
}
