//! The demo CRM's state: the store of records behind its lock, the options a
//! test chose (required token, custom and vendor-added properties) and the
//! recorder of every request received. It must never hold real persons' data
//! and never answer HTTP itself (`router.rs` does).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::model::{ObjectType, Record, Store};
use crate::seed;

/// The demo CRM: seeded records, the options a test chose, and a recorder of
/// every request received.
pub struct DemoCrm {
    /// The records, changed by writes. Locked only while one request is
    /// answered, never across an await.
    store: RwLock<Store>,
    /// Properties a test declared as the account's custom properties: known
    /// and writable like the built-in ones.
    pub(crate) custom_properties: Vec<(ObjectType, String)>,
    pub(crate) required_token: Option<String>,
    /// Properties "the vendor added": carried by every record returned.
    pub(crate) extra_properties: Vec<(String, String)>,
    received: Mutex<Vec<ReceivedRequest>>,
    /// The most records one search page holds (HubSpot's 200 unless a test makes it less,
    /// to page a small data set the way a large one pages).
    pub(crate) search_page_cap: usize,
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
            search_page_cap: usize::MAX,
            correlation_seq: AtomicU64::new(0),
        }
    }

    /// Answer at most `cap` records per search page (with the paging to the next), whatever
    /// `limit` asks for: the demo's few records then page like a large account's.
    pub fn with_search_page_cap(mut self, cap: usize) -> DemoCrm {
        self.search_page_cap = cap.max(1);
        self
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
    pub(crate) fn knows(&self, kind: ObjectType, name: &str) -> bool {
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

    /// A property's value as searches see it, the vendor's extra properties included.
    pub(crate) fn property_value<'a>(&'a self, record: &'a Record, name: &str) -> Option<&'a str> {
        self.extra_properties
            .iter()
            .find(|(extra, _)| extra == name)
            .map(|(_, value)| value.as_str())
            .or_else(|| record.properties.get(name).map(String::as_str))
    }

    /// The store for reading. A panic while the lock was held cannot leave a
    /// half-applied write (each write is applied after it was validated), so
    /// a poisoned lock is used as it is.
    pub(crate) fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
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

    pub(crate) fn record_request(&self, parts: &http::request::Parts, body: &[u8]) {
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
    pub(crate) fn next_correlation_id(&self) -> String {
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
