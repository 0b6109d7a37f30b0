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
    let f = footprint("local", 60, |s| if s < 20 { 10.0 } else { 30.0 });
    let g = Growth {
        after_ms: None,
        ..growth(Resource::Rss, 0.05, 0)
    };
    let facts = |warmup_s| RunFacts {
        footprints: std::slice::from_ref(&f),
        warmup: std::time::Duration::from_secs(warmup_s),
        ..RunFacts::default()
    };
    // From 0 s the climb from 10 to 30 MiB is in the window; from 20 s it is not.
    assert!(!judge(&g, facts(0)).passed);
    let after = judge(&g, facts(20));
    assert!(after.passed, "{:?}", after.detail);
    assert!(
        after
            .detail
            .unwrap_or_default()
            .contains("40 samples from 20s")
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
    // Medians 30.2 (first 27 samples) and 29.8 (last 27).
    assert!(
        (line.measured_value - (29.8 - 30.2) / 30.2).abs() < 1e-3,
        "{}",
        line.measured_value
    );
    let detail = line.detail.unwrap_or_default();
    assert!(
        detail.starts_with("local (pid 100): rss 30.") && detail.contains("270 samples from 30s"),
        "{detail}"
    );
}

#[test]
fn a_leak_fails_and_says_by_how_much() {
    // 30 MiB growing by 0.02 MiB a second: +16 % over 270 s.
    let f = footprint("local", 300, |s| 30.0 + 0.02 * s as f64);
    let line = judge_on(&growth(Resource::Rss, 0.05, 30), &[f]);
    assert!(!line.passed);
    // Medians of the first and last 27 samples: 30.0 + 0.02 × 43 and × 286.
    let expected = (0.02 * 286.0 - 0.02 * 43.0) / (30.0 + 0.02 * 43.0);
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
