//! End-to-end tests of the demo CRM over a real socket on 127.0.0.1:0, with a
//! minimal HTTP/1.1 client written on a raw `TcpStream` (here) and the tests of
//! the reads and of the writes (`tests/reads.rs`, `tests/writes.rs`).
//!
//! Tests of the demo CRM itself; they must never depend on crmgate's filtering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{serve, DemoCrm};

mod reads;
mod salesforce;
mod salesforce_oauth;
mod salesforce_writes;
mod writes;

struct Server {
    crm: Arc<DemoCrm>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(crm: DemoCrm) -> Server {
    let crm = Arc::new(crm);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(Arc::clone(&crm), listener, async {
        let _ = stopped.await;
    }));
    Server {
        crm,
        addr,
        stop: Some(stop),
        task,
    }
}

struct Answer {
    status: u16,
    head: String,
    json: Value,
}

/// Writes one request on `stream` and reads exactly one response (by Content-Length).
async fn exchange(
    stream: &mut TcpStream,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut request = format!("{method} {target} HTTP/1.1\r\nhost: crm.test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str("content-type: application/json\r\n");
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).await.unwrap();

    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0_u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed before the response head");
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let status: u16 = head[9..12].parse().unwrap();
    if status == 204 {
        // No body and no Content-Length, as HTTP requires.
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{head}"
        );
        return Answer {
            status,
            head,
            json: Value::Null,
        };
    }
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("content-length");
    while buffer.len() < head_end + length {
        let mut chunk = [0_u8; 8192];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed inside the body");
        buffer.extend_from_slice(&chunk[..read]);
    }
    let json = serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap();
    Answer { status, head, json }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(&mut stream, method, target, headers, body).await
    }

    async fn get(&self, target: &str) -> Answer {
        self.call("GET", target, &[], None).await
    }

    async fn post(&self, target: &str, body: &str) -> Answer {
        self.call("POST", target, &[], Some(body)).await
    }
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn property_names(record: &Value) -> Vec<String> {
    record["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn assert_hubspot_error(answer: &Answer, status: u16, category: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert!(answer.head.contains("content-type: application/json"));
    assert_eq!(answer.json["status"], "error");
    assert_eq!(answer.json["category"], category);
    assert!(answer.json["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    let correlation = answer.json["correlationId"].as_str().unwrap();
    let groups: Vec<usize> = correlation.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{correlation}");
}
