//! Vendor profiles: each CRM's API behind the stages' [`Vendor`] seam.
//!
//! The generic stages (routing, authz, filter) know records, properties and field groups;
//! the shapes a vendor wraps them in live here, one module per vendor, each implementing
//! [`Vendor`]. A body is parsed into a strict typed form (unknown keys and unexpected
//! shapes are refused) and the upstream body is rebuilt from it, so what reaches the CRM
//! is exactly what crmgate read and checked. [`select`] is the one place a vendor's name
//! maps to its profile. This module must never forward a client's bytes, and never
//! decide on access itself.

pub mod hubspot;

use std::collections::HashSet;
use std::sync::Arc;

use http::header::HeaderValue;

use crate::error::RequestError;
use crate::secret::Secret;
use crate::stages::vendor::{CredentialSource, HeaderFuture, Vendor};

/// The vendor names `[upstream] vendor` accepts.
pub const VENDORS: &[&str] = &["hubspot"];

/// The vendor of a configuration that names none.
pub const DEFAULT_VENDOR: &str = "hubspot";

/// The profile of the vendor `name` (`[upstream] vendor`), if crmgate has one. The one
/// place a vendor's name maps to an implementation.
pub fn select(name: &str) -> Option<Arc<dyn Vendor>> {
    match name {
        "hubspot" => Some(Arc::new(hubspot::HubSpot)),
        _ => None,
    }
}

/// A static bearer token (`Authorization: Bearer …`), or no credential at all.
#[derive(Debug)]
pub struct StaticBearer(pub Option<Secret>);

impl CredentialSource for StaticBearer {
    fn header(&self) -> HeaderFuture<'_> {
        let header = self
            .0
            .as_ref()
            .map(|token| {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        RequestError::Internal(
                            "the upstream credential is not a valid header value".into(),
                        )
                    })?;
                v.set_sensitive(true);
                Ok(v)
            })
            .transpose();
        Box::pin(std::future::ready(header))
    }
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
