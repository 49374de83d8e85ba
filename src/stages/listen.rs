//! Stage 1, listen: the accept loop and the hygiene of every connection.
//!
//! Accepts TCP connections up to the connection limit (more wait in the kernel's backlog)
//! and at most `max_connections_per_ip` from one client address (more are closed at once),
//! completes the TLS handshake within the header timeout, and serves HTTP/1.1 and HTTP/2
//! (hyper's auto builder) with every request handed to [`Gateway::handle_detached`].
//!
//! A slot is held only by a connection that does something. Next to each connection runs a
//! watchdog over what the connection's IO and requests report ([`ConnState`]):
//! - no first request within `first_request_timeout` of the connection being ready → cut
//!   (hyper's auto builder reads the first bytes without any timer, and an HTTP/2 preface
//!   alone starts no request);
//! - no request in flight for `idle_timeout` (HTTP/1 keep-alive and HTTP/2 alike) → closed
//!   gracefully; older than `max_connection_age` → closed gracefully (HTTP/2 GOAWAY, HTTP/1
//!   after the current response);
//! - a response not taken within `send_timeout`, or a write to the client blocked that long
//!   → cut: a reader that does not read must not hold a buffered response;
//! - after a graceful close, a connection that still has not ended once every request could
//!   have finished → cut.
//!
//! Everything that reached crmgate and did not become a request, or was cut, is counted by
//! reason ([`crate::admin::Metrics::connection_event`]) and written to the audit log as one
//! aggregated `connection_events` entry per interval ([`report_connection_events`]), never
//! one entry per connection. Shuts down gracefully: stops accepting, lets in-flight requests
//! finish. A failing connection never takes the server down; this stage must never log or
//! record client data beyond the peer address at debug level, nor read a request's content.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::admin::Metrics;
use crate::audit::AuditSink;
use crate::config::Limits;
use crate::stages::identity::ClientCert;
use crate::stages::pipeline::Gateway;

/// Most header fields a request may carry.
const MAX_HEADERS: usize = 100;

/// Reasons a connection event is counted under (metrics label and audit key).
pub mod reason {
    /// The TLS handshake failed (bad protocol, no shared cipher, a rejected certificate…).
    pub const TLS_HANDSHAKE_FAILED: &str = "tls_handshake_failed";
    /// The TLS handshake did not finish within `header_read_timeout_ms`.
    pub const TLS_HANDSHAKE_TIMEOUT: &str = "tls_handshake_timeout";
    /// A client certificate rustls accepted but crmgate cannot read.
    pub const CLIENT_CERT_UNREADABLE: &str = "client_cert_unreadable";
    /// Refused on accept: the client address already holds `max_connections_per_ip`.
    pub const PER_IP_LIMIT: &str = "per_ip_limit";
    /// No request within `first_request_timeout_ms` of the connection being ready.
    pub const FIRST_REQUEST_TIMEOUT: &str = "first_request_timeout";
    /// No request in flight for `idle_timeout_ms`.
    pub const IDLE_TIMEOUT: &str = "idle_timeout";
    /// Older than `max_connection_age_ms`.
    pub const MAX_AGE: &str = "max_age";
    /// A response not taken, or a write blocked, for `send_timeout_ms`.
    pub const SEND_TIMEOUT: &str = "send_timeout";
    /// Still open long after a graceful close was asked for.
    pub const CLOSE_TIMEOUT: &str = "close_timeout";
    /// hyper answered 431 itself: request head or a header too large, too many headers.
    pub const HTTP_HEAD_TOO_LARGE: &str = "http_head_too_large";
    /// hyper answered 400 itself: a malformed request line or header.
    pub const HTTP_MALFORMED: &str = "http_malformed";
    /// An HTTP/1 request head that did not arrive within `header_read_timeout_ms`.
    pub const HTTP_HEADER_TIMEOUT: &str = "http_header_timeout";
    /// Any other protocol or IO error that ended a connection (a reset, an HTTP/2 error).
    pub const CONNECTION_ERROR: &str = "connection_error";
}

