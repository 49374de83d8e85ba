//! The Salesforce REST profile: the [`Salesforce`] vendor and the shapes it reads and writes.
//!
//! Its rooms, each importing only those after it: `vendor` (the `Vendor` implementation)
//! → `read` (preparing read routes: a record's get, its fields added for the policies and
//! hidden again) → `ids` (15- and 18-character record ids); `errors` (Salesforce's error
//! body and codes); `soql` (the query language as something the policy governs: parsed
//! into a typed form, rebuilt as text). Salesforce's writes and its OAuth credential fill in the write side of
//! the same seam. Bodies and queries are parsed strictly and rebuilt from their typed value:
//! this module must never forward a client's bytes or let a field through unnamed.

mod collections;
mod credential;
mod describe;
mod errors;
pub(crate) mod ids;
mod query;
mod read;
pub mod soql;
pub(crate) mod vendor;
mod write;

/// The API version a configuration that names none speaks (`[upstream] api_version`).
pub const DEFAULT_API_VERSION: &str = "v62.0";

/// Salesforce's REST API (`/services/data/<api_version>/…`), at one API version.
#[derive(Debug, Clone)]
pub struct Salesforce {
    /// `v62.0`: the version crmgate speaks upstream and writes into the URLs it answers
    /// (`attributes.url`, `nextRecordsUrl`).
    pub api_version: String,
}

impl Salesforce {
    /// The profile at `api_version` (none: [`DEFAULT_API_VERSION`]).
    pub fn new(api_version: Option<&str>) -> Salesforce {
        Salesforce {
            api_version: api_version.unwrap_or(DEFAULT_API_VERSION).to_string(),
        }
    }

    /// The REST API's base path at this version: `/services/data/v62.0`.
    pub fn base(&self) -> String {
        format!("/services/data/{}", self.api_version)
    }
}

/// Whether `v` is an API version as Salesforce spells them: `v` and a number with one
/// decimal (`v62.0`).
pub fn is_api_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    (1..=3).contains(&major.len())
        && minor.len() == 1
        && major
            .bytes()
            .chain(minor.bytes())
            .all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
