//! `mcp-slo call`: one MCP request to a server, for poking at it by hand, sent through the
//! harness's own client and request path (`execute_op`). Lists the tools by default, calls
//! one with `--tool`, or sends another method with `--method`. The revision spoken goes to
//! stderr, the JSON result to stdout; exit 0 ok, 1 the call failed, 2 invalid input, 3 the
//! server could not be reached.
//!
//! `--print-request` prints the request instead of sending it (its headers and body as the
//! harness's client sends them, one JSON object on stdout), for another load generator
//! such as oha to send exactly the same call.
//!
//! `--conformance` runs the calls a scenario of the MCP conformance suite expects instead
//! (`conformance client --command "mcp-slo call --conformance"`), reading the suite's
//! `MCP_CONFORMANCE_*` variables; nothing else reads them.

mod conformance;

use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::ops::{ListKind, Method};
use mcp_slo_core::spec::{Mode, Protocol, Revision};
use mcp_slo_engine::client::{Answer, Endpoint, Http, Session};
use mcp_slo_engine::op::{Attempts, execute_op};
use mcp_slo_engine::reqwest::{
    self, Url,
    header::{HeaderName, HeaderValue},
};
use serde_json::Value;

use crate::Outcome;

const METHODS: &str = "tools/call, tools/list, resources/list, resources/read, prompts/list, prompts/get, server/discover, ping";

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The server's MCP endpoint, e.g. http://127.0.0.1:8080/mcp.
    url: String,
    /// Call this tool (tools/call).
    #[arg(long, conflicts_with = "conformance")]
    tool: Option<String>,
    /// The tool's or prompt's arguments, a JSON object.
    #[arg(long, conflicts_with = "conformance")]
    args: Option<String>,
    /// The method to send: tools/list (the default), tools/call, resources/list,
    /// resources/read, prompts/list, prompts/get, server/discover or ping.
    #[arg(long, conflicts_with = "conformance")]
    method: Option<String>,
    /// The resource to read (resources/read).
    #[arg(long, conflicts_with = "conformance")]
    uri: Option<String>,
    /// The prompt to get (prompts/get).
    #[arg(long, conflicts_with = "conformance")]
    name: Option<String>,
    /// The revision: auto (server/discover at 2026-07-28, else initialize), or one of
    /// 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26.
    #[arg(long)]
    protocol: Option<String>,
    /// An extra header on every request, `Name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Send `Authorization: Bearer` with the token in this environment variable.
    #[arg(long)]
    token_env: Option<String>,
    /// How long each request may take, e.g. 30s or 500ms.
    #[arg(long, default_value = "30s")]
    timeout: String,
    /// Print the request instead of sending it: `{"url", "revision", "headers", "body"}` on
    /// stdout, the body as the exact text sent. The revision is negotiated first with
    /// `--protocol auto`; at 2026-07-28 the tools are listed first, for a tools/call's
    /// `Mcp-Param-*` headers. At a 2025 revision it is the request outside a session (no
    /// `Mcp-Session-Id`); the token, if any, is printed with the other headers.
    #[arg(long, conflicts_with = "conformance")]
    print_request: bool,
    /// Run the calls the MCP conformance suite's client scenario expects (named by
    /// MCP_CONFORMANCE_SCENARIO, at MCP_CONFORMANCE_PROTOCOL_VERSION, with the arguments
    /// in MCP_CONFORMANCE_CONTEXT).
    #[arg(long)]
    conformance: bool,
}

/// A validated command line.
#[derive(Debug)]
struct Call {
    url: String,
    protocol: Protocol,
    headers: Vec<(HeaderName, HeaderValue)>,
    token: Option<String>,
    timeout: Duration,
    what: What,
    print_request: bool,
}

#[derive(Debug)]
enum What {
    /// One request (a tools/call lists the tools first, to learn their headers).
    One { method: Method, args: Value },
    /// A conformance scenario's calls.
    Conformance(conformance::Scenario),
}

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub method: Method,
    pub args: Value,
}

pub async fn call(args: &CallArgs) -> Outcome {
    let call = match validate(args, |var| std::env::var(var).ok()) {
        Ok(c) => c,
        Err(e) => return Outcome::Invalid(e),
    };
    let mut endpoint = Endpoint::new(call.url.clone(), Mode::Session, call.protocol)
        .with_token(call.token.clone());
    endpoint.headers = call.headers.clone();
    match reqwest::Client::builder().build() {
        Ok(client) => run(&Http::from(client), endpoint, &call).await,
        Err(e) => Outcome::Infrastructure(anyhow!(e).context("building the HTTP client")),
    }
}

