//! Redaction, the library the write stage calls: finds sensitive data in free text — the
//! special categories of GDPR Art. 9 in German and English, and identifiers with their
//! checksums (IBAN, card, tax id, ID card, passport, phone, e-mail) — and blacks it out
//! irreversibly with a marker naming the category in the text's language.
//!
//! The rules are data (`policies/redaction/*.toml`, see [`rules`]), compiled once by
//! [`Redactor::load`], which also runs every rule's own examples. Matching works on a
//! normalised view of the text ([`normal`]: NFKC, lower case, invisible characters removed)
//! and maps each finding back to the original bytes, so `redact` replaces the whole original
//! span. This module must never log, keep or return a matched value: a [`Scan`] holds
//! categories and byte spans only, and its `Debug` shows no text.

mod guards;
mod html;
mod matchers;
mod normal;
mod rules;
mod validators;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::fasthash::FastHash;

use matchers::{Gate, Hit, IdRule, Lexicon};
use normal::{is_invisible, Normal};

/// The compiled redaction rules. Built once before the port is bound; `Send + Sync`, shared
/// in an `Arc` by every request.
pub struct Redactor {
    categories: Vec<Category>,
    languages: Vec<Language>,
    /// Index into `languages` of the language assumed when no stopword decides.
    default_language: usize,
    lexicon: Lexicon,
    identifiers: Vec<IdRule>,
    /// Over the lexicon's expressions run on the ASCII shadow, then every identifier's.
    gate: Gate,
    /// Every language's stopwords in one table: per word, a bit per language (the bit of
    /// `languages[i]` is `1 << i`); and the longest one's length in bytes.
    stopwords: HashMap<String, u64, FastHash>,
    stopword_len: usize,
}

struct Category {
    name: Arc<str>,
    /// The marker per language (same order as `Redactor::languages`).
    markers: Vec<Arc<str>>,
    /// The label per language (same order).
    labels: Vec<Arc<str>>,
}

struct Language {
    name: Arc<str>,
    stopwords: HashSet<String, FastHash>,
    /// The notice for the person whose text was redacted, with `{categories}`.
    notice: Option<Arc<str>>,
    /// How the last two of a list are joined (`and`, `und`).
    and: Arc<str>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("categories", &self.categories())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// The category names the rules define, in the order `categories.toml` lists them.
    pub fn categories(&self) -> Vec<String> {
        self.categories.iter().map(|c| c.name.to_string()).collect()
    }

    /// The languages markers exist for, the default first.
    pub fn languages(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        if let Some(l) = self.languages.get(self.default_language) {
            out.push(l.name.to_string());
        }
        for l in &self.languages {
            if !out.iter().any(|o| **o == *l.name) {
                out.push(l.name.to_string());
            }
        }
        out
    }

    /// Scan one free-text value. `allow` lists categories this field may legitimately hold
    /// (an e-mail field holding an e-mail address); they are not reported.
    pub fn scan(&self, text: &str, allow: &[&str]) -> Scan {
        self.scan_in(text, allow, Look::Everything, None)
    }

    /// The notice for the person whose write was redacted, in `language` (`de`, `en`; else
    /// the default): which kinds of data were removed and why, never a value. `None` when
    /// nothing was removed or the rules define no notice.
    pub fn notice(&self, language: &str, categories: &[&str]) -> Option<String> {
        let lang = self
            .languages
            .iter()
            .position(|l| &*l.name == language)
            .unwrap_or(self.default_language);
        let l = self.languages.get(lang)?;
        let template = l.notice.as_deref()?;
        let mut labels: Vec<&str> = Vec::new();
        for c in &self.categories {
            if categories.contains(&&*c.name) {
                if let Some(label) = c.labels.get(lang) {
                    if !labels.contains(&&**label) {
                        labels.push(label);
                    }
                }
            }
        }
        let (last, rest) = labels.split_last()?;
        let list = if rest.is_empty() {
            (*last).to_string()
        } else {
            format!("{} {} {last}", rest.join(", "), l.and)
        };
        Some(template.replace("{categories}", &list))
    }

    /// The language a text is in (`de`, `en`): the one with most stopwords; on a tie German
    /// where the text has a German letter (`ä`, `ö`, `ü`, `ß`), else the default.
    pub fn language(&self, text: &str) -> String {
        let n = Normal::new(text);
        self.languages
            .get(self.language_of(&n))
            .map_or_else(|| "en".to_string(), |l| l.name.to_string())
    }

