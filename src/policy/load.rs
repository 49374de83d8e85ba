//! Start-up: the policy folder of one revision — schema, policies, entities — read, parsed
//! and checked against each other and against the routes, every problem at its file and line;
//! and the revision hash over every file a revision is made of.
//!
//! It runs before the port is bound and on a reload, never per request. It must never build
//! an engine from files with a problem, nor leave a file out of the revision hash.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use cedar_policy::{
    Authorizer, Entities, Entity, EntityUid, EvalResult, Policy, PolicyId, PolicySet, Schema,
    ValidationMode, Validator,
};
use miette::Diagnostic;
use sha2::{Digest, Sha256};

use crate::config::PolicyFiles;
use crate::diagnostic::{json_array_elements, line_col, Problem, Problems};
use crate::policy::check::check_routes_against_schema;
use crate::policy::memo::{Memo, PLAN_MEMO_ENTRIES, REQUEST_MEMO_ENTRIES};
use crate::policy::obligations::MaskKind;
use crate::policy::{flatten, PolicyEngine, PolicyInfo, PrincipalInfo};
use crate::routes::RouteTable;

/// One file's share of the revision hash: its kind, length and text, so that text moved
/// from one file to another is a new revision too.
fn revision_part(hasher: &mut Sha256, kind: &str, text: &str) {
    hasher.update(kind.as_bytes());
    hasher.update([0u8]);
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

/// The policies of all files as parsed, each with where it came from.
#[derive(Default)]
struct Parsed {
    policies: PolicySet,
    info: HashMap<String, PolicyInfo>,
    /// Each policy's file and text: validation problems are reported at their line.
    texts: HashMap<String, (PathBuf, Arc<str>)>,
}

/// Everything of a revision that checked clean, from which the engine is built.
struct Checked<'a> {
    files: &'a PolicyFiles,
    routes: &'a RouteTable,
    schema: Schema,
    parsed: Parsed,
    entities: Entities,
    entities_text: String,
    actions: HashMap<String, EntityUid>,
    revision: String,
}

impl PolicyEngine {
    /// Load schema, policies and entities, and check them against each other and against
    /// the routes. Every problem found is reported, each with file and line.
    pub fn load(files: &PolicyFiles, routes: &RouteTable) -> Result<PolicyEngine, Problems> {
        Self::load_checked(files, Some(routes))
    }

    /// [`PolicyEngine::load`]; without routes (the routes file has problems of its own),
    /// every problem of schema, policies and entities is still found and returned, so that
    /// one run reports the problems of all files.
    pub fn load_checked(
        files: &PolicyFiles,
        routes: Option<&RouteTable>,
    ) -> Result<PolicyEngine, Problems> {
        let mut problems = Vec::new();
        let mut hasher = Sha256::new();

        // The revision covers every file a revision is made of (`PolicyFiles::all_files`):
        // the routes as the table was loaded from them, schema, policies, entities.
        // (Without routes no engine is built: the revision is never used.)
        revision_part(&mut hasher, "routes", routes.map_or("", RouteTable::source));
        let schema_text = read(&files.schema, &mut problems);
        revision_part(&mut hasher, "schema", &schema_text);
        let schema = match Schema::from_cedarschema_str(&schema_text) {
            Ok((schema, _warnings)) => Some(schema),
            Err(e) => {
                problems.push(diagnostic_problem(&files.schema, &schema_text, &e));
                None
            }
        };
        let parsed = parse_policy_files(files, &mut hasher, &mut problems);
        let entities_text = read(&files.entities, &mut problems);
        revision_part(&mut hasher, "entities", &entities_text);
        hash_redaction_rules(files, &mut hasher);
        let revision = hex::encode(hasher.finalize().get(..8).unwrap_or(&[]));

        let Some(schema) = schema else {
            return Err(Problems(problems));
        };
        validate(&schema, &parsed, files, &mut problems);
        let entities = load_entities(&files.entities, &entities_text, &schema, &mut problems);

        let actions: HashMap<String, EntityUid> = schema
            .actions()
            .map(|a| (a.id().unescaped().to_string(), a.clone()))
            .collect();
        let Some(routes) = routes else {
            return Err(Problems(problems));
        };
        check_routes_against_schema(
            routes,
            &schema,
            &actions,
            files,
            &schema_text,
            &mut problems,
        );

        let Some(entities) = entities else {
            return Err(Problems(problems));
        };
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Self::build(Checked {
            files,
            routes,
            schema,
            parsed,
            entities,
            entities_text,
            actions,
            revision,
        })
    }

