//! The request context (as pingora's `CTX`): what each stage produced for one request —
//! the canonical request, who asked and for which purpose, the route, the decisions and
//! what they cost, the records shown, withheld and written, the CRM's answer and the
//! timings. The audit record is derived from it in one place ([`RequestCtx::into_record`])
//! together with the request's outcome: the status it got, or the error that ended it,
//! which says its own audit decision ([`RequestError::audit_decision`]).
//!
//! Also [`Step`], what the filter needs for one request besides a body.
//!
//! The context must never hold a field value: names, ids and counts only, and a value a
//! path looks records up by is replaced by its keyed pseudonym before it is kept.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;

use crate::audit::{AuditRecord, WouldHave, WriteIntent};
use crate::error::RequestError;
use crate::policy::decision::Decision;
use crate::policy::obligations::MaskKind;
use crate::policy::{PolicyEngine, PrincipalInfo, Scope};
use crate::routes::{Route, RouteTable};
use crate::stages::authz::Allowed;
use crate::stages::filter::masks::{self, PurposeKey};
use crate::stages::filter::{self, Filtered, RecordAudit};
use crate::stages::sanitize::Canonical;
use crate::stages::vendor::{Shown, Vendor};
use crate::stages::write_inputs::WriteAudit;

use super::revision::Policies;

/// Who asked: the principal a credential named (also when the request was then refused).
struct Who {
    /// How the principal authenticated: `mtls`, `jwt` or `api_key`.
    credential: &'static str,
    principal: String,
    department: Option<String>,
    /// The roles the identity provider's token claimed, when it described the principal.
    claimed_roles: Option<Vec<String>>,
}

/// The route a request matched, by name.
struct Routed {
    name: String,
    action: String,
    resource: String,
}

/// What each stage produced for one request (see the module header).
pub(super) struct RequestCtx {
    started: Instant,
    time: String,
    pub(super) request_id: String,
    client: String,
    client_request_id: Option<String>,
    method: String,
    /// The path as the record shows it (a looked-up value pseudonymised).
    path: String,
    policy_revision: String,
    /// Stage 2, sanitize: the request as the stages read it; what a refusal names.
    canonical: Option<Arc<Canonical>>,
    /// Stage 3, identify.
    who: Option<Who>,
    /// Stage 4, purpose, and the deletion run's rule.
    purpose: Option<String>,
    retention_rule: Option<String>,
    /// Stage 5, route.
    routed: Option<Routed>,
    /// Stage 6, authorize (and the write verdicts): `Some(true)` allow, `Some(false)` deny,
    /// `None` while undecided.
    allowed: Option<bool>,
    /// The determining policies and Cedar errors of every decision made, and their cost.
    pub(super) policies: Vec<String>,
    pub(super) cedar_errors: Vec<String>,
    pub(super) cedar_evaluations: usize,
    pub(super) analysis_evaluations: usize,
    /// Stage 9, filter: the records shown and withheld, and what the answer named.
    pub(super) records: Vec<RecordAudit>,
    pub(super) rows_dropped: Vec<String>,
    unclassified: Vec<String>,
    associations_shown: Vec<String>,
    associations_dropped: Vec<String>,
    pub(super) associated_read: Vec<String>,
    /// A shadow route released the upstream body as it came: the resource's field groups
    /// and the status enforcement would have given.
    shadow: Option<(Vec<String>, u16)>,
    /// A refused request: the records its path named.
    named: Vec<String>,
    /// Stage 7, write path: per input, what was decided and what became of it; the records read
    /// first.
    pub(super) writes: Vec<WriteAudit>,
    pub(super) prior_read: Vec<String>,
    /// The notice a redacted write left for its writer (its path).
    pub(super) notice: Option<String>,
    /// Stage 8, forward: what the CRM answered.
    pub(super) upstream_status: Option<u16>,
    pub(super) detail: Option<String>,
    /// The client went away before its response was ready.
    client_cancelled: bool,
    pub(super) latency_us: BTreeMap<&'static str, u64>,
}

