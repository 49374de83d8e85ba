//! Vendor profiles: each CRM's API behind the stages' [`Vendor`] seam.
//!
//! The generic stages (routing, authz, filter) know records, properties and field groups;
//! the shapes a vendor wraps them in live here, one module per vendor, each implementing
//! [`Vendor`]. A body is parsed into a strict typed form (unknown keys and unexpected
//! shapes are refused) and the upstream body is rebuilt from it, so what reaches the CRM
//! is exactly what crmgate read and checked. [`select`] is the one place a vendor's name
//! maps to its profile. This module must never forward a client's bytes, and never
//! decide on access itself.

pub(crate) mod credential;
pub mod hubspot;
pub(crate) mod json;
pub(crate) mod oauth;
pub mod salesforce;

use std::sync::Arc;

use crate::stages::vendor::Vendor;

/// The vendor names `[upstream] vendor` accepts.
pub const VENDORS: &[&str] = &["hubspot", "salesforce"];

/// The vendors whose API is versioned in its paths: only they take `[upstream]
/// api_version`.
pub const API_VERSIONED: &[&str] = &["salesforce"];

/// The vendor of a configuration that names none.
pub const DEFAULT_VENDOR: &str = "hubspot";

/// The profile of the vendor `name` (`[upstream] vendor`) at `api_version` (`[upstream]
/// api_version`, for the vendors of [`API_VERSIONED`]), if crmgate has one. The one place a
/// vendor's name maps to an implementation.
pub fn select(name: &str, api_version: Option<&str>) -> Option<Arc<dyn Vendor>> {
    match name {
        "hubspot" => Some(Arc::new(hubspot::HubSpot)),
        "salesforce" => Some(Arc::new(salesforce::Salesforce::new(api_version))),
        _ => None,
    }
}

/// What is wrong with `[upstream] api_version = "{version}"` for vendor `name`, if
/// anything: only a vendor whose API is versioned in its paths takes one, in its spelling.
pub fn api_version_problem(name: &str, version: &str) -> Option<String> {
    if !API_VERSIONED.contains(&name) {
        return Some(format!(
            "upstream.api_version: vendor `{name}` takes no API version (only {})",
            API_VERSIONED
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (!salesforce::is_api_version(version)).then(|| {
        format!(
            "upstream.api_version: `{}` is not an API version like `{}`",
            version.chars().take(32).collect::<String>(),
            salesforce::DEFAULT_API_VERSION
        )
    })
}
