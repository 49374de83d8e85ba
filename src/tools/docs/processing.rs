//! The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30
//! GDPR), one entry per purpose, from what crmgate holds: the controller and the CRM vendor
//! (configuration), the purpose's description and legal basis (purpose registry), the
//! categories of data subjects and of personal data (the record types, lifecycles and field
//! groups the permission concept finds readable for the purpose; special categories
//! marked), the recipients (departments and apps that may declare it, the vendor as
//! processor), the erasure periods (the deletion concept's rules) and the technical and
//! organisational measures crmgate itself provides, each with the configuration value
//! that backs it.
//!
//! It must never state a measure the configuration does not back: each line is made from
//! the loaded value it names.

use serde::Serialize;

use crate::config::{ClientAuth, Config};
use crate::stages::pipeline::Policies;

use super::permission::{PermissionConcept, Right};
use super::render::{Block, Document};
use super::text::Lang;

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub purpose: String,
    pub description: String,
    pub legal_basis: String,
    /// Record type → the kinds of records (lifecycles) readable for the purpose.
    pub data_subjects: Vec<String>,
    /// Field groups readable for the purpose (in any form), per record type.
    pub data: Vec<String>,
    pub special: Vec<String>,
    pub recipients: Vec<String>,
    pub erasure: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessingRecord {
    pub policy_revision: String,
    pub date: String,
    pub controller: Option<String>,
    pub dpo: Option<String>,
    pub vendor: String,
    pub vendor_storage: Option<String>,
    pub processor_contract: Option<String>,
    pub activities: Vec<Activity>,
    pub measures: Vec<(String, String)>,
}

/// The lifecycles a read right covers, from its condition (`lifecycle = x`, `lifecycle in
/// {x, y}`), or all of them.
fn lifecycles(right: &Right, all: &[String]) -> Vec<String> {
    match right {
        Right::No => Vec::new(),
        Right::Depends { when, .. } => {
            for part in when.split(" and ") {
                if let Some(v) = part.strip_prefix("lifecycle = ") {
                    return vec![v.to_string()];
                }
                if let Some(v) = part.strip_prefix("lifecycle in {") {
                    return v
                        .trim_end_matches('}')
                        .split(", ")
                        .map(str::to_string)
                        .collect();
                }
            }
            all.to_vec()
        }
        _ => all.to_vec(),
    }
}

