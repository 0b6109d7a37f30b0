//! `mcp-slo capacity`'s verdict: the highest offered rate at which a scenario meets every
//! objective. Open-model steps of increasing rate (each a short unjudged warm-up, then a
//! judged hold) until one misses an objective, then bisection until the highest passing
//! and lowest failing rates are within the precision ([`Search`]); each step judged by
//! [`judge_step`]; the summary adds the knee of the latency curve (Kneedle) and a Universal
//! Scalability Law fit of the steps ([`summarize`]). The engine runs the steps. A soak
//! holds a fraction of the capacity found for minutes ([`soak_scenario`]).

use std::time::Duration;

use serde::Serialize;

use crate::maths;
use crate::measure::{Measurements, Resource};
use crate::spec::{Growth, Load, LoadModel, Objective, ObjectiveKind, Phase, Scenario};
use crate::stats::{UslFit, knee, littles_law_concurrency, usl_fit, usl_predict};

/// One judged step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub offered: f64,
    /// Successful calls per second.
    pub achieved: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub error_rate: f64,
    /// Calls in the system on average (Little's law: achieved rate × mean latency).
    pub concurrency: Option<f64>,
    /// Throughput the USL fit predicts at that concurrency.
    pub usl_predicted: Option<f64>,
    pub passed: bool,
    pub failed_objectives: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityReport {
    pub scenario: String,
    pub limits: &'static str,
    /// The highest offered rate that met every objective.
    pub max_rate: Option<f64>,
    /// The lowest that did not.
    pub first_failing_rate: Option<f64>,
    pub knee_rate: Option<f64>,
    pub usl: Option<UslSummary>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UslSummary {
    pub lambda: f64,
    pub sigma: f64,
    pub kappa: f64,
    pub r_squared: f64,
    /// Predicted peak throughput (calls/s) and the concurrency it is reached at.
    pub peak_throughput: Option<f64>,
    pub peak_concurrency: Option<f64>,
}

/// The scenario of one step: a one-second warm-up at twice the rate, then the judged hold,
/// without probes or alarms. The warm-up also spends whatever burst a rate limiter has
/// saved up (a bucket is typically one second of its rate), so the hold sees the sustained
/// rate callers get, not the burst on top.
pub fn step_scenario(scenario: &Scenario, rate: f64, hold: Duration) -> Scenario {
    let phase = |name: &str, rate: f64, duration, record| Phase {
        name: name.to_owned(),
        duration,
        rate: Some(rate),
        users: None,
        record,
        mix: None,
    };
    let base = &scenario.load;
    let mut step = scenario.clone();
    step.load = Load {
        model: LoadModel::Open,
        phases: vec![
            phase("warmup", rate * 2.0, Duration::from_secs(1), false),
            phase("step", rate, hold, true),
        ],
        max_users: base.max_users.max(64),
        threads: base.threads,
        callers: base.callers,
        first_caller: base.first_caller,
        timeout: base.timeout,
        seed: base.seed,
        retries: base.retries,
    };
    step.probes = None;
    step.alarms = None;
    step.faults = Vec::new();
    step.objectives.retain(judged_in_steps);
    step
}

/// Whether a step judges `o`: what judges time (a fault's recovery, a process's growth)
/// has nothing to judge in a step of a few seconds without faults.
fn judged_in_steps(o: &Objective) -> bool {
    !matches!(
        o.kind,
        ObjectiveKind::Recovery { .. } | ObjectiveKind::Growth(_)
    )
}

/// The growth a soak allows when its scenario names none: resident memory +5 %, open
/// descriptors +10 %.
pub const SOAK_GROWTH: [(Resource, f64); 2] = [(Resource::Rss, 0.05), (Resource::Fds, 0.10)];

/// The scenario of a soak: `warmup` then `hold` at one rate (typically 80 % of the
/// capacity a search found), judged by the scenario's objectives and by the growth of the
/// sampled server processes after the warm-up ([`SOAK_GROWTH`] unless the scenario has
/// growth objectives of its own; one without `after` is judged from the end of the
/// soak's warm-up). Probes, alarms and faults belong to other runs.
pub fn soak_scenario(scenario: &Scenario, rate: f64, warmup: Duration, hold: Duration) -> Scenario {
    let mut soak = step_scenario(scenario, rate, hold);
    soak.name = format!("{}-soak", scenario.name);
    soak.load.phases[0].name = "warmup".to_owned();
    soak.load.phases[0].rate = Some(rate);
    soak.load.phases[0].duration = warmup;
    soak.load.phases[1].name = "soak".to_owned();
    soak.objectives = scenario
        .objectives
        .iter()
        .filter(|o| !matches!(o.kind, ObjectiveKind::Recovery { .. }))
        .cloned()
        .collect();
    if !soak
        .objectives
        .iter()
        .any(|o| matches!(o.kind, ObjectiveKind::Growth(_)))
    {
        soak.objectives
            .extend(SOAK_GROWTH.iter().map(|&(resource, below)| Objective {
                name: format!("{} growth <= {:.0}%", resource.as_str(), below * 100.0),
                tool: None,
                kind: ObjectiveKind::Growth(Growth {
                    resource,
                    below,
                    target: None,
                    after_ms: None,
                }),
            }));
    }
    soak
}

/// Judges one step's measurements against every objective of the scenario a step judges.
pub fn judge_step(scenario: &Scenario, offered: f64, m: &Measurements) -> Step {
    let overall = m.recorder.overall();
    let summary = maths::summary(&overall, m.recorded_seconds);
    let failed: Vec<String> = scenario
        .objectives
        .iter()
        .filter(|o| judged_in_steps(o))
        .map(|o| super::objectives::evaluate(o, m))
        .filter(|r| !r.passed)
        .map(|r| match &r.inconclusive {
            // Still a failed step: the search cannot tell, at this rate, what a quieter
            // machine would have measured.
            Some(_) => format!(
                "{}: {} (inconclusive: the machine stalled)",
                r.name, r.measured
            ),
            None => format!("{}: {}", r.name, r.measured),
        })
        .collect();
    Step {
        offered,
        achieved: summary.throughput,
        p99_ms: summary.latency.p99_us as f64 / 1e3,
        mean_ms: summary.latency.mean_us / 1e3,
        error_rate: summary.error_rate,
        concurrency: littles_law_concurrency(summary.throughput, summary.latency.mean_us / 1e6),
        usl_predicted: None,
        passed: failed.is_empty(),
        failed_objectives: failed,
    }
}

/// Which rate to try next: multiplied by `factor` from `start` while steps pass (up to
/// `max`), then halfway between the highest passing and the lowest failing rate until
/// they are within `precision` of each other.
#[derive(Debug, Clone)]
pub struct Search {
    next: Option<f64>,
    max: f64,
    factor: f64,
    precision: f64,
    passing: Option<f64>,
    failing: Option<f64>,
}

impl Search {
    pub fn new(start: f64, max: f64, factor: f64, precision: f64) -> Self {
        Search {
            next: (start <= max).then_some(start),
            max,
            factor,
            precision,
            passing: None,
            failing: None,
        }
    }

    /// The rate of the next step, `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        self.next
    }

    /// Records the outcome of the step at `rate` (the last [`Search::next_rate`]).
    pub fn record(&mut self, rate: f64, passed: bool) {
        if passed {
            self.passing = Some(self.passing.map_or(rate, |p| p.max(rate)));
        } else {
            self.failing = Some(self.failing.map_or(rate, |f| f.min(rate)));
        }
        self.next = match (self.passing, self.failing) {
            (Some(_), None) => Some(rate * self.factor).filter(|r| *r <= self.max),
            (Some(lo), Some(hi)) if (hi - lo) / lo > self.precision => Some((lo + hi) / 2.0),
            // Bracketed within the precision, or even the first step failed.
            _ => None,
        };
    }
}

