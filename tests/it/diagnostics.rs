//! Start-up diagnostics: every problem of the config, routes and entities files is reported
//! with its true file and line — all of them in one run — and nothing is served.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::repo;

fn crmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crmgate"))
}

/// A copy of the shipped policy folder (and the JWKS the config reads) in a temp dir.
fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("policies");
    std::fs::create_dir(&pol).unwrap();
    for f in [
        "crmgate.toml",
        "routes.toml",
        "entities.json",
        "schema.cedarschema",
        "santa.cedar",
        "retention.toml",
    ] {
        std::fs::copy(repo().join("policies").join(f), pol.join(f)).unwrap();
    }
    // The redaction rules the config names.
    let rules = repo().join("policies/redaction");
    std::fs::create_dir(pol.join("redaction")).unwrap();
    if let Ok(entries) = std::fs::read_dir(&rules) {
        for e in entries {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), pol.join("redaction").join(e.file_name())).unwrap();
            }
        }
    }
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::copy(
        repo().join("certs/jwks.json"),
        dir.path().join("certs/jwks.json"),
    )
    .unwrap();
    dir
}

fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join("policies").join(name)
}

/// Replace the first `from` in a policy-folder file by `to`.
fn edit(dir: &Path, name: &str, from: &str, to: &str) {
    let path = file(dir, name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{from}` is not in {name}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The 1-based line of the first line of a file containing `marker`, computed from the text
/// as written (never a hard-coded number).
fn line_of(dir: &Path, name: &str, marker: &str) -> usize {
    let text = std::fs::read_to_string(file(dir, name)).unwrap();
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("`{marker}` is not in {name}"))
        + 1
}

/// `crmgate check` on the copy: its exit code and stderr.
fn check(dir: &Path) -> (Option<i32>, String) {
    let out = crmgate()
        .args(["check", "--config"])
        .arg(file(dir, "crmgate.toml"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The problem reported at `name:line:` carries `message`.
fn assert_reported(dir: &Path, stderr: &str, name: &str, line: usize, message: &str) {
    let at = format!("error: {}:{line}:", file(dir, name).display());
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&at) && l.contains(message)),
        "expected `{message}` at {name}:{line}, got:\n{stderr}"
    );
}

struct Case {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    /// Text on the line the problem is on, after the edit.
    marker: &'static str,
    message: &'static str,
}

const CASES: &[Case] = &[
    // ---- the config file -------------------------------------------------------------
    Case {
        file: "crmgate.toml",
        from: "timeout_ms = 10000\n",
        to: "timeout_ms = 10000\ntimeout_sec = 10\n",
        marker: "timeout_sec = 10",
        message: "unknown field `timeout_sec`",
    },
    Case {
        file: "crmgate.toml",
        from: "max_connections = 1024",
        to: "max_connections = \"many\"",
        marker: "max_connections = \"many\"",
        message: "invalid type: string \"many\"",
    },
    Case {
        file: "crmgate.toml",
        from: "dir = \"../var/audit\"\n",
        to: "",
        marker: "[audit]",
        message: "missing field `dir`",
    },
    Case {
        file: "crmgate.toml",
        from: "addr = \"127.0.0.1:8443\"",
        to: "addr = \"localhost-8443\"",
        marker: "addr = \"localhost-8443\"",
        message: "listen.addr `localhost-8443`",
    },
    Case {
        file: "crmgate.toml",
        from: "mode = \"optional\"",
        to: "mode = \"sometimes\"",
        marker: "mode = \"sometimes\"",
        message: "unknown variant `sometimes`",
    },
    Case {
        file: "crmgate.toml",
        from: "checkpoint_every = 1000",
        to: "checkpoint_every = 0",
        marker: "checkpoint_every = 0",
        message: "audit.checkpoint_every must be at least 1",
    },
    Case {
        file: "crmgate.toml",
        from: "default = \"customer_visit\"",
        to: "default = \"greetings\"",
        marker: "default = \"greetings\"",
        message: "default purpose `greetings` is not among its purposes",
    },
    Case {
        file: "crmgate.toml",
        from: "app = \"newsletter_tool\"",
        to: "user = \"newsletter_tool\"",
        marker: "user = \"newsletter_tool\"",
        message: "api key of `newsletter_tool` names an App; write `app = \"newsletter_tool\"`",
    },
    Case {
        file: "crmgate.toml",
        from: "[apps.wishlist_form]",
        to: "[apps.tinsel]",
        marker: "[apps.tinsel]",
        message: "apps.tinsel: there is no App `tinsel` in the entities",
    },
    Case {
        file: "crmgate.toml",
        from: "algorithms = [\"ES256\"]",
        to: "algorithms = [\"HS256\"]",
        marker: "algorithms = [\"HS256\"]",
        message: "unknown variant `HS256`",
    },
    Case {
        file: "crmgate.toml",
        from: "leeway_s = 30\n",
        to: "leeway_s = 3000\n",
        marker: "leeway_s = 3000",
        message: "`leeway_s` 3000 is more than 300 seconds",
    },
    // ---- the routes file -------------------------------------------------------------
    Case {
        file: "routes.toml",
        from: "name = \"contacts.list\"\n",
        to: "name = \"contacts.list\"\nrecord = \"$\"\n",
        marker: "record = \"$\"",
        message: "unknown field `record`",
    },
    Case {
        file: "routes.toml",
        from: "resource = \"Contact\"",
        to: "resource = \"Contacts\"",
        marker: "resource = \"Contacts\"",
        message: "unknown resource `Contacts`",
    },
    Case {
        file: "routes.toml",
        from: "consent_greetings = { property = \"consent_greetings\", type = \"bool\", default = false }",
        to: "consent_greetings = { property = \"consent_greetings\", type = \"bool\", default = \"no\" }",
        marker: "default = \"no\"",
        message: "`\"no\"` does not have type Bool",
    },
    Case {
        file: "routes.toml",
        from: "history_field = \"propertiesWithHistory\"",
        to: "history_field = 3",
        marker: "history_field = 3",
        message: "invalid type: integer `3`",
    },
    Case {
        file: "routes.toml",
        from: "action = \"list\"",
        to: "action = \"listing\"",
        marker: "action = \"listing\"",
        message: "action `listing` is not declared in the schema",
    },
    Case {
        file: "routes.toml",
        from: "free_text = [\"wish_text\", \"data_source_detail\"]",
        to: "free_text = [\"wish_txt\", \"data_source_detail\"]",
        marker: "free_text = [\"wish_txt\"",
        message: "free-text property `wish_txt` is not classified",
    },
    Case {
        file: "routes.toml",
        from: "denied_fields = \"strip\"",
        to: "denied_fields = \"skip\"",
        marker: "denied_fields = \"skip\"",
        message: "unknown variant `skip`",
    },
    // ---- the redaction rules ---------------------------------------------------------
    Case {
        file: "redaction/identifiers.toml",
        from: "validator = \"iban_mod97\"",
        to: "validator = \"iban_mod98\"",
        marker: "validator = \"iban_mod98\"",
        message: "iban_mod98",
    },
    // ---- the entities file -----------------------------------------------------------
    Case {
        file: "entities.json",
        from: "\"roles\": [\"field_rep\"], \"active\": true",
        to: "\"roles\": [\"field_rep\"], \"active\": \"yes\"",
        // The entity it is about starts on its uid's line.
        marker: "\"id\": \"rudolph\"",
        message: "active",
    },
    Case {
        file: "entities.json",
        from: "{ \"type\": \"Department\", \"id\": \"marketing\" }, \"attrs\": {}",
        to: "{ \"type\": \"Departmant\", \"id\": \"marketing\" }, \"attrs\": {}",
        marker: "\"Departmant\"",
        message: "Departmant",
    },
    Case {
        file: "entities.json",
        from: "\"parents\": [{ \"type\": \"Department\", \"id\": \"marketing\" }] },",
        to: "\"parents\": [{ \"type\": \"Department\", \"id\": \"marketing\" }] }",
        // The next entity, where a `,` or `]` was expected.
        marker: "\"id\": \"holly\"",
        message: "invalid JSON",
    },
];

