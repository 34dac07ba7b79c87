//! Runs the benchmark of one function: cold starts (spawn to the first `GET …/next`, then the first
//! invocation), the start-up phases from its "initialised" log line, then one process serving many
//! invocations for warm latency, answers and peak RSS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::plans::{BASELINE, EventMaker, Plan, status_of};
use crate::process::FunctionProcess;
use crate::runtime_api::{RuntimeApi, micros};
use crate::standins::StandIns;

/// How long a process may take to ask for its first event.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one invocation may take to be answered.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process has to exit after SIGTERM.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the release binaries are.
    pub bin_dir: PathBuf,
    /// The `events/` directory.
    pub events_dir: PathBuf,
    /// Cold starts per function.
    pub cold_runs: u32,
    /// Invocations of the one process per function that measures memory and warm latency.
    pub invocations: u32,
}

/// The raw figures of one function.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// The binary's name.
    pub name: String,
    /// The event file.
    pub event: Option<String>,
    /// The expected answer.
    pub expect: String,
    /// Spawn to first `GET …/next`, per cold start (µs).
    pub init_us: Vec<u64>,
    /// The first invocation, per cold start (µs).
    pub first_invoke_us: Vec<u64>,
    /// Each start-up phase per cold start (µs), by field name.
    pub phases_us: BTreeMap<String, Vec<u64>>,
    /// Init not covered by the logged phases (process start, runtime, runtime client), per cold start.
    pub outside_phases_us: Vec<u64>,
    /// The Glase connection warm-up per cold start (ms, from the client's own log line).
    pub glase_warm_up_ms: Vec<u64>,
    /// Warm invocations (every invocation of the long process but its first), µs.
    pub warm_us: Vec<u64>,
    /// Peak RSS of the long process, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Answers of the long process's invocations.
    pub statuses: BTreeMap<String, u64>,
    /// Answers (cold starts included) other than the expected one.
    pub unexpected: u64,
    /// What went wrong, if anything.
    pub errors: Vec<String>,
    /// Init plus first invocation of the baseline, started right before each of this function's cold
    /// starts (µs): the ratio compares pairs taken at the same moment, so load that comes and goes on a
    /// shared machine weighs on both sides alike.
    pub paired_baseline_us: Vec<u64>,
}

/// Runs `plan` as `options` say.
pub async fn run(plan: Plan, standins: &StandIns, options: &Options) -> Measured {
    let mut measured = Measured {
        name: plan.binary.to_owned(),
        event: plan.event.map(str::to_owned),
        expect: plan.expect.to_owned(),
        ..Measured::default()
    };
    let binary = options.bin_dir.join(plan.binary);
    if !binary.is_file() {
        measured.errors.push(format!("{} is not built", binary.display()));
        return measured;
    }
    let mut events = match EventMaker::new(plan, &options.events_dir) {
        Ok(m) => m,
        Err(e) => {
            measured.errors.push(e.0);
            return measured;
        }
    };
    // The baseline's own pairing partner: its cold starts before this function's.
    let pairing = (plan.binary != BASELINE.binary)
        .then(|| EventMaker::new(BASELINE, &options.events_dir).ok())
        .flatten();
    let mut pairing = pairing.map(|events| (events, options.bin_dir.join(BASELINE.binary)));
    for _ in 0..options.cold_runs {
        if let Some((baseline_events, baseline_binary)) = &mut pairing {
            let mut base = Measured {
                expect: BASELINE.expect.to_owned(),
                ..Measured::default()
            };
            match cold_start(BASELINE, standins, baseline_binary, baseline_events, &mut base).await {
                Ok(()) => measured
                    .paired_baseline_us
                    .extend(base.init_us.iter().zip(&base.first_invoke_us).map(|(i, f)| i + f)),
                Err(e) => measured.errors.push(format!("paired baseline: {e}")),
            }
        }
        if let Err(e) = cold_start(plan, standins, &binary, &mut events, &mut measured).await {
            measured.errors.push(e);
            return measured;
        }
    }
    if let Err(e) = long_run(
        plan,
        standins,
        &binary,
        &mut events,
        options.invocations,
        &mut measured,
    )
    .await
    {
        measured.errors.push(e);
    }
    measured
}

