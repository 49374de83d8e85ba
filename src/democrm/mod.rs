//! The embedded demo CRM: a HubSpot CRM v3-shaped HTTP API seeded with Santa
//! Claus's company. It is the upstream of `crmgate demo` and of the integration
//! tests, never used in production; it must never hold real persons' data, and it
//! records everything it receives so a test can assert what reached the upstream.
//!
//! # API (read-only, JSON, `Content-Type: application/json`)
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /crm/v3/objects/{type}` | one page of records: `limit` (default 10, max 100), `after`, `properties`, `propertiesWithHistory`, `associations`, `archived` |
//! | `GET /crm/v3/objects/{type}/{id}` | one record; the same parameters plus `idProperty` (e.g. `email`) |
//! | `POST /crm/v3/objects/{type}/search` | `filterGroups` (groups OR, filters AND), `query`, `properties`, `sorts`, `limit` (max 200), `after` → `total` |
//! | `POST /crm/v3/objects/{type}/batch/read` | `inputs`, `properties`, `propertiesWithHistory`, `idProperty`; 207 with `errors` when ids are unknown |
//!
//! `{type}` is `contacts` or `companies`. Parameters may repeat and hold
//! comma-separated lists (`properties=a,b&properties=c`). Without `properties`
//! a record carries its type's defaults; with them, the named ones (null when
//! known but empty, absent when unknown) plus `hs_object_id`, `createdate` and
//! the last-modified date. Anything else is a 404 in HubSpot's error shape;
//! with [`DemoCrm::with_required_token`] a request without that bearer token is
//! a 401 (recorded like every other request).
//!
//! # Seed data (see `seed.rs`)
//!
//! | ids | what |
//! |---|---|
//! | 1001–1030 | customers (`lifecyclestage` customer): address, billing (IBAN, payment method), birthday, photo URL |
//! | 1001 | the showcase: every property filled, greetings and survey consent, no marketing consent, associated to company 2001 |
//! | 1002 | a customer who declined greetings (`consent_greetings` false) |
//! | 1031–1055 | prospects from the wish-list form (lead / subscriber) with a free-text `wish_text` |
//! | 1031, 1033, 1035, 1037–1042 | wish texts holding special-category data (health, religion, trade union, sexuality, ethnicity, politics) or an IBAN / card number |
//! | 1056–1068 | business partners' contacts (`lifecyclestage` other), associated to companies |
//! | 1069–1070 | archived contacts, listed only with `archived=true` |
//! | 2001–2015 | companies: 2001, 2008, 2010–2012 customers, the others partners (workshops, feed, logistics, suppliers) |
//!
//! Last activity older than three years (before 2023-11-29): 1005, 1015, 1026, 1029 (customers),
//! 1046, 1048, 1053, 1054 (prospects), 1061 (partner), 1069, 1070 (archived).

mod api;
mod dates;
mod model;
mod seed;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use model::{ObjectType, Record};

/// Request bodies above this are refused with 413; the demo only reads JSON queries.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The demo CRM: seeded records, the options a test chose, and a recorder of
/// every request received.
pub struct DemoCrm {
    contacts: Vec<Record>,
    companies: Vec<Record>,
    required_token: Option<String>,
    /// Properties "the vendor added": carried by every record returned.
    extra_properties: Vec<(String, String)>,
    received: Mutex<Vec<ReceivedRequest>>,
    /// Numbers HubSpot-style correlation ids, so error bodies are deterministic per run.
    correlation_seq: AtomicU64,
}

/// One request as the demo CRM received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target as sent, e.g. `/crm/v3/objects/contacts?limit=5`.
    pub path_and_query: String,
    /// Header names in lower case, values as sent (lossy UTF-8), in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (empty when it could not be read).
    pub body: Vec<u8>,
}

impl DemoCrm {
    /// The seeded Santa's company data set.
    pub fn seeded() -> DemoCrm {
        DemoCrm {
            contacts: seed::contacts(),
            companies: seed::companies(),
            required_token: None,
            extra_properties: Vec::new(),
            received: Mutex::new(Vec::new()),
            correlation_seq: AtomicU64::new(0),
        }
    }

    /// Require `Authorization: Bearer <token>` on every request (the vendor
    /// credential the proxy injects); otherwise answer 401 HubSpot-style.
    pub fn with_required_token(mut self, token: impl Into<String>) -> DemoCrm {
        self.required_token = Some(token.into());
        self
    }

    /// Simulate a vendor adding a new property: every contact and company record
    /// returned carries this property in `properties` (whatever was requested),
    /// and a property of that name in `propertiesWithHistory` when any history is
    /// requested. May be called more than once; a later value for the same name wins.
    pub fn with_extra_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> DemoCrm {
        let name = name.into();
        self.extra_properties
            .retain(|(existing, _)| *existing != name);
        self.extra_properties.push((name, value.into()));
        self
    }

    /// Everything received so far, in order (for tests asserting what reached the upstream).
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.lock_received().clone()
    }

    /// Forgets everything received so far.
    pub fn clear_received(&self) {
        self.lock_received().clear();
    }

    /// One seeded record as the API would return it for `GET …/{id}` with all
    /// properties (used by the demo tour): `object_type` "contacts" or
    /// "companies". Archived records are found too.
    pub fn record_json(&self, object_type: &str, id: &str) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let record = self.records(object_type).iter().find(|r| r.id == id)?;
        let selection = api::Selection::all_properties(object_type);
        Some(api::render(self, object_type, record, &selection))
    }

    /// The number of contacts a full listing returns (not archived): 68.
    pub fn contact_count(&self) -> usize {
        self.contacts.iter().filter(|r| !r.is_archived()).count()
    }

    fn records(&self, object_type: ObjectType) -> &[Record] {
        match object_type {
            ObjectType::Contacts => &self.contacts,
            ObjectType::Companies => &self.companies,
        }
    }

    /// The recorder survives a panicking test thread: a poisoned lock still
    /// holds every request recorded before the panic.
    fn lock_received(&self) -> MutexGuard<'_, Vec<ReceivedRequest>> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record_request(&self, parts: &http::request::Parts, body: &[u8]) {
        let path_and_query = parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_string(),
            |pq| pq.as_str().to_string(),
        );
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect();
        self.lock_received().push(ReceivedRequest {
            method: parts.method.as_str().to_string(),
            path_and_query,
            headers,
            body: body.to_vec(),
        });
    }

    /// A UUID-shaped correlation id, derived from a counter (no randomness).
    fn next_correlation_id(&self) -> String {
        let n = self.correlation_seq.fetch_add(1, Ordering::Relaxed);
        let a = splitmix64(n);
        let b = splitmix64(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for DemoCrm {
    // The required token is a credential: show only whether one is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCrm")
            .field("contacts", &self.contacts.len())
            .field("companies", &self.companies.len())
            .field(
                "required_token",
                &self.required_token.as_ref().map(|_| "<redacted>"),
            )
            .field("extra_properties", &self.extra_properties)
            .finish_non_exhaustive()
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Serve HTTP/1.1 on the listener until `shutdown` completes (keep-alive
/// connections allowed). On shutdown the accept loop stops and every open
/// connection finishes its current request and closes.
pub async fn serve(
    crm: Arc<DemoCrm>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Connections watch this channel; dropping the sender at the end of `serve`
    // is the signal, so idle keep-alive clients cannot keep the demo alive.
    let (closing, closing_watch) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Usually a transient condition (a reset before accept, too many
                // open files): keep serving, but do not spin.
                tracing::warn!(%error, "demo crm accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let crm = Arc::clone(&crm);
        let mut closing_watch = closing_watch.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&crm), request));
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = closing_watch.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "demo crm connection ended with an error");
            }
        });
    }
    drop(closing);
    Ok(())
}

/// One request: read the body, record it, then answer (so even refused
/// requests appear in [`DemoCrm::received`]).
async fn handle(
    crm: Arc<DemoCrm>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let collected = Limited::new(body, MAX_BODY_BYTES).collect().await;
    let reply = match collected {
        Ok(collected) => {
            let body = collected.to_bytes();
            crm.record_request(&parts, &body);
            api::respond(&crm, &parts.method, &parts.uri, &parts.headers, &body)
        }
        Err(error) => {
            crm.record_request(&parts, &[]);
            if error.downcast_ref::<LengthLimitError>().is_some() {
                api::error(
                    &crm,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "VALIDATION_ERROR",
                    "Request body too large",
                )
            } else {
                api::error(
                    &crm,
                    StatusCode::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "Request body could not be read",
                )
            }
        }
    };
    tracing::debug!(
        method = %parts.method,
        path = parts.uri.path(),
        status = reply.status.as_u16(),
        "demo crm answered"
    );
    Ok(reply.into_response())
}
