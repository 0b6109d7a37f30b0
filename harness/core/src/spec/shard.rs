//! One share of a scenario whose load is split across several harness processes
//! (`mcp-slo run --shard i/N`), each on its own machine or pod; `mcp-slo merge` adds their
//! records back into one run.
//!
//! The split is deterministic: shard `i` of `N` offers `1/N` of every open phase's rate,
//! its share of a closed phase's users (the first `users % N` shards one more), a
//! contiguous slice of the callers (so per-caller limits see the same callers as one
//! process would), and its own argument seed. The load's shape (phases, durations,
//! timeouts, the mix) is the same in every shard. What acts on the target as a whole
//! (probes, faults and their proxies) runs in shard 0 only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Endpoint, Scenario};

/// Shard `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("--shard {0:?}: expected I/N with 0 <= I < N, e.g. 0/4 (shards count from 0)")]
    Syntax(String),
    #[error(
        "--shard: target {0} is spawned by the harness, so every shard would load a server of its own; give the shards a url: target they share"
    )]
    Spawned(String),
    #[error(
        "--shard {index}/{count}: phase {phase} has {users} users, fewer than the shards (each shard needs at least one)"
    )]
    TooFewUsers {
        index: u32,
        count: u32,
        phase: String,
        users: u32,
    },
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError::Syntax(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// `total` split as evenly as it goes: this shard's part (the first `total % count`
    /// shards take one more) and where it starts.
    pub fn part(self, total: u32) -> (u32, u32) {
        let (base, extra) = (total / self.count, total % self.count);
        let size = base + u32::from(self.index < extra);
        let start = self.index * base + self.index.min(extra);
        (start, size)
    }
}

impl Scenario {
    /// This scenario's share for `shard` (see the module's documentation).
    pub fn shard(&self, shard: Shard) -> Result<Scenario, ShardError> {
        if let Some(t) = self
            .targets
            .values()
            .find(|t| matches!(t.endpoint, Endpoint::Spawn { .. }))
        {
            return Err(ShardError::Spawned(t.name.clone()));
        }
        let mut share = self.clone();
        let n = f64::from(shard.count);
        for phase in &mut share.load.phases {
            if let Some(rate) = &mut phase.rate {
                *rate /= n;
            }
            if let Some(users) = &mut phase.users {
                let (_, mine) = shard.part(*users);
                if mine == 0 {
                    return Err(ShardError::TooFewUsers {
                        index: shard.index,
                        count: shard.count,
                        phase: phase.name.clone(),
                        users: *users,
                    });
                }
                *users = mine;
            }
        }
        let load = &mut share.load;
        load.max_users = shard.part(load.max_users).1.max(1);
        // Fewer callers than shards: each shard calls as one of them.
        let (first, callers) = if load.callers >= shard.count {
            shard.part(load.callers)
        } else {
            (shard.index % load.callers, 1)
        };
        load.first_caller += first;
        load.callers = callers;
        load.seed = load
            .seed
            .wrapping_add(u64::from(shard.index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if shard.index != 0 {
            share.probes = None;
            share.faults.clear();
            share.proxies.clear();
        }
        Ok(share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(yaml: &str) -> Scenario {
        Scenario::from_yaml(std::path::Path::new("s.yaml"), yaml).unwrap()
    }

    const OPEN: &str = r#"
version: mcp-slo/v1
name: s
targets: { t: { url: "http://127.0.0.1:1/mcp" } }
load:
  model: open
  callers: 5
  phases:
    - { name: warm, duration: 1s, rate: 10/s, record: false }
    - { name: steady, duration: 2s, rate: 300/s }
mix: [ { target: t, tool: x } ]
"#;

    #[test]
    fn shards_parse_from_zero_and_refuse_what_is_not_a_share() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::Syntax(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn parts_cover_the_whole_without_overlap() {
        for (total, count) in [(11, 3), (3, 3), (2, 5), (250, 7)] {
            let mut next = 0;
            for index in 0..count {
                let (start, size) = Shard { index, count }.part(total);
                assert_eq!(start, next, "{total}/{count} shard {index}");
                next += size;
            }
            assert_eq!(next, total);
        }
    }

    #[test]
    fn an_open_shard_offers_its_share_of_the_rate_with_its_own_callers_and_seed() {
        let whole = scenario(OPEN);
        let shares: Vec<Scenario> = (0..3)
            .map(|index| whole.shard(Shard { index, count: 3 }).unwrap())
            .collect();
        let rate: f64 = shares.iter().map(|s| s.load.phases[1].rate.unwrap()).sum();
        assert!((rate - 300.0).abs() < 1e-9, "{rate}");
        assert_eq!(
            shares
                .iter()
                .map(|s| (s.load.first_caller, s.load.callers))
                .collect::<Vec<_>>(),
            [(0, 2), (2, 2), (4, 1)]
        );
        assert_eq!(shares[0].load.seed, whole.load.seed);
        assert_ne!(shares[1].load.seed, shares[2].load.seed);
        assert_eq!(
            shares[2].load.phases[0].duration,
            whole.load.phases[0].duration
        );
    }

    #[test]
    fn closed_users_split_and_a_shard_without_one_is_refused() {
        let closed = OPEN
            .replace("model: open", "model: closed")
            .replace("rate: 10/s", "users: 7")
            .replace("rate: 300/s", "users: 2");
        let whole = scenario(&closed);
        let first = whole.shard(Shard { index: 0, count: 2 }).unwrap();
        assert_eq!(first.load.phases[0].users, Some(4));
        assert_eq!(first.load.phases[1].users, Some(1));
        assert_eq!(
            whole.shard(Shard { index: 2, count: 3 }),
            Err(ShardError::TooFewUsers {
                index: 2,
                count: 3,
                phase: "steady".into(),
                users: 2
            })
        );
    }

    #[test]
    fn spawned_targets_cannot_be_shared_by_shards() {
        let spawned = OPEN.replace(
            r#"{ url: "http://127.0.0.1:1/mcp" }"#,
            "{ spawn: { server: local } }",
        );
        assert_eq!(
            scenario(&spawned).shard(Shard { index: 0, count: 2 }),
            Err(ShardError::Spawned("t".into()))
        );
    }
}