async fn started(
    plan: Plan,
    standins: &StandIns,
    binary: &std::path::Path,
) -> Result<(RuntimeApi, FunctionProcess, u64), String> {
    let api = RuntimeApi::start(plan.binary)
        .await
        .map_err(|e| format!("Runtime API stand-in: {e}"))?;
    let process = FunctionProcess::spawn(binary, &standins.function_env(plan.binary, &api.address()))
        .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
    match api.next_request(INIT_TIMEOUT).await {
        Some(at) => {
            let init = micros(at.saturating_duration_since(process.spawned()));
            Ok((api, process, init))
        }
        None => {
            let facts = process.facts();
            let init_errors = api.init_errors();
            process.stop(STOP_GRACE).await;
            Err(format!(
                "{} never asked for an event; init errors {init_errors:?}; output {:?}",
                plan.binary, facts.notable
            ))
        }
    }
}

fn record(measured: &mut Measured, status: String) {
    if status != measured.expect {
        measured.unexpected += 1;
    }
    *measured.statuses.entry(status).or_default() += 1;
}

async fn cold_start(
    plan: Plan,
    standins: &StandIns,
    binary: &std::path::Path,
    events: &mut EventMaker,
    measured: &mut Measured,
) -> Result<(), String> {
    let (api, process, init_us) = started(plan, standins, binary).await?;
    let outcome = async {
        let event = events.next(standins).await.map_err(|e| e.0)?;
        api.invoke(&event, plan.deadline, INVOKE_TIMEOUT)
            .await
            .map_err(|e| {
                format!(
                    "{}: first invocation: {e}; output {:?}",
                    plan.binary,
                    process.facts().notable
                )
            })
    }
    .await;
    // The baseline logs no phases; a function logs them before its first `GET …/next`.
    let wait = if plan.event.is_none() {
        Duration::ZERO
    } else {
        Duration::from_secs(2)
    };
    let facts = process.wait_for_phases(wait).await;
    process.stop(STOP_GRACE).await;
    let completed = outcome?;
    let status = status_of(&completed.outcome);
    if status != measured.expect {
        measured.unexpected += 1;
        measured
            .errors
            .push(format!("cold start answered {status}: {:?}", completed.outcome));
    }
    measured.init_us.push(init_us);
    measured.first_invoke_us.push(completed.duration_us());
    if let Some(phases) = facts.phases {
        let total = phases.get("init_total_us").copied().unwrap_or(0);
        measured.outside_phases_us.push(init_us.saturating_sub(total));
        for (name, value) in phases {
            measured.phases_us.entry(name).or_default().push(value);
        }
    }
    if let Some(ms) = facts.glase_warm_up_ms {
        measured.glase_warm_up_ms.push(ms);
    }
    Ok(())
}

async fn long_run(
    plan: Plan,
    standins: &StandIns,
    binary: &std::path::Path,
    events: &mut EventMaker,
    invocations: u32,
    measured: &mut Measured,
) -> Result<(), String> {
    let (api, process, _) = started(plan, standins, binary).await?;
    let mut failure = None;
    for n in 0..invocations {
        let event = match events.next(standins).await {
            Ok(e) => e,
            Err(e) => {
                failure = Some(e.0);
                break;
            }
        };
        match api.invoke(&event, plan.deadline, INVOKE_TIMEOUT).await {
            Ok(completed) => {
                if n > 0 {
                    measured.warm_us.push(completed.duration_us());
                }
                record(measured, status_of(&completed.outcome));
            }
            Err(e) => {
                failure = Some(format!(
                    "{}: invocation {n}: {e}; output {:?}",
                    plan.binary,
                    process.facts().notable
                ));
                break;
            }
        }
    }
    match process.peak_rss_kib() {
        Ok(kib) => measured.peak_rss_kib = Some(kib),
        Err(e) => measured.errors.push(format!("peak RSS: {e}")),
    }
    process.stop(STOP_GRACE).await;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}
