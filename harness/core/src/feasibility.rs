//! Objectives that cannot be met by construction, given the tier's boundaries.
//!
//! The seed document's own tables conflict: the local tier promises 1000 req/s throughput
//! but limits callers to 100 req/s. Whether that is a contradiction depends on how the limit
//! is meant: one global limit (then 1000/s is impossible) or a limit per caller (then ten
//! callers can reach it). A scenario says which with `boundaries.rate_limit_scope`.

use crate::result::{Finding, FindingSeverity};
use crate::spec::{LoadModel, ObjectiveKind, RateScope, Scenario};

fn finding(severity: FindingSeverity, message: String) -> Finding {
    Finding { severity, message }
}

/// Callers are told apart by their loopback source address (127.0.0.N), which only a
/// loopback target sees: a remote one sees one address for all of them.
fn remote_callers(s: &Scenario) -> Option<Finding> {
    let remote: Vec<&str> = s
        .targets
        .values()
        .filter_map(|t| match &t.endpoint {
            crate::spec::Endpoint::Url(url) if !crate::spec::is_loopback_url(url) => {
                Some(t.name.as_str())
            }
            _ => None,
        })
        .collect();
    (s.load.callers > 1 && !remote.is_empty()).then(|| {
        finding(
            FindingSeverity::Warning,
            format!(
                "load.callers: {} callers send from their own loopback addresses to loopback targets only; target {} is not on this machine, so it sees every caller as this machine's address",
                s.load.callers,
                remote.join(", ")
            ),
        )
    })
}

