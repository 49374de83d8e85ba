//! The official HubSpot clients (`tests/clients/`) against the demo CRM directly: the scripts
//! crmgate's write-path tests will point at the proxy must first pass against the upstream
//! alone. A machine without a client installed skips that client; it never fails for it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crmgate::democrm::{self, DemoCrm};
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

/// Runs one client script against `base` and returns its JSON lines by step.
async fn run(interpreter: String, script: String, base: String) -> Vec<Value> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            Command::new(interpreter)
                .arg(script)
                .arg(base)
                .env("CRMGATE_TOKEN", TOKEN)
                .env_remove("CRMGATE_CA")
                .output()
                .unwrap()
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
            eprintln!(
                "skipped: the {name} HubSpot client is not installed (see tests/clients/README.md)"
            );
            continue;
        };
        ran += 1;
        let before = crm.received().len();
        let lines = run(interpreter, script, base.clone()).await;
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
            "{name}: {lines:?}"
        );
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
