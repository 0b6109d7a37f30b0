use clap::Parser;
use serde_json::json;

use super::conformance::arguments_for;
use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: CallArgs,
}

fn parse(argv: &[&str]) -> CallArgs {
    let full: Vec<&str> = std::iter::once("call")
        .chain(argv.iter().copied())
        .collect();
    Cli::try_parse_from(full).expect("clap accepts it").args
}

fn env(var: &str) -> Option<String> {
    match var {
        "TOKEN" => Some("t0k".into()),
        "MCP_CONFORMANCE_SCENARIO" => Some("http-custom-headers".into()),
        "MCP_CONFORMANCE_PROTOCOL_VERSION" => Some("2026-07-28".into()),
        "MCP_CONFORMANCE_CONTEXT" => Some(
            r#"{"name":"http-custom-headers","toolCalls":[{"name":"a","arguments":{"region":"eu"}},{"name":"b"}]}"#.into(),
        ),
        _ => None,
    }
}

const URL: &str = "http://127.0.0.1:8080/mcp";

#[test]
fn a_bare_url_lists_tools_with_the_revision_found() {
    let call = validate(&parse(&[URL]), env).expect("valid");
    assert_eq!(call.protocol, Protocol::Auto);
    assert_eq!(call.timeout, Duration::from_secs(30));
    let What::One { method, .. } = call.what else {
        panic!("one request")
    };
    assert_eq!(
        method,
        Method::List {
            kind: ListKind::Tools,
            walk: true
        }
    );
}

#[test]
fn each_form_of_request_is_understood() {
    let cases: Vec<(Vec<&str>, Method, Value)> = vec![
        (
            vec!["--tool", "echo", "--args", r#"{"x":1}"#],
            Method::CallTool("echo".into()),
            json!({"x": 1}),
        ),
        (
            vec!["--method", "resources/read", "--uri", "file:///a"],
            Method::ReadResource,
            json!({"uri": "file:///a"}),
        ),
        (
            vec!["--method", "prompts/get", "--name", "p"],
            Method::GetPrompt("p".into()),
            json!({}),
        ),
        (
            vec!["--method", "server/discover"],
            Method::Discover,
            json!({}),
        ),
        (vec!["--method", "ping"], Method::Ping, json!({})),
    ];
    for (argv, expected, expected_args) in cases {
        let mut full = argv.clone();
        full.push(URL);
        let call = validate(&parse(&full), env).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let What::One { method, args } = call.what else {
            panic!("one request")
        };
        assert_eq!((method, args), (expected, expected_args), "{argv:?}");
    }
}

#[test]
fn every_problem_is_named_with_its_flag() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["ftp://x/"], "url: \"ftp\" is not http or https"),
        (
            vec!["--protocol", "2024-11-05", URL],
            "protocol: \"2024-11-05\" is not auto or one of 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28",
        ),
        (
            vec!["--header", "NoColon", URL],
            "header: \"NoColon\" is not `Name: value`",
        ),
        (
            vec!["--token-env", "NOT_SET", URL],
            "token-env: environment variable NOT_SET is not set",
        ),
        (
            vec!["--timeout", "5", URL],
            "timeout: invalid duration \"5\": missing unit (ms, s, m, h)",
        ),
        (
            vec!["--timeout", "0s", URL],
            "timeout: must be more than zero",
        ),
        (
            vec!["--tool", "t", "--args", "[1]", URL],
            "args: must be a JSON object, got [1]",
        ),
        (
            vec!["--method", "tools/call", URL],
            "tool: tools/call needs --tool NAME",
        ),
        (
            vec!["--method", "prompts/get", URL],
            "name: prompts/get needs --name PROMPT",
        ),
        (
            vec!["--method", "resources/read", URL],
            "uri: resources/read needs --uri URI",
        ),
        (
            vec!["--method", "tools/lists", URL],
            "method: \"tools/lists\" is not one of tools/call, tools/list, resources/list, resources/read, prompts/list, prompts/get, server/discover, ping",
        ),
        (
            vec!["--tool", "t", "--method", "tools/list", URL],
            "tool: --tool calls a tool with tools/call, not tools/list",
        ),
        (
            vec!["--uri", "file:///a", URL],
            "uri: only resources/read takes --uri",
        ),
        (
            vec!["--args", "{}", URL],
            "args: tools/list takes no arguments",
        ),
    ];
    for (argv, expected) in cases {
        let err = validate(&parse(&argv), env)
            .expect_err(expected)
            .to_string();
        assert_eq!(err, expected, "{argv:?}");
    }
    let several = validate(&parse(&["--protocol", "x", "--timeout", "0s", URL]), env)
        .expect_err("two problems");
    assert_eq!(several.to_string().lines().count(), 2, "{several}");
}

