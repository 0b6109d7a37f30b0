//! Embedded backends: what the local tier runs on when no Postgres, MySQL, Redis or data
//! directory is given, so the main job runs on a machine with nothing installed.
//!
//! Under one directory: a SQLite file per SQL tool and allowed database (fixtures loaded
//! on first use, see `tools::sqlite`), the `file_read` sandbox with the fixture files of
//! `scripts/fixtures`, and, in memory, the cache. Figures measured on these backends are
//! SQLite's and an in-process map's, not Postgres' and Redis': reports say so.

use std::path::{Path, PathBuf};

/// The files `scripts/setup-services.sh` copies into the sandbox, relative to its root.
const FILES: &[(&str, &[u8])] = &[
    (
        "data/reports/daily.csv",
        include_bytes!("../../../scripts/fixtures/reports/daily.csv"),
    ),
    (
        "data/reports/chart.png",
        include_bytes!("../../../scripts/fixtures/reports/chart.png"),
    ),
    (
        "data/config/app.yaml",
        include_bytes!("../../../scripts/fixtures/config/app.yaml"),
    ),
];

/// Where the embedded backends live.
#[derive(Debug, Clone)]
pub struct EmbeddedDir {
    root: PathBuf,
}

impl EmbeddedDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        EmbeddedDir { root: root.into() }
    }

    /// The SQLite files.
    pub fn sqlite(&self) -> PathBuf {
        self.root.join("sqlite")
    }

    /// The `file_read` data root (the config's `/data/reports` is `<this>/data/reports`).
    pub fn data_root(&self) -> PathBuf {
        self.root.join("files")
    }

    /// Creates the directories and writes the sandbox's fixture files (replacing changed
    /// ones, leaving other files alone).
    pub fn prepare(&self, with_files: bool) -> std::io::Result<()> {
        std::fs::create_dir_all(self.sqlite())?;
        if with_files {
            write_files(&self.data_root())?;
        }
        Ok(())
    }
}

fn write_files(root: &Path) -> std::io::Result<()> {
    for (relative, bytes) in FILES {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read(&path).ok().as_deref() != Some(*bytes) {
            std::fs::write(&path, bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prepare_writes_the_sandbox_fixtures() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let embedded = super::EmbeddedDir::new(dir.path());
        embedded.prepare(true)?;
        let csv = std::fs::read_to_string(embedded.data_root().join("data/reports/daily.csv"))?;
        let original = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/fixtures/reports/daily.csv"
        ))?;
        assert_eq!(csv, original);
        assert!(embedded.sqlite().is_dir());
        // A second prepare keeps what is there.
        std::fs::write(embedded.data_root().join("data/reports/extra.txt"), "x")?;
        embedded.prepare(true)?;
        assert!(
            embedded
                .data_root()
                .join("data/reports/extra.txt")
                .is_file()
        );
        Ok(())
    }
}
