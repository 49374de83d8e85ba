//! What changed between two revisions of the permission concept: every right that differs
//! (a record action, a field group's read or write, free text), every department, purpose
//! or record type that came or went, and every purpose whose description, legal basis or
//! declaring departments changed — so a data protection officer approves the changes.
//!
//! It must never report "no change" for two concepts that differ in any right: it compares
//! every right of both, keyed alike, in both directions.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{PermissionConcept, Right};

/// One changed right: `before` or `now` is `None` where the row did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub subject: String,
    pub purpose: String,
    pub resource_type: String,
    /// `records`, a field group, or `free_text` (with `action` the category).
    pub aspect: String,
    /// `read`, `create`, `update`, `delete`, `merge`, or a redaction category.
    pub action: String,
    pub before: Option<Right>,
    pub now: Option<Right>,
}

/// A purpose whose registry entry changed (text before, text now; empty where absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeChange {
    pub purpose: String,
    pub field: String,
    pub before: String,
    pub now: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Changes {
    pub since_revision: String,
    pub since_date: String,
    pub rights: Vec<Change>,
    pub purposes: Vec<PurposeChange>,
}

type Key = (String, String, String, String, String);

fn flatten(pc: &PermissionConcept) -> BTreeMap<Key, Right> {
    let mut out = BTreeMap::new();
    for r in &pc.rows {
        let key = |aspect: &str, action: &str| -> Key {
            (
                r.subject.clone(),
                r.purpose.clone(),
                r.resource_type.clone(),
                aspect.to_string(),
                action.to_string(),
            )
        };
        for (action, right) in &r.records {
            out.insert(key("records", action), right.clone());
        }
        for g in &r.groups {
            out.insert(key(&g.group, "read"), g.read.clone());
            out.insert(key(&g.group, "create"), g.create.clone());
            out.insert(key(&g.group, "update"), g.update.clone());
        }
        for (category, right) in &r.redaction {
            out.insert(key("free_text", category), right.clone());
        }
    }
    out
}

fn purpose_fields(pc: &PermissionConcept) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for p in &pc.purposes {
        out.insert(
            (p.purpose.clone(), "description".into()),
            p.description.clone(),
        );
        out.insert(
            (p.purpose.clone(), "legal_basis".into()),
            p.legal_basis.clone(),
        );
        out.insert(
            (p.purpose.clone(), "declared_by".into()),
            p.declared_by.join(", "),
        );
    }
    out
}

/// Every difference from `old` to `new`.
pub fn diff(old: &PermissionConcept, new: &PermissionConcept) -> Changes {
    let (a, b) = (flatten(old), flatten(new));
    let keys: BTreeSet<&Key> = a.keys().chain(b.keys()).collect();
    let rights = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            subject: k.0.clone(),
            purpose: k.1.clone(),
            resource_type: k.2.clone(),
            aspect: k.3.clone(),
            action: k.4.clone(),
            before: a.get(k).cloned(),
            now: b.get(k).cloned(),
        })
        .collect();
    let (pa, pb) = (purpose_fields(old), purpose_fields(new));
    let pkeys: BTreeSet<&(String, String)> = pa.keys().chain(pb.keys()).collect();
    let purposes = pkeys
        .into_iter()
        .filter(|k| pa.get(*k) != pb.get(*k))
        .map(|k| PurposeChange {
            purpose: k.0.clone(),
            field: k.1.clone(),
            before: pa.get(k).cloned().unwrap_or_default(),
            now: pb.get(k).cloned().unwrap_or_default(),
        })
        .collect();
    Changes {
        since_revision: old.policy_revision.clone(),
        since_date: old.date.clone(),
        rights,
        purposes,
    }
}
