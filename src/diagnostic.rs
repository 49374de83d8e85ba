//! Start-up: the one problem type of every file crmgate loads (config, routes, entities,
//! schema, policies), and TOML parsed with spans so that each problem names its true line.
//!
//! Nothing here runs on the request path. A problem never carries a secret: messages name
//! keys and user input, and the snippet is the source line of a config file, where secrets
//! are never written (they are named by env var or file).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

/// One start-up problem: the file, the 1-based line and column (0 when the problem has no
/// position), the message in cedar's style, and the source line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The source line the problem is on, for a caret under the column.
    pub snippet: Option<String>,
}

impl Problem {
    /// A problem about a whole file (it cannot be read, or has no position to point at).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            snippet: None,
        }
    }

    /// A problem at a byte offset of `text`, the content of `file`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        Self::at_line(file, text, line, column, message)
    }

    /// A problem at a 1-based line and column of `text`, the content of `file`.
    pub fn at_line(
        file: &Path,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            snippet: line
                .checked_sub(1)
                .and_then(|i| text.lines().nth(i))
                .map(str::to_string),
        }
    }

    /// The problem, then its source line with a caret under the column.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if let (Some(src), true) = (&self.snippet, self.line > 0) {
            let num = self.line.to_string();
            out.push_str(&format!(
                "\n {num} | {src}\n {} | {}^",
                " ".repeat(num.len()),
                " ".repeat(self.column.saturating_sub(1))
            ));
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

/// Every problem found, reported together (in file order within a file).
#[derive(Debug, Clone, Default, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Every problem with its source line, `error: ` before each but the first (the caller
    /// prints that prefix, as `main` does for any error), then how many there are.
    pub fn render_after_prefix(&self) -> String {
        let out: Vec<String> = self.0.iter().map(Problem::render).collect();
        format!(
            "{}\n{} problem(s) found",
            out.join("\nerror: "),
            self.0.len()
        )
    }

    /// Whether the only trouble is a file that cannot be read (not an invalid one).
    pub fn is_unreadable(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|p| p.message.starts_with("cannot read"))
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Self(vec![p])
    }
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// A TOML file parsed with spans: every key's position is kept under its dotted path
/// (`departments.sales.default`, array elements by index: `routes.3.resource`), so a
/// problem found after deserializing — a cross-check between two keys — names the line of
/// the key it is about, never a line guessed from its message.
#[derive(Clone)]
pub struct TomlSource {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Dotted path → byte offset of the key (of the element, for array elements).
    keys: HashMap<String, usize>,
}

/// Problems of one TOML file being validated, each at the key it is about.
pub struct Report<'a> {
    pub src: &'a TomlSource,
    pub problems: Vec<Problem>,
}

impl Report<'_> {
    /// A problem about the key at a dotted path (see [`TomlSource::problem`]).
    pub fn at(&mut self, path: &str, message: String) {
        self.problems.push(self.src.problem(path, message));
    }

    /// The problems in file order (a stable sort: problems on one key keep their order).
    pub fn into_sorted(self) -> Vec<Problem> {
        let mut problems = self.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        problems
    }
}

