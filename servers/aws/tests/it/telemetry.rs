//! The AWS tier's tool spans as a real OpenTelemetry collector receives them (rotel, as for
//! the local tier): the binary exports over OTLP/HTTP; a call's incoming trace context (the
//! `traceparent` header, or `_meta` on 2026-07-28) is continued, each span carries its
//! status and the MCP semantic-convention attributes, and the audit record names the same
//! trace. Calls reach moto under each tool's assumed role.

use serde_json::json;

use crate::otel::{Collector, assert_audit_traces, meta_with_trace, tool_error_span};
use crate::support::{CONSOLE_TOKEN, repo_root, require_moto, spawn_binary};

const TRACE_HEADER: &str = "5bf92f3577b34da6a3ce929d0e0e4737";
const PARENT_HEADER: &str = "10f067aa0ba902b8";
const TRACE_META: &str = "1af7651916cd43dd8448eb211c80319d";
const PARENT_META: &str = "c7ad6b7169203332";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_receives_the_aws_tiers_spans_continuing_the_callers_trace() {
    let endpoint = require_moto!();
    let dir = tempfile::tempdir().unwrap();
    let Some(collector) = Collector::start(dir.path()) else {
        return;
    };
    let audit = dir.path().join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let (child, server) = spawn_binary(
        &endpoint,
        &repo_root().join("config/aws_managed_mcp_config.yaml"),
        (&audit_arg, "info"),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint)],
        &dir.path().join("stderr.log"),
    );
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");

    // 2025-11-25, the trace context in the headers.
    let traceparent = format!("00-{TRACE_HEADER}-{PARENT_HEADER}-01");
    let read = server
        .post_with(
            Some(CONSOLE_TOKEN),
            json!({"jsonrpc": "2.0", "id": "by-header", "method": "tools/call",
                "params": {"name": "s3_read",
                    "arguments": {"bucket": "mcp-slo-reports", "key": "daily.csv"}}}),
            &[
                ("mcp-protocol-version", "2025-11-25"),
                ("traceparent", &traceparent),
            ],
        )
        .await;
    assert!(read.is_ok(), "{}", read.body);

    // 2026-07-28, the trace context in `_meta`.
    let invoke = server
        .post_with(
            Some(CONSOLE_TOKEN),
            json!({"jsonrpc": "2.0", "id": "by-meta", "method": "tools/call",
                "params": {"name": "lambda_invoke",
                    "arguments": {"function_name": "agent-echo", "payload": "{\"order\": 1}"},
                    "_meta": meta_with_trace(&format!("00-{TRACE_META}-{PARENT_META}-01"))}}),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "lambda_invoke"),
            ],
        )
        .await;
    assert!(invoke.is_ok(), "{}", invoke.body);

    // An object that is not there: a tool error, an ERROR span, no trace context given.
    let missing = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "no-such-object.csv"}),
        )
        .await;
    assert!(missing.is_tool_error(), "{}", missing.body);

    // SIGTERM flushes the exporter's batch; the collector prints what it got.
    assert!(child.stop().await.success());
    let received = collector.spans(3).await;
    drop(collector);
    let by_id = |id: &str| {
        received
            .iter()
            .find(|s| s.attribute("jsonrpc.request.id") == Some(id))
            .unwrap_or_else(|| panic!("no span of request {id}: {received:#?}"))
    };
    let header = by_id("by-header");
    assert_eq!(header.name, "mcp.tool.s3_read");
    assert_eq!(
        (header.trace_id.as_str(), header.parent_id.as_str()),
        (TRACE_HEADER, PARENT_HEADER)
    );
    assert_eq!(header.status, "STATUS_CODE_OK");
    let meta = by_id("by-meta");
    assert_eq!(meta.name, "mcp.tool.lambda_invoke");
    assert_eq!(
        (meta.trace_id.as_str(), meta.parent_id.as_str()),
        (TRACE_META, PARENT_META)
    );
    assert_eq!(meta.status, "STATUS_CODE_OK");
    for (span, tool) in [(header, "s3_read"), (meta, "lambda_invoke")] {
        assert_eq!(span.attribute("gen_ai.tool.name"), Some(tool), "{span:?}");
        assert_eq!(span.attribute("mcp.method.name"), Some("tools/call"));
        assert_eq!(
            span.attribute("gen_ai.operation.name"),
            Some("execute_tool")
        );
    }
    let error = tool_error_span(&received);
    assert_eq!(error.name, "mcp.tool.s3_read");

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
