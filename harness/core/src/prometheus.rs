//! A server's metrics page in the Prometheus text exposition format, read into samples:
//! `name{label="value",...} value [timestamp]`. Comments, blank lines and lines that do not
//! parse are skipped (a page is judged by the samples it names, not refused whole).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    /// Whether every one of `wanted` is among its labels.
    pub fn has(&self, wanted: &BTreeMap<String, String>) -> bool {
        wanted.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(line)
        .collect()
}

fn line(l: &str) -> Option<Sample> {
    let name_end = l.find(['{', ' ', '\t'])?;
    let name = &l[..name_end];
    if name.is_empty() {
        return None;
    }
    let mut rest = &l[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(body) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(body)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `k="v",k2="v2"}` → the labels and what follows the `}`.
fn label_set(mut s: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_owned();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.insert(key, value);
        s = &s[end + 1..];
    }
}

/// A histogram's cumulative buckets `(le, count)` summed over the series of `name` that
/// carry `labels`, in order of `le`; empty when there are none.
pub fn buckets(
    samples: &[Sample],
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Vec<(f64, f64)> {
    let bucket = format!("{name}_bucket");
    let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name == bucket && s.has(labels)) {
        let Some(le) = s.labels.get("le").and_then(|v| match v.as_str() {
            "+Inf" => Some(f64::INFINITY),
            v => v.parse::<f64>().ok(),
        }) else {
            continue;
        };
        let slot = by_le.entry(le.to_bits()).or_insert((le, 0.0));
        slot.1 += s.value;
    }
    let mut out: Vec<(f64, f64)> = by_le.into_values().collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The sum of the samples named `name` that carry `labels`; `None` when there is none.
pub fn value(samples: &[Sample], name: &str, labels: &BTreeMap<String, String>) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name && s.has(labels))
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP mcp_sts_assume_role_duration_seconds AssumeRole latency.
# TYPE mcp_sts_assume_role_duration_seconds histogram
mcp_sts_assume_role_duration_seconds_bucket{role="agent-s3-read",outcome="ok",le="0.05"} 3
mcp_sts_assume_role_duration_seconds_bucket{role="agent-s3-read",outcome="ok",le="0.1"} 5
mcp_sts_assume_role_duration_seconds_bucket{role="agent-s3-read",outcome="ok",le="+Inf"} 6
mcp_sts_assume_role_duration_seconds_bucket{role="agent-rds",outcome="ok",le="0.05"} 1
mcp_sts_assume_role_duration_seconds_bucket{role="agent-rds",outcome="ok",le="0.1"} 1
mcp_sts_assume_role_duration_seconds_bucket{role="agent-rds",outcome="ok",le="+Inf"} 1
mcp_sts_assume_role_duration_seconds_count{role="agent-rds",outcome="ok"} 1
mcp_requests_in_flight 7
odd{path="a \"quoted\" \\ value",x="1"} 2.5 1700000000000
not a sample line
"#;

    #[test]
    fn samples_labels_and_buckets_are_read_and_summed_across_series() {
        let samples = parse(PAGE);
        assert_eq!(samples.len(), 9, "{samples:#?}");
        let odd = samples.iter().find(|s| s.name == "odd").unwrap();
        assert_eq!(odd.labels["path"], "a \"quoted\" \\ value");
        assert_eq!(odd.value, 2.5);
        let ok: BTreeMap<String, String> = [("outcome".into(), "ok".into())].into();
        assert_eq!(
            buckets(&samples, "mcp_sts_assume_role_duration_seconds", &ok),
            [(0.05, 4.0), (0.1, 6.0), (f64::INFINITY, 7.0)]
        );
        let rds: BTreeMap<String, String> = [("role".into(), "agent-rds".into())].into();
        assert_eq!(
            value(&samples, "mcp_sts_assume_role_duration_seconds_count", &rds),
            Some(1.0)
        );
        assert_eq!(
            value(&samples, "mcp_requests_in_flight", &BTreeMap::new()),
            Some(7.0)
        );
        assert_eq!(value(&samples, "absent", &BTreeMap::new()), None);
    }

    #[test]
    fn a_quantile_of_what_was_observed_in_between_is_estimated_as_prometheus_does() {
        use crate::maths::{bucket_increase, bucket_quantile};
        let after = [(0.05, 5.0), (0.1, 8.0), (f64::INFINITY, 9.0)];
        let before = [(0.05, 1.0), (0.1, 2.0), (f64::INFINITY, 2.0)];
        let seen = bucket_increase(&before, &after);
        assert_eq!(seen, [(0.05, 4.0), (0.1, 6.0), (f64::INFINITY, 7.0)]);
        let q = |q: f64| bucket_quantile(&seen, q).unwrap();
        // Rank 3.5 of 7 falls in the first bucket (4 observations from 0 to 0.05).
        assert!((q(0.5) - 0.04375).abs() < 1e-12, "{}", q(0.5));
        // Rank 5.6 in the second: 1.6 of its 2 observations, 0.05 to 0.1.
        assert!((q(0.8) - 0.09).abs() < 1e-12, "{}", q(0.8));
        // Rank 6.93 in +Inf: the highest finite bound.
        assert_eq!(q(0.99), 0.1);
        assert_eq!(
            bucket_quantile(&bucket_increase(&after, &after), 0.99),
            None
        );
        assert_eq!(bucket_quantile(&[], 0.99), None);
        // The server restarted in between (its counts went down): all of `after` is new.
        assert_eq!(bucket_increase(&after, &before), before);
    }
}
