//! AssumeRole latency as the AWS tier sees it (the seed's objective: under 200 ms): N calls
//! of the same AssumeRole the credential cache makes, one after another.
//!
//! cargo run --release -p mcp-aws-server --example assume_role_latency -- 200

use std::time::Instant;

use aws_config::BehaviorVersion;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("ap-northeast-1"))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&sdk);
    let mut micros = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        sts.assume_role()
            .role_arn("arn:aws:iam::123456789012:role/agent-s3-read")
            .role_session_name(format!("latency-{i}"))
            .duration_seconds(3600)
            .send()
            .await?;
        micros.push(started.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let at = |q: f64| {
        micros[((micros.len() as f64 * q).ceil() as usize).clamp(1, micros.len()) - 1] as f64
            / 1000.0
    };
    println!(
        "AssumeRole x{n}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
