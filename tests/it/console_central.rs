//! The subject request across replicas: where the configuration has a central PostgreSQL
//! audit store, the console's Art. 15 answer lists the accesses every replica shipped
//! there, not only those of the replica whose directory it could read. Two replicas (the
//! real binary) each read contact 1001 for a different department; the console, configured
//! as the first, answers with both. A private PostgreSQL as the central tests start it.

use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;

use crate::central::{central_toml, wait_until_shipped, Pg};
use crate::console_demo::{get, sign_in};
use crate::support::{
    https_client, repo, serve_demo_crm, spawn_binary, write_config_with_audit, ChildGuard,
};
use crmgate::tools::console::{self, idp, ConsoleArgs};

async fn read_as(port: u16, user: &str) -> u16 {
    let req = http::Request::get(format!(
        "https://localhost:{port}/crm/v3/objects/contacts/1001"
    ))
    .header("authorization", format!("Bearer demo-key-{user}"))
    .header("x-purpose", "contract_fulfilment")
    .body(http_body_util::Full::new(bytes::Bytes::new()))
    .unwrap();
    https_client().request(req).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_subject_request_answers_across_replicas_from_the_central_store() {
    let test = "the_subject_request_answers_across_replicas_from_the_central_store";
    let Some(pg) = Pg::start(test) else {
        return;
    };
    let crm = serve_demo_crm().await;
    let mut kept: Vec<(tempfile::TempDir, ChildGuard)> = Vec::new();
    let mut first = None;
    for (replica, user) in [("replica-a", "noelle"), ("replica-b", "holly")] {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config_with_audit(dir.path(), crm, &central_toml(&pg, replica, ""));
        let (child, addr, admin) = spawn_binary(&config, dir.path());
        assert_eq!(read_as(addr.port(), user).await, 200, "{replica}");
        wait_until_shipped(admin).await;
        if first.is_none() {
            first = Some((config.clone(), addr));
        }
        kept.push((dir, child));
    }
    let (config, addr) = first.unwrap();

    let issuer = idp::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        &repo().join("certs"),
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let started = console::start(ConsoleArgs {
        config: crmgate::tools::cli::ConfigArgs { path: config },
        listen: "127.0.0.1:0".parse().unwrap(),
        issuer,
        client_id: "crmgate-console".into(),
        idp_ca: None,
        session_ttl: Duration::from_secs(600),
        audit_dir: Some(work.path().join("console-audit")),
        url: Some(format!("https://localhost:{}", addr.port())),
        ca: Some(repo().join("certs/ca.pem")),
        dpo_key: Some("demo-key-mira".into()),
        retention_key: None,
        checkpoint: Vec::new(),
        public_url: None,
    })
    .await
    .unwrap();
    let base = started.url.clone();
    tokio::spawn(console::serve(started, std::future::pending()));

    let client = https_client();
    let (back, session) = sign_in(&client, &base, idp::DPO).await;
    assert_eq!(back.status, 200, "{}", back.text());
    let session = session.unwrap();
    let answer = get(
        &client,
        &format!("{base}/subjects/contact/1001/download?format=json"),
        Some(&session),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    let departments: Vec<&str> = answer["accesses"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|a| a.as_array().unwrap())
        .filter(|a| a["what"] == "looked_up")
        .filter_map(|a| a["department"].as_str())
        .collect();
    for dept in ["sales", "customer_service"] {
        assert!(
            departments.contains(&dept),
            "{dept}'s access (shipped by its replica) is missing: {departments:?}"
        );
    }
    assert_eq!(answer["copy"]["record_id"], "1001", "{answer}");
    drop(kept);
}
