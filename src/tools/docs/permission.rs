//! The permission concept (Berechtigungskonzept), computed from the loaded policy revision
//! by the decision core the proxy uses: per department (with its roles) or app × purpose ×
//! record type, whether records may be read, created, changed, deleted and merged (and on
//! which record properties that depends), per field group how it is read (in full, masked
//! and how, or not at all) and written (allowed, dropped, refused), which special-category
//! data in free text is blacked out, the CRM fields of each group, the purposes with their
//! descriptions and legal bases, an approval block, and what changed since an earlier
//! revision (`--since`).
//!
//! It must never decide anything itself: every cell is an answer of the policy engine
//! (the matrix's record plans for reads, [`PolicyEngine::decide_write`] for writes,
//! [`PolicyEngine::may_redact`] for free text), asked as the proxy's stages ask it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::decide;
use crate::policy::{PolicyEngine, PrincipalInfo, Scope};
use crate::routes::{
    AttrSource, AttrValue, Cardinality, DeniedFields, Operation, ResourceProfile, WriteKind,
};
use crate::stages::pipeline::Policies;
use crate::stages::write_inputs::Stamp;
use crate::tools::matrix::{self, Cell};

/// One right: how a record or a field group may be read or written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Right {
    /// Allowed in full (read: shown as stored; write: written).
    Yes,
    /// Not at all (read: removed; a record action: refused).
    No,
    /// Read masked in this form.
    Masked { mask: String },
    /// Write: the group is dropped from the write, the rest is written.
    Stripped,
    /// Write: the whole write is refused.
    Refused,
    /// Depends on the record: `when` says where it holds, `shows` what it is there.
    Depends { when: String, shows: Vec<String> },
}

/// The rights of one field group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRights {
    pub group: String,
    pub read: Right,
    pub create: Right,
    pub update: Right,
}

/// One department (or app) × purpose × record type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessRow {
    /// The department, or `app <id>`.
    pub subject: String,
    /// The roles of the members this row stands for.
    pub roles: Vec<String>,
    /// The member (or app) whose attributes stood for the subject.
    pub principal: String,
    pub purpose: String,
    pub resource_type: String,
    /// `read`, `create`, `update`, `delete`, `merge` on whole records.
    pub records: BTreeMap<String, Right>,
    pub groups: Vec<GroupRights>,
    /// Redaction category → whether crmgate blacks it out in this subject's free text
    /// (`yes`) or refuses the write (`no`).
    pub redaction: BTreeMap<String, Right>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurposeRow {
    pub purpose: String,
    pub description: String,
    pub legal_basis: String,
    pub declared_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupFields {
    pub resource_type: String,
    pub group: String,
    pub fields: Vec<String>,
}

/// The permission concept of one policy revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PermissionConcept {
    pub policy_revision: String,
    pub date: String,
    pub purposes: Vec<PurposeRow>,
    /// Role → the members who hold it.
    pub roles: BTreeMap<String, Vec<String>>,
    pub groups: Vec<GroupFields>,
    pub rows: Vec<AccessRow>,
    /// Per record type, the record properties the rights were computed over.
    pub domains: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl From<&Cell> for Right {
    fn from(c: &Cell) -> Right {
        match c {
            Cell::Clear => Right::Yes,
            Cell::Never => Right::No,
            Cell::Masked { mask } => Right::Masked { mask: mask.clone() },
            Cell::Conditional { when, shows } => Right::Depends {
                when: when.clone(),
                shows: shows.clone(),
            },
        }
    }
}

/// The roles of each principal, from the entities file (`attrs.roles`).
fn roles_of(config: &Config) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(&config.policies.entities).unwrap_or_default();
    let entities: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    entities
        .iter()
        .filter_map(|e| {
            let id = e.pointer("/uid/id")?.as_str()?.to_string();
            let mut roles: Vec<String> = e
                .pointer("/attrs/roles")?
                .as_array()?
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            roles.sort();
            Some((id, roles))
        })
        .collect()
}

