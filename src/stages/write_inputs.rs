//! Stage 7, write inputs: what of a create, update, delete or merge may reach the CRM.
//!
//! Every input of a write is decided on its own ([`Writer::decide`]):
//! - the record-level action (`create`, `update`, `delete`, `merge`) on the record as the
//!   CRM holds it now (crmgate reads it first with its own credential) and, for creates and
//!   updates, on the record as it would be afterwards; a record the caller may not `read`
//!   answers exactly like a missing one;
//! - `write.<group>` for every field group the input names: a denied group is stripped or
//!   the write refused, per route; an unclassified property is never written;
//! - provenance: on a create, crmgate stamps where the data came from, when, and the
//!   lawful basis of the declared purpose; a client's own values for the stamped
//!   properties are dropped before the field decisions and replaced by the stamp, whatever
//!   the route's `denied_fields`;
//! - free text: special-category data and identifiers are redacted irreversibly before
//!   the text is forwarded (`redact.<category>`), or the write is refused where the policy
//!   does not allow redacting for this caller.
//!
//! This module must never let a property through that no decision covered, and never
//! forward a free-text value it did not scan.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::{Map, Value};

pub use crate::audit::event::WriteAudit;
use crate::config::Config;
use crate::error::RequestError;
use crate::policy::decision::StoredNeed;
use crate::policy::{PolicyEngine, Scope};
use crate::redact::{self, Look, Redactor};
use crate::routes::{extract_attributes, AttrValue, DeniedFields, ResourceProfile, WriteKind};

/// A write request in vendor-neutral form (the vendor profile parses it).
#[derive(Debug)]
pub struct WriteBody {
    pub inputs: Vec<WriteInput>,
    /// The lookup property the inputs' keys are values of (`email`), if not record ids.
    pub lookup: Option<String>,
    /// A merge: the record the input is merged into (decided like the input).
    pub merge_into: Option<String>,
    /// All or none: one input refused or not found, and none is sent.
    pub all_or_none: bool,
}

/// One record's input.
#[derive(Debug, Clone)]
pub struct WriteInput {
    /// The record it names (an id or a lookup value); none for a create.
    pub key: Option<String>,
    /// Property values (`None`: clear the property).
    pub properties: IndexMap<String, Option<String>>,
    /// The properties whose value is a JSON literal (a boolean or a number, in its JSON
    /// text) and not a string, for a vendor whose fields are typed; empty for string-valued
    /// vendors. Decided like any value; the vendor writes them back as literals.
    pub literal: BTreeSet<String>,
    /// Associations of a create, as the vendor spells them (the `associations` group).
    pub associations: Option<Vec<Value>>,
    /// The vendor's write trace id, passed on.
    pub trace: Option<String>,
}

impl WriteInput {
    /// An input that only names a record (archive, delete, merge).
    pub fn key(key: String) -> WriteInput {
        WriteInput {
            key: Some(key),
            properties: IndexMap::new(),
            literal: BTreeSet::new(),
            associations: None,
            trace: None,
        }
    }
}

/// A record as the CRM holds it now, read by crmgate before deciding a write on it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub record: Map<String, Value>,
}

impl Stored {
    /// A record of crmgate's read before a write, under the key the write names it by:
    /// its id, or with a lookup the lookup property's value ([`stored_key`]). `None` for a
    /// record without an id or without that property.
    pub fn keyed(
        res: &ResourceProfile,
        record: Map<String, Value>,
        lookup: Option<&str>,
    ) -> Option<(String, Stored)> {
        let id = crate::routes::record_id(res, &record)?;
        let key = match lookup {
            None => id.clone(),
            Some(p) => stored_key(res.property(&record, p).and_then(Value::as_str)?, true),
        };
        Some((key, Stored { id, record }))
    }
}

/// A key as the read before a write holds it: lookup values compared without case (as the
/// CRM compares e-mail addresses), ids as they are.
pub fn stored_key(key: &str, lookup: bool) -> String {
    if lookup {
        key.to_lowercase()
    } else {
        key.to_string()
    }
}

