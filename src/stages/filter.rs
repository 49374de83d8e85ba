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
use crate::policy::decision::{Outcome, RecordPlan};
use crate::policy::plan::Planner;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::{Layout, RecordSelector, ResourceProfile, Route};
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
        RecordSelector::Path { source, .. } => records::simple_array_key(source)
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
    if rehearsed.is_none() {
        // The DOM path's rehearsal, where the fast path does not read the record.
        if let Ok(mut v) = serde_json::from_slice::<Value>(record) {
            std::hint::black_box(run.filter_record(&mut v).is_ok());
        }
    }
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
        let attrs = crate::routes::extract_attributes(res, record);
        let plan = self.planner.plan(&id, attrs);
        self.out.policies.extend(plan.row.policies.iter().cloned());
        self.out.errors.extend(plan.row.errors.iter().cloned());
        // A rehearsal stops at the row decision, as a hidden record does.
        if !plan.row.allow || self.row_only {
            self.out.dropped.push(id);
            return Ok(false);
        }
        for (_, d) in &plan.groups {
            self.out.errors.extend(d.errors.iter().cloned());
        }
        let mut present: u64 = 0;
        if res.layout == Layout::Flat {
            self.filter_flat(record, &plan, &mut present);
            let view = self.audit_view(id, &plan, present);
            self.out.records.push(view);
            return Ok(true);
        }
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

    /// Filter a flat record: its id and structure kept, declared fields kept or removed,
    /// every other member a property (a parent record's, by its dotted name).
    fn filter_flat(
        &mut self,
        record: &mut Map<String, Value>,
        plan: &RecordPlan,
        present: &mut u64,
    ) {
        let res = self.resource;
        let keys: Vec<String> = record.keys().cloned().collect();
        for k in keys {
            let keep = if k == res.id_field || res.structure.contains(&k) {
                true
            } else if let Some(&g) = res.field_groups.get(&k) {
                *present |= 1 << g;
                // Typed fields are kept or removed, never masked into a string.
                plan.outcome(g) == Outcome::Clear
                    && (!self.shown.is_field(&k)
                        || keep_associated(
                            record.get_mut(&k),
                            self.shown,
                            &mut self.out.associations,
                        ))
            } else {
                match record.get_mut(&k) {
                    Some(v) => self.flat_property(&k, v, plan, present),
                    None => false,
                }
            };
            if !keep {
                record.remove(&k);
            }
        }
    }

    /// One property of a flat record, `name` dotted for a parent record's: kept, masked
    /// or removed as the plan says of its group. A parent record keeps its structure and
    /// the properties shown, and is removed when none is; `null` (no parent) is kept when a
    /// property of the parent would be. `false`: removed.
    fn flat_property(
        &mut self,
        name: &str,
        v: &mut Value,
        plan: &RecordPlan,
        present: &mut u64,
    ) -> bool {
        let res = self.resource;
        // Properties crmgate asked for only to decide: the client never asked for them.
        if self.hidden.contains(name) {
            return false;
        }
        if let Some(&g) = res.property_groups.get(name) {
            *present |= 1 << g;
            return match plan.outcome(g) {
                Outcome::Removed => false,
                Outcome::Clear => true,
                Outcome::Masked(kind) => match masks::apply(kind, v, self.key) {
                    Some(masked) => {
                        *v = masked;
                        true
                    }
                    None => false,
                },
            };
        }
        match v {
            Value::Object(parent) => {
                let keys: Vec<String> = parent.keys().cloned().collect();
                let mut any = false;
                for m in keys {
                    if res.structure.contains(&m) {
                        continue;
                    }
                    let dotted = format!("{name}.{m}");
                    let keep = match parent.get_mut(&m) {
                        Some(v) => self.flat_property(&dotted, v, plan, present),
                        None => false,
                    };
                    if keep {
                        any = true;
                    } else {
                        parent.remove(&m);
                    }
                }
                any
            }
            Value::Null if self.parent_shown(name, plan) => true,
            _ => {
                self.out.unclassified.insert(name.to_string());
                false
            }
        }
    }

    /// Whether a property of the parent record `name` would be shown (then its absence,
    /// `null`, is shown too).
    fn parent_shown(&self, name: &str, plan: &RecordPlan) -> bool {
        let prefix = format!("{name}.");
        self.resource.property_groups.iter().any(|(p, &g)| {
            p.starts_with(&prefix)
                && !self.hidden.contains(p)
                && plan.outcome(g) != Outcome::Removed
        })
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
mod tests;
