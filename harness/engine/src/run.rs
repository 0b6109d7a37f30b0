//! Running a scenario on goose: goose runs the workers (one goose user each, with its own
//! HTTP client, caller address and MCP session); our schedule decides when each call starts
//! and our recorders measure full-response latency in microseconds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType as _};
use goose::prelude::{
    GooseAttack, GooseUser, Scenario as GooseScenario, Transaction, TransactionResult,
};
use mcp_slo_core::measure::{
    CallDetail, CallOutcome, ListingTotals, Measurements, Recorder, RunRecord,
};
use mcp_slo_core::spec::args::SeededSource;
use mcp_slo_core::spec::{LoadModel, Retries, Scenario};
use tokio::time::Instant;

use crate::client::{Endpoint, Http, Session};
use crate::mix::Mix;
use crate::op::{Attempts, execute_ready, prepare_op};
use crate::pacer::{Pacer, Ready, Released};
pub use crate::progress::{Progress, ProgressFn};
use crate::schedule::Schedule;
pub use crate::schedule::workers_for;
use crate::wake::StartTimer;

/// A late start: more than this after its intended time (every worker was busy, or the
/// machine could not run the pacer or a worker in time).
const LATE: Duration = Duration::from_millis(1);
const IDLE: Duration = Duration::from_millis(20);

/// State shared by all workers of one run.
struct Shared {
    schedule: Arc<Schedule>,
    /// Open model: the calls the pacer releases, one queue per caller, each taken from by
    /// that caller's workers (worker `i` takes from queue `i mod queues`).
    released: Option<Vec<flume::Receiver<Released>>>,
    ready: Arc<Ready>,
    /// One per phase.
    mixes: Vec<Mix>,
    endpoints: Vec<Endpoint>,
    recorders: Vec<Mutex<Recorder>>,
    completed: AtomicU64,
    failed: AtomicU64,
    timeout: Duration,
    retries: Option<Retries>,
    /// The first caller's index and how many there are.
    callers: (u32, u32),
    /// Every target is on a loopback address.
    loopback: bool,
    seed: u64,
    seq: Arc<std::sync::atomic::AtomicI64>,
}

#[derive(Clone)]
struct WorkerState {
    index: usize,
    http: Http,
    sessions: Vec<Session>,
    source: SeededSource,
    rng: fastrand::Rng,
    /// Waits for each call's intended start on this worker's load thread.
    timer: Arc<StartTimer>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("target unreachable: {0}")]
    Unreachable(String),
    #[error("load engine failed: {0}")]
    Goose(String),
}

/// Settles every endpoint's revision that is not settled yet (see
/// [`Endpoint::negotiate`]) and checks each answers before any load is sent.
pub async fn preflight(endpoints: &mut [Endpoint]) -> Result<(), EngineError> {
    let client = Http::from(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EngineError::Goose(e.to_string()))?,
    );
    for endpoint in endpoints {
        if endpoint.revision.is_none() {
            endpoint
                .negotiate(&client)
                .await
                .map_err(|e| EngineError::Unreachable(e.to_string()))?;
        }
        let session = endpoint
            .initialize(&client)
            .await
            .map_err(|e| EngineError::Unreachable(e.to_string()))?;
        endpoint.close(&client, &session).await;
    }
    Ok(())
}

/// Runs the scenario's load against `endpoints` (by target name) and returns what it
/// measured. `progress` is called about once a second.
pub async fn run(
    scenario: &Scenario,
    endpoints: BTreeMap<String, Endpoint>,
    progress: Option<ProgressFn>,
) -> Result<RunRecord, EngineError> {
    run_observed(scenario, endpoints, progress, None).await
}

