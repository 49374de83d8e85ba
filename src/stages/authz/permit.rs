//! The proofs of stage 6, authorize: [`Allowed`] says the request-level decision allowed one
//! method on one canonical path; a [`Permit`] is that decision bound to the exact upstream
//! request (method, path, query, body) the upstream call then sends, and consumes.
//!
//! Only [`super::PolicyEngine::authorize_request`] mints an `Allowed`, and only an
//! `Allowed` mints a `Permit`: nothing outside `authz` can construct either. This module
//! must never let a decision travel to another method or path.

use bytes::Bytes;
use http::Method;

use crate::error::RequestError;

/// A read of stored records crmgate makes for itself (never released to the client), as
/// the vendor spells it: see [`Allowed::prior_read`] and [`Allowed::associated_read`].
#[derive(Debug)]
pub struct RecordRead {
    pub method: Method,
    pub path_and_query: String,
    pub body: Option<Bytes>,
}

/// The request-level decision allowed `method` on `path` (a canonical path, no query).
#[derive(Debug)]
pub struct Allowed {
    route: String,
    method: Method,
    path: String,
    /// Other upstream paths the route's decision may send to (its vendor's next pages, as
    /// the routes file names them: `*` is one segment).
    also: Vec<String>,
    /// A write route's decision: its request changes the CRM (sent at most once).
    writes: bool,
}

impl Allowed {
    pub(super) fn new(route: &str, method: &Method, path: &str, writes: bool) -> Allowed {
        Allowed {
            route: route.to_string(),
            method: method.clone(),
            path: path.to_string(),
            also: Vec::new(),
            writes,
        }
    }

    /// The same decision, also for the upstream paths its route names (`upstream_paths`).
    pub(super) fn also(mut self, paths: &[String]) -> Allowed {
        self.also = paths.to_vec();
        self
    }

    /// The route the decision was made for.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// crmgate's own read of the records an allowed write names (the collection's batch
    /// read, as the vendor spells it: method, path and body from [`RecordRead`]), so that
    /// the write can be decided on them as they are. Only a write's allow makes one; its
    /// answer is never released to the client.
    pub fn prior_read(&self, read: RecordRead) -> Result<Permit, RequestError> {
        if !self.writes {
            // fail closed: only a write reads the records it names first.
            return Err(RequestError::Internal(format!(
                "route `{}` is not a write: it makes no prior read",
                self.route
            )));
        }
        self.own_read("prior read", read)
    }

    /// crmgate's own read of the records an allowed read's answer names as associated
    /// (the other type's batch read, as the vendor spells it), so that each is decided as
    /// a GET of it by this caller would be. Its answer is never released to the client.
    pub fn associated_read(&self, read: RecordRead) -> Result<Permit, RequestError> {
        self.own_read("associated read", read)
    }

    /// A read crmgate makes for itself on the strength of this decision: a decision of its
    /// own, on the read's method and path, never one that writes.
    fn own_read(&self, what: &str, read: RecordRead) -> Result<Permit, RequestError> {
        let path = read
            .path_and_query
            .split_once('?')
            .map_or(read.path_and_query.as_str(), |(p, _)| p);
        Allowed::new(
            &format!("{} ({what})", self.route),
            &read.method,
            path,
            false,
        )
        .permit(read.path_and_query, read.body)
    }

    /// Bind the decision to the exact upstream request crmgate built for it: the same method
    /// and path, with crmgate's query and body. A request for another method or path is
    /// refused: a decision on one route never sends another.
    pub fn permit(
        &self,
        path_and_query: String,
        body: Option<Bytes>,
    ) -> Result<Permit, RequestError> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query.as_str(), |(p, _)| p);
        if path != self.path && !self.also.iter().any(|p| path_matches(p, path)) {
            // fail closed: a permit is for the request that was decided, and no other.
            return Err(RequestError::Internal(format!(
                "a decision on `{} {}` (route `{}`) cannot permit a request to `{}`",
                self.method, self.path, self.route, path
            )));
        }
        Ok(Permit {
            route: self.route.clone(),
            method: self.method.clone(),
            path_and_query,
            body,
            writes: self.writes,
        })
    }
}

/// Whether `path` is what `pattern` names: the same segments, `*` standing for any one.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// One authorized upstream request, exactly as it will be sent.
#[derive(Debug)]
pub struct Permit {
    route: String,
    method: Method,
    path_and_query: String,
    body: Option<Bytes>,
    writes: bool,
}

impl Permit {
    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// Whether the request changes the CRM (a write route's): it is sent at most once.
    pub fn writes(&self) -> bool {
        self.writes
    }

    /// The request to send: taking it spends the permit.
    pub fn into_request(self) -> (Method, String, Option<Bytes>) {
        (self.method, self.path_and_query, self.body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_permit_for_one_route_cannot_send_another_request() {
        let allowed = Allowed::new(
            "contacts.list",
            &Method::GET,
            "/crm/v3/objects/contacts",
            false,
        );
        let p = allowed
            .permit("/crm/v3/objects/contacts?limit=5".into(), None)
            .unwrap();
        assert_eq!(p.method(), Method::GET);
        assert_eq!(p.path_and_query(), "/crm/v3/objects/contacts?limit=5");
        for other in [
            "/crm/v3/objects/contacts/1",
            "/crm/v3/objects/contacts/1?limit=5",
            "/crm/v3/objects/companies",
            "/crm/v3/objects/contacts/",
            "/crm/v3/objects/contact",
        ] {
            assert!(allowed.permit(other.into(), None).is_err(), "{other}");
        }
    }

    #[test]
    fn only_a_write_makes_a_prior_read_and_it_reads_as_the_vendor_spells_it() {
        let read = || RecordRead {
            method: Method::POST,
            path_and_query: "/objects/contacts/batch/read".into(),
            body: Some(Bytes::from_static(b"{}")),
        };
        let list = Allowed::new("contacts.list", &Method::GET, "/objects/contacts", false);
        assert!(list.prior_read(read()).is_err());
        let write = Allowed::new(
            "contacts.update",
            &Method::PATCH,
            "/objects/contacts/1",
            true,
        );
        let p = write.prior_read(read()).unwrap();
        assert_eq!(p.method(), Method::POST);
        assert_eq!(p.path_and_query(), "/objects/contacts/batch/read");
        assert_eq!(p.route(), "contacts.update (prior read)");
        // crmgate's own read is never sent as a write.
        assert!(!p.writes());
        let get = RecordRead {
            method: Method::GET,
            path_and_query: "/objects/contacts/1?properties=a".into(),
            body: None,
        };
        let p = list.associated_read(get).unwrap();
        assert_eq!(p.method(), Method::GET);
        assert!(!p.writes());
    }
}
