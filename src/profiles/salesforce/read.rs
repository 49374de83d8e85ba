//! Salesforce read requests: preparing a read route's upstream request — a record's get
//! (`GET …/sobjects/{Type}/{id}`, `?fields=`) with the fields the policies need added and
//! hidden again, its id in the 18-character form. It must never forward a client's bytes:
//! the upstream path and query are rebuilt from what was read.

use std::collections::HashSet;

use super::describe::Describe;
use super::ids;
use crate::error::RequestError;
use crate::routes::{Operation, ResourceProfile, Route};
use crate::stages::sanitize::{self, Canonical};
use crate::stages::vendor::{Answer, Prepared};

/// The upstream request of a read route.
pub(super) fn prepare(route: &Route, c: &Canonical) -> Result<Prepared, RequestError> {
    match route.body {
        Operation::Read if route.is_single() => prepare_get(route, c),
        Operation::Describe => Ok(Prepared {
            path_and_query: c.path.clone(),
            body: None,
            hidden: HashSet::new(),
            selected_by: Vec::new(),
            answer: Answer::Describe(Box::new(Describe)),
        }),
        Operation::Read | Operation::Search | Operation::BatchRead => {
            Err(RequestError::BadRequest(format!(
                "route `{}` is not yet governed for this CRM",
                route.name
            )))
        }
        Operation::Write(..) => Err(RequestError::Internal(
            "a write route is not prepared as a read".into(),
        )),
    }
}

/// `GET …/sobjects/{Type}/{id}`: the id in its 18-character form (a string that is no id
/// is an id the CRM lacks), the client's `fields` plus those the policies read.
fn prepare_get(route: &Route, c: &Canonical) -> Result<Prepared, RequestError> {
    let res = &route.resource;
    let mut segments = c.segments.clone();
    let id = segments.last_mut().ok_or(RequestError::RecordNotFound)?;
    // fail closed: what is not an id names no record, and is answered like one the CRM lacks.
    *id = ids::to_18(id).ok_or(RequestError::RecordNotFound)?;
    let mut query = Vec::new();
    let mut hidden = HashSet::new();
    for (k, v) in &c.query {
        if route.properties_param.as_deref() == Some(k.as_str()) {
            let requested = field_list(res, v)?;
            let fields = with_attribute_fields(res, requested, &mut hidden);
            query.push((k.clone(), fields.join(",")));
        } else {
            query.push((k.clone(), v.clone()));
        }
    }
    let path = sanitize::encode_path(&segments);
    Ok(Prepared {
        path_and_query: if query.is_empty() {
            path
        } else {
            format!("{path}?{}", sanitize::encode_query(&query))
        },
        body: None,
        hidden,
        selected_by: Vec::new(),
        answer: Answer::Filtered,
    })
}

/// A comma-separated field list, each name spelt as the routes file classifies it
/// (Salesforce reads field names without regard to case). A field no group names is
/// refused: no one may see it.
pub(super) fn field_list(res: &ResourceProfile, list: &str) -> Result<Vec<String>, RequestError> {
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let known = classified_name(res, name).ok_or_else(|| {
            RequestError::UnknownField(format!(
                "No such column '{}' on entity '{}'",
                name.chars().take(64).collect::<String>(),
                res.entity_type
            ))
        })?;
        if !out.iter().any(|x| x == known) {
            out.push(known.to_string());
        }
    }
    Ok(out)
}

/// The routes file's spelling of a field name, compared without case; the id field counts.
pub(super) fn classified_name<'a>(res: &'a ResourceProfile, name: &str) -> Option<&'a str> {
    if res.id_field.eq_ignore_ascii_case(name) {
        return Some(res.id_field.as_str());
    }
    res.property_groups
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(String::as_str)
}

/// The requested fields plus those the policies read; `hidden` gets those the client did
/// not ask for.
pub(super) fn with_attribute_fields(
    res: &ResourceProfile,
    mut fields: Vec<String>,
    hidden: &mut HashSet<String>,
) -> Vec<String> {
    for p in res.attribute_properties() {
        if !fields.iter().any(|x| x == p) {
            fields.push(p.to_string());
            hidden.insert(p.to_string());
        }
    }
    fields
}
