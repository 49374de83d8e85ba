//! The way upstream: HTTPS with a private CA, response headers allowlisted, and a
//! connection that saw a framing error never reused.

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{http_response, Options, Proxy, RawUpstream, Upstream, UPSTREAM_TOKEN};

fn list_body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"results": [{
        "id": "7", "properties": {"firstname": name, "lastname": "Person",
            "lifecyclestage": "customer", "billing_iban": "DE00SECRETIBAN"},
        "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z", "archived": false
    }]}))
    .unwrap()
}

fn json_ok(body: &[u8], keep_alive: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        }
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Serve one connection: answer each request head with `respond(connection, request)`,
/// recording the heads; keep the connection open until the peer closes it.
async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    conn: usize,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
    respond: Arc<dyn Fn(usize, usize) -> Vec<u8> + Send + Sync>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut n_req = 0;
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            seen.lock().unwrap().push((conn, head));
            if s.write_all(&respond(conn, n_req)).await.is_err() {
                return;
            }
            n_req += 1;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A keep-alive fake upstream, plain or TLS.
async fn fake_upstream(
    tls: Option<tokio_rustls::TlsAcceptor>,
    respond: impl Fn(usize, usize) -> Vec<u8> + Send + Sync + 'static,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<(usize, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let respond: Arc<dyn Fn(usize, usize) -> Vec<u8> + Send + Sync> = Arc::new(respond);
    let s2 = seen.clone();
    tokio::spawn(async move {
        let mut conn = 0;
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (seen, respond, tls) = (s2.clone(), respond.clone(), tls.clone());
            let c = conn;
            conn += 1;
            tokio::spawn(async move {
                match tls {
                    None => serve_conn(tcp, c, seen, respond).await,
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(tcp).await {
                            serve_conn(s, c, seen, respond).await;
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// A private CA and a server certificate for 127.0.0.1 it signed.
fn private_pki() -> (String, tokio_rustls::TlsAcceptor) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    (
        ca_cert.pem(),
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_with_a_private_ca_is_verified_and_used() {
    let (ca_pem, acceptor) = private_pki();
    let (addr, seen) = fake_upstream(Some(acceptor), |_, _| json_ok(&list_body("Tls"), true)).await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        upstream_ca: Some(ca_pem.into_bytes()),
        ..Options::default()
    })
    .await;
    let reply = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["results"][0]["properties"]["firstname"], "Tls");
    assert!(!reply.text().contains("SECRETIBAN"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0]
        .1
        .to_ascii_lowercase()
        .contains(&format!("authorization: bearer {}", UPSTREAM_TOKEN).to_ascii_lowercase()));

    // An upstream whose certificate the configured CA did not sign is never talked to.
    let (_, other_acceptor) = private_pki();
    let (addr, seen) = fake_upstream(Some(other_acceptor), |_, _| {
        json_ok(&list_body("Tls"), true)
    })
    .await;
    let (ca_pem, _) = private_pki();
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        upstream_ca: Some(ca_pem.into_bytes()),
        ..Options::default()
    })
    .await;
    let reply = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(proxy.audit_of(&reply)["reason"], "upstream-unavailable");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowlisted_response_headers_reach_the_client() {
    let raw = RawUpstream::start(|_| {
        http_response(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Set-Cookie", "crm_session=secret; HttpOnly"),
                ("X-Internal-Host", "crm-node-7.internal"),
                ("Server", "VendorCRM/9.1"),
                ("ETag", "\"upstream-etag\""),
                ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
                ("Access-Control-Allow-Origin", "*"),
                ("X-HubSpot-RateLimit-Remaining", "99"),
                ("Strict-Transport-Security", "max-age=1"),
            ],
            &list_body("Header"),
        )
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        ..Options::default()
    })
    .await;
    let reply = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut names: Vec<&str> = reply.headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    for n in &names {
        assert!(
            [
                "cache-control",
                "content-length",
                "content-type",
                "date",
                "etag",
                "x-request-id"
            ]
            .contains(n),
            "upstream header `{n}` reached the client"
        );
    }
    assert_ne!(reply.headers["etag"], "\"upstream-etag\"");
    assert_eq!(reply.headers["cache-control"], "private, no-store");
    assert_eq!(raw.received.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_saw_a_framing_error_is_never_reused() {
    // Control: a well-behaved keep-alive upstream gets both requests on one connection,
    // so the pool does reuse connections — and the cases below show when it must not.
    let (addr, seen) = fake_upstream(None, |_, _| json_ok(&list_body("Pooled"), true)).await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        let r = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let conns: Vec<usize> = seen.lock().unwrap().iter().map(|(c, _)| *c).collect();
    assert_eq!(conns, vec![0, 0]);

    // Connection 0 answers its first request with a body longer than its Content-Length:
    // the surplus is a complete second response, smuggled. Were the connection reused, the
    // next request would be answered by the smuggled bytes.
    let smuggled = json_ok(&list_body("Smuggled"), true);
    let (addr, seen) = fake_upstream(None, move |conn, _| {
        if conn == 0 {
            let mut out = json_ok(&list_body("First"), true);
            out.extend_from_slice(&smuggled);
            out
        } else {
            json_ok(&list_body("Fresh"), true)
        }
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    let first = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert!(!first.text().contains("Smuggled"), "{}", first.text());
    let second = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        second.json()["results"][0]["properties"]["firstname"],
        "Fresh"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![0, 1],
        "the second request went over the connection with the surplus bytes"
    );

    // A chunked body with a broken chunk: 502, and that connection is not used again.
    let (addr, seen) = fake_upstream(None, move |conn, _| {
        if conn == 0 {
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec()
        } else {
            json_ok(&list_body("Fresh"), true)
        }
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    let bad = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(bad.status, 502, "{}", bad.text());
    assert_eq!(proxy.audit_of(&bad)["reason"], "unfilterable-response");
    let good = proxy.get("/crm/v3/objects/contacts", "noelle", None).await;
    assert_eq!(good.status, 200, "{}", good.text());
    let conns: Vec<usize> = seen.lock().unwrap().iter().map(|(c, _)| *c).collect();
    assert_eq!(conns, vec![0, 1]);
}

/// A fake CRM that reads each request whole (head and `Content-Length` body), answers it
/// with `respond(n, head)` (`n` counts requests from 0) and closes the connection; it
/// records the request heads.
async fn counting_upstream(
    respond: impl Fn(usize, &str) -> Vec<u8> + Send + Sync + 'static,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let respond = Arc::new(respond);
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (seen, respond) = (s2.clone(), respond.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let end = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < end + length {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(head.clone());
                    seen.len() - 1
                };
                let _ = s.write_all(&respond(n, &head)).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, seen)
}

/// HubSpot's answer when a limit is reached: status, `Retry-After`, its rate-limit headers
/// and its error body (which names a record here, and must not be passed on).
fn hubspot_429(retry_after: &str) -> Vec<u8> {
    http_response(
        "429 Too Many Requests",
        &[
            ("Content-Type", "application/json;charset=utf-8"),
            ("Retry-After", retry_after),
            ("X-HubSpot-RateLimit-Daily", "250000"),
            ("X-HubSpot-RateLimit-Daily-Remaining", "249000"),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
            ("X-HubSpot-RateLimit-Max", "110"),
            ("X-HubSpot-RateLimit-Remaining", "0"),
            ("X-Internal-Host", "crm-node-7.internal"),
        ],
        br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit (contact 1001, scrooge@example.org).","errorType":"RATE_LIMIT","correlationId":"3a0e8e3c-0d6a-4d4b-9d1f-2f3c4e5d6a7b","policyName":"TEN_SECONDLY_ROLLING","groupName":"publicapi:private-app-api-calls"}"#,
    )
}

/// Every signal of the CRM's 429 is in `reply`, in HubSpot's error shape with crmgate's
/// problem type and request id, nothing else of the CRM's answer, and the audit says so.
fn assert_passed_429(proxy: &Proxy, what: &str, reply: &crate::support::Reply, after: &str) {
    assert_eq!(reply.status, 429, "{what}: {}", reply.text());
    assert_eq!(reply.headers["retry-after"], after, "{what}");
    for (name, value) in [
        ("x-hubspot-ratelimit-daily", "250000"),
        ("x-hubspot-ratelimit-daily-remaining", "249000"),
        ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
        ("x-hubspot-ratelimit-max", "110"),
        ("x-hubspot-ratelimit-remaining", "0"),
    ] {
        assert_eq!(
            reply.headers.get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{what}: {name}"
        );
    }
    assert!(reply.headers.get("x-internal-host").is_none(), "{what}");
    let body = reply.json();
    assert_eq!(body["category"], "RATE_LIMITS", "{what}: {body}");
    assert_eq!(body["type"], "urn:crmgate:problem:upstream-rate-limited");
    assert_eq!(body["status"], 429);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    let rid = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(body["request_id"], rid);
    assert!(body["correlationId"].is_string() && body["message"].is_string());
    assert!(!reply.text().contains("1001") && !reply.text().contains("scrooge"));
    let audit = proxy.audit_of(reply);
    assert_eq!(audit["status"], 429, "{what}: {audit}");
    assert_eq!(audit["reason"], "upstream-rate-limited", "{what}: {audit}");
    assert_eq!(audit["upstream_status"], 429, "{what}: {audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_429_reaches_the_client_with_its_retry_signals() {
    let (addr, seen) = counting_upstream(|_, _| hubspot_429("7")).await;
    let proxy = Proxy::start_with(Options {
        binary: true,
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    let c = "/crm/v3/objects/contacts";
    let customer = json!({"properties": {"firstname": "Flo", "lastname": "Drift",
        "email": "flo.drift@example.org", "lifecyclestage": "customer"}});
    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        ("a record", "GET", format!("{c}/1001"), None),
        (
            "a list page (refilled)",
            "GET",
            format!("{c}?limit=5"),
            None,
        ),
        (
            "a search (counted)",
            "POST",
            format!("{c}/search"),
            Some(json!({"filterGroups": [{"filters": [
                {"propertyName": "lastname", "operator": "HAS_PROPERTY"}]}], "limit": 5})),
        ),
        (
            "a batch read",
            "POST",
            format!("{c}/batch/read"),
            Some(json!({"inputs": [{"id": "1001"}], "properties": ["firstname"]})),
        ),
        (
            "an update (its prior read)",
            "PATCH",
            format!("{c}/1001"),
            Some(json!({"properties": {"firstname": "Nick"}})),
        ),
        ("a create", "POST", c.to_string(), Some(customer)),
    ];
    for (what, method, path, body) in cases {
        let before = seen.lock().unwrap().len();
        let reply = proxy
            .request(method, &path, Some("noelle"), None, body)
            .await;
        assert_passed_429(&proxy, what, &reply, "7");
        // One CRM request, answered: nothing retried, nothing walked on.
        assert_eq!(seen.lock().unwrap().len(), before + 1, "{what}");
    }
    // A `Retry-After` that is not a number of seconds or an HTTP date is not passed on.
    let (addr, _) = counting_upstream(|_, _| hubspot_429("soon; node=crm-7")).await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    let reply = proxy.get(&format!("{c}/1001"), "noelle", None).await;
    assert_eq!(reply.status, 429);
    assert!(reply.headers.get("retry-after").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refill_walk_stops_at_the_first_429() {
    // The CRM answers one page (one customer, which sales sees, among five, and a next
    // page), then its limit is reached.
    let record = |id: usize, stage: &str| {
        json!({"id": id.to_string(), "properties": {"firstname": "A", "lifecyclestage": stage},
            "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z", "archived": false})
    };
    let page = serde_json::to_vec(&json!({
        "total": 50,
        "results": [record(1, "customer"), record(2, "lead"), record(3, "lead"), record(4, "other"), record(5, "lead")],
        "paging": {"next": {"after": "5"}}
    }))
    .unwrap();
    let (addr, seen) = counting_upstream(move |n, _| {
        if n % 2 == 0 {
            http_response("200 OK", &[("Content-Type", "application/json")], &page)
        } else {
            hubspot_429("3")
        }
    })
    .await;
    let proxy = Proxy::start_with(Options {
        binary: true,
        upstream: Upstream::Addr(addr),
        ..Options::default()
    })
    .await;
    // A list page refilled over what the caller is shown: the walk ends at the 429.
    let reply = proxy
        .get("/crm/v3/objects/contacts?limit=10", "noelle", None)
        .await;
    assert_passed_429(&proxy, "a refilled list", &reply, "3");
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the walk went on after the 429"
    );
    // A search counted over what the caller is shown: the same.
    let reply = proxy
        .post(
            "/crm/v3/objects/contacts/search",
            "noelle",
            None,
            json!({"filterGroups": [{"filters": [
                {"propertyName": "lastname", "operator": "HAS_PROPERTY"}]}], "limit": 5}),
        )
        .await;
    assert_passed_429(&proxy, "a counted search", &reply, "3");
    assert_eq!(
        seen.lock().unwrap().len(),
        4,
        "the walk went on after the 429"
    );
    assert!(proxy.audit_of(&reply)["records"]
        .as_array()
        .is_none_or(|r| r.is_empty()));
}
