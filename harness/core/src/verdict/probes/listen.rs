//! The list_changed probe's verdict: every change reached every listener, and the 99th
//! percentile of the time from a change's request to its notification is within the goal.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ms;
use crate::maths;
use crate::result::ProbeResult;
use crate::spec::probes::ListChangedProbe;

/// What the list_changed probe recorded.
#[derive(Debug, Clone, Default)]
pub struct ListChangedRecord {
    /// Listeners whose stream opened.
    pub opened: u32,
    /// Why the first listener that could not open its stream could not.
    pub open_failure: Option<String>,
    pub changes: Vec<ChangeRecord>,
    /// Why the first stream that ended during the probe ended.
    pub stream_failure: Option<String>,
    /// Notifications beyond one per change and listener (a server may coalesce a burst of
    /// changes, never announce one twice: extras are reported, not failed).
    pub extra: u64,
}

/// One change: how its request was answered, and when each listener heard of it.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// The change request's HTTP status (0: no answer).
    pub status: u16,
    /// Its answer's body or transport error, when it was not a success.
    pub message: Option<String>,
    /// Per listener that opened, the time from the change's request to its notification
    /// (`None`: none by the deadline).
    pub delays: Vec<Option<Duration>>,
}

impl ChangeRecord {
    fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Judges the record: all listeners opened, every change request was accepted, every
/// accepted change reached every listener by the deadline, and the p99 of those times is
/// below `within`.
pub fn judge_list_changed(
    target: &str,
    p: &ListChangedProbe,
    r: &ListChangedRecord,
) -> ProbeResult {
    let mut failures = Vec::new();
    if r.opened < p.listeners {
        failures.push(format!(
            "list_changed: {} of {} listeners opened a stream{}",
            r.opened,
            p.listeners,
            r.open_failure
                .as_ref()
                .map_or(String::new(), |why| format!(": {why}"))
        ));
    }
    let refused: Vec<String> = r
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.accepted())
        .map(|(k, c)| {
            format!(
                "change {} answered {}{}",
                k + 1,
                if c.status == 0 {
                    "nothing".to_owned()
                } else {
                    c.status.to_string()
                },
                c.message
                    .as_ref()
                    .map_or(String::new(), |m| format!(" ({m})"))
            )
        })
        .collect();
    if !refused.is_empty() {
        failures.push(format!(
            "list_changed: {} of {} change requests failed: {}",
            refused.len(),
            r.changes.len(),
            refused.into_iter().take(3).collect::<Vec<_>>().join("; ")
        ));
    }
    let mut delays = crate::measure::new_histogram(3);
    let mut missed = 0u64;
    for c in r.changes.iter().filter(|c| c.accepted()) {
        for d in &c.delays {
            match d {
                Some(d) => {
                    let _ = delays.record(d.as_micros().max(1) as u64);
                }
                None => missed += 1,
            }
        }
    }
    if missed > 0 {
        failures.push(format!(
            "list_changed: {missed} notifications did not arrive within {:.0} ms of their change{}",
            ms(p.deadline),
            r.stream_failure
                .as_ref()
                .map_or(String::new(), |why| format!(" (a stream ended: {why})"))
        ));
    }
    let at = |q: f64| maths::percentile(&delays, q) as f64 / 1e3;
    let (p50, p99, max) = (at(50.0), at(99.0), delays.max() as f64 / 1e3);
    if delays.is_empty() {
        failures.push("list_changed: no notification arrived".into());
    } else if p99 > ms(p.within) {
        failures.push(format!(
            "list_changed: p99 {p99:.1} ms from a change to its notification, above {:.0} ms",
            ms(p.within)
        ));
    }
    let figures = BTreeMap::from([
        ("listeners".to_owned(), f64::from(r.opened)),
        ("changes".to_owned(), r.changes.len() as f64),
        ("notifications".to_owned(), delays.len() as f64),
        ("missed".to_owned(), missed as f64),
        ("extra".to_owned(), r.extra as f64),
        ("p50_ms".to_owned(), p50),
        ("p99_ms".to_owned(), p99),
        ("max_ms".to_owned(), max),
    ]);
    ProbeResult {
        probe: "list_changed".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "each of {} changes reaches all {} listeners, p99 below {:.0} ms",
            p.changes,
            p.listeners,
            ms(p.within)
        ),
        measured: format!(
            "{} notifications, p50 {p50:.1} / p99 {p99:.1} / max {max:.1} ms, {missed} missed",
            delays.len()
        ),
        expected_value: ms(p.within),
        measured_value: p99,
        failures,
        figures,
        seconds: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::probes::ChangeRequest;

    fn probe() -> ListChangedProbe {
        ListChangedProbe {
            listeners: 3,
            changes: 2,
            within: Duration::from_millis(100),
            deadline: Duration::from_secs(5),
            add: ChangeRequest {
                method: "POST".into(),
                url: "/admin/tools".into(),
                body: None,
            },
            remove: None,
        }
    }

    fn change(status: u16, ms: &[Option<u64>]) -> ChangeRecord {
        ChangeRecord {
            status,
            message: (status != 201).then(|| "no".into()),
            delays: ms.iter().map(|d| d.map(Duration::from_millis)).collect(),
        }
    }

    #[test]
    fn every_listener_told_in_time_passes_with_its_percentiles() {
        let r = ListChangedRecord {
            opened: 3,
            changes: vec![
                change(201, &[Some(4), Some(5), Some(6)]),
                change(201, &[Some(7), Some(8), Some(90)]),
            ],
            ..Default::default()
        };
        let result = judge_list_changed("local", &probe(), &r);
        assert!(result.passed, "{:?}", result.failures);
        assert_eq!(result.figures["notifications"], 6.0);
        assert!(
            (result.figures["p99_ms"] - 90.0).abs() < 0.1,
            "{:?}",
            result.figures
        );
        assert!(
            (result.figures["p50_ms"] - 6.0).abs() < 0.1,
            "{:?}",
            result.figures
        );
    }

    #[test]
    fn a_slow_tail_a_missed_notification_and_a_refused_change_each_fail() {
        let slow = ListChangedRecord {
            opened: 3,
            changes: vec![change(201, &[Some(4), Some(5), Some(150)])],
            ..Default::default()
        };
        let result = judge_list_changed("local", &probe(), &slow);
        assert_eq!(
            result.failures,
            ["list_changed: p99 150.0 ms from a change to its notification, above 100 ms"]
        );
        let missed = ListChangedRecord {
            opened: 2,
            open_failure: Some("403 Forbidden".into()),
            changes: vec![change(201, &[Some(4), None]), change(409, &[None, None])],
            stream_failure: Some("the server ended the stream".into()),
            ..Default::default()
        };
        let result = judge_list_changed("local", &probe(), &missed);
        assert_eq!(
            result.failures,
            [
                "list_changed: 2 of 3 listeners opened a stream: 403 Forbidden",
                "list_changed: 1 of 2 change requests failed: change 2 answered 409 (no)",
                "list_changed: 1 notifications did not arrive within 5000 ms of their change (a stream ended: the server ended the stream)",
            ]
        );
    }
}
