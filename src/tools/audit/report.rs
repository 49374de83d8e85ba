//! `crmgate audit query`'s output: a table of requests, and the GDPR Art. 15 subject report
//! (Markdown or HTML) for one data subject, rendered from the records the query found.
//!
//! It reads what the audit log holds and must never add to it: no field value is ever in a
//! record, so none can reach a report.

use std::fmt::Write as _;

use serde_json::Value;

use crate::audit::query::{cell, names_associated, norm_type, Filter, Hit};

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("-")
}

/// The audit entry for one record inside a request record.
fn record_entry<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v.get("records")?
        .as_array()?
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
}

/// A shadow route released the upstream body unfiltered: every record it named was shown
/// in full. (Records written before `would_have` existed listed the records a shadow
/// release would have withheld under `rows_dropped`; they were shown all the same.)
fn shadow_released(v: &Value, id: &str) -> bool {
    v.get("shadow").and_then(Value::as_bool) == Some(true)
        && (record_entry(v, id).is_some()
            || v.get("rows_dropped")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|d| d.as_str() == Some(id))))
}

/// Was the record shown in this request (in any form)?
fn shown(v: &Value, t: &str, id: &str) -> bool {
    let own_type = v
        .get("resource")
        .and_then(Value::as_str)
        .is_some_and(|r| norm_type(r) == t);
    own_type && (record_entry(v, id).is_some() || shadow_released(v, id))
}

/// The clear and masked columns for one record of a request.
fn shown_fields(v: &Value, id: &str) -> (String, String) {
    let r = record_entry(v, id);
    if shadow_released(v, id) {
        let groups = list(r.and_then(|r| r.get("clear")));
        let all = if groups == "-" {
            "all field groups".to_string()
        } else {
            groups
        };
        return (format!("unfiltered (shadow route): {all}"), "-".into());
    }
    (
        list(r.and_then(|r| r.get("clear"))),
        list(r.and_then(|r| r.get("masked"))),
    )
}

fn list(v: Option<&Value>) -> String {
    let items: Vec<String> = match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, kind)| format!("{k} ({})", kind.as_str().unwrap_or("?")))
            .collect(),
        _ => Vec::new(),
    };
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// A readable table, one line per request.
pub fn render_table(hits: &[Hit], filter: &Filter) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:>8} {:<10} {:<17} {:<20} {:<8} {:>6}  {:<44} fields",
        "time", "seq", "user", "department", "purpose", "decision", "status", "request"
    );
    for h in hits {
        let v = &h.value;
        let fields = match &filter.record {
            Some((t, id)) if shown(v, t, id) => {
                let (clear, masked) = shown_fields(v, id);
                format!("clear: {clear}; masked: {masked}")
            }
            Some((t, id)) if names_associated(v, t, id) => "id only, as associated".into(),
            Some(_) => "withheld".into(),
            None => format!(
                "{} records",
                v.get("records")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            ),
        };
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:<10} {:<17} {:<20} {:<8} {:>6}  {:<44} {fields}",
            str_of(v, "time"),
            v.get("seq").and_then(Value::as_u64).unwrap_or_default(),
            str_of(v, "principal"),
            str_of(v, "department"),
            str_of(v, "purpose"),
            str_of(v, "decision"),
            v.get("status").and_then(Value::as_u64).unwrap_or_default(),
            format!("{} {}", str_of(v, "method"), str_of(v, "path")),
        );
    }
    out
}

