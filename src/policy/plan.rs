//! Record decisions, part of the decision core (stages 6 and 9 ask it): one record's plan
//! (row decision and one outcome per field group, with the policies and Cedar errors behind
//! each), memoised by exactly the inputs Cedar can observe, and [`selectability`] (what a caller may select
//! records by). The proxy's filter, `explain`, `matrix`, `test` and the demo tour all ask
//! here, so they cannot drift apart. This module must never answer a decision from anything
//! but Cedar on these inputs (or a memo of that), and never turn an error into an allow.

use std::sync::Arc;

use crate::fasthash::FastMap;
use crate::policy::decision::{Decision, Outcome, RecordPlan};
use crate::policy::memo::PlanMemoKey;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::{AttrType, AttrValue, ResourceProfile};

type PlanKey = (Vec<Option<AttrValue>>, Option<String>);

/// The record id Cedar is shown where no policy can observe record ids.
pub const UNOBSERVED_ID: &str = "(any record)";

/// Memoised record decisions for one request (one principal, purpose and resource type):
/// first a map of this request's plans, then the engine's memo shared by all requests of
/// the same revision, and only then Cedar.
pub struct Planner<'a> {
    engine: &'a PolicyEngine,
    scope: &'a Scope,
    resource: &'a ResourceProfile,
    key_by_id: bool,
    /// Field groups (bitmask) the request selected records by (search filters, sorts, free
    /// text): a record shown only if all of them are clear to the caller.
    selection: u64,
    cache: FastMap<PlanKey, Arc<RecordPlan>>,
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
            selection: 0,
            cache: FastMap::default(),
            evaluations: 0,
        }
    }

    /// Records were selected by these field groups (bitmask of group ids).
    pub fn with_selection(mut self, selection: u64) -> Self {
        self.selection = selection;
        self
    }

    /// The plan for a record with this id and these extracted attributes.
    ///
    /// A search that filtered or sorted on a field the caller may not see in clear would be
    /// an oracle for that field's values ("which prospects have a card number starting with
    /// 4111?"): a record it selected is shown only if every group it was selected by is
    /// clear for that record. The decisions themselves stay memoised unchanged.
    pub fn plan(&mut self, id: &str, attrs: Vec<Option<AttrValue>>) -> Arc<RecordPlan> {
        let plan = self.plan_decisions(id, attrs);
        if self.selection == 0 || !plan.row.allow {
            return plan;
        }
        let hidden: Vec<&str> = self
            .resource
            .groups
            .iter()
            .enumerate()
            .filter(|(g, _)| self.selection & (1 << g) != 0 && plan.outcome(*g) != Outcome::Clear)
            .map(|(_, name)| name.as_str())
            .collect();
        if hidden.is_empty() {
            return plan;
        }
        Arc::new(RecordPlan {
            row: Decision {
                allow: false,
                policies: hidden
                    .iter()
                    .map(|g| format!("crmgate:selected-by-hidden-group:{g}"))
                    .collect(),
                errors: Vec::new(),
                mask: None,
            },
            groups: Vec::new(),
        })
    }

    fn plan_decisions(&mut self, id: &str, attrs: Vec<Option<AttrValue>>) -> Arc<RecordPlan> {
        let key = (attrs, self.key_by_id.then(|| id.to_string()));
        if let Some(plan) = self.cache.get(&key) {
            return plan.clone();
        }
        let memo_key: PlanMemoKey = (
            self.scope.memo_key().clone(),
            self.resource.name.clone(),
            key.0.clone(),
            key.1.clone(),
        );
        if let Some(plan) = self.engine.plans().get(&memo_key) {
            self.cache.insert(key, plan.clone());
            return plan;
        }
        let named: Vec<(&str, Option<&AttrValue>)> = self
            .resource
            .attributes
            .iter()
            .zip(key.0.iter())
            .map(|(spec, v)| (spec.name.as_str(), v.as_ref()))
            .collect();
        let entity_type = &self.resource.entity_type;
        // Where no policy can observe the id, Cedar is shown one stand-in id: the plan is then
        // the same whichever record first needed it, and a memoised error message never names
        // a record of another response in this response's audit record.
        let id = if self.key_by_id { id } else { UNOBSERVED_ID };
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
        self.engine.plans().insert(memo_key, plan.clone());
        self.cache.insert(key, plan.clone());
        plan
    }
}

/// What a caller may select and order records by, decided from the policies alone — never
/// from the records that happen to match, so the answer itself reveals nothing about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selectability {
    /// Field groups (bitmask of group ids) clear in every record the caller may see,
    /// whatever its attributes: filtering, sorting or looking up by them shows nothing the
    /// caller does not see anyway.
    pub clear: u64,
    /// Field groups (bitmask) the caller sees in some form (clear or masked) in some record
    /// it may see: what a description of the collection's fields may name to it.
    pub shown: u64,
    /// Every record of the type is shown to the caller, whatever its attributes: the CRM's
    /// own counts then count only records the caller sees.
    pub every_row_visible: bool,
    /// The records the caller may see, as a condition a vendor query can carry: per
    /// attribute (by index) the values it may have, where that is narrower than its domain.
    /// `None` when the visible records are not such a product of per-attribute value sets
    /// (then nothing is pushed down).
    pub rows: Option<Arc<RowCondition>>,
    /// `rows` is exactly the records the caller may see, not a widening of them: the
    /// attribute domain covers every distinction the policies can make on a record (no
    /// record ids, no number orderings, no pattern over undeclared values), so that a
    /// vendor query carrying all of `rows` matches exactly the records the caller is shown.
    pub exact_rows: bool,
}

/// Per attribute (index into the resource's attributes) the values a shown record has.
pub type RowCondition = Vec<(usize, Vec<Option<AttrValue>>)>;

