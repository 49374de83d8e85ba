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

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::Range;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use crate::audit::event::{GroupsAudit, RecordAudit};
use crate::error::RequestError;
use crate::stages::authz::{Outcome, Planner, PolicyEngine, RecordPlan, Scope};
use crate::stages::routing::{RecordSelector, ResourceProfile, Route};
use crate::stages::vendor::{Named, Shown};
use masks::PurposeKey;
use records::Token;

mod lazy;
pub mod masks;
pub mod records;

/// A body crmgate may hand to a client. Only this module makes one: from what the filter
/// kept ([`Filtered::release`], [`Filtered::reshape`], [`Releasable::compose`]), or the
/// upstream body as it came for a route explicitly configured to release it so
/// ([`Releasable::unfiltered`]). The pipeline's response takes nothing else.
#[derive(Debug)]
pub struct Releasable(bytes::Bytes);

impl Releasable {
    /// The upstream body as it came: only for a route in shadow mode (or the benchmark's
    /// pass-through reference), both configured explicitly and warned about at start-up.
    pub fn unfiltered(route: &Route, body: bytes::Bytes) -> Option<Releasable> {
        (route.shadow || route.passthrough).then_some(Releasable(body))
    }

    /// A vendor's answer made of filtered documents only (a counted search's page, a
    /// refilled list): `make` gets the documents as the filter left them and writes the
    /// answer's JSON text (records are copied as the filter wrote them, not rebuilt).
    pub fn compose(
        docs: &[FilteredDoc],
        make: impl FnOnce(&[FilteredDoc]) -> Result<Vec<u8>, RequestError>,
    ) -> Result<Releasable, RequestError> {
        make(docs).map(|b| Releasable(bytes::Bytes::from(b)))
    }

    /// An answer that releases no record data (a batch's errors alone).
    pub fn without_records(value: &Value) -> Result<Releasable, RequestError> {
        serialize(value)
    }

    pub fn bytes(&self) -> &bytes::Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> bytes::Bytes {
        self.0
    }
}

/// A filtered body, taken out of its [`Filtered`] to be composed into an answer: only the
/// filter makes one.
#[derive(Debug)]
pub struct FilteredDoc(Vec<u8>);

impl FilteredDoc {
    /// The filtered JSON text.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn serialize(v: &Value) -> Result<Releasable, RequestError> {
    serde_json::to_vec(v)
        .map(|b| Releasable(bytes::Bytes::from(b)))
        .map_err(|e| RequestError::Internal(format!("serialize a filtered body: {e}")))
}

/// The filtered body and what the audit record needs to know about it. Only the filter
/// makes one (no `Default`, a private body): releasing it is releasing what was filtered.
#[derive(Debug)]
pub struct Filtered {
    /// The filtered body: released only through [`Filtered::release`] and its kin.
    body: Vec<u8>,
    pub records: Vec<RecordAudit>,
    pub dropped: Vec<String>,
    pub evaluations: usize,
    pub policies: BTreeSet<String>,
    pub errors: BTreeSet<String>,
    /// Property and field names no group classifies (removed): a vendor change to look at.
    pub unclassified: BTreeSet<String>,
    /// A single-record route whose record the row decision denied.
    pub single_denied: bool,
    /// Associated records the kept records name: shown, or left out (hidden or missing).
    pub associations: Named,
    /// Where the kept records' JSON text lies in the body, in order, when the fast path
    /// filtered a list (they are elements of one array there).
    spans: Option<Vec<Range<usize>>>,
}

impl Filtered {
    fn empty() -> Filtered {
        Filtered {
            body: Vec::new(),
            records: Vec::new(),
            dropped: Vec::new(),
            evaluations: 0,
            policies: BTreeSet::new(),
            errors: BTreeSet::new(),
            unclassified: BTreeSet::new(),
            single_denied: false,
            associations: Named::default(),
            spans: None,
        }
    }

    /// The filtered body, to read (not to release).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The filtered body, taken out to be composed into an answer (nothing is left to
    /// release as it is).
    pub fn take_doc(&mut self) -> FilteredDoc {
        FilteredDoc(std::mem::take(&mut self.body))
    }

    /// Where the kept records lie in the body, if the filter knows (taken with the body).
    pub fn take_spans(&mut self) -> Option<Vec<Range<usize>>> {
        self.spans.take()
    }