    /// Scan one value for what `look` says, with markers in `language` (a name
    /// [`Redactor::languages`] lists; none or an unknown one: the text's own language).
    /// A write scans its free text for everything and every other string property for
    /// identifiers, in the language of the whole write (a first name alone has none).
    pub fn scan_in(&self, text: &str, allow: &[&str], look: Look, language: Option<&str>) -> Scan {
        let n = Normal::new(text);
        let language = language
            .and_then(|l| self.languages.iter().position(|x| *x.name == *l))
            .unwrap_or_else(|| self.language_of(&n));
        let mut hits: Vec<Hit> = Vec::new();
        let shadow = n.ascii_shadow();
        let open = self.gate.open(&shadow);
        let lexical = self.lexicon.shadowed();
        if look == Look::Everything {
            self.lexicon
                .find(&n, &shadow, open.get(..lexical).unwrap_or(&[]), &mut hits);
        }
        // The special-category findings come first: those may join across a list's joiner.
        let lexical_hits = hits.len();
        for (i, rule) in self.identifiers.iter().enumerate() {
            if open.get(lexical + i) != Some(&false) {
                rule.find(&n, &shadow, &mut hits);
            }
        }
        let allowed = |c: usize| {
            self.categories
                .get(c)
                .is_some_and(|c| allow.iter().any(|a| *a == &*c.name))
        };
        let mut spans: Vec<(usize, usize, usize, bool)> = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| !allowed(h.category))
            .filter_map(|(i, h)| {
                let (s, e) = n.original(h.start, h.end)?;
                let (s, e) = absorb_invisible(text, s, e);
                let e = absorb_closing_tags(text, s, e);
                Some((s, e, h.category, i < lexical_hits))
            })
            .collect();
        // Longest first among equal starts, so that overlapping findings merge into the one
        // that starts first and covers most; the merged span covers them all. Of two special
        // categories with the same span the more specific wins: the later one in
        // `categories.toml` (genetic over health); of two identifiers, the earlier rule.
        spans.sort_by(|a, b| {
            a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(if a.3 && b.3 {
                b.2.cmp(&a.2)
            } else {
                std::cmp::Ordering::Equal
            })
        });
        let mut findings: Vec<Finding> = Vec::new();
        // Whether the last finding is a special category's (it may join the next).
        let mut last_lexical = false;
        for (s, e, c, lexical) in spans {
            if let Some(last) = findings.last_mut() {
                let same = self
                    .categories
                    .get(c)
                    .is_some_and(|x| x.name == last.category);
                if s < last.end || (lexical && last_lexical && same && joins(text.get(last.end..s)))
                {
                    last.end = last.end.max(e);
                    continue;
                }
            }
            last_lexical = lexical;
            let Some(cat) = self.categories.get(c) else {
                continue;
            };
            let marker = cat
                .markers
                .get(language)
                .or_else(|| cat.markers.first())
                .cloned()
                .unwrap_or_else(|| Arc::from("[redacted]"));
            findings.push(Finding {
                category: cat.name.clone(),
                marker,
                start: s,
                end: e,
            });
        }
        Scan {
            findings,
            language: self
                .languages
                .get(language)
                .map_or_else(|| Arc::from("en"), |l| l.name.clone()),
            text_id: text_id(text),
        }
    }

    /// The language with the most stopwords in the text; the default on a tie.
    fn language_of(&self, n: &Normal) -> usize {
        let mut counts = vec![0usize; self.languages.len()];
        // One look-up per word, and none for a word longer than every stopword.
        for w in n.text.split(|c: char| !normal::is_word(c)) {
            if w.is_empty() || w.len() > self.stopword_len {
                continue;
            }
            let Some(&bits) = self.stopwords.get(w) else {
                continue;
            };
            for (i, c) in counts.iter_mut().enumerate().take(64) {
                if bits & (1 << i) != 0 {
                    *c += 1;
                }
            }
        }
        let default = counts.get(self.default_language).copied().unwrap_or(0);
        let (best, max) = counts
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, *i == self.default_language))
            .map_or((self.default_language, 0), |(i, c)| (i, *c));
        if max > default {
            return best;
        }
        // A short text without stopwords (`Oma hat Zucker`, a first name): German letters
        // tell German.
        let german = self.languages.iter().position(|l| &*l.name == "de");
        match german {
            Some(de)
                if max == default
                    && counts.get(de).copied() == Some(max)
                    && n.text.contains(['ä', 'ö', 'ü', 'ß']) =>
            {
                de
            }
            _ => self.default_language,
        }
    }
}

/// What a scan looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Special categories and identifiers: free text.
    Everything,
    /// Identifiers only (IBAN, card, tax and social security numbers, ID documents): every
    /// other string property of a write.
    Identifiers,
}

