//! The JWT bearer grant's assertion (`urn:ietf:params:oauth:grant-type:jwt-bearer`):
//! an RS256 or ES256 signature checked against the public key a test gave the demo
//! (PEM `PUBLIC KEY`), `iss` the client id, a `sub`, an `aud`, an `exp` not passed. It
//! only checks: it must never issue a token or log an assertion.

use ring::signature::{self, UnparsedPublicKey};
use serde_json::Value;

/// A public key the demo checks assertions against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// PKCS#1 `RSAPublicKey` DER (RS256).
    Rsa(Vec<u8>),
    /// An uncompressed P-256 point (ES256).
    Ec(Vec<u8>),
}

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// A `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) of an RSA or P-256 key.
pub(crate) fn public_key(pem: &str) -> Option<PublicKey> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = base64_decode(body.trim(), false)?;
    let (info, _) = der_item(&der, 0x30)?;
    let (algorithm, rest) = der_item(info, 0x30)?;
    let (oid, _) = der_item(algorithm, 0x06)?;
    let (bits, _) = der_item(rest, 0x03)?;
    let key = bits.strip_prefix(&[0])?.to_vec();
    match oid {
        RSA_OID => Some(PublicKey::Rsa(key)),
        EC_OID => Some(PublicKey::Ec(key)),
        _ => None,
    }
}

/// The content of the DER item with `tag` at the start of `bytes`, and what follows it.
fn der_item(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = bytes.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        let (digits, rest) = (rest.get(..count)?, rest.get(count..)?);
        let length = digits.iter().try_fold(0_usize, |n, &b| {
            n.checked_mul(256)?.checked_add(usize::from(b))
        })?;
        (length, rest)
    };
    Some((rest.get(..length)?, rest.get(length..)?))
}

/// The subject of a valid assertion for `client_id`, or why it is not valid.
pub(crate) fn verify(
    assertion: &str,
    key: &PublicKey,
    client_id: &str,
    now_secs: i64,
) -> Result<String, &'static str> {
    let mut parts = assertion.split('.');
    let (Some(head), Some(claims), Some(signed), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("invalid assertion");
    };
    let json =
        |part: &str| -> Option<Value> { serde_json::from_slice(&base64_decode(part, true)?).ok() };
    let header = json(head).ok_or("invalid assertion")?;
    let claims = json(claims).ok_or("invalid assertion")?;
    let signature_bytes = base64_decode(signed, true).ok_or("invalid assertion")?;
    let message = assertion
        .rsplit_once('.')
        .map_or("", |(message, _)| message)
        .as_bytes();
    let checked = match (key, header.get("alg").and_then(Value::as_str)) {
        (PublicKey::Rsa(der), Some("RS256")) => {
            UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
                .verify(message, &signature_bytes)
        }
        (PublicKey::Ec(point), Some("ES256")) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, &signature_bytes)
        }
        _ => return Err("invalid assertion algorithm"),
    };
    checked.map_err(|_| "invalid assertion signature")?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if text("iss") != Some(client_id) {
        return Err("invalid client credentials");
    }
    if text("aud").is_none() {
        return Err("audience is invalid");
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_secs => {}
        _ => return Err("expired authorization code"),
    }
    text("sub")
        .map(str::to_string)
        .ok_or("user hasn't approved this consumer")
}

/// Base64 (standard alphabet with padding, or URL-safe without) to bytes.
pub(crate) fn base64_decode(text: &str, url_safe: bool) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if !url_safe => 62,
            b'/' if !url_safe => 63,
            b'-' if url_safe => 62,
            b'_' if url_safe => 63,
            _ => return None,
        };
        Some(u32::from(v))
    };
    let symbols: Vec<u8> = text.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(symbols.len() * 3 / 4);
    for chunk in symbols.chunks(4) {
        let mut acc = 0_u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        let bits = chunk.len() * 6;
        acc <<= 24 - bits;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(bytes.get(1..1 + bits / 8)?);
    }
    Some(out)
}
