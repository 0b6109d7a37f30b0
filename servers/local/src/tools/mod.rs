//! The local tier's tools.

pub mod cache_invalidate;
pub mod cache_store;
pub mod file_read;
pub mod mysql;
pub mod pg_pool;
pub mod pg_values;
pub mod postgres;
pub mod redis_conn;
pub mod result_cache;
pub mod sql_rows;
pub mod sqlite;
