//! `crmgate audit verify`: recompute the chain and the checkpoint signatures of a log
//! directory and name the first entry that is not what was written.
//!
//! Checks, in log order: every line is a complete JSON entry; `seq` runs 0, 1, 2, … without
//! gap or repeat across segments (a segment's name matches its first `seq`); `prev` is the
//! SHA-256 of the previous line; every checkpoint's `prev_sig` is the previous checkpoint's
//! signature and its signature verifies (with `--public-key`, or else with the key the
//! checkpoint names — which only shows consistency, not authorship). A log that does not
//! start at 0 must say so in its latest `retention` entry. This module only reads.
//!
//! It reads the log and must never change it, nor call intact what it could not check.

use std::path::Path;

use serde_json::Value;

use super::chain::{
    checkpoint_message, entry_head, line_hash, list_segments, split_lines, GENESIS,
};
use super::signing;

/// The first thing wrong, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The first entry that cannot be trusted.
    pub seq: u64,
    /// The segment file, or the replica in the central store.
    pub segment: String,
    /// 1-based line in the segment (0 for the central store, which has no lines).
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            // Not a file: a replica's rows in the central store.
            return write!(
                f,
                "first bad entry: seq {} ({}): {}",
                self.seq, self.segment, self.message
            );
        }
        write!(
            f,
            "first bad entry: seq {} ({}:{}): {}",
            self.seq, self.segment, self.line, self.message
        )
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub segments: usize,
    pub entries: u64,
    pub records: u64,
    pub checkpoints: u64,
    /// Entries after the last valid checkpoint: only the hash chain vouches for them.
    pub uncovered: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub problem: Option<Problem>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        match &self.problem {
            Some(p) => writeln!(f, "NOT INTACT: {p}")?,
            None => writeln!(
                f,
                "intact: {} entries (seq {}..={}; {} request records) in {} segments, {} checkpoints",
                self.entries,
                self.first_seq.unwrap_or_default(),
                self.last_seq.unwrap_or_default(),
                self.records,
                self.segments,
                self.checkpoints
            )?,
        }
        write!(
            f,
            "{} entries are not yet covered by a signed checkpoint",
            self.uncovered
        )
    }
}

fn first_line(path: &Path) -> Option<Vec<u8>> {
    let data = std::fs::read(path).ok()?;
    let (lines, _) = split_lines(&data);
    lines.first().map(|(_, l)| l.to_vec())
}

/// The note a report carries when no public key was given.
const NO_KEY_NOTE: &str =
    "no --public-key given: signatures are checked against the key named in the log \
     itself, which shows consistency but not who signed";

/// The checks of one chain, fed its entries in order, wherever they are stored (segment
/// files, or the rows of the central store): seq without gap or repeat, `prev` the hash
/// of the entry before, the checkpoint chain and its signatures, retention. What is
/// wrong comes back as the first bad seq and why; the caller says where that entry is.
pub struct Chain<'k> {
    public_key: Option<&'k [u8]>,
    expected: Option<u64>,
    prev: Option<String>,
    /// Signature of the last checkpoint; `None` until one is seen.
    last_sig: Option<String>,
    last_checkpoint_seq: Option<u64>,
    first_kept: Option<u64>,
    pub report: Report,
}

