//! What one audit line costs to write: a `postgres_query` record as the local tier writes
//! it, serialized into a reused buffer, and the secret-key check on its parameter names.
//!
//! ```text
//! cargo run --release -p mcp-server-core --example audit_line [-- --records 1000000]
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use mcp_server_core::audit::{AuditRecord, is_secret_key};
use serde_json::json;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut records: u32 = 1_000_000;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse())) {
            ("--records", Some(Ok(n))) => records = n,
            _ => {
                eprintln!("usage: audit_line [--records N]");
                return ExitCode::from(2);
            }
        }
    }
    let arguments = json!({
        "query": "SELECT * FROM orders WHERE id = $1",
        "params": [75098],
        "database": "agents",
        "timeout_ms": 5000,
    });
    let Some(parameters) = arguments.as_object() else {
        eprintln!("the arguments are not an object");
        return ExitCode::FAILURE;
    };
    let record = AuditRecord {
        timestamp: SystemTime::now(),
        duration: Duration::from_micros(9925),
        parameters: Some(parameters),
        ..AuditRecord::sample("postgres_query", "18446744073709")
    };
    let mut line = Vec::with_capacity(1024);
    record.write_line(&mut line);
    println!("{}", String::from_utf8_lossy(&line));
    let bytes = line.len();

    let per = |total: Duration| total.as_nanos() as f64 / f64::from(records);
    for round in 1..=3 {
        let start = Instant::now();
        for _ in 0..records {
            line.clear();
            black_box(&record).write_line(&mut line);
            black_box(&line);
        }
        let write = per(start.elapsed());
        let start = Instant::now();
        for _ in 0..records {
            for key in black_box(parameters).keys() {
                black_box(is_secret_key(black_box(key)));
            }
        }
        let keys = per(start.elapsed());
        println!(
            "round {round}: write_line {write:.0} ns per {bytes}-byte line; secret-key check {keys:.0} ns for its {} keys",
            parameters.len()
        );
    }
    ExitCode::SUCCESS
}
