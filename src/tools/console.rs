//! `crmgate console`: the data protection officer's web console, a process of its own with
//! its own TLS listener. It reads the configuration and the proxy's audit log, asks the CRM
//! through crmgate's own pipeline (in process, audited in the console's own log) when it
//! needs a person's record, and shows the documents of `crmgate docs` live.
//!
//! Sign-in is the OIDC authorization-code flow with PKCE against the configured identity
//! provider ([`oidc`]); only the `dpo` and `security` roles get a session ([`session`]).
//! Every page that shows personal data is written to the console's audit log before it is
//! sent ([`pages`]); an approval of the permission concept is an audit entry too.
//!
//! It must never send a page without its Content-Security-Policy, show personal data
//! without a session of the `dpo` role and its audit record, accept a form without its
//! session's CSRF token, or store an e-mail address it was asked to look up.

pub mod accesslog;
pub mod app;
pub mod concept;
pub mod frame;
pub mod idp;
pub mod oidc;
pub mod overview;
pub mod pages;
pub mod plan;
pub mod session;
pub mod state;
pub mod subjects;
pub mod util;
pub mod view;

#[cfg(test)]
mod tests;

pub use app::{run, serve, start, start_with, ConsoleArgs, Started};