fn activity(
    config: &Config,
    policies: &Policies,
    pc: &PermissionConcept,
    lang: Lang,
    purpose: &str,
) -> Activity {
    let rows: Vec<_> = pc.rows.iter().filter(|r| r.purpose == purpose).collect();
    let mut subjects = std::collections::BTreeSet::new();
    let mut data = std::collections::BTreeSet::new();
    let mut special = std::collections::BTreeSet::new();
    for r in &rows {
        let all: Vec<String> = pc
            .domains
            .get(&r.resource_type)
            .and_then(|d| d.get("lifecycle"))
            .cloned()
            .unwrap_or_default();
        let read = r.records.get("read").cloned().unwrap_or(Right::No);
        let written = ["create", "update"]
            .iter()
            .any(|a| r.records.get(*a).is_some_and(|x| *x != Right::No));
        let mut kinds = lifecycles(&read, &all);
        if kinds.is_empty() && written {
            kinds.push("new records".into());
        }
        let ty = lang.word(config, &r.resource_type);
        for k in kinds {
            subjects.insert(format!("{ty} ({})", lang.word(config, &k)));
        }
        for g in &r.groups {
            if g.read != Right::No || (written && g.create != Right::No) {
                let label = format!("{ty}: {}", lang.group(config, &g.group));
                if config.documents.special_category_groups.contains(&g.group) {
                    special.insert(label.clone());
                }
                data.insert(label);
            }
        }
    }
    let mut recipients: Vec<String> = pc
        .purposes
        .iter()
        .find(|p| p.purpose == purpose)
        .map(|p| {
            p.declared_by
                .iter()
                .map(|d| lang.department(config, d))
                .collect()
        })
        .unwrap_or_default();
    recipients.push(format!(
        "{} ({})",
        vendor(config, policies),
        processor_word(lang)
    ));
    let erasure = policies
        .retention
        .as_deref()
        .map(|r| {
            r.kinds
                .iter()
                .map(|k| {
                    format!(
                        "{}: {} {}, {}",
                        lang.text(config, &format!("{}.description", k.name), &k.description),
                        lang.period(&k.period),
                        lang.start(config, &k.start),
                        lang.word(config, k.action.name())
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let p = config.purposes.get(purpose);
    Activity {
        purpose: purpose.to_string(),
        description: lang.purpose(config, purpose),
        legal_basis: p
            .map(|p| lang.text(config, &format!("{purpose}.legal_basis"), &p.legal_basis))
            .unwrap_or_default(),
        data_subjects: subjects.into_iter().collect(),
        data: data.into_iter().collect(),
        special: special.into_iter().collect(),
        recipients,
        erasure,
    }
}

fn vendor(config: &Config, policies: &Policies) -> String {
    config
        .documents
        .vendor_name
        .clone()
        .unwrap_or_else(|| policies.vendor.name().to_string())
}

fn processor_word(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "processor, Art. 28 GDPR",
        Lang::De => "Auftragsverarbeiter, Art. 28 DSGVO",
    }
}

/// The technical and organisational measures crmgate provides, each with its backing value.
fn measures(config: &Config, policies: &Policies, lang: Lang) -> Vec<(String, String)> {
    let de = lang == Lang::De;
    let pick = |en: &str, de_: &str| if de { de_.to_string() } else { en.to_string() };
    let mut m = Vec::new();
    m.push((
        pick(
            "Access control per department and purpose (Cedar policies)",
            "Zugriffskontrolle je Abteilung und Zweck (Cedar-Richtlinien)",
        ),
        format!(
            "{} {}, {} {}",
            policies.engine.policy_ids().count(),
            pick("policies", "Richtlinien"),
            pick("revision", "Revision"),
            policies.engine.revision()
        ),
    ));
    m.push((
        pick(
            "Encryption in transit to crmgate (TLS)",
            "Transportverschlüsselung zu crmgate (TLS)",
        ),
        if config.listen.tls.is_some() {
            pick("TLS on the listener", "TLS am Listener")
        } else {
            pick(
                "terminated by the load balancer (plaintext = true)",
                "am Load Balancer terminiert (plaintext = true)",
            )
        },
    ));
    let mtls = match config.mtls.as_ref().map(|m| m.mode) {
        Some(ClientAuth::Required) => pick(
            "client certificates required",
            "Client-Zertifikate verpflichtend",
        ),
        Some(ClientAuth::Optional) => pick(
            "client certificates verified when presented",
            "Client-Zertifikate geprüft, wenn vorgelegt",
        ),
        None => pick("no client certificates", "keine Client-Zertifikate"),
    };
    m.push((
        pick(
            "Authentication of every request",
            "Authentisierung jeder Anfrage",
        ),
        format!(
            "{mtls}; {} {}; {} {}",
            config.api_keys.len(),
            pick(
                "API keys (only their SHA-256 is stored)",
                "API-Schlüssel (nur ihr SHA-256-Hash ist gespeichert)"
            ),
            config.jwt.len(),
            pick(
                "identity providers (OIDC tokens)",
                "Identitätsanbieter (OIDC-Token)"
            ),
        ),
    ));
    m.push((
        pick(
            "Pseudonymisation and masking of fields",
            "Pseudonymisierung und Maskierung von Feldern",
        ),
        pick(
            "pseudonyms with a key per purpose; partial, date and blackout masks",
            "Pseudonyme mit einem Schlüssel je Zweck; Teil-, Datums- und Schwärzungsmasken",
        ),
    ));
    let categories = policies
        .redactor
        .as_deref()
        .map(|r| r.categories().len())
        .unwrap_or(0);
    m.push((
        pick(
            "Special-category data in free text blacked out before the CRM stores it",
            "Besondere Kategorien in Freitexten vor dem Speichern geschwärzt",
        ),
        format!("{categories} {}", pick("categories", "Kategorien")),
    ));
    audit_measures(config, policies, lang, &mut m);
    m
}

/// The measures of the audit log, the deletion concept and the limits.
fn audit_measures(config: &Config, policies: &Policies, lang: Lang, m: &mut Vec<(String, String)>) {
    let de = lang == Lang::De;
    let pick = |en: &str, de_: &str| if de { de_.to_string() } else { en.to_string() };
    m.push((
        pick(
            "Tamper-evident audit log of every access and write",
            "Manipulationssicheres Protokoll jedes Zugriffs und Schreibens",
        ),
        format!(
            "{}; {} {} {}{}",
            pick(
                "hash chain with signed checkpoints",
                "Hash-Kette mit signierten Prüfpunkten"
            ),
            pick("a checkpoint every", "ein Prüfpunkt alle"),
            config.audit.checkpoint_every,
            pick("entries", "Einträge"),
            if config.audit.fsync {
                pick(
                    "; each entry on disk before the answer leaves",
                    "; jeder Eintrag auf der Platte, bevor die Antwort hinausgeht",
                )
            } else {
                String::new()
            }
        ),
    ));
    m.push((
        pick(
            "Retention of the audit log",
            "Aufbewahrung des Audit-Protokolls",
        ),
        match config.audit.retention {
            Some(d) => format!("{} {}", d.as_secs() / 86_400, pick("days", "Tage")),
            None => pick("not limited", "unbegrenzt"),
        },
    ));
    m.push((
        pick(
            "Central copy of the audit log",
            "Zentrale Kopie des Audit-Protokolls",
        ),
        if config.audit.central.is_some() {
            pick("PostgreSQL, every replica", "PostgreSQL, alle Instanzen")
        } else {
            pick("none (local log only)", "keine (nur lokal)")
        },
    ));
    m.push((
        pick(
            "Deletion concept enforced (due records hidden, deletion runs audited)",
            "Löschkonzept durchgesetzt (fällige Datensätze verborgen, Löschläufe protokolliert)",
        ),
        policies
            .retention
            .as_deref()
            .map(|r| {
                format!(
                    "{} {}, {} {}",
                    r.kinds.len(),
                    pick("rules", "Regeln"),
                    r.holds.len(),
                    pick("holds", "Sperren")
                )
            })
            .unwrap_or_else(|| pick("not configured", "nicht konfiguriert")),
    ));
    m.push((
        pick(
            "Limits against overload and misuse",
            "Begrenzungen gegen Überlast und Missbrauch",
        ),
        format!(
            "{} {}, {} {}, {} {}",
            config.limits.max_connections,
            pick("connections at most", "Verbindungen höchstens"),
            config.limits.max_connections_per_ip,
            pick("per address", "je Adresse"),
            config.limits.max_request_body_bytes / 1024,
            pick("KiB per request at most", "KiB je Anfrage höchstens")
        ),
    ));
}

/// The record of processing activities of the loaded configuration.
pub fn compute(
    config: &Config,
    policies: &Policies,
    pc: &PermissionConcept,
    lang: Lang,
) -> ProcessingRecord {
    let storage = config
        .documents
        .vendor_storage
        .as_ref()
        .and_then(|w| w.get(lang.code()).map(str::to_string));
    ProcessingRecord {
        policy_revision: pc.policy_revision.clone(),
        date: pc.date.clone(),
        controller: config
            .documents
            .controller
            .as_ref()
            .map(|c| c.get(lang.code())),
        dpo: config.documents.dpo.as_ref().map(|c| c.get(lang.code())),
        vendor: vendor(config, policies),
        vendor_storage: storage,
        processor_contract: config
            .documents
            .processor_contract
            .as_ref()
            .map(|c| c.get(lang.code())),
        activities: config
            .purposes
            .keys()
            .map(|p| activity(config, policies, pc, lang, p))
            .collect(),
        measures: measures(config, policies, lang),
    }
}

fn labels(lang: Lang) -> [&'static str; 13] {
    match lang {
        Lang::En => [
            "Controller",
            "Data protection officer",
            "Processor (CRM vendor)",
            "Where it stores the data",
            "Processor contract",
            "Processing activities",
            "Purpose",
            "Legal basis",
            "Categories of data subjects",
            "Categories of personal data",
            "Special categories (Art. 9 GDPR)",
            "Recipients",
            "Erasure periods",
        ],
        Lang::De => [
            "Verantwortlicher",
            "Datenschutzbeauftragte/r",
            "Auftragsverarbeiter (CRM-Anbieter)",
            "Speicherort der Daten",
            "Vertrag zur Auftragsverarbeitung",
            "Verarbeitungstätigkeiten",
            "Zweck",
            "Rechtsgrundlage",
            "Kategorien betroffener Personen",
            "Kategorien personenbezogener Daten",
            "Besondere Kategorien (Art. 9 DSGVO)",
            "Empfänger",
            "Löschfristen",
        ],
    }
}

/// The record as a document.
pub fn document(r: &ProcessingRecord, lang: Lang) -> Document {
    let l = labels(lang);
    let title = lang.t("processing-record").to_string();
    let running = format!(
        "{title} · {} {} · {} {}",
        lang.t("policy-revision"),
        r.policy_revision,
        lang.t("date"),
        r.date
    );
    let mut d = Document::new(lang.code(), title, running);
    let missing = || lang.t("absent").to_string();
    d.blocks.push(Block::Pairs(vec![
        (l[0].into(), r.controller.clone().unwrap_or_else(missing)),
        (l[1].into(), r.dpo.clone().unwrap_or_else(missing)),
        (l[2].into(), r.vendor.clone()),
        (
            l[3].into(),
            r.vendor_storage.clone().unwrap_or_else(missing),
        ),
        (
            l[4].into(),
            r.processor_contract.clone().unwrap_or_else(missing),
        ),
        (lang.t("policy-revision").into(), r.policy_revision.clone()),
        (lang.t("date").into(), r.date.clone()),
    ]));
    d.para(lang.t("generated-by"));
    d.h2(l[5]);
    let none = lang.t("none");
    let list = |v: &[String]| {
        if v.is_empty() {
            none.to_string()
        } else {
            v.join("; ")
        }
    };
    for a in &r.activities {
        d.h3(&a.description);
        d.blocks.push(Block::Pairs(vec![
            (l[6].into(), a.description.clone()),
            (l[7].into(), a.legal_basis.clone()),
            (l[8].into(), list(&a.data_subjects)),
            (l[9].into(), list(&a.data)),
            (l[10].into(), list(&a.special)),
            (l[11].into(), list(&a.recipients)),
            (l[12].into(), list(&a.erasure)),
        ]));
    }
    d.h2(match lang {
        Lang::En => "Technical and organisational measures (Art. 32 GDPR) crmgate provides",
        Lang::De => {
            "Technische und organisatorische Maßnahmen (Art. 32 DSGVO), die crmgate umsetzt"
        }
    });
    d.blocks.push(Block::Pairs(r.measures.clone()));
    d
}