/// Whether the records a write names need not be read first: an update or delete by
/// record id (no lookup, no merge) that writes no attribute property, no free text and no
/// association, each input decided alike whatever the stored record holds
/// ([`PolicyEngine::stored_need`]). Each input is then decided on a stand-in
/// ([`Stored::stand_in`]), which any stored record would be decided like.
pub fn needs_no_read(
    engine: &PolicyEngine,
    scope: &Scope,
    res: &ResourceProfile,
    kind: WriteKind,
    body: &WriteBody,
) -> bool {
    if body.lookup.is_some()
        || body.merge_into.is_some()
        || !matches!(kind, WriteKind::Update | WriteKind::Delete)
    {
        return false;
    }
    let attribute = |name: &str| {
        res.attribute_properties().any(|p| p == name) || res.free_text.iter().any(|p| p == name)
    };
    body.inputs.iter().all(|input| {
        input.key.is_some()
            && input.associations.is_none()
            && !input.properties.keys().any(|k| attribute(k))
            && engine.stored_need(
                scope,
                res,
                kind.action(),
                named_groups(res, &input.properties, None).0,
            ) == StoredNeed::Any
    })
}

impl Stored {
    /// A record that stands for whichever one the CRM holds, where the decision does not
    /// depend on it ([`needs_no_read`]): only its id, every attribute its default or
    /// missing (which the domain the decision was proved over covers).
    pub fn stand_in(res: &ResourceProfile, id: &str) -> Stored {
        let mut record = Map::new();
        record.insert(res.id_field.clone(), Value::String(id.to_string()));
        Stored {
            id: id.to_string(),
            record,
        }
    }
}

/// The provenance values crmgate stamps on a create.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub source: String,
    pub at: String,
    pub basis: String,
}

impl Stamp {
    /// The provenance stamp of a create by this caller for this purpose, at `at`: the data
    /// source configured for its app or department (else `crmgate:app:<id>` or
    /// `crmgate:department:<name>`) and the declared purpose's lawful basis. The proxy and
    /// `explain` both stamp with this, so what a create is decided on is the same for both.
    pub fn of(config: &Config, scope: &Scope, at: String) -> Stamp {
        let p = &scope.principal;
        let is_app = p.uid.type_name().to_string() == "App";
        let configured = if is_app {
            config.apps.get(&p.id)
        } else {
            p.department
                .as_deref()
                .and_then(|d| config.departments.get(d))
        };
        let source = configured
            .and_then(|c| c.data_source.clone())
            .unwrap_or_else(|| {
                if is_app {
                    format!("crmgate:app:{}", p.id)
                } else {
                    format!(
                        "crmgate:department:{}",
                        p.department.as_deref().unwrap_or("none")
                    )
                }
            });
        Stamp {
            source,
            at,
            basis: config
                .purposes
                .get(&scope.purpose)
                .map(|p| p.legal_basis.clone())
                .unwrap_or_default(),
        }
    }
}

/// What became of one input.
#[derive(Debug)]
pub enum Verdict {
    /// Forward it, as decided.
    Write(Forward),
    /// The record does not exist or the caller may not see it: indistinguishable.
    NotFound,
    /// Refused (record-level deny, denied groups on a refusing route, sensitive text the
    /// policy does not let crmgate redact).
    Refused(RequestError),
}

/// Why an input stops before it is forwarded: the two verdicts that are not a write.
enum Stop {
    NotFound,
    Refused(RequestError),
}

/// An allowed input as it goes upstream.
#[derive(Debug)]
pub struct Forward {
    /// The record's id (crmgate's own read resolved any lookup).
    pub id: Option<String>,
    /// The input's key as the client named the record (an upsert's lookup value).
    pub key: Option<String>,
    pub properties: IndexMap<String, Option<String>>,
    /// Which of `properties` are JSON literals (see [`WriteInput::literal`]).
    pub literal: BTreeSet<String>,
    /// The attribute properties of the record as it was decided on (stored, with the
    /// write applied): where the CRM's answer lacks them, the answer is decided on these.
    pub decided: Map<String, Value>,
    pub associations: Option<Vec<Value>>,
    pub trace: Option<String>,
}

/// Decides the inputs of one write request.
pub struct Writer<'a> {
    pub engine: &'a PolicyEngine,
    pub scope: &'a Scope,
    pub res: &'a ResourceProfile,
    pub kind: WriteKind,
    pub denied_fields: DeniedFields,
    pub redactor: Option<&'a Redactor>,
    pub stamp: &'a Stamp,
    /// Decisions made, for the audit record.
    pub policies: Vec<String>,
    pub errors: Vec<String>,
}

