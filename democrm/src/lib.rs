//! The demo CRM: a HubSpot CRM v3-shaped HTTP API seeded with Santa Claus's
//! company, as its own crate. It is the upstream of `crmgate demo` and of the
//! integration tests, never used in production; it must never hold real persons'
//! data, it must never depend on crmgate (so nothing on the request path can import
//! it by accident), and it records everything it receives so a test can assert what
//! reached the upstream.
//!
//! # API (JSON, `Content-Type: application/json`; records in memory)
//!
//! Every path below is also served under HubSpot's date-versioned prefix
//! `/crm/objects/{YYYY-MM}/{type}…` (e.g. `/crm/objects/2026-03/contacts`),
//! with the same answers.
//!
//! | Method and path | What | Status |
//! |---|---|---|
//! | `GET /crm/v3/objects/{type}` | one page of records: `limit` (default 10, max 100), `after`, `properties`, `propertiesWithHistory`, `associations`, `archived` | 200 |
//! | `GET /crm/v3/objects/{type}/{id}` | one record; the same parameters plus `idProperty` (e.g. `email`) | 200, 404 |
//! | `POST /crm/v3/objects/{type}/search` | `filterGroups` (groups OR, filters AND), `query`, `properties`, `sorts`, `limit` (max 200), `after` → `total`; never archived records | 200 |
//! | `POST /crm/v3/objects/{type}/batch/read` | `inputs`, `properties`, `propertiesWithHistory`, `idProperty` | 200; 207 with `errors` when ids are unknown |
//! | `POST /crm/v3/objects/{type}` | create: `{properties, associations?}` (`associations[].to.id` a record of the other type) → the record with the written properties plus `hs_object_id`, `createdate`, the last-modified date | 201; 409 `CONFLICT` when a contact's e-mail address is taken |
//! | `PATCH /crm/v3/objects/{type}/{id}` | update: `{properties}` (at least one), also `?idProperty=email`; `""` clears a value | 200; 404 for unknown or archived records; 409 |
//! | `DELETE /crm/v3/objects/{type}/{id}` | archive: `archived` true, `archivedAt`; then listed only with `archived=true` | 204 (also for unknown ids, as HubSpot) |
//! | `POST /crm/v3/objects/{type}/batch/create` | `{inputs: [{properties, associations?, objectWriteTraceId?}]}` | 201; 207 when some e-mail addresses are taken |
//! | `POST /crm/v3/objects/{type}/batch/update` | `{inputs: [{id, properties, idProperty?, objectWriteTraceId?}]}`; ids unique | 200; 207 with one `OBJECT_NOT_FOUND` error listing the unknown ids |
//! | `POST /crm/v3/objects/{type}/batch/upsert` | `{inputs: [{id, idProperty, properties}]}` (`idProperty` required): updates the record whose property holds `id`, else creates it; results carry `new` | 200; 207 (unknown `hs_object_id`s) |
//! | `POST /crm/v3/objects/{type}/batch/archive` | `{inputs: [{id}]}`; unknown ids ignored | 204 |
//! | `POST /crm/v3/objects/contacts/gdpr-delete` | `{objectId, idProperty?}`: the contact (archived or not) is removed for good, with its associations; its id is never reused | 204; 404 |
//! | `POST /crm/v3/objects/{type}/merge` | `{primaryObjectId, objectIdToMerge}`: the primary keeps its values, gains the other's where it had none and its associations; the other is gone (404 even with `archived=true`) | 200 with the primary; 400 for the same id; 404 |
//!
//! `{type}` is `contacts` or `companies`. Parameters may repeat and hold
//! comma-separated lists (`properties=a,b&properties=c`). Without `properties`
//! a record carries its type's defaults; with them, the named ones (null when
//! known but empty, absent when unknown) plus `hs_object_id`, `createdate` and
//! the last-modified date. Anything else is a 404 in HubSpot's error shape;
//! with [`DemoCrm::with_required_token`] a request without that bearer token is
//! a 401 (recorded like every other request).
//!
//! Writes: property values must be JSON strings, names must exist (the seed's
//! properties and any declared with [`DemoCrm::with_contact_property`] /
//! [`DemoCrm::with_company_property`]), and the CRM's own (`hs_object_id`,
//! `createdate`, `lastmodifieddate` / `hs_lastmodifieddate`) are read-only;
//! otherwise 400 `VALIDATION_ERROR` with HubSpot's message
//! `Property values were not valid: [{"isValid":false,"message":…,"error":"PROPERTY_DOESNT_EXIST","name":…}]`
//! (`INVALID_PROPERTY_VALUE`, `READ_ONLY_VALUE`) and `errors[].context.propertyName`.
//! A batch is checked in full first: one invalid input refuses the whole
//! batch (400) and nothing is written. Each changed value gets a history
//! version (`sourceType` `INTEGRATION`, the write's timestamp; the CRM's own
//! values `CALCULATED`), and `updatedAt` and the last-modified date move on.
//! New ids continue after the highest one (contacts 1071, companies 2016).
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
//!
//! For the deletion concept (`policies/retention.toml`): wishes answered
//! (`wish_answered_at`) 1034 (2025-12-20), 1047 (2026-06-15), 1036 (2026-10-01), 1049
//! (2026-11-25); 1043 is under legal hold (`legal_hold` true).

mod api;
mod dates;
mod model;
mod seed;
#[cfg(test)]
mod tests;
mod writes;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use model::{ObjectType, Store};