    /// The engine of a revision whose files checked clean.
    fn build(c: Checked<'_>) -> Result<PolicyEngine, Problems> {
        let Checked {
            files,
            routes,
            schema,
            parsed: Parsed { policies, info, .. },
            entities,
            entities_text,
            actions,
            revision,
        } = c;
        // Action groups (`access`, `read.fields`) are entities too: every decision's store
        // carries them, or `action in Action::"…"` would never hold.
        let action_entities: Vec<Entity> = match schema.action_entities() {
            Ok(a) => a.iter().cloned().collect(),
            Err(e) => return Err(Problems(vec![Problem::file(&files.schema, flatten(&e))])),
        };
        let departments = departments_of(&entities, &action_entities);
        let principals = principals_of(&entities, &action_entities).map_err(|(uid, m)| {
            Problems(vec![entity_problem(
                &files.entities,
                &entities_text,
                &uid,
                true,
                m,
            )])
        })?;

        let mut id_observable = HashSet::new();
        for resource in routes.resources() {
            let observable = policies.policies().any(|p| {
                p.entity_literals()
                    .iter()
                    .any(|uid| uid.type_name().to_string() == resource.entity_type)
            }) || entities
                .iter()
                .any(|e| entity_refers_to(e, &resource.entity_type));
            if observable {
                id_observable.insert(resource.entity_type.clone());
            }
        }

        let policy_text = policies
            .policies()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");

        Ok(PolicyEngine {
            schema,
            policies,
            info,
            principals,
            departments,
            actions,
            id_observable,
            policy_text,
            authorizer: Authorizer::new(),
            revision,
            requests: Memo::new(REQUEST_MEMO_ENTRIES),
            plans: Memo::new(PLAN_MEMO_ENTRIES),
            writes: Memo::new(PLAN_MEMO_ENTRIES),
            redactions: Memo::new(REQUEST_MEMO_ENTRIES),
            independence: Memo::new(REQUEST_MEMO_ENTRIES),
        })
    }
}

/// Parse each policy file on its own, so that positions refer to that file.
fn parse_policy_files(
    files: &PolicyFiles,
    hasher: &mut Sha256,
    problems: &mut Vec<Problem>,
) -> Parsed {
    let mut parsed = Parsed::default();
    for file in &files.policies {
        let text: Arc<str> = read(file, problems).into();
        // The file stem names policies without an @id: a rename is a new revision.
        let stem = file.file_stem().map(|s| s.to_string_lossy());
        revision_part(
            hasher,
            &format!("policies {}", stem.as_deref().unwrap_or_default()),
            &text,
        );
        let set = match PolicySet::from_str(&text) {
            Ok(set) => set,
            Err(e) => {
                problems.push(diagnostic_problem(file, &text, &e));
                continue;
            }
        };
        let starts = statement_starts(&text);
        let mut in_order: Vec<&Policy> = set.policies().collect();
        // `from_str` names policies policy0, policy1, … in source order.
        in_order.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        for (i, p) in in_order.into_iter().enumerate() {
            let statement = Statement {
                file,
                text: &text,
                starts: &starts,
                index: i,
            };
            add_policy(&statement, p, &mut parsed, problems);
        }
    }
    parsed
}

/// One policy statement of a file: the `index`th, starting at `starts[index]`.
struct Statement<'a> {
    file: &'a PathBuf,
    text: &'a Arc<str>,
    starts: &'a [usize],
    index: usize,
}

