//! The direct path's parses and header checks against rmcp's own.

use super::*;
use rmcp::model::CallToolRequestParams;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn only_a_plain_accept_header_is_taken() {
    let plain = |v: &[&str]| {
        let pairs: Vec<_> = v.iter().map(|v| ("accept", *v)).collect();
        accepts_json_and_sse(&headers(&pairs))
    };
    assert!(plain(&["application/json, text/event-stream"]));
    assert!(plain(&["Application/JSON", "text/event-stream"]));
    assert!(!plain(&["application/json"]));
    assert!(!plain(&["text/event-stream"]));
    assert!(!plain(&[]));
    // A quality value may exclude a type: rmcp decides.
    assert!(!plain(&["application/json;q=0, text/event-stream"]));
    assert!(!plain(&["application/json, text/event-stream;q=1"]));
    assert!(!plain(&[r#"application/json, text/event-stream, x/"y,z""#]));
}

#[test]
fn the_protocol_header_decides_the_form() {
    let form = |v: &[&str]| {
        let mut pairs: Vec<_> = v.iter().map(|v| ("mcp-protocol-version", *v)).collect();
        pairs.push(("content-type", "application/json"));
        pairs.push(("accept", "application/json, text/event-stream"));
        plain_post(&Method::POST, &headers(&pairs))
    };
    assert_eq!(form(&[]), Some(Form::Legacy));
    assert_eq!(form(&["2025-11-25"]), Some(Form::Legacy));
    assert_eq!(form(&["2025-06-18"]), Some(Form::Legacy));
    assert_eq!(form(&["2025-03-26"]), Some(Form::Legacy));
    assert_eq!(form(&["2026-07-28"]), Some(Form::Current));
    assert_eq!(form(&["2099-01-01"]), None);
    assert_eq!(form(&["2025-11-24"]), None);
    assert_eq!(form(&["latest"]), None);
    assert_eq!(form(&["2025-11-25", "2025-06-18"]), None);
    assert_eq!(form(&["2026-07-28", "2026-07-28"]), None);
    let json_only = headers(&[
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ]);
    assert_eq!(plain_post(&Method::POST, &json_only), None);
    let get = headers(&[
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ]);
    assert_eq!(plain_post(&Method::GET, &get), None);
}

/// rmcp's own parse of any message: the call, its id and the revision in its `_meta`.
fn rmcp_parse(body: &str) -> Option<(CallToolRequestParams, RequestId, Option<ProtocolVersion>)> {
    let ClientJsonRpcMessage::Request(request) = serde_json::from_str(body).ok()? else {
        return None;
    };
    let version = request.request.get_meta().protocol_version();
    match request.request {
        ClientRequest::CallToolRequest(call) => Some((call.params, request.id, version)),
        _ => None,
    }
}

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}}"#;

#[test]
fn the_common_parse_agrees_with_rmcp() {
    let call = |rest: &str| format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call",{rest}}}"#);
    let meta = |m: &str| {
        call(&format!(
            r#""params":{{"name":"t","arguments":{{"a":1}},"_meta":{m}}}"#
        ))
    };
    let taken = [
        call(r#""params":{"name":"postgres_query","arguments":{"query":"SELECT $1","params":[1,2.5,-3,12345678901234567890,-9223372036854775808,1e2,true,null]}}"#),
        call(r#""params":{"name":"t","arguments":{"a":1,"a":{"b":[2]}}}"#),
        call(r#""params":{"name":"t","arguments":null}"#),
        call(r#""params":{"name":"n\u00e9\"x\n","arguments":{"k\u0000":"\ud83d\ude00"}}"#),
        call(r#""params":{"name":""}"#),
        r#"{"params":{"arguments":{},"name":"t"},"method":"tools/call","id":"a\"b","jsonrpc":"2.0"}"#.to_owned(),
        r#" {"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"t"}} "#.to_owned(),
        r#"{"jsonrpc":"2.0","id":-1e3,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
        // 2026-07-28: the request metadata, with or without the client's identity.
        call(&format!(r#""params":{{"name":"t","arguments":{{"a":1}},{META}}}"#)),
        call(&format!(r#""params":{{{META},"name":"t"}}"#)),
        meta(r#"{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#),
        meta(r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":null}"#),
    ];
    let left = [
        call(r#""params":{"name":"t","_meta":{"progressToken":1}}"#),
        call(r#""params":{"name":"t","requestState":"s"}"#),
        call(r#""params":{"name":"t","inputResponses":{}}"#),
        call(r#""params":{"name":"t"},"extra":1"#),
        call(r#""params":{"name":"t"},"result":{}"#),
        call(r#""params":{"name":"t"},"id":8"#),
        call(r#""params":{"name":"t","name":"u"}"#),
        call(r#""params":{"name":"t","arguments":[1]}"#),
        call(r#""params":{"arguments":{}}"#),
        call(r#""params":null"#),
        r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
        r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"t"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}} x"#.to_owned(),
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}]"#.to_owned(),
        // Request metadata other than exactly 2026-07-28's, or malformed: rmcp judges it.
        meta(r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#),
        meta(
            r#"{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}"#,
        ),
        meta(
            r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[]}"#,
        ),
        meta(
            r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":1}"#,
        ),
        meta(
            r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#,
        ),
        meta(
            r#"{"io.modelcontextprotocol/protocolVersion":7,"io.modelcontextprotocol/clientCapabilities":{}}"#,
        ),
    ];
    for body in &taken {
        let common = common_call(body.as_bytes());
        let Some(common) = common else {
            panic!("the common parse should take {body}");
        };
        let (params, id, version) = rmcp_parse(body).expect("rmcp parses it");
        assert_eq!(
            (&common.params.name, &common.params.arguments, &common.id),
            (&params.name, &params.arguments, &id),
            "{body}"
        );
        let expected = match version {
            None => Form::Legacy,
            Some(v) => {
                assert_eq!(v, ProtocolVersion::V_2026_07_28, "{body}");
                Form::Current
            }
        };
        assert_eq!(common.form, expected, "{body}");
        if common.form == Form::Legacy {
            assert_eq!(Some(common), rmcp_call(body.as_bytes()), "{body}");
        }
    }
    for body in &left {
        assert!(
            common_call(body.as_bytes()).is_none(),
            "{body} is rmcp's to parse"
        );
    }
    // What the common parse leaves still reaches the direct path through rmcp's parse,
    // unless it carries request metadata.
    assert!(plain_tool_call(left[0].as_bytes()).is_some());
    let older_meta = &left[left.len() - 5];
    assert!(older_meta.contains("2025-11-25"));
    assert!(plain_tool_call(older_meta.as_bytes()).is_none());
    // A protocol version rmcp cannot read is no version to it: a legacy call.
    let unreadable = left.last().unwrap();
    assert_eq!(
        plain_tool_call(unreadable.as_bytes()).map(|c| c.form),
        Some(Form::Legacy)
    );
}

#[test]
fn a_current_call_is_taken_only_under_matching_standard_headers() {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"postgres_query",{META}}}}}"#
    );
    let call = common_call(body.as_bytes()).unwrap();
    let legacy = common_call(
        br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"postgres_query"}}"#,
    )
    .unwrap();
    let with = |extra: &[(&str, &str)]| headers(extra);
    let standard = [("mcp-method", "tools/call"), ("mcp-name", "postgres_query")];
    let never = |_: &str| false;
    assert!(taken(Form::Current, &call, &with(&standard), never));
    assert!(taken(Form::Legacy, &legacy, &with(&[]), never));
    // A body in the other form than its headers: rmcp's (it answers a mismatch).
    assert!(!taken(Form::Legacy, &call, &with(&standard), never));
    assert!(!taken(Form::Current, &legacy, &with(&standard), never));
    // Missing, wrong, repeated or encoded standard headers.
    assert!(!taken(Form::Current, &call, &with(&standard[..1]), never));
    assert!(!taken(Form::Current, &call, &with(&standard[1..]), never));
    assert!(!taken(
        Form::Current,
        &call,
        &with(&[("mcp-method", "tools/list"), standard[1]]),
        never
    ));
    assert!(!taken(
        Form::Current,
        &call,
        &with(&[standard[0], ("mcp-name", "file_read")]),
        never
    ));
    assert!(!taken(
        Form::Current,
        &call,
        &with(&[standard[0], standard[1], standard[1]]),
        never
    ));
    assert!(!taken(
        Form::Current,
        &call,
        &with(&[standard[0], ("mcp-name", "=?base64?cG9zdGdyZXNfcXVlcnk=?=")]),
        never
    ));
    // A tool that mirrors arguments into Mcp-Param-* headers.
    assert!(!taken(Form::Current, &call, &with(&standard), |name| name
        == "postgres_query"));
}

#[test]
fn only_tool_calls_without_request_metadata_are_taken() {
    let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#;
    let parsed = plain_tool_call(call).unwrap();
    assert_eq!(parsed.params.name, "t");
    assert_eq!(parsed.id, rmcp::model::NumberOrString::Number(7));
    let with_meta = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    assert!(plain_tool_call(with_meta).is_none());
    let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    assert!(plain_tool_call(list).is_none());
    let notification = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert!(plain_tool_call(notification).is_none());
    assert!(plain_tool_call(b"{not json").is_none());
    let no_name = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#;
    assert!(plain_tool_call(no_name).is_none());
}

#[test]
fn the_list_parse_agrees_with_rmcp() {
    let list = |rest: &str| format!(r#"{{"jsonrpc":"2.0","id":3,"method":"tools/list"{rest}}}"#);
    let taken = [
        list(""),
        list(r#","params":{}"#),
        list(r#","params":null"#),
        list(r#","params":{"cursor":"djE6eA"}"#),
        list(&format!(r#","params":{{{META}}}"#)),
        list(&format!(r#","params":{{"cursor":"c",{META}}}"#)),
    ];
    let left = [
        list(r#","params":{"cursor":1}"#),
        list(r#","params":{"other":1}"#),
        list(r#","params":{"_meta":{"progressToken":1}}"#),
        list(r#","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#),
        list(r#","extra":1"#),
        r#"{"jsonrpc":"2.0","method":"tools/list"}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
    ];
    for body in &taken {
        let ours = common_list(body.as_bytes()).unwrap_or_else(|| panic!("{body}"));
        let ClientJsonRpcMessage::Request(request) = serde_json::from_str(body).expect(body) else {
            panic!("{body} is a request");
        };
        let version = request.request.get_meta().protocol_version();
        let ClientRequest::ListToolsRequest(rmcp) = request.request else {
            panic!("{body} is tools/list to rmcp");
        };
        assert_eq!(ours.id, request.id, "{body}");
        assert_eq!(ours.cursor, rmcp.params.and_then(|p| p.cursor), "{body}");
        let form = if version.is_some() {
            Form::Current
        } else {
            Form::Legacy
        };
        assert_eq!(ours.form, form, "{body}");
    }
    for body in &left {
        assert!(
            common_list(body.as_bytes()).is_none(),
            "{body} is rmcp's to parse"
        );
    }
    let current = common_list(taken[4].as_bytes()).unwrap();
    let method = |m: &str| headers(&[("mcp-method", m)]);
    assert!(list_taken(Form::Current, &current, &method("tools/list")));
    assert!(!list_taken(Form::Current, &current, &method("tools/call")));
    assert!(!list_taken(Form::Current, &current, &headers(&[])));
    assert!(!list_taken(Form::Legacy, &current, &method("tools/list")));
    let legacy = common_list(taken[0].as_bytes()).unwrap();
    assert!(list_taken(Form::Legacy, &legacy, &headers(&[])));
}

#[test]
fn the_discover_parse_agrees_with_rmcp() {
    let discover =
        |rest: &str| format!(r#"{{"jsonrpc":"2.0","id":"d","method":"server/discover"{rest}}}"#);
    let without_info = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let taken = [
        discover(&format!(r#","params":{{{META}}}"#)),
        discover(&format!(r#","params":{{{without_info}}}"#)),
    ];
    let left = [
        discover(""),
        discover(r#","params":{}"#),
        discover(&format!(r#","params":{{{META},"x":1}}"#)),
        discover(
            r#","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}}"#,
        ),
        discover(r#","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#.to_owned(),
    ];
    for body in &taken {
        let ours = common_discover(body.as_bytes()).unwrap_or_else(|| panic!("{body}"));
        let ClientJsonRpcMessage::Request(request) = serde_json::from_str(body).expect(body) else {
            panic!("{body} is a request");
        };
        assert!(
            matches!(request.request, ClientRequest::DiscoverRequest(_)),
            "{body} is server/discover to rmcp"
        );
        assert_eq!(ours.id, request.id, "{body}");
    }
    for body in &left {
        assert!(
            common_discover(body.as_bytes()).is_none(),
            "{body} is rmcp's to parse"
        );
    }
    let method = |m: &str| headers(&[("mcp-method", m)]);
    assert!(discover_taken(Form::Current, &method("server/discover")));
    assert!(!discover_taken(Form::Current, &method("tools/list")));
    assert!(!discover_taken(Form::Current, &headers(&[])));
    assert!(!discover_taken(Form::Legacy, &method("server/discover")));
}
