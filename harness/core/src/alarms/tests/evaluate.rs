//! CloudWatch evaluation against hand-computed outcomes. Datapoints are written as rows,
//! oldest first: `X` breaches (1 > 0.5), `0` does not, `-` is missing.

use std::num::NonZeroU32;

use super::super::evaluate::decide;
use super::super::*;

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

fn alarm(n: u32, m: u32, treat: MissingData) -> Alarm {
    Alarm {
        name: "test".into(),
        metric: Metric::ErrorRate,
        threshold: 0.5,
        comparison: Comparison::GreaterThanThreshold,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        period_s: 60,
        statistic: Statistic::Average,
        treat_missing_data: treat,
        tool: None,
        alarm_action: None,
    }
}

fn values(row: &str) -> Vec<Option<f64>> {
    row.split_whitespace()
        .map(|c| match c {
            "X" => Some(1.0),
            "0" => Some(0.0),
            _ => None,
        })
        .collect()
}

fn points(row: &str) -> Vec<Datapoint> {
    values(row)
        .into_iter()
        .enumerate()
        .map(|(i, value)| Datapoint {
            t_start_s: i as f64 * 60.0,
            value,
            samples: u64::from(value.is_some()),
        })
        .collect()
}

/// What a cell of AWS's tables says: a state, or "Retain current state".
#[derive(Clone, Copy)]
enum Cell {
    Is(AlarmState),
    Retain,
}
use Cell::{Is, Retain};

/// Rows of the tables in the CloudWatch User Guide, "Configuring how CloudWatch alarms
/// treat missing data": the 5 most recent datapoints, then the state for MISSING, IGNORE,
/// BREACHING and NOT BREACHING.
fn check_table(n: u32, m: u32, rows: &[(&str, [Cell; 4])]) {
    let treatments = [
        MissingData::Missing,
        MissingData::Ignore,
        MissingData::Breaching,
        MissingData::NotBreaching,
    ];
    for (row, cells) in rows {
        for (treat, cell) in treatments.into_iter().zip(cells) {
            for current in [O, A, I] {
                let got = decide(&alarm(n, m, treat), &values(row), current).state;
                let want = match cell {
                    Is(state) => *state,
                    Retain => current,
                };
                assert_eq!(
                    got, want,
                    "{m} of {n}, {row:?}, {treat:?}, from {current:?}"
                );
            }
        }
    }
}

#[test]
fn aws_table_for_3_of_3_is_reproduced() {
    check_table(
        3,
        3,
        &[
            ("0 - X - X", [Is(O), Is(O), Is(O), Is(O)]),
            ("0 - - - -", [Is(O), Is(O), Is(O), Is(O)]),
            ("- - - - -", [Is(I), Retain, Is(A), Is(O)]),
            ("0 X X - X", [Is(A), Is(A), Is(A), Is(A)]),
            ("- - - - X", [Is(I), Retain, Is(A), Is(O)]),
            ("X - - - -", [Is(A), Retain, Is(A), Is(O)]),
        ],
    );
}

#[test]
fn aws_table_for_2_of_3_is_reproduced() {
    check_table(
        3,
        2,
        &[
            ("0 - X - X", [Is(A), Is(A), Is(A), Is(A)]),
            ("0 0 X 0 X", [Is(A), Is(A), Is(A), Is(A)]),
            ("0 - X - -", [Is(O), Is(O), Is(A), Is(O)]),
            ("- - - - 0", [Is(O), Is(O), Is(A), Is(O)]),
            ("- - - - X", [Is(I), Retain, Is(A), Is(O)]),
        ],
    );
}

#[test]
fn a_lone_good_datapoint_ages_out_of_the_range_then_missing_data_breaches() {
    // AWS's note on its second row: still missing at the next evaluation, it goes to ALARM.
    let states = evaluate(&alarm(3, 3, MissingData::Breaching), &points("0 - - - - -"));
    assert_eq!(states, [O, O, O, O, O, A]);
}

#[test]
fn m_of_n_counts_breaches_anywhere_in_the_last_n() {
    let cases: [(u32, u32, &str, &[AlarmState]); 3] = [
        (5, 3, "X 0 X 0 X 0", &[I, O, O, O, A, O]),
        (3, 2, "X 0 X 0 0 X X", &[I, O, A, O, O, O, A]),
        // 1 of 1 keeps evaluating its latest datapoint while the range still holds it.
        (1, 1, "0 X - 0 - - - -", &[O, A, A, O, O, O, I, I]),
    ];
    for (n, m, row, want) in cases {
        let got = evaluate(&alarm(n, m, MissingData::Missing), &points(row));
        assert_eq!(got, want, "{m} of {n}: {row}");
    }
}

