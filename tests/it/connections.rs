//! Connections and what survives them: a client that hangs up still leaves an audit record,
//! idle and slow clients cannot hold the proxy's slots or memory, and what the HTTP and TLS
//! layers refuse themselves is counted. Everything over real sockets on 127.0.0.1; every
//! wait is bounded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{self, Options, Proxy, Upstream};

const AUTH: &str = "Authorization: Bearer demo-key-noelle\r\n";
const CONTACT: &str = "/crm/v3/objects/contacts/1001";

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn tls_connect(proxy: &Proxy, alpn: Option<&[u8]>) -> Tls {
    let mut cfg = support::client_tls(None);
    if let Some(p) = alpn {
        cfg.alpn_protocols = vec![p.to_vec()];
    }
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(proxy.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// An HTTP/2 connection to the proxy (driven in the background).
async fn h2_connect(proxy: &Proxy) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let tls = tls_connect(proxy, Some(b"h2")).await;
    // The protocol's default windows (hyper's own are MiBs): a client that does not read
    // stops the server after 64 KiB.
    let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

fn h2_get(proxy: &Proxy, path: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .uri(format!("https://localhost:{}{path}", proxy.addr.port()))
        .header("authorization", "Bearer demo-key-noelle")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Every entry of the audit log (request records and the others), in log order.
fn audit_entries(proxy: &Proxy) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, seg) in crmgate::audit::list_segments(&proxy.audit_dir()).unwrap_or_default() {
        let text = std::fs::read_to_string(seg).unwrap_or_default();
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

/// Poll `f` until it is true, at most `limit`.
async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A CRM that answers every request with contact 1001 after `delay`, counting requests.
async fn slow_crm(delay: Duration) -> (std::net::SocketAddr, Arc<Mutex<usize>>) {
    let body = serde_json::to_vec(
        &democrm::DemoCrm::seeded()
            .record_json("contacts", "1001")
            .unwrap(),
    )
    .unwrap();
    let reply = support::http_response("200 OK", &[("Content-Type", "application/json")], &body);
    delayed_crm(move |_| (delay, reply.clone())).await
}

/// A CRM that answers each request, after the delay `respond` chooses from the request
/// head, with the bytes it chooses; it counts requests.
async fn delayed_crm(
    respond: impl Fn(&str) -> (Duration, Vec<u8>) + Send + Sync + 'static,
) -> (std::net::SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(0usize));
    let count = received.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (count, respond) = (count.clone(), respond.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                *count.lock().unwrap() += 1;
                let (delay, reply) = respond(&String::from_utf8_lossy(&buf));
                tokio::time::sleep(delay).await;
                let _ = s.write_all(&reply).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, received)
}

/// Finding 5: the CRM was called with crmgate's credential; that the client hung up
/// (HTTP/1: closed the connection; HTTP/2: reset the stream) must not skip the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_still_leaves_an_audit_record() {
    let (crm, received) = slow_crm(Duration::from_millis(1500)).await;
    let mut proxy = Proxy::start_with(Options {
        binary: true,
        upstream: Upstream::Addr(crm),
        ..Default::default()
    })
    .await;
    let mut tasks = Vec::new();
    // HTTP/1.1: the client closes its connection while the CRM is still answering.
    for i in 0..3 {
        let mut tls = tls_connect(&proxy, None).await;
        tls.write_all(
            format!(
                "GET {CONTACT} HTTP/1.1\r\nHost: localhost\r\n{AUTH}X-Request-Id: hangup-h1-{i}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // Gives up after 0.3 s: no answer has come by then.
            let r = tokio::time::timeout(Duration::from_millis(300), tls.read(&mut buf)).await;
            assert!(r.is_err(), "answered before the CRM did");
            drop(tls);
        }));
    }
    // HTTP/2: the client resets its stream and keeps the connection.
    let mut h2 = h2_connect(&proxy).await;
    for _ in 0..2 {
        h2.ready().await.unwrap();
        let mut req = h2_get(&proxy, CONTACT);
        req.headers_mut()
            .insert("x-request-id", http::HeaderValue::from_static("hangup-h2"));
        let r = tokio::time::timeout(Duration::from_millis(300), h2.send_request(req)).await;
        assert!(r.is_err(), "answered before the CRM did");
    }
    for t in tasks {
        t.await.unwrap();
    }

    // Bounded wait: the CRM answers after 1.5 s, then the record is written.
    let cancelled = |proxy: &Proxy| {
        proxy
            .audit()
            .into_iter()
            .filter(|r| {
                r["client_request_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("hangup-"))
            })
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(15), || cancelled(&proxy).len() >= 5).await;
    assert_eq!(*received.lock().unwrap(), 5, "each request reached the CRM");
    let records = cancelled(&proxy);
    assert_eq!(records.len(), 5, "{records:#?}");
    for r in &records {
        assert_eq!(r["principal"], "noelle", "{r}");
        assert_eq!(r["route"], "contacts.get", "{r}");
        assert_eq!(r["upstream_status"], 200, "{r}");
        assert_eq!(r["client_cancelled"], true, "{r}");
        assert!(
            r["records"].as_array().is_some_and(|a| !a.is_empty()),
            "{r}"
        );
    }
    // The chain stays intact.
    // Stopped first: the proxy writes `connection_events` entries every second, and a live
    // segment may end in a line still being written.
    proxy.stop();
    let report = crmgate::audit::verify::verify_dir(&proxy.audit_dir(), None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
}

/// A request body that panics when read: the body-reading stage panics.
struct PanickingBody;

impl hyper::body::Body for PanickingBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        panic!("a stage panicked (test)");
    }
}

