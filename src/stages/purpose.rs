//! Stage 4, purpose: which registered purpose this request serves.
//!
//! The caller may declare one with `X-Purpose`; it must be in the registry (else 400) and
//! among the purposes the caller's department (or, for an `App`, the app itself) may declare
//! (else 403). Without a header that default applies; without a default the request is
//! refused. The header is never forwarded: the CRM sees only what crmgate sends.

use std::collections::BTreeMap;

use http::HeaderMap;

use crate::config::{DepartmentPurposes, Purpose};
use crate::error::RequestError;
use crate::policy::PrincipalInfo;

pub const HEADER: &str = "x-purpose";

/// The first path segment of a purpose declared in the base URL:
/// `/purpose/<name>/<the CRM's path>` (for clients that cannot add a header).
pub const PATH_PREFIX: &str = "purpose";

/// Take a purpose declared in the path off the canonical segments: `/purpose/<name>/…`
/// becomes `…` and `<name>` is returned.
pub fn take_path_purpose(segments: &[String]) -> Option<(String, Vec<String>)> {
    match segments {
        [first, name, rest @ ..] if first == PATH_PREFIX => Some((name.clone(), rest.to_vec())),
        _ => None,
    }
}

/// Resolve the purpose of a request. It may be declared in the header, in the path, or by
/// the credential (a service key bound to a purpose, a token's purpose claim): declarations
/// must agree, and each is checked against the registry exactly like the header.
pub fn resolve(
    headers: &HeaderMap,
    in_path: Option<&str>,
    by_credential: Option<&str>,
    principal: &PrincipalInfo,
    registry: &BTreeMap<String, Purpose>,
    departments: &BTreeMap<String, DepartmentPurposes>,
    apps: &BTreeMap<String, DepartmentPurposes>,
) -> Result<String, RequestError> {
    let mut values = headers.get_all(HEADER).iter();
    let declared = values.next();
    if values.next().is_some() {
        return Err(RequestError::BadRequest(
            "more than one X-Purpose header".into(),
        ));
    }
    let declared = declared
        .map(|v| {
            v.to_str()
                .map_err(|_| RequestError::BadRequest("X-Purpose is not readable text".into()))
        })
        .transpose()?;
    let mut declared = declared.map(str::trim);
    for (other, what) in [(in_path, "the path"), (by_credential, "the credential")] {
        match (declared, other) {
            (Some(a), Some(b)) if a != b => {
                return Err(RequestError::BadRequest(format!(
                    "the purpose declared in {what} differs from the one declared otherwise"
                )))
            }
            (None, Some(b)) => declared = Some(b),
            _ => {}
        }
    }
    resolve_declared(declared, principal, registry, departments, apps)
}

/// Resolve a declared purpose (or, with none, the default) for a principal: the rule the
/// proxy applies to `X-Purpose`, and every tool applies to its `--purpose`.
pub fn resolve_declared(
    declared: Option<&str>,
    principal: &PrincipalInfo,
    registry: &BTreeMap<String, Purpose>,
    departments: &BTreeMap<String, DepartmentPurposes>,
    apps: &BTreeMap<String, DepartmentPurposes>,
) -> Result<String, RequestError> {
    // An App declares its own purposes; a user those of its department.
    let dept = if principal.uid.type_name().to_string() == "App" {
        apps.get(&principal.id)
    } else {
        principal
            .department
            .as_deref()
            .and_then(|d| departments.get(d))
    };
    let allowed = || {
        dept.map(|d| d.purposes.join(", "))
            .unwrap_or_else(|| "none".into())
    };
    match declared {
        Some(v) => {
            let p = v.trim();
            if !registry.contains_key(p) {
                let known: Vec<&str> = registry.keys().map(String::as_str).collect();
                return Err(RequestError::UnknownPurpose(format!(
                    "{}`; known purposes: `{}",
                    p.chars().take(64).collect::<String>(),
                    known.join("`, `")
                )));
            }
            // fail closed: a principal without a department entry may declare nothing.
            if !dept.is_some_and(|d| d.purposes.iter().any(|x| x == p)) {
                return Err(RequestError::PurposeNotAllowed {
                    purpose: p.to_string(),
                    allowed: allowed(),
                });
            }
            Ok(p.to_string())
        }
        None => dept.and_then(|d| d.default.clone()).ok_or_else(|| {
            RequestError::BadRequest(format!(
                "no purpose declared and no default: send `X-Purpose` (allowed: {})",
                allowed()
            ))
        }),
    }
}
