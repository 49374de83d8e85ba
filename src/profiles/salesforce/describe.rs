//! An sObject's describe (`GET …/sobjects/{Type}/describe`) answered with only the fields
//! the caller sees in some form: every entry of `fields` whose `name` the pipeline does not
//! name is dropped, and so is an entry without a name. It must never add to the CRM's
//! description, nor keep a field it cannot tell is shown.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::RequestError;
use crate::stages::vendor::DescribeAnswer;

/// Salesforce's describe of one sObject.
pub(super) struct Describe;

impl DescribeAnswer for Describe {
    fn answer(&self, body: &[u8], shown: &HashSet<&str>) -> Result<Value, RequestError> {
        let mut doc: Value = serde_json::from_slice(body).map_err(|e| {
            RequestError::Unfilterable(format!("a describe that is not JSON ({e})"))
        })?;
        let Some(obj) = doc.as_object_mut() else {
            return Err(RequestError::Unfilterable(
                "a describe that is not an object".into(),
            ));
        };
        let fields = match obj.remove("fields") {
            Some(Value::Array(fields)) => fields,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(RequestError::Unfilterable(
                    "a describe whose `fields` is not a list".into(),
                ))
            }
        };
        let kept: Vec<Value> = fields
            .into_iter()
            .filter(|f| {
                f.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| shown.iter().any(|s| s.eq_ignore_ascii_case(n)))
            })
            .collect();
        obj.insert("fields".into(), Value::Array(kept));
        Ok(doc)
    }
}
