//! Start-up: what happens before the port is bound — assembling the gateway from the typed
//! configuration ([`app`]: load and check a policy revision, open the audit log) and the
//! TLS set-up ([`tls`]). Nothing here runs per request, except a reload, which loads a new
//! revision beside the active one.
//!
//! A stage must never import anything here.

pub mod app;
pub mod budget_store;
pub mod tls;
