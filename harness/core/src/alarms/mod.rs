//! CloudWatch-style alarms: configuration, per-period datapoints and evaluation.
