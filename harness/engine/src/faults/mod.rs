//! Faults injected during a run, at their times from the start of the load: commands (a
//! restart, or a stop and later a start), latency on a proxy, a proxy cut, a spawned
//! target killed and started again. Each fault's window (from its start to its end, in ms from the start of
//! the load) is recorded for the `recovery`, `answered` and `clean_errors` objectives.
//!
//! Faults run one at a time in order of `at`: one that is due while another is in force
//! starts when that one ends, and its window says so.

pub mod proxy;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mcp_slo_core::measure::FaultWindow;
use mcp_slo_core::spec::faults::{Fault, FaultAction};
use tokio::time::Instant;

pub use proxy::Proxies;

use crate::spawn::Spawned;

/// A fault command that has not finished after this long is killed and counts as failed.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// What the faults act on: the scenario's directory (commands run there), its proxies and
/// the targets the harness spawned.
pub struct Stage<'a> {
    pub dir: &'a Path,
    pub proxies: &'a Proxies,
    pub spawned: &'a mut [(String, Spawned)],
}

/// Runs every fault at its time from `origin` (the start of the load) and returns their
/// windows. `log` hears of each start and end.
pub async fn inject(
    faults: &[Fault],
    origin: Instant,
    stage: Stage<'_>,
    log: &(dyn Fn(&str) + Sync),
) -> Vec<FaultWindow> {
    let mut order: Vec<&Fault> = faults.iter().collect();
    order.sort_by_key(|f| f.at);
    let mut windows = Vec::with_capacity(order.len());
    let Stage {
        dir,
        proxies,
        spawned,
    } = stage;
    let since = |at: Instant| at.saturating_duration_since(origin).as_millis() as u64;
    for fault in order {
        tokio::time::sleep_until(origin + fault.at).await;
        let started = Instant::now();
        log(&format!(
            "fault {} ({}) at {:.1}s",
            fault.name,
            fault.action.kind(),
            since(started) as f64 / 1000.0
        ));
        let ended = act(&fault.action, dir, proxies, spawned).await;
        let window = FaultWindow {
            name: fault.name.clone(),
            kind: fault.action.kind().to_owned(),
            started_ms: since(started),
            ended_ms: ended.as_ref().ok().map(|at| since(*at)),
            error: ended.as_ref().err().cloned(),
        };
        match &window.error {
            None => log(&format!(
                "fault {} ended at {:.1}s",
                fault.name,
                window.ended_ms.unwrap_or_default() as f64 / 1000.0
            )),
            Some(e) => log(&format!("fault {} failed: {e}", fault.name)),
        }
        windows.push(window);
    }
    windows
}

/// Carries out one fault; returns when it ended, or why it could not be done.
async fn act(
    action: &FaultAction,
    dir: &Path,
    proxies: &Proxies,
    spawned: &mut [(String, Spawned)],
) -> Result<Instant, String> {
    match action {
        FaultAction::Run { command } => {
            run(command, dir).await?;
            Ok(Instant::now())
        }
        FaultAction::Break {
            command,
            then,
            lasting,
        } => {
            let broke = run(command, dir).await;
            tokio::time::sleep(*lasting).await;
            // Mend even when breaking failed half-way.
            let mended = run(then, dir).await;
            broke?;
            mended?;
            Ok(Instant::now())
        }
        FaultAction::Delay { proxy, by, lasting } => {
            proxies.set_delay(proxy, *by)?;
            tokio::time::sleep(*lasting).await;
            proxies.set_delay(proxy, Duration::ZERO)?;
            Ok(Instant::now())
        }
        FaultAction::Cut { proxy, lasting } => {
            proxies.set_cut(proxy, true)?;
            tokio::time::sleep(*lasting).await;
            proxies.set_cut(proxy, false)?;
            Ok(Instant::now())
        }
        FaultAction::Restart { target, down } => {
            let (_, s) = spawned
                .iter_mut()
                .find(|(name, _)| name == target)
                .ok_or_else(|| format!("target {target} was not spawned by the harness"))?;
            s.restart(*down).await.map_err(|e| e.to_string())?;
            Ok(Instant::now())
        }
    }
}

/// Runs a command from `dir`; an error names it, its exit status and its last output.
async fn run(command: &[String], dir: &Path) -> Result<(), String> {
    run_within(command, dir, COMMAND_LIMIT).await
}

/// Runs a command in a process group of its own; if it still runs after `limit`, the whole
/// group is killed (what the command started too, not only the command).
async fn run_within(command: &[String], dir: &Path, limit: Duration) -> Result<(), String> {
    let shown = command.join(" ");
    let (program, args) = command
        .split_first()
        .ok_or_else(|| "an empty command".to_owned())?;
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("`{shown}` could not start: {e}"))?;
    let group = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    let output = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(done) => done.map_err(|e| format!("`{shown}`: {e}"))?,
        Err(_) => {
            if let Some(group) = group {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            return Err(format!(
                "`{shown}` still ran after {}s (killed with what it started)",
                limit.as_secs_f64()
            ));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        text
    };
    let lines: Vec<&str> = text.lines().collect();
    Err(format!(
        "`{shown}` {}: {}",
        output.status,
        lines[lines.len().saturating_sub(5)..].join(" | ")
    ))
}

#[cfg(test)]
mod tests;
