//! The OAuth 2.0 credential: a bearer token crmgate fetches from the token endpoint with
//! its configured grant (client credentials, or a signed JWT bearer assertion), caches,
//! and refreshes at 80 % of its life, one refresh at a time however many requests wait
//! for it. A token the CRM refuses as expired is dropped, so the next request fetches a new
//! one.
//!
//! It must never put the token, the client secret or the assertion into a log, an error,
//! a metric or the audit log (errors name the endpoint's status and its OAuth error code
//! only), and never hand out a token past its expiry: without a valid token the request
//! fails (fail closed), it is never sent without one.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::HeaderValue;
use serde::Deserialize;

use crate::admin::Metrics;
use crate::config::{OAuthConfig, OAuthGrant};
use crate::error::RequestError;
use crate::stages::vendor::{CredentialSource, HeaderFuture, TokenPost};

/// After a failed fetch, requests within this long fail at once instead of each asking the
/// token endpoint again.
const FAILURE_PAUSE: Duration = Duration::from_secs(1);

/// Whether a 401's body says that the CRM refused the token as expired or revoked (the
/// vendor's words for it).
pub type ExpiredAnswer = fn(&[u8]) -> bool;

/// A token fetched with an OAuth 2.0 grant, refreshed before it expires.
pub struct OAuthSource {
    cfg: OAuthConfig,
    post: Arc<dyn TokenPost>,
    metrics: Arc<Metrics>,
    expired: ExpiredAnswer,
    state: Mutex<State>,
    /// Held by the one request that fetches a token; the others wait for its result.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    failed_at: Option<Instant>,
}

struct Token {
    header: HeaderValue,
    refresh_at: Instant,
    expires_at: Instant,
}

/// A token endpoint's answer (RFC 6749 §5.1); other members are ignored.
#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A token endpoint's error answer (RFC 6749 §5.2): only its code is ever repeated.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

impl fmt::Debug for OAuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSource")
            .field("token_url", &self.cfg.token_url)
            .field("client_id", &self.cfg.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthSource {
    pub fn new(
        cfg: OAuthConfig,
        post: Arc<dyn TokenPost>,
        metrics: Arc<Metrics>,
        expired: ExpiredAnswer,
    ) -> OAuthSource {
        metrics.credential_refreshing.store(true, Ordering::Relaxed);
        OAuthSource {
            cfg,
            post,
            metrics,
            expired,
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached token, if it is not yet due for a refresh (`fresh`) or not yet expired.
    fn cached(&self, fresh: bool) -> Option<HeaderValue> {
        let now = Instant::now();
        let state = self.state();
        let token = state.token.as_ref()?;
        let until = if fresh {
            token.refresh_at
        } else {
            token.expires_at
        };
        (now < until).then(|| token.header.clone())
    }

    async fn current(&self) -> Result<Option<HeaderValue>, RequestError> {
        if let Some(h) = self.cached(true) {
            return Ok(Some(h));
        }
        // Single flight: one request fetches, the others wait here and take its token.
        let _turn = self.refresh.lock().await;
        if let Some(h) = self.cached(true) {
            return Ok(Some(h));
        }
        let paused = self
            .state()
            .failed_at
            .is_some_and(|at| at.elapsed() < FAILURE_PAUSE);
        let fetched = if paused {
            Err(RequestError::UpstreamUnavailable(
                "the token endpoint failed a moment ago".into(),
            ))
        } else {
            self.fetch().await
        };
        match fetched {
            Ok(token) => {
                let header = token.header.clone();
                let mut state = self.state();
                state.token = Some(token);
                state.failed_at = None;
                self.metrics
                    .credential_refreshes
                    .fetch_add(1, Ordering::Relaxed);
                Ok(Some(header))
            }
            Err(e) => {
                if !paused {
                    self.state().failed_at = Some(Instant::now());
                    self.metrics
                        .credential_failures
                        .fetch_add(1, Ordering::Relaxed);
                }
                // A token due for refresh but not yet expired still serves.
                match self.cached(false) {
                    Some(h) => Ok(Some(h)),
                    // fail closed: no valid token, no request.
                    None => Err(e),
                }
            }
        }
    }

    /// One grant at the token endpoint.
    async fn fetch(&self) -> Result<Token, RequestError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let form = self.grant_form(now)?;
        let started = Instant::now();
        let (status, body) = self.post.post_form(&self.cfg.token_url, form).await?;
        if !status.is_success() {
            let code = serde_json::from_slice::<ErrorAnswer>(&body)
                .ok()
                .map(|e| e.error)
                .filter(|c| {
                    c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .map(|c| format!(" `{c}`"))
                .unwrap_or_default();
            return Err(RequestError::UpstreamUnavailable(format!(
                "the token endpoint answered {}{code}",
                status.as_u16()
            )));
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| {
            RequestError::UpstreamUnavailable("the token endpoint's answer is not a token".into())
        })?;
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(RequestError::UpstreamUnavailable(
                "the token endpoint answered a token that is not a bearer token".into(),
            ));
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", answer.access_token))
            .ok()
            .filter(|_| !answer.access_token.is_empty())
            .ok_or_else(|| {
                RequestError::UpstreamUnavailable(
                    "the token endpoint answered a token that is not a header value".into(),
                )
            })?;
        header.set_sensitive(true);
        let ttl = match answer.expires_in {
            Some(s) => self.cfg.token_ttl.min(Duration::from_secs(s)),
            None => self.cfg.token_ttl,
        };
        Ok(Token {
            header,
            refresh_at: started + ttl.mul_f64(0.8),
            expires_at: started + ttl,
        })
    }

    /// The form of one grant (it holds the client secret or a signed assertion).
    fn grant_form(&self, now: u64) -> Result<String, RequestError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match &self.cfg.grant {
            OAuthGrant::ClientCredentials { secret } => {
                form.append_pair("grant_type", "client_credentials")
                    .append_pair("client_id", &self.cfg.client_id)
                    .append_pair("client_secret", secret.expose());
            }
            OAuthGrant::JwtBearer(assertion) => {
                let jwt = assertion
                    .sign(&self.cfg.client_id, now)
                    .map_err(RequestError::Internal)?;
                form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
                    .append_pair("assertion", &jwt);
            }
        }
        Ok(form.finish())
    }
}

impl CredentialSource for OAuthSource {
    fn header(&self) -> HeaderFuture<'_> {
        Box::pin(self.current())
    }

    fn rejected(&self, used: &HeaderValue, body: &[u8]) -> bool {
        if !(self.expired)(body) {
            return false;
        }
        self.metrics
            .credential_rejections
            .fetch_add(1, Ordering::Relaxed);
        let mut state = self.state();
        // Only the token that was refused is dropped: another request may have fetched
        // its successor already.
        if state.token.as_ref().is_some_and(|t| t.header == *used) {
            state.token = None;
        }
        true
    }
}