/// Who the concept speaks of: per department each distinct set of roles its active members
/// hold (the first member by id stands for them), then every configured app.
fn subjects(
    config: &Config,
    engine: &PolicyEngine,
    roles: &BTreeMap<String, Vec<String>>,
) -> Vec<(String, Vec<String>, Arc<PrincipalInfo>)> {
    let mut members: Vec<&Arc<PrincipalInfo>> = engine.principals().filter(|p| p.active).collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for dept in config.departments.keys() {
        for p in &members {
            if p.department.as_deref() != Some(dept) || p.uid.type_name().to_string() != "User" {
                continue;
            }
            let r = roles.get(&p.id).cloned().unwrap_or_default();
            if seen.insert((dept.clone(), r.clone())) {
                out.push((dept.clone(), r, (*p).clone()));
            }
        }
    }
    for app in config.apps.keys() {
        if let Some(p) = engine.principal(app) {
            out.push((format!("app {app}"), Vec::new(), p.clone()));
        }
    }
    out
}

/// Compute the permission concept of the loaded policies, dated `date`.
pub fn compute(config: &Config, policies: &Policies, date: &str) -> PermissionConcept {
    let engine = &policies.engine;
    let text: String = config
        .policies
        .policies
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let roles = roles_of(config);
    let subjects = subjects(config, engine, &roles);
    let mut rows = Vec::new();
    let mut domains = BTreeMap::new();
    for res in policies.routes.resources() {
        let doms = matrix::domains(&text, res);
        domains.insert(
            res.entity_type.clone(),
            res.attributes
                .iter()
                .zip(&doms)
                .filter(|(_, d)| d.len() > 1)
                .map(|(a, d)| {
                    (
                        a.name.clone(),
                        d.iter().flatten().map(matrix::show).collect(),
                    )
                })
                .collect(),
        );
        for (subject, roles, principal) in &subjects {
            let purposes = config
                .departments
                .get(subject)
                .or_else(|| {
                    subject
                        .strip_prefix("app ")
                        .and_then(|a| config.apps.get(a))
                })
                .map(|d| d.purposes.clone())
                .unwrap_or_default();
            for purpose in purposes {
                let Ok(scope) =
                    decide::subject_of(config, engine, principal.clone(), Some(&purpose))
                else {
                    continue;
                };
                let mut row = access_row(config, policies, &scope, res, &doms);
                row.subject = subject.clone();
                row.roles = roles.clone();
                rows.push(row);
            }
        }
    }
    PermissionConcept {
        policy_revision: engine.revision().to_string(),
        date: date.to_string(),
        purposes: purpose_rows(config),
        roles: invert(&roles, engine),
        groups: group_fields(policies),
        rows,
        domains,
    }
}

fn invert(
    roles: &BTreeMap<String, Vec<String>>,
    engine: &PolicyEngine,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, rs) in roles {
        let active = engine.principal(id).is_some_and(|p| p.active);
        for r in rs.iter().filter(|_| active) {
            out.entry(r.clone()).or_default().push(id.clone());
        }
    }
    out
}

fn purpose_rows(config: &Config) -> Vec<PurposeRow> {
    config
        .purposes
        .iter()
        .map(|(name, p)| {
            let by = config
                .departments
                .iter()
                .filter(|(_, d)| d.purposes.contains(name))
                .map(|(d, _)| d.clone())
                .chain(
                    config
                        .apps
                        .iter()
                        .filter(|(_, d)| d.purposes.contains(name))
                        .map(|(a, _)| format!("app {a}")),
                )
                .collect();
            PurposeRow {
                purpose: name.clone(),
                description: p.description.clone(),
                legal_basis: p.legal_basis.clone(),
                declared_by: by,
            }
        })
        .collect()
}

/// The CRM fields of each field group, per record type.
fn group_fields(policies: &Policies) -> Vec<GroupFields> {
    let mut out = Vec::new();
    for res in policies.routes.resources() {
        for (g, name) in res.groups.iter().enumerate() {
            let mut fields: Vec<String> = res
                .property_groups
                .iter()
                .chain(res.field_groups.iter())
                .filter(|(_, &x)| x == g)
                .map(|(p, _)| p.clone())
                .collect();
            fields.sort();
            out.push(GroupFields {
                resource_type: res.entity_type.clone(),
                group: name.clone(),
                fields,
            });
        }
    }
    out
}

