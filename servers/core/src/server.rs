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

/// What a tier is assembled from (both binaries build one).
pub struct TierParts {
    pub name: &'static str,
    pub tier: crate::config::Tier,
    pub limits: crate::config::TierLimits,
    pub network: crate::config::Listener,
    /// `None` accepts any Host (a public, authenticating tier).
    pub allowed_hosts: Option<Vec<String>>,
    pub mode: crate::stack::Mode,
    pub registry: Arc<crate::registry::ToolRegistry>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub audit: crate::audit::AuditSink,
    pub audit_task: tokio::task::JoinHandle<()>,
    pub readiness: Arc<dyn crate::health::Readiness>,
    pub auth: Option<Arc<dyn crate::admission::Authenticator>>,
    /// Without the admission stack, audit and spans (cost measurements only).
    pub bare: bool,
}

/// A tier ready to serve: its router and what shutdown needs.
pub struct TierServer {
    pub router: Router,
    pub admission: Arc<Admission>,
    pub handler: crate::handler::McpHandler,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub sessions: CancellationToken,
    pub limits: crate::config::TierLimits,
    audit: crate::audit::AuditSink,
    audit_task: tokio::task::JoinHandle<()>,
}

impl TierServer {
    pub fn assemble(parts: TierParts) -> TierServer {
        let TierParts {
            name,
            tier,
            limits,
            network,
            allowed_hosts,
            mode,
            registry,
            metrics,
            audit,
            audit_task,
            readiness,
            auth,
            bare,
        } = parts;
        let admission = Arc::new(Admission::new(
            tier,
            limits.clone(),
            metrics.clone(),
            audit.clone(),
            auth,
        ));
        let mut handler = crate::handler::McpHandler::new(
            name,
            tier,
            limits.clone(),
            registry,
            metrics.clone(),
            audit.clone(),
        );
        if bare {
            handler = handler.without_spans();
        }
        let sessions = CancellationToken::new();
        let router = crate::stack::app(crate::stack::StackParts {
            handler: handler.clone(),
            admission: admission.clone(),
            guard: crate::stack::Guard {
                allowed_hosts,
                allowed_origins: network.allowed_origins.clone(),
                metrics: metrics.clone(),
            },
            cors_enabled: network.cors_enabled,
            mode,
            readiness,
            metrics: metrics.clone(),
            sessions: sessions.clone(),
            bare,
        });
        TierServer {
            router,
            admission,
            handler,
            metrics,
            sessions,
            limits,
            audit,
            audit_task,
        }
    }

    /// Serves until `shutdown` resolves, drains calls in flight, and flushes the audit
    /// trail.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let TierServer {
            router,
            admission,
            handler,
            sessions,
            limits,
            audit,
            audit_task,
            ..
        } = self;
        let drain = limits.timeout + Duration::from_secs(1);
        let result = serve(listener, router, admission, sessions, drain, shutdown).await;
        drop(handler);
        drop(audit);
        // The writer ends when the last sink is gone; give stragglers a moment.
        let _ = tokio::time::timeout(Duration::from_secs(2), audit_task).await;
        result
    }
}
