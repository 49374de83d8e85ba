//! The normalised view the detector matches on: NFKC, lower case, invisible and format
//! characters removed, dashes unified, whitespace runs collapsed to one space — with a map
//! from every normalised byte back to the original bytes it came from.
//!
//! It must never be used to build what is written: redaction replaces spans of the original
//! text, so that nothing hidden inside a match (a zero-width space, a soft hyphen) survives
//! and nothing outside one is changed.

use std::borrow::Cow;

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

use super::html;

/// A text as the detector sees it.
pub(crate) struct Normal {
    pub(crate) text: String,
    /// For each byte of `text`: the original byte range of the character (or combining
    /// sequence) it came from.
    origin: Vec<(usize, usize)>,
}

/// Characters that render as nothing or are format controls (Unicode category Cf, plus
/// invisible fillers and variation selectors): removed before matching, so they cannot split
/// a word or a number.
pub(crate) fn is_invisible(c: char) -> bool {
    // Every character below U+00AD is visible: most text is decided here.
    if c < '\u{00AD}' {
        return false;
    }
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{08E2}'
        | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// Dash punctuation of every width, seen as the ASCII hyphen.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Cyrillic and Greek letters that look like Latin ones (after lower-casing), seen as the
/// Latin letter: `Diаbetes` with a Cyrillic `а` is `diabetes`. The lexicons are Latin, so a
/// Cyrillic or Greek word turned into Latin letters matches nothing it did not mean.
fn latin_lookalike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' => 'e',
        'һ' | 'н' => 'h',
        'і' | 'ι' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ӏ' => 'l',
        'м' => 'm',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' => 'u',
        'ν' => 'v',
        'ԝ' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        _ => return None,
    })
}

/// Typographic apostrophes, seen as the ASCII one (`Parkinson’s`).
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{FF07}')
}

/// A mark that belongs to the character before it: combining, or invisible.
fn joins_before(m: char) -> bool {
    !m.is_ascii() && (is_invisible(m) || canonical_combining_class(m) != 0)
}

/// One base character with its combining marks, NFKC-normalised, lower-cased, dashes and
/// apostrophes unified, look-alike letters read as Latin and accents dropped (the umlauts
/// kept); every byte pushed maps to the original range `s..e`.
fn push_cluster(
    text: &mut String,
    origin: &mut Vec<(usize, usize)>,
    cluster: &str,
    s: usize,
    e: usize,
) {
    for n in cluster.nfkc() {
        for l in n.to_lowercase() {
            let l = if is_dash(l) {
                '-'
            } else if is_apostrophe(l) {
                '\''
            } else {
                latin_lookalike(l).unwrap_or(l)
            };
            if l.is_whitespace() {
                if text.is_empty() || text.ends_with(' ') {
                    continue;
                }
                push(text, origin, ' ', s, e);
            } else if is_invisible(l) {
                continue;
            } else if l.is_ascii() || keeps_marks(l) {
                push(text, origin, l, s, e);
            } else {
                // Accents are not read (`Diabe\u{301}tes`, `Sámi`): the base letters
                // alone, marks that compose with nothing included.
                for b in std::iter::once(l).nfd() {
                    if canonical_combining_class(b) == 0 {
                        push(text, origin, b, s, e);
                    }
                }
            }
        }
    }
}

