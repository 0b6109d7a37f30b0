//! Tracing and OpenTelemetry: one span `mcp.tool.<name>` per call, with the attributes of
//! the OpenTelemetry MCP semantic conventions and an OK/ERROR status. Spans are exported
//! over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise no exporter is
//! built and spans cost only what `tracing` costs.

use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::caller::Caller;
use crate::config::Tier;

/// Keeps the exporter alive; flushes spans on drop.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("opentelemetry shutdown: {e}");
        }
    }
}

/// Installs logging to stderr (`RUST_LOG`, default `info`) and, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set, OTLP span export.
///
/// With the default filter the log leaves tool spans out: it would format each span's
/// dozen fields on every call for log lines that rarely come, and the audit trail already
/// has one record per call. With no exporter either, no layer wants tool spans and
/// `tracing` skips them entirely. An explicit `RUST_LOG` gets exactly what it asks for.
pub fn init(service_name: &str) -> Result<Telemetry, String> {
    let fmt = log_layer(EnvFilter::try_from_default_env().ok());
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    let Some(_endpoint) = endpoint else {
        tracing_subscriber::registry()
            .with(fmt)
            .try_init()
            .map_err(|e| e.to_string())?;
        return Ok(Telemetry { provider: None });
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("mcp-slo");
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(
            tracing_subscriber::filter::filter_fn(|meta| {
                meta.is_span() && meta.name() == TOOL_SPAN
            })
            // Tool spans are INFO spans; see `log_layer` for why the hint matters.
            .with_max_level_hint(LevelFilter::INFO),
        );
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// The stderr log, filtered by `explicit` (`RUST_LOG`) or by the default.
///
/// One combined filter, not two nested ones: with nested per-layer filters the registry
/// still builds (and enters, on every poll) spans the inner filter turns down, such as
/// rmcp's per-request `serve_inner`.
///
/// The filter keeps the level hint of the `RUST_LOG` (or default) filter. Without a hint
/// the `log` crate's maximum level is set to TRACE, and every `log::debug!` in a
/// dependency (tokio-postgres has several per query) is built and passed to `tracing` to
/// be turned down: about 4% of the server's instructions per call.
fn log_layer<S>(explicit: Option<EnvFilter>) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let tool_spans = explicit.is_some();
    let filter = explicit.unwrap_or_else(|| EnvFilter::new("info,rmcp=warn"));
    let filter = filter.and(
        tracing_subscriber::filter::filter_fn(move |meta| {
            tool_spans || !(meta.is_span() && meta.name() == TOOL_SPAN)
        })
        .with_max_level_hint(LevelFilter::TRACE),
    );
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter)
}

/// The `tracing` name of tool spans; exported under `otel.name = mcp.tool.<name>`.
pub const TOOL_SPAN: &str = "mcp.tool";

/// The span for one tool call.
pub fn tool_span(tool: &str, request_id: &str, caller: &Caller, tier: Tier) -> Span {
    tracing::info_span!(
        TOOL_SPAN,
        "otel.name" = format!("mcp.tool.{tool}"),
        "otel.kind" = "server",
        "otel.status_code" = tracing::field::Empty,
        "otel.status_message" = tracing::field::Empty,
        "mcp.method.name" = "tools/call",
        "gen_ai.operation.name" = "execute_tool",
        "gen_ai.tool.name" = tool,
        "jsonrpc.request.id" = request_id,
        "mcp.tier" = tier.as_str(),
        "client.address" = &*caller.id,
        "error.type" = tracing::field::Empty,
    )
}

pub fn record_ok(span: &Span) {
    span.record("otel.status_code", "OK");
}

pub fn record_error(span: &Span, kind: &str, message: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_message", message);
    span.record("error.type", kind);
}

/// The W3C trace context a request carried (`traceparent`, `tracestate`): in its HTTP
/// headers, or in its `_meta` (SEP-414; the `_meta` wins when both are given). The tool
/// span continues that trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub traceparent: String,
    pub tracestate: Option<String>,
}

