//! What a write must be before anything changes: known, writable property
//! names with string values, batch sizes, ids, association targets and unique
//! e-mail addresses, refused in HubSpot's shapes. It must never change a
//! record: a refused write leaves the store as it was.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::crm::DemoCrm;
use crate::model::{ObjectType, Store};
use crate::reply::{self, Reply};

/// HubSpot's limit on the inputs of one batch request.
const MAX_BATCH_INPUTS: usize = 100;

/// Checked properties of one write: known, writable names with string values.
pub(crate) type Properties = Vec<(String, String)>;

/// `{to: {id}, types: [...]}`; the association types are not checked.
#[derive(Deserialize)]
pub(crate) struct AssociationBody {
    to: AssociationTarget,
}

#[derive(Deserialize)]
struct AssociationTarget {
    id: Value,
}

/// One refused property, as HubSpot lists it in "Property values were not valid".
pub(crate) struct Problem {
    pub(crate) name: String,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// The names, writability and string values of a write's `properties`.
fn check_properties(
    crm: &DemoCrm,
    kind: ObjectType,
    properties: Option<&Map<String, Value>>,
    problems: &mut Vec<Problem>,
) -> Properties {
    let mut checked = Vec::new();
    for (name, value) in properties.into_iter().flatten() {
        let is_extra = crm.extra_properties.iter().any(|(extra, _)| extra == name);
        if !crm.knows(kind, name) && !is_extra {
            problems.push(Problem {
                name: name.clone(),
                code: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist"),
            });
        } else if kind.is_calculated(name) || is_extra {
            problems.push(Problem {
                name: name.clone(),
                code: "READ_ONLY_VALUE",
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
            });
        } else if let Value::String(text) = value {
            checked.push((name.clone(), text.clone()));
        } else {
            problems.push(Problem {
                name: name.clone(),
                code: "INVALID_PROPERTY_VALUE",
                message: format!(
                    "Property \"{name}\" must be a string, not {}",
                    json_kind(value)
                ),
            });
        }
    }
    checked
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// 400 VALIDATION_ERROR in HubSpot's shape: the message embeds the list of
/// invalid properties as JSON, and `errors` names each property again.
pub(crate) fn invalid_properties(crm: &DemoCrm, problems: &[Problem]) -> Reply {
    let listed: Vec<Value> = problems
        .iter()
        .map(|problem| {
            reply::object([
                ("isValid", Value::Bool(false)),
                ("message", Value::String(problem.message.clone())),
                ("error", reply::string(problem.code)),
                ("name", Value::String(problem.name.clone())),
            ])
        })
        .collect();
    let details: Vec<Value> = problems
        .iter()
        .map(|problem| {
            reply::object([
                ("message", Value::String(problem.message.clone())),
                ("code", reply::string(problem.code)),
                (
                    "context",
                    reply::object([(
                        "propertyName",
                        Value::Array(vec![Value::String(problem.name.clone())]),
                    )]),
                ),
            ])
        })
        .collect();
    let listed = serde_json::to_string(&listed).unwrap_or_default();
    let mut reply = reply::bad_request(crm, format!("Property values were not valid: {listed}"));
    if let Value::Object(body) = &mut reply.body {
        body.insert("errors".into(), Value::Array(details));
    }
    reply
}

/// The properties of every input, or one 400 for the whole request (HubSpot
/// validates a batch before it writes any of it).
pub(crate) fn check_all<'a>(
    crm: &DemoCrm,
    kind: ObjectType,
    inputs: impl Iterator<Item = Option<&'a Map<String, Value>>>,
    required: bool,
) -> Result<Vec<Properties>, Reply> {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for properties in inputs {
        if required && properties.is_none() {
            return Err(reply::bad_request(
                crm,
                "Invalid input JSON: missing required field \"properties\"",
            ));
        }
        checked.push(check_properties(crm, kind, properties, &mut problems));
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(invalid_properties(crm, &problems))
    }
}

pub(crate) fn check_batch_size<T>(crm: &DemoCrm, inputs: &[T]) -> Result<(), Reply> {
    if inputs.len() > MAX_BATCH_INPUTS {
        return Err(reply::bad_request(
            crm,
            format!(
                "Batch input cannot exceed {MAX_BATCH_INPUTS} inputs, got {}",
                inputs.len()
            ),
        ));
    }
    Ok(())
}

/// An id given as a JSON string or number.
pub(crate) fn required_id(
    crm: &DemoCrm,
    value: Option<&Value>,
    field: &str,
) -> Result<String, Reply> {
    value
        .and_then(reply::scalar)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            reply::bad_request(
                crm,
                format!("Invalid input JSON: \"{field}\" must be a string or number"),
            )
        })
}

/// Association targets must be existing records of the other type.
pub(crate) fn check_associations(
    crm: &DemoCrm,
    store: &Store,
    kind: ObjectType,
    associations: &[AssociationBody],
) -> Result<Vec<String>, Reply> {
    let mut targets = Vec::new();
    for association in associations {
        let id = required_id(crm, Some(&association.to.id), "to.id")?;
        let exists = store
            .records(kind.other())
            .iter()
            .any(|record| record.id == id && !record.is_archived());
        if !exists {
            return Err(reply::bad_request(
                crm,
                format!(
                    "One or more associations are invalid: {} {id} does not exist",
                    kind.other().label()
                ),
            ));
        }
        if !targets.contains(&id) {
            targets.push(id);
        }
    }
    Ok(targets)
}

/// The id of another active contact that already has this e-mail address
/// (HubSpot keeps contact e-mail addresses unique).
pub(crate) fn email_owner(
    store: &Store,
    kind: ObjectType,
    properties: &Properties,
    except: Option<&str>,
) -> Option<String> {
    if kind != ObjectType::Contacts {
        return None;
    }
    let email = properties
        .iter()
        .find(|(name, _)| name == "email")
        .map(|(_, value)| value.to_lowercase())
        .filter(|email| !email.is_empty())?;
    store
        .contacts
        .iter()
        .filter(|record| !record.is_archived() && Some(record.id.as_str()) != except)
        .find(|record| {
            record
                .properties
                .get("email")
                .is_some_and(|value| value.to_lowercase() == email)
        })
        .map(|record| record.id.clone())
}

fn conflict_message(existing: &str) -> String {
    format!("Contact already exists. Existing ID: {existing}")
}

pub(crate) fn conflict(crm: &DemoCrm, existing: &str) -> Reply {
    reply::error(
        crm,
        StatusCode::CONFLICT,
        "CONFLICT",
        conflict_message(existing),
    )
}

/// A batch `errors` entry for a conflicting e-mail address.
pub(crate) fn conflict_entry(existing: &str) -> Value {
    reply::object([
        ("status", reply::string("error")),
        ("category", reply::string("CONFLICT")),
        ("message", Value::String(conflict_message(existing))),
        (
            "context",
            reply::object([("ids", Value::Array(vec![reply::string(existing)]))]),
        ),
        ("errors", Value::Array(Vec::new())),
        ("links", Value::Object(Map::new())),
    ])
}
