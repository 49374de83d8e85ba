//! The admin listener: `/healthz`, `/readyz` and `/metrics`, plain HTTP, apart from the
//! data port.
//!
//! [`Health`] is a small shared state: any stage that can degrade (today: the audit log)
//! reports a problem under its own component name and clears it when it recovers.
//! `/healthz` answers 200 while the process is up and lists the problems; `/readyz` answers
//! 503 while any problem is reported, so a load balancer stops sending data requests that
//! would be refused anyway. This listener must never serve CRM data or touch the pipeline.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Problems reported by components, by component name (`audit`), notes that do not make
/// the process unready (a rejected policy reload: the active set keeps serving), and the
/// counters `/metrics` exports.
#[derive(Debug, Clone, Default)]
pub struct Health {
    problems: Arc<Mutex<BTreeMap<String, String>>>,
    notes: Arc<Mutex<BTreeMap<String, String>>>,
    pub metrics: Arc<Metrics>,
}

/// Counters for Prometheus (`/metrics`). Names and ids only, never values.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (status, decision) → requests.
    requests: Mutex<BTreeMap<(u16, &'static str), u64>>,
    pub cedar_evaluations: AtomicU64,
    pub rows_dropped: AtomicU64,
    pub policy_reloads_ok: AtomicU64,
    pub policy_reloads_failed: AtomicU64,
    pub policy_revision: Mutex<String>,
    /// reason → connections that reached crmgate but never became a request, or were cut
    /// ([`crate::stages::listen`]'s reasons: `tls_handshake_failed`, `per_ip_limit`, …).
    connection_events: Mutex<BTreeMap<&'static str, u64>>,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// Configured API keys whose owner the active set's entities do not list (refused).
    pub api_keys_without_principal: AtomicU64,
    /// A central audit store is configured (its metrics are exported only then).
    pub central_enabled: std::sync::atomic::AtomicBool,
    /// Audit entries durable locally but not yet stored centrally.
    pub central_lag_entries: AtomicU64,
    /// Audit entries this process stored centrally.
    pub central_shipped_total: AtomicU64,
    /// Failed attempts to reach or write the central store.
    pub central_errors_total: AtomicU64,
    /// The upstream credential is a token crmgate refreshes (its metrics are exported
    /// only then).
    pub credential_refreshing: std::sync::atomic::AtomicBool,
    /// Tokens fetched from the token endpoint.
    pub credential_refreshes: AtomicU64,
    /// Failed fetches of a token.
    pub credential_failures: AtomicU64,
    /// Upstream answers that refused crmgate's token as expired.
    pub credential_rejections: AtomicU64,
    /// CRM requests sent within the account's budget (`[upstream.budget]`).
    pub budget_used: AtomicU64,
    /// CRM requests that waited for a slot of the budget.
    pub budget_queued: AtomicU64,
    /// Slots decided by this replica's share because the shared counter could not answer.
    pub budget_shared_unavailable: AtomicU64,
    /// Requests crmgate answered 429 itself, before the CRM would.
    pub rate_limited_by_crmgate: AtomicU64,
    /// CRM answers 429.
    pub rate_limited_by_crm: AtomicU64,
}

impl Metrics {
    /// Count one finished request.
    pub fn request(&self, status: u16, decision: &'static str, evaluations: usize, dropped: usize) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((status, decision)).or_insert(0) += 1;
        drop(m);
        self.cedar_evaluations
            .fetch_add(evaluations as u64, Ordering::Relaxed);
        self.rows_dropped
            .fetch_add(dropped as u64, Ordering::Relaxed);
    }

    /// Count one connection event (a refusal or a cut) by its reason.
    pub fn connection_event(&self, reason: &'static str) {
        let mut m = self
            .connection_events
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *m.entry(reason).or_insert(0) += 1;
    }

    /// The connection event counters so far, by reason.
    pub fn connection_events(&self) -> BTreeMap<&'static str, u64> {
        self.connection_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_revision(&self, revision: &str) {
        *self
            .policy_revision
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = revision.to_string();
    }

