//! The metrics pages the scenario's `server_metric` objectives judge, each read once before
//! the load and once after it.

use std::collections::BTreeMap;

use mcp_slo_core::measure::MetricsPage;
use mcp_slo_core::spec::{ObjectiveKind, Scenario};
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::metrics_page::{page_url, read_page};

/// Reads every page the objectives name (by target and URL as written): `after` is false
/// before the load, true after it.
pub async fn read(
    scenario: &Scenario,
    endpoints: &BTreeMap<String, Endpoint>,
    pages: &mut Vec<MetricsPage>,
    after: bool,
) {
    let client = mcp_slo_engine::reqwest::Client::new();
    for o in &scenario.objectives {
        let ObjectiveKind::ServerMetric(m) = &o.kind else {
            continue;
        };
        if !after && pages.iter().any(|p| p.target == m.target && p.url == m.url) {
            continue;
        }
        if !after {
            pages.push(MetricsPage {
                target: m.target.clone(),
                url: m.url.clone(),
                ..MetricsPage::default()
            });
        }
        let Some(page) = pages
            .iter_mut()
            .find(|p| p.target == m.target && p.url == m.url)
        else {
            continue;
        };
        if after && page.after.is_some() {
            continue;
        }
        let text = match endpoints.get(&m.target).map(|e| page_url(&m.url, &e.url)) {
            Some(Some(url)) => read_page(&client, &url).await,
            Some(None) => Err(format!(
                "target {}'s URL does not end in /mcp: give the metrics page's url",
                m.target
            )),
            None => Err(format!("no target {}", m.target)),
        };
        match (text, after) {
            (Ok(t), false) => page.before = Some(t),
            (Ok(t), true) => page.after = Some(t),
            (Err(e), when) => {
                let when = if when { "after" } else { "before" };
                page.error = Some(format!("{when} the load: {e}"));
            }
        }
    }
}
