//! Start-up: `[upstream.oauth]`, the OAuth 2.0 grant crmgate uses for its own credential
//! at the CRM (client credentials, or a JWT bearer assertion signed with a private key),
//! read and checked before anything binds a port.
//!
//! The client secret is read from its environment variable and the private key from its
//! file here, and the key is tried once (an assertion is signed) so that a key that cannot
//! sign is a problem at its line, not a failure of the first request. It must never accept
//! an unknown key, put a secret or a key into a message, or fetch a token (that is the
//! credential source's work, at the first upstream request).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde::Deserialize;

use crate::diagnostic::Report;
use crate::secret::Secret;

/// The grants crmgate can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawGrant {
    ClientCredentials,
    JwtBearer,
}

/// `[upstream.oauth]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth {
    token_url: String,
    grant: RawGrant,
    client_id: String,
    /// Client credentials: the environment variable holding the client secret.
    client_secret_env: Option<String>,
    /// JWT bearer: the private key (PEM, PKCS#8 RSA or P-256, or PKCS#1 RSA).
    private_key_file: Option<PathBuf>,
    /// JWT bearer: the user the assertion names (`sub`).
    subject: Option<String>,
    /// JWT bearer: the assertion's `aud` (default: the token URL's scheme and host).
    audience: Option<String>,
    /// How long a token is valid when the token endpoint does not say (`expires_in`).
    #[serde(default = "default_token_ttl_s")]
    token_ttl_s: u64,
}

fn default_token_ttl_s() -> u64 {
    // A CRM session's usual default timeout: two hours.
    7200
}

/// The OAuth 2.0 grant of crmgate's upstream credential.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The token endpoint (`https://`, or `http://` on loopback).
    pub token_url: http::Uri,
    pub client_id: String,
    pub grant: OAuthGrant,
    /// A token's life when the endpoint does not state one; crmgate refreshes at 80 % of it.
    pub token_ttl: Duration,
}

/// How crmgate proves itself to the token endpoint.
#[derive(Debug, Clone)]
pub enum OAuthGrant {
    /// `grant_type=client_credentials` with the client secret.
    ClientCredentials { secret: Secret },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an assertion signed
    /// by `key`.
    JwtBearer(JwtAssertion),
}

/// The signing key and claims of a JWT bearer assertion.
#[derive(Clone)]
pub struct JwtAssertion {
    pub key: Arc<EncodingKey>,
    /// RS256 or ES256, from the key's type.
    pub algorithm: Algorithm,
    pub subject: String,
    pub audience: String,
}

impl fmt::Debug for JwtAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAssertion")
            .field("algorithm", &self.algorithm)
            .field("subject", &self.subject)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtAssertion {
    /// A signed assertion for `client_id`, valid for three minutes from `now` (seconds
    /// since the epoch): the longest a token endpoint commonly accepts.
    pub fn sign(&self, client_id: &str, now: u64) -> Result<String, String> {
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": self.subject,
            "aud": self.audience,
            "exp": now + 180,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(self.algorithm),
            &claims,
            &self.key,
        )
        .map_err(|e| format!("the assertion cannot be signed: {e}"))
    }
}

/// `[upstream.oauth]`: every problem at the line of its key.
pub(super) fn oauth_from(
    raw: RawOAuth,
    env: &dyn Fn(&str) -> Option<String>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<OAuthConfig> {
    let token_url = token_url(&raw.token_url, r);
    if raw.token_ttl_s == 0 {
        r.at(
            "upstream.oauth.token_ttl_s",
            "upstream.oauth.token_ttl_s must be at least 1".into(),
        );
    }
    if raw.client_id.trim().is_empty() {
        r.at(
            "upstream.oauth.client_id",
            "upstream.oauth.client_id must not be empty".into(),
        );
    }
    let grant = match raw.grant {
        RawGrant::ClientCredentials => client_credentials(&raw, env, r),
        RawGrant::JwtBearer => jwt_bearer(&raw, token_url.as_ref(), rel, r),
    };
    Some(OAuthConfig {
        token_url: token_url?,
        client_id: raw.client_id,
        grant: grant?,
        token_ttl: Duration::from_secs(raw.token_ttl_s.max(1)),
    })
}

/// The token endpoint: a token fetched in the clear could be read on the way, so plain
/// HTTP only on loopback.
fn token_url(url: &str, r: &mut Report<'_>) -> Option<http::Uri> {
    let at = "upstream.oauth.token_url";
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            r.at(at, format!("{at} `{url}`: {e}"));
            return None;
        }
    };
    let loopback = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    match uri.scheme_str() {
        Some("https") if uri.host().is_some() => Some(uri),
        Some("http") if loopback => Some(uri),
        _ => {
            r.at(
                at,
                format!("{at} `{url}` must be https:// (http:// only on loopback)"),
            );
            None
        }
    }
}