impl RequestCtx {
    /// A request as it arrives: before any stage, it is recorded by what the listener
    /// knows (client, method, path, its own request id) and the revision deciding it.
    pub(super) fn arrive(
        head: &http::request::Parts,
        peer: SocketAddr,
        policy_revision: String,
        lookup_key: &PurposeKey,
        vendor: &dyn Vendor,
    ) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            client: peer.to_string(),
            client_request_id: head
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(128).collect()),
            method: head.method.to_string(),
            path: vendor_audit_path(head.uri.path(), head.uri.query(), lookup_key, vendor),
            policy_revision,
            canonical: None,
            who: None,
            purpose: None,
            retention_rule: None,
            routed: None,
            allowed: None,
            policies: Vec::new(),
            cedar_errors: Vec::new(),
            cedar_evaluations: 0,
            analysis_evaluations: 0,
            records: Vec::new(),
            rows_dropped: Vec::new(),
            unclassified: Vec::new(),
            associations_shown: Vec::new(),
            associations_dropped: Vec::new(),
            associated_read: Vec::new(),
            shadow: None,
            named: Vec::new(),
            writes: Vec::new(),
            prior_read: Vec::new(),
            notice: None,
            upstream_status: None,
            detail: None,
            client_cancelled: false,
            latency_us: BTreeMap::new(),
        }
    }

    /// Stage 2, sanitize: the canonical request, kept for a refusal to name; the recorded path
    /// becomes its own (a looked-up value pseudonymised).
    pub(super) fn sanitized(
        &mut self,
        c: Canonical,
        lookup_key: &PurposeKey,
        vendor: &dyn Vendor,
    ) -> Arc<Canonical> {
        self.path = lookup_path(&c, lookup_key, vendor);
        let c = Arc::new(c);
        self.canonical = Some(c.clone());
        c
    }

    /// Stage 3, identify: who asked. A credential that named a known principal is recorded also
    /// when the request is refused (inactive, or a department the directory contradicts);
    /// only an accepted one records the roles a token claimed.
    pub(super) fn identified(
        &mut self,
        p: &PrincipalInfo,
        credential: &'static str,
        accepted: bool,
    ) {
        self.who = Some(Who {
            credential,
            principal: p.id.clone(),
            department: p.department.clone(),
            claimed_roles: p.claimed_roles.clone().filter(|_| accepted),
        });
    }

    /// Stage 4, purpose.
    pub(super) fn purposed(&mut self, purpose: &str) {
        self.purpose = Some(purpose.to_string());
    }

    /// The rule of the deletion run the request carries out.
    pub(super) fn carries_rule(&mut self, rule: Option<String>) {
        self.retention_rule = rule;
    }

    /// Stage 5, route.
    pub(super) fn routed(&mut self, route: &Route) {
        self.routed = Some(Routed {
            name: route.name.clone(),
            action: route.action.clone(),
            resource: route.resource.entity_type.clone(),
        });
    }

    /// Stage 6, authorize: the request decision, and the Cedar evaluations its scope cost (0 when
    /// the decision came from the revision's memo).
    pub(super) fn authorized(&mut self, decision: &Decision, evaluations: usize) {
        self.cedar_evaluations += evaluations;
        self.policies.extend(decision.policies.iter().cloned());
        self.cedar_errors.extend(decision.errors.iter().cloned());
        self.allowed = Some(decision.allow);
    }

    /// One of crmgate's own endpoints answers the request (a notice): recorded as its route,
    /// under crmgate's own names, never a CRM route.
    pub(super) fn own_endpoint(&mut self, name: &str, action: &str, resource: &str) {
        self.routed = Some(Routed {
            name: name.to_string(),
            action: action.to_string(),
            resource: resource.to_string(),
        });
    }

    /// A write's verdicts (or the check of its associations) refused it.
    pub(super) fn deny(&mut self) {
        self.allowed = Some(false);
    }

    /// A batch write decided without forwarding anything: allowed unless an input was
    /// refused.
    pub(super) fn decide(&mut self, allow: bool) {
        self.allowed = Some(allow);
    }

    /// The client went away (seen while its body was read).
    pub(super) fn went_away(&mut self, gone: bool) {
        self.client_cancelled |= gone;
    }

    /// The time a stage took, in µs.
    pub(super) fn took(&mut self, stage: &'static str, us: u64) {
        self.latency_us.insert(stage, us);
    }

    /// Add what one filter run decided (a search walk filters several).
    pub(super) fn filtered(&mut self, f: &Filtered) {
        self.cedar_evaluations += f.evaluations;
        self.policies.extend(f.policies.iter().cloned());
        self.policies.sort();
        self.policies.dedup();
        self.cedar_errors.extend(f.errors.iter().cloned());
        self.records.extend(f.records.iter().cloned());
        self.rows_dropped.extend(f.dropped.iter().cloned());
        self.unclassified.extend(f.unclassified.iter().cloned());
        self.unclassified.sort();
        self.unclassified.dedup();
        self.associations_shown
            .extend(f.associations.shown.iter().cloned());
        self.associations_dropped
            .extend(f.associations.dropped.iter().cloned());
    }

    /// A walk that ends in an error (the CRM's 429, a page it cannot filter) releases none
    /// of the pages it read: the record must not list their records as shown.
    pub(super) fn nothing_released(&mut self) {
        self.records.clear();
    }

    /// A shadow route released the upstream body as it came: the record says what the
    /// client got, and what enforcement would have done (see `AuditRecord::shadow_release`).
    pub(super) fn shadow_release(&mut self, groups: &[String], would_have_status: u16) {
        self.shadow = Some((groups.to_vec(), would_have_status));
    }

    /// The write ends before anything was sent: inputs decided `forwarded` were not, and
    /// the record must not say they were (`not-sent`, with the reason the request ended).
    pub(super) fn unsent(&mut self, e: RequestError) -> RequestError {
        for a in self.writes.iter_mut().filter(|a| a.outcome == "forwarded") {
            a.outcome = "not-sent";
            a.reason = Some(e.kind());
        }
        e
    }

    /// The write-ahead entry of a write: who writes what, as decided.
    pub(super) fn write_intent(&self) -> WriteIntent {
        WriteIntent {
            kind: "write_intent",
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_id: self.request_id.clone(),
            principal: self.who.as_ref().map(|w| w.principal.clone()),
            purpose: self.purpose.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            route: self.routed.as_ref().map(|r| r.name.clone()),
            resource: self.routed.as_ref().map(|r| r.resource.clone()),
            policy_revision: self.policy_revision.clone(),
            writes: self.writes.clone(),
        }
    }

    /// The audit record of the request, derived from what the stages produced and its
    /// outcome: the status it got, and the error that ended it, if one did (`cancelled`:
    /// the client went away meanwhile).
    pub(super) fn into_record(
        mut self,
        policies: &Policies,
        vendor: &dyn Vendor,
        status: u16,
        outcome: Option<&RequestError>,
        cancelled: bool,
    ) -> AuditRecord {
        if let Some(e) = outcome {
            if let Some(c) = self.canonical.take() {
                self.name_refused(policies, &c, vendor);
            }
            // A request the CRM refused (its 429, an error status) records what it
            // answered, also when a walk's earlier pages were answered.
            if let Some(code) = e.upstream_code() {
                self.upstream_status = Some(code);
            }
            self.detail = Some(e.audit_detail());
        }
        let decision = match outcome {
            Some(e) => e.audit_decision(self.allowed),
            None => match self.allowed {
                Some(true) => "allow",
                Some(false) => "deny",
                None => "error",
            },
        };
        self.latency_us.insert("total", micros(self.started));
        let (who, routed) = (self.who, self.routed);
        let (directory, roles) = match who.as_ref().and_then(|w| w.claimed_roles.clone()) {
            Some(roles) => (Some("claims"), Some(roles)),
            None => (None, None),
        };
        let mut rec = AuditRecord {
            time: self.time,
            request_id: self.request_id,
            client: self.client,
            client_request_id: self.client_request_id,
            principal: who.as_ref().map(|w| w.principal.clone()),
            credential: who.as_ref().map(|w| w.credential),
            department: who.and_then(|w| w.department),
            directory,
            roles,
            purpose: self.purpose,
            retention_rule: self.retention_rule,
            method: self.method,
            path: self.path,
            route: routed.as_ref().map(|r| r.name.clone()),
            action: routed.as_ref().map(|r| r.action.clone()),
            resource: routed.map(|r| r.resource),
            policy_revision: self.policy_revision,
            shadow: false,
            would_have: None::<WouldHave>,
            decision,
            reason: outcome.map(RequestError::kind),
            detail: self.detail,
            policies: self.policies,
            cedar_errors: self.cedar_errors,
            cedar_evaluations: self.cedar_evaluations,
            analysis_evaluations: self.analysis_evaluations,
            records: self.records,
            rows_dropped: self.rows_dropped,
            named: self.named,
            writes: self.writes,
            prior_read: self.prior_read,
            notice: self.notice,
            unclassified: self.unclassified,
            associations_shown: self.associations_shown,
            associations_dropped: self.associations_dropped,
            associated_read: self.associated_read,
            upstream_status: self.upstream_status,
            status,
            // The client went away while this request was being handled: it is still
            // recorded, and the record says the response was never delivered.
            client_cancelled: self.client_cancelled || cancelled,
            latency_us: self.latency_us,
        };
        if let Some((groups, would_have)) = self.shadow {
            rec.shadow_release(&groups, would_have);
        }
        rec
    }

    /// A request that ended without its answer after the caller was recognised names who asked
    /// (set by then) and what it asked for: the route and resource its path matches, and the
    /// record id the path names — unless the record lists records already (returned, withheld,
    /// written) or the path names its record by a property value (a value never goes into the
    /// log; the path holds its pseudonym). So a refused request shows in `audit query --user`,
    /// `--record` and in the data subject's report.
    fn name_refused(&mut self, policies: &Policies, canonical: &Canonical, vendor: &dyn Vendor) {
        if self.who.is_none() {
            return;
        }
        let Ok(matched) = policies.routes.find(&canonical.method, &canonical.segments) else {
            return;
        };
        let route = matched.route;
        if self.routed.is_none() {
            self.routed(route);
        }
        let by_value = vendor.lookup(&canonical.query).is_some();
        let listed = !self.records.is_empty()
            || !self.rows_dropped.is_empty()
            || self.writes.iter().any(|w| w.id.is_some());
        if let Some(id) = matched.id.filter(|_| !by_value && !listed) {
            self.named.push(id);
        }
    }
}

