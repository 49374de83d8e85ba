//! The deletion concept: retention rules as data (`policies/retention.toml`).
//!
//! Structured like a DIN 66398 deletion concept: **data kinds** (a resource type, record
//! conditions over its properties, optionally field groups), each with exactly one rule —
//! a start event (a record property holding a date, optionally from the end of that
//! calendar year), a period and an action (archive, GDPR delete, or anonymise the kind's
//! field groups) with its legal basis — and **holds** that stop a rule: a flag property
//! (legal hold, open dispute) or a statutory retention period over field groups (invoices
//! and booking records: billing data outlives the rest of the record).
//!
//! The rules are checked against the routes file's classification when they are loaded
//! (every problem at its file and line). At read time [`Evaluator`] computes two record
//! attributes, `due_for_deletion` and `under_hold`, which the policies use; the retention
//! tool asks the same evaluator what to do. "Today" comes from a [`Clock`] the
//! configuration gives (the system date, or a fixed day for tests).
//!
//! This module never changes a record and never reads a clock other than the one it is
//! given: it only says what is due.

mod calendar;
mod load;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::diagnostic::{Problem, TomlSource};
use crate::routes::{Computed, ComputedAttributes, RouteTable};

pub use calendar::{Clock, Day, Period, Unit};

/// The request header with which the retention run names the rule a write carries out;
/// crmgate copies it into the audit record (only for the run's own app, only known rules).
pub const RULE_HEADER: &str = "x-crmgate-retention-rule";

// ---------------------------------------------------------------------------------------
// The rules

/// What a rule does to a record that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The vendor's delete (a CRM may keep it restorable for a while).
    Archive,
    /// Removed for good (the vendor's GDPR delete).
    GdprDelete,
    /// The kind's field groups are cleared; the record stays.
    Anonymise,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Archive => "archive",
            Action::GdprDelete => "gdpr_delete",
            Action::Anonymise => "anonymise",
        }
    }
}

/// The start event of a period: the date in a record property, optionally moved to the end
/// of its calendar year.
#[derive(Debug, Clone)]
pub struct Start {
    pub property: String,
    pub end_of_year: bool,
}

impl Start {
    fn day(&self, props: &Map<String, Value>) -> Option<Day> {
        let day = Day::parse(props.get(&self.property)?.as_str()?)?;
        Some(if self.end_of_year {
            day.end_of_year()
        } else {
            day
        })
    }

    pub fn describe(&self) -> String {
        if self.end_of_year {
            format!("end of the calendar year of `{}`", self.property)
        } else {
            format!("`{}`", self.property)
        }
    }
}

/// One data kind and its rule.
#[derive(Debug, Clone)]
pub struct Kind {
    pub name: String,
    pub description: String,
    /// Cedar entity type of the records (`Contact`).
    pub resource: String,
    /// Property → the values one of which it must hold (all must hold).
    pub when: BTreeMap<String, BTreeSet<String>>,
    /// Field groups the kind is made of; empty: the whole record.
    pub groups: Vec<String>,
    /// The properties of those groups (what anonymising clears).
    pub properties: Vec<String>,
    pub start: Start,
    pub period: Period,
    pub action: Action,
    pub legal_basis: String,
}

impl Kind {
    pub fn whole_record(&self) -> bool {
        self.groups.is_empty()
    }

    fn matches(&self, props: &Map<String, Value>) -> bool {
        self.when.iter().all(|(p, values)| {
            let v = props.get(p).and_then(Value::as_str).unwrap_or("");
            values.contains(v)
        })
    }
}

/// What stops a rule.
#[derive(Debug, Clone)]
pub enum HoldRule {
    /// While the property is `true` (legal hold, open dispute): nothing of the record is
    /// deleted or anonymised.
    Flag { property: String },
    /// Statutory retention of field groups (invoices, booking records): while the record
    /// holds data of the groups and the period runs, the record is not deleted and the
    /// groups are not anonymised; other groups may be.
    Statutory {
        groups: Vec<String>,
        properties: Vec<String>,
        start: Start,
        period: Period,
    },
}

#[derive(Debug, Clone)]
pub struct Hold {
    pub name: String,
    pub description: String,
    pub resource: String,
    pub rule: HoldRule,
    pub legal_basis: Option<String>,
}

/// Who carries the concept out: the App and the purpose of the deletion run.
#[derive(Debug, Clone)]
pub struct Run {
    pub app: String,
    pub purpose: String,
}

/// The loaded, checked deletion concept.
#[derive(Debug)]
pub struct RetentionRules {
    pub kinds: Vec<Kind>,
    pub holds: Vec<Hold>,
    pub run: Run,
    pub source: Arc<TomlSource>,
}

