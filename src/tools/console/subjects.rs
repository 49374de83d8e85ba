//! Subject requests: find a person by record id or e-mail address — the address is looked
//! up through crmgate (the data protection officer's own read under the purpose
//! `data_subject_access`, authorized, filtered and audited in crmgate's log like any
//! request) and only the record id it leads to goes further — then the Art. 15 answer for
//! that record: `crmgate docs subject-access`'s answer ([`docs::subject_access_with`]),
//! with the copy of the data read the same way, and the accesses from the audit log (the
//! central store when one is configured: every replica). Previewed, and downloaded as HTML
//! (print it for a PDF) or JSON.
//!
//! Every preview and download is a view of personal data: its audit record is durable
//! before the page leaves. It must never put an e-mail address in a URL, a log line or the
//! audit log, never show a subject to anyone but a signed-in `dpo`, and never show an
//! answer whose copy could not be read (fail closed: an error page instead).

use http::StatusCode;
use minijinja::context;

use crate::audit::query::norm_type;
use crate::tools::docs::copy::{self, Key};
use crate::tools::docs::render::esc;
use crate::tools::docs::{self, render, subject, today, SubjectRequest};

use super::frame::{document_page, dpo_only, message, record_view, unrecorded, Answer};
use super::session::Session;
use super::state::{Console, Req};
use super::view::word;

/// The property an e-mail address is looked up by.
const LOOKUP_PROPERTY: &str = "email";

/// `GET /subjects`: the search form (and what a search found not).
pub fn search(r: &Req, s: &Session, note: Option<&str>) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let before = format!(
        "<h1>{}</h1><form method=\"post\" action=\"/subjects\" id=\"find\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>{} <input name=\"q\" id=\"q\" size=\"40\" autocomplete=\"off\" placeholder=\"1001 · contact/1001 · name@example.org\"></label> \
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

/// A path segment: what would end or split it encoded, the rest as a client sends it.
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

/// A record id as a URL may carry it.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}

/// `POST /subjects`: find the person, then their page (by id only). The form is a POST:
/// an e-mail address never rides in a URL.
pub async fn find(c: &Console, r: &Req, s: &Session) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let q = r.f("q").unwrap_or("").trim();
    let subject = if q.contains('/') || q.contains('@') {
        q.to_string()
    } else {
        format!("contact/{q}")
    };
    let not_found = || search(r, s, Some(word(r.lang, "not_found")));
    let Ok((t, key)) = Key::parse(&subject, LOOKUP_PROPERTY) else {
        return not_found();
    };
    let policies = c.gateway.policies();
    let Some(res) = copy::resource(&policies, &t) else {
        return not_found();
    };
    let id = match key {
        Key::Id(id) => id,
        Key::Lookup { .. } => {
            // fail closed: without the DPO's key there is no lookup, and no guess.
            let Some(conn) = &c.copy else {
                return search(r, s, Some(word(r.lang, "no_copy")));
            };
            match copy::read(&policies, conn, res, &key).await {
                Ok(found) => match found.record_id.filter(|_| found.held) {
                    Some(id) => id,
                    None => return not_found(),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "console lookup through crmgate failed");
                    return search(r, s, Some(word(r.lang, "lookup_failed")));
                }
            }
        }
    };
    if !plain_id(&id) {
        return not_found();
    }
    super::util::redirect(&format!("/subjects/{}/{}", norm_type(&t), percent(&id)))
}

/// The answer to the access request for `t/id`, as `crmgate docs subject-access` makes it.
async fn answer(c: &Console, r: &Req, t: &str, id: &str) -> Result<subject::SubjectAccess, String> {
    // fail closed: an answer without its copy would look complete; it is not made.
    let conn = c.copy.clone().ok_or(word(r.lang, "no_copy"))?;
    let req = SubjectRequest {
        subject: format!("{t}/{id}"),
        lookup_property: LOOKUP_PROPERTY.into(),
        copy_through: Some(conn),
        audit: c.audit_source.clone(),
        name_employees: false,
        lang: r.lang,
        date: today(),
    };
    let policies = c.gateway.policies();
    let pc = c.concept();
    docs::subject_access_with(&c.config, &policies, &pc, &req).await
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
    let t = norm_type(t);
    if copy::resource(&c.gateway.policies(), &t).is_none() || !plain_id(&id) {
        return message(r, StatusCode::NOT_FOUND, "404", "not found", false);
    }
    let sa = match answer(c, r, &t, &id).await {
        Ok(sa) => sa,
        Err(e) => {
            tracing::warn!(error = %e, "console: no answer to the access request");
            return message(
                r,
                StatusCode::BAD_GATEWAY,
                word(r.lang, "no_answer"),
                &e,
                false,
            );
        }
    };
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
    if download && format == "json" {
        let text = serde_json::to_string_pretty(&sa).unwrap_or_default();
        return super::frame::download("application/json", &format!("art15-{t}-{id}.json"), text);
    }
    let html = render::html(&subject::document(&sa, &c.config, r.lang));
    if download {
        return super::frame::download(
            "text/html; charset=utf-8",
            &format!("art15-{t}-{id}.html"),
            html,
        );
    }
    let base = format!("/subjects/{t}/{}", percent(&id));
    let before = format!(
        "<p class=\"downloads\">{}: <a id=\"download-html\" href=\"{base}/download?format=html\">HTML</a> · \
         <a id=\"download-json\" href=\"{base}/download?format=json\">JSON</a> · {}</p>",
        word(r.lang, "download"),
        word(r.lang, "print"),
    );
    document_page(r, s, "/subjects", &html, before, String::new())
}
