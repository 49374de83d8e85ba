//! The demo CRM: a HubSpot CRM v3-shaped HTTP API seeded with Santa Claus's
//! company, as its own crate. It is the upstream of `crmgate demo` and of the
//! integration tests, never used in production; it must never hold real persons'
//! data, it must never depend on crmgate (so nothing on the request path can import
//! it by accident), and it records everything it receives so a test can assert what
//! reached the upstream.
//!
//! # Map (imports run downwards only)
//!
//! `lib.rs` ([`serve`]: one request, read in full, recorded, answered) → `router`
//! (the token check, the endpoints, the dispatch under the read or the write lock) →
//! `reads` (list, get, batch read), `search`, `writes` → `checks` (what a write
//! must be before anything changes) → `render` (records in the API's shape) →
//! `reply` (answers, error and batch bodies), `query` (parameters, page sizes) →
//! `crm` ([`DemoCrm`]'s state and recorder) → `seed` (the records, from the tables
//! in `seed/rows.rs`), `model`, `dates`. Beside the router, `inspect` (what tests
//! read of the store) uses `render`. [`tour`] is the demo's script in this API's
//! dialect, run by `crmgate demo`; it imports nothing of the crate.
//! [`salesforce`] is the same company behind a Salesforce-shaped REST API (its own
//! router, SOQL evaluation and OAuth token endpoint; its records built from `seed`,
//! its `serve` like this one): a room of its own beside this one, which imports
//! only `seed`, `model`, `dates`, `query`, `reply` and `crm`'s `ReceivedRequest`.
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

mod checks;
mod crm;
mod dates;
mod inspect;
mod model;
mod query;
mod reads;
mod render;
mod reply;
mod router;
pub mod salesforce;
mod search;
mod seed;
#[cfg(test)]
mod tests;
pub mod tour;
mod writes;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use crm::{DemoCrm, ReceivedRequest};

/// Request bodies above this are refused with 413 (HubSpot's batches hold at most 100 inputs).
const MAX_BODY_BYTES: usize = 1024 * 1024;

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
            router::respond(&crm, &parts.method, &parts.uri, &parts.headers, &body)
        }
        Err(error) => {
            crm.record_request(&parts, &[]);
            if error.downcast_ref::<LengthLimitError>().is_some() {
                reply::error(
                    &crm,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "VALIDATION_ERROR",
                    "Request body too large",
                )
            } else {
                reply::error(
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