impl Writer<'_> {
    /// Decide one input; `stored` is the record it names as the CRM holds it (none: it
    /// does not exist, or the write creates it).
    pub fn decide(&mut self, input: WriteInput, stored: Option<&Stored>) -> (Verdict, WriteAudit) {
        let action = match (self.kind, stored) {
            (WriteKind::Upsert, None) => "create",
            (kind, _) => kind.action(),
        };
        let mut audit = WriteAudit {
            id: stored.map(|s| s.id.clone()),
            action,
            ..WriteAudit::default()
        };
        let verdict = self.verdict(input, stored, action, &mut audit);
        match &verdict {
            Verdict::Write(_) => audit.outcome = "forwarded",
            Verdict::NotFound => {
                audit.outcome = "not-found";
                audit.reason = Some("record-not-found");
            }
            Verdict::Refused(e) => {
                audit.outcome = "refused";
                audit.reason = Some(e.kind());
            }
        }
        (verdict, audit)
    }

    fn verdict(
        &mut self,
        input: WriteInput,
        stored: Option<&Stored>,
        action: &'static str,
        audit: &mut WriteAudit,
    ) -> Verdict {
        match self.forward(input, stored, action, audit) {
            Ok(forward) => Verdict::Write(forward),
            Err(Stop::NotFound) => Verdict::NotFound,
            Err(Stop::Refused(e)) => Verdict::Refused(e),
        }
    }

    /// The input as it goes upstream, or the verdict that stops it (not found, refused).
    /// Order matters: provenance first (a client's values for stamped properties never
    /// count), then the record-level decisions, the field groups, and the free text last
    /// (only what may be written is scanned and redacted).
    fn forward(
        &mut self,
        input: WriteInput,
        stored: Option<&Stored>,
        action: &'static str,
        audit: &mut WriteAudit,
    ) -> Result<Forward, Stop> {
        let res = self.res;
        let creating = action == "create";
        if !creating && stored.is_none() {
            return Err(Stop::NotFound);
        }
        let WriteInput {
            key,
            mut properties,
            mut literal,
            associations,
            trace,
        } = input;

        // Provenance: a create carries crmgate's stamp, never the client's own values. The
        // stamped properties are crmgate's, so a client's values for them are dropped before
        // anything is decided: they are replaced whatever the route's `denied_fields` says,
        // and neither refuse the write nor count as stripped.
        let stamped = if creating { self.stamps() } else { Vec::new() };
        for (name, _) in &stamped {
            if properties.shift_remove(name).is_some() {
                audit.replaced.push(name.clone());
            }
        }

        let (groups, unclassified) = named_groups(res, &properties, associations.as_ref());
        let after = record_after(res, stored, &properties, &stamped);
        let after_attrs = extract_attributes(res, &after);
        let writable = self.writable(stored, action, groups, &after_attrs)?;
        self.deny_groups(
            groups & !writable,
            &unclassified,
            writable,
            &mut properties,
            audit,
        )?;
        let associations = associations.filter(|_| {
            res.field_groups
                .get("associations")
                .is_some_and(|&g| writable & (1u64 << g) != 0)
        });
        self.redact_free_text(&mut properties, &after_attrs, audit)?;

        for (k, v) in stamped {
            properties.insert(k.clone(), Some(v));
            audit.stamped.push(k);
        }
        audit.written = written_groups(res, &properties, associations.is_some());
        let decided = res
            .attribute_properties()
            .filter_map(|p| res.property(&after, p).map(|v| (p.to_string(), v.clone())))
            .collect();
        // A literal stays one only while its value is the client's (never a stamp or a
        // redaction, which are text).
        literal.retain(|k| {
            properties.contains_key(k)
                && !audit.stamped.contains(k)
                && !audit.redacted.contains_key(k)
        });
        Ok(Forward {
            id: stored.map(|s| s.id.clone()),
            key,
            literal,
            decided,
            properties,
            associations,
            trace,
        })
    }

    /// The provenance properties of a create with the values crmgate stamps on them.
    fn stamps(&self) -> Vec<(String, String)> {
        self.res
            .provenance
            .iter()
            .flat_map(|p| {
                [
                    Some((p.source.clone(), self.stamp.source.clone())),
                    p.at.clone().map(|a| (a, self.stamp.at.clone())),
                    p.basis.clone().map(|b| (b, self.stamp.basis.clone())),
                ]
            })
            .flatten()
            .collect()
    }

    /// The record-level decisions: on the stored record (a record the caller may not see
    /// is not found), and for a create or update on the record as it would be. Returns the
    /// field groups every decision lets the caller write.
    fn writable(
        &mut self,
        stored: Option<&Stored>,
        action: &'static str,
        groups: u64,
        after_attrs: &[Option<AttrValue>],
    ) -> Result<u64, Stop> {
        let res = self.res;
        let id = stored.map(|s| s.id.as_str());
        let mut writable = u64::MAX;
        if let Some(s) = stored {
            let before = extract_attributes(res, &s.record);
            let d = self
                .engine
                .decide_write(self.scope, res, id, &before, action, groups);
            self.account(&d.policies, &d.errors);
            // A record the caller may not see is not there, whatever else is decided.
            if !d.read.allow {
                return Err(Stop::NotFound);
            }
            if !d.record.allow {
                return Err(Stop::Refused(self.forbidden(action)));
            }
            writable &= d.writable;
        }
        if action == "create" || action == "update" {
            let d = self
                .engine
                .decide_write(self.scope, res, id, after_attrs, action, groups);
            self.account(&d.policies, &d.errors);
            // fail closed: the record must be allowed as it would be, too (an update may
            // not move a record where the caller could not have created or updated it).
            if !d.record.allow {
                return Err(Stop::Refused(self.forbidden(action)));
            }
            writable &= d.writable;
        }
        Ok(writable)
    }

    /// Field groups the caller may not write (`denied`) and unclassified names: refuse the
    /// write, or strip them, as the route says.
    fn deny_groups(
        &self,
        denied: u64,
        unclassified: &[String],
        writable: u64,
        properties: &mut IndexMap<String, Option<String>>,
        audit: &mut WriteAudit,
    ) -> Result<(), Stop> {
        let res = self.res;
        if denied == 0 && unclassified.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = res
            .groups
            .iter()
            .enumerate()
            .filter(|(g, _)| denied & (1u64 << g) != 0)
            .map(|(_, n)| n.clone())
            .collect();
        if !unclassified.is_empty() {
            names.push("unclassified".into());
        }
        match self.denied_fields {
            DeniedFields::Refuse => Err(Stop::Refused(RequestError::WriteRefused {
                groups: names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                purpose: self.scope.purpose.clone(),
            })),
            DeniedFields::Strip => {
                properties.retain(|k, _| {
                    res.property_groups
                        .get(k)
                        .is_some_and(|&g| writable & (1u64 << g) != 0)
                });
                audit.stripped = names;
                Ok(())
            }
        }
    }

    /// Free text: scanned, and redacted where the policy lets crmgate redact it; refused
    /// (naming fields and categories, never text) where it does not.
    fn redact_free_text(
        &mut self,
        properties: &mut IndexMap<String, Option<String>>,
        after_attrs: &[Option<AttrValue>],
        audit: &mut WriteAudit,
    ) -> Result<(), Stop> {
        let res = self.res;
        let mut refused_fields: Vec<String> = Vec::new();
        let mut refused_categories: Vec<String> = Vec::new();
        // Free text is scanned for everything; every other string property for identifiers
        // (an IBAN in `city`), markers in the language of the whole write.
        let language = self.redactor.map(|r| r.language(&all_text(properties)));
        let fields: Vec<(String, bool)> = properties
            .keys()
            .map(|k| (k.clone(), res.free_text.contains(k)))
            .collect();
        for (field, free) in fields {
            let Some(Some(text)) = properties.get(&field) else {
                continue;
            };
            let Some(redactor) = self.redactor else {
                if !free {
                    continue;
                }
                // fail closed: free text is never forwarded unscanned.
                return Err(Stop::Refused(RequestError::Internal(
                    "no redaction rules are loaded for a free-text write".into(),
                )));
            };
            let scan = if free {
                redactor.scan_in(text, &[], Look::Everything, language.as_deref())
            } else {
                let allow = redact::held_by_field(&field);
                redactor.scan_in(text, &allow, Look::Identifiers, language.as_deref())
            };
            if scan.is_clean() {
                continue;
            }
            let counts = scan.counts();
            let mut refused_here = false;
            for (category, _) in &counts {
                let d = self
                    .engine
                    .may_redact(self.scope, res, after_attrs, category);
                self.account(&d.policies, &d.errors);
                if !(d.allow && d.errors.is_empty()) {
                    refused_here = true;
                    refused_categories.push(category.clone());
                }
            }
            if refused_here {
                refused_fields.push(format!("`{field}`"));
                continue;
            }
            let redacted = scan.redact(text);
            properties.insert(field.clone(), Some(redacted));
            audit
                .redacted
                .insert(field.clone(), counts.into_iter().collect());
        }
        if let (Some(r), Some(lang)) = (self.redactor, language.as_deref()) {
            let cats: Vec<&str> = audit
                .redacted
                .values()
                .flat_map(|c| c.keys().map(String::as_str))
                .collect();
            audit.notice = r.notice(lang, &cats).map(|n| (lang.to_string(), n));
        }
        if !refused_fields.is_empty() {
            refused_categories.sort();
            refused_categories.dedup();
            return Err(Stop::Refused(RequestError::SensitiveRefused {
                fields: refused_fields.join(", "),
                categories: refused_categories.join(", "),
            }));
        }
        Ok(())
    }

    fn account(&mut self, policies: &[String], errors: &[String]) {
        self.policies.extend(policies.iter().cloned());
        self.errors.extend(errors.iter().cloned());
    }

    fn forbidden(&self, action: &str) -> RequestError {
        RequestError::Forbidden {
            action: action.to_string(),
            resource: self.res.collection.clone(),
            purpose: self.scope.purpose.clone(),
        }
    }
}

