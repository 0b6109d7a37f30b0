//! TCP proxies in front of a target's backends, for delay faults: every connection to
//! `listen` is passed to `to`, and while a delay is set each chunk the backend sends back
//! is held for that long. Chunks are queued with the time they may leave, so the delay adds
//! latency without limiting throughput (a round trip gains the delay once).

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

/// The running proxies, by name; stopped when dropped.
#[derive(Default)]
pub struct Proxies {
    delays: BTreeMap<String, Arc<AtomicU64>>,
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
            let delay = Arc::new(AtomicU64::new(0));
            running.delays.insert(p.name.clone(), delay.clone());
            let to = p.to;
            running.tasks.push(tokio::spawn(async move {
                let mut connections = tokio::task::JoinSet::new();
                while let Ok((client, _)) = listener.accept().await {
                    connections.spawn(relay(client, to, delay.clone()));
                    while connections.try_join_next().is_some() {}
                }
            }));
        }
        Ok(running)
    }

    /// Sets (or, with zero, removes) the delay of the proxy `name`.
    pub fn set_delay(&self, name: &str, delay: Duration) -> Result<(), String> {
        let d = self
            .delays
            .get(name)
            .ok_or_else(|| format!("no proxy {name:?} is running"))?;
        d.store(delay.as_micros() as u64, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One connection: client → backend as it comes, backend → client through the delay queue.
async fn relay(client: TcpStream, to: std::net::SocketAddr, delay: Arc<AtomicU64>) {
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

    #[tokio::test]
    async fn a_delay_is_added_to_answers_and_removed_again() {
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
        let proxies = Proxies::start(&[proxy]).await.expect("start");
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
}
