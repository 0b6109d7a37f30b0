use super::*;
use crate::measure::{FootprintSample, Resource};

const MIB: u64 = 1024 * 1024;

/// One sample a second for `seconds`, memory from `rss(second)` MiB, 40 descriptors.
fn footprint(target: &str, seconds: u64, rss: impl Fn(u64) -> f64) -> Footprint {
    Footprint {
        target: Some(target.into()),
        pids: vec![100],
        samples: (0..seconds)
            .map(|s| FootprintSample {
                at_ms: s * 1000,
                rss_bytes: (rss(s) * MIB as f64) as u64,
                fds: 40,
            })
            .collect(),
    }
}

fn growth(resource: Resource, below: f64, after_s: u64) -> Growth {
    Growth {
        resource,
        below,
        target: None,
        after_ms: Some(after_s * 1000),
    }
}

fn judge_on(g: &Growth, footprints: &[Footprint]) -> Line {
    judge(
        g,
        RunFacts {
            footprints,
            ..RunFacts::default()
        },
    )
}

#[test]
fn without_after_the_window_starts_where_the_warm_up_ends() {
    // Climbs from 10 to 30 MiB over the first 40 s, then holds.
    let f = footprint("local", 60, |s| {
        if s < 40 { 10.0 + s as f64 / 2.0 } else { 30.0 }
    });
    let g = Growth {
        after_ms: None,
        ..growth(Resource::Rss, 0.05, 0)
    };
    let facts = |warmup_s| RunFacts {
        footprints: std::slice::from_ref(&f),
        warmup: std::time::Duration::from_secs(warmup_s),
        ..RunFacts::default()
    };
    // From 0 s the climb reaches into the window's second half; from 40 s it is over.
    let from_start = judge(&g, facts(0));
    assert!(!from_start.passed, "{:?}", from_start.detail);
    let after = judge(&g, facts(40));
    assert!(after.passed, "{:?}", after.detail);
    assert!(
        after
            .detail
            .unwrap_or_default()
            .contains("20 samples from 40s")
    );
}

#[test]
fn a_step_that_then_holds_is_not_a_leak() {
    // Descriptors step from 28 to 32 at 40 % of the window (a pool meeting its load), then
    // hold: +14 % from start to end, but no climb in the second half.
    let mut f = footprint("local", 600, |_| 30.0);
    for s in &mut f.samples {
        s.fds = if s.at_ms < 240_000 { 28 } else { 32 };
    }
    let line = judge_on(&growth(Resource::Fds, 0.10, 0), std::slice::from_ref(&f));
    assert!(line.passed, "{}: {:?}", line.measured, line.detail);
    assert_eq!(line.measured, "+0.0%");
    let detail = line.detail.unwrap_or_default();
    assert!(
        detail.contains("fds 28 → 32 (+14.3%), peak 32, second half's trend +0.0% over the window"),
        "{detail}"
    );
    // The same step late in the second half is judged a climb.
    for s in &mut f.samples {
        s.fds = if s.at_ms < 450_000 { 28 } else { 32 };
    }
    assert!(!judge_on(&growth(Resource::Fds, 0.10, 0), &[f]).passed);
}

