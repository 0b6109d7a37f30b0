//! Live progress: a bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mcp_slo_core::units::fmt_duration;
use mcp_slo_engine::run::Progress;

pub type Reporter = Arc<dyn Fn(&Progress) + Send + Sync>;

pub struct Display {
    bar: Option<ProgressBar>,
}

fn line(p: &Progress) -> String {
    let secs = p.elapsed.as_secs_f64().max(0.001);
    format!(
        "offered {:.0}/s achieved {:.0}/s | calls {} | errors {} | p99 (last s) {}",
        p.offered as f64 / secs,
        p.completed as f64 / secs,
        p.completed,
        p.failed,
        fmt_duration(Duration::from_micros(p.last_second_p99_us)),
    )
}

impl Display {
    pub fn new(total: Duration, force_plain: bool) -> (Display, Reporter) {
        if std::io::stderr().is_terminal() && !force_plain {
            let bar = ProgressBar::new(total.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            let b = bar.clone();
            let reporter: Reporter = Arc::new(move |p: &Progress| {
                b.set_position(p.elapsed.as_secs().min(p.total.as_secs()));
                b.set_message(line(p));
            });
            (Display { bar: Some(bar) }, reporter)
        } else {
            let reporter: Reporter = Arc::new(move |p: &Progress| {
                let s = p.elapsed.as_secs();
                if s.is_multiple_of(5) || p.elapsed >= p.total {
                    eprintln!("[{s:>4}s/{}s] {}", p.total.as_secs(), line(p));
                }
            });
            (Display { bar: None }, reporter)
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
