//! The `faults:` and `proxies:` sections: what is made to go wrong during the load, and when.
//! A fault runs a command (a restart, or a stop and later a start), adds latency on a TCP
//! proxy the harness runs in front of a backend, cuts a proxy (the backend unreachable),
//! or kills a spawned target and starts it again. Its window (from its start to its end) is what the `recovery` objective measures
//! from and what `answered` / `clean_errors` may leave out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::raw::Located;
use super::{Endpoint, Load, Target};
use crate::units::parse_duration;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// What objectives and the report call it: letters, digits, `-` and `_`.
    pub name: Located<String>,
    /// When it starts, from the start of the load (warm-up included), e.g. `20s`.
    pub at: Located<String>,
    /// A command (program and arguments, run from the scenario's directory). Alone, the
    /// fault lasts while it runs (a restart); with `then`, it breaks something and `then`
    /// mends it after `for`.
    #[serde(default)]
    pub run: Option<Vec<String>>,
    /// The command that ends the fault, run `for` after `run` finished.
    #[serde(default)]
    pub then: Option<Vec<String>>,
    /// How long the fault lasts: until `then`, the added latency, the cut, or a restarted
    /// target's time down.
    #[serde(default, rename = "for")]
    pub lasting: Option<Located<String>>,
    /// Latency added to what a proxy's backend sends back (each answer chunk is held for
    /// `by`), on one of the scenario's proxies.
    #[serde(default)]
    pub delay: Option<RawDelay>,
    /// A proxy under `proxies:` cut for `for`: its open connections are closed and new
    /// ones refused, as when the backend behind it is down; then it passes again.
    #[serde(default)]
    pub cut: Option<Located<String>>,
    /// A spawned target, killed (SIGKILL) and started again on its address after `for`.
    #[serde(default)]
    pub restart: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDelay {
    /// A name under `proxies:`.
    pub proxy: Located<String>,
    /// How long each chunk the backend sends back is held, e.g. `200ms`.
    pub by: Located<String>,
}

/// A TCP proxy the harness runs for the whole run, in front of a backend; point the
/// target at `listen` (e.g. with `spawn.env`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// A loopback address, e.g. `127.0.0.1:15432`.
    pub listen: Located<String>,
    /// The backend, e.g. `127.0.0.1:5432`.
    pub to: Located<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub name: String,
    /// From the start of the load.
    pub at: Duration,
    pub action: FaultAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// A command; the fault lasts while it runs.
    Run { command: Vec<String> },
    /// A command that breaks something, and one that mends it `lasting` after.
    Break {
        command: Vec<String>,
        then: Vec<String>,
        lasting: Duration,
    },
    /// Latency added on a proxy for `lasting`.
    Delay {
        proxy: String,
        by: Duration,
        lasting: Duration,
    },
    /// A proxy that passes nothing for `lasting`: the backend behind it is unreachable.
    Cut { proxy: String, lasting: Duration },
    /// A spawned target killed and, after `down`, started again on its address.
    Restart { target: String, down: Duration },
}

impl FaultAction {
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Run { .. } => "run",
            FaultAction::Break { .. } => "break",
            FaultAction::Delay { .. } => "delay",
            FaultAction::Cut { .. } => "cut",
            FaultAction::Restart { .. } => "restart",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub name: String,
    pub listen: SocketAddr,
    pub to: SocketAddr,
}

/// Longest latency a delay fault may add (a longer one is a stopped backend: use `run`).
const MAX_DELAY: Duration = Duration::from_secs(60);

impl super::validate::Validator {
    pub(super) fn proxies(&mut self, raw: BTreeMap<String, RawProxy>) -> Vec<Proxy> {
        let mut proxies = Vec::new();
        for (name, p) in raw {
            let path = format!("proxies.{name}");
            let listen = self.located(&format!("{path}.listen"), &p.listen, |t| {
                t.parse::<SocketAddr>()
                    .map_err(|e| format!("{t:?} is not an address: {e}"))
                    .and_then(|a| {
                        if a.ip().is_loopback() {
                            Ok(a)
                        } else {
                            Err(format!("{t:?} must be a loopback address"))
                        }
                    })
            });
            let to = self.located(&format!("{path}.to"), &p.to, |t| {
                t.parse::<SocketAddr>()
                    .map_err(|e| format!("{t:?} is not an address: {e}"))
            });
            if let (Some(listen), Some(to)) = (listen, to) {
                if proxies.iter().any(|q: &Proxy| q.listen == listen) {
                    self.at(
                        &format!("{path}.listen"),
                        &p.listen,
                        "another proxy listens there",
                    );
                }
                if to == listen {
                    self.at(&format!("{path}.to"), &p.to, "is the proxy's own address");
                }
                proxies.push(Proxy { name, listen, to });
            }
        }
        // A proxy passing to a proxy would pass to itself, or round a loop.
        for p in &proxies {
            if proxies.iter().any(|q| q.listen == p.to && q.name != p.name) {
                self.push(
                    &format!("proxies.{}.to", p.name),
                    "is another proxy's address: point it at the backend",
                );
            }
        }
        proxies
    }

