//! The redaction rules as the security team writes them, and their compilation. A rules
//! directory holds `categories.toml` and any number of rule files:
//!
//! - `categories.toml`: `default_language`, `[markers]` (a template per language with
//!   `{label}`), `[stopwords]` (per language, to tell a text's language) and
//!   `[categories.<name>]` with a label per language;
//! - every other `*.toml`: `[[lexicon]]` rules (special categories: `words`, `prefixes`,
//!   `suffixes`, `infixes`, regular expressions in `patterns`, exceptions in `except` and
//!   `except_near`, and `clause` for a cue whose finding runs to the end of its clause) and `[[identifier]]` rules (a `pattern` for candidates, a built-in
//!   `validator`, context words). Each rule may carry `examples` that must be found as its
//!   category and `counterexamples` that must not.
//!
//! Loading never stops at the first problem and never accepts a file with one: unknown keys,
//! unknown categories or validators, bad expressions and failing examples are all reported,
//! each at its line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::diagnostic::{Problem, TomlSource};
use crate::fasthash::FastHash;

use super::guards::Guard;
use super::matchers::{Gate, IdRule, Kind, LexRule, Lexicon, Phrase, Words};
use super::normal::Normal;
use super::validators::Validator;
use super::{Category, Language, Redactor};

/// The file of markers, labels and languages.
pub(crate) const CATEGORIES: &str = "categories.toml";

/// Compiled regular expressions stay small: a rule file must not make a scan slow.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategories {
    default_language: String,
    markers: BTreeMap<String, String>,
    #[serde(default)]
    stopwords: BTreeMap<String, Vec<String>>,
    /// Per language: the notice for the person (`{categories}`), and the word joining the
    /// last two categories of a list.
    #[serde(default)]
    notices: BTreeMap<String, String>,
    #[serde(default)]
    and: BTreeMap<String, String>,
    categories: indexmap::IndexMap<String, BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRuleFile {
    #[serde(default)]
    lexicon: Vec<RawLexicon>,
    #[serde(default)]
    identifier: Vec<RawIdentifier>,
    #[serde(default)]
    phrase: Vec<RawPhrase>,
    #[serde(default)]
    guard: Vec<RawGuard>,
}

/// A context that makes a lexicon match of some categories no finding (see [`Guard`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    categories: Vec<String>,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    before: usize,
    #[serde(default)]
    after: usize,
    #[serde(default)]
    then: Vec<String>,
    #[serde(default)]
    heads: Vec<String>,
    #[serde(default)]
    title_cues: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// How a finding of some categories grows to the whole phrase it is part of.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhrase {
    categories: Vec<String>,
    /// Words or phrases that join a finding when they stand right before it.
    #[serde(default)]
    before: Vec<String>,
    /// Words or phrases that join a finding when they follow it.
    #[serde(default)]
    after: Vec<String>,
    /// Regular expressions that join a finding when they match right after it (write them
    /// starting with `^`).
    #[serde(default)]
    after_patterns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    category: String,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    suffixes: Vec<String>,
    #[serde(default)]
    infixes: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    except_near: Vec<String>,
    #[serde(default = "default_near")]
    near: usize,
    /// A cue (`leidet an`, `diagnosed with`, `voted for`): its finding runs on to the end of
    /// its clause, at most this many words (0: the match alone).
    #[serde(default)]
    clause: usize,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counterexamples: Vec<String>,
}

