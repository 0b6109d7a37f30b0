//! The MCP handler: `tools/list` from the registry and `tools/call` under the concurrency
//! cap and the per-call deadline, with one span, one metric sample and one audit record per
//! call; and the tier's resources, if it has any (`resources.rs`), each read held to the
//! deadline and audited.
//!
//! In rmcp's session mode the HTTP response (SSE) starts before the tool runs, so HTTP
//! layers cannot bound tool execution; the concurrency permit and the deadline are therefore
//! held here, around the tool call itself.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult,
    ErrorData, InitializeRequestParams, InitializeResult, ListResourceTemplatesRequestMethod,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, NumberOrString,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, RequestId,
    ResourcesCapability, ServerConfig, SubscriptionFilter, Tool,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::admitted::Admitted;
use crate::audit::{AuditRecord, AuditSink, Outcome, SecurityContext};
use crate::caller::Caller;
use crate::config::{Tier, TierLimits};
use crate::jsonrpc::code;
use crate::metrics::{Metrics, Rejection};
use crate::registry::{
    CallReport, RegisteredTool, ToolCall, ToolError, ToolErrorKind, ToolOutput, ToolRegistry,
};
use crate::resources::ResourceSource;
use crate::telemetry::{self, TraceParent};

mod info;
mod listing;
pub mod notify;
mod resource_reads;

pub struct HandlerInner {
    pub tier: Tier,
    pub limits: TierLimits,
    pub registry: Arc<ToolRegistry>,
    pub metrics: Arc<Metrics>,
    pub audit: AuditSink,
    concurrency: Arc<Semaphore>,
    spans: bool,
    resources: Option<Arc<dyn ResourceSource>>,
    /// What `initialize` answers; rmcp asks for it on every request, so it is built once.
    info: ServerConfig,
}

/// Cheap to clone: rmcp builds one per session (or per request in stateless mode).
#[derive(Clone)]
pub struct McpHandler(Arc<HandlerInner>);

impl McpHandler {
    pub fn new(
        name: impl Into<String>,
        tier: Tier,
        limits: TierLimits,
        registry: Arc<ToolRegistry>,
        metrics: Arc<Metrics>,
        audit: AuditSink,
    ) -> Self {
        McpHandler(Arc::new(HandlerInner {
            info: info::server_info(name.into(), tier, &limits),
            tier,
            concurrency: Arc::new(Semaphore::new(limits.max_concurrent.get())),
            limits,
            registry,
            metrics,
            audit,
            spans: true,
            resources: None,
        }))
    }

    /// Serves `source`'s resources (and declares the capability). Call before the handler
    /// is shared.
    pub fn with_resources(self, source: Arc<dyn ResourceSource>) -> Self {
        self.rebuilt(|inner| {
            inner.info.capabilities.resources = Some(ResourcesCapability::default());
            inner.resources = Some(source);
        })
    }

    /// No tool spans (cost measurements only). Call before the handler is shared.
    pub fn without_spans(self) -> Self {
        self.rebuilt(|inner| inner.spans = false)
    }

