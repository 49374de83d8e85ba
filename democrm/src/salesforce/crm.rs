//! The Salesforce demo's state: the store behind its lock, the options a test
//! chose (page size, OAuth client secret, token lifetime), the tokens issued,
//! the open query cursors and the recorder of every request received. It must
//! never answer HTTP itself and never log a secret or a token.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::jwt::{self, PublicKey};
use super::render;
use super::store::SfStore;
use crate::crm::ReceivedRequest;

/// Salesforce's largest query page, and the demo's default.
pub(crate) const MAX_BATCH: usize = 2000;
/// Salesforce's smallest `batchSize` in `Sforce-Query-Options`.
const MIN_BATCH: usize = 200;

/// The OAuth client the token endpoint knows.
pub const CLIENT_ID: &str = "crmgate-demo";
const DEFAULT_SECRET: &str = "crmgate-demo-secret";

/// The Salesforce-shaped demo CRM: seeded records, the options a test chose,
/// the OAuth tokens it issued and a recorder of every request received.
pub struct SalesforceCrm {
    store: RwLock<SfStore>,
    pub(crate) page_size: usize,
    pub(crate) min_batch: usize,
    pub(crate) client_secret: String,
    pub(crate) token_ttl: Duration,
    /// The key JWT bearer assertions are checked against, when that grant is open.
    pub(crate) jwt_key: Option<PublicKey>,
    /// Fields "the vendor added": carried by every record answered.
    pub(crate) extra_fields: Vec<(String, Value)>,
    /// Whether every data request must carry a valid token.
    pub(crate) auth_required: bool,
    static_tokens: Vec<String>,
    /// Issued token → when it expires.
    tokens: Mutex<HashMap<String, Instant>>,
    grants: AtomicU64,
    cursors: Mutex<BTreeMap<String, Cursor>>,
    sequence: AtomicU64,
    received: Mutex<Vec<ReceivedRequest>>,
}

/// The rest of a query's answer, served page by page under its locator.
pub(crate) struct Cursor {
    pub(crate) rows: Vec<Value>,
    pub(crate) batch: usize,
    /// `queryAll` (its next pages keep that path).
    pub(crate) all: bool,
}

impl SalesforceCrm {
    /// Santa's company as `Contact`, `Lead` and `Account`; pages of 2000; the
    /// token endpoint open to [`CLIENT_ID`] with the secret `crmgate-demo-secret`;
    /// tokens live two hours; data requests need no token (see
    /// [`SalesforceCrm::with_oauth`]).
    pub fn seeded() -> SalesforceCrm {
        SalesforceCrm {
            store: RwLock::new(SfStore::seeded()),
            page_size: MAX_BATCH,
            min_batch: MIN_BATCH,
            client_secret: DEFAULT_SECRET.into(),
            token_ttl: Duration::from_secs(2 * 3600),
            jwt_key: None,
            extra_fields: Vec::new(),
            auth_required: false,
            static_tokens: Vec::new(),
            tokens: Mutex::new(HashMap::new()),
            grants: AtomicU64::new(0),
            cursors: Mutex::new(BTreeMap::new()),
            sequence: AtomicU64::new(0),
            received: Mutex::new(Vec::new()),
        }
    }

    /// The client secret of [`CLIENT_ID`]; from now on every request under
    /// `/services/data/v…` needs a bearer token the token endpoint issued and
    /// that has not expired (else 401 `INVALID_SESSION_ID`).
    pub fn with_oauth(mut self, client_secret: impl Into<String>) -> SalesforceCrm {
        self.client_secret = client_secret.into();
        self.auth_required = true;
        self
    }

    /// Opens the JWT bearer grant: assertions signed (RS256 or ES256) with the private
    /// key of this public key (PEM `-----BEGIN PUBLIC KEY-----`, RSA or P-256), `iss`
    /// [`CLIENT_ID`], get a token. An error names a key it cannot read.
    pub fn with_jwt_bearer_key(mut self, public_key_pem: &str) -> Result<SalesforceCrm, String> {
        self.jwt_key = Some(
            jwt::public_key(public_key_pem)
                .ok_or("not an RSA or P-256 public key in PEM (`-----BEGIN PUBLIC KEY-----`)")?,
        );
        Ok(self)
    }

