//! Stage 9, filter response: row and field-group decisions applied to a JSON body.
//!
//! For each record the filter extracts the attributes the routes file names, asks the
//! [`Planner`] for the record's plan (row decision + one outcome per field group: clear,
//! masked, removed), and rewrites the record in place. Decisions depend only on principal,
//! purpose, action and the extracted attributes (and the id where a policy can observe it),
//! so the planner memoises them: a page of 100 records costs as many Cedar calls as it has
//! distinct attribute tuples, not records × fields.
//!
//! What is not a record, not on the way to one and not a declared envelope key is removed;
//! an unclassified property or field is removed. This module must never let a value pass
//! that no decision covered, and never give a typed field a string mask.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::authz::{Decision, PolicyEngine, Scope};
use crate::error::RequestError;
use crate::masks::{self, MaskKind, PurposeKey};
use crate::records::{self, Token};
use crate::routing::{
    AttrSource, AttrType, AttrValue, GroupId, RecordSelector, ResourceProfile, Route,
};

/// What happens to one field group of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clear,
    Masked(MaskKind),
    Removed,
}

impl Outcome {
    fn from_decision(d: &Decision) -> Outcome {
        match (d.allow, d.mask) {
            (true, None) => Outcome::Clear,
            (true, Some(k)) => Outcome::Masked(k),
            (false, _) => Outcome::Removed,
        }
    }
}

/// All decisions for records that share the same Cedar inputs.
#[derive(Debug)]
pub struct RecordPlan {
    pub row: Decision,
    /// Indexed by [`GroupId`]; empty when the row is denied.
    pub groups: Vec<(Outcome, Decision)>,
}

impl RecordPlan {
    pub fn outcome(&self, g: GroupId) -> Outcome {
        self.groups.get(g).map_or(Outcome::Removed, |(o, _)| *o)
    }
}

type PlanKey = (Vec<Option<AttrValue>>, Option<String>);

/// Memoised record decisions for one request (one principal, purpose and resource type).
pub struct Planner<'a> {
    engine: &'a PolicyEngine,
    scope: &'a Scope,
    resource: &'a ResourceProfile,
    key_by_id: bool,
    cache: HashMap<PlanKey, Arc<RecordPlan>>,
    /// Cedar evaluations made so far.
    pub evaluations: usize,
}

impl<'a> Planner<'a> {
    pub fn new(engine: &'a PolicyEngine, scope: &'a Scope, resource: &'a ResourceProfile) -> Self {
        Self {
            engine,
            scope,
            resource,
            key_by_id: engine.id_observable(&resource.entity_type),
            cache: HashMap::new(),
            evaluations: 0,
        }
    }

    /// The plan for a record with this id and these extracted attributes.
    pub fn plan(&mut self, id: &str, attrs: Vec<Option<AttrValue>>) -> Arc<RecordPlan> {
        let key = (attrs, self.key_by_id.then(|| id.to_string()));
        if let Some(plan) = self.cache.get(&key) {
            return plan.clone();
        }
        let named: Vec<(&str, Option<&AttrValue>)> = self
            .resource
            .attributes
            .iter()
            .zip(key.0.iter())
            .map(|(spec, v)| (spec.name.as_str(), v.as_ref()))
            .collect();
        let entity_type = &self.resource.entity_type;
        let row = self
            .engine
            .decide_record(self.scope, "read", entity_type, id, &named);
        self.evaluations += 1;
        let mut groups = Vec::new();
        if row.allow {
            for g in &self.resource.groups {
                let d = self.engine.decide_record(
                    self.scope,
                    &format!("read.{g}"),
                    entity_type,
                    id,
                    &named,
                );
                self.evaluations += 1;
                groups.push((Outcome::from_decision(&d), d));
            }
        }
        let plan = Arc::new(RecordPlan { row, groups });
        self.cache.insert(key, plan.clone());
        plan
    }
}

/// Extract a record's Cedar attributes as the routes file describes them.
pub fn extract_attributes(
    resource: &ResourceProfile,
    record: &Map<String, Value>,
) -> Vec<Option<AttrValue>> {
    let props = record
        .get(&resource.properties_field)
        .and_then(Value::as_object);
    resource
        .attributes
        .iter()
        .map(|spec| {
            let raw = match &spec.source {
                AttrSource::Property(p) => props.and_then(|m| m.get(p)),
                AttrSource::Field(f) => record.get(f),
            };
            raw.and_then(|v| typed(spec.kind, v))
                .or_else(|| spec.default.clone())
        })
        .collect()
}

