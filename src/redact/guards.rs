//! Guards: contexts that make a lexicon match of a special category no finding — the
//! harmless sense the word alone cannot tell: an animal's illness (`unser Hund hat
//! Diabetes`), an organisation as an address or customer (`Verdi-Bezirksbüro`, `Teamsters
//! Local 705 hall`), a book, film or product title in quotes (`das Buch „ADHS verstehen“`), an
//! occupation in a form field (`Beruf: Ärztin in der Psychiatrie`). They are data
//! (`[[guard]]` in the rule files, see [`super::rules`]).
//!
//! A guard only ever drops a lexicon match of the categories it names: it must never drop an
//! identifier, and it never looks past the sentence a match stands in (except a title's
//! quotes and a field's label, which it finds before the match in the same clause).

use std::collections::HashSet;

use crate::fasthash::FastHash;

use super::normal::{ceil_boundary, floor_boundary, is_word};

/// Bytes before and after a match a guard reads.
const REACH: usize = 160;

/// One compiled guard.
pub(crate) struct Guard {
    pub(crate) categories: Vec<usize>,
    /// Whole words that, within `before` words before or `after` words after a match in its
    /// sentence, make it none.
    pub(crate) words: HashSet<String, FastHash>,
    pub(crate) before: usize,
    pub(crate) after: usize,
    /// When not empty: a word of `words` must stand before the match and one of these after
    /// it (an intensifier, then what the mood is about).
    pub(crate) then: HashSet<String, FastHash>,
    /// Last parts of a compound that make a match inside it none (`bezirksbüro`,
    /// `straße`, `sensor`): the match names the organisation, the street, the device.
    pub(crate) heads: Vec<String>,
    /// Words right before an opening quote that make a quoted match a title (`buch`,
    /// `film`, `book`).
    pub(crate) title_cues: HashSet<String, FastHash>,
    /// Form field labels (`beruf:`, `occupation:`): a match in the value after one, up to the
    /// next comma or sentence end, is none.
    pub(crate) fields: Vec<String>,
}

/// Characters that end a sentence (or a field's value) for a guard.
fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '\n')
}

const OPENING: &[char] = &['"', '\'', '„', '“', '‚', '‘', '«', '»', '‹', '›'];
const CLOSING: &[char] = &['"', '\'', '“', '”', '‘', '’', '«', '»', '‹', '›'];

/// What stands around a match, read once for every guard.
pub(crate) struct Around<'a> {
    head: &'a str,
    tail: &'a str,
    sentence_head: &'a str,
    sentence_tail: &'a str,
}

impl<'a> Around<'a> {
    /// A guard reads no further than a sentence or a title goes: at most `REACH` bytes
    /// either side of the match `s..e`, so that its cost does not grow with the text.
    pub(crate) fn new(text: &'a str, s: usize, e: usize) -> Around<'a> {
        let head = text
            .get(floor_boundary(text, s.saturating_sub(REACH))..s)
            .unwrap_or("");
        let tail = text
            .get(e..ceil_boundary(text, e.saturating_add(REACH)))
            .unwrap_or("");
        let sentence_head = head
            .rfind(ends_sentence)
            .map_or(head, |i| head.get(i + 1..).unwrap_or(""));
        let sentence_tail = tail
            .find(ends_sentence)
            .map_or(tail, |i| tail.get(..i).unwrap_or(""));
        Around {
            head,
            tail,
            sentence_head,
            sentence_tail,
        }
    }
}

impl Guard {
    /// Whether this guard names `category`.
    pub(crate) fn covers(&self, category: usize) -> bool {
        self.categories.contains(&category)
    }

    /// Whether this guard makes the match `s..e` of `category` in the normalised `text`, with
    /// `around` read around it, none.
    pub(crate) fn drops(
        &self,
        text: &str,
        category: usize,
        (s, e): (usize, usize),
        around: &Around<'_>,
    ) -> bool {
        if !self.covers(category) {
            return false;
        }
        self.near(around.sentence_head, around.sentence_tail)
            || self.compound(text, s, e)
            || self.titled(around.head, around.tail)
            || self.field(around.head)
    }

    fn near(&self, head: &str, tail: &str) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let mut before = head
            .split(|c: char| !is_word(c))
            .filter(|w| !w.is_empty())
            .rev()
            .take(self.before);
        let mut after = tail
            .split(|c: char| !is_word(c))
            .filter(|w| !w.is_empty())
            .take(self.after);
        if self.then.is_empty() {
            return before.chain(after).any(|w| self.words.contains(w));
        }
        before.any(|w| self.words.contains(w)) && after.any(|w| self.then.contains(w))
    }

    /// The word (a hyphenated compound counts as one) around the match ends with a head.
    fn compound(&self, text: &str, s: usize, e: usize) -> bool {
        if self.heads.is_empty() {
            return false;
        }
        let part = |c: char| is_word(c) || c == '-';
        let start = text
            .get(..s)
            .and_then(|h| h.rfind(|c: char| !part(c)).map(|i| i + 1))
            .unwrap_or(0);
        let end = text
            .get(e..)
            .and_then(|t| t.find(|c: char| !part(c)).map(|i| e + i))
            .unwrap_or(text.len());
        let word = text.get(start..end).unwrap_or("");
        self.heads
            .iter()
            .any(|h| word.len() > h.len() && word.ends_with(h.as_str()))
    }

    /// The match stands inside quotes opened right after a cue word (`Buch „…“`).
    fn titled(&self, head: &str, tail: &str) -> bool {
        if self.title_cues.is_empty() {
            return false;
        }
        // The nearest quote before the match, no more than eight words back.
        let Some(open) = head.rfind(OPENING) else {
            return false;
        };
        let inside = head.get(open..).unwrap_or("");
        if inside.split(' ').count() > 9 || !tail.contains(CLOSING) {
            return false;
        }
        let before = head.get(..open).unwrap_or("");
        before
            .split(|c: char| !is_word(c))
            .filter(|w| !w.is_empty())
            .rev()
            .take(3)
            .any(|w| self.title_cues.contains(w))
    }

    /// A form field label stands before the match in its clause.
    fn field(&self, head: &str) -> bool {
        if self.fields.is_empty() {
            return false;
        }
        let clause = head
            .rfind(|c: char| c == ',' || ends_sentence(c))
            .map_or(head, |i| head.get(i + 1..).unwrap_or(""));
        self.fields.iter().any(|f| clause.contains(f.as_str()))
    }
}
