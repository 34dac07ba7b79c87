//! Scheduled work without a request: the safety net that confirms pending payments nobody asked Glase
//! about, the receipts paid payments still owe Glase, and the expiry of invoices nobody paid.
//!
//! [`App::run_safety_net`] is the one implementation, used by the safety-net function in AWS and by the
//! local stack. It runs the three sweeps side by side, each on its own timer, so confirming never waits
//! behind other work. Confirmation is a pipeline: every `tick` (a second) it lists the payments due for
//! a check, the longest unchecked first, and starts a check for each one not already under way, up to
//! [`CONFIRMATIONS_IN_FLIGHT`] at once; a check that finishes frees its slot at once, and when a listing
//! came back full the next one starts as soon as half the slots are free, without waiting for the tick.
//! No check waits for another, so one slow Glase call holds up only its own payment. Claims are
//! conditional writes, so two sweepers never ask about the same payment. The receipt sweep runs every
//! `tick` and expiry every `expiry_every` ticks, each starting again at the next tick once the previous
//! run is done; both are cut off at the end of the run, which is safe because a repeated receipt is
//! harmless and a repeated cancel answers "already cancelled". In AWS a schedule starts the safety-net
//! function once a minute and a run lasts until shortly before the next start, so the sweeps cover
//! every second of the day with one invocation at a time (plus a short overlap that only costs a
//! skipped claim, never a second Glase call).

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use futures::future::Either;
use futures::stream::{FuturesUnordered, StreamExt as _};
use payments_domain::ids::PaymentId;
use payments_domain::payment::{Payment, PaymentStatus};
use payments_domain::ports::Ports;
use payments_domain::usecases::{DueCheck, SweepReport, UseCaseError};
use tokio::time::Instant;

use crate::app::App;
use crate::metrics::Metric;

/// The most payment checks (a claim, `getPaymentStatus`, the outcome's write) the safety net has under
/// way at once. Glase answers in about a tenth of a second in AWS, so this many keep pace with several
/// hundred due payments a second; past it, the longest unchecked payments wait for the next free slot
/// rather than piling up calls on a Glase that does not answer.
pub const CONFIRMATIONS_IN_FLIGHT: usize = 64;

/// How the safety net paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafetyNetPlan {
    /// Time between two passes.
    pub tick: Duration,
    /// Expiry runs on every `expiry_every`-th pass.
    pub expiry_every: u64,
    /// The most payments one listing (of due payments, receipts or expired invoices) returns.
    pub batch: usize,
}

impl Default for SafetyNetPlan {
    fn default() -> Self {
        SafetyNetPlan {
            tick: Duration::from_secs(1),
            expiry_every: 5,
            batch: 100,
        }
    }
}

/// What passes of the safety net did, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafetyNetSummary {
    /// Confirmation listings (one a tick, and the early ones of a backlog).
    pub passes: u64,
    /// Payments Glase was asked about by the safety net.
    pub confirmed: usize,
    /// Payments the safety net found paid.
    pub paid: usize,
    /// Payments cancelled by expiry.
    pub expired: usize,
    /// Payments left for later because the shopper was paying (Glase 51).
    pub in_progress: usize,
    /// Checks or cancellations that failed (tried again on a later pass).
    pub failed: usize,
    /// Receipts Glase accepted.
    pub receipts_sent: usize,
    /// Passes whose listing failed (the store was unreachable).
    pub failed_passes: u64,
    /// Ticks at which no listing started: every one of the [`CONFIRMATIONS_IN_FLIGHT`] slots was busy,
    /// or the previous listing was still under way.
    pub skipped_ticks: u64,
}

impl SafetyNetSummary {
    fn add(&mut self, other: SafetyNetSummary) {
        self.passes += other.passes;
        self.confirmed += other.confirmed;
        self.paid += other.paid;
        self.expired += other.expired;
        self.in_progress += other.in_progress;
        self.failed += other.failed;
        self.receipts_sent += other.receipts_sent;
        self.failed_passes += other.failed_passes;
        self.skipped_ticks += other.skipped_ticks;
    }
}

impl<P: Ports> App<P> {
    /// One pass: the confirmation sweep, the receipt sweep, and expiry when `pass` is a multiple of the
    /// plan's `expiry_every`, one after the other (for a single run by hand; [`App::run_safety_net`]
    /// runs them side by side). Failures are counted and logged, never raised: the next pass tries
    /// again.
    pub async fn safety_net_pass(&self, pass: u64, plan: &SafetyNetPlan) -> SafetyNetSummary {
        let mut summary = self.confirmation_sweep(plan).await;
        summary.add(self.receipt_sweep(plan).await);
        if plan.expiry_every > 0 && pass.is_multiple_of(plan.expiry_every) {
            summary.add(self.expiry_sweep(plan).await);
        }
        summary
    }