/// The write routes of a kind on this record type whose request-level action the scope is
/// allowed; the single-record route first (its `denied_fields` is the one named).
fn write_route(
    policies: &Policies,
    scope: &Scope,
    res: &ResourceProfile,
    kinds: &[WriteKind],
) -> Option<DeniedFields> {
    let mut routes: Vec<_> = policies
        .routes
        .routes()
        .iter()
        .filter(|r| {
            r.resource.entity_type == res.entity_type
                && r.write().is_some_and(|k| kinds.contains(&k))
                && policies
                    .engine
                    .decide_request(scope, &r.action, &r.resource.collection)
                    .allow
        })
        .collect();
    routes.sort_by_key(|r| !matches!(r.body, Operation::Write(_, Cardinality::One)));
    routes.first().map(|r| r.denied_fields)
}

/// The attribute combinations of a create: the provenance source is crmgate's stamp, and
/// what only a stored record has (computed and top-level fields) takes its default.
fn create_combos(
    config: &Config,
    scope: &Scope,
    res: &ResourceProfile,
    doms: &[Vec<Option<AttrValue>>],
) -> Vec<Vec<Option<AttrValue>>> {
    let stamp = Stamp::of(config, scope, String::new());
    let fixed: Vec<Vec<Option<AttrValue>>> = res
        .attributes
        .iter()
        .zip(doms)
        .map(|(a, d)| match &a.source {
            AttrSource::Property(p) if res.provenance.as_ref().is_some_and(|s| &s.source == p) => {
                vec![Some(AttrValue::Str(stamp.source.clone()))]
            }
            AttrSource::Property(_) => d.clone(),
            AttrSource::Computed(_) => vec![Some(AttrValue::Bool(false))],
            AttrSource::Field(_) => vec![a.default.clone()],
        })
        .collect();
    crate::policy::plan::cartesian(&fixed)
}

/// The rights of one scope on one record type.
fn access_row(
    config: &Config,
    policies: &Policies,
    scope: &Scope,
    res: &ResourceProfile,
    doms: &[Vec<Option<AttrValue>>],
) -> AccessRow {
    let engine = &policies.engine;
    let combos = crate::policy::plan::cartesian(doms);
    let reads = policies.routes.routes().iter().any(|r| {
        r.resource.entity_type == res.entity_type
            && r.write().is_none()
            && engine
                .decide_request(scope, &r.action, &r.resource.collection)
                .allow
    });
    let (read_row, read_groups) = if reads {
        matrix::cells(engine, scope, res, &combos)
    } else {
        (
            Cell::Never,
            res.groups
                .iter()
                .map(|g| (g.clone(), Cell::Never))
                .collect(),
        )
    };
    let mut records = BTreeMap::from([("read".to_string(), Right::from(&read_row))]);
    let creates = create_combos(config, scope, res, doms);
    let mut writes: BTreeMap<&str, Vec<Right>> = BTreeMap::new();
    for (action, kinds, on) in [
        (
            "create",
            &[WriteKind::Create, WriteKind::Upsert][..],
            &creates,
        ),
        (
            "update",
            &[WriteKind::Update, WriteKind::Upsert][..],
            &combos,
        ),
        ("delete", &[WriteKind::Delete][..], &combos),
        ("merge", &[WriteKind::Merge][..], &combos),
    ] {
        let route = write_route(policies, scope, res, kinds);
        let (row, groups) = write_cells(engine, scope, res, on, action, route);
        records.insert(action.to_string(), row);
        writes.insert(action, groups);
    }
    let write_of = |action: &str, g: usize| {
        writes
            .get(action)
            .and_then(|w| w.get(g))
            .cloned()
            .unwrap_or(Right::No)
    };
    let groups = read_groups
        .iter()
        .enumerate()
        .map(|(g, (name, cell))| GroupRights {
            group: name.clone(),
            read: Right::from(cell),
            create: write_of("create", g),
            update: write_of("update", g),
        })
        .collect();
    let redaction = redaction_rights(
        policies,
        scope,
        res,
        &creates,
        writes.get("create").is_none_or(Vec::is_empty),
    );
    AccessRow {
        subject: String::new(),
        roles: Vec::new(),
        principal: scope.principal.id.clone(),
        purpose: scope.purpose.clone(),
        resource_type: res.entity_type.clone(),
        records,
        groups,
        redaction,
    }
}

