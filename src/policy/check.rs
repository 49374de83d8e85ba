//! Start-up: the routes file checked against the Cedar schema, so that every route's action,
//! every field group's `read.<group>`/`write.<group>` and every resource's attributes exist
//! as the schema declares them, and no declared field action is dead.
//!
//! A problem is reported at the routes file's line where it can be, else at the schema's.
//! This module must never let a route through whose decisions could not be made.

use std::collections::{BTreeSet, HashMap, HashSet};

use cedar_policy::{Entities, Entity, EntityUid, RestrictedExpression, Schema};

use crate::config::PolicyFiles;
use crate::diagnostic::Problem;
use crate::policy::{flatten, uid};
use crate::routes::{AttrType, ResourceProfile, RouteTable, WriteKind};

/// What every check reads: the routes, the schema and its actions, and where to report.
struct Check<'a> {
    routes: &'a RouteTable,
    schema: &'a Schema,
    actions: &'a HashMap<String, EntityUid>,
    files: &'a PolicyFiles,
    schema_text: &'a str,
}

impl Check<'_> {
    /// About the schema: at the line that declares the action, where there is one.
    fn in_schema(&self, needle: &str, message: String) -> Problem {
        match self.schema_text.find(needle) {
            Some(offset) => Problem::at(&self.files.schema, self.schema_text, offset, message),
            None => Problem::file(&self.files.schema, message),
        }
    }
}

pub(super) fn check_routes_against_schema(
    routes: &RouteTable,
    schema: &Schema,
    actions: &HashMap<String, EntityUid>,
    files: &PolicyFiles,
    schema_text: &str,
    problems: &mut Vec<Problem>,
) {
    let c = Check {
        routes,
        schema,
        actions,
        files,
        schema_text,
    };
    let types: BTreeSet<String> = schema.entity_types().map(ToString::to_string).collect();
    if !types.contains("Collection") {
        problems.push(c.in_schema(
            "entity Collection",
            "the schema must declare `entity Collection` for request-level decisions".into(),
        ));
    }
    let written = route_actions(&c, problems);
    written_groups(&c, &written, problems);
    dead_field_actions(&c, problems);
    if !actions.contains_key("read") {
        problems.push(Problem::file(
            &files.schema,
            "the schema must declare the row action `read`",
        ));
    }
    for res in routes.resources() {
        resource_against_schema(&c, &types, res, problems);
    }
}

/// Every route's action, and a write route's record actions, must be declared. Returns the
/// entity types some route writes.
fn route_actions<'a>(c: &Check<'a>, problems: &mut Vec<Problem>) -> BTreeSet<&'a str> {
    let (routes, actions) = (c.routes, c.actions);
    let mut written: BTreeSet<&str> = BTreeSet::new();
    for (i, route) in routes.routes().iter().enumerate() {
        if !actions.contains_key(&route.action) {
            let at = format!("{}.action", RouteTable::route_path(i));
            problems.push(routes.problem(
                &at,
                format!(
                    "route `{}`: action `{}` is not declared in the schema",
                    route.name, route.action
                ),
            ));
        }
        if let Some(kind) = route.write() {
            written.insert(&route.resource.name);
            let needed: &[&str] = match kind {
                WriteKind::Upsert => &["create", "update"],
                k => &[k.action()],
            };
            for a in needed {
                if !actions.contains_key(*a) {
                    let at = format!("{}.body", RouteTable::route_path(i));
                    problems.push(routes.problem(
                        &at,
                        format!(
                            "route `{}`: its records are decided by the action `{a}`, which the schema does not declare",
                            route.name
                        ),
                    ));
                }
            }
        }
    }
    written
}

