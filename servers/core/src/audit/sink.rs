//! Where records go: the request path serializes a record's line on the spot (while the
//! call's data is still in its cache; nothing is copied or handed across threads per call)
//! and appends it to one shared buffer under a mutex held only for the copy; a writer
//! thread takes the buffer every few milliseconds and writes it. The request path never
//! waits on I/O, and over [`MAX_PENDING_BYTES`] unwritten bytes a record is dropped and
//! counted rather than slowing calls down.
//!
//! One buffer, not one per thread, so lines are written in the order they were recorded:
//! a call that started after another one's answer comes after it in the trail.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{AuditRecord, AuditTarget};

/// Unwritten bytes the trail may hold before records are dropped (about 40,000 lines:
/// seconds of a stalled disk at full rate).
const MAX_PENDING_BYTES: usize = 16 << 20;
/// How long the writer lets lines gather before a write: one write and one wake-up per
/// batch instead of per call. A line reaches the file within about this long (and at
/// shutdown, when the last sink goes). Under load, 50 ms cost the server no more CPU per
/// call than 5 ms and wake the writer a tenth as often.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// A buffer grown past this by a burst is not kept once written.
const KEEP_CAPACITY: usize = 1 << 20;

thread_local! {
    /// Where this thread serializes a line before copying it into the shared buffer, so
    /// the buffer's lock is held only for the copy.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// The request path's handle on the trail.
#[derive(Clone)]
pub struct AuditSink {
    on: Option<On>,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

#[derive(Clone)]
struct On {
    pending: Arc<Mutex<Pending>>,
    /// Told when the buffer stops being empty. The writer ends, after a last write, when
    /// every sender (every sink clone) is gone.
    wake: mpsc::Sender<()>,
}

/// Lines not yet written.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    lines: u64,
}

impl AuditSink {
    /// Starts the writer thread. Returns the sink and the writer's handle: await it after
    /// the last sink clone is dropped to have everything written.
    pub fn start(target: AuditTarget) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let out: Box<dyn Write + Send> = match &target {
            AuditTarget::Off => return Ok((Self::off(), tokio::spawn(async {}))),
            AuditTarget::Stdout => Box::new(std::io::stdout()),
            AuditTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        Ok(Self::writing_to(out))
    }

    /// A sink whose lines go to `out`, and the writer's handle.
    fn writing_to(out: Box<dyn Write + Send>) -> (Self, tokio::task::JoinHandle<()>) {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let (wake, woken) = mpsc::channel();
        let written = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            pending: pending.clone(),
            woken,
            out,
            written: written.clone(),
            dropped: dropped.clone(),
        };
        let task = tokio::task::spawn_blocking(move || writer.run());
        let sink = AuditSink {
            on: Some(On { pending, wake }),
            dropped,
            written,
        };
        (sink, task)
    }

    /// A sink that discards everything (tests, benchmarks with audit off).
    pub fn off() -> Self {
        AuditSink {
            on: None,
            dropped: Arc::default(),
            written: Arc::default(),
        }
    }

    /// Whether records are kept: skip building an expensive one when they are not.
    pub fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// Appends the record's line to the trail (nothing with the trail off).
    pub fn record(&self, record: &AuditRecord<'_>) {
        let Some(on) = &self.on else { return };
        let (kept, was_empty) = LINE.with_borrow_mut(|line| {
            line.clear();
            record.write_line(line);
            line.push(b'\n');
            let mut pending = on.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.buf.len() + line.len() > MAX_PENDING_BYTES {
                return (false, false);
            }
            let was_empty = pending.buf.is_empty();
            pending.buf.extend_from_slice(line);
            pending.lines += 1;
            (true, was_empty)
        });
        if !kept {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit trail behind: records dropped");
            }
        } else if was_empty {
            // Fails only once the writer is gone, when nothing can be written anyway.
            let _ = on.wake.send(());
        }
    }

    /// The shared drop counter, for `/metrics`.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines written so far (handed to the file or stdout).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

struct Writer {
    pending: Arc<Mutex<Pending>>,
    woken: mpsc::Receiver<()>,
    out: Box<dyn Write + Send>,
    written: Arc<AtomicU64>,
    /// Lines of a failed write count as dropped, like lines refused over the cap.
    dropped: Arc<AtomicU64>,
}

impl Writer {
    fn run(mut self) {
        let mut spare = Vec::with_capacity(64 * 1024);
        loop {
            // Sleeps until the buffer has lines; after the last sink is gone, one last write.
            let open = self.woken.recv().is_ok();
            if open {
                std::thread::sleep(BATCH_WAIT);
                // Lines that came meanwhile are taken by this write: their wake-ups are
                // spent. A line after the swap below wakes the next round.
                while self.woken.try_recv().is_ok() {}
            }
            self.write(&mut spare);
            if !open {
                return;
            }
        }
    }

