//! What the engine answers: one Cedar [`Decision`], a record's [`RecordPlan`] (row and
//! field-group [`Outcome`]s) and a [`WriteDecision`]. Plain values, shared by the engine,
//! its planner, the stages and the tools.
//!
//! A value here must never say allow where its Cedar decision denied or errored.

use crate::policy::obligations::MaskKind;
use crate::routes::GroupId;

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
    pub(super) fn deny_with_error(message: String) -> Decision {
        Decision {
            allow: false,
            policies: Vec::new(),
            errors: vec![message],
            mask: None,
        }
    }
}

/// What happens to one field group of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clear,
    Masked(MaskKind),
    Removed,
}

impl Outcome {
    pub(crate) fn from_decision(d: &Decision) -> Outcome {
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

/// The decisions on writing one record.
#[derive(Debug, Clone)]
pub struct WriteDecision {
    /// The record-level decision (`create`, `update`, `delete`, `merge`).
    pub record: Decision,
    /// The row decision `read`: a record the caller may not see is "not found".
    pub read: Decision,
    /// Field groups (bitmask) whose `write.<group>` is allowed, of those asked about.
    pub writable: u64,
    /// Each `write.<group>` decision asked about, by group id: what `crmgate test` and
    /// `explain` show (the proxy reads only `writable`, which is made from these).
    pub groups: Vec<(GroupId, Decision)>,
    /// Determining policies and errors of every decision above.
    pub policies: Vec<String>,
    pub errors: Vec<String>,
    /// Cedar evaluations this decision cost (0 from the memo).
    pub evaluations: usize,
}

/// What a write's decision needs of the stored record
/// ([`crate::policy::PolicyEngine::stored_need`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredNeed {
    /// The decision depends on it: read it first.
    Read,
    /// Every stored record is decided alike (not found, refused, or written and answered
    /// the same): any record stands for it.
    Any,
}
