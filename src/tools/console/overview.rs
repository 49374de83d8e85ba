//! The overview page: each audit chain verified now (up to which entry, by which key, the
//! last signed checkpoint), the central store's lag, the loaded policy revision and its
//! approval, this week's accesses by department × purpose as a chart, redactions by
//! category, refusals by reason (every 401 and 403 the log records, and every deny), and
//! deletions done, due and held — departments, purposes and reasons in the words of the
//! documents' label tables, never as technical ids where words are configured.
//!
//! It shows counts and names of departments, purposes and categories only: never a
//! person's record, so it writes no view record. It must never report a chain intact
//! that `audit verify` would not.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use minijinja::{context, Value as Ctx};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::query::{query, Filter};
use crate::audit::signing;
use crate::audit::verify::verify_dir;
use crate::config::Config;
use crate::tools::docs::Lang;

use super::frame::{page as frame_page, Answer};
use super::session::Session;
use super::state::{Console, Req};
use super::view::{stacked_bars, word};

/// One chain as the page shows it.
#[derive(serde::Serialize)]
struct ChainView {
    name: String,
    intact: bool,
    last_seq: String,
    entries: u64,
    key: String,
    checkpoint: String,
    problem: Option<String>,
}

fn chain(name: &str, dir: &Path, key_file: &Path) -> ChainView {
    let key = signing::read_public_key(&signing::public_key_path(key_file)).ok();
    let fingerprint = key
        .as_deref()
        .map(|k| hex::encode(Sha256::digest(k)).chars().take(16).collect())
        .unwrap_or_else(|| "?".to_string());
    match verify_dir(dir, key.as_deref()) {
        Ok(rep) => ChainView {
            name: name.to_string(),
            intact: rep.intact() && key.is_some(),
            last_seq: rep.last_seq.map(|s| s.to_string()).unwrap_or_default(),
            entries: rep.entries,
            key: fingerprint,
            checkpoint: last_checkpoint(dir).unwrap_or_else(|| "-".into()),
            problem: rep.problem.map(|p| p.to_string()),
        },
        Err(e) => ChainView {
            name: name.to_string(),
            intact: false,
            last_seq: String::new(),
            entries: 0,
            key: fingerprint,
            checkpoint: "-".into(),
            problem: Some(e),
        },
    }
}

/// The last signed checkpoint of the log in `dir`: `seq N, <time>`.
fn last_checkpoint(dir: &Path) -> Option<String> {
    let segs = crate::audit::list_segments(dir).ok()?;
    for (_, path) in segs.iter().rev() {
        let text = std::fs::read_to_string(path).ok()?;
        for line in text.lines().rev() {
            if !line.contains("\"checkpoint\"") {
                continue;
            }
            let v: Value = serde_json::from_str(line).ok()?;
            if v.get("kind").and_then(Value::as_str) == Some("checkpoint") {
                return Some(format!(
                    "seq {}, {}",
                    v.get("seq").and_then(Value::as_u64).unwrap_or(0),
                    v.get("time").and_then(Value::as_str).unwrap_or("")
                ));
            }
        }
    }
    None
}

/// Why a request was refused, in words: the common reasons; others as their name reads.
const REASONS: [(&str, &str, &str); 11] = [
    (
        "unauthenticated",
        "not signed in (no valid credential)",
        "nicht angemeldet (keine gültige Anmeldung)",
    ),
    (
        "inactive-principal",
        "account deactivated",
        "Konto deaktiviert",
    ),
    ("unknown-purpose", "unknown purpose", "unbekannter Zweck"),
    (
        "purpose-not-allowed",
        "purpose not allowed for the department",
        "Zweck für die Abteilung nicht erlaubt",
    ),
    (
        "forbidden",
        "not permitted by the policies",
        "von den Richtlinien nicht erlaubt",
    ),
    (
        "hidden-selection",
        "selection by fields the caller may not see",
        "Auswahl über Felder, die nicht sichtbar sind",
    ),
    ("write-refused", "write refused", "Schreibzugriff abgelehnt"),
    (
        "sensitive-data-refused",
        "special-category data refused",
        "besondere Kategorien personenbezogener Daten abgelehnt",
    ),
    (
        "ambiguous-credentials",
        "several credentials at once",
        "mehrere Anmeldedaten zugleich",
    ),
    (
        "not-governed",
        "not governed by crmgate",
        "nicht von crmgate geregelt",
    ),
    (
        "api-key-unknown",
        "unknown API key",
        "unbekannter API-Schlüssel",
    ),
];

pub(super) fn reason_words(config: &Config, lang: Lang, reason: &str) -> String {
    match REASONS.iter().find(|(k, _, _)| *k == reason) {
        Some((_, en, de)) => (if lang == Lang::De { de } else { en }).to_string(),
        None => lang.word(config, reason).replace('-', " "),
    }
}