/// Serve until `shutdown` completes.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = gateway.config.limits.clone();
    let metrics = gateway.metrics().clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = Arc::new(PerIp::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(64 * 1024)
        .max_concurrent_streams(128)
        // A peer that stops answering PINGs is gone: its streams and slot are freed.
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout);
    let builder = Arc::new(builder);
    // After a graceful close, every request of the connection can still finish: its body
    // may take `request_timeout`, the CRM `upstream.timeout`, the client `send_timeout`.
    let grace = limits.request_timeout + gateway.config.upstream.timeout + limits.send_timeout;
    tokio::pin!(shutdown);

    loop {
        // The connection limit: wait for a free slot before accepting.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The per-address limit: one address cannot take every slot. fail closed: refused
        // at once (closed), rather than left to wait for a slot it might never give back.
        let Some(ip_slot) = per_ip.enter(peer.ip(), limits.max_connections_per_ip) else {
            metrics.connection_event(reason::PER_IP_LIMIT);
            tracing::debug!(peer = %peer, "connection refused: per-address limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            gateway: gateway.clone(),
            builder: builder.clone(),
            limits: limits.clone(),
            metrics: metrics.clone(),
            stop: stop_rx.clone(),
            grace,
            peer,
            // Field order is drop order: the address's count goes down before the slot is
            // free, so a connection accepted into that slot is not refused by a stale count.
            _slot: Slot {
                _ip: ip_slot,
                _global: slot,
                _open: OpenGauge::new(&metrics),
            },
        };
        tokio::spawn(conn.run(stream, tls.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Connections per client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

struct IpSlot {
    map: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<IpSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            map: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.map.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// `crmgate_connections_open`, up while the connection lives.
struct OpenGauge(Arc<Metrics>);

impl OpenGauge {
    fn new(metrics: &Arc<Metrics>) -> OpenGauge {
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenGauge(metrics.clone())
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Slot {
    _ip: IpSlot,
    _global: OwnedSemaphorePermit,
    _open: OpenGauge,
}

/// One accepted connection and what it needs.
struct Conn {
    gateway: Arc<Gateway>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Limits,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
    grace: Duration,
    peer: SocketAddr,
    _slot: Slot,
}

impl Conn {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let peer = self.peer;
        let Some(acceptor) = tls else {
            // Plaintext: the connection is ready at accept; the first-request deadline is
            // its handshake deadline.
            self.serve(stream, None).await;
            return;
        };
        let stream =
            match tokio::time::timeout(self.limits.header_read_timeout, acceptor.accept(stream))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    self.metrics.connection_event(reason::TLS_HANDSHAKE_FAILED);
                    tracing::debug!(peer = %peer, reason = %e, "tls handshake failed");
                    return;
                }
                Err(_) => {
                    self.metrics.connection_event(reason::TLS_HANDSHAKE_TIMEOUT);
                    tracing::debug!(peer = %peer, "tls handshake timed out");
                    return;
                }
            };
        // The certificate rustls verified (mTLS), read once per connection and passed with
        // the peer address to every request on it.
        let cert = match stream.get_ref().1.peer_certificates() {
            None => None,
            Some(chain) => match chain.first().map(|c| ClientCert::parse(c)) {
                Some(Ok(c)) => Some(Arc::new(c)),
                Some(Err(e)) => {
                    // fail closed: a certificate we cannot read names nobody.
                    self.metrics
                        .connection_event(reason::CLIENT_CERT_UNREADABLE);
                    tracing::debug!(peer = %peer, reason = %e, "client certificate refused");
                    return;
                }
                None => None,
            },
        };
        self.serve(stream, cert).await;
    }

    /// Serve HTTP on `io` with the watchdog beside it.
    async fn serve<I>(self, io: I, cert: Option<Arc<ClientCert>>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let state = Arc::new(ConnState::new());
        // The raw request heads, for what hyper's parser folds away (sanitize checks them).
        let (io, wire) = crate::stages::sanitize::wire::watch(io);
        let io = MeteredIo {
            inner: io,
            state: state.clone(),
        };
        let service = {
            let gateway = self.gateway.clone();
            let state = state.clone();
            service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(wire.next_request());
                // Counted when hyper hands the request over, not when its future first runs.
                let active = state.begin_request();
                let gateway = gateway.clone();
                let cert = cert.clone();
                async move {
                    let mut response = gateway.handle_detached(req, peer, cert).await;
                    // From here the client has `send_timeout` to take the response; the
                    // guard leaves the books when the body is dropped.
                    active.sending();
                    response.body_mut().hold(Box::new(active));
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let conn = self
            .builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        tokio::pin!(conn);

        let limits = &self.limits;
        let mut ticker = tokio::time::interval(watchdog_tick(limits));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        // When a graceful close was asked for (by the watchdog or shutdown).
        let mut closing: Option<Instant> = None;
        if stopping {
            conn.as_mut().graceful_shutdown();
            closing = Some(Instant::now());
        }
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        // A close we asked for is counted under its own reason already.
                        if closing.is_none() {
                            let r = classify(e.as_ref());
                            self.metrics.connection_event(r);
                            tracing::debug!(peer = %peer, reason = r, "connection ended with an error");
                        }
                    }
                    return;
                }
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_err() || *stop.borrow() {
                        conn.as_mut().graceful_shutdown();
                        closing.get_or_insert_with(Instant::now);
                    }
                }
                _ = ticker.tick() => {
                    match state.check(limits, closing, self.grace) {
                        Verdict::Keep => {}
                        Verdict::Close(r) => {
                            self.metrics.connection_event(r);
                            tracing::debug!(peer = %peer, reason = r, "closing connection");
                            conn.as_mut().graceful_shutdown();
                            closing = Some(Instant::now());
                        }
                        Verdict::Cut(r) => {
                            self.metrics.connection_event(r);
                            tracing::debug!(peer = %peer, reason = r, "cutting connection");
                            // Dropping the connection closes the socket and drops its response
                            // bodies (and their buffering permits); requests already handed
                            // over still finish and are recorded.
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// How often a connection's watchdog looks: a quarter of the shortest deadline, between
/// 10 ms and 1 s.
fn watchdog_tick(limits: &Limits) -> Duration {
    [
        limits.first_request_timeout,
        limits.idle_timeout,
        limits.send_timeout,
        limits.max_connection_age,
    ]
    .into_iter()
    .min()
    .unwrap_or(Duration::from_secs(1))
    .div_f32(4.0)
    .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// What the connection's IO and requests tell the watchdog.
struct ConnState {
    ready: Instant,
    inner: Mutex<Activity>,
    /// Milliseconds since `ready` (+1) at which a write to the client started to block;
    /// 0 while writes go through.
    write_blocked_since: AtomicU64,
}

struct Activity {
    requests: u64,
    next_id: u64,
    /// Requests in flight: `None` while handled, `Some(t)` once the response was ready at `t`.
    active: HashMap<u64, Option<Instant>>,
    /// When the last request started or ended.
    last_change: Instant,
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    /// Close gracefully, counted under this reason.
    Close(&'static str),
    /// Drop the connection now, counted under this reason.
    Cut(&'static str),
}

impl ConnState {
    fn new() -> ConnState {
        let now = Instant::now();
        ConnState {
            ready: now,
            inner: Mutex::new(Activity {
                requests: 0,
                next_id: 0,
                active: HashMap::new(),
                last_change: now,
            }),
            write_blocked_since: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Activity> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin_request(self: &Arc<Self>) -> ActiveRequest {
        let mut a = self.lock();
        a.requests += 1;
        a.next_id += 1;
        let id = a.next_id;
        a.active.insert(id, None);
        a.last_change = Instant::now();
        ActiveRequest {
            state: self.clone(),
            id,
        }
    }

    fn since_ready_ms(&self) -> u64 {
        u64::try_from(self.ready.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn write_blocked(&self) {
        let now = self.since_ready_ms().saturating_add(1);
        let _ =
            self.write_blocked_since
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn write_progressed(&self) {
        self.write_blocked_since.store(0, Ordering::Relaxed);
    }

    /// The watchdog's rules, most severe first.
    fn check(&self, limits: &Limits, closing: Option<Instant>, grace: Duration) -> Verdict {
        let now = Instant::now();
        if closing.is_some_and(|c| now.duration_since(c) > grace) {
            return Verdict::Cut(reason::CLOSE_TIMEOUT);
        }
        let blocked = self.write_blocked_since.load(Ordering::Relaxed);
        if blocked > 0
            && Duration::from_millis(self.since_ready_ms().saturating_sub(blocked - 1))
                > limits.send_timeout
        {
            return Verdict::Cut(reason::SEND_TIMEOUT);
        }
        let a = self.lock();
        if a.active
            .values()
            .flatten()
            .any(|since| now.duration_since(*since) > limits.send_timeout)
        {
            return Verdict::Cut(reason::SEND_TIMEOUT);
        }
        if a.requests == 0 && now.duration_since(self.ready) > limits.first_request_timeout {
            return Verdict::Cut(reason::FIRST_REQUEST_TIMEOUT);
        }
        if closing.is_some() {
            return Verdict::Keep;
        }
        if a.active.is_empty() && now.duration_since(a.last_change) > limits.idle_timeout {
            return Verdict::Close(reason::IDLE_TIMEOUT);
        }
        if now.duration_since(self.ready) > limits.max_connection_age {
            return Verdict::Close(reason::MAX_AGE);
        }
        Verdict::Keep
    }
}

/// A request in flight on a connection, until its response body is dropped (or, if the
/// client went away first, its handler future is).
struct ActiveRequest {
    state: Arc<ConnState>,
    id: u64,
}

impl ActiveRequest {
    fn sending(&self) {
        let mut a = self.state.lock();
        if let Some(s) = a.active.get_mut(&self.id) {
            *s = Some(Instant::now());
        }
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        let mut a = self.state.lock();
        a.active.remove(&self.id);
        a.last_change = Instant::now();
    }
}

/// The connection's IO, reporting to the watchdog whether writes to the client go through.
struct MeteredIo<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> MeteredIo<T> {
    fn note<R>(&self, poll: &Poll<io::Result<R>>) {
        match poll {
            Poll::Pending => self.state.write_blocked(),
            Poll::Ready(_) => self.state.write_progressed(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for MeteredIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for MeteredIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note(&poll);
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.note(&poll);
        poll
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The reason an error that ended a connection is counted under.
fn classify(e: &(dyn std::error::Error + Send + Sync + 'static)) -> &'static str {
    let Some(h) = e.downcast_ref::<hyper::Error>() else {
        return reason::CONNECTION_ERROR;
    };
    if h.is_parse_too_large() {
        reason::HTTP_HEAD_TOO_LARGE
    } else if h.is_parse() || h.is_parse_version_h2() {
        reason::HTTP_MALFORMED
    } else if h.is_timeout() {
        reason::HTTP_HEADER_TIMEOUT
    } else {
        reason::CONNECTION_ERROR
    }
}

/// Writes the connection events counted since the last entry to the audit log, as one
/// aggregated `connection_events` entry: counts by reason and the interval, no addresses.
#[derive(Debug)]
pub struct ConnectionEventsReport {
    metrics: Arc<Metrics>,
    audit: Arc<dyn AuditSink>,
    last: Mutex<(BTreeMap<&'static str, u64>, String)>,
}

impl ConnectionEventsReport {
    pub fn new(metrics: Arc<Metrics>, audit: Arc<dyn AuditSink>) -> ConnectionEventsReport {
        ConnectionEventsReport {
            metrics,
            audit,
            last: Mutex::new((BTreeMap::new(), now())),
        }
    }

    /// Write an entry if anything was counted since the last one.
    pub fn flush(&self) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.metrics.connection_events();
        let counts: serde_json::Map<String, serde_json::Value> = current
            .iter()
            .filter_map(|(r, n)| {
                let delta = n.saturating_sub(last.0.get(r).copied().unwrap_or(0));
                (delta > 0).then(|| ((*r).to_string(), serde_json::Value::from(delta)))
            })
            .collect();
        if counts.is_empty() {
            return;
        }
        let until = now();
        let entry = serde_json::json!({ "since": last.1, "until": until, "counts": counts });
        match self.audit.notice("connection_events", entry) {
            Ok(()) => *last = (current, until),
            // Counted again into the next entry.
            Err(e) => tracing::warn!(error = %e, "cannot write connection events"),
        }
    }
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Every `interval`, write the connection events counted since the last entry.
pub async fn report_connection_events(report: Arc<ConnectionEventsReport>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        report.flush();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_request_body_bytes: 1024,
            max_connections: 8,
            max_connections_per_ip: 2,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            first_request_timeout: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(50),
            max_connection_age: Duration::from_secs(3600),
            http2_keep_alive_interval: Duration::from_secs(30),
            http2_keep_alive_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_millis(50),
            max_buffered_responses: 1,
            max_upstream_requests_per_request: 50,
            max_upstream_bytes_per_request: 1 << 26,
        }
    }

    #[test]
    fn the_watchdog_cuts_silent_idle_and_unread_connections() {
        let l = limits();
        let grace = Duration::from_secs(60);
        let s = Arc::new(ConnState::new());
        assert_eq!(s.check(&l, None, grace), Verdict::Keep);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.check(&l, None, grace),
            Verdict::Cut(reason::FIRST_REQUEST_TIMEOUT)
        );
        let r = s.begin_request();
        std::thread::sleep(Duration::from_millis(60));
        // Being handled (the CRM is slow): not idle, not a slow reader.
        assert_eq!(s.check(&l, None, grace), Verdict::Keep);
        r.sending();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(s.check(&l, None, grace), Verdict::Cut(reason::SEND_TIMEOUT));
        drop(r);
        assert_eq!(s.check(&l, None, grace), Verdict::Keep);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.check(&l, None, grace),
            Verdict::Close(reason::IDLE_TIMEOUT)
        );
        s.write_blocked();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.check(&l, Some(Instant::now()), grace),
            Verdict::Cut(reason::SEND_TIMEOUT)
        );
        s.write_progressed();
        assert_eq!(s.check(&l, Some(Instant::now()), grace), Verdict::Keep);
    }

    #[test]
    fn an_address_gets_no_more_than_its_share_of_slots() {
        let p = Arc::new(PerIp::default());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = p.enter(ip, 2).unwrap();
        let _b = p.enter(ip, 2).unwrap();
        assert!(p.enter(ip, 2).is_none());
        assert!(p.enter("127.0.0.2".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(p.enter(ip, 2).is_some());
    }
}
