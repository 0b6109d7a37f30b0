//! The runs `calibrate` compares: the harness, oha and the reference exchange on the same
//! call, each summarized as p50 / p90 / p99 and a rate.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use hdrhistogram::Histogram;
use mcp_slo_core::maths;
use mcp_slo_core::spec::{Mode, Protocol, Scenario};
use mcp_slo_core::verdict::calibration::Figures;
use mcp_slo_engine::client::Endpoint;

use crate::Outcome;

/// The latencies (µs) of one or more runs pooled, with their successful calls and
/// measured seconds. Rounds are pooled, not their percentiles averaged: a p99 over every
/// call of three rounds rests on three times the calls of one round's.
#[derive(Debug)]
pub(super) struct Sample {
    latency: Histogram<u64>,
    /// The instrument's own timing of its sends: the harness's start lateness (from the
    /// intended start to the request leaving, part of every latency it reports); oha's
    /// send spread (see [`oha_sample`]); empty for the reference exchange.
    lateness: Histogram<u64>,
    ok: u64,
    seconds: f64,
}

impl Sample {
    pub(super) fn new() -> Sample {
        Sample {
            latency: mcp_slo_core::measure::new_histogram(3),
            lateness: mcp_slo_core::measure::new_histogram(3),
            ok: 0,
            seconds: 0.0,
        }
    }

    pub(super) fn add(&mut self, other: &Sample) {
        // Both come from `new_histogram`, which grows to any value recorded.
        let _ = self.latency.add(&other.latency);
        let _ = self.lateness.add(&other.lateness);
        self.ok += other.ok;
        self.seconds += other.seconds;
    }

    /// The start lateness's (or send spread's) p50 and p99 (µs), when the sample has it.
    pub(super) fn lateness(&self) -> Option<(f64, f64)> {
        (!self.lateness.is_empty()).then(|| {
            (
                maths::percentile(&self.lateness, 50.0) as f64,
                maths::percentile(&self.lateness, 99.0) as f64,
            )
        })
    }

    pub(super) fn figures(&self) -> Figures {
        Figures::of(&self.latency, self.ok, self.seconds)
    }
}

pub(super) fn triple(f: &Figures) -> String {
    format!("{:.0} / {:.0} / {:.0}", f.p50, f.p90, f.p99)
}

pub(super) fn reqwest_client() -> mcp_slo_engine::client::Http {
    mcp_slo_engine::reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
        .into()
}