/// A JSON value as an attribute of the given type; `None` when absent, null or not of that
/// type (then the default applies, or the attribute stays missing).
fn typed(kind: AttrType, v: &Value) -> Option<AttrValue> {
    match (kind, v) {
        (AttrType::String, Value::String(s)) => Some(AttrValue::Str(s.clone())),
        (AttrType::Bool, Value::Bool(b)) => Some(AttrValue::Bool(*b)),
        (AttrType::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(AttrValue::Bool(true)),
            "false" => Some(AttrValue::Bool(false)),
            _ => None,
        },
        (AttrType::Long, Value::Number(n)) => n.as_i64().map(AttrValue::Long),
        (AttrType::Long, Value::String(s)) => s.parse().ok().map(AttrValue::Long),
        _ => None,
    }
}

/// The audit view of one returned record: field group names and mask kinds, never values.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecordAudit {
    pub id: String,
    pub clear: Vec<String>,
    pub masked: BTreeMap<String, String>,
    pub removed: Vec<String>,
}

/// The filtered body and what the audit record needs to know about it.
#[derive(Debug, Default)]
pub struct Filtered {
    pub body: Vec<u8>,
    pub records: Vec<RecordAudit>,
    pub dropped: Vec<String>,
    pub evaluations: usize,
    pub policies: BTreeSet<String>,
    pub errors: BTreeSet<String>,
    /// Property and field names no group classifies (removed): a vendor change to look at.
    pub unclassified: BTreeSet<String>,
    /// A single-record route whose record the row decision denied.
    pub single_denied: bool,
}

/// Filter one upstream body for this request. Fails (→ 502) on anything it cannot filter.
pub fn filter_body(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    hidden: &HashSet<String>,
    key: &PurposeKey,
    body: &[u8],
) -> Result<Filtered, RequestError> {
    let mut doc: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::Unfilterable(format!("invalid JSON ({e})")))?;
    let resource: &ResourceProfile = &route.resource;
    let mut run = Run {
        planner: Planner::new(engine, scope, resource),
        resource,
        hidden,
        key,
        out: Filtered::default(),
    };
    match &route.records {
        RecordSelector::Root => {
            if !run.filter_record(&mut doc)? {
                run.out.single_denied = true;
            }
        }
        RecordSelector::Path { query, .. } => {
            let Value::Object(_) = doc else {
                return Err(RequestError::Unfilterable(
                    "the body is not a JSON object".into(),
                ));
            };
            let paths = records::select(query, &doc).map_err(RequestError::Unfilterable)?;
            let mut tree = Node::default();
            for p in paths {
                tree.insert(&p);
            }
            run.prune(&mut doc, &tree, Some(&route.envelope))?;
        }
    }
    run.out.evaluations = run.planner.evaluations;
    let mut out = run.out;
    if !out.single_denied {
        out.body = serde_json::to_vec(&doc)
            .map_err(|e| RequestError::Internal(format!("serialize: {e}")))?;
    }
    Ok(out)
}

/// The selected record locations as a tree, so one walk prunes and filters.
#[derive(Default)]
struct Node {
    record: bool,
    children: BTreeMap<Token, Node>,
}

impl Node {
    fn insert(&mut self, path: &[Token]) {
        match path.split_first() {
            None => self.record = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }
}

struct Run<'a> {
    planner: Planner<'a>,
    resource: &'a ResourceProfile,
    hidden: &'a HashSet<String>,
    key: &'a PurposeKey,
    out: Filtered,
}

