//! Stage 8, forward: the one way to the CRM.
//!
//! Requests are built from scratch, never copied from the client: crmgate's own headers
//! only (the vendor credential it injects, from the vendor's credential source, `Accept-Encoding: identity`, its request id, the
//! socket peer), no Range, nothing the client sent about identity or hops. Forwarding needs
//! a [`Permit`], which only the authorization stage can mint, and sends the request it
//! carries. The response is buffered with
//! a size cap and checked so that only a complete, uncompressed JSON body goes on to the
//! filter; anything else is a 502, never the raw body.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::admin::Metrics;
use crate::config::UpstreamConfig;
use crate::error::{RateLimit, RateLimitShape, RequestError};
use crate::stages::authz::Permit;
use crate::stages::budget::Budget;
use crate::stages::vendor::{CredentialInputs, CredentialSource, PostFuture, TokenPost, Vendor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A buffered upstream response that passed the framing checks.
#[derive(Debug)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

/// The pooled client to the CRM.
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// For writes: never retries a request on a pooled connection that closed under it (a
    /// non-idempotent write is sent at most once; the client decides whether to repeat).
    once: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    scheme: String,
    authority: String,
    /// Where the `Authorization` header comes from (the vendor's credential).
    credential: Arc<dyn CredentialSource>,
    /// How the vendor spells its rate-limit signals, passed on with a 429.
    rate_limit: RateLimitShape,
    /// The account's request budget (`[upstream.budget]`): a slot before every request.
    budget: Option<Budget>,
    timeout: Duration,
    max_body: usize,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("authority", &self.authority)
            .field("credential", &self.credential)
            .finish()
    }
}

/// The size of every read from a CRM connection (hyper's adaptive default grows a
/// connection's buffer up to 408 KiB and keeps it). A request whose CRM answer has arrived
/// but that waits for its [`BufferTurn`] holds its connection's buffer, and a pooled
/// connection keeps it: at 256 concurrent lists, peak RSS 107-111 MiB with the default,
/// 74-76 MiB with reads of at most 16 KiB, 66-69 MiB with reads of 8 KiB, at the same rate.
const READ_BUFFER: usize = 8 * 1024;

/// How much of a CRM 429's body is read for the name of the limit it reports.
const RATE_LIMIT_BODY: usize = 16 * 1024;

/// A turn to buffer one response (`limits.max_buffered_responses`). A read takes it when
/// the CRM's response head has arrived, so that waiting for the CRM holds none, and keeps it
/// until its answer to the client has been sent (the permit goes with the response body):
/// what is buffered at once stays bounded, whatever the CRM's latency.
pub struct BufferTurn {
    limit: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl BufferTurn {
    pub fn new(limit: Arc<Semaphore>) -> BufferTurn {
        BufferTurn { limit, held: None }
    }

    /// Waits while the limit is reached; a turn already held is kept.
    pub async fn take(&mut self) -> Result<(), RequestError> {
        if self.held.is_none() {
            let permit = self
                .limit
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| RequestError::Internal("the buffering limit was closed".into()))?;
            self.held = Some(permit);
        }
        Ok(())
    }

    /// The permit for the response body (taken now if no CRM answer took it).
    pub async fn into_permit(mut self) -> Result<OwnedSemaphorePermit, RequestError> {
        self.take().await?;
        self.held
            .ok_or_else(|| RequestError::Internal("no buffering turn".into()))
    }
}