/// Whether free text of each redaction category is blacked out or refused, over the
/// records the scope may create (none: no right to write free text at all).
fn redaction_rights(
    policies: &Policies,
    scope: &Scope,
    res: &ResourceProfile,
    creates: &[Vec<Option<AttrValue>>],
    no_writes: bool,
) -> BTreeMap<String, Right> {
    let Some(redactor) = policies.redactor.as_deref() else {
        return BTreeMap::new();
    };
    if res.free_text.is_empty() || no_writes {
        return BTreeMap::new();
    }
    let all: Vec<&Vec<Option<AttrValue>>> = creates.iter().collect();
    redactor
        .categories()
        .into_iter()
        .map(|c| {
            let yes: Vec<&Vec<Option<AttrValue>>> = creates
                .iter()
                .filter(|attrs| policies.engine.may_redact(scope, res, attrs, &c).allow)
                .collect();
            let right = verdict(res, &yes, &all, || vec!["redacted".into()]);
            (c, right)
        })
        .collect()
}

/// Yes where it holds on every combination, no on none, else where it holds.
fn verdict(
    res: &ResourceProfile,
    holds: &[&Vec<Option<AttrValue>>],
    all: &[&Vec<Option<AttrValue>>],
    shows: impl FnOnce() -> Vec<String>,
) -> Right {
    if holds.is_empty() {
        Right::No
    } else if holds.len() == all.len() {
        Right::Yes
    } else {
        Right::Depends {
            when: matrix::summarise(res, holds, all),
            shows: shows(),
        }
    }
}

/// A record-level write action over the combinations, and per field group what a write
/// of it does where the action is allowed. An action on a stored record needs the row
/// decision too (a record the caller may not see is "not found", as in the write stage).
fn write_cells(
    engine: &PolicyEngine,
    scope: &Scope,
    res: &ResourceProfile,
    combos: &[Vec<Option<AttrValue>>],
    action: &'static str,
    route: Option<DeniedFields>,
) -> (Right, Vec<Right>) {
    let Some(denied) = route else {
        return (Right::No, Vec::new());
    };
    let mask = match res.groups.len() {
        n if n >= 64 => u64::MAX,
        n => (1u64 << n) - 1,
    };
    let all: Vec<&Vec<Option<AttrValue>>> = combos.iter().collect();
    // The record-level decision first (no group asked), the groups only where it allows:
    // the same decisions the write stage makes, without asking what it never would.
    let groups_of = if matches!(action, "delete" | "merge") {
        0
    } else {
        mask
    };
    let decided: Vec<_> = combos
        .iter()
        .filter(|c| {
            let d = engine.decide_write(scope, res, None, c, action, 0);
            d.record.allow && (action == "create" || d.read.allow)
        })
        .map(|c| {
            (
                c,
                engine.decide_write(scope, res, None, c, action, groups_of),
            )
        })
        .collect();
    let allowed: Vec<&Vec<Option<AttrValue>>> = decided.iter().map(|(c, _)| *c).collect();
    let row = verdict(res, &allowed, &all, || vec!["records".into()]);
    if allowed.is_empty() || matches!(action, "delete" | "merge") {
        return (row, Vec::new());
    }
    let denied_right = match denied {
        DeniedFields::Strip => Right::Stripped,
        DeniedFields::Refuse => Right::Refused,
    };
    let denied_name = match denied {
        DeniedFields::Strip => "stripped",
        DeniedFields::Refuse => "refused",
    };
    let groups = (0..res.groups.len())
        .map(|g| {
            let yes: Vec<&Vec<Option<AttrValue>>> = decided
                .iter()
                .filter(|(_, d)| d.writable & (1u64 << g) != 0)
                .map(|(c, _)| *c)
                .collect();
            match verdict(res, &yes, &allowed, || {
                vec!["allowed".into(), denied_name.into()]
            }) {
                Right::No => denied_right.clone(),
                r => r,
            }
        })
        .collect();
    (row, groups)
}

pub mod diff;
pub mod doc;
