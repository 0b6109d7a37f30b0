//! `targets.<name>.oauth`: what a valid one becomes, and every problem named by its path.

use std::path::Path;

use super::*;

/// A scenario whose one target `t` is written as `target` (a YAML flow mapping's body).
fn scenario(target: &str) -> Result<Scenario, SpecError> {
    let text = format!(
        "version: mcp-slo/v1\nname: t\ntargets:\n  t: {{ url: \"http://127.0.0.1:1/mcp\", {target} }}\nload:\n  model: open\n  phases:\n    - {{ name: steady, duration: 5s, rate: 10/s }}\nmix:\n  - {{ target: t, tool: echo }}\n"
    );
    Scenario::from_yaml(Path::new("t.yaml"), &text)
}

fn problems(target: &str) -> Vec<String> {
    match scenario(target) {
        Err(SpecError::Invalid { issues, .. }) => issues,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_full_oauth_section_is_read() {
    let s = scenario(
        "oauth: { token_url: \"https://auth.example.com/oauth/token\", client_id: \"${CLIENT_ID}\", client_secret_env: CLIENT_SECRET, scope: \"mcp:tools mcp:read\", resource: \"https://mcp.example.com/mcp\", audience: mcp-api, auth_method: post }",
    )
    .expect("valid");
    let oauth = s.targets["t"].oauth.clone().expect("oauth");
    assert_eq!(
        oauth,
        OAuth {
            token_url: "https://auth.example.com/oauth/token".into(),
            client_id: "${CLIENT_ID}".into(),
            client_secret_env: "CLIENT_SECRET".into(),
            scope: Some("mcp:tools mcp:read".into()),
            resource: Some("https://mcp.example.com/mcp".into()),
            audience: Some("mcp-api".into()),
            auth_method: ClientAuth::Post,
        }
    );
    let minimal = scenario(
        "oauth: { token_url: \"http://127.0.0.1:9/token\", client_id: load-test, client_secret_env: SECRET }",
    )
    .expect("valid");
    let oauth = minimal.targets["t"].oauth.clone().expect("oauth");
    assert_eq!(oauth.auth_method, ClientAuth::Basic);
    assert_eq!(
        (oauth.scope, oauth.resource, oauth.audience),
        (None, None, None)
    );
}

#[test]
fn oauth_problems_name_their_paths() {
    let issues = problems(
        "oauth: { token_url: \"ftp://auth/token\", client_id: \"\", client_secret_env: \"${SECRET}\", scope: \"\", resource: \"mcp.example.com/mcp\", auth_method: jwt }",
    );
    assert_eq!(
        issues,
        [
            "targets.t.oauth.token_url: \"ftp://auth/token\" is not an http(s) URL (at line 4 column 59)",
            "targets.t.oauth.client_id: empty (at line 4 column 90)",
            "targets.t.oauth.client_secret_env: \"${SECRET}\" is not an environment variable name (the secret is read from the variable it names) (at line 4 column 113)",
            "targets.t.oauth.scope: empty, or control characters in the value (at line 4 column 133)",
            "targets.t.oauth.resource: \"mcp.example.com/mcp\" is not an absolute URI without a fragment (at line 4 column 147)",
            "targets.t.oauth.auth_method: \"jwt\" is not a client authentication method (basic, post) (at line 4 column 183)",
        ]
    );
    let parse_error = |target: &str| match scenario(target) {
        Err(SpecError::Parse { message, .. }) => message,
        other => panic!("expected a parse error, got {other:?}"),
    };
    let message = parse_error("oauth: { client_id: a, client_secret_env: S }");
    assert!(message.contains("missing field `token_url`"), "{message}");
    let message = parse_error(
        "oauth: { token_url: \"http://a/t\", client_id: a, client_secret_env: S, grant: x }",
    );
    assert!(message.contains("unknown field `grant`"), "{message}");
}

#[test]
fn oauth_excludes_another_authorization() {
    let oauth =
        "oauth: { token_url: \"http://127.0.0.1:9/token\", client_id: a, client_secret_env: S }";
    let issues = problems(&format!("{oauth}, token_env: MCP_TOKEN"));
    assert_eq!(
        issues,
        ["targets.t.oauth: give oauth or token_env, not both (at line 4 column 59)"]
    );
    let issues = problems(&format!(
        "{oauth}, headers: {{ authorization: \"Bearer ${{T}}\", X-Tenant: a }}"
    ));
    assert_eq!(
        issues,
        [
            "targets.t.headers.authorization: oauth sends the Authorization header: give one or the other"
        ]
    );
}
