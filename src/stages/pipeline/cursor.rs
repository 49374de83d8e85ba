//! crmgate's own paging cursors for the pages it refills (lists) and counts (searches):
//! the CRM's page cursor and how many shown records of that page to skip, encrypted and
//! sealed with what the cursor is bound to (route, policy revision, caller and purpose,
//! how the CRM was read).
//!
//! A cursor must never be readable by the client nor open for another binding: the CRM's
//! cursor names a position among records the caller may not see.

use serde_json::Value;

use crate::error::RequestError;
use crate::stages::filter::masks::PurposeKey;

/// What a paging cursor is bound to: the route, the policy revision and the caller's scope
/// (principal and purpose). A cursor made for one never opens for another.
pub(super) struct CursorBinding<'a> {
    pub(super) route: &'a str,
    pub(super) revision: &'a str,
    pub(super) scope: &'a str,
    /// How the CRM was read (`list` or `search`): their cursors mean different things.
    pub(super) mode: &'a str,
}

impl CursorBinding<'_> {
    fn message(&self, payload: &str) -> Vec<u8> {
        format!(
            "crmgate-cursor-v1\0{}\0{}\0{}\0{}\0{payload}",
            self.route, self.revision, self.scope, self.mode
        )
        .into_bytes()
    }
}

/// crmgate's cursor: the CRM's page cursor and how many shown records of that page to skip,
/// encrypted and sealed with the binding. The CRM's cursor is a position in everything the
/// CRM holds (a vendor's may name the record a page starts at, which may be one the caller may
/// not read): the client gets no readable part of it.
pub(super) fn seal_cursor(
    after: Option<&str>,
    skip: usize,
    b: &CursorBinding<'_>,
    key: &PurposeKey,
) -> Result<String, RequestError> {
    let payload = serde_json::json!({"a": after, "k": skip}).to_string();
    key.encrypt(payload.as_bytes(), &b.message(""))
        // fail closed: no cursor at all rather than a readable one.
        .ok_or_else(|| RequestError::Internal("a paging cursor could not be sealed".into()))
}

/// Open a client's cursor. fail closed: anything tampered, foreign (another caller,
/// purpose, route or policy revision) or malformed is refused.
pub(super) fn open_cursor(
    token: &str,
    b: &CursorBinding<'_>,
    key: &PurposeKey,
) -> Result<(Option<String>, usize), RequestError> {
    let bad = || {
        RequestError::BadRequest(
            "the paging cursor `after` is not valid for this request (changed, another \
             caller's or purpose's, or from before a policy change): start again without it"
                .into(),
        )
    };
    let payload = key
        .decrypt(token, &b.message(""))
        .and_then(|p| String::from_utf8(p).ok())
        .ok_or_else(bad)?;
    let v: Value = serde_json::from_str(&payload).map_err(|_| bad())?;
    let after = match v.get("a") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(_) => return Err(bad()),
    };
    let skip = v
        .get("k")
        .and_then(Value::as_u64)
        .and_then(|k| usize::try_from(k).ok())
        .ok_or_else(bad)?;
    Ok((after, skip))
}
