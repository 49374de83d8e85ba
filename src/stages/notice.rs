//! The notices of redacted writes, for the person whose text was blacked out: each redacted
//! write leaves one in a bounded in-memory store under a random 128-bit id, and crmgate's
//! own endpoint `GET /crmgate/v1/notices/{id}` answers it to the identity that made the
//! write, for a bounded time, as JSON, plain text or HTML.
//!
//! A notice holds the kinds of data removed, their counts, the text in the language of the
//! write and the record written — never a value. This module must never answer a notice to
//! anyone but its writer, nor answer a notice that is another's, expired, evicted or unknown
//! any differently from one that never existed; and nothing under crmgate's own prefix is
//! ever routed to the CRM.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

/// The first path segment of crmgate's own endpoints on the data port: no vendor's API has
/// a path under it, and the routes file may hold none.
pub use crate::routes::OWN_PREFIX;
/// Where a notice is fetched: `{NOTICE_PATH}{id}`.
pub const NOTICE_PATH: &str = "/crmgate/v1/notices/";
/// The response header that points to a write's notice.
pub const NOTICE_URL_HEADER: &str = "x-crmgate-redaction-notice-url";

/// A notice id: 128 random bits, as 32 lower-case hex digits in its path.
type NoticeId = [u8; 16];

/// What a write's notice says: kinds, counts and text, never a value.
#[derive(Debug, Clone)]
pub struct NoticeText {
    /// `de`, `en`: the language of the write.
    pub language: String,
    pub text: String,
    /// Category → passages removed, over every input of the write.
    pub counts: BTreeMap<String, usize>,
    /// The records written whose text was redacted, where known (a create's id once the CRM
    /// has answered).
    pub records: Vec<String>,
}

/// One stored notice: its text, whose it is, and until when it is answered.
#[derive(Debug)]
struct Stored {
    /// The identity that made the write (the principal's entity uid).
    owner: String,
    notice: NoticeText,
    expires: Instant,
    expires_at: SystemTime,
}

/// The bounded store: at most `capacity` notices, each for `ttl`; the oldest goes first.
#[derive(Debug)]
pub struct NoticeStore {
    ttl: Duration,
    capacity: usize,
    rng: SystemRandom,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<NoticeId, Stored>,
    /// Ids in the order they were stored: with one ttl for all, also the order they expire.
    order: VecDeque<NoticeId>,
}

impl Inner {
    /// Drop expired notices from the front, then the oldest until there is room for `room`.
    fn prune(&mut self, now: Instant, keep: usize) {
        while let Some(id) = self.order.front().copied() {
            let expired = self.by_id.get(&id).is_none_or(|s| s.expires <= now);
            if !expired && self.by_id.len() <= keep {
                break;
            }
            self.order.pop_front();
            self.by_id.remove(&id);
        }
    }
}

/// Why a notice was not answered (for the audit record only: the caller hears the same 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Malformed, never issued, evicted or expired.
    Unknown,
    /// Another identity's notice.
    Another,
}

/// How a notice is answered, by the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
    Html,
}