    /// The account budget's counters: used, queued, 429s by origin.
    fn render_budget(&self, s: &mut String) {
        let counter = |s: &mut String, name: &str, help: &str, v: u64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            s,
            "crmgate_budget_used_total",
            "CRM requests sent within the account's budget.",
            self.budget_used.load(Ordering::Relaxed),
        );
        counter(
            s,
            "crmgate_budget_queued_total",
            "CRM requests that waited for a slot of the account's budget.",
            self.budget_queued.load(Ordering::Relaxed),
        );
        counter(
            s,
            "crmgate_budget_shared_unavailable_total",
            "Budget slots this replica's share decided: the shared counter could not answer.",
            self.budget_shared_unavailable.load(Ordering::Relaxed),
        );
        s.push_str("# HELP crmgate_rate_limited_total Requests answered 429 for the CRM's rate limit, by origin.\n# TYPE crmgate_rate_limited_total counter\n");
        s.push_str(&format!(
            "crmgate_rate_limited_total{{origin=\"crmgate\"}} {}\ncrmgate_rate_limited_total{{origin=\"crm\"}} {}\n",
            self.rate_limited_by_crmgate.load(Ordering::Relaxed),
            self.rate_limited_by_crm.load(Ordering::Relaxed)
        ));
    }

    /// The Prometheus text exposition.
    pub fn render(&self, degraded: usize) -> String {
        let mut s = String::new();
        s.push_str("# HELP crmgate_requests_total Requests answered, by status and decision.\n# TYPE crmgate_requests_total counter\n");
        for ((status, decision), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            s.push_str(&format!(
                "crmgate_requests_total{{status=\"{status}\",decision=\"{decision}\"}} {n}\n"
            ));
        }
        let counter = |s: &mut String, name: &str, help: &str, v: u64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            &mut s,
            "crmgate_cedar_evaluations_total",
            "Cedar evaluations made.",
            self.cedar_evaluations.load(Ordering::Relaxed),
        );
        self.render_budget(&mut s);
        counter(
            &mut s,
            "crmgate_rows_dropped_total",
            "Records withheld by row decisions.",
            self.rows_dropped.load(Ordering::Relaxed),
        );
        s.push_str("# HELP crmgate_policy_reloads_total Policy reloads, by result.\n# TYPE crmgate_policy_reloads_total counter\n");
        s.push_str(&format!(
            "crmgate_policy_reloads_total{{result=\"ok\"}} {}\ncrmgate_policy_reloads_total{{result=\"rejected\"}} {}\n",
            self.policy_reloads_ok.load(Ordering::Relaxed),
            self.policy_reloads_failed.load(Ordering::Relaxed)
        ));
        s.push_str("# HELP crmgate_connection_events_total Connections refused or cut before or outside a request, by reason.\n# TYPE crmgate_connection_events_total counter\n");
        for (reason, n) in self.connection_events() {
            s.push_str(&format!(
                "crmgate_connection_events_total{{reason=\"{reason}\"}} {n}\n"
            ));
        }
        s.push_str(&format!(
            "# HELP crmgate_connections_open Client connections open now.\n# TYPE crmgate_connections_open gauge\ncrmgate_connections_open {}\n",
            self.connections_open.load(Ordering::Relaxed)
        ));
        let rev = self
            .policy_revision
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        s.push_str(&format!(
            "# HELP crmgate_policy_revision_info The active policy revision.\n# TYPE crmgate_policy_revision_info gauge\ncrmgate_policy_revision_info{{revision=\"{rev}\"}} 1\n"
        ));
        s.push_str(&format!(
            "# HELP crmgate_api_keys_without_principal Configured API keys refused because the entities do not list their owner.\n# TYPE crmgate_api_keys_without_principal gauge\ncrmgate_api_keys_without_principal {}\n",
            self.api_keys_without_principal.load(Ordering::Relaxed)
        ));
        if self.central_enabled.load(Ordering::Relaxed) {
            s.push_str(&format!(
                "# HELP crmgate_audit_central_lag_entries Audit entries durable locally but not yet stored centrally.\n# TYPE crmgate_audit_central_lag_entries gauge\ncrmgate_audit_central_lag_entries {}\n",
                self.central_lag_entries.load(Ordering::Relaxed)
            ));
            counter(
                &mut s,
                "crmgate_audit_central_shipped_total",
                "Audit entries stored in the central store.",
                self.central_shipped_total.load(Ordering::Relaxed),
            );
            counter(
                &mut s,
                "crmgate_audit_central_errors_total",
                "Failed attempts to reach or write the central audit store.",
                self.central_errors_total.load(Ordering::Relaxed),
            );
        }
        if self.credential_refreshing.load(Ordering::Relaxed) {
            s.push_str(&format!(
                "# HELP crmgate_upstream_token_fetches_total Tokens requested from the CRM's token endpoint, by result.\n# TYPE crmgate_upstream_token_fetches_total counter\ncrmgate_upstream_token_fetches_total{{result=\"ok\"}} {}\ncrmgate_upstream_token_fetches_total{{result=\"failed\"}} {}\n",
                self.credential_refreshes.load(Ordering::Relaxed),
                self.credential_failures.load(Ordering::Relaxed)
            ));
            counter(
                &mut s,
                "crmgate_upstream_token_rejections_total",
                "Upstream answers that refused crmgate's token as expired.",
                self.credential_rejections.load(Ordering::Relaxed),
            );
        }
        s.push_str(&format!(
            "# HELP crmgate_degraded_components Components reporting a problem.\n# TYPE crmgate_degraded_components gauge\ncrmgate_degraded_components {degraded}\n"
        ));
        s
    }
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.problems.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `component` is degraded, for `reason` (shown on `/healthz`; no secrets).
    pub fn degrade(&self, component: &str, reason: impl Into<String>) {
        self.lock().insert(component.to_string(), reason.into());
    }

    /// `component` works again.
    pub fn restore(&self, component: &str) {
        self.lock().remove(component);
    }

    /// The current problems, by component.
    pub fn problems(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    /// Something an operator should see on `/healthz` and `/readyz` that does not make the
    /// process unready (`None` clears it).
    pub fn note(&self, component: &str, text: Option<String>) {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        match text {
            Some(t) => notes.insert(component.to_string(), t),
            None => notes.remove(component),
        };
    }

    pub fn notes(&self) -> BTreeMap<String, String> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ready for data requests: nothing degraded.
    pub fn is_ready(&self) -> bool {
        self.lock().is_empty()
    }

    fn answer(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let problems = self.problems();
        let status = if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        };
        let body =
            serde_json::json!({ "status": status, "problems": problems, "notes": self.notes() });
        match path {
            // Up is up: a degraded audit log is reported, not a reason to restart.
            "/healthz" => (StatusCode::OK, body),
            "/readyz" if problems.is_empty() => (StatusCode::OK, body),
            "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, body),
            _ => (
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": "not found" }),
            ),
        }
    }
}

fn respond(health: &Health, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() == "/metrics" {
        let text = health.metrics.render(health.problems().len());
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return resp;
    }
    let (status, body) = health.answer(req.uri().path());
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Serve `/healthz` and `/readyz` on `listener` until `shutdown`.
pub async fn serve(health: Health, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let resp = respond(&health, &req);
                async move { Ok::<_, Infallible>(resp) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(reason = %e, "admin connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn readyz_fails_while_a_component_is_degraded_and_healthz_says_why() {
        let h = Health::new();
        assert_eq!(h.answer("/readyz").0, StatusCode::OK);
        h.degrade("audit", "audit log write failed: no space left on device");
        let (status, body) = h.answer("/readyz");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let (status, body2) = h.answer("/healthz");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, body2);
        assert_eq!(body["status"], "degraded");
        assert!(body["problems"]["audit"]
            .as_str()
            .unwrap()
            .contains("no space"));
        h.restore("audit");
        assert_eq!(h.answer("/readyz").0, StatusCode::OK);
    }
}
