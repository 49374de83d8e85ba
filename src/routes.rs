//! The route table, built at start-up: method + canonical path → the route of the vendor
//! profile (stage 5 asks [`RouteTable::find`] per request), and what the records of each
//! resource type look like.
//!
//! The routes file (`policies/routes.toml`) is parsed at start-up into a [`RouteTable`]: each
//! route names its Cedar action, its resource type, where the records sit in the JSON body
//! (a compiled JSONPath), and each resource type classifies every property and record field
//! into a field group. A request that matches no route is never forwarded; a field that no
//! group names is unclassified and removed.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use jsonpath_rust::parser::model::JpQuery;
use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::{Problem, TomlSource};
use crate::error::RequestError;
use crate::fasthash::FastMap;

mod load;

/// Property or field name → its field group: looked up for every name of every record.
pub type GroupIndex = FastMap<String, GroupId>;

/// Index of a field group within its resource profile.
pub type GroupId = usize;

/// Most field groups a resource type may have (group sets are bitmasks).
pub const MAX_GROUPS: usize = 64;

/// The first path segment of crmgate's own endpoints on the data port (a write's notice):
/// no route or alias may be under it, so no CRM path is ever shadowed by one.
pub const OWN_PREFIX: &str = "crmgate";

/// A typed attribute value extracted from a record for Cedar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Long(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttrType {
    String,
    Bool,
    Long,
}

/// Which computed attribute a routes file attribute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Computed {
    DueForDeletion,
    UnderHold,
}

/// What computes a resource type's computed attributes from a record's properties. The
/// deletion concept ([`crate::retention`]) implements it and attaches one per resource type
/// when a revision is loaded ([`RouteTable::attach_computed`]): the routes know only this
/// trait, so the import runs one way, from retention to routes.
pub trait ComputedAttributes: Send + Sync + fmt::Debug {
    /// The record properties the computation reads: asked of the upstream with the
    /// attributes' own properties, whatever the client asked for.
    fn inputs(&self) -> &[String];
    /// The value of the computed attribute `which` for a record with these properties.
    fn value(&self, which: Computed, props: &serde_json::Map<String, Value>) -> bool;
}

/// Where an attribute's value comes from in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrSource {
    /// A vendor property (`properties.<name>`), a string that is parsed into the type.
    Property(String),
    /// A top-level record field (`archived`).
    Field(String),
    /// Computed by crmgate from the record by the deletion concept
    /// ([`crate::retention`]): `false` while no retention rules are configured.
    Computed(Computed),
}

#[derive(Debug, Clone)]
pub struct AttributeSpec {
    pub name: String,
    pub source: AttrSource,
    pub kind: AttrType,
    /// Used when the record lacks the value. Without a default, a missing value leaves the
    /// attribute out of the entity, so every policy that reads it fails → deny.
    pub default: Option<AttrValue>,
    /// The values the attribute takes (its domain), for the access matrix.
    pub values: Vec<AttrValue>,
    /// The CRM's query compares this attribute's values exactly: a boolean, a number, or a
    /// string the CRM keeps as one of the declared values in one spelling (an enumeration,
    /// `enumeration = true` in the routes file). A free-text string is compared by the CRM
    /// without regard to case (or by token), so a filter on it can match records whose
    /// value the policies tell apart: the CRM's count of such a query is never the answer.
    pub exact_match: bool,
}

/// How a record holds its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Under one member of the record (`properties_field`).
    #[default]
    Nested,
    /// As the record's own members: every member but the id, the structure members and the
    /// declared `fields` is a property; a member holding an object (a parent record) holds
    /// properties named by their dotted path (`Account.Name`).
    Flat,
}