/// Every property group of a resource that is written needs its `write.<group>`: a group
/// without one could never be written, which is almost always a forgotten declaration.
fn written_groups(c: &Check<'_>, written: &BTreeSet<&str>, problems: &mut Vec<Problem>) {
    for res in c.routes.resources() {
        if !written.contains(res.name.as_str()) {
            continue;
        }
        let mut groups: Vec<&String> = res
            .property_groups
            .values()
            .filter_map(|&g| res.groups.get(g))
            .collect();
        groups.sort();
        groups.dedup();
        for g in groups {
            if !c.actions.contains_key(&format!("write.{g}")) {
                problems.push(c.routes.problem(
                    &format!("resources.{}.properties.{g}", res.name),
                    format!(
                        "resource `{}` is written, but the schema declares no action `write.{g}` for its field group `{g}`",
                        res.name
                    ),
                ));
            }
        }
    }
}

/// A field action no resource classifies is dead: policies on it never apply, which is
/// almost always a typo in the routes file or the schema.
fn dead_field_actions(c: &Check<'_>, problems: &mut Vec<Problem>) {
    let groups_of_actions: BTreeSet<String> = c
        .schema
        .action_groups()
        .map(|a| a.id().unescaped().to_string())
        .collect();
    let classified: BTreeSet<&str> = c
        .routes
        .resources()
        .flat_map(|r| r.groups.iter().map(String::as_str))
        .collect();
    let mut leaf: Vec<&String> = c
        .actions
        .keys()
        .filter(|a| {
            (a.starts_with("read.") || a.starts_with("write.")) && !groups_of_actions.contains(*a)
        })
        .collect();
    leaf.sort();
    for a in leaf {
        let g = a.trim_start_matches("read.").trim_start_matches("write.");
        if !classified.contains(g) {
            problems.push(c.in_schema(
                &format!("\"{a}\""),
                format!(
                    "action `{a}`: no resource has a field group `{g}`, so no policy on it can apply"
                ),
            ));
        }
    }
}

/// A resource must be an entity type of the schema, each of its field groups needs its
/// `read.<group>`, and its attributes must be what the schema declares.
fn resource_against_schema(
    c: &Check<'_>,
    types: &BTreeSet<String>,
    res: &ResourceProfile,
    problems: &mut Vec<Problem>,
) {
    let routes = c.routes;
    let at = format!("resources.{}", res.name);
    if !types.contains(&res.entity_type) {
        problems.push(routes.problem(
            &at,
            format!(
                "resource `{}` is not an entity type of the schema",
                res.entity_type
            ),
        ));
        return;
    }
    for g in &res.groups {
        let action = format!("read.{g}");
        if !c.actions.contains_key(&action) {
            let kind = if res
                .property_groups
                .values()
                .any(|&id| res.group_id(g) == Some(id))
            {
                "properties"
            } else {
                "fields"
            };
            problems.push(routes.problem(
                &format!("{at}.{kind}.{g}"),
                format!(
                    "resource `{}`: field group `{g}` has no action `{action}` in the schema",
                    res.entity_type
                ),
            ));
        }
    }
    // The extracted attributes must be exactly what the schema declares: build a sample
    // entity from the attribute types and let the schema judge it.
    let attrs: HashMap<String, RestrictedExpression> = res
        .attributes
        .iter()
        .map(|a| {
            let v = match a.kind {
                AttrType::String => RestrictedExpression::new_string(String::new()),
                AttrType::Bool => RestrictedExpression::new_bool(false),
                AttrType::Long => RestrictedExpression::new_long(0),
            };
            (a.name.clone(), v)
        })
        .collect();
    let checked = uid(&res.entity_type, "sample")
        .and_then(|u| Entity::new(u, attrs, HashSet::new()).map_err(|e| e.to_string()))
        .and_then(|e| {
            Entities::from_entities([e], Some(c.schema))
                .map(|_| ())
                .map_err(|e| flatten(&e))
        });
    if let Err(e) = checked {
        problems.push(routes.problem(
            &format!("{at}.attributes"),
            format!(
                "resource `{}`: its attributes do not match the schema: {e}",
                res.entity_type
            ),
        ));
    }
}
