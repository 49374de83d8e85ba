//! The Salesforce demo's answers: a JSON body with a status, and Salesforce's
//! error shapes (`[{"message","errorCode","fields"}]` for a request, `{statusCode,
//! message, fields}` inside a collection's results). It only builds answers: it
//! must never look at or change a record.

use http::StatusCode;
use serde_json::{json, Value};

use crate::reply::Reply;

/// One refusal, as Salesforce words it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SfError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) fields: Vec<String>,
}

/// An endpoint's outcome.
pub(crate) type SfAnswer = Result<Reply, SfError>;

impl SfError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        SfError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> Self {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Salesforce's answer for a resource or record that does not exist.
    pub(crate) fn not_found() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub(crate) fn deleted() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )
    }

    pub(crate) fn on_fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| (*f).to_string()).collect();
        self
    }

    /// A field name unknown to the type.
    pub(crate) fn no_such_column(field: &str, object: &str) -> Self {
        SfError::bad(
            "INVALID_FIELD",
            format!(
                "No such column '{field}' on sobject of type {object}. If you are attempting \
                 to use a custom field, be sure to append the '__c' after the custom field \
                 name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub(crate) fn into_reply(self) -> Reply {
        let entry = if self.fields.is_empty() {
            json!({ "message": self.message, "errorCode": self.code })
        } else {
            json!({ "message": self.message, "errorCode": self.code, "fields": self.fields })
        };
        Reply {
            status: self.status,
            body: Value::Array(vec![entry]),
        }
    }

    /// The error as an entry of a collection's `errors`.
    pub(crate) fn entry(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }
}

pub(crate) fn with_status(status: StatusCode, body: Value) -> Reply {
    Reply { status, body }
}
