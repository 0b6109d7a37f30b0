//! All percentile, rate, window and period maths of the harness: summaries of histograms,
//! per-second rates, ratios, consecutive periods and trailing windows over a run's seconds,
//! and the timeline drawn in buckets. Objectives, probes, alarms, burn rates, the baseline
//! comparison and the report use these and compute none of their own; the verdicts
//! themselves are in [`crate::verdict`].

use std::ops::Range;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};

use crate::measure::{CallOutcome, Measurements, Outcomes, ToolMeasure};
use crate::result::{LatencySummary, Quantiles, Summary, TimelinePoint, ToolPoint};

/// The value at percentile `p` (0–100) of a histogram, 0 when it is empty.
pub fn percentile(h: &Histogram<u64>, p: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_percentile(p)
    }
}

/// The `q` quantile (0–1) of a Prometheus histogram's cumulative buckets `(le, count)`,
/// as Prometheus' `histogram_quantile` estimates it: linear within the bucket the rank
/// falls in (from 0 for the first), and the highest finite bound when it falls in `+Inf`.
/// `None` without observations.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower);
            }
            let inside = count - below;
            let share = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lower + (le - lower) * share);
        }
        (lower, below) = (le, count);
    }
    Some(lower)
}

/// Cumulative buckets `after` minus `before` (both by `le`): what was observed in between.
/// Counts that went down mean the server restarted in between: then, as Prometheus'
/// `increase` does, all of `after` was observed since.
pub fn bucket_increase(before: &[(f64, f64)], after: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let total = |b: &[(f64, f64)]| b.last().map_or(0.0, |l| l.1);
    if total(after) < total(before) {
        return after.to_vec();
    }
    after
        .iter()
        .map(|&(le, count)| {
            let earlier = before
                .iter()
                .find(|(l, _)| l.to_bits() == le.to_bits())
                .map_or(0.0, |(_, c)| *c);
            (le, (count - earlier).max(0.0))
        })
        .collect()
}

/// The largest value of a histogram, 0 when it is empty.
pub fn max(h: &Histogram<u64>) -> u64 {
    if h.is_empty() { 0 } else { h.max() }
}

/// `part` of `whole` as a fraction, 0 when `whole` is 0.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The arithmetic mean, 0 of nothing.
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0u64), |(sum, n), v| (sum + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Points a Theil–Sen slope takes at most (evenly spaced among them): its pairs grow with
/// the square of the points, and a day's soak sampled once a second has 86,400.
const THEIL_SEN_POINTS: usize = 1_000;

/// The Theil–Sen slope of `points` (x, y): the median of the slopes between every two
/// points with different x. One outlier (a burst of connections, a collection) moves it
/// little, where it would move a least-squares fit; 0 for fewer than two distinct x.
/// Beyond [`THEIL_SEN_POINTS`] points, every k-th is taken.
pub fn theil_sen_slope(points: &[(f64, f64)]) -> f64 {
    let step = points.len().div_ceil(THEIL_SEN_POINTS).max(1);
    let points: Vec<(f64, f64)> = points.iter().step_by(step).copied().collect();
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, (x1, y1)) in points.iter().enumerate() {
        for (x2, y2) in &points[i + 1..] {
            if x2 != x1 {
                slopes.push((y2 - y1) / (x2 - x1));
            }
        }
    }
    median(&slopes)
}

/// The relative change from `base` to `current` ((current − base) / base); infinite when
/// something came from nothing, 0 when both are 0.
pub fn relative_change(base: f64, current: f64) -> f64 {
    if base > 0.0 {
        (current - base) / base
    } else if current > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The 1-based nearest rank of percentile `p` (0–100) among `n` sorted samples.
pub fn nearest_rank(p: f64, n: u64) -> u64 {
    ((p / 100.0) * n as f64).ceil().max(1.0) as u64
}

pub fn latency_summary(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: h.len(),
        min_us: h.min(),
        mean_us: h.mean(),
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p95_us: h.value_at_quantile(0.95),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
    }
}

/// p50, p90, p99 and max of a histogram (zeros when empty).
pub fn quantiles(h: &Histogram<u64>) -> Quantiles {
    if h.is_empty() {
        return Quantiles::default();
    }
    Quantiles {
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
    }
}

/// `count` events over `seconds`, per second (0 over no time). Every rate of a run is
/// this over the recorded seconds, named for what it counts: `throughput` successful
/// calls, `achieved_rate` answered calls of any outcome.
pub fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Failed calls over all calls (0 without calls).
pub fn error_rate(o: &Outcomes) -> f64 {
    ratio(o.failed(), o.total())
}

pub fn summary(m: &ToolMeasure, recorded_seconds: f64) -> Summary {
    Summary {
        outcomes: m.outcomes,
        latency: latency_summary(&m.latency),
        error_rate: error_rate(&m.outcomes),
        throughput: per_second(m.outcomes.ok, recorded_seconds),
        first_attempts: (m.retries > 0).then_some(m.first_outcomes),
        retries: m.retries,
        listing: (m.listing.calls > 0).then_some(m.listing),
    }
}