/// [`run`], telling `origin` when the load's clock starts (what faults are timed from).
pub async fn run_observed(
    scenario: &Scenario,
    endpoints: BTreeMap<String, Endpoint>,
    progress: Option<ProgressFn>,
    origin: Option<tokio::sync::oneshot::Sender<Instant>>,
) -> Result<RunRecord, EngineError> {
    let names: Vec<String> = endpoints.keys().cloned().collect();
    let mixes = scenario
        .load
        .phases
        .iter()
        .map(|phase| Mix::new(phase.mix.as_deref().unwrap_or(&scenario.mix), &names))
        .collect();
    let workers = workers_for(scenario);
    let mut endpoints: Vec<Endpoint> = endpoints.into_values().collect();
    preflight(&mut endpoints).await?;
    for endpoint in &mut endpoints {
        // The tools were learned while negotiating; listings under load are only read.
        endpoint.observe_listings = false;
    }
    let loopback = endpoints
        .iter()
        .all(|e| mcp_slo_core::spec::is_loopback_url(&e.url));
    let schedule = Arc::new(Schedule::new(&scenario.load));
    let ready = Arc::new(Ready::default());
    let pacer = match scenario.load.model {
        LoadModel::Open => Some(
            // One queue per caller that has a worker (worker `i` calls as caller
            // `i mod callers`).
            Pacer::start(
                schedule.clone(),
                ready.clone(),
                workers,
                scenario.load.callers.clamp(1, workers.max(1)),
            )
            .map_err(|e| EngineError::Goose(format!("cannot start the pacer: {e}")))?,
        ),
        LoadModel::Closed => None,
    };
    let (pacer, released) = match pacer {
        Some((p, rx)) => (Some(p), Some(rx)),
        None => (None, None),
    };
    let shared = Arc::new(Shared {
        schedule,
        released,
        ready,
        mixes,
        endpoints,
        recorders: (0..workers)
            .map(|_| Mutex::new(Recorder::default()))
            .collect(),
        completed: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        timeout: scenario.load.timeout,
        retries: scenario.load.retries,
        callers: (scenario.load.first_caller, scenario.load.callers),
        loopback,
        seed: scenario.load.seed,
        seq: Default::default(),
    });
    // The wall clock when the load's own clock starts (shards are aligned on it).
    let (wall, monotonic) = (SystemTime::now(), Instant::now());
    let ticker = progress.map(|report| tokio::spawn(report_progress(shared.clone(), report)));
    let watcher = origin.map(|tx| shared.schedule.tell_start(tx));
    // What the machine itself did meanwhile, to tell its stalls from the server's.
    let meter = crate::stalls::StallMeter::start(shared.schedule.clone())
        .map_err(|e| EngineError::Goose(format!("cannot start the stall meter: {e}")))?;
    let result = run_attacks(shared.clone(), workers, scenario.load.threads()).await;
    let stalls = meter.stop();
    if let Some(w) = watcher {
        w.abort();
    }
    if let Some(p) = pacer {
        p.stop();
    }
    if let Some(t) = ticker {
        t.abort();
    }
    result?;
    let duration = Instant::now().saturating_duration_since(shared.schedule.start());
    let started_at = wall + shared.schedule.start().saturating_duration_since(monotonic);
    let mut recorder = Recorder::default();
    for shard in &shared.recorders {
        let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        recorder.merge(&shard);
    }
    recorder.add_stall_meter(&stalls);
    let (window, phase_seconds) = shared.schedule.recorded_window();
    // Calls of the last recorded phase may finish after it ended (a backlog): rates are
    // taken over the time it really took to answer them.
    let answered_by =
        recorder.last_recorded_end_us as f64 / 1e6 - shared.schedule.recorded_offset();
    let recorded_seconds = phase_seconds.max(answered_by);
    let offered_calls = match scenario.load.model {
        LoadModel::Open => shared.schedule.recorded_slots(),
        LoadModel::Closed => recorder.overall().outcomes.total(),
    };
    Ok(RunRecord {
        measurements: Measurements {
            recorder,
            recorded_window: window,
            recorded_seconds,
        },
        started_at,
        duration,
        workers,
        offered_calls,
        offered_rate: shared.schedule.offered_rate(),
        pacer: crate::pacer::DESCRIPTION.to_owned(),
        faults: Vec::new(),
        metrics_pages: Vec::new(),
        footprints: Vec::new(),
    })
}