    fn value(&self) -> Result<Value, RequestError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| RequestError::Internal(format!("a filtered body: {e}")))
    }

    /// Release the filtered body as it is.
    pub fn release(self) -> Releasable {
        Releasable(bytes::Bytes::from(self.body))
    }

    /// Release the answer of a single-record write: the written record as the caller may
    /// see it, or — when the row decision hides it — the vendor's `stub` of its id (the
    /// caller wrote it and needs the id to refer to it; nothing else of the record is
    /// released).
    pub fn release_written(
        self,
        stub: impl FnOnce(&str) -> Value,
    ) -> Result<Releasable, RequestError> {
        if !self.single_denied {
            return Ok(self.release());
        }
        let Some(id) = self.dropped.first() else {
            return Err(RequestError::Internal(
                "a hidden written record without its id".into(),
            ));
        };
        serialize(&stub(id))
    }

    /// Release the filtered body reshaped by a vendor (a batch envelope over what is
    /// shown): `f` gets the body as the filter left it.
    pub fn reshape<T>(
        &self,
        f: impl FnOnce(Value) -> Result<(Value, T), RequestError>,
    ) -> Result<(Releasable, T), RequestError> {
        let (value, extra) = f(self.value()?)?;
        Ok((serialize(&value)?, extra))
    }
}

/// Filter one upstream body for this request. Fails (→ 502) on anything it cannot filter.
///
/// The common shapes take the fast path ([`lazy`]: no DOM, untouched values copied as raw
/// text); whatever it is unsure about is decided by the DOM path, the reference.
#[allow(clippy::too_many_arguments)]
pub fn filter_body(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    hidden: &HashSet<String>,
    selection: u64,
    key: &PurposeKey,
    shown: &Shown,
    body: &[u8],
) -> Result<Filtered, RequestError> {
    let mut run = Run::new(engine, scope, route, hidden, selection, key, shown);
    let fast = match &route.records {
        RecordSelector::Root => run.lazy_single(body).map(|kept| {
            run.out.single_denied = kept.is_none();
            kept.unwrap_or_default()
        }),
        RecordSelector::Path { source, .. } => lazy::simple_array_key(source)
            .and_then(|array| run.lazy_list(body, array, &route.envelope))
            .map(|(filtered, spans)| {
                run.out.spans = Some(spans);
                filtered
            }),
    };
    match fast {
        Some(filtered) => {
            run.out.evaluations = run.planner.evaluations;
            run.out.body = filtered;
            Ok(run.out)
        }
        None => filter_body_dom(engine, scope, route, hidden, selection, key, shown, body),
    }
}

/// The work the filter does for a single record the policies hide — read the record,
/// extract its attributes, make its row decision — done on a record that is never
/// released, and whatever the decision, nothing more. A record the CRM does not have
/// rehearses this on another record of the route before its 404, so that hidden and
/// missing records cost crmgate the same (no timing side channel).
pub fn rehearse_hidden(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    hidden: &HashSet<String>,
    key: &PurposeKey,
    record: &[u8],
) {
    let none = Shown::none();
    let mut run = Run::new(engine, scope, route, hidden, 0, key, &none);
    run.row_only = true;
    let rehearsed = run.lazy_single(record);
    std::hint::black_box(rehearsed);
}

/// Replace an associations value by the part naming records the caller may read; `false`
/// when none is left (the field is then removed).
fn keep_associated(value: Option<&mut Value>, shown: &Shown, named: &mut Named) -> bool {
    let Some(v) = value else {
        return false;
    };
    match shown.filter(v, named) {
        Some(kept) => {
            *v = kept;
            true
        }
        None => false,
    }
}

/// The reference filter: parse the whole body into a DOM, prune and filter it in place.
#[allow(clippy::too_many_arguments)]
fn filter_body_dom(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    hidden: &HashSet<String>,
    selection: u64,
    key: &PurposeKey,
    shown: &Shown,
    body: &[u8],
) -> Result<Filtered, RequestError> {
    let mut doc: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::Unfilterable(format!("invalid JSON ({e})")))?;
    let mut run = Run::new(engine, scope, route, hidden, selection, key, shown);
    // The reference makes each record's audit view alone: the differential tests hold the
    // fast path's shared views against these.
    run.share = 0;
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
    /// The associated records the caller may be named.
    shown: &'a Shown,
    out: Filtered,
    /// Audit views made so far, by plan and groups present (see [`Run::audit_view`]).
    views: Vec<(Arc<RecordPlan>, u64, Arc<GroupsAudit>)>,
    /// How many views to keep for sharing ([`SHARED_VIEWS`]; 0 shares none).
    share: usize,
    /// A rehearsal ([`rehearse_hidden`]): every record stops at its row decision.
    row_only: bool,
}

