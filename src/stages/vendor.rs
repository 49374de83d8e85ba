//! The vendor seam: what the stages ask of the CRM's API, in the stages' own words.
//!
//! The stages know routes, records, properties, field groups and decisions; how a vendor
//! spells a search, a batch, a write body, a lookup, a page, an error body or its
//! credential is behind [`Vendor`], which a vendor profile implements and start-up
//! chooses (`[upstream] vendor`). The gateway holds one `Arc<dyn Vendor>`. A new CRM is
//! a new profile and no edit here. This module must never name a
//! vendor, import a profile, or decide on access: it only carries what a profile prepared
//! to the stages that decide.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderValue;
use http::StatusCode;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::admin::Metrics;
use crate::config::OAuthConfig;
use crate::error::{RateLimitShape, RequestError};
use crate::policy::plan::RowCondition;
use crate::routes::{GroupId, Operation, ResourceProfile, Route, RouteTable};
use crate::secret::Secret;
use crate::stages::authz::RecordRead;
use crate::stages::sanitize::{Canonical, Spelling};
use crate::stages::write_inputs::WriteBody;

/// One CRM's API as the stages use it. Implemented by a vendor profile, chosen at
/// start-up by the profile selector.
pub trait Vendor: Send + Sync {
    /// The name `[upstream] vendor` selects it by.
    fn name(&self) -> &'static str;

    // ---- reads ---------------------------------------------------------------------

    /// A path spelt canonically, where the vendor has two spellings of one thing (a record
    /// id in a short and a long form): `None` keeps it. Everything after (routing,
    /// decisions, the audit record, the upstream request) sees the canonical one.
    fn canonical_segments(&self, _segments: &[String]) -> Option<Vec<String>> {
        None
    }

    /// How the vendor's clients spell the same request (query-text parameters where an
    /// encoded `%` is a wildcard, which sanitize refuses everywhere else; a trailing `/`).
    fn spelling(&self) -> Spelling {
        Spelling::default()
    }

    /// The path a request is routed by, where the vendor names the resource type elsewhere
    /// than in the path (the object a query language's `FROM` names; the type a page
    /// cursor of crmgate's names): `None` routes the canonical path as it is. An error ends
    /// the request before routing (an API family crmgate does not govern, a query whose
    /// object cannot be read). The request is still forwarded as the profile prepares it.
    fn route_path(
        &self,
        _c: &Canonical,
        _routes: &RouteTable,
    ) -> Result<Option<Vec<String>>, RequestError> {
        Ok(None)
    }

    /// The path a write is routed by once its body is read, where the vendor names the
    /// record type of a write in its body (a collection of records, each naming its type):
    /// `route` is the route the path matched, authorized already; the request is routed
    /// again by the path returned and authorized again (both must allow it). `None` keeps
    /// the route. The request is still forwarded to the client's path.
    fn route_by_body(
        &self,
        _route: &Route,
        _c: &Canonical,
        _body: &[u8],
    ) -> Result<Option<Vec<String>>, RequestError> {
        Ok(None)
    }

