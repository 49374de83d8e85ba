//! The OAuth 2.0 upstream credential: crmgate fetches its token from a token endpoint the
//! test starts, refreshes it before it expires (one fetch for many waiting requests),
//! renews a token the CRM refuses as expired once for a read and never for a write, refuses
//! cleanly when the endpoint fails, and never shows the token to anyone.
//!
//! The CRM here is a front started by the test: it serves the token endpoint, accepts only
//! the tokens it issued (a 401 `INVALID_SESSION_ID` for any other) and passes accepted
//! requests on to the seeded demo CRM.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{
    audit_entries, plain_get, serve_demo_crm, Options, Proxy, Upstream, UPSTREAM_TOKEN,
};

/// In every token the endpoint issues: found nowhere crmgate answers or writes.
const TOKEN_MARK: &str = "sessQ9zK7wTOKEN";
/// The client secret crmgate is configured with.
const CLIENT_SECRET: &str = "client-secret-Vb81mN";

/// A token endpoint and a CRM that accepts only its tokens.
#[derive(Clone, Default)]
struct Front {
    grants: Arc<AtomicUsize>,
    /// The token endpoint answers 400 `invalid_client`.
    failing: Arc<AtomicBool>,
    /// Tokens still accepted.
    valid: Arc<Mutex<HashSet<String>>>,
    /// The session ends just as the next PATCH arrives (after crmgate's read before it).
    end_at_write: Arc<AtomicBool>,
    /// Every grant's form, as received.
    forms: Arc<Mutex<Vec<String>>>,
    /// Every CRM request (method and path) the front received, accepted or not.
    calls: Arc<Mutex<Vec<String>>>,
    crm: Option<SocketAddr>,
}

