//! Loading the routes file: the raw TOML shapes and their compilation into a
//! [`RouteTable`], every problem at the line of its key. Runs at start-up and on a reload,
//! never per request; a routes file with any problem never becomes a table.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diagnostic::{Problems, Report, TomlSource};

use super::{
    Alias, AliasSegment, AttrSource, AttrType, AttrValue, AttributeSpec, Computed, DeniedFields,
    GroupId, GroupIndex, Layout, Operation, ProvenanceSpec, RawBody, RecordSelector,
    ResourceProfile, Route, RouteTable, Segment, MAX_GROUPS,
};

impl RouteTable {
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
        for (route, at) in routes.iter().zip(&written_at) {
            if let Some(of) = &route.cursor_of {
                if !routes
                    .iter()
                    .any(|o| &o.name == of && o.resource.name == route.resource.name)
                {
                    r.at(
                        &format!("{at}.cursor_of"),
                        format!(
                            "route `{}`: cursor_of `{of}` is no route of resource `{}`",
                            route.name, route.resource.name
                        ),
                    );
                }
            }
        }
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
}

fn compile_alias(a: &RawAlias, at: &str, report: &mut Report<'_>) -> Option<Alias> {
    let split = |p: &str| -> Option<Vec<String>> {
        let rest = p.strip_prefix('/')?;
        let segs: Vec<String> = rest.split('/').map(String::from).collect();
        (!segs.iter().any(String::is_empty)).then_some(segs)
    };
    let own = |segs: &Option<Vec<String>>| {
        segs.as_ref()
            .and_then(|s| s.first())
            .is_some_and(|s| s == super::OWN_PREFIX)
    };
    let (from, to) = (split(&a.from), split(&a.to));
    if own(&from) || own(&to) {
        report.at(
            at,
            format!(
                "alias `{}` → `{}`: `/{}/` is crmgate's own endpoints",
                a.from,
                a.to,
                super::OWN_PREFIX
            ),
        );
        return None;
    }
    let (Some(from), Some(to)) = (from, to) else {
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
    /// The Cedar entity type of its records (none: the resource's name).
    entity_type: Option<String>,
    collection: String,
    #[serde(default)]
    layout: Layout,
    /// Members kept whenever the record is shown (a flat layout's `attributes`).
    #[serde(default)]
    structure: Vec<String>,
    #[serde(default = "default_id_field")]
    id_field: String,
    properties_field: Option<String>,
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
    /// The CRM keeps the property as one of `values`, in one spelling (an enumeration).
    #[serde(default)]
    enumeration: bool,
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
    /// The route whose paging cursors this one reads.
    cursor_of: Option<String>,
    /// Other upstream paths its decision may send to.
    #[serde(default)]
    upstream_paths: Vec<String>,
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
    check_layout(&ctx, &r, report);
    let (groups, property_groups, field_groups) = classify(&ctx, &r, report);
    check_classified(&ctx, &r, &property_groups, report);
    check_groups(&ctx, &r, &groups, report);
    let provenance = r.provenance.map(|p| ProvenanceSpec {
        source: p.source,
        at: p.at,
        basis: p.basis,
    });
    let attributes = r
        .attributes
        .into_iter()
        .filter_map(|(name, a)| compile_attribute(&ctx, name, a, report))
        .collect();
    if report.problems.len() > before {
        return None;
    }
    let properties_field = match r.layout {
        Layout::Nested => r.properties_field.unwrap_or_else(|| "properties".into()),
        Layout::Flat => String::new(),
    };
    Some(ResourceProfile {
        name: entity_type.to_string(),
        entity_type: r.entity_type.unwrap_or_else(|| entity_type.to_string()),
        collection: r.collection,
        layout: r.layout,
        structure: r.structure,
        groups,
        property_groups,
        field_groups,
        id_field: r.id_field,
        properties_field,
        history_field: r.history_field,
        default_properties: r.default_properties,
        always_properties: r.always_properties,
        query_properties: r.query_properties,
        attributes,
        free_text: r.free_text,
        provenance,
        computed_by: OnceLock::new(),
    })
}

/// The field groups of a resource type in file order, and which group each property and
/// each top-level field is in. A name classified twice, and a structural field (id,
/// properties, history) classified at all, is a problem.
fn classify(
    ctx: &str,
    r: &RawResource,
    report: &mut Report<'_>,
) -> (Vec<String>, GroupIndex, GroupIndex) {
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
            let reserved = [&r.id_field]
                .into_iter()
                .chain(r.properties_field.as_ref())
                .chain(r.history_field.as_ref())
                .chain(&r.structure);
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
    (groups, property_groups, field_groups)
}

/// A flat layout has no property map nor histories; a nested one has no structure members.
fn check_layout(ctx: &str, r: &RawResource, report: &mut Report<'_>) {
    match r.layout {
        Layout::Flat => {
            for (key, given) in [
                ("properties_field", r.properties_field.is_some()),
                ("history_field", r.history_field.is_some()),
            ] {
                if given {
                    report.at(
                        &format!("{ctx}.{key}"),
                        format!("{ctx}: a flat layout has no `{key}` (its properties are the record's members)"),
                    );
                }
            }
        }
        Layout::Nested if !r.structure.is_empty() => report.at(
            &format!("{ctx}.structure"),
            format!("{ctx}: `structure` is for a flat layout (a nested record keeps only its id, properties and fields)"),
        ),
        Layout::Nested => {}
    }
}

/// The properties a resource type names for searches, free text and provenance must be
/// classified in a field group.
fn check_classified(
    ctx: &str,
    r: &RawResource,
    property_groups: &GroupIndex,
    report: &mut Report<'_>,
) {
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
    if let Some(p) = &r.provenance {
        for (key, prop) in [
            ("source", Some(&p.source)),
            ("at", p.at.as_ref()),
            ("basis", p.basis.as_ref()),
        ] {
            if let Some(prop) = prop {
                if !property_groups.contains_key(prop) {
                    report.at(
                        &format!("{ctx}.provenance.{key}"),
                        format!("{ctx}: provenance property `{prop}` is not classified in any field group"),
                    );
                }
            }
        }
    }
}

/// At most [`MAX_GROUPS`] field groups (group sets are bitmasks), each named with letters,
/// digits and `_` (the names appear in Cedar actions).
fn check_groups(ctx: &str, r: &RawResource, groups: &[String], report: &mut Report<'_>) {
    if groups.len() > MAX_GROUPS {
        report.at(ctx, format!("{ctx}: more than {MAX_GROUPS} field groups"));
    }
    for g in groups {
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
}

/// One attribute: its source (exactly one of property, field or computed), its default and
/// its values, each of the attribute's type.
fn compile_attribute(
    ctx: &str,
    name: String,
    a: RawAttribute,
    report: &mut Report<'_>,
) -> Option<AttributeSpec> {
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
            return None;
        }
        _ => {
            report.at(
                &at,
                format!("{at}: give exactly one of `property`, `field` or `computed`"),
            );
            return None;
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
    // fail closed: a string is matched exactly only where the routes file says the CRM
    // keeps it as an enumeration.
    let exact_match = match kind {
        AttrType::Bool | AttrType::Long => true,
        AttrType::String => a.enumeration,
    };
    Some(AttributeSpec {
        name,
        source,
        kind,
        default,
        values,
        exact_match,
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
    let segments = compile_path(&r.path, at, &ctx, report);
    let records = compile_records(&r.records, at, &ctx, report);
    let passthrough = check_route_keys(&r, at, &ctx, report);
    for (i, p) in r.upstream_paths.iter().enumerate() {
        if !p.starts_with('/') || p.contains('?') || p.split('/').skip(1).any(str::is_empty) {
            report.at(
                &format!("{at}.upstream_paths.{i}"),
                format!("{ctx}: upstream path `{p}` must be a path starting with `/`, without empty segments or a query"),
            );
        }
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
        cursor_of: r.cursor_of,
        upstream_paths: r.upstream_paths,
        body: Operation::from(r.body),
        denied_fields: r.denied_fields.unwrap_or_default(),
        shadow: r.shadow,
        passthrough,
    })
}

/// A route's path as segments: literals and at most the `{id}` parameter.
fn compile_path(path: &str, at: &str, ctx: &str, report: &mut Report<'_>) -> Vec<Segment> {
    let mut segments = Vec::new();
    match path.strip_prefix('/') {
        None => report.at(
            &format!("{at}.path"),
            format!("{ctx}: path `{path}` must start with `/`"),
        ),
        Some(rest) => {
            for s in rest.split('/') {
                match s {
                    "" => {
                        report.at(
                            &format!("{at}.path"),
                            format!("{ctx}: path `{path}` has an empty segment"),
                        );
                        break;
                    }
                    super::OWN_PREFIX if segments.is_empty() => {
                        report.at(
                            &format!("{at}.path"),
                            format!(
                                "{ctx}: path `{path}` is under `/{}/`, crmgate's own endpoints",
                                super::OWN_PREFIX
                            ),
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
    segments
}

/// Where a route's records sit: the whole body (`$`) or a compiled JSONPath.
fn compile_records(
    records: &str,
    at: &str,
    ctx: &str,
    report: &mut Report<'_>,
) -> Option<RecordSelector> {
    if records == "$" {
        return Some(RecordSelector::Root);
    }
    match jsonpath_rust::parser::parse_json_path(records) {
        Ok(query) => Some(RecordSelector::Path {
            source: records.to_string(),
            query,
        }),
        Err(e) => {
            report.at(
                &format!("{at}.records"),
                format!("{ctx}: records `{records}` is not valid JSONPath: {e}"),
            );
            None
        }
    }
}

/// The keys that constrain each other: `properties_param` must be a query parameter, a
/// pass-through route has neither it nor a body, a write route is never in shadow mode and
/// only a write route has `denied_fields`. Returns whether the route is a pass-through.
fn check_route_keys(r: &RawRoute, at: &str, ctx: &str, report: &mut Report<'_>) -> bool {
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
    let write = Operation::from(r.body).write_kind();
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
    passthrough
}