#[test]
fn each_broken_configuration_is_reported_at_its_line() {
    assert!(CASES.len() >= 10);
    for case in CASES {
        let dir = shipped_copy();
        edit(dir.path(), case.file, case.from, case.to);
        let line = line_of(dir.path(), case.file, case.marker);
        let (code, stderr) = check(dir.path());
        assert_eq!(code, Some(3), "{}: {stderr}", case.message);
        assert_reported(dir.path(), &stderr, case.file, line, case.message);
        // The source line is shown under the problem.
        assert!(
            stderr.contains(&format!(" {line} | ")),
            "no snippet for {}: {stderr}",
            case.message
        );
    }
}

#[test]
fn a_config_file_with_several_problems_reports_them_all() {
    let dir = shipped_copy();
    let d = dir.path();
    let edits = [
        (
            "timeout_ms = 10000\n",
            "timeout_ms = 10000\ntimeout_sec = 10\n",
        ),
        ("max_connections = 1024", "max_connections = \"many\""),
        ("user_from = \"cn\"", "user_from = \"subject\""),
        ("default = \"customer_visit\"", "default = \"greetings\""),
        ("checkpoint_every = 1000", "checkpoint_every = 0"),
        (
            "department_claim = \"department\"\n",
            "department_claim = \"department\"\nroles = 1\n",
        ),
    ];
    for (from, to) in edits {
        edit(d, "crmgate.toml", from, to);
    }
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    let expected = [
        ("timeout_sec = 10", "unknown field `timeout_sec`"),
        ("max_connections = \"many\"", "invalid type"),
        (
            "checkpoint_every = 0",
            "audit.checkpoint_every must be at least 1",
        ),
        ("user_from = \"subject\"", "unknown variant `subject`"),
        ("roles = 1", "unknown field `roles`"),
        ("default = \"greetings\"", "not among its purposes"),
    ];
    for (marker, message) in expected {
        let line = line_of(d, "crmgate.toml", marker);
        assert_reported(d, &stderr, "crmgate.toml", line, message);
    }
    assert!(stderr.contains("6 problem(s) found"), "{stderr}");
}

