//! One integration binary: crmgate over real TLS sockets in front of a real upstream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod audit;
mod fail_closed;
mod filtering;
mod startup;
mod support;
