//! Pipelined Postgres connections for one database (tokio-postgres).
//!
//! A read-only call goes to the open connection with the fewest calls in flight. A new
//! connection is opened, up to the pool size, when every open one already carries `depth`
//! calls. With the default depth of 1 each call has a connection to itself while the pool
//! has room; beyond it, calls are pipelined behind the least busy connection's instead of
//! waiting for one to come free (tokio-postgres sends statements queued meanwhile in one
//! write, and Postgres reads them in one go). A larger depth pipelines earlier, on fewer
//! connections: less Postgres CPU per call, but a slow statement holds up the calls queued
//! behind it on its connection. Nothing is sent when a call ends: the connection is simply
//! free for the next one (no ping, no task).
//!
//! Calls that must run alone on a connection (writes, and calls whose deadline needs
//! `SET LOCAL statement_timeout` in a transaction) take the connection exclusively: they
//! wait for the pipelined calls already on it and keep new ones off until they finish.
//!
//! Every connection carries the session `statement_timeout` given at construction, and
//! caches up to [`STATEMENTS`] prepared statements by their text (least recently used
//! ones are closed on the server).
//!
//! With several serving workers (`mcp_server_core::server`), the slots are split into one
//! share per worker and a call uses its own worker's share, so a connection's task runs on
//! the thread of the calls it carries; only when that share is full does it use room in
//! another's.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hashlink::LruCache;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use tokio_postgres::{Client, Config, NoTls, Statement};

/// Prepared statements kept per connection.
pub const STATEMENTS: usize = 256;

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the database is unreachable: {0}")]
    Connect(tokio_postgres::Error),
    #[error("no database connection within {0:?}")]
    Timeout(Duration),
}

pub struct PgConnections {
    config: Config,
    slots: Vec<Slot>,
    shards: usize,
    depth: usize,
    connect_timeout: Duration,
}

/// How many connections, how deep they pipeline, and how many workers share them.
#[derive(Debug, Clone, Copy)]
pub struct PoolShape {
    /// Connections in all; raised to `shards` if lower (each worker has one at least).
    pub size: usize,
    /// Read-only calls carried by one connection before another is opened.
    pub depth: usize,
    /// Workers, each with its own share of the connections.
    pub shards: usize,
}

#[derive(Default)]
struct Slot {
    conn: Mutex<Option<Arc<Conn>>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn usable(&self) -> Option<Arc<Conn>> {
        self.conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|c| c.usable())
            .cloned()
    }
}

pub struct Conn {
    client: Client,
    in_flight: AtomicUsize,
    exclusive: Arc<RwLock<()>>,
    statements: Mutex<LruCache<String, Statement>>,
    broken: AtomicBool,
}

impl Conn {
    fn usable(&self) -> bool {
        !self.broken.load(Ordering::Relaxed) && !self.client.is_closed()
    }
}

/// What one look over some slots found.
struct Scan<'a> {
    best: Option<Arc<Conn>>,
    free: Option<(&'a Slot, tokio::sync::MutexGuard<'a, ()>)>,
    connecting: Option<&'a Slot>,
}

impl Scan<'_> {
    /// No open connection carries fewer than `limit` calls.
    fn busy(&self, limit: usize) -> bool {
        self.best
            .as_ref()
            .is_none_or(|b| b.in_flight.load(Ordering::Relaxed) >= limit)
    }
}

/// A call counted on a connection until dropped.
struct Claim(Arc<Conn>);