    /// One confirmation sweep (counted as a pass): a listing, then its checks, waiting for the last.
    async fn confirmation_sweep(&self, plan: &SafetyNetPlan) -> SafetyNetSummary {
        let mut summary = SafetyNetSummary {
            passes: 1,
            ..SafetyNetSummary::default()
        };
        match self.deps.confirm_due_payments(plan.batch).await {
            Ok(report) => self.record_checks(&mut summary, &report),
            Err(e) => self.sweep_failed(&mut summary, "safety-net sweep failed", &e),
        }
        summary
    }

    /// Adds checks of due payments to `summary`, with their metrics and a log line per payment found paid.
    fn record_checks(&self, summary: &mut SafetyNetSummary, report: &SweepReport) {
        summary.confirmed += report.confirmed;
        summary.failed += report.failed;
        for (payment_id, outcome) in &report.changed {
            if outcome.after == PaymentStatus::Paid {
                summary.paid += 1;
                tracing::info!(payment_id = %payment_id, "the safety net confirmed a payment");
            }
            self.record_confirmation(outcome);
        }
    }

    /// One receipt sweep.
    async fn receipt_sweep(&self, plan: &SafetyNetPlan) -> SafetyNetSummary {
        let mut summary = SafetyNetSummary::default();
        match self.deps.submit_due_receipts(plan.batch).await {
            Ok(report) => summary.receipts_sent = report.sent,
            Err(e) => self.sweep_failed(&mut summary, "receipt sweep failed", &e),
        }
        summary
    }

    /// One expiry sweep.
    async fn expiry_sweep(&self, plan: &SafetyNetPlan) -> SafetyNetSummary {
        let mut summary = SafetyNetSummary::default();
        match self.deps.expire_payments(plan.batch).await {
            Ok(report) => {
                summary.expired = report.canceled.len();
                summary.in_progress = report.in_progress;
                summary.failed += report.failed;
                for payment_id in &report.canceled {
                    tracing::info!(payment_id = %payment_id, "expired");
                    self.metrics.record(&Metric::PaymentCanceled);
                }
            }
            Err(e) => self.sweep_failed(&mut summary, "expiry sweep failed", &e),
        }
        summary
    }

    /// Counts, logs and records (as the metric the failed-pass alarm watches) a sweep whose listing or
    /// store work failed; the sweep runs again on its next tick.
    fn sweep_failed(
        &self,
        summary: &mut SafetyNetSummary,
        message: &'static str,
        error: &dyn std::fmt::Display,
    ) {
        summary.failed_passes += 1;
        tracing::warn!(error = %error, "{message}");
        self.metrics.record(&Metric::SafetyNetPassFailed);
    }

    /// Runs the sweeps side by side until `run_for` has passed (measured on the runtime's clock, so
    /// tests can pause it): a confirmation sweep every `plan.tick`, the first at once; the receipt sweep
    /// every tick and expiry every `plan.expiry_every` ticks, each after the previous run of its own
    /// kind. Confirmation sweeps still under way at the end are awaited (each holds claims it gives
    /// back on failure); receipt and expiry work is cut off. Answers the sum of every sweep.
    pub async fn run_safety_net(&self, plan: &SafetyNetPlan, run_for: Duration) -> SafetyNetSummary {
        let start = Instant::now();
        let deadline = start + run_for;
        let expiry_every = plan.tick * u32::try_from(plan.expiry_every).unwrap_or(u32::MAX);
        let (mut summary, receipts, expiry) = tokio::join!(
            self.confirmation_loop(plan, start, deadline),
            every(plan.tick, start, deadline, || self.receipt_sweep(plan)),
            async {
                if plan.expiry_every == 0 {
                    return SafetyNetSummary::default();
                }
                every(expiry_every, start, deadline, || self.expiry_sweep(plan)).await
            },
        );
        summary.add(receipts);
        summary.add(expiry);
        tracing::info!(
            passes = summary.passes,
            confirmed = summary.confirmed,
            paid = summary.paid,
            expired = summary.expired,
            receipts_sent = summary.receipts_sent,
            failed = summary.failed,
            skipped_ticks = summary.skipped_ticks,
            "safety net run finished"
        );
        summary
    }

