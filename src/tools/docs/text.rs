//! The documents' words, in English and German: one table of phrases a data protection
//! officer files (Berechtigungskonzept, Verzeichnis von Verarbeitungstätigkeiten,
//! Löschkonzept, Löschprotokoll, Auskunft nach Art. 15 DSGVO), and the default labels of
//! field groups. The renderer escapes them like any other text.
//!
//! It must never return an empty text: a key missing from the table shows as itself, and a
//! test holds every key to both languages.

use serde::Serialize;

use crate::config::Config;

/// A document language.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The phrase `key` in this language.
    pub fn t(self, key: &str) -> &'static str {
        match TEXT.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, de)) => match self {
                Lang::En => en,
                Lang::De => de,
            },
            None => "?",
        }
    }

    /// A field group's label: configured, else the built-in default, else its name.
    pub fn group(self, config: &Config, group: &str) -> String {
        if let Some(w) = config.documents.group_labels.get(group) {
            if let Some(s) = w.get(self.code()) {
                return s.to_string();
            }
        }
        match GROUPS.iter().find(|(g, _, _)| *g == group) {
            Some((_, en, de)) => match self {
                Lang::En => en.to_string(),
                Lang::De => de.to_string(),
            },
            None => group.replace('_', " "),
        }
    }

    /// A purpose in plain words: configured label, else its description, else its name.
    pub fn purpose(self, config: &Config, purpose: &str) -> String {
        if let Some(s) = config
            .documents
            .purpose_labels
            .get(purpose)
            .and_then(|w| w.get(self.code()))
        {
            return s.to_string();
        }
        match config.purposes.get(purpose) {
            Some(p) if !p.description.is_empty() => p.description.clone(),
            _ => purpose.replace('_', " "),
        }
    }

    /// A technical name in plain words: `[documents.labels]`, else the built-in words,
    /// else the name with spaces for underscores.
    pub fn word(self, config: &Config, key: &str) -> String {
        self.labelled(config, key).unwrap_or_else(|| {
            match WORDS.iter().find(|(k, _, _)| *k == key) {
                Some((_, en, de)) => match self {
                    Lang::En => en.to_string(),
                    Lang::De => de.to_string(),
                },
                None => key.replace('_', " "),
            }
        })
    }

    /// `[documents.labels]`'s words for `key` in this language, if configured.
    pub fn labelled(self, config: &Config, key: &str) -> Option<String> {
        config
            .documents
            .labels
            .get(key)
            .and_then(|w| w.get(self.code()))
            .map(str::to_string)
    }

    /// A text the configuration gives in English (a description, a legal basis): the
    /// configured words for `key` in this language, else (German) the usual legal notation
    /// translated, else the text itself.
    pub fn text(self, config: &Config, key: &str, english: &str) -> String {
        if let Some(s) = self.labelled(config, key) {
            return s;
        }
        match self {
            Lang::En => english.to_string(),
            Lang::De => german_legal(english),
        }
    }

    /// A retention period (`24 months`) in this language.
    pub fn period(self, p: &crate::retention::Period) -> String {
        use crate::retention::Unit;
        let unit = match (self, p.unit, p.count) {
            (Lang::En, ..) => return p.to_string(),
            (Lang::De, Unit::Days, 1) => "Tag",
            (Lang::De, Unit::Days, _) => "Tage",
            (Lang::De, Unit::Months, 1) => "Monat",
            (Lang::De, Unit::Months, _) => "Monate",
            (Lang::De, Unit::Years, 1) => "Jahr",
            (Lang::De, Unit::Years, _) => "Jahre",
        };
        format!("{} {unit}", p.count)
    }

    /// A deletion rule's start event in plain words.
    pub fn start(self, config: &Config, start: &crate::retention::Start) -> String {
        let event = self.word(config, &start.property);
        match (self, start.end_of_year) {
            (Lang::En, false) => format!("from the {event}"),
            (Lang::En, true) => format!("from the end of the calendar year of the {event}"),
            (Lang::De, false) => format!("ab {event}"),
            (Lang::De, true) => format!("ab Ende des Kalenderjahres {event}"),
        }
    }

    /// A department (or app, `app <id>`) in plain words.
    pub fn department(self, config: &Config, dept: &str) -> String {
        if let Some(app) = dept.strip_prefix("app ") {
            return match self.labelled(config, app) {
                Some(label) => label,
                None => format!("{} {}", self.t("app"), app.replace('_', " ")),
            };
        }
        config
            .documents
            .department_labels
            .get(dept)
            .and_then(|w| w.get(self.code()))
            .map(str::to_string)
            .unwrap_or_else(|| dept.replace('_', " "))
    }
}

