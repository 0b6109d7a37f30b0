//! Cost and build profiles in words, for the console, `summary.md` and `report.html` alike.
//! A CPU-per-call figure is always followed by the build that produced it, so a debug
//! build's figure (tens of times a release build's) never reads as the server's cost.

use mcp_slo_core::result::{BuildProfile, RunResult, TargetCost};

/// Said wherever a debug build of the harness measured the run (a finding, and a note on
/// the console, which shows no findings).
pub const HARNESS_DEBUG_NOTE: &str = "mcp-slo itself is a debug build: it adds its own time to every call it measures, so these latency figures are not trustworthy (build it with cargo build --release)";

/// What the cost figures are, for a reader who meets them for the first time.
pub const COST_MEANING: &str = "CPU time (user + system, all threads) of each server process the harness sampled while the load ran (warm-up phases included, probes not), over the calls sent to that process's own target, and its peak resident memory";

/// The run's costs: `costs`, or for a result written before it, the single `cost` (whose
/// target and build are not known).
pub fn costs(r: &RunResult) -> Vec<TargetCost> {
    if !r.costs.is_empty() {
        return r.costs.clone();
    }
    r.cost
        .iter()
        .map(|c| TargetCost {
            target: "server".to_owned(),
            pid: c.pid,
            build_profile: None,
            cpu_seconds: c.cpu_seconds,
            cpu_us_per_call: c.cpu_us_per_call,
            peak_rss_bytes: c.peak_rss_bytes,
            samples: c.samples,
            calls: None,
        })
        .collect()
}

/// `release build`, `debug build`, or `build not stated`.
pub fn build_words(profile: Option<BuildProfile>) -> &'static str {
    match profile {
        Some(BuildProfile::Release) => "release build",
        Some(BuildProfile::Debug) => "debug build",
        None => "build not stated",
    }
}

/// `574.5 µs CPU per call (debug build) over 5396 calls`, or the CPU time when there is
/// no per-call figure.
pub fn per_call(c: &TargetCost) -> String {
    let calls = c
        .calls
        .map(|n| format!(" over {n} calls"))
        .unwrap_or_default();
    match c.cpu_us_per_call {
        Some(us) => format!(
            "{us:.1} µs CPU per call ({}){calls}",
            build_words(c.build_profile)
        ),
        None => {
            let why = match c.calls {
                Some(0) => "no calls",
                Some(_) => "no per-call figure",
                None => "its calls are not known",
            };
            format!(
                "{:.2} s CPU ({}; {why})",
                c.cpu_seconds,
                build_words(c.build_profile)
            )
        }
    }
}

/// `local (pid 4242): 574.5 µs CPU per call (debug build) over 5396 calls · 3.10 s CPU ·
/// peak RSS 46.0 MiB`.
pub fn cost_line(c: &TargetCost) -> String {
    let mut line = format!("{} (pid {}): {}", c.target, c.pid, per_call(c));
    if c.cpu_us_per_call.is_some() {
        line.push_str(&format!(" · {:.2} s CPU", c.cpu_seconds));
    }
    line.push_str(&format!(" · peak RSS {:.1} MiB", mib(c.peak_rss_bytes)));
    line
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `mcp-slo release · local debug · remote not stated`: what built the harness and each
/// target's server. Empty for a result written before builds were recorded.
pub fn builds_line(r: &RunResult) -> String {
    let Some(harness) = r.harness.build_profile else {
        return String::new();
    };
    let word = |p: Option<BuildProfile>| p.map_or("not stated", BuildProfile::as_str);
    std::iter::once(format!("mcp-slo {}", harness.as_str()))
        .chain(
            r.targets
                .iter()
                .map(|t| format!("{} {}", t.name, word(t.build_profile))),
        )
        .collect::<Vec<_>>()
        .join(" · ")
}

/// True when the harness that measured the run was a debug build.
pub fn harness_debug(r: &RunResult) -> bool {
    r.harness.build_profile == Some(BuildProfile::Debug)
}

/// The heading row of [`footprint_rows`].
pub const FOOTPRINT_COLUMNS: [&str; 4] = [
    "Process",
    "Samples",
    "RSS first → last (peak)",
    "Descriptors first → last (peak)",
];

/// What each sampled process held over the load: one row each, as text, for
/// `summary.md` and `report.html` alike.
pub fn footprint_rows(r: &RunResult) -> Vec<[String; 4]> {
    r.footprints
        .iter()
        .filter_map(|f| {
            let (first, last) = (f.samples.first()?, f.samples.last()?);
            let peak_rss = f.samples.iter().map(|s| s.rss_bytes).max()?;
            let peak_fds = f.samples.iter().map(|s| s.fds).max()?;
            let pids = f
                .pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" → ");
            Some([
                format!("{} (pid {pids})", f.target.as_deref().unwrap_or("server")),
                format!(
                    "{} over {:.0} s",
                    f.samples.len(),
                    (last.at_ms - first.at_ms) as f64 / 1000.0
                ),
                format!(
                    "{:.1} → {:.1} MiB ({:.1})",
                    mib(first.rss_bytes),
                    mib(last.rss_bytes),
                    mib(peak_rss)
                ),
                format!("{} → {} ({peak_fds})", first.fds, last.fds),
            ])
        })
        .collect()
}