impl TraceParent {
    pub fn from_headers(headers: &http::HeaderMap) -> Option<TraceParent> {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Some(TraceParent {
            traceparent: get("traceparent")?,
            tracestate: get("tracestate"),
        })
    }

    pub fn from_meta(meta: &rmcp::model::MetaObject) -> Option<TraceParent> {
        Some(TraceParent {
            traceparent: meta.get_traceparent()?.to_owned(),
            tracestate: meta.get_tracestate().map(str::to_owned),
        })
    }
}

impl Extractor for TraceParent {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(&self.traceparent),
            "tracestate" => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys = vec!["traceparent"];
        if self.tracestate.is_some() {
            keys.push("tracestate");
        }
        keys
    }
}

/// Makes `span` a child of the remote span `parent` names; a malformed `traceparent`
/// leaves it the root of a trace of its own, as W3C Trace Context says.
pub fn continue_trace(span: &Span, parent: &TraceParent) {
    let context = TraceContextPropagator::new().extract(parent);
    if context.span().span_context().is_valid() {
        // Fails only for a span no layer records (no exporter): nothing to continue then.
        let _ = span.set_parent(context);
    }
}

/// The span's trace id when it is exported, for the audit record.
pub fn trace_id(span: &Span) -> Option<String> {
    let context = span.context();
    let span_ref = context.span();
    let span_context = span_ref.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_under(explicit: Option<&str>) -> [bool; 3] {
        let subscriber =
            tracing_subscriber::registry().with(log_layer(explicit.map(EnvFilter::new)));
        tracing::subscriber::with_default(subscriber, || {
            let caller = Caller::anonymous("test");
            [
                !tracing::info_span!(target: "rmcp::service", "serve_inner").is_disabled(),
                !tool_span("postgres_query", "1", &caller, Tier::Local).is_disabled(),
                !tracing::info_span!("startup").is_disabled(),
            ]
        })
    }

    /// One test, not two: `tracing` caches each call site's interest across every live
    /// dispatcher, so two of them alive at once in parallel tests would mix their answers.
    #[test]
    fn the_default_log_builds_no_per_request_spans_and_an_explicit_one_gets_what_it_asks_for() {
        // [rmcp's per-request span, the tool span, one of ours]
        assert_eq!(spans_under(None), [false, false, true]);
        assert_eq!(spans_under(Some("info")), [true, true, true]);
        assert_eq!(spans_under(Some("warn")), [false, false, false]);
    }

    #[test]
    fn the_log_keeps_the_filters_level_so_dependencies_log_calls_stay_cheap() {
        use tracing_subscriber::Registry;
        let hint = |explicit: Option<&str>| {
            log_layer::<Registry>(explicit.map(EnvFilter::new)).max_level_hint()
        };
        assert_eq!(hint(None), Some(LevelFilter::INFO));
        assert_eq!(hint(Some("warn")), Some(LevelFilter::WARN));
        assert_eq!(
            hint(Some("info,tokio_postgres=debug")),
            Some(LevelFilter::DEBUG)
        );
    }

    #[test]
    fn trace_context_comes_from_headers_or_meta() {
        const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let mut headers = http::HeaderMap::new();
        assert_eq!(TraceParent::from_headers(&headers), None);
        headers.insert("traceparent", http::HeaderValue::from_static(PARENT));
        headers.insert("tracestate", http::HeaderValue::from_static("vendor=1"));
        let parent = TraceParent::from_headers(&headers).unwrap();
        assert_eq!(parent.traceparent, PARENT);
        assert_eq!(parent.keys(), ["traceparent", "tracestate"]);
        let mut meta = rmcp::model::MetaObject::new();
        meta.set_traceparent(PARENT);
        assert_eq!(
            TraceParent::from_meta(&meta),
            Some(TraceParent {
                traceparent: PARENT.into(),
                tracestate: None
            })
        );
        let context = TraceContextPropagator::new().extract(&parent);
        assert_eq!(
            context.span().span_context().trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
    }
}
