//! The `slo:` section: each objective is one of latency, error rate, availability or
//! throughput, over every call or one tool's.

use std::time::Duration;

use super::Validator;
use crate::spec::raw::{RawAvailability, RawBelowPercent, RawLatency, RawObjective, RawThroughput};
use crate::spec::{Objective, ObjectiveKind};
use crate::units::{parse_duration, parse_percent, parse_rate};

/// An objective's kind and the name it gets when the scenario gives none.
type Judged = (ObjectiveKind, String);

impl Validator {
    pub(super) fn objective(
        &mut self,
        path: &str,
        o: RawObjective,
        tools: &[String],
    ) -> Option<Objective> {
        if let Some(tool) = &o.tool
            && !tools.contains(tool)
        {
            self.push(
                &format!("{path}.tool"),
                format!("{tool:?} is not called by the mix"),
            );
        }
        let given = [
            o.latency.is_some(),
            o.error_rate.is_some(),
            o.availability.is_some(),
            o.throughput.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given != 1 {
            self.push(
                path,
                "give exactly one of latency, error_rate, availability, throughput",
            );
            return None;
        }
        let (kind, default_name) = if let Some(l) = o.latency {
            self.latency(path, l)?
        } else if let Some(e) = o.error_rate {
            self.error_rate(path, e)?
        } else if let Some(a) = o.availability {
            self.availability(path, a)?
        } else {
            self.throughput(path, o.throughput?)?
        };
        let name = o.name.unwrap_or_else(|| match &o.tool {
            Some(tool) => format!("{default_name} [{tool}]"),
            None => default_name,
        });
        Some(Objective {
            name,
            tool: o.tool,
            kind,
        })
    }

    fn latency(&mut self, path: &str, l: RawLatency) -> Option<Judged> {
        let p = *l.p.value();
        if !(p > 0.0 && p < 100.0) {
            self.at(
                &format!("{path}.latency.p"),
                &l.p,
                format!("{p} must be between 0 and 100 (exclusive)"),
            );
        }
        let below = self.located(&format!("{path}.latency.below"), &l.below, |t| {
            parse_duration(t)
        })?;
        Some((
            ObjectiveKind::Latency {
                percentile: p,
                below_us: below.as_micros() as u64,
            },
            format!("latency p{p} < {}", l.below.value()),
        ))
    }

    fn error_rate(&mut self, path: &str, e: RawBelowPercent) -> Option<Judged> {
        let below = self.located(&format!("{path}.error_rate.below"), &e.below, |t| {
            parse_percent(t)
        })?;
        let first_attempt = match e.attempts.as_ref().map(|a| (a, a.value().as_str())) {
            None | Some((_, "final")) => false,
            Some((_, "first")) => true,
            Some((a, other)) => {
                self.at(
                    &format!("{path}.error_rate.attempts"),
                    a,
                    format!("{other:?} is not first or final"),
                );
                false
            }
        };
        Some((
            ObjectiveKind::ErrorRate {
                below,
                first_attempt,
            },
            format!(
                "error rate{} < {}",
                if first_attempt {
                    " (first attempts)"
                } else {
                    ""
                },
                e.below.value()
            ),
        ))
    }

    fn availability(&mut self, path: &str, a: RawAvailability) -> Option<Judged> {
        let above = self.located(&format!("{path}.availability.above"), &a.above, |t| {
            parse_percent(t)
        });
        let slice = match &a.slice {
            Some(s) => self.located(&format!("{path}.availability.slice"), s, |t| {
                parse_duration(t)
            }),
            None => Some(Duration::from_secs(1)),
        };
        if slice.is_some_and(|s| s.as_millis() < 1000 || s.as_millis() % 1000 != 0) {
            self.push(
                &format!("{path}.availability.slice"),
                "must be a whole number of seconds (1s or more)",
            );
        }
        let slice_target = match &a.slice_target {
            Some(s) => self.located(&format!("{path}.availability.slice_target"), s, |t| {
                parse_percent(t)
            }),
            None => Some(0.99),
        };
        Some((
            ObjectiveKind::Availability {
                above: above?,
                slice_ms: slice?.as_millis() as u64,
                slice_target: slice_target?,
            },
            format!("availability > {}", a.above.value()),
        ))
    }

    fn throughput(&mut self, path: &str, t: RawThroughput) -> Option<Judged> {
        let above = self.located(&format!("{path}.throughput.above"), &t.above, |t| {
            parse_rate(t)
        })?;
        Some((
            ObjectiveKind::Throughput { above },
            format!("throughput > {}", t.above.value()),
        ))
    }
}