/// One CRM object type: how its records look and how their fields are classified.
#[derive(Debug)]
pub struct ResourceProfile {
    /// The name the routes file gives it (`[resources.Lead]`): routes name it by this, and
    /// memos of plans and selectability are keyed by it.
    pub name: String,
    /// Cedar entity type of a record (`Contact`); several resources may share one
    /// (`entity_type = "Contact"`): then the same policies decide them.
    pub entity_type: String,
    /// Collection name in paths and `Collection::"…"` (`contacts`).
    pub collection: String,
    /// Field group names; a [`GroupId`] indexes this list.
    pub groups: Vec<String>,
    pub property_groups: GroupIndex,
    /// Top-level record fields (typed: kept or removed, never masked).
    pub field_groups: GroupIndex,
    /// Record field holding the id (always kept: it names the record).
    pub id_field: String,
    /// How a record holds its properties.
    pub layout: Layout,
    /// Record field holding the property map (a nested layout).
    pub properties_field: String,
    /// Members that are structure, not data (`attributes`): kept whenever the record is
    /// shown, in a record and in a parent record it holds (a flat layout).
    pub structure: Vec<String>,
    /// Record field holding property histories, if the vendor has them.
    pub history_field: Option<String>,
    /// What the vendor returns when the client names no properties.
    pub default_properties: Vec<String>,
    /// What the vendor always adds to an explicit property list.
    pub always_properties: Vec<String>,
    /// Properties a free-text search (`query`) matches against at the vendor.
    pub query_properties: Vec<String>,
    pub attributes: Vec<AttributeSpec>,
    /// Free-text properties: scanned for special-category data and identifiers before a
    /// write is forwarded, and redacted (or the write refused).
    pub free_text: Vec<String>,
    /// What crmgate stamps on creates, if anything.
    pub provenance: Option<ProvenanceSpec>,
    /// What computes this type's computed attributes (the deletion concept's rules), set
    /// once when a revision is loaded, before it serves a request.
    pub computed_by: OnceLock<Box<dyn ComputedAttributes>>,
}

impl ResourceProfile {
    /// Whether an attribute is computed as `which`.
    pub fn computes(&self, which: Computed) -> bool {
        self.attributes
            .iter()
            .any(|a| a.source == AttrSource::Computed(which))
    }

    /// Whether any attribute is computed (the lazy filter then reads their inputs too).
    pub fn has_computed(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a.source, AttrSource::Computed(_)))
    }

    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.iter().position(|g| g == name)
    }

    /// A property's value in a record: in the property map (nested), or a member of the
    /// record (flat; a dotted name walks into the parent records it holds).
    pub fn property<'a>(
        &self,
        record: &'a serde_json::Map<String, Value>,
        name: &str,
    ) -> Option<&'a Value> {
        match self.layout {
            Layout::Nested => record.get(&self.properties_field)?.as_object()?.get(name),
            Layout::Flat => record.get(name).or_else(|| {
                let (head, rest) = name.split_once('.')?;
                let parent = record.get(head)?.as_object()?;
                self.property(parent, rest)
            }),
        }
    }

    /// The properties of a record as a map of name to value (dotted names for those of a
    /// parent record in a flat layout), for what reads them all (computed attributes, the
    /// tools).
    pub fn properties_of(
        &self,
        record: &serde_json::Map<String, Value>,
    ) -> serde_json::Map<String, Value> {
        match self.layout {
            Layout::Nested => record
                .get(&self.properties_field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            Layout::Flat => {
                let mut out = serde_json::Map::new();
                for (k, v) in record {
                    if self.is_flat_property(k) {
                        self.flatten_into(k, v, &mut out);
                    }
                }
                out
            }
        }
    }

    /// Whether a member of a flat record holds properties (not the id, a structure member
    /// or a declared field).
    pub fn is_flat_property(&self, member: &str) -> bool {
        member != self.id_field
            && !self.structure.iter().any(|s| s == member)
            && !self.field_groups.contains_key(member)
    }

    fn flatten_into(&self, name: &str, v: &Value, out: &mut serde_json::Map<String, Value>) {
        match v {
            Value::Object(parent) if !self.property_groups.contains_key(name) => {
                for (k, v) in parent {
                    if !self.structure.iter().any(|s| s == k) {
                        self.flatten_into(&format!("{name}.{k}"), v, out);
                    }
                }
            }
            _ => {
                out.insert(name.to_string(), v.clone());
            }
        }
    }

    /// Set a property of a record (the record as a write would leave it).
    pub fn set_property(&self, record: &mut serde_json::Map<String, Value>, name: &str, v: Value) {
        match self.layout {
            Layout::Nested => {
                let props = record
                    .entry(self.properties_field.clone())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                if let Value::Object(props) = props {
                    props.insert(name.to_string(), v);
                }
            }
            Layout::Flat => {
                record.insert(name.to_string(), v);
            }
        }
    }

    /// Properties crmgate must ask the upstream for so that the record's attributes can be
    /// extracted, whatever the client asked for.
    pub fn attribute_properties(&self) -> impl Iterator<Item = &str> {
        let computed = match self.computed_by.get() {
            Some(e) if self.has_computed() => e.inputs(),
            _ => &[],
        };
        self.attributes
            .iter()
            .filter_map(|a| match &a.source {
                AttrSource::Property(p) => Some(p.as_str()),
                AttrSource::Field(_) | AttrSource::Computed(_) => None,
            })
            .chain(computed.iter().map(String::as_str))
    }
}