/// What the filter needs for one request, besides a body.
pub(super) struct Step<'a> {
    pub(super) allowed: &'a Allowed,
    pub(super) routes: &'a RouteTable,
    pub(super) route: &'a Route,
    pub(super) scope: &'a Scope,
    pub(super) engine: &'a PolicyEngine,
    pub(super) hidden: &'a HashSet<String>,
    pub(super) selection: u64,
    pub(super) key: &'a PurposeKey,
    pub(super) request_id: &'a str,
    pub(super) peer: SocketAddr,
    /// The request asked for associations: the associated records the answer names are
    /// decided before it is filtered (without, any the answer names are left out).
    pub(super) associations: bool,
}

impl Step<'_> {
    /// Filter a body, showing the associated records of `shown` only.
    pub(super) fn filter(&self, body: &Bytes, shown: &Shown) -> Result<Filtered, RequestError> {
        filter::filter_body(
            self.engine,
            self.scope,
            self.route,
            self.hidden,
            self.selection,
            self.key,
            shown,
            body,
        )
    }
}

/// [`audit_path`] as the vendor spells lookups.
pub(super) fn vendor_audit_path(
    path: &str,
    query: Option<&str>,
    key: &PurposeKey,
    vendor: &dyn Vendor,
) -> String {
    let is_lookup = |p: &str| vendor.is_lookup(p);
    audit_path(path, query, key, vendor.lookup_param(), &is_lookup)
}

