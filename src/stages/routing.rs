//! Stage 5, route: method + canonical path → the route of the vendor profile.
//!
//! The routes file (`policies/routes.toml`) is parsed at start-up into a [`RouteTable`]: each
//! route names its Cedar action, its resource type, where the records sit in the JSON body
//! (a compiled JSONPath), and each resource type classifies every property and record field
//! into a field group. A request that matches no route is never forwarded; a field that no
//! group names is unclassified and removed.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use jsonpath_rust::parser::model::JpQuery;
use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::{Problem, Problems, Report, TomlSource};
use crate::error::RequestError;
use crate::fasthash::FastMap;
use crate::stages::retention::{Computed, Evaluator};

/// Property or field name → its field group: looked up for every name of every record.
pub type GroupIndex = FastMap<String, GroupId>;

/// Index of a field group within its resource profile.
pub type GroupId = usize;

/// Most field groups a resource type may have (group sets are bitmasks).
pub const MAX_GROUPS: usize = 64;

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

/// Where an attribute's value comes from in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrSource {
    /// A vendor property (`properties.<name>`), a string that is parsed into the type.
    Property(String),
    /// A top-level record field (`archived`).
    Field(String),
    /// Computed by crmgate from the record by the deletion concept
    /// ([`crate::stages::retention`]): `false` while no retention rules are configured.
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
}

/// One CRM object type: how its records look and how their fields are classified.
#[derive(Debug)]
pub struct ResourceProfile {
    /// Cedar entity type of a record (`Contact`).
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
    /// Record field holding the property map.
    pub properties_field: String,
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
    /// The deletion concept's rules for this type, set once when a revision is loaded
    /// (before it serves a request): what the computed attributes are computed by.
    pub retention: OnceLock<Evaluator>,
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

