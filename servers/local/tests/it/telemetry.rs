//! Tool spans as a real OpenTelemetry collector receives them: the binary exports over
//! OTLP/HTTP to rotel (`scripts/otel/install-rotel.sh`), whose debug log prints every span.
//! A call's incoming trace context (the `traceparent` header, or `_meta` on 2026-07-28) is
//! continued, the span carries its status and the MCP semantic-convention attributes, and
//! the audit record names the same trace.

use serde_json::{Value, json};

use crate::binary::{free_port, start_with};
use crate::otel::{Collector, assert_audit_traces, meta_with_trace, tool_error_span};
use crate::support::require_services;

const TRACE_HEADER: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_HEADER: &str = "00f067aa0ba902b7";
const TRACE_META: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_META: &str = "b7ad6b7169203331";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_receives_tool_spans_that_continue_the_callers_trace() {
    require_services!();
    let dir = tempfile::tempdir().unwrap();
    let Some(collector) = Collector::start(dir.path()) else {
        return;
    };
    let audit = dir.path().join("audit.jsonl");
    let endpoint = collector.endpoint.clone();
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
        "_meta": meta_with_trace(&format!("00-{TRACE_META}-{PARENT_META}-01"))}});
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
    let received = collector.spans(3).await;
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
    let error = tool_error_span(&received);

    // The audit record of each call names its span's trace.
    assert_audit_traces(
        &audit,
        &[
            ("by-header", TRACE_HEADER),
            ("by-meta", TRACE_META),
            (
                error.attribute("jsonrpc.request.id").unwrap_or_default(),
                error.trace_id.as_str(),
            ),
        ],
    );
}