/// Request bodies above this are refused with 413 (HubSpot's batches hold at most 100 inputs).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The demo CRM: seeded records, the options a test chose, and a recorder of
/// every request received.
pub struct DemoCrm {
    /// The records, changed by writes. Locked only while one request is
    /// answered, never across an await.
    store: RwLock<Store>,
    /// Properties a test declared as the account's custom properties: known
    /// and writable like the built-in ones.
    custom_properties: Vec<(ObjectType, String)>,
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
            store: RwLock::new(Store::new(seed::contacts(), seed::companies())),
            // Santa's company made these for crmgate's provenance stamp on creates: when
            // the data was collected and on which lawful basis.
            custom_properties: [ObjectType::Contacts, ObjectType::Companies]
                .into_iter()
                .flat_map(|kind| {
                    ["data_source_at", "data_source_basis"].map(|p| (kind, p.to_string()))
                })
                // And for its deletion concept: when a wish was answered, and holds.
                .chain(
                    ["wish_answered_at", "legal_hold", "dispute_open"]
                        .map(|p| (ObjectType::Contacts, p.to_string())),
                )
                .collect(),
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

    /// Declare a custom contact property (as a HubSpot admin would create
    /// one): readable and writable like the built-in ones, empty on every seeded
    /// record. For properties crmgate stamps that the seed does not know.
    pub fn with_contact_property(self, name: impl Into<String>) -> DemoCrm {
        self.with_custom_property(ObjectType::Contacts, name.into())
    }

    /// Declare a custom company property, like [`DemoCrm::with_contact_property`].
    pub fn with_company_property(self, name: impl Into<String>) -> DemoCrm {
        self.with_custom_property(ObjectType::Companies, name.into())
    }

    fn with_custom_property(mut self, kind: ObjectType, name: String) -> DemoCrm {
        if !kind.is_known(&name) && !self.is_custom(kind, &name) {
            self.custom_properties.push((kind, name));
        }
        self
    }

    fn is_custom(&self, kind: ObjectType, name: &str) -> bool {
        self.custom_properties
            .iter()
            .any(|(custom_kind, custom)| *custom_kind == kind && custom == name)
    }

    /// Whether the type has this property: built in or declared custom.
    fn knows(&self, kind: ObjectType, name: &str) -> bool {
        kind.is_known(name) || self.is_custom(kind, name)
    }

    /// Everything received so far, in order (for tests asserting what reached the upstream).
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.lock_received().clone()
    }

    /// Forgets everything received so far.
    pub fn clear_received(&self) {
        self.lock_received().clear();
    }

    /// One stored record as the API would return it for `GET …/{id}` with all
    /// properties (used by the demo tour and by tests reading what a write
    /// stored): `object_type` "contacts" or "companies". Archived records are
    /// found too; GDPR-deleted and merged-away ones are not.
    pub fn record_json(&self, object_type: &str, id: &str) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let record = store.records(object_type).iter().find(|r| r.id == id)?;
        let selection = api::Selection::all_properties(self, object_type);
        Some(api::render(self, object_type, record, &selection))
    }

    /// Like [`DemoCrm::record_json`], the record with the property history of
    /// every property it has (`propertiesWithHistory`, newest version first).
    pub fn record_json_with_history(
        &self,
        object_type: &str,
        id: &str,
    ) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let record = store.records(object_type).iter().find(|r| r.id == id)?;
        let selection = api::Selection::all_properties_with_history(self, object_type);
        Some(api::render(self, object_type, record, &selection))
    }

    /// The first stored record (archived ones included) whose `property`
    /// equals `value`, compared without regard to case like e-mail addresses,
    /// in the shape of [`DemoCrm::record_json`]: e.g. the contact a client
    /// created, by its e-mail address.
    pub fn find_record(
        &self,
        object_type: &str,
        property: &str,
        value: &str,
    ) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let wanted = value.to_lowercase();
        let record = store.records(object_type).iter().find(|record| {
            record
                .properties
                .get(property)
                .is_some_and(|stored| stored.to_lowercase() == wanted)
        })?;
        let selection = api::Selection::all_properties(self, object_type);
        Some(api::render(self, object_type, record, &selection))
    }

    /// The ids of the records of the other type a record is associated to, as the CRM
    /// stores them (empty for an unknown record).
    pub fn associated_ids(&self, object_type: &str, id: &str) -> Vec<String> {
        let Some(object_type) = ObjectType::parse(object_type) else {
            return Vec::new();
        };
        self.read_store()
            .records(object_type)
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.associations.clone())
            .unwrap_or_default()
    }

    /// The ids of the stored records of a type, in listing order: the
    /// archived ones when `archived`, else the active ones.
    pub fn record_ids(&self, object_type: &str, archived: bool) -> Vec<String> {
        let Some(object_type) = ObjectType::parse(object_type) else {
            return Vec::new();
        };
        self.read_store()
            .records(object_type)
            .iter()
            .filter(|record| record.is_archived() == archived)
            .map(|record| record.id.clone())
            .collect()
    }

    /// The number of contacts a full listing returns (not archived): 68 as seeded.
    pub fn contact_count(&self) -> usize {
        self.read_store()
            .contacts
            .iter()
            .filter(|r| !r.is_archived())
            .count()
    }

    /// The store for reading. A panic while the lock was held cannot leave a
    /// half-applied write (each write is applied after it was validated), so
    /// a poisoned lock is used as it is.
    fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
        self.store
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let (contacts, companies) = {
            let store = self.read_store();
            (store.contacts.len(), store.companies.len())
        };
        f.debug_struct("DemoCrm")
            .field("contacts", &contacts)
            .field("companies", &companies)
            .field("custom_properties", &self.custom_properties)
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