/// The capacity report of the steps, by offered rate: the highest passing and lowest
/// failing rates, the knee of the p99 curve and the USL fit of (concurrency, throughput).
pub fn summarize(scenario: &str, limits: &'static str, mut steps: Vec<Step>) -> CapacityReport {
    steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let max_rate = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.offered)
        .reduce(f64::max);
    let first_failing_rate = steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.offered)
        .reduce(f64::min);
    let curve: Vec<(f64, f64)> = steps.iter().map(|s| (s.offered, s.p99_ms)).collect();
    let knee_rate = knee(&curve).and_then(|i| curve.get(i)).map(|p| p.0);
    let points: Vec<(f64, f64)> = steps
        .iter()
        .filter_map(|s| Some((s.concurrency?, s.achieved)))
        .collect();
    let fit = usl_fit(&points);
    if let Some(f) = &fit {
        for s in &mut steps {
            s.usl_predicted = s.concurrency.map(|n| usl_predict(f, n));
        }
    }
    CapacityReport {
        scenario: scenario.to_owned(),
        limits,
        max_rate,
        first_failing_rate,
        knee_rate,
        usl: fit.map(|f: UslFit| UslSummary {
            lambda: f.lambda,
            sigma: f.sigma,
            kappa: f.kappa,
            r_squared: f.r_squared,
            peak_throughput: f.peak_x,
            peak_concurrency: f.peak_n,
        }),
        steps,
    }
}

#[cfg(test)]
mod tests;
