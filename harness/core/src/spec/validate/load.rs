//! The `load:` section: the model, its phases (each with a rate or users, and maybe a mix of
//! its own), and the settings of the whole run.

use std::time::Duration;

use super::Validator;
use crate::spec::raw::{Located, RawLoad, RawOp, RawPhase, RawRetries};
use crate::spec::{Load, LoadModel, Op, Phase, Retries};
use crate::units::{parse_duration, parse_rate};

/// The load of a scenario that only runs probes: no phases.
pub(super) fn none() -> Load {
    Load {
        model: LoadModel::Open,
        phases: Vec::new(),
        max_users: 1,
        threads: None,
        callers: 1,
        first_caller: 0,
        timeout: Duration::from_secs(30),
        seed: 0,
        retries: None,
    }
}

impl Validator {
    pub(super) fn load(&mut self, raw: RawLoad, targets: &[String]) -> Option<Load> {
        let model = self.load_model(&raw.model);
        if raw.phases.is_empty() {
            self.push("load.phases", "at least one phase is needed");
        }
        let phases: Vec<Phase> = raw
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| self.phase(i, p, model, targets))
            .collect();
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
        let retries = raw.retries.as_ref().and_then(|r| self.retries(r));
        Some(Load {
            model: model?,
            phases,
            max_users,
            threads: raw.threads,
            callers,
            first_caller: 0,
            timeout,
            seed: raw.seed.unwrap_or(0x006d_6370_2d73_6c6f),
            retries,
        })
    }

    fn load_model(&mut self, model: &Located<String>) -> Option<LoadModel> {
        match model.value().as_str() {
            "open" => Some(LoadModel::Open),
            "closed" => Some(LoadModel::Closed),
            other => {
                self.at(
                    "load.model",
                    model,
                    format!("{other:?} is not a load model (open, closed)"),
                );
                None
            }
        }
    }

    fn phase(
        &mut self,
        i: usize,
        p: &RawPhase,
        model: Option<LoadModel>,
        targets: &[String],
    ) -> Phase {
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
        self.rate_or_users(&path, p, model);
        if p.users == Some(0) {
            self.push(&format!("{path}.users"), "must be at least 1");
        }
        let mix = p
            .mix
            .as_ref()
            .map(|ops| self.phase_mix(&path, ops, targets));
        Phase {
            name: p.name.clone().unwrap_or_else(|| format!("phase-{}", i + 1)),
            duration: duration.unwrap_or_default(),
            rate,
            users: p.users,
            record: p.record.unwrap_or(true),
            mix,
        }
    }

    /// An open-model phase has a rate, a closed-model one users.
    fn rate_or_users(&mut self, path: &str, p: &RawPhase, model: Option<LoadModel>) {
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
    }

    /// A phase's own mix (fault injection), instead of the scenario's.
    fn phase_mix(&mut self, path: &str, ops: &[RawOp], targets: &[String]) -> Vec<Op> {
        if ops.is_empty() {
            self.push(&format!("{path}.mix"), "at least one operation is needed");
        }
        ops.iter()
            .enumerate()
            .filter_map(|(j, op)| self.op(&format!("{path}.mix[{j}]"), op.clone(), targets))
            .collect()
    }

    fn retries(&mut self, r: &RawRetries) -> Option<Retries> {
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
    }
}