/// The data subject's report (GDPR Art. 15(1)(c)): who saw which of their data, when and
/// for which purpose; then the requests that named them but got nothing.
pub fn render_subject_report(hits: &[Hit], filter: &Filter, source: &str) -> String {
    let (t, id) = filter.record.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "# Access report for {t} {id}\n");
    let _ = writeln!(
        out,
        "Generated {} from {source}{}{}.\n",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        filter
            .since
            .as_ref()
            .map(|s| format!(", since {s}"))
            .unwrap_or_default(),
        filter
            .until
            .as_ref()
            .map(|s| format!(", until {s}"))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        out,
        "Each line is one request through crmgate that returned this person's record. \
         \"Clear\" field groups were shown as stored; \"masked\" ones only in the form named \
         (for example only day and month of a birthday); all other groups were removed \
         before the data left crmgate. A request on a route in shadow mode (policies watched \
         but not enforced) received the record unfiltered, with all its data: such lines \
         say \"unfiltered\". The log is hash-chained and signed; `crmgate audit verify` \
         proves it unaltered.\n"
    );
    let (seen, rest): (Vec<&Hit>, Vec<&Hit>) = hits.iter().partition(|h| shown(&h.value, &t, &id));
    // An answer about another record that named this one as associated showed its id.
    let (linked, withheld): (Vec<&Hit>, Vec<&Hit>) = rest
        .into_iter()
        .partition(|h| names_associated(&h.value, &t, &id));
    let _ = writeln!(out, "## Accesses ({})\n", seen.len());
    if seen.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| When (UTC) | Who | Department | Purpose | Request | Clear | Masked |\n|---|---|---|---|---|---|---|"
        );
        for h in &seen {
            let v = &h.value;
            let (clear, masked) = shown_fields(v, &id);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} {} | {} | {} |",
                cell(str_of(v, "time")),
                cell(str_of(v, "principal")),
                cell(str_of(v, "department")),
                cell(str_of(v, "purpose")),
                cell(str_of(v, "method")),
                cell(str_of(v, "path")),
                cell(&clear),
                cell(&masked),
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "## Requests whose answer named this record as associated ({})\n",
        linked.len()
    );
    if !linked.is_empty() {
        let _ = writeln!(
            out,
            "Each of these requests asked for another record (a company, say); its answer \
             listed this record's id among that record's associations, and nothing else of \
             it.\n"
        );
    }
    request_table(&mut out, &linked);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "## Requests that named this record but were not shown it ({})\n",
        withheld.len()
    );
    request_table(&mut out, &withheld);
    out
}

/// A subject report's table of requests (who asked, when, for which purpose), or `None.`
fn request_table(out: &mut String, hits: &[&Hit]) {
    if hits.is_empty() {
        let _ = writeln!(out, "None.");
        return;
    }
    let _ = writeln!(
        out,
        "| When (UTC) | Who | Department | Purpose | Request |\n|---|---|---|---|---|"
    );
    for h in hits {
        let v = &h.value;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} {} |",
            cell(str_of(v, "time")),
            cell(str_of(v, "principal")),
            cell(str_of(v, "department")),
            cell(str_of(v, "purpose")),
            cell(str_of(v, "method")),
            cell(str_of(v, "path")),
        );
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown's inline code (`` `crmgate audit verify` ``) as `<code>`, in escaped text; a
/// line with an odd number of backticks is left as it is.
fn inline_code(esc: &str) -> String {
    let parts: Vec<&str> = esc.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return esc.to_string();
    }
    let mut out = String::with_capacity(esc.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The subject report as a self-contained HTML page (the Markdown report, rendered).
pub fn render_subject_report_html(hits: &[Hit], filter: &Filter, source: &str) -> String {
    let md = render_subject_report(hits, filter, source);
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Access report</title>\n\
         <style>body{font-family:sans-serif;max-width:70em;margin:2em auto}\
         table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}</style>\n\
         </head><body>\n",
    );
    let mut in_table = false;
    for line in md.lines() {
        let esc = html_escape(line);
        if let Some(cells) = line.strip_prefix('|') {
            if line.starts_with("|---") {
                continue;
            }
            let cells: Vec<String> = cells
                .trim_end_matches('|')
                .split(" | ")
                .map(|c| html_escape(&c.trim().replace("\\|", "|")))
                .collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>\n");
                in_table = true;
            }
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(out, "<{tag}>{c}</{tag}>");
            }
            out.push_str("</tr>\n");
            continue;
        }
        if in_table {
            out.push_str("</table>\n");
            in_table = false;
        }
        let esc = inline_code(&esc);
        if let Some(h) = esc.strip_prefix("## ") {
            let _ = writeln!(out, "<h2>{h}</h2>");
        } else if let Some(h) = esc.strip_prefix("# ") {
            let _ = writeln!(out, "<h1>{h}</h1>");
        } else if !esc.is_empty() {
            let _ = writeln!(out, "<p>{esc}</p>");
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