    pub(super) fn faults(
        &mut self,
        raw: Vec<RawFault>,
        load: &Load,
        targets: &BTreeMap<String, Target>,
        proxies: &[Proxy],
    ) -> Vec<Fault> {
        let mut faults: Vec<Fault> = Vec::new();
        for (i, f) in raw.into_iter().enumerate() {
            let path = format!("faults[{i}]");
            let name = f.name.value().trim().to_owned();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.at(
                    &format!("{path}.name"),
                    &f.name,
                    format!("{name:?} must be non-empty and use only letters, digits, - and _"),
                );
            } else if faults.iter().any(|g| g.name == name) {
                self.at(
                    &format!("{path}.name"),
                    &f.name,
                    "another fault has this name",
                );
            } else if load.phases.iter().any(|p| p.name == name) {
                // An alarm's `after` names either.
                self.at(&format!("{path}.name"), &f.name, "a phase has this name");
            }
            let load_total = load.total();
            let at = self.located(&format!("{path}.at"), &f.at, |t| parse_duration(t));
            if let Some(at) = at
                && at >= load_total
            {
                self.at(
                    &format!("{path}.at"),
                    &f.at,
                    format!("starts after the load ends ({}s)", load_total.as_secs_f64()),
                );
            }
            let mut f = f;
            let written = f.lasting.take();
            let lasting = written.as_ref().map(|l| {
                (
                    l,
                    self.located(&format!("{path}.for"), l, |t| parse_duration(t)),
                )
            });
            let action = self.fault_action(&path, f, lasting, targets, proxies);
            if let (Some(at), Some(action)) = (at, action) {
                let lasting = match &action {
                    FaultAction::Run { .. } => Duration::ZERO,
                    FaultAction::Break { lasting, .. }
                    | FaultAction::Delay { lasting, .. }
                    | FaultAction::Cut { lasting, .. } => *lasting,
                    FaultAction::Restart { down, .. } => *down,
                };
                if at < load_total && at + lasting >= load_total {
                    self.push(
                        &format!("{path}.for"),
                        format!(
                            "the fault would end after the load ({}s): nothing would show the recovery",
                            load_total.as_secs_f64()
                        ),
                    );
                }
                faults.push(Fault { name, at, action });
            }
        }
        faults
    }

    fn fault_action(
        &mut self,
        path: &str,
        f: RawFault,
        lasting: Option<(&Located<String>, Option<Duration>)>,
        targets: &BTreeMap<String, Target>,
        proxies: &[Proxy],
    ) -> Option<FaultAction> {
        let given = [
            f.run.is_some(),
            f.delay.is_some(),
            f.cut.is_some(),
            f.restart.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.push(path, "give exactly one of run, delay, cut, restart");
            return None;
        }
        if f.then.is_some() && f.run.is_none() {
            self.push(&format!("{path}.then"), "only a run fault has a then");
        }
        let needs_for = |v: &mut Self, what: &str| {
            v.push(&format!("{path}.for"), format!("missing: {what}"));
        };
        if let Some(command) = f.run {
            let command = self.command(&format!("{path}.run"), command)?;
            return match (f.then, lasting) {
                (None, None) => Some(FaultAction::Run { command }),
                (None, Some((l, _))) => {
                    self.at(
                        &format!("{path}.for"),
                        l,
                        "a run fault lasts while its command runs; give then to end it later",
                    );
                    None
                }
                (Some(_), None) => {
                    needs_for(self, "how long after run its then comes");
                    None
                }
                (Some(then), Some((_, lasting))) => Some(FaultAction::Break {
                    command,
                    then: self.command(&format!("{path}.then"), then)?,
                    lasting: lasting?,
                }),
            };
        }
        if let Some(proxy) = f.cut {
            self.known_proxy(&format!("{path}.cut"), &proxy, proxies);
            let Some((_, lasting)) = lasting else {
                needs_for(self, "how long the proxy stays cut");
                return None;
            };
            return Some(FaultAction::Cut {
                proxy: proxy.value().clone(),
                lasting: lasting?,
            });
        }
        if let Some(d) = f.delay {
            self.known_proxy(&format!("{path}.delay.proxy"), &d.proxy, proxies);
            let by = self.located(&format!("{path}.delay.by"), &d.by, |t| {
                parse_duration(t).and_then(|by| {
                    if by.is_zero() || by > MAX_DELAY {
                        Err(format!("{t:?} must be above 0 and at most 60s"))
                    } else {
                        Ok(by)
                    }
                })
            });
            let Some((_, lasting)) = lasting else {
                needs_for(self, "how long the latency is added");
                return None;
            };
            return Some(FaultAction::Delay {
                proxy: d.proxy.value().clone(),
                by: by?,
                lasting: lasting?,
            });
        }
        let target = f.restart?;
        match targets.get(target.value()) {
            Some(Target {
                endpoint: Endpoint::Spawn { .. },
                same_server_as: None,
                ..
            }) => {}
            Some(_) => self.at(
                &format!("{path}.restart"),
                &target,
                format!(
                    "{:?} is not spawned by the harness: only a spawned target can be restarted",
                    target.value()
                ),
            ),
            None => self.at(
                &format!("{path}.restart"),
                &target,
                format!("{:?} is not a target", target.value()),
            ),
        }
        let down = match lasting {
            Some((_, d)) => d?,
            None => Duration::ZERO,
        };
        Some(FaultAction::Restart {
            target: target.value().clone(),
            down,
        })
    }

    fn known_proxy(&mut self, path: &str, name: &Located<String>, proxies: &[Proxy]) {
        if !proxies.iter().any(|p| &p.name == name.value()) {
            self.at(
                path,
                name,
                format!("{:?} is not under proxies", name.value()),
            );
        }
    }

    fn command(&mut self, path: &str, command: Vec<String>) -> Option<Vec<String>> {
        if command.first().is_none_or(|p| p.trim().is_empty()) {
            self.push(
                path,
                "needs a program (and its arguments), e.g. [bash, script.sh]",
            );
            return None;
        }
        Some(command)
    }
}

#[cfg(test)]
mod tests;
