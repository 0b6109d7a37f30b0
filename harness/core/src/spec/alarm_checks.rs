//! The `alarms:` section: which CloudWatch-style alarms a run is evaluated against, how
//! their periods are scaled for a short run, and what the scenario asserts about them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::raw::Located;
use crate::alarms::{Alarm, AlarmsFile};
use crate::units::{parse_duration, parse_percent};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    /// Path of a cloudwatch_alarms.yaml, relative to the scenario file (then to the working
    /// directory).
    pub file: String,
    /// Evaluate every alarm with this period instead of its own (e.g. `1s` for a short CI
    /// run: 60 s periods become 1 s). The report states the scale.
    #[serde(default)]
    pub period: Option<Located<String>>,
    /// Alarms that must never reach ALARM during the run (names, or `all`).
    #[serde(default)]
    pub must_not_fire: Vec<Located<String>>,
    /// Alarms that must reach ALARM (fault scenarios).
    #[serde(default)]
    pub must_fire: Vec<RawMustFire>,
    /// Multi-window, multi-burn-rate alerts (the SRE workbook's pairs) over the run.
    #[serde(default)]
    pub burn_rate: Option<RawBurnRate>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMustFire {
    pub alarm: Located<String>,
    /// It must reach ALARM within this long after the start of `after` (or of the run).
    pub within: Located<String>,
    /// A phase or a fault; the clock starts when that phase starts or that fault is due
    /// (default: the start of the load).
    #[serde(default)]
    pub after: Option<Located<String>>,
    /// It must also return to OK before the run ends (default true).
    #[serde(default)]
    pub clear: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBurnRate {
    /// The availability objective whose error budget burns, e.g. `99.9%`.
    pub target: Located<String>,
    /// How long one hour of the workbook's windows lasts in this run (default `1h`; `60s`
    /// turns the 1 h / 5 m page pair into 60 s / 5 s).
    #[serde(default)]
    pub hour: Option<Located<String>>,
    /// Which alerts fail the run: `page` (default), `ticket` (page or ticket) or `none`
    /// (reported only).
    #[serde(default)]
    pub fail_on: Option<Located<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MustFire {
    pub alarm: String,
    pub within: Duration,
    pub after: Option<String>,
    pub clear: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    Page,
    Ticket,
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BurnRate {
    /// 1 - target.
    pub budget: f64,
    pub target: f64,
    /// Run seconds per workbook second (1.0 = real time).
    pub scale: f64,
    pub fail_on: FailOn,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChecks {
    pub file: PathBuf,
    pub alarms: Vec<Alarm>,
    /// The period every alarm is evaluated with, when the scenario scales them.
    pub period: Option<Duration>,
    pub must_not_fire: Vec<String>,
    pub must_fire: Vec<MustFire>,
    pub burn_rate: Option<BurnRate>,
}

/// A path written in a scenario: relative to the scenario file when it exists there, else
/// to the working directory.
pub(super) fn resolve(scenario_file: &Path, written: &str) -> PathBuf {
    let file = PathBuf::from(written);
    if file.is_relative() {
        scenario_file
            .parent()
            .map(|p| p.join(&file))
            .filter(|p| p.exists())
            .unwrap_or(file)
    } else {
        file
    }
}

impl super::validate::Validator {
    pub(super) fn alarm_checks(
        &mut self,
        scenario_file: &Path,
        raw: RawAlarms,
        phases: &[String],
    ) -> Option<AlarmChecks> {
        let file = resolve(scenario_file, &raw.file);
        let alarms = match AlarmsFile::load(&file) {
            Ok(f) => f.alarms,
            Err(e) => {
                self.push("alarms.file", e);
                return None;
            }
        };
        let names: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
        let period = raw.period.as_ref().and_then(|p| {
            let d = self.located("alarms.period", p, |t| parse_duration(t))?;
            if d.as_millis() < 1000 || d.as_millis() % 1000 != 0 {
                self.at(
                    "alarms.period",
                    p,
                    "must be a whole number of seconds (1s or more)",
                );
                return None;
            }
            Some(d)
        });
        let mut must_not_fire = Vec::new();
        for (i, n) in raw.must_not_fire.iter().enumerate() {
            match n.value().as_str() {
                "all" => must_not_fire.extend(names.iter().map(|s| (*s).to_owned())),
                name if names.contains(&name) => must_not_fire.push(name.to_owned()),
                other => self.at(
                    &format!("alarms.must_not_fire[{i}]"),
                    n,
                    format!(
                        "{other:?} is not an alarm in {} ({})",
                        file.display(),
                        names.join(", ")
                    ),
                ),
            }
        }
        let mut must_fire = Vec::new();
        for (i, m) in raw.must_fire.iter().enumerate() {
            let path = format!("alarms.must_fire[{i}]");
            if !names.contains(&m.alarm.value().as_str()) {
                self.at(
                    &format!("{path}.alarm"),
                    &m.alarm,
                    format!(
                        "{:?} is not an alarm in {} ({})",
                        m.alarm.value(),
                        file.display(),
                        names.join(", ")
                    ),
                );
            }
            if must_not_fire.contains(m.alarm.value()) {
                self.at(
                    &format!("{path}.alarm"),
                    &m.alarm,
                    "is also in must_not_fire",
                );
            }
            if let Some(after) = &m.after
                && !phases.contains(after.value())
            {
                self.at(
                    &format!("{path}.after"),
                    after,
                    format!(
                        "{:?} is not a phase or a fault ({})",
                        after.value(),
                        phases.join(", ")
                    ),
                );
            }
            let within = self.located(&format!("{path}.within"), &m.within, |t| parse_duration(t));
            if let Some(within) = within {
                must_fire.push(MustFire {
                    alarm: m.alarm.value().clone(),
                    within,
                    after: m.after.as_ref().map(|a| a.value().clone()),
                    clear: m.clear.unwrap_or(true),
                });
            }
        }
        let burn_rate = raw.burn_rate.and_then(|b| {
            let target =
                self.located("alarms.burn_rate.target", &b.target, |t| parse_percent(t))?;
            if !(target > 0.0 && target < 1.0) {
                self.at(
                    "alarms.burn_rate.target",
                    &b.target,
                    "must be between 0% and 100% (exclusive)",
                );
                return None;
            }
            let hour = self.duration_or("alarms.burn_rate.hour", b.hour.as_ref(), 3600.0);
            if hour.is_zero() {
                self.push("alarms.burn_rate.hour", "must be longer than 0");
                return None;
            }
            let fail_on = match b.fail_on.as_ref().map(|f| (f, f.value().as_str())) {
                None | Some((_, "page")) => FailOn::Page,
                Some((_, "ticket")) => FailOn::Ticket,
                Some((_, "none")) => FailOn::None,
                Some((f, other)) => {
                    self.at(
                        "alarms.burn_rate.fail_on",
                        f,
                        format!("{other:?} is not one of page, ticket, none"),
                    );
                    FailOn::Page
                }
            };
            Some(BurnRate {
                budget: 1.0 - target,
                target,
                scale: hour.as_secs_f64() / 3600.0,
                fail_on,
            })
        });
        if must_not_fire.is_empty() && must_fire.is_empty() && burn_rate.is_none() {
            self.push(
                "alarms",
                "asserts nothing: give must_not_fire, must_fire or burn_rate",
            );
        }
        Some(AlarmChecks {
            file,
            alarms,
            period,
            must_not_fire,
            must_fire,
            burn_rate,
        })
    }
}