fn validate(args: &CallArgs, env: impl Fn(&str) -> Option<String>) -> Result<Call, anyhow::Error> {
    let mut problems = Vec::new();
    match Url::parse(&args.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(u) => problems.push(format!("url: {:?} is not http or https", u.scheme())),
        Err(e) => problems.push(format!("url: {:?}: {e}", args.url)),
    }
    let protocol_text = match (&args.protocol, args.conformance) {
        (Some(p), _) => p.clone(),
        // The suite names the revision of each run; its default is 2025-11-25.
        (None, true) => {
            env("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|| "2025-11-25".into())
        }
        (None, false) => "auto".into(),
    };
    let protocol = match protocol_text.as_str() {
        "auto" => Some(Protocol::Auto),
        other => Revision::parse(other).map(Protocol::Fixed).or_else(|| {
            let known: Vec<&str> = Revision::ALL.iter().map(|r| r.as_str()).collect();
            problems.push(format!(
                "protocol: {other:?} is not auto or one of {}",
                known.join(", ")
            ));
            None
        }),
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        let parsed = h.split_once(':').and_then(|(n, v)| {
            Some((
                HeaderName::from_bytes(n.trim().as_bytes()).ok()?,
                HeaderValue::from_str(v.trim()).ok()?,
            ))
        });
        match parsed {
            Some(pair) => headers.push(pair),
            None => problems.push(format!("header: {h:?} is not `Name: value`")),
        }
    }
    let token = args.token_env.as_ref().and_then(|var| {
        let token = env(var);
        if token.is_none() {
            problems.push(format!("token-env: environment variable {var} is not set"));
        }
        token
    });
    let timeout = mcp_slo_core::units::parse_duration(&args.timeout)
        .map_err(|e| problems.push(format!("timeout: {e}")))
        .ok()
        .filter(|t| !t.is_zero());
    if timeout.is_none() && !problems.iter().any(|p| p.starts_with("timeout:")) {
        problems.push("timeout: must be more than zero".into());
    }
    let what = if args.conformance {
        conformance::Scenario::from_env(&env)
            .map(What::Conformance)
            .map_err(|e| problems.push(e))
            .ok()
    } else {
        one(args).map_err(|e| problems.extend(e)).ok()
    };
    match (protocol, timeout, what) {
        (Some(protocol), Some(timeout), Some(what)) if problems.is_empty() => Ok(Call {
            url: args.url.clone(),
            protocol,
            headers,
            token,
            timeout,
            what,
            print_request: args.print_request,
        }),
        _ => Err(anyhow!("{}", problems.join("\n"))),
    }
}

/// The one request of a command line without `--conformance`.
fn one(args: &CallArgs) -> Result<What, Vec<String>> {
    let mut problems = Vec::new();
    let parsed_args = match args.args.as_deref().map(serde_json::from_str::<Value>) {
        None => Value::Object(Default::default()),
        Some(Ok(v @ Value::Object(_))) => v,
        Some(Ok(other)) => {
            problems.push(format!("args: must be a JSON object, got {other}"));
            Value::Null
        }
        Some(Err(e)) => {
            problems.push(format!("args: not JSON: {e}"));
            Value::Null
        }
    };
    let method_name = match (&args.method, &args.tool) {
        (Some(m), _) => m.as_str(),
        (None, Some(_)) => "tools/call",
        (None, None) => "tools/list",
    };
    let method = match method_name {
        "tools/call" => match &args.tool {
            Some(t) if !t.trim().is_empty() => Some(Method::CallTool(t.clone())),
            _ => {
                problems.push("tool: tools/call needs --tool NAME".into());
                None
            }
        },
        "tools/list" => Some(Method::List {
            kind: ListKind::Tools,
            walk: true,
        }),
        "resources/list" => Some(Method::List {
            kind: ListKind::Resources,
            walk: true,
        }),
        "prompts/list" => Some(Method::List {
            kind: ListKind::Prompts,
            walk: true,
        }),
        "resources/read" => Some(Method::ReadResource),
        "prompts/get" => match &args.name {
            Some(n) if !n.trim().is_empty() => Some(Method::GetPrompt(n.clone())),
            _ => {
                problems.push("name: prompts/get needs --name PROMPT".into());
                None
            }
        },
        "server/discover" => Some(Method::Discover),
        "ping" => Some(Method::Ping),
        other => {
            problems.push(format!("method: {other:?} is not one of {METHODS}"));
            None
        }
    };
    if args.tool.is_some() && method_name != "tools/call" {
        problems.push(format!(
            "tool: --tool calls a tool with tools/call, not {method_name}"
        ));
    }
    let reads = method == Some(Method::ReadResource);
    match (&args.uri, reads) {
        (None, true) => problems.push("uri: resources/read needs --uri URI".into()),
        (Some(_), false) => problems.push("uri: only resources/read takes --uri".into()),
        _ => {}
    }
    if args.name.is_some() && method_name != "prompts/get" {
        problems.push("name: only prompts/get takes --name".into());
    }
    let takes_args = matches!(method, Some(Method::CallTool(_) | Method::GetPrompt(_)));
    if args.args.is_some() && !takes_args {
        problems.push(format!("args: {method_name} takes no arguments"));
    }
    let args = match (&args.uri, reads) {
        (Some(uri), true) => serde_json::json!({ "uri": uri }),
        _ => parsed_args,
    };
    match method {
        Some(method) if problems.is_empty() => Ok(What::One { method, args }),
        _ => Err(problems),
    }
}

async fn run(client: &Http, mut endpoint: Endpoint, call: &Call) -> Outcome {
    // Negotiating at 2026-07-28 lists the tools (see `Endpoint::learn_tools`).
    let learned = match endpoint.protocol {
        Protocol::Auto => match endpoint.negotiate(client).await {
            Ok(n) => {
                eprintln!("revision: {} ({})", n.revision, n.how);
                true
            }
            Err(e) => {
                return Outcome::Infrastructure(anyhow!(e).context("negotiating the revision"));
            }
        },
        Protocol::Fixed(r) => {
            eprintln!("revision: {r} (asked for)");
            false
        }
    };
    if let What::One {
        method: Method::CallTool(tool),
        ..
    } = &call.what
        && let Some(outcome) = tool_listing(client, &endpoint, learned, tool).await
    {
        return outcome;
    }
    if let (true, What::One { method, args }) = (call.print_request, &call.what) {
        return match wire_json(&endpoint, method, args.clone()) {
            Ok(request) => {
                println!("{request}");
                Outcome::Pass
            }
            Err(e) => Outcome::Invalid(e),
        };
    }
    let mut session = match endpoint.initialize(client).await {
        Ok(s) => s,
        Err(e) => return Outcome::Infrastructure(anyhow!(e).context("opening the session")),
    };
    let outcome = match &call.what {
        What::One { method, args } => {
            one_call(client, &endpoint, &mut session, call.timeout, method, args).await
        }
        What::Conformance(scenario) => {
            conformance::run(client, &endpoint, &mut session, call.timeout, scenario).await
        }
    };
    endpoint.close(client, &session).await;
    outcome
}

async fn one_call(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    method: &Method,
    args: &Value,
) -> Outcome {
    if let Method::List {
        kind: ListKind::Tools,
        ..
    } = method
    {
        let listing = Method::List {
            kind: ListKind::Tools,
            walk: true,
        };
        let answer = send(client, endpoint, session, timeout, &listing, Value::Null).await;
        return match failure(&answer, "tools/list") {
            Some(outcome) => outcome,
            None => print_tools(endpoint, endpoint.revision().is_self_contained()),
        };
    }
    let answer = send(client, endpoint, session, timeout, method, args.clone()).await;
    match failure(&answer, &method.label()) {
        Some(outcome) => {
            if answer.outcome == CallOutcome::ToolError {
                print_result(&answer);
            }
            outcome
        }
        None => {
            print_result(&answer);
            Outcome::Pass
        }
    }
}

/// Before a tools/call at 2026-07-28: the tools listed (unless negotiating did it), so
/// the call carries their `Mcp-Param-*` headers; a tool whose listing is invalid is not
/// called (the spec treats it as not listed). A listing that fails is warned about and
/// the call goes without those headers. `Some` ends the command.
async fn tool_listing(
    client: &Http,
    endpoint: &Endpoint,
    learned: bool,
    tool: &str,
) -> Option<Outcome> {
    if !endpoint.revision().is_self_contained() {
        return None;
    }
    if !learned && let Err(answer) = endpoint.learn_tools(client).await {
        eprintln!(
            "warning: tools/list failed ({}); calling without the tools' Mcp-Param headers",
            answer.message.as_deref().unwrap_or("no message")
        );
    }
    if let Some(Err(reason)) = endpoint.tools.get(tool).map(|t| t.headers) {
        eprintln!("error: tool {tool} not called: its listing is invalid: {reason}");
        return Some(Outcome::Fail);
    }
    None
}

/// The request as the client sends it: URL, revision, headers (with the tools' `Mcp-Param-*`
/// ones for a tools/call at 2026-07-28) and the body's exact text.
fn wire_json(endpoint: &Endpoint, method: &Method, args: Value) -> Result<Value, anyhow::Error> {
    let params = method.params(args, None);
    let name = method.header_name(params.as_ref()).map(str::to_owned);
    let (mut headers, body) = endpoint.wire_request(method.name(), params.clone(), name.as_deref());
    if matches!(method, Method::CallTool(_)) && endpoint.revision().is_self_contained() {
        let mut extra = reqwest::header::HeaderMap::new();
        endpoint.tools.add_headers(&mut extra, params.as_ref());
        for (k, v) in &extra {
            let v = v.to_str().context("an Mcp-Param header that is not text")?;
            headers.push((k.as_str().to_owned(), v.to_owned()));
        }
    }
    let headers: serde_json::Map<String, Value> = headers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(serde_json::json!({
        "url": endpoint.url,
        "revision": endpoint.revision().as_str(),
        "headers": headers,
        "body": String::from_utf8(body).context("the request body is not UTF-8")?,
    }))
}

/// One op through the harness's request path, bounded by `timeout`.
pub(crate) async fn send(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    method: &Method,
    args: Value,
) -> Answer {
    execute_op(
        client,
        endpoint,
        session,
        method,
        args,
        Attempts::once(timeout),
    )
    .await
}

/// How a failed answer ends the command (after saying why on stderr); None when it
/// succeeded.
pub(crate) fn failure(answer: &Answer, what: &str) -> Option<Outcome> {
    let message = answer.message.as_deref().unwrap_or("no message");
    match answer.outcome {
        CallOutcome::Ok => return None,
        CallOutcome::ToolError => eprintln!(
            "error: {what}: the tool failed (isError: true): {}",
            tool_text(answer)
        ),
        CallOutcome::InputRequired => eprintln!(
            "error: {what}: the server asked for input (resultType input_required), which call does not give"
        ),
        CallOutcome::TransportError if answer.status == 0 => {
            return Some(Outcome::Infrastructure(anyhow!("{what}: {message}")));
        }
        CallOutcome::TransportError => eprintln!("error: {what}: {message}"),
        _ => match answer.code {
            Some(_) => eprintln!("error: {what}: JSON-RPC error: {message}"),
            None => eprintln!("error: {what}: {message}"),
        },
    }
    Some(Outcome::Fail)
}

/// The text content of a tool's result, for saying why it failed.
fn tool_text(answer: &Answer) -> String {
    let texts: Vec<String> = answer
        .result()
        .and_then(|r| r.get("content").cloned())
        .and_then(|c| serde_json::from_value::<Vec<Value>>(c).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.get("text").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if texts.is_empty() {
        "(no text)".into()
    } else {
        texts.join(" ")
    }
}

pub(crate) fn print_result(answer: &Answer) {
    let result = answer.result().unwrap_or(Value::Null);
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
}

/// Every tool listed (all pages); at 2026-07-28 those with invalid `x-mcp-header`
/// declarations are left out, with a warning each.
fn print_tools(endpoint: &Endpoint, self_contained: bool) -> Outcome {
    let (tools, left_out) = endpoint.tools.callable(self_contained);
    for (name, reason) in left_out {
        eprintln!("warning: tool {name} left out: {reason}");
    }
    let listing = serde_json::json!({ "tools": tools });
    println!(
        "{}",
        serde_json::to_string_pretty(&listing).unwrap_or_default()
    );
    Outcome::Pass
}

/// Reads a JSON environment variable, naming it in the error.
pub(crate) fn json_env(
    env: &impl Fn(&str) -> Option<String>,
    var: &str,
) -> Result<Option<Value>, String> {
    env(var)
        .map(|text| serde_json::from_str(&text).with_context(|| format!("{var}: not JSON")))
        .transpose()
        .map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests;
