//! What the pipeline's steps share across requests: the configuration, the upstream
//! client, the audit sink, the keys (masks, audit pseudonyms, cursors), the selectability
//! memo, the buffering budget and the decoys of missing records. The gateway holds one;
//! the steps (read, paging, writes, associated records) borrow it.
//!
//! Nothing here must be released to a client, a decoy never: it is a record body the CRM
//! sent, kept in memory only for the work a missing record's 404 rehearses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::audit::AuditSink;
use crate::config::Config;
use crate::routes::Route;
use crate::stages::filter::masks::{HashKeys, PurposeKey};
use crate::stages::identity::jwks::IssuerKeys;
use crate::stages::notice::NoticeStore;
use crate::stages::upstream::Upstream;
use crate::stages::vendor::Vendor;

use super::revision::Selector;

/// Everything a request's steps need besides the request and its policy revision.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: Arc<Config>,
    pub(super) upstream: Upstream,
    /// The CRM's API: how its requests, answers, lookups and errors are spelt.
    pub(super) vendor: Arc<dyn Vendor>,
    /// The JWKS clients and caches of the issuers with a `jwks_url`, built from the
    /// configuration at start-up and kept across policy reloads.
    pub(super) jwks: IssuerKeys,
    /// Where audit events go (the local hash-chained log first): the response waits for it.
    pub(super) audit: Arc<dyn AuditSink>,
    pub(super) hash_keys: HashKeys,
    /// The key of the pseudonyms that stand for looked-up values in audit paths.
    pub(super) lookup_key: PurposeKey,
    /// The key that seals crmgate's own paging cursors.
    pub(super) cursor_key: PurposeKey,
    /// What each scope may select records by, per policy revision.
    pub(super) selector: Selector,
    /// Requests that may be between forwarding and a sent response at once: each holds an
    /// upstream body (up to `upstream.max_body_bytes`) and its filtered copy, so this bounds
    /// memory; the others wait their turn, already authorized, before anything is sent. The
    /// permit travels in the response body and is released once the client has taken it
    /// (`limits.max_buffered_responses`).
    pub(super) buffering: Arc<Semaphore>,
    /// Per single-record read route, the last record body the CRM sent for it: a missing
    /// record's 404 rehearses the filter's work on it (see `read::rehearse_hidden`).
    /// Kept in memory only, replaced by the next one, never released to anyone.
    decoys: Mutex<HashMap<String, Bytes>>,
    /// The notices of redacted writes, for their writers to fetch (this replica's only).
    pub(super) notices: NoticeStore,
}

impl Shared {
    pub(super) fn new(
        config: Arc<Config>,
        upstream: Upstream,
        vendor: Arc<dyn Vendor>,
        audit: Arc<dyn AuditSink>,
    ) -> Shared {
        let hash_keys = HashKeys::new(config.hash_key.clone());
        let lookup_key = hash_keys.for_purpose("crmgate/audit/lookup");
        let cursor_key = hash_keys.for_purpose("crmgate/cursor/v1");
        Shared {
            upstream,
            vendor,
            audit,
            hash_keys,
            lookup_key,
            cursor_key,
            selector: Selector::new(),
            buffering: Arc::new(Semaphore::new(config.limits.max_buffered_responses)),
            decoys: Mutex::new(HashMap::new()),
            notices: NoticeStore::new(config.notices.ttl, config.notices.max_entries),
            jwks: IssuerKeys::start(&config.jwt),
            config,
        }
    }

    /// Keep a single record's body as the route's decoy (the previous one is let go).
    pub(super) fn keep_decoy(&self, route: &Route, body: &Bytes) {
        let mut decoys = self.decoys.lock().unwrap_or_else(PoisonError::into_inner);
        match decoys.get_mut(&route.name) {
            Some(d) => *d = body.clone(),
            None => {
                decoys.insert(route.name.clone(), body.clone());
            }
        }
    }

    pub(super) fn decoy(&self, route: &Route) -> Option<Bytes> {
        let decoys = self.decoys.lock().unwrap_or_else(PoisonError::into_inner);
        decoys.get(&route.name).cloned()
    }
}
