//! Strict parsing of a HubSpot request body: duplicate keys, unknown keys and a body that
//! is not an object are refused. It must never read a body two ways.

use serde_json::Value;

use crate::error::RequestError;

pub(crate) fn parse_strict<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, RequestError> {
    // Duplicate keys would let the client and crmgate read different bodies: refused.
    crate::profiles::json::reject_duplicate_keys(body)
        .map_err(|e| RequestError::BadRequest(format!("the {what} body is not valid: {e}")))?;
    let bad = |e: String| RequestError::BadRequest(format!("the {what} body is not valid: {e}"));
    let value: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    // serde would also read a struct from an array of its fields: only an object is a body.
    if !value.is_object() {
        return Err(bad("it must be a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}
