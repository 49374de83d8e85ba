//! The Salesforce-shaped demo CRM: Santa's company (the same people and companies
//! as the HubSpot demo) as `Contact`, `Lead` and `Account` behind Salesforce's REST
//! API, with an OAuth token endpoint and its own evaluation of a SOQL subset. It is
//! an upstream for `crmgate` demos and tests, never used in production: it must
//! never hold real persons' data, never depend on crmgate, and it records every
//! request so a test can assert what reached the upstream.
//!
//! # Map (imports run downwards only)
//!
//! [`serve`] (one request, read in full, recorded, answered) → `router` (token
//! endpoint, versions, the bearer check, the endpoints) → `oauth`, `query` (SOQL →
//! rows → pages), `sobjects` (one record), `composite` (collections), `describe` →
//! `writes` (create, update, delete on the store) → `checks` (what a write must be)
//! → `filter` (a bound `WHERE`), `render` (records in the API's shape) → `columns`
//! (a field or a parent's field) → `soql` (the parser) and `crm` ([`SalesforceCrm`]'s
//! state) → `store` (records, seeded from the HubSpot demo's `seed`), `jwt` (a JWT
//! bearer assertion's check) → `ids`, `fields` (the model: types, fields, their
//! access), `reply` (Salesforce's error shapes).
//!
//! # Model (see `fields.rs`)
//!
//! Seed contacts whose `lifecyclestage` is `lead` are `Lead` (key prefix `00Q`),
//! the other contacts `Contact` (`003`, `AccountId` = their first company), the
//! companies `Account` (`001`). Ids: prefix + `Dm` + the HubSpot id on ten digits
//! (`003Dm0000001001`), answered in the 18-character form with Salesforce's case
//! checksum (`003Dm0000001001IAA`); both forms are accepted. `External_Id__c` is
//! `C-1001` / `A-2001`. Archived contacts (1069, 1070) are in the recycle bin
//! (`IsDeleted` true). Checkboxes are booleans, dates `YYYY-MM-DD`, datetimes
//! `2026-12-07T10:00:00.000+0000`, unset values `null`. `Payment_Method__c` is a
//! multi-picklist. New records continue the numbers (contacts and leads 1071, …,
//! accounts 2016, …).
//!
//! # API (JSON; any version `vNN.N`; errors `[{"message","errorCode","fields"?}]`)
//!
//! | Method and path | What | Status |
//! |---|---|---|
//! | `POST /services/oauth2/token` | form: `grant_type=client_credentials`, `client_id=crmgate-demo`, `client_secret` → `access_token`, `instance_url` (`http://` + Host), `id`, `token_type` `Bearer`, `issued_at`, `signature`, `scope`; tokens expire after [`SalesforceCrm::with_token_ttl`] (default 2 h); every grant is counted ([`SalesforceCrm::token_grants`]); with [`SalesforceCrm::with_jwt_bearer_key`] also `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256/ES256 `assertion` (`iss` `crmgate-demo`, `sub`, `aud`, `exp`) | 200; 400 `invalid_client`, `invalid_grant`, `unsupported_grant_type` |
//! | `GET /services/data` | the versions list | 200 |
//! | `GET …/vNN.N` | the version's resources | 200 |
//! | `GET …/query?q=` | SOQL (below) → `totalSize`, `done`, `nextRecordsUrl` (when more), `records`; live records only; pages of 2000 ([`SalesforceCrm::with_page_size`]; `Sforce-Query-Options: batchSize=N` within 200..2000, or from the page size) | 200; 400 `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`, `INVALID_QUERY_FILTER_OPERATOR` |
//! | `GET …/queryAll?q=` | the same, the recycle bin included | 200 |
//! | `GET …/query/{locator}-{offset}` (also `queryAll/`) | a later page | 200; 400 `INVALID_QUERY_LOCATOR` |
//! | `GET …/sobjects` | global describe | 200 |
//! | `GET …/sobjects/{Type}` / `…/describe` | basic information / describe: `fields[]` with `name`, `label`, `type`, `length`, `nillable`, `createable`, `updateable`, `externalId`, `idLookup`, `referenceTo`, `picklistValues`, … | 200 |
//! | `GET …/sobjects/{Type}/{id}` | the record, all fields or `?fields=a,b` (plus `Id`) | 200; 404 `NOT_FOUND` (also for a deleted record) |
//! | `GET …/sobjects/{Type}/{Field}/{value}` | the record whose `External_Id__c` / `Email` / `Id` holds the value | 200; 300 (several: their URLs); 404 |
//! | `POST …/sobjects/{Type}` | create → `{id, success, errors}` | 201; 400 |
//! | `PATCH …/sobjects/{Type}/{id}` | update | 204; 400; 404 `NOT_FOUND` / `ENTITY_IS_DELETED` |
//! | `DELETE …/sobjects/{Type}/{id}` (also by `{Field}/{value}`) | to the recycle bin | 204; 404 `NOT_FOUND` / `ENTITY_IS_DELETED` |
//! | `PATCH …/sobjects/{Type}/{Field}/{value}` | upsert by `External_Id__c` (or `Email`, `Id`) → `{id, success, errors, created}` | 201 created; 200 updated; 300; 400; 404 unknown field |
//! | `POST` / `PATCH …/composite/sobjects` | `{allOrNone, records: [{attributes: {type}, …}]}` (≤ 200; updates carry `id`) → `[{id, success, errors: [{statusCode, message, fields}]}]`; `allOrNone` rolls all back on one failure | 200; 400 `EXCEEDED_ID_LIMIT` |
//! | `PATCH …/composite/sobjects/{Type}/{Field}` | upsert: each record carries its key (`External_Id__c`, `Email`) → `[{id, success, errors, created}]`; several matches `DUPLICATE_EXTERNAL_ID` | 200 |
//! | `DELETE …/composite/sobjects?ids=a,b&allOrNone=` | the same answers | 200 |
//! | `GET …/composite/sobjects/{Type}?ids=&fields=` / `POST` `{ids, fields}` | the records in order, `null` for an id not found | 200 |
//!
//! Anything else is 404 `NOT_FOUND`. With [`SalesforceCrm::with_oauth`] (or
//! [`SalesforceCrm::with_static_token`]) every request under `…/vNN.N` needs
//! `Authorization: Bearer <token>` valid at that moment, else 401
//! `INVALID_SESSION_ID` "Session expired or invalid".
//! With [`SalesforceCrm::with_extra_field`] every record answered carries a field
//! "Salesforce added", whatever was asked for (crmgate must not pass it on unknown).
//!
//! Writes: every member must be a field of the type (else `INVALID_FIELD`) and
//! writable (`Id`, `Name` of a person, `CreatedDate`, `LastModifiedDate`,
//! `SystemModstamp`, `IsDeleted`: `INVALID_FIELD_FOR_INSERT_UPDATE`); values of
//! the field's JSON type (`JSON_PARSER_ERROR`), e-mail addresses valid
//! (`INVALID_EMAIL_ADDRESS`), text within its length (`STRING_TOO_LONG`),
//! `AccountId` a live account (`MALFORMED_ID`, `INVALID_CROSS_REFERENCE_KEY`);
//! `LastName` (and a lead's `Company`, an account's `Name`) required
//! (`REQUIRED_FIELD_MISSING`); `External_Id__c` unique (`DUPLICATE_VALUE`). `null`
//! or `""` clears a value. Each write moves `LastModifiedDate` and `SystemModstamp`.
//!
//! # SOQL subset (`soql.rs`, `filter.rs`)
//!
//! `SELECT f, Account.Name, … | COUNT() FROM Contact|Lead|Account [WHERE …]
//! [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]`; conditions
//! `= != <> < <= > >=`, `LIKE` (`%`, `_`, case-insensitive), `[NOT] IN (…)`,
//! `INCLUDES`/`EXCLUDES` (multi-picklists, `'a;b'` = both), `= null`, `AND`/`OR`/
//! `NOT` and parentheses (mixing `AND` and `OR` unparenthesised is refused, as
//! Salesforce does); literals: strings, numbers, `true`/`false`, dates, datetimes,
//! `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n`, `NEXT_N_DAYS:n`,
//! `THIS|LAST|NEXT_MONTH`, `THIS|LAST|NEXT_YEAR`. Names are case-insensitive;
//! text compares case-insensitively; `!=` and `NOT IN` also hold for null values.
//! `COUNT()` answers `totalSize` with no records.