#[test]
fn a_key_whose_owner_left_is_a_warning_at_its_line() {
    let dir = shipped_copy();
    let d = dir.path();
    // Revoked, not invalid (see `app::load_policies`): `check` passes and says where.
    edit(d, "crmgate.toml", "user = \"grinch\"", "user = \"grinchy\"");
    let out = crmgate()
        .args(["check", "--config"])
        .arg(file(d, "crmgate.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = line_of(d, "crmgate.toml", "user = \"grinchy\"");
    let at = format!("warning: {}:{line}:", file(d, "crmgate.toml").display());
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&at) && l.contains("`grinchy` names no principal")),
        "{stderr}"
    );
}

#[test]
fn problems_of_routes_and_entities_are_reported_together() {
    let dir = shipped_copy();
    let d = dir.path();
    edit(
        d,
        "routes.toml",
        "resource = \"Contact\"",
        "resource = \"Contacts\"",
    );
    edit(
        d,
        "routes.toml",
        "name = \"contacts.list\"\n",
        "name = \"contacts.list\"\nrecord = \"$\"\n",
    );
    edit(
        d,
        "routes.toml",
        "history_field = \"propertiesWithHistory\"",
        "history_field = 3",
    );
    edit(
        d,
        "entities.json",
        "\"roles\": [\"field_rep\"], \"active\": true",
        "\"roles\": [\"field_rep\"], \"active\": \"yes\"",
    );
    edit(
        d,
        "entities.json",
        "\"department\": \"marketing\", \"roles\": [\"campaigns\"]",
        "\"department\": 7, \"roles\": [\"campaigns\"]",
    );
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "record = \"$\""),
        "unknown field `record`",
    );
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "history_field = 3"),
        "invalid type",
    );
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "resource = \"Contacts\""),
        "unknown resource `Contacts`",
    );
    assert_reported(
        d,
        &stderr,
        "entities.json",
        line_of(d, "entities.json", "\"id\": \"rudolph\""),
        "active",
    );
    assert_reported(
        d,
        &stderr,
        "entities.json",
        line_of(d, "entities.json", "\"id\": \"tinsel\""),
        "department",
    );
    assert!(stderr.contains("5 problem(s) found"), "{stderr}");
}