/// Runs the workers as `threads` goose attacks, each on a single-threaded runtime of its
/// own thread. A worker's request, its connection and its answer are then handled on one
/// thread: a multi-threaded runtime hands tasks between its threads and wakes idle ones,
/// which measured here as about 60 µs more CPU and 80–100 µs more latency per call.
async fn run_attacks(shared: Arc<Shared>, workers: u32, threads: u32) -> Result<(), EngineError> {
    let threads = threads.clamp(1, workers.max(1));
    let failed = |e: std::io::Error| EngineError::Goose(format!("cannot start a load thread: {e}"));
    let mut handles = Vec::with_capacity(threads as usize);
    let mut first = 0;
    for t in 0..threads {
        let count = workers / threads + u32::from(t < workers % threads);
        let shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("mcp-slo-load-{t}"))
            .spawn(move || -> Result<(), EngineError> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(failed)?;
                runtime.block_on(async move {
                    goose_attack(shared, first as usize, count)?
                        .execute()
                        .await
                        .map(drop)
                        .map_err(|e| EngineError::Goose(e.to_string()))
                })
            })
            .map_err(failed)?;
        handles.push(handle);
        first += count;
    }
    tokio::task::spawn_blocking(move || {
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(EngineError::Goose("a load thread panicked".into())))
        })
    })
    .await
    .map_err(|e| EngineError::Goose(e.to_string()))?
}

/// One thread's goose attack: `workers` users, numbered from `first` across the run.
fn goose_attack(
    shared: Arc<Shared>,
    first: usize,
    workers: u32,
) -> Result<GooseAttack, EngineError> {
    let err = |e: goose::GooseError| EngineError::Goose(e.to_string());
    #[derive(Clone, Copy)]
    enum Step {
        Start,
        Call,
        Stop,
    }
    let transaction = |step: Step| {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move {
                match step {
                    Step::Start => worker_start(user, first, &shared).await,
                    Step::Call => worker_step(user, &shared).await,
                    Step::Stop => worker_stop(user, &shared).await,
                }
            })
        }))
    };
    let start = transaction(Step::Start).set_name("start").set_on_start();
    let step = transaction(Step::Call).set_name("call");
    let stop = transaction(Step::Stop).set_name("stop").set_on_stop();
    // Whole seconds (goose's unit), plus slack so the last calls can finish.
    let run_time = shared.schedule.total().as_secs_f64().ceil() as usize + 1;
    let scenario = GooseScenario::new("mcp")
        .register_transaction(start)
        .register_transaction(step)
        .register_transaction(stop);
    GooseAttack::initialize_with_config(GooseConfiguration::default())
        .map_err(err)?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, "http://127.0.0.1")
        .map_err(err)?
        .set_default(GooseDefault::Users, workers as usize)
        .map_err(err)?
        .set_default(
            GooseDefault::IncreaseRate,
            format!("{}", workers.max(1) * 100).as_str(),
        )
        .map_err(err)?
        .set_default(GooseDefault::RunTime, run_time)
        .map_err(err)?
        .set_default(GooseDefault::NoTelnet, true)
        .map_err(err)?
        .set_default(GooseDefault::NoMetrics, true)
        .map_err(err)?
        .set_default(GooseDefault::NoPrintMetrics, true)
        .map_err(err)?
        .set_default(GooseDefault::NoErrorSummary, true)
        .map_err(err)?
        .set_default(GooseDefault::Quiet, 1)
        .map_err(err)
        .map(|attack| *attack)
}

/// Worker `index`'s caller: 127.0.0.(1 + first + index mod count).
fn caller_address(index: usize, (first, count): (u32, u32)) -> IpAddr {
    let n = 1 + first + index as u32 % count.max(1);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n.min(254) as u8))
}

async fn worker_start(user: &mut GooseUser, first: usize, shared: &Shared) -> TransactionResult {
    let index = first + user.weighted_users_index;
    // Callers are told apart by their loopback address, which reaches loopback targets
    // only (`Http` binds it for those alone).
    let address = caller_address(index, shared.callers);
    let mut builder = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(shared.timeout)
        .pool_idle_timeout(None);
    if shared.loopback {
        builder = builder.local_address(address);
    }
    user.set_client_builder(builder).await?;
    let http = Http::new(user.client.clone(), Some(address));
    let mut sessions = Vec::with_capacity(shared.endpoints.len());
    for endpoint in &shared.endpoints {
        // A session that cannot be opened now is opened by the first call.
        sessions.push(endpoint.initialize(&http).await.unwrap_or_default());
    }
    let seed = shared
        .seed
        .wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    user.set_session_data(WorkerState {
        index,
        http,
        sessions,
        source: SeededSource::new(seed, shared.seq.clone()),
        rng: fastrand::Rng::with_seed(seed ^ 0x5eed),
        timer: Arc::new(StartTimer::new()),
    });
    shared.ready.one_more();
    Ok(())
}

