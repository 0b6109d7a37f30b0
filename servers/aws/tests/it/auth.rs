//! Callers: no token, wrong token, and a token without the tool (listing and calling).

use serde_json::json;

use crate::support::{CONSOLE_TOKEN, READER_TOKEN, Setup, repo_root, require_moto, spawn_binary};

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

/// `vpc_endpoint`: a request forwarded by another VPC endpoint is refused; with
/// `vpc_endpoint_required`, so is one that came through none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_another_vpc_endpoint_are_refused() {
    let _endpoint = require_moto!();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let send = |server: &crate::support::TestServer, through: Option<&str>| {
        let mut request = server
            .http
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {CONSOLE_TOKEN}"))
            .body(list.clone());
        if let Some(id) = through {
            request = request.header("x-amzn-vpce-id", id);
        }
        request.send()
    };
    let seed = Setup::new();
    let id = seed
        .network
        .vpc_endpoint
        .clone()
        .expect("the seed names one")
        .id;
    assert_eq!(id, "vpce-1234567890");
    let server = seed.start().await;
    assert_eq!(send(&server, Some(&id)).await.unwrap().status(), 200);
    assert_eq!(
        send(&server, None).await.unwrap().status(),
        200,
        "not required"
    );
    let other = send(&server, Some("vpce-0ther")).await.unwrap();
    assert_eq!(other.status(), 403);
    let body: serde_json::Value = other.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "request came through VPC endpoint \"vpce-0ther\", not vpce-1234567890"
    );
    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mcp_admission_rejections_total{reason=\"vpc_endpoint\"} 1"),
        "{metrics}"
    );

    let mut strict = Setup::new();
    if let Some(endpoint) = strict.network.vpc_endpoint.as_mut() {
        endpoint.required = true;
    }
    let server = strict.start().await;
    assert_eq!(send(&server, Some(&id)).await.unwrap().status(), 200);
    let none = send(&server, None).await.unwrap();
    assert_eq!(none.status(), 403);
    let body: serde_json::Value = none.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "requests must come through VPC endpoint vpce-1234567890 (x-amzn-vpce-id missing)"
    );
}

/// With `allowed_hosts` configured, the AWS tier answers only those names (and loopback
/// ones): a DNS-rebinding name gets 403 before authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_host_names_are_the_only_ones_answered() {
    let _endpoint = require_moto!();
    let mut setup = Setup::new();
    setup.network.allowed_hosts = vec!["mcp.example.com".to_owned()];
    let server = setup.start().await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    for (host, status) in [
        ("mcp.example.com", 200),
        ("mcp.example.com:8081", 200),
        ("127.0.0.1:8081", 200),
        ("evil.example.com", 403),
    ] {
        let answer = server
            .http
            .post(&server.url)
            .header("host", host)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {CONSOLE_TOKEN}"))
            .body(list.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "Host: {host}");
    }
}

/// The binary's standard error at `RUST_LOG=debug` and its audit trail, after calls that
/// succeed, fail authentication, are forbidden and reach AWS under assumed roles, hold no
/// bearer token and not the base secret key. (The assumed roles' keys are moto's to make and
/// unknown here: they are not looked for.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_aws_secret_reaches_the_logs_or_the_audit_trail() {
    let endpoint = require_moto!();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config = repo_root().join("config/aws_managed_mcp_config.yaml");
    let log = dir.path().join("stderr.log");
    let audit_arg = audit.display().to_string();
    let (child, server) = spawn_binary(&endpoint, &config, (&audit_arg, "debug"), &[], &log);
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    const WRONG: &str = "wrong-token-that-must-not-be-logged";
    let calls = [
        (
            CONSOLE_TOKEN,
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
        ),
        (
            CONSOLE_TOKEN,
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{}"}),
        ),
        (
            CONSOLE_TOKEN,
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "nope.txt"}),
        ),
        (
            READER_TOKEN,
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{}"}),
        ),
        (
            WRONG,
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
        ),
    ];
    for (token, tool, arguments) in calls {
        server.call_as(token, tool, arguments).await;
    }
    assert!(child.stop().await.success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    let trail = std::fs::read_to_string(&audit).unwrap();
    assert!(
        trail.lines().count() >= 4,
        "every admitted call is audited:\n{trail}"
    );
    assert!(stderr.contains("DEBUG"), "the log ran at debug:\n{stderr}");
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    assert!(
        secret.len() >= 8,
        "setup-moto.sh exports the base secret key"
    );
    let secrets = [
        ("the console's token", CONSOLE_TOKEN),
        ("the reader's token", READER_TOKEN),
        ("a wrong token", WRONG),
        ("the base secret key", secret.as_str()),
    ];
    for (what, value) in secrets {
        assert!(!stderr.contains(value), "{what} in the log");
        assert!(!trail.contains(value), "{what} in the audit trail");
    }
}

/// Guessing tokens is bounded: a peer address that fails authentication 20 times within a
/// minute is refused every request (429 with Retry-After), a valid token included, before
/// its token is looked at; another address is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_keeps_failing_authentication_is_refused_until_its_minute_ends() {
    let _endpoint = require_moto!();
    let server = Setup::new().start().await;
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let post = |client: reqwest::Client, token: &'static str| {
        let url = server.url.clone();
        async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {token}"))
                .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
                .send()
                .await
                .expect("request sent");
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, retry_after, body)
        }
    };
    let guesser = from("127.0.0.7");
    for i in 0..20 {
        let (status, _, _) = post(guesser.clone(), "a-guessed-token-0123456789").await;
        assert_eq!(status, 401, "guess {i}");
    }
    for token in ["a-guessed-token-0123456789", CONSOLE_TOKEN] {
        let (status, retry_after, body) = post(guesser.clone(), token).await;
        assert_eq!(status, 429, "{body}");
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{retry_after:?}"
        );
        assert_eq!(body["error"]["data"]["kind"], "auth_locked", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("too many failed authentications from this address (20 a minute)"),
            "{message}"
        );
    }
    let (status, _, body) = post(from("127.0.0.8"), CONSOLE_TOKEN).await;
    assert_eq!(status, 200, "another address is not locked out: {body}");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("auth_locked") && l.trim_end().ends_with(" 2")),
        "{metrics}"
    );
    server.stop().await;
}
