//! A calibration target: an MCP server whose service time is known exactly, so what the
//! harness reports can be compared with the truth. It answers `initialize`, notifications,
//! `server/discover`, `tools/list` (one tool, `calibrate`) and `tools/call` of `calibrate`
//! after precisely the configured service time (a blocking thread with 1 ns timer slack
//! that sleeps, then spins the last 80 µs: tokio's millisecond timer would add up to 1 ms).

use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// A running calibration server; stops when dropped.
pub struct CalibrationServer {
    pub url: String,
    pub service_time: Duration,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CalibrationServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CalibrationServer {
    /// Starts on `127.0.0.1:0`, answering each `tools/call` after `service_time`.
    pub async fn start(service_time: Duration) -> std::io::Result<CalibrationServer> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(
                "/mcp",
                post(answer).delete(|| async { StatusCode::ACCEPTED }),
            )
            .with_state(service_time);
        let task = tokio::spawn(async move {
            let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
                let _ = s.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Ok(CalibrationServer {
            url: format!("http://{addr}/mcp"),
            service_time,
            task,
        })
    }
}

async fn answer(State(service_time): State<Duration>, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let Some(id) = request.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match request["method"].as_str().unwrap_or_default() {
        "initialize" => json!({
            "protocolVersion": request["params"]["protocolVersion"].as_str().unwrap_or("2025-11-25"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "mcp-slo-calibration", "version": env!("CARGO_PKG_VERSION")},
        }),
        "server/discover" => json!({
            "resultType": "complete",
            "supportedVersions": ["2025-06-18", "2025-11-25", "2026-07-28"],
            "capabilities": {"tools": {}},
            "ttlMs": 0,
            "cacheScope": "public",
        }),
        "tools/list" => json!({
            "resultType": "complete",
            "tools": [{"name": "calibrate", "inputSchema": {"type": "object"}}],
            "ttlMs": 0,
            "cacheScope": "public",
        }),
        "tools/call" => {
            if !service_time.is_zero() {
                let until = started + service_time;
                let _ = tokio::task::spawn_blocking(move || precise_wait(until)).await;
            }
            json!({"resultType": "complete", "content": [{"type": "text", "text": "ok"}], "isError": false})
        }
        "ping" => json!({}),
        other => {
            return json_response(json!({
                "jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("method not found: {other}")},
            }));
        }
    };
    json_response(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn json_response(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// Waits until `until` on this (blocking) thread: sleeps with 1 ns timer slack, then spins
/// the last 80 µs.
pub fn precise_wait(until: std::time::Instant) {
    let _ = rustix::thread::set_current_timer_slack(NonZeroU64::new(1));
    let spin = Duration::from_micros(80);
    loop {
        let now = std::time::Instant::now();
        if now >= until {
            return;
        }
        let left = until - now;
        if left > spin {
            std::thread::sleep(left - spin);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// The reference exchange: `calls` POSTs of `body` with `headers` to `url` at `rate`, from
/// one OS thread over one blocking connection (no runtime, no queue, the same precise
/// pacing as the harness), each timed from its intended start to the last byte of its
/// answer, in µs. What the machine and the server take at that rate, with the least a
/// client can add; JSON answers with a Content-Length only.
pub fn reference_client(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    rate: f64,
    calls: u32,
) -> Result<Vec<u64>, String> {
    use std::io::{Read as _, Write as _};
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let authority = uri.authority().ok_or_else(|| format!("{url}: no host"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut stream = std::net::TcpStream::connect(authority.as_str())
        .map_err(|e| format!("connecting to {authority}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut request = format!("POST {path} HTTP/1.1\r\nhost: {authority}\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    let start = std::time::Instant::now() + Duration::from_millis(50);
    let mut latencies = Vec::with_capacity(calls as usize);
    let mut buf = vec![0u8; 256 * 1024];
    for i in 0..calls {
        let intended = start + Duration::from_secs_f64(f64::from(i) / rate);
        precise_wait(intended);
        stream.write_all(&request).map_err(|e| e.to_string())?;
        let mut got = 0;
        loop {
            if got == buf.len() {
                return Err("an answer larger than 256 KiB".into());
            }
            let n = stream.read(&mut buf[got..]).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            got += n;
            if let Some(end) = answer_end(&buf[..got])? {
                if end != got {
                    return Err("more bytes than one answer".into());
                }
                break;
            }
        }
        latencies.push(intended.elapsed().as_micros() as u64);
    }
    Ok(latencies)
}

/// Where a complete HTTP/1.1 answer ends in `bytes`, once its head and its Content-Length
/// of body have arrived.
fn answer_end(bytes: &[u8]) -> Result<Option<usize>, String> {
    let Some(head) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes[..head]);
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or("an answer without Content-Length")?;
    Ok((bytes.len() >= head + 4 + length).then_some(head + 4 + length))
}
