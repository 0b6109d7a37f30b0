//! Serving a tier: TCP_NODELAY on every accepted socket, graceful shutdown that stops
//! accepting and drains in-flight calls up to their deadline.
//!
//! With more than one worker, each worker is a thread with its own current-thread runtime
//! and the accepting task deals connections to them in turn. A connection, the tasks of its
//! requests and the backend connections its worker opens stay on one thread: no work
//! stealing and no wake-ups between threads on the request path (measured in
//! scripts/bench: about a third less server CPU per call than one multi-thread runtime).

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;
use crate::transport::Connections;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The worker this thread serves as (0 off the workers' threads). Backends that keep
/// connections per worker pick their share with it.
pub fn worker_index() -> usize {
    WORKER.with(Cell::get)
}

/// What shutdown waits for: calls in flight get up to `limit` (the tier's timeout) to
/// finish, then sessions and their SSE streams are closed.
struct Drain {
    admission: Arc<Admission>,
    sessions: CancellationToken,
    limit: Duration,
}

impl Drain {
    async fn after(self, stopping: CancellationToken) {
        stopping.cancelled().await;
        let deadline = tokio::time::Instant::now() + self.limit;
        while self.admission.inflight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.admission.inflight() > 0 {
            tracing::warn!(inflight = self.admission.inflight(), "drain limit reached");
        }
        self.sessions.cancel();
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see [`Drain`]):
/// new connections are refused at once. One worker serves on the calling runtime; more are
/// threads of their own (see the module's comment). Connections are accepted and served
/// under `connections`' limits (`transport.rs`).
async fn serve(
    listener: TcpListener,
    app: Router,
    connections: Arc<Connections>,
    drain: Drain,
    workers: NonZeroUsize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = CancellationToken::new();
    let drain = tokio::spawn(drain.after(stopping.clone()));
    let signal = {
        let stopping = stopping.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: draining calls in flight");
            stopping.cancel();
        })
    };
    let served = if workers.get() == 1 {
        connections.serve(listener, app, stopping.clone()).await;
        Ok(())
    } else {
        serve_on_workers(listener, app, connections, workers.get(), stopping.clone()).await
    };
    signal.abort();
    stopping.cancel();
    let _ = drain.await;
    served
}

