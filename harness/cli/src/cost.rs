//! What each sampled server process spent, divided by its own target's calls.
//!
//! The recorder counts calls by tool name, so a call's target comes from the scenario's
//! mix (and each phase's): the calls of a tool sent to one target only are that target's.
//! A tool name sent to two targets cannot be split between them: those targets get CPU time
//! only, and a finding gives their CPU per call together. A target declared `same_server_as`
//! another has no process of its own: its calls are that other target's server's.

use std::collections::{BTreeMap, BTreeSet};

use mcp_slo_core::measure::Recorder;
use mcp_slo_core::result::{BuildProfile, Finding, FindingSeverity, TargetCost};
use mcp_slo_core::spec::Scenario;
use mcp_slo_engine::sampler::Usage;

/// One sampled process: the target it serves (`None` for a `--target-pid` the run could
/// not place), its build profile and what it spent.
#[derive(Debug, Clone)]
pub struct Measured {
    pub target: Option<String>,
    pub build_profile: Option<BuildProfile>,
    pub usage: Usage,
}

/// The target whose server answers `target`'s calls: itself, or the one it is declared
/// `same_server_as` (which has a server of its own: the spec allows no chains).
pub fn server_of(scenario: &Scenario, target: &str) -> String {
    scenario
        .targets
        .get(target)
        .and_then(|t| t.same_server_as.clone())
        .unwrap_or_else(|| target.to_owned())
}

/// The targets with a server of their own, in the scenario's order.
pub fn servers(scenario: &Scenario) -> Vec<String> {
    let all: BTreeSet<String> = scenario
        .targets
        .keys()
        .map(|t| server_of(scenario, t))
        .collect();
    all.into_iter().collect()
}

/// Each call label (tool name) and the servers (see [`server_of`]) the scenario sends it to.
pub fn label_targets(scenario: &Scenario) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let phase_mixes = scenario.load.phases.iter().filter_map(|p| p.mix.as_ref());
    for op in std::iter::once(&scenario.mix).chain(phase_mixes).flatten() {
        map.entry(op.tool.clone())
            .or_default()
            .insert(server_of(scenario, &op.target));
    }
    map
}

/// Calls per label over the whole run (warm-up included, as the sampling is), any outcome.
pub fn calls_by_label(recorder: &Recorder) -> BTreeMap<String, u64> {
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for second in &recorder.seconds {
        for (label, tool) in &second.per_tool {
            *calls.entry(label.clone()).or_default() += tool.outcomes.total();
        }
    }
    calls
}

/// Calls per target, where the labels tell them apart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallSplit {
    /// Every target: `Some(calls)`, or `None` when one of its labels is shared.
    pub by_target: BTreeMap<String, Option<u64>>,
    /// Labels sent to more than one target (or in no mix), with those targets.
    pub shared: BTreeMap<String, BTreeSet<String>>,
    /// All calls of the targets whose calls are not known, together.
    pub shared_calls: u64,
}

/// Splits the calls by target. With one target every call is its own; otherwise a label
/// in no mix could have gone anywhere and counts as shared by every target.
pub fn split_calls(
    targets: &[String],
    label_targets: &BTreeMap<String, BTreeSet<String>>,
    calls_by_label: &BTreeMap<String, u64>,
) -> CallSplit {
    let all: BTreeSet<String> = targets.iter().cloned().collect();
    let targets_of = |label: &String| match label_targets.get(label) {
        Some(to) if all.len() > 1 => to,
        _ => &all,
    };
    let mut counts: BTreeMap<String, u64> = all.iter().map(|t| (t.clone(), 0)).collect();
    let mut shared = BTreeMap::new();
    for (label, &calls) in calls_by_label {
        let to = targets_of(label);
        match to.iter().next() {
            Some(only) if to.len() == 1 => *counts.entry(only.clone()).or_default() += calls,
            _ => {
                shared.insert(label.clone(), to.clone());
            }
        }
    }
    let unknown: BTreeSet<String> = shared.values().flatten().cloned().collect();
    let shared_calls = calls_by_label
        .iter()
        .filter(|(label, _)| !targets_of(label).is_disjoint(&unknown))
        .map(|(_, calls)| calls)
        .sum();
    CallSplit {
        by_target: counts
            .into_iter()
            .map(|(t, n)| {
                let known = !unknown.contains(&t);
                (t, known.then_some(n))
            })
            .collect(),
        shared,
        shared_calls,
    }
}