impl Statement<'_> {
    fn line_col(&self) -> (usize, usize) {
        self.starts
            .get(self.index)
            .map_or((0, 0), |&off| line_col(self.text, off))
    }

    /// Its id: the `@id` annotation, or the file stem and line.
    fn id(&self, p: &Policy) -> String {
        let stem = self
            .file
            .file_stem()
            .map_or("policy".into(), |s| s.to_string_lossy());
        match p.annotation("id") {
            Some(id) => id.to_string(),
            None => format!("{stem}:{}", self.line_col().0),
        }
    }

    /// A problem at the statement's first line.
    fn problem(&self, message: String) -> Problem {
        let (line, column) = self.line_col();
        Problem::at_line(self.file, self.text, line, column, message)
    }
}

/// Add one policy under its id, with its mask; its problems, if any.
fn add_policy(s: &Statement<'_>, p: &Policy, parsed: &mut Parsed, problems: &mut Vec<Problem>) {
    let id = s.id(p);
    if let Some(prev) = parsed.info.get(&id) {
        problems.push(s.problem(format!(
            "policy id `{id}` is already used at {}:{}",
            prev.file.display(),
            prev.line
        )));
        return;
    }
    let mask = match mask_of(s, p, &id) {
        Ok(mask) => mask,
        Err(problem) => {
            problems.push(problem);
            return;
        }
    };
    for (key, _) in p.annotations() {
        if !["id", "mask", "description"].contains(&key) {
            problems.push(s.problem(format!(
                "policy `{id}`: unknown annotation `@{key}` (known: @id, @mask, @description)"
            )));
        }
    }
    if let Err(e) = parsed.policies.add(p.new_id(PolicyId::new(&id))) {
        problems.push(s.problem(format!("policy `{id}`: {e}")));
        return;
    }
    parsed.info.insert(
        id.clone(),
        PolicyInfo {
            file: s.file.clone(),
            line: s.line_col().0,
            mask,
        },
    );
    parsed.texts.insert(id, (s.file.clone(), s.text.clone()));
}

/// The policy's `@mask`, if it has one: only a permit's, and only a known kind.
fn mask_of(s: &Statement<'_>, p: &Policy, id: &str) -> Result<Option<MaskKind>, Problem> {
    let Some(m) = p.annotation("mask") else {
        return Ok(None);
    };
    match MaskKind::from_str(m) {
        Ok(k) if p.effect() == cedar_policy::Effect::Permit => Ok(Some(k)),
        Ok(_) => Err(s.problem(format!(
            "policy `{id}`: @mask on a forbid has no meaning; a forbid removes"
        ))),
        Err(e) => {
            // At the mask's value, not at the statement's first line (an `@id` above it).
            let start = s.starts.get(s.index).copied().unwrap_or(0);
            let end = s.starts.get(s.index + 1).copied().unwrap_or(s.text.len());
            Err(match annotation_value_at(s.text, start, end, "mask") {
                Some(offset) => Problem::at(s.file, s.text, offset, format!("policy `{id}`: {e}")),
                None => s.problem(format!("policy `{id}`: {e}")),
            })
        }
    }
}

/// The redaction rules decide what a write stores: a change to them is a new revision.
fn hash_redaction_rules(files: &PolicyFiles, hasher: &mut Sha256) {
    let Some(dir) = &files.redaction else {
        return;
    };
    let mut rules: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    rules.sort();
    for f in rules
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(f).unwrap_or_default();
        revision_part(
            hasher,
            &format!("redaction {}", name.unwrap_or_default()),
            &text,
        );
    }
}

/// Strict validation: every policy must type-check against the schema.
fn validate(schema: &Schema, parsed: &Parsed, files: &PolicyFiles, problems: &mut Vec<Problem>) {
    let validation =
        Validator::new(schema.clone()).validate(&parsed.policies, ValidationMode::Strict);
    for e in validation.validation_errors() {
        let id = e.policy_id().to_string();
        let (file, text) = parsed
            .texts
            .get(&id)
            .cloned()
            .unwrap_or_else(|| (files.schema.clone(), Arc::from("")));
        let mut p = diagnostic_problem(&file, &text, e);
        if !p.message.contains(&id) {
            p.message = format!("policy `{id}`: {}", p.message);
        }
        if p.line == 0 {
            if let Some(i) = parsed.info.get(&id) {
                p = Problem::at_line(&file, &text, i.line, 1, p.message);
            }
        }
        problems.push(p);
    }
}