impl Normal {
    pub(crate) fn new(original: &str) -> Normal {
        // HTML as a browser would show it; `at` maps a range of what is read back to the
        // original bytes.
        let decoded = html::decode(original);
        let src: &str = decoded.as_ref().map_or(original, |d| d.text.as_str());
        let at = |s: usize, e: usize| -> (usize, usize) {
            match &decoded {
                None => (s, e),
                Some(d) => (
                    d.origin.get(s).map_or(s, |o| o.0),
                    e.checked_sub(1)
                        .and_then(|x| d.origin.get(x))
                        .map_or(e, |o| o.1),
                ),
            }
        };
        let mut text = String::with_capacity(src.len());
        let mut origin = Vec::with_capacity(src.len());
        let bytes = src.as_bytes();
        let mut cluster = String::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            // ASCII not followed by a combining or invisible mark is its own NFKC form: the
            // common case, byte by byte without the normaliser (no ASCII character is
            // invisible).
            if b.is_ascii() && !char_at(src, i + 1).is_some_and(joins_before) {
                let (s, e) = at(i, i + 1);
                if b.is_ascii_whitespace() {
                    if !text.is_empty() && !text.ends_with(' ') {
                        text.push(' ');
                        origin.push((s, e));
                    }
                } else {
                    text.push(char::from(b.to_ascii_lowercase()));
                    origin.push((s, e));
                }
                i += 1;
                continue;
            }
            let Some(c) = char_at(src, i) else {
                break;
            };
            if is_invisible(c) {
                i += c.len_utf8();
                continue;
            }
            // A base character with the combining marks after it, normalised together so
            // that `u` + U+0308 becomes `ü` like the precomposed letter. Invisible marks
            // inside a sequence belong to it (and go with it).
            cluster.clear();
            cluster.push(c);
            let mut end = i + c.len_utf8();
            while let Some(m) = char_at(src, end).filter(|&m| joins_before(m)) {
                if !is_invisible(m) {
                    cluster.push(m);
                }
                end += m.len_utf8();
            }
            let (s, e) = at(i, end);
            push_cluster(&mut text, &mut origin, &cluster, s, e);
            i = end;
        }
        let mut n = Normal { text, origin };
        n.join_spaced_letters();
        n
    }

    /// Runs of three or more single letters or digits with the same kind of short
    /// separator between them — spaces, dots, dashes, slashes, stars, underscores
    /// (`D I A B E T E S`, `c.a.n.c.e.r`, `D-i-a-b-e-t-e-s`, `D E 8 9 3 7 …`) — are read as
    /// one word: the separators go.
    fn join_spaced_letters(&mut self) {
        // Three letters are a word too (`g a y`, `A.f.D`, `H-I-V`).
        const MIN_RUN: usize = 3;
        if !has_spaced_pair(&self.text) {
            return;
        }
        // Byte ranges of the separators to drop.
        let mut dropped: Vec<(usize, usize)> = Vec::new();
        // The separators between the single-character words of the current run, and how
        // many words it has.
        let mut run: Vec<(usize, usize)> = Vec::new();
        let mut run_len = 0;
        let flush = |run: &mut Vec<(usize, usize)>,
                     run_len: &mut usize,
                     dropped: &mut Vec<(usize, usize)>| {
            if *run_len >= MIN_RUN {
                dropped.append(run);
            }
            run.clear();
            *run_len = 0;
        };
        let mut words = WordRuns::new(&self.text).peekable();
        while let Some((s, e, single)) = words.next() {
            // `he's` is no spaced-out word starting with `s`.
            if !single || char_before(&self.text, s) == Some('\'') {
                flush(&mut run, &mut run_len, &mut dropped);
                continue;
            }
            run_len += 1;
            let gap = match words.peek() {
                Some(&(ns, _, true)) => self.text.get(e..ns).map(|g| (g, ns)),
                _ => None,
            };
            // The same separator all along: `z. B. u.s.a.` is no spaced-out word.
            let same = |g: &str| {
                run.first()
                    .is_none_or(|&(fs, fe)| self.text.get(fs..fe) == Some(g))
            };
            match gap {
                Some((g, ns)) if is_letter_gap(g) && same(g) => run.push((e, ns)),
                // Another separator: a new run may start here (`a T-e-a-m`).
                Some((g, ns)) if is_letter_gap(g) => {
                    flush(&mut run, &mut run_len, &mut dropped);
                    run_len = 1;
                    run.push((e, ns));
                }
                _ => flush(&mut run, &mut run_len, &mut dropped),
            }
        }
        flush(&mut run, &mut run_len, &mut dropped);
        if dropped.is_empty() {
            return;
        }
        let mut text = String::with_capacity(self.text.len());
        let mut origin = Vec::with_capacity(self.origin.len());
        let mut last = 0;
        for &(ds, de) in &dropped {
            if ds < last || !self.text.is_char_boundary(ds) || !self.text.is_char_boundary(de) {
                continue;
            }
            text.push_str(self.text.get(last..ds).unwrap_or(""));
            origin.extend_from_slice(self.origin.get(last..ds).unwrap_or(&[]));
            last = de;
        }
        text.push_str(self.text.get(last..).unwrap_or(""));
        origin.extend_from_slice(self.origin.get(last..).unwrap_or(&[]));
        self.text = text;
        self.origin = origin;
    }

    /// The normalised text in ASCII with every byte where it was: a letter or digit of
    /// another script becomes as many `x` as it has bytes, anything else non-ASCII as many
    /// `#`. Identifier patterns run on it: with non-ASCII text in the haystack the regex
    /// crate cannot use its fast engines for a Unicode word boundary (`\b`) and falls back to
    /// one that is many times slower (measured: 0.5 ms instead of 0.09 ms per 2 KB).
    pub(crate) fn ascii_shadow(&self) -> Cow<'_, str> {
        if self.text.is_ascii() {
            return Cow::Borrowed(&self.text);
        }
        let mut out = String::with_capacity(self.text.len());
        for c in self.text.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let fill = if is_word(c) { 'x' } else { '#' };
                for _ in 0..c.len_utf8() {
                    out.push(fill);
                }
            }
        }
        Cow::Owned(out)
    }

    /// The original byte range of the normalised range `start..end` (empty ranges and
    /// ranges outside the text give `None`).
    pub(crate) fn original(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if end <= start {
            return None;
        }
        let first = self.origin.get(start)?;
        let last = self.origin.get(end.checked_sub(1)?)?;
        Some((first.0, last.1))
    }
}

