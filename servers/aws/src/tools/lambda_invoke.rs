//! `lambda_invoke {function_name, payload}`: a synchronous invoke of an allowed function
//! (`allowed_functions`: names, or prefixes ending in `*`).
//! The payload must be JSON; both directions are capped; a function error is a tool error
//! carrying the function's own message.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use futures::future::BoxFuture;
use mcp_server_core::config::{ToolConfig, ToolSecurity};
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::{Value, json};

use super::sdk::{AttemptCounter, deadline, sdk_error};

pub struct LambdaInvoke {
    client: aws_sdk_lambda::Client,
    role: String,
    security: ToolSecurity,
    max_bytes: usize,
}

impl LambdaInvoke {
    pub fn new(client: aws_sdk_lambda::Client, config: &ToolConfig) -> Self {
        LambdaInvoke {
            client,
            role: config.security.iam_role.clone().unwrap_or_default(),
            security: config.security.clone(),
            // Lambda's own synchronous payload limit is 6 MB; the default here is smaller.
            max_bytes: config.options.max_bytes.unwrap_or(256 * 1024),
        }
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let function = call
            .str_arg("function_name")
            .ok_or_else(|| ToolError::invalid("missing required argument `function_name`"))?;
        if !self.security.allows_function(function) {
            return Err(ToolError::refused(format!(
                "function {function:?} is not allowed (allowed: {})",
                self.security.allowed_functions.join(", ")
            )));
        }
        let payload = match call.args.get("payload") {
            Some(Value::String(s)) => s.clone(),
            Some(other) if other.is_object() || other.is_array() => other.to_string(),
            Some(_) | None => {
                return Err(ToolError::invalid(
                    "`payload` must be a JSON document (as a string or an object)",
                ));
            }
        };
        if payload.len() > self.max_bytes {
            return Err(ToolError::invalid(format!(
                "payload is {} bytes; the limit is {}",
                payload.len(),
                self.max_bytes
            )));
        }
        serde_json::from_str::<Value>(&payload).map_err(|e| {
            ToolError::invalid(format!(
                "payload is not JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        call.report.role(&self.role);
        let attempts = AttemptCounter::default();
        let answer = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload.into_bytes()))
            .customize()
            .interceptor(attempts.clone())
            .config_override(
                aws_sdk_lambda::config::Builder::new().timeout_config(deadline(call.remaining())),
            )
            .send()
            .await;
        attempts.report(call.report);
        let out =
            answer.map_err(|e| sdk_error(e, &self.role, "lambda:InvokeFunction", function))?;
        let bytes = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        if bytes.len() > self.max_bytes {
            return Err(ToolError::backend(format!(
                "{function} answered {} bytes; the limit is {}",
                bytes.len(),
                self.max_bytes
            )));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(kind) = out.function_error() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or(text);
            return Err(ToolError::backend(format!(
                "{function} failed ({kind}): {message}"
            )));
        }
        let result = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        Ok(ToolOutput::json(json!({
            "function": function,
            "status_code": out.status_code(),
            "executed_version": out.executed_version(),
            "result": result,
        })))
    }
}

impl ToolHandler for LambdaInvoke {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}