/// Checks a scenario against its boundaries. `error` findings make it unrunnable.
pub fn check(s: &Scenario) -> Vec<Finding> {
    let mut out: Vec<Finding> = remote_callers(s).into_iter().collect();
    let Some(b) = &s.boundaries else {
        return out;
    };
    let limits = &b.limits;
    let tier = b.tier.as_str();
    let callers = s.load.callers as f64;
    let (ceiling, how) = match b.scope {
        RateScope::Global => (
            limits.rate_limit_per_second.get() as f64,
            format!(
                "the {tier} tier's global rate limit of {}/s",
                limits.rate_limit_per_second
            ),
        ),
        RateScope::PerCaller => (
            limits.rate_limit_per_caller_per_second.get() as f64 * callers,
            format!(
                "{} caller(s) x the {tier} tier's per-caller rate limit of {}/s",
                s.load.callers, limits.rate_limit_per_caller_per_second
            ),
        ),
    };
    for o in &s.objectives {
        if let ObjectiveKind::Throughput { above } = o.kind {
            if above >= ceiling {
                let fix = match b.scope {
                    RateScope::Global => "if the limit is meant per caller, set boundaries.rate_limit_scope: per_caller and load.callers".to_owned(),
                    RateScope::PerCaller => format!(
                        "use at least {} callers",
                        (above / limits.rate_limit_per_caller_per_second.get() as f64).floor() as u64 + 1
                    ),
                };
                out.push(finding(
                    FindingSeverity::Error,
                    format!(
                        "objective {:?} cannot be met by construction: {above}/s is not below {how} ({ceiling}/s); {fix}",
                        o.name
                    ),
                ));
            }
            let concurrency = limits.max_concurrent.get() as f64;
            let budget_ms = concurrency / above * 1000.0;
            out.push(finding(
                FindingSeverity::Info,
                format!(
                    "objective {:?} needs a mean call latency of at most {budget_ms:.1}ms (Little's law: {} concurrent / {above}/s)",
                    o.name, limits.max_concurrent
                ),
            ));
            if s.load.model == LoadModel::Open
                && let Some(peak) = s.load.peak_rate()
                && peak < above
            {
                out.push(finding(
                    FindingSeverity::Error,
                    format!(
                        "objective {:?} cannot be met by construction: the load offers at most {peak}/s, below {above}/s",
                        o.name
                    ),
                ));
            }
        }
    }
    if s.load.model == LoadModel::Open
        && let Some(peak) = s.load.peak_rate()
        && peak > ceiling
    {
        out.push(finding(
            FindingSeverity::Warning,
            format!("the load offers {peak}/s, above {how} ({ceiling}/s): the excess will be rate limited and count as errors"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(scope: &str, callers: u32, throughput: &str, rate: &str) -> Scenario {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/deployment_boundaries.yaml");
        let text = format!(
            "version: mcp-slo/v1\nname: t\ntargets:\n  local: {{ url: \"http://127.0.0.1:8080/mcp\" }}\nboundaries: {{ file: \"{}\", tier: local, rate_limit_scope: {scope} }}\nload:\n  model: open\n  callers: {callers}\n  phases:\n    - {{ duration: 10s, rate: {rate} }}\nmix:\n  - {{ target: local, tool: postgres_query }}\nslo:\n  - {{ throughput: {{ above: {throughput} }} }}\n",
            dir.display()
        );
        Scenario::from_yaml(Path::new("t.yaml"), &text).unwrap()
    }

    fn errors(s: &Scenario) -> Vec<String> {
        check(s)
            .into_iter()
            .filter(|f| f.severity == FindingSeverity::Error)
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn the_seeds_1000_per_second_is_impossible_under_a_global_100_per_second_limit() {
        let e = errors(&scenario("global", 1, "1000/s", "1100/s"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("objective \"throughput > 1000/s\" cannot be met by construction: 1000/s is not below the local tier's global rate limit of 100/s (100/s)"), "{}", e[0]);
    }

    #[test]
    fn per_caller_limits_need_enough_callers() {
        let e = errors(&scenario("per_caller", 5, "1000/s", "1100/s"));
        assert_eq!(e.len(), 1);
        assert!(e[0].ends_with("use at least 11 callers"), "{}", e[0]);
        assert!(errors(&scenario("per_caller", 11, "1000/s", "1100/s")).is_empty());
    }

    #[test]
    fn offering_less_than_the_objective_is_impossible() {
        let e = errors(&scenario("per_caller", 11, "1000/s", "900/s"));
        assert_eq!(
            e,
            vec![
                "objective \"throughput > 1000/s\" cannot be met by construction: the load offers at most 900/s, below 1000/s"
            ]
        );
    }

    #[test]
    fn littles_law_budget_is_reported() {
        let all = check(&scenario("per_caller", 11, "1000/s", "1100/s"));
        assert!(all.iter().any(|f| {
            f.message
                .contains("at most 10.0ms (Little's law: 10 concurrent / 1000/s)")
        }));
    }

    #[test]
    fn callers_told_apart_by_loopback_address_are_not_told_apart_by_a_remote_target() {
        for url in [
            "http://127.0.0.1:8080/mcp",
            "http://127.9.0.3/mcp",
            "http://localhost:1/mcp",
            "http://[::1]:8081/mcp",
        ] {
            assert!(crate::spec::is_loopback_url(url), "{url}");
        }
        for url in [
            "http://10.0.0.7:8081/mcp",
            "http://mcp-aws-server.mcp-slo.svc.cluster.local:8081/mcp",
            "http://[fe80::1]/mcp",
        ] {
            assert!(!crate::spec::is_loopback_url(url), "{url}");
        }
        let local = scenario("per_caller", 11, "1000/s", "1100/s");
        assert!(
            !check(&local)
                .iter()
                .any(|f| f.message.starts_with("load.callers"))
        );
        let text = "version: mcp-slo/v1\nname: t\ntargets:\n  aws: { url: \"http://10.1.2.3:8081/mcp\" }\nload:\n  model: open\n  callers: 3\n  phases:\n    - { duration: 10s, rate: 10/s }\nmix:\n  - { target: aws, tool: s3_read }\n";
        let remote = Scenario::from_yaml(Path::new("t.yaml"), text).unwrap();
        assert_eq!(
            check(&remote)
                .iter()
                .map(|f| (f.severity, f.message.as_str()))
                .collect::<Vec<_>>(),
            [(
                FindingSeverity::Warning,
                "load.callers: 3 callers send from their own loopback addresses to loopback targets only; target aws is not on this machine, so it sees every caller as this machine's address"
            )]
        );
    }
}