impl<'a> Run<'a> {
    fn new(
        engine: &'a PolicyEngine,
        scope: &'a Scope,
        route: &'a Route,
        hidden: &'a HashSet<String>,
        selection: u64,
        key: &'a PurposeKey,
        shown: &'a Shown,
    ) -> Self {
        let resource: &ResourceProfile = &route.resource;
        Run {
            planner: Planner::new(engine, scope, resource).with_selection(selection),
            resource,
            hidden,
            key,
            shown,
            out: Filtered::empty(),
            views: Vec::new(),
            share: SHARED_VIEWS,
            row_only: false,
        }
    }
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
        let attrs = crate::stages::routing::extract_attributes(res, record);
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
                // Associated ids name records: only those the caller may read are kept.
                plan.outcome(g) == Outcome::Clear
                    && (!self.shown.is_field(&k)
                        || keep_associated(
                            record.get_mut(&k),
                            self.shown,
                            &mut self.out.associations,
                        ))
            } else {
                self.out.unclassified.insert(k.clone());
                false
            };
            if !keep {
                record.remove(&k);
            }
        }
        let view = self.audit_view(id, &plan, present);
        self.out.records.push(view);
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

/// Add names to a set, cloning only those it does not hold yet (most records of a page name
/// the same few policies).
fn note_all(set: &mut BTreeSet<String>, items: &[String]) {
    for i in items {
        if !set.contains(i) {
            set.insert(i.clone());
        }
    }
}

/// How many distinct group outcomes one filter run keeps for sharing (a page has a few).
const SHARED_VIEWS: usize = 32;