/// Parse the entities file against the schema. Cedar stops at the first bad entity: on a
/// failure each entity is checked on its own, so that every bad one is reported, at the line
/// where it starts.
fn load_entities(
    file: &Path,
    text: &str,
    schema: &Schema,
    problems: &mut Vec<Problem>,
) -> Option<Entities> {
    let json = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => json,
        Err(e) => {
            let message = format!("invalid JSON: {e}");
            problems.push(Problem::at_line(file, text, e.line(), e.column(), message));
            return None;
        }
    };
    let all = match Entities::from_json_value(json.clone(), Some(schema)) {
        Ok(e) => return Some(e),
        Err(e) => e,
    };
    let starts = json_array_elements(text);
    let items = json.as_array().map(Vec::as_slice).unwrap_or_default();
    let before = problems.len();
    for (i, item) in items.iter().enumerate() {
        let alone = serde_json::Value::Array(vec![item.clone()]);
        if let Err(e) = Entities::from_json_value(alone, Some(schema)) {
            let message = flatten(&e);
            problems.push(match starts.get(i) {
                Some(&offset) => Problem::at(file, text, offset, message),
                None => Problem::file(file, message),
            });
        }
    }
    if problems.len() == before {
        // Wrong only together (an entity listed twice): the last entity the message names.
        let message = flatten(&all);
        let at = items
            .iter()
            .zip(&starts)
            .filter(|(item, _)| element_uid(item).is_some_and(|u| message.contains(&u)))
            .map(|(_, &offset)| offset)
            .next_back();
        problems.push(match at {
            Some(offset) => Problem::at(file, text, offset, message),
            None => Problem::file(file, message),
        });
    }
    None
}

/// `Type::"id"` of an element of the entities file, as cedar prints it.
fn element_uid(item: &serde_json::Value) -> Option<String> {
    let uid = item.get("uid")?;
    let uid = uid.get("__entity").unwrap_or(uid);
    let t = uid.get("type")?.as_str()?;
    let id = uid.get("id")?.as_str()?;
    Some(format!("{t}::{}", serde_json::Value::from(id)))
}

/// A problem about one entity, at the line where it starts in the entities file (the last
/// of several with that uid when `last`).
fn entity_problem(file: &Path, text: &str, uid: &str, last: bool, message: String) -> Problem {
    let wanted = uid;
    let items: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
    let mut at = items
        .iter()
        .zip(json_array_elements(text))
        .filter(|(item, _)| element_uid(item).as_deref() == Some(wanted))
        .map(|(_, offset)| offset);
    let offset = if last { at.next_back() } else { at.next() };
    match offset {
        Some(offset) => Problem::at(file, text, offset, message),
        None => Problem::file(file, message),
    }
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::file(path, format!("cannot read: {e}")));
            String::new()
        }
    }
}

/// A cedar diagnostic (with source spans) as a problem with line and column.
fn diagnostic_problem(file: &Path, text: &str, e: &impl Diagnostic) -> Problem {
    let offset = first_label_offset(e);
    let (line, column) = offset.map_or((0, 0), |o| line_col(text, o));
    let mut message = flatten(e);
    if let Some(help) = e.help() {
        message = format!("{message} (help: {help})");
    }
    Problem::at_line(file, text, line, column, message)
}

fn first_label_offset(e: &dyn Diagnostic) -> Option<usize> {
    if let Some(mut labels) = e.labels() {
        if let Some(l) = labels.next() {
            return Some(l.offset());
        }
    }
    if let Some(related) = e.related() {
        for r in related {
            if let Some(mut labels) = r.labels() {
                if let Some(l) = labels.next() {
                    return Some(l.offset());
                }
            }
        }
    }
    None
}

/// Where the value of annotation `@name(…)` is written in the statement `text[start..end]`
/// (the offset of its opening quote), if it is there.
fn annotation_value_at(text: &str, start: usize, end: usize, name: &str) -> Option<usize> {
    let statement = text.get(start..end)?;
    let needle = format!("@{name}");
    let mut from = 0;
    while let Some(found) = statement.get(from..)?.find(&needle) {
        let after = from + found + needle.len();
        let rest = statement.get(after..)?;
        let open = rest.trim_start();
        // `@mask(` and not `@masks(`.
        if let Some(inner) = open.strip_prefix('(') {
            let quote = inner.len() - inner.trim_start().len();
            let value_at = after + (rest.len() - open.len()) + 1 + quote;
            return Some(start + value_at);
        }
        from = after;
    }
    None
}

