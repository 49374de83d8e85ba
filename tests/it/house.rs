//! A reader of the crate's own source for the house rules: which file imports which, what is
//! test code, where a function starts and ends. It understands just enough Rust for that
//! (comments, string and char literals, `use` trees, `crate::`/`super::`/`self::` paths and
//! `#[cfg(test)]` items), and it must never be used for anything but these checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file of a crate, read for the rules.
pub struct Source {
    /// Path relative to the repository, with `/`.
    pub rel: String,
    /// The module path inside its crate (`["stages", "pipeline"]`).
    pub module: Vec<String>,
    /// The file's code without comments, string contents or `#[cfg(test)]` items (positions
    /// and line breaks kept).
    pub code: String,
    /// The same with comments and string contents kept.
    pub text: String,
}

/// Every `.rs` file under `root` (a crate's `src/`), test-only files left out.
pub fn crate_sources(repo: &Path, root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel_in_crate = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        // Test-only files: a `tests.rs` child or anything under a `tests/` folder of src.
        if name == "tests.rs" || rel_in_crate.split('/').any(|s| s == "tests") {
            continue;
        }
        let raw = std::fs::read_to_string(&f).unwrap();
        let code = scrub(&raw, false);
        let text = raw.clone();
        let (code, text) = without_test_items(code, text);
        out.push(Source {
            rel: f
                .strip_prefix(repo)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/"),
            module: module_path(&rel_in_crate),
            code,
            text,
        });
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod") | Some("lib") | Some("main")
    ) {
        parts.pop();
    }
    parts
}

/// Blank out comments (and, unless `keep_strings`, the contents of string and char
/// literals), keeping every line break so that positions and line numbers hold.
pub fn scrub(src: &str, keep_strings: bool) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            continue;
        }
        let ident_before = i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_');
        // Raw strings: r"…", r#"…"#, br#"…"#.
        if (c == 'r' || (c == 'b' && next == Some('r'))) && !ident_before {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) == Some(&'"') {
                out.extend(&b[i..=j]);
                let mut k = j + 1;
                loop {
                    if k >= b.len() {
                        break;
                    }
                    if b[k] == '"' && (0..hashes).all(|h| b.get(k + 1 + h) == Some(&'#')) {
                        break;
                    }
                    if keep_strings {
                        out.push(b[k]);
                    } else {
                        blank(&mut out, b[k]);
                    }
                    k += 1;
                }
                for h in 0..=hashes {
                    if let Some(&ch) = b.get(k + h) {
                        out.push(ch);
                    }
                }
                i = k + hashes + 1;
                continue;
            }
        }
        if c == '"' {
            out.push('"');
            let mut k = i + 1;
            while k < b.len() && b[k] != '"' {
                let step = if b[k] == '\\' { 2 } else { 1 };
                for s in 0..step {
                    if let Some(&ch) = b.get(k + s) {
                        if keep_strings {
                            out.push(ch);
                        } else {
                            blank(&mut out, ch);
                        }
                    }
                }
                k += step;
            }
            out.push('"');
            i = k + 1;
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}', '\''), else a lifetime or label.
            let end = if next == Some('\\') {
                (i + 2..b.len().min(i + 14)).find(|&k| b[k] == '\'' && k > i + 2)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                out.push('\'');
                for &ch in &b[i + 1..end] {
                    out.push(if keep_strings { ch } else { ' ' });
                }
                out.push('\'');
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Blank every `#[cfg(test)]` item (a `mod tests;` line, a `mod tests { … }` block, a test
/// helper function) in both views of a file.
fn without_test_items(code: String, text: String) -> (String, String) {
    let mut code: Vec<char> = code.chars().collect();
    let mut text: Vec<char> = text.chars().collect();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= code.len() {
        if code[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + marker.len();
        let mut depth = 0usize;
        let mut opened = false;
        while j < code.len() {
            match code[j] {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        break;
                    }
                }
                ';' if !opened => break,
                _ => {}
            }
            j += 1;
        }
        for k in start..=j.min(code.len() - 1) {
            if code[k] != '\n' {
                code[k] = ' ';
                text[k] = ' ';
            }
        }
        i = j + 1;
    }
    (code.into_iter().collect(), text.into_iter().collect())
}

/// The line (1-based) of a character position.
pub fn line_of(s: &str, pos: usize) -> usize {
    s[..pos].matches('\n').count() + 1
}

/// Every function with a body: (name, first line, number of lines).
pub fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let re = regex::Regex::new(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let mut out = Vec::new();
    for m in re.captures_iter(code) {
        let whole = m.get(0).unwrap();
        let name = m[1].to_string();
        let from = chars.partition_point(|(p, _)| *p < whole.end());
        let mut depth = 0usize;
        let mut opened = false;
        let mut end = None;
        let mut paren = 0i32;
        for &(p, c) in &chars[from..] {
            match c {
                '(' | '[' => paren += 1,
                ')' | ']' => paren -= 1,
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        end = Some(p);
                        break;
                    }
                }
                ';' if !opened && paren == 0 => break,
                _ => {}
            }
        }
        if let Some(end) = end {
            let first = line_of(code, whole.start());
            let last = line_of(code, end);
            out.push((name, first, last - first + 1));
        }
    }
    out
}

