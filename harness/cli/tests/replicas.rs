//! One global rate limit across replicas: `scenarios/replicas-local.yaml` against three
//! replicas of the local tier keeping their limit in Redis, behind Debian's nginx
//! (`scripts/replicas/servers.sh`). Under the limit nothing is refused; the rate probe at
//! three times the limit, spread by nginx over the three, is admitted the tier's 100/s
//! within 5 % in every judged second, not 300/s.

mod common;

use common::{ScriptServers, judged_admitted, probe, root, run_scenario, services};

#[test]
fn three_replicas_behind_nginx_admit_the_one_global_limit() {
    if !services() {
        return;
    }
    let servers = ScriptServers::start(
        "scripts/replicas/servers.sh",
        &[
            "replica-18481.log",
            "replica-18482.log",
            "replica-18483.log",
            "nginx-error.log",
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        &root().join("scenarios/replicas-local.yaml"),
        out.path(),
        &[],
    );
    let lines = result["objectives"].as_array().unwrap();
    assert_eq!(code, 0, "{stderr}{}\n{lines:#?}", servers.logs());
    assert_eq!(
        result["overall"]["outcomes"]["rate_limited"], 0,
        "under the limit: {:#}",
        result["overall"]
    );
    let rate = probe(&result, "rate");
    assert_eq!(rate["passed"], true, "{rate:#}");
    assert_eq!(rate["expected_value"], 100.0, "{rate:#}");
    // Every judged second admitted the one limit, summed over the three replicas.
    let judged = judged_admitted(rate);
    assert_eq!(judged.len(), 4, "{rate:#}");
    assert!(judged.iter().all(|a| (95..=105).contains(a)), "{judged:?}");
    assert_eq!(rate["figures"]["lost"], 0.0, "{rate:#}");
}