/// A panic inside a stage (here: while the authorized request's body is read) is a 500 with
/// an audit record of what was known, not a dropped connection and no record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_stage_answers_500_with_an_audit_record() {
    let proxy = Proxy::start().await;
    let req = http::Request::builder()
        .method("POST")
        .uri("/crm/v3/objects/contacts/search")
        .header("host", "localhost")
        .header("authorization", "Bearer demo-key-noelle")
        .header("content-type", "application/json")
        .body(PanickingBody)
        .unwrap();
    let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let resp = proxy.gateway().handle(req, peer).await;
    assert_eq!(resp.status(), 500);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(
        !text.contains("panicked"),
        "no internals to the client: {text}"
    );
    let rec = proxy
        .audit()
        .into_iter()
        .find(|r| r["request_id"] == id.as_str())
        .expect("a record for the panicking request");
    assert_eq!(rec["status"], 500);
    assert_eq!(rec["reason"], "internal");
    assert_eq!(rec["principal"], "noelle");
    assert_eq!(rec["decision"], "allow");
    assert!(proxy.crm().received().is_empty());
    // The proxy still serves.
    assert_eq!(proxy.get(CONTACT, "noelle", None).await.status, 200);
}

/// Finding 6: connections that finish the TLS handshake and then send nothing used to hold
/// every slot for as long as they liked. Now they are cut after `first_request_timeout`,
/// and a valid client gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_starve_a_valid_client() {
    let proxy = Proxy::start_with(Options {
        binary: true,
        extra_config: "[limits]\nmax_connections = 4\nmax_connections_per_ip = 4\n\
                       first_request_timeout_ms = 500\n"
            .into(),
        ..Default::default()
    })
    .await;
    // Every slot: handshakes done, then silence (HTTP/1 without a byte, HTTP/2 with only
    // its preface).
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tls_connect(&proxy, None).await);
    }
    let mut preface_only = tls_connect(&proxy, Some(b"h2")).await;
    preface_only
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    idle.push(preface_only);

    let reply = tokio::time::timeout(Duration::from_secs(5), proxy.get(CONTACT, "noelle", None))
        .await
        .expect("a valid client is served while idle connections are open");
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The idle ones were closed by the server (EOF or a reset), not left open; the
    // HTTP/2 one got nothing but the server's SETTINGS.
    for mut c in idle {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
            .await
            .expect("an idle connection was left open");
        assert!(
            !String::from_utf8_lossy(&out).contains("HTTP/1.1"),
            "{out:?}"
        );
    }
    let (_, metrics) = support::plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_connection_events_total{reason=\"first_request_timeout\"} 4"),
        "{metrics}"
    );
}

