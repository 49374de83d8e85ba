//! The data protection officer's console, driven in Debian's headless Chromium through
//! playwright-core (`tests/clients/console_browser.mjs`) against the demo CRM, crmgate and
//! two consoles over real sockets: sign-in through the development identity provider,
//! a subject request for contact 1001 answered and downloaded, an approval, the access log
//! exported, the deletion page, and the refusals. Then the console's audit log: one record
//! per view of personal data, the approval, and `crmgate audit verify` passes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{audit_entries, repo, Proxy};
use crmgate::tools::console::{self, idp, ConsoleArgs};

fn screens_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let dir = target.join("console-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// playwright-core installed (`npm ci --prefix tests/clients/node`); required under CI.
fn playwright(test: &str) -> bool {
    let installed = repo()
        .join("tests/clients/node/node_modules/playwright-core/package.json")
        .exists();
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: playwright-core is required under CI=true (npm ci --prefix tests/clients/node)"
        );
        eprintln!("{test}: skipped, playwright-core is not installed");
    }
    installed
}

fn args(proxy: &Proxy, issuer: &str, audit: PathBuf, ttl: Duration) -> ConsoleArgs {
    ConsoleArgs {
        config: crmgate::tools::cli::ConfigArgs {
            path: proxy.dir.path().join("crmgate.toml"),
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        issuer: issuer.to_string(),
        client_id: "crmgate-console".into(),
        idp_ca: None,
        session_ttl: ttl,
        audit_dir: Some(audit),
        url: Some(format!("https://localhost:{}", proxy.addr.port())),
        ca: Some(repo().join("certs/ca.pem")),
        dpo_key: Some("demo-key-mira".into()),
        retention_key: Some("demo-key-retention".into()),
        checkpoint: Vec::new(),
        public_url: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dpo_answers_a_subject_request_approves_and_exports_in_chromium_and_every_view_is_audited(
) {
    let test = "the_dpo_answers_a_subject_request_approves_and_exports_in_chromium";
    let Some(chromium) = crate::support::chromium(test) else {
        return;
    };
    if !playwright(test) {
        return;
    }
    // The demo proxy with its deletion concept, so that the deletion page has rules.
    let proxy = Proxy::start_with(crate::support::Options {
        policy_lines: format!(
            "retention = \"{}\"",
            repo().join("policies/retention.toml").display()
        ),
        extra_config: "[retention]\ntoday = \"2026-12-02\"\n".into(),
        ..crate::support::Options::default()
    })
    .await;
    // Accesses the Art. 15 answer and the access log will show.
    for (user, purpose) in [
        ("noelle", "contract_fulfilment"),
        ("holly", "contract_fulfilment"),
    ] {
        let r = proxy
            .get("/crm/v3/objects/contacts/1001", user, Some(purpose))
            .await;
        assert_eq!(r.status, 200, "{user}: {}", r.text());
    }
    // A refusal for the overview: an inactive account.
    let refused = proxy
        .get(
            "/crm/v3/objects/contacts/1001",
            "grinch",
            Some("contract_fulfilment"),
        )
        .await;
    assert_eq!(refused.status, 403);
    let email = proxy.crm().record_json("contacts", "1001").unwrap()["properties"]["email"]
        .as_str()
        .unwrap()
        .to_string();

    let issuer = idp::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        &repo().join("certs"),
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let main_dir = work.path().join("console-audit");
    let short_ttl = Duration::from_secs(3);
    let main = console::start(args(
        &proxy,
        &issuer,
        main_dir.clone(),
        Duration::from_secs(600),
    ))
    .await
    .unwrap();
    let short = console::start(args(
        &proxy,
        &issuer,
        work.path().join("short-audit"),
        short_ttl,
    ))
    .await
    .unwrap();
    let (main_url, short_url) = (main.url.clone(), short.url.clone());
    let (stop_main, stopped_main) = tokio::sync::oneshot::channel::<()>();
    let main_task = tokio::spawn(console::serve(main, async {
        let _ = stopped_main.await;
    }));
    tokio::spawn(console::serve(short, std::future::pending()));

    let screens = screens_dir();
    let script = repo().join("tests/clients/console_browser.mjs");
    let subject_email = email.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .env("CONSOLE_URL", &main_url)
            .env("SHORT_URL", &short_url)
            .env("SHORT_TTL_MS", short_ttl.as_millis().to_string())
            .env("SUBJECT_EMAIL", &subject_email)
            .env("SCREENS", &screens)
            .env("CHROMIUM", &chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or("{}");
    let out: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "the browser script printed no result ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        out["error"].is_null(),
        "browser script failed: {}",
        out["error"]
    );
    for c in out["checks"].as_array().unwrap() {
        assert_eq!(c["ok"], true, "{}: {}", c["name"], c["detail"]);
    }

    // The lookup by e-mail address through crmgate leads to the same page as the id.
    assert!(
        out["email_lookup_url"]
            .as_str()
            .unwrap()
            .ends_with("/subjects/contact/1001"),
        "{}",
        out["email_lookup_url"]
    );
    // The copy of the data is the record as crmgate shows it to the data protection officer.
    let copy = &out["copy_of_data"];
    assert_eq!(copy["held"], true, "{copy}");
    assert_eq!(copy["record_id"], "1001", "{copy}");
    assert_eq!(copy["fields"]["email"], email.as_str(), "{copy}");
    // The data protection officer's reads are in crmgate's log, under their own purpose,
    // and the e-mail lookup too (the address itself is in no entry).
    let dpo_reads: Vec<Value> = proxy
        .audit()
        .into_iter()
        .filter(|e| e["principal"] == "mira")
        .collect();
    assert!(
        dpo_reads.len() >= 5
            && dpo_reads
                .iter()
                .all(|e| e["purpose"] == "data_subject_access" && e["decision"] == "allow"),
        "{dpo_reads:#?}"
    );
    assert!(
        !dpo_reads.iter().any(|e| e.to_string().contains(&email)),
        "no e-mail address in crmgate's log"
    );
    // The access log's CSV holds the two reads of contact 1001.
    let csv = out["csv"].as_str().unwrap();
    assert!(csv.starts_with("time,person,department,purpose,request,decision,reason,records\n"));
    for user in ["noelle", "holly"] {
        assert!(
            csv.lines()
                .any(|l| l.contains(user) && l.contains("contact/1001")),
            "{user} missing from the CSV:\n{csv}"
        );
    }
    // The refusals.
    assert_eq!(out["csrf_status"], 403, "a form without its CSRF token");
    assert_eq!(
        out["no_session_status"], 401,
        "another subject's URL without a session"
    );
    let no_session = out["no_session_text"].as_str().unwrap();
    assert!(!no_session.contains("1002"), "{no_session}");
    assert_eq!(out["no_role_status"], 403, "a user without the role");
    assert_eq!(
        out["no_role_after"], 401,
        "no session for a user without the role"
    );
    assert_eq!(
        out["security_subject_status"], 403,
        "the security role sees no subject"
    );
    assert_eq!(out["short_fresh_status"], 200);
    assert_eq!(out["expired_status"], 401, "a session after its expiry");

    // The console's audit log: closed with a final checkpoint, then read.
    let _ = stop_main.send(());
    main_task.await.unwrap();
    let entries = audit_entries(&main_dir);
    let views: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "console_view")
        .collect();
    assert_eq!(
        views.len() as u64,
        out["views"].as_u64().unwrap(),
        "one record per view of personal data: {views:#?}"
    );
    for v in &views {
        assert_eq!(v["principal"], idp::DPO);
        assert_eq!(v["purpose"], "data_protection_review");
    }
    let subject_views = views
        .iter()
        .filter(|v| v["subject"] == "contact/1001")
        .count();
    assert_eq!(
        subject_views, 5,
        "preview, two downloads, the e-mail lookup's page, the German preview"
    );
    assert!(
        !entries.iter().any(|e| e.to_string().contains('@')),
        "no e-mail address in the console's log"
    );
    let approvals: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "approval").collect();
    assert_eq!(
        approvals.len(),
        1,
        "one approval; the form without CSRF token wrote none"
    );
    assert_eq!(approvals[0]["principal"], idp::DPO);
    assert_eq!(
        approvals[0]["comment"],
        "Reviewed with the works council, Q4"
    );
    assert!(approvals[0]["revision"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    // `crmgate audit verify` covers both kinds of entry.
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["audit", "verify"])
        .arg(&main_dir)
        .arg("--public-key")
        .arg(main_dir.join("signing.key.pub"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
