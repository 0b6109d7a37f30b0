//! Tests for the alarms module: configuration, datapoints, CloudWatch evaluation and
//! burn-rate alerts.

mod burn;
mod config;
mod datapoints;
mod evaluate;
