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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::diagnostic::{Problem, Problems, Report, TomlSource};
use crate::stages::routing::{Cardinality, Operation, RouteTable, WriteOp};

/// The request header with which the retention run names the rule a write carries out;
/// crmgate copies it into the audit record (only for the run's own app, only known rules).
pub const RULE_HEADER: &str = "x-crmgate-retention-rule";

// ---------------------------------------------------------------------------------------
// Calendar days

/// A calendar day: days since 1970-01-01 (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    pub fn from_civil(year: i64, month: i64, day: i64) -> Day {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_index = (month + 9) % 12;
        let day_of_year = (153 * month_index + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Day(era * 146_097 + day_of_era - 719_468)
    }

    pub fn civil(self) -> (i64, i64, i64) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        (year_of_era + era * 400 + i64::from(month <= 2), month, day)
    }

    /// `YYYY-MM-DD` (anything may follow: a timestamp), or epoch milliseconds as HubSpot
    /// gives date-time properties.
    pub fn parse(text: &str) -> Option<Day> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() > 8 {
            let millis: i64 = text.parse().ok()?;
            return Some(Day(millis.div_euclid(86_400_000)));
        }
        let year = text.get(0..4)?.parse::<i64>().ok()?;
        let month = text.get(5..7)?.parse::<i64>().ok()?;
        let day = text.get(8..10)?.parse::<i64>().ok()?;
        let separators = text.get(4..5) == Some("-") && text.get(7..8) == Some("-");
        if !separators
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
        {
            return None;
        }
        Some(Day::from_civil(year, month, day))
    }

    /// The first day of the next calendar year: where a period "from the end of the
    /// calendar year" starts running.
    pub fn end_of_year(self) -> Day {
        let (y, _, _) = self.civil();
        Day::from_civil(y + 1, 1, 1)
    }

    /// This day plus a period; a month end is clamped (31 Jan + 1 month = 28/29 Feb).
    pub fn plus(self, period: Period) -> Day {
        let (y, m, d) = self.civil();
        let months = match period.unit {
            Unit::Days => return Day(self.0 + i64::from(period.count)),
            Unit::Months => i64::from(period.count),
            Unit::Years => i64::from(period.count) * 12,
        };
        let index = y * 12 + (m - 1) + months;
        let (ny, nm) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        Day::from_civil(ny, nm, d.min(days_in_month(ny, nm)))
    }

    /// Today by the system clock (UTC).
    pub fn today() -> Day {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Day(i64::try_from(secs / 86_400).unwrap_or(0))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Where "today" comes from: the system date, or a fixed day (`[retention] today` in
/// crmgate.toml, for tests and demos of a given date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(Day),
}

impl Clock {
    pub fn today(self) -> Day {
        match self {
            Clock::System => Day::today(),
            Clock::Fixed(d) => d,
        }
    }
}

/// A retention period in calendar units. Not `humantime`: it counts a month as 30.44 days,
/// and a legal period of "24 months" ends on the same day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub count: u32,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Months,
    Years,
}

impl Period {
    /// `24 months`, `3 years`, `1 year`, `90 days`.
    pub fn parse(text: &str) -> Option<Period> {
        let mut parts = text.split_whitespace();
        let count: u32 = parts.next()?.parse().ok()?;
        let unit = match parts.next()? {
            "day" | "days" => Unit::Days,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            _ => return None,
        };
        (parts.next().is_none() && count > 0).then_some(Period { count, unit })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.count) {
            (Unit::Days, 1) => "day",
            (Unit::Days, _) => "days",
            (Unit::Months, 1) => "month",
            (Unit::Months, _) => "months",
            (Unit::Years, 1) => "year",
            (Unit::Years, _) => "years",
        };
        write!(f, "{} {unit}", self.count)
    }
}

// ---------------------------------------------------------------------------------------
// The rules

