//! `crmgate demo` starts the data protection officer's console too: the demo binary,
//! started as the README says (here on free ports), prints the console's URL and how the
//! DPO signs in; over real sockets the console refuses without a session, the DPO signs in
//! through the demo's identity provider (authorization code with PKCE), sees the overview
//! and answers an access request for contact 1001 with the copy read through the demo's
//! crmgate; a user without the role gets no session.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{demo_command, https_client, parse_response, ChildGuard, Reply, TestClient};

pub(crate) async fn get(client: &TestClient, url: &str, cookie: Option<&str>) -> Reply {
    let mut b = http::Request::get(url);
    if let Some(c) = cookie {
        b = b.header(http::header::COOKIE, c);
    }
    let resp = client
        .request(b.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `POST` a form to the identity provider (plain HTTP on loopback).
async fn post_form(url: &str, form: &str) -> Reply {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}

/// `name=value` of the response's `Set-Cookie` for `name`.
fn cookie(r: &Reply, name: &str) -> String {
    r.headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie: {r:?}"))
        .to_string()
}

fn location(r: &Reply) -> String {
    r.headers
        .get(http::header::LOCATION)
        .unwrap_or_else(|| panic!("no Location: {} {}", r.status, r.text()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Sign in as `user` at the console `base`: the callback's answer and the session cookie.
pub(crate) async fn sign_in(
    client: &TestClient,
    base: &str,
    user: &str,
) -> (Reply, Option<String>) {
    let login = get(client, &format!("{base}/login"), None).await;
    assert_eq!(login.status, 303, "{}", login.text());
    let binding = cookie(&login, "__Host-console-login");
    let authorize = location(&login);
    let (endpoint, query) = authorize.split_once('?').unwrap();
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if [
            "client_id",
            "redirect_uri",
            "state",
            "nonce",
            "code_challenge",
        ]
        .contains(&&*k)
        {
            form.append_pair(&k, &v);
        }
    }
    form.append_pair("user", user);
    let chosen = post_form(endpoint, &form.finish()).await;
    assert_eq!(chosen.status, 303, "{}", chosen.text());
    let callback = location(&chosen);
    assert!(callback.starts_with(base), "{callback}");
    let back = get(client, &callback, Some(&binding)).await;
    let session = back
        .headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-console=") && !v.contains("Max-Age=0"))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    (back, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_the_console_and_prints_how_the_dpo_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = demo_command(d).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _demo = ChildGuard::from_child(child);
    let printed = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut out = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            if line.starts_with("Serving until") {
                break;
            }
        }
        out
    });
    let printed = tokio::time::timeout(Duration::from_secs(120), printed)
        .await
        .expect("the demo did not finish its tour")
        .unwrap();
    let line = printed
        .lines()
        .find(|l| l.contains("DPO console (TLS):"))
        .unwrap_or_else(|| panic!("no console line:\n{printed}"));
    let base = line.split_whitespace().last().unwrap().to_string();
    assert!(base.starts_with("https://localhost:"), "{line}");
    assert!(
        printed.contains("sign in as `mira` (the data protection officer)"),
        "{printed}"
    );

    let client = https_client();
    let anonymous = get(&client, &format!("{base}/"), None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());

    let (back, session) = sign_in(&client, &base, "mira").await;
    assert_eq!(back.status, 200, "{}", back.text());
    let session = session.expect("a session for the data protection officer");
    let overview = get(&client, &format!("{base}/"), Some(&session)).await;
    assert_eq!(overview.status, 200, "{}", overview.text());
    assert!(
        overview.text().contains("mira (dpo)"),
        "{}",
        overview.text()
    );
    let answer = get(
        &client,
        &format!("{base}/subjects/contact/1001"),
        Some(&session),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let page = answer.text();
    assert!(
        page.contains("Copy of your data (Art. 15(3) GDPR)"),
        "{page}"
    );
    assert!(
        !page.contains("This answer was made without the copy"),
        "{page}"
    );

    let (refused, none) = sign_in(&client, &base, "holly").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(none.is_none(), "no session for a user without the role");
}