impl fmt::Debug for TomlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The path only: the text is the operator's file, not something to log.
        f.debug_struct("TomlSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How far [`TomlSource::deserialize`] got.
pub struct Parsed<T> {
    /// The typed value, when no entry had to be dropped (unknown keys are removed, values of
    /// the wrong type give way to their defaults): later checks run on it and report their
    /// problems too.
    pub value: Option<T>,
    pub problems: Vec<Problem>,
}

impl TomlSource {
    /// Read a file. A file that cannot be read is a problem without a position.
    pub fn read(path: &Path) -> Result<Self, Problem> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Problem::file(path, format!("cannot read: {e}")))?;
        Ok(Self::new(path, text))
    }

    pub fn new(path: &Path, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.to_path_buf(),
            text: text.into(),
            keys: HashMap::new(),
        }
    }

    /// A problem at a byte offset of this file.
    pub fn problem_at(&self, offset: usize, message: impl Into<String>) -> Problem {
        Problem::at(&self.path, &self.text, offset, message)
    }

    /// A problem about the key at `path` (dotted); when that key is not written (a default
    /// applies, or it is missing), about its nearest written parent.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        let mut p = path;
        loop {
            if let Some(&offset) = self.keys.get(p) {
                return self.problem_at(offset, message);
            }
            match p.rfind('.') {
                Some(i) => p = p.get(..i).unwrap_or(""),
                None => return Problem::file(&self.path, message),
            }
        }
    }

    /// Parse the text and deserialize it into `T`, collecting every problem: all syntax
    /// errors; then serde's errors one by one — an unknown key or a value of the wrong type is
    /// removed and the rest deserialized again, an entry missing a key is dropped (its table
    /// or array element), so that the problems after each are found too.
    pub fn deserialize<T: DeserializeOwned>(&mut self) -> Parsed<T> {
        let text = self.text.clone();
        let (mut root, syntax) = DeTable::parse_recoverable(&text);
        let mut problems: Vec<Problem> = syntax
            .iter()
            .map(|e| match e.span() {
                Some(span) if e.message() == DUPLICATE_KEY => {
                    let key = text.get(span.clone()).unwrap_or("?");
                    let key = key.trim_matches(|c| c == '"' || c == '\'');
                    self.problem_at(
                        span.start,
                        format!("duplicate key `{key}`: it is already written above"),
                    )
                }
                span => self.serde_problem(span, e.message()),
            })
            .collect();
        // A key written twice leaves a whole document (the first value kept): the rest of
        // the file is still checked, so the duplicate hides no other problem. After any
        // other syntax error what follows cannot be trusted.
        if syntax.iter().any(|e| e.message() != DUPLICATE_KEY) {
            return Parsed {
                value: None,
                problems,
            };
        }
        let mut keys = HashMap::new();
        index_table(root.get_ref(), "", &mut keys);
        self.keys = keys;

        // Keys dropped with their values: a later "missing field" about one of them is the
        // same problem again.
        let mut dropped: Vec<Dropped> = Vec::new();
        let mut complete = true;
        // Each round removes one key or entry, so the number of rounds is bounded by the
        // size of the file; the cap only guards against a deserializer that does not point.
        for _ in 0..256 {
            let value = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
            let e = match T::deserialize(toml::de::ValueDeserializer::from(value)) {
                Ok(v) => {
                    return Parsed {
                        value: complete.then_some(v),
                        problems,
                    }
                }
                Err(e) => e,
            };
            let message = e.message().to_string();
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'));
            // A key dropped for its wrong value is not missing as well: only its entry
            // goes, silently.
            let again = missing.is_some_and(|m| {
                dropped
                    .iter()
                    .any(|d| d.key == m && Some(&d.table) == e.span().as_ref())
            });
            if !again {
                problems.push(self.serde_problem(e.span(), &message));
            }
            let unknown = message.starts_with("unknown field");
            let Some(span) = e.span() else { break };
            // A missing key drops its whole entry: what is left is not the file as written,
            // so later checks would report problems that are not there.
            if missing.is_some() {
                complete = false;
            }
            let root_span = root.span();
            match remove_at(root.get_mut(), &root_span, &span) {
                Some(d) => {
                    if !unknown {
                        dropped.push(d);
                    }
                }
                None => break,
            }
        }
        Parsed {
            value: None,
            problems,
        }
    }

    fn serde_problem(&self, span: Option<Range<usize>>, message: &str) -> Problem {
        let message = serde_message(message);
        match span {
            Some(s) => self.problem_at(s.start, message),
            None => Problem::file(&self.path, message),
        }
    }
}

/// The toml parser's message for a key written twice (its span is the second one).
const DUPLICATE_KEY: &str = "duplicate key";

/// serde's and toml's messages, as cedar writes them: lowercase first word, no final period,
/// one line.
fn serde_message(m: &str) -> String {
    let m = m.trim().trim_end_matches('.').replace('\n', " ");
    let mut chars = m.chars();
    match chars.next() {
        Some(c) if !chars.as_str().starts_with(|n: char| n.is_uppercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => m,
    }
}

fn index_table(table: &DeTable<'_>, prefix: &str, keys: &mut HashMap<String, usize>) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        // A table written twice (`[a]` after `[a.b]`) keeps the first position.
        keys.entry(path.clone()).or_insert(k.span().start);
        index_value(v, &path, keys);
    }
}

