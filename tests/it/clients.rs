//! The official HubSpot clients (`tests/clients/`), unchanged: first against the demo CRM
//! alone (the scripts are right), then through crmgate in front of it (crmgate is
//! transparent to them). A user's machine without a client installed skips that client with
//! a note; under `CI=true` (where `.ci/run` installs both) a missing client fails.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use democrm::DemoCrm;
use serde_json::Value;

use crate::support::repo;

const TOKEN: &str = "client-test-token";

/// The interpreter and script of one client, when that client is installed.
fn client(name: &str) -> Option<(String, String)> {
    let clients = repo().join("tests/clients");
    match name {
        "python" => {
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
            let installed = Command::new(&python)
                .args(["-c", "import hubspot"])
                .output()
                .is_ok_and(|out| out.status.success());
            installed.then(|| (python, path(&clients.join("hubspot_writes.py"))))
        }
        _ => {
            let installed = clients
                .join("node/node_modules/@hubspot/api-client/package.json")
                .exists()
                && Command::new("node")
                    .arg("--version")
                    .output()
                    .is_ok_and(|out| out.status.success());
            installed.then(|| ("node".into(), path(&clients.join("hubspot_writes.mjs"))))
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A client that is not installed: a failure under CI, a note elsewhere.
fn missing(name: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the {name} HubSpot client is not installed (.ci/run installs it; see tests/clients/README.md)"
    );
    eprintln!("skipped: the {name} HubSpot client is not installed (see tests/clients/README.md)");
}

/// Runs one client script against `base` and returns its JSON lines by step.
async fn run(interpreter: String, script: String, base: String) -> Vec<Value> {
    run_as(interpreter, script, base, TOKEN.into(), None).await
}

async fn run_as(
    interpreter: String,
    script: String,
    base: String,
    token: String,
    ca: Option<String>,
) -> Vec<Value> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut c = Command::new(interpreter);
            c.arg(script).arg(base).env("CRMGATE_TOKEN", token);
            match ca {
                Some(ca) => c.env("CRMGATE_CA", ca),
                None => c.env_remove("CRMGATE_CA"),
            };
            c.output().unwrap()
        }),
    )
    .await
    .expect("the client finishes within a minute")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Each of the six steps answered as HubSpot answers it.
fn assert_every_step_as_from_hubspot(client: &str, lines: &[Value]) {
    let statuses: Vec<(&str, &Value)> = lines
        .iter()
        .map(|l| (l["step"].as_str().unwrap(), &l["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            ("create", &Value::from(201)),
            ("update", &Value::from(200)),
            ("read", &Value::from(200)),
            ("search", &Value::from(200)),
            ("batch_create", &Value::from(201)),
            ("archive", &Value::from(204)),
        ],
        "{client}: {lines:?}"
    );
}

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|line| line["step"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {lines:?}"))
}

#[tokio::test]
async fn official_clients_create_update_search_batch_and_archive_on_the_demo_crm() {
    let crm = Arc::new(DemoCrm::seeded().with_required_token(TOKEN));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(democrm::serve(crm.clone(), listener, async {
        let _ = stopped.await;
    }));

    let mut ran = 0;
    for name in ["python", "node"] {
        let Some((interpreter, script)) = client(name) else {
            missing(name);
            continue;
        };
        ran += 1;
        let before = crm.received().len();
        let lines = run(interpreter, script, base.clone()).await;
        assert_every_step_as_from_hubspot(name, &lines);
        let created = step(&lines, "create");
        let id = created["id"].as_str().unwrap();
        assert!(created["properties"]["wish_text"].is_string(), "{name}");
        let read = step(&lines, "read");
        assert_eq!(read["id"], id);
        assert_eq!(read["properties"]["lastname"], "Cratchit");
        assert_eq!(
            read["properties"]["wish_text"],
            created["properties"]["wish_text"]
        );
        let search = step(&lines, "search");
        assert_eq!(search["total"], 1, "{name}");
        assert_eq!(search["ids"], serde_json::json!([id]));
        let batch_ids = step(&lines, "batch_create")["ids"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(batch_ids.len(), 2);
        let archived = step(&lines, "archive")["id"].as_str().unwrap().to_string();

        // What the CRM stored, and that each call reached it exactly once.
        let email = created["properties"]["email"].as_str().unwrap();
        let stored = crm.find_record("contacts", "email", email).unwrap();
        assert_eq!(stored["properties"]["city"], "London");
        assert!(crm.record_ids("contacts", true).contains(&archived));
        let received = crm.received();
        let methods: Vec<&str> = received[before..]
            .iter()
            .map(|r| r.method.as_str())
            .collect();
        assert_eq!(
            methods,
            ["POST", "PATCH", "GET", "POST", "POST", "DELETE"],
            "{name}"
        );
        assert!(received[before..].iter().all(|r| r
            .headers
            .contains(&("authorization".into(), format!("Bearer {TOKEN}")))));
    }
    if ran == 0 {
        eprintln!("skipped: no HubSpot client installed");
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The same scripts through crmgate, unchanged: the client only gets a base URL that
/// declares its purpose (`/purpose/prospect_management`, since a Node client cannot add a
/// header) and a crmgate key. Every write is decided, redacted and audited; the clients
/// see HubSpot's shapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_write_through_crmgate_unchanged() {
    let proxy = crate::support::Proxy::start().await;
    let base = format!(
        "https://localhost:{}/purpose/prospect_management",
        proxy.addr.port()
    );
    let ca = path(&repo().join("certs/ca.pem"));
    for name in ["python", "node"] {
        let Some((interpreter, script)) = client(name) else {
            missing(name);
            continue;
        };
        let before = proxy.crm().received().len();
        let lines = run_as(
            interpreter,
            script,
            base.clone(),
            "demo-key-holly".into(),
            Some(ca.clone()),
        )
        .await;
        assert_every_step_as_from_hubspot(name, &lines);
        // The wish was stored with its illness and its IBAN blacked out.
        let created = step(&lines, "create");
        let id = created["id"].as_str().unwrap();
        let stored = proxy.crm().record_json("contacts", id).unwrap();
        let wish = stored["properties"]["wish_text"].as_str().unwrap();
        assert!(!wish.contains("diabetes"), "{wish}");
        assert!(!wish.contains("0532"), "{wish}");
        assert!(wish.contains("[redacted"), "{wish}");
        assert!(wish.contains("sledge"), "{wish}");
        assert_eq!(stored["properties"]["data_source"], "order");
        assert_eq!(step(&lines, "search")["total"], 1, "{name}");
        // Each call reached the CRM once (plus crmgate's own reads before updates and
        // deletes), and nothing was retried.
        let writes: Vec<String> = proxy.crm().received()[before..]
            .iter()
            .filter(|r| !r.path_and_query.ends_with("/batch/read"))
            .map(|r| r.method.clone())
            .collect();
        assert_eq!(
            writes,
            ["POST", "PATCH", "GET", "POST", "POST", "DELETE"],
            "{name}"
        );
        // Audited with the purpose the base URL declared.
        let audit = proxy.audit();
        let created_record = audit
            .iter()
            .find(|r| r["route"] == "contacts.create" && r["writes"][0]["id"] == id)
            .unwrap();
        assert_eq!(created_record["purpose"], "prospect_management");
        assert_eq!(created_record["principal"], "holly");
        assert!(
            created_record["writes"][0]["redacted"]["wish_text"]["health"]
                .as_u64()
                .is_some_and(|n| n >= 1)
        );
    }
}
