//! Alarms end to end: the committed fault scenario injects errors, then slowness, into a
//! spawned local tier on the real backends; both of the design document's alarms must
//! fire and clear, and the result must carry their timelines.

mod common;

use common::{run_scenario, services};

#[test]
fn injected_errors_and_slowness_fire_both_alarms_which_then_clear() {
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        std::path::Path::new("scenarios/alarms-fire.yaml"),
        out.path(),
        &[],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["objectives"]);
    let alarms = &result["alarms"];
    assert_eq!(
        alarms["scaled"],
        serde_json::json!(["high_error_rate 60 s → 1 s", "high_latency 60 s → 1 s"])
    );
    for (alarm, phase_start, phase_end) in
        [("high_error_rate", 8.0, 18.0), ("high_latency", 26.0, 34.0)]
    {
        let timeline = alarms["timelines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["alarm"] == alarm)
            .unwrap();
        let fired = timeline["first_alarm_s"].as_f64().unwrap();
        let cleared = timeline["cleared_after_alarm_s"].as_f64().unwrap();
        assert!(
            fired > phase_start && fired <= phase_end,
            "{alarm} fired at {fired}, fault from {phase_start} to {phase_end}"
        );
        assert!(
            cleared > fired && cleared <= phase_end + 8.0,
            "{alarm} cleared at {cleared}"
        );
        // The state before the fault was OK, not ALARM: the calm phase did not breach.
        let before: Vec<&str> = timeline["states"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["t_end_s"].as_f64().unwrap() <= phase_start)
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert!(
            !before.is_empty() && before.iter().all(|s| *s == "OK"),
            "{alarm}: {before:?}"
        );
        let points = alarms["datapoints"][alarm].as_array().unwrap();
        assert!(
            points.len() >= 40,
            "one datapoint per 1 s period: {}",
            points.len()
        );
    }
    let lines: Vec<(&str, bool)> = result["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["kind"].as_str().unwrap(), o["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(lines, [("alarm", true), ("alarm", true)]);
}
