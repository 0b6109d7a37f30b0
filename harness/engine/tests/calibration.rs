//! The harness against the truth: a calibration server with an exactly known service time,
//! measured at the same moment by the harness (open model) and by a minimal reference
//! client (one OS thread, one blocking connection, the same precise pacing, no runtime,
//! no queue), each at 100 calls/s. Both see the same machine at the same time.
//!
//! What must hold on any machine is asserted: every scheduled call answered, every start
//! recorded, no p50 below the known service time (latency is taken from the intended
//! start), and the pacer free of the defect it once had (tokio's millisecond timer put
//! 0.5–1 ms of its own into every call). The microsecond goals (the instrument's own part
//! within 50 µs at the median, p50 within 5 % or 50 µs of the truth) are speed goals: a
//! debug build on a shared machine cannot hold them steadily, so `mcp-slo calibrate`
//! (release build, `scripts/calibrate.sh`) judges and tabulates them; this test prints the
//! figures. Its own test binary: nothing else runs beside it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::{Mode, Scenario};
use mcp_slo_engine::calibration::{CalibrationServer, reference_client};
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::run::run;

/// The calibration server on its own thread and runtime, as a server in another process
/// would be; it stops when the returned sender is dropped.
fn server_thread(service: Duration) -> (String, std::sync::mpsc::Sender<()>) {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let server = CalibrationServer::start(service).await.expect("server");
            url_tx.send(server.url.clone()).expect("url");
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            drop(server);
        });
    });
    (url_rx.recv().expect("server started"), stop_tx)
}

fn p50(mut v: Vec<u64>) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pacer_adds_microseconds_and_the_p50_never_undercuts_the_known_service_time() {
    for service in [Duration::ZERO, Duration::from_millis(2)] {
        let (url, _stop) = server_thread(service);
        let text = format!(
            "version: mcp-slo/v1\nname: calibration\ntargets:\n  stub: {{ url: \"{}\", mode: stateless, protocol_version: 2025-11-25 }}\nload:\n  model: open\n  phases:\n    - {{ duration: 1s, rate: 100/s, record: false }}\n    - {{ duration: 4s, rate: 100/s }}\nmix:\n  - {{ target: stub, tool: calibrate }}\n",
            url
        );
        let s = Scenario::from_yaml(Path::new("calibration.yaml"), &text).expect("valid");
        let endpoint = Endpoint::new(url.clone(), Mode::Stateless, s.targets["stub"].protocol);
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calibrate","arguments":{}}}"#;
        let headers: Vec<(String, String)> = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        // The reference runs through the harness's recorded phase (after its warm-up).
        let reference_url = url.clone();
        let reference = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            reference_client(&reference_url, &headers, body.as_bytes(), 100.0, 350)
        });
        let result = run(&s, BTreeMap::from([("stub".to_owned(), endpoint)]), None)
            .await
            .expect("run");
        let reference = p50(reference
            .join()
            .expect("reference thread")
            .expect("reference exchange"));
        let overall = result.measurements.recorder.overall();
        assert_eq!(overall.outcomes.ok, 400, "every scheduled call answered");
        assert_eq!(
            overall.outcomes.get(CallOutcome::Ok),
            overall.outcomes.total()
        );
        let harness = overall.latency.value_at_quantile(0.5) as f64;
        let r = &result.measurements.recorder;
        assert_eq!(
            r.start_lateness.len(),
            500,
            "every open-model start is recorded"
        );
        let instrument = r.start_lateness.value_at_quantile(0.5) as f64;
        let figures = format!(
            "service {service:?}: harness p50 {harness} µs, reference client p50 {reference} µs at the same time; start lateness p50 {instrument} µs p99 {} µs, pacer p50 {} µs",
            r.start_lateness.value_at_quantile(0.99),
            r.pacer_lateness.value_at_quantile(0.5),
        );
        eprintln!("{figures}");
        // With a millisecond timer the pacer wakes up to 1 ms late, uniformly: its median
        // lateness is then about 500 µs and the start's above that. A pacer sleeping on
        // the precise clock wakes 10–80 µs late on a virtual machine (taken out of its
        // 400 µs lead, not out of the call), so these bounds fail on that defect and not
        // on a busy machine.
        let pacer = r.pacer_lateness.value_at_quantile(0.5) as f64;
        assert!(pacer <= 250.0, "the pacer wakes late: {figures}");
        assert!(
            instrument <= 500.0,
            "the hand-over to a worker is slow: {figures}"
        );
        assert!(
            harness >= service.as_micros() as f64 && reference >= service.as_micros() as f64,
            "{figures}: below the service time"
        );
    }
}