/// Whether two one-character words stand with only a letter gap between them (`a b`,
/// `c.a`): one quick pass that lets most texts skip the search for spaced-out words.
fn has_spaced_pair(text: &str) -> bool {
    // Characters in the current word; whether the word before it had one and only gap
    // characters (how many) followed it; whether the current word started after such a gap.
    let mut len = 0usize;
    let mut single_before = false;
    let mut gap = 0usize;
    let mut after_single = false;
    for c in text.chars() {
        let word = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            is_word(c)
        };
        if word {
            if len == 0 {
                after_single = single_before && (1..=3).contains(&gap);
            }
            len += 1;
            continue;
        }
        if len > 0 {
            if len == 1 && after_single {
                return true;
            }
            single_before = len == 1;
            gap = 0;
            len = 0;
        }
        if is_letter_gap_char(c) {
            gap += 1;
        } else {
            single_before = false;
        }
    }
    len == 1 && after_single
}

fn is_letter_gap_char(c: char) -> bool {
    matches!(
        c,
        ' ' | '.' | '-' | '_' | '*' | '/' | '|' | '+' | '~' | '·' | '•'
    )
}

/// Letters whose marks are read: the German umlauts the lexicons are written with.
fn keeps_marks(c: char) -> bool {
    matches!(c, 'ä' | 'ö' | 'ü')
}

/// A separator between the single letters of a spaced-out word: one to three spaces, dots,
/// dashes, slashes, stars, underscores, middle dots or bullets.
fn is_letter_gap(g: &str) -> bool {
    let n = g.chars().count();
    (1..=3).contains(&n) && g.chars().all(is_letter_gap_char)
}

/// The runs of word characters of a text: start, end, and whether it is one character.
struct WordRuns<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> WordRuns<'a> {
    fn new(text: &'a str) -> Self {
        WordRuns { text, at: 0 }
    }
}

impl Iterator for WordRuns<'_> {
    type Item = (usize, usize, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.text.get(self.at..)?;
        let (i, _) = rest.char_indices().find(|(_, c)| is_word(*c))?;
        let s = self.at + i;
        let tail = self.text.get(s..)?;
        let len = tail
            .char_indices()
            .find(|(_, c)| !is_word(*c))
            .map_or(tail.len(), |(j, _)| j);
        let single = tail.chars().next().is_some_and(|c| c.len_utf8() == len);
        self.at = s + len;
        Some((s, s + len, single))
    }
}

fn push(text: &mut String, origin: &mut Vec<(usize, usize)>, c: char, start: usize, end: usize) {
    text.push(c);
    origin.extend(std::iter::repeat_n((start, end), c.len_utf8()));
}

