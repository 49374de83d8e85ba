//! `crmgate audit query`: who accessed which record, when, for which purpose, and which
//! field groups they saw (the table and the GDPR Art. 15 subject report that render it are
//! the tool's, in `tools::audit::report`).
//!
//! Each closed segment has an index `seg-….idx` next to it (a JSON header line, then one
//! line per key, see [`write_index`]): for every user, department, purpose, decision and
//! record (`r:contact/1042`, returned or withheld) the byte offsets of the records that
//! name it, plus the segment's time range and length. A
//! query intersects the postings of its filters and reads only those lines; a segment
//! without a valid index (the live one, or one whose length changed) is scanned. Every hit
//! is checked against all filters on the parsed record, so an index can make a query
//! faster, never wrong. Indexes are derived data: deleting them is harmless.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chain::{list_segments, split_lines};
use super::event::AuditRecord;

/// The postings of one segment, built while it is written (or by reading it).
#[derive(Debug, Default)]
pub struct SegIndex {
    pub first_seq: u64,
    pub last_seq: Option<u64>,
    pub time_min: Option<String>,
    pub time_max: Option<String>,
    pub keys: BTreeMap<String, Vec<u64>>,
}

/// `Contact`, `contacts`, `contact` → `contact`; `companies` → `company`.
pub fn norm_type(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    if let Some(stem) = t.strip_suffix("ies") {
        return format!("{stem}y");
    }
    t.strip_suffix('s').map(str::to_string).unwrap_or(t)
}

/// A Markdown table cell: a `|` in a path or id must not split the cell.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn record_key(resource: &str, id: &str) -> String {
    format!("r:{}/{id}", norm_type(resource))
}

impl SegIndex {
    pub fn new(first_seq: u64) -> SegIndex {
        SegIndex {
            first_seq,
            ..SegIndex::default()
        }
    }

    fn add_keys(&mut self, keys: Vec<String>, time: &str, offset: u64, seq: u64) {
        for k in keys {
            let postings = self.keys.entry(k).or_default();
            // A record names the same key once (a record listed twice, say).
            if postings.last() != Some(&offset) {
                postings.push(offset);
            }
        }
        self.last_seq = Some(seq);
        if self.time_min.as_deref().is_none_or(|t| time < t) {
            self.time_min = Some(time.to_string());
        }
        if self.time_max.as_deref().is_none_or(|t| time > t) {
            self.time_max = Some(time.to_string());
        }
    }

    /// Index a record written at `offset`.
    pub fn add(&mut self, r: &AuditRecord, offset: u64, seq: u64) {
        let mut keys = Vec::new();
        let fields = [
            ("u:", &r.principal),
            ("d:", &r.department),
            ("p:", &r.purpose),
        ];
        for (prefix, v) in fields {
            if let Some(v) = v {
                keys.push(format!("{prefix}{v}"));
            }
        }
        keys.push(format!("x:{}", r.decision));
        if let Some(res) = &r.resource {
            let written = r.writes.iter().filter_map(|w| w.id.as_ref());
            for id in r
                .records
                .iter()
                .map(|x| &x.id)
                .chain(&r.rows_dropped)
                .chain(&r.named)
                .chain(written)
            {
                keys.push(record_key(res, id));
            }
        }
        for (t, id) in r
            .associations_shown
            .iter()
            .filter_map(|a| a.split_once('/'))
        {
            keys.push(record_key(t, id));
        }
        self.add_keys(keys, &r.time, offset, seq);
    }

    fn add_value(&mut self, v: &Value, offset: u64, seq: u64) {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let mut keys = Vec::new();
        for (prefix, field) in [
            ("u:", "principal"),
            ("d:", "department"),
            ("p:", "purpose"),
            ("x:", "decision"),
        ] {
            if let Some(x) = s(field) {
                keys.push(format!("{prefix}{x}"));
            }
        }
        if let Some(res) = s("resource") {
            for id in record_ids(v).into_iter().chain(dropped_ids(v)) {
                keys.push(record_key(res, &id));
            }
        }
        for (t, id) in associated(v) {
            keys.push(format!("r:{t}/{id}"));
        }
        self.add_keys(keys, s("time").unwrap_or_default(), offset, seq);
    }
}

