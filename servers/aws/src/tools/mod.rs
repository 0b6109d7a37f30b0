//! The AWS tier's tools.

pub mod lambda_invoke;
pub mod permissions;
pub mod rds_query;
pub mod s3_read;
pub mod sdk;