    /// Swaps the buffer for the empty spare and writes what it held.
    fn write(&mut self, spare: &mut Vec<u8>) {
        let lines = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut pending.buf, spare);
            std::mem::take(&mut pending.lines)
        };
        if spare.is_empty() {
            return;
        }
        match self.out.write_all(spare).and_then(|()| self.out.flush()) {
            Ok(()) => {
                self.written.fetch_add(lines, Ordering::Relaxed);
            }
            Err(e) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                tracing::error!(error = %e, lines, "audit trail write failed: lines dropped");
            }
        }
        spare.clear();
        if spare.capacity() > KEEP_CAPACITY {
            *spare = Vec::with_capacity(64 * 1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::Value;

    use super::*;

    fn record(request_id: &str) -> AuditRecord<'_> {
        AuditRecord::sample("file_read", request_id)
    }

    /// The request ids of the lines in `text`, which must all be whole JSON lines.
    fn ids(text: &str) -> Vec<String> {
        text.lines()
            .map(|line| {
                let line: Value = serde_json::from_str(line).expect("a whole JSON line");
                line["requestId"].as_str().expect("a request id").to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn every_threads_lines_are_written_in_order_when_the_last_sink_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (sink, writer) = AuditSink::start(AuditTarget::File(path.clone())).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        sink.record(&record(&format!("{t}-{i}")));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let counter = sink.written.clone();
        drop(sink);
        writer.await.unwrap();
        let ids = ids(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(ids.len(), 8_000);
        assert_eq!(counter.load(Ordering::Relaxed), 8_000);
        let mut next: HashMap<&str, u32> = HashMap::new();
        for id in &ids {
            let (thread, i) = id.split_once('-').unwrap();
            let expected = next.entry(thread).or_default();
            assert_eq!(
                i.parse::<u32>().unwrap(),
                *expected,
                "thread {thread} out of order"
            );
            *expected += 1;
        }
    }

    #[tokio::test]
    async fn lines_recorded_one_after_another_on_different_threads_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (sink, writer) = AuditSink::start(AuditTarget::File(path.clone())).unwrap();
        // Two threads take turns: each records, then hands the turn to the other.
        let (to_odd, odd_turn) = std::sync::mpsc::channel::<u32>();
        let (to_even, even_turn) = std::sync::mpsc::channel::<u32>();
        let odd = {
            let sink = sink.clone();
            std::thread::spawn(move || {
                while let Ok(i) = odd_turn.recv() {
                    sink.record(&record(&i.to_string()));
                    if to_even.send(i + 1).is_err() {
                        break;
                    }
                }
            })
        };
        for i in (0..1_000).step_by(2) {
            sink.record(&record(&i.to_string()));
            to_odd.send(i + 1).unwrap();
            assert_eq!(even_turn.recv().unwrap(), i + 2);
        }
        drop(to_odd);
        odd.join().unwrap();
        drop(sink);
        writer.await.unwrap();
        let ids = ids(&std::fs::read_to_string(&path).unwrap());
        let expected: Vec<String> = (0..1_000).map(|i| i.to_string()).collect();
        assert_eq!(ids, expected);
    }

    #[tokio::test]
    async fn lines_are_written_while_the_sink_lives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (sink, _writer) = AuditSink::start(AuditTarget::File(path.clone())).unwrap();
        sink.record(&record("first"));
        // The writer wakes on the first line of an empty buffer; allow a slow machine 5 s.
        let mut text = String::new();
        for _ in 0..500 {
            text = std::fs::read_to_string(&path).unwrap();
            if !text.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(ids(&text), ["first"]);
        assert_eq!(sink.written(), 1);
    }

    /// An output that writes nothing until `open` says so.
    struct Gated {
        open: std::sync::mpsc::Receiver<()>,
        opened: bool,
        into: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if !self.opened {
                self.open.recv().ok();
                self.opened = true;
            }
            self.into.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_stalled_output_drops_and_counts_records_past_the_cap_and_loses_no_other() {
        let (open, gate) = std::sync::mpsc::channel();
        let into = Arc::new(Mutex::new(Vec::new()));
        let out = Gated {
            open: gate,
            opened: false,
            into: into.clone(),
        };
        let (sink, writer) = AuditSink::writing_to(Box::new(out));
        // The first batch goes to the stalled output (wait until the writer has taken it:
        // filling the buffer can take less than its batch wait); then the buffer fills.
        sink.record(&record("0"));
        let pending = sink.on.as_ref().expect("on").pending.clone();
        let waiting_since = std::time::Instant::now();
        while !pending.lock().unwrap().buf.is_empty() {
            assert!(
                waiting_since.elapsed() < Duration::from_secs(10),
                "never taken"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut sent = 1_u64;
        while sink.dropped() == 0 {
            sink.record(&record(&sent.to_string()));
            sent += 1;
            assert!(sent < 1_000_000, "nothing was ever dropped");
        }
        let dropped = sink.dropped();
        open.send(()).unwrap();
        drop(sink);
        writer.await.unwrap();
        let text = String::from_utf8(into.lock().unwrap().clone()).unwrap();
        let ids = ids(&text);
        assert_eq!(ids.len() as u64 + dropped, sent);
        assert!(
            text.len() >= MAX_PENDING_BYTES,
            "{} bytes written",
            text.len()
        );
        // What was kept is every record before the first one dropped, in order.
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(id, &i.to_string());
        }
    }

    /// An output whose every write fails (a full or read-only disk).
    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left on device"))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn lines_of_a_failed_write_are_counted_as_dropped() {
        let (sink, writer) = AuditSink::writing_to(Box::new(Failing));
        for i in 0..100 {
            sink.record(&record(&i.to_string()));
        }
        let (dropped, written) = (sink.dropped_counter(), sink.written.clone());
        drop(sink);
        writer.await.unwrap();
        assert_eq!(dropped.load(Ordering::Relaxed), 100);
        assert_eq!(written.load(Ordering::Relaxed), 0);
    }
}