impl<'k> Chain<'k> {
    pub fn new(public_key: Option<&'k [u8]>) -> Chain<'k> {
        let mut report = Report::default();
        if public_key.is_none() {
            report.notes.push(NO_KEY_NOTE.into());
        }
        Chain {
            public_key,
            expected: None,
            prev: None,
            last_sig: None,
            last_checkpoint_seq: None,
            first_kept: None,
            report,
        }
    }

    /// The seq the next entry should have (`fallback` before the first).
    pub fn next_seq(&self, fallback: u64) -> u64 {
        self.expected.unwrap_or(fallback)
    }

    /// Check one entry. `fallback` is the seq to blame for an entry that cannot be read
    /// before any was; `next_line` gives the entry after this one, asked for only when the
    /// chain breaks here (to tell which of the two was changed).
    pub fn entry(
        &mut self,
        line: &[u8],
        fallback: u64,
        next_line: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Result<(), (u64, String)> {
        let next = self.expected.unwrap_or(fallback);
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            return Err((next, "not a JSON entry (changed or truncated)".into()));
        };
        let (Some(seq), kind) = entry_head(&v) else {
            return Err((next, "entry has no `seq`".into()));
        };
        match self.expected {
            None => {
                self.report.first_seq = Some(seq);
            }
            Some(e) if seq > e => {
                return Err((
                    e,
                    format!("seq {e}..={} missing (deleted or reordered)", seq - 1),
                ));
            }
            Some(e) if seq < e => {
                return Err((
                    seq,
                    format!(
                        "seq {seq} appears again after seq {} (inserted or reordered)",
                        e - 1
                    ),
                ));
            }
            Some(_) => {}
        }
        let claimed_prev = v.get("prev").and_then(Value::as_str).unwrap_or_default();
        let want_prev = match (&self.prev, seq) {
            (Some(p), _) => Some(p.as_str()),
            (None, 0) => Some(GENESIS),
            // The log starts after retention removed older segments.
            (None, _) => None,
        };
        if let Some(want) = want_prev {
            if claimed_prev != want {
                // Which of the two changed? If this line is intact, the next line's
                // `prev` is its hash: then the line before was changed.
                let this_intact = next_line()
                    .and_then(|l| serde_json::from_slice::<Value>(&l).ok())
                    .is_some_and(|nv| {
                        nv.get("prev").and_then(Value::as_str) == Some(&line_hash(line))
                    });
                return Err(if this_intact {
                    let bad = seq.saturating_sub(1);
                    (bad, format!("chain broken: seq {bad} was changed (its hash is not `prev` of seq {seq})"))
                } else {
                    (seq, format!("chain broken: seq {seq} was changed or inserted (its `prev` is not the hash of the entry before)"))
                });
            }
        }
        match kind {
            Some("checkpoint") => self.checkpoint(&v, seq, claimed_prev)?,
            Some("retention") => {
                self.first_kept = v.get("first_kept_seq").and_then(Value::as_u64);
                self.report.uncovered += 1;
            }
            Some(_) => self.report.uncovered += 1,
            None => {
                self.report.records += 1;
                self.report.uncovered += 1;
            }
        }
        self.report.entries += 1;
        self.report.last_seq = Some(seq);
        self.expected = Some(seq + 1);
        self.prev = Some(line_hash(line));
        Ok(())
    }

    /// A checkpoint entry: it continues the checkpoint chain, and its signature (by the
    /// given key, else the one it names) vouches for the entries since the last one.
    fn checkpoint(&mut self, v: &Value, seq: u64, claimed_prev: &str) -> Result<(), (u64, String)> {
        let sig = v.get("sig").and_then(Value::as_str).unwrap_or_default();
        let time = v.get("time").and_then(Value::as_str).unwrap_or_default();
        let prev_sig = v
            .get("prev_sig")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let since = self
            .last_checkpoint_seq
            .map_or(self.report.first_seq.unwrap_or_default(), |c| c + 1);
        let chain_ok = match &self.last_sig {
            Some(s) => s == prev_sig,
            None => self.report.first_seq != Some(0) || prev_sig.is_empty(),
        };
        if !chain_ok {
            return Err((
                since,
                format!("checkpoint seq {seq}: `prev_sig` is not the previous checkpoint's signature (checkpoint chain broken)"),
            ));
        }
        let embedded = v
            .get("public_key")
            .and_then(Value::as_str)
            .and_then(|k| hex::decode(k).ok())
            .unwrap_or_default();
        let key = self.public_key.unwrap_or(&embedded);
        if !signing::verify(
            key,
            &checkpoint_message(seq, claimed_prev, time, prev_sig),
            sig,
        ) {
            return Err((
                since,
                format!(
                    "checkpoint seq {seq}: bad signature; entries {since}..={seq} are not vouched for"
                ),
            ));
        }
        self.last_sig = Some(sig.to_string());
        self.last_checkpoint_seq = Some(seq);
        self.report.checkpoints += 1;
        self.report.uncovered = 0;
        Ok(())
    }

    /// After the last entry: a chain that does not start at 0 must say why (retention).
    pub fn finish(&mut self) -> Result<(), (u64, String)> {
        if let Some(start) = self.report.first_seq.filter(|s| *s > 0) {
            if self.first_kept != Some(start) {
                return Err((
                    0,
                    format!(
                        "the log starts at seq {start} and no retention entry accounts for seq 0..={}",
                        start - 1
                    ),
                ));
            }
            self.report.notes.push(format!(
                "seq 0..={} were removed by the retention setting",
                start - 1
            ));
        }
        Ok(())
    }
}

/// Verify the log in `dir`. I/O errors are `Err`; tampering is `Ok` with a `problem`.
pub fn verify_dir(dir: &Path, public_key: Option<&[u8]>) -> Result<Report, String> {
    let segs = list_segments(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    if segs.is_empty() {
        return Err(format!("`{}` holds no audit segments", dir.display()));
    }
    let mut chain = Chain::new(public_key);
    chain.report.segments = segs.len();
    let count = segs.len();
    // Where the entry before the current one is: the chain breaks one entry late when an
    // entry was changed (the next one's `prev` shows it), and the report must name the
    // changed entry's own line, which may end the previous segment.
    let mut before: Option<(u64, String, usize)> = None;

    for (i, (first, path)) in segs.iter().enumerate() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
        let (lines, torn) = split_lines(&data);
        let problem = |seq: u64, line: usize, message: String| Problem {
            seq,
            segment: name.clone(),
            line,
            message,
        };
        for (n, (_, line)) in lines.iter().enumerate() {
            let lineno = n + 1;
            if n == 0 {
                // A segment is named for its first seq.
                let seq = serde_json::from_slice::<Value>(line)
                    .ok()
                    .and_then(|v| entry_head(&v).0);
                if let Some(seq) = seq.filter(|s| s != first) {
                    let next = chain.next_seq(*first);
                    let mut r = chain.report;
                    r.problem = Some(problem(
                        next.min(seq),
                        lineno,
                        format!("segment named for seq {first} starts with seq {seq}"),
                    ));
                    return Ok(r);
                }
            }
            let next_line = || match lines.get(n + 1) {
                Some((_, l)) => Some(l.to_vec()),
                None => segs.get(i + 1).and_then(|(_, p)| first_line(p)),
            };
            if let Err((seq, message)) = chain.entry(line, *first, next_line) {
                let mut r = chain.report;
                let own = serde_json::from_slice::<Value>(line)
                    .ok()
                    .and_then(|v| entry_head(&v).0);
                // The entry blamed is this one, or the one before it (changed: this
                // entry's `prev` no longer matches it), wherever that one is.
                r.problem = Some(match &before {
                    Some((s, segment, at)) if *s == seq && own != Some(seq) => Problem {
                        seq,
                        segment: segment.clone(),
                        line: *at,
                        message,
                    },
                    _ => problem(seq, lineno, message),
                });
                return Ok(r);
            }
            before = chain.report.last_seq.map(|s| (s, name.clone(), lineno));
        }
        if !torn.is_empty() {
            let next = chain.next_seq(*first);
            let message = if i + 1 == count {
                "the last entry is incomplete (truncated, or a crash while writing: \
                 crmgate cuts it off and records that at its next start)"
            } else {
                "segment ends in an incomplete entry (truncated)"
            };
            let mut r = chain.report;
            r.problem = Some(problem(next, lines.len() + 1, message.into()));
            return Ok(r);
        }
    }
    if let Err((seq, message)) = chain.finish() {
        let mut r = chain.report;
        r.problem = Some(Problem {
            seq,
            segment: segs
                .first()
                .and_then(|(_, p)| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            line: 1,
            message,
        });
        return Ok(r);
    }
    Ok(chain.report)
}
