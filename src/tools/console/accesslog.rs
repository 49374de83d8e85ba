//! The access log page: the proxy's audit records, filtered by person, department,
//! purpose, decision and time, newest first, a page at a time, and exported as CSV.
//!
//! It names employees and record ids: every page and every export is a view of personal
//! data, on record before it leaves. The security role sees it without record ids. It must
//! never show a field value (the log holds none) nor accept a filter it does not parse.

use std::fmt::Write as _;

use http::StatusCode;
use minijinja::context;
use serde_json::Value;

use crate::audit::query::{parse_time, query, Filter, Hit};

use super::frame::{download, message, page as frame_page, record_view, unrecorded, Answer};
use super::session::Session;
use super::state::{Console, Req};
use super::view::word;

/// Rows per page.
const PAGE: usize = 25;

/// The filter fields, as the form names them.
const FIELDS: [&str; 6] = [
    "user",
    "department",
    "purpose",
    "decision",
    "since",
    "until",
];

#[derive(serde::Serialize)]
struct Row {
    time: String,
    principal: String,
    department: String,
    purpose: String,
    request: String,
    decision: String,
    /// The decision in words (the page's; `decision` stays the log's name).
    decision_words: String,
    reason: String,
    records: String,
}

fn filter(r: &Req) -> Result<Filter, String> {
    let opt = |k: &str| r.q(k).map(str::to_string);
    let time = |k: &str| r.q(k).map(parse_time).transpose();
    Ok(Filter {
        user: opt("user"),
        department: opt("department"),
        purpose: opt("purpose"),
        decision: opt("decision"),
        since: time("since")?,
        until: time("until")?,
        record: None,
    })
}

fn row(h: &Hit, ids: bool) -> Row {
    let v = &h.value;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let records = if ids {
        crate::audit::query::record_keys(v)
            .into_iter()
            .map(|k| k.trim_start_matches("r:").to_string())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        "—".to_string()
    };
    Row {
        time: s("time"),
        principal: s("principal"),
        department: s("department"),
        purpose: s("purpose"),
        request: format!("{} {}", s("method"), s("path")),
        decision: s("decision"),
        decision_words: String::new(),
        reason: s("reason"),
        records,
    }
}

/// The filter as the query string that repeats it (paging, export).
fn query_string(r: &Req) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for k in FIELDS {
        if let Some(v) = r.q(k) {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// The records of the filter, newest first.
fn rows(c: &Console, r: &Req, s: &Session) -> Result<Vec<Row>, String> {
    let f = filter(r)?;
    let (hits, _) = query(&c.config.audit.dir, &f)?;
    Ok(hits.iter().rev().map(|h| row(h, s.is_dpo())).collect())
}

/// A row as a person reads it: departments, purposes, decisions and reasons in the words
/// of the documents' label tables (the CSV keeps the log's names).
fn in_words(c: &Console, lang: crate::tools::docs::Lang, mut x: Row) -> Row {
    let config = &c.config;
    if !x.department.is_empty() && x.department != "-" {
        x.department = lang.department(config, &x.department);
    }
    if !x.purpose.is_empty() && x.purpose != "-" {
        x.purpose = lang.purpose(config, &x.purpose);
    }
    if !x.reason.is_empty() && x.reason != "-" {
        x.reason = super::overview::reason_words(config, lang, &x.reason);
    }
    x.decision_words = word(lang, &x.decision).to_string();
    x
}

/// `GET /log`.
pub async fn page(c: &Console, r: &Req, s: &Session) -> Answer {
    let all = match rows(c, r, s) {
        Ok(x) => x,
        Err(e) => return message(r, StatusCode::BAD_REQUEST, "400", &e, false),
    };
    let pages = all.len().div_ceil(PAGE).max(1);
    let page: usize = r
        .q("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let shown: Vec<Row> = all
        .into_iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .map(|x| in_words(c, r.lang, x))
        .collect();
    let qs = query_string(r);
    if let Err(e) = record_view(c, s, "access_log", None, Some(qs.clone())).await {
        return unrecorded(r, &e);
    }
    let f: std::collections::BTreeMap<&str, &str> =
        FIELDS.iter().map(|k| (*k, r.q(k).unwrap_or(""))).collect();
    let total = (pages - 1) * PAGE + shown.len();
    let extra = context! {
        rows => shown, page => page, pages => pages, qs => qs, f => f, total => total,
    };
    frame_page(r, s, "/log", "log.html", extra)
}

fn csv_cell(s: &str) -> String {
    // A cell a spreadsheet would run as a formula starts with a quote.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /log.csv`: every record of the filter.
pub async fn csv(c: &Console, r: &Req, s: &Session) -> Answer {
    let all = match rows(c, r, s) {
        Ok(x) => x,
        Err(e) => return message(r, StatusCode::BAD_REQUEST, "400", &e, false),
    };
    let mut out = String::from("time,person,department,purpose,request,decision,reason,records\n");
    for x in &all {
        let cells = [
            &x.time,
            &x.principal,
            &x.department,
            &x.purpose,
            &x.request,
            &x.decision,
            &x.reason,
            &x.records,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    }
    if let Err(e) = record_view(c, s, "access_log_csv", None, Some(query_string(r))).await {
        return unrecorded(r, &e);
    }
    download("text/csv; charset=utf-8", "access-log.csv", out)
}
