//! Validation: raw scenario → typed model, every problem collected with its path and, where
//! the value was written, its line and column.
//!
//! Here: the [`Validator`] and its helpers, the scenario's top level, the boundaries file,
//! a mix's operations and the baseline. The load is in `validate/load.rs`, objectives in
//! `validate/objective.rs`; targets, probes and alarms beside their types.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mcp_slo_vocab::{Boundaries, Tier};

use super::raw::{self, Located, RawScenario};
use super::*;
use crate::units::{parse_duration, parse_percent};

mod load;
mod objective;

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
        self.version(&raw.version);
        let name = self.scenario_name(&raw.name);
        let targets = self.targets(raw.targets);
        let boundaries = raw.boundaries.and_then(|b| self.boundaries(file, b));
        let target_names: Vec<String> = targets.keys().cloned().collect();
        // Whether the scenario has a load as written (even one with errors in it).
        let has_load = raw.load.is_some();
        if raw.load.is_none() && raw.probes.is_none() {
            self.push("load", "missing (a scenario needs a load, probes, or both)");
        }
        let load = match raw.load {
            Some(l) => self.load(l, &target_names),
            None => Some(load::none()),
        };
        let mix = self.mix(raw.mix, has_load, &target_names);
        let tools = called_tools(&mix, load.as_ref());
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
        let proxies = self.proxies(raw.proxies);
        if !raw.faults.is_empty() && !has_load {
            self.push(
                "faults",
                "faults happen during a load; this scenario has none",
            );
        }
        let faults = match &load {
            Some(l) => self.faults(raw.faults, l, &targets, &proxies),
            None => Vec::new(),
        };
        let fault_names: Vec<&str> = faults.iter().map(|f| f.name.as_str()).collect();
        let starts: Vec<String> = phase_names
            .iter()
            .cloned()
            .chain(fault_names.iter().map(|f| f.to_string()))
            .collect();
        let alarms = raw.alarms.and_then(|a| self.alarm_checks(file, a, &starts));
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
            .filter_map(|(i, o)| {
                self.objective(&format!("slo[{i}]"), o, &tools, &fault_names, &target_names)
            })
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
            faults,
            proxies,
        })
    }

    fn version(&mut self, version: &Located<String>) {
        if version.value() != VERSION {
            self.at(
                "version",
                version,
                format!(
                    "{:?} is not supported (expected {VERSION:?})",
                    version.value()
                ),
            );
        }
    }

    /// The scenario's name, trimmed: letters, digits, `-` and `_`.
    fn scenario_name(&mut self, raw: &Located<String>) -> String {
        let name = raw.value().trim().to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.at(
                "name",
                raw,
                format!("{name:?} must be non-empty and use only letters, digits, - and _"),
            );
        }
        name
    }

    fn targets(&mut self, raw: BTreeMap<String, raw::RawTarget>) -> BTreeMap<String, Target> {
        if raw.is_empty() {
            self.push("targets", "at least one target is needed");
        }
        let mut targets = BTreeMap::new();
        for (tname, t) in raw {
            if let Some(target) = self.target(&tname, t) {
                targets.insert(tname, target);
            }
        }
        self.same_servers(&mut targets);
        targets
    }

    /// The scenario's own mix: needed with a load, refused without one.
    fn mix(&mut self, raw: Vec<raw::RawOp>, has_load: bool, targets: &[String]) -> Vec<Op> {
        if has_load && raw.is_empty() {
            self.push("mix", "at least one operation is needed");
        }
        if !has_load && !raw.is_empty() {
            self.push("mix", "there is no load to run it");
        }
        raw.into_iter()
            .enumerate()
            .filter_map(|(i, op)| self.op(&format!("mix[{i}]"), op, targets))
            .collect()
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
}

/// The tools the mixes call (the scenario's and each phase's): what objectives may name.
fn called_tools(mix: &[Op], load: Option<&Load>) -> Vec<String> {
    let mut tools: Vec<String> = mix.iter().map(|o| o.tool.clone()).collect();
    for phase in load.iter().flat_map(|l| &l.phases) {
        tools.extend(phase.mix.iter().flatten().map(|o| o.tool.clone()));
    }
    tools
}
