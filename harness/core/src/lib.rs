//! The harness's pure core: the scenario spec (raw YAML → validated model), argument
//! generators, SLO maths and the run result model. No network, no clocks: fast tests.

pub mod alarms;
pub mod compare;
pub mod feasibility;
pub mod measure;
pub mod result;
pub mod slo;
pub mod spec;
pub mod stats;
pub mod units;
pub mod verdict;
