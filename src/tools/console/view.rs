//! The console's pages as templates (minijinja, autoescaped: every value is escaped unless
//! it is HTML the console made itself), its words in English and German, its stylesheet
//! (print styles included) and its charts as SVG drawn here.
//!
//! It must never mark text from a request, the audit log or the CRM as safe HTML, nor
//! link anything from elsewhere (fonts, scripts, images).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::tools::docs::render::esc;
use minijinja::Environment;

pub use crate::tools::docs::Lang;

/// `?lang=de` → German.
pub fn parse_lang(s: &str) -> Option<Lang> {
    match s {
        "de" => Some(Lang::De),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The console's words: key, English, German.
const WORDS: &[(&str, &str, &str)] = &[
    ("console", "Data protection console", "Datenschutz-Konsole"),
    ("overview", "Overview", "Übersicht"),
    ("concept", "Permission concept", "Berechtigungskonzept"),
    ("subjects", "Subject requests", "Betroffenenanfragen"),
    ("log", "Access log", "Zugriffsprotokoll"),
    ("deletion", "Deletion concept", "Löschkonzept"),
    ("sign_in", "Sign in", "Anmelden"),
    ("sign_out", "Sign out", "Abmelden"),
    (
        "sign_in_needed",
        "Please sign in with your organisation's account.",
        "Bitte melden Sie sich mit dem Konto Ihrer Organisation an.",
    ),
    (
        "expired",
        "Not signed in, or the session has expired.",
        "Nicht angemeldet oder Sitzung abgelaufen.",
    ),
    ("forbidden", "Not permitted", "Nicht erlaubt"),
    (
        "no_role",
        "This console is for the data protection officer and the security team.",
        "Diese Konsole ist dem Datenschutzbeauftragten und dem Sicherheitsteam vorbehalten.",
    ),
    (
        "csrf",
        "The form was not sent from this session (CSRF token missing or wrong).",
        "Das Formular stammt nicht aus dieser Sitzung (CSRF-Token fehlt oder falsch).",
    ),
    ("chain", "Audit chain", "Audit-Kette"),
    ("intact", "intact", "intakt"),
    ("broken", "NOT INTACT", "NICHT INTAKT"),
    ("verified_at", "verified at", "geprüft am"),
    ("up_to_seq", "up to entry", "bis Eintrag"),
    (
        "by_key",
        "checkpoints signed by key",
        "Prüfpunkte signiert mit Schlüssel",
    ),
    ("last_checkpoint", "last checkpoint", "letzter Prüfpunkt"),
    ("central", "Central store", "Zentraler Speicher"),
    ("not_configured", "not configured", "nicht eingerichtet"),
    ("lag", "entries behind", "Einträge Rückstand"),
    ("revision", "Policy revision", "Richtlinienstand"),
    ("approved", "approved", "freigegeben"),
    ("not_approved", "not approved", "nicht freigegeben"),
    (
        "week",
        "Accesses in the last 7 days by department and purpose",
        "Zugriffe der letzten 7 Tage nach Abteilung und Zweck",
    ),
    (
        "redactions",
        "Redactions by category",
        "Schwärzungen nach Kategorie",
    ),
    ("refusals", "Refusals", "Ablehnungen"),
    ("deletions", "Deletions", "Löschungen"),
    ("done", "done", "erledigt"),
    ("due", "due", "fällig"),
    ("held", "held", "zurückgehalten"),
    ("none", "none", "keine"),
    (
        "changes",
        "Changes since the last approved revision",
        "Änderungen seit dem zuletzt freigegebenen Stand",
    ),
    (
        "no_approval",
        "No revision approved yet: the whole concept is new.",
        "Noch kein Stand freigegeben: das ganze Konzept ist neu.",
    ),
    ("no_changes", "No changes.", "Keine Änderungen."),
    ("approve", "Approve this revision", "Diesen Stand freigeben"),
    ("comment", "Comment", "Kommentar"),
    ("approved_by", "Approved by", "Freigegeben von"),
    (
        "find",
        "Find a person by record id or e-mail address",
        "Person nach Datensatz-ID oder E-Mail-Adresse suchen",
    ),
    ("find_button", "Find", "Suchen"),
    (
        "not_found",
        "No such person, or not visible to the console.",
        "Keine solche Person, oder für die Konsole nicht sichtbar.",
    ),
    ("download", "Download", "Herunterladen"),
    (
        "print",
        "PDF: print this page (print styles: A4)",
        "PDF: diese Seite drucken (Druckformat A4)",
    ),
    (
        "security_no_subject",
        "The security role sees no subject data.",
        "Die Rolle Sicherheit sieht keine Betroffenendaten.",
    ),
    ("person", "Person", "Person"),
    ("department", "Department", "Abteilung"),
    ("purpose", "Purpose", "Zweck"),
    ("decision", "Decision", "Entscheidung"),
    ("from", "From", "Von"),
    ("until", "Until", "Bis"),
    ("filter", "Filter", "Filtern"),
    ("time", "Time", "Zeit"),
    ("request", "Request", "Anfrage"),
    ("records", "Records", "Datensätze"),
    ("page", "Page", "Seite"),
    ("next", "Next", "Weiter"),
    ("previous", "Back", "Zurück"),
    ("csv", "Export as CSV", "Als CSV exportieren"),
    ("entries", "entries", "Einträge"),
    ("allow", "allowed", "erlaubt"),
    ("deny", "refused", "abgelehnt"),
    ("error", "error", "Fehler"),
    (
        "no_copy",
        "The console has no data protection officer's key to read the copy of the data through crmgate (--dpo-key): no answer without it.",
        "Der Konsole fehlt der Schlüssel der/des Datenschutzbeauftragten, um die Kopie der Daten über crmgate zu lesen (--dpo-key): ohne sie keine Auskunft.",
    ),
    (
        "lookup_failed",
        "crmgate could not look the address up; nothing was found or shown.",
        "crmgate konnte die Adresse nicht nachschlagen; nichts wurde gefunden oder angezeigt.",
    ),
    (
        "no_answer",
        "No answer: the copy of the data could not be read",
        "Keine Auskunft: die Kopie der Daten war nicht lesbar",
    ),
];

/// The words of `lang`, for a template.
pub fn words(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    WORDS
        .iter()
        .map(|(k, en, de)| (*k, if lang == Lang::De { *de } else { *en }))
        .collect()
}

/// One word.
pub fn word(lang: Lang, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, en, de)| if lang == Lang::De { *de } else { *en })
        .unwrap_or("?")
}

