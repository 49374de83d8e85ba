//! The compiled matchers: the lexicons of the special categories (one Aho–Corasick automaton
//! over every term of every rule, plus the rules' own regular expressions and exceptions) and
//! the identifier rules (a pattern for candidates, then a validator and context words).
//!
//! They run on the normalised text and answer normalised byte ranges; they never see the
//! original text and never keep or log what they matched.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet, RegexSetBuilder};

use super::guards::{Around, Guard};
use super::normal::{
    ceil_boundary, char_at, char_before, ends_word, floor_boundary, is_word, starts_word, Normal,
};
use super::validators::Validator;

/// How a lexicon term must sit in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole word or phrase.
    Word,
    /// The start of a word (a stem with inflections or a compound's first part): the match
    /// runs to the end of the word.
    Prefix,
    /// The end of a word (a compound's last part): the match runs back to the word's start.
    Suffix,
    /// Anywhere inside a word: the match is the whole word.
    Infix,
}

/// One lexicon rule after compilation.
pub(crate) struct LexRule {
    pub(crate) category: usize,
    /// Words (prefixes of words) that, within `near` words of a match, make it no finding.
    pub(crate) except_near: Vec<String>,
    pub(crate) near: usize,
    /// For a cue: how many words of its clause after the match join the finding (0: none).
    pub(crate) clause: usize,
}

/// A match before the exceptions and the mapping back to the original text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) category: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Every lexicon rule of every file, compiled together.
pub(crate) struct Lexicon {
    pub(crate) rules: Vec<LexRule>,
    pub(crate) terms: Option<AhoCorasick>,
    /// Per term pattern: the rules it belongs to and how it must sit.
    pub(crate) term_rules: Vec<Vec<(usize, Kind)>>,
    pub(crate) excepts: Option<AhoCorasick>,
    /// Per exception phrase: the rules it is an exception of.
    pub(crate) except_rules: Vec<Vec<usize>>,
    /// Per regular expression: its rule, and whether it runs on the ASCII shadow (it is
    /// written in ASCII: `\w` and `[a-z]` then also match the `x` a non-ASCII letter became).
    pub(crate) patterns: Vec<(usize, Regex, bool)>,
    /// Per category: how its findings grow to the whole phrase.
    pub(crate) phrases: Vec<(usize, Phrase)>,
    /// Contexts that make a match none (an animal, an address, a title, an occupation).
    pub(crate) guards: Vec<Guard>,
}

/// What joins a finding of some category: words right before it (an article, the relation
/// that makes it personal: `member of the`), words and expressions right after it (the
/// qualifier, value or procedure: `mellitus`, `Typ 2`, `HbA1c 8,1 %`, `surgery`).
#[derive(Clone)]
pub(crate) struct Phrase {
    pub(crate) before: Words,
    pub(crate) after: Words,
    pub(crate) after_patterns: Vec<Regex>,
    /// The same expressions as one set: one pass says which of them can match at all.
    pub(crate) after_set: Option<RegexSet>,
}

/// A list of words indexed by one end byte (the last for `before`, the first for `after`),
/// so that growing a finding compares only the few words that can fit, not hundreds.
#[derive(Clone, Default)]
pub(crate) struct Words {
    words: Vec<String>,
    /// Per byte value: the indexes into `words` of those with that byte at the indexed end.
    by_byte: Vec<Vec<u32>>,
}

impl Words {
    /// Index `words` by their last byte (`last`) or their first.
    pub(crate) fn new(words: Vec<String>, last: bool) -> Words {
        let mut by_byte = vec![Vec::new(); 256];
        for (i, w) in words.iter().enumerate() {
            let b = if last {
                w.as_bytes().last()
            } else {
                w.as_bytes().first()
            };
            if let (Some(&b), Ok(i)) = (b, u32::try_from(i)) {
                if let Some(slot) = by_byte.get_mut(usize::from(b)) {
                    slot.push(i);
                }
            }
        }
        Words { words, by_byte }
    }

    /// The words whose indexed end byte is `b`.
    fn with(&self, b: Option<&u8>) -> impl Iterator<Item = &str> {
        b.and_then(|&b| self.by_byte.get(usize::from(b)))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.words.get(i as usize).map(String::as_str))
    }
}