/// The identifier categories a property's name says it holds (`billing_iban` an IBAN,
/// `email` an e-mail address): a value there is what the field is for, not a leak. Phone
/// numbers and e-mail addresses are no secret outside free text: allowed everywhere else.
pub fn held_by_field(field: &str) -> Vec<&'static str> {
    const NAMED: &[(&str, &[&str])] = &[
        ("iban", &["iban", "bank", "account", "konto"]),
        ("card", &["card", "karte"]),
        ("tax_id", &["tax", "vat", "steuer", "ust"]),
        (
            "social_security",
            &[
                "ssn",
                "social_security",
                "nino",
                "national_insurance",
                "sozialversicherung",
            ],
        ),
        ("passport", &["passport", "reisepass"]),
        ("id_card", &["id_card", "idcard", "ausweis", "identity"]),
    ];
    let f = field.to_ascii_lowercase();
    let mut out = vec!["phone", "email"];
    for (category, names) in NAMED {
        if names.iter().any(|n| f.contains(n)) {
            out.push(category);
        }
    }
    out
}

/// Whether the text between two findings of one special category makes them one phrase: a
/// list's joiner only (`Diabetes und Asthma`, `chemo for breast cancer`, `Long Covid mit
/// Fatigue`) — what stands between them tells the same secret.
fn joins(gap: Option<&str>) -> bool {
    const JOINERS: &[&str] = &[
        "", "and", "und", "or", "oder", "with", "mit", "for", "wegen", "gegen", "against", "plus",
        "sowie", "&", "/", "+", "nach", "after", "due to", "bei",
    ];
    let Some(gap) = gap.filter(|g| g.len() <= 12) else {
        return false;
    };
    let word = gap.trim_matches(|c: char| c == ' ' || c == ',' || c == ';');
    !gap.contains(['.', '!', '?', '\n']) && JOINERS.iter().any(|j| word.eq_ignore_ascii_case(j))
}

/// Widen an original span over the closing tags right after it of elements it opens
/// (`IG <span>Metall</span>`), so that no half of a markup pair is left behind.
fn absorb_closing_tags(text: &str, s: usize, mut e: usize) -> usize {
    for _ in 0..4 {
        let Some(rest) = text.get(e..).filter(|r| r.starts_with("</")) else {
            break;
        };
        let Some(close) = rest.find('>').filter(|&i| i < 16) else {
            break;
        };
        let name = rest.get(2..close).unwrap_or("");
        let opened = text
            .get(s..e)
            .is_some_and(|span| !name.is_empty() && span.contains(&format!("<{name}")));
        if !opened {
            break;
        }
        e += close + 1;
    }
    e
}

/// Widen an original span over invisible characters right before and after it, so that no
/// hidden character of a match is left behind.
fn absorb_invisible(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    while let Some(c) = text.get(..s).and_then(|p| p.chars().next_back()) {
        if !is_invisible(c) {
            break;
        }
        s -= c.len_utf8();
    }
    while let Some(c) = text.get(e..).and_then(|p| p.chars().next()) {
        if !is_invisible(c) {
            break;
        }
        e += c.len_utf8();
    }
    (s, e)
}

/// One finding: a category and a byte span of the original text. Never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Finding {
    category: Arc<str>,
    marker: Arc<str>,
    start: usize,
    end: usize,
}

impl Finding {
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The byte range of the original text this finding replaces.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}..{}", self.category, self.start, self.end)
    }
}

/// What one scan found: findings with byte spans in the original text, ordered and
/// non-overlapping, and the language its markers are in.
#[derive(Clone, PartialEq, Eq)]
pub struct Scan {
    findings: Vec<Finding>,
    language: Arc<str>,
    /// Which text was scanned (length and a 64-bit hash, never shown): `redact` on another
    /// text fails closed.
    text_id: (usize, u64),
}

fn text_id(text: &str) -> (usize, u64) {
    (text.len(), xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("language", &self.language)
            .field("findings", &self.findings)
            .finish()
    }
}

impl Scan {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Categories found with their counts, sorted by category name.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for f in &self.findings {
            *counts.entry(&f.category).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect()
    }

    /// The findings, in text order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The language the markers are in (`en`, `de`, …).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Replace every finding by its category's marker, returning the new text. `text` must be
    /// the text that was scanned: given another one (its spans would not fit, and its findings
    /// are unknown), every byte of it is replaced — redaction fails closed, it never leaves a
    /// value half blacked out.
    pub fn redact(&self, text: &str) -> String {
        if text_id(text) != self.text_id {
            return self.redact_all();
        }
        if self.findings.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in &self.findings {
            match text.get(at..f.start) {
                Some(keep) if text.is_char_boundary(f.end) => {
                    out.push_str(keep);
                    out.push_str(&f.marker);
                    at = f.end;
                }
                _ => return self.redact_all(),
            }
        }
        match text.get(at..) {
            Some(rest) => out.push_str(rest),
            None => return self.redact_all(),
        }
        out
    }

    fn redact_all(&self) -> String {
        self.findings
            .first()
            .map_or_else(|| "[redacted]".to_string(), |f| f.marker.to_string())
    }
}
