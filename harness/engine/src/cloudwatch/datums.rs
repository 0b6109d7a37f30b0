//! Points as PutMetricData datums and requests within the API's limits.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_cloudwatch::types::MetricDatum;

use super::{MetricPoint, MetricUnit, tool_dimension};

/// PutMetricData's limit on datums per request.
pub const MAX_DATUMS_PER_REQUEST: usize = 1000;
/// Datums per request actually sent: below the limit because moto's time per request grows
/// with the square of its size (measured with moto 5.2.5: 100 datums 0.15 s, 250 0.5 s,
/// 1000 5.3 s), so 2,000 points take ~4 s instead of ~11 s; AWS bills requests at a rate
/// that makes the extra few irrelevant for a run's metrics.
pub const DATUMS_PER_REQUEST: usize = 250;
/// PutMetricData's limit on a datum's value list.
pub const MAX_VALUES_PER_DATUM: usize = 150;
/// PutMetricData requests are at most 1 MB; batches are cut below that with room to spare.
const MAX_REQUEST_BYTES: usize = 900_000;

/// Points grouped into datums: one per (metric, tool, unit, timestamp, resolution), its
/// distinct values with their counts, split at [`MAX_VALUES_PER_DATUM`].
pub(super) fn datums(points: &[MetricPoint]) -> Vec<MetricDatum> {
    type Key<'a> = (&'a str, Option<&'a str>, MetricUnit, SystemTime, i32);
    let mut groups: BTreeMap<Key<'_>, Vec<(f64, f64)>> = BTreeMap::new();
    for p in points {
        let resolution = if p.period_s < 60 { 1 } else { 60 };
        let key = (
            p.metric.as_str(),
            p.tool.as_deref(),
            p.unit,
            p.timestamp,
            resolution,
        );
        let values = groups.entry(key).or_default();
        match values
            .iter_mut()
            .find(|(v, _)| v.to_bits() == p.value.to_bits())
        {
            Some((_, count)) => *count += 1.0,
            None => values.push((p.value, 1.0)),
        }
    }
    let mut out = Vec::new();
    for ((metric, tool, unit, timestamp, resolution), values) in groups {
        for chunk in values.chunks(MAX_VALUES_PER_DATUM) {
            out.push(
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(tool.map(|t| vec![tool_dimension(t)]))
                    .timestamp(timestamp.into())
                    .set_values(Some(chunk.iter().map(|(v, _)| *v).collect()))
                    .set_counts(Some(chunk.iter().map(|(_, c)| *c).collect()))
                    .unit(unit.standard())
                    .storage_resolution(resolution)
                    .build(),
            );
        }
    }
    out
}

/// Datums cut into requests of at most [`DATUMS_PER_REQUEST`] and about
/// [`MAX_REQUEST_BYTES`] of form-encoded body.
pub(super) fn batches(datums: Vec<MetricDatum>) -> Vec<Vec<MetricDatum>> {
    let mut out: Vec<Vec<MetricDatum>> = Vec::new();
    let mut bytes = 0;
    for datum in datums {
        let size = encoded_size(&datum);
        match out.last_mut() {
            Some(batch)
                if batch.len() < DATUMS_PER_REQUEST && bytes + size <= MAX_REQUEST_BYTES =>
            {
                batch.push(datum);
                bytes += size;
            }
            _ => {
                out.push(vec![datum]);
                bytes = size;
            }
        }
    }
    out
}

/// An upper estimate of a datum's share of a PutMetricData query-protocol body:
/// `MetricData.member.1000.Values.member.150=<value>&` and so on, per field.
pub(super) fn encoded_size(datum: &MetricDatum) -> usize {
    let name = datum.metric_name().map_or(0, str::len);
    let dims: usize = datum
        .dimensions()
        .iter()
        .map(|d| 120 + 3 * (d.name().map_or(0, str::len) + d.value().map_or(0, str::len)))
        .sum();
    300 + 3 * name + dims + 110 * datum.values().len()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn point(metric: &str, tool: Option<&str>, value: f64, period_s: u32) -> MetricPoint {
        MetricPoint {
            metric: metric.into(),
            tool: tool.map(str::to_owned),
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            value,
            unit: MetricUnit::Milliseconds,
            period_s,
        }
    }

    #[test]
    fn points_sharing_a_key_travel_as_one_value_list_with_counts() {
        let points = [
            point("latency", Some("s3_read"), 5.0, 1),
            point("latency", Some("s3_read"), 7.0, 1),
            point("latency", Some("s3_read"), 5.0, 1),
            point("latency", Some("rds_query"), 5.0, 60),
        ];
        let d = datums(&points);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].dimensions()[0].value(), Some("rds_query"));
        assert_eq!(d[0].storage_resolution(), Some(60));
        assert_eq!(d[1].values(), [5.0, 7.0]);
        assert_eq!(d[1].counts(), [2.0, 1.0]);
        assert_eq!(d[1].storage_resolution(), Some(1));
    }

    #[test]
    fn value_lists_and_requests_stay_within_the_api_limits() {
        let many: Vec<MetricPoint> = (0..200)
            .map(|v| point("m", None, f64::from(v), 1))
            .collect();
        let d = datums(&many);
        assert_eq!(
            d.iter().map(|d| d.values().len()).collect::<Vec<_>>(),
            [150, 50]
        );
        let singles = (0..2500).map(|v| {
            MetricDatum::builder()
                .metric_name("m")
                .value(f64::from(v))
                .build()
        });
        let sizes: Vec<usize> = batches(singles.collect()).iter().map(Vec::len).collect();
        assert_eq!(sizes, [250; 10]);
        const { assert!(DATUMS_PER_REQUEST <= MAX_DATUMS_PER_REQUEST) };
        let full = (0..300).map(|_| datums(&many).remove(0));
        let cut = batches(full.collect());
        assert!(cut.len() > 1, "{} batches", cut.len());
        assert!(
            cut.iter()
                .all(|b| b.iter().map(encoded_size).sum::<usize>() <= MAX_REQUEST_BYTES)
        );
    }
}
