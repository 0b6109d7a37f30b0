//! A tier's HTTP transport: connections accepted under a cap, and hyper's per-connection
//! limits (header read timeout, header size, HTTP/2 streams and frames), so that idle or
//! slow sockets cannot take a tier down.
//!
//! - **Open connections** are capped (`max_connections`): one beyond the cap is closed as
//!   soon as it is accepted, before a byte is read, and counted in `/metrics`
//!   (`mcp_connections_refused_total`; `mcp_connections_open` is the gauge).
//! - **Header read timeout** (`header_read_timeout_ms`): a connection that has not sent a
//!   whole request head this long after it opened, or after its previous answer, is closed.
//!   The first head is timed here (hyper's auto builder first waits, untimed, for the bytes
//!   that tell HTTP/1.1 from HTTP/2); the later ones by hyper's HTTP/1.1 timer, which is
//!   also the idle keep-alive timeout (hyper has no separate idle timer).
//! - **Header size** (`max_header_bytes`): the HTTP/1.1 read buffer; a larger head gets 431.
//! - **HTTP/2** (prior knowledge, `h2c`): concurrent streams, frame size, header list size,
//!   and keep-alive pings that close a connection whose peer stopped answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::config::Transport;
use crate::metrics::Metrics;

/// What every worker of one tier shares: the connection cap, the connection builder and
/// the gauges.
pub struct Connections {
    open: Arc<Semaphore>,
    cap: u32,
    builder: Builder<TokioExecutor>,
    header_read_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Connections {
    pub fn new(limits: &Transport, metrics: Arc<Metrics>) -> Arc<Self> {
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .max_frame_size(limits.http2_max_frame_size)
            .max_header_list_size(limits.http2_max_header_list_size)
            .keep_alive_interval(limits.http2_keep_alive_interval);
        let cap = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        Arc::new(Connections {
            open: Arc::new(Semaphore::new(cap as usize)),
            cap,
            builder,
            header_read_timeout: limits.header_read_timeout,
            metrics,
        })
    }

    /// Serves every connection `listener` accepts until `stopping`, then asks each open
    /// connection to finish its requests in flight and close, and waits until all have.
    pub async fn serve(
        self: Arc<Self>,
        mut listener: impl Listener<Io = TcpStream, Addr = SocketAddr>,
        app: Router,
        stopping: CancellationToken,
    ) {
        loop {
            let (io, peer) = tokio::select! {
                () = stopping.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok(permit) = self.open.clone().try_acquire_owned() else {
                self.metrics.connection_refused();
                tracing::debug!(%peer, cap = self.cap, "connection cap reached: closed");
                drop(io);
                continue;
            };
            if let Err(e) = io.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
            self.metrics.connection_opened();
            // Set once the first request head has been read: until then nothing of hyper's
            // times the connection (the first bytes go to telling HTTP/1.1 from HTTP/2).
            let started = Arc::new(AtomicBool::new(false));
            let service = {
                let started = started.clone();
                app.clone()
                    .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
                        started.store(true, Ordering::Relaxed);
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request
                    })
            };
            let connection = self
                .builder
                .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service))
                .into_owned();
            let (stopping, metrics) = (stopping.clone(), self.metrics.clone());
            let first_head = self.header_read_timeout;
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                let deadline = tokio::time::sleep(first_head);
                let mut deadline = std::pin::pin!(deadline);
                let mut watching = true;
                let ended = loop {
                    tokio::select! {
                        ended = connection.as_mut() => break ended,
                        () = stopping.cancelled() => {
                            connection.as_mut().graceful_shutdown();
                            break connection.await;
                        }
                        () = &mut deadline, if watching => {
                            if !started.load(Ordering::Relaxed) {
                                tracing::debug!(%peer, "no request head in time: closed");
                                break Ok(());
                            }
                            watching = false;
                        }
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                metrics.connection_closed();
                drop(permit);
            });
        }
        drop(listener);
        // Every permit back means every connection of this tier has closed (the semaphore is
        // shared by the workers; the last one to get here sees them all closed).
        let _ = self.open.acquire_many(self.cap).await;
    }
}
