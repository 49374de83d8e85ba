//! Reloads and the demo, as an operator meets them: a policy file caught mid-write, a set
//! that loses most of its policies, the demo's admin listener and clean stop, and idle
//! connections to the CRM.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{plain_get, repo, spawn_binary, write_config, Options, Proxy};

/// A prospect past its retention: customer service never sees it (404).
const DUE: &str = "/crm/v3/objects/contacts/1046";
/// A prospect customer service does see.
const FRESH: &str = "/crm/v3/objects/contacts/1031";

/// A gauge or counter of the admin listener's `/metrics`, by its full name with labels.
async fn metric(proxy: &Proxy, name: &str) -> String {
    let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

async fn active_revision(proxy: &Proxy) -> String {
    let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("crmgate_policy_revision_info{revision=\""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Wait (at most 20 s) until `cond` holds of the proxy's metrics text.
async fn wait_for_metrics(proxy: &Proxy, what: &str, cond: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
        if cond(&metrics) {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
    panic!("{what} did not happen: {metrics}");
}

/// The shipped policies with the retention `forbid` moved to the end of the file, so that
/// everything before it is a complete, valid set of 50 of the 51 policies: a fragment
/// that only the settle interval (not the shrink check) can keep out.
fn santa_with_the_due_forbid_last() -> (String, String) {
    let santa = std::fs::read_to_string(repo().join("policies/santa.cedar")).unwrap();
    let start = santa
        .find("// The deletion concept (retention.toml)")
        .unwrap();
    let end = santa.find("// Archived records are kept only").unwrap();
    let block = santa[start..end].to_string();
    assert!(block.contains("@id(\"due-records-only-for-the-deletion-run-and-accounting\")"));
    let first = format!("{}{}", &santa[..start], &santa[end..]);
    (first, format!("\n{block}"))
}

fn retention_options(policies: String, settle_ms: u64) -> Options {
    Options {
        binary: true,
        policies: Some(policies),
        policy_lines: format!(
            "retention = \"{}\"\nreload_settle_ms = {settle_ms}",
            repo().join("policies/retention.toml").display()
        ),
        extra_config: "[retention]\ntoday = \"2026-12-02\"\n".into(),
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_policy_file_never_decides_a_request() {
    let (first, rest) = santa_with_the_due_forbid_last();
    let proxy = Proxy::start_with(retention_options(format!("{first}{rest}"), 3000)).await;
    let holly = |path: &'static str| {
        let proxy = &proxy;
        async move { proxy.get(path, "holly", Some("prospect_management")).await }
    };
    assert_eq!(holly(DUE).await.status, 404);
    assert_eq!(holly(FRESH).await.status, 200);
    let old = active_revision(&proxy).await;
    // Let the file watcher take its first look before the file changes.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A deployment tool writes the file in two parts, pausing in between for far longer
    // than the watcher's poll interval (100 ms), but less than the settle interval.
    let file = proxy.dir.path().join("custom.cedar");
    std::fs::write(&file, &first).unwrap();
    let mut replies = Vec::new();
    let pause = Instant::now();
    while pause.elapsed() < Duration::from_millis(1500) {
        let reply = holly(DUE).await;
        assert_eq!(
            reply.status,
            404,
            "the fragment decided a request: {}",
            reply.text()
        );
        replies.push(reply);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(rest.as_bytes()).unwrap();
    f.write_all(b"// written in two parts\n").unwrap();
    drop(f);

    // Once the file has stayed unchanged for the settle interval, the whole set is taken:
    // one revision, the complete one.
    let metrics = wait_for_metrics(&proxy, "the reload", |m| {
        !m.contains(&format!(
            "crmgate_policy_revision_info{{revision=\"{old}\"}}"
        ))
    })
    .await;
    assert!(
        metrics.contains("crmgate_policy_reloads_total{result=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(
        metric(&proxy, "crmgate_policy_reloads_total{result=\"rejected\"}").await,
        "0"
    );
    let new = active_revision(&proxy).await;
    let after = holly(DUE).await;
    assert_eq!(after.status, 404, "{}", after.text());
    assert_eq!(proxy.audit_of(&after)["policy_revision"], new.as_str());
    assert_eq!(holly(FRESH).await.status, 200);
    // Every request during the pause was decided by the set before it.
    assert!(replies.len() > 5, "{}", replies.len());
    for reply in &replies {
        assert_eq!(proxy.audit_of(reply)["policy_revision"], old.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_that_loses_most_policies_is_refused_until_confirmed() {
    let santa = std::fs::read_to_string(repo().join("policies/santa.cedar")).unwrap();
    let proxy = Proxy::start_with(retention_options(santa, 300)).await;
    let old = active_revision(&proxy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // An emptied policy file is a valid Cedar set of 0 policies: refused, the active one
    // keeps serving, and operators are told why and how to take it anyway.
    std::fs::write(proxy.dir.path().join("custom.cedar"), "").unwrap();
    wait_for_metrics(&proxy, "the refusal", |m| {
        m.contains("crmgate_policy_reloads_total{result=\"rejected\"} 1\n")
    })
    .await;
    assert_eq!(active_revision(&proxy).await, old);
    assert_eq!(
        metric(&proxy, "crmgate_policy_reloads_total{result=\"ok\"}").await,
        "0"
    );
    let fresh = proxy.get(FRESH, "holly", Some("prospect_management")).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_eq!(proxy.audit_of(&fresh)["policy_revision"], old.as_str());
    let (status, body) = plain_get(proxy.admin, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let note = body["notes"]["policies"].as_str().unwrap_or_default();
    assert!(
        note.contains("0 policies where the active one has 51") && note.contains("confirm"),
        "{body}"
    );
    let revision = note
        .split("revision `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap()
        .to_string();
    assert_ne!(revision, old);

    // A confirmation of another set takes nothing; the operator's confirmation of exactly
    // this one takes it.
    let confirm = proxy.dir.path().join("policies.confirm");
    std::fs::write(&confirm, "0123456789abcdef\n").unwrap();
    wait_for_metrics(&proxy, "the second refusal", |m| {
        m.contains("crmgate_policy_reloads_total{result=\"rejected\"} 2\n")
    })
    .await;
    assert_eq!(active_revision(&proxy).await, old);
    std::fs::write(&confirm, format!("{revision}\n")).unwrap();
    wait_for_metrics(&proxy, "the confirmed reload", |m| {
        m.contains(&format!(
            "crmgate_policy_revision_info{{revision=\"{revision}\"}}"
        ))
    })
    .await;
    // No policy: everything is denied.
    let denied = proxy.get(FRESH, "holly", Some("prospect_management")).await;
    assert_eq!(denied.status, 403, "{}", denied.text());
}

/// `crmgate demo` with a config of its own (admin and proxy on port 0, audit in `dir`):
/// the child, and what it printed up to "Serving".
fn start_demo(dir: &Path) -> (crate::support::ChildGuard, Vec<String>) {
    let config = write_config(
        dir,
        "127.0.0.1:9".parse().unwrap(),
        &repo().join("policies/santa.cedar"),
        8 << 20,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["demo", "--config"])
        .arg(&config)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = crate::support::ChildGuard::from_child(child);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut sent = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines.push(line.clone());
            if !sent && line.starts_with("Serving until") {
                let _ = tx.send(lines.clone());
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(lines);
        }
    });
    let lines = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("Serving until")),
        "the demo did not start: {lines:?}"
    );
    (guard, lines)
}

/// The address printed after `label` (`http://127.0.0.1:PORT` or `https://localhost:PORT`).
fn printed_addr(lines: &[String], label: &str) -> Option<SocketAddr> {
    let line = lines.iter().find(|l| l.trim_start().starts_with(label))?;
    let url = line.split_whitespace().last()?;
    let hostport = url.split("://").nth(1)?;
    hostport.replace("localhost", "127.0.0.1").parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_health_readiness_and_metrics_on_its_admin_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, lines) = start_demo(dir.path());
    let admin = printed_addr(&lines, "admin (/healthz").unwrap_or_else(|| {
        panic!("the demo names no admin listener: {lines:#?}");
    });
    let (status, body) = plain_get(admin, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = plain_get(admin, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, metrics) = plain_get(admin, "/metrics").await;
    assert_eq!(status, 200);
    // The tour's requests went through the pipeline and are counted.
    assert!(
        metrics.contains("crmgate_policy_revision_info{revision=\""),
        "{metrics}"
    );
    assert!(metrics.contains("crmgate_requests_total{"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_stopped_with_sigterm_ends_its_audit_log_with_a_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (mut demo, _) = start_demo(dir.path());
    let status = demo.terminate();
    assert!(
        status.success(),
        "the demo did not stop cleanly: {status:?}"
    );
    let audit = dir.path().join("audit");
    let key = crmgate::audit::signing::read_public_key(&dir.path().join("audit-signing.key.pub"))
        .unwrap();
    let report = crmgate::audit::verify::verify_dir(&audit, Some(&key)).unwrap();
    assert!(report.intact(), "{report}");
    assert_eq!(
        report.uncovered, 0,
        "the clean stop checkpoints every record: {report}"
    );
    assert!(
        !crate::support::audit_records(&audit).is_empty(),
        "the tour's requests are recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_to_the_crm_close_after_the_configured_idle_timeout() {
    // A CRM that keeps connections alive and notes when crmgate closes one.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicBool::new(false));
    {
        let (closed, served) = (closed.clone(), served.clone());
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    buf.clear();
                    let body = br#"{"status":"error","message":"resource not found","category":"OBJECT_NOT_FOUND"}"#;
                    let head = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(body).await;
                    served.store(true, Ordering::SeqCst);
                }
            }
            closed.store(true, Ordering::SeqCst);
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        upstream,
        &repo().join("policies/santa.cedar"),
        8 << 20,
    );
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "timeout_ms = 5000\n",
        "timeout_ms = 5000\npool_idle_timeout_ms = 300\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let (_child, addr, _admin) = spawn_binary(&cfg, dir.path());
    let proxy_client = crate::support::https_client();
    let req = http::Request::get(format!(
        "https://127.0.0.1:{}/crm/v3/objects/contacts/1001",
        addr.port()
    ))
    .header("authorization", "Bearer demo-key-noelle")
    .body(http_body_util::Full::new(bytes::Bytes::new()))
    .unwrap();
    let resp = proxy_client.request(req).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(served.load(Ordering::SeqCst));
    // The connection is idle in crmgate's pool from now on: it must be closed once the
    // configured idle timeout has passed (a generous bound: no timing is measured here).
    let waited = Instant::now();
    while !closed.load(Ordering::SeqCst) && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        closed.load(Ordering::SeqCst),
        "the idle CRM connection was still open after 10 s (idle timeout 300 ms)"
    );
}

/// What the first request of a caller, purpose and resource type costs in Cedar evaluations
/// for working out what it may select and see ([`crmgate::policy::plan::selectability`]):
/// thousands, once per revision. A reload computes them for the callers of the active
/// revision before it swaps the new one in, so that their first list after a reload does
/// not stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_is_warmed_for_its_callers_before_it_decides_a_request() {
    let santa = std::fs::read_to_string(repo().join("policies/santa.cedar")).unwrap();
    let proxy = Proxy::start_with(Options {
        binary: true,
        policies: Some(santa.clone()),
        policy_lines: "reload_settle_ms = 200".into(),
        ..Options::default()
    })
    .await;
    let list = "/crm/v3/objects/contacts?limit=5";
    let analysis = |reply: &crate::support::Reply| {
        proxy.audit_of(reply)["analysis_evaluations"]
            .as_u64()
            .unwrap_or(0)
    };
    let first = proxy.get(list, "holly", None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(analysis(&first) > 100, "{}", proxy.audit_of(&first));
    let again = proxy.get(list, "holly", None).await;
    assert_eq!(analysis(&again), 0, "memoised within a revision");
    let old = active_revision(&proxy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    std::fs::write(
        proxy.dir.path().join("custom.cedar"),
        format!("{santa}\n// a new revision\n"),
    )
    .unwrap();
    wait_for_metrics(&proxy, "the reload", |m| {
        m.contains("crmgate_policy_revision_info{revision=\"") && !m.contains(&old)
    })
    .await;
    let after = proxy.get(list, "holly", None).await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_ne!(proxy.audit_of(&after)["policy_revision"], old.as_str());
    assert_eq!(
        analysis(&after),
        0,
        "the new revision was warmed for holly: {}",
        proxy.audit_of(&after)
    );
    // The same records (a cursor is sealed for its revision).
    assert_eq!(after.json()["results"], again.json()["results"]);
    // A caller the old revision never saw is worked out when it first asks.
    let penny = proxy.get(list, "penny", None).await;
    assert_eq!(penny.status, 200, "{}", penny.text());
    assert!(analysis(&penny) > 0, "{}", proxy.audit_of(&penny));
}