#[test]
fn the_alarm_starts_with_insufficient_data() {
    let a = alarm(3, 3, MissingData::Missing);
    assert_eq!(evaluate(&a, &points("- - X X X")), [I, I, I, I, A]);
    assert_eq!(evaluate(&a, &[]), []);
    let t = timeline(&a, &points("- -"), NonZeroU32::MIN);
    assert_eq!(t.states.iter().map(|s| s.state).collect::<Vec<_>>(), [I, I]);
    assert!(t.transitions.is_empty());
    assert!(!t.fired);
}

#[test]
fn each_missing_data_rule_once_the_data_stops() {
    let breached = "X X X - - - - - -";
    let good = "0 0 0 - - - - - -";
    for (treat, after_breach, after_good) in [
        (MissingData::Missing, I, I),
        (MissingData::Ignore, A, O),
        (MissingData::Breaching, A, A),
        (MissingData::NotBreaching, O, O),
    ] {
        let a = alarm(3, 3, treat);
        assert_eq!(
            evaluate(&a, &points(breached)).last(),
            Some(&after_breach),
            "{treat:?}"
        );
        assert_eq!(
            evaluate(&a, &points(good)).last(),
            Some(&after_good),
            "{treat:?}"
        );
    }
    // With `ignore`, a run without any data never leaves its initial state.
    let ignore = alarm(3, 3, MissingData::Ignore);
    assert_eq!(evaluate(&ignore, &points("- - - - - - -")), [I; 7]);
}

#[test]
fn equal_to_the_threshold_breaches_only_the_or_equal_comparisons() {
    for (comparison, below, equal, above) in [
        (Comparison::GreaterThanThreshold, O, O, A),
        (Comparison::GreaterThanOrEqualToThreshold, O, A, A),
        (Comparison::LessThanThreshold, A, O, O),
        (Comparison::LessThanOrEqualToThreshold, A, A, O),
    ] {
        let a = Alarm {
            comparison,
            threshold: 1000.0,
            ..alarm(1, 1, MissingData::Missing)
        };
        let at = |v: f64| {
            let p = Datapoint {
                t_start_s: 0.0,
                value: Some(v),
                samples: 1,
            };
            evaluate(&a, &[p])[0]
        };
        assert_eq!(
            [at(999.999), at(1000.0), at(1000.001)],
            [below, equal, above],
            "{comparison:?}"
        );
    }
}

#[test]
fn a_timeline_fires_then_clears_with_reasons() {
    let a = alarm(2, 2, MissingData::Missing);
    let period = NonZeroU32::new(10).expect("non-zero");
    let mut pts = points("0 0 X X X 0 0");
    for (i, p) in pts.iter_mut().enumerate() {
        p.t_start_s = 100.0 + 10.0 * i as f64;
    }
    let t = timeline(&a, &pts, period);
    assert_eq!(t.alarm, "test");
    assert_eq!(t.period_s, 10);
    let states: Vec<(f64, AlarmState)> = t.states.iter().map(|s| (s.t_end_s, s.state)).collect();
    assert_eq!(
        states,
        [
            (110.0, O),
            (120.0, O),
            (130.0, O),
            (140.0, A),
            (150.0, A),
            (160.0, O),
            (170.0, O)
        ]
    );
    let changes: Vec<(f64, AlarmState, AlarmState)> = t
        .transitions
        .iter()
        .map(|x| (x.t_s, x.from, x.to))
        .collect();
    assert_eq!(changes, [(110.0, I, O), (140.0, O, A), (160.0, A, O)]);
    assert_eq!(
        t.transitions[0].reason,
        "1 datapoint [0] in the last 4 periods, 0 greater than the threshold (0.5); 1 missing treated as missing; ALARM needs 2 of 2"
    );
    assert_eq!(
        t.transitions[1].reason,
        "2 of the last 2 datapoints [1, 1] were greater than the threshold (0.5); ALARM needs 2"
    );
    assert_eq!(t.first_alarm_s, Some(140.0));
    assert_eq!(t.cleared_after_alarm_s, Some(160.0));
    assert!(t.fired);
    let json = serde_json::to_value(&t).expect("serializes");
    assert_eq!(json["transitions"][1]["to"], "ALARM");
    assert_eq!(json["states"][0]["state"], "OK");
    assert_eq!(
        serde_json::to_value(I).expect("serializes"),
        "INSUFFICIENT_DATA"
    );
}

#[test]
fn an_alarm_that_never_clears_has_no_clear_time() {
    let a = alarm(1, 1, MissingData::Ignore);
    let t = timeline(
        &a,
        &points("0 X - -"),
        NonZeroU32::new(60).expect("non-zero"),
    );
    assert_eq!(t.first_alarm_s, Some(120.0));
    assert_eq!(t.cleared_after_alarm_s, None);
    assert_eq!(t.states.last().map(|s| s.state), Some(A));
}
