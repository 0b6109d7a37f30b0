//! Callers: no token, wrong token, and a token without the tool (listing and calling).

use serde_json::json;

use crate::support::{CONSOLE_TOKEN, READER_TOKEN, Setup, require_moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_authenticated_callers_get_in_and_each_sees_only_its_tools() {
    let _endpoint = require_moto!();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let server = Setup {
        audit: Some(log.clone()),
        ..Setup::new()
    }
    .start()
    .await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let none = server.post_as(None, list.clone()).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.headers["www-authenticate"],
        "Bearer realm=\"mcp-aws-server\""
    );
    let wrong = server
        .post_as(Some("not-a-valid-token-at-all"), list.clone())
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.headers["www-authenticate"],
        "Bearer realm=\"mcp-aws-server\", error=\"invalid_token\""
    );
    let names = |a: &crate::support::Answer| {
        let mut n: Vec<String> = a.body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let console = server.post_as(Some(CONSOLE_TOKEN), list.clone()).await;
    assert_eq!(names(&console), ["lambda_invoke", "rds_query", "s3_read"]);
    let reader = server.post_as(Some(READER_TOKEN), list).await;
    assert_eq!(names(&reader), ["s3_read"]);
    let refused = server
        .call_as(
            READER_TOKEN,
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{}"}),
        )
        .await;
    assert_eq!(refused.body["error"]["code"], -32602, "{}", refused.body);
    assert_eq!(
        refused.body["error"]["message"],
        "tool lambda_invoke is not available to caller reader"
    );
    let read = server
        .call_as(
            READER_TOKEN,
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
        )
        .await;
    assert!(read.is_ok(), "{}", read.body);
    server.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let forbidden = lines
        .iter()
        .find(|l| l["outcome"] == "forbidden")
        .expect("the refused call is audited");
    assert_eq!(forbidden["principal"], "reader");
    let ok = lines
        .iter()
        .find(|l| l["outcome"] == "ok")
        .expect("the read is audited");
    assert_eq!(
        ok["securityContext"]["iamRole"],
        "arn:aws:iam::123456789012:role/agent-s3-read"
    );
    assert_eq!(ok["securityContext"]["awsIAM"], true);
    assert_eq!(ok["attempts"], 1);
}
