//! `file_read` confinement: a table of hostile paths, and a symlink swapped in during reads.

use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{DataRoot, Setup, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_are_all_refused() {
    require_services!();
    let data = DataRoot::new();
    let root = data.path();
    let reports = root.join("data/reports");
    symlink("/etc/passwd", reports.join("abs_link")).unwrap();
    symlink("../../outside/secret.txt", reports.join("rel_link")).unwrap();
    symlink(root.join("outside"), reports.join("dir_link")).unwrap();
    let fifo = reports.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let server = Setup::new().start(&data).await;
    let cases = [
        ("../../outside/secret.txt", "contains `..`"),
        ("reports/../../outside/secret.txt", "contains `..`"),
        ("/data/reports/../../outside/secret.txt", "contains `..`"),
        ("/etc/passwd", "outside the allowed paths"),
        ("/data/reportsX/daily.csv", "outside the allowed paths"),
        ("/data", "outside the allowed paths"),
        ("outside/secret.txt", "outside the allowed paths"),
        ("reports/abs_link", "resolves outside the allowed paths"),
        ("reports/rel_link", "resolves outside the allowed paths"),
        (
            "reports/dir_link/secret.txt",
            "resolves outside the allowed paths",
        ),
        ("reports/daily.csv\0.txt", "NUL byte"),
        ("reports/%2e%2e/%2e%2e/outside/secret.txt", "no such file"),
        ("reports/..%2f..%2foutside%2fsecret.txt", "no such file"),
        (
            "reports\\..\\..\\outside\\secret.txt",
            "outside the allowed paths",
        ),
        ("reports/fifo", "not a regular file"),
        ("reports", "is a directory"),
        ("", "empty"),
    ];
    for (path, expected) in cases {
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            server.call("file_read", json!({"path": path})),
        )
        .await
        .unwrap_or_else(|_| panic!("{path:?} hung"));
        assert!(
            answer.is_tool_error(),
            "{path:?} must be refused: {}",
            answer.body
        );
        assert!(
            answer.text().contains(expected),
            "{path:?}: {}",
            answer.text()
        );
        assert!(
            !answer.body.to_string().contains("TOP-SECRET"),
            "{path:?} leaked"
        );
        assert!(
            !answer.body.to_string().contains("root:x:0"),
            "{path:?} leaked /etc/passwd"
        );
    }
    let ok = server
        .call("file_read", json!({"path": "config/app.yaml"}))
        .await;
    assert!(ok.is_ok(), "{}", ok.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_swapped_in_between_check_and_open_never_leaks() {
    require_services!();
    let data = DataRoot::new();
    let target = data.path().join("data/reports/swap");
    std::fs::write(&target, "inside").unwrap();
    let server = Setup::new().start(&data).await;
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let target = target.clone();
        let outside = data.path().join("outside/secret.txt");
        std::thread::spawn(move || {
            let staging = target.with_extension("tmp");
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&staging);
                if swaps.load(Ordering::Relaxed).is_multiple_of(2) {
                    let _ = symlink(&outside, &staging);
                } else {
                    let _ = std::fs::write(&staging, "inside");
                }
                let _ = std::fs::rename(&staging, &target);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Read until the swapper has raced at least 300 calls' worth of swaps and both states
    // were seen. On a loaded machine the swapper thread may get little CPU, so the loop is
    // bounded by progress (and a generous time limit), not by a fixed number of calls.
    let give_up = Instant::now() + Duration::from_secs(60);
    let (mut inside, mut refused) = (0u64, 0u64);
    while swaps.load(Ordering::Relaxed) < 300 || inside == 0 || refused == 0 {
        if Instant::now() > give_up {
            break;
        }
        let answer = server
            .call("file_read", json!({"path": "reports/swap"}))
            .await;
        assert!(
            !answer.body.to_string().contains("TOP-SECRET"),
            "swapped symlink leaked: {}",
            answer.body
        );
        if answer.is_ok() {
            inside += 1;
        } else {
            refused += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let swaps = swaps.load(Ordering::Relaxed);
    assert!(
        swaps >= 300 && inside > 0 && refused > 0,
        "within 60 s the swapper made {swaps} swaps (want 300) while calls saw \
         {inside} reads and {refused} refusals (want both)"
    );
    server.stop().await;
}
