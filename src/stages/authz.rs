//! Stage 6, authorize: the request-level decision on a route, and the proofs it yields.
//!
//! The decisions themselves are the policy engine's ([`crate::policy`]); this stage turns an
//! allow into an [`Allowed`] for one method on one canonical path, and only an `Allowed`
//! makes the [`Permit`] ([`permit`]) that the upstream call consumes: the proof that one
//! exact upstream request was authorized. Nothing outside this module can mint either.
//!
//! It must never mint an `Allowed` without an allow, nor for another method or path.

use crate::policy::decision::Decision;
use crate::policy::{PolicyEngine, Scope};
use crate::routes::Route;

mod permit;
pub use permit::{Allowed, Permit, RecordRead};

// The authorize call is written here, beside the proofs, and not in the policy room: only
// this module may mint an `Allowed`.
impl PolicyEngine {
    /// The request-level decision on a route for one method and canonical path. Only an
    /// allow mints the [`Allowed`] from which the upstream call's [`Permit`] is made.
    pub fn authorize_request(
        &self,
        scope: &Scope,
        route: &Route,
        method: &http::Method,
        path: &str,
    ) -> (Decision, Option<Allowed>) {
        let decision = self.decide_request(scope, &route.action, &route.resource.collection);
        let allowed = decision.allow.then(|| {
            Allowed::new(&route.name, method, path, route.write().is_some())
                .also(&route.upstream_paths)
        });
        (decision, allowed)
    }
}
