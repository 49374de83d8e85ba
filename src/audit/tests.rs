//! The audit log's own tests: chain, checkpoints, rotation, recovery, verify and query.
//!
//! Tests of the log; they must never weaken what `audit verify` accepts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::query::{self, Filter};
use super::verify::verify_dir;
use super::*;
use crate::admin::Health;
use crate::config::AuditConfig;
use crate::stages::filter::{GroupsAudit, RecordAudit};

fn config(dir: &Path, checkpoint_every: u64, segment_max_bytes: u64) -> AuditConfig {
    AuditConfig {
        dir: dir.join("audit"),
        fsync: false,
        segment_max_bytes,
        segment_max_age: Duration::from_secs(3600),
        retention: None,
        checkpoint_every,
        checkpoint_interval: Duration::from_secs(3600),
        connection_events_interval: Duration::from_secs(60),
        signing_key_file: dir.join("signing.key"),
        generate_signing_key: true,
        write_timeout: Duration::from_secs(5),
        central: None,
    }
}

fn record(i: u64) -> AuditRecord {
    AuditRecord {
        time: format!("2026-11-29T00:00:{:02}.000Z", i % 60),
        request_id: format!("req-{i}"),
        principal: Some(
            if i.is_multiple_of(2) {
                "noelle"
            } else {
                "holly"
            }
            .into(),
        ),
        department: Some("sales".into()),
        purpose: Some("contract_fulfilment".into()),
        method: "GET".into(),
        path: format!("/crm/v3/objects/contacts/{}", 1000 + i % 7),
        resource: Some("Contact".into()),
        decision: "allow",
        records: vec![RecordAudit::new(
            format!("{}", 1000 + i % 7),
            GroupsAudit::new(
                vec!["identity".into()],
                [("phone".to_string(), "partial".to_string())].into(),
                vec!["billing".into()],
            ),
        )],
        status: 200,
        ..AuditRecord::default()
    }
}

/// Write `n` records (one at a time, so batches are small) and close the log.
async fn write_log(cfg: &AuditConfig, from: u64, n: u64) {
    let log = AuditLog::open(cfg, Health::new()).unwrap();
    for i in from..from + n {
        log.write(AuditEvent::Request(Box::new(record(i))))
            .await
            .unwrap();
    }
    log.close().await;
}

/// Every line of the log: (segment, line).
fn lines(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for (_, p) in list_segments(dir).unwrap() {
        for l in std::fs::read_to_string(&p).unwrap().lines() {
            out.push((p.clone(), l.to_string()));
        }
    }
    out
}

/// Write lines back into their segments (segments left without lines become empty).
fn put_lines(dir: &Path, lines: &[(PathBuf, String)]) {
    for (_, p) in list_segments(dir).unwrap() {
        let text: String = lines
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        std::fs::write(&p, text).unwrap();
    }
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

fn kind_of(line: &str) -> Option<String> {
    serde_json::from_str::<Value>(line).unwrap()["kind"]
        .as_str()
        .map(str::to_string)
}

/// Index of the line holding a request record at or after `seq`.
fn record_at(lines: &[(PathBuf, String)], seq: u64) -> usize {
    lines
        .iter()
        .position(|(_, l)| seq_of(l) >= seq && kind_of(l).is_none())
        .unwrap()
}

/// Recompute `prev` of every line from `from` on, as an attacker without the key would.
fn rehash_from(lines: &mut [(PathBuf, String)], from: usize) {
    for i in from.max(1)..lines.len() {
        let prev = line_hash(lines[i - 1].1.as_bytes());
        let mut v: serde_json::Map<String, Value> = serde_json::from_str(&lines[i].1).unwrap();
        v.insert("prev".into(), Value::from(prev));
        lines[i].1 = serde_json::to_string(&v).unwrap();
    }
}

async fn tampered_log() -> (tempfile::TempDir, AuditConfig) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 5, 2000);
    write_log(&cfg, 0, 40).await;
    (tmp, cfg)
}

fn public_key(cfg: &AuditConfig) -> Vec<u8> {
    signing::read_public_key(&signing::public_key_path(&cfg.signing_key_file)).unwrap()
}

