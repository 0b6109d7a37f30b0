//! What a server says about its own build: our servers put
//! `mcp_build_info{version="0.1.0",profile="release"} 1` in their `/metrics`. A server that
//! does not (or has no `/metrics`) leaves the profile unknown.

use std::time::Duration;

use mcp_slo_core::result::BuildProfile;

/// How long a target gets to answer: the question is asked once, before the load.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The Prometheus endpoint beside an MCP endpoint (`…/mcp` → `…/metrics`).
fn metrics_url(mcp_url: &str) -> Option<String> {
    let base = mcp_url.strip_suffix("/mcp")?;
    Some(format!("{base}/metrics"))
}

/// The build profile the server at `mcp_url` states; `None` when it states none.
pub async fn build_profile(mcp_url: &str) -> Option<BuildProfile> {
    let url = metrics_url(mcp_url)?;
    let response = reqwest::Client::new()
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    parse(&response.text().await.ok()?)
}

/// The `profile` label of the first `mcp_build_info` sample in a Prometheus text page.
pub fn parse(metrics: &str) -> Option<BuildProfile> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("mcp_build_info{"))
        .find_map(|rest| {
            let labels = &rest[..rest.find('}')?];
            labels.split(',').find_map(|pair| {
                let value = pair.trim().strip_prefix("profile=")?;
                BuildProfile::parse(value.trim_matches('"'))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_label_is_read_from_the_build_info_line() {
        let cases = [
            (
                "# TYPE mcp_build_info gauge\nmcp_build_info{version=\"0.1.0\",profile=\"release\"} 1\n",
                Some(BuildProfile::Release),
            ),
            (
                "mcp_build_info{profile=\"debug\",version=\"0.1.0\"} 1",
                Some(BuildProfile::Debug),
            ),
            ("mcp_build_info{version=\"0.1.0\"} 1", None),
            ("mcp_build_info{profile=\"fast\"} 1", None),
            ("mcp_build_info_total{profile=\"debug\"} 1", None),
            ("mcp_requests_in_flight 3\n# EOF\n", None),
            ("mcp_build_info{profile=\"debug\"", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn the_metrics_page_sits_beside_the_mcp_endpoint() {
        assert_eq!(
            metrics_url("http://127.0.0.1:8080/mcp").as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        assert_eq!(metrics_url("http://127.0.0.1:8080/rpc"), None);
    }
}