/// Connections accepted on another runtime, handed to this worker.
struct Handoff {
    connections: UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl Listener for Handoff {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The accepting task has stopped; shutdown ends this worker's serving.
                return std::future::pending().await;
            };
            // Registers the socket with this worker's runtime.
            match TcpStream::from_std(stream) {
                Ok(stream) => return (stream, peer),
                Err(e) => tracing::warn!(error = %e, %peer, "cannot take over a connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// A thread named `name` that runs the future `start` makes (on that thread) to its end, on
/// a current-thread runtime of its own.
pub fn spawn_on_own_runtime<F>(
    name: String,
    start: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<F::Output>>
where
    F: Future,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(name)
        .spawn(move || runtime.block_on(start()))
}

/// Workers still serving; `all` is cancelled when none is.
struct Finished {
    serving: AtomicUsize,
    all: CancellationToken,
}

impl Finished {
    /// Counts one worker out, then waits for the others.
    async fn one_done(&self) {
        if self.serving.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all.cancel();
        }
        self.all.cancelled().await;
    }
}

/// Accepts here and deals the connections to `count` worker threads in turn.
async fn serve_on_workers(
    listener: TcpListener,
    app: Router,
    connections: Arc<Connections>,
    count: usize,
    stopping: CancellationToken,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    // Every worker's runtime stays up until all have stopped serving: a backend connection
    // one worker opened may still carry another's last calls.
    let finished = Arc::new(Finished {
        serving: AtomicUsize::new(count),
        all: CancellationToken::new(),
    });
    let mut workers: Vec<UnboundedSender<(std::net::TcpStream, SocketAddr)>> =
        Vec::with_capacity(count);
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        let (handoff, handed) = unbounded_channel();
        let (app, stop, done) = (app.clone(), stopping.clone(), finished.clone());
        let shared = connections.clone();
        let thread = spawn_on_own_runtime(format!("mcp-worker-{index}"), move || {
            WORKER.with(|w| w.set(index));
            async move {
                let listener = Handoff {
                    connections: handed,
                    local,
                };
                shared.serve(listener, app, stop).await;
                done.one_done().await;
                Ok(())
            }
        });
        match thread {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                // The workers already started stop serving and need not wait for the rest.
                stopping.cancel();
                finished.all.cancel();
                return Err(e);
            }
        }
        workers.push(handoff);
    }
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            () = stopping.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted.and_then(|(stream, peer)| Ok((stream.into_std()?, peer))) {
            Ok(connection) => {
                // A worker that is gone (its thread failed) loses the connection, which
                // its client sees as closed.
                let _ = workers[next].send(connection);
                next = (next + 1) % count;
            }
            // Out of file descriptors and the like: as axum does, wait and go on.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    drop(workers);
    finished.all.cancelled().await;
    let results = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a worker panicked")))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(std::io::Error::other)?;
    results.into_iter().collect()
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
    /// Where the rate limit is kept: the replica, or Redis for all replicas together.
    pub rate_store: crate::config::RateStore,
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
    /// What the tier serves as MCP resources, if anything.
    pub resources: Option<Arc<dyn crate::resources::ResourceSource>>,
    /// Without the admission stack, audit and spans (cost measurements only).
    pub bare: bool,
    /// Tasks that run while the tier serves (e.g. loading tool families).
    pub background: Vec<futures::future::BoxFuture<'static, ()>>,
}

/// A tier ready to serve: its router and what shutdown needs.
pub struct TierServer {
    pub router: Router,
    connections: Arc<Connections>,
    pub admission: Arc<Admission>,
    pub handler: crate::handler::McpHandler,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub sessions: CancellationToken,
    pub limits: crate::config::TierLimits,
    workers: NonZeroUsize,
    audit: crate::audit::AuditSink,
    audit_task: tokio::task::JoinHandle<()>,
    background: Vec<futures::future::BoxFuture<'static, ()>>,
}

impl TierServer {
    pub fn assemble(parts: TierParts) -> TierServer {
        let TierParts {
            name,
            tier,
            limits,
            rate_store,
            network,
            allowed_hosts,
            mode,
            registry,
            metrics,
            audit,
            audit_task,
            readiness,
            auth,
            resources,
            bare,
            background,
        } = parts;
        let admin = network.admin.enabled.then(|| crate::admin::AdminState {
            registry: registry.clone(),
            auth: auth.clone(),
            principals: network.admin.principals.clone(),
        });
        let admission = Arc::new(Admission::new(
            tier,
            limits.clone(),
            rate_store,
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
        if let Some(source) = resources {
            handler = handler.with_resources(source);
        }
        let sessions = CancellationToken::new();
        let router = crate::stack::app(crate::stack::StackParts {
            handler: handler.clone(),
            admission: admission.clone(),
            guard: crate::stack::Guard {
                allowed_hosts,
                allowed_origins: network.allowed_origins.clone(),
                allow_loopback_origins: network.allow_loopback_origins,
                vpc_endpoint: network.vpc_endpoint.clone(),
                metrics: metrics.clone(),
            },
            cors_enabled: network.cors_enabled,
            mode,
            readiness,
            metrics: metrics.clone(),
            sessions: sessions.clone(),
            bare,
        });
        let router = match admin {
            Some(state) => router.merge(crate::admin::router(state)),
            None => router,
        };
        TierServer {
            router,
            connections: Connections::new(&network.transport, metrics.clone()),
            admission,
            handler,
            metrics,
            sessions,
            limits,
            workers: NonZeroUsize::MIN,
            audit,
            audit_task,
            background,
        }
    }

    /// The audit trail's sink (what it has written and dropped).
    pub fn audit(&self) -> &crate::audit::AuditSink {
        &self.audit
    }

    /// Serve on `workers` threads of their own instead of the calling runtime (see the
    /// module's comment).
    pub fn with_workers(mut self, workers: NonZeroUsize) -> Self {
        self.workers = workers;
        self
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
            connections,
            admission,
            handler,
            sessions,
            limits,
            workers,
            audit,
            audit_task,
            background,
            ..
        } = self;
        let background: Vec<_> = background.into_iter().map(tokio::spawn).collect();
        let drain = Drain {
            admission,
            sessions,
            limit: limits.timeout + Duration::from_secs(1),
        };
        let result = serve(listener, router, connections, drain, workers, shutdown).await;
        for task in background {
            task.abort();
        }
        drop(handler);
        drop(audit);
        // The writer ends when the last sink is gone; give stragglers a moment.
        let _ = tokio::time::timeout(Duration::from_secs(2), audit_task).await;
        result
    }
}