#[tokio::test]
async fn an_untouched_log_verifies_across_segments_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 5, 2000);
    write_log(&cfg, 0, 23).await;
    write_log(&cfg, 23, 10).await;
    let report = verify_dir(&cfg.dir, Some(&public_key(&cfg))).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.segments > 3, "{report}");
    assert_eq!(report.records, 33);
    // Shutdown wrote a final checkpoint: nothing is left uncovered.
    assert_eq!(report.uncovered, 0, "{report}");
    assert!(report.checkpoints >= 33 / 5);
    assert_eq!(
        lines(&cfg.dir)
            .iter()
            .filter(|(_, l)| kind_of(l).as_deref() == Some("start"))
            .count(),
        2
    );
}

#[tokio::test]
async fn verify_names_a_changed_record() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    l[i].1 = l[i]
        .1
        .replace("\"noelle\"", "\"grinch\"")
        .replace("\"holly\"", "\"grinch\"");
    put_lines(&cfg.dir, &l);
    let p = verify_dir(&cfg.dir, Some(&public_key(&cfg)))
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(p.seq, seq, "{p}");
}

#[tokio::test]
async fn verify_names_a_deleted_record() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    l.remove(i);
    put_lines(&cfg.dir, &l);
    let p = verify_dir(&cfg.dir, None).unwrap().problem.unwrap();
    assert_eq!(p.seq, seq, "{p}");
    assert!(p.message.contains("missing"), "{p}");
}

#[tokio::test]
async fn verify_names_an_inserted_record() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    let copy = l[i].clone();
    l.insert(i + 1, copy);
    put_lines(&cfg.dir, &l);
    let p = verify_dir(&cfg.dir, None).unwrap().problem.unwrap();
    assert_eq!(p.seq, seq, "{p}");
    assert!(p.message.contains("appears again"), "{p}");
}

#[tokio::test]
async fn verify_names_swapped_records() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    let (a, b) = (l[i].1.clone(), l[i + 1].1.clone());
    l[i].1 = b;
    l[i + 1].1 = a;
    put_lines(&cfg.dir, &l);
    let p = verify_dir(&cfg.dir, None).unwrap().problem.unwrap();
    assert_eq!(p.seq, seq, "{p}");
}

#[tokio::test]
async fn verify_names_a_record_truncated_in_the_middle_of_a_segment() {
    let (_tmp, cfg) = tampered_log().await;
    let l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    let seg = &l[i].0;
    // Cut from the middle of record `seq` to the middle of the line after it.
    let text = std::fs::read_to_string(seg).unwrap();
    let start = text.find(&l[i].1).unwrap() + 30;
    let end = text.find(&l[i + 1].1).unwrap() + 30;
    std::fs::write(seg, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let p = verify_dir(&cfg.dir, None).unwrap().problem.unwrap();
    assert_eq!(p.seq, seq, "{p}");
}

#[tokio::test]
async fn verify_catches_a_rehashed_log_by_its_checkpoint_signature() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = record_at(&l, 12);
    let seq = seq_of(&l[i].1);
    l[i].1 = l[i].1.replace("\"sales\"", "\"spies\"");
    rehash_from(&mut l, i + 1);
    put_lines(&cfg.dir, &l);
    let p = verify_dir(&cfg.dir, Some(&public_key(&cfg)))
        .unwrap()
        .problem
        .unwrap();
    assert!(p.message.contains("bad signature"), "{p}");
    // The first entry not vouched for is at or before the change, after the last good
    // checkpoint.
    let last_good = l[..i]
        .iter()
        .rev()
        .find(|(_, x)| kind_of(x).as_deref() == Some("checkpoint"))
        .map_or(0, |(_, x)| seq_of(x) + 1);
    assert_eq!(p.seq, last_good, "{p}");
    assert!(p.seq <= seq);
}

