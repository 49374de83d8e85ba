//! Strict JSON for vendor bodies: a body with a key given twice is refused, since the client
//! and crmgate could read it differently. It must never accept what it cannot read one way.

use std::collections::HashSet;
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