/// Bytes after a finding its phrase's expressions read.
const AFTER_REACH: usize = 120;

impl Phrase {
    /// The start of the longest `before` word ending right before `s` (one space or
    /// hyphen between).
    fn start(&self, text: &str, s: usize) -> Option<usize> {
        let head = text.get(..s)?;
        let head = head
            .strip_suffix(' ')
            .or_else(|| head.strip_suffix('-'))
            .unwrap_or(head);
        self.before
            .with(head.as_bytes().last())
            .filter(|w| head.ends_with(w))
            .map(|w| head.len() - w.len())
            .filter(|&i| starts_word(text, i))
            .min()
    }

    /// The end of the longest `after` word or expression starting right after `e`.
    fn end(&self, text: &str, e: usize) -> Option<usize> {
        let tail = text.get(e..)?;
        let gap = usize::from(tail.starts_with(' ') || tail.starts_with('-'));
        let rest = tail.get(gap..)?;
        let words = self
            .after
            .with(rest.as_bytes().first())
            .filter(|w| rest.starts_with(w))
            .map(|w| e + gap + w.len())
            .filter(|&i| ends_word(text, i));
        // The expressions are anchored (`^`) and short: they read the next bytes only, and
        // only those the set says match run on their own.
        let near = tail
            .get(..floor_boundary(tail, AFTER_REACH))
            .unwrap_or(tail);
        let open: Vec<usize> = match &self.after_set {
            Some(set) => set.matches(near).into_iter().collect(),
            None => (0..self.after_patterns.len()).collect(),
        };
        let patterns = open
            .into_iter()
            .filter_map(|i| self.after_patterns.get(i)?.find(near))
            .filter(|m| m.start() == 0 && m.end() > 0)
            .map(|m| e + m.end());
        words.chain(patterns).max()
    }
}

impl Lexicon {
    /// Grow a finding of `category` to its whole phrase, step by step (`type 1` + `diabetes`
    /// + `mellitus`), never past what the phrase rules name.
    fn widen(&self, text: &str, category: usize, mut s: usize, mut e: usize) -> (usize, usize) {
        const STEPS: usize = 8;
        for _ in 0..STEPS {
            let mut grown = false;
            for (_, p) in self.phrases.iter().filter(|(c, _)| *c == category) {
                if let Some(ns) = p.start(text, s).filter(|&ns| ns < s) {
                    s = ns;
                    grown = true;
                }
                if let Some(ne) = p.end(text, e).filter(|&ne| ne > e) {
                    e = ne;
                    grown = true;
                }
            }
            if !grown {
                break;
            }
        }
        (s, e)
    }

    /// Whether a guard makes the match `s..e` of `category` none.
    fn guarded(&self, text: &str, category: usize, s: usize, e: usize) -> bool {
        if !self.guards.iter().any(|g| g.covers(category)) {
            return false;
        }
        let around = Around::new(text, s, e);
        self.guards
            .iter()
            .any(|g| g.drops(text, category, (s, e), &around))
    }

    /// How many of the regular expressions run on the ASCII shadow (the first entries of a
    /// [`Gate`]).
    pub(crate) fn shadowed(&self) -> usize {
        self.patterns.iter().filter(|p| p.2).count()
    }

