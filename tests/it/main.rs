//! One integration binary: crmgate over real TLS sockets in front of a real upstream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod audit;
mod central;
mod clients;
mod conformance;
mod connections;
mod console;
mod console_central;
mod console_demo;
mod diagnostics;
mod differential;
mod docs;
mod economy;
mod fail_closed;
mod filtering;
mod front_door;
mod house;
mod identity;
mod oauth;
mod operations;
mod paging;
mod proofs;
mod redaction;
mod reloads;
mod retention;
mod sf_clients;
mod sf_collections;
mod sf_reads;
mod sf_writes;
mod shipped;
mod side_channels;
mod startup;
mod structure;
mod support;
mod upstream;
mod workbench;
mod writes;