/// Each process's cost over its own target's calls, in the order given, and what the
/// reader must know about the figures (shared labels, an unplaced `--target-pid`).
pub fn divide(split: &CallSplit, measured: &[Measured]) -> (Vec<TargetCost>, Vec<Finding>) {
    let mut findings = Vec::new();
    let costs: Vec<TargetCost> = measured
        .iter()
        .map(|m| {
            let calls = m
                .target
                .as_ref()
                .and_then(|t| split.by_target.get(t).copied().flatten());
            if m.target.is_none() {
                findings.push(info(format!(
                    "--target-pid {}: the run cannot tell which target it serves (name one target by URL), so its cost is CPU time only",
                    m.usage.pid
                )));
            }
            TargetCost {
                target: m
                    .target
                    .clone()
                    .unwrap_or_else(|| format!("--target-pid {}", m.usage.pid)),
                pid: m.usage.pid,
                build_profile: m.build_profile,
                cpu_seconds: m.usage.cpu_seconds,
                cpu_us_per_call: per_call(m.usage.cpu_seconds, calls),
                peak_rss_bytes: m.usage.peak_rss_bytes,
                samples: m.usage.samples,
                calls,
            }
        })
        .collect();
    if !split.shared.is_empty() {
        findings.push(info(shared_message(split, &costs)));
    }
    (costs, findings)
}

fn per_call(cpu_seconds: f64, calls: Option<u64>) -> Option<f64> {
    calls
        .filter(|&n| n > 0)
        .map(|n| cpu_seconds * 1e6 / n as f64)
}

/// Which tools went to more than one target and, when every such target was sampled, their
/// CPU per call together (`together: 41.0 µs CPU per call (release build; ...)`).
fn shared_message(split: &CallSplit, costs: &[TargetCost]) -> String {
    let labels: Vec<String> = split
        .shared
        .iter()
        .map(|(label, to)| {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            format!("{label} ({})", to.join(", "))
        })
        .collect();
    let group: BTreeSet<&String> = split.shared.values().flatten().collect();
    let names: Vec<&str> = group.iter().map(|t| t.as_str()).collect();
    let sampled: Vec<&TargetCost> = costs.iter().filter(|c| group.contains(&c.target)).collect();
    let head = format!(
        "calls are counted by tool name and {} went to more than one target, so no CPU per call is given for {} alone",
        labels.join(", "),
        names.join(", ")
    );
    let unsampled: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !sampled.iter().any(|c| c.target == *n))
        .collect();
    if !unsampled.is_empty() {
        return format!(
            "{head}; {} not sampled, so not even their total",
            unsampled.join(", ")
        );
    }
    let cpu: f64 = sampled.iter().map(|c| c.cpu_seconds).sum();
    // Said beside the figure, as everywhere a CPU per call is quoted.
    let builds: BTreeSet<&str> = sampled
        .iter()
        .map(|c| mcp_slo_report::build_words(c.build_profile))
        .collect();
    let builds = builds.into_iter().collect::<Vec<_>>().join(" and ");
    match per_call(cpu, Some(split.shared_calls)) {
        Some(us) => format!(
            "{head}; together: {us:.1} µs CPU per call ({builds}; {cpu:.2} s over {} calls)",
            split.shared_calls
        ),
        None => format!("{head}; together: {cpu:.2} s CPU and no calls"),
    }
}