/// Where records sit in a response body.
#[derive(Debug)]
pub enum RecordSelector {
    /// The body is one record.
    Root,
    /// A JSONPath (RFC 9535) selecting the records; the source text is kept for messages.
    Path { source: String, query: JpQuery },
}

/// What a route does, in the stages' words: the vendor profile spells each as its own
/// request body, parses it strictly and rebuilds it (see [`crate::stages::vendor`]). The
/// routes file names it by the route's `body` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// No body is forwarded: a list or a get (the route's record selector tells which).
    Read,
    /// A search: filters, sorts, free text, properties and a page.
    Search,
    /// A read of records named by their ids or lookup values, with properties.
    BatchRead,
    /// The schema of a collection (its fields): answered with only the fields the caller
    /// may see in some form.
    Describe,
    /// A write (see [`crate::stages::write_inputs`]) of one record or of a batch: parsed
    /// strictly, decided per record and per field group, and rebuilt from what was allowed.
    Write(WriteOp, Cardinality),
}

/// What a write operation does to the records it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    Create,
    /// Changes the record the path (or an input) names.
    Update,
    /// Creates or updates, by a lookup property.
    Upsert,
    /// Archives (the vendor's delete).
    Archive,
    /// Deletes for good, as a data subject's erasure (a GDPR delete).
    Erase,
    /// Merges one record into another.
    Merge,
}

/// One record, or a batch of them (answered per input, 207 when some failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    One,
    Batch,
}

/// The routes file's `body` key, as written: read into an [`Operation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawBody {
    None,
    Search,
    BatchRead,
    Describe,
    Create,
    Update,
    /// One record created or updated by a lookup value the path names.
    Upsert,
    Archive,
    BatchCreate,
    BatchUpdate,
    BatchUpsert,
    BatchArchive,
    GdprDelete,
    Merge,
}

impl From<RawBody> for Operation {
    fn from(b: RawBody) -> Operation {
        use Cardinality::{Batch, One};
        match b {
            RawBody::None => Operation::Read,
            RawBody::Search => Operation::Search,
            RawBody::BatchRead => Operation::BatchRead,
            RawBody::Describe => Operation::Describe,
            RawBody::Create => Operation::Write(WriteOp::Create, One),
            RawBody::Update => Operation::Write(WriteOp::Update, One),
            RawBody::Upsert => Operation::Write(WriteOp::Upsert, One),
            RawBody::Archive => Operation::Write(WriteOp::Archive, One),
            RawBody::BatchCreate => Operation::Write(WriteOp::Create, Batch),
            RawBody::BatchUpdate => Operation::Write(WriteOp::Update, Batch),
            RawBody::BatchUpsert => Operation::Write(WriteOp::Upsert, Batch),
            RawBody::BatchArchive => Operation::Write(WriteOp::Archive, Batch),
            RawBody::GdprDelete => Operation::Write(WriteOp::Erase, One),
            RawBody::Merge => Operation::Write(WriteOp::Merge, One),
        }
    }
}

/// What a write route does to records: the record-level Cedar action it is decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    /// Create or update, by a lookup property (decided as one or the other per input).
    Upsert,
    /// Archive or GDPR delete.
    Delete,
    Merge,
}