#[tokio::test]
async fn verify_catches_a_removed_checkpoint() {
    let (_tmp, cfg) = tampered_log().await;
    let mut l = lines(&cfg.dir);
    let i = l
        .iter()
        .enumerate()
        .filter(|(_, (_, x))| kind_of(x).as_deref() == Some("checkpoint"))
        .nth(2)
        .unwrap()
        .0;
    l.remove(i);
    // Renumber and rehash everything after it, as a careful attacker would.
    for (n, line) in l.iter_mut().enumerate().skip(i) {
        let mut v: serde_json::Map<String, Value> = serde_json::from_str(&line.1).unwrap();
        v.insert("seq".into(), Value::from(n as u64));
        line.1 = serde_json::to_string(&v).unwrap();
    }
    rehash_from(&mut l, i);
    put_lines(&cfg.dir, &l);
    // Segment names no longer match; rename them so only the checkpoints can tell.
    for (first, p) in list_segments(&cfg.dir).unwrap() {
        let text = std::fs::read_to_string(&p).unwrap();
        if let Some(line) = text.lines().next() {
            let s = seq_of(line);
            if s != first {
                std::fs::rename(&p, cfg.dir.join(segment_name(s))).unwrap();
            }
        }
    }
    let p = verify_dir(&cfg.dir, Some(&public_key(&cfg)))
        .unwrap()
        .problem
        .unwrap();
    assert!(
        p.message.contains("checkpoint chain broken") || p.message.contains("bad signature"),
        "{p}"
    );
}

#[tokio::test]
async fn verify_rejects_checkpoints_signed_by_another_key() {
    let (tmp, cfg) = tampered_log().await;
    let other = signing::SigningKey::generate(&tmp.path().join("other.key")).unwrap();
    let pk = hex::decode(other.public_hex()).unwrap();
    let p = verify_dir(&cfg.dir, Some(&pk)).unwrap().problem.unwrap();
    assert!(p.message.contains("bad signature"), "{p}");
}

#[tokio::test]
async fn verify_reports_a_truncated_end_and_a_deleted_segment() {
    let (_tmp, cfg) = tampered_log().await;
    let segs = list_segments(&cfg.dir).unwrap();
    // A deleted middle segment: the next one starts with a gap.
    let (first, mid) = &segs[segs.len() / 2];
    std::fs::remove_file(mid).unwrap();
    let p = verify_dir(&cfg.dir, None).unwrap().problem.unwrap();
    assert_eq!(p.seq, *first, "{p}");
    // A torn last line.
    let (_, last) = segs.last().unwrap();
    let text = std::fs::read_to_string(last).unwrap();
    std::fs::write(last, &text[..text.len() - 10]).unwrap();
    let (_tmp2, cfg2) = tampered_log().await;
    let segs2 = list_segments(&cfg2.dir).unwrap();
    let (_, last2) = segs2.last().unwrap();
    let text2 = std::fs::read_to_string(last2).unwrap();
    std::fs::write(last2, &text2[..text2.len() - 10]).unwrap();
    let p = verify_dir(&cfg2.dir, None).unwrap().problem.unwrap();
    assert!(p.message.contains("incomplete"), "{p}");
}

#[tokio::test]
async fn a_torn_tail_is_cut_at_start_and_recorded_in_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 1000, 1 << 20);
    write_log(&cfg, 0, 5).await;
    // A crash in the middle of writing the next record.
    let (_, last) = list_segments(&cfg.dir).unwrap().pop().unwrap();
    let mut text = std::fs::read_to_string(&last).unwrap();
    text.push_str("{\"seq\":8,\"prev\":\"abc");
    std::fs::write(&last, text).unwrap();
    write_log(&cfg, 5, 3).await;
    let report = verify_dir(&cfg.dir, None).unwrap();
    assert!(report.intact(), "{report}");
    let recovery: Vec<Value> = lines(&cfg.dir)
        .iter()
        .filter(|(_, l)| kind_of(l).as_deref() == Some("recovery"))
        .map(|(_, l)| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recovery.len(), 1);
    assert_eq!(recovery[0]["cut_bytes"], 20);
    assert_eq!(report.records, 8);
}

#[tokio::test]
async fn records_uncovered_by_a_checkpoint_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 1000, 1 << 20);
    let log = AuditLog::open(&cfg, Health::new()).unwrap();
    for i in 0..4 {
        log.write(AuditEvent::Request(Box::new(record(i))))
            .await
            .unwrap();
    }
    // No close: as after kill -9.
    let report = verify_dir(&cfg.dir, None).unwrap();
    assert!(report.intact(), "{report}");
    assert_eq!(report.checkpoints, 0);
    assert_eq!(report.uncovered, 5, "start + 4 records: {report}");
    log.close().await;
    assert_eq!(verify_dir(&cfg.dir, None).unwrap().uncovered, 0);
}