/// Module paths a file refers to (absolute, inside its crate): its `use` trees and its
/// `crate::`/`super::`/`self::`/child-module paths in code.
pub fn references(src: &Source) -> BTreeSet<Vec<String>> {
    let children: BTreeSet<String> = regex::Regex::new(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")
        .unwrap()
        .captures_iter(&src.code)
        .map(|c| c[1].to_string())
        .collect();
    let mut out = BTreeSet::new();
    let use_re = regex::Regex::new(r"\buse\s+").unwrap();
    let mut rest = src.code.clone();
    // `use` trees first; their text is then blanked so paths are not read twice.
    let spans: Vec<(usize, usize)> = use_re
        .find_iter(&src.code)
        .filter_map(|m| {
            src.code[m.end()..]
                .find(';')
                .map(|e| (m.start(), m.end() + e))
        })
        .collect();
    for &(s, e) in &spans {
        let tree = &src.code[s..e];
        let tree = tree.trim_start_matches("use").trim();
        for path in expand_use(tree) {
            if let Some(abs) = absolute(&src.module, &path, &children) {
                out.insert(abs);
            }
        }
        rest.replace_range(s..e, &" ".repeat(e - s));
    }
    let path_re = regex::Regex::new(
        r"(?:^|[^A-Za-z0-9_:])((?:[A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)",
    )
    .unwrap();
    for c in path_re.captures_iter(&rest) {
        let path: Vec<String> = c[1].split("::").map(|s| s.trim().to_string()).collect();
        if let Some(abs) = absolute(&src.module, &path, &children) {
            out.insert(abs);
        }
    }
    out
}

/// A `use` tree (`crate::{a::b, c::{d, e as f}}`) as its paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let mut seg = String::new();
        while *i < s.len() {
            let c = s[*i];
            match c {
                '{' => {
                    *i += 1;
                    if !seg.trim().is_empty() {
                        path.push(seg.trim().to_string());
                    }
                    seg.clear();
                    loop {
                        parse(s, i, &path, out);
                        if *i < s.len() && s[*i] == ',' {
                            *i += 1;
                            continue;
                        }
                        break;
                    }
                    if *i < s.len() && s[*i] == '}' {
                        *i += 1;
                    }
                    return;
                }
                '}' | ',' => break,
                ':' => {
                    if !seg.trim().is_empty() {
                        path.push(seg.trim().to_string());
                    }
                    seg.clear();
                    *i += 1;
                }
                _ => {
                    seg.push(c);
                    *i += 1;
                }
            }
        }
        let seg = seg.trim();
        let seg = seg.split(" as ").next().unwrap_or("").trim();
        if !seg.is_empty() && seg != "*" && seg != "self" {
            path.push(seg.to_string());
        }
        out.push(path);
    }
    let chars: Vec<char> = tree.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    parse(&chars, &mut i, &[], &mut out);
    out
}

/// A path as seen from `module`, made absolute; `None` when it is not this crate's.
fn absolute(
    module: &[String],
    path: &[String],
    children: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String>;
    let mut rest = &path[1..];
    match first.as_str() {
        "crate" => base = Vec::new(),
        "self" => base = module.to_vec(),
        "super" => {
            base = module.to_vec();
            base.pop();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        name if children.contains(name) => {
            base = module.to_vec();
            base.push(name.to_string());
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file a module path lands in: the longest prefix that is a file of the crate.
pub fn resolve<'a>(
    files: &'a BTreeMap<Vec<String>, String>,
    path: &[String],
) -> Option<&'a String> {
    (0..=path.len()).rev().find_map(|n| files.get(&path[..n]))
}

/// Strongly connected components with more than one member (Tarjan).
pub fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(lw));
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(iw));
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}
