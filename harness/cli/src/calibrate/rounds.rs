//! How `calibrate` samples one call at one rate: rounds of the harness and oha (and, for
//! the known service times, the reference exchange), at the same time or alternated,
//! pooled over the rounds.

use std::path::PathBuf;
use std::time::Duration;

use mcp_slo_engine::client::Endpoint;

use super::runs::{Load, Sample, harness_run, oha_run, reference_run};

/// Each tool's warm-up before a measured run.
pub(super) const WARMUP: Duration = Duration::from_secs(2);

/// Side by side, oha starts its measured run this long before the harness measures and
/// stops this long after, and only its requests in between are kept: neither tool's
/// figures then include the other opening its connections or having stopped.
pub(super) const PAD: Duration = Duration::from_secs(1);

/// Full turns of two tools' relative phase in one measured round.
const SWEEPS: f64 = 2.0;

/// The call measured: where, which tool, its arguments as given and as JSON.
pub(super) struct Call {
    pub(super) url: String,
    pub(super) endpoint: Endpoint,
    pub(super) tool: String,
    pub(super) args_text: String,
    pub(super) args: serde_json::Value,
}

/// How every rate is sampled (from `calibrate`'s arguments).
pub(super) struct Plan {
    pub(super) oha: Option<PathBuf>,
    pub(super) rounds: u32,
    pub(super) duration: Duration,
    pub(super) min_calls: u64,
    pub(super) together: bool,
    pub(super) connections: u32,
    /// Each round also runs oha against a second oha (the same way the harness runs
    /// beside oha): how far the referee disagrees with itself.
    pub(super) referee_pair: bool,
}

/// Every round's samples at one rate, pooled.
pub(super) struct Pooled {
    pub(super) harness: Sample,
    pub(super) oha: Option<Sample>,
    pub(super) reference: Option<Sample>,
    /// oha and a second oha in the harness's place (at its rate, and first when they
    /// alternate as the harness did), in rounds of their own (with `referee_pair`).
    pub(super) referee_pair: Option<(Sample, Sample)>,
}

impl Plan {
    /// Side by side: the tools run at the same time.
    pub(super) fn side_by_side(&self) -> bool {
        self.together && self.oha.is_some()
    }

    /// One round's measured time at `rate`: the duration, or longer so that the rounds
    /// together reach `min_calls`.
    pub(super) fn round_duration(&self, rate: f64) -> Duration {
        let calls_per_round = self.min_calls as f64 / f64::from(self.rounds.max(1));
        let needed = Duration::from_secs_f64((calls_per_round / rate.max(1e-3)).ceil());
        self.duration.max(needed)
    }

    /// The harness's, oha's and (with `reference`) the reference exchange's samples of
    /// every round of `call` at `rate` (the `i`th rate): at the same time, or one after
    /// the other alternating which goes first, so drift over the session favours none.
    pub(super) async fn rounds(
        &self,
        call: &Call,
        rate: f64,
        i: usize,
        reference: bool,
    ) -> Result<Pooled, anyhow::Error> {
        let duration = self.round_duration(rate);
        let together = self.side_by_side();
        // Side by side, the harness runs a hair faster than oha and the reference a hair
        // slower (see `swept_rate`), and each measures only while the others run steadily.
        let (harness_rate, reference_rate, pad) = if together {
            (
                swept_rate(rate, duration, 1.0),
                swept_rate(rate, duration, -1.0),
                PAD,
            )
        } else {
            (rate, rate, Duration::ZERO)
        };
        let run_harness = || {
            harness_run(
                &call.url,
                &call.tool,
                &call.args_text,
                Load::Open(harness_rate, self.connections),
                (WARMUP + pad, duration),
            )
        };
        let run_oha = |rate: f64| async move {
            match &self.oha {
                Some(oha) => {
                    let what = (&call.endpoint, call.tool.as_str(), call.args.clone());
                    let window = (pad, duration);
                    Some(oha_run(oha, what, Some(rate), window, self.connections).await).transpose()
                }
                None => Ok(None),
            }
        };
        let run_reference = || async {
            if reference {
                let what = (call.tool.as_str(), call.args.clone());
                let window = (WARMUP + pad, duration);
                Some(reference_run(&call.endpoint, what, reference_rate, window).await).transpose()
            } else {
                Ok(None)
            }
        };
        let mut pooled = Pooled {
            harness: Sample::new(),
            oha: self.oha.as_ref().map(|_| Sample::new()),
            reference: reference.then(Sample::new),
            // With a known service time the truth is the reference exchange, not oha.
            referee_pair: (self.referee_pair && self.oha.is_some() && !reference)
                .then(|| (Sample::new(), Sample::new())),
        };
        for round in 0..self.rounds.max(1) as usize {
            let (h, o, r) = if together {
                tokio::join!(run_harness(), run_oha(rate), run_reference())
            } else if (i + round).is_multiple_of(2) {
                let h = run_harness().await;
                (h, run_oha(rate).await, run_reference().await)
            } else {
                let o = run_oha(rate).await;
                let r = run_reference().await;
                (run_harness().await, o, r)
            };
            pooled.harness.add(&h?);
            if let (Some(pool), Some(o)) = (&mut pooled.oha, o?) {
                pool.add(&o);
            }
            if let (Some(pool), Some(r)) = (&mut pooled.reference, r?) {
                pool.add(&r);
            }
            // The referee against itself, exactly as the harness ran beside it: the second
            // oha in the harness's place, at the harness's rate.
            if let Some((a, b)) = &mut pooled.referee_pair {
                let (first, second) = if together {
                    tokio::join!(run_oha(rate), run_oha(harness_rate))
                } else if (i + round).is_multiple_of(2) {
                    let second = run_oha(harness_rate).await;
                    (run_oha(rate).await, second)
                } else {
                    (run_oha(rate).await, run_oha(harness_rate).await)
                };
                if let (Some(first), Some(second)) = (first?, second?) {
                    a.add(&first);
                    b.add(&second);
                }
            }
        }
        Ok(pooled)
    }
}

/// A tool's rate when it runs beside oha at `rate`: `SWEEPS / duration` calls/s more
/// (`sign` 1) or fewer (−1), so that its calls slide past oha's through every relative
/// phase, `SWEEPS` times a round. At exactly the same rate the schedules stay phase-locked
/// for the whole round, and whichever follows the other by a fraction of a period finds
/// the server warm from the other's call: measured at 100/s, the same server answered one
/// tool's calls in 363 µs (p50) and the other's in 455 µs from nothing but that. Sweeping
/// gives every tool every offset alike (±0.33 % at 100/s over 6 s).
fn swept_rate(rate: f64, duration: Duration, sign: f64) -> f64 {
    rate + sign * SWEEPS / duration.as_secs_f64().max(1.0)
}
