//! Cost and builds on the page: every sampled server with its own calls, the build beside
//! each CPU-per-call figure, the harness's own build, and results written before `costs`.

use mcp_slo_core::result::{BuildProfile, Cost, Finding, TargetCost, TargetInfo};
use mcp_slo_report::report_html;

use super::render::sections;
use super::sample::rich_result;

fn aws_cost() -> TargetCost {
    TargetCost {
        target: "aws".to_owned(),
        pid: 5151,
        build_profile: Some(BuildProfile::Debug),
        cpu_seconds: 2.5,
        cpu_us_per_call: Some(1250.0),
        peak_rss_bytes: 64 << 20,
        samples: 70,
        calls: Some(2000),
    }
}

#[test]
fn every_server_gets_its_row_with_its_build_beside_the_figure() {
    let mut r = rich_result();
    r.targets.push(TargetInfo {
        name: "aws".to_owned(),
        url: "http://127.0.0.1:41874/mcp".to_owned(),
        mode: "stateless".to_owned(),
        spawned: true,
        protocol_version: "2025-11-25".to_owned(),
        negotiated: None,
        backends: Vec::new(),
        build_profile: Some(BuildProfile::Debug),
        oauth: None,
    });
    r.costs.push(aws_cost());
    let html = report_html(&r);
    let s = sections(&html);
    let cost = s["cost"];
    assert!(
        cost.contains("<tr><td>local</td><td>release build</td><td class=\"num\">574.5 µs (release build)</td><td class=\"num\">5396</td>"),
        "{cost}"
    );
    assert!(
        cost.contains("<tr><td>aws</td><td>debug build</td><td class=\"num\">1250.0 µs (debug build)</td><td class=\"num\">2000</td>"),
        "{cost}"
    );
    assert!(cost.contains("64.0 MiB") && cost.contains("pid 5151, 70 samples"));
    assert!(
        html.contains("<td>2025-11-25</td><td>debug build</td><td>not known (given by URL)</td>"),
        "the target table names each server's build"
    );
    assert!(html.contains("<dt>Harness</dt><dd>mcp-slo 0.1.0, release build</dd>"));
    assert!(html.contains("· mcp-slo 0.1.0 (release build) on 2 cores ·"));
}

#[test]
fn a_debug_harness_is_stated_and_its_finding_shown() {
    let mut r = rich_result();
    r.harness.build_profile = Some(BuildProfile::Debug);
    r.findings.push(Finding {
        severity: mcp_slo_core::result::FindingSeverity::Warning,
        message: mcp_slo_report::HARNESS_DEBUG_NOTE.to_owned(),
    });
    let html = report_html(&r);
    assert!(html.contains("<dt>Harness</dt><dd>mcp-slo 0.1.0, debug build</dd>"));
    assert!(
        sections(&html)["cost"].contains(
            "<span class=\"tag warn\">warning</span> mcp-slo itself is a debug build: it adds its own time to every call it measures, so these latency figures are not trustworthy"
        ),
        "{html}"
    );
}

#[test]
fn unknown_calls_and_older_results_say_what_is_not_known() {
    let mut r = rich_result();
    r.costs[0].calls = None;
    r.costs[0].cpu_us_per_call = None;
    r.costs[0].build_profile = None;
    let html = report_html(&r);
    let cost = sections(&html)["cost"];
    assert!(
        cost.contains("<td>build not stated</td><td class=\"num\">not measured</td><td class=\"num\">not known</td>"),
        "{cost}"
    );
    // A result written before `costs`: its one `cost`, with neither target nor build known.
    r.costs.clear();
    r.cost = Some(Cost {
        pid: 11889,
        cpu_seconds: 4.7,
        cpu_us_per_call: Some(2238.1),
        peak_rss_bytes: 38_379_520,
        samples: 186,
    });
    r.harness.build_profile = None;
    let html = report_html(&r);
    let cost = sections(&html)["cost"];
    assert!(
        cost.contains("<tr><td>server</td><td>build not stated</td><td class=\"num\">2238.1 µs (build not stated)</td>"),
        "{cost}"
    );
    assert!(html.contains("<dt>Harness</dt><dd>mcp-slo 0.1.0, build not stated</dd>"));
    r.cost = None;
    let html = report_html(&r);
    assert!(sections(&html)["cost"].contains("No server cost"));
}