/// The usual English legal notation in German: `Art. 6(1)(b) GDPR (contract)` →
/// `Art. 6 Abs. 1 lit. b DSGVO (Vertrag)`.
pub fn german_legal(text: &str) -> String {
    let mut s = text.to_string();
    for (en, de) in LEGAL_WORDS {
        s = s.replace(en, de);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    // `Art. N(a)(b)…`: the first parenthesis is the paragraph, a letter a point.
    while let Some(at) = rest.find("Art. ") {
        out.push_str(&rest[..at + 5]);
        rest = &rest[at + 5..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..digits]);
        rest = &rest[digits..];
        while let Some(inner) = rest
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .filter(|(i, _)| {
                !i.is_empty() && i.len() <= 3 && i.chars().all(|c| c.is_ascii_alphanumeric())
            })
        {
            let (inner, after) = inner;
            if inner.chars().all(|c| c.is_ascii_digit()) {
                out.push_str(&format!(" Abs. {inner}"));
            } else {
                out.push_str(&format!(" lit. {inner}"));
            }
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// English legal words and their German (longest first where one holds another).
const LEGAL_WORDS: &[(&str, &str)] = &[
    (
        "pre-contractual steps at the person's request",
        "vorvertragliche Maßnahmen auf Anfrage der Person",
    ),
    ("legitimate interest", "berechtigtes Interesse"),
    ("legal obligation", "rechtliche Verpflichtung"),
    (
        "storage limitation, erasure",
        "Speicherbegrenzung, Löschung",
    ),
    ("(contract)", "(Vertrag)"),
    ("(consent)", "(Einwilligung)"),
    ("GDPR", "DSGVO"),
];

/// Built-in words for technical names every configuration has: (name, English, German).
pub const WORDS: &[(&str, &str, &str)] = &[
    ("Contact", "Contact", "Kontakt"),
    ("Company", "Company", "Unternehmen"),
    ("customer", "customers", "Kunden"),
    ("lead", "leads", "Interessenten"),
    ("subscriber", "subscribers", "Abonnenten"),
    ("other", "business partners", "Geschäftspartner"),
    ("new records", "new records", "neu angelegte Datensätze"),
    (
        "archive",
        "archive (restorable for a time)",
        "archivieren (eine Zeit lang wiederherstellbar)",
    ),
    ("gdpr_delete", "erase for good", "endgültig löschen"),
    ("erase", "erase for good", "endgültig löschen"),
    ("anonymise", "anonymise", "anonymisieren"),
    ("whole record", "the whole record", "der ganze Datensatz"),
    ("archived", "archived", "archiviert"),
    (
        "due_for_deletion",
        "due for deletion",
        "zur Löschung fällig",
    ),
    (
        "under_hold",
        "kept by a hold",
        "durch eine Sperre aufbewahrt",
    ),
    ("true", "yes", "ja"),
    ("false", "no", "nein"),
    // the categories of free-text redaction (policies/redaction/categories.toml)
    ("redaction.health", "health", "Gesundheit"),
    (
        "redaction.religion",
        "religion or belief",
        "Religion oder Weltanschauung",
    ),
    (
        "redaction.ethnic_origin",
        "ethnic origin",
        "ethnische Herkunft",
    ),
    (
        "redaction.political_opinion",
        "political opinion",
        "politische Meinung",
    ),
    (
        "redaction.trade_union",
        "trade-union membership",
        "Gewerkschaftszugehörigkeit",
    ),
    (
        "redaction.sex_life",
        "sex life or sexual orientation",
        "Sexualleben oder sexuelle Orientierung",
    ),
    ("redaction.genetic", "genetic data", "genetische Daten"),
    (
        "redaction.biometric",
        "biometric data",
        "biometrische Daten",
    ),
    ("redaction.iban", "IBAN", "IBAN"),
    ("redaction.card", "card number", "Kartennummer"),
    ("redaction.tax_id", "tax id", "Steuer-ID"),
    (
        "redaction.social_security",
        "social security number",
        "Sozialversicherungsnummer",
    ),
    ("redaction.id_card", "ID card number", "Ausweisnummer"),
    ("redaction.passport", "passport number", "Reisepassnummer"),
    ("redaction.phone", "phone number", "Telefonnummer"),
    ("redaction.email", "e-mail address", "E-Mail-Adresse"),
];

impl Lang {
    /// A text that names attributes and values (a condition, `a = v and not b`): each name
    /// with words of its own (configured or built in) replaced by them.
    pub fn worded(self, config: &Config, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut name = String::new();
        let flush = |name: &mut String, out: &mut String| {
            if !name.is_empty() {
                let known = self.labelled(config, name).is_some()
                    || WORDS.iter().any(|(k, _, _)| *k == name.as_str());
                if known {
                    out.push_str(&self.word(config, name));
                } else {
                    out.push_str(name);
                }
                name.clear();
            }
        };
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                name.push(c);
            } else {
                flush(&mut name, &mut out);
                out.push(c);
            }
        }
        flush(&mut name, &mut out);
        out
    }
}

/// Default labels of the usual field groups: (group, English, German).
pub const GROUPS: &[(&str, &str, &str)] = &[
    ("identity", "Name", "Name"),
    ("email", "E-mail address", "E-Mail-Adresse"),
    ("phone", "Telephone numbers", "Telefonnummern"),
    ("address", "Postal address", "Postanschrift"),
    (
        "billing",
        "Billing and bank details",
        "Rechnungs- und Bankdaten",
    ),
    ("birthday", "Date of birth", "Geburtsdatum"),
    ("photo", "Photo", "Foto"),
    ("wish_text", "Free-text message", "Freitext-Nachricht"),
    (
        "company",
        "Employer and job title",
        "Arbeitgeber und Position",
    ),
    ("consent", "Consents", "Einwilligungen"),
    ("provenance", "Source of the data", "Herkunft der Daten"),
    (
        "status",
        "Status and record keeping",
        "Status und Verwaltungsdaten",
    ),
    ("meta", "Record dates", "Datensatz-Zeitstempel"),
    (
        "associations",
        "Links to other records",
        "Verknüpfungen mit anderen Datensätzen",
    ),
    ("business", "Business details", "Geschäftsdaten"),
];

/// Every phrase: (key, English, German).
pub const TEXT: &[(&str, &str, &str)] = &[
    // titles
    ("permission-concept", "Permission concept", "Berechtigungskonzept"),
    ("processing-record", "Record of processing activities (Art. 30 GDPR)", "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)"),
    ("subject-access", "Access request answer (Art. 15 GDPR)", "Auskunft nach Art. 15 DSGVO"),
    ("deletion-record", "Deletion concept and deletion record", "Löschkonzept und Löschprotokoll"),
    // the page header and document block
    ("policy-revision", "Policy revision", "Richtlinien-Revision"),
    ("date", "Date", "Datum"),
    ("generated-by", "Generated by crmgate from the rules it enforces; it cannot differ from what crmgate does.", "Von crmgate aus den Regeln erzeugt, die es durchsetzt; es kann nicht von dem abweichen, was crmgate tut."),
    ("page", "Page", "Seite"),
    ("app", "Application", "Anwendung"),
    ("none", "None.", "Keine."),
    ("failed", "failed", "fehlgeschlagen"),
    ("yes", "yes", "ja"),
    ("no", "no", "nein"),
    // permission concept
    ("pc-intro", "Who may read and write which personal data in the CRM, for which purpose, and in which form. Each section covers one department (or application) and one purpose it may declare; crmgate refuses every purpose not listed for it.", "Wer welche personenbezogenen Daten im CRM zu welchem Zweck und in welcher Form lesen und schreiben darf. Jeder Abschnitt betrifft eine Abteilung (oder Anwendung) und einen Zweck, den sie angeben darf; jeden anderen Zweck weist crmgate ab."),
    ("purposes", "Purposes and legal bases", "Zwecke und Rechtsgrundlagen"),
    ("purpose", "Purpose", "Zweck"),
    ("legal-basis", "Legal basis", "Rechtsgrundlage"),
    ("declared-by", "Declared by", "Angegeben von"),
    ("roles", "Roles", "Rollen"),
    ("role", "Role", "Rolle"),
    ("held-by", "Held by", "Inhaber"),
    ("department", "Department", "Abteilung"),
    ("field-groups", "Field groups and the CRM fields they hold", "Datengruppen und die CRM-Felder, die sie umfassen"),
    ("field-group", "Data", "Daten"),
    ("crm-fields", "CRM fields", "CRM-Felder"),
    ("record-type", "Record type", "Datensatzart"),
    ("access-rights", "Access rights per department and purpose", "Zugriffsrechte je Abteilung und Zweck"),
    ("records", "Records", "Datensätze"),
    ("read", "Read", "Lesen"),
    ("create", "Create", "Anlegen"),
    ("update", "Change", "Ändern"),
    ("delete", "Delete", "Löschen"),
    ("merge", "Merge", "Zusammenführen"),
    ("clear", "in full", "vollständig"),
    ("never", "no", "nein"),
    ("all-records", "all records", "alle Datensätze"),
    ("no-records", "none", "keine"),
    ("only-if", "only if", "nur wenn"),
    ("allowed", "allowed", "erlaubt"),
    ("stripped", "dropped from the write", "wird verworfen"),
    ("refused", "write refused", "Schreiben abgelehnt"),
    ("not-applicable", "–", "–"),
    ("masked", "masked", "maskiert"),
    ("mask-partial", "partly masked (last digits)", "teilweise maskiert (letzte Ziffern)"),
    ("mask-hash", "pseudonymised (keyed hash per purpose)", "pseudonymisiert (Schlüssel je Zweck)"),
    ("mask-redact", "blacked out", "geschwärzt"),
    ("mask-month_day", "day and month only", "nur Tag und Monat"),
    ("mask-year", "year only", "nur Jahr"),
    ("mask-null", "emptied", "geleert"),
    ("redaction", "Special-category data in free text", "Besondere Kategorien in Freitexten"),
    ("redaction-intro", "Free text written through crmgate is scanned before the CRM stores it. Where a department may write it, the data found is blacked out; otherwise the write is refused.", "Freitext, der über crmgate geschrieben wird, wird vor dem Speichern im CRM geprüft. Wo eine Abteilung ihn schreiben darf, werden gefundene Daten geschwärzt; sonst wird das Schreiben abgelehnt."),
    ("category", "Category", "Kategorie"),
    ("redacted", "blacked out", "geschwärzt"),
    ("redacted-by", "Blacked out for", "Geschwärzt für"),
    ("refused-for", "Write refused for", "Schreiben abgelehnt für"),
    ("conditions", "Conditions evaluated", "Geprüfte Bedingungen"),
    ("conditions-intro", "The rights were computed over every combination of these record properties:", "Die Rechte wurden für jede Kombination dieser Merkmale eines Datensatzes berechnet:"),
    ("approval", "Approval", "Freigabe"),
    ("approval-intro", "This revision of the permission concept was reviewed and approved:", "Diese Revision des Berechtigungskonzepts wurde geprüft und freigegeben:"),
    ("name", "Name", "Name"),
    ("signature", "Signature", "Unterschrift"),
    ("prepared", "Prepared (IT security)", "Erstellt (IT-Sicherheit)"),
    ("reviewed", "Reviewed (data protection officer)", "Geprüft (Datenschutzbeauftragte/r)"),
    ("approved", "Approved (management)", "Freigegeben (Geschäftsleitung)"),
    ("changes", "Changes since the previous revision", "Änderungen seit der vorigen Revision"),
    ("changes-intro", "What differs from revision", "Was sich gegenüber der Revision geändert hat:"),
    ("no-changes", "No right changed.", "Kein Recht hat sich geändert."),
    ("before", "Before", "Vorher"),
    ("now", "Now", "Jetzt"),
    ("what", "What", "Was"),
    ("who", "Who", "Wer"),
    ("absent", "(not present)", "(nicht vorhanden)"),
    ("inactive", "account inactive: every request is refused", "Konto inaktiv: jede Anfrage wird abgelehnt"),
];

#[cfg(test)]
mod tests;
