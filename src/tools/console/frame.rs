//! What every console page shares: the guard (a live session, the role, the CSRF token of
//! the session on every form), the frame around a page (navigation, language switch,
//! sign-out), a document of `crmgate docs` set into a page with its own style allowed by
//! hash, and the audit record of a view of personal data.
//!
//! It must never let a page with personal data go out before its record is durable, nor
//! answer a form whose CSRF token is not its session's.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use minijinja::{context, Value};
use sha2::{Digest, Sha256};

use crate::audit::event::{AuditEvent, ReviewEntry};

use super::session::Session;
use super::state::{Console, Req, REVIEW_PURPOSE};
use super::util::CSP;
use super::view::{self, word, Lang};

pub type Answer = Response<Full<Bytes>>;

/// The navigation: (path, word).
const NAV: [(&str, &str); 5] = [
    ("/", "overview"),
    ("/concept", "concept"),
    ("/subjects", "subjects"),
    ("/log", "log"),
    ("/deletion", "deletion"),
];

/// A message page (sign-in needed, not permitted, …).
pub fn message(r: &Req, status: StatusCode, heading: &str, text: &str, sign_in: bool) -> Answer {
    let ctx = context! {
        lang => r.lang.code(), w => view::words(r.lang), title => heading,
        heading => heading, message => text, sign_in => sign_in,
    };
    match view::render("message.html", ctx) {
        Ok(body) => super::util::html(status, body),
        Err(_) => super::util::plain(status, text),
    }
}

/// The session of a request that may see a console page, or the answer that refuses it:
/// 401 without a live session, 403 for a form without the session's CSRF token.
pub fn guard(r: &Req) -> Result<&Session, Box<Answer>> {
    let Some(s) = &r.session else {
        return Err(Box::new(message(
            r,
            StatusCode::UNAUTHORIZED,
            word(r.lang, "sign_in"),
            word(r.lang, "expired"),
            true,
        )));
    };
    if r.method == Method::POST {
        let sent = r.f("csrf").unwrap_or("");
        // fail closed: a missing token is a wrong one; compared in constant time.
        if sent.is_empty() || !super::util::same(sent, &s.csrf) {
            return Err(Box::new(message(
                r,
                StatusCode::FORBIDDEN,
                word(r.lang, "forbidden"),
                word(r.lang, "csrf"),
                false,
            )));
        }
    }
    Ok(s)
}

/// Refuse the security role where subject data would show.
pub fn dpo_only(r: &Req, s: &Session) -> Result<(), Box<Answer>> {
    if s.is_dpo() {
        return Ok(());
    }
    Err(Box::new(message(
        r,
        StatusCode::FORBIDDEN,
        word(r.lang, "forbidden"),
        word(r.lang, "security_no_subject"),
        false,
    )))
}

/// The frame's values for a page: language, words, navigation, the user, the CSRF token.
pub fn base(r: &Req, s: &Session, current: &str) -> Value {
    let nav: Vec<Value> = NAV
        .iter()
        .map(|(href, key)| {
            context! { href => href, label => word(r.lang, key), current => *href == current }
        })
        .collect();
    let title = NAV
        .iter()
        .find(|(h, _)| *h == current)
        .map(|(_, k)| word(r.lang, k))
        .unwrap_or("");
    context! {
        lang => r.lang.code(), w => view::words(r.lang), nav => nav, title => title,
        user => s.user, roles => s.roles.join(", "), csrf => s.csrf,
    }
}

/// A page from `template` with the frame and `extra` values.
pub fn page(r: &Req, s: &Session, current: &str, template: &str, extra: Value) -> Answer {
    let ctx = context! { ..extra, ..base(r, s, current) };
    match view::render(template, ctx) {
        Ok(body) => super::util::html(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(error = %e, "console page failed");
            super::util::plain(StatusCode::INTERNAL_SERVER_ERROR, "page failed")
        }
    }
}

/// The style block and the body of a document `crmgate docs` rendered as HTML.
pub fn split_doc(doc_html: &str) -> (String, String) {
    let style = doc_html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(s, _)| s.to_string())
        .unwrap_or_default()
        // The document's page rules are the article's in the console: the console's
        // frame keeps its own font and width.
        .replace("html{", ".document{")
        .replace("body{", ".document{");
    let body = doc_html
        .split_once("<body>")
        .and_then(|(_, rest)| rest.rsplit_once("</body>"))
        .map(|(b, _)| b.to_string())
        .unwrap_or_default();
    (style, body)
}

/// A document set into a console page; `before` and `after` are HTML the console made.
pub fn document_page(
    r: &Req,
    s: &Session,
    current: &str,
    doc_html: &str,
    before: String,
    after: String,
) -> Answer {
    let (style, body) = split_doc(doc_html);
    let extra = context! { doc_style => style, doc_body => body, before => before, after => after };
    let mut resp = page(r, s, current, "document.html", extra);
    // The document's own style block is allowed by its hash, nothing else inline.
    let hash = super::util::b64(&Sha256::digest(style.as_bytes()));
    let csp = CSP.replace(
        "style-src 'self'",
        &format!("style-src 'self' 'sha256-{hash}'"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert("content-security-policy", v);
    }
    resp
}

/// A file to download.
pub fn download(ctype: &'static str, name: &str, body: String) -> Answer {
    let mut r = super::util::html(StatusCode::OK, body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// Write the record of a view of personal data and wait until it is durable. The page may
/// be sent only on `Ok`.
pub async fn record_view(
    c: &Console,
    s: &Session,
    page: &'static str,
    subject: Option<String>,
    scope: Option<String>,
) -> Result<(), String> {
    let entry = ReviewEntry {
        kind: "console_view",
        time: super::util::now_rfc3339(),
        request_id: uuid::Uuid::new_v4().to_string(),
        principal: s.user.clone(),
        roles: s.roles.clone(),
        purpose: REVIEW_PURPOSE,
        page: Some(page),
        subject,
        scope,
        ..Default::default()
    };
    c.audit
        .write(AuditEvent::Review(Box::new(entry)))
        .await
        .map_err(|e| e.to_string())
}

/// The answer when the record of a view could not be written: no record, no page.
pub fn unrecorded(r: &Req, e: &str) -> Answer {
    tracing::error!(error = %e, "console view not recorded: page withheld");
    let text = if r.lang == Lang::De {
        "Der Zugriff konnte nicht protokolliert werden; die Seite wird nicht angezeigt."
    } else {
        "The view could not be recorded in the audit log; the page is withheld."
    };
    message(r, StatusCode::SERVICE_UNAVAILABLE, "503", text, false)
}

/// The approvals in the console's log, oldest first: (time, who, revision, sha, comment).
pub fn approvals(console_dir: &std::path::Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let Ok(segs) = crate::audit::list_segments(console_dir) else {
        return out;
    };
    for (_, path) in segs {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().filter(|l| l.contains("\"approval\"")) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if v.get("kind").and_then(serde_json::Value::as_str) == Some("approval") {
                    out.push(v);
                }
            }
        }
    }
    out
}
