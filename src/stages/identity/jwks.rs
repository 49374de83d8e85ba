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

use crate::config::{JwtIssuer, KeySet};
use crate::jwk::{parse_jwks, JwtKey};

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

/// The live key sources of the issuers whose keys come from a `jwks_url`: one client and
/// cache per issuer, built at start-up from the configuration (which holds only the URL and
/// its rules), and kept for the gateway's life, so that a policy reload keeps the cache.
#[derive(Debug, Default)]
pub struct IssuerKeys {
    remote: BTreeMap<String, Result<Arc<RemoteJwks>, String>>,
}

impl IssuerKeys {
    /// A client and an empty cache for every issuer with a `jwks_url`.
    pub fn start(issuers: &[JwtIssuer]) -> IssuerKeys {
        let mut remote = BTreeMap::new();
        for issuer in issuers {
            if let KeySet::Remote(r) = &issuer.keys {
                let built =
                    RemoteJwks::new(r.url.clone(), r.max_age, r.min_refresh, r.roots.clone())
                        .map(Arc::new);
                if let Err(e) = &built {
                    // The configuration checked that the client can be built; should it
                    // still fail, the issuer's tokens get a 503, never a guess.
                    tracing::error!(issuer = %issuer.issuer, reason = %e, "jwks client");
                }
                remote.insert(issuer.issuer.clone(), built);
            }
        }
        IssuerKeys { remote }
    }

    /// The key `kid` of `issuer`'s JWKS URL.
    pub async fn key(&self, issuer: &str, kid: &str) -> Result<JwtKey, KeyLookupError> {
        match self.remote.get(issuer) {
            Some(Ok(remote)) => remote.key(kid).await,
            // fail closed: no client for this issuer, no key.
            Some(Err(e)) => Err(KeyLookupError::Unavailable(e.clone())),
            None => Err(KeyLookupError::Unavailable("no JWKS client".into())),
        }
    }
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