fn default_near() -> usize {
    3
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentifier {
    category: String,
    pattern: String,
    validator: String,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    require_context: bool,
    #[serde(default)]
    anti_context: Vec<String>,
    #[serde(default = "default_window")]
    window: usize,
    /// A regular expression that must not match the text right before a candidate (it is
    /// anchored at the candidate: write it ending in `$`).
    not_after: Option<String>,
    /// A regular expression that must not match the text right after a candidate (write it
    /// starting with `^`).
    not_before: Option<String>,
    /// A regular expression for what belongs to the identifier when it follows it (a card's
    /// expiry date and security code): matched right after a candidate, it widens the
    /// finding (write it starting with `^`).
    tail: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counterexamples: Vec<String>,
}

fn default_window() -> usize {
    40
}

/// A rule's examples, kept until the whole rule set is compiled and can run them.
struct Examples {
    source: usize,
    at: String,
    category: String,
    examples: Vec<String>,
    counterexamples: Vec<String>,
}

/// Everything being collected while the files are read.
#[derive(Default)]
struct Builder {
    sources: Vec<TomlSource>,
    problems: Vec<Problem>,
    rules: Vec<LexRule>,
    /// Normalised term → the rules it belongs to, with how it must sit.
    terms: BTreeMap<String, Vec<(usize, Kind)>>,
    excepts: BTreeMap<String, Vec<usize>>,
    patterns: Vec<(usize, Regex, bool)>,
    identifiers: Vec<IdRule>,
    phrases: Vec<(usize, Phrase)>,
    guards: Vec<Guard>,
    examples: Vec<Examples>,
}

impl Builder {
    fn at(&mut self, source: usize, path: &str, message: String) {
        if let Some(src) = self.sources.get(source) {
            self.problems.push(src.problem(path, message));
        }
    }
}

impl Redactor {
    /// Load every rules file from `dir` (e.g. `policies/redaction/`): `categories.toml`
    /// (markers, labels, languages) and every other `*.toml` (lexicon and identifier rules).
    /// Every problem is reported at once with its file, line and column, including each rule
    /// example that is not found and each counterexample that is.
    pub fn load(dir: &Path) -> Result<Redactor, Vec<Problem>> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| vec![Problem::file(dir, format!("cannot read: {e}"))])?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| p.file_name().is_none_or(|n| n != CATEGORIES))
            .collect();
        files.sort();

        let mut b = Builder::default();
        let cat_path = dir.join(CATEGORIES);
        let (categories, languages, default_language) = match read_categories(&cat_path, &mut b) {
            Some(c) => c,
            None => return Err(b.problems),
        };
        let index: HashMap<&str, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (&*c.name, i))
            .collect();

        for path in &files {
            let mut src = match TomlSource::read(path) {
                Ok(s) => s,
                Err(p) => {
                    b.problems.push(p);
                    continue;
                }
            };
            let parsed = src.deserialize::<RawRuleFile>();
            b.problems.extend(parsed.problems);
            let source = b.sources.len();
            b.sources.push(src);
            let Some(raw) = parsed.value else { continue };
            for (i, rule) in raw.lexicon.into_iter().enumerate() {
                lexicon_rule(&mut b, source, &format!("lexicon.{i}"), rule, &index);
            }
            for (i, rule) in raw.identifier.into_iter().enumerate() {
                identifier_rule(&mut b, source, &format!("identifier.{i}"), rule, &index);
            }
            for (i, rule) in raw.phrase.into_iter().enumerate() {
                phrase_rule(&mut b, source, &format!("phrase.{i}"), rule, &index);
            }
            for (i, rule) in raw.guard.into_iter().enumerate() {
                guard_rule(&mut b, source, &format!("guard.{i}"), rule, &index);
            }
        }

        let lexicon = match compile_lexicon(&mut b) {
            Some(l) => l,
            None => return Err(sorted(b.problems)),
        };
        let identifiers = std::mem::take(&mut b.identifiers);
        let (gate, stopwords, stopword_len) =
            gate_and_stopwords(&lexicon, &identifiers, &languages);
        let redactor = Redactor {
            categories,
            languages,
            default_language,
            lexicon,
            identifiers,
            gate,
            stopwords,
            stopword_len,
        };
        check_examples(&redactor, &mut b);
        if b.problems.is_empty() {
            Ok(redactor)
        } else {
            Err(sorted(b.problems))
        }
    }
}

/// The rules' own tests, run on the whole rule set as a request would: an example found
/// only by another rule of its category still counts as found.
fn check_examples(redactor: &Redactor, b: &mut Builder) {
    for ex in std::mem::take(&mut b.examples) {
        for (j, text) in ex.examples.iter().enumerate() {
            let found = redactor
                .scan(text, &[])
                .findings()
                .iter()
                .any(|f| f.category() == ex.category);
            if !found {
                b.at(
                    ex.source,
                    &format!("{}.examples.{j}", ex.at),
                    format!("example `{text}` is not found as `{}`", ex.category),
                );
            }
        }
        for (j, text) in ex.counterexamples.iter().enumerate() {
            let found = redactor
                .scan(text, &[])
                .findings()
                .iter()
                .any(|f| f.category() == ex.category);
            if found {
                b.at(
                    ex.source,
                    &format!("{}.counterexamples.{j}", ex.at),
                    format!("counterexample `{text}` is found as `{}`", ex.category),
                );
            }
        }
    }
}

