//! The deletion page's next run: what `crmgate retention plan` would do now — per rule how
//! many records are due and how many held, the ids due, and each held record with the
//! holds that stop it — read through crmgate with the deletion run's key (its own App and
//! purpose, audited in crmgate's log like the run itself). Changes nothing.
//!
//! It must never write to the CRM, and never show a plan it could not make as an empty
//! one (an error says so instead).

use std::fmt::Write as _;

use crate::retention::RetentionRules;
use crate::tools::docs::render::esc;
use crate::tools::docs::Lang;
use crate::tools::retention::plan::{plan, Entry, Plan};

use super::state::Console;

fn words(lang: Lang) -> [&'static str; 9] {
    match lang {
        Lang::En => [
            "Next run: what the deletion run would do now",
            "Rule",
            "Record type",
            "Action",
            "Due",
            "Held",
            "Held records and their holds",
            "No record is held.",
            "records read",
        ],
        Lang::De => [
            "Nächster Lauf: was der Löschlauf jetzt täte",
            "Regel",
            "Datensatzart",
            "Maßnahme",
            "Fällig",
            "Zurückgehalten",
            "Zurückgehaltene Datensätze und ihre Sperren",
            "Kein Datensatz wird zurückgehalten.",
            "Datensätze gelesen",
        ],
    }
}

/// The next run's plan as HTML the console made (every name escaped).
pub async fn next_run(c: &Console, lang: Lang) -> String {
    let w = words(lang);
    let mut s = format!("<h2 id=\"next-run\">{}</h2>", w[0]);
    let policies = c.gateway.policies();
    let Some(rules) = policies.retention.as_deref() else {
        return s;
    };
    let Some(conn) = &c.retention else {
        let note = match lang {
            Lang::En => "The console has no key of the deletion run (--retention-key): no plan.",
            Lang::De => {
                "Der Konsole fehlt der Schlüssel des Löschlaufs (--retention-key): kein Plan."
            }
        };
        let _ = write!(s, "<p class=\"bad\">{note}</p>");
        return s;
    };
    match plan(&policies, c.config.policies.retention_clock, conn).await {
        Ok(p) => table(&mut s, c, rules, &p, lang),
        Err(e) => {
            tracing::warn!(error = %e, "console: no plan of the next deletion run");
            // fail closed: no plan is not an empty plan.
            let note = match lang {
                Lang::En => "The plan could not be made",
                Lang::De => "Der Plan konnte nicht erstellt werden",
            };
            let _ = write!(s, "<p class=\"bad\" id=\"no-plan\">{note}: {}</p>", esc(&e));
        }
    }
    s
}

/// A deletion rule in words: its description as the documents give it.
fn rule_words(c: &Console, rules: &RetentionRules, name: &str, lang: Lang) -> String {
    let description = rules.kind(name).map_or(name, |k| k.description.as_str());
    lang.text(&c.config, &format!("{name}.description"), description)
}

fn table(s: &mut String, c: &Console, rules: &RetentionRules, p: &Plan, lang: Lang) {
    let w = words(lang);
    let config = &c.config;
    let _ = write!(
        s,
        "<p>{} · {} {}</p><table class=\"plan\"><thead><tr><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&p.today),
        p.records_read,
        w[8],
        w[1],
        w[2],
        w[3],
        w[4],
        w[5]
    );
    for k in &rules.kinds {
        let of: Vec<&Entry> = p.entries.iter().filter(|e| e.rule == k.name).collect();
        let due: Vec<String> = of
            .iter()
            .filter(|e| !e.is_held())
            .map(|e| esc(&e.id))
            .collect();
        let held = of.iter().filter(|e| e.is_held()).count();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{held}</td></tr>",
            esc(&rule_words(c, rules, &k.name, lang)),
            esc(&lang.word(config, &k.resource)),
            esc(&lang.word(config, k.action.name())),
            due.len(),
            if due.is_empty() {
                String::new()
            } else {
                format!("<br><small>{}</small>", due.join(", "))
            },
        );
    }
    s.push_str("</tbody></table>");
    let _ = write!(s, "<h3>{}</h3>", w[6]);
    let held: Vec<&Entry> = p.entries.iter().filter(|e| e.is_held()).collect();
    if held.is_empty() {
        let _ = write!(s, "<p>{}</p>", w[7]);
        return;
    }
    s.push_str("<ul class=\"held\">");
    for e in held {
        let holds: Vec<String> = e
            .held_by
            .iter()
            .map(|h| {
                let (name, until) = h.split_once(' ').unwrap_or((h.as_str(), ""));
                let text = rules
                    .holds
                    .iter()
                    .find(|x| x.name == name)
                    .map(|x| lang.text(config, &format!("{name}.description"), &x.description))
                    .unwrap_or_else(|| lang.word(config, name));
                let until = match (lang, until.strip_prefix("until ")) {
                    (Lang::De, Some(date)) => format!("bis {date}"),
                    _ => until.to_string(),
                };
                esc(format!("{text} {until}").trim_end())
            })
            .collect();
        let _ = write!(
            s,
            "<li>{} {} · {}: {}</li>",
            esc(&lang.word(config, &e.resource)),
            esc(&e.id),
            esc(&rule_words(c, rules, &e.rule, lang)),
            holds.join("; ")
        );
    }
    s.push_str("</ul>");
}