const LAYOUT: &str = r#"<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }} · crmgate</title><link rel="stylesheet" href="/static/console.css">
{% if doc_style %}<style>{{ doc_style|safe }}</style>{% endif %}</head>
<body><header class="bar"><span class="brand">crmgate · {{ w.console }}</span>
{% if user %}<nav>{% for n in nav %}<a href="{{ n.href }}"{% if n.current %} aria-current="page"{% endif %}>{{ n.label }}</a>{% endfor %}</nav>{% endif %}
<span class="who"><a href="?lang=de" lang="de">DE</a> | <a href="?lang=en" lang="en">EN</a>
{% if user %} · {{ user }} ({{ roles }})
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{ csrf }}"><button type="submit">{{ w.sign_out }}</button></form>{% endif %}</span></header>
<main>{% block main %}{% endblock %}</main></body></html>
"#;

const MESSAGE: &str = r#"{% extends "layout.html" %}{% block main %}
<h1>{{ heading }}</h1><p class="message">{{ message }}</p>
{% if sign_in %}<p><a class="button" id="sign-in" href="/login">{{ w.sign_in }}</a></p>{% endif %}
{% endblock %}"#;

const OVERVIEW: &str = r#"{% extends "layout.html" %}{% block main %}
<h1>{{ w.overview }}</h1>
<section class="cards">
{% for c in chains %}<div class="card {{ 'ok' if c.intact else 'bad' }}"><h2>{{ w.chain }}: {{ c.name }}</h2>
<p class="big">{{ w.intact if c.intact else w.broken }}</p>
<p>{{ w.verified_at }} {{ verified_at }} · {{ w.up_to_seq }} {{ c.last_seq }} ({{ c.entries }} {{ w.entries }})</p>
<p>{{ w.by_key }} <code>{{ c.key }}</code></p><p>{{ w.last_checkpoint }}: {{ c.checkpoint }}</p>
{% if c.problem %}<p class="bad">{{ c.problem }}</p>{% endif %}</div>{% endfor %}
<div class="card"><h2>{{ w.central }}</h2>{% if central %}<ul>{% for r in central %}<li>{{ r }}</li>{% endfor %}</ul>{% else %}<p>{{ w.not_configured }}</p>{% endif %}</div>
<div class="card {{ 'ok' if approved else 'warn' }}"><h2>{{ w.revision }}</h2><p class="big"><code>{{ revision }}</code></p>
<p>{{ approved or w.not_approved }}</p></div>
</section>
<h2>{{ w.week }}</h2>{{ chart|safe }}
<section class="cards">
<div class="card"><h2>{{ w.redactions }}</h2>{% if redactions %}<ul>{% for k, v in redactions|items %}<li>{{ k }}: {{ v }}</li>{% endfor %}</ul>{% else %}<p>{{ w.none }}</p>{% endif %}</div>
<div class="card"><h2>{{ w.refusals }}</h2>{% if refusals %}<ul>{% for k, v in refusals|items %}<li>{{ k }}: {{ v }}</li>{% endfor %}</ul>{% else %}<p>{{ w.none }}</p>{% endif %}</div>
<div class="card"><h2>{{ w.deletions }}</h2><p>{{ w.done }}: {{ deletions_done }} · {{ w.due }}: {{ deletions_due }} · {{ w.held }}: {{ deletions_held }}</p></div>
</section>
{% endblock %}"#;