/// This week's figures from the proxy's log.
#[derive(Default)]
struct Week {
    accesses: BTreeMap<String, BTreeMap<String, u64>>,
    redactions: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    deletions: u64,
}

/// Refused: a policy's deny, or an answer of 401 or 403 whatever the decision (an
/// inactive account, a missing credential, a purpose the department may not declare).
fn refusal(v: &Value) -> Option<String> {
    let status = v.get("status").and_then(Value::as_u64).unwrap_or(0);
    let deny = v.get("decision").and_then(Value::as_str) == Some("deny");
    if !deny && status != 401 && status != 403 {
        return None;
    }
    Some(
        v.get("reason")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{status}")),
    )
}

/// This week's figures from the proxy's log, in words of `lang` (the documents' labels).
fn week(config: &Config, lang: Lang) -> Week {
    let since = SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
    let filter = Filter {
        since: Some(humantime::format_rfc3339_millis(since).to_string()),
        ..Default::default()
    };
    let mut w = Week::default();
    let Ok((hits, _)) = query(&config.audit.dir, &filter) else {
        return w;
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    for h in hits {
        let v = &h.value;
        if let Some(reason) = refusal(v) {
            *w.refusals
                .entry(reason_words(config, lang, &reason))
                .or_default() += 1;
        } else if v.get("decision").and_then(Value::as_str) == Some("allow") {
            // An application has no department: it is named as the documents name it.
            let dept = match v.get("department").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => d.to_string(),
                _ => format!("app {}", s(v, "principal")),
            };
            *w.accesses
                .entry(lang.department(config, &dept))
                .or_default()
                .entry(lang.purpose(config, &s(v, "purpose")))
                .or_default() += 1;
            if v.get("retention_rule").is_some_and(|r| !r.is_null()) && s(v, "method") == "DELETE" {
                w.deletions += 1;
            }
        }
        for write in v
            .get("writes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(Value::Object(by_prop)) = write.get("redacted") else {
                continue;
            };
            for cats in by_prop.values() {
                for (cat, n) in cats.as_object().into_iter().flatten() {
                    *w.redactions.entry(lang.word(config, cat)).or_default() +=
                        n.as_u64().unwrap_or(0);
                }
            }
        }
    }
    w
}

/// The central store's lag of this replica, when one is configured.
async fn central(c: &Console) -> Vec<String> {
    let Some(central) = &c.config.audit.central else {
        return Vec::new();
    };
    let dir = &c.config.audit.dir;
    let replica = match crate::audit::central::replica_id(dir, central.replica_id.as_deref()) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let local = verify_dir(dir, None).ok().and_then(|r| r.last_seq);
    let stored = match crate::audit::central::db::connect(central.url.expose()).await {
        Ok(client) => crate::audit::central::db::last_stored(&client, &replica).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(s) => {
            let stored_seq = s.map(|(seq, _)| seq);
            let lag = match (local, stored_seq) {
                (Some(l), Some(s)) => l.saturating_sub(s),
                (Some(l), None) => l + 1,
                _ => 0,
            };
            vec![format!("{replica}: {lag} {}", "entries behind")]
        }
        Err(e) => vec![format!("{replica}: {e}")],
    }
}

/// `GET /`.
pub async fn page(c: &Console, r: &Req, s: &Session) -> Answer {
    let chains = vec![
        chain(
            "crmgate",
            &c.config.audit.dir,
            &c.config.audit.signing_key_file,
        ),
        chain(
            word(r.lang, "console"),
            &c.console_dir,
            &c.console_dir.join("signing.key"),
        ),
    ];
    let revision = c.gateway.policies().engine.revision().to_string();
    let approved = super::frame::approvals(&c.console_dir)
        .into_iter()
        .rev()
        .find(|a| a.get("revision").and_then(Value::as_str) == Some(revision.as_str()))
        .map(|a| {
            format!(
                "{} {} · {}",
                word(r.lang, "approved_by"),
                a.get("principal").and_then(Value::as_str).unwrap_or("?"),
                a.get("time").and_then(Value::as_str).unwrap_or("?"),
            )
        });
    let w = week(&c.config, r.lang);
    let plan = super::concept::deletion_record(c, r.lang).ok();
    let extra: Ctx = context! {
        chains => chains,
        verified_at => super::util::now_rfc3339(),
        central => central(c).await,
        revision => revision,
        approved => approved,
        chart => stacked_bars(&w.accesses, word(r.lang, "none")),
        redactions => w.redactions,
        refusals => w.refusals,
        deletions_done => plan.as_ref().map_or(w.deletions as usize, |p| p.0.deleted.len().max(w.deletions as usize)),
        deletions_due => plan.as_ref().map_or(0, |p| p.1),
        deletions_held => plan.as_ref().map_or(0, |p| p.0.held.len()),
    };
    frame_page(r, s, "/", "overview.html", extra)
}
