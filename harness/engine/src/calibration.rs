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