fn client_credentials(
    raw: &RawOAuth,
    env: &dyn Fn(&str) -> Option<String>,
    r: &mut Report<'_>,
) -> Option<OAuthGrant> {
    for (given, key) in [
        (raw.private_key_file.is_some(), "private_key_file"),
        (raw.subject.is_some(), "subject"),
        (raw.audience.is_some(), "audience"),
    ] {
        if given {
            r.at(
                &format!("upstream.oauth.{key}"),
                format!("upstream.oauth.{key} belongs to grant = \"jwt_bearer\", not \"client_credentials\""),
            );
        }
    }
    let Some(var) = &raw.client_secret_env else {
        r.at(
            "upstream.oauth.grant",
            "upstream.oauth: grant = \"client_credentials\" needs client_secret_env".into(),
        );
        return None;
    };
    match env(var) {
        Some(v) if !v.is_empty() => Some(OAuthGrant::ClientCredentials {
            secret: Secret::new(v),
        }),
        _ => {
            r.at(
                "upstream.oauth.client_secret_env",
                format!(
                    "upstream.oauth.client_secret_env: environment variable `{var}` is not set"
                ),
            );
            None
        }
    }
}

fn jwt_bearer(
    raw: &RawOAuth,
    token_url: Option<&http::Uri>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<OAuthGrant> {
    if raw.client_secret_env.is_some() {
        r.at(
            "upstream.oauth.client_secret_env",
            "upstream.oauth.client_secret_env belongs to grant = \"client_credentials\", not \"jwt_bearer\"".into(),
        );
    }
    let (Some(file), Some(subject)) = (&raw.private_key_file, &raw.subject) else {
        r.at(
            "upstream.oauth.grant",
            "upstream.oauth: grant = \"jwt_bearer\" needs private_key_file and subject".into(),
        );
        return None;
    };
    let path = rel(file);
    let (key, algorithm) = match signing_key(&path) {
        Ok(k) => k,
        Err(m) => {
            r.at("upstream.oauth.private_key_file", m);
            return None;
        }
    };
    let audience = match (&raw.audience, token_url) {
        (Some(a), _) => a.clone(),
        (None, Some(u)) => format!(
            "{}://{}",
            u.scheme_str().unwrap_or("https"),
            u.authority().map(|a| a.as_str()).unwrap_or_default()
        ),
        (None, None) => return None,
    };
    let assertion = JwtAssertion {
        key: Arc::new(key),
        algorithm,
        subject: subject.clone(),
        audience,
    };
    // The key is tried once now: a key that cannot sign is a problem of the file.
    if let Err(m) = assertion.sign(&raw.client_id, 0) {
        r.at(
            "upstream.oauth.private_key_file",
            format!("upstream.oauth.private_key_file `{}`: {m}", path.display()),
        );
        return None;
    }
    Some(OAuthGrant::JwtBearer(assertion))
}

/// The private key of `path` and the algorithm it signs with: RS256 for an RSA key
/// (PKCS#1, or PKCS#8 unwrapped to PKCS#1), ES256 for a P-256 key in PKCS#8.
fn signing_key(path: &Path) -> Result<(EncodingKey, Algorithm), String> {
    let shown = path.display();
    let der = PrivateKeyDer::from_pem_file(path).map_err(|e| {
        format!("upstream.oauth.private_key_file `{shown}`: no private key in PEM: {e}")
    })?;
    match der {
        PrivateKeyDer::Pkcs1(k) => Ok((EncodingKey::from_rsa_der(k.secret_pkcs1_der()), Algorithm::RS256)),
        PrivateKeyDer::Pkcs8(k) => {
            let der = k.secret_pkcs8_der();
            match pkcs8_parts(der) {
                Some((oid, inner)) if oid == RSA_OID => {
                    Ok((EncodingKey::from_rsa_der(inner), Algorithm::RS256))
                }
                Some((oid, _)) if oid == EC_OID => {
                    Ok((EncodingKey::from_ec_der(der), Algorithm::ES256))
                }
                _ => Err(format!(
                    "upstream.oauth.private_key_file `{shown}`: not an RSA or P-256 private key"
                )),
            }
        }
        _ => Err(format!(
            "upstream.oauth.private_key_file `{shown}`: an EC key must be PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`)"
        )),
    }
}

/// rsaEncryption (1.2.840.113549.1.1.1) and id-ecPublicKey (1.2.840.10045.2.1), DER.
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// A PKCS#8 `PrivateKeyInfo`'s algorithm OID and its inner private key (the octets of
/// `privateKey`): `SEQUENCE { INTEGER, SEQUENCE { OID, … }, OCTET STRING, … }`.
fn pkcs8_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, info, _) = der_item(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, rest) = der_item(info)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, algorithm, rest) = der_item(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = der_item(algorithm)?;
    if tag != 0x06 {
        return None;
    }
    let (tag, key, _) = der_item(rest)?;
    (tag == 0x04).then_some((oid, key))
}

/// One DER item: its tag, its contents and what follows it.
fn der_item(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}
