//! The way upstream: HTTPS with a private CA, response headers allowlisted, and a
//! connection that saw a framing error never reused.

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::json;
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