const DOCUMENT: &str = r#"{% extends "layout.html" %}{% block main %}
{% if before %}<section class="console-only">{{ before|safe }}</section>{% endif %}
{% if doc_body %}<article class="document">{{ doc_body|safe }}</article>{% endif %}
{% if after %}<section class="console-only">{{ after|safe }}</section>{% endif %}
{% endblock %}"#;

const LOG: &str = r#"{% extends "layout.html" %}{% block main %}
<h1>{{ w.log }}</h1>
<form method="get" action="/log" class="filters">
<label>{{ w.person }} <input name="user" value="{{ f.user }}"></label>
<label>{{ w.department }} <input name="department" value="{{ f.department }}"></label>
<label>{{ w.purpose }} <input name="purpose" value="{{ f.purpose }}"></label>
<label>{{ w.decision }} <select name="decision"><option value=""></option>{% for d in ['allow','deny','error'] %}<option{% if f.decision == d %} selected{% endif %}>{{ d }}</option>{% endfor %}</select></label>
<label>{{ w.from }} <input name="since" value="{{ f.since }}" placeholder="2026-12-01"></label>
<label>{{ w.until }} <input name="until" value="{{ f.until }}" placeholder="2026-12-31"></label>
<button type="submit">{{ w.filter }}</button></form>
<p>{{ total }} {{ w.entries }} · {{ w.page }} {{ page }}/{{ pages }} · <a id="csv" href="/log.csv?{{ qs }}">{{ w.csv }}</a></p>
<table class="log"><thead><tr><th>{{ w.time }}</th><th>{{ w.person }}</th><th>{{ w.department }}</th><th>{{ w.purpose }}</th><th>{{ w.request }}</th><th>{{ w.decision }}</th><th>{{ w.records }}</th></tr></thead><tbody>
{% for r in rows %}<tr class="{{ r.decision }}"><td>{{ r.time }}</td><td>{{ r.principal }}</td><td>{{ r.department }}</td><td>{{ r.purpose }}</td><td>{{ r.request }}</td><td>{{ r.decision_words }}{% if r.reason %} ({{ r.reason }}){% endif %}</td><td>{{ r.records }}</td></tr>{% endfor %}
</tbody></table>
<p class="paging">{% if page > 1 %}<a href="/log?{{ qs }}&amp;page={{ page - 1 }}">{{ w.previous }}</a>{% endif %}
{% if page < pages %}<a id="next" href="/log?{{ qs }}&amp;page={{ page + 1 }}">{{ w.next }}</a>{% endif %}</p>
{% endblock %}"#;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut e = Environment::new();
        for (name, src) in [
            ("layout.html", LAYOUT),
            ("message.html", MESSAGE),
            ("overview.html", OVERVIEW),
            ("document.html", DOCUMENT),
            ("log.html", LOG),
        ] {
            // The templates are constants of this file: a unit test renders each.
            let _ = e.add_template(name, src);
        }
        e
    })
}