impl RetentionRules {
    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// A problem about the key at a dotted path of the retention file.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        self.source.problem(path, message)
    }

    /// Properties the attributes `due_for_deletion` and `under_hold` of a resource type
    /// are computed from (crmgate asks the CRM for them, and hides them again).
    pub fn attribute_inputs(&self, resource: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for k in self.kinds.iter().filter(|k| k.resource == resource) {
            if k.whole_record() {
                out.extend(k.when.keys().cloned());
                out.insert(k.start.property.clone());
            }
        }
        for h in self.holds.iter().filter(|h| h.resource == resource) {
            match &h.rule {
                HoldRule::Flag { property } => {
                    out.insert(property.clone());
                }
                HoldRule::Statutory {
                    properties, start, ..
                } => {
                    out.extend(properties.iter().cloned());
                    out.insert(start.property.clone());
                }
            }
        }
        out
    }

    /// Everything the retention run must read of a record to plan (attribute inputs plus
    /// the conditions, start events and properties of the anonymising kinds).
    pub fn plan_inputs(&self, resource: &str) -> BTreeSet<String> {
        let mut out = self.attribute_inputs(resource);
        for k in self.kinds.iter().filter(|k| k.resource == resource) {
            out.extend(k.when.keys().cloned());
            out.insert(k.start.property.clone());
            out.extend(k.properties.iter().cloned());
        }
        out
    }

    /// Which rules apply to a record (its `properties` map) on `today`.
    pub fn evaluate(&self, resource: &str, props: &Map<String, Value>, today: Day) -> Verdict {
        let mut holds_in_force: Vec<(&Hold, Option<Day>)> = Vec::new();
        for h in self.holds.iter().filter(|h| h.resource == resource) {
            match &h.rule {
                HoldRule::Flag { property } => {
                    if is_true(props.get(property)) {
                        holds_in_force.push((h, None));
                    }
                }
                HoldRule::Statutory {
                    properties,
                    start,
                    period,
                    ..
                } => {
                    let holds_data = properties.iter().any(|p| has_value(props.get(p)));
                    // A record whose start event is unknown keeps its statutory data: the
                    // period cannot be shown to have ended.
                    let ends = start.day(props).map(|d| d.plus(*period));
                    if holds_data && ends.is_none_or(|e| today < e) {
                        holds_in_force.push((h, ends));
                    }
                }
            }
        }
        let mut items = Vec::new();
        for k in self.kinds.iter().filter(|k| k.resource == resource) {
            if !k.matches(props) {
                continue;
            }
            let Some(start) = k.start.day(props) else {
                continue;
            };
            let due_on = start.plus(k.period);
            if today < due_on {
                continue;
            }
            let properties: Vec<String> = k
                .properties
                .iter()
                .filter(|p| has_value(props.get(*p)))
                .cloned()
                .collect();
            if !k.whole_record() && properties.is_empty() {
                continue;
            }
            let held_by: Vec<(String, Option<Day>)> = holds_in_force
                .iter()
                .filter(|(h, _)| match &h.rule {
                    HoldRule::Flag { .. } => true,
                    HoldRule::Statutory { groups, .. } => {
                        k.whole_record() || k.groups.iter().any(|g| groups.contains(g))
                    }
                })
                .map(|(h, until)| (h.name.clone(), *until))
                .collect();
            items.push(Item {
                kind: k.name.clone(),
                action: k.action,
                whole_record: k.whole_record(),
                due_on,
                held_by,
                properties,
            });
        }
        // A record that is deleted needs no anonymising first.
        if items.iter().any(|i| i.whole_record && i.held_by.is_empty()) {
            items.retain(|i| i.whole_record);
        }
        Verdict {
            due: items.iter().any(|i| i.whole_record),
            under_hold: !holds_in_force.is_empty(),
            items,
        }
    }
}

/// What the rules say about one record.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// A whole-record rule's period has passed: the data is no longer needed for its
    /// purpose (held or not).
    pub due: bool,
    /// A hold is in force for the record.
    pub under_hold: bool,
    pub items: Vec<Item>,
}

/// One due rule on one record.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: String,
    pub action: Action,
    pub whole_record: bool,
    pub due_on: Day,
    /// The holds that stop it (name, end of a statutory period); empty: to be done.
    pub held_by: Vec<(String, Option<Day>)>,
    /// Anonymise: the properties holding values that are to be cleared.
    pub properties: Vec<String>,
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn has_value(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The rules of one resource type with the clock: what computes the attributes at read
/// time.
#[derive(Debug)]
pub struct Evaluator {
    pub rules: Arc<RetentionRules>,
    pub resource: String,
    pub clock: Clock,
    pub inputs: Vec<String>,
}

impl Evaluator {
    pub fn new(rules: Arc<RetentionRules>, resource: &str, clock: Clock) -> Evaluator {
        let inputs = rules.attribute_inputs(resource).into_iter().collect();
        Evaluator {
            rules,
            resource: resource.to_string(),
            clock,
            inputs,
        }
    }

    /// Give every resource type of `routes` its evaluator of these rules: from then on the
    /// computed attributes `due_for_deletion` and `under_hold` follow them. Called once,
    /// while the revision is being loaded.
    pub fn attach(rules: &Arc<RetentionRules>, routes: &RouteTable, clock: Clock) {
        routes.attach_computed(|resource| Box::new(Evaluator::new(rules.clone(), resource, clock)));
    }
}

impl ComputedAttributes for Evaluator {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn value(&self, which: Computed, props: &Map<String, Value>) -> bool {
        let v = self
            .rules
            .evaluate(&self.resource, props, self.clock.today());
        match which {
            Computed::DueForDeletion => v.due,
            Computed::UnderHold => v.under_hold,
        }
    }
}
