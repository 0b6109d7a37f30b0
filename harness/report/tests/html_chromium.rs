//! `report.html` tests, in one binary: the page's structure and edge cases (`html/render.rs`,
//! on the sample in `html/sample.rs`), its cost and build lines (`html/cost.rs`), then the
//! sample page loaded in headless Chromium, which must parse it without console errors and
//! screenshot it.
//!
//! The screenshot goes to `$MCP_SLO_ARTIFACTS/report-screenshot.png` when that is set, else
//! beside the test's temp dir under the target directory; the test prints the path.
//! Without Chromium (`apt-get install -y chromium`) the browser test is skipped, or fails
//! when `MCP_SLO_REQUIRE_SERVICES=1`.

#[path = "html/cost.rs"]
mod cost;
#[path = "html/render.rs"]
mod render;
#[path = "html/sample.rs"]
mod sample;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_slo_report::write_all;

const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
const INSTALL: &str = "apt-get install -y chromium";
/// How long one Chromium run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// What one Chromium run printed.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs Chromium headless on `page` with `extra` arguments, killing it after
/// [`BROWSER_TIMEOUT`]. Output goes to files in `work`: a page's DOM is larger than a pipe
/// holds, and nobody reads the pipe while this waits.
fn chromium(browser: &Path, work: &Path, name: &str, extra: &[String], page: &Path) -> Run {
    let out_path = work.join(format!("{name}.stdout"));
    let err_path = work.join(format!("{name}.stderr"));
    let file =
        |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join(format!("{name}.profile")).display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("{}: cannot start: {e}", browser.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium status") {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Run {
        success: status.success(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Lines of Chromium's log about the page itself: console messages and uncaught errors.
/// Its usual D-Bus, GPU and sandbox noise is not about the page and is ignored.
fn page_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect()
}

fn screenshot_dir(fallback: &Path) -> PathBuf {
    match std::env::var_os("MCP_SLO_ARTIFACTS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => fallback.to_path_buf(),
    }
}

#[test]
fn chromium_loads_the_report_and_screenshots_it() {
    let Some(browser) = find_browser() else {
        let why = format!(
            "no Chromium on PATH (looked for {}); install it with `{INSTALL}`",
            BROWSERS.join(", ")
        );
        if std::env::var_os("MCP_SLO_REQUIRE_SERVICES").is_some_and(|v| v == "1") {
            panic!("MCP_SLO_REQUIRE_SERVICES=1 but {why}");
        }
        eprintln!("skipping the headless Chromium test: {why}");
        return;
    };
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = target_tmp.join(format!("html-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    let written = write_all(&dir.join("run"), &sample::rich_result()).expect("report written");
    let page = written.report_html;

    let dom = chromium(
        &browser,
        &dir,
        "dump-dom",
        &["--dump-dom".to_owned()],
        &page,
    );
    assert!(dom.success, "chromium --dump-dom failed:\n{}", dom.stderr);
    let dom_text = &dom.stdout;
    assert!(
        dom_text.contains("<table class=\"verdict\">"),
        "the verdict table is not in the DOM:\n{dom_text}"
    );
    assert!(
        dom_text.contains("0.53% (31 of 5850 calls failed)"),
        "objective text missing from the DOM"
    );
    for (id, title) in render::HEADINGS {
        assert!(
            dom_text.contains(&format!("<h2>{title}</h2>")),
            "section {id} missing from the DOM"
        );
    }
    assert_eq!(dom_text.matches("<svg ").count(), 7, "charts parsed as SVG");

    let out_dir = screenshot_dir(target_tmp);
    std::fs::create_dir_all(&out_dir).expect("screenshot directory");
    let shot = out_dir.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let args = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,4000".to_owned(),
        "--hide-scrollbars".to_owned(),
        "--enable-logging=stderr".to_owned(),
        "--v=0".to_owned(),
    ];
    let run = chromium(&browser, &dir, "screenshot", &args, &page);
    let stderr = &run.stderr;
    assert!(run.success, "chromium --screenshot failed:\n{stderr}");
    let errors = page_errors(stderr);
    assert!(
        errors.is_empty(),
        "the page logged errors:\n{}",
        errors.join("\n")
    );
    let png = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("{}: no screenshot ({e}):\n{stderr}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 50_000,
        "{}: not a full-page PNG ({} bytes)",
        shot.display(),
        png.len()
    );
    let copy = out_dir.join("report-sample.html");
    let _ = std::fs::copy(&page, &copy);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "report screenshot: {} (page: {})",
        shot.display(),
        copy.display()
    );
}
