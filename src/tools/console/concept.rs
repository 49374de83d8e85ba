//! The permission concept page (the live document, what changed since the last approved
//! revision, the approval form) and the deletion concept page (the next run's plan from
//! [`super::plan`], then the rules, past runs with their deletion record, held records
//! with their holds). Both are the documents of
//! `crmgate docs`, computed for the loaded policy revision.
//!
//! An approval is an audit entry (who, when, which revision, the concept's SHA-256, the
//! comment), written before the console says it is done; the approved concept is kept next
//! to the console's log so that later changes are shown against it. It must never approve
//! for anyone but a signed-in `dpo`, nor without the session's CSRF token.

use std::fmt::Write as _;

use http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::event::{AuditEvent, ReviewEntry};
use crate::tools::docs::deletion::{self, DeletionRecord};
use crate::tools::docs::permission::{self, diff::diff, PermissionConcept};
use crate::tools::docs::{render, today, Lang};

use super::frame::{approvals, document_page, dpo_only, message, record_view, unrecorded, Answer};
use super::session::Session;
use super::state::{Console, Req, REVIEW_PURPOSE};
use super::view::word;
use crate::tools::docs::render::esc;

/// The concept as last approved, with its approval entry.
fn last_approved(c: &Console) -> Option<(Value, PermissionConcept)> {
    let a = approvals(&c.console_dir).pop()?;
    let sha = a.get("concept_sha256").and_then(Value::as_str)?;
    // Only a hex digest names a file.
    if !sha.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return None;
    }
    let text =
        std::fs::read_to_string(c.console_dir.join("approved").join(format!("{sha}.json"))).ok()?;
    // The file must still be what was approved.
    if hex::encode(Sha256::digest(text.as_bytes())) != sha {
        return None;
    }
    Some((a, serde_json::from_str(&text).ok()?))
}

/// `GET /concept`.
pub fn page(c: &Console, r: &Req, s: &Session) -> Answer {
    let pc = c.concept();
    let approved = last_approved(c);
    let changes = approved.as_ref().map(|(_, old)| diff(old, &pc));
    let doc = permission::doc::document(&pc, changes.as_ref(), &c.config, r.lang);
    let mut before = String::new();
    match &approved {
        Some((a, _)) => {
            let g = |k: &str| esc(a.get(k).and_then(Value::as_str).unwrap_or(""));
            let _ = write!(
                before,
                "<p class=\"approval\" id=\"last-approval\">{} {} · {} · <code>{}</code> · {}</p>",
                word(r.lang, "approved_by"),
                g("principal"),
                g("time"),
                g("revision"),
                g("comment")
            );
        }
        None => {
            let _ = write!(
                before,
                "<p class=\"approval\">{}</p>",
                word(r.lang, "no_approval")
            );
        }
    }
    let after = if s.is_dpo() {
        format!(
            "<h2>{}</h2><form method=\"post\" action=\"/concept/approve\" id=\"approve\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"revision\" value=\"{}\">\
             <label>{} <textarea name=\"comment\" id=\"comment\"></textarea></label>\
             <p><button type=\"submit\">{}</button></p></form>",
            word(r.lang, "approve"),
            esc(&s.csrf),
            esc(&pc.policy_revision),
            word(r.lang, "comment"),
            word(r.lang, "approve"),
        )
    } else {
        String::new()
    };
    document_page(r, s, "/concept", &render::html(&doc), before, after)
}

/// `POST /concept/approve`: the approval written to the audit log, then the page again.
pub async fn approve(c: &Console, r: &Req, s: &Session) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let pc = c.concept();
    // The form names the revision it showed: a concept that changed meanwhile is not
    // approved unseen.
    if r.f("revision") != Some(pc.policy_revision.as_str()) {
        return message(
            r,
            StatusCode::CONFLICT,
            "409",
            "the policy revision changed",
            false,
        );
    }
    let Ok(json) = serde_json::to_string_pretty(&*pc) else {
        return super::util::plain(StatusCode::INTERNAL_SERVER_ERROR, "concept");
    };
    let sha = hex::encode(Sha256::digest(json.as_bytes()));
    let dir = c.console_dir.join("approved");
    if let Err(e) = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{sha}.json")), &json))
    {
        return unrecorded(r, &e.to_string());
    }
    let comment: String = r.f("comment").unwrap_or("").chars().take(2000).collect();
    let entry = ReviewEntry {
        kind: "approval",
        time: super::util::now_rfc3339(),
        request_id: uuid::Uuid::new_v4().to_string(),
        principal: s.user.clone(),
        roles: s.roles.clone(),
        purpose: REVIEW_PURPOSE,
        revision: Some(pc.policy_revision.clone()),
        concept_sha256: Some(sha),
        comment: Some(comment),
        ..Default::default()
    };
    // fail closed: not on record, not approved.
    if let Err(e) = c.audit.write(AuditEvent::Review(Box::new(entry))).await {
        return unrecorded(r, &e.to_string());
    }
    super::util::redirect("/concept")
}

/// The deletion record of the loaded rules and the configured run checkpoints, and how
/// many records the last run left due (failed).
pub fn deletion_record(c: &Console, _lang: Lang) -> Result<(DeletionRecord, usize), String> {
    let policies = c.gateway.policies();
    let rec = deletion::compute(&c.config, &policies, &c.checkpoints, &today())?;
    let due = rec.runs.last().map_or(0, |r| r.failed);
    Ok((rec, due))
}

/// `GET /deletion`: it lists the ids of deleted and held records, so it is a view of
/// personal data (recorded) and for the `dpo` role only.
pub async fn deletion(c: &Console, r: &Req, s: &Session) -> Answer {
    if let Err(a) = dpo_only(r, s) {
        return *a;
    }
    let (rec, _) = match deletion_record(c, r.lang) {
        Ok(x) => x,
        Err(e) => return message(r, StatusCode::OK, word(r.lang, "deletion"), &e, false),
    };
    let doc = deletion::document(&rec, &c.config, r.lang);
    if let Err(e) = record_view(c, s, "deletion", None, Some("deletion record".into())).await {
        return unrecorded(r, &e);
    }
    let next = super::plan::next_run(c, r.lang).await;
    document_page(r, s, "/deletion", &render::html(&doc), next, String::new())
}