    /// crmgate's own cursor, where the route's path names it (`id`: the route's `{id}`
    /// segment) and it alone says which search goes on: the pipeline opens it and the
    /// profile prepares the search from what it carries ([`Vendor::prepare_resumed`]).
    fn client_cursor<'a>(&self, _route: &Route, _id: Option<&'a str>) -> Option<&'a str> {
        None
    }

    /// The upstream request of a search that goes on from crmgate's cursor: `resume` is
    /// what [`CountedSearch::resume`] sealed into it.
    fn prepare_resumed(
        &self,
        route: &Route,
        _c: &Canonical,
        _resume: &str,
    ) -> Result<Prepared, RequestError> {
        Err(RequestError::Internal(format!(
            "route `{}` takes no cursor in its path",
            route.name
        )))
    }

    /// The upstream request of a read route in the vendor's shape: the client's query and
    /// body parsed strictly and rebuilt, the properties the policies need added (and
    /// hidden again), and what the request selects records by.
    fn prepare_read(
        &self,
        route: &Route,
        c: &Canonical,
        body: Bytes,
    ) -> Result<Prepared, RequestError>;

    /// The query parameter that names a lookup property (records named by a property value
    /// instead of their id), if the vendor has one.
    fn lookup_param(&self) -> Option<&'static str>;

    /// Whether `property`, named by [`Vendor::lookup_param`], looks records up by a value
    /// (and not by the record id under another name, nor by nothing).
    fn is_lookup(&self, property: &str) -> bool;

    /// The lookup property a request's decoded query names, if any.
    fn lookup<'a>(&self, query: &'a [(String, String)]) -> Option<&'a str> {
        let param = self.lookup_param()?;
        query
            .iter()
            .find(|(k, v)| k == param && self.is_lookup(v))
            .map(|(_, v)| v.as_str())
    }

    // ---- writes --------------------------------------------------------------------

    /// Parse a write body strictly into the neutral form. `route` is the write route (its
    /// operation `route.body`, its resource and path template: a vendor may name the type or
    /// the lookup property of a write in the path); `id` is the record the path names;
    /// `query` the request's decoded query.
    fn parse_write(
        &self,
        route: &Route,
        body: &[u8],
        id: Option<&str>,
        query: &[(String, String)],
    ) -> Result<WriteBody, RequestError>;

    /// The upstream body of a write, rebuilt from the allowed inputs only.
    fn upstream_write_body(
        &self,
        op: Operation,
        inputs: &[Outgoing<'_>],
        lookup: Option<&str>,
        merge_into: Option<&str>,
    ) -> Result<Option<Bytes>, RequestError>;

    /// The query of a write's upstream request, rebuilt from the allowed inputs where it
    /// names records (a delete of several by their ids); by default the client's query
    /// (which the route documents) as it is.
    fn upstream_write_query(
        &self,
        _op: Operation,
        _inputs: &[Outgoing<'_>],
        query: &[(String, String)],
    ) -> Result<Vec<(String, String)>, RequestError> {
        Ok(query.to_vec())
    }

    /// The CRM's answer to a write completed with the attribute properties crmgate decided
    /// the write on; returns the body and the properties added (hidden again by the filter).
    fn complete_answer(
        &self,
        res: &ResourceProfile,
        body: &[u8],
        single: bool,
        lookup: Option<&str>,
        decided: &[Decided<'_>],
    ) -> Result<(Bytes, HashSet<String>), RequestError>;

    /// A batch error entry for an input crmgate did not forward.
    fn batch_error(
        &self,
        e: &RequestError,
        request_id: &str,
        index: usize,
        key: Option<&str>,
        trace: Option<&str>,
    ) -> Value;

    /// A record the caller wrote but may not read, as a write's answer names it.
    fn stub(&self, res: &ResourceProfile, id: &str, at: &str, new: Option<bool>) -> Value;

    /// The answer of a batch write over what the caller is shown and crmgate's errors.
    fn batch_answer(
        &self,
        filtered: Value,
        stubs: Vec<Value>,
        errors: Vec<Value>,
        upstream_status: StatusCode,
        at: &str,
    ) -> Result<(Value, StatusCode), RequestError>;

    /// The batch errors for inputs the caller gets no record for: the same entry whether
    /// the CRM lacks the record or the policy hides it.
    fn not_found_entries(&self, res: &ResourceProfile, keys: &[String]) -> Vec<Value>;

    /// The error entry of one batch input crmgate answers itself, where the vendor answers
    /// every input in its place (`index`: its position in the request; `key`: the record
    /// it names): `None` (the default) leaves not-found inputs to
    /// [`Vendor::not_found_entries`] and a rolled-back input unanswered.
    fn input_entry(&self, _entry: InputEntry, _index: usize, _key: Option<&str>) -> Option<Value> {
        None
    }

    /// The ids of the records a write's answer says it created, in input order (for the
    /// audit record of a create whose answer carries no record): none by default.
    fn created_ids(&self, _answer: &[u8]) -> Vec<Option<String>> {
        Vec::new()
    }

    /// Most records one batch (and one of crmgate's own reads) may name.
    fn batch_max_inputs(&self) -> usize;

    /// Whether the CRM answers the archive (delete) of a record it does not have with its
    /// not-found error; otherwise (the default) it answers success, and so does crmgate for
    /// a record the caller may not see. Either way hidden equals missing.
    fn archive_of_missing_is_not_found(&self) -> bool {
        false
    }

    /// crmgate's own read of stored records (before a write, or of associated records):
    /// the request, at the collection's batch-read route `read_path`, for `keys` (ids, or
    /// values of `lookup`) and the properties the policies decide by.
    fn record_read(
        &self,
        read_path: &str,
        keys: &[String],
        lookup: Option<&str>,
        properties: &[String],
    ) -> Result<RecordRead, RequestError>;

    /// The records of the answer to a [`Vendor::record_read`].
    fn read_records(&self, body: &[u8]) -> Result<Vec<Map<String, Value>>, RequestError>;

    /// The record a write's association names (its id), if the value names one.
    fn association_target(&self, association: &Value) -> Option<String>;

    /// How many days a record the vendor's (non-GDPR) delete archives can still be
    /// restored in the CRM, for the deletion record; `None`: the vendor does not say.
    fn archive_restorable_days(&self) -> Option<u32> {
        None
    }

    /// Whether the vendor's API has no delete for good of one record: an erasure is then
    /// its delete, carried out through the archive route, and the record stays restorable
    /// for [`Vendor::archive_restorable_days`] until the vendor purges it. By default the
    /// vendor has one (its own route).
    fn erases_by_archive(&self) -> bool {
        false
    }

    // ---- associations, errors, the credential --------------------------------------

    /// How the vendor spells associations on a record.
    fn associations(&self) -> Arc<dyn AssociationShape>;

    /// The body of crmgate's own error answer, in a shape the vendor's clients read.
    fn error_body(&self, e: &RequestError, request_id: &str) -> Vec<u8>;

    /// The content type of [`Vendor::error_body`]: the problem type unless the vendor's
    /// clients parse only their own (they would not read crmgate's refusal otherwise).
    fn error_content_type(&self) -> &'static str {
        "application/problem+json"
    }

    /// How the vendor spells its rate-limit signals (headers passed on with a 429, the
    /// limit's name in its body).
    fn rate_limit(&self) -> RateLimitShape;

    /// The credential crmgate presents to the CRM: from the configured secret, or a token
    /// fetched with the configured OAuth grant. An error names a configuration this
    /// vendor's credential cannot be built from (start-up stops).
    fn credential(&self, inputs: CredentialInputs) -> Result<Arc<dyn CredentialSource>, String>;

    // ---- a client's requests (the retention run reads and erases through crmgate) ---

    /// What a client's request names a resource type's records by (the `collection` of
    /// the requests below): by default its collection; a vendor whose API names each
    /// object type (several may share a collection) names it by the resource's name.
    fn client_collection<'a>(&self, res: &'a ResourceProfile) -> &'a str {
        &res.collection
    }

    /// A page of a collection's records with `properties`, at the vendor's cursor `after`.
    fn list_request(
        &self,
        collection: &str,
        properties: &[String],
        after: Option<&str>,
    ) -> ClientRequest;

    /// The records of a list page (each with its id, if it has one) and the cursor of the
    /// next page.
    fn read_list(&self, page: &Value) -> ListPage;

    /// One record with `properties` (none: the vendor's defaults).
    fn get_request(&self, collection: &str, id: &str, properties: &[String]) -> ClientRequest;

    /// A record's property values, as a get or a list answers it.
    fn record_properties<'a>(&self, record: &'a Value) -> Option<&'a Map<String, Value>>;

    /// The request that erases a record as `how` says.
    fn erase_request(&self, collection: &str, id: &str, how: Erasure<'_>) -> ClientRequest;
}

