//! crmgate: an attribute-based access control reverse proxy for CRM REST APIs.
//!
//! Employees keep their CRM clients; crmgate decides with Cedar policies, per department
//! and purpose, which requests pass, which records they see and write and which fields are
//! kept, masked or removed, and it records every access in a tamper-evident audit log.
//!
//! # The map
//!
//! [`stages`] — the request path, one module per stage, in request order:
//!
//! 1. **listen** — [`stages::listen`]: accept loop, connection and per-address limits, a
//!    watchdog per connection (first-request, idle, age and send deadlines), counted
//!    connection events, graceful shutdown; [`stages::body`] holds a response's memory
//!    budget until the client has taken it.
//! 2. **sanitize** — [`stages::sanitize`]: one canonical reading of path, query and
//!    headers, and of the raw request heads hyper's parser folds.
//! 3. **identify** — [`stages::identity`]: mTLS certificate, OIDC JWT or API key → one
//!    `User`/`App` entity.
//! 4. **purpose** — [`stages::purpose`]: the declared or default purpose, from the registry.
//! 5. **route** — [`routes::RouteTable::find`]: method + path → route, resource type,
//!    field groups; the vendor ([`stages::vendor`], a trait a profile under [`profiles`]
//!    implements, chosen at start-up by `[upstream] vendor`) prepares the upstream request
//!    (typed search and batch bodies, what the request selects records by).
//! 6. **authorize** — [`stages::authz`]: the request-level decision of the policy engine
//!    ([`policy`]); only an allow mints an `Allowed`, and only that makes the `Permit` the
//!    upstream call consumes.
//! 7. **write path** — [`stages::write_inputs`], each input of a write decided: per record
//!    `create`/`update`/`delete`/`merge` on the stored record and the record as it would
//!    be, `write.<group>` per field group (strip or refuse), provenance stamped on creates;
//!    free text through [`redact`]; retention rules ([`retention`]) add the computed
//!    attributes `due_for_deletion` and `under_hold`. The pipeline's write branch reads the
//!    records first, writes the intent to the audit log, then forwards once.
//! 8. **forward** — [`stages::upstream`]: sends exactly the permitted request with
//!    crmgate's own headers and the vendor's credential source.
//! 9. **filter** — [`stages::filter`]: row and field-group decisions, masks, record
//!    selection; a list or search whose rows the caller may not all see is refilled and
//!    counted over what it is shown (the pipeline's `paging`).
//! 10. **audit** — the pipeline hands the request's record to an [`audit::AuditSink`],
//!     durable before the response leaves.
//!
//! [`stages::pipeline`] runs them: `handle` always writes one response and one audit record
//! around `handle_inner`, which has one `?` per stage and ends in one `match` on what was
//! prepared. Each stage writes its output into the request context (`pipeline/ctx.rs`),
//! from which the audit record is derived. Its rooms: `inbound` (what the request brings),
//! `read` (forward and filter), `paging` — the **refill** of a list and the **counted**
//! search, when the caller may not see every record the CRM pages over: crmgate pages and
//! counts over what it shows, with its own sealed cursors (`cursor`) — `writes` (read
//! first, decide, durable intent, forward once, answer), `associated`, `revision` (policy
//! revisions, reloads, selectability), `guards`, `respond`. [`error`] is the request
//! path's one error enum with its status table and audit outcome.
//!
//! The engines the stages use, built at start-up and immutable per policy revision, below
//! the stages (they never import one): [`routes`] (the route table, resource profiles and
//! attribute extraction, compiled from the routes file), [`retention`] (the deletion
//! concept's rules and their evaluator, which computes the attributes the routes declare),
//! [`redact`] (the redaction rules and detector) and [`policy`] (the Cedar engine of one
//! revision, loaded and checked at start-up: request, record and write decisions, each
//! memoised per revision; record plans and what a caller may select records by in
//! [`policy::plan`], mask kinds in [`policy::obligations`]).
//!
//! Around the request path: [`startup`] (assembling the gateway and reloading a policy
//! revision; TLS set-up), [`config`] (the typed configuration, parsed with the positions of
//! [`diagnostic`]: every problem at its file and line), [`pki`] (certificate files and the
//! outgoing HTTPS connector), [`profiles`] (one module per CRM vendor, each implementing
//! the stages' `Vendor` seam; `profiles::select` maps `[upstream] vendor` to one),
//! [`admin`] (`/healthz`, `/readyz`, `/metrics`), [`decide`]
//! (the decision core as the tools ask it) and [`tools`] (one module per subcommand; among
//! them [`tools::console`], the data protection officer's web console, a process of its
//! own that reads through a running crmgate like any client). The demo
//! CRM is its own workspace crate (`democrm/`): it depends on nothing of crmgate, and nothing
//! on the request path imports it.
//! [`audit`] is the audit log as its own room: the event types ([`audit::event`], a leaf
//! the stages fill in), the sink, the writer of hash-chained segments with signed
//! checkpoints, verify, query and the central store's shipper.
//! At the bottom, small shared types every room may use and that import nothing above
//! them: [`secret`] (values never printed), [`fasthash`] (the request path's hash maps),
//! [`jwk`] (OIDC signing keys and algorithms).
//! Nothing here must ever let a request reach the CRM without a decision, a write without
//! its durable intent, or a response leave without its audit record: the crate must never
//! fail open.

pub mod admin;
pub mod audit;
pub mod config;
pub mod decide;
pub mod diagnostic;
pub mod error;
pub mod fasthash;
pub mod jwk;
pub mod pki;
pub mod policy;
pub mod profiles;
/// Sensitive data in free text found and blacked out before a write is forwarded.
pub mod redact;
/// The deletion concept: retention rules, and the computed `due_for_deletion` / `under_hold`.
pub mod retention;
pub mod routes;
pub mod secret;
pub mod stages;
pub mod startup;
pub mod tools;
