//! The admin listener: `/healthz` and `/readyz`, plain HTTP, apart from the data port.
//!
//! [`Health`] is a small shared state: any stage that can degrade (today: the audit log)
//! reports a problem under its own component name and clears it when it recovers.
//! `/healthz` answers 200 while the process is up and lists the problems; `/readyz` answers
//! 503 while any problem is reported, so a load balancer stops sending data requests that
//! would be refused anyway. This listener must never serve CRM data or touch the pipeline.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Problems reported by components, by component name (`audit`).
#[derive(Debug, Clone, Default)]
pub struct Health {
    problems: Arc<Mutex<BTreeMap<String, String>>>,
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
        let body = serde_json::json!({ "status": status, "problems": problems });
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
