//! Bad input at the HTTP and JSON-RPC level: clear errors, never a panic or a hang.

use serde_json::json;

use crate::support::{DataRoot, Setup, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_not_allowed_get_403_and_allowed_ones_get_cors() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        .to_string()
        .into_bytes();
    let evil = server
        .post_raw(
            body.clone(),
            &[
                ("content-type", "application/json"),
                ("origin", "http://evil.example"),
            ],
        )
        .await;
    assert_eq!(evil.status, 403);
    assert_eq!(
        evil.body["error"]["message"],
        "Origin \"http://evil.example\" is not allowed"
    );
    let rebinding = server
        .post_raw(
            body.clone(),
            &[
                ("content-type", "application/json"),
                ("host", "attacker.example:8080"),
            ],
        )
        .await;
    assert_eq!(rebinding.status, 403, "DNS rebinding: {}", rebinding.body);
    let allowed = server
        .post_raw(
            body.clone(),
            &[
                ("content-type", "application/json"),
                ("origin", "http://localhost:3000"),
            ],
        )
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(
        allowed
            .headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:3000")
    );
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, &server.url)
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, mcp-session-id",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:3000")
    );
    // A request without an Origin is not a CORS request: no CORS headers on its answer.
    let plain = server
        .post_raw(body.clone(), &[("content-type", "application/json")])
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    let cors_headers: Vec<_> = plain
        .headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-") || k.as_str() == "vary")
        .collect();
    assert!(cors_headers.is_empty(), "{cors_headers:?}");
    let metrics = server.metrics_text().await;
    assert!(
        metrics.contains("mcp_admission_rejections_total{reason=\"origin\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_errors_that_say_what_and_where() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let json_ct = [("content-type", "application/json")];
    let bad_json = server
        .post_raw(
            b"{\"jsonrpc\": \"2.0\",\n \"id\": 1, \"method\": }".to_vec(),
            &json_ct,
        )
        .await;
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.error_code(), Some(-32700));
    let message = bad_json.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("invalid JSON at line 2 column"),
        "{message}"
    );
    let wrong_type = server
        .post_raw(b"{}".to_vec(), &[("content-type", "text/plain")])
        .await;
    assert_eq!(wrong_type.status, 415);
    assert_eq!(
        wrong_type.body["error"]["message"],
        "Content-Type must be application/json"
    );
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"file_read\",\"arguments\":{{\"path\":\"{}\"}}}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let oversized = server.post_raw(huge.into_bytes(), &json_ct).await;
    assert_eq!(oversized.status, 413);
    assert_eq!(
        oversized.body["error"]["message"],
        "request body exceeds 1048576 bytes"
    );
    let batch = server
        .post_raw(
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]".to_vec(),
            &json_ct,
        )
        .await;
    assert_eq!(batch.status, 400);
    assert!(
        batch.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("batches are not supported")
    );
    // Found by fuzzing the admission stack: a message with neither a method nor a result
    // or an error is no JSON-RPC message; it is refused at admission, with its id.
    let no_method = server
        .post(json!({"jsonrpc": "2.0", "id": 1, "@method": "tools/call", "params": {"name": "q"}}))
        .await;
    assert_eq!(no_method.status, 400);
    assert_eq!(no_method.error_code(), Some(-32600), "{}", no_method.body);
    assert_eq!(no_method.body["id"], 1);
    assert_eq!(
        no_method.body["error"]["message"],
        "not a JSON-RPC request, notification or response: no method (nor a result or an error)"
    );
    // A response whose result is null is a response (the peek once took it for no result
    // and refused it as no message): it is answered as one with an empty result is.
    let null_result = server
        .post(json!({"jsonrpc": "2.0", "id": "r1", "result": null}))
        .await;
    let empty_result = server
        .post(json!({"jsonrpc": "2.0", "id": "r1", "result": {}}))
        .await;
    assert_eq!(
        (null_result.status, &null_result.body),
        (empty_result.status, &empty_result.body)
    );
    assert_ne!(
        null_result.body["error"]["message"],
        "not a JSON-RPC request, notification or response: no method (nor a result or an error)"
    );
    // Found by fuzzing too: an array of one string was read as a message with that method.
    let one_item = server
        .post_raw(b"[\"tools/call\"]".to_vec(), &json_ct)
        .await;
    assert_eq!(one_item.status, 400);
    assert_eq!(one_item.error_code(), Some(-32600), "{}", one_item.body);
    assert!(
        one_item.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("batches are not supported")
    );
    // Also found by fuzzing: bytes that are not UTF-8 inside a field the stack skips.
    let not_utf8 = server
        .post_raw(
            b"{\"jsonrpc\":\"2\xff.0\",\"method\":\"notifications/initialized\"}".to_vec(),
            &json_ct,
        )
        .await;
    assert_eq!(not_utf8.status, 400);
    assert_eq!(not_utf8.error_code(), Some(-32700), "{}", not_utf8.body);
    assert!(
        not_utf8.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the body is not UTF-8: invalid utf-8 sequence of 1 bytes from index 13"),
        "{}",
        not_utf8.body
    );
    let unknown = server.call("no_such_tool", json!({})).await;
    assert_eq!(unknown.error_code(), Some(-32602));
    assert_eq!(
        unknown.body["error"]["message"],
        "unknown tool: no_such_tool"
    );
    let bad_args = server.call("postgres_query", json!({"query": 42})).await;
    assert!(bad_args.is_tool_error());
    assert_eq!(bad_args.text(), "argument `query` must be string");
    let not_object = server
        .post(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "file_read", "arguments": "x"}}))
        .await;
    assert_eq!(not_object.error_code(), Some(-32602), "{}", not_object.body);
    assert_eq!(
        not_object.body["error"]["message"],
        "params.arguments of tools/call must be an object"
    );
    // What rmcp cannot deserialize is answered as JSON-RPC too, never as text/plain 415.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let id_digits = "9".repeat(5000);
    for (what, body, code) in [
        (
            "nested 200,000 deep",
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"x\":{deep}}}}}"
            ),
            -32700,
        ),
        (
            "a lone surrogate escape",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"\ud800"}}"#
                .to_owned(),
            -32700,
        ),
        (
            "a 5,000-digit id",
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id_digits},\"method\":\"tools/list\"}}"),
            -32700,
        ),
        (
            "a null id",
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#.to_owned(),
            -32600,
        ),
        (
            "params as an array",
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":["file_read"]}"#.to_owned(),
            -32602,
        ),
        (
            "a call without a name",
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{}}"#.to_owned(),
            -32602,
        ),
    ] {
        let answer = server.post_raw(body.into_bytes(), &json_ct).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert_eq!(answer.error_code(), Some(code), "{what}: {}", answer.body);
        if code != -32700 {
            assert!(
                answer.body["id"].is_number() || what == "a null id",
                "{what}: {}",
                answer.body
            );
        }
        let content_type = answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
    }
    // The server is still healthy after all of that.
    let fine = server
        .call("postgres_query", json!({"query": "SELECT 1 AS one"}))
        .await;
    assert!(fine.is_ok(), "{}", fine.body);
    server.stop().await;
}