/// The reference exchange (see [`mcp_slo_engine::calibration::reference_client`]) at
/// `rate` for `duration` after `warmup` (not measured): the service time and what the
/// machine takes to carry one call at that rate, with the least a client can add (one
/// blocking connection: at rates its latency cannot keep up with, calls queue behind each
/// other).
pub(super) async fn reference_run(
    endpoint: &Endpoint,
    (tool, args): (&str, serde_json::Value),
    rate: f64,
    (warmup, duration): (Duration, Duration),
) -> Result<Sample, anyhow::Error> {
    let mut endpoint = endpoint.clone();
    if endpoint.revision.is_none() {
        endpoint
            .negotiate(&reqwest_client())
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let method = mcp_slo_core::spec::ops::Method::CallTool(tool.to_owned());
    let (headers, body) =
        endpoint.wire_request(method.name(), method.params(args, None), Some(tool));
    let url = endpoint.url.clone();
    let warm = (rate * warmup.as_secs_f64()).ceil() as usize;
    let calls = warm as u32 + (rate * duration.as_secs_f64()).ceil() as u32;
    let latencies = tokio::task::spawn_blocking(move || {
        mcp_slo_engine::calibration::reference_client(&url, &headers, &body, rate, calls)
    })
    .await?
    .map_err(|e| anyhow!("reference exchange: {e}"))?;
    let mut sample = Sample::new();
    for l in latencies.iter().skip(warm) {
        let _ = sample.latency.record(*l);
        sample.ok += 1;
    }
    sample.seconds = duration.as_secs_f64();
    Ok(sample)
}

/// An open-model rate, or closed-model users (flat out).
#[derive(Debug, Clone, Copy)]
pub(super) enum Load {
    /// A rate, with at most this many workers (oha's connections).
    Open(f64, u32),
    Closed(u32),
}

/// One harness run of `tool`: `warmup` (not measured), then `duration` measured.
pub(super) async fn harness_run(
    url: &str,
    tool: &str,
    args: &str,
    load: Load,
    (warmup, duration): (Duration, Duration),
) -> Result<Sample, anyhow::Error> {
    let (model, each) = match load {
        Load::Open(rate, workers) => (
            format!("open\n  max_users: {workers}"),
            format!("rate: {rate}/s"),
        ),
        Load::Closed(users) => ("closed".to_owned(), format!("users: {users}")),
    };
    let text = format!(
        "version: mcp-slo/v1\nname: calibrate\ntargets:\n  t: {{ url: \"{url}\", mode: stateless }}\nload:\n  model: {model}\n  phases:\n    - {{ duration: {}ms, {each}, record: false }}\n    - {{ duration: {}ms, {each} }}\nmix:\n  - {{ target: t, tool: {tool}, args: {args} }}\n",
        warmup.as_millis(),
        duration.as_millis()
    );
    let scenario = Scenario::from_yaml(Path::new("calibrate.yaml"), &text)?;
    let endpoints = BTreeMap::from([(
        "t".to_owned(),
        Endpoint::new(url, Mode::Stateless, Protocol::Auto),
    )]);
    let run = mcp_slo_engine::run::run(&scenario, endpoints, None).await?;
    let overall = run.measurements.recorder.overall();
    if overall.outcomes.failed() > 0 {
        return Err(anyhow!(
            "the harness run ({load:?}) had {} failed calls of {}",
            overall.outcomes.failed(),
            overall.outcomes.total()
        ));
    }
    Ok(Sample {
        latency: overall.latency.clone(),
        lateness: run.measurements.recorder.start_lateness.clone(),
        ok: overall.outcomes.ok,
        seconds: run.measurements.recorded_seconds,
    })
}

pub(super) fn oha_version(oha: &Path) -> Option<String> {
    let out = std::process::Command::new(oha)
        .arg("--version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// oha on the same call: `-q RATE --latency-correction` (from the intended start), or flat
/// out without a rate. A 2 s warm-up run first, then `pad + duration + pad`, of which the
/// requests started in `duration` after the first `pad` are kept (beside the harness: its
/// connections are open and its rate steady before the harness measures, and it still
/// runs when the harness stops). Latencies are read from oha's CSV, one line per request,
/// so that rounds pool exactly as the harness's histograms do.
pub(super) async fn oha_run(
    oha: &Path,
    (endpoint, tool, args): (&Endpoint, &str, serde_json::Value),
    rate: Option<f64>,
    (pad, duration): (Duration, Duration),
    connections: u32,
) -> Result<Sample, anyhow::Error> {
    let method = mcp_slo_core::spec::ops::Method::CallTool(tool.to_owned());
    let params = method.params(args, None);
    let (headers, body) = endpoint.wire_request(method.name(), params, Some(tool));
    let body = String::from_utf8(body).context("request body")?;
    let run = |seconds: f64| {
        let mut cmd = tokio::process::Command::new(oha);
        // No Accept-Encoding: the harness asks for no compression either. As many
        // threads as the harness's load engine takes by default (one per two cores).
        cmd.args([
            "--no-tui",
            "--output-format",
            "csv",
            "--disable-compression",
            "--worker-threads",
            &mcp_slo_core::spec::default_threads().to_string(),
        ])
        .args(["-m", "POST", "-c"])
        .arg(connections.to_string())
        .arg("-z")
        .arg(format!("{seconds}s"))
        .args(["-d", &body]);
        if let Some(r) = rate {
            cmd.args(["-q", &r.to_string(), "--latency-correction"]);
        }
        for (k, v) in &headers {
            cmd.arg("-H").arg(format!("{k}: {v}"));
        }
        cmd.arg(&endpoint.url);
        cmd
    };
    let _ = run(2.0).output().await;
    let out = run((duration + pad * 2).as_secs_f64())
        .output()
        .await
        .context("running oha")?;
    if !out.status.success() {
        return Err(anyhow!(
            "oha failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    oha_sample(&String::from_utf8_lossy(&out.stdout), pad, duration, rate)
}

/// oha's CSV (one line per answered request: start, DNS, dial-up, response delay, request
/// duration in seconds, bytes, status). Requests started before `from` or `duration` after
/// it are left out.
///
/// Under `-q RATE --latency-correction` the duration runs from the moment oha's scheduler
/// woke for the request's slot (`RequestResult::duration`: `end − start_latency_correction`,
/// set to `Instant::now()` after the scheduler's `tokio::time::sleep_until`), not from the
/// slot itself, so oha's own lateness before that is not in its figures. With `rate`, the
/// sample's lateness is oha's *send spread*: request `n`'s start (the CSV's first column,
/// in start order) against `n / rate`, less the least such offset (the CSV's clock origin
/// and the schedule's are not told apart), so 0 is its most punctual send. When answers
/// are missing the starts cannot be matched to slots and the spread is left empty.
fn oha_sample(
    csv: &str,
    from: Duration,
    duration: Duration,
    rate: Option<f64>,
) -> Result<Sample, anyhow::Error> {
    let mut sample = Sample::new();
    sample.seconds = duration.as_secs_f64();
    let mut failed = 0;
    let mut starts = Vec::new();
    for (i, line) in csv.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(start), Some(took), Some(status)) =
            (fields.first(), fields.get(4), fields.get(6))
        else {
            return Err(anyhow!("oha's CSV line {}: {line:?}", i + 1));
        };
        let start: f64 = start
            .parse()
            .map_err(|e| anyhow!("oha's CSV line {}: {e}", i + 1))?;
        starts.push(start);
        let start = start - from.as_secs_f64();
        if !(0.0..duration.as_secs_f64()).contains(&start) {
            continue;
        }
        let took: f64 = took
            .parse()
            .map_err(|e| anyhow!("oha's CSV line {}: {e}", i + 1))?;
        if status.trim() == "200" {
            let _ = sample.latency.record((took * 1e6).round() as u64);
            sample.ok += 1;
        } else {
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(anyhow!("oha's run had {failed} answers other than 200"));
    }
    if let Some(rate) = rate.filter(|r| *r > 0.0) {
        sample.lateness = send_spread(starts, rate, from, duration);
    }
    Ok(sample)
}

/// Each send's offset from its slot (`n / rate`), less the least, in µs, for the sends
/// started in `[from, from + duration)`; empty when the sends span a whole period more
/// than their number does (one is missing, so sends and slots cannot be matched).
fn send_spread(
    mut starts: Vec<f64>,
    rate: f64,
    from: Duration,
    duration: Duration,
) -> Histogram<u64> {
    let mut spread = mcp_slo_core::measure::new_histogram(3);
    starts.sort_by(f64::total_cmp);
    let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
        return spread;
    };
    // `n` sends span `n − 1` periods, give or take the spread of the two ends: a whole
    // period more is a send missing (the clock origins cancel out here).
    if (((last - first) * rate).floor() as usize) >= starts.len() {
        return spread;
    }
    let offsets: Vec<f64> = starts
        .iter()
        .enumerate()
        .map(|(n, start)| start - n as f64 / rate)
        .collect();
    let least = offsets.iter().copied().fold(f64::INFINITY, f64::min);
    let window = from.as_secs_f64()..(from + duration).as_secs_f64();
    for (start, offset) in starts.iter().zip(&offsets) {
        if window.contains(start) {
            let _ = spread.record(((offset - least) * 1e6).round() as u64);
        }
    }
    spread
}

/// The local tier as `run` starts it, stateless with limits lifted and audit off.
pub(super) async fn spawn_local() -> Result<(crate::targets::Started, String), anyhow::Error> {
    let text = "version: mcp-slo/v1\nname: calibrate\ntargets:\n  local: { spawn: { server: local, args: [--lift-limits, --audit, \"off\"] }, mode: stateless }\nload:\n  model: open\n  phases: [ { duration: 1s, rate: 1/s } ]\nmix: [ { target: local, tool: file_read, args: { path: reports/daily.csv } } ]\n";
    let scenario = Scenario::from_yaml(Path::new("calibrate.yaml"), text)?;
    let mut started = crate::targets::Started::new(mcp_slo_backends::Choice::Auto);
    let out = std::env::temp_dir().join(format!("mcp-slo-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let endpoints = match crate::targets::start_targets(&scenario, &out, &[], &mut started).await {
        Ok((endpoints, _)) => endpoints,
        Err(Outcome::Invalid(e) | Outcome::Infrastructure(e)) => {
            started.stop().await;
            return Err(e);
        }
        Err(_) => return Err(anyhow!("the local tier did not start")),
    };
    let url = endpoints["local"].url.clone();
    Ok((started, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "request-start,DNS,DNS+dialup,Response-delay,request-duration,bytes,status\n0.000218,0.000024,0.000491,0.003615,0.000300,265,200\n0.050960,0.000019,0.000178,0.002901,0.000500,265,200\n0.101251,0.000019,0.000169,0.002975,0.000700,265,200\n";

    #[test]
    fn ohas_csv_pools_with_the_harness_histograms() {
        let mut pooled = Sample::new();
        let (from, second) = (Duration::ZERO, Duration::from_secs(1));
        pooled.add(&oha_sample(CSV, from, second, None).unwrap());
        pooled.add(&oha_sample(CSV, from, second, None).unwrap());
        let f = pooled.figures();
        assert_eq!((f.p50 as u64, f.p99 as u64), (500, 700));
        assert!((f.rate - 3.0).abs() < 1e-9, "6 answers in 2 s: {}", f.rate);
    }

    #[test]
    fn only_the_requests_started_in_the_window_are_kept() {
        // Starts at 0.0002, 0.05 and 0.10 s: a window from 0.04 s for 0.05 s keeps the second.
        let from = Duration::from_millis(40);
        let f = oha_sample(CSV, from, Duration::from_millis(50), None)
            .unwrap()
            .figures();
        assert_eq!((f.p50 as u64, f.p99 as u64), (500, 500));
    }

    #[test]
    fn ohas_send_spread_is_each_start_against_its_slot_less_the_most_punctual() {
        // At 20/s the slots are 0, 50 and 100 ms; the sends were 218, 960 and 1,251 µs
        // after them.
        let (from, second) = (Duration::ZERO, Duration::from_secs(1));
        let sample = oha_sample(CSV, from, second, Some(20.0)).unwrap();
        let spread: Vec<u64> = sample
            .lateness
            .iter_recorded()
            .map(|v| v.value_iterated_to())
            .collect();
        assert_eq!(spread.len(), 3);
        assert_eq!(sample.lateness.min(), 0);
        assert!(sample.lateness.equivalent(742, spread[1]), "{spread:?}");
        assert!(sample.lateness.equivalent(1033, spread[2]), "{spread:?}");
        // Only the sends in the window, the least still taken over all of them.
        let late = oha_sample(
            CSV,
            Duration::from_millis(40),
            Duration::from_millis(50),
            Some(20.0),
        )
        .unwrap();
        assert_eq!(late.lateness.len(), 1);
        assert!(late.lateness.equivalent(742, late.lateness.max()));
        // No rate (flat out), or an answer missing so that starts and slots cannot be
        // matched: no spread.
        assert!(
            oha_sample(CSV, from, second, None)
                .unwrap()
                .lateness
                .is_empty()
        );
        let gap = CSV.replace("0.050960,0.000019,0.000178,0.002901,0.000500,265,200\n", "");
        assert!(
            oha_sample(&gap, from, second, Some(20.0))
                .unwrap()
                .lateness
                .is_empty()
        );
    }

    #[test]
    fn a_failed_answer_or_a_torn_line_is_an_error_that_says_where() {
        let failed = CSV.replace("265,200\n0.101251", "265,503\n0.101251");
        let err = oha_sample(&failed, Duration::ZERO, Duration::from_secs(1), None).unwrap_err();
        assert_eq!(err.to_string(), "oha's run had 1 answers other than 200");
        let torn = format!("{CSV}0.2,0.1\n");
        let err = oha_sample(&torn, Duration::ZERO, Duration::from_secs(1), None).unwrap_err();
        assert_eq!(err.to_string(), "oha's CSV line 5: \"0.2,0.1\"");
        let bad = CSV.replace("0.000500", "half");
        let err = oha_sample(&bad, Duration::ZERO, Duration::from_secs(1), None).unwrap_err();
        assert!(err.to_string().starts_with("oha's CSV line 3: "), "{err}");
    }
}