/// Whether a character continues a word (letters and digits of any script).
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// The character ending just before byte `i` of `s`.
pub(crate) fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i).and_then(|p| p.chars().next_back())
}

/// The character starting at byte `i` of `s`.
pub(crate) fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|p| p.chars().next())
}

/// Whether byte `i` of `s` is at the start of a word (no word character before it).
pub(crate) fn starts_word(s: &str, i: usize) -> bool {
    !char_before(s, i).is_some_and(is_word)
}

/// Whether byte `i` of `s` is at the end of a word (no word character at it).
pub(crate) fn ends_word(s: &str, i: usize) -> bool {
    !char_at(s, i).is_some_and(is_word)
}

/// The largest char boundary of `s` at or below `i`.
pub(crate) fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` at or above `i`.
pub(crate) fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_and_case_fold_to_ascii_lower() {
        let n = Normal::new("ＤＥ８９ Ab");
        assert_eq!(n.text, "de89 ab");
        // `ｄ` is three bytes in the original.
        assert_eq!(n.original(0, 1), Some((0, 3)));
        assert_eq!(n.original(0, 4), Some((0, 12)));
    }

    #[test]
    fn zero_width_and_soft_hyphen_are_removed_but_spanned() {
        let t = "Dia\u{200b}be\u{00ad}tes!";
        let n = Normal::new(t);
        assert_eq!(n.text, "diabetes!");
        let (s, e) = n.original(0, 8).unwrap();
        assert_eq!(&t[s..e], "Dia\u{200b}be\u{00ad}tes");
    }

    #[test]
    fn whitespace_runs_collapse_and_combining_marks_compose() {
        let n = Normal::new("a \n\t b u\u{308}ber");
        assert_eq!(n.text, "a b über");
    }

    #[test]
    fn letter_spaced_words_and_lookalike_letters_are_read_as_words() {
        assert_eq!(
            Normal::new("hat D I A B E T E S, ja").text,
            "hat diabetes, ja"
        );
        assert_eq!(Normal::new("D E 8 9 3 7 0 4 ok").text, "de893704 ok");
        assert_eq!(Normal::new("a b").text, "a b");
        assert_eq!(Normal::new("g a y").text, "gay");
        assert_eq!(Normal::new("he's g a y").text, "he's gay");
        assert_eq!(Normal::new("a T-e-a-m-s").text, "a teams");
        let t = "Di\u{0430}betes";
        let n = Normal::new(t);
        assert_eq!(n.text, "diabetes");
        assert_eq!(n.original(0, 8), Some((0, t.len())));
    }

    #[test]
    fn the_ascii_shadow_keeps_every_offset() {
        let n = Normal::new("Grüße € 4111");
        let s = n.ascii_shadow();
        assert_eq!(s.len(), n.text.len());
        assert_eq!(s, "grxxxxe ### 4111");
    }

    #[test]
    fn html_references_and_tags_are_read_and_map_to_the_whole_original() {
        for t in [
            "Diab&#101;tes",
            "&#x64;iabetes",
            "Dia&shy;betes",
            "Dia<b></b>betes",
            "Diabe\u{301}tes",
            "D-i-a-b-e-t-e-s",
            "d.i.a.b.e.t.e.s",
            "D. I. A. B. E. T. E. S",
            "D*i*a*b*e*t*e*s",
        ] {
            let n = Normal::new(t);
            assert_eq!(n.text, "diabetes", "{t}");
            assert_eq!(n.original(0, n.text.len()), Some((0, t.len())), "{t}");
        }
        assert_eq!(Normal::new("DE89&nbsp;3704").text, "de89 3704");
        assert_eq!(Normal::new("Grüße, Sámi").text, "grüße, sami");
        assert_eq!(Normal::new("z. B. und a-b").text, "z. b. und a-b");
        assert_eq!(Normal::new("die A.f.D").text, "die afd");
    }

    #[test]
    fn dashes_are_one_hyphen() {
        assert_eq!(Normal::new("ab\u{2011}cd\u{2013}ef").text, "ab-cd-ef");
    }
}
