//! The JSON-RPC error codes the tiers answer with; the harness tells them apart by these.

/// Server-defined JSON-RPC error codes (the -32000..-32099 range).
pub mod code {
    /// The call outlived its deadline (`timeout_ms`).
    pub const TIMED_OUT: i32 = -32001;
    /// Authentication required or failed.
    pub const UNAUTHORIZED: i32 = -32002;
    /// Too many requests in flight: retry later.
    pub const OVERLOADED: i32 = -32003;
    /// Host or Origin not allowed.
    pub const FORBIDDEN: i32 = -32004;
    /// Over the rate limit: retry after `Retry-After`.
    pub const RATE_LIMITED: i32 = -32029;
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const INVALID_PARAMS: i32 = -32602;
}