/// Most attribute combinations [`selectability`] evaluates; beyond, nothing is provable.
const MAX_SELECTABILITY_COMBINATIONS: usize = 4096;

/// Stands for "any value the routes file does not declare" of a string attribute.
pub const OTHER_VALUE: &str = "\u{1}crmgate:any-other-value";

/// Decide [`Selectability`] over the attribute domain of the resource: each attribute some
/// policy names ranges over its declared `values` (booleans over both), a value outside
/// them, and — where it has no default — missing; the others keep one value, since no policy
/// can tell them apart. Plans are memoised like any record's, so the next request pays
/// nothing. Records whose attributes fall outside what this covers (a pattern match on an
/// undeclared value, a policy naming record ids) are still guarded record by record by the
/// planner's selection check.
pub fn selectability(
    engine: &PolicyEngine,
    scope: &Scope,
    resource: &ResourceProfile,
) -> (Selectability, usize) {
    let all_groups = if resource.groups.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << resource.groups.len()) - 1
    };
    let (domains, complete) = attribute_domain(engine, resource);
    let count = domains
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(d.len().max(1)));
    if count.is_none_or(|n| n > MAX_SELECTABILITY_COMBINATIONS) {
        // fail closed: too many combinations to decide; nothing may be selected by.
        return (
            Selectability {
                clear: 0,
                shown: 0,
                every_row_visible: false,
                rows: None,
                exact_rows: false,
            },
            0,
        );
    }
    let mut planner = Planner::new(engine, scope, resource);
    let mut out = Selectability {
        clear: all_groups,
        shown: 0,
        every_row_visible: complete,
        rows: None,
        exact_rows: false,
    };
    let mut visible: Vec<Vec<Option<AttrValue>>> = Vec::new();
    for combo in cartesian(&domains) {
        let plan = planner.plan(UNOBSERVED_ID, combo.clone());
        if !plan.row.allow {
            out.every_row_visible = false;
            continue;
        }
        for g in 0..resource.groups.len() {
            if plan.outcome(g) != Outcome::Clear {
                out.clear &= !(1u64 << g);
            }
            if plan.outcome(g) != Outcome::Removed {
                out.shown |= 1u64 << g;
            }
        }
        visible.push(combo);
    }
    out.rows = product_condition(&domains, &visible).map(Arc::new);
    // fail closed: exact only where nothing outside the domain can tell records apart.
    out.exact_rows = complete && out.rows.is_some() && !engine.matches_patterns();
    (out, planner.evaluations)
}

/// The attribute domain decisions range over: each attribute some policy names takes its
/// declared `values` (booleans both), a value outside them, and — where it has no default —
/// missing; the others keep one value, since no policy can tell them apart. Also whether it
/// is complete: nothing outside it (record ids, number orderings) can tell records apart.
pub fn attribute_domain(
    engine: &PolicyEngine,
    resource: &ResourceProfile,
) -> (Vec<Vec<Option<AttrValue>>>, bool) {
    let mut complete = !engine.id_observable(&resource.entity_type);
    let domains: Vec<Vec<Option<AttrValue>>> = resource
        .attributes
        .iter()
        .map(|a| {
            let representative = a.default.clone().or_else(|| a.values.first().cloned());
            if !engine.mentions_attribute(&a.name) {
                return vec![representative.or(Some(match a.kind {
                    AttrType::String => AttrValue::Str(String::new()),
                    AttrType::Bool => AttrValue::Bool(false),
                    AttrType::Long => AttrValue::Long(0),
                }))];
            }
            let mut d: Vec<Option<AttrValue>> = match a.kind {
                AttrType::Bool => vec![Some(AttrValue::Bool(false)), Some(AttrValue::Bool(true))],
                AttrType::String => {
                    let mut v: Vec<Option<AttrValue>> =
                        a.values.iter().cloned().map(Some).collect();
                    v.push(Some(AttrValue::Str(OTHER_VALUE.to_string())));
                    v
                }
                AttrType::Long => {
                    // Orderings over numbers cannot be covered by a few samples.
                    complete = false;
                    a.values.iter().cloned().map(Some).collect()
                }
            };
            if let Some(default) = &a.default {
                if !d.contains(&Some(default.clone())) {
                    d.push(Some(default.clone()));
                }
            } else {
                d.push(None);
            }
            d
        })
        .collect();
    (domains, complete)
}

/// The visible combinations as per-attribute value sets, if they are exactly the product of
/// those sets (and not empty): each attribute whose set is narrower than its domain.
fn product_condition(
    domains: &[Vec<Option<AttrValue>>],
    visible: &[Vec<Option<AttrValue>>],
) -> Option<RowCondition> {
    if visible.is_empty() {
        return None;
    }
    let projections: Vec<Vec<Option<AttrValue>>> = (0..domains.len())
        .map(|i| {
            let mut p: Vec<Option<AttrValue>> = Vec::new();
            for c in visible {
                if let Some(v) = c.get(i) {
                    if !p.contains(v) {
                        p.push(v.clone());
                    }
                }
            }
            p
        })
        .collect();
    let product = projections
        .iter()
        .try_fold(1usize, |n, p| n.checked_mul(p.len()))?;
    if product != visible.len() {
        return None;
    }
    Some(
        projections
            .into_iter()
            .zip(domains)
            .enumerate()
            .filter(|(_, (p, d))| p.len() < d.len())
            .map(|(i, (p, _))| (i, p))
            .collect(),
    )
}

/// Every combination of one value from each domain.
pub fn cartesian(domains: &[Vec<Option<AttrValue>>]) -> Vec<Vec<Option<AttrValue>>> {
    domains.iter().fold(vec![Vec::new()], |acc, d| {
        acc.into_iter()
            .flat_map(|prefix| {
                d.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect()
    })
}