impl NoticeStore {
    pub fn new(ttl: Duration, capacity: usize) -> NoticeStore {
        NoticeStore {
            ttl,
            capacity: capacity.max(1),
            rng: SystemRandom::new(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Keep a write's notice for `owner`; its path, or `None` if no random id could be
    /// drawn (the header text still tells the person; there is just nothing to fetch).
    pub fn issue(&self, owner: &str, notice: NoticeText) -> Option<String> {
        let mut id: NoticeId = [0; 16];
        self.rng.fill(&mut id).ok()?;
        let now = Instant::now();
        let stored = Stored {
            owner: owner.to_string(),
            notice,
            expires: now + self.ttl,
            expires_at: SystemTime::now() + self.ttl,
        };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.prune(now, self.capacity - 1);
        inner.by_id.insert(id, stored);
        inner.order.push_back(id);
        Some(format!("{NOTICE_PATH}{}", hex(&id)))
    }

    /// The notice `id` names, rendered, if it is `owner`'s and has not expired. The caller
    /// must answer every miss alike; only the audit record tells another's notice
    /// ([`Missing::Another`]) from one that is malformed, unknown, evicted or expired.
    pub fn read(&self, id: &str, owner: &str, format: Format) -> Result<String, Missing> {
        let id = parse_id(id).ok_or(Missing::Unknown)?;
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.prune(now, self.capacity);
        let stored = inner.by_id.get(&id).ok_or(Missing::Unknown)?;
        if stored.expires <= now {
            return Err(Missing::Unknown);
        }
        // The id alone is not enough: a notice is its writer's (a leaked URL shows nothing
        // to anyone else).
        if stored.owner != owner {
            return Err(Missing::Another);
        }
        Ok(render(stored, format))
    }

    /// Notices held now (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The notice id of a path's segments under crmgate's own prefix (`crmgate`, `v1`,
/// `notices`, `{id}`); `None` for any other own path.
pub fn notice_id(segments: &[String]) -> Option<&str> {
    match segments {
        [own, v, kind, id] if own == OWN_PREFIX && v == "v1" && kind == "notices" => {
            Some(id.as_str())
        }
        _ => None,
    }
}

/// Whether a path is under crmgate's own prefix (never routed to the CRM).
pub fn is_own(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == OWN_PREFIX)
}

/// The format an `Accept` header asks for: of JSON, plain text and HTML the one with the
/// highest quality (the most specific range that matches each decides its quality), JSON on
/// a tie, without the header, or when none is acceptable.
pub fn format_for(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Json;
    };
    let ranges: Vec<(String, f32)> = accept.split(',').filter_map(media_range).collect();
    let offers = [
        (Format::Json, "application", "json"),
        (Format::Text, "text", "plain"),
        (Format::Html, "text", "html"),
    ];
    let mut best = (Format::Json, 0.0f32);
    for (format, ty, sub) in offers {
        let exact = format!("{ty}/{sub}");
        let any_sub = format!("{ty}/*");
        let q = ranges
            .iter()
            .find(|(r, _)| *r == exact)
            .or_else(|| ranges.iter().find(|(r, _)| *r == any_sub))
            .or_else(|| ranges.iter().find(|(r, _)| r == "*/*"))
            .map_or(0.0, |(_, q)| *q);
        if q > best.1 {
            best = (format, q);
        }
    }
    best.0
}

/// One media range of an `Accept` header: its type in lower case and its quality.
fn media_range(part: &str) -> Option<(String, f32)> {
    let mut params = part.split(';');
    let range = params.next()?.trim().to_ascii_lowercase();
    if range.is_empty() {
        return None;
    }
    let q = params
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
        .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
    Some((range, q.clamp(0.0, 1.0)))
}

/// The content type of a format.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Json => "application/json",
        Format::Text => "text/plain; charset=utf-8",
        Format::Html => "text/html; charset=utf-8",
    }
}

fn render(stored: &Stored, format: Format) -> String {
    let n = &stored.notice;
    match format {
        Format::Json => {
            let categories: Vec<&String> = n.counts.keys().collect();
            let record = match n.records.as_slice() {
                [one] => Some(one),
                _ => None,
            };
            json!({
                "language": n.language,
                "text": n.text,
                "categories": categories,
                "counts": n.counts,
                "record": record,
                "records": n.records,
                "expires_at": humantime::format_rfc3339_seconds(stored.expires_at).to_string(),
            })
            .to_string()
        }
        Format::Text => format!("{}\n", n.text),
        Format::Html => format!(
            "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><p>{text}</p></body></html>\n",
            lang = escape_html(&n.language),
            title = if n.language == "de" { "Hinweis" } else { "Notice" },
            text = escape_html(&n.text),
        ),
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex(id: &NoticeId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id as its path spells it: exactly 32 lower-case hex digits.
fn parse_id(s: &str) -> Option<NoticeId> {
    if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut id: NoticeId = [0; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        let pair = s.get(2 * i..2 * i + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests;