fn info(message: String) -> Finding {
    Finding {
        severity: FindingSeverity::Info,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(pid: u32, cpu_seconds: f64) -> Usage {
        Usage {
            pid,
            cpu_seconds,
            peak_rss_bytes: 40 << 20,
            samples: 12,
        }
    }

    fn measured(target: &str, profile: BuildProfile, pid: u32, cpu: f64) -> Measured {
        Measured {
            target: Some(target.to_owned()),
            build_profile: Some(profile),
            usage: usage(pid, cpu),
        }
    }

    fn labels(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(l, t)| (l.to_string(), t.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    }

    fn names(t: &[&str]) -> Vec<String> {
        t.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn each_target_is_divided_by_its_own_calls() {
        let split = split_calls(
            &names(&["local", "aws"]),
            &labels(&[
                ("postgres_query", &["local"]),
                ("file_read", &["local"]),
                ("s3_read", &["aws"]),
            ]),
            &calls(&[
                ("postgres_query", 600),
                ("file_read", 200),
                ("s3_read", 250),
            ]),
        );
        assert_eq!(split.by_target["local"], Some(800));
        assert_eq!(split.by_target["aws"], Some(250));
        assert!(split.shared.is_empty());
        let (costs, findings) = divide(
            &split,
            &[
                measured("local", BuildProfile::Release, 11, 0.024),
                measured("aws", BuildProfile::Debug, 12, 0.5),
            ],
        );
        assert!(findings.is_empty(), "{findings:?}");
        let by: Vec<(&str, u32, Option<u64>, Option<f64>)> = costs
            .iter()
            .map(|c| (c.target.as_str(), c.pid, c.calls, c.cpu_us_per_call))
            .collect();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert_eq!((by[0].0, by[0].1, by[0].2), ("local", 11, Some(800)));
        assert!(close(by[0].3, 30.0), "{by:?}");
        assert_eq!((by[1].0, by[1].1, by[1].2), ("aws", 12, Some(250)));
        assert!(close(by[1].3, 2000.0), "{by:?}");
        assert_eq!(costs[1].build_profile, Some(BuildProfile::Debug));
    }

    #[test]
    fn one_target_owns_every_call_even_unmixed_labels() {
        let split = split_calls(
            &names(&["local"]),
            &labels(&[("postgres_query", &["local"])]),
            &calls(&[("postgres_query", 90), ("tools/list", 10)]),
        );
        assert_eq!(split.by_target["local"], Some(100));
        assert!(split.shared.is_empty());
    }

    #[test]
    fn a_tool_sent_to_two_targets_gives_their_total_only() {
        let split = split_calls(
            &names(&["a", "b", "c"]),
            &labels(&[("q", &["a", "b"]), ("only_a", &["a"]), ("r", &["c"])]),
            &calls(&[("q", 300), ("only_a", 100), ("r", 40)]),
        );
        assert_eq!(split.by_target["a"], None);
        assert_eq!(split.by_target["b"], None);
        assert_eq!(split.by_target["c"], Some(40));
        assert_eq!(split.shared_calls, 400);
        let (costs, findings) = divide(
            &split,
            &[
                measured("a", BuildProfile::Release, 1, 0.01),
                measured("b", BuildProfile::Release, 2, 0.01),
                measured("c", BuildProfile::Release, 3, 0.004),
            ],
        );
        assert_eq!(costs[0].cpu_us_per_call, None);
        assert_eq!(costs[1].calls, None);
        assert_eq!(costs[2].calls, Some(40));
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].message,
            "calls are counted by tool name and q (a, b) went to more than one target, so no CPU per call is given for a, b alone; together: 50.0 µs CPU per call (release build; 0.02 s over 400 calls)"
        );
        // A debug build in the group is named beside the figure.
        let (_, findings) = divide(
            &split,
            &[
                measured("a", BuildProfile::Release, 1, 0.01),
                measured("b", BuildProfile::Debug, 2, 0.01),
            ],
        );
        assert!(
            findings[0].message.ends_with(
                "50.0 µs CPU per call (debug build and release build; 0.02 s over 400 calls)"
            ),
            "{}",
            findings[0].message
        );
        // Only one of the two sampled: not even the total.
        let (_, findings) = divide(&split, &[measured("a", BuildProfile::Release, 1, 0.01)]);
        assert!(
            findings[0]
                .message
                .ends_with("; b not sampled, so not even their total"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn an_unplaced_target_pid_gets_cpu_time_only() {
        let split = split_calls(
            &names(&["a", "b"]),
            &labels(&[("q", &["a"]), ("r", &["b"])]),
            &calls(&[("q", 10), ("r", 20)]),
        );
        let (costs, findings) = divide(
            &split,
            &[Measured {
                target: None,
                build_profile: None,
                usage: usage(77, 1.5),
            }],
        );
        assert_eq!(costs[0].target, "--target-pid 77");
        assert_eq!((costs[0].calls, costs[0].cpu_us_per_call), (None, None));
        assert!(
            findings[0].message.starts_with("--target-pid 77: "),
            "{findings:?}"
        );
    }

    #[test]
    fn labels_come_from_the_mix_and_every_phase_mix() {
        let yaml = "version: mcp-slo/v1\nname: two\ntargets:\n  a: { url: \"http://127.0.0.1:1/mcp\", mode: stateless }\n  b: { url: \"http://127.0.0.1:2/mcp\", mode: stateless }\nload:\n  model: open\n  phases:\n    - { name: one, duration: 1s, rate: 10/s }\n    - name: two\n      duration: 1s\n      rate: 10/s\n      mix:\n        - { target: b, tool: q, args: {} }\nmix:\n  - { target: a, tool: q, args: {} }\n  - { target: a, tool: r, args: {} }\n";
        let scenario = Scenario::from_yaml(std::path::Path::new("two.yaml"), yaml)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            label_targets(&scenario),
            labels(&[("q", &["a", "b"]), ("r", &["a"])])
        );
        assert_eq!(servers(&scenario), names(&["a", "b"]));
    }

    #[test]
    fn a_same_server_target_s_calls_are_its_server_s() {
        // b is a's server under another revision: one process answers both.
        let yaml = "version: mcp-slo/v1\nname: two\ntargets:\n  a: { url: \"http://127.0.0.1:1/mcp\", mode: stateless }\n  b: { same_server_as: a }\n  c: { url: \"http://127.0.0.1:2/mcp\", mode: stateless }\nload:\n  model: open\n  phases:\n    - { name: one, duration: 1s, rate: 10/s }\nmix:\n  - { target: a, tool: q, args: {} }\n  - { target: b, tool: q, args: {} }\n  - { target: b, tool: r, args: {} }\n  - { target: c, tool: s, args: {} }\n";
        let scenario = Scenario::from_yaml(std::path::Path::new("two.yaml"), yaml)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(servers(&scenario), names(&["a", "c"]));
        let by_label = label_targets(&scenario);
        assert_eq!(
            by_label,
            labels(&[("q", &["a"]), ("r", &["a"]), ("s", &["c"])])
        );
        let split = split_calls(
            &servers(&scenario),
            &by_label,
            &calls(&[("q", 70), ("r", 30), ("s", 5)]),
        );
        assert_eq!(split.by_target["a"], Some(100));
        assert_eq!(split.by_target["c"], Some(5));
        assert!(split.shared.is_empty());
    }
}
