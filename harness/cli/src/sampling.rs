//! The server processes a run samples (every spawned target, followed across restarts, and
//! `--target-pid`): their cost per call and their footprint over the load.

use std::sync::{Arc, Mutex};

use mcp_slo_core::measure::{Footprint, FootprintSample, RunRecord};
use mcp_slo_core::result::{BuildProfile, Finding, TargetCost, TargetInfo};
use mcp_slo_core::spec::Scenario;
use mcp_slo_engine::sampler::{Pid, Sampler};
use tokio::task::JoinHandle;

use crate::cost::{self, Measured};
use crate::targets::Started;

/// A sampled process, with its target and build profile.
struct Sampled {
    target: Option<String>,
    build_profile: Option<BuildProfile>,
}

/// The samplers, ticking while the load runs.
pub struct Sampling {
    sampled: Vec<Sampled>,
    samplers: Arc<Mutex<Vec<Sampler>>>,
    task: Option<JoinHandle<()>>,
}

impl Sampling {
    /// Starts sampling every spawned target, and `--target-pid` (placed on the scenario's
    /// one target given by URL, if it has exactly one) unless it is one of them.
    pub fn start(
        scenario: &Scenario,
        started: &Started,
        target_pid: Option<u32>,
        infos: &[TargetInfo],
    ) -> Sampling {
        let mut sampled = Vec::new();
        let mut samplers = Vec::new();
        for (name, s) in &started.spawned {
            sampled.push(Sampled {
                target: Some(name.clone()),
                build_profile: s.build_profile,
            });
            samplers.push(Sampler::new(s.pid_source()));
        }
        if let Some(pid) = target_pid
            && !started.spawned.iter().any(|(_, s)| s.pid() == pid)
        {
            let servers = cost::servers(scenario);
            let by_url: Vec<&TargetInfo> = infos
                .iter()
                .filter(|i| !i.spawned && servers.contains(&i.name))
                .collect();
            sampled.push(match by_url.as_slice() {
                [only] => Sampled {
                    target: Some(only.name.clone()),
                    build_profile: only.build_profile,
                },
                _ => Sampled {
                    target: None,
                    build_profile: None,
                },
            });
            samplers.push(Sampler::new(Pid::Fixed(pid)));
        }
        let samplers = Arc::new(Mutex::new(samplers));
        let task = (!sampled.is_empty()).then(|| {
            let samplers = samplers.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Sampler::INTERVAL);
                loop {
                    tick.tick().await;
                    let mut samplers = samplers.lock().unwrap_or_else(|p| p.into_inner());
                    samplers.iter_mut().for_each(Sampler::tick);
                }
            })
        });
        Sampling {
            sampled,
            samplers,
            task,
        }
    }

    /// Stops sampling (the cost is the load's alone: probes run after it).
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Each process's footprint from `origin` (the start of the load) on.
    pub fn footprints(&self, origin: Option<std::time::Instant>) -> Vec<Footprint> {
        let Some(origin) = origin else {
            return Vec::new();
        };
        let samplers = self.samplers.lock().unwrap_or_else(|p| p.into_inner());
        self.sampled
            .iter()
            .zip(samplers.iter())
            .map(|(s, sampler)| {
                let mut pids: Vec<u32> = Vec::new();
                let samples = sampler
                    .footprints()
                    .iter()
                    .filter(|f| f.at >= origin)
                    .map(|f| {
                        if pids.last() != Some(&f.pid) {
                            pids.push(f.pid);
                        }
                        FootprintSample {
                            at_ms: f.at.duration_since(origin).as_millis() as u64,
                            rss_bytes: f.rss_bytes,
                            fds: f.fds,
                        }
                    })
                    .collect();
                Footprint {
                    target: s.target.clone(),
                    pids,
                    samples,
                }
            })
            .collect()
    }

    /// Each sampled process's cost over its own target's calls, and the findings that
    /// explain what could not be divided.
    pub fn costs(
        &self,
        scenario: &Scenario,
        engine: &RunRecord,
    ) -> (Vec<TargetCost>, Vec<Finding>) {
        let samplers = self.samplers.lock().unwrap_or_else(|p| p.into_inner());
        let measured: Vec<Measured> = self
            .sampled
            .iter()
            .zip(samplers.iter())
            .filter_map(|(s, sampler)| {
                Some(Measured {
                    target: s.target.clone(),
                    build_profile: s.build_profile,
                    usage: sampler.usage()?,
                })
            })
            .collect();
        let split = cost::split_calls(
            &cost::servers(scenario),
            &cost::label_targets(scenario),
            &cost::calls_by_label(&engine.measurements.recorder),
        );
        cost::divide(&split, &measured)
    }
}

impl Drop for Sampling {
    fn drop(&mut self) {
        self.stop();
    }
}
