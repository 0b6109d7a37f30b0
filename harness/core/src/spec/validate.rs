//! Validation: raw scenario → typed model, every problem collected with its path and, where
//! the value was written, its line and column.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mcp_slo_vocab::{Boundaries, Tier};

use super::raw::{self, Located, RawObjective, RawScenario};
use super::*;
use crate::units::{parse_duration, parse_percent, parse_rate};

#[derive(Default)]
pub(super) struct Validator {
    pub(super) issues: Vec<String>,
}

impl Validator {
    pub(super) fn push(&mut self, path: &str, message: impl std::fmt::Display) {
        self.issues.push(format!("{path}: {message}"));
    }

    pub(super) fn at<T>(
        &mut self,
        path: &str,
        value: &Located<T>,
        message: impl std::fmt::Display,
    ) {
        self.issues
            .push(format!("{path}: {message} (at {})", value.at()));
    }

    pub(super) fn located<T, U>(
        &mut self,
        path: &str,
        value: &Located<T>,
        parse: impl Fn(&T) -> Result<U, String>,
    ) -> Option<U> {
        match parse(value.value()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.at(path, value, e);
                None
            }
        }
    }

    /// A duration as written, or the default (in seconds) when not given.
    pub(super) fn duration_or(
        &mut self,
        path: &str,
        value: Option<&Located<String>>,
        default_s: f64,
    ) -> Duration {
        match value {
            Some(v) => self
                .located(path, v, |t| parse_duration(t))
                .unwrap_or_default(),
            None => Duration::from_secs_f64(default_s),
        }
    }

    /// A percentage as written (a fraction), or the default when not given or invalid.
    pub(super) fn percent_or(
        &mut self,
        path: &str,
        value: Option<&Located<String>>,
        default: f64,
    ) -> f64 {
        match value {
            Some(v) => self
                .located(path, v, |t| parse_percent(t))
                .unwrap_or(default),
            None => default,
        }
    }

    pub(super) fn scenario(&mut self, file: &Path, raw: RawScenario) -> Option<Scenario> {
        if raw.version.value() != VERSION {
            self.at(
                "version",
                &raw.version,
                format!(
                    "{:?} is not supported (expected {VERSION:?})",
                    raw.version.value()
                ),
            );
        }
        let name = raw.name.value().trim().to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.at(
                "name",
                &raw.name,
                format!("{name:?} must be non-empty and use only letters, digits, - and _"),
            );
        }
        if raw.targets.is_empty() {
            self.push("targets", "at least one target is needed");
        }
        let mut targets = BTreeMap::new();
        for (tname, t) in raw.targets {
            if let Some(target) = self.target(&tname, t) {
                targets.insert(tname, target);
            }
        }
        self.same_servers(&mut targets);
        let boundaries = raw.boundaries.and_then(|b| self.boundaries(file, b));
        let target_names: Vec<String> = targets.keys().cloned().collect();
        // Whether the scenario has a load as written (even one with errors in it).
        let has_load = raw.load.is_some();
        if raw.load.is_none() && raw.probes.is_none() {
            self.push("load", "missing (a scenario needs a load, probes, or both)");
        }
        let load = match raw.load {
            Some(l) => self.load(l, &target_names),
            None => Some(Load {
                model: LoadModel::Open,
                phases: Vec::new(),
                max_users: 1,
                threads: None,
                callers: 1,
                timeout: Duration::from_secs(30),
                seed: 0,
                retries: None,
            }),
        };
        if has_load && raw.mix.is_empty() {
            self.push("mix", "at least one operation is needed");
        }
        if !has_load && !raw.mix.is_empty() {
            self.push("mix", "there is no load to run it");
        }
        let mix: Vec<Op> = raw
            .mix
            .into_iter()
            .enumerate()
            .filter_map(|(i, op)| self.op(&format!("mix[{i}]"), op, &target_names))
            .collect();
        let mut tools: Vec<String> = mix.iter().map(|o| o.tool.clone()).collect();
        for phase in load.iter().flat_map(|l| &l.phases) {
            tools.extend(phase.mix.iter().flatten().map(|o| o.tool.clone()));
        }
        if !has_load && !raw.slo.is_empty() {
            self.push("slo", "objectives need a load to judge");
        }
        let probes = raw
            .probes
            .and_then(|p| self.probes(p, &target_names, boundaries.as_ref()));
        let phase_names: Vec<String> = load
            .iter()
            .flat_map(|l| &l.phases)
            .map(|p| p.name.clone())
            .collect();
        if raw.alarms.is_some() && !has_load {
            self.push(
                "alarms",
                "alarms are evaluated over a load; this scenario has none",
            );
        }
        let alarms = raw
            .alarms
            .and_then(|a| self.alarm_checks(file, a, &phase_names));
        if raw.baseline.is_some() && !has_load {
            self.push(
                "baseline",
                "a baseline is compared with a load; this scenario has none",
            );
        }
        let baseline = raw.baseline.and_then(|b| self.baseline(file, b));
        let objectives = raw
            .slo
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| self.objective(&format!("slo[{i}]"), o, &tools))
            .collect();
        Some(Scenario {
            file: file.to_path_buf(),
            name,
            description: raw.description,
            targets,
            boundaries,
            load: load?,
            mix,
            objectives,
            probes,
            alarms,
            baseline,
        })
    }

    fn baseline(&mut self, file: &Path, raw: raw::RawBaseline) -> Option<Baseline> {
        let path = super::alarm_checks::resolve(file, &raw.file);
        if !path.is_file() {
            self.push(
                "baseline.file",
                format!(
                    "{} does not exist (write one with mcp-slo run, then copy its result.json)",
                    path.display()
                ),
            );
        }
        let mut tolerances = crate::compare::Tolerances::default();
        for (name, value) in &raw.tolerances {
            let at = format!("baseline.tolerances.{name}");
            let Some(v) = self.located(&at, value, |t| parse_percent(t)) else {
                continue;
            };
            match name.as_str() {
                "p50" => tolerances.p50 = v,
                "p95" => tolerances.p95 = v,
                "p99" => tolerances.p99 = v,
                "error_rate" => tolerances.error_rate = v,
                "rate" => tolerances.rate = v,
                other => self.at(
                    &at,
                    value,
                    format!("{other:?} is not a measure (p50, p95, p99, error_rate, rate)"),
                ),
            }
        }
        Some(Baseline {
            file: path,
            tolerances,
        })
    }

    /// One operation of a mix.
    fn op(&mut self, path: &str, op: raw::RawOp, targets: &[String]) -> Option<Op> {
        if !targets.contains(op.target.value()) {
            self.at(
                &format!("{path}.target"),
                &op.target,
                format!(
                    "{:?} is not a target (targets: {})",
                    op.target.value(),
                    targets.join(", ")
                ),
            );
        }
        let weight = op.weight.unwrap_or(1);
        if weight == 0 {
            self.push(&format!("{path}.weight"), "must be at least 1");
        }
        let (method, args) = super::ops::call(
            path,
            super::ops::RawCall {
                tool: op.tool.as_deref(),
                method: op.method.as_deref(),
                walk: op.walk,
                uri: op.uri.as_ref(),
                name: op.name.as_deref(),
                args: op.args.as_ref(),
            },
            &mut self.issues,
        )?;
        if op.label.as_ref().is_some_and(|l| l.trim().is_empty()) {
            self.push(&format!("{path}.label"), "empty");
        }
        Some(Op {
            target: op.target.value().clone(),
            tool: op.label.clone().unwrap_or_else(|| method.label()),
            method,
            weight,
            args,
        })
    }

    fn boundaries(
        &mut self,
        scenario_file: &Path,
        b: raw::RawBoundariesRef,
    ) -> Option<BoundariesRef> {
        let tier = match b.tier.value().as_str() {
            "local" => Some(Tier::Local),
            "aws_managed" => Some(Tier::AwsManaged),
            other => {
                self.at(
                    "boundaries.tier",
                    &b.tier,
                    format!("{other:?} is not a tier (local, aws_managed)"),
                );
                None
            }
        };
        let scope = match b.rate_limit_scope.as_ref().map(|s| (s, s.value().as_str())) {
            None | Some((_, "global")) => RateScope::Global,
            Some((_, "per_caller")) => RateScope::PerCaller,
            Some((s, other)) => {
                self.at(
                    "boundaries.rate_limit_scope",
                    s,
                    format!("{other:?} is not a scope (global, per_caller)"),
                );
                RateScope::Global
            }
        };
        let file = super::alarm_checks::resolve(scenario_file, &b.file);
        let all = match Boundaries::load(&file) {
            Ok(all) => all,
            Err(e) => {
                self.push("boundaries.file", e);
                return None;
            }
        };
        let tier = tier?;
        let limits = match tier {
            Tier::Local => all.local,
            Tier::AwsManaged => all.aws_managed,
        };
        Some(BoundariesRef {
            file,
            tier,
            scope,
            limits,
        })
    }

    fn load(&mut self, raw: raw::RawLoad, targets: &[String]) -> Option<Load> {
        let model = match raw.model.value().as_str() {
            "open" => Some(LoadModel::Open),
            "closed" => Some(LoadModel::Closed),
            other => {
                self.at(
                    "load.model",
                    &raw.model,
                    format!("{other:?} is not a load model (open, closed)"),
                );
                None
            }
        };
        if raw.phases.is_empty() {
            self.push("load.phases", "at least one phase is needed");
        }
        let mut phases = Vec::new();
        for (i, p) in raw.phases.iter().enumerate() {
            let path = format!("load.phases[{i}]");
            let duration = self.located(&format!("{path}.duration"), &p.duration, |t| {
                parse_duration(t)
            });
            if duration.is_some_and(|d| d.is_zero()) {
                self.at(
                    &format!("{path}.duration"),
                    &p.duration,
                    "must be longer than 0",
                );
            }
            let rate = p
                .rate
                .as_ref()
                .and_then(|r| self.located(&format!("{path}.rate"), r, |t| parse_rate(t)));
            match model {
                Some(LoadModel::Open) if p.rate.is_none() => self.push(
                    &format!("{path}.rate"),
                    "missing (an open-model phase needs a rate, e.g. 90/s)",
                ),
                Some(LoadModel::Open) if p.users.is_some() => self.push(
                    &format!("{path}.users"),
                    "an open-model phase has a rate, not users",
                ),
                Some(LoadModel::Closed) if p.users.is_none() => self.push(
                    &format!("{path}.users"),
                    "missing (a closed-model phase needs users)",
                ),
                Some(LoadModel::Closed) if p.rate.is_some() => self.push(
                    &format!("{path}.rate"),
                    "a closed-model phase has users, not a rate",
                ),
                _ => {}
            }
            if p.users == Some(0) {
                self.push(&format!("{path}.users"), "must be at least 1");
            }
            let mix = p.mix.as_ref().map(|ops| {
                if ops.is_empty() {
                    self.push(&format!("{path}.mix"), "at least one operation is needed");
                }
                ops.iter()
                    .enumerate()
                    .filter_map(|(j, op)| self.op(&format!("{path}.mix[{j}]"), op.clone(), targets))
                    .collect()
            });
            phases.push(Phase {
                name: p.name.clone().unwrap_or_else(|| format!("phase-{}", i + 1)),
                duration: duration.unwrap_or_default(),
                rate,
                users: p.users,
                record: p.record.unwrap_or(true),
                mix,
            });
        }
        if !phases.is_empty() && phases.iter().all(|p| !p.record) {
            self.push(
                "load.phases",
                "every phase has record: false, so nothing would be judged",
            );
        }
        let timeout = match &raw.timeout {
            Some(t) => self
                .located("load.timeout", t, |t| parse_duration(t))
                .unwrap_or_default(),
            None => Duration::from_secs(30),
        };
        let callers = raw.callers.unwrap_or(1);
        if !(1..=250).contains(&callers) {
            self.push(
                "load.callers",
                format!("{callers} must be between 1 and 250 (one loopback address each)"),
            );
        }
        let max_users = raw.max_users.unwrap_or(256);
        if max_users == 0 {
            self.push("load.max_users", "must be at least 1");
        }
        if let Some(t) = raw.threads
            && !(1..=256).contains(&t)
        {
            self.push("load.threads", format!("{t} must be between 1 and 256"));
        }
        let retries = raw.retries.as_ref().and_then(|r| {
            if !(1..=10).contains(&r.attempts) {
                self.push(
                    "load.retries.attempts",
                    format!("{} must be between 1 and 10 (1: no retry)", r.attempts),
                );
            }
            let base = self.located("load.retries.backoff", &r.backoff, |t| parse_duration(t))?;
            Some(Retries {
                attempts: r.attempts,
                base,
            })
        });
        Some(Load {
            model: model?,
            phases,
            max_users,
            threads: raw.threads,
            callers,
            timeout,
            seed: raw.seed.unwrap_or(0x006d_6370_2d73_6c6f),
            retries,
        })
    }

    fn objective(&mut self, path: &str, o: RawObjective, tools: &[String]) -> Option<Objective> {
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
            (
                ObjectiveKind::Latency {
                    percentile: p,
                    below_us: below.as_micros() as u64,
                },
                format!("latency p{p} < {}", l.below.value()),
            )
        } else if let Some(e) = o.error_rate {
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
            (
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
            )
        } else if let Some(a) = o.availability {
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
            (
                ObjectiveKind::Availability {
                    above: above?,
                    slice_ms: slice?.as_millis() as u64,
                    slice_target: slice_target?,
                },
                format!("availability > {}", a.above.value()),
            )
        } else {
            let t = o.throughput?;
            let above = self.located(&format!("{path}.throughput.above"), &t.above, |t| {
                parse_rate(t)
            })?;
            (
                ObjectiveKind::Throughput { above },
                format!("throughput > {}", t.above.value()),
            )
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
}
