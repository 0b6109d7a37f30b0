//! What makes a tier's tool families load again: SIGHUP, and a change of the config file
//! they were declared in (its modification time or size, checked every [`CHECK`]: this sees an
//! edit in place and an editor's write-and-rename alike, on any file system).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the config file is looked at.
pub const CHECK: Duration = Duration::from_secs(1);

/// Why the families load again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Hangup,
    FileChanged,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Hangup => "SIGHUP",
            Reason::FileChanged => "config file changed",
        }
    }
}

/// SIGHUP as it arrives, and changes to the watched file.
pub struct Reloads {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
    file: Option<(PathBuf, Option<Stamp>)>,
}

/// What a file's change is seen by.
type Stamp = (SystemTime, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Reloads {
    /// Watches `file` (when given) from its state now.
    pub fn new(file: Option<&Path>) -> Reloads {
        Reloads {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
            file: file.map(|f| (f.to_path_buf(), stamp(f))),
        }
    }

    /// The next reason to load again; `None` when none can come any more.
    pub async fn next(&mut self) -> Option<Reason> {
        #[cfg(unix)]
        let hangup = async {
            match self.signal.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        let file = &mut self.file;
        let changed = async {
            let Some((path, seen)) = file else {
                return std::future::pending().await;
            };
            loop {
                tokio::time::sleep(CHECK).await;
                let now = stamp(path);
                // A file being replaced may be missing for a moment: wait for it.
                if now.is_some() && now != *seen {
                    *seen = now;
                    return Reason::FileChanged;
                }
            }
        };
        tokio::select! {
            signal = hangup => signal.map(|()| Reason::Hangup),
            reason = changed => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_edited_file_is_a_reason_and_an_unchanged_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "a: 1\n").unwrap();
        let mut reloads = Reloads::new(Some(&path));
        let quiet = tokio::time::timeout(CHECK * 2 + CHECK / 2, reloads.next()).await;
        assert!(quiet.is_err(), "nothing changed: {quiet:?}");
        std::fs::write(&path, "a: 22\n").unwrap();
        let changed = tokio::time::timeout(CHECK * 3, reloads.next()).await;
        assert_eq!(changed.ok().flatten(), Some(Reason::FileChanged));
    }
}
