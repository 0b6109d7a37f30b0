//! The calls a client scenario of the MCP conformance suite expects from a client: list the
//! tools (learning their `Mcp-Param-*` headers, leaving out invalid ones), then call the
//! tools the scenario's context names, or else every tool kept, with arguments made from
//! its input schema; `http-standard-headers` also lists and reads a resource and a prompt.

use std::time::Duration;

use mcp_slo_core::spec::ops::{ListKind, Method};
use mcp_slo_engine::client::{Endpoint, Http, Session};
use serde_json::{Map, Value};

use super::{Step, failure, json_env, send};
use crate::Outcome;

/// A scenario as the suite names it, with its context.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    /// `toolCalls` of the context: the calls to make, when given.
    pub tool_calls: Option<Vec<Step>>,
}

impl Scenario {
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Scenario, String> {
        let name = env("MCP_CONFORMANCE_SCENARIO")
            .filter(|s| !s.is_empty())
            .ok_or(
                "conformance: MCP_CONFORMANCE_SCENARIO is not set (run under `conformance client`)",
            )?;
        let context = json_env(env, "MCP_CONFORMANCE_CONTEXT")?;
        let tool_calls = match context.as_ref().and_then(|c| c.get("toolCalls")) {
            None => None,
            Some(Value::Array(calls)) => Some(
                calls
                    .iter()
                    .map(
                        |c| match (c.get("name").and_then(Value::as_str), c.get("arguments")) {
                            (Some(name), args) => Ok(Step {
                                method: Method::CallTool(name.to_owned()),
                                args: args.cloned().unwrap_or_else(|| Value::Object(Map::new())),
                            }),
                            _ => Err(format!(
                                "MCP_CONFORMANCE_CONTEXT: a tool call without a name: {c}"
                            )),
                        },
                    )
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => {
                return Err(format!(
                    "MCP_CONFORMANCE_CONTEXT: toolCalls is not a list: {other}"
                ));
            }
        };
        Ok(Scenario { name, tool_calls })
    }
}

pub async fn run(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    scenario: &Scenario,
) -> Outcome {
    let listing = Step {
        method: Method::List {
            kind: ListKind::Tools,
            walk: true,
        },
        args: Value::Null,
    };
    if let Some(outcome) = step(client, endpoint, session, timeout, &listing).await {
        return outcome;
    }
    let self_contained = endpoint.revision().is_self_contained();
    let calls = match &scenario.tool_calls {
        Some(calls) => calls.clone(),
        None => {
            let (tools, left_out) = endpoint.tools.callable(self_contained);
            for (name, reason) in left_out {
                eprintln!("warning: tool {name} left out: {reason}");
            }
            tools
                .iter()
                .filter_map(|tool| {
                    Some(Step {
                        method: Method::CallTool(tool.get("name")?.as_str()?.to_owned()),
                        args: arguments_for(tool.get("inputSchema").unwrap_or(&Value::Null)),
                    })
                })
                .collect()
        }
    };
    for call in &calls {
        if let Some(outcome) = step(client, endpoint, session, timeout, call).await {
            return outcome;
        }
    }
    if scenario.name == "http-standard-headers" {
        return resources_and_prompts(client, endpoint, session, timeout).await;
    }
    Outcome::Pass
}

/// Lists resources and prompts, then reads the first resource and gets the first prompt
/// (the requests that carry `Mcp-Name` besides a tool call).
async fn resources_and_prompts(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
) -> Outcome {
    for (kind, field, key) in [
        (ListKind::Resources, "resources", "uri"),
        (ListKind::Prompts, "prompts", "name"),
    ] {
        let list = Method::List { kind, walk: false };
        let answer = send(client, endpoint, session, timeout, &list, Value::Null).await;
        if let Some(outcome) = failure(&answer, kind.method()) {
            return outcome;
        }
        let first = answer
            .result()
            .and_then(|r| r.get(field)?.get(0)?.get(key)?.as_str().map(str::to_owned));
        let Some(first) = first else { continue };
        let next = match kind {
            ListKind::Prompts => Step {
                method: Method::GetPrompt(first),
                args: Value::Object(Map::new()),
            },
            _ => Step {
                method: Method::ReadResource,
                args: serde_json::json!({ "uri": first }),
            },
        };
        if let Some(outcome) = step(client, endpoint, session, timeout, &next).await {
            return outcome;
        }
    }
    Outcome::Pass
}

/// Sends one step and reports it on stderr; Some when it failed.
async fn step(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    step: &Step,
) -> Option<Outcome> {
    let answer = send(
        client,
        endpoint,
        session,
        timeout,
        &step.method,
        step.args.clone(),
    )
    .await;
    let label = step.method.label();
    let outcome = failure(&answer, &label);
    if outcome.is_none() {
        eprintln!("{label}: ok");
    }
    outcome
}

/// Arguments a tool accepts, made from its input schema: each property's `default`, first
/// `enum` value or first example, else a plain value of its type.
pub fn arguments_for(schema: &Value) -> Value {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(Map::new());
    };
    let args = props
        .iter()
        .map(|(name, prop)| {
            let given = prop
                .get("default")
                .or_else(|| prop.get("enum")?.get(0))
                .or_else(|| prop.get("examples")?.get(0))
                .cloned();
            let value = given.unwrap_or_else(|| match prop.get("type").and_then(Value::as_str) {
                Some("integer" | "number") => Value::from(1),
                Some("boolean") => Value::Bool(true),
                Some("array") => Value::Array(Vec::new()),
                Some("object") => arguments_for(prop),
                Some("null") => Value::Null,
                _ => Value::from("x"),
            });
            (name.clone(), value)
        })
        .collect();
    Value::Object(args)
}
