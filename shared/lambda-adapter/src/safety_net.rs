//! The safety-net function: started by a schedule once a minute, it runs
//! [`payments_api::app::App::run_safety_net`] (the same run as the local stack's) until shortly before
//! the next start: a confirmation sweep every second, whatever the receipt and expiry sweeps beside it
//! are doing ([`payments_api::jobs`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::Error;
use payments_api::jobs::{SafetyNetPlan, SafetyNetSummary};
use payments_api::settings::Function;

/// How long one invocation runs passes: the schedule starts one a minute, so 62 s leaves no gap between
/// two runs even when a start is a second or two late.
pub const RUN_FOR: Duration = Duration::from_secs(62);

/// What is kept back from the invocation's deadline to finish the last pass and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// How long to run given the invocation's deadline (milliseconds since the epoch) and now: [`RUN_FOR`],
/// or less when the deadline comes first.
pub fn run_time(deadline_ms: u64, now: SystemTime) -> Duration {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    left.saturating_sub(DEADLINE_MARGIN).min(RUN_FOR)
}

/// The answer of a run, for the invocation's result.
pub fn summary_json(summary: &SafetyNetSummary) -> serde_json::Value {
    serde_json::json!({
        "passes": summary.passes,
        "confirmed": summary.confirmed,
        "paid": summary.paid,
        "expired": summary.expired,
        "in_progress": summary.in_progress,
        "failed": summary.failed,
        "receipts_sent": summary.receipts_sent,
        "failed_passes": summary.failed_passes,
        "skipped_ticks": summary.skipped_ticks,
    })
}

/// Runs the safety-net function.
pub async fn run_safety_net() -> Result<(), Error> {
    crate::serve(Function::SafetyNet, |app, _, event| async move {
        let run_for = run_time(event.context.deadline, SystemTime::now());
        let summary = app.run_safety_net(&SafetyNetPlan::default(), run_for).await;
        Ok(summary_json(&summary))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stops_before_the_deadline_and_never_runs_past_a_minute_and_two() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let deadline = |s: u64| (1_000 + s) * 1_000;
        assert_eq!(run_time(deadline(70), now), RUN_FOR);
        assert_eq!(run_time(deadline(30), now), Duration::from_secs(25));
        assert_eq!(run_time(deadline(3), now), Duration::ZERO);
        assert_eq!(run_time(0, now), Duration::ZERO);
    }
}