impl WriteKind {
    /// The record-level action a record of this write is decided by (an upsert's inputs
    /// are decided as `create` or `update`, whichever they turn out to be).
    pub fn action(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Update | WriteKind::Upsert => "update",
            WriteKind::Delete => "delete",
            WriteKind::Merge => "merge",
        }
    }
}

impl Operation {
    /// The write this operation makes, if it is a write.
    pub fn write_kind(self) -> Option<WriteKind> {
        match self {
            Operation::Read | Operation::Search | Operation::BatchRead | Operation::Describe => {
                None
            }
            Operation::Write(op, _) => Some(match op {
                WriteOp::Create => WriteKind::Create,
                WriteOp::Update => WriteKind::Update,
                WriteOp::Upsert => WriteKind::Upsert,
                WriteOp::Archive | WriteOp::Erase => WriteKind::Delete,
                WriteOp::Merge => WriteKind::Merge,
            }),
        }
    }

    /// Whether the write names stored records, which crmgate reads before it decides
    /// (everything but creates).
    pub fn reads_records_first(self) -> bool {
        matches!(self, Operation::Write(op, _) if op != WriteOp::Create)
    }

    /// The name the routes file gives it (`body = "batch_update"`).
    pub fn name(self) -> &'static str {
        use Cardinality::{Batch, One};
        match self {
            Operation::Read => "none",
            Operation::Search => "search",
            Operation::BatchRead => "batch_read",
            Operation::Describe => "describe",
            Operation::Write(op, One) => match op {
                WriteOp::Create => "create",
                WriteOp::Update => "update",
                WriteOp::Upsert => "upsert",
                WriteOp::Archive => "archive",
                WriteOp::Erase => "gdpr_delete",
                WriteOp::Merge => "merge",
            },
            Operation::Write(op, Batch) => match op {
                WriteOp::Create => "batch_create",
                WriteOp::Update => "batch_update",
                WriteOp::Upsert => "batch_upsert",
                WriteOp::Archive => "batch_archive",
                WriteOp::Erase => "batch_gdpr_delete",
                WriteOp::Merge => "batch_merge",
            },
        }
    }

    /// A batch of writes (answered per input, 207 when some failed).
    pub fn is_batch(self) -> bool {
        matches!(self, Operation::Write(_, Cardinality::Batch))
    }
}

/// What a write route does with properties of field groups the caller may not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeniedFields {
    /// Refuse the whole write with 403, naming the groups (the default: nothing is
    /// silently lost).
    #[default]
    Refuse,
    /// Remove those properties, write the rest, and name the groups in the
    /// `x-crmgate-stripped` response header and the audit record.
    Strip,
}

/// The provenance properties crmgate stamps on every record created through it.
#[derive(Debug, Clone)]
pub struct ProvenanceSpec {
    /// Where the data came from: the app's or department's `data_source` (config).
    pub source: String,
    /// When it was collected (RFC 3339, crmgate's clock).
    pub at: Option<String>,
    /// The lawful basis of the declared purpose (the purpose registry).
    pub basis: Option<String>,
}

#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub method: http::Method,
    /// The path template as written (`/objects/contacts/{id}` under the CRM's prefix).
    pub path: String,
    segments: Vec<Segment>,
    /// Request-level Cedar action (`list`, `get`, `search`).
    pub action: String,
    pub resource: Arc<ResourceProfile>,
    pub records: RecordSelector,
    /// Top-level body keys kept as they are (paging, totals): everything else that is not a
    /// record, or on the way to one, is removed.
    pub envelope: Vec<String>,
    /// Query parameters the client may send; any other is rejected.
    pub query: HashSet<String>,
    /// Other upstream paths a decision on this route may send to (a vendor's next page at
    /// a path of its own; `*` is one segment): its own path is always one.
    pub upstream_paths: Vec<String>,
    /// The route whose paging cursors this one reads (`cursor_of`: a vendor's next page at
    /// a path of its own), if not its own.
    pub cursor_of: Option<String>,
    /// Query parameter naming properties (`properties`), if the route has one.
    pub properties_param: Option<String>,
    pub body: Operation,
    /// Write routes: strip or refuse properties of groups the caller may not write.
    pub denied_fields: DeniedFields,
    /// Shadow mode: decide and audit what would be filtered, but release the upstream body
    /// unchanged. For watching a new policy before enforcing it; off by default.
    pub shadow: bool,
    /// Benchmark reference only (`passthrough = true`, a key only builds with the
    /// `bench-reference` feature know; the shipped binary refuses it): the
    /// request is still authorized and audited, but the upstream body is returned as it came,
    /// unfiltered. It exists so the benchmark can measure what filtering costs.
    pub passthrough: bool,
}