    /// Properties crmgate must ask the upstream for so that the record's attributes can be
    /// extracted, whatever the client asked for.
    pub fn attribute_properties(&self) -> impl Iterator<Item = &str> {
        let computed = match self.retention.get() {
            Some(e) if self.has_computed() => e.inputs.as_slice(),
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
    /// A write (see [`crate::stages::write`]) of one record or of a batch: parsed
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
    Create,
    Update,
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
            RawBody::Create => Operation::Write(WriteOp::Create, One),
            RawBody::Update => Operation::Write(WriteOp::Update, One),
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
            Operation::Read | Operation::Search | Operation::BatchRead => None,
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
    /// Other spellings of a path prefix (a CRM's date-versioned prefix for its numbered
    /// one): rewritten to the target before routing.
    aliases: Vec<Alias>,
    resources: BTreeMap<String, Arc<ResourceProfile>>,
    /// The file as parsed: checks against the schema name the line of the key at fault.
    source: Arc<TomlSource>,
}

impl RouteTable {
    /// Give every resource type its deletion-concept evaluator: from now on the computed
    /// attributes follow the rules. Called once, while the revision is being loaded.
    pub fn attach_retention(
        &self,
        rules: &Arc<crate::stages::retention::RetentionRules>,
        clock: crate::stages::retention::Clock,
    ) {
        for res in self.resources.values() {
            // A fresh table each load: the cell is empty, so this cannot be refused.
            let _ = res
                .retention
                .set(Evaluator::new(rules.clone(), &res.entity_type, clock));
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

    pub fn resource(&self, entity_type: &str) -> Option<&Arc<ResourceProfile>> {
        self.resources.get(entity_type)
    }

    /// Load and compile the routes file. Every problem is reported, each at the line of
    /// the key it is about.
    pub fn load(path: &Path) -> Result<RouteTable, Problems> {
        let mut src = TomlSource::read(path)?;
        let parsed = src.deserialize::<RawRoutes>();
        let Some(raw) = parsed.value else {
            return Err(Problems(parsed.problems));
        };
        let mut r = Report {
            src: &src,
            problems: parsed.problems,
        };
        let mut resources = BTreeMap::new();
        // Resources that are written but have problems of their own (reported at their
        // lines): a route naming one is not also an "unknown resource".
        let mut broken = HashSet::new();
        for (entity_type, res) in raw.resources {
            match compile_resource(&entity_type, res, &mut r) {
                Some(profile) => {
                    resources.insert(entity_type, Arc::new(profile));
                }
                None => {
                    broken.insert(entity_type);
                }
            }
        }
        let mut routes = Vec::new();
        let mut written_at = Vec::new();
        let mut names = HashSet::new();
        for (i, route) in raw.routes.into_iter().enumerate() {
            let at = format!("routes.{i}");
            if !names.insert(route.name.clone()) {
                r.at(
                    &format!("{at}.name"),
                    format!("route `{}` is defined twice", route.name),
                );
                continue;
            }
            if let Some(route) = compile_route(route, &at, &resources, &broken, &mut r) {
                routes.push(route);
                written_at.push(at);
            }
        }
        check_prior_reads(&routes, &written_at, &mut r);
        let mut aliases = Vec::new();
        for (i, a) in raw.aliases.iter().enumerate() {
            if let Some(alias) = compile_alias(a, &format!("aliases.{i}"), &mut r) {
                aliases.push(alias);
            }
        }
        let problems = r.into_sorted();
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(RouteTable {
            routes,
            aliases,
            resources,
            source: Arc::new(src),
        })
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

/// `YYYY-MM`, as HubSpot's date-versioned API names its versions.
fn is_date_version(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b.get(4) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
}

fn compile_alias(a: &RawAlias, at: &str, report: &mut Report<'_>) -> Option<Alias> {
    let split = |p: &str| -> Option<Vec<String>> {
        let rest = p.strip_prefix('/')?;
        let segs: Vec<String> = rest.split('/').map(String::from).collect();
        (!segs.iter().any(String::is_empty)).then_some(segs)
    };
    let (Some(from), Some(to)) = (split(&a.from), split(&a.to)) else {
        report.at(
            at,
            format!(
                "alias `{}` → `{}`: both must be paths starting with `/`, without empty segments",
                a.from, a.to
            ),
        );
        return None;
    };
    let from = from
        .into_iter()
        .map(|s| match s.as_str() {
            "{version}" => AliasSegment::Version,
            _ => AliasSegment::Literal(s),
        })
        .collect();
    if to.iter().any(|s| s.contains('{')) {
        report.at(
            &format!("{at}.to"),
            format!("alias target `{}` cannot hold parameters", a.to),
        );
        return None;
    }
    Some(Alias { from, to })
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

// ---------------------------------------------------------------------------------------
// Raw file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoutes {
    resources: IndexMap<String, RawResource>,
    routes: Vec<RawRoute>,
    #[serde(default)]
    aliases: Vec<RawAlias>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlias {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvenance {
    source: String,
    at: Option<String>,
    basis: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    collection: String,
    #[serde(default = "default_id_field")]
    id_field: String,
    #[serde(default = "default_properties_field")]
    properties_field: String,
    history_field: Option<String>,
    #[serde(default)]
    default_properties: Vec<String>,
    #[serde(default)]
    always_properties: Vec<String>,
    #[serde(default)]
    query_properties: Vec<String>,
    /// group → property names (file order is the order groups are shown in)
    properties: IndexMap<String, Vec<String>>,
    /// group → top-level field names
    #[serde(default)]
    fields: IndexMap<String, Vec<String>>,
    #[serde(default)]
    attributes: IndexMap<String, RawAttribute>,
    #[serde(default)]
    free_text: Vec<String>,
    provenance: Option<RawProvenance>,
}

fn default_id_field() -> String {
    "id".into()
}
fn default_properties_field() -> String {
    "properties".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttribute {
    property: Option<String>,
    field: Option<String>,
    /// Computed by crmgate (`due_for_deletion`, `under_hold`), a `bool`.
    computed: Option<Computed>,
    #[serde(rename = "type")]
    kind: AttrType,
    default: Option<toml::Value>,
    #[serde(default)]
    values: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: String,
    method: String,
    path: String,
    action: String,
    resource: String,
    records: String,
    #[serde(default)]
    envelope: Vec<String>,
    #[serde(default)]
    query: Vec<String>,
    properties_param: Option<String>,
    #[serde(default = "default_body")]
    body: RawBody,
    denied_fields: Option<DeniedFields>,
    #[serde(default)]
    shadow: bool,
    /// Only in builds for the benchmark (feature `bench-reference`): without it the key is
    /// unknown, and a routes file that names it is refused like any unknown key.
    #[cfg(feature = "bench-reference")]
    #[serde(default)]
    passthrough: bool,
}

fn default_body() -> RawBody {
    RawBody::None
}

fn compile_resource(
    entity_type: &str,
    r: RawResource,
    report: &mut Report<'_>,
) -> Option<ResourceProfile> {
    let ctx = format!("resources.{entity_type}");
    let before = report.problems.len();
    let mut groups: Vec<String> = Vec::new();
    let group_of = |g: &str, groups: &mut Vec<String>| -> GroupId {
        match groups.iter().position(|x| x == g) {
            Some(i) => i,
            None => {
                groups.push(g.to_string());
                groups.len() - 1
            }
        }
    };
    let mut property_groups = GroupIndex::default();
    for (group, props) in &r.properties {
        let gid = group_of(group, &mut groups);
        for (i, p) in props.iter().enumerate() {
            if property_groups.insert(p.clone(), gid).is_some() {
                report.at(
                    &format!("{ctx}.properties.{group}.{i}"),
                    format!("{ctx}: property `{p}` is classified twice"),
                );
            }
        }
    }
    let mut field_groups = GroupIndex::default();
    for (group, fields) in &r.fields {
        let gid = group_of(group, &mut groups);
        for (i, f) in fields.iter().enumerate() {
            let at = format!("{ctx}.fields.{group}.{i}");
            let reserved = [&r.id_field, &r.properties_field]
                .into_iter()
                .chain(r.history_field.as_ref());
            if reserved.into_iter().any(|x| x == f) {
                report.at(
                    &at,
                    format!(
                        "{ctx}: field `{f}` is structural (id, properties or history) and cannot be classified"
                    ),
                );
            } else if field_groups.insert(f.clone(), gid).is_some() {
                report.at(&at, format!("{ctx}: field `{f}` is classified twice"));
            }
        }
    }
    for (i, p) in r.query_properties.iter().enumerate() {
        if !property_groups.contains_key(p) {
            report.at(
                &format!("{ctx}.query_properties.{i}"),
                format!("{ctx}: query property `{p}` is not classified in any field group"),
            );
        }
    }
    for (i, p) in r.free_text.iter().enumerate() {
        if !property_groups.contains_key(p) {
            report.at(
                &format!("{ctx}.free_text.{i}"),
                format!("{ctx}: free-text property `{p}` is not classified in any field group"),
            );
        }
    }
    let provenance = r.provenance.map(|p| {
        for (key, prop) in [("source", Some(&p.source)), ("at", p.at.as_ref()), ("basis", p.basis.as_ref())] {
            if let Some(prop) = prop {
                if !property_groups.contains_key(prop) {
                    report.at(
                        &format!("{ctx}.provenance.{key}"),
                        format!("{ctx}: provenance property `{prop}` is not classified in any field group"),
                    );
                }
            }
        }
        ProvenanceSpec {
            source: p.source,
            at: p.at,
            basis: p.basis,
        }
    });
    if groups.len() > MAX_GROUPS {
        report.at(&ctx, format!("{ctx}: more than {MAX_GROUPS} field groups"));
    }
    for g in &groups {
        if !g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let at = if r.properties.contains_key(g) {
                format!("{ctx}.properties.{g}")
            } else {
                format!("{ctx}.fields.{g}")
            };
            report.at(
                &at,
                format!("{ctx}: field group `{g}` must be letters, digits and `_`"),
            );
        }
    }
    let mut attributes = Vec::new();
    for (name, a) in r.attributes {
        let at = format!("{ctx}.attributes.{name}");
        let source = match (a.property, a.field, a.computed) {
            (Some(p), None, None) => AttrSource::Property(p),
            (None, Some(f), None) => AttrSource::Field(f),
            (None, None, Some(c)) if a.kind == AttrType::Bool => AttrSource::Computed(c),
            (None, None, Some(_)) => {
                report.at(
                    &format!("{at}.type"),
                    format!("{at}: a computed attribute is a `bool`"),
                );
                continue;
            }
            _ => {
                report.at(
                    &at,
                    format!("{at}: give exactly one of `property`, `field` or `computed`"),
                );
                continue;
            }
        };
        let computed = matches!(source, AttrSource::Computed(_));
        let kind = a.kind;
        let mut typed = |v: toml::Value, key: &str| -> Option<AttrValue> {
            match (kind, v) {
                (AttrType::String, toml::Value::String(s)) => Some(AttrValue::Str(s)),
                (AttrType::Bool, toml::Value::Boolean(b)) => Some(AttrValue::Bool(b)),
                (AttrType::Long, toml::Value::Integer(i)) => Some(AttrValue::Long(i)),
                (_, v) => {
                    report.at(
                        &format!("{at}.{key}"),
                        format!("{at}: `{v}` does not have type {kind:?}"),
                    );
                    None
                }
            }
        };
        let mut default = a.default.and_then(|v| typed(v, "default"));
        let mut values: Vec<AttrValue> = a
            .values
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| typed(v, &format!("values.{i}")))
            .collect();
        if computed {
            // Always computed: `false` until rules say otherwise.
            default = Some(AttrValue::Bool(false));
            values = vec![AttrValue::Bool(false), AttrValue::Bool(true)];
        }
        attributes.push(AttributeSpec {
            name,
            source,
            kind,
            default,
            values,
        });
    }
    if report.problems.len() > before {
        return None;
    }
    Some(ResourceProfile {
        entity_type: entity_type.to_string(),
        collection: r.collection,
        groups,
        property_groups,
        field_groups,
        id_field: r.id_field,
        properties_field: r.properties_field,
        history_field: r.history_field,
        default_properties: r.default_properties,
        always_properties: r.always_properties,
        query_properties: r.query_properties,
        attributes,
        free_text: r.free_text,
        provenance,
        retention: OnceLock::new(),
    })
}

/// A write that names stored records (update, upsert, archive, GDPR delete, merge) reads
/// them first, with crmgate's own credential, through its collection's batch read route:
/// without one, every such write would fail at request time (a 500), so the routes file is
/// refused at the write route's `body` instead. `written_at[i]` is where `routes[i]` is
/// written.
fn check_prior_reads(routes: &[Route], written_at: &[String], report: &mut Report<'_>) {
    let batch_readable: HashSet<&str> = routes
        .iter()
        .filter(|r| r.body == Operation::BatchRead)
        .map(|r| r.resource.entity_type.as_str())
        .collect();
    for (route, at) in routes.iter().zip(written_at) {
        let entity_type = route.resource.entity_type.as_str();
        if route.body.reads_records_first() && !batch_readable.contains(entity_type) {
            report.at(
                &format!("{at}.body"),
                format!(
                    "route `{}`: a `{}` write reads the records it names first, but resource `{entity_type}` has no route with `body = \"batch_read\"` (add one, or remove this route)",
                    route.name,
                    route.body.name()
                ),
            );
        }
    }
}

fn compile_route(
    r: RawRoute,
    at: &str,
    resources: &BTreeMap<String, Arc<ResourceProfile>>,
    broken: &HashSet<String>,
    report: &mut Report<'_>,
) -> Option<Route> {
    let ctx = format!("route `{}`", r.name);
    let before = report.problems.len();
    let method: Option<http::Method> = match r.method.parse() {
        Ok(m) => Some(m),
        Err(_) => {
            report.at(
                &format!("{at}.method"),
                format!("{ctx}: bad method `{}`", r.method),
            );
            None
        }
    };
    let resource = resources.get(&r.resource).cloned();
    if resource.is_none() && !broken.contains(&r.resource) {
        report.at(
            &format!("{at}.resource"),
            format!("{ctx}: unknown resource `{}`", r.resource),
        );
    }
    let mut segments = Vec::new();
    match r.path.strip_prefix('/') {
        None => report.at(
            &format!("{at}.path"),
            format!("{ctx}: path `{}` must start with `/`", r.path),
        ),
        Some(rest) => {
            for s in rest.split('/') {
                match s {
                    "" => {
                        report.at(
                            &format!("{at}.path"),
                            format!("{ctx}: path `{}` has an empty segment", r.path),
                        );
                        break;
                    }
                    "{id}" => segments.push(Segment::Param),
                    lit if lit.contains('{') || lit.contains('}') => {
                        report.at(
                            &format!("{at}.path"),
                            format!("{ctx}: only `{{id}}` may be a parameter"),
                        );
                        break;
                    }
                    lit => segments.push(Segment::Literal(lit.to_string())),
                }
            }
        }
    }
    let records = if r.records == "$" {
        Some(RecordSelector::Root)
    } else {
        match jsonpath_rust::parser::parse_json_path(&r.records) {
            Ok(query) => Some(RecordSelector::Path {
                source: r.records.clone(),
                query,
            }),
            Err(e) => {
                report.at(
                    &format!("{at}.records"),
                    format!("{ctx}: records `{}` is not valid JSONPath: {e}", r.records),
                );
                None
            }
        }
    };
    if let Some(p) = &r.properties_param {
        if !r.query.contains(p) {
            report.at(
                &format!("{at}.properties_param"),
                format!("{ctx}: properties_param `{p}` must be one of its query parameters"),
            );
        }
    }
    // A pass-through route returns the upstream body unfiltered: it must not ask the upstream
    // for properties the client did not request (they would reach the client).
    #[cfg(feature = "bench-reference")]
    let passthrough = r.passthrough;
    #[cfg(not(feature = "bench-reference"))]
    let passthrough = false;
    if passthrough && (r.properties_param.is_some() || r.body != RawBody::None) {
        report.at(
            &format!("{at}.passthrough"),
            format!("{ctx}: a passthrough route cannot have properties_param or a request body"),
        );
    }
    let body = Operation::from(r.body);
    let write = body.write_kind();
    if write.is_some() && r.shadow {
        // fail closed: shadow mode forwards what the policy would refuse; for a write that
        // would change the CRM unauthorized.
        report.at(
            &format!("{at}.shadow"),
            format!("{ctx}: a write route cannot be in shadow mode"),
        );
    }
    if write.is_none() && r.denied_fields.is_some() {
        report.at(
            &format!("{at}.denied_fields"),
            format!("{ctx}: denied_fields applies to write routes only"),
        );
    }
    let (Some(method), Some(resource), Some(records), true) =
        (method, resource, records, report.problems.len() == before)
    else {
        return None;
    };
    Some(Route {
        name: r.name,
        method,
        path: r.path,
        segments,
        action: r.action,
        resource,
        records,
        envelope: r.envelope,
        query: r.query.into_iter().collect(),
        properties_param: r.properties_param,
        body,
        denied_fields: r.denied_fields.unwrap_or_default(),
        shadow: r.shadow,
        passthrough,
    })
}

/// Extract a record's Cedar attributes as the routes file describes them.
pub fn extract_attributes(
    resource: &ResourceProfile,
    record: &serde_json::Map<String, Value>,
) -> Vec<Option<AttrValue>> {
    let props = record
        .get(&resource.properties_field)
        .and_then(Value::as_object);
    resource
        .attributes
        .iter()
        .map(|spec| {
            let raw = match &spec.source {
                AttrSource::Property(p) => props.and_then(|m| m.get(p)),
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
        .retention
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
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"))
            .unwrap()
    }

    fn segs(p: &str) -> Vec<String> {
        p.trim_start_matches('/')
            .split('/')
            .map(String::from)
            .collect()
    }

    #[test]
    fn demo_routes_match() {
        let t = table();
        let m = t
            .find(&http::Method::GET, &segs("/crm/v3/objects/contacts/1001"))
            .unwrap();
        assert_eq!(m.route.name, "contacts.get");
        assert_eq!(m.id.as_deref(), Some("1001"));
        let m = t
            .find(
                &http::Method::POST,
                &segs("/crm/v3/objects/contacts/search"),
            )
            .unwrap();
        assert_eq!(m.route.name, "contacts.search");
    }

    #[test]
    fn the_shipped_routes_have_no_passthrough_route() {
        assert!(table().routes().iter().all(|r| !r.passthrough));
    }

    #[test]
    #[cfg(feature = "bench-reference")]
    fn a_passthrough_route_cannot_ask_the_upstream_for_hidden_properties() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"),
        )
        .unwrap();
        let path = dir.path().join("routes.toml");
        let with = |extra: &str| {
            std::fs::write(&path, format!("{shipped}\n[[routes]]\nname = \"pt\"\nmethod = \"GET\"\npath = \"/pt/contacts\"\naction = \"list\"\nresource = \"Contact\"\nrecords = \"$.results[*]\"\npassthrough = true\n{extra}")).unwrap();
            RouteTable::load(&path)
        };
        assert!(with("").unwrap().routes().iter().any(|r| r.passthrough));
        let e = with("query = [\"properties\"]\nproperties_param = \"properties\"\n").unwrap_err();
        assert!(e.to_string().contains("passthrough"), "{e}");
    }

    /// The benchmark's pass-through reference is not part of the production route schema.
    #[test]
    #[cfg(not(feature = "bench-reference"))]
    fn a_production_build_refuses_a_passthrough_route() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"),
        )
        .unwrap();
        let path = dir.path().join("routes.toml");
        std::fs::write(&path, format!("{shipped}\n[[routes]]\nname = \"pt\"\nmethod = \"GET\"\npath = \"/pt/contacts\"\naction = \"list\"\nresource = \"Contact\"\nrecords = \"$.results[*]\"\npassthrough = true\n")).unwrap();
        let e = RouteTable::load(&path).unwrap_err();
        assert!(e.to_string().contains("passthrough"), "{e}");
    }

    #[test]
    fn unknown_paths_and_methods_are_refused() {
        let t = table();
        let e = t
            .find(&http::Method::GET, &segs("/crm/v3/objects/deals"))
            .unwrap_err();
        assert_eq!(e.status(), 404);
        let e = t
            .find(&http::Method::PUT, &segs("/crm/v3/objects/contacts/1001"))
            .unwrap_err();
        assert_eq!(e.status(), 405);
    }
}