#[test]
fn headers_and_the_token_are_taken_as_given() {
    let call = validate(
        &parse(&["--header", "X-Tenant: a b", "--token-env", "TOKEN", URL]),
        env,
    )
    .expect("valid");
    assert_eq!(call.headers.len(), 1);
    assert_eq!(call.headers[0].0.as_str(), "x-tenant");
    assert_eq!(call.headers[0].1.to_str().ok(), Some("a b"));
    assert_eq!(call.token.as_deref(), Some("t0k"));
}

#[test]
fn conformance_reads_the_suites_scenario_revision_and_context() {
    let call = validate(&parse(&["--conformance", URL]), env).expect("valid");
    assert_eq!(call.protocol, Protocol::Fixed(Revision::V2026_07_28));
    let What::Conformance(scenario) = call.what else {
        panic!("a scenario")
    };
    assert_eq!(scenario.name, "http-custom-headers");
    let calls = scenario.tool_calls.expect("the context's calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, Method::CallTool("a".into()));
    assert_eq!(calls[0].args, json!({"region": "eu"}));
    assert_eq!(calls[1].args, json!({}));
    let outside = validate(&parse(&["--conformance", URL]), |_| None).expect_err("no scenario");
    assert_eq!(
        outside.to_string(),
        "conformance: MCP_CONFORMANCE_SCENARIO is not set (run under `conformance client`)"
    );
    let defaulted = validate(&parse(&["--conformance", URL]), |v| {
        (v == "MCP_CONFORMANCE_SCENARIO").then(|| "initialize".to_owned())
    })
    .expect("valid");
    assert_eq!(
        defaulted.protocol,
        Protocol::Fixed(Revision::V2025_11_25),
        "the suite's default"
    );
}

#[test]
fn arguments_are_made_from_the_schema() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "number"}, "n": {"type": "integer"}, "s": {"type": "string"},
        "b": {"type": "boolean"}, "e": {"type": "string", "enum": ["x1", "x2"]},
        "d": {"type": "integer", "default": 7},
        "o": {"type": "object", "properties": {"inner": {"type": "string"}}},
    }});
    assert_eq!(
        arguments_for(&schema),
        json!({"a": 1, "n": 1, "s": "x", "b": true, "e": "x1", "d": 7, "o": {"inner": "x"}})
    );
    assert_eq!(arguments_for(&json!({"type": "object"})), json!({}));
}

#[test]
fn the_printed_request_is_the_wire_request() {
    let args = json!({"region": "eu", "n": 3});
    let tool = Method::CallTool("get".into());
    let old = Endpoint::new(URL, Mode::Session, Protocol::Fixed(Revision::V2025_11_25));
    let printed = wire_json(&old, &tool, args.clone()).expect("printable");
    assert_eq!(printed["url"], URL);
    assert_eq!(printed["revision"], "2025-11-25");
    assert_eq!(printed["headers"]["mcp-protocol-version"], "2025-11-25");
    assert_eq!(printed["headers"]["content-type"], "application/json");
    assert!(printed["headers"].get("mcp-session-id").is_none());
    assert!(printed["headers"].get("mcp-method").is_none());
    let body: Value =
        serde_json::from_str(printed["body"].as_str().expect("text")).expect("JSON body");
    assert_eq!(body["method"], "tools/call");
    assert_eq!(body["params"], json!({"name": "get", "arguments": args}));
    assert!(body["params"].get("_meta").is_none());

    let new = Endpoint::new(URL, Mode::Stateless, Protocol::Fixed(Revision::V2026_07_28));
    new.tools
        .observe(&json!({"tools": [{"name": "get", "inputSchema": {
            "type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        }}]}));
    let printed = wire_json(&new, &tool, args).expect("printable");
    let headers = &printed["headers"];
    assert_eq!(headers["mcp-method"], "tools/call");
    assert_eq!(headers["mcp-name"], "get");
    assert_eq!(headers["mcp-param-region"], "eu");
    let body: Value =
        serde_json::from_str(printed["body"].as_str().expect("text")).expect("JSON body");
    assert_eq!(
        body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
}

#[test]
fn print_request_is_one_request_not_a_scenario() {
    let call = validate(&parse(&["--tool", "t", "--print-request", URL]), env).expect("valid");
    assert!(call.print_request);
    let full: Vec<&str> = vec!["call", "--conformance", "--print-request", URL];
    assert!(
        Cli::try_parse_from(full).is_err(),
        "conflicts with --conformance"
    );
}