/// Why crmgate answers one batch input itself (see [`Vendor::input_entry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEntry {
    /// The record it names is missing or hidden: the same entry for both.
    NotFound,
    /// Allowed, but not sent: another input of an all-or-none batch was not.
    RolledBack,
}

/// A request a client of crmgate sends, in the vendor's spelling.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRequest {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
}

/// How a record is erased.
#[derive(Debug, Clone, Copy)]
pub enum Erasure<'a> {
    /// Archived (the vendor's delete, undone within its recovery window).
    Archive,
    /// Deleted for good, as a data subject's erasure.
    Erase,
    /// These properties cleared (anonymised).
    Clear(&'a [String]),
}

/// One page of a collection as a client reads it.
#[derive(Debug, Default)]
pub struct ListPage {
    /// Each record's id (if it has one) and property values.
    pub records: Vec<(Option<String>, Map<String, Value>)>,
    /// The vendor's cursor of the next page.
    pub next: Option<String>,
}

impl fmt::Debug for dyn Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vendor")
            .field("name", &self.name())
            .finish()
    }
}

/// The future of a credential header.
pub type HeaderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<HeaderValue>, RequestError>> + Send + 'a>>;

/// Where the `Authorization` header of upstream requests comes from: a static token, or a
/// token crmgate fetches and refreshes before it expires (OAuth 2.0).
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// The header value for the next request (marked sensitive), or none.
    fn header(&self) -> HeaderFuture<'_>;

    /// The CRM answered 401 to a request sent with `used`; `body` is its answer (at most
    /// 16 KiB, never shown to anyone). Whether the credential was refused as expired and
    /// is dropped, so that the next [`CredentialSource::header`] fetches a new one: the
    /// forward stage then sends a read once more (never a write). Default: a credential
    /// that cannot be renewed, and the 401 stands.
    fn rejected(&self, used: &HeaderValue, body: &[u8]) -> bool {
        let _ = (used, body);
        false
    }
}

