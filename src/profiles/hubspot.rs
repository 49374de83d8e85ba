//! The HubSpot CRM v3 profile: the [`HubSpot`] vendor and the shapes it reads and writes.
//!
//! Its rooms, each importing only those after it: [`vendor`] (the `Vendor` implementation)
//! → `read` (preparing read routes, batch read bodies) → `pages` (list refill and
//! push-down pages) → `search` (the search body) → `strict` (strict body parsing);
//! `write` (write bodies and answers), `associations`, `errors` (HubSpot's error body).
//! Bodies are parsed strictly and rebuilt from their typed value: this module must never
//! forward a client's bytes or let a property through unnamed.

mod associations;
mod errors;
mod pages;
mod read;
mod search;
mod strict;
pub(crate) mod vendor;
mod write;

pub use vendor::HubSpot;

#[cfg(test)]
mod tests;
