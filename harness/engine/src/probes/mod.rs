//! Boundary probes: does the server hold the limits its deployment boundaries declare?
//! Each probe drives its own traffic (nothing else runs at the same time) and records what
//! happened; `mcp_slo_core::verdict::probes` judges the record into a [`ProbeResult`] with
//! the measured figures beside the expected ones, a failure saying which limit and by how
//! much.
//!
//! - rate: a multiple of the limit for a window; every full second after the first must
//!   admit the limit ±tolerance, every excess call must get a rate-limited answer with
//!   `Retry-After`, and every call must get an answer.
//! - in-flight: the cap's worth of slow calls (paced under the rate limit), then `extra`
//!   more: exactly the cap is admitted, the extras are refused as overloaded at once.
//! - concurrency: N calls of duration d through c slots take ceil(N/c)·d, and, when the
//!   scenario names the server's peak gauge (`probes.metrics`), it stays ≤ c.
//! - timeout: a call outliving the deadline ends at the deadline with a timeout error; an
//!   optional check call then shows its backend work is gone.
//! - list_changed: listening clients hear of every change to the tool list, made through
//!   the request the scenario names, within the goal (p99 from the change's request).
//!
//! All of them are judged from the wire (what was admitted, refused, and when); a server's
//! own gauges are read only when `probes.metrics` names them, so any MCP server can be
//! probed.

mod hold;
mod listen;
mod rate;
mod timeout;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::args::SeededSource;
use mcp_slo_core::spec::probes::{ProbeMetrics, ProbeOp, Probes};
use mcp_slo_core::verdict::probes::ProbeCall;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{Answer, Endpoint, Http, Session};
use crate::op::{Attempts, execute_op};

/// Receives a line as each probe starts and ends.
pub type ProbeLog = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("probe {probe}: {message}")]
    Setup {
        probe: &'static str,
        message: String,
    },
}

/// Runs every configured probe against `endpoint`, one after another.
pub async fn run_probes(
    probes: &Probes,
    endpoint: &Endpoint,
    log: ProbeLog,
) -> Result<Vec<ProbeResult>, ProbeError> {
    let mut results = Vec::new();
    let target = probes.target.as_str();
    let report = |r: ProbeResult, results: &mut Vec<ProbeResult>| {
        log(&format!(
            "probe {}: {} (expected {}, measured {})",
            r.probe,
            if r.passed { "pass" } else { "FAIL" },
            r.expected,
            r.measured
        ));
        results.push(r);
    };
    if let Some(p) = &probes.rate {
        tokio::time::sleep(probes.pause).await;
        log("probe rate: running");
        report(rate::probe(target, endpoint, p).await?, &mut results);
    }
    if let Some(p) = &probes.in_flight {
        tokio::time::sleep(probes.pause).await;
        log("probe in_flight: running");
        report(
            hold::in_flight(target, endpoint, p, probes.metrics.as_ref()).await?,
            &mut results,
        );
    }
    if let Some(p) = &probes.concurrency {
        tokio::time::sleep(probes.pause).await;
        log("probe concurrency: running");
        report(
            hold::concurrency(target, endpoint, p, probes.metrics.as_ref()).await?,
            &mut results,
        );
    }
    if let Some(p) = &probes.timeout {
        tokio::time::sleep(probes.pause).await;
        log("probe timeout: running");
        report(timeout::probe(target, endpoint, p).await?, &mut results);
    }
    if let Some(p) = &probes.list_changed {
        tokio::time::sleep(probes.pause).await;
        log("probe list_changed: running");
        report(listen::probe(target, endpoint, p).await?, &mut results);
    }
    Ok(results)
}

/// A caller: its own HTTP client (bound to 127.0.0.N for a loopback target) and MCP
/// session.
struct Caller {
    index: u32,
    client: Http,
    session: Session,
    endpoint: Endpoint,
    source: SeededSource,
    timeout: Duration,
}

impl Caller {
    async fn open(
        probe: &'static str,
        endpoint: &Endpoint,
        index: u32,
        timeout: Duration,
    ) -> Result<Caller, ProbeError> {
        let setup = |message: String| ProbeError::Setup { probe, message };
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (index % 250) as u8));
        let mut builder = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(timeout);
        if mcp_slo_core::spec::is_loopback_url(&endpoint.url) {
            builder = builder.local_address(address);
        }
        let reqwest = builder.build().map_err(|e| setup(e.to_string()))?;
        let client = Http::new(reqwest, Some(address));
        let session = endpoint
            .initialize(&client)
            .await
            .map_err(|e| setup(e.to_string()))?;
        Ok(Caller {
            index,
            client,
            session,
            endpoint: endpoint.clone(),
            source: SeededSource::new(0x7072_6f62 ^ u64::from(index), Default::default()),
            timeout,
        })
    }

    /// Starts one call in its own task; its JSON-RPC ids start at `first_id`.
    fn spawn(
        &mut self,
        op: &ProbeOp,
        first_id: u64,
        start: Instant,
    ) -> tokio::task::JoinHandle<ProbeCall> {
        let args = op.args.render(&mut self.source);
        let method = op.method.clone();
        let client = self.client.clone();
        let endpoint = self.endpoint.clone();
        let mut session = self.session.fork(first_id);
        let caller = self.index;
        let timeout = self.timeout;
        tokio::spawn(async move {
            let sent = start.elapsed();
            let answer = execute_op(
                &client,
                &endpoint,
                &mut session,
                &method,
                args,
                Attempts::once(timeout),
            )
            .await;
            ProbeCall {
                caller,
                sent,
                ended: start.elapsed(),
                outcome: answer.outcome,
                status: answer.status,
                message: answer.message,
                retry_after: answer.retry_after,
            }
        })
    }

    async fn structured(&mut self, op: &ProbeOp) -> (Answer, Option<Value>) {
        let args = op.args.render(&mut self.source);
        let answer = execute_op(
            &self.client,
            &self.endpoint,
            &mut self.session,
            &op.method,
            args,
            Attempts::once(self.timeout),
        )
        .await;
        let structured = answer.structured();
        (answer, structured)
    }

    async fn close(&self) {
        self.endpoint.close(&self.client, &self.session).await;
    }
}

/// Waits for every call (they all end: each has the client's timeout).
async fn collect(handles: Vec<tokio::task::JoinHandle<ProbeCall>>) -> Vec<ProbeCall> {
    let mut calls = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(call) = h.await {
            calls.push(call);
        }
    }
    calls
}

/// One unlabelled gauge or counter from the server's metrics, when the scenario declared
/// both the page and the gauge; `None` otherwise (the probes then judge from the wire).
async fn read_metric(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    metrics: Option<&ProbeMetrics>,
    name: impl Fn(&ProbeMetrics) -> Option<&String>,
) -> Option<f64> {
    let metrics = metrics?;
    let name = name(metrics)?;
    let url = crate::metrics_page::page_url(&metrics.url, &endpoint.url)?;
    let text = crate::metrics_page::read_page(client, &url).await.ok()?;
    // Unlabelled: the series without labels (summing every series of the name would
    // mistake a labelled family for the gauge).
    mcp_slo_core::prometheus::parse(&text)
        .into_iter()
        .find(|s| &s.name == name && s.labels.is_empty())
        .map(|s| s.value)
}