impl Claim {
    fn new(conn: Arc<Conn>) -> Self {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        Claim(conn)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One call's hold on a connection; gives it back (a counter) when dropped.
pub struct Lease {
    conn: Claim,
    // Held for their drop: one of them, by the kind of lease.
    _shared: Option<OwnedRwLockReadGuard<()>>,
    _exclusive: Option<OwnedRwLockWriteGuard<()>>,
}

impl Lease {
    pub fn client(&self) -> &Client {
        &self.conn.0.client
    }

    /// The prepared statement for `sql` on this connection, preparing it on first use.
    pub async fn statement(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(found) = self.cache().get(sql) {
            return Ok(found.clone());
        }
        let prepared = self.conn.0.client.prepare(sql).await?;
        self.cache().insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<String, Statement>> {
        self.conn
            .0
            .statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection is in an unknown state (a transaction left open by a call that was
    /// cut off, a broken socket): close it; its slot reconnects on next use.
    pub fn discard(&self) {
        self.conn.0.broken.store(true, Ordering::Relaxed);
    }
}

impl PgConnections {
    /// Opens nothing yet: connections are made on first use.
    pub fn new(config: Config, shape: PoolShape, connect_timeout: Duration) -> Self {
        let shards = shape.shards.max(1);
        PgConnections {
            config,
            slots: (0..shape.size.max(shards))
                .map(|_| Slot::default())
                .collect(),
            shards,
            depth: shape.depth.max(1),
            connect_timeout,
        }
    }

    /// The calling worker's share of the slots, and the others' shares.
    fn shares(&self) -> (&[Slot], impl Iterator<Item = &Slot>) {
        let worker = mcp_server_core::server::worker_index() % self.shards;
        let len = self.slots.len();
        let (start, end) = (worker * len / self.shards, (worker + 1) * len / self.shards);
        (
            &self.slots[start..end],
            self.slots[..start].iter().chain(&self.slots[end..]),
        )
    }

    /// The least busy open connection, the first free slot (locked for connecting) and a
    /// slot being connected by another call, among `slots`.
    fn scan<'a>(&self, slots: impl Iterator<Item = &'a Slot>) -> Scan<'a> {
        let mut scan = Scan {
            best: None,
            free: None,
            connecting: None,
        };
        for slot in slots {
            match slot.usable() {
                Some(conn) => {
                    let load = conn.in_flight.load(Ordering::Relaxed);
                    if scan
                        .best
                        .as_ref()
                        .is_none_or(|b| load < b.in_flight.load(Ordering::Relaxed))
                    {
                        scan.best = Some(conn);
                    }
                    if load == 0 {
                        break;
                    }
                }
                None if scan.free.is_none() => match slot.connecting.try_lock() {
                    Ok(guard) => scan.free = Some((slot, guard)),
                    Err(_) => scan.connecting = scan.connecting.or(Some(slot)),
                },
                None => {}
            }
        }
        scan
    }

    /// A connection shared with other read-only calls.
    pub async fn shared(&self) -> Result<Lease, PoolError> {
        self.lease(false).await
    }

    /// A connection to itself until the lease is dropped.
    pub async fn exclusive(&self) -> Result<Lease, PoolError> {
        self.lease(true).await
    }

    async fn lease(&self, alone: bool) -> Result<Lease, PoolError> {
        let conn = self.pick(if alone { 1 } else { self.depth }).await?;
        let lock = conn.0.exclusive.clone();
        let (shared, exclusive) = if alone {
            let guard = match lock.clone().try_write_owned() {
                Ok(g) => g,
                Err(_) => self.within(lock.write_owned()).await?,
            };
            (None, Some(guard))
        } else {
            let guard = match lock.clone().try_read_owned() {
                Ok(g) => g,
                Err(_) => self.within(lock.read_owned()).await?,
            };
            (Some(guard), None)
        };
        Ok(Lease {
            conn,
            _shared: shared,
            _exclusive: exclusive,
        })
    }

    async fn within<T>(&self, fut: impl Future<Output = T>) -> Result<T, PoolError> {
        tokio::time::timeout(self.connect_timeout, fut)
            .await
            .map_err(|_| PoolError::Timeout(self.connect_timeout))
    }

    /// The least busy open connection if it carries fewer than `limit` calls; otherwise a
    /// new one in a free slot (each caller opening its own, not queueing behind another's
    /// connect); otherwise, once no slot is still connecting, the least busy one anyway.
    /// The call is counted on the connection before anyone else looks.
    ///
    /// The calling worker's share is looked at first. Only when it is full (every slot
    /// open, every connection at `limit`) are the other shares used, if they have room,
    /// before queueing behind the share's own calls: a worker with more calls than its
    /// share never waits while another's connections are idle.
    async fn pick(&self, limit: usize) -> Result<Claim, PoolError> {
        loop {
            let (own, others) = self.shares();
            let mut scan = self.scan(own.iter());
            if scan.busy(limit) && scan.free.is_none() && scan.connecting.is_none() {
                let other = self.scan(others);
                if !other.busy(limit) || other.free.is_some() {
                    scan = other;
                }
            }
            let busy = scan.busy(limit);
            let Scan {
                best,
                free,
                connecting,
            } = scan;
            let conn = match (best, free, connecting) {
                (Some(conn), _, _) if !busy => conn,
                // Pipelining: a connection being opened will take `limit` calls; wait for
                // it rather than open one per caller.
                (_, Some((_, guard)), Some(slot)) if limit > 1 => {
                    drop(guard);
                    drop(self.within(slot.connecting.lock()).await?);
                    continue;
                }
                (best, Some((slot, guard)), _) => match self.open(slot, guard).await {
                    Ok(conn) => conn,
                    // Over the server's connection limit, say: use what is open.
                    Err(e) => best.ok_or(e)?,
                },
                // Other calls are opening connections: wait for one and look again.
                (_, None, Some(slot)) => {
                    drop(self.within(slot.connecting.lock()).await?);
                    continue;
                }
                (Some(conn), None, None) => conn,
                (None, None, None) => return Err(PoolError::Timeout(self.connect_timeout)),
            };
            return Ok(Claim::new(conn));
        }
    }

    async fn open(
        &self,
        slot: &Slot,
        _connecting: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<Arc<Conn>, PoolError> {
        if let Some(conn) = slot.usable() {
            return Ok(conn);
        }
        let (client, connection) = self
            .within(self.config.connect(NoTls))
            .await?
            .map_err(|e| {
                // The caller is told "unreachable"; the operator gets the cause.
                tracing::warn!(error = %e, "cannot connect to Postgres");
                PoolError::Connect(e)
            })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres connection ended");
            }
        });
        let conn = Arc::new(Conn {
            client,
            in_flight: AtomicUsize::new(0),
            exclusive: Arc::new(RwLock::new(())),
            statements: Mutex::new(LruCache::new(STATEMENTS)),
            broken: AtomicBool::new(false),
        });
        *slot.conn.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }

    /// `SELECT 1` on a shared connection (readiness).
    pub async fn ping(&self) -> Result<(), String> {
        let lease = self.shared().await.map_err(|e| e.to_string())?;
        lease
            .client()
            .simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Open connections (for tests).
    pub fn open_connections(&self) -> usize {
        self.slots.iter().filter(|s| s.usable().is_some()).count()
    }
}
