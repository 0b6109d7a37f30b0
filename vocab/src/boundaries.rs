//! `deployment_boundaries.yaml`: the limits each tier promises to hold.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{ConfigError, Issues, Unknown, parse_yaml, positive_ms, read_file};

#[derive(Debug, Deserialize)]
struct RawFile {
    boundaries: Option<RawBoundaries>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawBoundaries {
    local: Option<RawTierLimits>,
    aws_managed: Option<RawTierLimits>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawTierLimits {
    max_inflight_requests: Option<i64>,
    rate_limit_per_second: Option<i64>,
    /// Extension: a per-caller share of the tier's rate (defaults to the whole rate).
    rate_limit_per_caller_per_second: Option<i64>,
    timeout_ms: Option<i64>,
    max_concurrent: Option<i64>,
    iam_role_max_duration: Option<i64>,
    /// Extension: the largest request body accepted, in bytes (default 1 MiB).
    max_request_body_bytes: Option<i64>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// The limits of one tier, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLimits {
    pub max_inflight_requests: NonZeroUsize,
    pub rate_limit_per_second: NonZeroU32,
    pub rate_limit_per_caller_per_second: NonZeroU32,
    pub timeout: Duration,
    pub max_concurrent: NonZeroUsize,
    pub iam_role_max_duration: Option<Duration>,
    pub max_request_body_bytes: NonZeroUsize,
}

/// Both tiers' limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundaries {
    pub local: TierLimits,
    pub aws_managed: TierLimits,
}

const DEFAULT_BODY_BYTES: usize = 1024 * 1024;

impl Boundaries {
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml(file, &read_file(file)?)
    }

    pub fn from_yaml(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = parse_yaml(file, text)?;
        let mut issues = Issues::default();
        issues.unknown("", &raw.unknown);
        let Some(b) = raw.boundaries else {
            issues.push("boundaries", "missing");
            return Err(issues.fail(file));
        };
        issues.unknown("boundaries", &b.unknown);
        let local = tier(&mut issues, "boundaries.local", b.local);
        let aws = tier(&mut issues, "boundaries.aws_managed", b.aws_managed);
        match (local, aws) {
            (Some(local), Some(aws_managed)) => {
                issues.finish(file, Boundaries { local, aws_managed })
            }
            _ => Err(issues
                .finish(file, ())
                .err()
                .unwrap_or_else(|| ConfigError::Parse {
                    file: file.to_path_buf(),
                    message: "incomplete boundaries".into(),
                })),
        }
    }
}

fn tier(issues: &mut Issues, path: &str, raw: Option<RawTierLimits>) -> Option<TierLimits> {
    let Some(raw) = raw else {
        issues.push(path, "missing");
        return None;
    };
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
    let mut positive = |key: &str, value: Option<i64>, required: bool| -> Option<u64> {
        match value {
            None if required => {
                issues.push(format!("{path}.{key}"), "missing");
                None
            }
            None => None,
            Some(v) if v <= 0 || v > u32::MAX as i64 => {
                issues.push(
                    format!("{path}.{key}"),
                    format!("must be a positive integer below 2^32, got {v}"),
                );
                None
            }
            Some(v) => Some(v as u64),
        }
    };
    let inflight = positive("max_inflight_requests", raw.max_inflight_requests, true);
    let rate = positive("rate_limit_per_second", raw.rate_limit_per_second, true);
    let per_caller = positive(
        "rate_limit_per_caller_per_second",
        raw.rate_limit_per_caller_per_second,
        false,
    );
    let timeout = positive("timeout_ms", raw.timeout_ms, true);
    let concurrent = positive("max_concurrent", raw.max_concurrent, true);
    let iam = positive("iam_role_max_duration", raw.iam_role_max_duration, false);
    let body = positive("max_request_body_bytes", raw.max_request_body_bytes, false);
    if let (Some(rate), Some(per_caller)) = (rate, per_caller)
        && per_caller > rate
    {
        issues.push(
            format!("{path}.rate_limit_per_caller_per_second"),
            format!("{per_caller} exceeds the tier's rate_limit_per_second {rate}"),
        );
    }
    if let (Some(inflight), Some(concurrent)) = (inflight, concurrent)
        && concurrent > inflight
    {
        issues.push(
            format!("{path}.max_concurrent"),
            format!(
                "{concurrent} exceeds max_inflight_requests {inflight}: calls could never reach it"
            ),
        );
    }
    if issues.len() > before {
        return None;
    }
    let rate = NonZeroU32::new(rate? as u32)?;
    Some(TierLimits {
        max_inflight_requests: NonZeroUsize::new(inflight? as usize)?,
        rate_limit_per_second: rate,
        rate_limit_per_caller_per_second: per_caller
            .and_then(|v| NonZeroU32::new(v as u32))
            .unwrap_or(rate),
        timeout: positive_ms(timeout?)?,
        max_concurrent: NonZeroUsize::new(concurrent? as usize)?,
        iam_role_max_duration: iam.map(Duration::from_secs),
        max_request_body_bytes: NonZeroUsize::new(body.map_or(DEFAULT_BODY_BYTES, |b| b as usize))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "boundaries:
  local:
    max_inflight_requests: 100
    rate_limit_per_second: 100
    timeout_ms: 5000
    max_concurrent: 10
  aws_managed:
    max_inflight_requests: 500
    rate_limit_per_second: 1000
    timeout_ms: 10000
    max_concurrent: 50
    iam_role_max_duration: 3600
";

    fn load(text: &str) -> Result<Boundaries, ConfigError> {
        Boundaries::from_yaml(Path::new("b.yaml"), text)
    }

    #[test]
    fn the_seed_boundaries_load() {
        let b = load(GOOD).unwrap();
        assert_eq!(b.local.max_inflight_requests.get(), 100);
        assert_eq!(b.local.rate_limit_per_caller_per_second.get(), 100);
        assert_eq!(b.local.timeout, Duration::from_millis(5000));
        assert_eq!(b.aws_managed.max_concurrent.get(), 50);
        assert_eq!(
            b.aws_managed.iam_role_max_duration,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(b.local.iam_role_max_duration, None);
    }

    #[test]
    fn every_problem_is_reported_with_its_path_and_value() {
        let bad = GOOD
            .replace("max_inflight_requests: 100", "max_inflight_requests: 0")
            .replace("timeout_ms: 10000", "timeout_ms: -5\n    burst: 3");
        let err = load(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "b.yaml: 3 problems\n  boundaries.local.max_inflight_requests: must be a positive integer below 2^32, got 0\n  boundaries.aws_managed.burst: unknown field\n  boundaries.aws_managed.timeout_ms: must be a positive integer below 2^32, got -5"
        );
    }

    #[test]
    fn concurrency_above_inflight_is_refused() {
        let bad = GOOD.replace("max_concurrent: 10", "max_concurrent: 101");
        let err = load(&bad).unwrap_err().to_string();
        assert!(
            err.contains("boundaries.local.max_concurrent: 101 exceeds max_inflight_requests 100"),
            "{err}"
        );
    }

    #[test]
    fn a_type_error_names_its_line() {
        let bad = GOOD.replace("timeout_ms: 5000", "timeout_ms: five");
        let err = load(&bad).unwrap_err().to_string();
        assert!(err.starts_with("b.yaml: "), "{err}");
        assert!(err.contains("line 5") || err.contains("5:"), "{err}");
    }
}
