//! Filter stage, value level: the mask kinds a `@mask("…")` policy annotation can ask for.
//!
//! A mask turns a string property value into a less revealing string of the same JSON type.
//! It must never widen what is shown, never change a value's JSON type (a client that expects
//! a string gets a string), and never be applied to a value it cannot mask safely: such a
//! value is removed instead (fail closed).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;
use sha2::Sha256;

use crate::policy::obligations::MaskKind;
use crate::secret::Secret;

/// The placeholder of the `redact` mask.
pub const REDACTED: &str = "[redacted]";

/// Per-purpose pseudonym keys, derived from the configured master key.
#[derive(Clone)]
pub struct HashKeys {
    master: Secret,
    /// Keys derived so far, per purpose (two HMACs saved per request).
    derived: Arc<RwLock<HashMap<String, PurposeKey>>>,
}

/// Most purpose keys kept derived: purposes are few and come from the configuration.
const DERIVED_KEYS: usize = 256;

impl fmt::Debug for HashKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKeys(<redacted>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl HashKeys {
    pub fn new(master: Secret) -> Self {
        Self {
            master,
            derived: Arc::default(),
        }
    }

    /// The key for one purpose: HMAC(master, "crmgate/hash/v1/" + purpose). Pseudonyms made
    /// for one purpose cannot be joined with those made for another.
    pub fn for_purpose(&self, purpose: &str) -> PurposeKey {
        // A poisoned lock only loses the cache: the key is derived again.
        if let Some(k) = self
            .derived
            .read()
            .ok()
            .and_then(|m| m.get(purpose).cloned())
        {
            return k;
        }
        let mut mac = mac_with(self.master.expose().as_bytes());
        mac.update(b"crmgate/hash/v1/");
        mac.update(purpose.as_bytes());
        let key = PurposeKey(mac.finalize().into_bytes().to_vec());
        if let Ok(mut m) = self.derived.write() {
            if m.len() < DERIVED_KEYS {
                m.insert(purpose.to_string(), key.clone());
            }
        }
        key
    }
}

/// One purpose's pseudonym key.
#[derive(Clone)]
pub struct PurposeKey(Vec<u8>);

impl fmt::Debug for PurposeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PurposeKey(<redacted>)")
    }
}

impl PurposeKey {
    /// A keyed MAC (hex) over `data`: seals values crmgate hands out and must get back
    /// unchanged (paging cursors).
    pub fn seal(&self, data: &[u8]) -> String {
        let mut mac = mac_with(&self.0);
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypt and seal `plain` for a value crmgate hands out, must get back unchanged and
    /// that must say nothing (a paging cursor holds the CRM's own position, which can name a
    /// record): ChaCha20-Poly1305 under a key derived from this one, a fresh random nonce,
    /// `bound` authenticated with it. Hex of nonce, ciphertext and tag; `None` only if the
    /// system's random source fails.
    pub fn encrypt(&self, plain: &[u8], bound: &[u8]) -> Option<String> {
        let key = self.aead_key()?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(bound),
            &mut buf,
        )
        .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Some(hex::encode(out))
    }

    /// What [`PurposeKey::encrypt`] sealed with this key and `bound`; `None` for anything
    /// changed, foreign or malformed.
    pub fn decrypt(&self, token: &str, bound: &[u8]) -> Option<Vec<u8>> {
        let key = self.aead_key()?;
        let raw = hex::decode(token).ok()?;
        let (nonce, sealed) = raw.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(bound), &mut buf).ok()?;
        Some(plain.to_vec())
    }

    fn aead_key(&self) -> Option<LessSafeKey> {
        let mut mac = mac_with(&self.0);
        mac.update(b"crmgate/aead/v1");
        let k = mac.finalize().into_bytes();
        UnboundKey::new(&CHACHA20_POLY1305, &k)
            .ok()
            .map(LessSafeKey::new)
    }

    /// Whether `seal` is this key's MAC over `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], seal: &str) -> bool {
        let Ok(tag) = hex::decode(seal) else {
            return false;
        };
        let mut mac = mac_with(&self.0);
        mac.update(data);
        hmac::Mac::verify_slice(mac, &tag).is_ok()
    }
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty-keyed MAC
    // type-wise only to avoid a panic path.
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()),
    }
}

/// Apply a mask to a JSON value. Returns `None` when the value must be removed instead:
/// masks only apply to strings, and a typed value (number, bool, object, array) is never
/// turned into a string. `null` stays `null`: there is nothing to reveal.
pub fn apply(kind: MaskKind, value: &Value, key: &PurposeKey) -> Option<Value> {
    match value {
        Value::Null => Some(Value::Null),
        Value::String(s) => Some(match kind {
            MaskKind::Null => Value::Null,
            other => Value::String(mask_str(other, s, key)),
        }),
        // fail closed: a typed value cannot be masked without changing its type.
        _ => None,
    }
}