impl Run<'_> {
    /// Walk the document along the selected paths. Records are filtered (or dropped);
    /// containers keep only what leads to kept records; at the top level the envelope keys
    /// are kept as they are. Returns whether `value` is kept.
    fn prune(
        &mut self,
        value: &mut Value,
        node: &Node,
        envelope: Option<&[String]>,
    ) -> Result<bool, RequestError> {
        if node.record {
            return self.filter_record(value);
        }
        match value {
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    let keep = match node.children.get(&Token::Key(k.clone())) {
                        Some(child) => match map.get_mut(&k) {
                            Some(v) => self.prune(v, child, None)?,
                            None => false,
                        },
                        None => envelope.is_some_and(|e| e.contains(&k)),
                    };
                    if !keep {
                        map.remove(&k);
                    }
                }
            }
            Value::Array(items) => {
                let old = std::mem::take(items);
                for (i, mut item) in old.into_iter().enumerate() {
                    if let Some(child) = node.children.get(&Token::Index(i)) {
                        if self.prune(&mut item, child, None)? {
                            items.push(item);
                        }
                    }
                }
            }
            // A scalar on the way to a record cannot hold one: drop it.
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Filter one record in place; `false` when the row decision drops it.
    fn filter_record(&mut self, value: &mut Value) -> Result<bool, RequestError> {
        let res = self.resource;
        let Value::Object(record) = value else {
            return Err(RequestError::Unfilterable(
                "a record is not a JSON object".into(),
            ));
        };
        let id = match record.get(&res.id_field) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            // fail closed: a record without an id cannot be decided on or audited.
            _ => return Err(RequestError::Unfilterable("a record has no id".into())),
        };
        let attrs = extract_attributes(res, record);
        let plan = self.planner.plan(&id, attrs);
        self.out.policies.extend(plan.row.policies.iter().cloned());
        self.out.errors.extend(plan.row.errors.iter().cloned());
        if !plan.row.allow {
            self.out.dropped.push(id);
            return Ok(false);
        }
        for (_, d) in &plan.groups {
            self.out.errors.extend(d.errors.iter().cloned());
        }
        let mut present: u64 = 0;
        let keys: Vec<String> = record.keys().cloned().collect();
        for k in keys {
            let keep = if k == res.id_field {
                true
            } else if k == res.properties_field {
                match record.get_mut(&k) {
                    Some(Value::Object(props)) => {
                        self.filter_properties(props, &plan, &mut present, false);
                        true
                    }
                    Some(Value::Null) => true,
                    _ => {
                        return Err(RequestError::Unfilterable(
                            "`properties` is not an object".into(),
                        ))
                    }
                }
            } else if res.history_field.as_deref() == Some(k.as_str()) {
                match record.get_mut(&k) {
                    Some(Value::Object(hist)) => {
                        self.filter_properties(hist, &plan, &mut present, true);
                        true
                    }
                    Some(Value::Null) => true,
                    _ => {
                        return Err(RequestError::Unfilterable(
                            "the property history is not an object".into(),
                        ))
                    }
                }
            } else if let Some(&g) = res.field_groups.get(&k) {
                present |= 1 << g;
                // Typed fields are kept or removed, never masked into a string.
                plan.outcome(g) == Outcome::Clear
            } else {
                self.out.unclassified.insert(k.clone());
                false
            };
            if !keep {
                record.remove(&k);
            }
        }
        self.out.records.push(audit_view(res, &id, &plan, present));
        Ok(true)
    }

    /// Filter a property map (`properties`) or a history map (`propertiesWithHistory`).
    fn filter_properties(
        &mut self,
        props: &mut Map<String, Value>,
        plan: &RecordPlan,
        present: &mut u64,
        history: bool,
    ) {
        let res = self.resource;
        let key = self.key;
        let hidden = self.hidden;
        let unclassified = &mut self.out.unclassified;
        props.retain(|name, v| {
            // Properties crmgate asked for only to decide: the client never asked for them.
            if hidden.contains(name) {
                return false;
            }
            let Some(&g) = res.property_groups.get(name) else {
                unclassified.insert(name.clone());
                return false;
            };
            *present |= 1 << g;
            match plan.outcome(g) {
                Outcome::Removed => false,
                Outcome::Clear if !history => true,
                outcome if history => filter_versions(v, outcome, key),
                Outcome::Masked(kind) => match masks::apply(kind, v, key) {
                    Some(masked) => {
                        *v = masked;
                        true
                    }
                    None => false,
                },
                Outcome::Clear => true,
            }
        });
    }
}

/// Keep the documented parts of each history version, masking the value.
fn filter_versions(v: &mut Value, outcome: Outcome, key: &PurposeKey) -> bool {
    let Value::Array(versions) = v else {
        return false;
    };
    versions.retain_mut(|ver| {
        let Value::Object(m) = ver else {
            return false;
        };
        // Who changed a value (`sourceId`, `updatedByUserId`) is about employees, not the
        // customer, and no group classifies it: only value, timestamp and source type stay.
        m.retain(|k, _| matches!(k.as_str(), "value" | "timestamp" | "sourceType"));
        if let Outcome::Masked(kind) = outcome {
            if let Some(val) = m.get_mut("value") {
                match masks::apply(kind, val, key) {
                    Some(masked) => *val = masked,
                    None => {
                        m.remove("value");
                    }
                }
            }
        }
        true
    });
    true
}

fn audit_view(res: &ResourceProfile, id: &str, plan: &RecordPlan, present: u64) -> RecordAudit {
    let mut a = RecordAudit {
        id: id.to_string(),
        clear: Vec::new(),
        masked: BTreeMap::new(),
        removed: Vec::new(),
    };
    for (g, name) in res.groups.iter().enumerate() {
        if present & (1 << g) == 0 {
            continue;
        }
        match plan.outcome(g) {
            Outcome::Clear => a.clear.push(name.clone()),
            Outcome::Masked(k) => {
                a.masked.insert(name.clone(), k.name().to_string());
            }
            Outcome::Removed => a.removed.push(name.clone()),
        }
    }
    a
}