    /// `change` applied to a handler not yet shared (else the handler as it is).
    fn rebuilt(self, change: impl FnOnce(&mut HandlerInner)) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                change(&mut inner);
                McpHandler(Arc::new(inner))
            }
            Err(shared) => McpHandler(shared),
        }
    }

    pub fn registry(&self) -> &Arc<ToolRegistry> {
        &self.0.registry
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// A `tools/call` request as rmcp's handler answers it; also used by the stateless
    /// direct path (`direct/`), so both give the same answer.
    pub async fn call(
        &self,
        request: CallToolRequestParams,
        admitted: &Admitted,
        id: &RequestId,
    ) -> Result<CallToolResponse, ErrorData> {
        // The request's `_meta` names the trace to continue, else its headers.
        let from_meta = request
            .meta
            .as_ref()
            .and_then(|m| TraceParent::from_meta(m));
        let trace = from_meta.as_ref().or(admitted.trace.as_deref());
        let args = request.arguments.unwrap_or_default();
        self.execute(&request.name, args, admitted, id_text(id), trace)
            .await
            .map(CallToolResponse::from)
    }

    /// Runs one tool call under the concurrency cap and deadline. Shared by the MCP path
    /// and in-process callers.
    pub async fn execute(
        &self,
        name: &str,
        args: Map<String, Value>,
        admitted: &Admitted,
        request_id: String,
        trace: Option<&TraceParent>,
    ) -> Result<CallToolResult, ErrorData> {
        let inner = &self.0;
        let caller = &admitted.caller;
        let Some(tool) = inner.registry.get(name, caller) else {
            // A tool this caller may not use is refused as if it did not exist (listing
            // does not show it either), but audited as forbidden.
            let (outcome, message) = if inner.registry.contains(name) {
                (
                    Outcome::Forbidden,
                    format!("tool {name} is not available to caller {}", caller.id),
                )
            } else {
                (Outcome::UnknownTool, format!("unknown tool: {name}"))
            };
            self.finish(
                admitted,
                CallEnd {
                    name,
                    outcome,
                    args: &args,
                    request_id: &request_id,
                    error: Some(&message),
                    trace_id: None,
                    report: &CallReport::default(),
                },
            );
            return Err(ErrorData::invalid_params(
                message,
                Some(json!({ "kind": outcome.as_str() })),
            ));
        };
        if let Err(message) = tool.config.check_arguments(&args) {
            let result = tool_error_result(&ToolError::invalid(message.clone()));
            self.finish(
                admitted,
                CallEnd {
                    name,
                    outcome: Outcome::ToolError,
                    args: &args,
                    request_id: &request_id,
                    error: Some(&message),
                    trace_id: None,
                    report: &CallReport::default(),
                },
            );
            return Ok(result);
        }
        let mut args = args;
        tool.config.apply_defaults(&mut args);
        if let Some(preset) = &tool.preset {
            args.extend(preset.args.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let deadline = deadline_for(admitted.received, inner.limits.timeout, &args);
        let span = if inner.spans {
            telemetry::tool_span(name, &request_id, caller, inner.tier)
        } else {
            tracing::Span::none()
        };
        if let Some(parent) = trace.filter(|_| inner.spans) {
            telemetry::continue_trace(&span, parent);
        }
        let report = CallReport::default();
        let outcome = tokio::time::timeout_at(
            deadline,
            run(inner, &tool, &args, caller, deadline, &report),
        )
        .instrument(span.clone())
        .await;
        // A backend that gave up at the deadline is a timeout like any other.
        let outcome = match outcome {
            Ok(Err(e)) if e.kind == ToolErrorKind::Timeout => None,
            Ok(done) => Some(done),
            Err(_elapsed) => None,
        };
        let trace_id = telemetry::trace_id(&span);
        match outcome {
            Some(Ok(output)) => {
                telemetry::record_ok(&span);
                self.finish(
                    admitted,
                    CallEnd {
                        name,
                        outcome: Outcome::Ok,
                        args: &args,
                        request_id: &request_id,
                        error: None,
                        trace_id: trace_id.as_deref(),
                        report: &report,
                    },
                );
                let mut result = CallToolResult::success(output.content);
                result.structured_content = output.structured;
                Ok(result)
            }
            Some(Err(error)) => {
                telemetry::record_error(&span, "tool_error", &error.message);
                let result = tool_error_result(&error);
                self.finish(
                    admitted,
                    CallEnd {
                        name,
                        outcome: Outcome::ToolError,
                        args: &args,
                        request_id: &request_id,
                        error: Some(&error.message),
                        trace_id: trace_id.as_deref(),
                        report: &report,
                    },
                );
                Ok(result)
            }
            None => {
                let limit = deadline.saturating_duration_since(admitted.received);
                let message = format!("{name} timed out after {} ms", limit.as_millis());
                telemetry::record_error(&span, "timeout", &message);
                inner.metrics.reject(Rejection::TimedOut);
                self.finish(
                    admitted,
                    CallEnd {
                        name,
                        outcome: Outcome::TimedOut,
                        args: &args,
                        request_id: &request_id,
                        error: Some(&message),
                        trace_id: trace_id.as_deref(),
                        report: &report,
                    },
                );
                Err(ErrorData::new(
                    rmcp::model::ErrorCode(code::TIMED_OUT),
                    message,
                    Some(json!({ "kind": "timed_out", "timeoutMs": limit.as_millis() as u64 })),
                ))
            }
        }
    }

    /// The metric sample and audit record of a call that ended.
    fn finish(&self, admitted: &Admitted, end: CallEnd<'_>) {
        self.0
            .metrics
            .call(end.name, end.outcome, admitted.received.elapsed());
        self.audit(admitted, &end);
    }

    /// One audit record for a request `admitted` let in.
    fn audit(&self, admitted: &Admitted, end: &CallEnd<'_>) {
        let inner = &self.0;
        let caller = &admitted.caller;
        inner.audit.record(&AuditRecord {
            tool_name: end.name,
            duration: admitted.received.elapsed(),
            parameters: Some(end.args),
            timestamp: admitted.received_at,
            security: SecurityContext {
                local: inner.tier == Tier::Local,
                aws_iam: inner.tier == Tier::AwsManaged,
                rate_limited: false,
                iam_role: end.report.iam_role.get().map(String::as_str),
            },
            outcome: end.outcome,
            error: end.error,
            caller: &caller.id,
            principal: caller.principal.as_deref(),
            request_id: end.request_id,
            trace_id: end.trace_id,
            attempts: end.report.attempts(),
        });
    }
}

/// How a call (or a resource read) ended, for its metric sample and audit record.
struct CallEnd<'a> {
    name: &'a str,
    outcome: Outcome,
    args: &'a Map<String, Value>,
    request_id: &'a str,
    error: Option<&'a str>,
    trace_id: Option<&'a str>,
    report: &'a CallReport,
}

async fn run(
    inner: &HandlerInner,
    tool: &RegisteredTool,
    args: &Map<String, Value>,
    caller: &Caller,
    deadline: Instant,
    report: &CallReport,
) -> Result<ToolOutput, ToolError> {
    // Waiting for a permit counts against the deadline: calls beyond the cap queue here.
    let _permit = inner
        .concurrency
        .acquire()
        .await
        .map_err(|_| ToolError::backend("server is shutting down"))?;
    let _executing = inner.metrics.executing();
    tool.handler
        .call(ToolCall {
            args,
            deadline,
            caller,
            report,
        })
        .await
}

/// The call's deadline: the tier's timeout, shortened by a `timeout_ms` argument.
fn deadline_for(received: Instant, tier_timeout: Duration, args: &Map<String, Value>) -> Instant {
    let asked = args
        .get("timeout_ms")
        .and_then(Value::as_u64)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    received + asked.map_or(tier_timeout, |a| a.min(tier_timeout))
}

fn id_text(id: &RequestId) -> String {
    match id {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.to_string(),
    }
}

fn tool_error_result(error: &ToolError) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(error.message.clone())]);
    result.structured_content =
        Some(json!({ "error": { "kind": error.kind, "message": error.message } }));
    result
}

