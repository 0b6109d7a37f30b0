//! JSON-RPC error answers produced outside rmcp (by the admission stack and the deadline),
//! with codes a client can tell apart.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

pub use mcp_slo_vocab::jsonrpc::code;

/// A JSON-RPC error sent as an HTTP response.
pub struct RpcErrorResponse {
    pub status: StatusCode,
    pub id: Value,
    pub code: i32,
    pub message: String,
    pub data: Value,
    pub retry_after_secs: Option<u64>,
    pub www_authenticate: Option<HeaderValue>,
}

impl RpcErrorResponse {
    pub fn new(status: StatusCode, code: i32, message: impl Into<String>, kind: &str) -> Self {
        RpcErrorResponse {
            status,
            id: Value::Null,
            code,
            message: message.into(),
            data: json!({ "kind": kind }),
            retry_after_secs: None,
            www_authenticate: None,
        }
    }

    pub fn with_id(mut self, id: Value) -> Self {
        self.id = id;
        self
    }

    pub fn with_data(mut self, key: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.data {
            map.insert(key.to_owned(), value);
        }
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn body(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message, "data": self.data },
        })
    }
}

impl IntoResponse for RpcErrorResponse {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(value) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