/// What a vendor builds its credential from (`[upstream]`'s credential keys), and what
/// crmgate lends it.
pub struct CredentialInputs {
    /// A static token (`credential_env`, `credential_file`).
    pub secret: Option<Secret>,
    /// An OAuth 2.0 grant (`[upstream.oauth]`).
    pub oauth: Option<OAuthConfig>,
    /// The way to a token endpoint: crmgate's upstream client, with its TLS settings.
    pub post: Arc<dyn TokenPost>,
    /// The counters of `/metrics` (refreshes and failures of the credential).
    pub metrics: Arc<Metrics>,
}

/// The future of a token endpoint's answer: its status and body.
pub type PostFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(StatusCode, Bytes), RequestError>> + Send + 'a>>;

/// A form POST to a token endpoint through crmgate's upstream client (its TLS settings,
/// timeout and a small body cap). The form carries secrets: it is never logged.
pub trait TokenPost: Send + Sync {
    fn post_form(&self, url: &http::Uri, form: String) -> PostFuture<'_>;
}

/// What goes upstream for a read route, and what the later stages must know about it.
pub struct Prepared {
    pub path_and_query: String,
    /// The rebuilt body (never the client's bytes).
    pub body: Option<Bytes>,
    /// Properties fetched only for the policies: removed again before the client sees them.
    pub hidden: HashSet<String>,
    /// The field group of every property the request selects, orders or looks up records by.
    pub selected_by: Vec<GroupId>,
    /// How the answer is made from what the filter kept.
    pub answer: Answer,
}

impl Prepared {
    /// The field groups (bitmask) the request selects records by.
    pub fn selection(&self) -> u64 {
        self.selected_by.iter().fold(0, |m, g| m | (1u64 << g))
    }
}

/// How the client's answer is made.
pub enum Answer {
    /// The filtered body, as the filter left it.
    Filtered,
    /// A search whose count and paging crmgate answers over what the caller is shown,
    /// unless the policies show it every record.
    Counted(Box<dyn CountedSearch>),
    /// A batch whose envelope (errors, status) crmgate rebuilds over what is shown.
    Batch(Box<dyn BatchAnswer>),
    /// A list crmgate pages itself over what the caller is shown, unless the policies show
    /// it every record: pages come back full, and its cursor is crmgate's own.
    Refilled(Box<dyn RefilledList>),
    /// The schema of a collection, answered with only the fields the caller may see in
    /// some form.
    Describe(Box<dyn DescribeAnswer>),
}

/// A collection's schema (its fields), as the vendor describes it.
pub trait DescribeAnswer: Send + Sync {
    /// The client's answer: the CRM's description with every field not in `shown` (the
    /// properties and fields the caller sees in some form, in the routes file's spelling)
    /// dropped. fail closed: what the profile cannot tell is one of them is dropped too.
    fn answer(&self, body: &[u8], shown: &HashSet<&str>) -> Result<Value, RequestError>;
}

/// One filtered page of a walk, as a vendor reads it: its records as JSON text borrowed
/// from the filtered body (never parsed into a tree: they are copied into the client's
/// answer as the filter wrote them), and the vendor's cursor of the next page.
pub struct PageRead<'a> {
    pub records: Vec<&'a serde_json::value::RawValue>,
    pub next: Option<String>,
}