    /// The confirmation pipeline from `start` until `deadline` (see the module docs): listings at every
    /// tick, and early ones while a backlog lasts; a check for every listed payment not already under
    /// way, up to [`CONFIRMATIONS_IN_FLIGHT`]. Checks under way at the deadline are awaited (each holds
    /// a claim it gives back on failure); a listing that answers after it starts nothing.
    async fn confirmation_loop(
        &self,
        plan: &SafetyNetPlan,
        start: Instant,
        deadline: Instant,
    ) -> SafetyNetSummary {
        enum Work {
            Listed(Result<Vec<Payment>, UseCaseError>),
            Checked(PaymentId, DueCheck),
        }
        let list = || async { Work::Listed(self.deps.payments_due(plan.batch).await) };
        let check = |payment: Payment| async move {
            let id = payment.id().clone();
            Work::Checked(id, self.deps.confirm_due(payment).await)
        };
        let mut summary = SafetyNetSummary::default();
        let mut work = FuturesUnordered::new();
        let mut checking: HashSet<PaymentId> = HashSet::new();
        let mut listing = false;
        // The last listing came back full and started checks: more payments may be due.
        let mut backlog = false;
        let mut next_tick = start;
        let tick_nanos = plan.tick.as_nanos().max(1);
        loop {
            let now = Instant::now();
            if now >= deadline && work.is_empty() {
                break;
            }
            let free = CONFIRMATIONS_IN_FLIGHT.saturating_sub(checking.len());
            let tick_due = now < deadline && now >= next_tick;
            if tick_due {
                let elapsed = now.saturating_duration_since(start).as_nanos();
                let ticks = u32::try_from(elapsed / tick_nanos + 1).unwrap_or(u32::MAX);
                next_tick = start + plan.tick * ticks;
            }
            let top_up = now < deadline && backlog && free >= CONFIRMATIONS_IN_FLIGHT / 2;
            if (tick_due || top_up) && !listing && free > 0 {
                listing = true;
                summary.passes += 1;
                work.push(Either::Left(list()));
            } else if tick_due {
                summary.skipped_ticks += 1;
                tracing::warn!(
                    in_flight = checking.len(),
                    listing,
                    "the safety net's confirmations are all still waiting on Glase: a tick was skipped"
                );
            }
            tokio::select! {
                Some(done) = work.next(), if !work.is_empty() => match done {
                    Work::Listed(Ok(due)) => {
                        listing = false;
                        let full = due.len() >= plan.batch;
                        let mut started = 0;
                        for payment in due {
                            if Instant::now() >= deadline || checking.len() >= CONFIRMATIONS_IN_FLIGHT {
                                break;
                            }
                            if checking.insert(payment.id().clone()) {
                                work.push(Either::Right(check(payment)));
                                started += 1;
                            }
                        }
                        backlog = full && started > 0;
                    }
                    Work::Listed(Err(e)) => {
                        listing = false;
                        backlog = false;
                        self.sweep_failed(&mut summary, "safety-net sweep failed", &e);
                    }
                    Work::Checked(id, outcome) => {
                        checking.remove(&id);
                        let mut report = SweepReport::default();
                        report.add(outcome);
                        self.record_checks(&mut summary, &report);
                    }
                },
                () = tokio::time::sleep_until(next_tick.min(deadline)), if now < deadline => {}
            }
        }
        summary
    }
}

