//! Work without a shopper: the safety net that confirms pending payments nobody asked about, and the
//! expiry of invoices nobody paid.
//!
//! The safety net is what keeps a payment from being reversed when the notification is lost and the
//! shopper closed the page: every pending payment that Glase was not asked about within the check
//! interval is claimed (a conditional write, so two sweepers never both call) and confirmed. It never
//! calls Glase for a payment that is already final, because only pending payments are listed.

use futures::stream::{self, StreamExt as _};

use crate::ids::PaymentId;
use crate::ids::Timestamp;
use crate::payment::{Payment, PaymentStatus};
use crate::ports::{Clock, GlaseGateway, IdGenerator, PaymentStore, RefundQueue, StatusPush, StoreError};

use super::{ConfirmOutcome, Deps, Reader, UseCaseError};

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Payments looked at.
    pub examined: usize,
    /// Payments Glase was asked about.
    pub confirmed: usize,
    /// Payments whose status changed, with the change.
    pub changed: Vec<(PaymentId, ConfirmOutcome)>,
    /// Payments skipped because another sweeper or reader claimed them first.
    pub skipped: usize,
    /// Payments whose check failed (Glase or the store); they are tried again on the next sweep.
    pub failed: usize,
}

/// How many due payments one sweep confirms at once. One at a time, a sweep confirms about five
/// payments a second against Glase's round trip in AWS (a claim write, the call, the write of the
/// outcome); if notifications stopped arriving, a shop taking more than that would see payments reach
/// Glase's 20-second window unconfirmed. Sixteen at once keep pace with about eighty a second.
pub const CONFIRM_CONCURRENCY: usize = 16;

/// What happened to one due payment in a sweep.
enum Checked {
    Skipped,
    Failed,
    Confirmed(Option<(PaymentId, ConfirmOutcome)>),
    ConfirmFailed,
}

/// What one expiry run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    /// Payments cancelled.
    pub canceled: Vec<PaymentId>,
    /// Payments the shopper is paying right now (Glase 51): left for the next run.
    pub in_progress: usize,
    /// Payments found paid instead (confirmed and recorded).
    pub found_paid: usize,
    /// Payments whose cancellation failed for another reason; tried again next run.
    pub failed: usize,
}

impl<S, G, Q, P, C, I> Deps<S, G, Q, P, C, I>
where
    S: PaymentStore,
    G: GlaseGateway,
    Q: RefundQueue,
    P: StatusPush,
    C: Clock,
    I: IdGenerator,
{
    /// Confirms, with Glase, up to `limit` pending payments nobody asked about within the check interval.
    pub async fn confirm_due_payments(&self, limit: usize) -> Result<SweepReport, UseCaseError> {
        let now = self.clock.now();
        let due = self
            .store
            .pending_payments_due(now.minus(self.settings.safety_net_interval), limit)
            .await?;
        let mut report = SweepReport {
            examined: due.len(),
            ..SweepReport::default()
        };
        let checked: Vec<Checked> = stream::iter(due)
            .map(|payment| self.check_due(payment, now))
            .buffer_unordered(CONFIRM_CONCURRENCY)
            .collect()
            .await;
        for outcome in checked {
            match outcome {
                Checked::Skipped => report.skipped += 1,
                Checked::Failed => report.failed += 1,
                Checked::Confirmed(change) => {
                    report.confirmed += 1;
                    report.changed.extend(change);
                }
                Checked::ConfirmFailed => {
                    report.confirmed += 1;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Claims one due payment (a conditional write, so two sweepers never both call) and confirms it.
    async fn check_due(&self, payment: Payment, now: Timestamp) -> Checked {
        // A payment nobody asked about yet counts from its creation: its notification may still come.
        let last = payment.last_checked_at().unwrap_or(payment.created_at());
        if payment.status() != PaymentStatus::Pending || now.since(last) < self.settings.safety_net_interval {
            return Checked::Skipped;
        }
        let claim = payment.checked_at(now);
        match self.store.update_payment(&claim, payment.revision()).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Checked::Skipped,
            Err(_) => return Checked::Failed,
        }
        match self.confirm_claimed(claim, payment.last_checked_at()).await {
            Ok((p, outcome)) if outcome.changed() => Checked::Confirmed(Some((p.id().clone(), outcome))),
            Ok(_) => Checked::Confirmed(None),
            Err(_) => Checked::ConfirmFailed,
        }
    }

    /// Cancels up to `limit` pending payments whose invoice expired. A payment the shopper is paying right
    /// now is left for the next run; one Glase holds as paid is confirmed instead.
    pub async fn expire_payments(&self, limit: usize) -> Result<ExpiryReport, UseCaseError> {
        let expired = self
            .store
            .pending_payments_expired(self.clock.now(), limit)
            .await?;
        let mut report = ExpiryReport::default();
        for payment in expired {
            match self.cancel_payment(payment.id(), Reader::Merchant).await {
                Ok(p) if p.status() == PaymentStatus::Canceled => report.canceled.push(p.id().clone()),
                Ok(_) => report.failed += 1,
                Err(UseCaseError::Conflict(super::ConflictReason::PaymentInProgress)) => {
                    report.in_progress += 1
                }
                Err(UseCaseError::Conflict(super::ConflictReason::AlreadyPaid)) => report.found_paid += 1,
                Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }
}