/// What a rule does to a record that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The vendor's delete (HubSpot: archived, restorable for 90 days).
    Archive,
    /// Removed for good (HubSpot's GDPR delete).
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

    /// Load and check the file against the routes' classification. Every problem is
    /// reported, each at the line of the key it is about.
    pub fn load(path: &Path, routes: &RouteTable) -> Result<RetentionRules, Problems> {
        let mut src = TomlSource::read(path)?;
        let parsed = src.deserialize::<RawRetention>();
        let Some(raw) = parsed.value else {
            return Err(Problems(parsed.problems));
        };
        let mut r = Report {
            src: &src,
            problems: parsed.problems,
        };
        let mut kinds = Vec::new();
        for (name, k) in raw.kinds {
            if let Some(kind) = compile_kind(&name, k, routes, &mut r) {
                kinds.push(kind);
            }
        }
        check_overlaps(&kinds, &mut r);
        let mut holds = Vec::new();
        for (name, h) in raw.holds {
            if let Some(hold) = compile_hold(&name, h, routes, &mut r) {
                holds.push(hold);
            }
        }
        for kind in &kinds {
            check_computed(
                routes,
                &kind.resource,
                &format!("kinds.{}", kind.name),
                &mut r,
            );
        }
        let problems = r.into_sorted();
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(RetentionRules {
            kinds,
            holds,
            run: Run {
                app: raw.run.app,
                purpose: raw.run.purpose,
            },
            source: Arc::new(src),
        })
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

/// Which computed attribute a routes file attribute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Computed {
    DueForDeletion,
    UnderHold,
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

    pub fn value(&self, which: Computed, props: &Map<String, Value>) -> bool {
        let v = self
            .rules
            .evaluate(&self.resource, props, self.clock.today());
        match which {
            Computed::DueForDeletion => v.due,
            Computed::UnderHold => v.under_hold,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    run: RawRun,
    #[serde(default)]
    kinds: IndexMap<String, RawKind>,
    #[serde(default)]
    holds: IndexMap<String, RawHold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    app: String,
    purpose: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    #[serde(default)]
    description: String,
    resource: String,
    #[serde(default)]
    when: IndexMap<String, OneOrMany>,
    #[serde(default)]
    groups: Vec<String>,
    start: String,
    #[serde(default)]
    end_of_year: bool,
    period: String,
    action: Action,
    legal_basis: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHold {
    #[serde(default)]
    description: String,
    resource: String,
    property: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    start: Option<String>,
    #[serde(default)]
    end_of_year: bool,
    period: Option<String>,
    legal_basis: Option<String>,
}

/// The properties of field groups of a resource, in name order; `None` (reported) for a
/// group the routes do not classify properties into.
fn group_properties(
    routes: &RouteTable,
    resource: &str,
    groups: &[String],
    at: &str,
    r: &mut Report<'_>,
) -> Option<Vec<String>> {
    let res = routes.resource(resource)?;
    let mut out = BTreeSet::new();
    let mut ok = true;
    for (i, g) in groups.iter().enumerate() {
        let props: Vec<&String> = match res.group_id(g) {
            Some(gid) => res
                .property_groups
                .iter()
                .filter(|(_, &x)| x == gid)
                .map(|(p, _)| p)
                .collect(),
            None => Vec::new(),
        };
        if props.is_empty() {
            r.at(
                &format!("{at}.groups.{i}"),
                format!(
                    "{at}: `{resource}` has no field group `{g}` of properties in the routes file"
                ),
            );
            ok = false;
        }
        out.extend(props.into_iter().cloned());
    }
    ok.then(|| out.into_iter().collect())
}

fn check_property(
    routes: &RouteTable,
    resource: &str,
    p: &str,
    at: &str,
    key: &str,
    r: &mut Report<'_>,
) {
    let known = routes
        .resource(resource)
        .is_some_and(|res| res.property_groups.contains_key(p));
    if !known {
        r.at(
            key,
            format!("{at}: property `{p}` is not classified for `{resource}` in the routes file"),
        );
    }
}

fn check_resource(routes: &RouteTable, resource: &str, at: &str, r: &mut Report<'_>) -> bool {
    if routes.resource(resource).is_none() {
        r.at(
            &format!("{at}.resource"),
            format!("{at}: unknown resource type `{resource}` (the routes file has none)"),
        );
        return false;
    }
    true
}

fn parse_period(text: &str, at: &str, r: &mut Report<'_>) -> Option<Period> {
    let p = Period::parse(text);
    if p.is_none() {
        r.at(
            &format!("{at}.period"),
            format!("{at}: period `{text}` is not a number of days, months or years (`24 months`)"),
        );
    }
    p
}

fn legal_basis(text: Option<String>, at: &str, r: &mut Report<'_>) -> Option<String> {
    match text {
        Some(t) if !t.trim().is_empty() => Some(t),
        _ => {
            r.at(
                &format!("{at}.legal_basis"),
                format!("{at}: a rule needs a `legal_basis` (why the data may be kept until then, or must go)"),
            );
            None
        }
    }
}

fn compile_kind(name: &str, k: RawKind, routes: &RouteTable, r: &mut Report<'_>) -> Option<Kind> {
    let at = format!("kinds.{name}");
    let before = r.problems.len();
    if !check_resource(routes, &k.resource, &at, r) {
        return None;
    }
    let mut when = BTreeMap::new();
    for (p, v) in k.when {
        check_property(routes, &k.resource, &p, &at, &format!("{at}.when.{p}"), r);
        let values: BTreeSet<String> = match v {
            OneOrMany::One(s) => BTreeSet::from([s]),
            OneOrMany::Many(v) => v.into_iter().collect(),
        };
        when.insert(p, values);
    }
    check_property(
        routes,
        &k.resource,
        &k.start,
        &at,
        &format!("{at}.start"),
        r,
    );
    let period = parse_period(&k.period, &at, r);
    let legal_basis = legal_basis(k.legal_basis, &at, r);
    let properties = group_properties(routes, &k.resource, &k.groups, &at, r).unwrap_or_default();
    match (k.action, k.groups.is_empty()) {
        (Action::Anonymise, true) => r.at(
            &format!("{at}.action"),
            format!("{at}: `anonymise` needs the field `groups` it clears"),
        ),
        (Action::Archive | Action::GdprDelete, false) => r.at(
            &format!("{at}.groups"),
            format!(
                "{at}: `{}` removes the whole record; a kind of field groups can only be anonymised",
                k.action.name()
            ),
        ),
        _ => {}
    }
    let body = match k.action {
        Action::Archive => Some(Operation::Write(WriteOp::Archive, Cardinality::One)),
        Action::GdprDelete => Some(Operation::Write(WriteOp::Erase, Cardinality::One)),
        Action::Anonymise => Some(Operation::Write(WriteOp::Update, Cardinality::One)),
    };
    let has_route = routes
        .routes()
        .iter()
        .any(|route| route.resource.entity_type == k.resource && Some(route.body) == body);
    if !has_route {
        r.at(
            &format!("{at}.action"),
            format!(
                "{at}: no write route can `{}` a `{}` (the routes file has none)",
                k.action.name(),
                k.resource
            ),
        );
    }
    if r.problems.len() > before {
        return None;
    }
    Some(Kind {
        name: name.to_string(),
        description: k.description,
        resource: k.resource,
        when,
        groups: k.groups,
        properties,
        start: Start {
            property: k.start,
            end_of_year: k.end_of_year,
        },
        period: period?,
        action: k.action,
        legal_basis: legal_basis?,
    })
}

/// Two kinds overlap when a record can belong to both: the same resource, the same scope
/// (both whole records, or sharing a field group), and for every property both constrain,
/// a value both admit. Then two rules would decide one piece of data.
fn check_overlaps(kinds: &[Kind], r: &mut Report<'_>) {
    for (i, b) in kinds.iter().enumerate() {
        for a in kinds.iter().take(i) {
            if a.resource != b.resource {
                continue;
            }
            let same_scope = match (a.whole_record(), b.whole_record()) {
                (true, true) => true,
                (false, false) => a.groups.iter().any(|g| b.groups.contains(g)),
                _ => false,
            };
            let disjoint = a.when.iter().any(|(p, va)| {
                b.when
                    .get(p)
                    .is_some_and(|vb| va.intersection(vb).next().is_none())
            });
            if same_scope && !disjoint {
                r.at(
                    &format!("kinds.{}", b.name),
                    format!(
                        "kinds.{}: overlaps kind `{}`: a record can belong to both; give them a condition that tells them apart",
                        b.name, a.name
                    ),
                );
            }
        }
    }
}

fn compile_hold(name: &str, h: RawHold, routes: &RouteTable, r: &mut Report<'_>) -> Option<Hold> {
    let at = format!("holds.{name}");
    let before = r.problems.len();
    if !check_resource(routes, &h.resource, &at, r) {
        return None;
    }
    let rule = match (h.property, h.start, h.period) {
        (Some(p), None, None) if h.groups.is_empty() => {
            check_property(routes, &h.resource, &p, &at, &format!("{at}.property"), r);
            Some(HoldRule::Flag { property: p })
        }
        (None, Some(start), Some(period)) if !h.groups.is_empty() => {
            check_property(routes, &h.resource, &start, &at, &format!("{at}.start"), r);
            let period = parse_period(&period, &at, r);
            let properties = group_properties(routes, &h.resource, &h.groups, &at, r);
            legal_basis(h.legal_basis.clone(), &at, r)?;
            match (period, properties) {
                (Some(period), Some(properties)) => Some(HoldRule::Statutory {
                    groups: h.groups,
                    properties,
                    start: Start {
                        property: start,
                        end_of_year: h.end_of_year,
                    },
                    period,
                }),
                _ => None,
            }
        }
        _ => {
            r.at(
                &at,
                format!("{at}: a hold is either a flag (`property`) or a statutory period (`groups`, `start`, `period`)"),
            );
            None
        }
    };
    if r.problems.len() > before {
        return None;
    }
    Some(Hold {
        name: name.to_string(),
        description: h.description,
        resource: h.resource,
        rule: rule?,
        legal_basis: h.legal_basis,
    })
}

/// A resource type with rules must carry both computed attributes, or the policies could
/// not hide its due records.
fn check_computed(routes: &RouteTable, resource: &str, at: &str, r: &mut Report<'_>) {
    let Some(res) = routes.resource(resource) else {
        return;
    };
    for which in [Computed::DueForDeletion, Computed::UnderHold] {
        if !res.computes(which) {
            r.at(
                &format!("{at}.resource"),
                format!(
                    "{at}: `{resource}` has no attribute computed as `{}` in the routes file: the policies could not see which records are due",
                    match which {
                        Computed::DueForDeletion => "due_for_deletion",
                        Computed::UnderHold => "under_hold",
                    }
                ),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn periods_count_calendar_months_and_clamp_month_ends() {
        let p = Period::parse("24 months").unwrap();
        assert_eq!(day("2024-12-01").plus(p).to_string(), "2026-12-01");
        let one = Period::parse("1 month").unwrap();
        assert_eq!(day("2025-01-31").plus(one).to_string(), "2025-02-28");
        assert_eq!(day("2024-01-31").plus(one).to_string(), "2024-02-29");
        let years = Period::parse("8 years").unwrap();
        assert_eq!(
            day("2019-12-23").end_of_year().plus(years).to_string(),
            "2028-01-01"
        );
        assert!(Period::parse("24 monthz").is_none());
        assert!(Period::parse("0 days").is_none());
        assert!(Period::parse("2 years ago").is_none());
    }

    #[test]
    fn dates_are_read_as_days_or_epoch_millis() {
        assert_eq!(day("2026-12-02T10:00:00Z").to_string(), "2026-12-02");
        assert_eq!(day("1764633600000").to_string(), "2025-12-02");
        assert!(Day::parse("2026-02-30").is_none());
        assert!(Day::parse("tomorrow").is_none());
    }
}
