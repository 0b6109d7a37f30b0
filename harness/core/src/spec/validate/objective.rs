//! The `slo:` section: each objective is one of latency, error rate, availability,
//! throughput, recovery after a fault, every call answered, or errors answered cleanly, over
//! every call or one tool's.

use std::time::Duration;

use super::Validator;
use crate::spec::raw::{
    Located, RawAvailability, RawBelowPercent, RawExcept, RawLatency, RawObjective, RawRecovery,
    RawThroughput,
};
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
        faults: &[&str],
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
            o.recovery.is_some(),
            o.answered.is_some(),
            o.clean_errors.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given != 1 {
            self.push(
                path,
                "give exactly one of latency, error_rate, availability, throughput, recovery, answered, clean_errors",
            );
            return None;
        }
        let (kind, default_name) = if let Some(l) = o.latency {
            self.latency(path, l)?
        } else if let Some(e) = o.error_rate {
            self.error_rate(path, e)?
        } else if let Some(a) = o.availability {
            self.availability(path, a)?
        } else if let Some(r) = o.recovery {
            self.recovery(path, r, faults)?
        } else if let Some(a) = o.answered {
            let except = self.except(&format!("{path}.answered"), a, faults);
            (
                ObjectiveKind::Answered { except },
                "every call answered".to_owned(),
            )
        } else if let Some(c) = o.clean_errors {
            let except = self.except(&format!("{path}.clean_errors"), c, faults);
            (
                ObjectiveKind::CleanErrors { except },
                "errors answered cleanly".to_owned(),
            )
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

    fn recovery(&mut self, path: &str, r: RawRecovery, faults: &[&str]) -> Option<Judged> {
        self.known_fault(&format!("{path}.recovery.fault"), &r.fault, faults);
        let within = self.located(&format!("{path}.recovery.within"), &r.within, |t| {
            parse_duration(t)
        });
        let slice_target = self.percent_or(
            &format!("{path}.recovery.slice_target"),
            r.slice_target.as_ref(),
            0.99,
        );
        Some((
            ObjectiveKind::Recovery {
                fault: r.fault.value().clone(),
                within_ms: within?.as_millis() as u64,
                slice_target,
            },
            format!("recovery after {} < {}", r.fault.value(), r.within.value()),
        ))
    }

    fn except(&mut self, path: &str, e: RawExcept, faults: &[&str]) -> Vec<String> {
        for (i, name) in e.except.iter().enumerate() {
            self.known_fault(&format!("{path}.except[{i}]"), name, faults);
        }
        e.except.into_iter().map(|n| n.value().clone()).collect()
    }

    fn known_fault(&mut self, path: &str, name: &Located<String>, faults: &[&str]) {
        if !faults.contains(&name.value().as_str()) {
            self.at(
                path,
                name,
                format!("{:?} is not a fault (under faults:)", name.value()),
            );
        }
    }
}
