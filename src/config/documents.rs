//! `[documents]`: what the documents for the data protection officer need that the rest of
//! the configuration does not hold: the controller, the CRM vendor as processor (where it
//! stores data, where its contract is recorded), and plain-language labels of field groups
//! and purposes in each document language.
//!
//! It must never accept an unknown key (a misspelt label would silently fall back to the
//! technical name), and nothing on the request path reads it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A text per document language; either may be left out (a default is used).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    pub en: Option<String>,
    pub de: Option<String>,
}

impl Wording {
    /// The text for `lang` (`en` or `de`), if one is configured.
    pub fn get(&self, lang: &str) -> Option<&str> {
        match lang {
            "de" => self.de.as_deref(),
            _ => self.en.as_deref(),
        }
    }
}

/// A text either the same in every language, or per language (`{ en = "…", de = "…" }`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Localized {
    Same(String),
    Per(Wording),
}

impl Localized {
    /// The text for `lang`, else the English one, else the German one.
    pub fn get(&self, lang: &str) -> String {
        match self {
            Localized::Same(s) => s.clone(),
            Localized::Per(w) => w
                .get(lang)
                .or(w.en.as_deref())
                .or(w.de.as_deref())
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// `[documents]` as written; every key may be left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documents {
    /// The controller (Art. 4(7) GDPR): name, address, representative, contact.
    #[serde(default)]
    pub controller: Option<Localized>,
    /// The data protection officer's contact (Art. 30(1)(a), Art. 15 answers).
    #[serde(default)]
    pub dpo: Option<Localized>,
    /// The CRM vendor as the documents name it (its legal name).
    #[serde(default)]
    pub vendor_name: Option<String>,
    /// Where the CRM vendor stores the data (region, data centres; third-country transfers
    /// and their safeguards).
    #[serde(default)]
    pub vendor_storage: Option<Wording>,
    /// Where the processor contract (Art. 28 GDPR) with the CRM vendor is recorded.
    #[serde(default)]
    pub processor_contract: Option<Localized>,
    /// Who approves the permission concept (roles named in its approval block).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Field groups holding special categories of personal data (Art. 9 GDPR) or data
    /// that may hold them, per resource type's group name.
    #[serde(default)]
    pub special_category_groups: Vec<String>,
    /// Field group name → its label per language (defaults: the built-in labels).
    #[serde(default)]
    pub group_labels: BTreeMap<String, Wording>,
    /// Purpose name → its label per language (default: the purpose's description).
    #[serde(default)]
    pub purpose_labels: BTreeMap<String, Wording>,
    /// Department name → its label per language (default: the name).
    #[serde(default)]
    pub department_labels: BTreeMap<String, Wording>,
    /// Any other technical name the documents show — a role, an app, a record property, a
    /// deletion rule or hold (`<name>.description`, `<name>.legal_basis`), a purpose's legal
    /// basis (`<purpose>.legal_basis`) — → its words per language (defaults: built-in words,
    /// else the name).
    #[serde(default)]
    pub labels: BTreeMap<String, Wording>,
}
