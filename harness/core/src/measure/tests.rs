use super::*;

#[test]
fn merged_recorders_add_up() {
    let mut a = Recorder::default();
    let mut b = Recorder::default();
    a.record("t", CallOutcome::Ok, 1000, 0, true);
    a.record("t", CallOutcome::ToolError, 2000, 1, true);
    b.record("t", CallOutcome::Ok, 3000, 1, true);
    b.record("u", CallOutcome::RateLimited, 10, 2, false);
    b.offered(2);
    b.start_lateness(20, 1500, true);
    a.start_lateness(10, 40, false);
    a.merge(&b);
    assert_eq!(a.per_tool["t"].outcomes.total(), 3);
    assert_eq!(a.per_tool["t"].outcomes.failed(), 1);
    assert!(
        !a.per_tool.contains_key("u"),
        "warm-up calls stay out of the verdict"
    );
    assert_eq!(a.seconds.len(), 3);
    assert_eq!(a.seconds[1].outcomes.total(), 2);
    assert_eq!(a.seconds[2].outcomes.rate_limited, 1);
    assert_eq!(a.seconds[2].offered, 1);
    assert_eq!((a.late_starts, a.max_lateness_us), (1, 1500));
    assert_eq!(a.start_lateness.len(), 2);
    assert_eq!(a.pacer_lateness.max(), 20);
    assert_eq!(a.overall().latency.len(), 3);
}

#[test]
fn seconds_keep_each_tools_calls_apart() {
    let mut a = Recorder::default();
    let mut b = Recorder::default();
    a.record("sql", CallOutcome::Ok, 1_000, 0, true);
    a.record("echo", CallOutcome::ToolError, 50, 0, false);
    b.record("sql", CallOutcome::TimedOut, 5_000_000, 0, true);
    b.record("sql", CallOutcome::Ok, 0, 1, true);
    // Beyond the fixed histograms' 10 minutes: clamped, never a panic.
    b.record("echo", CallOutcome::Ok, u64::MAX, 1, true);
    a.merge(&b);
    let first = &a.seconds[0].per_tool;
    assert_eq!(first["sql"].outcomes.total(), 2);
    assert_eq!(first["sql"].outcomes.timed_out, 1);
    assert_eq!(first["sql"].latency.len(), 2);
    assert!(first["sql"].latency.max() >= 4_900_000);
    assert_eq!(
        first["echo"].outcomes.tool_error, 1,
        "warm-up calls are in the time series"
    );
    let second = &a.seconds[1].per_tool;
    assert_eq!(second["sql"].latency.min(), 1, "latency is at least 1µs");
    assert!(second["echo"].latency.max() >= MAX_LATENCY_US * 99 / 100);
    let by_tool: u64 = a.seconds[0]
        .per_tool
        .values()
        .map(|t| t.outcomes.total())
        .sum();
    assert_eq!(by_tool, a.seconds[0].outcomes.total());
}