/// Finding 6: a keep-alive connection with nothing in flight is closed after
/// `idle_timeout` (HTTP/1 and HTTP/2, which has no idle timeout of its own), and a busy
/// connection is closed gracefully at `max_connection_age`, its requests answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_old_connections_are_closed() {
    let proxy = Proxy::start_with(Options {
        binary: true,
        extra_config: "[limits]\nidle_timeout_ms = 500\nmax_connection_age_ms = 1500\n".into(),
        ..Default::default()
    })
    .await;
    // HTTP/1.1 keep-alive: answered, then closed by the server once idle.
    let mut tls = tls_connect(&proxy, None).await;
    tls.write_all(format!("GET {CONTACT} HTTP/1.1\r\nHost: localhost\r\n{AUTH}\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out))
        .await
        .expect("an idle HTTP/1.1 keep-alive connection was left open")
        .ok();
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );

    // HTTP/2: answered, then closed (GOAWAY) once idle.
    let mut h2 = h2_connect(&proxy).await;
    h2.ready().await.unwrap();
    let resp = h2.send_request(h2_get(&proxy, CONTACT)).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || h2.is_closed()).await,
        "an idle HTTP/2 connection was left open"
    );

    // A busy HTTP/2 connection (never idle) is still closed once old; what it asked is answered.
    let mut h2 = h2_connect(&proxy).await;
    let start = Instant::now();
    let mut answered = 0;
    while start.elapsed() < Duration::from_secs(10) {
        if h2.ready().await.is_err() {
            break;
        }
        match h2.send_request(h2_get(&proxy, CONTACT)).await {
            Ok(resp) => {
                assert_eq!(resp.status(), 200);
                resp.into_body().collect().await.unwrap();
                answered += 1;
            }
            // Sent as the GOAWAY crossed it: refused, not half-answered.
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        eventually(Duration::from_secs(5), || h2.is_closed()).await,
        "an old connection was left open"
    );
    assert!(answered >= 2, "{answered}");
    let (_, metrics) = support::plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_connection_events_total{reason=\"idle_timeout\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crmgate_connection_events_total{reason=\"max_age\"} 1"),
        "{metrics}"
    );
}

/// Beyond the per-address share, a connection is refused at once instead of taking a slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    let proxy = Proxy::start_with(Options {
        binary: true,
        extra_config: "[limits]\nmax_connections = 8\nmax_connections_per_ip = 2\n".into(),
        ..Default::default()
    })
    .await;
    let _a = tls_connect(&proxy, None).await;
    let _b = tls_connect(&proxy, None).await;
    // The third from 127.0.0.1 is closed before any handshake.
    let mut third = TcpStream::connect(proxy.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("a connection beyond the per-address limit was kept waiting");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    drop((_a, _b));
    // Once they are gone the address is served again.
    let mut closed = false;
    for _ in 0..100 {
        let (_, metrics) = support::plain_get(proxy.admin, "/metrics").await;
        if metrics.contains("crmgate_connections_open 0") {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the server noticed the closed connections");
    let reply = tokio::time::timeout(Duration::from_secs(5), proxy.get(CONTACT, "noelle", None))
        .await
        .expect("served");
    assert_eq!(reply.status, 200);
}

/// 1000 demo contacts: a filtered list of several hundred KiB.
fn big_list() -> Vec<u8> {
    let crm = democrm::DemoCrm::seeded();
    let originals: Vec<Value> = (1001..1200)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .collect();
    let results: Vec<Value> = (0..1000)
        .map(|i| {
            let mut r = originals[i % originals.len()].clone();
            r["id"] = json!((5001 + i).to_string());
            // Large enough that a page of 100 shown records is far beyond the HTTP/2
            // flow-control window (sales sees company names in clear).
            r["properties"]["company"] = json!("c".repeat(3000));
            r
        })
        .collect();
    serde_json::to_vec(&json!({ "results": results })).unwrap()
}

/// Finding 6: a response's memory budget holds until the client has taken the body, and a
/// client that does not read is cut off after `send_timeout`. With a budget of one buffered
/// response, an HTTP/2 client that never reads (never opens its flow-control window) holds
/// it — a second request waits — until the send timeout cuts the reader; then it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_cannot_hold_more_than_the_buffering_budget() {
    let body = big_list();
    let crm = support::RawUpstream::start(move |_| {
        support::http_response("200 OK", &[("Content-Type", "application/json")], &body)
    })
    .await;
    let proxy = Arc::new(
        Proxy::start_with(Options {
            binary: true,
            upstream: Upstream::Addr(crm.addr),
            extra_config: "[limits]\nmax_buffered_responses = 1\nsend_timeout_ms = 1500\n".into(),
            ..Default::default()
        })
        .await,
    );
    let list = "/crm/v3/objects/contacts?limit=100";
    let mut reader = h2_connect(&proxy).await;
    reader.ready().await.unwrap();
    let head = tokio::time::timeout(
        Duration::from_secs(10),
        reader.send_request(h2_get(&proxy, list)),
    )
    .await
    .expect("the slow reader gets its response head")
    .unwrap();
    assert_eq!(head.status(), 200);
    // It never reads the body. Another client asks meanwhile.
    let other = tokio::spawn({
        let p = proxy.clone();
        async move { p.get(list, "noelle", None).await }
    });
    // Bounded wait for progress that must not happen while the budget is held.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !other.is_finished(),
        "a second response was buffered while the first was still unsent"
    );
    let reply = tokio::time::timeout(Duration::from_secs(10), other)
        .await
        .expect("served once the slow reader was cut off")
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.len() > 256 * 1024, "{}", reply.body.len());
    // The slow reader's body was cut, not completed.
    let read = tokio::time::timeout(Duration::from_secs(5), head.into_body().collect()).await;
    assert!(
        matches!(read, Ok(Err(_))),
        "the slow reader was not cut off"
    );
    let (_, metrics) = support::plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_connection_events_total{reason=\"send_timeout\"} 1"),
        "{metrics}"
    );
}