/// The records a request record names, returned or withheld, as `type/id` keys
/// (`contact/1001`): what the central store indexes for the subject report.
pub fn record_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = associated(v)
        .into_iter()
        .map(|(t, id)| format!("{t}/{id}"))
        .collect();
    if let Some(res) = v.get("resource").and_then(Value::as_str) {
        let t = norm_type(res);
        keys.extend(
            record_ids(v)
                .into_iter()
                .chain(dropped_ids(v))
                .map(|id| format!("{t}/{id}")),
        );
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The records an entry touched: those returned and those written (a write is an access
/// too; crmgate's own read before a write, `prior_read`, is not the caller's).
fn record_ids(v: &Value) -> Vec<String> {
    let ids = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = ids("records");
    all.extend(ids("writes"));
    all.sort();
    all.dedup();
    all
}

/// The records an entry named but did not show: rows the filter dropped, and those a
/// refused request named (`named`).
fn dropped_ids(v: &Value) -> Vec<String> {
    ["rows_dropped", "named"]
        .iter()
        .filter_map(|k| v.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The records of other types an answer named as associated with what it returned
/// (`associations_shown`: their ids were shown, nothing else of them), as (type, id) with
/// the type in its singular form (`contact`).
fn associated(v: &Value) -> Vec<(String, String)> {
    v.get("associations_shown")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|a| a.split_once('/'))
        .map(|(t, id)| (norm_type(t), id.to_string()))
        .collect()
}

/// Whether an answer named this record (type `t`, singular) as associated.
pub(crate) fn names_associated(v: &Value, t: &str, id: &str) -> bool {
    associated(v).iter().any(|(at, aid)| at == t && aid == id)
}

/// `seg-….jsonl` → `seg-….idx`.
pub fn index_path(segment: &Path) -> PathBuf {
    segment.with_extension("idx")
}

/// Index a segment by reading it.
pub fn build_index(segment: &Path) -> Result<SegIndex, String> {
    let data = std::fs::read(segment).map_err(|e| format!("`{}`: {e}", segment.display()))?;
    let (lines, _) = split_lines(&data);
    let mut index = SegIndex::new(0);
    for (i, (offset, line)) in lines.iter().enumerate() {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let seq = v.get("seq").and_then(Value::as_u64).unwrap_or_default();
        if i == 0 {
            index.first_seq = seq;
        }
        if v.get("kind").is_none() {
            index.add_value(&v, *offset, seq);
        }
    }
    Ok(index)
}

/// The first line of an index file.
#[derive(Debug, Serialize, Deserialize)]
struct IndexHeader {
    version: u32,
    len: u64,
    first_seq: u64,
    last_seq: Option<u64>,
    time_min: Option<String>,
    time_max: Option<String>,
}

/// Write a segment's index (atomically: temp file + rename), stamped with its length.
///
/// Format: a JSON header line, then one line per key: the key as a JSON string, a tab, and
/// the ascending byte offsets, comma-separated. A query finds its few keys by the line
/// prefix without parsing the rest (the postings of a 64 MiB segment are a few MB).
pub fn write_index(segment: &Path, index: &SegIndex) -> Result<(), String> {
    let len = std::fs::metadata(segment)
        .map_err(|e| format!("`{}`: {e}", segment.display()))?
        .len();
    let header = IndexHeader {
        version: 2,
        len,
        first_seq: index.first_seq,
        last_seq: index.last_seq,
        time_min: index.time_min.clone(),
        time_max: index.time_max.clone(),
    };
    let head = serde_json::to_string(&header).map_err(|e| e.to_string())?;
    let path = index_path(segment);
    let tmp = path.with_extension("tmp");
    // Streamed to the file: the postings of a large segment are never copied into one
    // string (that was a transient of tens of MiB at every rotation).
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        writeln!(out, "{head}")?;
        for (k, offsets) in &index.keys {
            write!(out, "{}\t", Value::from(k.as_str()))?;
            for (i, o) in offsets.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{o}")?;
            }
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The header and the postings of `keys` (empty for a key not in the segment); `None` when
/// there is no index or it was built for another length of the segment.
fn load_postings(segment: &Path, keys: &[String]) -> Option<(IndexHeader, Vec<Vec<u64>>)> {
    let len = std::fs::metadata(segment).ok()?.len();
    let text = std::fs::read_to_string(index_path(segment)).ok()?;
    let mut lines = text.split('\n');
    let header: IndexHeader = serde_json::from_str(lines.next()?).ok()?;
    if header.version != 2 || header.len != len {
        return None;
    }
    let prefixes: Vec<String> = keys
        .iter()
        .map(|k| format!("{}\t", Value::from(k.as_str())))
        .collect();
    let mut postings = vec![Vec::new(); keys.len()];
    for line in lines {
        for (p, out) in prefixes.iter().zip(postings.iter_mut()) {
            if let Some(rest) = line.strip_prefix(p.as_str()) {
                *out = rest.split(',').filter_map(|o| o.parse().ok()).collect();
            }
        }
    }
    Some((header, postings))
}

/// What to look for; all given filters must match.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// `type/id`, e.g. `contact/1042`.
    pub record: Option<(String, String)>,
    pub user: Option<String>,
    pub department: Option<String>,
    pub purpose: Option<String>,
    pub decision: Option<String>,
    /// RFC 3339 UTC with milliseconds, as the records write time (compared as text).
    pub since: Option<String>,
    pub until: Option<String>,
}

/// `2026-11-29`, `2026-11-29T10:00:00Z`, … → the records' time format.
pub fn parse_time(s: &str) -> Result<String, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&full)
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .map_err(|e| format!("time `{s}`: {e} (use 2026-11-29 or 2026-11-29T10:00:00Z)"))
}

/// `contact/1042` → (`contact`, `1042`).
pub fn parse_record(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((t, id)) if !t.is_empty() && !id.is_empty() => Ok((norm_type(t), id.to_string())),
        _ => Err(format!("record `{s}` must look like `contact/1042`")),
    }
}

