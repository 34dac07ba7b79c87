//! Scheduled work without a request: the safety net that confirms pending payments nobody asked Glase
//! about, the receipts paid payments still owe Glase, and the expiry of invoices nobody paid.
//!
//! One pass ([`App::safety_net_pass`]) runs the safety-net sweep, then the receipt sweep, and, every few
//! passes, expiry. Confirming comes first: it is the one with a deadline. The local
//! stack runs a pass every second for as long as it runs. In AWS a schedule starts the safety-net function
//! once a minute and [`App::run_safety_net`] runs passes every second until shortly before the next
//! start, so the sweeps cover every second of the day with one invocation at a time (plus a short
//! overlap that only costs a skipped claim, never a second Glase call: claims are conditional writes).

use std::time::Duration;

use payments_domain::payment::PaymentStatus;
use payments_domain::ports::{Clock, GlaseGateway, IdGenerator, PaymentStore, RefundQueue, StatusPush};

use crate::app::App;
use crate::metrics::Metric;

/// How the safety net paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafetyNetPlan {
    /// Time between two passes.
    pub tick: Duration,
    /// Expiry runs on every `expiry_every`-th pass.
    pub expiry_every: u64,
    /// The most payments one sweep looks at.
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
    /// Passes run.
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
    }
}

impl<S, G, Q, P, C, I> App<S, G, Q, P, C, I>
where
    S: PaymentStore,
    G: GlaseGateway,
    Q: RefundQueue,
    P: StatusPush,
    C: Clock,
    I: IdGenerator,
{
    /// One pass: the safety-net sweep, and expiry when `pass` is a multiple of the plan's
    /// `expiry_every`. Failures are counted and logged, never raised: the next pass tries again.
    pub async fn safety_net_pass(&self, pass: u64, plan: &SafetyNetPlan) -> SafetyNetSummary {
        let mut summary = SafetyNetSummary {
            passes: 1,
            ..SafetyNetSummary::default()
        };
        match self.deps.confirm_due_payments(plan.batch).await {
            Ok(report) => {
                summary.confirmed = report.confirmed;
                summary.failed += report.failed;
                for (payment_id, outcome) in &report.changed {
                    if outcome.after == PaymentStatus::Paid {
                        summary.paid += 1;
                        tracing::info!(payment_id = %payment_id, "the safety net confirmed a payment");
                    }
                    self.record_confirmation(outcome);
                }
            }
            Err(e) => {
                summary.failed_passes += 1;
                tracing::warn!(error = %e, "safety-net sweep failed");
            }
        }
        match self.deps.submit_due_receipts(plan.batch).await {
            Ok(report) => summary.receipts_sent = report.sent,
            Err(e) => {
                summary.failed_passes += 1;
                tracing::warn!(error = %e, "receipt sweep failed");
            }
        }
        if plan.expiry_every > 0 && pass.is_multiple_of(plan.expiry_every) {
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
                Err(e) => {
                    summary.failed_passes += 1;
                    tracing::warn!(error = %e, "expiry sweep failed");
                }
            }
        }
        if summary.failed_passes > 0 {
            self.metrics.record(&Metric::SafetyNetPassFailed);
        }
        summary
    }

    /// Runs passes every `plan.tick`, the first at once, until `run_for` has passed (measured on the
    /// runtime's clock, so tests can pause it). Answers the sum of every pass.
    pub async fn run_safety_net(&self, plan: &SafetyNetPlan, run_for: Duration) -> SafetyNetSummary {
        let start = tokio::time::Instant::now();
        let deadline = start + run_for;
        let mut summary = SafetyNetSummary::default();
        let mut pass: u64 = 0;
        loop {
            summary.add(self.safety_net_pass(pass, plan).await);
            pass += 1;
            let next = start + plan.tick * u32::try_from(pass).unwrap_or(u32::MAX);
            if next >= deadline {
                break;
            }
            tokio::time::sleep_until(next).await;
        }
        tracing::info!(
            passes = summary.passes,
            confirmed = summary.confirmed,
            paid = summary.paid,
            expired = summary.expired,
            receipts_sent = summary.receipts_sent,
            failed = summary.failed,
            "safety net run finished"
        );
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ApiKeys, hash_api_key};
    use crate::metrics::Metrics;
    use payments_domain::testing::{
        FakeGlase, GlaseCall, InMemoryStore, ManualClock, RecordingPush, RecordingQueue, SequentialIds,
    };
    use payments_domain::usecases::{Deps, UseCaseSettings};
    use secrecy::SecretString;

    type FakeApp = App<InMemoryStore, FakeGlase, RecordingQueue, RecordingPush, ManualClock, SequentialIds>;

    fn app() -> FakeApp {
        let clock = ManualClock::default();
        App {
            deps: Deps {
                store: InMemoryStore::new(),
                glase: FakeGlase::new(clock.clone()),
                queue: RecordingQueue::default(),
                push: RecordingPush::default(),
                clock,
                ids: SequentialIds::default(),
                settings: UseCaseSettings::default(),
            },
            api_keys: ApiKeys::parse(&SecretString::from(hash_api_key("sk_test_jobs"))).unwrap(),
            metrics: Metrics::to_writer("jobs", Box::new(std::io::sink())),
            function: None,
        }
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

    #[tokio::test(start_paused = true)]
    async fn a_run_passes_once_a_tick_until_its_time_is_up() {
        let app = app();
        let plan = SafetyNetPlan::default();
        let summary = app.run_safety_net(&plan, Duration::from_secs(62)).await;
        assert_eq!(summary.passes, 62);
        assert_eq!(summary.failed_passes, 0);
    }
}
