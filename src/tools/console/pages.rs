//! The console's routes: the stylesheet, sign-in (start, the identity provider's redirect
//! back, sign-out) and one handler per page.
//!
//! It must never create a session without a verified ID token of an allowed role, nor
//! route a page around the guard of [`super::frame`].

use http::{header, HeaderValue, Method, StatusCode};

use super::frame::{guard, message, Answer};
use super::session::{clear_cookie, login_cookie, session_cookie, LOGIN_COOKIE};
use super::state::{Console, Req, ROLES};
use super::view::{self, word};

/// Route one request.
pub async fn route(c: &Console, r: &Req) -> Answer {
    let path = r.path.as_str();
    match (&r.method, path) {
        (&Method::GET, "/static/console.css") => {
            let mut a = super::util::plain(StatusCode::OK, view::CSS);
            a.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css"));
            a
        }
        (&Method::GET, "/login") => login(c, r).await,
        (&Method::GET, "/callback") => callback(c, r).await,
        (&Method::POST, "/logout") => logout(c, r),
        _ => guarded(c, r).await,
    }
}

async fn guarded(c: &Console, r: &Req) -> Answer {
    let s = match guard(r) {
        Ok(s) => s,
        Err(a) => return *a,
    };
    let path = r.path.as_str();
    match (&r.method, path) {
        (&Method::GET, "/") => super::overview::page(c, r, s).await,
        (&Method::GET, "/concept") => super::concept::page(c, r, s),
        (&Method::POST, "/concept/approve") => super::concept::approve(c, r, s).await,
        (&Method::GET, "/deletion") => super::concept::deletion(c, r, s).await,
        (&Method::GET, "/subjects") => super::subjects::search(r, s, None),
        (&Method::POST, "/subjects") => super::subjects::find(c, r, s).await,
        (&Method::GET, "/log") => super::accesslog::page(c, r, s).await,
        (&Method::GET, "/log.csv") => super::accesslog::csv(c, r, s).await,
        (&Method::GET, p) if p.starts_with("/subjects/") => {
            super::subjects::subject(c, r, s, p.trim_start_matches("/subjects/")).await
        }
        _ => message(r, StatusCode::NOT_FOUND, "404", "not found", false),
    }
}

/// Start a sign-in: a pending state bound to this browser, then the identity provider.
async fn login(c: &Console, r: &Req) -> Answer {
    let discovery = match c.oidc.discover().await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "identity provider unavailable");
            return message(r, StatusCode::BAD_GATEWAY, "502", &e, false);
        }
    };
    let Ok((state, p)) = c.sessions.begin() else {
        return super::util::plain(StatusCode::INTERNAL_SERVER_ERROR, "no sign-in state");
    };
    let url = c
        .oidc
        .authorize_url(&discovery, &state, &p.nonce, &p.verifier);
    let mut a = super::util::redirect(&url);
    if let Ok(v) = HeaderValue::from_str(&login_cookie(&p.binding)) {
        a.headers_mut().append(header::SET_COOKIE, v);
    }
    a
}

/// The identity provider's redirect back: the state is this browser's pending sign-in,
/// the code is exchanged and the ID token verified; a session only for an allowed role.
async fn callback(c: &Console, r: &Req) -> Answer {
    let refuse = |why: &str| {
        tracing::warn!(reason = why, "console sign-in refused");
        message(
            r,
            StatusCode::FORBIDDEN,
            word(r.lang, "forbidden"),
            why,
            true,
        )
    };
    let (Some(code), Some(state)) = (r.q("code"), r.q("state")) else {
        return refuse("the sign-in answer lacks its code or state");
    };
    // fail closed: an unknown, used or expired state, or another browser's, is refused.
    let Some(p) = c.sessions.finish(state) else {
        return refuse("unknown or expired sign-in state");
    };
    if !r
        .cookie(LOGIN_COOKIE)
        .is_some_and(|b| super::util::same(b, &p.binding))
    {
        return refuse("the sign-in was started in another browser");
    }
    let id = match c.oidc.complete(code, &p.verifier, &p.nonce).await {
        Ok(id) => id,
        Err(e) => return refuse(&e),
    };
    let roles: Vec<String> = id
        .roles
        .iter()
        .filter(|r| ROLES.contains(&r.as_str()))
        .cloned()
        .collect();
    if roles.is_empty() {
        tracing::warn!(user = %id.user, "console sign-in without an allowed role");
        return message(
            r,
            StatusCode::FORBIDDEN,
            word(r.lang, "forbidden"),
            word(r.lang, "no_role"),
            false,
        );
    }
    let Ok(s) = c.sessions.create(id.user, roles) else {
        return super::util::plain(StatusCode::INTERNAL_SERVER_ERROR, "no session");
    };
    // A page of the console's own that moves on: the session cookie is Strict, and a
    // redirect chain that began at the identity provider would not carry it.
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=/\">\
         <title>crmgate</title></head><body><p><a href=\"/\">{}</a></p></body></html>",
        word(r.lang, "overview")
    );
    let mut a = super::util::html(StatusCode::OK, body);
    for cookie in [session_cookie(&s.id), clear_cookie(LOGIN_COOKIE)] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            a.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    a
}

fn logout(c: &Console, r: &Req) -> Answer {
    let s = match guard(r) {
        Ok(s) => s,
        Err(a) => return *a,
    };
    c.sessions.end(&s.id);
    let mut a = super::util::redirect("/");
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(super::session::COOKIE)) {
        a.headers_mut().append(header::SET_COOKIE, v);
    }
    a
}