impl Route {
    /// A single-record route answers 404 when the row decision denies the record.
    pub fn is_single(&self) -> bool {
        matches!(self.records, RecordSelector::Root)
    }

    /// What crmgate's paging cursors on this route are bound to: the route's name, or the
    /// one it reads the cursors of.
    pub fn cursor_scope(&self) -> &str {
        self.cursor_of.as_deref().unwrap_or(&self.name)
    }

    /// The write this route makes, if it is a write route.
    pub fn write(&self) -> Option<WriteKind> {
        self.body.write_kind()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// A matched route and the id segment, if the path has one.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub id: Option<String>,
}

#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// Other spellings of a path prefix (a vendor's date-versioned API path for its
    /// numbered one): rewritten to the target before routing.
    aliases: Vec<Alias>,
    resources: BTreeMap<String, Arc<ResourceProfile>>,
    /// The file as parsed: checks against the schema name the line of the key at fault.
    source: Arc<TomlSource>,
}

impl RouteTable {
    /// Give every resource type what computes its computed attributes (`make` is called
    /// with the entity type): from now on they follow it. Called once, while the revision is
    /// being loaded.
    pub fn attach_computed(&self, make: impl Fn(&str) -> Box<dyn ComputedAttributes>) {
        for res in self.resources.values() {
            // A fresh table each load: the cell is empty, so this cannot be refused.
            let _ = res.computed_by.set(make(&res.entity_type));
        }
    }

    /// Find the route for a method and canonical path segments. No match → 404 (never
    /// forwarded); a path that matches with another method → 405.
    pub fn find(
        &self,
        method: &http::Method,
        segments: &[String],
    ) -> Result<RouteMatch<'_>, RequestError> {
        let mut path_matched = false;
        for route in &self.routes {
            let Some(id) = match_segments(&route.segments, segments) else {
                continue;
            };
            if route.method != *method {
                path_matched = true;
                continue;
            }
            return Ok(RouteMatch { route, id });
        }
        if path_matched {
            return Err(RequestError::MethodNotAllowed(method.to_string()));
        }
        Err(RequestError::NoRoute {
            method: method.to_string(),
            path: format!("/{}", segments.join("/")),
        })
    }

    /// The canonical segments with an alias prefix replaced by its target, if one matches:
    /// the request is then routed, decided, audited and forwarded as the target path.
    pub fn resolve_alias(&self, segments: &[String]) -> Option<Vec<String>> {
        self.aliases.iter().find_map(|a| a.apply(segments))
    }

    /// The routes file's text as loaded (what the policy revision hashes: read once, so
    /// what is parsed is what is hashed).
    pub fn source(&self) -> &str {
        &self.source.text
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn resources(&self) -> impl Iterator<Item = &Arc<ResourceProfile>> {
        self.resources.values()
    }

    /// The resource the routes file names `name` (for a vendor whose resources each have
    /// their own Cedar type, the entity type).
    pub fn resource(&self, name: &str) -> Option<&Arc<ResourceProfile>> {
        self.resources.get(name)
    }

    /// A problem about the key at a dotted path of the routes file (`routes.3.action`,
    /// `resources.Contact.properties.billing`).
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        self.source.problem(path, message)
    }

    /// Where route number `index` (of [`RouteTable::routes`]) is written.
    pub fn route_path(index: usize) -> String {
        format!("routes.{index}")
    }
}