impl Front {
    async fn start() -> (Front, SocketAddr) {
        let front = Front {
            crm: Some(serve_demo_crm().await),
            ..Front::default()
        };
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let f = front.clone();
        tokio::spawn(async move {
            let client: Client<HttpConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build_http();
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                let (f, client) = (f.clone(), client.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| f.clone().answer(client.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        (front, addr)
    }

    fn grants(&self) -> usize {
        self.grants.load(Ordering::SeqCst)
    }

    /// Every issued token is refused from now on (a session ended at the CRM).
    fn end_sessions(&self) {
        self.valid.lock().unwrap().clear();
    }

    async fn answer(
        self,
        client: Client<HttpConnector, Full<Bytes>>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let json = |status: StatusCode, v: serde_json::Value| {
            Ok(Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(v.to_string())))
                .unwrap())
        };
        if parts.uri.path() == "/services/oauth2/token" {
            let n = self.grants.fetch_add(1, Ordering::SeqCst) + 1;
            self.forms
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            // A slow endpoint: requests that need a token meanwhile wait for this one.
            tokio::time::sleep(Duration::from_millis(150)).await;
            if self.failing.load(Ordering::SeqCst) {
                return json(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_client", "error_description": format!("client {CLIENT_SECRET} unknown")}),
                );
            }
            let token = format!("00Dxx!{TOKEN_MARK}{n}");
            self.valid.lock().unwrap().insert(token.clone());
            // As the CRM answers these grants: no `expires_in`.
            return json(
                StatusCode::OK,
                json!({"access_token": token, "instance_url": "http://127.0.0.1",
                       "id": "https://login.example/id/00Dxx/005xx", "token_type": "Bearer",
                       "issued_at": "1765100000000", "signature": "c2ln"}),
            );
        }
        self.calls
            .lock()
            .unwrap()
            .push(format!("{} {}", parts.method, parts.uri.path()));
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_string();
        if parts.method == http::Method::PATCH && self.end_at_write.swap(false, Ordering::SeqCst) {
            self.end_sessions();
        }
        if !self.valid.lock().unwrap().contains(&token) {
            return json(
                StatusCode::UNAUTHORIZED,
                json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
            );
        }
        let crm = self.crm.unwrap();
        let mut fwd = Request::builder()
            .method(parts.method.clone())
            .uri(format!(
                "http://{crm}{}",
                parts.uri.path_and_query().unwrap()
            ))
            .header("authorization", format!("Bearer {UPSTREAM_TOKEN}"));
        if let Some(ct) = parts.headers.get("content-type") {
            fwd = fwd.header("content-type", ct);
        }
        let res = client
            .request(fwd.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let (p, b) = res.into_parts();
        let b = b.collect().await.unwrap().to_bytes();
        Ok(Response::from_parts(p, Full::new(b)))
    }
}

/// crmgate in front of the front, with a client-credentials grant of `ttl_s`.
async fn proxy(front: SocketAddr, ttl_s: u64) -> Proxy {
    std::env::set_var("CRMGATE_TEST_OAUTH_SECRET", CLIENT_SECRET);
    Proxy::start_with(Options {
        upstream: Upstream::Addr(front),
        upstream_credential: Some(format!(
            "oauth = {{ token_url = \"http://{front}/services/oauth2/token\", grant = \"client_credentials\", \
             client_id = \"3MVG9crmgate\", client_secret_env = \"CRMGATE_TEST_OAUTH_SECRET\", token_ttl_s = {ttl_s} }}"
        )),
        ..Options::default()
    })
    .await
}

const CONTACT: &str = "/crm/v3/objects/contacts/1001";

#[tokio::test]
async fn the_token_is_fetched_once_and_refreshed_before_it_expires() {
    let (front, addr) = Front::start().await;
    let p = proxy(addr, 2).await;
    assert_eq!(front.grants(), 0, "no token before the first request");
    let r = p.get(CONTACT, "noelle", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(front.grants(), 1);
    let form = front.forms.lock().unwrap()[0].clone();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("client_id=3MVG9crmgate"), "{form}");
    assert!(
        form.contains(&format!("client_secret={CLIENT_SECRET}")),
        "{form}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.get(CONTACT, "noelle", None).await.status, 200);
    assert_eq!(front.grants(), 1, "the token is reused while it is fresh");
    // 80 % of a 2 s life: from 1.6 s after the grant the next request fetches a new one,
    // before the CRM would refuse the old.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(p.get(CONTACT, "noelle", None).await.status, 200);
    assert_eq!(front.grants(), 2, "refreshed at 80 % of its life");
    assert!(!front.calls.lock().unwrap().is_empty(), "the CRM was asked");
    let (_, metrics) = plain_get(p.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_upstream_token_fetches_total{result=\"ok\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch() {
    let (front, addr) = Front::start().await;
    let p = Arc::new(proxy(addr, 3600).await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            p.get(CONTACT, "noelle", None).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(front.grants(), 1, "one fetch for sixteen waiting requests");
}

#[tokio::test]
async fn a_failing_token_endpoint_refuses_cleanly_and_sends_nothing() {
    let (front, addr) = Front::start().await;
    front.failing.store(true, Ordering::SeqCst);
    let p = proxy(addr, 3600).await;
    let r = p.get(CONTACT, "noelle", None).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let text = r.text();
    assert!(
        !text.contains(CLIENT_SECRET) && !text.contains("invalid_client"),
        "{text}"
    );
    assert!(
        front.calls.lock().unwrap().is_empty(),
        "nothing reached the CRM without a token"
    );
    let record = p.audit_of(&r);
    assert_eq!(record["reason"], "upstream-unavailable", "{record}");
    let detail = record.to_string();
    assert!(detail.contains("token endpoint answered 400"), "{detail}");
    assert!(!detail.contains(CLIENT_SECRET), "{detail}");
    let (_, metrics) = plain_get(p.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_upstream_token_fetches_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    // The endpoint recovers: the next request (after the pause) is served.
    front.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(p.get(CONTACT, "noelle", None).await.status, 200);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_for_a_read_and_never_for_a_write() {
    let (front, addr) = Front::start().await;
    let p = proxy(addr, 3600).await;
    assert_eq!(p.get(CONTACT, "noelle", None).await.status, 200);
    front.end_sessions();
    let r = p.get(CONTACT, "noelle", None).await;
    assert_eq!(
        r.status,
        200,
        "a read is sent again with a new token: {}",
        r.text()
    );
    assert_eq!(front.grants(), 2);
    front.end_at_write.store(true, Ordering::SeqCst);
    front.calls.lock().unwrap().clear();
    let w = p
        .request(
            "PATCH",
            CONTACT,
            Some("noelle"),
            None,
            Some(json!({"properties": {"phone": "+49 30 1234567"}})),
        )
        .await;
    assert!(
        w.status == 502 || w.status == 503,
        "{} {}",
        w.status,
        w.text()
    );
    let patches = front
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.starts_with("PATCH"))
        .count();
    assert_eq!(patches, 1, "a write is sent once, never again");
    let record = p.audit_of(&w);
    assert!(
        record.to_string().contains("not sent again"),
        "the audit record says why: {record}"
    );
    // The refused token is dropped: the next request fetches a new one.
    assert_eq!(p.get(CONTACT, "noelle", None).await.status, 200);
    assert_eq!(front.grants(), 3);
}

#[tokio::test]
async fn the_token_never_reaches_a_caller_or_the_audit_log() {
    let (front, addr) = Front::start().await;
    let p = proxy(addr, 3600).await;
    let mut replies = vec![p.get(CONTACT, "noelle", None).await];
    front.end_at_write.store(true, Ordering::SeqCst);
    replies.push(
        p.request(
            "PATCH",
            CONTACT,
            Some("noelle"),
            None,
            Some(json!({"properties": {"phone": "+49 30 7654321"}})),
        )
        .await,
    );
    replies.push(
        p.get("/crm/v3/objects/contacts/999999", "noelle", None)
            .await,
    );
    for r in &replies {
        let headers = format!("{:?}", r.headers);
        assert!(!r.text().contains(TOKEN_MARK), "{}", r.text());
        assert!(!headers.contains(TOKEN_MARK), "{headers}");
    }
    for e in audit_entries(&p.audit_dir()) {
        let text = e.to_string();
        assert!(
            !text.contains(TOKEN_MARK) && !text.contains(CLIENT_SECRET),
            "{text}"
        );
    }
    let (_, metrics) = plain_get(p.admin, "/metrics").await;
    assert!(!metrics.contains(TOKEN_MARK));
}
