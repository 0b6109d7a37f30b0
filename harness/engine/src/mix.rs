//! A phase's mix of operations, prepared once: each op's endpoint, label, method and
//! argument template, and the cumulative weights a worker picks from.

use mcp_slo_core::spec::Op;
use mcp_slo_core::spec::args::ArgTemplate;
use mcp_slo_core::spec::ops::Method;

pub(crate) struct PreparedOp {
    pub(crate) endpoint: usize,
    /// The label calls are recorded under.
    pub(crate) tool: String,
    pub(crate) method: Method,
    pub(crate) args: ArgTemplate,
}

/// One phase's operations with their cumulative weights.
pub(crate) struct Mix {
    ops: Vec<PreparedOp>,
    cumulative: Vec<u32>,
}

impl Mix {
    pub(crate) fn new(ops: &[Op], endpoints: &[String]) -> Mix {
        Mix {
            ops: ops
                .iter()
                .map(|op| PreparedOp {
                    endpoint: endpoints.iter().position(|n| *n == op.target).unwrap_or(0),
                    tool: op.tool.clone(),
                    method: op.method.clone(),
                    args: op.args.clone(),
                })
                .collect(),
            cumulative: ops
                .iter()
                .scan(0, |acc, op| {
                    *acc += op.weight;
                    Some(*acc)
                })
                .collect(),
        }
    }

    pub(crate) fn pick(&self, rng: &mut fastrand::Rng) -> Option<&PreparedOp> {
        let pick = rng.u32(0..*self.cumulative.last()?);
        self.ops
            .get(self.cumulative.iter().position(|c| pick < *c)?)
    }
}