/// The gate over the shadow's expressions and the stopword table of every language.
fn gate_and_stopwords(
    lexicon: &Lexicon,
    identifiers: &[IdRule],
    languages: &[Language],
) -> (Gate, HashMap<String, u64, FastHash>, usize) {
    let shadowed: Vec<&str> = lexicon
        .patterns
        .iter()
        .filter(|p| p.2)
        .map(|p| p.1.as_str())
        .chain(identifiers.iter().map(|r| r.pattern.as_str()))
        .collect();
    let gate = Gate::new(&shadowed);
    let mut stopwords: HashMap<String, u64, FastHash> = HashMap::default();
    for (i, l) in languages.iter().enumerate().take(64) {
        for w in &l.stopwords {
            *stopwords.entry(w.clone()).or_default() |= 1 << i;
        }
    }
    let stopword_len = stopwords.keys().map(String::len).max().unwrap_or(0);
    (gate, stopwords, stopword_len)
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems
}

type Categories = (Vec<Category>, Vec<Language>, usize);

fn read_categories(path: &Path, b: &mut Builder) -> Option<Categories> {
    let mut src = match TomlSource::read(path) {
        Ok(s) => s,
        Err(p) => {
            b.problems.push(p);
            return None;
        }
    };
    let parsed = src.deserialize::<RawCategories>();
    b.problems.extend(parsed.problems);
    let source = b.sources.len();
    b.sources.push(src);
    let raw = parsed.value?;
    let before = b.problems.len();

    let names: Vec<String> = raw.markers.keys().cloned().collect();
    if names.is_empty() {
        b.at(source, "markers", "no marker is defined".into());
    }
    let default_language = names
        .iter()
        .position(|n| *n == raw.default_language)
        .unwrap_or_else(|| {
            b.at(
                source,
                "default_language",
                format!("default language `{}` has no marker", raw.default_language),
            );
            0
        });
    check_languages(b, source, &raw);
    let mut categories = Vec::new();
    for (name, labels) in &raw.categories {
        for lang in labels.keys() {
            if !raw.markers.contains_key(lang) {
                b.at(
                    source,
                    &format!("categories.{name}.{lang}"),
                    format!("label in `{lang}`, a language without a marker"),
                );
            }
        }
        let mut markers = Vec::new();
        let mut label_list = Vec::new();
        for (lang, template) in &raw.markers {
            match labels.get(lang) {
                Some(label) => {
                    markers.push(Arc::from(template.replace("{label}", label)));
                    label_list.push(Arc::from(label.as_str()));
                }
                None => b.at(
                    source,
                    &format!("categories.{name}"),
                    format!("category `{name}` has no label in `{lang}`"),
                ),
            }
        }
        categories.push(Category {
            name: Arc::from(name.as_str()),
            markers,
            labels: label_list,
        });
    }
    let languages = names
        .iter()
        .map(|n| Language {
            name: Arc::from(n.as_str()),
            stopwords: raw
                .stopwords
                .get(n)
                .into_iter()
                .flatten()
                .map(|w| Normal::new(w).text.trim().to_string())
                .collect::<HashSet<String, FastHash>>(),
            notice: raw.notices.get(n).map(|t| Arc::from(t.as_str())),
            and: Arc::from(raw.and.get(n).map_or("and", String::as_str)),
        })
        .collect();
    (b.problems.len() == before).then_some((categories, languages, default_language))
}

/// Every language-keyed table names a language with a marker; templates hold their
/// placeholder.
fn check_languages(b: &mut Builder, source: usize, raw: &RawCategories) {
    for (lang, template) in &raw.markers {
        if !template.contains("{label}") {
            b.at(
                source,
                &format!("markers.{lang}"),
                format!("marker of `{lang}` has no `{{label}}`"),
            );
        }
    }
    for (lang, template) in &raw.notices {
        if !raw.markers.contains_key(lang) {
            b.at(
                source,
                &format!("notices.{lang}"),
                format!("notice in `{lang}`, a language without a marker"),
            );
        } else if !template.contains("{categories}") {
            b.at(
                source,
                &format!("notices.{lang}"),
                format!("notice of `{lang}` has no `{{categories}}`"),
            );
        }
    }
    for lang in raw.stopwords.keys().chain(raw.and.keys()) {
        if !raw.markers.contains_key(lang) {
            b.at(
                source,
                &format!("stopwords.{lang}"),
                format!("`{lang}` is a language without a marker"),
            );
        }
    }
}

/// An expression run on the ASCII shadow ([`Normal::ascii_shadow`]): compiled for ASCII
/// (`\w`, `\b` and classes of ASCII only, the same there, and many times smaller), unless it
/// needs Unicode (a negated class that could match a non-ASCII byte).
fn shadow_regex(b: &mut Builder, source: usize, at: &str, pattern: &str) -> Option<Regex> {
    let ascii = RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build();
    match ascii {
        Ok(r) => Some(r),
        Err(_) => regex(b, source, at, pattern),
    }
}

