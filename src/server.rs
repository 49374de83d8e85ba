//! Stage 1, listen: the accept loop.
//!
//! Accepts TCP connections up to the connection limit, completes the TLS handshake within
//! the header timeout, and serves HTTP/1.1 and HTTP/2 (hyper's auto builder) with every
//! request going through [`Gateway::handle`]. Shuts down gracefully: stops accepting, lets
//! in-flight requests finish. A failing connection never takes the server down.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::identity::ClientCert;
use crate::pipeline::Gateway;

/// Most header fields a request may carry.
const MAX_HEADERS: usize = 100;

/// Serve until `shutdown` completes.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = gateway.config.limits.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
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
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
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
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(
                        handshake_timeout,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, reason = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(peer = %peer, "tls handshake timed out");
                            return;
                        }
                    };
                    // The certificate rustls verified (mTLS), read once per connection and
                    // passed with the peer address to every request on it.
                    let cert = match stream.get_ref().1.peer_certificates() {
                        None => None,
                        Some(chain) => match chain.first().map(|c| ClientCert::parse(c)) {
                            Some(Ok(c)) => Some(Arc::new(c)),
                            Some(Err(e)) => {
                                // fail closed: a certificate we cannot read names nobody.
                                tracing::debug!(peer = %peer, reason = %e, "client certificate refused");
                                return;
                            }
                            None => None,
                        },
                    };
                    // The raw request heads, for what hyper's parser folds away.
                    let (stream, wire) = crate::sanitize::wire::watch(stream);
                    let service = service_fn(move |mut req: hyper::Request<_>| {
                        req.extensions_mut().insert(wire.next_request());
                        let gateway = gateway.clone();
                        let cert = cert.clone();
                        async move {
                            Ok::<_, Infallible>(
                                gateway.handle_conn(req, peer, cert.as_deref()).await,
                            )
                        }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(peer = %peer, reason = %e, "connection ended with an error");
                    }
                }
                None => {
                    let (stream, wire) = crate::sanitize::wire::watch(stream);
                    let service = service_fn(move |mut req: hyper::Request<_>| {
                        req.extensions_mut().insert(wire.next_request());
                        let gateway = gateway.clone();
                        async move { Ok::<_, Infallible>(gateway.handle(req, peer).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(peer = %peer, reason = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