/// A path prefix spelled another way: `from` may hold `{version}`, a date version
/// (`2026-03`).
#[derive(Debug)]
struct Alias {
    from: Vec<AliasSegment>,
    to: Vec<String>,
}

#[derive(Debug)]
enum AliasSegment {
    Literal(String),
    Version,
}

impl Alias {
    fn apply(&self, segments: &[String]) -> Option<Vec<String>> {
        if segments.len() < self.from.len() {
            return None;
        }
        for (p, s) in self.from.iter().zip(segments) {
            match p {
                AliasSegment::Literal(l) if l == s => {}
                AliasSegment::Version if is_date_version(s) => {}
                _ => return None,
            }
        }
        let rest = segments.get(self.from.len()..)?;
        Some(
            self.to
                .iter()
                .cloned()
                .chain(rest.iter().cloned())
                .collect(),
        )
    }
}

/// `YYYY-MM`, as a date-versioned API names its versions.
fn is_date_version(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b.get(4) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
}

fn match_segments(pattern: &[Segment], path: &[String]) -> Option<Option<String>> {
    if pattern.len() != path.len() {
        return None;
    }
    let mut id = None;
    for (p, s) in pattern.iter().zip(path) {
        match p {
            Segment::Literal(l) if l == s => {}
            Segment::Literal(_) => return None,
            Segment::Param => id = Some(s.clone()),
        }
    }
    Some(id)
}

/// Extract a record's Cedar attributes as the routes file describes them.
pub fn extract_attributes(
    resource: &ResourceProfile,
    record: &serde_json::Map<String, Value>,
) -> Vec<Option<AttrValue>> {
    // A flat record's properties are its members: the computed attributes read those.
    let all = (resource.has_computed() && resource.layout == Layout::Flat)
        .then(|| resource.properties_of(record));
    let props = match resource.layout {
        Layout::Nested => record
            .get(&resource.properties_field)
            .and_then(Value::as_object),
        Layout::Flat => all.as_ref(),
    };
    resource
        .attributes
        .iter()
        .map(|spec| {
            let raw = match &spec.source {
                AttrSource::Property(p) => resource.property(record, p),
                AttrSource::Field(f) => record.get(f),
                AttrSource::Computed(c) => {
                    return Some(AttrValue::Bool(computed(resource, *c, props)));
                }
            };
            raw.and_then(|v| typed(spec.kind, v))
                .or_else(|| spec.default.clone())
        })
        .collect()
}

/// A computed attribute of a record: `false` where no rules are configured.
pub fn computed(
    resource: &ResourceProfile,
    which: Computed,
    props: Option<&serde_json::Map<String, Value>>,
) -> bool {
    let empty = serde_json::Map::new();
    resource
        .computed_by
        .get()
        .is_some_and(|e| e.value(which, props.unwrap_or(&empty)))
}

/// A JSON value as an attribute of the given type; `None` when absent, null or not of that
/// type (then the default applies, or the attribute stays missing).
pub fn typed(kind: AttrType, v: &Value) -> Option<AttrValue> {
    match (kind, v) {
        (AttrType::String, Value::String(s)) => Some(AttrValue::Str(s.clone())),
        (AttrType::Bool, Value::Bool(b)) => Some(AttrValue::Bool(*b)),
        (AttrType::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(AttrValue::Bool(true)),
            "false" => Some(AttrValue::Bool(false)),
            _ => None,
        },
        (AttrType::Long, Value::Number(n)) => n.as_i64().map(AttrValue::Long),
        (AttrType::Long, Value::String(s)) => s.parse().ok().map(AttrValue::Long),
        _ => None,
    }
}

/// [`typed`] for a value the caller owns: a string attribute takes it without a copy.
pub fn typed_owned(kind: AttrType, v: Value) -> Option<AttrValue> {
    match (kind, v) {
        (AttrType::String, Value::String(s)) => Some(AttrValue::Str(s)),
        (kind, v) => typed(kind, &v),
    }
}

/// A record's id as the decisions and the audit see it: the id field, a string or a number.
pub fn record_id(
    resource: &ResourceProfile,
    record: &serde_json::Map<String, Value>,
) -> Option<String> {
    match record.get(&resource.id_field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