/// A term as it will be matched: normalised like the text.
fn normalise(term: &str) -> String {
    Normal::new(term.trim()).text
}

fn category_of(
    b: &mut Builder,
    source: usize,
    at: &str,
    name: &str,
    index: &HashMap<&str, usize>,
) -> Option<usize> {
    let c = index.get(name).copied();
    if c.is_none() {
        b.at(
            source,
            &format!("{at}.category"),
            format!("unknown category `{name}` (not in {CATEGORIES})"),
        );
    }
    c
}

fn regex(b: &mut Builder, source: usize, at: &str, pattern: &str) -> Option<Regex> {
    match RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            let why = e.to_string().replace('\n', " ");
            b.at(source, at, format!("invalid pattern: {why}"));
            None
        }
    }
}

fn lexicon_rule(
    b: &mut Builder,
    source: usize,
    at: &str,
    raw: RawLexicon,
    index: &HashMap<&str, usize>,
) {
    let Some(category) = category_of(b, source, at, &raw.category, index) else {
        return;
    };
    let rule = b.rules.len();
    let mut any = false;
    for (key, list, kind) in [
        ("words", &raw.words, Kind::Word),
        ("prefixes", &raw.prefixes, Kind::Prefix),
        ("suffixes", &raw.suffixes, Kind::Suffix),
        ("infixes", &raw.infixes, Kind::Infix),
    ] {
        for (j, term) in list.iter().enumerate() {
            let t = normalise(term);
            if t.is_empty() {
                b.at(source, &format!("{at}.{key}.{j}"), "empty term".into());
                continue;
            }
            any = true;
            b.terms.entry(t).or_default().push((rule, kind));
        }
    }
    for (j, p) in raw.patterns.iter().enumerate() {
        let at = format!("{at}.patterns.{j}");
        let re = if p.is_ascii() {
            shadow_regex(b, source, &at, p)
        } else {
            regex(b, source, &at, p)
        };
        if let Some(re) = re {
            any = true;
            b.patterns.push((rule, re, p.is_ascii()));
        }
    }
    if !any {
        b.at(
            source,
            at,
            "rule has no `words`, `prefixes`, `suffixes`, `infixes` or `patterns`".into(),
        );
    }
    for (j, e) in raw.except.iter().enumerate() {
        let t = normalise(e);
        if t.is_empty() {
            b.at(
                source,
                &format!("{at}.except.{j}"),
                "empty exception".into(),
            );
            continue;
        }
        b.excepts.entry(t).or_default().push(rule);
    }
    b.rules.push(LexRule {
        category,
        except_near: raw
            .except_near
            .iter()
            .map(|w| normalise(w))
            .filter(|w| !w.is_empty())
            .collect(),
        near: raw.near,
        clause: raw.clause,
    });
    b.examples.push(Examples {
        source,
        at: at.to_string(),
        category: raw.category,
        examples: raw.examples,
        counterexamples: raw.counterexamples,
    });
}

fn identifier_rule(
    b: &mut Builder,
    source: usize,
    at: &str,
    raw: RawIdentifier,
    index: &HashMap<&str, usize>,
) {
    let category = category_of(b, source, at, &raw.category, index);
    let validator = Validator::by_name(&raw.validator);
    if validator.is_none() {
        b.at(
            source,
            &format!("{at}.validator"),
            format!(
                "unknown validator `{}` (known: {})",
                raw.validator,
                Validator::NAMES.join(", ")
            ),
        );
    }
    let pattern = shadow_regex(b, source, &format!("{at}.pattern"), &raw.pattern);
    let not_after = raw
        .not_after
        .as_ref()
        .map(|p| regex(b, source, &format!("{at}.not_after"), p));
    let not_before = raw
        .not_before
        .as_ref()
        .map(|p| regex(b, source, &format!("{at}.not_before"), p));
    let tail = raw
        .tail
        .as_ref()
        .map(|p| regex(b, source, &format!("{at}.tail"), p));
    if matches!(not_after, Some(None))
        || matches!(not_before, Some(None))
        || matches!(tail, Some(None))
    {
        return;
    }
    if raw.require_context && raw.context.is_empty() {
        b.at(
            source,
            &format!("{at}.require_context"),
            "`require_context` without `context` words".into(),
        );
    }
    let (Some(category), Some(validator), Some(pattern)) = (category, validator, pattern) else {
        return;
    };
    b.identifiers.push(IdRule {
        category,
        pattern,
        validator,
        // Not trimmed: a context word's trailing space or `:` says where it ends (`tel `
        // is no `teller`).
        context: raw.context.iter().map(|w| Normal::new(w).text).collect(),
        require_context: raw.require_context,
        anti_context: raw
            .anti_context
            .iter()
            .map(|w| Normal::new(w).text)
            .collect(),
        window: raw.window,
        not_after: not_after.flatten(),
        not_before: not_before.flatten(),
        tail: tail.flatten(),
    });
    b.examples.push(Examples {
        source,
        at: at.to_string(),
        category: raw.category,
        examples: raw.examples,
        counterexamples: raw.counterexamples,
    });
}

