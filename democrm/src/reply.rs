//! The demo CRM's answers: a status and a JSON body, HubSpot's error body and
//! the batch answer shapes, shared by the reads and the writes. It only builds
//! answers: it must never look at or change a record.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::crm::DemoCrm;
use crate::dates;
use crate::model::ObjectType;

/// A status and a JSON body, turned into a response at the very end.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    /// 204 without a body (archive, GDPR delete).
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: Value::Null,
        }
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        if self.status == StatusCode::NO_CONTENT {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = self.status;
            return response;
        }
        // Serialising a `Value` cannot fail (its keys are strings); `{}` is a
        // placeholder that is never sent in practice.
        let bytes = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = Response::new(Full::new(Bytes::from(bytes)));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// A JSON object from `(key, value)` pairs, in the given order.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

pub(crate) fn string(text: &str) -> Value {
    Value::String(text.to_string())
}

/// HubSpot's error body: `{"status":"error","message","correlationId","category"}`.
pub(crate) fn error(
    crm: &DemoCrm,
    status: StatusCode,
    category: &str,
    message: impl Into<String>,
) -> Reply {
    Reply {
        status,
        body: object([
            ("status", string("error")),
            ("message", Value::String(message.into())),
            ("correlationId", Value::String(crm.next_correlation_id())),
            ("category", string(category)),
        ]),
    }
}

pub(crate) fn bad_request(crm: &DemoCrm, message: impl Into<String>) -> Reply {
    error(crm, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

pub(crate) fn object_not_found(crm: &DemoCrm) -> Reply {
    error(
        crm,
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "Object not found. objectId are usually numeric.",
    )
}

/// An endpoint's outcome: the answer, or the refusal that ends it early.
pub(crate) type Answer = Result<Reply, Reply>;

pub(crate) fn parse_body<'a, T: Deserialize<'a>>(
    crm: &DemoCrm,
    body: &'a [u8],
) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|error| bad_request(crm, format!("Invalid input JSON: {error}")))
}

/// A JSON scalar as the string HubSpot would compare it as.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// One entry of a batch answer's `errors`: these ids were not found.
pub(crate) fn not_found_error(kind: ObjectType, verb: &str, ids: &[String]) -> Value {
    object([
        ("status", string("error")),
        ("category", string("OBJECT_NOT_FOUND")),
        (
            "message",
            Value::String(format!(
                "Could not {verb} some {} objects, they may be deleted or not exist. \
                 Check that ids are valid.",
                kind.label()
            )),
        ),
        (
            "context",
            object([(
                "ids",
                Value::Array(ids.iter().map(|id| string(id)).collect()),
            )]),
        ),
        ("errors", Value::Array(Vec::new())),
        ("links", Value::Object(Map::new())),
    ])
}

/// A batch answer: `success` (200 or 201) when nothing failed, else 207 with
/// `numErrors` and `errors`.
pub(crate) fn batch_reply(
    success: StatusCode,
    results: Vec<Value>,
    errors: Vec<Value>,
    started_at: String,
) -> Reply {
    let mut out = Map::new();
    out.insert("status".into(), string("COMPLETE"));
    out.insert("results".into(), Value::Array(results));
    let status = if errors.is_empty() {
        success
    } else {
        out.insert("numErrors".into(), Value::from(errors.len()));
        out.insert("errors".into(), Value::Array(errors));
        StatusCode::MULTI_STATUS
    };
    out.insert("startedAt".into(), Value::String(started_at));
    out.insert("completedAt".into(), Value::String(dates::now_iso()));
    Reply {
        status,
        body: Value::Object(out),
    }
}
