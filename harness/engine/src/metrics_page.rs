//! A server's own metrics page (Prometheus text), as the probes and the `server_metric`
//! objectives read it.

use std::time::Duration;

/// The page's URL: `beside` is `/metrics` next to an endpoint ending in `/mcp`.
pub fn page_url(spec: &str, endpoint_url: &str) -> Option<String> {
    if spec == "beside" {
        let base = endpoint_url.strip_suffix("/mcp")?;
        return Some(format!("{base}/metrics"));
    }
    Some(spec.to_owned())
}

/// The page's text, or why it could not be read.
pub async fn read_page(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    response.text().await.map_err(|e| format!("{url}: {e}"))
}
