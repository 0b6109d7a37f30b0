//! The admin endpoint on the AWS tier: off unless enabled, and then only for the
//! principals the listener's `admin.principals` names, with a valid token.

use mcp_server_core::config::AdminAccess;
use serde_json::{Value, json};

use crate::support::{CONSOLE_TOKEN, READER_TOKEN, Setup, TestServer, require_moto};

async fn add(server: &TestServer, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = server
        .http
        .post(format!("{}/admin/tools", server.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn names(answer: &crate::support::Answer) -> Vec<String> {
    answer.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_principal_adds_a_preset_and_its_callers_use_it() {
    let _endpoint = require_moto!();
    let spec = json!({
        "name": "echo_agent",
        "base": "lambda_invoke",
        "description": "Invoke agent-echo",
        "preset": {"function_name": "agent-echo"},
    });
    let off = Setup::new().start().await;
    assert_eq!(add(&off, Some(CONSOLE_TOKEN), &spec).await.0, 404);
    off.stop().await;
    let mut setup = Setup::new();
    setup.network.admin = AdminAccess {
        enabled: true,
        principals: vec!["console".into()],
    };
    let server = setup.start().await;
    let (status, body) = add(&server, None, &spec).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert_eq!(
        add(&server, Some("not-a-valid-token-at-all"), &spec)
            .await
            .0,
        401
    );
    let (status, body) = add(&server, Some(READER_TOKEN), &spec).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = add(&server, Some(CONSOLE_TOKEN), &spec).await;
    assert_eq!(status, 201, "{body}");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let console = server.post_as(Some(CONSOLE_TOKEN), list.clone()).await;
    assert!(
        names(&console).contains(&"echo_agent".to_owned()),
        "{}",
        console.body
    );
    // The reader may not use lambda_invoke, so not its presets either.
    let reader = server.post_as(Some(READER_TOKEN), list).await;
    assert!(
        !names(&reader).contains(&"echo_agent".to_owned()),
        "{}",
        reader.body
    );
    let called = server
        .call("echo_agent", json!({"payload": "{\"order\": 42}"}))
        .await;
    assert!(called.is_ok(), "{}", called.body);
    let refused = server
        .call_as(READER_TOKEN, "echo_agent", json!({"payload": "{}"}))
        .await;
    assert!(refused.body["error"].is_object(), "{}", refused.body);
    server.stop().await;
}