fn phrase_rule(
    b: &mut Builder,
    source: usize,
    at: &str,
    raw: RawPhrase,
    index: &HashMap<&str, usize>,
) {
    let mut after_patterns = Vec::new();
    for (j, p) in raw.after_patterns.iter().enumerate() {
        if let Some(re) = regex(b, source, &format!("{at}.after_patterns.{j}"), p) {
            after_patterns.push(re);
        }
    }
    let words = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|w| normalise(w))
            .filter(|w| !w.is_empty())
            .collect()
    };
    let after_set = regex::RegexSetBuilder::new(raw.after_patterns.iter())
        .size_limit(REGEX_SIZE_LIMIT * 4)
        .build()
        .ok()
        .filter(|set| set.len() == after_patterns.len());
    let phrase = Phrase {
        before: Words::new(words(&raw.before), true),
        after: Words::new(words(&raw.after), false),
        after_patterns,
        after_set,
    };
    for (j, name) in raw.categories.iter().enumerate() {
        if let Some(c) = category_of(b, source, &format!("{at}.categories.{j}"), name, index) {
            b.phrases.push((c, phrase.clone()));
        }
    }
}

fn guard_rule(
    b: &mut Builder,
    source: usize,
    at: &str,
    raw: RawGuard,
    index: &HashMap<&str, usize>,
) {
    let mut categories = Vec::new();
    for (j, name) in raw.categories.iter().enumerate() {
        if let Some(c) = category_of(b, source, &format!("{at}.categories.{j}"), name, index) {
            categories.push(c);
        }
    }
    let list = |l: &[String]| -> Vec<String> {
        l.iter()
            .map(|w| normalise(w))
            .filter(|w| !w.is_empty())
            .collect()
    };
    if !raw.words.is_empty() && raw.before == 0 && raw.after == 0 {
        b.at(
            source,
            &format!("{at}.words"),
            "`words` without `before` or `after`".into(),
        );
    }
    b.guards.push(Guard {
        categories,
        words: list(&raw.words).into_iter().collect(),
        before: raw.before,
        after: raw.after,
        then: list(&raw.then).into_iter().collect(),
        heads: list(&raw.heads),
        title_cues: list(&raw.title_cues).into_iter().collect(),
        fields: raw.fields.iter().map(|f| Normal::new(f).text).collect(),
    });
}

fn compile_lexicon(b: &mut Builder) -> Option<Lexicon> {
    let terms = std::mem::take(&mut b.terms);
    let excepts = std::mem::take(&mut b.excepts);
    let ac = |patterns: Vec<&String>| -> Result<Option<AhoCorasick>, String> {
        if patterns.is_empty() {
            return Ok(None);
        }
        // A full DFA: a few MB for two thousand terms, read once per byte (the default, a
        // noncontiguous automaton for this many terms, follows failure links).
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns)
            .map(Some)
            .map_err(|e| e.to_string())
    };
    let (term_ac, except_ac) = match (ac(terms.keys().collect()), ac(excepts.keys().collect())) {
        (Ok(t), Ok(e)) => (t, e),
        (Err(e), _) | (_, Err(e)) => {
            let file = b
                .sources
                .first()
                .map_or_else(PathBuf::new, |s| s.path.clone());
            b.problems.push(Problem::file(
                &file,
                format!("cannot compile the lexicons: {e}"),
            ));
            return None;
        }
    };
    let patterns = std::mem::take(&mut b.patterns);
    Some(Lexicon {
        rules: std::mem::take(&mut b.rules),
        terms: term_ac,
        term_rules: terms.into_values().collect(),
        excepts: except_ac,
        except_rules: excepts.into_values().collect(),
        patterns,
        phrases: std::mem::take(&mut b.phrases),
        guards: std::mem::take(&mut b.guards),
    })
}
