//! The transport's limits (`servers/core/src/transport.rs`) over real sockets: slow and
//! idle connections are closed after the header read timeout, connections beyond the cap
//! are closed at once and counted, HTTP/2 clients are told the configured stream, frame
//! and header limits, and a loopback-bound tier accepts loopback origins while a foreign
//! one still gets 403. Embedded backends: no service needed.

use std::time::{Duration, Instant};

use mcp_server_core::config::Transport;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::embedded::embedded;
use crate::support::{Setup, TestServer};

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or resets it); the time that took, or
/// `None` if it was still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_and_an_idle_connection_are_closed_after_the_header_timeout() {
    let (server, _dir) = embedded(Setup {
        transport: Some(Transport {
            header_read_timeout: Duration::from_millis(400),
            ..Transport::default()
        }),
        ..Setup::new()
    })
    .await;
    // Slowloris: half a request line, then nothing.
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0")
        .await
        .unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(10))
        .await
        .expect("a half-sent request is closed, not held open");
    assert!(
        took >= Duration::from_millis(300),
        "closed after {took:?}: not before the timeout"
    );
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(10))
            .await
            .is_some(),
        "a silent connection is closed"
    );
    // Keep-alive: one whole exchange, then idle; the same timer closes it.
    let mut idle = TcpStream::connect(addr(&server)).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", addr(&server)).as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut idle, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle keep-alive connection is closed"
    );
    // The tier still serves.
    let answer = server
        .call("file_read", json!({"path": "reports/daily.csv"}))
        .await;
    assert!(answer.is_ok(), "{}", answer.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once_and_counted() {
    let (server, _dir) = embedded(Setup {
        transport: Some(Transport {
            max_connections: 8,
            ..Transport::default()
        }),
        ..Setup::new()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    // Let the accept loop take all eight before the flood.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let flood = 200;
    let mut refused = 0;
    for _ in 0..flood {
        let mut extra = TcpStream::connect(addr(&server)).await.unwrap();
        if closed_within(&mut extra, Duration::from_secs(2))
            .await
            .is_some()
        {
            refused += 1;
        }
    }
    assert_eq!(refused, flood, "every connection beyond the cap is closed");
    // The held ones still work.
    let first = &mut held[0];
    first
        .write_all(
            format!(
                "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                addr(&server)
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    first.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(held);
    // Once they are gone, /metrics (itself a connection) is served and says so.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let text = server.metrics_text().await;
        if text.contains("mcp_connections_open 1\n") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        metrics.contains(&format!("mcp_connections_refused_total {flood}\n")),
        "{metrics}"
    );
    assert!(metrics.contains("mcp_connections_open 1\n"), "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_bound_tier_accepts_loopback_origins_and_refuses_lookalikes() {
    let (server, _dir) = embedded(Setup::new()).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        .to_string()
        .into_bytes();
    let own = format!("http://{}", addr(&server));
    for (origin, status) in [
        (own.as_str(), 200),
        ("http://localhost:5173", 200),
        ("https://[::1]:8443", 200),
        ("http://127.0.0.1", 200),
        ("http://127.0.0.1.evil.example", 403),
        ("http://localhost.evil.example:80", 403),
        ("http://evil.example", 403),
        ("http://127.0.0.1:80x", 403),
        ("file://127.0.0.1", 403),
    ] {
        let answer = server
            .post_raw(
                body.clone(),
                &[("content-type", "application/json"), ("origin", origin)],
            )
            .await;
        assert_eq!(answer.status, status, "{origin}: {}", answer.body);
    }
    // A browser's preflight for a 2026-07-28 request names headers no fixed list holds.
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, &server.url)
        .header("origin", own.as_str())
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, mcp-protocol-version, mcp-method, mcp-name, mcp-param-path",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("mcp-param-path"), "{allowed}");
    server.stop().await;
    // Turned off, the same origin is refused like any other not listed.
    let (server, _dir) = embedded(Setup {
        allow_loopback_origins: Some(false),
        ..Setup::new()
    })
    .await;
    let answer = server
        .post_raw(
            body,
            &[
                ("content-type", "application/json"),
                ("origin", "http://localhost:5173"),
            ],
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    server.stop().await;
}

/// The HTTP/2 limits a client is told in the server's first SETTINGS frame (RFC 9113 §6.5),
/// read off the wire of a prior-knowledge (h2c) connection: the configured ones, not h2's
/// defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_told_the_configured_stream_frame_and_header_limits() {
    let (server, _dir) = embedded(Setup {
        transport: Some(Transport {
            http2_max_concurrent_streams: 7,
            http2_max_frame_size: 32 * 1024,
            http2_max_header_list_size: 8 * 1024,
            ..Transport::default()
        }),
        ..Setup::new()
    })
    .await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // The connection preface and an empty SETTINGS frame.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut head = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head))
        .await
        .expect("the server answers in time")
        .unwrap();
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    assert_eq!(head[3], 0x4, "the server's first frame is SETTINGS");
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect();
    let setting = |id: u16| settings.iter().find(|(i, _)| *i == id).map(|(_, v)| *v);
    assert_eq!(
        setting(0x3),
        Some(7),
        "MAX_CONCURRENT_STREAMS: {settings:?}"
    );
    assert_eq!(
        setting(0x5),
        Some(32 * 1024),
        "MAX_FRAME_SIZE: {settings:?}"
    );
    assert_eq!(
        setting(0x6),
        Some(8 * 1024),
        "MAX_HEADER_LIST_SIZE: {settings:?}"
    );
    server.stop().await;
}
