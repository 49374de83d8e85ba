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

use std::sync::Arc;

use crate::stages::vendor::Vendor;

/// The vendor names `[upstream] vendor` accepts.
pub const VENDORS: &[&str] = &["hubspot"];

/// The vendor of a configuration that names none.
pub const DEFAULT_VENDOR: &str = "hubspot";

/// The profile of the vendor `name` (`[upstream] vendor`), if crmgate has one. The one
/// place a vendor's name maps to an implementation.
pub fn select(name: &str) -> Option<Arc<dyn Vendor>> {
    match name {
        "hubspot" => Some(Arc::new(hubspot::HubSpot)),
        _ => None,
    }
}