/// Byte offsets where each policy statement starts (annotations included), in order:
/// statements end at `;` outside strings and comments.
fn statement_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    let mut in_statement = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                if !in_statement {
                    starts.push(i);
                    in_statement = true;
                }
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                continue;
            }
            b';' => in_statement = false,
            c if c.is_ascii_whitespace() => {}
            _ => {
                if !in_statement {
                    starts.push(i);
                    in_statement = true;
                }
            }
        }
        i += 1;
    }
    starts
}

fn principals_of(
    entities: &Entities,
    action_entities: &[Entity],
) -> Result<HashMap<String, Arc<PrincipalInfo>>, (String, String)> {
    let mut out = HashMap::new();
    for e in entities.iter() {
        let uid = e.uid();
        let type_name = uid.type_name().to_string();
        if type_name != "User" && type_name != "App" {
            continue;
        }
        let department = match e.attr("department") {
            Some(Ok(EvalResult::String(s))) => Some(s),
            _ => None,
        };
        // fail closed: a principal without `active = true` is inactive.
        let active = matches!(e.attr("active"), Some(Ok(EvalResult::Bool(true))));
        let mut own = vec![e.clone()];
        own.extend(action_entities.iter().cloned());
        for a in entities.ancestors(&uid).into_iter().flatten() {
            if let Some(anc) = entities.get(a) {
                own.push(anc.clone());
            }
        }
        let sub = Entities::from_entities(own, None).map_err(|e| (uid.to_string(), flatten(&e)))?;
        let id = uid.id().unescaped().to_string();
        // Users and Apps share the id space of credentials: an id used twice is ambiguous.
        if out.contains_key(&id) {
            return Err((
                uid.to_string(),
                format!("principal id `{id}` is used by more than one entity"),
            ));
        }
        out.insert(
            id.clone(),
            Arc::new(PrincipalInfo {
                uid,
                id,
                department,
                active,
                claimed_roles: None,
                entities: sub,
                memo_fingerprint: OnceLock::new(),
            }),
        );
    }
    Ok(out)
}

/// Each `Department` entity with its ancestors and the action entities, by id.
fn departments_of(entities: &Entities, action_entities: &[Entity]) -> HashMap<String, Vec<Entity>> {
    let mut out = HashMap::new();
    for e in entities.iter() {
        let uid = e.uid();
        if uid.type_name().to_string() != "Department" {
            continue;
        }
        let mut own = vec![e.clone()];
        own.extend(action_entities.iter().cloned());
        for a in entities.ancestors(&uid).into_iter().flatten() {
            if let Some(anc) = entities.get(a) {
                own.push(anc.clone());
            }
        }
        out.insert(uid.id().unescaped().to_string(), own);
    }
    out
}

fn entity_refers_to(e: &Entity, entity_type: &str) -> bool {
    fn walk(v: &EvalResult, t: &str) -> bool {
        match v {
            EvalResult::EntityUid(u) => u.type_name().to_string() == t,
            EvalResult::Set(s) => s.iter().any(|x| walk(x, t)),
            EvalResult::Record(r) => r.iter().any(|(_, x)| walk(x, t)),
            _ => false,
        }
    }
    let json = e.to_json_value().ok();
    let names: Vec<String> = json
        .as_ref()
        .and_then(|j| j.get("attrs"))
        .and_then(|a| a.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names
        .iter()
        .any(|n| matches!(e.attr(n), Some(Ok(v)) if walk(&v, entity_type)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn statement_starts_skip_comments_and_strings() {
        let text = "// a;\n@id(\"x;y\")\npermit(principal, action, resource);\n\nforbid(principal, action, resource) when { \"a;b\" == \"\" };\n";
        let starts = statement_starts(text);
        assert_eq!(starts.len(), 2);
        assert_eq!(line_col(text, starts[0]).0, 2);
        assert_eq!(line_col(text, starts[1]).0, 5);
    }
}
