//! Vendor request and response shapes: what a CRM's search and batch bodies look like.
//!
//! The generic stages (routing, authz, filter) know records, properties and field groups;
//! the shapes a vendor wraps them in live here. A body is parsed into a strict typed form
//! (unknown keys and unexpected shapes are refused) and the upstream body is rebuilt from
//! it, so what reaches the CRM is exactly what crmgate read and checked. This module must
//! never forward a client's bytes, and never decide on access itself.

pub mod hubspot;

/// The vendor's write bodies: parsed into [`crate::stages::write::WriteBody`], rebuilt from
/// what the write stage allowed, and the batch answers over them.
pub use hubspot::write as writes;

/// The vendor's associations on a record: which other records it names, and the member as
/// the caller may see it.
pub use hubspot::associations;

use std::collections::HashSet;

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use crate::error::RequestError;
use crate::policy::plan::RowCondition;
use crate::stages::routing::{GroupId, ResourceProfile, Route};
use crate::stages::sanitize::Canonical;

/// What goes upstream for a read route, and what the later stages must know about it.
pub struct Prepared {
    pub path_and_query: String,
    /// The rebuilt body (never the client's bytes).
    pub body: Option<Bytes>,
    /// Properties fetched only for the policies: removed again before the client sees them.
    pub hidden: HashSet<String>,
    /// The field group of every property the request selects, orders or looks up records by.
    pub selected_by: Vec<GroupId>,
    /// How the answer is made from what the filter kept.
    pub answer: Answer,
}

impl Prepared {
    /// The field groups (bitmask) the request selects records by.
    pub fn selection(&self) -> u64 {
        self.selected_by.iter().fold(0, |m, g| m | (1u64 << g))
    }
}

/// How the client's answer is made.
pub enum Answer {
    /// The filtered body, as the filter left it.
    Filtered,
    /// A search whose count and paging crmgate answers over what the caller is shown,
    /// unless the policies show it every record.
    Counted(Box<dyn CountedSearch>),
    /// A batch whose envelope (errors, status) crmgate rebuilds over what is shown.
    Batch(Box<dyn BatchAnswer>),
    /// A list crmgate pages itself over what the caller is shown, unless the policies show
    /// it every record: pages come back full, and its cursor is crmgate's own.
    Refilled(Box<dyn RefilledList>),
}

/// One filtered page of a walk, as a vendor reads it: its records as JSON text borrowed
/// from the filtered body (never parsed into a tree: they are copied into the client's
/// answer as the filter wrote them), and the vendor's cursor of the next page.
pub struct PageRead<'a> {
    pub records: Vec<&'a serde_json::value::RawValue>,
    pub next: Option<String>,
}

/// A list crmgate fetches page by page from the vendor and refills to the client's size.
pub trait RefilledList: Send + Sync {
    /// The client's page size.
    fn limit(&self) -> usize;
    /// The client's cursor, as it sent it (crmgate's own, sealed), if any.
    fn cursor(&self) -> Option<&str>;
    /// Most vendor pages one client page may take.
    fn max_pages(&self) -> usize;
    /// The upstream path and query of the vendor's page at `after` (first page: `None`).
    fn page_request(&self, after: Option<&str>) -> String;
    /// A filtered page's records, and the vendor's cursor of its next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
    /// The client's answer: its records (filtered JSON text, copied as it is), and
    /// crmgate's cursor of the next page if any.
    fn answer(&self, records: &[&[u8]], next: Option<String>) -> Result<Vec<u8>, RequestError>;
    /// The same list as a vendor query that carries the row condition (only the part the
    /// vendor can express; the rows that come back are still decided one by one), if any.
    fn pushdown(&self, res: &ResourceProfile, rows: &RowCondition) -> Option<Box<dyn PushedList>>;
}

/// A list pushed down into the vendor's query language: pages of a search.
pub trait PushedList: Send + Sync {
    /// The vendor's search path for the collection.
    fn path(&self) -> &str;
    /// The search body for the page at `after`.
    fn page_body(&self, after: Option<&str>) -> Result<Bytes, RequestError>;
    /// A filtered page's records, and the vendor's cursor of its next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
}

/// A search crmgate can walk page by page and count itself.
pub trait CountedSearch: Send + Sync {
    /// Records per upstream page, and most pages one search may take (the vendor's caps).
    fn page_size(&self) -> usize;
    fn max_pages(&self) -> usize;
    /// The upstream body for the page at `cursor` (the first page: `None`).
    fn page_body(&self, cursor: Option<String>) -> Result<Bytes, RequestError>;
    /// A filtered page's records, and the cursor of the vendor's next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
    /// The client's page: its cursor as it sent it (crmgate's own, sealed), if any, and its
    /// size.
    fn client_page(&self) -> (Option<String>, usize);
    /// The client's answer: its page of the shown records, the count of them all, and
    /// crmgate's cursor of the next page if there is one.
    fn answer(
        &self,
        total: usize,
        page: &[&[u8]],
        next: Option<String>,
    ) -> Result<Vec<u8>, RequestError>;
}

/// A batch answer rebuilt over what the caller is shown.
pub trait BatchAnswer: Send + Sync {
    /// The answer's body and status, from the filtered body (and the upstream body, read
    /// only to tell which input each shown record answers).
    fn rebuild(
        &self,
        res: &ResourceProfile,
        upstream: &[u8],
        filtered: Value,
    ) -> Result<(Value, StatusCode), RequestError>;
}

/// Prepare the upstream request of a read route in the vendor's shape. HubSpot CRM v3 is
/// the one profile today; another is a module beside it, chosen here.
pub fn prepare(route: &Route, c: &Canonical, body: Bytes) -> Result<Prepared, RequestError> {
    hubspot::prepare(route, c, body)
}

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Refuse a JSON text with a duplicate object key anywhere (also when one spelling is
/// escaped). serde keeps the last of two keys silently, while a CRM may read the first: a
/// body with duplicates could mean one thing to crmgate and another upstream.
pub fn reject_duplicate_keys(body: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    NoDuplicates
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate key `{}`",
                    key.chars().take(64).collect::<String>()
                )));
            }
            map.next_value_seed(NoDuplicates)?;
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::reject_duplicate_keys;

    #[test]
    fn duplicate_keys_are_found_at_any_depth_and_spelling() {
        assert!(reject_duplicate_keys(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert!(reject_duplicate_keys(br#"{"a":1,"a":2}"#).is_err());
        assert!(reject_duplicate_keys(br#"{"a":1,"\u0061":2}"#).is_err());
        assert!(reject_duplicate_keys(br#"[{"x":{"y":1,"y":1}}]"#).is_err());
        assert!(reject_duplicate_keys(br#"{"a":1} x"#).is_err());
    }
}