/// The buffering budget bounds the bodies held in memory, not the requests waiting for the
/// CRM: with a budget of one, a request whose CRM answers slowly holds no turn, and another
/// request is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_for_a_slow_crm_holds_no_buffering_turn() {
    let crm = democrm::DemoCrm::seeded();
    let reply = |id: &str| {
        let body = serde_json::to_vec(&crm.record_json("contacts", id).unwrap()).unwrap();
        support::http_response("200 OK", &[("Content-Type", "application/json")], &body)
    };
    let (slow_reply, fast_reply) = (reply("1001"), reply("1002"));
    let (addr, _) = delayed_crm(move |head| {
        if head.contains("/contacts/1001") {
            (Duration::from_millis(3000), slow_reply.clone())
        } else {
            (Duration::ZERO, fast_reply.clone())
        }
    })
    .await;
    let proxy = Arc::new(
        Proxy::start_with(Options {
            binary: true,
            upstream: Upstream::Addr(addr),
            extra_config: "[limits]\nmax_buffered_responses = 1\n".into(),
            ..Default::default()
        })
        .await,
    );
    let slow = tokio::spawn({
        let p = proxy.clone();
        async move { p.get(CONTACT, "noelle", None).await }
    });
    // Let the slow request reach the CRM.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fast = tokio::time::timeout(
        Duration::from_millis(2000),
        proxy.get("/crm/v3/objects/contacts/1002", "noelle", None),
    )
    .await
    .expect("answered while the other request waited for the CRM");
    assert_eq!(fast.status, 200, "{}", fast.text());
    assert_eq!(fast.json()["id"], "1002");
    assert!(!slow.is_finished(), "the slow CRM answered early");
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200, "{}", slow.text());
    assert_eq!(slow.json()["id"], "1001");
}