fn admitted_from(context: &RequestContext<RoleServer>) -> Admitted {
    context
        .extensions
        .get::<http::request::Parts>()
        .map_or_else(
            || Admitted::direct(Caller::anonymous("in-process")),
            Admitted::of,
        )
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        self.0.info.clone()
    }

    /// Watches the registry for the session from its `initialize` on, so that a change
    /// made before the client's first `tools/list` is announced too.
    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        context.peer.set_peer_info(request.clone());
        let result = self.negotiate_initialize(&request)?;
        let changes = self.0.registry.subscribe();
        notify::watch_session(changes, context.peer, &self.0.metrics);
        Ok(result)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        notify::accepted_filter(requested)
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), ErrorData> {
        notify::listen(self.0.registry.subscribe(), subscription, &self.0.metrics).await;
        Ok(())
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        self.list(cursor.as_deref(), &admitted_from(&context).caller)
    }

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        Ok(self.discovery())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0
            .registry
            .get(name, &Caller::anonymous("lookup"))
            .map(|t| t.descriptor.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let admitted = admitted_from(&context);
        // rmcp hands the request's `_meta` over in the context.
        let mut request = request;
        if request.meta.is_none() && !context.meta.0.0.is_empty() {
            request.meta = Some(context.meta);
        }
        self.call(request, &admitted, &context.id).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        McpHandler::list_resources(self, cursor.as_deref()).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        match &self.0.resources {
            Some(source) => Ok(ListResourceTemplatesResult::with_all_items(
                source.templates(),
            )),
            None => Err(ErrorData::method_not_found::<
                ListResourceTemplatesRequestMethod,
            >()),
        }
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        McpHandler::read_resource(self, &request.uri, &admitted_from(&context), &context.id)
            .await
            .map(ReadResourceResponse::from)
    }
}
