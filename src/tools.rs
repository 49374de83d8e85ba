//! The tools of the security team and operators, one subcommand each: `check`, `test`
//! ([`policytest`]), `explain`, `matrix`, `retention` (the deletion concept), `docs` (the documents a data
//! protection officer files), `console` (the data protection officer's web console), `demo` (the guided tour) and the dev PKI
//! ([`certs`]). They ask the decision core ([`crate::decide`]) the same questions the
//! proxy's stages answer; nothing on the request path imports them.
//!
//! A tool must never decide anything itself: it asks the decision core.

pub mod audit;
pub mod certs;
pub mod cli;
pub mod console;
pub mod demo;
pub mod docs;
pub mod explain;
pub mod matrix;
pub mod policytest;
pub mod retention;
pub mod serve;
