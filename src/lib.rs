//! crmgate: an attribute-based access control reverse proxy for CRM REST APIs.
//!
//! Employees keep their CRM clients; crmgate decides with Cedar policies, per department
//! and purpose, which requests pass, which records they see and which fields are kept,
//! masked or removed, and it records every access in a tamper-evident audit log.
//!
//! # Layout: the request pipeline, in order
//!
//! 1. **listen** — [`server`] (accept loop, connection and per-address limits, a watchdog
//!    per connection for first-request, idle, age and send deadlines, counted connection
//!    events, graceful shutdown), [`tls`] (rustls).
//! 2. **sanitize** — [`sanitize`]: one canonical reading of path, query and headers.
//! 3. **identify** — [`identity`]: who is calling (mTLS certificate, OIDC JWT or API key →
//!    one `User`/`App` entity).
//! 4. **purpose** — [`purpose`]: the declared or default purpose, from the registry.
//! 5. **route** — [`routing`]: method + path → route, resource type, field groups.
//! 6. **authorize request** — [`authz`]: Cedar; only an allow mints a `Permit`.
//! 7. **write path** — (not yet: write routes are not configured, so never forwarded).
//! 8. **forward** — [`upstream`]: pooled client, crmgate's own headers, credential injected.
//! 9. **filter response** — [`records`] (where the records are), [`filter`] (row and
//!    field-group decisions, memoised), [`masks`] (type-preserving masks).
//! 10. **audit** — [`audit`]: one durable record per request before the response leaves;
//!     a directory of hash-chained segments with signed checkpoints, `audit verify` and
//!     `audit query`.
//!
//! [`body`] is the response body: it holds the response's memory budget until the client
//! has taken it.
//!
//! [`pipeline`] ties the stages together: `handle` always writes one response and one audit
//! record around `handle_inner`, which has one `?` per stage. [`error`] is the one error enum
//! of the request path with its status table. [`config`] parses the TOML configuration into
//! typed values at start-up, [`diagnostic`] is the one problem type
//! of every start-up file (with its line); [`app`] assembles and starts everything; [`admin`] serves
//! `/healthz` and `/readyz` from a shared [`admin::Health`]. [`democrm`] is the
//! embedded demo CRM (Santa's company), [`demo`] the guided demo, [`certs`] the dev PKI.

pub mod admin;
pub mod config;
pub mod decide;
pub mod democrm;
pub mod diagnostic;
pub mod error;
pub mod pki;
pub mod profiles;
pub mod stages;
pub mod startup;
pub mod tools;
