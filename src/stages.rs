//! The request path: the stages every request passes, in this order. Each module is one
//! stage with one job; [`pipeline`] runs them. No stage imports start-up or a tool, and none
//! can reach the demo CRM.
//!
//! A stage must never import `startup`, `tools`, `decide`, a vendor profile or the demo CRM
//! (a test checks): the CRM's API is reached through [`vendor`] only.

pub mod authz;
pub mod body;
/// The CRM account's request budget, one replica's share of it.
pub mod budget;
pub mod filter;
pub mod identity;
pub mod listen;
/// The notices of redacted writes and crmgate's own endpoint that answers them.
pub mod notice;
pub mod pipeline;
pub mod purpose;
pub mod sanitize;
pub mod upstream;
/// The vendor seam: what the stages ask of the CRM's API, implemented by a vendor profile.
pub mod vendor;
pub mod write_inputs;
