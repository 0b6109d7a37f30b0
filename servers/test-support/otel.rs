//! A real OpenTelemetry collector for the tiers' telemetry tests: rotel
//! (`scripts/otel/install-rotel.sh`) receiving OTLP/HTTP, whose detailed debug log prints
//! every span it gets. Included by both tiers' integration tests (`#[path]`), which share
//! no test crate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// rotel's agent: `$MCP_SLO_ROTEL/rotel-agent`, else `~/.cache/mcp-slo/rotel/rotel-agent`.
/// Absent: a failure under `MCP_SLO_REQUIRE_SERVICES=1`, else `None` and a SKIPPED line.
fn rotel() -> Option<PathBuf> {
    let dir = std::env::var_os("MCP_SLO_ROTEL")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mcp-slo/rotel"))
        })?;
    let agent = dir.join("rotel-agent");
    if agent.exists() {
        return Some(agent);
    }
    let why = format!(
        "rotel is not installed at {} (run scripts/otel/install-rotel.sh)",
        agent.display()
    );
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The collector, killed when dropped.
pub struct Collector {
    child: Child,
    log: PathBuf,
    /// Where to point `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
}

impl Collector {
    /// Starts rotel with its log in `dir`; `None` when it is not installed (see [`rotel`]).
    pub fn start(dir: &Path) -> Option<Collector> {
        let agent = rotel()?;
        let (otlp, grpc) = (free_port(), free_port());
        let log = dir.join("rotel.log");
        let child = Command::new(agent)
            .args(["start", "--exporter", "blackhole"])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{otlp}")])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
            .args(["--debug-log", "traces", "--debug-log-verbosity", "detailed"])
            .stdout(std::fs::File::create(&log).expect("a file for rotel's log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("rotel starts");
        Some(Collector {
            child,
            log,
            endpoint: format!("http://127.0.0.1:{otlp}"),
        })
    }

    /// The spans received so far, waiting up to 10 s for at least `expected`.
    pub async fn spans(&self, expected: usize) -> Vec<Span> {
        let started = Instant::now();
        loop {
            let received = spans(&std::fs::read_to_string(&self.log).unwrap_or_default());
            if received.len() >= expected || started.elapsed() > Duration::from_secs(10) {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One span as rotel's detailed debug log prints it.
#[derive(Debug, Default)]
pub struct Span {
    pub trace_id: String,
    pub parent_id: String,
    pub name: String,
    pub status: String,
    pub attributes: Vec<(String, String)>,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The spans in rotel's log: `Span #n` blocks of `Field : value` lines and `-> key: Str(v)`
/// attributes.
fn spans(log: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for line in log.lines() {
        let line = line.trim();
        if line.starts_with("Span #") {
            out.push(Span::default());
            continue;
        }
        let Some(span) = out.last_mut() else { continue };
        if let Some(attribute) = line.strip_prefix("-> ") {
            if let Some((key, value)) = attribute.split_once(": ") {
                let value = value
                    .strip_prefix("Str(")
                    .and_then(|v| v.strip_suffix(')'))
                    .unwrap_or(value);
                span.attributes.push((key.to_owned(), value.to_owned()));
            }
        } else if let Some((field, value)) = line.split_once(" : ") {
            let value = value.trim().to_owned();
            match field.trim() {
                "Trace ID" => span.trace_id = value,
                "Parent ID" => span.parent_id = value,
                "Name" => span.name = value,
                "Status code" => span.status = value,
                _ => {}
            }
        } else if let Some(value) = line.strip_prefix("Parent ID      :") {
            span.parent_id = value.trim().to_owned();
        }
    }
    out
}

/// The 2026-07-28 `_meta` of a self-contained request carrying `traceparent`.
pub fn meta_with_trace(traceparent: &str) -> serde_json::Value {
    serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "telemetry-test", "version": "1"},
        "traceparent": traceparent,
    })
}

/// The one ERROR span among `received`, asserted to be a tool error in a trace of its own
/// (its call gave no trace context).
pub fn tool_error_span(received: &[Span]) -> &Span {
    let error = received
        .iter()
        .find(|s| s.status == "STATUS_CODE_ERROR")
        .unwrap_or_else(|| panic!("no ERROR span: {received:#?}"));
    assert!(error.parent_id.is_empty(), "a trace of its own: {error:?}");
    assert_eq!(error.attribute("error.type"), Some("tool_error"));
    error
}

/// Asserts that the audit trail at `audit` (JSON lines) holds a record for each request id
/// naming the given trace.
pub fn assert_audit_traces(audit: &Path, expected: &[(&str, &str)]) {
    let records: Vec<serde_json::Value> = std::fs::read_to_string(audit)
        .expect("the audit trail")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit record is JSON"))
        .collect();
    for (id, trace) in expected {
        let record = records
            .iter()
            .find(|r| r["requestId"] == *id)
            .unwrap_or_else(|| panic!("no audit record of {id}: {records:?}"));
        assert_eq!(record["traceId"], *trace, "{record}");
    }
}