/// A list crmgate fetches page by page from the vendor and refills to the client's size.
pub trait RefilledList: Send + Sync {
    /// The client's page size.
    fn limit(&self) -> usize;
    /// The client's cursor, as it sent it (crmgate's own, sealed), if any.
    fn cursor(&self) -> Option<&str>;
    /// Most vendor pages one client page may take.
    fn max_pages(&self) -> usize;
    /// The upstream path and query of the vendor's page at `after` (first page: `None`).
    fn page_request(&self, after: Option<&str>) -> String;
    /// A filtered page's records, and the vendor's cursor of its next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
    /// The client's answer: its records (filtered JSON text, copied as it is), and
    /// crmgate's cursor of the next page if any.
    fn answer(&self, records: &[&[u8]], next: Option<String>) -> Result<Vec<u8>, RequestError>;
    /// The same list as a vendor query that carries the row condition (only the part the
    /// vendor can express; the rows that come back are still decided one by one), if any.
    fn pushdown(&self, res: &ResourceProfile, rows: &RowCondition) -> Option<Box<dyn PushedList>>;
}

/// A list pushed down into the vendor's query language: pages of a search.
pub trait PushedList: Send + Sync {
    /// The vendor's search path for the collection.
    fn path(&self) -> &str;
    /// The search body for the page at `after`.
    fn page_body(&self, after: Option<&str>) -> Result<Bytes, RequestError>;
    /// A filtered page's records, and the vendor's cursor of its next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
    /// A cursor whose page starts right after the record of this id (the search is in
    /// record-id order), if the vendor can name one: the next client page then starts
    /// there instead of re-reading the CRM page it began in.
    fn cursor_after(&self, _record_id: &str) -> Option<String> {
        None
    }
}

/// One upstream request of a walk: the whole request, since a vendor's next page may be a
/// path of its own (a locator) rather than a body.
pub struct PageRequest {
    pub path_and_query: String,
    pub body: Option<Bytes>,
}

/// A search crmgate can walk page by page and count itself.
pub trait CountedSearch: Send + Sync {
    /// Records per upstream page, and most pages one search may take (the vendor's caps).
    fn page_size(&self) -> usize;
    fn max_pages(&self) -> usize;
    /// The upstream request of the page at the vendor's `cursor` (the first page: `None`).
    /// `rows`: the caller's row condition, which the vendor's query may carry (narrowing
    /// only; the rows that come back are still decided one by one).
    fn page_request(
        &self,
        cursor: Option<String>,
        rows: Option<&RowCondition>,
    ) -> Result<PageRequest, RequestError>;
    /// A filtered page's records, and the cursor of the vendor's next page.
    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError>;
    /// The client's page: its cursor as it sent it (crmgate's own, sealed), if any, and its
    /// size.
    fn client_page(&self) -> (Option<String>, usize);
    /// The client's answer: its page of the shown records, the count of them all, and
    /// crmgate's cursor of the next page if there is one.
    fn answer(
        &self,
        total: usize,
        page: &[&[u8]],
        next: Option<String>,
    ) -> Result<Vec<u8>, RequestError>;
    /// What crmgate's cursor must carry for the search to go on from it alone (a vendor
    /// whose next page names no search: the search itself), sealed, never shown.
    fn resume(&self) -> Option<String> {
        None
    }
    /// The part of the shown records the client asked for: how many are skipped before
    /// its first page, and most in all (a query's `OFFSET` and `LIMIT`).
    fn window(&self) -> (usize, Option<usize>) {
        (0, None)
    }
    /// Whether crmgate walks and counts even when the caller may see every record: the
    /// vendor's own paging cannot be passed on (its cursor is a path the client would call).
    fn always_counted(&self) -> bool {
        false
    }
    /// Whether [`CountedSearch::page_request`] puts the whole of `rows` into the vendor's
    /// query (every attribute's values, none left out to widen it). fail closed: no.
    fn pushes_exactly(&self, _rows: Option<&RowCondition>) -> bool {
        false
    }
    /// The vendor's count of the matches of its query, read from a page without its
    /// records (its envelope), if it gives one.
    fn upstream_total(&self, _envelope: &[u8]) -> Option<usize> {
        None
    }
}

