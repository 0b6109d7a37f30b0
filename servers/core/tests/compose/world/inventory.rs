//! What a moto server holds, as `scripts/moto/inventory.py` lists it: IAM users and roles,
//! buckets and their objects (the bytes saved to files), functions, topics and alarms.

use std::time::Duration;

use super::emulators::Moto;
use super::expected::World;
use super::process::{Tools, run, scrubbed, show};
use crate::support::*;

impl Moto {
    /// Everything this server holds in the world's region, as inventory.py's JSON.
    pub(super) fn inventory(&self, tools: &Tools, scratch: &Path, world: &World) -> Value {
        let dir = scratch.join(format!("objects-{}", self.port));
        let output = run(
            "scripts/moto/inventory.py",
            scrubbed(&tools.python, scratch)
                .args(["scripts/moto/inventory.py", "--moto-auth-off", "--endpoint"])
                .arg(self.endpoint())
                .arg("--region")
                .arg(&world.region)
                .arg("--objects-dir")
                .arg(&dir),
            Duration::from_secs(120),
        );
        assert!(output.status.success(), "inventory: {}", show(&output));
        serde_json::from_slice(&output.stdout).expect("inventory JSON")
    }
}
