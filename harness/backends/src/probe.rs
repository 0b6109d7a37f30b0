//! What the resolution looks at: the environment, loopback ports and the Docker engine.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The facts `decide` needs; tests substitute their own.
pub trait Probe {
    /// A non-empty environment variable.
    fn env(&self, key: &str) -> Option<String>;
    /// Something accepts TCP connections on 127.0.0.1:`port`.
    fn listening(&self, port: u16) -> bool;
    /// A Docker engine answers `GET /_ping`.
    fn docker(&self) -> bool;
}

/// This machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

const CONNECT: Duration = Duration::from_millis(300);

impl Probe for System {
    fn env(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }

    fn listening(&self, port: u16) -> bool {
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), CONNECT).is_ok()
    }

    fn docker(&self) -> bool {
        docker_answers(self.env("DOCKER_HOST").as_deref())
    }
}

/// `GET /_ping` on the engine's socket (`DOCKER_HOST` as `unix://` or `tcp://`, else
/// /var/run/docker.sock). The client binary alone does not count: it answers without an
/// engine.
pub fn docker_answers(docker_host: Option<&str>) -> bool {
    const PING: &[u8] = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    fn exchange(mut stream: impl std::io::Read + std::io::Write) -> bool {
        let mut answer = String::new();
        stream.write_all(PING).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.")
            && answer.contains(" 200 ")
    }
    match docker_host {
        Some(tcp) if tcp.starts_with("tcp://") => {
            let address = tcp.trim_start_matches("tcp://").trim_end_matches('/');
            address
                .parse::<SocketAddr>()
                .ok()
                .and_then(|a| TcpStream::connect_timeout(&a, CONNECT).ok())
                .is_some_and(|s| {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    exchange(s)
                })
        }
        other => {
            let path = other
                .and_then(|h| h.strip_prefix("unix://"))
                .unwrap_or("/var/run/docker.sock");
            std::os::unix::net::UnixStream::connect(path).is_ok_and(|s| {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                exchange(s)
            })
        }
    }
}
