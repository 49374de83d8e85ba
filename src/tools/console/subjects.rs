//! Subject requests: find a person by record id or e-mail address — the address is looked
//! up through crmgate's own pipeline (authorized, filtered and audited like any request)
//! and only the record id it leads to goes further — then the Art. 15 answer for that
//! record: the document of `crmgate docs subject-access` with a copy of the data as
//! crmgate reads it, previewed, and downloaded as HTML (print it for a PDF) or JSON.
//!
//! Every preview and download is a view of personal data: its audit record is durable
//! before the page leaves. It must never put an e-mail address in a URL, a log line or the
//! audit log, nor show a subject to anyone but a signed-in `dpo`.

use std::fmt::Write as _;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use minijinja::context;
use serde_json::{json, Map, Value};

use crate::audit::query::{norm_type, query, Filter};
use crate::tools::docs::{render, subject};

use super::frame::{document_page, dpo_only, message, record_view, unrecorded, Answer};
use super::session::Session;
use super::state::{Console, Req};
use super::view::word;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /subjects`: the search form (and what a search found not).
pub fn search(r: &Req, s: &Session, note: Option<&str>) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let before = format!(
        "<h1>{}</h1><form method=\"post\" action=\"/subjects\" id=\"find\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>{} <input name=\"q\" id=\"q\" autocomplete=\"off\" placeholder=\"1001 · contact/1001 · name@example.org\"></label> \
         <button type=\"submit\">{}</button></form>{}",
        word(r.lang, "subjects"),
        esc(&s.csrf),
        word(r.lang, "find"),
        word(r.lang, "find_button"),
        note.map(|n| format!("<p class=\"bad\" id=\"note\">{}</p>", esc(n)))
            .unwrap_or_default()
    );
    let extra = context! { before => before };
    super::frame::page(r, s, "/subjects", "document.html", extra)
}

/// The resource a URL's or form's type names (`contact` → `Contact`).
fn resource(c: &Console, t: &str) -> Option<std::sync::Arc<crate::routes::ResourceProfile>> {
    let t = norm_type(t);
    c.gateway
        .policies()
        .routes
        .resources()
        .find(|r| norm_type(&r.entity_type) == t)
        .cloned()
}

/// One read of a record through crmgate's pipeline with the console's credential: by id,
/// or by the vendor's lookup property (an e-mail address). The answer's record, if shown.
async fn read(c: &Console, t: &str, key: &str, by_email: bool) -> Option<Map<String, Value>> {
    let res = resource(c, t)?;
    let cred = c.lookup_key.as_deref()?;
    let policies = c.gateway.policies();
    let vendor = &policies.vendor;
    let mut path = vendor
        .get_request(vendor.client_collection(&res), &percent(key), &[])
        .path;
    if by_email {
        let param = vendor.lookup_param()?;
        let sep = if path.contains('?') { '&' } else { '?' };
        let _ = write!(path, "{sep}{param}=email");
    }
    let req = http::Request::get(path)
        .header(http::header::HOST, "localhost")
        .header(http::header::AUTHORIZATION, format!("Bearer {cred}"))
        .header("x-purpose", c.lookup_purpose.as_str())
        .body(http_body_util::Full::new(Bytes::new()))
        .ok()?;
    let resp = c
        .gateway
        .handle(req, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await;
    if !resp.status().is_success() {
        tracing::info!(status = %resp.status(), "console lookup through crmgate answered no record");
        return None;
    }
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    match serde_json::from_slice::<Value>(&body).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A path segment: what would end or split it encoded, the rest (`@`, `.`) as a client
/// sends it.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'"')
    .add(b'<')
    .add(b'>');

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn record_id(m: &Map<String, Value>) -> Option<String> {
    ["id", "Id"]
        .iter()
        .find_map(|k| m.get(*k))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// `POST /subjects`: find the person, then their page (by id only).
pub async fn find(c: &Console, r: &Req, s: &Session) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let q = r.f("q").unwrap_or("").trim();
    let (t, key) = q.split_once('/').unwrap_or(("contact", q));
    if key.is_empty() || resource(c, t).is_none() {
        return search(r, s, Some(word(r.lang, "not_found")));
    }
    let found = if key.contains('@') {
        read(c, t, key, true).await.as_ref().and_then(record_id)
    } else if key
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        Some(key.to_string())
    } else {
        None
    };
    match found {
        Some(id) => super::util::redirect(&format!("/subjects/{}/{}", norm_type(t), percent(&id))),
        None => search(r, s, Some(word(r.lang, "not_found"))),
    }
}

/// The copy of the data, as an HTML table the console made (every value escaped).
fn copy_table(r: &Req, data: &Map<String, Value>) -> String {
    let title = if r.lang == super::view::Lang::De {
        "Kopie der Daten (Art. 15 Abs. 3 DSGVO), über crmgate gelesen"
    } else {
        "Copy of the data (Art. 15(3) GDPR), read through crmgate"
    };
    let mut s = format!("<h2 id=\"copy\">{title}</h2><table class=\"copy\"><tbody>");
    let props = data
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(data);
    for (k, v) in props {
        let v = match v {
            Value::String(x) => x.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let _ = write!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    s.push_str("</tbody></table>");
    s
}

/// `GET /subjects/<type>/<id>[/download]`.
pub async fn subject(c: &Console, r: &Req, s: &Session, rest: &str) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let (rest, download) = match rest.strip_suffix("/download") {
        Some(x) => (x, true),
        None => (rest, false),
    };
    let Some((t, id)) = rest.split_once('/') else {
        return message(r, StatusCode::NOT_FOUND, "404", "not found", false);
    };
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8_lossy()
        .to_string();
    if resource(c, t).is_none() || id.is_empty() || id.contains('/') {
        return message(r, StatusCode::NOT_FOUND, "404", "not found", false);
    }
    let t = norm_type(t);
    let filter = Filter {
        record: Some((t.clone(), id.clone())),
        ..Default::default()
    };
    let hits = match query(&c.config.audit.dir, &filter) {
        Ok((h, _)) => h,
        Err(e) => return message(r, StatusCode::SERVICE_UNAVAILABLE, "503", &e, false),
    };
    let policies = c.gateway.policies();
    let pc = c.concept();
    let sa = subject::compute(
        &c.config,
        &policies,
        &pc,
        &hits,
        (&t, &id),
        false,
        r.lang,
        None,
    );
    let doc = subject::document(&sa, &c.config, r.lang);
    let data = read(c, &t, &id, false).await.unwrap_or_default();
    let format = r.q("format").unwrap_or("html");
    let page_name = if download {
        "subject_download"
    } else {
        "subject"
    };
    // fail closed: the view is on record before any of it leaves.
    if let Err(e) = record_view(c, s, page_name, Some(format!("{t}/{id}")), None).await {
        return unrecorded(r, &e);
    }
    let html = render::html(&doc);
    if download && format == "json" {
        let body = json!({ "answer": sa, "copy_of_data": data });
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        return super::frame::download("application/json", &format!("art15-{t}-{id}.json"), text);
    }
    // The copy is part of the answer: in the download, and in the printed page.
    let full = html.replacen("</body>", &format!("{}</body>", copy_table(r, &data)), 1);
    if download {
        return super::frame::download(
            "text/html; charset=utf-8",
            &format!("art15-{t}-{id}.html"),
            full,
        );
    }
    let base = format!("/subjects/{t}/{}", percent(&id));
    let before = format!(
        "<p class=\"downloads\">{}: <a id=\"download-html\" href=\"{base}/download?format=html\">HTML</a> · \
         <a id=\"download-json\" href=\"{base}/download?format=json\">JSON</a> · {}</p>",
        word(r.lang, "download"),
        word(r.lang, "print"),
    );
    document_page(r, s, "/subjects", &full, before, String::new())
}