/// The path as the audit record shows it. A lookup by a property (`…/{value}` and the
/// vendor's lookup parameter naming `p`)
/// names customer data in its last segment (an e-mail, an IBAN): that segment is replaced by
/// a keyed pseudonym from the first moment the request is recorded, whether or not it
/// passes a stage, so the value never enters the log in clear.
/// `param` is the vendor's lookup parameter, `is_lookup` tells a lookup property from the
/// record id.
pub(super) fn audit_path(
    path: &str,
    query: Option<&str>,
    key: &PurposeKey,
    param: Option<&str>,
    is_lookup: &dyn Fn(&str) -> bool,
) -> String {
    let path: String = path.chars().take(2048).collect();
    let lookup = query.zip(param).and_then(|(q, param)| {
        // As `form_urlencoded::parse(q).find(…)`, but a pair is decoded only when its key
        // may be the lookup parameter (every request passes here; most name no lookup).
        q.split('&')
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                key == param || key.contains(['%', '+'])
            })
            .flat_map(|pair| form_urlencoded::parse(pair.as_bytes()))
            .find(|(k, v)| k == param && is_lookup(v))
            .map(|(_, v)| v.into_owned())
    });
    match (lookup, path.rsplit_once('/')) {
        (Some(p), Some((head, value))) => pseudonymised(head, &p, value, key),
        _ => path,
    }
}

/// [`audit_path`] for the canonical request (its decoded query).
pub(super) fn lookup_path(c: &Canonical, key: &PurposeKey, vendor: &dyn Vendor) -> String {
    let lookup = vendor.lookup(&c.query);
    match (lookup, c.segments.split_last()) {
        (Some(p), Some((value, _))) => {
            let head = c.path.rsplit_once('/').map_or("", |(h, _)| h);
            pseudonymised(head, p, value, key)
        }
        _ => c.path.clone(),
    }
}

pub(super) fn pseudonymised(head: &str, property: &str, value: &str, key: &PurposeKey) -> String {
    let property: String = property.chars().take(64).collect();
    let pseudonym = masks::mask_str(MaskKind::Hash, value, key);
    format!("{head}/{{{property}={pseudonym}}}")
}

/// Microseconds since `since`, for the record's timings.
pub(super) fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