/// What an input names, by field group (a bit per group), and the names no group
/// classifies (never written).
fn named_groups(
    res: &ResourceProfile,
    properties: &IndexMap<String, Option<String>>,
    associations: Option<&Vec<Value>>,
) -> (u64, Vec<String>) {
    let mut groups = 0u64;
    let mut unclassified: Vec<String> = Vec::new();
    for name in properties.keys() {
        match res.property_groups.get(name) {
            Some(&g) => groups |= 1u64 << g,
            None => unclassified.push(name.clone()),
        }
    }
    let has_associations = associations.is_some_and(|a| !a.is_empty());
    if has_associations {
        match res.field_groups.get("associations") {
            Some(&g) => groups |= 1u64 << g,
            None => unclassified.push("associations".into()),
        }
    }
    (groups, unclassified)
}

/// The record as it would be afterwards: what a create or update is decided on.
fn record_after(
    res: &ResourceProfile,
    stored: Option<&Stored>,
    properties: &IndexMap<String, Option<String>>,
    stamped: &[(String, String)],
) -> Map<String, Value> {
    let mut record = stored.map(|s| s.record.clone()).unwrap_or_default();
    for (k, v) in properties {
        res.set_property(&mut record, k, v.clone().map_or(Value::Null, Value::String));
    }
    for (k, v) in stamped {
        res.set_property(&mut record, k, Value::String(v.clone()));
    }
    record
}

