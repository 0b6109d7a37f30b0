//! `scenarios/discovery-scale.yaml` as CI runs it: the local tier spawned with a
//! `postgres_tables` family over the 1,000-table `catalog` schema (1,001 tools), walked in
//! full, discovered and called under load, and every walk must list every tool; then
//! 100 clients listen while tools are added and removed through the admin endpoint, and
//! every change reaches every one of them.

mod common;

use common::{root, run_scenario, services};

#[test]
fn a_tier_with_1001_generated_tools_is_walked_discovered_and_called_within_its_objectives() {
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        &root().join("scenarios/discovery-scale.yaml"),
        out.path(),
        &[],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["verdict"]);

    let walk = &result["tools"]["walk"];
    let walks = walk["outcomes"]["ok"].as_u64().unwrap_or(0);
    assert!(walks > 0, "no walk answered: {walk:#}");
    let listing = &walk["listing"];
    assert_eq!(listing["calls"].as_u64(), Some(walks), "{listing:#}");
    assert_eq!(
        listing["items"].as_u64(),
        Some(walks * 1001),
        "every walk lists postgres_query and the 1,000 generated tools: {listing:#}"
    );
    assert_eq!(
        listing["pages"].as_u64(),
        Some(walks * 11),
        "100 tools a page (listing.page_size): {listing:#}"
    );

    // A generated tool runs its lookup through postgres_query, on the real table.
    let lookup = &result["tools"]["lookup"];
    assert!(
        lookup["outcomes"]["ok"].as_u64().unwrap_or(0) > 0,
        "{lookup:#}"
    );
    assert_eq!(
        lookup["outcomes"]["tool_error"].as_u64().unwrap_or(0),
        0,
        "{lookup:#}"
    );
    assert!(
        result["tools"]["discover"]["outcomes"]["ok"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );

    // Every one of the 10 changes reached all 100 listeners (the probe's verdict is in
    // the exit code; its record says how many were heard).
    let probe = result["probes"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["probe"] == "list_changed"))
        .unwrap_or_else(|| panic!("no list_changed probe: {:#}", result["probes"]));
    let figures = &probe["figures"];
    assert_eq!(figures["listeners"].as_f64(), Some(100.0), "{probe:#}");
    assert_eq!(figures["notifications"].as_f64(), Some(1000.0), "{probe:#}");
    assert_eq!(figures["missed"].as_f64(), Some(0.0), "{probe:#}");
}