#[tokio::test]
async fn retention_removes_old_segments_and_verify_accepts_the_recorded_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), 5, 2000);
    write_log(&cfg, 0, 20).await;
    cfg.retention = Some(Duration::ZERO);
    write_log(&cfg, 20, 1).await;
    cfg.retention = None;
    write_log(&cfg, 21, 20).await;
    let report = verify_dir(&cfg.dir, None).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.first_seq.unwrap() > 0);
    assert!(
        report.notes.iter().any(|n| n.contains("retention")),
        "{report}"
    );
    // Deleting one more segment by hand is not covered by a retention entry.
    let (_, first) = list_segments(&cfg.dir).unwrap().remove(0);
    std::fs::remove_file(first).unwrap();
    assert!(!verify_dir(&cfg.dir, None).unwrap().intact());
}

#[tokio::test]
async fn query_finds_a_subjects_records_through_the_index_and_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 50, 4000);
    write_log(&cfg, 0, 70).await;
    let filter = Filter {
        record: Some(query::parse_record("contacts/1003").unwrap()),
        user: Some("holly".into()),
        ..Filter::default()
    };
    let want: Vec<u64> = (0..70).filter(|i| i % 7 == 3 && i % 2 == 1).collect();
    let (hits, stats) = query::query(&cfg.dir, &filter).unwrap();
    let got: Vec<String> = hits
        .iter()
        .map(|h| h.value["request_id"].as_str().unwrap().to_string())
        .collect();
    let want_ids: Vec<String> = want.iter().map(|i| format!("req-{i}")).collect();
    assert_eq!(got, want_ids);
    assert!(stats.indexed_segments > 0);
    assert!(stats.lines_read < 70, "the index avoids reading every line");
    // Without indexes: the same answer.
    for (_, p) in list_segments(&cfg.dir).unwrap() {
        let _ = std::fs::remove_file(query::index_path(&p));
    }
    let (hits2, stats2) = query::query(&cfg.dir, &filter).unwrap();
    assert_eq!(hits2.len(), hits.len());
    assert_eq!(stats2.indexed_segments, 0);
    let report =
        crate::tools::audit::report::render_subject_report(&hits, &filter, "the audit log");
    assert!(report.contains("## Accesses (5)"), "{report}");
    assert!(report.contains("phone (partial)"), "{report}");
    let html =
        crate::tools::audit::report::render_subject_report_html(&hits, &filter, "the audit log");
    assert_eq!(html.matches("<tr>").count(), 1 + 5, "{html}");
    assert!(html.contains("<td>holly</td>"), "{html}");
    assert!(!html.contains("| holly"), "{html}");
    assert!(html.contains("<code>crmgate audit verify</code>"), "{html}");
    assert!(!html.contains('`'), "{html}");
}

#[test]
fn a_shadow_release_in_an_older_record_counts_as_shown_in_full() {
    // Before `would_have`, a shadow release listed the records it would have withheld
    // under `rows_dropped`, although the client got them unfiltered.
    let line = r#"{"seq":1,"time":"2026-11-29T00:00:00.000Z","principal":"tinsel","department":"marketing","purpose":"product_marketing","method":"GET","path":"/crm/v3/objects/contacts/1001","resource":"Contact","shadow":true,"decision":"allow","records":[],"rows_dropped":["1001"],"status":200}"#;
    let hits = vec![query::Hit {
        line: line.into(),
        value: serde_json::from_str(line).unwrap(),
    }];
    let filter = Filter {
        record: Some(query::parse_record("contact/1001").unwrap()),
        ..Filter::default()
    };
    let report =
        crate::tools::audit::report::render_subject_report(&hits, &filter, "the audit log `log`");
    assert!(report.contains("## Accesses (1)"), "{report}");
    assert!(report.contains("not shown it (0)"), "{report}");
    assert!(
        report.contains("| unfiltered (shadow route): all field groups | - |"),
        "{report}"
    );
    assert!(crate::tools::audit::report::render_table(&hits, &filter).contains("unfiltered"));
}