    /// Simulates Salesforce adding a field: every record answered (reads, queries,
    /// collections; parents nested in a query too) carries it, whatever was asked
    /// for. A later value for the same name wins.
    pub fn with_extra_field(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> SalesforceCrm {
        let name = name.into();
        self.extra_fields.retain(|(known, _)| *known != name);
        self.extra_fields.push((name, value.into()));
        self
    }

    /// How long an issued token is valid (default two hours).
    pub fn with_token_ttl(mut self, ttl: Duration) -> SalesforceCrm {
        self.token_ttl = ttl;
        self
    }

    /// A token valid without a grant (a session id from elsewhere); data
    /// requests then need a token, this one or an issued one.
    pub fn with_static_token(mut self, token: impl Into<String>) -> SalesforceCrm {
        self.static_tokens.push(token.into());
        self.auth_required = true;
        self
    }

    /// Query pages of `size` records (1..=2000) by default; `Sforce-Query-Options:
    /// batchSize=N` may then also ask for pages as small as this.
    pub fn with_page_size(mut self, size: usize) -> SalesforceCrm {
        self.page_size = size.clamp(1, MAX_BATCH);
        self.min_batch = self.page_size.min(MIN_BATCH);
        self
    }

    /// How many tokens the token endpoint has granted.
    pub fn token_grants(&self) -> u64 {
        self.grants.load(Ordering::Relaxed)
    }

    /// Makes every token issued so far expire now (static tokens stay valid).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in lock(&self.tokens).values_mut() {
            *expiry = now;
        }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        lock(&self.received).clone()
    }

    /// Forgets everything received so far.
    pub fn clear_received(&self) {
        lock(&self.received).clear();
    }

    /// A record as stored (every field, also in the recycle bin), by its 15- or
    /// 18-character id, for tests asserting what a write changed.
    pub fn record(&self, id: &str) -> Option<Value> {
        let store = self.read_store();
        store.by_id(id).map(|record| render::full(record, "v62.0"))
    }

    pub(crate) fn read_store(&self) -> RwLockReadGuard<'_, SfStore> {
        // A panic under the lock cannot leave a half-applied write (writes are
        // checked first, then applied), so a poisoned lock is used as it is.
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write_store(&self) -> RwLockWriteGuard<'_, SfStore> {
        self.store
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the client may have a token.
    pub(crate) fn client_valid(&self, id: &str, secret: &str) -> bool {
        id == CLIENT_ID && secret == self.client_secret
    }

    /// Issues a new token, counted, valid for the TTL.
    pub(crate) fn grant(&self) -> (String, u64) {
        let n = self.grants.fetch_add(1, Ordering::Relaxed) + 1;
        let mut token = format!("00DDm0000000001!AQ{n:04}");
        let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        while token.len() < 112 {
            state = splitmix(state);
            token.push_str(&format!("{state:016x}"));
        }
        lock(&self.tokens).insert(token.clone(), Instant::now() + self.token_ttl);
        (token, n)
    }

    pub(crate) fn token_valid(&self, token: &str) -> bool {
        if self.static_tokens.iter().any(|known| known == token) {
            return true;
        }
        lock(&self.tokens)
            .get(token)
            .is_some_and(|expiry| Instant::now() < *expiry)
    }

    /// A new query locator (`01gDm…`, 15 characters).
    pub(crate) fn new_locator(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        format!("01gDm{n:010}")
    }

    pub(crate) fn keep_cursor(&self, locator: String, cursor: Cursor) {
        lock(&self.cursors).insert(locator, cursor);
    }

    /// Calls `read` with the cursor of `locator`, if it exists.
    pub(crate) fn with_cursor<T>(
        &self,
        locator: &str,
        read: impl FnOnce(&Cursor) -> T,
    ) -> Option<T> {
        lock(&self.cursors).get(locator).map(read)
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
        lock(&self.received).push(ReceivedRequest {
            method: parts.method.as_str().to_string(),
            path_and_query,
            headers,
            body: body.to_vec(),
        });
    }
}

impl fmt::Debug for SalesforceCrm {
    // The client secret and the tokens are credentials: never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let records = self.read_store().records.len();
        f.debug_struct("SalesforceCrm")
            .field("records", &records)
            .field("page_size", &self.page_size)
            .field("auth_required", &self.auth_required)
            .field("token_ttl", &self.token_ttl)
            .field("token_grants", &self.token_grants())
            .finish_non_exhaustive()
    }
}

/// A lock that survives a panicking holder (the guarded data stays consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
