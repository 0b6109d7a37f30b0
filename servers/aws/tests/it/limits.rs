//! The admission stack with the AWS tier's numbers (500 in flight, 1000 calls/s, 50 at once,
//! 10 s), around a slow tool registered at run time.

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, join_all};
use mcp_server_core::config::{
    Category, ParamKind, ParamSpec, Tier, TierLimits, ToolConfig, ToolOptions, ToolSecurity,
};
use mcp_server_core::registry::{RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::json;

use crate::support::{Setup, TestServer, require_moto, seed_limits};

struct Sleep;

impl ToolHandler for Sleep {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let ms = call.u64_arg("ms").unwrap_or(100);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ToolOutput::json(json!({"slept_ms": ms})))
        })
    }
}

fn sleep_tool() -> RegisteredTool {
    let config = ToolConfig {
        name: "sleep".into(),
        description: "sleeps for ms milliseconds".into(),
        category: Category::Compute,
        parameters: vec![ParamSpec {
            name: "ms".into(),
            kind: ParamKind::Integer,
            description: None,
            default: None,
            required: true,
        }],
        security: ToolSecurity::default(),
        options: ToolOptions::default(),
    };
    RegisteredTool::new(Tier::AwsManaged, config, Arc::new(Sleep))
}

/// The seed's AWS limits with every one but those `keep` sets lifted.
fn only(keep: impl Fn(&mut TierLimits, &TierLimits)) -> TierLimits {
    let seed = seed_limits();
    let mut l = seed.clone();
    l.max_inflight_requests = NonZeroUsize::new(1_000_000).unwrap();
    l.rate_limit_per_second = NonZeroU32::new(1_000_000_000).unwrap();
    l.rate_limit_per_caller_per_second = NonZeroU32::new(1_000_000_000).unwrap();
    l.max_concurrent = NonZeroUsize::new(100_000).unwrap();
    keep(&mut l, &seed);
    l
}

async fn start(limits: TierLimits) -> TestServer {
    let server = Setup {
        limits,
        ..Setup::new()
    }
    .build()
    .await;
    server.registry().register(sleep_tool()).unwrap();
    TestServer::serve(server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflight_cap_of_500_refuses_exactly_the_excess_at_once() {
    let _e = require_moto!();
    let server = start(only(|l, s| {
        l.max_inflight_requests = s.max_inflight_requests
    }))
    .await;
    let answers = join_all((0..507).map(|_| server.call("sleep", json!({"ms": 1500})))).await;
    let refused = answers.iter().filter(|a| a.status == 503).count();
    assert_eq!(refused, 7, "exactly 7 beyond 500");
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 500);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_of_50_queues_the_rest() {
    let _e = require_moto!();
    let server = start(only(|l, s| l.max_concurrent = s.max_concurrent)).await;
    let started = Instant::now();
    let answers = join_all((0..120).map(|_| server.call("sleep", json!({"ms": 300})))).await;
    let took = started.elapsed().as_secs_f64();
    assert!(answers.iter().all(|a| a.is_ok()));
    assert!(
        (0.9..1.5).contains(&took),
        "120 calls of 0.3 s through 50 slots: 3 waves, took {took:.2}s"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("mcp_tool_executions_peak 50\n"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_of_1000_per_second_admits_the_burst_and_what_refills() {
    let _e = require_moto!();
    let server = start(only(|l, s| {
        l.rate_limit_per_second = s.rate_limit_per_second;
        l.rate_limit_per_caller_per_second = s.rate_limit_per_caller_per_second;
    }))
    .await;
    let started = Instant::now();
    let answers = join_all((0..1300).map(|_| server.call("sleep", json!({"ms": 1})))).await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = answers.iter().filter(|a| a.status == 200).count();
    let limited = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(admitted + limited, 1300);
    let most = 1000 + (elapsed * 1000.0).ceil() as usize;
    assert!(
        (1000..=most).contains(&admitted),
        "admitted {admitted} in {elapsed:.2}s"
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 429)
            .all(|a| a.headers.contains_key("retry-after"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_10_seconds_ends_at_the_deadline() {
    let _e = require_moto!();
    let server = start(seed_limits()).await;
    let started = Instant::now();
    let late = server.call("sleep", json!({"ms": 12_000})).await;
    let took = started.elapsed();
    assert_eq!(late.body["error"]["code"], -32001, "{}", late.body);
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_millis(10_500),
        "{took:?}"
    );
    server.stop().await;
}