async fn worker_stop(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    if let Some(state) = user.get_session_data::<WorkerState>() {
        for (endpoint, session) in shared.endpoints.iter().zip(&state.sessions) {
            endpoint.close(&state.http, session).await;
        }
    }
    Ok(())
}

async fn worker_step(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let Some(state) = user.get_session_data_mut::<WorkerState>() else {
        tokio::time::sleep(IDLE).await;
        return Ok(());
    };
    let schedule = &shared.schedule;
    // The call, its op picked and its first request encoded before its intended start:
    // what is timed from there is the exchange.
    let (slot, released, record, phase) = match &shared.released {
        Some(queues) => {
            let Ok(call) = queues[state.index % queues.len()].recv_async().await else {
                tokio::time::sleep(IDLE).await;
                return Ok(());
            };
            (
                Some(call.slot.intended),
                Some(call.released.saturating_duration_since(call.due)),
                call.slot.record,
                call.slot.phase,
            )
        }
        None => match schedule.closed_active(state.index, Instant::now()) {
            Some((phase, true, record)) => (None, None, record, phase),
            _ => {
                tokio::time::sleep(IDLE).await;
                return Ok(());
            }
        },
    };
    let Some(op) = shared
        .mixes
        .get(phase)
        .and_then(|mix| mix.pick(&mut state.rng))
    else {
        tokio::time::sleep(IDLE).await;
        return Ok(());
    };
    let args = op.args.render(&mut state.source);
    let endpoint = &shared.endpoints[op.endpoint];
    let session = &mut state.sessions[op.endpoint];
    let ready = prepare_op(endpoint, session, &op.method, args);
    let intended = match slot {
        Some(intended) => {
            // Handed over early: send at the intended start.
            state.timer.until(intended).await;
            intended
        }
        None => Instant::now(),
    };
    let started = Instant::now();
    let attempts = Attempts {
        deadline: intended + shared.timeout,
        retries: shared.retries,
    };
    let answer = execute_ready(&state.http, endpoint, session, ready, attempts).await;
    // The answer's last byte, not the classification after it, ends the call.
    let ended = answer.received.unwrap_or_else(Instant::now);
    let latency_us = ended.saturating_duration_since(intended).as_micros() as u64;
    shared.completed.fetch_add(1, Ordering::Relaxed);
    if answer.outcome != CallOutcome::Ok {
        shared.failed.fetch_add(1, Ordering::Relaxed);
    }
    let mut recorder = shared.recorders[state.index % shared.recorders.len()]
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    recorder.offered(schedule.second_of(intended));
    if let Some(pacer_late) = released {
        let lateness = started.saturating_duration_since(intended);
        recorder.start_lateness(
            pacer_late.as_micros() as u64,
            lateness.as_micros() as u64,
            lateness > LATE,
        );
    }
    recorder.record(
        &op.tool,
        answer.outcome,
        latency_us,
        schedule.second_of(ended),
        record,
    );
    recorder.detail(
        &op.tool,
        answer.outcome,
        CallDetail {
            first_outcome: Some(answer.first_outcome),
            attempts: answer.attempts,
            listing: answer.listing.map(|l| ListingTotals {
                calls: 1,
                pages: u64::from(l.pages),
                items: l.items,
                bytes: l.bytes,
            }),
        },
        record,
    );
    recorder.sessions_reopened += u64::from(answer.reopened);
    if record {
        recorder.recorded_end(
            ended
                .saturating_duration_since(schedule.start())
                .as_micros() as u64,
        );
    }
    Ok(())
}

async fn report_progress(shared: Arc<Shared>, report: ProgressFn) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let second = shared.schedule.second_of(now).saturating_sub(1);
        let mut last = mcp_slo_core::measure::new_histogram(2);
        for shard in &shared.recorders {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = shard.seconds.get(second) {
                let _ = last.add(&s.latency);
            }
        }
        report(&Progress {
            elapsed: now.saturating_duration_since(shared.schedule.start()),
            total: shared.schedule.total(),
            offered: shared.schedule.issued(),
            completed: shared.completed.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            last_second_p99_us: if last.is_empty() {
                0
            } else {
                last.value_at_quantile(0.99)
            },
        });
    }
}