/// Runs `sweep` at `start`, then at the first multiple of `period` after each run ends, until
/// `deadline`; a run still under way at the deadline is cut off.
async fn every<F, Fut>(period: Duration, start: Instant, deadline: Instant, sweep: F) -> SafetyNetSummary
where
    F: Fn() -> Fut,
    Fut: Future<Output = SafetyNetSummary>,
{
    let mut summary = SafetyNetSummary::default();
    let period_nanos = period.as_nanos().max(1);
    let mut tick: u32 = 0;
    loop {
        let next = start + period * tick;
        if next >= deadline {
            break;
        }
        tokio::time::sleep_until(next).await;
        match tokio::time::timeout_at(deadline, sweep()).await {
            Ok(done) => summary.add(done),
            Err(_) => break,
        }
        let elapsed = Instant::now().saturating_duration_since(start).as_nanos();
        let due = u32::try_from(elapsed.div_ceil(period_nanos)).unwrap_or(u32::MAX);
        tick = due.max(tick.saturating_add(1));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeApp, fake_app};
    use payments_domain::ports::PaymentStore;
    use payments_domain::testing::GlaseCall;

    fn app() -> FakeApp {
        fake_app("sk_test_jobs")
    }

    async fn create(app: &FakeApp, order_id: &str) -> payments_domain::payment::Payment {
        let body = format!(
            r#"{{"order_id":"{order_id}","currency":"SEK","total":2500,"rows":[{{"description":"Tea","total":2500}}]}}"#
        );
        let response = app
            .handle(crate::app::request(
                http::Method::POST,
                "/v1/payments",
                &[
                    ("authorization", "Bearer sk_test_jobs"),
                    ("content-type", "application/json"),
                ],
                body,
            ))
            .await;
        assert_eq!(response.status(), 201, "{}", response.body());
        let created: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        let id = payments_domain::ids::PaymentId::parse(created["id"].as_str().unwrap()).unwrap();
        app.deps.store.get_payment(&id).await.unwrap().unwrap()
    }

    /// Glase's getPaymentStatus takes `latency` from now on.
    fn status_latency(app: &FakeApp, latency: Duration) {
        app.deps.glase.set_latency("getPaymentStatus", latency);
    }

    /// Runs the safety net for `run_for`, with the app's clock following tokio's, and `meanwhile` beside
    /// it; answers the run's summary and what `meanwhile` answered.
    async fn run_beside<T>(
        app: &FakeApp,
        run_for: Duration,
        meanwhile: impl Future<Output = T>,
    ) -> (SafetyNetSummary, T) {
        let driver = clock_follows_tokio(app);
        let plan = SafetyNetPlan::default();
        let both = tokio::join!(app.run_safety_net(&plan, run_for), meanwhile);
        driver.abort();
        both
    }

    fn status_calls(app: &FakeApp) -> usize {
        app.deps
            .glase
            .calls()
            .iter()
            .filter(|c| matches!(c, GlaseCall::PaymentStatus { .. }))
            .count()
    }

    #[tokio::test]
    async fn a_pass_confirms_a_paid_payment_nobody_asked_about_and_leaves_a_fresh_one_alone() {
        let app = app();
        let plan = SafetyNetPlan::default();
        let paid = create(&app, "order-1").await;
        app.deps.glase.pay(paid.invoice_reference());

        // Inside the safety-net interval the notification may still come: no call.
        let first = app.safety_net_pass(1, &plan).await;
        assert_eq!((first.confirmed, first.paid), (0, 0));
        assert_eq!(status_calls(&app), 0);

        app.deps.clock.advance(Duration::from_secs(9));
        let second = app.safety_net_pass(1, &plan).await;
        assert_eq!((second.confirmed, second.paid), (1, 1));
        let stored = app.deps.store.get_payment(paid.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Paid);
        // The same pass sent the receipt the paid payment owes.
        assert_eq!(second.receipts_sent, 1);
        assert!(
            app.deps
                .glase
                .calls()
                .iter()
                .any(|c| matches!(c, GlaseCall::SubmitReceipt { .. }))
        );

        // A final payment costs no further call.
        app.deps.clock.advance(Duration::from_secs(30));
        let third = app.safety_net_pass(1, &plan).await;
        assert_eq!(third.confirmed, 0);
        assert_eq!(status_calls(&app), 1);
    }

    #[tokio::test]
    async fn expiry_runs_only_on_its_passes() {
        let app = app();
        let plan = SafetyNetPlan::default();
        let abandoned = create(&app, "order-2").await;
        app.deps.clock.advance(Duration::from_secs(121));

        let off = app.safety_net_pass(1, &plan).await;
        assert_eq!(off.expired, 0);
        let on = app.safety_net_pass(5, &plan).await;
        assert_eq!(on.expired, 1);
        let stored = app.deps.store.get_payment(abandoned.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Canceled);
    }

    /// Moves the app's clock along with tokio's (paused) clock, in steps of 100 ms, until aborted.
    fn clock_follows_tokio(app: &FakeApp) -> tokio::task::JoinHandle<()> {
        let clock = app.deps.clock.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                clock.advance(Duration::from_millis(100));
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_payment_whose_notification_was_lost_is_confirmed_in_time_while_receipts_are_slow() {
        let app = app();
        // Paid payments whose receipts are due, and a Glase that takes 30 s to take each receipt.
        for n in 0..5 {
            let p = create(&app, &format!("paid-{n}")).await;
            app.deps.glase.pay(p.invoice_reference());
        }
        app.deps.clock.advance(Duration::from_secs(9));
        assert_eq!(app.deps.confirm_due_payments(100).await.unwrap().changed.len(), 5);
        app.deps
            .glase
            .set_latency("submitPaymentReceipt", Duration::from_secs(30));
        // The shopper pays; the notification is lost and nobody polls.
        let lost = create(&app, "lost").await;
        app.deps.glase.pay(lost.invoice_reference());

        let driver = clock_follows_tokio(&app);
        let summary = app
            .run_safety_net(&SafetyNetPlan::default(), Duration::from_secs(30))
            .await;
        driver.abort();

        let stored = app.deps.store.get_payment(lost.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Paid);
        let confirmed_after = stored.last_checked_at().unwrap().since(lost.created_at());
        assert!(
            confirmed_after <= Duration::from_secs(10),
            "confirmed {confirmed_after:?} after it was paid, past the safety-net interval and a tick"
        );
        assert_eq!(
            summary.passes, 30,
            "a confirmation sweep every second: {summary:?}"
        );
        assert!(
            app.deps
                .glase
                .calls()
                .iter()
                .any(|c| matches!(c, GlaseCall::SubmitReceipt { .. })),
            "the receipts were under way meanwhile"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_confirmation_sweep_waiting_on_a_slow_status_call_does_not_hold_up_the_next() {
        let app = app();
        let slow = create(&app, "slow").await;
        app.deps.glase.pay(slow.invoice_reference());
        app.deps.clock.advance(Duration::from_secs(9));
        // The first sweep's getPaymentStatus takes 15 s; a payment made meanwhile is still confirmed
        // about nine seconds after it was made.
        status_latency(&app, Duration::from_secs(15));
        let later = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            status_latency(&app, Duration::from_millis(200));
            let p = create(&app, "later").await;
            app.deps.glase.pay(p.invoice_reference());
            p
        };
        let (summary, later) = run_beside(&app, Duration::from_secs(25), later).await;
        let stored = app.deps.store.get_payment(later.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Paid, "{summary:?}");
        let confirmed_after = stored.last_checked_at().unwrap().since(later.created_at());
        assert!(confirmed_after <= Duration::from_secs(10), "{confirmed_after:?}");
        assert_eq!(summary.skipped_ticks, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_status_calls_neither_hold_up_a_later_payment_nor_are_asked_again_while_under_way() {
        let app = app();
        // Four payments whose notifications were lost, due one second apart from the run's start, whose
        // getPaymentStatus each takes 20 s; then Glase answers quickly again.
        for n in 0..4 {
            let p = create(&app, &format!("slow-{n}")).await;
            app.deps.glase.pay(p.invoice_reference());
            app.deps.clock.advance(Duration::from_secs(1));
        }
        app.deps.clock.advance(Duration::from_secs(4));
        status_latency(&app, Duration::from_secs(20));
        let later = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let p = create(&app, "later").await;
            app.deps.glase.pay(p.invoice_reference());
            tokio::time::sleep(Duration::from_secs(3)).await;
            status_latency(&app, Duration::from_millis(200));
            p
        };
        let (summary, later) = run_beside(&app, Duration::from_secs(25), later).await;
        let stored = app.deps.store.get_payment(later.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Paid, "{summary:?}");
        let confirmed_after = stored.last_checked_at().unwrap().since(later.created_at());
        assert!(
            confirmed_after <= Duration::from_secs(10),
            "confirmed {confirmed_after:?} after it was paid: {summary:?}"
        );
        // The slow payments fall due again (8 s after their claims) while their checks still wait: they
        // are not asked about a second time, and each is counted paid once.
        assert_eq!(summary.paid, 5, "{summary:?}");
        assert_eq!(status_calls(&app), 5, "{summary:?}");
        assert_eq!(summary.skipped_ticks, 0, "{summary:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_backlog_larger_than_one_listing_is_confirmed_without_waiting_for_the_ticks() {
        let app = app();
        let mut lost = Vec::new();
        for n in 0..250 {
            let p = create(&app, &format!("lost-{n}")).await;
            app.deps.glase.pay(p.invoice_reference());
            lost.push(p);
        }
        app.deps.clock.advance(Duration::from_secs(9));
        status_latency(&app, Duration::from_millis(100));
        let driver = clock_follows_tokio(&app);
        let summary = app
            .run_safety_net(&SafetyNetPlan::default(), Duration::from_secs(2))
            .await;
        driver.abort();
        // Four rounds of at most 64 checks of 100 ms each fit in the first second.
        assert_eq!(summary.paid, 250, "{summary:?}");
        assert!(app.deps.glase.max_status_calls_in_flight() <= CONFIRMATIONS_IN_FLIGHT);
        for p in &lost {
            let stored = app.deps.store.get_payment(p.id()).await.unwrap().unwrap();
            assert_eq!(stored.status(), PaymentStatus::Paid);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_passes_once_a_tick_until_its_time_is_up() {
        let app = app();
        let plan = SafetyNetPlan::default();
        let summary = app.run_safety_net(&plan, Duration::from_secs(62)).await;
        assert_eq!(summary.passes, 62);
        assert_eq!(summary.failed_passes, 0);
    }
}
