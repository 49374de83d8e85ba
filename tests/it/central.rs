//! The central audit store against a real PostgreSQL: several replicas ship their chains,
//! survive `kill -9` and a database outage without losing or doubling an entry, `verify
//! --db` names tampering by replica and seq, and the lag bound refuses data (503) while
//! the health endpoints answer.
//!
//! Each test starts a private cluster (`initdb` in a temporary directory, a free port,
//! run as the `postgres` user, since PostgreSQL refuses root). Without PostgreSQL installed
//! the tests are skipped with a note, except under `CI=true`, where they fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crmgate::audit::central::db;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::support::{
    https_client, plain_get, repo, serve_demo_crm, spawn_binary, write_config_with_audit,
    ChildGuard, Options, Proxy,
};

const CONTACT: &str = "/crm/v3/objects/contacts/1001";

/// A private PostgreSQL cluster, stopped when dropped.
pub(crate) struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the tools as `postgres` (we are root).
    as_postgres: bool,
}

fn pg_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CRMGATE_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pg {
    /// A running cluster, or `None` (with a note) where PostgreSQL is not installed and
    /// this is not CI.
    pub(crate) fn start(test: &str) -> Option<Pg> {
        let Some(bin) = pg_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: PostgreSQL is required under CI=true (apt-get install postgresql)"
            );
            eprintln!(
                "note: {test} skipped: PostgreSQL is not installed (apt-get install postgresql)"
            );
            return None;
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap();
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "cannot hand {:?} to postgres", dir.path());
        }
        let pg = Pg {
            dir,
            bin,
            port: free_port(),
            as_postgres: root,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        // The free port may be taken by another test before the server binds it: try
        // another one, and say what the server logged if none works.
        let mut pg = pg;
        let mut last = String::new();
        for _ in 0..5 {
            match pg.try_start() {
                Ok(()) => return Some(pg),
                Err(e) => {
                    last = e;
                    pg.port = free_port();
                }
            }
        }
        panic!("{test}: PostgreSQL did not start: {last}");
    }

    /// Start the server on `self.port`; on failure, pg_ctl's output and the server log.
    fn try_start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let out = cmd
            .args(["-D", &self.data(), "-l"])
            .arg(&log)
            .args(["-o", &opts, "-w", "-t", "120", "start"])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Start the stopped server again, on its port (the replicas know its URL).
    fn start_again(&self) {
        if let Err(e) = self.try_start() {
            panic!("PostgreSQL did not start again: {e}");
        }
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(exe)
                .args(args)
                .output()
        } else {
            Command::new(exe).args(args).output()
        };
    }
}

pub(crate) fn central_toml(pg: &Pg, replica: &str, extra: &str) -> String {
    format!(
        "[audit.central]\nurl = \"{}\"\nreplica_id = \"{replica}\"\nbatch_size = 50\nretry_interval_ms = 100\n{extra}",
        pg.url()
    )
}

/// `crmgate audit …` of this tree's binary.
fn crmgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(args)
        .output()
        .unwrap()
}