#[test]
fn serve_with_a_broken_config_reports_the_line_and_never_binds() {
    let dir = shipped_copy();
    let d = dir.path();
    // A free port: serve must exit before it would listen on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    edit(
        d,
        "crmgate.toml",
        "addr = \"127.0.0.1:8443\"",
        &format!("addr = \"127.0.0.1:{port}\""),
    );
    edit(
        d,
        "crmgate.toml",
        "timeout_ms = 10000\n",
        "timeout_ms = 10000\ntimeout_sec = 10\n",
    );
    edit(
        d,
        "crmgate.toml",
        "checkpoint_every = 1000",
        "checkpoint_every = 0",
    );
    let mut child = crmgate()
        .args(["serve", "--config"])
        .arg(file(d, "crmgate.toml"))
        .env("CRMGATE_UPSTREAM_TOKEN", "token-for-the-test")
        .env("CRMGATE_HASH_KEY", "hash-key-for-the-test-0123456789")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve kept running with a broken config");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success(), "{stderr}");
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line_of(d, "crmgate.toml", "timeout_sec = 10"),
        "unknown field `timeout_sec`",
    );
    // The second problem is on a line of its own (the first `error: ` is main's prefix).
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line_of(d, "crmgate.toml", "checkpoint_every = 0"),
        "audit.checkpoint_every must be at least 1",
    );
    assert!(!stderr.contains("listening"), "{stderr}");
    // Nothing holds the port.
    assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
}

/// `crmgate serve` on the copy: it must exit (with a failure) before it binds a port; its
/// stderr.
fn serve_refuses(d: &Path) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    edit(
        d,
        "crmgate.toml",
        "addr = \"127.0.0.1:8443\"",
        &format!("addr = \"127.0.0.1:{port}\""),
    );
    let mut child = crmgate()
        .args(["serve", "--config"])
        .arg(file(d, "crmgate.toml"))
        .env("CRMGATE_UPSTREAM_TOKEN", "token-for-the-test")
        .env("CRMGATE_HASH_KEY", "hash-key-for-the-test-0123456789")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve kept running with a configuration it cannot serve");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    stderr
}

#[test]
fn write_routes_without_a_batch_read_route_fail_check_and_serve() {
    let dir = shipped_copy();
    let d = dir.path();
    // Every Contact write but a create reads the records it names first, through this route.
    edit(
        d,
        "routes.toml",
        "[[routes]]\nname = \"contacts.batch_read\"\nmethod = \"POST\"\npath = \"/crm/v3/objects/contacts/batch/read\"\naction = \"list\"\nresource = \"Contact\"\nrecords = \"$.results[*]\"\nenvelope = [\"status\", \"startedAt\", \"completedAt\", \"requestedAt\", \"numErrors\"]\nquery = [\"archived\"]\nbody = \"batch_read\"\n",
        "",
    );
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    // At each such route's `body`: update, archive, batch update, upsert and archive,
    // merge, GDPR delete.
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "body = \"update\""),
        "route `contacts.update`: a `update` write reads the records it names first, but resource `Contact` has no route with `body = \"batch_read\"`",
    );
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "body = \"gdpr_delete\""),
        "route `contacts.gdpr_delete`",
    );
    assert!(stderr.contains("7 problem(s) found"), "{stderr}");
    assert!(!stderr.contains("contacts.create`"), "{stderr}");
    // `serve` refuses it before it binds, with the same problem.
    let stderr = serve_refuses(d);
    assert_reported_after_prefix(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "body = \"update\""),
        "has no route with `body = \"batch_read\"`",
    );
}

