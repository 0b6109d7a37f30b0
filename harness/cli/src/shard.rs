//! `run --shard i/N --start-at WHEN`: one share of a scenario's load, started at a moment
//! every shard agrees on, written with its exact record for `merge`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow};
use mcp_slo_core::measure::RunRecord;
use mcp_slo_core::measure::file::RecordFile;
use mcp_slo_core::result::ShardMark;
use mcp_slo_core::spec::shard::Shard;
use sha2::{Digest as _, Sha256};

/// Where a shard writes its record, beside `result.json`.
pub const RECORD_FILE: &str = "record.json";

/// How a run is launched beside others: its share, and when its load starts.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub shard: Option<ShardMark>,
    pub start_at: Option<SystemTime>,
}

impl Launch {
    pub fn new(
        scenario: &Path,
        name: &str,
        shard: Option<Shard>,
        start_at: Option<&str>,
    ) -> Result<Launch, anyhow::Error> {
        let shard = match shard {
            Some(s) => Some(ShardMark {
                index: s.index,
                count: s.count,
                scenario: name.to_owned(),
                scenario_sha256: scenario_sha256(scenario)?,
            }),
            None => None,
        };
        let start_at = start_at
            .map(|text| parse_start_at(text, SystemTime::now()))
            .transpose()?;
        Ok(Launch { shard, start_at })
    }

    /// Waits until the agreed start (at once when there is none or it has passed).
    pub async fn wait(&self) {
        if let Some(at) = self.start_at
            && let Ok(left) = at.duration_since(SystemTime::now())
        {
            eprintln!(
                "waiting {:.1}s for --start-at {}",
                left.as_secs_f64(),
                humantime::format_rfc3339_millis(at)
            );
            tokio::time::sleep(left).await;
        }
    }
}

/// The scenario file's SHA-256, hex: merged shards must have run the same file.
pub fn scenario_sha256(path: &Path) -> Result<String, anyhow::Error> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `--shard I/N`, or `auto/N`: the first of `OUT/shard-0` .. `OUT/shard-(N-1)` not yet
/// made, made here (making a directory is atomic, so replicas started alike, e.g. by
/// `docker compose up --scale`, each take a different one); the shard's report directory
/// is then that one. `out` is the run's `--out`.
pub fn resolve(
    text: &str,
    out: Option<PathBuf>,
) -> Result<(Shard, Option<PathBuf>), anyhow::Error> {
    let Some(count) = text.strip_prefix("auto/") else {
        return Ok((text.parse()?, out));
    };
    let count: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            anyhow!("--shard {text:?}: expected auto/N with N at least 1, e.g. auto/4")
        })?;
    let Some(out) = out else {
        return Err(anyhow!(
            "--shard {text}: give --out DIR, under which the shards take DIR/shard-0 .. DIR/shard-{}",
            count - 1
        ));
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for index in 0..count {
        let dir = out.join(format!("shard-{index}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((Shard { index, count }, Some(dir))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow!(
                    "--shard {text}: cannot make {}: {e}",
                    dir.display()
                ));
            }
        }
    }
    Err(anyhow!(
        "--shard {text}: every shard directory under {} is taken (by this run's other shards or an earlier run's): give each run a fresh --out",
        out.display()
    ))
}

/// `--start-at`: an RFC 3339 instant, or `next:DURATION`, the next multiple of DURATION
/// since the Unix epoch (pods started within one such window start together).
pub fn parse_start_at(text: &str, now: SystemTime) -> Result<SystemTime, anyhow::Error> {
    let bad = |why: String| anyhow!("--start-at {text:?}: {why}");
    if let Some(every) = text.strip_prefix("next:") {
        let every = mcp_slo_core::units::parse_duration(every).map_err(bad)?;
        if every < Duration::from_millis(1) {
            return Err(bad("the period must be at least 1ms".into()));
        }
        let since = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| bad(e.to_string()))?;
        let periods = since.as_nanos() / every.as_nanos() + 1;
        let at = u64::try_from(periods * every.as_nanos()).map_err(|e| bad(e.to_string()))?;
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(at));
    }
    humantime::parse_rfc3339_weak(text).map_err(|e| {
        bad(format!(
            "{e}: give an RFC 3339 instant (2026-12-07T10:00:00Z) or next:DURATION (next:30s)"
        ))
    })
}

/// Writes the shard's exact record beside its result.
pub fn write_record(out: &Path, record: &RunRecord) -> Result<(), anyhow::Error> {
    let path = out.join(RECORD_FILE);
    let text = serde_json::to_vec(&RecordFile::of(record))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_shards_take_the_first_free_directory_each() {
        let dir = tempfile::tempdir().unwrap();
        let out = || Some(dir.path().join("run"));
        for index in 0..3 {
            let (shard, at) = resolve("auto/3", out()).unwrap();
            assert_eq!(shard, Shard { index, count: 3 });
            assert_eq!(at.unwrap(), dir.path().join(format!("run/shard-{index}")));
        }
        let taken = resolve("auto/3", out()).unwrap_err().to_string();
        assert!(taken.contains("every shard directory under"), "{taken}");
        assert!(
            resolve("auto/3", None)
                .unwrap_err()
                .to_string()
                .contains("give --out DIR")
        );
        assert!(resolve("auto/0", out()).is_err());
        assert_eq!(
            resolve("1/3", out()).unwrap(),
            (Shard { index: 1, count: 3 }, out())
        );
    }

    #[test]
    fn start_at_is_an_instant_or_the_next_multiple_of_a_period() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_012_345);
        assert_eq!(
            parse_start_at("next:30s", now).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_020)
        );
        assert_eq!(
            parse_start_at("2026-12-07T10:00:00Z", now).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_637_600)
        );
        for (bad, why) in [
            ("next:0s", "the period must be at least 1ms"),
            ("next:30", "missing unit"),
            ("tomorrow", "give an RFC 3339 instant"),
        ] {
            let e = parse_start_at(bad, now).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--start-at {bad:?}: ")) && e.contains(why),
                "{e}"
            );
        }
    }
}