/// Mask one string. `Null` is handled by [`apply`]; here it degrades to `redact`.
pub fn mask_str(kind: MaskKind, s: &str, key: &PurposeKey) -> String {
    match kind {
        MaskKind::Redact | MaskKind::Null => REDACTED.to_string(),
        MaskKind::Partial => partial(s),
        MaskKind::Hash => pseudonym(s, key),
        MaskKind::MonthDay => match split_date(s) {
            Some((_, m, d)) => format!("--{m}-{d}"),
            // fail closed: not a date, so nothing of it may be shown.
            None => REDACTED.to_string(),
        },
        MaskKind::Year => match split_date(s) {
            Some((y, _, _)) => y.to_string(),
            None => REDACTED.to_string(),
        },
    }
}

fn pseudonym(s: &str, key: &PurposeKey) -> String {
    let mut mac = mac_with(&key.0);
    mac.update(s.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("h_{}", hex::encode(digest.get(..12).unwrap_or(&[])))
}

/// `YYYY-MM-DD` (optionally followed by a time) → its parts.
fn split_date(s: &str) -> Option<(&str, &str, &str)> {
    let y = s.get(0..4)?;
    let m = s.get(5..7)?;
    let d = s.get(8..10)?;
    let seps = (s.get(4..5)?, s.get(7..8)?);
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = s.len() == 10 || s.get(10..11).is_some_and(|c| c == "T" || c == " ");
    (seps == ("-", "-") && digits(y) && digits(m) && digits(d) && rest_ok).then_some((y, m, d))
}

/// Partial mask: e-mail keeps the first character of the local part and the domain; a value
/// that is mostly digits (phone, IBAN, card) keeps its last four digits; anything else keeps
/// its first character. Short values are fully redacted, since a "hint" would be most of it.
fn partial(s: &str) -> String {
    // Counted without collecting: this runs for every masked value of every record.
    if s.chars().nth(3).is_none() {
        return "***".to_string();
    }
    if let Some((local, domain)) = s.split_once('@') {
        if let Some(first) = local.chars().next() {
            return format!("{first}***@{domain}");
        }
    }
    // ASCII digits are single bytes in UTF-8, and no other character contains those bytes.
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 6 && digits * 2 >= s.chars().filter(|c| !c.is_whitespace()).count() {
        let mut out = String::with_capacity(7);
        out.push_str("***");
        let skip = digits.saturating_sub(4);
        out.extend(
            s.bytes()
                .filter(u8::is_ascii_digit)
                .skip(skip)
                .map(char::from),
        );
        return out;
    }
    match s.chars().next() {
        Some(first) => format!("{first}***"),
        None => "***".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(p: &str) -> PurposeKey {
        HashKeys::new(Secret::new("0123456789abcdef0123")).for_purpose(p)
    }

    #[test]
    fn masks_keep_strings_strings() {
        let k = key("greetings");
        for kind in MaskKind::ALL {
            let out = apply(kind, &json!("1985-12-24"), &k).unwrap();
            if kind == MaskKind::Null {
                assert!(out.is_null());
            } else {
                assert!(out.is_string(), "{kind}");
            }
        }
    }

    #[test]
    fn typed_values_are_removed_not_stringified() {
        let k = key("p");
        for v in [json!(true), json!(3), json!({"a": 1}), json!([1])] {
            for kind in MaskKind::ALL {
                assert_eq!(apply(kind, &v, &k), None, "{kind} on {v}");
            }
        }
    }

    #[test]
    fn dates() {
        let k = key("p");
        assert_eq!(mask_str(MaskKind::MonthDay, "1985-12-24", &k), "--12-24");
        assert_eq!(mask_str(MaskKind::Year, "1985-12-24", &k), "1985");
        assert_eq!(
            mask_str(MaskKind::MonthDay, "2001-02-03T04:05:06Z", &k),
            "--02-03"
        );
        assert_eq!(mask_str(MaskKind::MonthDay, "Christmas", &k), REDACTED);
        assert_eq!(mask_str(MaskKind::Year, "1985-1-24", &k), REDACTED);
    }

    #[test]
    fn partial_hints() {
        let k = key("p");
        assert_eq!(
            mask_str(MaskKind::Partial, "santa@northpole.example", &k),
            "s***@northpole.example"
        );
        assert_eq!(
            mask_str(MaskKind::Partial, "DE89 3704 0044 0532 0130 00", &k),
            "***3000"
        );
        assert_eq!(mask_str(MaskKind::Partial, "+49 30 1234567", &k), "***4567");
        assert_eq!(mask_str(MaskKind::Partial, "Ebenezer", &k), "E***");
        assert_eq!(mask_str(MaskKind::Partial, "Bo", &k), "***");
    }

    #[test]
    fn pseudonyms_are_stable_per_purpose_and_differ_across_purposes() {
        let a = mask_str(MaskKind::Hash, "Scrooge", &key("greetings"));
        let b = mask_str(MaskKind::Hash, "Scrooge", &key("greetings"));
        let c = mask_str(MaskKind::Hash, "Scrooge", &key("survey"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.contains("Scrooge"));
    }

    #[test]
    fn most_restrictive_wins_by_order() {
        assert!(MaskKind::Null > MaskKind::Redact);
        assert!(MaskKind::Redact > MaskKind::Hash);
        assert!(MaskKind::Hash > MaskKind::Partial);
        assert!(MaskKind::Partial > MaskKind::MonthDay);
        assert!("bogus"
            .parse::<MaskKind>()
            .unwrap_err()
            .contains("month_day"));
    }
}