/// The lag a replica's `/metrics` reports.
async fn lag(admin: SocketAddr) -> Option<u64> {
    let (_, text) = plain_get(admin, "/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("crmgate_audit_central_lag_entries "))
        .and_then(|v| v.trim().parse().ok())
}

pub(crate) async fn wait_until_shipped(admin: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while lag(admin).await != Some(0) {
        assert!(
            Instant::now() < deadline,
            "the replica did not catch up: lag {:?}",
            lag(admin).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first column of every row `sql` selects from the store at `url`, as text.
async fn texts(url: &str, sql: &str) -> Vec<String> {
    let client = db::connect(url).await.unwrap();
    let rows = client.query(sql, &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// The entries of a local log: seq → line hash.
fn local_entries(dir: &Path) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for (_, seg) in crmgate::audit::list_segments(dir).unwrap() {
        let data = std::fs::read(seg).unwrap();
        let (lines, torn) = crmgate::audit::split_lines(&data);
        assert!(torn.is_empty());
        for (_, line) in lines {
            let v: Value = serde_json::from_slice(line).unwrap();
            out.insert(v["seq"].as_u64().unwrap(), crmgate::audit::line_hash(line));
        }
    }
    out
}

/// The rows of a subject report's two tables (accesses, withheld), sorted.
fn report_rows(report: &str) -> (Vec<String>, Vec<String>) {
    let (accesses, withheld) = report.split_once("## Requests that named").unwrap();
    let rows = |part: &str| {
        let mut v: Vec<String> = part
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| When"))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    (rows(accesses), rows(withheld))
}

struct Replica {
    dir: tempfile::TempDir,
    config: PathBuf,
    child: ChildGuard,
    admin: SocketAddr,
}

impl Replica {
    fn start(crm: SocketAddr, pg: &Pg, id: &str) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config_with_audit(
            dir.path(),
            crm,
            &format!("checkpoint_every = 25\n{}", central_toml(pg, id, "")),
        );
        let (child, addr, admin) = spawn_binary(&config, dir.path());
        let r = Replica {
            dir,
            config,
            child,
            admin,
        };
        TARGETS.lock().unwrap().insert(id.to_string(), addr);
        r
    }

    /// `kill -9`, then start again on the same audit directory and config.
    fn crash_and_restart(&mut self, id: &str) {
        self.child.kill9();
        let (child, addr, admin) = spawn_binary(&self.config, self.dir.path());
        self.child = child;
        self.admin = admin;
        TARGETS.lock().unwrap().insert(id.to_string(), addr);
    }

    fn audit_dir(&self) -> PathBuf {
        self.dir.path().join("audit")
    }
}

/// Where each replica listens now (a restarted one binds a new port).
static TARGETS: Mutex<BTreeMap<String, SocketAddr>> = Mutex::new(BTreeMap::new());

/// Requests against one replica until `stop`: (replica, status, request id) of every
/// response that arrived whole.
async fn load(
    replica: String,
    worker: usize,
    stop: Arc<AtomicBool>,
    answered: Arc<Mutex<Vec<(String, u16, String)>>>,
) {
    let client = https_client();
    let users = ["noelle", "holly", "penny", "rudolph", "tinsel", "grinch"];
    let mut k = worker;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let Some(addr) = TARGETS.lock().unwrap().get(&replica).copied() else {
            return;
        };
        let path = if k.is_multiple_of(3) {
            "/crm/v3/objects/contacts?limit=5".to_string()
        } else {
            format!("/crm/v3/objects/contacts/{}", 1001 + k % 4)
        };
        let req = http::Request::get(format!("https://127.0.0.1:{}{path}", addr.port()))
            .header("authorization", format!("Bearer demo-key-{}", users[k % 6]))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let Ok(resp) = client.request(req).await else {
            // The replica is down (killed): try again shortly.
            tokio::time::sleep(Duration::from_millis(30)).await;
            continue;
        };
        let (parts, body) = resp.into_parts();
        if body.collect().await.is_err() {
            continue;
        }
        let id = parts.headers["x-request-id"].to_str().unwrap().to_string();
        answered
            .lock()
            .unwrap()
            .push((replica.clone(), parts.status.as_u16(), id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_through_kill_9_and_a_database_outage_store_every_request_exactly_once() {
    let test =
        "three_replicas_through_kill_9_and_a_database_outage_store_every_request_exactly_once";
    let Some(pg) = Pg::start(test) else { return };
    let crm = serve_demo_crm().await;
    let ids = ["r1", "r2", "r3"];
    let mut replicas: Vec<Replica> = ids.iter().map(|id| Replica::start(crm, &pg, id)).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let answered: Arc<Mutex<Vec<(String, u16, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for id in ids {
        for worker in 0..3 {
            tasks.push(tokio::spawn(load(
                id.to_string(),
                worker,
                stop.clone(),
                answered.clone(),
            )));
        }
    }
    // Each phase lasts until the load has made progress in it (at least the given time,
    // and more on a loaded machine), never a fixed count of seconds alone.
    let progress = |more: usize, at_least: u64| {
        let answered = answered.clone();
        async move {
            let start = answered.lock().unwrap().len();
            tokio::time::sleep(Duration::from_millis(at_least)).await;
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while answered.lock().unwrap().len() < start + more {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the load made no progress: {} answers",
                    answered.lock().unwrap().len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    progress(100, 1200).await;
    // One replica dies mid-run and comes back on the same audit directory.
    replicas[1].crash_and_restart("r2");
    progress(50, 800).await;
    // The database goes away for a while under load, and comes back: the replicas keep
    // answering meanwhile (within the lag bound).
    pg.stop();
    progress(20, 1500).await;
    pg.start_again();
    progress(50, 1200).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    for r in &replicas {
        wait_until_shipped(r.admin).await;
    }
    // A clean stop: the final checkpoint is shipped before the process exits.
    for r in &mut replicas {
        assert!(r.child.terminate().success());
    }

    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() > 100,
        "the load did not run: {}",
        answered.len()
    );
    let per_replica: BTreeMap<&str, usize> = ids
        .iter()
        .map(|id| (*id, answered.iter().filter(|(r, _, _)| r == id).count()))
        .collect();
    assert!(per_replica.values().all(|n| *n > 10), "{per_replica:?}");

    let client = db::connect(&pg.url()).await.unwrap();
    // Every request any replica answered is stored, and none twice.
    let rows = client
        .query(
            "SELECT request_id, count(*) FROM crmgate_audit_entries \
             WHERE kind IS NULL GROUP BY request_id",
            &[],
        )
        .await
        .unwrap();
    let stored: BTreeMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let doubled: Vec<_> = stored.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "stored more than once: {doubled:?}");
    for (replica, status, id) in &answered {
        assert!(
            stored.contains_key(id),
            "{replica} answered {id} ({status}) but the store lacks it"
        );
    }
    // And the store holds exactly what the replicas' logs hold, entry by entry.
    for (id, r) in ids.iter().zip(&replicas) {
        let local = local_entries(&r.audit_dir());
        let rows = client
            .query(
                "SELECT seq, hash FROM crmgate_audit_entries WHERE replica_id = $1 ORDER BY seq",
                &[id],
            )
            .await
            .unwrap();
        let central: BTreeMap<u64, String> = rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect();
        assert_eq!(central, local, "replica {id}");
    }
    let total: i64 = client
        .query_one("SELECT count(*) FROM crmgate_audit_entries", &[])
        .await
        .unwrap()
        .get(0);
    eprintln!(
        "central: {} answered requests ({per_replica:?}), {} request records, {total} entries stored",
        answered.len(),
        stored.len()
    );

    // Every chain verifies from the database.
    let out = crmgate(&["audit", "verify", "--db", &pg.url()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("intact: 3 replicas"), "{text}");
    assert!(!text.contains("NOT INTACT"), "{text}");

    // The subject report from PostgreSQL is the union of the replicas' own reports.
    let mut union = (Vec::new(), Vec::new());
    for r in &replicas {
        let dir = r.audit_dir().display().to_string();
        let out = crmgate(&[
            "audit",
            "query",
            &dir,
            "--record",
            "contact/1001",
            "--subject-report",
        ]);
        assert!(out.status.success());
        let (a, w) = report_rows(&String::from_utf8_lossy(&out.stdout));
        union.0.extend(a);
        union.1.extend(w);
    }
    union.0.sort();
    union.1.sort();
    let out = crmgate(&[
        "audit",
        "query",
        "--db",
        &pg.url(),
        "--record",
        "contact/1001",
        "--subject-report",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let central = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(central.contains("central audit store"), "{central}");
    assert!(!union.0.is_empty(), "contact 1001 was accessed");
    assert_eq!(report_rows(&central), union);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_db_names_the_replica_and_seq_of_a_tampered_row() {
    let Some(pg) = Pg::start("verify_db_names_the_replica_and_seq_of_a_tampered_row") else {
        return;
    };
    // The schema is crmgate's own, versioned; applying it again changes nothing.
    let migrate = || {
        String::from_utf8_lossy(&crmgate(&["audit", "migrate", "--db", &pg.url()]).stdout)
            .into_owned()
    };
    assert!(migrate().contains("applied migrations [1]"));
    assert!(migrate().contains("is up to date"));
    let proxy = Proxy::start_with(Options {
        audit_config: format!("checkpoint_every = 3\n{}", central_toml(&pg, "tamper", "")),
        ..Options::default()
    })
    .await;
    for user in ["noelle", "holly", "noelle", "penny", "rudolph", "noelle"] {
        proxy.get(CONTACT, user, None).await;
    }
    wait_until_shipped(proxy.admin).await;
    let url = pg.url();
    let verify = || {
        let out = crmgate(&["audit", "verify", "--db", &url]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, text) = verify();
    assert!(ok, "{text}");
    // `verify --db` fails and says this.
    let names = |what: String| {
        let (ok, text) = verify();
        assert!(!ok && text.contains(&what), "expected `{what}`:\n{text}");
    };

    let client = db::connect(&url).await.unwrap();
    let indexes = texts(
        &url,
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'crmgate_audit_entries'",
    )
    .await;
    for wanted in [
        "gin (record_keys)",
        "(principal, \"time\")",
        "(replica_id, seq)",
    ] {
        assert!(
            indexes.iter().any(|i| i.contains(wanted)),
            "{wanted}: {indexes:?}"
        );
    }
    // Who accessed what is rewritten in one stored row.
    let seq: i64 = client
        .query_one(
            "UPDATE crmgate_audit_entries SET line = replace(line, '\"noelle\"', '\"santa\"') \
             WHERE replica_id = 'tamper' AND seq = (SELECT min(seq) FROM crmgate_audit_entries \
             WHERE replica_id = 'tamper' AND principal = 'noelle') RETURNING seq",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    names(format!(
        "replica `tamper`: NOT INTACT: first bad entry: seq {seq} (replica `tamper`): row altered"
    ));
    // With its hash recomputed as well, the chain still names it.
    client
        .execute(
            "UPDATE crmgate_audit_entries SET hash = encode(sha256(convert_to(line, 'UTF8')), 'hex') \
             WHERE replica_id = 'tamper' AND seq = $1",
            &[&seq],
        )
        .await
        .unwrap();
    names(format!(
        "first bad entry: seq {seq} (replica `tamper`): chain broken: seq {seq} was changed"
    ));
    // A deleted checkpoint is a gap, named by its seq.
    client
        .execute(
            "UPDATE crmgate_audit_entries SET line = replace(line, '\"santa\"', '\"noelle\"'), \
             hash = encode(sha256(convert_to(replace(line, '\"santa\"', '\"noelle\"'), 'UTF8')), 'hex') \
             WHERE replica_id = 'tamper' AND seq = $1",
            &[&seq],
        )
        .await
        .unwrap();
    assert!(verify().0, "restored: {}", verify().1);
    let cp: i64 = client
        .query_one(
            "DELETE FROM crmgate_audit_entries WHERE replica_id = 'tamper' AND seq = \
             (SELECT min(seq) FROM crmgate_audit_entries WHERE kind = 'checkpoint') RETURNING seq",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    names(format!("seq {cp}..={cp} missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_lag_bound_data_requests_get_503_while_health_answers_until_the_store_is_back() {
    let Some(pg) = Pg::start(
        "beyond_the_lag_bound_data_requests_get_503_while_health_answers_until_the_store_is_back",
    ) else {
        return;
    };
    let proxy = Proxy::start_with(Options {
        audit_config: central_toml(&pg, "lagged", "max_lag_entries = 5\n"),
        ..Options::default()
    })
    .await;
    assert_eq!(proxy.get(CONTACT, "noelle", None).await.status, 200);
    wait_until_shipped(proxy.admin).await;
    assert_eq!(plain_get(proxy.admin, "/readyz").await.0, 200);

    pg.stop();
    let mut replies = Vec::new();
    for _ in 0..10 {
        replies.push(proxy.get(CONTACT, "noelle", None).await);
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    let served = statuses.iter().take_while(|s| **s == 200).count();
    // max_lag_entries = 5: five responses whose records make the lag 1..=5, then none.
    assert_eq!(served, 5, "{statuses:?}");
    assert!(statuses[served..].iter().all(|s| *s == 503), "{statuses:?}");
    let refused = &replies[served];
    assert_eq!(
        refused.json()["type"],
        "urn:crmgate:problem:audit-unavailable"
    );
    assert!(refused.json().get("results").is_none() && refused.json().get("properties").is_none());
    // The refused request is recorded locally as what its client got: a 503, the record
    // the CRM returned not shown.
    let rec = proxy.audit_of(refused);
    assert_eq!(rec["principal"], "noelle");
    assert_eq!(rec["status"], 503);
    assert_eq!(rec["reason"], "audit-unavailable");
    assert_eq!(rec["records"], serde_json::json!([]));
    assert_eq!(rec["rows_dropped"], serde_json::json!(["1001"]));

    let (status, health) = plain_get(proxy.admin, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert!(health.contains("audit_central"), "{health}");
    let (status, ready) = plain_get(proxy.admin, "/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains("not yet stored centrally"), "{ready}");
    assert!(lag(proxy.admin).await.unwrap() > 5);
    let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_audit_central_errors_total"),
        "{metrics}"
    );

    pg.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    while plain_get(proxy.admin, "/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(proxy.get(CONTACT, "noelle", None).await.status, 200);
    wait_until_shipped(proxy.admin).await;
    let (_, metrics) = plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_audit_central_lag_entries 0"),
        "{metrics}"
    );
}

/// `[audit.central]` is checked at start-up like the rest of the file: every problem at its
/// line, unknown keys refused, and the URL (it may hold a password) never quoted, not even
/// as the source line under a problem about it.
#[test]
fn central_config_problems_name_their_line_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let load = |central: &str| {
        let cfg = write_config_with_audit(dir.path(), "127.0.0.1:1".parse().unwrap(), central);
        let text = std::fs::read_to_string(&cfg).unwrap();
        let line = move |key: &str| 1 + text.lines().position(|l| l.starts_with(key)).unwrap();
        let err = crmgate::config::Config::load(&cfg).unwrap_err();
        (err.render_after_prefix(), err.0, line)
    };
    let (text, problems, line) =
        load("[audit.central]\nurl = \"postgres://u:hunter2@db:5432/a\"\nmax_lag_entrie = 5");
    assert!(text.contains("max_lag_entrie"), "{text}");
    assert_eq!(problems[0].line, line("max_lag_entrie"));
    assert!(!text.contains("hunter2"), "{text}");

    let (text, problems, line) = load(
        "[audit.central]\nurl = \"postgres://u:hunter2@\"\nreplica_id = \"a b\"\nbatch_size = 0",
    );
    assert!(!text.contains("hunter2"), "{text}");
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert_eq!(
        lines,
        vec![
            line("url = \"postgres"),
            line("replica_id"),
            line("batch_size")
        ],
        "{text}"
    );
}

/// The Kubernetes example's config has only keys crmgate knows: loading it outside a pod
/// fails only on the mounted files it names.
#[test]
fn the_kubernetes_example_config_is_valid_but_for_its_mounted_files() {
    let err =
        crmgate::config::Config::load(&repo().join("deploy/kubernetes/crmgate.toml")).unwrap_err();
    assert!(!err.0.is_empty());
    for p in &err.0 {
        assert!(
            p.message.contains("cannot read") && p.message.contains("/etc/crmgate/secrets/"),
            "{}",
            p.message
        );
    }
}

/// A replica id names one chain: a second log shipped under it is refused (its replica
/// fails closed), never merged into or mistaken for the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_log_under_a_taken_replica_id_is_refused_not_merged() {
    let Some(pg) = Pg::start("a_second_log_under_a_taken_replica_id_is_refused_not_merged") else {
        return;
    };
    let start = || {
        Proxy::start_with(Options {
            audit_config: central_toml(&pg, "twin", ""),
            ..Options::default()
        })
    };
    let first = start().await;
    for _ in 0..3 {
        assert_eq!(first.get(CONTACT, "noelle", None).await.status, 200);
    }
    wait_until_shipped(first.admin).await;
    let second = start().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, ready) = plain_get(second.admin, "/readyz").await;
        if status == 503 && ready.contains("another crmgate") {
            break;
        }
        assert!(Instant::now() < deadline, "no conflict reported: {ready}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(second.get(CONTACT, "noelle", None).await.status, 503);
    assert_eq!(first.get(CONTACT, "noelle", None).await.status, 200);
    // The store holds the first log's entries, and only those. The first replica may
    // append an entry of its own (a checkpoint) after a shipment: compare once it shipped
    // what its directory holds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        wait_until_shipped(first.admin).await;
        let stored = texts(
            &pg.url(),
            "SELECT hash FROM crmgate_audit_entries WHERE replica_id = 'twin' ORDER BY seq",
        )
        .await;
        let local: Vec<String> = local_entries(&first.audit_dir()).into_values().collect();
        if stored == local || Instant::now() > deadline {
            assert_eq!(stored, local);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_logs_retention_deletes_old_segments_locally_and_their_rows_centrally_and_logs_it(
) {
    let test = "the_audit_logs_retention_deletes_old_segments_locally_and_their_rows_centrally_and_logs_it";
    let Some(pg) = Pg::start(test) else {
        return;
    };
    // Small segments, kept no longer than they are old: every closed one is due.
    let proxy = Proxy::start_with(Options {
        audit_config: format!(
            "segment_max_bytes = 3000\nretention_days = 0\n{}",
            central_toml(&pg, "kept", "")
        ),
        ..Options::default()
    })
    .await;
    for _ in 0..30 {
        proxy.get(CONTACT, "holly", None).await;
    }
    wait_until_shipped(proxy.admin).await;
    let local = crate::support::audit_entries(&proxy.audit_dir());
    let first_local = local[0]["seq"].as_u64().unwrap();
    assert!(first_local > 0, "no segment was deleted locally");
    // The deletion is itself in the log, locally and in the central store.
    let retention: Vec<&Value> = local.iter().filter(|v| v["kind"] == "retention").collect();
    assert!(!retention.is_empty());
    let url = pg.url();
    let central_kinds = texts(
        &url,
        "SELECT kind FROM crmgate_audit_entries WHERE kind = 'retention'",
    )
    .await;
    assert!(!central_kinds.is_empty());
    // The store keeps what the log keeps: nothing before the first entry kept locally.
    let first_central: i64 = texts(
        &url,
        "SELECT min(seq)::text FROM crmgate_audit_entries WHERE replica_id = 'kept'",
    )
    .await[0]
        .parse()
        .unwrap();
    let newest_first_kept = retention.last().unwrap()["first_kept_seq"]
        .as_i64()
        .unwrap();
    assert_eq!(
        first_central, newest_first_kept,
        "local log starts at {first_local}"
    );
    // and its chain still verifies: the retention entry accounts for the gap.
    let out = crmgate(&["audit", "verify", "--db", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The account's budget counted by the replicas together in the central store: one replica
/// may use what the other leaves (not only its configured share), the two never pass the
/// account's budget, and with the store away each falls back to its share, never to more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_a_central_store_stay_within_one_budget_together() {
    let Some(pg) = Pg::start("two_replicas_with_a_central_store_stay_within_one_budget_together")
    else {
        return;
    };
    // The account allows 8 requests per window; each replica's configured share is half.
    let (addr, served, crm_429) = crate::economy::limited_crm(8).await;
    let replica = |id: &'static str| {
        Proxy::start_with(Options {
            upstream: crate::support::Upstream::Addr(addr),
            audit_config: central_toml(&pg, id, ""),
            extra_config: "[upstream.budget]\nrequests = 8\nwindow_ms = 600000\nshare = 0.5\nmax_wait_ms = 0\naccount = \"santa-portal\"\n"
                .into(),
            ..Options::default()
        })
    };
    let (a, b) = (replica("budget-a").await, replica("budget-b").await);
    // Replica a takes six slots, more than its share of four: b has not used its part.
    for _ in 0..6 {
        let reply = a.get(CONTACT, "holly", Some("contract_fulfilment")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let mut answered = 0;
    let mut refused = 0;
    for _ in 0..3 {
        for proxy in [&b, &a] {
            let reply = proxy
                .get(CONTACT, "holly", Some("contract_fulfilment"))
                .await;
            if reply.status == 429 {
                assert!(reply.headers.contains_key("retry-after"));
                refused += 1;
            } else {
                assert_eq!(reply.status, 200, "{}", reply.text());
                answered += 1;
            }
        }
    }
    assert_eq!(answered, 2, "the account's last two slots");
    assert_eq!(refused, 4);
    assert_eq!(served.load(Ordering::SeqCst), 8);
    assert_eq!(crm_429.load(Ordering::SeqCst), 0, "the CRM had to refuse");
    // The store away: each replica's own share decides, never unlimited. Replica a has sent
    // more than its share in this window: crmgate refuses, quickly, before the CRM.
    pg.stop();
    // (past the pause the CRM's last `Remaining: 0` asked for)
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let started = Instant::now();
    let reply = a.get(CONTACT, "holly", Some("contract_fulfilment")).await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(crm_429.load(Ordering::SeqCst), 0);
    let (_, metrics) = plain_get(a.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_budget_shared_unavailable_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("crmgate_budget_used_total 7"), "{metrics}");
}
