//! A run's record as a file (`record.json`): everything [`RunRecord`] holds, every histogram
//! exact (HdrHistogram's V2 deflate encoding, base64), so that another process can judge
//! the run again or add it to other shards' records (`mcp-slo merge`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{
    FaultWindow, Footprint, ListingTotals, Measurements, MetricsPage, Outcomes, Recorder,
    RunRecord, Second, ToolMeasure, ToolSecond,
};
use crate::maths::{decode_histogram, encode_histogram};

pub const RECORD_SCHEMA: &str = "mcp-slo/record/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFile {
    pub schema: String,
    /// When the load's clock started, µs since the Unix epoch.
    pub started_at_unix_us: u64,
    pub duration_s: f64,
    pub workers: u32,
    pub offered_calls: u64,
    pub offered_rate: f64,
    pub pacer: String,
    pub recorded_window: (usize, usize),
    pub recorded_seconds: f64,
    pub per_tool: BTreeMap<String, ToolFile>,
    pub seconds: Vec<SecondFile>,
    pub late_starts: u64,
    pub max_lateness_us: u64,
    pub pacer_lateness: String,
    pub start_lateness: String,
    pub last_recorded_end_us: u64,
    pub sessions_reopened: u64,
    /// The stall meter's wake-up lateness (empty in records written before it was).
    #[serde(default)]
    pub machine_stalls: String,
    pub faults: Vec<FaultWindow>,
    pub metrics_pages: Vec<MetricsPage>,
    pub footprints: Vec<Footprint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFile {
    pub latency: String,
    pub outcomes: Outcomes,
    pub first_outcomes: Outcomes,
    pub retries: u64,
    pub listing: ListingTotals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFile {
    pub offered: u64,
    pub outcomes: Outcomes,
    pub latency: String,
    pub per_tool: BTreeMap<String, (Outcomes, String)>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stall_us: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("schema {0:?} is not {RECORD_SCHEMA}")]
    Schema(String),
    #[error("{0}: not an HdrHistogram in V2 encoding")]
    Histogram(String),
}

impl RecordFile {
    pub fn of(run: &RunRecord) -> RecordFile {
        let m = &run.measurements;
        let r = &m.recorder;
        RecordFile {
            schema: RECORD_SCHEMA.to_owned(),
            started_at_unix_us: run
                .started_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64),
            duration_s: run.duration.as_secs_f64(),
            workers: run.workers,
            offered_calls: run.offered_calls,
            offered_rate: run.offered_rate,
            pacer: run.pacer.clone(),
            recorded_window: m.recorded_window,
            recorded_seconds: m.recorded_seconds,
            per_tool: r
                .per_tool
                .iter()
                .map(|(tool, t)| {
                    let file = ToolFile {
                        latency: encode_histogram(&t.latency),
                        outcomes: t.outcomes,
                        first_outcomes: t.first_outcomes,
                        retries: t.retries,
                        listing: t.listing,
                    };
                    (tool.clone(), file)
                })
                .collect(),
            seconds: r
                .seconds
                .iter()
                .map(|s| SecondFile {
                    offered: s.offered,
                    outcomes: s.outcomes,
                    latency: encode_histogram(&s.latency),
                    per_tool: s
                        .per_tool
                        .iter()
                        .map(|(tool, t)| (tool.clone(), (t.outcomes, encode_histogram(&t.latency))))
                        .collect(),
                    stall_us: s.stall_us,
                })
                .collect(),
            late_starts: r.late_starts,
            max_lateness_us: r.max_lateness_us,
            pacer_lateness: encode_histogram(&r.pacer_lateness),
            start_lateness: encode_histogram(&r.start_lateness),
            last_recorded_end_us: r.last_recorded_end_us,
            sessions_reopened: r.sessions_reopened,
            machine_stalls: encode_histogram(&r.machine_stalls),
            faults: run.faults.clone(),
            metrics_pages: run.metrics_pages.clone(),
            footprints: run.footprints.clone(),
        }
    }

    /// The record again, every histogram as it was.
    pub fn record(&self) -> Result<RunRecord, RecordError> {
        if self.schema != RECORD_SCHEMA {
            return Err(RecordError::Schema(self.schema.clone()));
        }
        let mut per_tool = BTreeMap::new();
        for (tool, t) in &self.per_tool {
            let measure = ToolMeasure {
                latency: histogram(&t.latency, tool)?,
                outcomes: t.outcomes,
                first_outcomes: t.first_outcomes,
                retries: t.retries,
                listing: t.listing,
            };
            per_tool.insert(tool.clone(), measure);
        }
        let mut seconds = Vec::with_capacity(self.seconds.len());
        for (i, s) in self.seconds.iter().enumerate() {
            let mut tools = BTreeMap::new();
            for (tool, (outcomes, latency)) in &s.per_tool {
                let latency = histogram(latency, &format!("seconds[{i}].per_tool.{tool}"))?;
                let outcomes = *outcomes;
                tools.insert(tool.clone(), ToolSecond { outcomes, latency });
            }
            seconds.push(Second {
                offered: s.offered,
                outcomes: s.outcomes,
                latency: histogram(&s.latency, &format!("seconds[{i}]"))?,
                per_tool: tools,
                stall_us: s.stall_us,
            });
        }
        let recorder = Recorder {
            per_tool,
            seconds,
            late_starts: self.late_starts,
            max_lateness_us: self.max_lateness_us,
            pacer_lateness: histogram(&self.pacer_lateness, "pacer_lateness")?,
            start_lateness: histogram(&self.start_lateness, "start_lateness")?,
            last_recorded_end_us: self.last_recorded_end_us,
            sessions_reopened: self.sessions_reopened,
            machine_stalls: if self.machine_stalls.is_empty() {
                super::growing_histogram(2)
            } else {
                histogram(&self.machine_stalls, "machine_stalls")?
            },
        };
        Ok(RunRecord {
            measurements: Measurements {
                recorder,
                recorded_window: self.recorded_window,
                recorded_seconds: self.recorded_seconds,
            },
            started_at: SystemTime::UNIX_EPOCH + Duration::from_micros(self.started_at_unix_us),
            duration: Duration::from_secs_f64(self.duration_s.max(0.0)),
            workers: self.workers,
            offered_calls: self.offered_calls,
            offered_rate: self.offered_rate,
            pacer: self.pacer.clone(),
            faults: self.faults.clone(),
            metrics_pages: self.metrics_pages.clone(),
            footprints: self.footprints.clone(),
        })
    }
}

/// A histogram as encoded, free to grow when others are added to it.
fn histogram(text: &str, what: &str) -> Result<Histogram<u64>, RecordError> {
    let mut h = decode_histogram(text).ok_or_else(|| RecordError::Histogram(what.to_owned()))?;
    h.auto(true);
    Ok(h)
}
