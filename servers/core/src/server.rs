//! Serving a tier: TCP_NODELAY on every accepted socket, graceful shutdown that stops
//! accepting and drains in-flight calls up to their deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;

/// Serves `app` on `listener` until `shutdown` completes, then drains: new connections are
/// refused at once, calls in flight get up to `drain_limit` (the tier's timeout) to finish,
/// then sessions and their SSE streams are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    admission: Arc<Admission>,
    sessions: CancellationToken,
    drain_limit: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = CancellationToken::new();
    let drain = {
        let stopping = stopping.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            let deadline = tokio::time::Instant::now() + drain_limit;
            while admission.inflight() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if admission.inflight() > 0 {
                tracing::warn!(inflight = admission.inflight(), "drain limit reached");
            }
            sessions.cancel();
        })
    };
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: draining calls in flight");
            stopping.cancel();
        }
    };
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await?;
    stopping.cancel();
    let _ = drain.await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
