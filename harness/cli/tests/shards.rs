//! Sharded load merged exactly: two identical `mcp-slo run --shard auto/2` processes (each
//! takes its own index) load one local tier together from the same `--start-at`, and `mcp-slo merge` gives one run whose
//! histograms are the sum of the shards' (the same percentiles as every call recorded in
//! one histogram), whose counts are their sums, whose offered rate is the scenario's, and
//! whose verdict is judged on the whole. Shards that do not belong together are refused.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{local_tier, root, schema_errors, services};
use hdrhistogram::Histogram;
use mcp_slo_core::maths::decode_histogram;

fn mcp_slo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-slo"));
    command.args(args).current_dir(root());
    command
}

fn read(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
}

fn histogram(result: &serde_json::Value) -> Histogram<u64> {
    decode_histogram(result["histograms"]["overall"].as_str().unwrap()).unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn two_shards_merge_into_the_run_one_process_would_have_recorded() {
    if !services() {
        return;
    }
    let url = local_tier(mcp_server_core::stack::Mode::Stateless);
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("sharded.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"version: mcp-slo/v1
name: sharded
targets:
  local: {{ url: "{url}", mode: stateless }}
load:
  model: open
  callers: 2
  phases:
    - {{ name: warmup, duration: 1s, rate: 20/s, record: false }}
    - {{ name: steady, duration: 4s, rate: 80/s }}
mix:
  - {{ target: local, tool: file_read, args: {{ path: reports/daily.csv }} }}
slo:
  - {{ latency: {{ p: 99, below: 500ms }} }}
  - {{ error_rate: {{ below: 1% }} }}
  - {{ throughput: {{ above: 70/s }} }}
"#
        ),
    )
    .unwrap();
    let start =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(3)).to_string();
    // Two identical processes, as replicas of one service are: each takes its own index
    // (`auto/2`: the first of run/shard-0, run/shard-1 it can make).
    let run = dir.path().join("run");
    let shard_dir = |i: usize| run.join(format!("shard-{i}"));
    let shards: Vec<_> = (0..2)
        .map(|_| {
            mcp_slo(&["run", scenario.to_str().unwrap(), "--no-progress-bar"])
                .args(["--shard", "auto/2", "--start-at", &start, "--out"])
                .arg(&run)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for shard in shards {
        let output = shard.wait_with_output().unwrap();
        // A shard's share (40/s) misses the run's throughput objective: it is not judged alone.
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
    for i in 0..2 {
        let result = read(&shard_dir(i));
        assert_eq!(result["shard"]["index"], i);
        assert_eq!(result["shard"]["count"], 2);
        assert!((result["load"]["offered_rate"].as_f64().unwrap() - 40.0).abs() < 1e-6);
        assert!(shard_dir(i).join("record.json").exists());
    }
    let merged_dir = dir.path().join("merged");
    let output = mcp_slo(&["merge"])
        .arg(shard_dir(1))
        .arg(shard_dir(0))
        .arg("--out")
        .arg(&merged_dir)
        .output()
        .unwrap();
    let merged = read(&merged_dir);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{:#}",
        text(&output),
        merged["objectives"]
    );
    assert!(
        text(&output).contains("merged 2 shards of sharded"),
        "{}",
        text(&output)
    );
    assert_eq!(schema_errors(&merged), Vec::<String>::new());
    let (a, b) = (read(&shard_dir(0)), read(&shard_dir(1)));
    // Histograms add: the merged one is every shard's call in one histogram.
    let mut one = histogram(&a);
    one.add(histogram(&b)).unwrap();
    let whole = histogram(&merged);
    assert_eq!(whole, one);
    for (p, field) in [(0.5, "p50_us"), (0.99, "p99_us")] {
        assert_eq!(
            merged["overall"]["latency"][field].as_u64().unwrap(),
            one.value_at_quantile(p),
            "{field}"
        );
    }
    let count = |r: &serde_json::Value, key: &str| r["load"][key].as_u64().unwrap();
    for key in ["offered_calls", "completed_calls"] {
        assert_eq!(
            count(&merged, key),
            count(&a, key) + count(&b, key),
            "{key}"
        );
    }
    assert_eq!(count(&merged, "offered_calls"), 320);
    assert!((merged["load"]["offered_rate"].as_f64().unwrap() - 80.0).abs() < 1e-6);
    assert_eq!(merged["merged"]["count"], 2);
    let skew = merged["merged"]["skew_ms"].as_f64().unwrap();
    assert!(skew < 500.0, "the shards started {skew} ms apart");
    let throughput = merged["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "throughput")
        .unwrap();
    assert_eq!(throughput["passed"], true, "{throughput}");

    // A third process of the same run finds no index left.
    let output = mcp_slo(&[
        "run",
        scenario.to_str().unwrap(),
        "--shard",
        "auto/2",
        "--out",
    ])
    .arg(&run)
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("every shard directory under"),
        "{}",
        text(&output)
    );

    // Not every shard, or one twice: refused, nothing judged.
    for (dirs, message) in [
        (vec![shard_dir(0)], "shard [1] of 2 missing"),
        (vec![shard_dir(0), shard_dir(0)], "are both shard 0"),
        (vec![merged_dir.clone()], "not a shard's result"),
    ] {
        let output = mcp_slo(&["merge"])
            .args(&dirs)
            .arg("--out")
            .arg(dir.path().join("refused"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(text(&output).contains(message), "{}", text(&output));
    }
}
