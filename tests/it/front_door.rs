//! The front door: ambiguous framing, header tricks and limits, sent as raw bytes over TLS
//! (clients normalise requests; these tests do not). Each asserts the status, that no CRM
//! data reached the client, what the CRM received (nothing, or exactly crmgate's headers),
//! and the audit reason.

use crate::support::{Proxy, Reply};

const AUTH: &str = "Authorization: Bearer demo-key-noelle\r\n";

fn assert_refused(proxy: &Proxy, reply: &Reply, status: u16, reason: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.json()["type"],
        format!("urn:crmgate:problem:{reason}"),
        "{}",
        reply.text()
    );
    assert!(!reply.text().contains("results"));
    assert_eq!(proxy.audit_of(reply)["reason"], reason);
}

/// Framing problems: 400, and the server closes the connection although the client did not
/// ask it to (`raw` reads until the server closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_framing_is_refused_and_the_connection_closed() {
    let proxy = Proxy::start().await;
    let p = "/crm/v3/objects/contacts";
    let cases = [
        ("missing Host", format!("GET {p} HTTP/1.1\r\n{AUTH}\r\n")),
        (
            "two Hosts",
            format!("GET {p} HTTP/1.1\r\nHost: localhost\r\nHost: crm.internal\r\n{AUTH}\r\n"),
        ),
        (
            "absolute-form naming another authority",
            format!("GET https://crm.internal{p} HTTP/1.1\r\nHost: localhost\r\n{AUTH}\r\n"),
        ),
        (
            "gzip, chunked",
            format!(
                "GET {p} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
            ),
        ),
        (
            ",chunked",
            format!(
                "GET {p} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n"
            ),
        ),
        (
            "two Transfer-Encoding headers",
            format!(
                "GET {p} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            ),
        ),
    ];
    for (name, req) in cases {
        let reply = proxy.raw(req.as_bytes()).await;
        assert_eq!(reply.status, 400, "{name}: {}", reply.text());
        assert_eq!(
            reply.headers.get("connection").map(|v| v.to_str().unwrap()),
            Some("close"),
            "{name}"
        );
        assert_refused(&proxy, &reply, 400, "bad-framing");
    }
    // Two different Content-Lengths: hyper refuses them itself (400, connection closed)
    // before the pipeline runs. (Identical duplicates, which hyper folds into one header,
    // are refused by crmgate: `duplicate_identical_content_length_is_refused`.)
    let reply = proxy
        .raw(
            format!(
                "POST {p}/search HTTP/1.1\r\nHost: localhost\r\n{AUTH}Content-Length: 2\r\nContent-Length: 7\r\n\r\n{{}}"
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(!reply.text().contains("results"));
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
}

/// A framing refusal: 400 `bad-framing`, the connection closed by the server (`raw` reads
/// until it is), and nothing sent to the CRM.
fn assert_framing_refused(proxy: &Proxy, reply: &Reply, name: &str) {
    assert_eq!(reply.status, 400, "{name}: {}", reply.text());
    assert_eq!(
        reply.headers.get("connection").map(|v| v.to_str().unwrap()),
        Some("close"),
        "{name}"
    );
    assert_refused(proxy, reply, 400, "bad-framing");
    assert!(
        proxy.crm().received().is_empty(),
        "{name}: {:?}",
        proxy.crm().received()
    );
}

/// `Host: h:p@evil.example` names `evil.example` to one reader and `h` to another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_with_userinfo_is_refused() {
    let proxy = Proxy::start_binary().await;
    let p = "/crm/v3/objects/contacts";
    for host in [
        "h:p@evil.example",
        "localhost@evil.example",
        "@localhost",
        "localhost:443@evil.example:8443",
    ] {
        let req = format!("GET {p} HTTP/1.1\r\nHost: {host}\r\n{AUTH}\r\n");
        let reply = proxy.raw(req.as_bytes()).await;
        assert_framing_refused(&proxy, &reply, host);
    }
    // An absolute-form target with userinfo, even when its host matches Host.
    let req = format!("GET https://h:p@localhost{p} HTTP/1.1\r\nHost: h:p@localhost\r\n{AUTH}\r\n");
    let reply = proxy.raw(req.as_bytes()).await;
    assert_framing_refused(&proxy, &reply, "absolute-form with userinfo");
    // A plain host with a port still passes.
    let req = format!(
        "GET {p}?limit=1 HTTP/1.1\r\nHost: localhost:8443\r\nConnection: close\r\n{AUTH}\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// hyper folds two identical `Content-Length` lines into one header before crmgate sees
/// the request; the README promises a 400 for a duplicate all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_identical_content_length_is_refused() {
    let proxy = Proxy::start_binary().await;
    let search = "/crm/v3/objects/contacts/search";
    let cases = [
        (
            "two identical lines",
            format!(
                "POST {search} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Content-Type: application/json\r\n\
                 Content-Length: 2\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
        ),
        (
            "identical lines apart, differently spelt",
            format!(
                "POST {search} HTTP/1.1\r\nContent-Length: 2\r\nHost: localhost\r\n{AUTH}\
                 Content-Type: application/json\r\ncontent-length: 2\r\n\r\n{{}}"
            ),
        ),
        (
            "a duplicate on the second request of a connection",
            format!(
                "GET /crm/v3/objects/contacts?limit=1 HTTP/1.1\r\nHost: localhost\r\n{AUTH}\r\n\
                 POST {search} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Content-Type: application/json\r\n\
                 Content-Length: 2\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
        ),
    ];
    for (name, req) in cases {
        let reply = proxy.raw(req.as_bytes()).await;
        if name.starts_with("a duplicate on the second") {
            // `raw` parses the first response; the second (the refusal) follows it.
            assert_eq!(reply.status, 200, "{name}: {}", reply.text());
            let text = reply.text();
            let second = text
                .find("HTTP/1.1 ")
                .map(|at| crate::support::parse_response(&reply.body[at..]))
                .unwrap_or_else(|| panic!("{name}: no second response in {text}"));
            assert_eq!(second.status, 400, "{name}: {}", second.text());
            assert_eq!(second.json()["type"], "urn:crmgate:problem:bad-framing");
            assert_eq!(proxy.crm().received().len(), 1, "{name}");
            continue;
        }
        assert_framing_refused(&proxy, &reply, name);
    }
}

/// `Content-Length: 010` is ten to hyper and eight to a reader that takes a leading zero
/// for octal: refused, whatever the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_leading_zeros_is_refused() {
    let proxy = Proxy::start_binary().await;
    let search = "/crm/v3/objects/contacts/search";
    let cases = [
        (
            "010 on a search",
            format!(
                "POST {search} HTTP/1.1\r\nHost: localhost\r\n{AUTH}Content-Type: application/json\r\n\
                 Content-Length: 010\r\n\r\n{{\"a\":true}}"
            ),
        ),
        (
            "000 on a GET",
            format!(
                "GET /crm/v3/objects/contacts?limit=1 HTTP/1.1\r\nHost: localhost\r\n{AUTH}Content-Length: 000\r\n\r\n"
            ),
        ),
    ];
    for (name, req) in cases {
        let reply = proxy.raw(req.as_bytes()).await;
        assert_framing_refused(&proxy, &reply, name);
    }
    // `Content-Length: 0` itself is fine.
    let req = format!(
        "GET /crm/v3/objects/contacts?limit=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}Content-Length: 0\r\n\r\n"
    );
    assert_eq!(proxy.raw(req.as_bytes()).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_tricks_and_odd_methods_are_refused() {
    let proxy = Proxy::start().await;
    let p = "/crm/v3/objects/contacts";
    let head = "Host: localhost\r\nConnection: close\r\n";
    let cases = [
        (
            format!("GET {p} HTTP/1.1\r\n{head}{AUTH}X_Purpose: greetings\r\n\r\n"),
            400,
            "bad-request",
        ),
        (
            format!("GET {p} HTTP/1.1\r\n{head}{AUTH}X-HTTP-Method-Override: DELETE\r\n\r\n"),
            400,
            "bad-request",
        ),
        (
            format!("GET {p} HTTP/1.1\r\n{head}{AUTH}X-Method-Override: DELETE\r\n\r\n"),
            400,
            "bad-request",
        ),
        (
            format!("GET {p}?_method=DELETE HTTP/1.1\r\n{head}{AUTH}\r\n"),
            400,
            "bad-request",
        ),
        (
            format!("TRACE {p} HTTP/1.1\r\n{head}{AUTH}\r\n"),
            405,
            "method-not-allowed",
        ),
        (
            format!("CONNECT crm.internal:443 HTTP/1.1\r\nHost: crm.internal:443\r\nConnection: close\r\n{AUTH}\r\n"),
            405,
            "method-not-allowed",
        ),
        (
            format!("PURGE {p} HTTP/1.1\r\n{head}{AUTH}\r\n"),
            405,
            "method-not-allowed",
        ),
    ];
    for (req, status, reason) in cases {
        let reply = proxy.raw(req.as_bytes()).await;
        assert_refused(&proxy, &reply, status, reason);
    }
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_and_client_identity_headers_never_reach_the_crm() {
    let proxy = Proxy::start().await;
    let req = "GET /crm/v3/objects/contacts/1001 HTTP/1.1\r\nHost: localhost\r\n\
        Authorization: Bearer demo-key-noelle\r\nX-Purpose: contract_fulfilment\r\n\
        Connection: close, X-Hop-Secret\r\nX-Hop-Secret: hop\r\nKeep-Alive: timeout=5\r\n\
        TE: trailers\r\nProxy-Authorization: Basic c2VjcmV0\r\nForwarded: for=6.6.6.6\r\n\
        X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: crm.internal\r\nX-Forwarded-Proto: http\r\n\
        X-Real-IP: 6.6.6.6\r\nX-Request-Id: client-chosen-id\r\nX-User: santa\r\n\
        Cookie: session=abc\r\nRange: bytes=0-10\r\nIf-Range: \"x\"\r\n\r\n";
    let reply = proxy.raw(req.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let received = proxy.crm().received();
    assert_eq!(received.len(), 1);
    let names: Vec<&str> = received[0]
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    for forbidden in [
        "x-hop-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
        "forwarded",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "x-purpose",
        "x-user",
        "cookie",
        "range",
        "if-range",
    ] {
        assert!(
            !names.contains(&forbidden),
            "`{forbidden}` reached the CRM: {names:?}"
        );
    }
    let get = |n: &str| {
        received[0]
            .headers
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    // X-Forwarded-For is the socket peer, once; the request id is crmgate's own.
    assert_eq!(get("x-forwarded-for"), vec!["127.0.0.1".to_string()]);
    let rid = get("x-request-id");
    assert_eq!(rid.len(), 1);
    assert_ne!(rid[0], "client-chosen-id");
    assert_eq!(
        reply.headers["x-request-id"].to_str().unwrap(),
        rid[0].as_str()
    );
    assert!(!get("authorization")[0].contains("demo-key"));
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["client_request_id"], "client-chosen-id");
    assert_eq!(audit["request_id"], rid[0].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_refused_before_they_are_read_and_continue_only_after_authorization() {
    let proxy = Proxy::start().await;
    let search = "/crm/v3/objects/contacts/search";
    // Unauthenticated, expecting 100-continue: the answer is the 401, never a 100 first.
    let req = format!(
        "POST {search} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_refused(&proxy, &reply, 401, "unauthenticated");
    // Authorized but declaring more than the limit: 413 before a byte is read (no 100).
    let req = format!(
        "POST {search} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}\
         Content-Type: application/json\r\nContent-Length: 104857600\r\nExpect: 100-continue\r\n\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_refused(&proxy, &reply, 413, "payload-too-large");
    // Denied by purpose: the body is never read either.
    let req = format!(
        "POST {search} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}\
         X-Purpose: greetings\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_refused(&proxy, &reply, 403, "purpose-not-allowed");
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_headers_are_refused_by_the_listener() {
    let proxy = Proxy::start().await;
    let many: String = (0..150).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let req = format!(
        "GET /crm/v3/objects/contacts HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}{many}\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_eq!(reply.status, 431, "{}", reply.text());
    let big = format!("X-Big: {}\r\n", "x".repeat(80 * 1024));
    let req = format!(
        "GET /crm/v3/objects/contacts HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}{big}\r\n"
    );
    let reply = proxy.raw(req.as_bytes()).await;
    assert_eq!(reply.status, 431, "{}", reply.text());
    // Refused by hyper before the pipeline: nothing forwarded, no CRM data returned.
    assert!(!reply.text().contains("results"));
    assert!(proxy.crm().received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_pass_the_same_checks() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    let proxy = Proxy::start().await;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(crate::support::client_tls(None))
        .https_only()
        .enable_http2()
        .build();
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build(https);
    let send = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("https://localhost:{}{path}", proxy.addr.port()));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        client.request(b.body(Full::new(Bytes::new())).unwrap())
    };
    let auth = ("authorization", "Bearer demo-key-noelle");
    // (method, path, headers, status, audit reason of a refusal)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        u16,
        Option<&'a str>,
    );
    let cases: [Case; 5] = [
        (
            "GET",
            "/crm/v3/objects/contacts?limit=2",
            vec![auth],
            200,
            None,
        ),
        (
            "GET",
            "/crm/v3/objects/contacts/%2e%2e",
            vec![auth],
            400,
            Some("bad-request"),
        ),
        (
            "TRACE",
            "/crm/v3/objects/contacts",
            vec![auth],
            405,
            Some("method-not-allowed"),
        ),
        (
            "GET",
            "/crm/v3/objects/contacts",
            vec![auth, ("x-http-method-override", "DELETE")],
            400,
            Some("bad-request"),
        ),
        (
            "GET",
            "/crm/v3/objects/contacts",
            vec![],
            401,
            Some("unauthenticated"),
        ),
    ];
    for (method, path, headers, status, reason) in cases {
        let resp = send(method, path, &headers).await.unwrap();
        assert_eq!(resp.version(), http::Version::HTTP_2);
        let (parts, body) = resp.into_parts();
        let reply = Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        };
        match reason {
            Some(r) => assert_refused(&proxy, &reply, status, r),
            None => assert_eq!(reply.status, status, "{}", reply.text()),
        }
    }
    assert_eq!(proxy.crm().received().len(), 1);
}

/// Each path-confusion form, as raw bytes (a client library would normalise most of them
/// away before they reach crmgate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ambiguous_path_form_is_refused_and_never_forwarded() {
    let proxy = Proxy::start().await;
    let forms = [
        "/crm/v3/objects/contacts/../companies",
        "/crm/v3/objects/contacts/./1001",
        "/crm/v3/objects/contacts/%2e%2e/companies",
        "/crm/v3/objects/contacts/%2E/1001",
        "/crm/v3/objects/contacts%2f1001",
        "/crm/v3/objects/contacts%5c1001",
        "/crm/v3/objects/contacts\\1001",
        "/crm/v3/objects/contacts;jsessionid=1/1001",
        "/crm/v3/objects/contacts/..;/companies",
        "/crm/v3/objects/contacts/1001%3bx",
        "/crm/v3/objects/contacts/%252e%252e",
        "/crm/v3/objects/contacts/1001%00",
        "/crm/v3/objects/contacts/1001%0d%0aX-Injected:%201",
        "/crm/v3//objects/contacts",
        "/crm/v3/objects/contacts/",
    ];
    for path in forms {
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{AUTH}\r\n");
        let reply = proxy.raw(req.as_bytes()).await;
        // hyper itself refuses some raw bytes (`\`) before the pipeline: 400 either way.
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert!(!reply.text().contains("results"), "{path}");
        if reply.headers.contains_key("x-request-id") {
            assert_eq!(proxy.audit_of(&reply)["reason"], "bad-request", "{path}");
        }
    }
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
}

/// Limits on time: a body that does not arrive answers 408; a head that does not arrive
/// closes the connection. (No sleeps: the test waits for the server's own answer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = Proxy::start_with(crate::support::Options {
        extra_config: "[limits]\nheader_read_timeout_ms = 300\nrequest_timeout_ms = 300\n".into(),
        ..Default::default()
    })
    .await;
    let connect = || async {
        let connector =
            tokio_rustls::TlsConnector::from(std::sync::Arc::new(crate::support::client_tls(None)));
        let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.unwrap()
    };
    // An authorized search whose body never comes.
    let mut tls = connect().await;
    tls.write_all(
        format!(
            "POST /crm/v3/objects/contacts/search HTTP/1.1\r\nHost: localhost\r\n{AUTH}\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"li"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let reply = crate::support::parse_response(&out);
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert_eq!(proxy.audit_of(&reply)["reason"], "request-timeout");
    // A head that never ends: the connection is closed without a request reaching anyone.
    let mut tls = connect().await;
    tls.write_all(b"GET /crm/v3/objects/contacts HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    assert!(
        !String::from_utf8_lossy(&out).contains("results"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(proxy.crm().received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_a_slot_is_free() {
    let proxy = Proxy::start_with(crate::support::Options {
        extra_config: "[limits]\nmax_connections = 1\n".into(),
        ..Default::default()
    })
    .await;
    // One connection that never finishes its TLS handshake holds the only slot.
    let holder = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let pending = tokio::spawn({
        let proxy = std::sync::Arc::new(proxy);
        let p = proxy.clone();
        async move {
            (
                p.get("/crm/v3/objects/contacts/1001", "noelle", None).await,
                proxy,
            )
        }
    });
    // Bounded wait for progress that must not happen while the slot is taken.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !pending.is_finished(),
        "a connection beyond the limit was served"
    );
    drop(holder);
    let (reply, proxy) = tokio::time::timeout(std::time::Duration::from_secs(10), pending)
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(proxy.crm().received().len(), 1);
}
