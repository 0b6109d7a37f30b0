//! `server_metric`: a figure from a target's own metrics page, read before and after the
//! load. A histogram is judged by a percentile of what it observed in between (its buckets
//! after minus before, estimated as Prometheus' `histogram_quantile` does), with at least
//! `min_count` observations; anything else by its value after the load.

use super::line::{Line, RunFacts};
use crate::maths::{bucket_increase, bucket_quantile};
use crate::prometheus::{self, Sample};
use crate::result::JudgedKind;
use crate::spec::ServerMetric;

fn describe(m: &ServerMetric) -> String {
    [("<", m.below), (">", m.above)]
        .iter()
        .filter_map(|(op, b)| b.map(|b| format!("{op} {b}")))
        .collect::<Vec<_>>()
        .join(" and ")
}

pub fn judge(m: &ServerMetric, facts: RunFacts) -> Line {
    let target = describe(m);
    let failed = |measured: String, detail: Option<String>| Line {
        kind: JudgedKind::ServerMetric,
        target: target.clone(),
        measured,
        target_value: m.below.or(m.above).unwrap_or_default(),
        measured_value: f64::NAN,
        passed: false,
        detail,
    };
    let Some(page) = facts
        .metrics
        .iter()
        .find(|p| p.target == m.target && p.url == m.url)
    else {
        return failed("the metrics page was not read".into(), None);
    };
    let (Some(before), Some(after)) = (&page.before, &page.after) else {
        return failed(
            "the metrics page could not be read".into(),
            page.error.clone(),
        );
    };
    let (before, after) = (prometheus::parse(before), prometheus::parse(after));
    let within = |v: f64| m.below.is_none_or(|b| v < b) && m.above.is_none_or(|a| v > a);
    let Some(p) = m.percentile else {
        return match prometheus::value(&after, &m.name, &m.labels) {
            Some(v) => Line {
                kind: JudgedKind::ServerMetric,
                target,
                measured: format!("{v} after the load"),
                target_value: m.below.or(m.above).unwrap_or_default(),
                measured_value: v,
                passed: within(v),
                detail: None,
            },
            None => failed(missing(&after, m), None),
        };
    };
    let seen = bucket_increase(
        &prometheus::buckets(&before, &m.name, &m.labels),
        &prometheus::buckets(&after, &m.name, &m.labels),
    );
    if seen.is_empty() {
        return failed(missing(&after, m), None);
    }
    let count = seen.last().map_or(0.0, |b| b.1);
    let value = bucket_quantile(&seen, p / 100.0);
    // The buckets the observations fell in (each with its cumulative count).
    let buckets = seen
        .iter()
        .scan(0.0, |below, &(le, c)| {
            let grew = c > *below;
            *below = c;
            Some(grew.then(|| format!("le {le}: {c}")))
        })
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    match value {
        Some(v) => Line {
            kind: JudgedKind::ServerMetric,
            target,
            measured: format!("p{p} = {v:.4} of {count} observed during the load"),
            target_value: m.below.or(m.above).unwrap_or_default(),
            measured_value: v,
            passed: within(v) && count >= m.min_count as f64,
            detail: Some(if count < m.min_count as f64 {
                format!(
                    "{count} observations, fewer than min_count {}; {buckets}",
                    m.min_count
                )
            } else {
                buckets
            }),
        },
        None => failed(
            "nothing observed during the load".into(),
            Some(format!("min_count {}; {buckets}", m.min_count)),
        ),
    }
}

