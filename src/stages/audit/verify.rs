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

use super::signing;
use super::{checkpoint_message, entry_head, line_hash, list_segments, split_lines, GENESIS};

/// The first thing wrong, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The first entry that cannot be trusted.
    pub seq: u64,
    pub segment: String,
    /// 1-based line in the segment.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// Verify the log in `dir`. I/O errors are `Err`; tampering is `Ok` with a `problem`.
pub fn verify_dir(dir: &Path, public_key: Option<&[u8]>) -> Result<Report, String> {
    let segs = list_segments(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    let mut r = Report {
        segments: segs.len(),
        ..Report::default()
    };
    if segs.is_empty() {
        return Err(format!("`{}` holds no audit segments", dir.display()));
    }
    if public_key.is_none() {
        r.notes.push(
            "no --public-key given: signatures are checked against the key named in the log \
             itself, which shows consistency but not who signed"
                .into(),
        );
    }
    let mut expected: Option<u64> = None;
    let mut prev: Option<String> = None;
    // Signature of the last checkpoint; `None` until one is seen.
    let mut last_sig: Option<String> = None;
    let mut last_checkpoint_seq: Option<u64> = None;
    let mut first_kept: Option<u64> = None;
    let count = segs.len();

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
            let next = expected.unwrap_or(*first);
            let Ok(v) = serde_json::from_slice::<Value>(line) else {
                r.problem = Some(problem(
                    next,
                    lineno,
                    "not a JSON entry (changed or truncated)".into(),
                ));
                return Ok(r);
            };
            let (Some(seq), kind) = entry_head(&v) else {
                r.problem = Some(problem(next, lineno, "entry has no `seq`".into()));
                return Ok(r);
            };
            if n == 0 && seq != *first {
                r.problem = Some(problem(
                    next.min(seq),
                    lineno,
                    format!("segment named for seq {first} starts with seq {seq}"),
                ));
                return Ok(r);
            }
            match expected {
                None => {
                    r.first_seq = Some(seq);
                }
                Some(e) if seq > e => {
                    r.problem = Some(problem(
                        e,
                        lineno,
                        format!("seq {e}..={} missing (deleted or reordered)", seq - 1),
                    ));
                    return Ok(r);
                }
                Some(e) if seq < e => {
                    r.problem = Some(problem(
                        seq,
                        lineno,
                        format!(
                            "seq {seq} appears again after seq {} (inserted or reordered)",
                            e - 1
                        ),
                    ));
                    return Ok(r);
                }
                Some(_) => {}
            }
            let claimed_prev = v.get("prev").and_then(Value::as_str).unwrap_or_default();
            let want_prev = match (&prev, seq) {
                (Some(p), _) => Some(p.as_str()),
                (None, 0) => Some(GENESIS),
                // The log starts after retention removed older segments.
                (None, _) => None,
            };
            if let Some(want) = want_prev {
                if claimed_prev != want {
                    // Which of the two changed? If this line is intact, the next line's
                    // `prev` is its hash: then the line before was changed.
                    let next_line = match lines.get(n + 1) {
                        Some((_, l)) => Some(l.to_vec()),
                        None => segs.get(i + 1).and_then(|(_, p)| first_line(p)),
                    };
                    let this_intact = next_line
                        .and_then(|l| serde_json::from_slice::<Value>(&l).ok())
                        .is_some_and(|nv| {
                            nv.get("prev").and_then(Value::as_str) == Some(&line_hash(line))
                        });
                    let (bad, message) = if this_intact {
                        let bad = seq.saturating_sub(1);
                        (bad, format!("chain broken: seq {bad} was changed (its hash is not `prev` of seq {seq})"))
                    } else {
                        (seq, format!("chain broken: seq {seq} was changed or inserted (its `prev` is not the hash of the entry before)"))
                    };
                    r.problem = Some(problem(bad, lineno, message));
                    return Ok(r);
                }
            }
            match kind {
                Some("checkpoint") => {
                    let sig = v.get("sig").and_then(Value::as_str).unwrap_or_default();
                    let time = v.get("time").and_then(Value::as_str).unwrap_or_default();
                    let prev_sig = v
                        .get("prev_sig")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let since =
                        last_checkpoint_seq.map_or(r.first_seq.unwrap_or_default(), |c| c + 1);
                    let chain_ok = match &last_sig {
                        Some(s) => s == prev_sig,
                        None => r.first_seq != Some(0) || prev_sig.is_empty(),
                    };
                    if !chain_ok {
                        r.problem = Some(problem(
                            since,
                            lineno,
                            format!("checkpoint seq {seq}: `prev_sig` is not the previous checkpoint's signature (checkpoint chain broken)"),
                        ));
                        return Ok(r);
                    }
                    let embedded = v
                        .get("public_key")
                        .and_then(Value::as_str)
                        .and_then(|k| hex::decode(k).ok())
                        .unwrap_or_default();
                    let key = public_key.unwrap_or(&embedded);
                    if !signing::verify(
                        key,
                        &checkpoint_message(seq, claimed_prev, time, prev_sig),
                        sig,
                    ) {
                        r.problem = Some(problem(
                            since,
                            lineno,
                            format!(
                                "checkpoint seq {seq}: bad signature; entries {since}..={seq} are not vouched for"
                            ),
                        ));
                        return Ok(r);
                    }
                    last_sig = Some(sig.to_string());
                    last_checkpoint_seq = Some(seq);
                    r.checkpoints += 1;
                    r.uncovered = 0;
                }
                Some("retention") => {
                    first_kept = v.get("first_kept_seq").and_then(Value::as_u64);
                    r.uncovered += 1;
                }
                Some(_) => r.uncovered += 1,
                None => {
                    r.records += 1;
                    r.uncovered += 1;
                }
            }
            r.entries += 1;
            r.last_seq = Some(seq);
            expected = Some(seq + 1);
            prev = Some(line_hash(line));
        }
        if !torn.is_empty() {
            let next = expected.unwrap_or(*first);
            let message = if i + 1 == count {
                "the last entry is incomplete (truncated, or a crash while writing: \
                 crmgate cuts it off and records that at its next start)"
            } else {
                "segment ends in an incomplete entry (truncated)"
            };
            r.problem = Some(problem(next, lines.len() + 1, message.into()));
            return Ok(r);
        }
    }
    if let Some(start) = r.first_seq.filter(|s| *s > 0) {
        if first_kept != Some(start) {
            r.problem = Some(Problem {
                seq: 0,
                segment: segs
                    .first()
                    .and_then(|(_, p)| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                line: 1,
                message: format!(
                    "the log starts at seq {start} and no retention entry accounts for seq 0..={}",
                    start - 1
                ),
            });
        } else {
            r.notes.push(format!(
                "seq 0..={} were removed by the retention setting",
                start - 1
            ));
        }
    }
    Ok(r)
}
