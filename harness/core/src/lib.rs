//! The harness's pure core: the scenario spec (raw YAML → validated model), argument
//! generators, the one maths module, every verdict and the run result model. No network,
//! no clocks: fast tests.

pub mod alarms;
pub mod compare;
pub mod feasibility;
pub mod maths;
pub mod measure;
pub mod prometheus;
pub mod result;
pub mod spec;
pub mod stats;
pub mod units;
pub mod verdict;