impl Filter {
    fn index_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some((t, id)) = &self.record {
            keys.push(record_key(t, id));
        }
        for (prefix, v) in [
            ("u:", &self.user),
            ("d:", &self.department),
            ("p:", &self.purpose),
            ("x:", &self.decision),
        ] {
            if let Some(v) = v {
                keys.push(format!("{prefix}{v}"));
            }
        }
        keys
    }

    /// Does this record (no `kind`) match every filter?
    pub fn matches(&self, v: &Value) -> bool {
        if v.get("kind").is_some() {
            return false;
        }
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let eq = |want: &Option<String>, field: &str| {
            want.as_deref().is_none_or(|w| s(field) == Some(w))
        };
        if !(eq(&self.user, "principal")
            && eq(&self.department, "department")
            && eq(&self.purpose, "purpose")
            && eq(&self.decision, "decision"))
        {
            return false;
        }
        let time = s("time").unwrap_or_default();
        if self.since.as_deref().is_some_and(|t| time < t)
            || self.until.as_deref().is_some_and(|t| time > t)
        {
            return false;
        }
        match &self.record {
            None => true,
            Some((t, id)) => {
                (s("resource").is_some_and(|r| norm_type(r) == *t)
                    && (record_ids(v).contains(id) || dropped_ids(v).contains(id)))
                    || names_associated(v, t, id)
            }
        }
    }
}

/// One matching record: its line as written, and parsed.
#[derive(Debug)]
pub struct Hit {
    pub line: String,
    pub value: Value,
}

/// Statistics of a query, for the curious and the benchmark.
#[derive(Debug, Default)]
pub struct QueryStats {
    pub segments: usize,
    pub indexed_segments: usize,
    pub lines_read: u64,
}

/// All records of the log in `dir` matching `filter`, in log order.
pub fn query(dir: &Path, filter: &Filter) -> Result<(Vec<Hit>, QueryStats), String> {
    let segs = list_segments(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    let keys = filter.index_keys();
    let mut hits = Vec::new();
    let mut stats = QueryStats::default();
    for (_, path) in segs {
        stats.segments += 1;
        let mut consider = |line: &[u8], stats: &mut QueryStats| {
            stats.lines_read += 1;
            if let Ok(value) = serde_json::from_slice::<Value>(line) {
                if filter.matches(&value) {
                    hits.push(Hit {
                        line: String::from_utf8_lossy(line).into_owned(),
                        value,
                    });
                }
            }
        };
        let indexed = if keys.is_empty() && filter.since.is_none() && filter.until.is_none() {
            None
        } else {
            load_postings(&path, &keys)
        };
        match indexed {
            Some((header, postings)) => {
                stats.indexed_segments += 1;
                let before = filter
                    .until
                    .as_deref()
                    .zip(header.time_min.as_deref())
                    .is_some_and(|(until, min)| min > until);
                let after = filter
                    .since
                    .as_deref()
                    .zip(header.time_max.as_deref())
                    .is_some_and(|(since, max)| max < since);
                if before || after || header.time_min.is_none() {
                    continue;
                }
                if keys.is_empty() {
                    scan(&path, |l| consider(l, &mut stats))?;
                    continue;
                }
                let offsets = intersect(postings.iter().map(Vec::as_slice));
                let file = File::open(&path).map_err(|e| format!("`{}`: {e}", path.display()))?;
                let mut reader = BufReader::new(file);
                let mut line = Vec::new();
                for off in offsets {
                    line.clear();
                    reader
                        .seek(SeekFrom::Start(off))
                        .and_then(|_| reader.read_until(b'\n', &mut line))
                        .map_err(|e| format!("`{}`: {e}", path.display()))?;
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    consider(&line, &mut stats);
                }
            }
            _ => scan(&path, |l| consider(l, &mut stats))?,
        }
    }
    Ok((hits, stats))
}

fn scan(path: &Path, mut each: impl FnMut(&[u8])) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let (lines, _) = split_lines(&data);
    for (_, line) in lines {
        each(line);
    }
    Ok(())
}

/// Offsets present in every list (each sorted ascending).
fn intersect<'a>(mut lists: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
    let Some(first) = lists.next() else {
        return Vec::new();
    };
    let mut acc: Vec<u64> = first.to_vec();
    for l in lists {
        acc.retain(|o| l.binary_search(o).is_ok());
    }
    acc
}