/// Why the page had no such metric: what it has of that name's family, if anything.
fn missing(samples: &[Sample], m: &ServerMetric) -> String {
    let related = samples
        .iter()
        .filter(|s| s.name.starts_with(&m.name))
        .count();
    if related == 0 {
        format!("no {} on the page", m.name)
    } else {
        format!(
            "no {} series with labels {:?} ({related} of that name)",
            m.name, m.labels
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::measure::MetricsPage;

    fn metric(p: Option<f64>, below: Option<f64>, min_count: u64) -> ServerMetric {
        ServerMetric {
            target: "aws".into(),
            url: "beside".into(),
            name: "mcp_sts_assume_role_duration_seconds".into(),
            labels: BTreeMap::from([("outcome".to_owned(), "ok".to_owned())]),
            percentile: p,
            below,
            above: None,
            min_count,
        }
    }

    fn page(before: &str, after: &str) -> MetricsPage {
        let h = |counts: &str| {
            let c: Vec<&str> = counts.split(' ').collect();
            format!(
                "# TYPE mcp_sts_assume_role_duration_seconds histogram\nmcp_sts_assume_role_duration_seconds_bucket{{role=\"r\",outcome=\"ok\",le=\"0.1\"}} {}\nmcp_sts_assume_role_duration_seconds_bucket{{role=\"r\",outcome=\"ok\",le=\"0.25\"}} {}\nmcp_sts_assume_role_duration_seconds_bucket{{role=\"r\",outcome=\"ok\",le=\"+Inf\"}} {}\nmcp_sts_assume_role_duration_seconds_bucket{{role=\"r\",outcome=\"error\",le=\"+Inf\"}} 50\nmcp_requests_in_flight 3\n",
                c[0], c[1], c[2]
            )
        };
        MetricsPage {
            target: "aws".into(),
            url: "beside".into(),
            before: Some(h(before)),
            after: Some(h(after)),
            error: None,
        }
    }

    #[test]
    fn a_histogram_is_judged_by_what_it_observed_during_the_load() {
        // Before: 2 observations; after: 12 (10 during the load, 8 under 0.1 s, 2 to 0.25 s).
        let pages = [page("2 2 2", "10 12 12")];
        let facts = RunFacts {
            metrics: &pages,
            ..RunFacts::default()
        };
        let l = judge(&metric(Some(99.0), Some(0.2), 2), facts);
        // Rank 9.9 of 10 lies in the 0.1-0.25 bucket (2 there): 0.1 + 0.15 * 0.95.
        assert!((l.measured_value - 0.2425).abs() < 1e-9, "{}", l.measured);
        assert!(!l.passed, "p99 above 200 ms");
        assert!(judge(&metric(Some(50.0), Some(0.2), 2), facts).passed);
        let few = judge(&metric(Some(50.0), Some(0.2), 11), facts);
        assert!(!few.passed, "10 observations, 11 required");
        assert!(
            few.detail
                .unwrap_or_default()
                .starts_with("10 observations, fewer than")
        );
        let none = judge(
            &metric(Some(50.0), Some(0.2), 1),
            RunFacts {
                metrics: &[page("10 12 12", "10 12 12")],
                ..RunFacts::default()
            },
        );
        assert_eq!(
            (none.passed, none.measured.as_str()),
            (false, "nothing observed during the load")
        );
    }

    #[test]
    fn a_gauge_is_judged_after_the_load_and_a_missing_page_or_metric_fails() {
        let pages = [page("0 0 0", "1 1 1")];
        let facts = RunFacts {
            metrics: &pages,
            ..RunFacts::default()
        };
        let mut gauge = metric(None, Some(5.0), 1);
        gauge.name = "mcp_requests_in_flight".into();
        gauge.labels.clear();
        assert!(judge(&gauge, facts).passed);
        gauge.below = Some(3.0);
        assert!(!judge(&gauge, facts).passed, "3 is not below 3");
        gauge.name = "absent_metric".into();
        assert_eq!(
            judge(&gauge, facts).measured,
            "no absent_metric on the page"
        );
        let unread = [MetricsPage {
            target: "aws".into(),
            url: "beside".into(),
            error: Some("connection refused".into()),
            ..MetricsPage::default()
        }];
        let l = judge(
            &metric(Some(99.0), Some(0.2), 1),
            RunFacts {
                metrics: &unread,
                ..RunFacts::default()
            },
        );
        assert_eq!(l.detail.as_deref(), Some("connection refused"));
        assert!(!judge(&metric(Some(99.0), Some(0.2), 1), RunFacts::default()).passed);
    }
}
