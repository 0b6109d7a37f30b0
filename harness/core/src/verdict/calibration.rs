//! `mcp-slo calibrate`'s verdict: does the harness agree with the truth (a server with a
//! known service time, measured by the least a client can add) and with an independent
//! load generator on the same call, and what did the instrument itself add?

use hdrhistogram::Histogram;

use crate::maths;

/// The most the instrument itself may add at the median (start lateness p50, µs).
pub const INSTRUMENT_GOAL_US: f64 = 50.0;

/// The harness's ceiling as a share of the independent tool's on the same call.
pub const CEILING_GOAL: f64 = 0.8;

/// p50, p90, p99 in µs, and the achieved rate (successful calls per second).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub rate: f64,
}

impl Figures {
    /// The figures of pooled latencies (µs) and their successful calls over `seconds`.
    pub fn of(latency: &Histogram<u64>, ok: u64, seconds: f64) -> Figures {
        let p = |p: f64| maths::percentile(latency, p) as f64;
        Figures {
            p50: p(50.0),
            p90: p(90.0),
            p99: p(99.0),
            rate: maths::per_second(ok, seconds),
        }
    }
}

/// The agreement goal around a reference value: 5 % or 50 µs, whichever is larger.
pub fn goal(reference_us: f64) -> f64 {
    (reference_us * 0.05).max(50.0)
}

/// `measured` is within the goal of `reference`.
pub fn within(measured_us: f64, reference_us: f64) -> bool {
    (measured_us - reference_us).abs() <= goal(reference_us)
}

/// Every percentile of the harness within the goal of the independent tool's.
pub fn agree(harness: &Figures, independent: &Figures) -> bool {
    within(harness.p50, independent.p50)
        && within(harness.p90, independent.p90)
        && within(harness.p99, independent.p99)
}

/// The harness's ceiling over the independent tool's, and whether it meets
/// [`CEILING_GOAL`].
pub fn ceiling(harness_rate: f64, independent_rate: f64) -> (f64, bool) {
    let ratio = harness_rate / independent_rate.max(1.0);
    (ratio, ratio >= CEILING_GOAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_goal_is_five_percent_or_fifty_microseconds_whichever_is_larger() {
        assert_eq!(goal(300.0), 50.0);
        assert_eq!(goal(2_000.0), 100.0);
        assert!(within(349.0, 300.0) && within(250.0, 300.0));
        assert!(!within(351.0, 300.0) && !within(249.0, 300.0));
        assert!(within(2_100.0, 2_000.0) && !within(2_101.0, 2_000.0));
    }

    #[test]
    fn agreement_needs_every_percentile() {
        let oha = Figures {
            p50: 300.0,
            p90: 500.0,
            p99: 1_000.0,
            rate: 100.0,
        };
        let close = Figures {
            p50: 340.0,
            p90: 460.0,
            p99: 1_049.0,
            rate: 99.0,
        };
        assert!(agree(&close, &oha));
        let tail_off = Figures {
            p99: 1_051.0,
            ..close
        };
        assert!(!agree(&tail_off, &oha));
    }

    #[test]
    fn figures_and_ceiling() {
        let mut h = crate::measure::new_histogram(3);
        for v in 1..=100u64 {
            h.record(v * 10).unwrap_or_default();
        }
        let f = Figures::of(&h, 100, 2.0);
        assert_eq!((f.p50, f.p90, f.p99, f.rate), (500.0, 900.0, 990.0, 50.0));
        assert_eq!(ceiling(8_000.0, 10_000.0), (0.8, true));
        assert!(!ceiling(7_900.0, 10_000.0).1);
        assert_eq!(
            ceiling(5.0, 0.0),
            (5.0, true),
            "no independent rate: over 1/s"
        );
    }
}
