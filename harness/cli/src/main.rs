//! `mcp-slo`: validate scenarios, run them against MCP servers, re-render reports and
//! compare runs; the verdict is the exit code (0 pass, 1 an objective missed or a
//! regression, 2 invalid input, 3 infrastructure failure).

mod assemble;
mod calibrate;
mod call;
mod capacity;
mod compare;
mod cost;
mod discover;
mod merge;
mod progress;
mod publish;
mod run;
mod sampling;
mod server_metrics;
mod shard;
mod soak;
mod target_headers;
mod target_oauth;
mod targets;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mcp-slo",
    version,
    about = "Prove under load that MCP servers meet their SLOs and hold their boundaries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check scenarios: syntax, types, references, and objectives that cannot be met by
    /// construction given the tier's boundaries.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Run a scenario and write its report.
    Run {
        scenario: PathBuf,
        /// Report directory (default: reports/<scenario>-<timestamp>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Sample this server process's CPU and memory too (spawned targets are sampled
        /// anyway); its calls are those of the scenario's one target given by URL.
        #[arg(long)]
        target_pid: Option<u32>,
        /// Plain progress lines instead of a progress bar.
        #[arg(long)]
        no_progress_bar: bool,
        /// Publish the alarms' datapoints and the alarms to CloudWatch (endpoint from
        /// --cloudwatch-endpoint or AWS_ENDPOINT_URL, credentials from the AWS
        /// environment), then read the alarms' states back into the report.
        #[arg(long)]
        publish_cloudwatch: bool,
        /// CloudWatch namespace for --publish-cloudwatch.
        #[arg(long, default_value = "MCPSLO")]
        cloudwatch_namespace: String,
        /// CloudWatch endpoint, e.g. http://127.0.0.1:4566 (LocalStack).
        #[arg(long, env = "MCP_SLO_CLOUDWATCH_ENDPOINT")]
        cloudwatch_endpoint: Option<String>,
        /// Region for --publish-cloudwatch.
        #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
        cloudwatch_region: String,
        /// Where the spawned servers' backends come from: auto (environment URLs, then
        /// services on their default loopback ports, then containers when a Docker engine
        /// answers, then the embedded stand-ins), env, containers or embedded.
        #[arg(long, default_value = "auto", env = "MCP_SLO_BACKENDS")]
        backends: mcp_slo_backends::Choice,
        /// Run shard I (from 0) of N: 1/N of the arrival rate or of the users, a slice of
        /// the callers, its own argument seed; probes and faults in shard 0 only. Its
        /// report directory holds the exact record `merge` adds to the others'. `auto/N`:
        /// the first of OUT/shard-0 .. OUT/shard-(N-1) not yet taken (for replicas started
        /// alike, e.g. `docker compose up --scale`), which is then the report directory.
        #[arg(long, value_name = "I/N|auto/N")]
        shard: Option<String>,
        /// Start the load at this moment (after the targets are ready): an RFC 3339
        /// instant, or next:DURATION, the next multiple of DURATION since the Unix epoch
        /// (shards started within one such window start together).
        #[arg(long, value_name = "WHEN")]
        start_at: Option<String>,
    },
    /// Merge shards' report directories (run --shard) into one run: histograms added,
    /// per-second series aligned on the wall clock, counts summed; judge it against the
    /// scenario and write every report format.
    Merge(merge::MergeArgs),
    /// Write every report format (report.html, summary.md, junit.xml, result.json) again
    /// from a stored result.json.
    Report {
        result: PathBuf,
        /// Directory to write to (default: the result's own directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare a run with a baseline: exit 1 when a measure got worse beyond its tolerance
    /// and beyond the runs' noise (one-sided Mann-Whitney U on per-second values).
    Compare {
        baseline: PathBuf,
        current: PathBuf,
        #[command(flatten)]
        tolerances: compare::ToleranceArgs,
        /// Also write the Markdown table (for a pull-request comment) to this file.
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// Find the highest offered rate at which the scenario's targets meet every objective:
    /// steps of increasing rate, then bisection; reports the rate, the knee and a
    /// Universal Scalability Law fit (capacity.json, capacity.html).
    Capacity {
        scenario: PathBuf,
        #[command(flatten)]
        args: capacity::CapacityArgs,
    },
    /// Hold a scenario's load at one rate for minutes (default: 80% of the capacity in
    /// --capacity) and judge its objectives and the server processes' growth in memory
    /// and open descriptors after the warm-up.
    Soak {
        scenario: PathBuf,
        #[command(flatten)]
        args: soak::SoakArgs,
    },
    /// Measure the harness against the truth (a server with a known service time) and
    /// against an independent load generator (oha, latency from the intended start) on
    /// the same call at fixed rates, and compare their ceilings; exit 1 when a figure
    /// disagrees by more than 5 % or 50 µs.
    Calibrate {
        #[command(flatten)]
        args: calibrate::CalibrateArgs,
    },
    /// Print the scenario JSON schema.
    Schema,
    /// Send one MCP request to a server through the harness's client and print the
    /// result: the tools by default, a tool call with --tool, or --method.
    Call(call::CallArgs),
    /// List the tools of several servers merged by tier and category (from each tool's
    /// `_meta`), with name collisions across targets, each target's security boundary
    /// (token, revision, sessions) and the listings' sizes in bytes and estimated tokens.
    Discover(discover::DiscoverArgs),
}

/// How a command ended.
pub enum Outcome {
    Pass,
    Fail,
    /// The run failed only in seconds the machine stalled (see the verdict's `inconclusive`).
    Inconclusive,
    Invalid(anyhow::Error),
    Infrastructure(anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Validate { scenarios } => run::validate(&scenarios),
        Command::Report { result, out } => compare::report(&result, out),
        Command::Compare {
            baseline,
            current,
            tolerances,
            markdown,
        } => compare::compare_files(&baseline, &current, &tolerances, markdown),
        Command::Capacity { scenario, args } => {
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(capacity::capacity(&scenario, &args)),
                Err(e) => Outcome::Infrastructure(e.into()),
            }
        }
        Command::Soak { scenario, args } => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(soak::soak(&scenario, &args)),
            Err(e) => Outcome::Infrastructure(e.into()),
        },
        Command::Calibrate { args } => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(calibrate::calibrate(&args)),
            Err(e) => Outcome::Infrastructure(e.into()),
        },
        Command::Call(args) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(call::call(&args)),
            Err(e) => Outcome::Infrastructure(e.into()),
        },
        Command::Discover(args) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(discover::discover(&args)),
            Err(e) => Outcome::Infrastructure(e.into()),
        },
        Command::Merge(args) => merge::merge(&args),
        Command::Schema => {
            println!("{:#}", mcp_slo_core::spec::Scenario::json_schema());
            Outcome::Pass
        }
        Command::Run {
            scenario,
            out,
            target_pid,
            no_progress_bar,
            publish_cloudwatch,
            cloudwatch_namespace,
            cloudwatch_endpoint,
            cloudwatch_region,
            backends,
            shard,
            start_at,
        } => {
            let publish = publish_cloudwatch.then_some(publish::Publish {
                namespace: cloudwatch_namespace,
                endpoint: cloudwatch_endpoint,
                region: cloudwatch_region,
            });
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(run::run(
                    &scenario,
                    out,
                    (shard.as_deref(), start_at.as_deref()),
                    run::RunOptions {
                        target_pid,
                        plain: no_progress_bar,
                        backends,
                        publish,
                        launch: Default::default(),
                    },
                )),
                Err(e) => Outcome::Infrastructure(e.into()),
            }
        }
    };
    match outcome {
        Outcome::Pass => ExitCode::SUCCESS,
        Outcome::Fail => ExitCode::from(1),
        Outcome::Inconclusive => ExitCode::from(4),
        Outcome::Invalid(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Outcome::Infrastructure(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}
