//! The audit log on disk: segments of hash-chained JSON lines, and what a checkpoint
//! signs. Shared by the writer, `audit verify`, `audit query` and the central shipper.
//!
//! A leaf of the audit room; it must never write: it names, lists, splits and hashes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The hash every chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 (hex) of an entry's canonical form: its line without the trailing newline.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// What a checkpoint signs.
pub fn checkpoint_message(seq: u64, prev: &str, time: &str, prev_sig: &str) -> Vec<u8> {
    format!(
        "crmgate-audit-checkpoint-v1\nseq={seq}\nprev={prev}\ntime={time}\nprev_sig={prev_sig}\n"
    )
    .into_bytes()
}

/// File name of the segment whose first entry is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.jsonl")
}

/// The segments of a log directory, ordered by first sequence number.
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix("seg-")
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        if let Ok(first) = num.parse::<u64>() {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The complete lines of a segment with their byte offsets, and the bytes after the last
/// newline (a torn line, normally empty).
pub fn split_lines(data: &[u8]) -> (Vec<(u64, &[u8])>, &[u8]) {
    let mut lines = Vec::new();
    let mut start = 0usize;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            lines.push((start as u64, data.get(start..i).unwrap_or_default()));
            start = i + 1;
        }
    }
    (lines, data.get(start..).unwrap_or_default())
}

/// `seq` and `kind` of an entry line (`kind` is `None` for request records).
pub fn entry_head(v: &serde_json::Value) -> (Option<u64>, Option<&str>) {
    (
        v.get("seq").and_then(serde_json::Value::as_u64),
        v.get("kind").and_then(serde_json::Value::as_str),
    )
}