#[test]
fn a_small_step_late_in_the_window_is_judged_by_what_it_added() {
    // 41 samples from 10 s: 26 descriptors, then 28 from 40 s (a pool opening two more
    // connections when a stall piled calls up). The second half's slope, projected over the
    // window, reads +19 %; the descriptors grew by 2 of 26.
    let mut f = footprint("local", 51, |_| 30.0);
    for s in &mut f.samples {
        s.fds = if s.at_ms < 40_000 { 26 } else { 28 };
    }
    let line = judge_on(&growth(Resource::Fds, 0.10, 10), std::slice::from_ref(&f));
    assert!(line.passed, "{}: {:?}", line.measured, line.detail);
    assert_eq!(line.measured, "+7.7%");
    let detail = line.detail.unwrap_or_default();
    assert!(
        detail.contains("fds 26 → 28 (+7.7%), peak 28")
            && detail.ends_with("41 samples from 10s: judged +7.7%"),
        "{detail}"
    );
    let trend: f64 = detail
        .split("second half's trend ")
        .nth(1)
        .and_then(|t| t.split('%').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(trend > 10.0, "{detail}");
    // Four more descriptors than that, and the same late step fails.
    for s in &mut f.samples {
        s.fds = if s.at_ms < 40_000 { 26 } else { 32 };
    }
    assert!(!judge_on(&growth(Resource::Fds, 0.10, 10), &[f]).passed);
}

#[test]
fn a_climb_after_a_drop_is_judged_by_the_second_half() {
    // 40 MiB, a drop to 30 MiB at 100 s (a cache emptied), then +0.05 MiB a second to 41.5
    // at 299 s: about where it started, but climbing all through the second half.
    let f = footprint("local", 300, |s| {
        if s < 100 {
            40.0
        } else {
            30.0 + 0.05 * (s - 100) as f64
        }
    });
    let line = judge_on(&growth(Resource::Rss, 0.05, 0), &[f]);
    assert!(!line.passed, "{}: {:?}", line.measured, line.detail);
    // The second half's first 30 samples' median (150 → 179: 30.0 + 0.05 × 64.5) to the last
    // 30's (270 → 299: 30.0 + 0.05 × 184.5), against the start level of 40 MiB.
    let expected = 0.05 * 120.0 / 40.0;
    assert!(
        (line.measured_value - expected).abs() < 0.002,
        "{} vs {expected}: {:?}",
        line.measured_value,
        line.detail
    );
}

#[test]
fn a_process_that_settles_after_its_warm_up_passes() {
    // Grows from 20 to 30 MiB in the first 30 s, then stays at 30 MiB (± 0.2) to 300 s.
    let f = footprint("local", 300, |s| {
        if s < 30 {
            20.0 + s as f64 / 3.0
        } else {
            30.0 + if s % 2 == 0 { 0.2 } else { -0.2 }
        }
    });
    let line = judge_on(&growth(Resource::Rss, 0.05, 30), &[f]);
    assert!(line.passed, "{}: {:?}", line.measured, line.detail);
    // The second half alternates around 30 MiB: no trend.
    assert!(line.measured_value.abs() < 1e-3, "{}", line.measured_value);
    let detail = line.detail.unwrap_or_default();
    // Medians 30.2 (first 27 samples) and 29.8 (last 27).
    assert!(
        detail.starts_with("local (pid 100): rss 30.")
            && detail.contains("(-1.3%)")
            && detail.contains("270 samples from 30s"),
        "{detail}"
    );
}

#[test]
fn a_leak_fails_and_says_by_how_much() {
    // 30 MiB growing by 0.02 MiB a second: +16 % over 270 s.
    let f = footprint("local", 300, |s| 30.0 + 0.02 * s as f64);
    let line = judge_on(&growth(Resource::Rss, 0.05, 30), &[f]);
    assert!(!line.passed);
    // What was seen, from the first 27 samples' median (30.0 + 0.02 × 43) to the last 27's
    // (30.0 + 0.02 × 286): less than the second half's climb projected over the window's
    // 269 s (0.02 × 269), which the detail gives too.
    let start = 30.0 + 0.02 * 43.0;
    let expected = 0.02 * (286.0 - 43.0) / start;
    let trend = 0.02 * 269.0 / start;
    assert!(
        line.detail
            .as_deref()
            .unwrap_or_default()
            .contains(&format!(
                "second half's trend {:+.1}% over the window",
                trend * 100.0
            )),
        "{:?}",
        line.detail
    );
    assert!(
        (line.measured_value - expected).abs() < 0.002,
        "{} vs {expected}",
        line.measured_value
    );
    assert_eq!(line.target, "<= +5.0%");
    assert_eq!(line.measured, format!("{:+.1}%", expected * 100.0));
}

#[test]
fn descriptors_are_judged_and_the_worst_process_decides() {
    // 70 samples: medians of the first and last 7.
    let steady = footprint("local", 70, |_| 30.0);
    let mut leaking = footprint("aws", 70, |_| 30.0);
    for (i, s) in leaking.samples.iter_mut().enumerate() {
        s.fds = 40 + i as u32;
    }
    let all = [steady, leaking];
    let line = judge_on(&growth(Resource::Fds, 0.10, 0), &all);
    assert!(!line.passed, "{}", line.measured);
    let detail = line.detail.unwrap_or_default();
    assert!(
        detail.contains("local (pid 100): fds 40 → 40 (+0.0%)")
            && detail.contains("aws (pid 100): fds 43 → 106 (+146.5%), peak 109"),
        "{detail}"
    );
    let only_local = Growth {
        target: Some("local".into()),
        ..growth(Resource::Fds, 0.10, 0)
    };
    assert!(judge_on(&only_local, &all).passed);
}

#[test]
fn too_few_samples_or_none_fail_and_say_why() {
    let short = footprint("local", 10, |_| 30.0);
    let line = judge_on(&growth(Resource::Rss, 0.05, 5), &[short]);
    assert!(!line.passed);
    assert_eq!(
        line.measured,
        "local (pid 100): 5 samples from 5s on, 6 needed (one a second): the load is too short to judge"
    );
    let none = judge_on(&growth(Resource::Rss, 0.05, 0), &[]);
    assert!(!none.passed);
    assert!(none.measured.starts_with("no server process was sampled"));
    let other = Growth {
        target: Some("aws".into()),
        ..growth(Resource::Rss, 0.05, 0)
    };
    let f = footprint("local", 60, |_| 30.0);
    assert_eq!(
        judge_on(&other, &[f]).measured,
        "no process of target aws was sampled"
    );
}
