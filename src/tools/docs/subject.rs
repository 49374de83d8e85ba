//! The answer to an access request (Auskunft nach Art. 15 DSGVO) for one person's record:
//! the purposes and legal bases per category of data (from the permission concept), the
//! source and storage period (the deletion concept's rules of the record's type), the
//! recipients (the departments that looked the record up, the CRM vendor as processor),
//! every access with its date, purpose and department — individual employees only when
//! asked for (`--name-employees`: employees are not recipients, CJEU C-579/21) — writes and
//! erasures labelled as such, the copy of the data (read through crmgate, [`super::copy`])
//! and the rights text of Art. 15(1)(a)–(h). It reads the audit log (a directory, or the
//! central store with every replica).
//!
//! It must never show an employee's name unless asked, and never show a field value but in
//! the copy (the audit log holds field names only).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::audit::query::{names_associated, Hit};
use crate::config::Config;
use crate::stages::pipeline::Policies;

use super::copy::{shown, Copy};
use super::permission::{PermissionConcept, Right};
use super::render::{Block, Cell, Document};
use super::text::Lang;

/// One request that concerned the person's record.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub time: String,
    pub department: String,
    /// Only with `--name-employees`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee: Option<String>,
    pub purpose: String,
    /// `looked_up`, `created`, `changed`, `archived`, `erased`, `merged`, `associated`.
    pub what: String,
    /// Field groups shown (clear or masked) or written.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub group: String,
    /// Purpose → legal basis, for every purpose the group may be read for.
    pub purposes: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccess {
    pub record: String,
    pub date: String,
    pub policy_revision: String,
    pub source: String,
    pub categories: Vec<Category>,
    pub storage: Vec<String>,
    pub recipients: Vec<String>,
    /// Department → its accesses, oldest first.
    pub accesses: BTreeMap<String, Vec<Access>>,
    /// The person's data as the CRM holds it (Art. 15(3)), read through crmgate; none when
    /// the answer was made without it (`--no-copy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<Copy>,
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// What one request did to the record (`None`: it did nothing to it, e.g. refused).
fn classify(v: &Value, t: &str, id: &str) -> Option<(String, Vec<String>)> {
    let route = str_of(v, "route");
    if let Some(w) = v.get("writes").and_then(Value::as_array).and_then(|ws| {
        ws.iter()
            .find(|w| str_of(w, "id") == id && str_of(w, "outcome") == "forwarded")
    }) {
        let what = match str_of(w, "action") {
            "create" => "created",
            "update" => "changed",
            "merge" => "merged",
            // The vendor's GDPR delete removes for good; its other delete archives.
            "delete" if route.contains("gdpr") => "erased",
            "delete" => "archived",
            _ => "changed",
        };
        return Some((what.into(), names(w.get("written"))));
    }
    let entry = v
        .get("records")
        .and_then(Value::as_array)
        .and_then(|rs| rs.iter().find(|r| str_of(r, "id") == id));
    if let Some(r) = entry {
        let mut groups = names(r.get("clear"));
        groups.extend(names(r.get("masked")));
        return Some(("looked_up".into(), groups));
    }
    names_associated(v, t, id).then(|| ("associated".into(), Vec::new()))
}

/// The answer for the record `t/id`, from the audit hits that name it.
#[allow(clippy::too_many_arguments)]
pub fn compute(
    config: &Config,
    policies: &Policies,
    pc: &PermissionConcept,
    hits: &[Hit],
    (t, id): (&str, &str),
    name_employees: bool,
    lang: Lang,
    copy: Option<Copy>,
) -> SubjectAccess {
    let entity = policies
        .routes
        .resources()
        .find(|r| {
            crate::audit::query::norm_type(&r.collection) == t
                || r.entity_type.eq_ignore_ascii_case(t)
        })
        .map(|r| r.entity_type.clone())
        .unwrap_or_else(|| t.to_string());
    let mut accesses: BTreeMap<String, Vec<Access>> = BTreeMap::new();
    for h in hits {
        let v = &h.value;
        let Some((what, groups)) = classify(v, t, id) else {
            continue;
        };
        let dept = match (str_of(v, "department"), str_of(v, "principal")) {
            ("", p) => format!("app {p}"),
            (d, _) => d.to_string(),
        };
        accesses
            .entry(lang.department(config, &dept))
            .or_default()
            .push(Access {
                time: str_of(v, "time").to_string(),
                department: dept,
                employee: name_employees.then(|| str_of(v, "principal").to_string()),
                purpose: lang.purpose(config, str_of(v, "purpose")),
                what,
                groups: groups.iter().map(|g| lang.group(config, g)).collect(),
            });
    }
    let categories = categories_of(config, pc, &entity, lang);
    let storage = policies
        .retention
        .as_deref()
        .map(|r| {
            r.kinds
                .iter()
                .filter(|k| k.resource == entity)
                .map(|k| {
                    format!(
                        "{}: {}, {}; {}",
                        lang.text(config, &format!("{}.description", k.name), &k.description),
                        lang.period(&k.period),
                        lang.start(config, &k.start),
                        lang.text(config, &format!("{}.legal_basis", k.name), &k.legal_basis)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut recipients: Vec<String> = accesses.keys().cloned().collect();
    recipients.push(format!(
        "{} ({})",
        config
            .documents
            .vendor_name
            .clone()
            .unwrap_or_else(|| policies.vendor.name().to_string()),
        match lang {
            Lang::En => "processor, Art. 28 GDPR",
            Lang::De => "Auftragsverarbeiter, Art. 28 DSGVO",
        }
    ));
    let source = match lang {
        Lang::En => "Where your data came from is recorded on the record itself (source, date and legal basis of its collection, stamped by crmgate when the record was created).",
        Lang::De => "Woher Ihre Daten stammen, ist am Datensatz selbst vermerkt (Quelle, Zeitpunkt und Rechtsgrundlage der Erhebung, von crmgate beim Anlegen eingetragen).",
    };
    SubjectAccess {
        record: format!("{} {id}", lang.word(config, &entity)),
        date: pc.date.clone(),
        policy_revision: pc.policy_revision.clone(),
        source: source.into(),
        categories,
        storage,
        recipients,
        accesses,
        copy,
    }
}

/// Per field group of the record type: the purposes it may be read for, with their bases.
fn categories_of(
    config: &Config,
    pc: &PermissionConcept,
    entity: &str,
    lang: Lang,
) -> Vec<Category> {
    let mut categories = Vec::new();
    for g in pc.groups.iter().filter(|g| g.resource_type == entity) {
        let mut purposes: Vec<(String, String)> = pc
            .rows
            .iter()
            .filter(|r| r.resource_type == entity)
            .filter(|r| {
                r.groups
                    .iter()
                    .any(|x| x.group == g.group && x.read != Right::No)
            })
            .filter_map(|r| {
                let p = config.purposes.get(&r.purpose)?;
                let basis = format!("{}.legal_basis", r.purpose);
                Some((
                    lang.purpose(config, &r.purpose),
                    lang.text(config, &basis, &p.legal_basis),
                ))
            })
            .collect();
        purposes.sort();
        purposes.dedup();
        categories.push(Category {
            group: lang.group(config, &g.group),
            purposes,
        });
    }
    categories
}

fn what_text(lang: Lang, what: &str) -> &'static str {
    match (lang, what) {
        (Lang::En, "looked_up") => "looked up",
        (Lang::En, "created") => "created (write)",
        (Lang::En, "changed") => "changed (write)",
        (Lang::En, "merged") => "merged (write)",
        (Lang::En, "archived") => "deleted (archived, restorable for a time)",
        (Lang::En, "erased") => "erased for good (erasure, Art. 17 GDPR)",
        (Lang::En, _) => "named as linked to another record",
        (Lang::De, "looked_up") => "abgerufen",
        (Lang::De, "created") => "angelegt (Schreibzugriff)",
        (Lang::De, "changed") => "geändert (Schreibzugriff)",
        (Lang::De, "merged") => "zusammengeführt (Schreibzugriff)",
        (Lang::De, "archived") => "gelöscht (archiviert, eine Zeit lang wiederherstellbar)",
        (Lang::De, "erased") => "endgültig gelöscht (Löschung, Art. 17 DSGVO)",
        (Lang::De, _) => "als mit einem anderen Datensatz verknüpft genannt",
    }
}

const RIGHTS_EN: [&str; 8] = [
    "(a) the purposes of the processing: see the categories of data above;",
    "(b) the categories of personal data concerned: see above;",
    "(c) the recipients or categories of recipients: see the recipients above; employees of the controller who looked your data up are not recipients (CJEU C-579/21), their names are given only where you need them to exercise your rights;",
    "(d) the period for which the data will be stored, or the criteria used to determine it: see the storage periods above;",
    "(e) the right to request rectification (Art. 16) or erasure (Art. 17) of your data, restriction of processing (Art. 18), and to object to it (Art. 21);",
    "(f) the right to lodge a complaint with a supervisory authority (Art. 77);",
    "(g) where the data were not collected from you, any available information as to their source: see the source above;",
    "(h) the existence of automated decision-making, including profiling (Art. 22): there is none.",
];

const RIGHTS_DE: [&str; 8] = [
    "a) die Verarbeitungszwecke: siehe die Datenkategorien oben;",
    "b) die Kategorien personenbezogener Daten, die verarbeitet werden: siehe oben;",
    "c) die Empfänger oder Kategorien von Empfängern: siehe die Empfänger oben; Beschäftigte des Verantwortlichen, die Ihre Daten abgerufen haben, sind keine Empfänger (EuGH C-579/21), ihre Namen werden nur genannt, wo Sie sie zur Wahrnehmung Ihrer Rechte benötigen;",
    "d) die geplante Speicherdauer oder die Kriterien für ihre Festlegung: siehe die Speicherfristen oben;",
    "e) das Recht auf Berichtigung (Art. 16) oder Löschung (Art. 17), auf Einschränkung der Verarbeitung (Art. 18) und auf Widerspruch (Art. 21);",
    "f) das Beschwerderecht bei einer Aufsichtsbehörde (Art. 77);",
    "g) wenn die Daten nicht bei Ihnen erhoben wurden, alle verfügbaren Informationen über ihre Herkunft: siehe die Herkunft oben;",
    "h) das Bestehen einer automatisierten Entscheidungsfindung einschließlich Profiling (Art. 22): es gibt keine.",
];

/// The answer as a document.
pub fn document(s: &SubjectAccess, config: &Config, lang: Lang) -> Document {
    let de = lang == Lang::De;
    let w = |en: &'static str, de_: &'static str| if de { de_ } else { en };
    let title = lang.t("subject-access").to_string();
    let running = format!("{title} · {} · {} {}", s.record, lang.t("date"), s.date);
    let mut d = Document::new(lang.code(), title.clone(), running);
    d.blocks.push(super::permission::doc::head(
        lang,
        config,
        &title,
        &s.policy_revision,
        &s.date,
    ));
    d.blocks.push(Block::Pairs(vec![(
        w("Record", "Datensatz").into(),
        s.record.clone(),
    )]));
    d.h2(w(
        "Purposes and legal bases per category of data",
        "Zwecke und Rechtsgrundlagen je Datenkategorie",
    ));
    // One row per purpose with the data it may use: far shorter than every purpose
    // repeated under every category.
    let mut by_purpose: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in &s.categories {
        for p in &c.purposes {
            by_purpose
                .entry(p.clone())
                .or_default()
                .push(c.group.clone());
        }
    }
    let rows = by_purpose
        .into_iter()
        .map(|((purpose, basis), groups)| {
            vec![Cell::plain(purpose), Cell::plain(basis), Cell::list(groups)]
        })
        .collect();
    d.table(
        vec![
            lang.t("purpose").into(),
            lang.t("legal-basis").into(),
            lang.t("field-group").into(),
        ],
        rows,
    );
    copy_section(&mut d, s, config, lang);
    d.h2(w("Source of the data", "Herkunft der Daten"));
    d.para(&s.source);
    d.h2(w("Storage periods", "Speicherfristen"));
    if s.storage.is_empty() {
        d.para(w(
            "No deletion rule of the deletion concept covers this kind of record; it is kept as long as the purposes above need it.",
            "Keine Regel des Löschkonzepts betrifft diese Art von Datensatz; er wird so lange gespeichert, wie die oben genannten Zwecke es erfordern.",
        ));
    } else {
        d.blocks.push(Block::List(s.storage.clone()));
    }
    d.h2(w("Recipients", "Empfänger"));
    d.blocks.push(Block::List(s.recipients.clone()));
    accesses_section(&mut d, s, lang);
    d.h2(w(
        "Your rights (Art. 15(1) GDPR)",
        "Ihre Rechte (Art. 15 Abs. 1 DSGVO)",
    ));
    d.blocks.push(Block::List(
        (if de { RIGHTS_DE } else { RIGHTS_EN })
            .iter()
            .map(|s| s.to_string())
            .collect(),
    ));
    d
}

/// The copy of the data (Art. 15(3)): every field that holds a value, by category.
fn copy_section(d: &mut Document, s: &SubjectAccess, config: &Config, lang: Lang) {
    let de = lang == Lang::De;
    let w = |en: &'static str, de_: &'static str| if de { de_ } else { en };
    d.h2(w(
        "Copy of your data (Art. 15(3) GDPR)",
        "Kopie Ihrer Daten (Art. 15 Abs. 3 DSGVO)",
    ));
    let Some(copy) = &s.copy else {
        d.para(w(
            "This answer was made without the copy of the data; it follows separately.",
            "Diese Auskunft wurde ohne die Kopie der Daten erstellt; sie folgt gesondert.",
        ));
        return;
    };
    if !copy.held {
        d.para(w(
            "We hold no personal data about you in our CRM: it has no record of you (any more).",
            "Wir speichern in unserem CRM keine personenbezogenen Daten über Sie: es enthält keinen Datensatz (mehr) zu Ihnen.",
        ));
        return;
    }
    d.para(w(
        "Your data exactly as our CRM holds it on the date of this answer, read for this answer alone. The small print under each kind of data names the field as the CRM calls it.",
        "Ihre Daten genau so, wie unser CRM sie am Datum dieser Auskunft speichert, allein für diese Auskunft gelesen. Das Kleingedruckte unter jeder Datenart nennt das Feld so, wie das CRM es bezeichnet.",
    ));
    let mut rows: Vec<(String, String, Vec<Cell>)> = copy
        .fields
        .iter()
        .map(|(field, v)| {
            let group = copy.groups.get(field).map(String::as_str).unwrap_or("");
            let label = lang.group(config, group);
            (
                label.clone(),
                field.clone(),
                vec![Cell::noted(label, field.clone()), Cell::plain(shown(v))],
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    d.table(
        vec![lang.t("field-group").into(), w("Value", "Wert").into()],
        rows.into_iter().map(|r| r.2).collect(),
    );
}

/// Every access, write and erasure, one table per department.
fn accesses_section(d: &mut Document, s: &SubjectAccess, lang: Lang) {
    let de = lang == Lang::De;
    let w = |en: &'static str, de_: &'static str| if de { de_ } else { en };
    d.h2(w(
        "Accesses, writes and erasures by department",
        "Zugriffe, Schreibzugriffe und Löschungen je Abteilung",
    ));
    if s.accesses.is_empty() {
        d.para(lang.t("none"));
    }
    for (dept, list) in &s.accesses {
        d.h3(dept);
        let named = list.iter().any(|a| a.employee.is_some());
        let rows = list
            .iter()
            .map(|a| {
                let mut r = vec![
                    Cell::plain(a.time.get(..10).unwrap_or(&a.time)),
                    Cell::plain(&a.purpose),
                    Cell::plain(what_text(lang, &a.what)),
                    Cell::plain(a.groups.join(", ")),
                ];
                if named {
                    r.push(Cell::plain(a.employee.clone().unwrap_or_default()));
                }
                r
            })
            .collect();
        let mut head = vec![
            lang.t("date").into(),
            lang.t("purpose").into(),
            lang.t("what").into(),
            lang.t("field-group").into(),
        ];
        if named {
            head.push(w("Employee", "Beschäftigte/r").into());
        }
        d.table(head, rows);
    }
}
