//! Tool spans as a real OpenTelemetry collector receives them: the binary exports over
//! OTLP/HTTP to rotel (`scripts/otel/install-rotel.sh`), whose debug log prints every span.
//! A call's incoming trace context (the `traceparent` header, or `_meta` on 2026-07-28) is
//! continued, the span carries its status and the MCP semantic-convention attributes, and
//! the audit record names the same trace.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::binary::{free_port, start_with};
use crate::support::require_services;

/// rotel's agent: `$MCP_SLO_ROTEL/rotel-agent`, else `~/.cache/mcp-slo/rotel/rotel-agent`.
fn rotel() -> Option<PathBuf> {
    let dir = std::env::var_os("MCP_SLO_ROTEL")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mcp-slo/rotel"))
        })?;
    let agent = dir.join("rotel-agent");
    if agent.exists() {
        return Some(agent);
    }
    let why = format!(
        "rotel is not installed at {} (run scripts/otel/install-rotel.sh)",
        agent.display()
    );
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// The collector, killed when dropped.
struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One span as rotel's detailed debug log prints it.
#[derive(Debug, Default)]
struct Span {
    trace_id: String,
    parent_id: String,
    name: String,
    status: String,
    attributes: Vec<(String, String)>,
}

impl Span {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The spans in rotel's log: `Span #n` blocks of `Field : value` lines and `-> key: Str(v)`
/// attributes.
fn spans(log: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for line in log.lines() {
        let line = line.trim();
        if line.starts_with("Span #") {
            out.push(Span::default());
            continue;
        }
        let Some(span) = out.last_mut() else { continue };
        if let Some(attribute) = line.strip_prefix("-> ") {
            if let Some((key, value)) = attribute.split_once(": ") {
                let value = value
                    .strip_prefix("Str(")
                    .and_then(|v| v.strip_suffix(')'))
                    .unwrap_or(value);
                span.attributes.push((key.to_owned(), value.to_owned()));
            }
        } else if let Some((field, value)) = line.split_once(" : ") {
            let value = value.trim().to_owned();
            match field.trim() {
                "Trace ID" => span.trace_id = value,
                "Parent ID" => span.parent_id = value,
                "Name" => span.name = value,
                "Status code" => span.status = value,
                _ => {}
            }
        } else if let Some(value) = line.strip_prefix("Parent ID      :") {
            span.parent_id = value.trim().to_owned();
        }
    }
    out
}

const TRACE_HEADER: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_HEADER: &str = "00f067aa0ba902b7";
const TRACE_META: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_META: &str = "b7ad6b7169203331";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_receives_tool_spans_that_continue_the_callers_trace() {
    require_services!();
    let Some(agent) = rotel() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (otlp, grpc) = (free_port(), free_port());
    let log = dir.path().join("rotel.log");
    let collector = Collector(
        Command::new(agent)
            .args(["start", "--exporter", "blackhole"])
            .args(["--otlp-http-endpoint", &otlp.to_string()])
            .args(["--otlp-grpc-endpoint", &grpc.to_string()])
            .args(["--debug-log", "traces", "--debug-log-verbosity", "detailed"])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("rotel starts"),
    );
    let audit = dir.path().join("audit.jsonl");
    let endpoint = format!("http://{otlp}");
    let audit_arg = audit.display().to_string();
    let (server, client) = start_with(
        free_port(),
        &["--audit", &audit_arg],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    )
    .await;

    // 2025-11-25, the trace context in the headers.
    let traceparent = format!("00-{TRACE_HEADER}-{PARENT_HEADER}-01");
    let body = json!({"jsonrpc": "2.0", "id": "by-header", "method": "tools/call",
        "params": {"name": "postgres_query", "arguments": {"query": "SELECT 1 AS one"}}});
    let answer = client
        .post_raw(
            body.to_string().into_bytes(),
            &[
                ("content-type", "application/json"),
                ("traceparent", &traceparent),
                ("tracestate", "mcp-slo=test"),
            ],
        )
        .await;
    assert!(answer.is_ok(), "{}", answer.body);

    // 2026-07-28, the trace context in `_meta` (SEP-414).
    let body = json!({"jsonrpc": "2.0", "id": "by-meta", "method": "tools/call",
    "params": {"name": "postgres_query", "arguments": {"query": "SELECT 2 AS two"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "telemetry-test", "version": "1"},
            "traceparent": format!("00-{TRACE_META}-{PARENT_META}-01"),
        }}});
    let answer: Value = client
        .http
        .post(&client.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "postgres_query")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");

    // A refused statement: a tool error, an ERROR span, no trace context given.
    let refused = client
        .call("postgres_query", json!({"query": "DROP TABLE orders"}))
        .await;
    assert!(refused.is_tool_error(), "{}", refused.body);

    // SIGTERM flushes the exporter's batch; the collector prints what it got.
    let output = server.stop().await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let started = Instant::now();
    let received = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let received = spans(&text);
        if received.len() >= 3 || started.elapsed() > Duration::from_secs(10) {
            break received;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(collector);
    let by_id = |id: &str| {
        received
            .iter()
            .find(|s| s.attribute("jsonrpc.request.id") == Some(id))
            .unwrap_or_else(|| panic!("no span of request {id}: {received:#?}"))
    };
    for span in &received {
        assert_eq!(span.name, "mcp.tool.postgres_query", "{span:?}");
        assert_eq!(span.attribute("gen_ai.tool.name"), Some("postgres_query"));
        assert_eq!(span.attribute("mcp.method.name"), Some("tools/call"));
        assert_eq!(
            span.attribute("gen_ai.operation.name"),
            Some("execute_tool")
        );
    }
    let header = by_id("by-header");
    assert_eq!(
        (header.trace_id.as_str(), header.parent_id.as_str()),
        (TRACE_HEADER, PARENT_HEADER)
    );
    assert_eq!(header.status, "STATUS_CODE_OK");
    let meta = by_id("by-meta");
    assert_eq!(
        (meta.trace_id.as_str(), meta.parent_id.as_str()),
        (TRACE_META, PARENT_META)
    );
    let error = received
        .iter()
        .find(|s| s.status == "STATUS_CODE_ERROR")
        .unwrap_or_else(|| panic!("no ERROR span: {received:#?}"));
    assert!(error.parent_id.is_empty(), "a trace of its own: {error:?}");
    assert_eq!(error.attribute("error.type"), Some("tool_error"));

    // The audit record of each call names its span's trace.
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (id, trace) in [
        ("by-header", TRACE_HEADER),
        ("by-meta", TRACE_META),
        (
            error.attribute("jsonrpc.request.id").unwrap_or_default(),
            error.trace_id.as_str(),
        ),
    ] {
        let record = records
            .iter()
            .find(|r| r["requestId"] == id)
            .unwrap_or_else(|| panic!("no audit record of {id}: {records:?}"));
        assert_eq!(record["traceId"], trace, "{record}");
    }
}