impl Upstream {
    /// Build the client: HTTP or HTTPS (rustls, the web PKI plus an optional private CA).
    pub fn new(
        cfg: &UpstreamConfig,
        vendor: &dyn Vendor,
        metrics: Arc<Metrics>,
    ) -> Result<Upstream, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &cfg.ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect())
                .map_err(|e| format!("upstream.ca_file `{}`: {e}", ca.display()))?;
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("upstream.ca_file `{}`: {e}", ca.display()))?;
            }
        }
        let https = crate::pki::https_connector(roots, "upstream")?;
        // The pool closes idle connections only with a timer: without one an idle connection
        // stays open until it is next checked out, however long that takes.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .http1_read_buf_exact_size(READ_BUFFER)
            .build(https.clone());
        let tokens = TokenClient {
            client: client.clone(),
            timeout: cfg.timeout,
        };
        let budget = cfg.budget.as_ref().map(|b| Budget::new(b, metrics.clone()));
        let credential = vendor.credential(CredentialInputs {
            secret: cfg.credential.clone(),
            oauth: cfg.oauth.clone(),
            post: Arc::new(tokens),
            metrics,
        })?;
        let once = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .http1_read_buf_exact_size(READ_BUFFER)
            .retry_canceled_requests(false)
            .build(https);
        let scheme = cfg.base.scheme_str().unwrap_or("http").to_string();
        let authority = cfg
            .base
            .authority()
            .map(|a| a.to_string())
            .ok_or("upstream.url has no host")?;
        Ok(Upstream {
            client,
            once,
            scheme,
            authority,
            credential,
            rate_limit: vendor.rate_limit(),
            budget,
            timeout: cfg.timeout,
            max_body: cfg.max_body_bytes,
        })
    }

    /// Send one authorized request and buffer its response.
    ///
    /// It takes the [`Permit`], which carries the exact request the decision allowed, and
    /// sends that request and nothing else: there is no other way to name what is sent.
    ///
    /// `turn`, when given, is taken once the response head has arrived and before its body is
    /// read (a caller without one already holds its turn); the wait for it does not count
    /// against `upstream.timeout_ms`.
    pub async fn send(
        &self,
        permit: Permit,
        request_id: &str,
        peer: IpAddr,
        turn: Option<&mut BufferTurn>,
    ) -> Result<UpstreamResponse, RequestError> {
        let writes = permit.writes();
        let client = if writes { &self.once } else { &self.client };
        let (method, path_and_query, body) = permit.into_request();
        self.take_slot(&method, &path_and_query).await?;
        let uri = format!("{}://{}{}", self.scheme, self.authority, path_and_query);
        let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let mut renewed = false;
        let (started, status, body) = loop {
            let used = self.credential.header().await?;
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(uri.as_str())
                .header(ACCEPT, "application/json")
                .header(ACCEPT_ENCODING, "identity")
                .header("x-request-id", request_id)
                .header("x-forwarded-for", peer.to_string());
            if let Some(v) = &used {
                builder = builder.header(AUTHORIZATION, v.clone());
            }
            if body.is_some() {
                builder = builder.header(CONTENT_TYPE, "application/json");
            }
            let request = builder
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|e| RequestError::Internal(format!("upstream request: {e}")))?;
            let started = Instant::now();
            let head = async {
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| RequestError::UpstreamUnavailable(format!("{e:?}")))?;
                self.answer_head(response).await
            };
            let head = tokio::time::timeout(self.timeout, head)
                .await
                .map_err(|_| RequestError::UpstreamTimeout(timeout_ms))??;
            match head {
                Head::Answer(status, body) => break (started, status, body),
                Head::Refused(answer) => {
                    let expired = used
                        .as_ref()
                        .is_some_and(|u| self.credential.rejected(u, &answer));
                    if !expired {
                        return Err(RequestError::UpstreamStatus(401));
                    }
                    if writes || renewed {
                        // fail closed: a write is sent at most once (its intent is in the
                        // audit log already), and a read at most twice.
                        return Err(RequestError::UpstreamUnavailable(format!(
                            "the CRM refused crmgate's credential as expired{}",
                            if writes {
                                "; the write was not sent again"
                            } else {
                                " twice"
                            }
                        )));
                    }
                    renewed = true;
                }
            }
        };
        let Some(body) = body else {
            return Ok(UpstreamResponse {
                status,
                body: Bytes::new(),
            });
        };
        let waiting = Instant::now();
        if let Some(turn) = turn {
            turn.take().await?;
        }
        let spent = started.elapsed().saturating_sub(waiting.elapsed());
        let read = Limited::new(body, self.max_body).collect();
        let body = tokio::time::timeout(self.timeout.saturating_sub(spent), read)
            .await
            .map_err(|_| RequestError::UpstreamTimeout(timeout_ms))?
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    RequestError::Unfilterable(format!("larger than {} bytes", self.max_body))
                } else {
                    RequestError::Unfilterable("truncated or broken body".into())
                }
            })?
            .to_bytes();
        Ok(UpstreamResponse { status, body })
    }

    /// The account's budget (`[upstream.budget]`), where one is configured.
    pub fn budget(&self) -> Option<&Budget> {
        self.budget.as_ref()
    }

    /// A slot of the account's budget for one request, where one is configured.
    async fn take_slot(&self, method: &http::Method, path: &str) -> Result<(), RequestError> {
        let Some(b) = &self.budget else {
            return Ok(());
        };
        // The vendor's search endpoint has a per-second limit of its own.
        let search = method == http::Method::POST
            && path.split('?').next().unwrap_or("").ends_with("/search");
        b.take(search).await
    }

    /// What crmgate does with the CRM's response head: a body it may filter (JSON, not
    /// compressed, a success), nothing for a 204, or the error that answers the client.
    async fn answer_head(
        &self,
        response: http::Response<hyper::body::Incoming>,
    ) -> Result<Head, RequestError> {
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if let Some(b) = &self.budget {
            b.observe(&parts.headers, self.rate_limit.header_prefix);
            if status == StatusCode::TOO_MANY_REQUESTS {
                b.crm_refused();
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            // The CRM refused crmgate's credential: its body (at most 16 KiB, never passed
            // on) tells the credential source whether the token expired.
            let read = Limited::new(body, REFUSAL_BODY).collect().await;
            return Ok(Head::Refused(
                read.map(|c| c.to_bytes()).unwrap_or_default(),
            ));
        }
        if status == StatusCode::PARTIAL_CONTENT {
            // fail closed: a partial body cannot be filtered record by record.
            return Err(RequestError::Unfilterable("partial content (206)".into()));
        }
        if status == StatusCode::NO_CONTENT {
            // An archive or deletion: nothing to filter, nothing released.
            return Ok(Head::Answer(status, None));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The CRM's rate limit: its retry signals go back to the client (checked
            // one by one), so that the client waits instead of crmgate retrying for it.
            // Of the body only the limit's name is read, from at most 16 KiB.
            let read = Limited::new(body, RATE_LIMIT_BODY).collect().await;
            let bytes = read.map(|c| c.to_bytes()).unwrap_or_default();
            return Err(RequestError::UpstreamRateLimited(RateLimit::from_answer(
                &parts.headers,
                &bytes,
                &self.rate_limit,
            )));
        }
        if !status.is_success() {
            // fail closed: the error body is not passed through (it may quote record
            // data); crmgate answers with its own problem body and the status. It is
            // read all the same, as a record's would be: the connection stays reusable,
            // and a missing record's 404 costs the reading a hidden record's answer does.
            let _ = Limited::new(body, self.max_body).collect().await;
            return Err(RequestError::UpstreamStatus(status.as_u16()));
        }
        if let Some(enc) = parts.headers.get(CONTENT_ENCODING) {
            if !enc.as_bytes().eq_ignore_ascii_case(b"identity") {
                return Err(RequestError::Unfilterable(format!(
                    "compressed with `{}`",
                    String::from_utf8_lossy(enc.as_bytes())
                )));
            }
        }
        let is_json = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        // fail closed: only JSON can be filtered; anything else is never released.
        if !is_json {
            return Err(RequestError::Unfilterable("not JSON".into()));
        }
        Ok(Head::Answer(status, Some(body)))
    }
}