#[tokio::test]
async fn segments_rotate_by_age_and_the_chain_runs_through_them() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), 1000, 1 << 30);
    cfg.segment_max_age = Duration::ZERO;
    write_log(&cfg, 0, 4).await;
    // Every batch found its segment too old: start, one per record, the final checkpoint.
    assert_eq!(list_segments(&cfg.dir).unwrap().len(), 6);
    let report = verify_dir(&cfg.dir, Some(&public_key(&cfg))).unwrap();
    assert!(report.intact(), "{report}");
    // Closed segments are indexed.
    for (_, p) in &list_segments(&cfg.dir).unwrap()[..5] {
        assert!(query::index_path(p).exists(), "{}", p.display());
    }
}

#[tokio::test]
async fn verify_catches_one_segment_rehashed_on_its_own() {
    let (_tmp, cfg) = tampered_log().await;
    let segs = list_segments(&cfg.dir).unwrap();
    let (_, seg) = &segs[2];
    let mut l: Vec<(PathBuf, String)> = lines(&cfg.dir)
        .into_iter()
        .filter(|(p, _)| p == seg)
        .collect();
    let i = l.iter().position(|(_, x)| kind_of(x).is_none()).unwrap();
    l[i].1 = l[i].1.replace("\"sales\"", "\"spies\"");
    rehash_from(&mut l, i + 1);
    let text: String = l.iter().map(|(_, x)| format!("{x}\n")).collect();
    std::fs::write(seg, text).unwrap();
    let p = verify_dir(&cfg.dir, Some(&public_key(&cfg)))
        .unwrap()
        .problem
        .unwrap();
    // Either a checkpoint inside the segment or the next segment's first `prev` gives it away,
    // at or before the changed record.
    assert!(p.seq <= seq_of(&l[i].1), "{p}");
    assert!(
        p.message.contains("bad signature") || p.message.contains("chain broken"),
        "{p}"
    );
}

#[test]
fn record_types_match_in_singular_plural_and_any_case() {
    for (given, want) in [
        ("contact/1", "contact"),
        ("Contacts/1", "contact"),
        ("companies/7", "company"),
        ("Company/7", "company"),
    ] {
        assert_eq!(query::parse_record(given).unwrap().0, want, "{given}");
    }
    assert!(query::parse_record("contact").is_err());
    assert!(query::parse_record("/1").is_err());
}

/// A measurement, not a timed test: run with
/// `cargo test --release --lib -- --ignored --nocapture subject_query_over_millions`
/// (`CRMGATE_BENCH_RECORDS` sets the size; 2 000 000 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: writes about 1.5 GB"]
async fn a_subject_query_over_millions_of_records_reads_only_that_subjects_lines() {
    let n: u64 = std::env::var("CRMGATE_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let mut cfg = config(tmp.path(), 10_000, 64 * 1024 * 1024);
    cfg.checkpoint_every = 10_000;
    let t = std::time::Instant::now();
    let log = AuditLog::open(&cfg, Health::new()).unwrap();
    let writers = 64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(writers as usize) {
                let mut r = record(i);
                let contact = 10_000 + (i * 7919) % 50_000;
                r.records[0].id = contact.to_string();
                r.path = format!("/crm/v3/objects/contacts/{contact}");
                r.principal = Some(format!("user{}", i % 20));
                log.write(AuditEvent::Request(Box::new(r))).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    log.close().await;
    let bytes: u64 = list_segments(&cfg.dir)
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::metadata(p).unwrap().len())
        .sum();
    eprintln!(
        "wrote {n} records ({} MB, {} segments) in {:.1?}",
        bytes >> 20,
        list_segments(&cfg.dir).unwrap().len(),
        t.elapsed()
    );

    let filter = Filter {
        record: Some(query::parse_record("contact/12345").unwrap()),
        ..Filter::default()
    };
    let t = std::time::Instant::now();
    let (hits, stats) = query::query(&cfg.dir, &filter).unwrap();
    eprintln!(
        "subject query: {} hits, {} lines read, {}/{} segments indexed, in {:.2?}",
        hits.len(),
        stats.lines_read,
        stats.indexed_segments,
        stats.segments,
        t.elapsed()
    );
    assert!(!hits.is_empty());
    assert_eq!(stats.lines_read, hits.len() as u64);
    let t = std::time::Instant::now();
    let report = verify_dir(&cfg.dir, None).unwrap();
    eprintln!("verify: {} in {:.2?}", report.intact(), t.elapsed());
}
