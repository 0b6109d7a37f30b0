//! The emulator goes away and comes back: clean tool errors and `/readyz` false while it is
//! gone, recovery when it returns. A TCP relay between the server and moto plays the
//! network.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Setup, require_moto};

/// Relays 127.0.0.1:<port> to moto while `up`; refuses (closes at once) while down.
async fn relay(target: String, up: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            if !up.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_down_gives_clean_errors_and_unready_then_recovers() {
    let endpoint = require_moto!();
    let up = Arc::new(AtomicBool::new(true));
    let via = relay(
        endpoint.trim_start_matches("http://").to_owned(),
        up.clone(),
    )
    .await;
    let server = Setup {
        endpoint_url: Some(via),
        ..Setup::new()
    }
    .start()
    .await;
    let args = json!({"bucket": "mcp-slo-reports", "key": "daily.csv"});
    assert!(server.call("s3_read", args.clone()).await.is_ok());
    let (status, _) = server.get("/readyz").await;
    assert_eq!(status, 200);

    up.store(false, Ordering::SeqCst);
    let down = server.call("s3_read", args.clone()).await;
    assert!(down.is_tool_error(), "{}", down.body);
    assert!(
        down.text().contains("unreachable") || down.text().contains("failed"),
        "{}",
        down.text()
    );
    assert!(
        !down.text().contains("AKIA") && !down.text().contains("Secret"),
        "no credentials leak: {}",
        down.text()
    );
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"name\":\"sts\",\"ok\":false"), "{body}");

    up.store(true, Ordering::SeqCst);
    let back = server.call("s3_read", args).await;
    assert!(back.is_ok(), "recovered: {}", back.body);
    let (status, _) = server.get("/readyz").await;
    assert_eq!(status, 200);
    server.stop().await;
}