impl Run<'_> {
    /// The audit view of a kept record: shared with the records before it whose present
    /// groups had the same outcomes (the view is made of nothing else).
    fn audit_view(&mut self, id: String, plan: &Arc<RecordPlan>, present: u64) -> RecordAudit {
        let groups = self.resource.groups.len();
        let same = |(p, m, _): &&(Arc<RecordPlan>, u64, Arc<GroupsAudit>)| {
            *m == present
                && (Arc::ptr_eq(p, plan)
                    || (0..groups)
                        .filter(|g| present & (1 << g) != 0)
                        .all(|g| p.outcome(g) == plan.outcome(g)))
        };
        if let Some((_, _, groups)) = self.views.iter().find(same) {
            return RecordAudit::new(id, groups.clone());
        }
        let (mut clear, mut masked, mut removed) = (Vec::new(), BTreeMap::new(), Vec::new());
        for (g, name) in self.resource.groups.iter().enumerate() {
            if present & (1 << g) == 0 {
                continue;
            }
            match plan.outcome(g) {
                Outcome::Clear => clear.push(name.clone()),
                Outcome::Masked(k) => {
                    masked.insert(name.clone(), k.name().to_string());
                }
                Outcome::Removed => removed.push(name.clone()),
            }
        }
        let groups = GroupsAudit::new(clear, masked, removed);
        if self.views.len() < self.share {
            self.views.push((plan.clone(), present, groups.clone()));
        }
        RecordAudit::new(id, groups)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::config::PolicyFiles;
    use crate::stages::authz::Decision;
    use crate::stages::routing::RouteTable;
    use crate::stages::routing::{AttrType, AttrValue};
    use std::path::Path;

    fn engine(extra_policy: &str) -> (PolicyEngine, RouteTable, tempfile::TempDir) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies.cedar");
        let shipped = std::fs::read_to_string(repo.join("santa.cedar")).unwrap();
        std::fs::write(&policies, format!("{shipped}\n{extra_policy}\n")).unwrap();
        let routes = RouteTable::load(&repo.join("routes.toml")).unwrap();
        let files = PolicyFiles {
            schema: repo.join("schema.cedarschema"),
            policies: vec![policies],
            entities: repo.join("entities.json"),
            routes: repo.join("routes.toml"),
            redaction: None,
            retention: None,
            retention_clock: crate::stages::retention::Clock::System,
            watch_interval: None,
            reload_settle: std::time::Duration::ZERO,
            confirm_file: "policies.confirm".into(),
        };
        let engine = PolicyEngine::load(&files, &routes).unwrap();
        (engine, routes, dir)
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() % items.len() as u64) as usize]
        }
    }

    fn random_attrs(rng: &mut Rng, resource: &ResourceProfile) -> Vec<Option<AttrValue>> {
        let strings = [
            "customer",
            "lead",
            "subscriber",
            "other",
            "",
            "sales",
            "field_sales",
            "wish_list_form",
            "unknown",
        ];
        resource
            .attributes
            .iter()
            .map(|spec| {
                // Missing values too: policies reading them fail, which must deny.
                if rng.next().is_multiple_of(8) {
                    return None;
                }
                Some(match spec.kind {
                    AttrType::String => AttrValue::Str((*rng.pick(&strings)).to_string()),
                    AttrType::Bool => AttrValue::Bool(rng.next().is_multiple_of(2)),
                    AttrType::Long => AttrValue::Long((rng.next() % 3) as i64),
                })
            })
            .collect()
    }

    /// The property: for random principals, purposes, records and ids, a plan served by the
    /// memos equals what Cedar decides for that record without any memo.
    fn memoised_plans_equal_uncached_decisions(extra_policy: &str, seed: u64) {
        let (engine, routes, _dir) = engine(extra_policy);
        let resource = routes.resource("Contact").unwrap().clone();
        let users = [
            "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
        ];
        let purposes = [
            "contract_fulfilment",
            "prospect_management",
            "greetings",
            "satisfaction_survey",
            "product_marketing",
            "customer_visit",
            "partner_relations",
        ];
        let by_id = engine.id_observable("Contact");
        let mut rng = Rng(seed);
        let mut served_from_memo = 0;
        // Records of a page share their attributes far more often than not: draw from a pool.
        let pool: Vec<Vec<Option<AttrValue>>> =
            (0..40).map(|_| random_attrs(&mut rng, &resource)).collect();
        for _ in 0..3000 {
            let principal = engine.principal(rng.pick::<&str>(&users)).unwrap().clone();
            let scope = engine
                .scope(principal, rng.pick::<&str>(&purposes))
                .unwrap();
            let id = (rng.next() % 12).to_string();
            let attrs = rng.pick(&pool).clone();
            let plan = Planner::new(&engine, &scope, &resource).plan(&id, attrs.clone());
            if scope.evaluations() == 0 {
                served_from_memo += 1;
            }
            let named: Vec<(&str, Option<&AttrValue>)> = resource
                .attributes
                .iter()
                .zip(attrs.iter())
                .map(|(spec, v)| (spec.name.as_str(), v.as_ref()))
                .collect();
            let same = |memo: &Decision, action: &str| {
                let fresh = engine.decide_record(&scope, action, "Contact", &id, &named);
                assert_eq!(memo.allow, fresh.allow, "{action} {id} {attrs:?}");
                assert_eq!(memo.mask, fresh.mask, "{action} {id} {attrs:?}");
                assert_eq!(memo.policies, fresh.policies, "{action} {id} {attrs:?}");
                assert_eq!(memo.errors.is_empty(), fresh.errors.is_empty());
                if by_id {
                    assert_eq!(memo, &fresh);
                }
            };
            same(&plan.row, "read");
            if plan.row.allow {
                assert_eq!(plan.groups.len(), resource.groups.len());
                for (g, name) in resource.groups.iter().enumerate() {
                    same(&plan.groups[g].1, &format!("read.{name}"));
                    assert_eq!(plan.groups[g].0, Outcome::from_decision(&plan.groups[g].1));
                }
            } else {
                assert!(plan.groups.is_empty());
            }
        }
        assert!(served_from_memo > 100, "the memo was hardly used");
    }

    #[test]
    fn memoised_plans_equal_uncached_decisions_for_the_shipped_policies() {
        memoised_plans_equal_uncached_decisions("", 0x5eed_cafe_f00d_0001);
    }

    #[test]
    fn memoised_plans_equal_uncached_decisions_when_policies_name_record_ids() {
        // A policy that names one record makes ids observable: plans are then keyed by id.
        let vip = r#"@id("vip-phone-hidden")
forbid (principal, action == Action::"read.phone", resource == Contact::"7");"#;
        memoised_plans_equal_uncached_decisions(vip, 0x5eed_cafe_f00d_0002);
    }

    fn demo_records() -> Vec<Value> {
        let crm = democrm::DemoCrm::seeded();
        (1001..1200)
            .filter_map(|id| crm.record_json("contacts", &id.to_string()))
            .collect()
    }

    fn route<'t>(routes: &'t RouteTable, name: &str) -> &'t Route {
        routes.routes().iter().find(|r| r.name == name).unwrap()
    }

    /// Both filters on one body: the same outcome, the same body (as JSON), the same audit.
    fn same_as_dom(
        engine: &PolicyEngine,
        scope: &Scope,
        route: &Route,
        hidden: &HashSet<String>,
        key: &PurposeKey,
        body: &[u8],
    ) {
        let fast = filter_body(engine, scope, route, hidden, 0, key, &Shown::none(), body);
        let dom = filter_body_dom(engine, scope, route, hidden, 0, key, &Shown::none(), body);
        match (fast, dom) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.single_denied, b.single_denied);
                if !a.single_denied {
                    let va: Value = serde_json::from_slice(&a.body).unwrap();
                    let vb: Value = serde_json::from_slice(&b.body).unwrap();
                    assert_eq!(va, vb, "{}", String::from_utf8_lossy(body));
                }
                // The fast path's record spans are exactly the records of its body.
                if let Some(spans) = &a.spans {
                    let va: Value = serde_json::from_slice(&a.body).unwrap();
                    let results = va
                        .get("results")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let by_span: Vec<Value> = spans
                        .iter()
                        .map(|r| serde_json::from_slice(&a.body[r.clone()]).unwrap())
                        .collect();
                    assert_eq!(by_span, results, "{}", String::from_utf8_lossy(body));
                    assert_eq!(spans.len(), a.records.len());
                }
                assert_eq!(a.records, b.records);
                assert_eq!(a.dropped, b.dropped);
                assert_eq!(a.policies, b.policies);
                assert_eq!(a.errors, b.errors);
                assert_eq!(a.unclassified, b.unclassified);
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "fast {a:?} / dom {b:?} on {}",
                String::from_utf8_lossy(body)
            ),
        }
    }

    const USERS: [&str; 7] = [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
    ];
    const PURPOSES: [&str; 7] = [
        "contract_fulfilment",
        "prospect_management",
        "greetings",
        "satisfaction_survey",
        "product_marketing",
        "customer_visit",
        "partner_relations",
    ];

    #[test]
    fn the_fast_path_filters_the_demo_data_exactly_like_the_dom_path() {
        let (engine, routes, _dir) = engine("");
        let list = route(&routes, "contacts.list");
        let single = route(&routes, "contacts.get");
        let records = demo_records();
        let page = serde_json::to_vec(&serde_json::json!({
            "results": records,
            "paging": {"next": {"after": "100"}},
            "unexpected": 1
        }))
        .unwrap();
        let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
        let hidden: HashSet<String> = ["consent_survey".to_string()].into();
        let none = Shown::none();
        for user in USERS {
            for purpose in PURPOSES {
                let principal = engine.principal(user).unwrap().clone();
                let scope = engine.scope(principal, purpose).unwrap();
                let key = keys.for_purpose(purpose);
                // The fast path really runs on this data (no silent fallback).
                let mut run = Run {
                    planner: Planner::new(&engine, &scope, &list.resource),
                    resource: &list.resource,
                    hidden: &hidden,
                    key: &key,
                    shown: &none,
                    out: Filtered::empty(),
                    views: Vec::new(),
                    share: SHARED_VIEWS,
                    row_only: false,
                };
                assert!(run.lazy_list(&page, "results", &list.envelope).is_some());
                same_as_dom(&engine, &scope, list, &hidden, &key, &page);
                for r in &records {
                    let body = serde_json::to_vec(r).unwrap();
                    same_as_dom(&engine, &scope, single, &hidden, &key, &body);
                }
            }
        }
    }

    #[test]
    fn records_with_one_outcome_share_an_audit_view_that_serialises_as_their_groups() {
        // Outcomes that differ between the records of one page, by a record attribute.
        let (engine, routes, _dir) = engine(
            r#"@id("test-email-not-for-leads")
            forbid (principal, action == Action::"read.email", resource is Contact)
            when { resource has lifecycle && resource.lifecycle == "lead" };"#,
        );
        let list = route(&routes, "contacts.list");
        let records = demo_records();
        let page = serde_json::to_vec(&serde_json::json!({ "results": records })).unwrap();
        let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
        let hidden = HashSet::new();
        let mut checked = 0;
        for user in USERS {
            for purpose in PURPOSES {
                let principal = engine.principal(user).unwrap().clone();
                let scope = engine.scope(principal, purpose).unwrap();
                let key = keys.for_purpose(purpose);
                let fast = filter_body(
                    &engine,
                    &scope,
                    list,
                    &hidden,
                    0,
                    &key,
                    &Shown::none(),
                    &page,
                )
                .unwrap();
                let alone = filter_body_dom(
                    &engine,
                    &scope,
                    list,
                    &hidden,
                    0,
                    &key,
                    &Shown::none(),
                    &page,
                );
                // Sharing changes no view: each equals the one made for its record alone.
                assert_eq!(fast.records, alone.unwrap().records);
                for r in &fast.records {
                    let g = r.groups();
                    let expected = serde_json::json!({
                        "id": r.id, "clear": g.clear, "masked": g.masked, "removed": g.removed,
                    });
                    assert_eq!(serde_json::to_value(r).unwrap(), expected);
                    let line = serde_json::to_string(r).unwrap();
                    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), expected);
                }
                let mut views: Vec<*const GroupsAudit> = fast
                    .records
                    .iter()
                    .map(|r| Arc::as_ptr(&r.groups))
                    .collect();
                views.sort();
                views.dedup();
                let emails: BTreeSet<bool> = fast
                    .records
                    .iter()
                    .map(|r| r.groups().clear.iter().any(|g| g == "email"))
                    .collect();
                if fast.records.len() >= 20 && emails.len() == 2 {
                    assert!(views.len() * 5 <= fast.records.len(), "{user}/{purpose}");
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 0,
            "no persona saw 20 records, some with e-mail and some without"
        );
    }

    #[test]
    fn the_fast_path_filters_random_bodies_exactly_like_the_dom_path() {
        let (engine, routes, _dir) = engine("");
        let list = route(&routes, "contacts.list");
        let single = route(&routes, "contacts.get");
        let records = demo_records();
        let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
        let mut rng = Rng(0x0bad_5eed_0000_0003);
        let lifecycles = ["customer", "lead", "subscriber", "other", "", "CUSTOMER"];
        for _ in 0..1500 {
            let mut page = Vec::new();
            for _ in 0..rng.next() % 6 {
                let mut r = rng.pick(&records).clone();
                let obj = r.as_object_mut().unwrap();
                match rng.next() % 12 {
                    0 => {
                        obj.insert("properties".into(), Value::Null);
                    }
                    1 => {
                        obj.insert("id".into(), serde_json::json!(rng.next() % 1000));
                    }
                    2 => {
                        obj.remove("id");
                    }
                    3 => {
                        obj.insert("surprise".into(), serde_json::json!({"a": [1, 2]}));
                    }
                    4 => {
                        obj.insert(
                            "propertiesWithHistory".into(),
                            serde_json::json!({
                                "email": [{"value": "a@b.example", "timestamp": "t",
                                           "sourceType": "CRM_UI", "sourceId": "u1"}],
                                "phone": [{"value": 12}],
                                "x_new": [],
                                "date_of_birth": [{"value": "1970-01-02"}]
                            }),
                        );
                    }
                    5 => {
                        obj.insert("properties".into(), serde_json::json!("oops"));
                    }
                    6 => {
                        obj.insert(
                            "archived".into(),
                            serde_json::json!(rng.next().is_multiple_of(2)),
                        );
                    }
                    _ => {}
                }
                if let Some(Value::Object(props)) = obj.get_mut("properties") {
                    let names: Vec<String> = props.keys().cloned().collect();
                    for n in names {
                        match rng.next() % 10 {
                            0 => {
                                props.remove(&n);
                            }
                            1 => {
                                props.insert(n, Value::Null);
                            }
                            2 => {
                                props.insert(n, serde_json::json!(rng.next() % 7));
                            }
                            _ => {}
                        }
                    }
                    if rng.next().is_multiple_of(3) {
                        props.insert(
                            "lifecyclestage".into(),
                            serde_json::json!(rng.pick(&lifecycles)),
                        );
                    }
                    if rng.next().is_multiple_of(4) {
                        props.insert("x_new".into(), serde_json::json!("new \"field\""));
                    }
                    if rng.next().is_multiple_of(5) {
                        props.insert("consent_greetings".into(), serde_json::json!("TRUE"));
                    }
                }
                page.push(r);
            }
            let mut doc = serde_json::Map::new();
            match rng.next() % 8 {
                0 => {
                    doc.insert("results".into(), serde_json::json!({"a": page.first()}));
                }
                1 => {
                    doc.insert("results".into(), serde_json::json!(3));
                }
                _ => {
                    doc.insert("results".into(), Value::Array(page.clone()));
                }
            }
            if rng.next().is_multiple_of(2) {
                doc.insert("paging".into(), serde_json::json!({"next": {"after": "9"}}));
            }
            if rng.next().is_multiple_of(3) {
                doc.insert("total".into(), serde_json::json!(5));
            }
            let mut body = serde_json::to_vec(&Value::Object(doc)).unwrap();
            let mut single_body = serde_json::to_vec(&page.first()).unwrap();
            match rng.next() % 10 {
                // A property given twice, and a record key given twice.
                0 => {
                    let text = String::from_utf8(body).unwrap().replacen(
                        "\"properties\":{",
                        "\"properties\":{\"email\":\"dup@example.com\",",
                        1,
                    );
                    body = text.into_bytes();
                }
                1 => {
                    let text = String::from_utf8(single_body).unwrap().replacen(
                        "{\"id\":",
                        "{\"id\":\"0\",\"id\":",
                        1,
                    );
                    single_body = text.into_bytes();
                }
                // An escaped property name, trailing garbage, not UTF-8.
                2 => {
                    let text = String::from_utf8(body).unwrap().replacen(
                        "\"email\":",
                        "\"em\\u0061il\":",
                        1,
                    );
                    body = text.into_bytes();
                }
                3 => body.extend_from_slice(b" x"),
                4 => body.insert(body.len() / 2, 0xff),
                _ => {}
            }
            let principal = engine.principal(rng.pick::<&str>(&USERS)).unwrap().clone();
            let purpose = *rng.pick(&PURPOSES);
            let scope = engine.scope(principal, purpose).unwrap();
            let key = keys.for_purpose(purpose);
            let mut hidden = HashSet::new();
            if rng.next().is_multiple_of(2) {
                hidden.insert("lifecyclestage".to_string());
                hidden.insert("consent_greetings".to_string());
            }
            same_as_dom(&engine, &scope, list, &hidden, &key, &body);
            same_as_dom(&engine, &scope, single, &hidden, &key, &single_body);
        }
    }

    #[test]
    fn only_a_plain_top_level_array_takes_the_fast_path() {
        assert_eq!(lazy::simple_array_key("$.results[*]"), Some("results"));
        assert_eq!(lazy::simple_array_key("$.results"), None);
        assert_eq!(lazy::simple_array_key("$.a.b[*]"), None);
        assert_eq!(lazy::simple_array_key("$['results'][*]"), None);
        assert_eq!(lazy::simple_array_key("$..results[*]"), None);
        assert_eq!(lazy::simple_array_key("$.[*]"), None);
    }

    #[test]
    fn a_new_policy_revision_starts_with_an_empty_memo() {
        let (engine, routes, _dir) = engine("");
        let resource = routes.resource("Contact").unwrap().clone();
        let scope = engine
            .scope(
                engine.principal("holly").unwrap().clone(),
                "contract_fulfilment",
            )
            .unwrap();
        let attrs = vec![Some(AttrValue::Str("customer".into())); resource.attributes.len()];
        Planner::new(&engine, &scope, &resource).plan("1", attrs);
        assert!(!engine.plans().is_empty());
        let (reloaded, _, _dir2) = self::engine("");
        assert!(reloaded.plans().is_empty());
    }
}
