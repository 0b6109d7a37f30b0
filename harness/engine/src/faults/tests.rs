use std::sync::Mutex;

use mcp_slo_core::spec::faults::Proxy;

use super::*;

fn fault(name: &str, at_ms: u64, action: FaultAction) -> Fault {
    Fault {
        name: name.into(),
        at: Duration::from_millis(at_ms),
        action,
    }
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

#[tokio::test]
async fn faults_run_in_order_from_the_scenario_directory_and_record_their_windows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let listen = free.local_addr().expect("addr");
    drop(free);
    // Nothing connects through it here: only its delay is set and removed.
    let proxies = Proxies::start(&[Proxy {
        name: "db".into(),
        listen,
        to: "127.0.0.1:9".parse().expect("an address"),
    }])
    .await
    .expect("proxy");
    let faults = [
        // Listed out of order: run by `at`.
        fault(
            "mend",
            150,
            FaultAction::Break {
                command: sh("echo down > state"),
                then: sh("echo up >> state"),
                lasting: Duration::from_millis(200),
            },
        ),
        fault(
            "restart",
            0,
            FaultAction::Run {
                command: sh("sleep 0.1; echo restarted > restart"),
            },
        ),
        fault(
            "slow",
            500,
            FaultAction::Delay {
                proxy: "db".into(),
                by: Duration::from_millis(50),
                lasting: Duration::from_millis(100),
            },
        ),
        fault(
            "broken",
            700,
            FaultAction::Run {
                command: sh("echo no such service >&2; exit 3"),
            },
        ),
        fault(
            "unreachable",
            800,
            FaultAction::Cut {
                proxy: "db".into(),
                lasting: Duration::from_millis(100),
            },
        ),
        fault(
            "absent",
            750,
            FaultAction::Restart {
                target: "local".into(),
                down: Duration::ZERO,
            },
        ),
    ];
    let heard = Mutex::new(Vec::new());
    let log = |line: &str| heard.lock().expect("log").push(line.to_owned());
    let windows = inject(
        &faults,
        Instant::now(),
        Stage {
            dir: dir.path(),
            proxies: &proxies,
            spawned: &mut [],
        },
        &log,
    )
    .await;
    let names: Vec<&str> = windows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        ["restart", "mend", "slow", "broken", "absent", "unreachable"]
    );
    let restart = &windows[0];
    let ended = restart.ended_ms.expect("the restart ended");
    assert!(ended >= restart.started_ms + 100, "{restart:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("restart")).expect("ran in the directory"),
        "restarted\n"
    );
    let mend = &windows[1];
    assert!(mend.started_ms >= 150, "{mend:?}");
    assert!(
        mend.ended_ms.expect("mended") >= mend.started_ms + 200,
        "{mend:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state")).expect("state"),
        "down\nup\n"
    );
    assert!(windows[2].ended_ms.expect("delay ended") >= windows[2].started_ms + 100);
    let broken = &windows[3];
    assert_eq!(broken.ended_ms, None);
    let error = broken.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("exit status: 3") && error.contains("no such service"),
        "{error}"
    );
    assert_eq!(
        windows[4].error.as_deref(),
        Some("target local was not spawned by the harness")
    );
    let cut = &windows[5];
    assert!(
        cut.error.is_none() && cut.ended_ms.expect("cut ended") >= cut.started_ms + 100,
        "{cut:?}"
    );
    let heard = heard.lock().expect("log");
    assert!(
        heard.iter().any(|l| l.starts_with("fault broken failed: ")),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_command_past_its_limit_is_killed_with_what_it_started() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = run_within(
        &sh("sleep 60 & echo $! > child; wait"),
        dir.path(),
        Duration::from_millis(500),
    )
    .await
    .expect_err("past its limit");
    assert!(error.contains("still ran after 0.5s"), "{error}");
    let child: i32 = std::fs::read_to_string(dir.path().join("child"))
        .expect("the command wrote its child's pid")
        .trim()
        .parse()
        .expect("a pid");
    // Killed with its group: gone (or a zombie until its reaper looks) within a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let running = state
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'));
        if !running {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command's child {child} outlived it: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