/// The field groups a forwarded input writes, sorted, for the audit record.
fn written_groups(
    res: &ResourceProfile,
    properties: &IndexMap<String, Option<String>>,
    associations: bool,
) -> Vec<String> {
    let mut written: Vec<String> = properties
        .keys()
        .filter_map(|k| res.property_groups.get(k))
        .filter_map(|&g| res.groups.get(g).cloned())
        .collect();
    if associations {
        written.push("associations".into());
    }
    written.sort();
    written.dedup();
    written
}

/// Every string value of a write, for telling its language.
fn all_text(properties: &IndexMap<String, Option<String>>) -> String {
    let values: Vec<&str> = properties.values().flatten().map(String::as_str).collect();
    values.join(" \n")
}

/// The `x-crmgate-redacted` header value: `field=category:count;…` per input, inputs
/// separated by `,` — names and counts, never values.
pub fn redaction_notice(audits: &[WriteAudit]) -> Option<String> {
    let parts: Vec<String> = audits
        .iter()
        .flat_map(|a| {
            a.redacted.iter().map(|(field, cats)| {
                let cats: Vec<String> = cats.iter().map(|(c, n)| format!("{c}:{n}")).collect();
                format!("{field}={}", cats.join(";"))
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The notices for the people whose texts were redacted, each once, in input order, and
/// the language of the first.
pub fn person_notice(audits: &[WriteAudit]) -> Option<(String, String)> {
    let mut notices: Vec<&str> = Vec::new();
    let mut language = None;
    for (lang, n) in audits.iter().filter_map(|a| a.notice.as_ref()) {
        language.get_or_insert(lang.clone());
        if !notices.contains(&n.as_str()) {
            notices.push(n);
        }
    }
    language.map(|l| (l, notices.join(" ")))
}

/// The `x-crmgate-stripped` header value: the field groups stripped from any input.
pub fn stripped_notice(audits: &[WriteAudit]) -> Option<String> {
    let mut groups: Vec<&str> = audits
        .iter()
        .flat_map(|a| a.stripped.iter().map(String::as_str))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    (!groups.is_empty()).then(|| groups.join(", "))
}