/// Finding 11: what never reached the pipeline — a failed or timed-out TLS handshake, a
/// request hyper refused itself (malformed, head too large), a connection refused by the
/// per-address limit — is counted by reason on `/metrics` and written to the audit log as
/// aggregated `connection_events` entries without client data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_by_the_http_layer_and_failed_handshakes_are_counted() {
    let mut proxy = Proxy::start_with(Options {
        binary: true,
        extra_config: "[limits]\nmax_connections_per_ip = 2\nheader_read_timeout_ms = 400\n".into(),
        audit_config: "connection_events_interval_s = 1".into(),
        ..Default::default()
    })
    .await;
    // Not TLS at all.
    let mut plain = TcpStream::connect(proxy.addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut sink)).await;
    drop(plain);
    // A handshake that never comes.
    let mut silent = TcpStream::connect(proxy.addr).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut sink)).await;
    drop(silent);
    // hyper answers these itself: a malformed request line, a head too large.
    let malformed = proxy
        .raw(b"GET /x HTTP/1.1 extra\r\nHost: localhost\r\n\r\n")
        .await;
    assert_eq!(malformed.status, 400);
    let big = format!(
        "GET {CONTACT} HTTP/1.1\r\nHost: localhost\r\n{AUTH}X-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let too_large = proxy.raw(big.as_bytes()).await;
    assert_eq!(too_large.status, 431);
    // Beyond the per-address limit, once the connections above are closed on the proxy's
    // side too (a slot is free only when the proxy has seen its connection end).
    for _ in 0..100 {
        let metrics = support::plain_get(proxy.admin, "/metrics").await.1;
        if metrics.contains("crmgate_connections_open 0\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _a = tls_connect(&proxy, None).await;
    let _b = tls_connect(&proxy, None).await;
    let mut third = TcpStream::connect(proxy.addr).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut sink)).await;
    drop((_a, _b, third));

    let expected = [
        "tls_handshake_failed",
        "tls_handshake_timeout",
        "http_malformed",
        "http_head_too_large",
        "per_ip_limit",
    ];
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = support::plain_get(proxy.admin, "/metrics").await.1;
        if expected.iter().all(|r| {
            metrics.contains(&format!(
                "crmgate_connection_events_total{{reason=\"{r}\"}} 1"
            ))
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for r in expected {
        assert!(
            metrics.contains(&format!(
                "crmgate_connection_events_total{{reason=\"{r}\"}} 1"
            )),
            "{r}: {metrics}"
        );
    }
    // None of them reached the pipeline: no request records.
    assert!(proxy.audit().is_empty(), "{:?}", proxy.audit());
    assert!(proxy.crm().received().is_empty());

    // The audit log: aggregated entries, counts by reason, no addresses.
    let totals = |proxy: &Proxy| {
        let mut totals = std::collections::BTreeMap::<String, u64>::new();
        let entries: Vec<Value> = audit_entries(proxy)
            .into_iter()
            .filter(|e| e["kind"] == "connection_events")
            .collect();
        for e in &entries {
            for (k, v) in e["counts"].as_object().unwrap() {
                *totals.entry(k.clone()).or_default() += v.as_u64().unwrap();
            }
        }
        (totals, entries)
    };
    eventually(Duration::from_secs(10), || {
        let (t, _) = totals(&proxy);
        expected.iter().all(|r| t.get(*r) == Some(&1))
    })
    .await;
    let (t, entries) = totals(&proxy);
    for r in expected {
        assert_eq!(t.get(r), Some(&1), "{r}: {entries:#?}");
    }
    assert!(entries.len() <= expected.len(), "aggregated: {entries:#?}");
    for e in &entries {
        assert!(e["since"].is_string() && e["until"].is_string(), "{e}");
        let text = e.to_string();
        assert!(!text.contains("127.0.0.1"), "no client address: {text}");
    }
    // Stopped first: the proxy writes `connection_events` entries every second, and a live
    // segment may end in a line still being written.
    proxy.stop();
    let report = crmgate::audit::verify::verify_dir(&proxy.audit_dir(), None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
}

/// Issue 21, item 6: an HTTP/2 request whose client went away while uploading its body
/// (stream reset, or connection dropped) was audited as a 400 without `client_cancelled`.
/// It is audited as cancelled, and nothing of it was forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cancelled_during_its_body_upload_is_audited_as_cancelled() {
    let proxy = Proxy::start_with(Options {
        binary: true,
        ..Default::default()
    })
    .await;
    for (id, drop_connection) in [("upload-reset", false), ("upload-dropped", true)] {
        let tls = tls_connect(&proxy, Some(b"h2")).await;
        let (client, conn) = h2::client::handshake(tls).await.unwrap();
        let driver = tokio::spawn(conn);
        let mut client = client.ready().await.unwrap();
        let req = http::Request::post(format!(
            "https://localhost:{}/crm/v3/objects/contacts/search",
            proxy.addr.port()
        ))
        .header("authorization", "Bearer demo-key-noelle")
        .header("content-type", "application/json")
        .header("x-request-id", id)
        .body(())
        .unwrap();
        let (_response, mut upload) = client.send_request(req, false).unwrap();
        upload
            .send_data(
                Bytes::from_static(b"{\"filterGroups\": [{\"filters\""),
                false,
            )
            .unwrap();
        // Headers and part of the body are on their way; crmgate authorizes the request
        // and waits for the rest (not a timing assertion: either way the body is cut).
        tokio::time::sleep(Duration::from_millis(300)).await;
        if drop_connection {
            driver.abort();
            drop((upload, client));
        } else {
            upload.send_reset(h2::Reason::CANCEL);
        }
    }
    let records = |proxy: &Proxy| {
        proxy
            .audit()
            .into_iter()
            .filter(|r| {
                r["client_request_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("upload-"))
            })
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(15), || records(&proxy).len() >= 2).await;
    let records = records(&proxy);
    assert_eq!(records.len(), 2, "{records:#?}");
    for r in &records {
        assert_eq!(r["principal"], "noelle", "{r}");
        assert_eq!(r["route"], "contacts.search", "{r}");
        assert_eq!(r["client_cancelled"], true, "{r}");
        assert!(r["upstream_status"].is_null(), "{r}");
    }
    assert!(proxy.crm().received().is_empty(), "nothing was forwarded");
}