mod checks;
mod columns;
mod composite;
mod crm;
mod describe;
mod fields;
mod filter;
mod ids;
mod jwt;
mod oauth;
mod query;
mod render;
mod reply;
mod router;
mod sobjects;
mod soql;
mod store;
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

pub use crate::crm::ReceivedRequest;
pub use crm::{SalesforceCrm, CLIENT_ID};

impl SalesforceCrm {
    /// The 18-character ids a SOQL query answers on the store (live records, every
    /// page; empty when the query is refused), for tests asserting what it holds.
    pub fn query_ids(&self, soql: &str) -> Vec<String> {
        query::ids(self, soql)
    }
}

/// Request bodies above this are refused (a collection holds at most 200 records).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Serve HTTP/1.1 on the listener until `shutdown` completes, as the HubSpot
/// demo's [`crate::serve`] does (keep-alive; on shutdown every open connection
/// finishes its current request and closes).
pub async fn serve(
    crm: Arc<SalesforceCrm>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
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
                tracing::warn!(%error, "salesforce demo accept failed");
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
                tracing::debug!(%error, "salesforce demo connection ended with an error");
            }
        });
    }
    drop(closing);
    Ok(())
}

/// One request: read the body, record it, then answer.
async fn handle(
    crm: Arc<SalesforceCrm>,
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
            let status = if error.downcast_ref::<LengthLimitError>().is_some() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            reply::SfError::new(
                status,
                "JSON_PARSER_ERROR",
                "Request body could not be read",
            )
            .into_reply()
        }
    };
    tracing::debug!(
        method = %parts.method,
        path = parts.uri.path(),
        status = reply.status.as_u16(),
        "salesforce demo answered"
    );
    Ok(reply.into_response())
}
