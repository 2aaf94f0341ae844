//! The HTTP/1.1 server loop: accepts connections from any [`Listener`] (plain TCP, or the
//! TLS listener's finished handshakes) and serves the router on each with hyper, which axum's
//! own `serve` cannot configure. What it adds:
//!
//! - a header read timeout: a connection that has not sent a complete request head within
//!   `limits.handshake_timeout` (silent, or one byte every few seconds) is closed, and so is a
//!   keep-alive connection idle that long;
//! - at most `limits.idle_connections_per_ip` such connections per address ([`idle`]): the rest
//!   are closed at once, so one address cannot hold every file descriptor;
//! - each connection's written bytes counted ([`meter`]) and given to its requests, with the
//!   peer address (`ConnectInfo`), as request extensions.
//!
//! Shutdown is graceful: once `stop` resolves no connection is accepted, each open one
//! finishes its request in flight, and the loop returns when all have closed.

pub mod idle;
pub mod meter;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::debug;

pub use idle::IdleConnections;
pub use meter::{ConnMeter, Metered};

/// How connections are served.
#[derive(Clone)]
pub struct Options {
    /// Longest a connection may take to send a request head (or stay idle between requests).
    pub header_timeout: Duration,
    /// Connections per address still waiting for their first request.
    pub idle: Arc<IdleConnections>,
    /// Called for each connection closed at once because its address had too many waiting.
    pub on_shed: Arc<dyn Fn() + Send + Sync>,
}

/// Serves `router` on connections from `listener` until `stop` resolves, then waits for the
/// open connections to finish (the caller bounds that wait).
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    options: Options,
    stop: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connections = TaskTracker::new();
    let (closing, closed) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (io, peer) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let Some(waiting) = options.idle.open(peer.ip()) else {
            (options.on_shed)();
            debug!(%peer, "connection closed at once: too many from this address without a request");
            continue;
        };
        let meter = Arc::new(ConnMeter::default());
        let io = TokioIo::new(Metered::new(io, meter.clone()));
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            waiting.request_seen();
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(meter.clone());
            router.clone().oneshot(request)
        });
        let mut closed = closed.clone();
        let header_timeout = options.header_timeout;
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        debug!(%peer, "connection ended: {e}");
                    }
                }
                () = async { drop(closed.wait_for(|c| *c).await) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    connections.close();
    connections.wait().await;
}