fn index_value(v: &Spanned<DeValue<'_>>, path: &str, keys: &mut HashMap<String, usize>) {
    match v.get_ref() {
        DeValue::Table(t) => index_table(t, path, keys),
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                let p = format!("{path}.{i}");
                keys.entry(p.clone()).or_insert(e.span().start);
                index_value(e, &p, keys);
            }
        }
        _ => {}
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Remove the innermost key (or array element) an error points at: the key itself, or the
/// entry whose value holds the span. Returns the removed key's name. A `[table]`'s span is
/// its header only, so every nested table is searched, not only those whose span holds it.
fn remove_at(
    table: &mut DeTable<'_>,
    table_span: &Range<usize>,
    span: &Range<usize>,
) -> Option<Dropped> {
    let mut hit: Option<String> = None;
    for (k, v) in table.iter_mut() {
        if k.span() == *span {
            hit = Some(k.get_ref().to_string());
            break;
        }
        let value_span = v.span();
        let inner = match v.get_mut() {
            DeValue::Table(t) => remove_at(t, &value_span, span),
            DeValue::Array(a) => remove_in_array(a, &value_span, span),
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
        if contains(&v.span(), span) {
            hit = Some(k.get_ref().to_string());
            break;
        }
    }
    let key = hit?;
    table.remove(key.as_str());
    Some(Dropped {
        table: table_span.clone(),
        key,
    })
}

/// A key removed with its value, and the span of the table it was in: serde reports a
/// missing field at that span.
struct Dropped {
    table: Range<usize>,
    key: String,
}

fn remove_in_array(
    a: &mut DeArray<'_>,
    array_span: &Range<usize>,
    span: &Range<usize>,
) -> Option<Dropped> {
    for e in a.iter_mut() {
        let element_span = e.span();
        if let DeValue::Table(t) = e.get_mut() {
            if let Some(k) = remove_at(t, &element_span, span) {
                return Some(k);
            }
        }
    }
    // The element itself: rebuild the array without it.
    let i = a.iter().position(|e| contains(&e.span(), span))?;
    let mut rest = DeArray::new();
    for (j, e) in a.iter().enumerate() {
        if j != i {
            rest.push(e.clone());
        }
    }
    *a = rest;
    Some(Dropped {
        table: array_span.clone(),
        key: i.to_string(),
    })
}

/// Byte offsets of the elements of a JSON document's top-level array (the entities file),
/// in order: a problem about the n-th entity points at its first character.
pub fn json_array_elements(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut expect_element = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if depth == 1 && expect_element && !b.is_ascii_whitespace() && b != b']' {
            starts.push(i);
            expect_element = false;
        }
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 && b == b'[' {
                    expect_element = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expect_element = true,
            _ => {}
        }
        i += 1;
    }
    starts
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: Inner,
        #[serde(default)]
        items: Vec<Inner>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
        #[serde(default)]
        s: String,
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn every_serde_problem_of_a_file_is_found() {
        let text =
            "[a]\nn = 1\nx = 2\ny = 3\n\n[[items]]\nn = \"no\"\n\n[[items]]\ns = \"s\"\nz = 1\n";
        let mut src = TomlSource::new(Path::new("f.toml"), text);
        let parsed = src.deserialize::<Doc>();
        assert!(parsed.value.is_none());
        let lines: Vec<(usize, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0].0, 3);
        assert_eq!(lines[1].0, 4);
        assert_eq!(lines[2].0, 7);
        assert!(lines.iter().any(|(l, m)| *l == 11 && m.contains("`z`")));
        assert!(lines.iter().any(|(_, m)| m.contains("missing field `n`")));
    }

    #[test]
    fn unknown_keys_alone_leave_a_usable_value() {
        let mut src = TomlSource::new(Path::new("f.toml"), "[a]\nn = 1\nq = 2\n");
        let parsed = src.deserialize::<Doc>();
        assert_eq!(parsed.problems.len(), 1);
        assert!(parsed.value.is_some());
        assert_eq!(src.problem("a.n", "x").line, 2);
        assert_eq!(src.problem("a.s", "x").line, 1);
    }

    #[test]
    fn json_elements_are_found_past_strings_and_nesting() {
        let text = "[\n {\"a\": \"],{\"},\n {\"b\": [1, {\"c\": 2}]}\n, 3]";
        let starts = json_array_elements(text);
        assert_eq!(starts.len(), 3);
        assert_eq!(line_col(text, starts[1]).0, 3);
        assert_eq!(line_col(text, starts[2]).0, 4);
    }
}
