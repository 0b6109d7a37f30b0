//! The `slo:` section: each objective is one of latency, error rate, availability,
//! throughput, recovery after a fault, every call answered, errors answered cleanly (over
//! every call or one tool's), a figure from a target's own metrics page, or a server
//! process's growth in memory or descriptors.

use std::time::Duration;

use super::Validator;
use crate::measure::Resource;
use crate::spec::raw::{
    Located, RawAvailability, RawBelowPercent, RawExcept, RawGrowth, RawLatency, RawObjective,
    RawRecovery, RawServerMetric, RawThroughput,
};
use crate::spec::{Growth, Objective, ObjectiveKind, ServerMetric};
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
        targets: &[String],
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
            o.server_metric.is_some(),
            o.growth.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given != 1 {
            self.push(
                path,
                "give exactly one of latency, error_rate, availability, throughput, recovery, answered, clean_errors, server_metric, growth",
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
        } else if let Some(sm) = o.server_metric {
            if o.tool.is_some() {
                self.push(
                    &format!("{path}.tool"),
                    "a server_metric reads the server's page, not one tool's calls",
                );
            }
            self.server_metric(&format!("{path}.server_metric"), sm, targets)?
        } else if let Some(g) = o.growth {
            if o.tool.is_some() {
                self.push(
                    &format!("{path}.tool"),
                    "growth judges a server process, not one tool's calls",
                );
            }
            self.growth(&format!("{path}.growth"), g, targets)?
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

    fn growth(&mut self, path: &str, g: RawGrowth, targets: &[String]) -> Option<Judged> {
        let resource = match g.of.value().as_str() {
            "rss" => Some(Resource::Rss),
            "fds" => Some(Resource::Fds),
            other => {
                self.at(
                    &format!("{path}.of"),
                    &g.of,
                    format!("{other:?} is not rss or fds"),
                );
                None
            }
        };
        let below = self.located(&format!("{path}.below"), &g.below, |t| parse_percent(t));
        if let Some(t) = &g.target
            && !targets.contains(t.value())
        {
            self.at(
                &format!("{path}.target"),
                t,
                format!("{:?} is not a target", t.value()),
            );
        }
        let after = match &g.after {
            Some(a) => Some(self.located(&format!("{path}.after"), a, |t| parse_duration(t))?),
            None => None,
        };
        let resource = resource?;
        Some((
            ObjectiveKind::Growth(Growth {
                resource,
                below: below?,
                target: g.target.map(|t| t.value().clone()),
                after_ms: after.map(|a| a.as_millis() as u64),
            }),
            format!("{} growth <= {}", resource.as_str(), g.below.value()),
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

    fn server_metric(
        &mut self,
        path: &str,
        m: RawServerMetric,
        targets: &[String],
    ) -> Option<Judged> {
        let target = match (&m.target, targets) {
            (Some(t), _) => {
                if !targets.contains(t.value()) {
                    self.at(
                        &format!("{path}.target"),
                        t,
                        format!("{:?} is not a target", t.value()),
                    );
                }
                t.value().clone()
            }
            (None, [only]) => only.clone(),
            (None, _) => {
                self.push(
                    &format!("{path}.target"),
                    "missing: the scenario has more than one target",
                );
                return None;
            }
        };
        let percentile = m.p.as_ref().map(|p| {
            let v = *p.value();
            if !(v > 0.0 && v < 100.0) {
                self.at(
                    &format!("{path}.p"),
                    p,
                    format!("{v} must be between 0 and 100 (exclusive)"),
                );
            }
            v
        });
        let bound = |v: &mut Self, key: &str, b: &Option<Located<String>>| {
            b.as_ref().and_then(|b| {
                v.located(&format!("{path}.{key}"), b, |t| {
                    parse_duration(t).map(|d| d.as_secs_f64()).or_else(|_| {
                        t.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| format!("{t:?} is neither a number nor a duration"))
                    })
                })
            })
        };
        let below = bound(self, "below", &m.below);
        let above = bound(self, "above", &m.above);
        if m.below.is_none() && m.above.is_none() {
            self.push(path, "give below, above or both");
        }
        if m.min_count.is_some() && percentile.is_none() {
            self.push(
                &format!("{path}.min_count"),
                "counts a histogram's observations: give p too",
            );
        }
        let name = m.name.value().trim().to_owned();
        let stat = percentile.map_or_else(|| name.clone(), |p| format!("{name} p{p}"));
        let bounds: Vec<String> = [("<", &m.below), (">", &m.above)]
            .iter()
            .filter_map(|(op, b)| b.as_ref().map(|b| format!("{op} {}", b.value())))
            .collect();
        Some((
            ObjectiveKind::ServerMetric(ServerMetric {
                target,
                url: m.url.unwrap_or_else(|| "beside".to_owned()),
                name,
                labels: m.labels,
                percentile,
                below,
                above,
                min_count: m.min_count.unwrap_or(1),
            }),
            format!("server {stat} {}", bounds.join(" and ")),
        ))
    }
}
