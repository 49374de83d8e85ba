//! Loading the retention file: the raw TOML shapes and their compilation into
//! [`RetentionRules`], checked against the routes' classification, every problem at the
//! line of its key. Runs when a policy revision loads, never per request.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diagnostic::{Problems, Report, TomlSource};
use crate::routes::{Cardinality, Computed, Operation, RouteTable, WriteOp};

use super::{Action, Hold, HoldRule, Kind, Period, RetentionRules, Run, Start};

impl RetentionRules {
    /// Load and check the file against the routes' classification. Every problem is
    /// reported, each at the line of the key it is about.
    pub fn load(path: &Path, routes: &RouteTable) -> Result<RetentionRules, Problems> {
        RetentionRules::load_erasing_by(path, routes, WriteOp::Erase)
    }

    /// [`RetentionRules::load`] for a CRM whose erasures are carried out by the write
    /// `erase` (a vendor without a delete for good erases with its delete, `Archive`).
    pub fn load_erasing_by(
        path: &Path,
        routes: &RouteTable,
        erase: WriteOp,
    ) -> Result<RetentionRules, Problems> {
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
            if let Some(kind) = compile_kind(&name, k, routes, erase, &mut r) {
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
}

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

/// A flag hold keeps a whole record past its rule: it needs the legal basis that allows
/// (or obliges) keeping it, like any rule.
fn hold_basis(text: Option<&str>, at: &str, r: &mut Report<'_>) {
    if text.is_none_or(|t| t.trim().is_empty()) {
        r.at(
            &format!("{at}.legal_basis"),
            format!("{at}: a hold needs a `legal_basis` (why the record may be kept past its rule: a litigation hold, a claim to be defended)"),
        );
    }
}

fn compile_kind(
    name: &str,
    k: RawKind,
    routes: &RouteTable,
    erase: WriteOp,
    r: &mut Report<'_>,
) -> Option<Kind> {
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
        Action::GdprDelete => Some(Operation::Write(erase, Cardinality::One)),
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
            // fail closed: a hold keeps data past its rule, so it must say why it may.
            hold_basis(h.legal_basis.as_deref(), &at, r);
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