/// A batch answer rebuilt over what the caller is shown.
pub trait BatchAnswer: Send + Sync {
    /// The CRM's answer in the shape the route's record selector reads, where the vendor's
    /// batch answer is not (a bare list, with `null` for an id it lacks): by default as it
    /// came.
    fn as_filtered(&self, upstream: Bytes) -> Result<Bytes, RequestError> {
        Ok(upstream)
    }

    /// The answer's body and status, from the filtered body (and the upstream body, read
    /// only to tell which input each shown record answers).
    fn rebuild(
        &self,
        res: &ResourceProfile,
        upstream: &[u8],
        filtered: Value,
    ) -> Result<(Value, StatusCode), RequestError>;
}

/// One allowed write input, as it goes upstream.
pub struct Outgoing<'a> {
    /// The record's id (updates, archives, merges), resolved by crmgate's own read.
    pub id: Option<&'a str>,
    /// The input's key as the client sent it (an upsert's lookup value).
    pub key: Option<&'a str>,
    pub properties: &'a IndexMap<String, Option<String>>,
    /// The properties whose value the client sent as a JSON literal (a boolean or a number,
    /// in its JSON text), not a string: written back as such.
    pub literal: &'a BTreeSet<String>,
    pub associations: Option<&'a Vec<Value>>,
    pub trace: Option<&'a str>,
}

/// What crmgate decided a written record on, to complete the CRM's answer with.
pub struct Decided<'a> {
    /// The record id (none for a create).
    pub id: Option<&'a str>,
    /// The lookup value of an upsert's input (lower-cased), where there is one.
    pub key: Option<String>,
    pub attributes: &'a Map<String, Value>,
}

/// How a vendor spells the associations on a record (the ids of records of other types
/// it names). The filter calls it on the member [`AssociationShape::field`] names.
pub trait AssociationShape: Send + Sync {
    /// The record member holding associations.
    fn field(&self) -> &'static str;
    /// Whether a request's decoded query asks for associations.
    fn requested(&self, query: &[(String, String)]) -> bool;
    /// The ids every associations member of a body names, per association key. Only these
    /// can be decided; anything else the filter finds is dropped.
    fn named(&self, body: &[u8]) -> BTreeMap<String, BTreeSet<String>>;
    /// A record's associations as the caller may see them, `None` when nothing is left
    /// (the member is then omitted).
    fn filter(&self, value: &Value, shown: &Shown, named: &mut Named) -> Option<Value>;
}

/// Which associated records the caller may be named, per association key (the other type's
/// collection, `contacts`): the ids whose read decision allows them for this caller and
/// purpose. An id without a verdict is not shown.
#[derive(Default)]
pub struct Shown {
    by_type: HashMap<String, HashSet<String>>,
    /// How the vendor spells associations; none only for bodies that are never released
    /// (a rehearsal of the filter's work).
    shape: Option<Arc<dyn AssociationShape>>,
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shown")
            .field("by_type", &self.by_type)
            .finish()
    }
}

impl Shown {
    /// Nothing is shown, and no member is read as associations: only for work whose
    /// body is never released.
    pub fn none() -> Shown {
        Shown::default()
    }

    /// Nothing is shown yet, associations read in the vendor's `shape`.
    pub fn nothing(shape: Arc<dyn AssociationShape>) -> Shown {
        Shown {
            by_type: HashMap::new(),
            shape: Some(shape),
        }
    }

    pub fn allow(&mut self, key: &str, ids: impl IntoIterator<Item = String>) {
        self.by_type.entry(key.to_string()).or_default().extend(ids);
    }

    pub fn contains(&self, key: &str, id: &str) -> bool {
        self.by_type.get(key).is_some_and(|ids| ids.contains(id))
    }

    /// Whether `member` of a record holds associations.
    pub fn is_field(&self, member: &str) -> bool {
        self.shape.as_ref().is_some_and(|s| s.field() == member)
    }

    /// An associations member as the caller may see it (see [`AssociationShape::filter`]).
    pub fn filter(&self, value: &Value, named: &mut Named) -> Option<Value> {
        self.shape.as_ref()?.filter(value, self, named)
    }
}

/// What the filter did with associated ids, for the audit record (`type/id`, no values).
#[derive(Debug, Default)]
pub struct Named {
    pub shown: Vec<String>,
    pub dropped: Vec<String>,
}