pub fn timeline(m: &Measurements) -> Vec<TimelinePoint> {
    let (start, end) = m.recorded_window;
    m.recorder
        .seconds
        .iter()
        .enumerate()
        .map(|(t, s)| TimelinePoint {
            t: t as u32,
            recorded: t >= start && t < end,
            offered: s.offered,
            outcomes: s.outcomes,
            p50_us: percentile(&s.latency, 50.0),
            p95_us: percentile(&s.latency, 95.0),
            p99_us: percentile(&s.latency, 99.0),
            max_us: max(&s.latency),
            tools: s
                .per_tool
                .iter()
                .map(|(name, ts)| {
                    (
                        name.clone(),
                        ToolPoint {
                            calls: ts.outcomes.total(),
                            failed: ts.outcomes.failed(),
                            p50_us: percentile(&ts.latency, 50.0),
                            p95_us: percentile(&ts.latency, 95.0),
                            p99_us: percentile(&ts.latency, 99.0),
                        },
                    )
                })
                .collect(),
            stall_us: s.stall_us,
        })
        .collect()
}

/// Serializes a histogram (V2 + deflate, base64).
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

/// Consecutive periods of `period` seconds (at least 1) over `window`, as ranges of second
/// indices from the window's start. A trailing period shorter than `period` is kept when
/// `partial`, dropped otherwise (CloudWatch has not closed it yet).
pub fn periods(window: Range<usize>, period: usize, partial: bool) -> Vec<Range<usize>> {
    let period = period.max(1);
    let mut out = Vec::new();
    let mut start = window.start;
    while start < window.end {
        let end = start.saturating_add(period);
        if end > window.end && !partial {
            break;
        }
        out.push(start..end.min(window.end));
        start = end;
    }
    out
}

/// Availability over time slices (as OpenSLO's Timeslices): the share of slices in the
/// recorded window whose success ratio met `slice_target`. Slices without calls are not
/// counted. Returns (good, total).
pub fn availability_slices(m: &Measurements, slice_s: usize, slice_target: f64) -> (u64, u64) {
    let (start, end) = m.recorded_window;
    let end = end.min(m.recorder.seconds.len());
    let (mut good, mut total) = (0, 0);
    for slice in periods(start..end, slice_s, true) {
        let mut o = Outcomes::default();
        for s in m.recorder.seconds.get(slice).unwrap_or(&[]) {
            o.merge(&s.outcomes);
        }
        if o.total() > 0 {
            total += 1;
            if ratio(o.ok, o.total()) >= slice_target {
                good += 1;
            }
        }
    }
    (good, total)
}

/// Running sums of `(total, failed)` per second, for error ratios over trailing windows.
pub struct TrailingErrors {
    /// `prefix[t]`: the sums of the seconds before `t`.
    prefix: Vec<(u64, u64)>,
}

impl TrailingErrors {
    pub fn new(per_second: &[(u64, u64)]) -> Self {
        let mut prefix = Vec::with_capacity(per_second.len() + 1);
        let mut sums = (0u64, 0u64);
        prefix.push(sums);
        for &(total, failed) in per_second {
            sums = (sums.0 + total, sums.1 + failed);
            prefix.push(sums);
        }
        TrailingErrors { prefix }
    }

    /// Seconds in the series.
    pub fn len(&self) -> usize {
        self.prefix.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The error ratio over the `window` seconds ending at `end` (exclusive; a window
    /// reaching back before the first second covers the seconds there are), 0 without calls.
    pub fn ratio(&self, end: usize, window: u64) -> f64 {
        let end = end.min(self.len());
        let start = end.saturating_sub(usize::try_from(window).unwrap_or(usize::MAX));
        let (at_end, at_start) = (self.prefix[end], self.prefix[start]);
        ratio(at_end.1 - at_start.1, at_end.0 - at_start.0)
    }
}

/// A stretch of the timeline drawn as one point: a second, or a bucket of `width` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineBucket {
    pub t: f64,
    pub width: f64,
    pub recorded: bool,
    pub offered: f64,
    pub outcomes: [f64; CallOutcome::ALL.len()],
    pub calls: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The timeline in time order, in at most `max_points` buckets of `k` seconds each (and
/// `k`): rates (offered, each outcome's) are averaged per second, p50 is the mean of the
/// seconds with calls, p99 and max the highest.
pub fn timeline_buckets(
    timeline: &[TimelinePoint],
    max_points: usize,
) -> (Vec<TimelineBucket>, usize) {
    let mut points: Vec<&TimelinePoint> = timeline.iter().collect();
    points.sort_by_key(|p| p.t);
    let k = points.len().div_ceil(max_points.max(1)).max(1);
    let buckets = points
        .chunks(k)
        .filter_map(|chunk| {
            let first = chunk.first()?;
            let n = chunk.len() as f64;
            let mut outcomes = [0.0; CallOutcome::ALL.len()];
            let mut p50s = Vec::with_capacity(chunk.len());
            let (mut p99, mut highest) = (0.0f64, 0.0f64);
            for p in chunk {
                for (slot, o) in outcomes.iter_mut().zip(CallOutcome::ALL) {
                    *slot += p.outcomes.get(o) as f64 / n;
                }
                if p.outcomes.total() > 0 {
                    p50s.push(p.p50_us as f64 / 1000.0);
                    p99 = p99.max(p.p99_us as f64 / 1000.0);
                    highest = highest.max(p.max_us as f64 / 1000.0);
                }
            }
            Some(TimelineBucket {
                t: f64::from(first.t),
                width: k as f64,
                recorded: chunk.iter().any(|p| p.recorded),
                offered: chunk.iter().map(|p| p.offered as f64).sum::<f64>() / n,
                outcomes,
                calls: chunk.iter().map(|p| p.outcomes.total()).sum(),
                p50_ms: mean(p50s),
                p99_ms: p99,
                max_ms: highest,
            })
        })
        .collect();
    (buckets, k)
}

#[cfg(test)]
pub(crate) mod tests;