/// Render template `name` with `ctx`.
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, String> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("template `{name}`: {e}"))
}

/// The console's stylesheet, served as `/static/console.css`.
pub const CSS: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
.bar{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;background:#1f3a5f;color:#fff;padding:.6rem 1.2rem}
.bar a{color:#fff}.brand{font-weight:600}
nav{display:flex;gap:.8rem;flex-wrap:wrap}nav a{text-decoration:none;padding:.2rem .5rem;border-radius:4px}
nav a[aria-current=page]{background:#fff;color:#1f3a5f}
.who{margin-left:auto}.inline{display:inline}
main{padding:1rem 1.5rem;max-width:1200px}
.cards{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.card{background:#fff;border:1px solid #d8dde5;border-radius:6px;padding:.6rem 1rem;min-width:16rem;flex:1}
.card h2{font-size:1rem;margin:.2rem 0}.big{font-size:1.4rem;font-weight:600;margin:.3rem 0}
.ok{border-left:6px solid #2e7d32}.warn{border-left:6px solid #e0a000}.bad{border-left:6px solid #c62828;color:#8b1a1a}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #d8dde5;padding:.25rem .45rem;text-align:left;vertical-align:top;font-size:.9rem}
tr.deny td,tr.error td{background:#fdecea}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:.8rem}
.filters label{display:flex;flex-direction:column;font-size:.85rem}
input,select,textarea,button{font:inherit}button,.button{background:#1f3a5f;color:#fff;border:0;border-radius:4px;padding:.35rem .8rem;text-decoration:none;cursor:pointer}
.bar button{background:#fff;color:#1f3a5f}
textarea{width:100%;min-height:4rem}
.document{background:#fff;border:1px solid #d8dde5;padding:1rem;overflow-x:auto}
.chart{max-width:100%;height:auto}.chart text{font-size:12px;fill:#1d2430}
.message{font-size:1.1rem}
@media print{.bar,.console-only,form{display:none}body{background:#fff}main{padding:0;max-width:none}.document{border:0;padding:0}}
"#;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A stacked horizontal bar chart: one bar per row (department), one segment per series
/// (purpose), a legend below. Drawn here; every name escaped.
pub fn stacked_bars(rows: &BTreeMap<String, BTreeMap<String, u64>>, empty: &str) -> String {
    let series: Vec<&String> = {
        let mut s: Vec<&String> = rows.values().flat_map(|m| m.keys()).collect();
        s.sort();
        s.dedup();
        s
    };
    let max = rows
        .values()
        .map(|m| m.values().sum::<u64>())
        .max()
        .unwrap_or(0);
    if max == 0 {
        return format!("<p>{}</p>", esc(empty));
    }
    let (label_w, bar_w, row_h) = (170.0, 560.0, 26.0);
    // One legend line per purpose: a purpose's words may be a sentence.
    let height = rows.len() as f64 * row_h + 16.0 + series.len() as f64 * 20.0;
    let width = label_w + bar_w + 60.0;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let colour = |name: &String| {
        let i = series.iter().position(|x| *x == name).unwrap_or(0);
        PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#888")
    };
    for (i, (dept, by)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(dept)
        );
        let mut x = label_w;
        for (purpose, n) in by {
            let w = bar_w * (*n as f64) / (max as f64);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"><title>{}: {} × {n}</title></rect>",
                row_h - 6.0,
                colour(purpose),
                esc(dept),
                esc(purpose)
            );
            x += w;
        }
        let total: u64 = by.values().sum();
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\">{total}</text>",
            x + 6.0,
            y + 15.0
        );
    }
    let top = rows.len() as f64 * row_h + 16.0;
    for (i, name) in series.iter().enumerate() {
        let (x, y) = (8.0, top + i as f64 * 20.0);
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            y - 10.0,
            colour(name),
            x + 16.0,
            y,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}
