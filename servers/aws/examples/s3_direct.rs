//! The emulator's own ceiling for the benchmark in scripts/bench/aws_s3_read.sh: GetObject
//! straight through the Rust SDK under the s3_read role, N concurrent tasks for D seconds.
//!
//! cargo run --release -p mcp-aws-server --example s3_direct -- 32 10

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("ap-northeast-1"))
        .load()
        .await;
    let role = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/agent-s3-read")
        .role_session_name("s3-direct-bench")
        .send()
        .await?;
    let c = role
        .credentials()
        .ok_or_else(|| anyhow::anyhow!("no credentials"))?;
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "bench",
    );
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let end = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, ok, failed) = (client.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let r = client
                        .get_object()
                        .bucket("mcp-slo-reports")
                        .key("daily.csv")
                        .send()
                        .await;
                    let read = match r {
                        Ok(o) => o.body.collect().await.is_ok(),
                        Err(_) => false,
                    };
                    let counter = if read { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "direct GetObject: {ok} ok, {} failed in {elapsed:.1}s = {:.0}/s with {tasks} tasks",
        failed.load(Ordering::Relaxed),
        ok as f64 / elapsed
    );
    Ok(())
}
