//! Stage 3, identify: who is calling.
//!
//! Here: bearer API keys, stored only as SHA-256 digests, each naming a `User` or `App` of
//! the entities file. No credential, an unknown credential, or a deactivated account ends
//! the request before anything reaches the CRM. A key never appears in a log or an error.

use std::collections::HashMap;
use std::sync::Arc;

use http::HeaderMap;

use crate::authz::{PolicyEngine, PrincipalInfo};
use crate::config::api_key_digest;
use crate::error::RequestError;

/// Identify the caller from the request headers.
pub fn identify(
    headers: &HeaderMap,
    api_keys: &HashMap<String, String>,
    engine: &PolicyEngine,
) -> Result<Arc<PrincipalInfo>, RequestError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(RequestError::Unauthenticated(
            "missing credentials: send `Authorization: Bearer <api key>`".into(),
        ));
    };
    if values.next().is_some() {
        // Two credentials are ambiguous: which one would the policy see?
        return Err(RequestError::BadRequest(
            "more than one Authorization header".into(),
        ));
    }
    let value = value.to_str().map_err(|_| {
        RequestError::Unauthenticated("the Authorization header is not readable text".into())
    })?;
    let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(RequestError::Unauthenticated(
            "unsupported authorization scheme: use `Bearer`".into(),
        ));
    }
    let key = key.trim();
    if key.is_empty() {
        return Err(RequestError::Unauthenticated(
            "empty bearer credential".into(),
        ));
    }
    let user = api_keys
        .get(&api_key_digest(key))
        .ok_or_else(|| RequestError::Unauthenticated("unknown api key".into()))?;
    let principal = engine.principal(user).ok_or_else(|| {
        // Checked at start-up; a reload could still remove the entity.
        RequestError::Unauthenticated("the api key's principal is not in the entities".into())
    })?;
    if !principal.active {
        return Err(RequestError::InactivePrincipal(principal.id.clone()));
    }
    Ok(principal.clone())
}
