//! TCP proxies in front of a target's backends, for delay and cut faults: every connection
//! to `listen` is passed to `to`. While a delay is set each chunk the backend sends back is
//! held for that long; chunks are queued with the time they may leave, so the delay adds
//! latency without limiting throughput (a round trip gains the delay once). While a proxy
//! is cut its open connections are closed and its address is not listened on, so new ones
//! are refused, as when the backend itself is down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mcp_slo_core::spec::faults::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Chunks read at once; and how many may wait in a connection's queue.
const CHUNK: usize = 64 * 1024;
const QUEUE: usize = 256;

/// How often a proxy tries to listen again after a cut, while its address is still taken.
const RELISTEN: Duration = Duration::from_millis(20);
/// How long a proxy keeps trying to listen again after a cut.
const RELISTEN_LIMIT: Duration = Duration::from_secs(10);

/// What a fault sets on one proxy.
struct Knobs {
    /// Microseconds each answer chunk is held.
    delay: AtomicU64,
    /// Whether the proxy is cut.
    cut: tokio::sync::watch::Sender<bool>,
}

/// The running proxies, by name; stopped when dropped.
#[derive(Default)]
pub struct Proxies {
    knobs: BTreeMap<String, Arc<Knobs>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxies {
    /// Listens on every proxy's address.
    pub async fn start(proxies: &[Proxy]) -> Result<Proxies, String> {
        let mut running = Proxies::default();
        for p in proxies {
            let listener = TcpListener::bind(p.listen)
                .await
                .map_err(|e| format!("proxy {}: cannot listen on {}: {e}", p.name, p.listen))?;
            let knobs = Arc::new(Knobs {
                delay: AtomicU64::new(0),
                cut: tokio::sync::watch::Sender::new(false),
            });
            running.knobs.insert(p.name.clone(), knobs.clone());
            running
                .tasks
                .push(tokio::spawn(serve(listener, p.clone(), knobs)));
        }
        Ok(running)
    }

    fn knobs(&self, name: &str) -> Result<&Knobs, String> {
        self.knobs
            .get(name)
            .map(|k| &**k)
            .ok_or_else(|| format!("no proxy {name:?} is running"))
    }

    /// Sets (or, with zero, removes) the delay of the proxy `name`.
    pub fn set_delay(&self, name: &str, delay: Duration) -> Result<(), String> {
        let k = self.knobs(name)?;
        k.delay.store(delay.as_micros() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Cuts the proxy `name` (closes its connections and stops listening) or, with
    /// `false`, lets it pass again.
    pub fn set_cut(&self, name: &str, cut: bool) -> Result<(), String> {
        self.knobs(name)?.cut.send_replace(cut);
        Ok(())
    }
}

/// Accepts connections until the proxy is cut; while it is, listens nowhere; then listens
/// on its address again.
async fn serve(mut listener: TcpListener, proxy: Proxy, knobs: Arc<Knobs>) {
    let mut cut = knobs.cut.subscribe();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let is_cut = tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { return };
                connections.spawn(relay(client, proxy.to, knobs.clone()));
                while connections.try_join_next().is_some() {}
                false
            }
            changed = cut.wait_for(|c| *c) => {
                if changed.is_err() {
                    return;
                }
                true
            }
        };
        if is_cut {
            drop(listener);
            if cut.wait_for(|c| !*c).await.is_err() {
                return;
            }
            listener = match relisten(&proxy).await {
                Some(l) => l,
                None => return,
            };
        }
    }
}

/// Listens on the proxy's address again (a connection closed by the cut may hold it for a
/// moment).
async fn relisten(proxy: &Proxy) -> Option<TcpListener> {
    let deadline = Instant::now() + RELISTEN_LIMIT;
    loop {
        match TcpListener::bind(proxy.listen).await {
            Ok(l) => return Some(l),
            Err(e) if Instant::now() >= deadline => {
                eprintln!(
                    "proxy {}: cannot listen on {} again after a cut: {e}",
                    proxy.name, proxy.listen
                );
                return None;
            }
            Err(_) => tokio::time::sleep(RELISTEN).await,
        }
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One connection: client → backend as it comes, backend → client through the delay
/// queue; closed (both sides) when the proxy is cut.
async fn relay(client: TcpStream, to: std::net::SocketAddr, knobs: Arc<Knobs>) {
    let mut cut = knobs.cut.subscribe();
    tokio::select! {
        _ = pass(client, to, &knobs) => {}
        _ = cut.wait_for(|c| *c) => {}
    }
}

async fn pass(client: TcpStream, to: std::net::SocketAddr, knobs: &Knobs) {
    let delay = &knobs.delay;
    let Ok(backend) = TcpStream::connect(to).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut backend_read, mut backend_write) = backend.into_split();
    let upstream = async {
        let _ = tokio::io::copy(&mut client_read, &mut backend_write).await;
        let _ = backend_write.shutdown().await;
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let read_back = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match backend_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let hold = Duration::from_micros(delay.load(Ordering::Relaxed));
                    if tx
                        .send((Instant::now() + hold, buf[..n].to_vec()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let write_back = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if client_write.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, read_back, write_back);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time one round trip through the proxy to the echo server takes.
    async fn round_trip(listen: std::net::SocketAddr) -> Duration {
        let mut c = TcpStream::connect(listen)
            .await
            .expect("connect to the proxy");
        let started = Instant::now();
        c.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.expect("read the echo");
        assert_eq!(&buf, b"ping");
        started.elapsed()
    }

    /// A proxy in front of an echo server, on a free loopback port.
    async fn echo_proxy() -> (Proxies, std::net::SocketAddr) {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let to = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let listen = free.local_addr().expect("addr");
        drop(free);
        let proxy = Proxy {
            name: "echo".into(),
            listen,
            to,
        };
        (Proxies::start(&[proxy]).await.expect("start"), listen)
    }

    #[tokio::test]
    async fn a_delay_is_added_to_answers_and_removed_again() {
        let (proxies, listen) = echo_proxy().await;
        // Without a delay a loopback round trip takes well under the delay used below.
        let delay = Duration::from_millis(400);
        assert!(round_trip(listen).await < delay);
        proxies.set_delay("echo", delay).expect("known proxy");
        let slow = round_trip(listen).await;
        assert!(slow >= delay, "{slow:?}");
        proxies.set_delay("echo", Duration::ZERO).expect("known");
        assert!(round_trip(listen).await < delay);
        assert!(proxies.set_delay("other", Duration::ZERO).is_err());
    }

    #[tokio::test]
    async fn a_cut_closes_open_connections_refuses_new_ones_and_ends() {
        let (proxies, listen) = echo_proxy().await;
        let mut open = TcpStream::connect(listen).await.expect("connect");
        open.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        open.read_exact(&mut buf)
            .await
            .expect("echo before the cut");
        proxies.set_cut("echo", true).expect("known proxy");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), open.read_to_end(&mut rest))
            .await
            .expect("the open connection is closed by the cut");
        assert!(
            closed.is_err() || rest.is_empty(),
            "nothing passes: {rest:?}"
        );
        // The listener is closed once the accept loop has seen the cut.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpStream::connect(listen).await {
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                    break;
                }
                Ok(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Ok(_) => panic!("the cut proxy still accepts connections"),
            }
        }
        proxies.set_cut("echo", false).expect("known proxy");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpStream::connect(listen).await {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("the proxy does not listen again after the cut: {e}"),
            }
        }
        let took = round_trip(listen).await;
        assert!(took < Duration::from_secs(1), "{took:?}");
        assert!(proxies.set_cut("other", true).is_err());
    }
}