/// The CRM's response head as the forward stage reads it.
enum Head {
    /// A status and the body to read (none for a 204).
    Answer(StatusCode, Option<hyper::body::Incoming>),
    /// A 401, with (at most 16 KiB of) its body.
    Refused(Bytes),
}

/// How much of a CRM 401's body is read for the reason of the refusal.
const REFUSAL_BODY: usize = 16 * 1024;

/// How much of a token endpoint's answer is read.
const TOKEN_BODY: usize = 64 * 1024;

/// The token endpoint's client: the pooled upstream client (its TLS settings) and timeout.
struct TokenClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl TokenPost for TokenClient {
    fn post_form(&self, url: &http::Uri, form: String) -> PostFuture<'_> {
        let url = url.clone();
        Box::pin(async move {
            let request = Request::builder()
                .method(http::Method::POST)
                .uri(url)
                .header(ACCEPT, "application/json")
                .header(ACCEPT_ENCODING, "identity")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(form)))
                .map_err(|e| RequestError::Internal(format!("token request: {e}")))?;
            let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
            let answer = async {
                let response = self.client.request(request).await.map_err(|e| {
                    RequestError::UpstreamUnavailable(format!("the token endpoint: {e:?}"))
                })?;
                let status = response.status();
                let body = Limited::new(response.into_body(), TOKEN_BODY)
                    .collect()
                    .await
                    .map_err(|_| {
                        RequestError::UpstreamUnavailable(
                            "the token endpoint's answer is broken or too large".into(),
                        )
                    })?
                    .to_bytes();
                Ok((status, body))
            };
            tokio::time::timeout(self.timeout, answer)
                .await
                .map_err(|_| RequestError::UpstreamTimeout(timeout_ms))?
        })
    }
}
