//! Stage 3, identify (OIDC keys): an issuer's JWKS fetched from a URL and cached.
//!
//! Keys are used for at most `max_age` after they were fetched; then (or when a token names
//! a `kid` the cache does not hold) the JWKS is fetched again, by one request at a time.
//! Refreshes for unknown `kid`s are rate-limited (`min_refresh`), so random `kid`s cannot
//! turn crmgate into a load generator against the identity provider. Fail closed: when the
//! JWKS cannot be fetched, an unknown `kid` stays unknown, and keys past their age are not
//! used at all (the request gets a 503, not a guess).
//!
//! It must never accept a symmetric key, or a key older than its maximum age.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use serde::Deserialize;

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no key could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookupError {
    /// The JWKS (fresh, or fetched just now) has no such `kid`.
    UnknownKid,
    /// The JWKS could not be fetched and no unexpired copy is held.
    Unavailable(String),
}

struct Cached {
    fetched: Instant,
    keys: Arc<BTreeMap<String, JwtKey>>,
}

/// A JWKS URL with its cache.
pub struct RemoteJwks {
    url: http::Uri,
    max_age: Duration,
    min_refresh: Duration,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    cache: RwLock<Option<Cached>>,
    /// When the last fetch was attempted (successful or not), for the rate limit.
    last_attempt: RwLock<Option<Instant>>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.url)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    pub fn new(
        url: http::Uri,
        max_age: Duration,
        min_refresh: Duration,
        roots: rustls::RootCertStore,
    ) -> Result<RemoteJwks, String> {
        let https = crate::pki::https_connector(roots, "jwks")?;
        Ok(RemoteJwks {
            url,
            max_age,
            min_refresh,
            client: Client::builder(TokioExecutor::new()).build(https),
            cache: RwLock::new(None),
            last_attempt: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The unexpired key set, if any.
    fn fresh(&self) -> Option<Arc<BTreeMap<String, JwtKey>>> {
        let guard = self.cache.read().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|c| c.fetched.elapsed() < self.max_age)
            .map(|c| c.keys.clone())
    }

    /// The key for `kid`, fetching the JWKS when the cache is expired or lacks the kid.
    pub async fn key(&self, kid: &str) -> Result<JwtKey, KeyLookupError> {
        let fresh = self.fresh();
        if let Some(k) = fresh.as_ref().and_then(|keys| keys.get(kid)) {
            return Ok(k.clone());
        }
        let _one = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let fresh = self.fresh();
        if let Some(k) = fresh.as_ref().and_then(|keys| keys.get(kid)) {
            return Ok(k.clone());
        }
        let recently = self
            .last_attempt
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() < self.min_refresh);
        if recently {
            // Fetched (or tried) moments ago: do not ask again for every request.
            return match fresh {
                Some(_) => Err(KeyLookupError::UnknownKid),
                None => Err(KeyLookupError::Unavailable(
                    "the last fetch failed moments ago".into(),
                )),
            };
        }
        *self.last_attempt.write().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
                    fetched: Instant::now(),
                    keys: keys.clone(),
                });
                keys.get(kid).cloned().ok_or(KeyLookupError::UnknownKid)
            }
            Err(e) => {
                tracing::warn!(url = %self.url, reason = %e, "jwks fetch failed");
                // fail closed: an unexpired cache answers for the kids it holds; an
                // unknown kid stays unknown; without an unexpired cache nothing verifies.
                match fresh {
                    Some(_) => Err(KeyLookupError::UnknownKid),
                    None => Err(KeyLookupError::Unavailable(e)),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<BTreeMap<String, JwtKey>, String> {
        let req = http::Request::get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| format!("{e}"))?;
            if resp.status() != http::StatusCode::OK {
                return Err(format!("status {}", resp.status()));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            let text = std::str::from_utf8(&body).map_err(|_| "not UTF-8".to_string())?;
            parse_jwks(text)
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| "timed out".to_string())?
    }
}

/// A public key of an issuer: the decoding key and the algorithm the JWKS binds it to.
/// (Public keys: printing them reveals nothing.)
#[derive(Debug, Clone)]
pub struct JwtKey {
    pub key: jsonwebtoken::DecodingKey,
    /// The JWK's `alg`, when it names one: a token must then use exactly this.
    pub alg: Option<jsonwebtoken::Algorithm>,
}

/// Algorithms an issuer may be configured with: asymmetric signatures only. `none` is not
/// among them, and HMAC is refused so that a public key can never be used as a shared secret
/// (the HS/RS confusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "RS384")]
    Rs384,
    #[serde(rename = "RS512")]
    Rs512,
    #[serde(rename = "PS256")]
    Ps256,
    #[serde(rename = "PS384")]
    Ps384,
    #[serde(rename = "PS512")]
    Ps512,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl From<JwtAlgorithm> for jsonwebtoken::Algorithm {
    fn from(a: JwtAlgorithm) -> Self {
        use jsonwebtoken::Algorithm as A;
        match a {
            JwtAlgorithm::Rs256 => A::RS256,
            JwtAlgorithm::Rs384 => A::RS384,
            JwtAlgorithm::Rs512 => A::RS512,
            JwtAlgorithm::Ps256 => A::PS256,
            JwtAlgorithm::Ps384 => A::PS384,
            JwtAlgorithm::Ps512 => A::PS512,
            JwtAlgorithm::Es256 => A::ES256,
            JwtAlgorithm::Es384 => A::ES384,
            JwtAlgorithm::EdDsa => A::EdDSA,
        }
    }
}

/// An algorithm by name (a JWK's `alg`), accepted only if it is a [`JwtAlgorithm`].
pub fn parse_jwt_algorithm(name: &str) -> Result<jsonwebtoken::Algorithm, String> {
    use serde::de::value::{Error, StrDeserializer};
    JwtAlgorithm::deserialize(StrDeserializer::<Error>::new(name))
        .map(Into::into)
        .map_err(|_| {
            format!(
                "algorithm `{name}` is not accepted (asymmetric only: RS256, RS384, RS512, \
                 PS256, PS384, PS512, ES256, ES384, EdDSA)"
            )
        })
}

/// Parse a JWKS document: every key needs a unique `kid`; symmetric (`oct`) keys are refused.
/// Encryption keys (`use: enc`, or an encryption `alg` such as `RSA-OAEP`), which identity
/// providers publish next to their signing keys, are skipped: they never verify a token.
pub fn parse_jwks(text: &str) -> Result<BTreeMap<String, JwtKey>, String> {
    use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = BTreeMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            return Err("a key has no `kid`".into());
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(format!("key `{kid}` is symmetric (`oct`): not accepted"));
        }
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption)
            || matches!(
                jwk.common.key_algorithm,
                Some(KeyAlgorithm::RSA1_5 | KeyAlgorithm::RSA_OAEP | KeyAlgorithm::RSA_OAEP_256)
            )
        {
            continue;
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(
                parse_jwt_algorithm(&format!("{a:?}")).map_err(|m| format!("key `{kid}`: {m}"))?,
            ),
        };
        let key =
            jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
        if keys.insert(kid.clone(), JwtKey { key, alg }).is_some() {
            return Err(format!("`kid` `{kid}` is used twice"));
        }
    }
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    Ok(keys)
}