/// Like [`assert_reported`], for `serve`'s stderr, where the first problem follows main's
/// `error: ` prefix and the others follow `error: ` on their own lines.
fn assert_reported_after_prefix(dir: &Path, stderr: &str, name: &str, line: usize, message: &str) {
    let at = format!("{}:{line}:", file(dir, name).display());
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(&at) && l.contains(message)),
        "expected `{message}` at {name}:{line}, got:\n{stderr}"
    );
}

#[test]
fn each_problem_is_reported_once_at_its_own_line_and_hides_no_other() {
    let dir = shipped_copy();
    let d = dir.path();
    // A property in two groups: one problem, not one per route of the resource.
    edit(
        d,
        "routes.toml",
        "phone = [\"phone\", \"mobilephone\"]",
        "phone = [\"phone\", \"mobilephone\", \"email\"]",
    );
    // A key written twice, and another problem of the same file after it.
    edit(
        d,
        "routes.toml",
        "action = \"get\"\n",
        "action = \"get\"\naction = \"read\"\n",
    );
    edit(
        d,
        "routes.toml",
        "denied_fields = \"strip\"",
        "denied_fields = \"skip\"",
    );
    // A misspelt mask, under the policy's `@id`.
    edit(d, "santa.cedar", "@mask(\"partial\")", "@mask(\"partal\")");
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "\"mobilephone\", \"email\""),
        "property `email` is classified twice",
    );
    assert!(!stderr.contains("unknown resource"), "{stderr}");
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "action = \"read\""),
        "duplicate key `action`",
    );
    assert_reported(
        d,
        &stderr,
        "routes.toml",
        line_of(d, "routes.toml", "denied_fields = \"skip\""),
        "unknown variant `skip`",
    );
    assert_reported(
        d,
        &stderr,
        "santa.cedar",
        line_of(d, "santa.cedar", "@mask(\"partal\")"),
        "unknown mask `partal`",
    );
    assert!(stderr.contains("4 problem(s) found"), "{stderr}");

    // The same in the config file: the duplicate is named, the others are still found.
    let dir = shipped_copy();
    let d = dir.path();
    edit(
        d,
        "crmgate.toml",
        "timeout_ms = 10000\n",
        "timeout_ms = 10000\ntimeout_ms = 20000\n",
    );
    edit(
        d,
        "crmgate.toml",
        "max_connections = 1024",
        "max_connections = \"many\"",
    );
    edit(
        d,
        "crmgate.toml",
        "checkpoint_every = 1000",
        "checkpoint_every = 0",
    );
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line_of(d, "crmgate.toml", "timeout_ms = 20000"),
        "duplicate key `timeout_ms`",
    );
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line_of(d, "crmgate.toml", "max_connections = \"many\""),
        "invalid type",
    );
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line_of(d, "crmgate.toml", "checkpoint_every = 0"),
        "audit.checkpoint_every must be at least 1",
    );
    assert!(stderr.contains("3 problem(s) found"), "{stderr}");
}

/// `[upstream] vendor` names the CRM's API; a name no vendor profile has is a problem at its
/// line, for `check` and for `serve` (which never binds).
#[test]
fn an_unknown_vendor_is_reported_at_its_line() {
    let dir = shipped_copy();
    let d = dir.path();
    edit(
        d,
        "crmgate.toml",
        "vendor = \"hubspot\"",
        "vendor = \"hubspotty\"",
    );
    let (code, stderr) = check(d);
    assert_eq!(code, Some(3), "{stderr}");
    let line = line_of(d, "crmgate.toml", "vendor = \"hubspotty\"");
    assert_reported(
        d,
        &stderr,
        "crmgate.toml",
        line,
        "upstream.vendor: unknown vendor `hubspotty` (crmgate speaks `hubspot`, `salesforce`)",
    );
    let stderr = serve_refuses(d);
    assert_reported_after_prefix(
        d,
        &stderr,
        "crmgate.toml",
        line,
        "unknown vendor `hubspotty`",
    );
}