    /// `shadow` is `n`'s ASCII shadow ([`Normal::ascii_shadow`]); `open` says per expression
    /// run on it (in order) whether it can match at all (missing: it can).
    pub(crate) fn find(&self, n: &Normal, shadow: &str, open: &[bool], out: &mut Vec<Hit>) {
        let text = n.text.as_str();
        // (rule, start, end) before exceptions.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        if let Some(ac) = &self.terms {
            for m in ac.find_overlapping_iter(text) {
                let Some(rules) = self.term_rules.get(m.pattern().as_usize()) else {
                    continue;
                };
                for &(rule, kind) in rules {
                    if let Some((s, e)) = place(text, m.start(), m.end(), kind) {
                        found.push((rule, s, e));
                    }
                }
            }
        }
        // Each expression on its own rather than as one `RegexSet`: alone, each is searched
        // for by its literal parts first, where a set over Unicode word boundaries falls back
        // to the slowest engine on any non-ASCII text (measured: 30x slower on 2 KB). For the
        // same reason an expression written in ASCII runs on the ASCII shadow.
        let mut gate = 0;
        for (rule, re, ascii) in &self.patterns {
            if *ascii {
                let closed = open.get(gate) == Some(&false);
                gate += 1;
                if closed {
                    continue;
                }
            }
            let haystack = if *ascii { shadow } else { text };
            for m in re.find_iter(haystack) {
                if m.end() > m.start() {
                    found.push((*rule, m.start(), m.end()));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        // Exception phrases are looked for only when something matched: most texts pay nothing.
        let mut excepted: Vec<(usize, usize, usize)> = Vec::new();
        if let Some(ac) = &self.excepts {
            for m in ac.find_overlapping_iter(text) {
                for &rule in self
                    .except_rules
                    .get(m.pattern().as_usize())
                    .into_iter()
                    .flatten()
                {
                    excepted.push((rule, m.start(), m.end()));
                }
            }
        }
        // The same span of a category found by several rules is checked and grown once.
        let mut seen: Vec<(usize, usize, usize)> = Vec::new();
        for (rule, s, e) in found {
            if excepted
                .iter()
                .any(|&(r, xs, xe)| r == rule && xs < e && s < xe)
            {
                continue;
            }
            let Some(r) = self.rules.get(rule) else {
                continue;
            };
            if seen.contains(&(r.category, s, e)) {
                continue;
            }
            if !r.except_near.is_empty() && near_any(text, s, e, r.near, &r.except_near) {
                continue;
            }
            if after_title(text, s) || self.guarded(text, r.category, s, e) {
                continue;
            }
            seen.push((r.category, s, e));
            let e = if r.clause > 0 {
                clause_end(text, e, r.clause)
            } else {
                e
            };
            let (s, e) = self.widen(text, r.category, s, e);
            out.push(Hit {
                category: r.category,
                start: s,
                end: e,
            });
        }
    }
}

/// Words that end a cue's clause: a conjunction, or where the writer turns to what they want
/// (`… und wünscht sich`, `… so she would like`).
const CLAUSE_ENDS: &[&str] = &[
    "und",
    "and",
    "aber",
    "but",
    "oder",
    "or",
    "weil",
    "because",
    "da",
    "denn",
    "so",
    "deshalb",
    "daher",
    "therefore",
    "which",
    "who",
    "dass",
    "sodass",
    "wünscht",
    "wünschen",
    "wünsche",
    "möchte",
    "möchten",
    "wants",
    "want",
    "would",
    "wish",
    "wishes",
    "bitte",
    "please",
    "danke",
    "thanks",
    "thank",
    "sich",
    "while",
    "während",
    "trotzdem",
    "still",
    "anyway",
    "also",
    "wir",
    "we",
    "sie",
    "she",
    "er",
    "he",
    "ich",
];

/// The end of the clause a cue ending at `e` opens: up to `max` more words, never past a
/// clause's punctuation or a word of [`CLAUSE_ENDS`].
fn clause_end(text: &str, e: usize, max: usize) -> usize {
    let mut end = e;
    let mut at = e;
    for _ in 0..max {
        let Some(rest) = text.get(at..) else { break };
        // One gap of spaces, hyphens, slashes or a `+` between words; anything else ends it.
        let gap = rest
            .char_indices()
            .find(|(_, c)| !matches!(c, ' ' | '-' | '/' | '+' | '\''))
            .map_or(rest.len(), |(i, _)| i);
        let from = at + gap;
        if !char_at(text, from).is_some_and(is_word) {
            break;
        }
        let to = word_end(text, from);
        let word = text.get(from..to).unwrap_or("");
        if CLAUSE_ENDS.contains(&word) {
            break;
        }
        end = to;
        at = to;
    }
    end
}

/// Where a term match counts, if it does: its boundaries checked, extended to whole words
/// for stems and compound parts.
/// The match then covers the whole hyphenated compound it is part of (`Brustkrebs-Operation`,
/// `zucker-krank`): a German compound is one word, however it is written.
fn place(text: &str, s: usize, e: usize, kind: Kind) -> Option<(usize, usize)> {
    let (s, e) = match kind {
        Kind::Word => (starts_word(text, s) && ends_word(text, e)).then_some((s, e)),
        Kind::Prefix => starts_word(text, s).then(|| (s, word_end(text, e))),
        Kind::Suffix => ends_word(text, e).then(|| (word_start(text, s), e)),
        Kind::Infix => Some((word_start(text, s), word_end(text, e))),
    }?;
    Some((compound_start(text, s), compound_end(text, e)))
}

/// The start of the hyphenated compound whose part starts at `s`.
fn compound_start(text: &str, mut s: usize) -> usize {
    while char_before(text, s) == Some('-')
        && char_before(text, s.saturating_sub(1)).is_some_and(is_word)
    {
        s = word_start(text, s - 1);
    }
    s
}

/// The end of the hyphenated compound whose part ends at `e`.
fn compound_end(text: &str, mut e: usize) -> usize {
    while char_at(text, e) == Some('-') && char_at(text, e + 1).is_some_and(is_word) {
        e = word_end(text, e + 1);
    }
    e
}

fn word_end(text: &str, from: usize) -> usize {
    text.get(from..).map_or(from, |rest| {
        from + rest
            .char_indices()
            .find(|(_, c)| !is_word(*c))
            .map_or(rest.len(), |(i, _)| i)
    })
}

fn word_start(text: &str, to: usize) -> usize {
    text.get(..to).map_or(to, |head| {
        head.char_indices()
            .rev()
            .find(|(_, c)| !is_word(*c))
            .map_or(0, |(i, c)| i + c.len_utf8())
    })
}

/// Forms of address: the word after one is a name (`Mr Parkinson`, `Frau Krebs`), not a
/// finding.
const TITLES: &[&str] = &[
    "mr", "mrs", "miss", "mx", "dr", "prof", "herr", "herrn", "frau", "fr", "hr", "sir", "lady",
];

/// Possessives that make a form of address a relation (`meine Frau`, `unser Herr`).
const POSSESSIVES: &[&str] = &[
    "my", "his", "her", "our", "your", "their", "mein", "meine", "meiner", "meinem", "meinen",
    "sein", "seine", "seiner", "seinem", "seinen", "ihr", "ihre", "ihrer", "ihrem", "ihren",
    "unser", "unsere", "unserer", "unserem", "unseren", "dein", "deine", "deiner", "deinem",
    "deinen", "euer", "eure", "die", "der", "the",
];

/// Whether the word before byte `s` is a form of address.
fn after_title(text: &str, s: usize) -> bool {
    let head = text.get(..s).unwrap_or("");
    let head = head.trim_end_matches([' ', '.']);
    if head.len() + 1 > s {
        // No space or dot between: the match is part of a word or compound.
        return false;
    }
    let word = head.rsplit(|c: char| !is_word(c)).next().unwrap_or("");
    if TITLES.contains(&word) {
        // `meine Frau hat MS`, `my Mrs`: after a possessive the word is a person, not a
        // form of address.
        let before = head.get(..head.len() - word.len()).unwrap_or("").trim_end();
        let owner = before.rsplit(|c: char| !is_word(c)).next().unwrap_or("");
        return !POSSESSIVES.contains(&owner);
    }
    // A name's possessive after a form of address: `Dr Wendt's surgery` is a practice.
    head.strip_suffix("'s").is_some_and(|h| {
        let name_start = h.len() - h.rsplit(|c: char| !is_word(c)).next().unwrap_or("").len();
        name_start > 0 && after_title(text, name_start)
    })
}

/// Whether a word of the match itself (a compound's other parts), or one of the `near` words
/// before `s` or after `e`, starts with one of `terms`.
fn near_any(text: &str, s: usize, e: usize, near: usize, terms: &[String]) -> bool {
    let hit = |w: &str| terms.iter().any(|t| w.starts_with(t.as_str()));
    let before = text.get(..s).unwrap_or("");
    let inside = text.get(s..e).unwrap_or("");
    let after = text.get(e..).unwrap_or("");
    inside.split(|c: char| !is_word(c)).any(hit)
        || before
            .split(|c: char| !is_word(c))
            .filter(|w| !w.is_empty())
            .rev()
            .take(near)
            .any(hit)
        || after
            .split(|c: char| !is_word(c))
            .filter(|w| !w.is_empty())
            .take(near)
            .any(hit)
}

/// One pass over the ASCII shadow that tells which of the expressions run there can match
/// at all, so that each of them reads the text only when it will find something: alone,
/// every expression reads the whole text again.
pub(crate) struct Gate {
    set: Option<RegexSet>,
}

impl Gate {
    /// A gate over `patterns` (the shadow's expressions, in the order `open` answers). Without
    /// one (a set too large to compile), every expression runs.
    pub(crate) fn new(patterns: &[&str]) -> Gate {
        let set = RegexSetBuilder::new(patterns)
            .unicode(false)
            .size_limit(16 << 20)
            .build()
            .ok();
        Gate { set }
    }

    /// Per expression: whether it can match `shadow`. Empty when there is no gate.
    pub(crate) fn open(&self, shadow: &str) -> Vec<bool> {
        let Some(set) = &self.set else {
            return Vec::new();
        };
        let m = set.matches(shadow);
        (0..set.len()).map(|i| m.matched(i)).collect()
    }
}

/// One identifier rule after compilation.
pub(crate) struct IdRule {
    pub(crate) category: usize,
    pub(crate) pattern: Regex,
    pub(crate) validator: Validator,
    pub(crate) context: Vec<String>,
    pub(crate) require_context: bool,
    pub(crate) anti_context: Vec<String>,
    /// Bytes of normalised text before and after a candidate searched for context words.
    pub(crate) window: usize,
    /// Text right before (after) a candidate that makes it none: a card number's digits
    /// after an IBAN's country and check digits are part of an (invalid) IBAN.
    pub(crate) not_after: Option<Regex>,
    pub(crate) not_before: Option<Regex>,
    /// What widens a finding when it follows it (a card's security code).
    pub(crate) tail: Option<Regex>,
}

/// Bytes after an identifier searched for its tail.
const TAIL_WINDOW: usize = 80;

impl IdRule {
    /// `shadow` is `n`'s ASCII shadow ([`Normal::ascii_shadow`]), where the pattern runs;
    /// the validator and the context words see the normalised text itself.
    pub(crate) fn find(&self, n: &Normal, shadow: &str, out: &mut Vec<Hit>) {
        let text = n.text.as_str();
        for m in self.pattern.find_iter(shadow) {
            let Some(candidate) = text.get(m.range()) else {
                continue;
            };
            let Some(len) = self.validator.accept(candidate) else {
                continue;
            };
            let (s, e) = (m.start(), m.start() + len);
            let before = text
                .get(floor_boundary(text, s.saturating_sub(self.window))..s)
                .unwrap_or("");
            let after = text
                .get(e..ceil_boundary(text, e + self.window))
                .unwrap_or("");
            let near = |terms: &[String]| {
                terms
                    .iter()
                    .any(|t| has_word_start(before, t) || has_word_start(after, t))
            };
            if near(&self.anti_context)
                || self.not_after.as_ref().is_some_and(|r| r.is_match(before))
                || self.not_before.as_ref().is_some_and(|r| r.is_match(after))
            {
                continue;
            }
            if self.require_context && !near(&self.context) {
                continue;
            }
            let e = self.tail.as_ref().map_or(e, |t| {
                let after = text
                    .get(e..ceil_boundary(text, e + TAIL_WINDOW))
                    .unwrap_or("");
                t.find(after).map_or(e, |m| e + m.end())
            });
            out.push(Hit {
                category: self.category,
                start: s,
                end: e,
            });
        }
    }
}

/// Whether `term` occurs in `window` starting a word.
fn has_word_start(window: &str, term: &str) -> bool {
    window
        .match_indices(term)
        .any(|(i, _)| starts_word(window, i))
}
