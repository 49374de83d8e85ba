//! Write decisions: may this caller create, update, delete or merge this record, and which of
//! the field groups it sends may it write? The write stage asks here, and `crmgate test` and
//! `explain` ask the same function, so they cannot drift from the proxy.
//!
//! A record to be written is described to Cedar like a record read: its attributes are
//! extracted by the routes file (for an update, from the record as the CRM holds it now),
//! the record-level action is `create`, `update`, `delete` or `merge`, and each field group
//! has its `write.<group>` action. The row decision `read` is made too: a record the caller
//! may not see answers exactly like a missing one. Decisions depend only on what Cedar can
//! observe, so they are memoised per policy revision like record plans. This module must
//! never allow a group or a record whose decision errored: an error is a denial.

use std::sync::Arc;

use crate::policy::decision::{Decision, Outcome, StoredNeed, WriteDecision};
use crate::policy::memo::{RedactKey, WriteKey};
use crate::policy::plan::{attribute_domain, cartesian, Planner, UNOBSERVED_ID};
use crate::policy::{PolicyEngine, Scope};
use crate::routes::{AttrValue, ResourceProfile};

impl PolicyEngine {
    /// Decide `action` on a record of `res` with these attributes, the row decision, and
    /// `write.<group>` for every group in `groups` (a bitmask of group ids).
    pub fn decide_write(
        &self,
        scope: &Scope,
        res: &ResourceProfile,
        id: Option<&str>,
        attrs: &[Option<AttrValue>],
        action: &'static str,
        groups: u64,
    ) -> Arc<WriteDecision> {
        let by_id = self.id_observable(&res.entity_type);
        let id = match id {
            Some(id) if by_id => Some(id.to_string()),
            _ => None,
        };
        let key: WriteKey = (
            scope.memo_key().clone(),
            action,
            attrs.to_vec(),
            id.clone(),
            groups,
        );
        if let Some(d) = self.writes.get(&key) {
            let mut d = (*d).clone();
            d.evaluations = 0;
            return Arc::new(d);
        }
        let before = scope.evaluations();
        let named = named_attributes(res, attrs);
        let cedar_id = id.as_deref().unwrap_or(UNOBSERVED_ID);
        let decide = |a: &str| self.decide_record(scope, a, &res.entity_type, cedar_id, &named);
        let record = decide(action);
        let read = decide("read");
        let mut writable = 0u64;
        let mut policies: Vec<String> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut decided: Vec<(usize, Decision)> = Vec::new();
        for (g, name) in res.groups.iter().enumerate() {
            if groups & (1u64 << g) == 0 {
                continue;
            }
            let d = decide(&format!("write.{name}"));
            // fail closed: a group is written only on an allow without errors.
            if d.allow && d.errors.is_empty() {
                writable |= 1u64 << g;
            }
            policies.extend(d.policies.iter().cloned());
            errors.extend(d.errors.iter().cloned());
            decided.push((g, d));
        }
        policies.extend(record.policies.iter().cloned());
        policies.extend(read.policies.iter().cloned());
        errors.extend(record.errors.iter().cloned());
        errors.extend(read.errors.iter().cloned());
        policies.sort();
        policies.dedup();
        errors.sort();
        errors.dedup();
        let decision = WriteDecision {
            record,
            read,
            writable,
            groups: decided,
            policies,
            errors,
            evaluations: scope.evaluations().saturating_sub(before),
        };
        let decision = Arc::new(decision);
        self.writes.insert(key, decision.clone());
        decision
    }

    /// What deciding `action` on a record of `res`, writing the field groups `groups` (and
    /// no attribute), needs of the stored record. Decided over the attribute domain (as
    /// [`crate::policy::plan::selectability`]) and memoised per revision. fail closed:
    /// record ids, number orderings or patterns over undeclared values, or too many
    /// combinations: it must be read.
    pub fn stored_need(
        &self,
        scope: &Scope,
        res: &ResourceProfile,
        action: &'static str,
        groups: u64,
    ) -> StoredNeed {
        let key = (scope.memo_key().clone(), res.name.clone(), action, groups);
        if let Some(known) = self.independence.get(&key) {
            return known;
        }
        let need = self.decide_need(scope, res, action, groups);
        self.independence.insert(key, need);
        need
    }

    fn decide_need(
        &self,
        scope: &Scope,
        res: &ResourceProfile,
        action: &'static str,
        groups: u64,
    ) -> StoredNeed {
        let (domains, complete) = attribute_domain(self, res);
        let count = domains
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(d.len().max(1)));
        if !complete || self.matches_patterns() || count.is_none_or(|n| n > MAX_COMBINATIONS) {
            return StoredNeed::Read;
        }
        let mut planner = Planner::new(self, scope, res);
        // (not found, refused, written groups) and, for a write, the answer's plan.
        type Seen = ((bool, bool, u64), Option<(bool, Vec<Outcome>)>);
        let mut first: Option<Seen> = None;
        for combo in cartesian(&domains) {
            // An erroring policy does not apply, as on the request path (never an allow).
            let d = self.decide_write(scope, res, None, &combo, action, groups);
            let outcome = match (d.read.allow, d.record.allow) {
                (false, _) => (true, false, 0),
                (true, false) => (false, true, 0),
                (true, true) => (false, false, d.writable),
            };
            let answer = (d.read.allow && d.record.allow).then(|| {
                let plan = planner.plan(UNOBSERVED_ID, combo);
                let groups = (0..res.groups.len()).map(|g| plan.outcome(g)).collect();
                (plan.row.allow, groups)
            });
            let seen = (outcome, answer);
            match &first {
                None => first = Some(seen),
                Some(f) if *f == seen => {}
                // A record the caller sees refused and one it does not see answer apart
                // (403, 404): only the record can tell which.
                Some(_) => return StoredNeed::Read,
            }
        }
        if first.is_some() {
            StoredNeed::Any
        } else {
            StoredNeed::Read
        }
    }

    /// May the caller's free text holding `category` be stored redacted (`redact.<category>`
    /// allowed), or must the write be refused? An error or a missing action refuses.
    pub fn may_redact(
        &self,
        scope: &Scope,
        res: &ResourceProfile,
        attrs: &[Option<AttrValue>],
        category: &str,
    ) -> Decision {
        // Memoised like every other decision: it depends on scope, category and attributes.
        let key: RedactKey = (
            scope.memo_key().clone(),
            category.to_string(),
            attrs.to_vec(),
        );
        if let Some(d) = self.redactions.get(&key) {
            return d;
        }
        let named = named_attributes(res, attrs);
        let d = self.decide_record(
            scope,
            &format!("redact.{category}"),
            &res.entity_type,
            UNOBSERVED_ID,
            &named,
        );
        self.redactions.insert(key, d.clone());
        d
    }
}

/// Most attribute combinations [`PolicyEngine::stored_need`] decides.
const MAX_COMBINATIONS: usize = 4096;

/// The attributes as Cedar names them: each spec's name with its extracted value.
pub fn named_attributes<'a>(
    res: &'a ResourceProfile,
    attrs: &'a [Option<AttrValue>],
) -> Vec<(&'a str, Option<&'a AttrValue>)> {
    res.attributes
        .iter()
        .zip(attrs)
        .map(|(spec, v)| (spec.name.as_str(), v.as_ref()))
        .collect()
}
