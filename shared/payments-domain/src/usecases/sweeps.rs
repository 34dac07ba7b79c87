//! Work without a shopper: the safety net that confirms pending payments nobody asked about, and the
//! expiry of invoices nobody paid.
//!
//! The safety net is what keeps a payment from being reversed when the notification is lost and the
//! shopper closed the page: every pending payment that Glase was not asked about within the check
//! interval is claimed (a conditional write, so two sweepers never both call) and confirmed. It never
//! calls Glase for a payment that is already final, because only pending payments are listed.

use std::time::Duration;

use crate::ids::PaymentId;
use crate::payment::{Payment, PaymentStatus};
use crate::ports::{Clock, PaymentStore, Ports, StoreError};

use super::{Caller, ConfirmOutcome, Deps, Race, UseCaseError, at_most, retry_on_race};

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

/// How many expired payments one expiry run cancels at once.
pub const EXPIRY_CONCURRENCY: usize = 8;

/// How long a payment that expiry could not cancel (Glase 51, or a cancel that failed) is left before
/// expiry tries again.
pub const EXPIRY_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What the check of one due payment came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DueCheck {
    /// Not due any more, or another sweeper or reader claimed it first: Glase was not asked.
    Skipped,
    /// The claim could not be written: Glase was not asked; a later sweep tries again.
    Failed,
    /// Glase was asked; the change of status, if any.
    Confirmed(Option<(PaymentId, ConfirmOutcome)>),
    /// Glase was asked without a clear answer (or the outcome could not be stored); tried again later.
    ConfirmFailed,
}

impl SweepReport {
    /// Adds the check of one payment.
    pub fn add(&mut self, check: DueCheck) {
        match check {
            DueCheck::Skipped => self.skipped += 1,
            DueCheck::Failed => self.failed += 1,
            DueCheck::Confirmed(change) => {
                self.confirmed += 1;
                self.changed.extend(change);
            }
            DueCheck::ConfirmFailed => {
                self.confirmed += 1;
                self.failed += 1;
            }
        }
    }
}

/// What one expiry run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    /// Payments cancelled.
    pub canceled: Vec<PaymentId>,
    /// Payments the shopper is paying right now (Glase 51): postponed.
    pub in_progress: usize,
    /// Payments found paid instead (confirmed and recorded).
    pub found_paid: usize,
    /// Payments whose cancellation failed for another reason: postponed.
    pub failed: usize,
}

impl<P: Ports> Deps<P> {
    /// Confirms, with Glase, up to `limit` pending payments nobody asked about within the check interval,
    /// [`CONFIRM_CONCURRENCY`] at once: [`Deps::payments_due`], then [`Deps::confirm_due`] for each.
    pub async fn confirm_due_payments(&self, limit: usize) -> Result<SweepReport, UseCaseError> {
        let due = self.payments_due(limit).await?;
        let mut report = SweepReport {
            examined: due.len(),
            ..SweepReport::default()
        };
        let checked = at_most(due, CONFIRM_CONCURRENCY, |payment| self.confirm_due(payment)).await;
        for check in checked {
            report.add(check);
        }
        Ok(report)
    }

    /// Up to `limit` pending payments Glase was not asked about within the check interval, the longest
    /// unchecked first (a payment never asked about counts from its creation).
    pub async fn payments_due(&self, limit: usize) -> Result<Vec<Payment>, UseCaseError> {
        // Due once a whole interval has passed since the last check: checked before one millisecond
        // after `now - interval`.
        let checked_before = self
            .clock
            .now()
            .minus(self.settings.safety_net_interval)
            .plus(Duration::from_millis(1));
        Ok(self.store.pending_payments_due(checked_before, limit).await?)
    }

    /// Claims one payment [`Deps::payments_due`] listed (a conditional write on the listed revision, so
    /// two sweepers never both call) and confirms it with Glase. A payment no longer due is skipped.
    pub async fn confirm_due(&self, payment: Payment) -> DueCheck {
        let now = self.clock.now();
        // A payment nobody asked about yet counts from its creation: its notification may still come.
        let last = payment.last_checked_at().unwrap_or(payment.created_at());
        if payment.status() != PaymentStatus::Pending || now.since(last) < self.settings.safety_net_interval {
            return DueCheck::Skipped;
        }
        let claim = payment.checked_at(now);
        match self.store.update_payment(&claim, payment.revision()).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return DueCheck::Skipped,
            Err(_) => return DueCheck::Failed,
        }
        match self.confirm_claimed(claim, payment.last_checked_at()).await {
            Ok((p, outcome)) if outcome.changed() => DueCheck::Confirmed(Some((p.id().clone(), outcome))),
            Ok(_) => DueCheck::Confirmed(None),
            Err(_) => DueCheck::ConfirmFailed,
        }
    }

    /// Cancels up to `limit` pending payments whose invoice expired, the earliest expiry first and
    /// [`EXPIRY_CONCURRENCY`] at once. One Glase holds as paid is confirmed instead. One that cannot be
    /// cancelled now (the shopper is paying, Glase 51, or the cancel failed) has its expiry postponed by
    /// [`EXPIRY_RETRY_DELAY`] with a conditional write, so it leaves the head of the expiry order and
    /// never keeps the payments behind it from being expired.
    pub async fn expire_payments(&self, limit: usize) -> Result<ExpiryReport, UseCaseError> {
        let expired = self
            .store
            .pending_payments_expired(self.clock.now(), limit)
            .await?;
        let outcomes = at_most(expired, EXPIRY_CONCURRENCY, |payment| self.expire(payment)).await;
        let mut report = ExpiryReport::default();
        for outcome in outcomes {
            match outcome {
                Expired::Canceled(id) => report.canceled.push(id),
                Expired::InProgress => report.in_progress += 1,
                Expired::FoundPaid => report.found_paid += 1,
                Expired::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Cancels one expired payment; postpones its expiry when it stays pending.
    async fn expire(&self, payment: Payment) -> Expired {
        let outcome = match self.cancel_payment(payment.id(), Caller::Merchant).await {
            Ok(p) if p.status() == PaymentStatus::Canceled => return Expired::Canceled(p.id().clone()),
            Ok(_) => Expired::Failed,
            Err(UseCaseError::Conflict(super::ConflictReason::PaymentInProgress)) => Expired::InProgress,
            Err(UseCaseError::Conflict(super::ConflictReason::AlreadyPaid)) => Expired::FoundPaid,
            Err(_) => Expired::Failed,
        };
        self.postpone_expiry(payment).await;
        outcome
    }

    /// Moves a still-pending payment's expiry to [`EXPIRY_RETRY_DELAY`] from now, re-reading after a
    /// lost race (a status check claims the payment meanwhile, say). A payment that became final is
    /// left as it is; a write that fails leaves the expiry where it was, for the next run.
    async fn postpone_expiry(&self, payment: Payment) {
        let postponed = retry_on_race(payment, |current, _| async move {
            let retry_at = self.clock.now().plus(EXPIRY_RETRY_DELAY);
            let Ok(next) = current.expiry_postponed(retry_at) else {
                return Ok(Race::Done(()));
            };
            Ok(match self.store.update_payment(&next, current.revision()).await {
                Err(StoreError::ConditionFailed) => match self.store.get_payment(current.id()).await {
                    Ok(Some(fresh)) => Race::Retry(fresh),
                    _ => Race::Done(()),
                },
                _ => Race::Done(()),
            })
        });
        // Whatever the write came to, the expiry is where the next run finds it.
        let _ = postponed.await;
    }
}

/// What happened to one expired payment.
enum Expired {
    Canceled(PaymentId),
    InProgress,
    FoundPaid,
    Failed,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::order::tests::{order_of, row, sek};
    use crate::payment::{GlaseInvoiceStatus, PaymentTerminal};
    use crate::ports::IdGenerator;
    use crate::testing::{FakeDeps, SequentialIds};
    use crate::usecases::tests::unavailable;
    use crate::usecases::{CreatePayment, UseCaseSettings};

    /// Ids from a counter that counts down: a payment created later has a lower id.
    #[derive(Clone, Debug)]
    struct DescendingIds(Arc<AtomicU64>);

    impl IdGenerator for DescendingIds {
        fn random_128(&self) -> [u8; 16] {
            let n = self.0.fetch_sub(1, Ordering::SeqCst);
            let mut bytes = [0u8; 16];
            bytes[8..].copy_from_slice(&n.to_be_bytes());
            bytes
        }

        fn client_secret_key(&self) -> Option<&crate::secret::ClientSecretKey> {
            Some(crate::testing::test_client_secret_key())
        }
    }

    fn deps_with<I: IdGenerator>(ids: I) -> FakeDeps<I> {
        crate::testing::fake_deps_with(ids, UseCaseSettings::default())
    }

    async fn create<I: IdGenerator>(d: &FakeDeps<I>) -> Payment {
        d.create_payment(CreatePayment {
            order: order_of(vec![row("Tea", sek(2_500))], sek(2_500)).unwrap(),
            terminal: PaymentTerminal::Webshop,
            idempotency: None,
        })
        .await
        .unwrap()
        .payment
    }

    /// Two expiry runs that look at two payments each, 5 s apart.
    async fn two_runs_of_two<I: IdGenerator>(d: &FakeDeps<I>) -> (ExpiryReport, ExpiryReport) {
        let first = d.expire_payments(2).await.unwrap();
        d.clock.advance(Duration::from_secs(5));
        (first, d.expire_payments(2).await.unwrap())
    }

    /// A payment created a second after the others, left until it and they have expired.
    async fn abandoned_later<I: IdGenerator>(d: &FakeDeps<I>) -> Payment {
        d.clock.advance(Duration::from_secs(1));
        let abandoned = create(d).await;
        d.clock.advance(Duration::from_secs(121));
        abandoned
    }

    #[tokio::test]
    async fn a_due_payment_is_confirmed_however_many_younger_ones_sort_before_it_by_id() {
        let d = deps_with(DescendingIds(Arc::new(AtomicU64::new(u64::MAX))));
        let due = create(&d).await;
        d.glase.pay(due.invoice_reference());
        d.clock.advance(d.settings.safety_net_interval);
        // More never-checked payments than one sweep looks at, all younger than the check interval and
        // all with lower ids than the due one.
        let mut young = Vec::new();
        for _ in 0..12 {
            young.push(create(&d).await);
        }
        assert!(young.iter().all(|p| p.id().as_str() < due.id().as_str()));
        d.clock.advance(Duration::from_secs(1));

        let report = d.confirm_due_payments(10).await.unwrap();
        assert_eq!((report.examined, report.confirmed, report.skipped), (1, 1, 0));
        let stored = d.store.get_payment(due.id()).await.unwrap().unwrap();
        assert_eq!(stored.status(), PaymentStatus::Paid);
    }

    #[tokio::test]
    async fn payments_the_shopper_is_paying_never_keep_an_expired_one_from_being_cancelled() {
        let d = deps_with(SequentialIds::default());
        let mut paying = Vec::new();
        for _ in 0..3 {
            let p = create(&d).await;
            d.glase.set_status(
                p.invoice_reference(),
                GlaseInvoiceStatus::PendingIssuerAcknowledge,
            );
            paying.push(p);
        }
        let abandoned = abandoned_later(&d).await;

        // Each run looks at two: the first meets two payments being paid, and postpones them.
        let (first, second) = two_runs_of_two(&d).await;
        assert_eq!((first.in_progress, first.canceled.len()), (2, 0));
        assert_eq!(second.canceled, vec![abandoned.id().clone()]);
        assert_eq!(second.in_progress, 1);
        for p in &paying {
            let stored = d.store.get_payment(p.id()).await.unwrap().unwrap();
            assert_eq!(stored.status(), PaymentStatus::Pending);
            assert!(stored.expires_at() > d.clock.now(), "postponed past this run");
        }
        // Once the shopper gives up, the postponed payment is cancelled by a later run.
        d.glase
            .set_status(paying[0].invoice_reference(), GlaseInvoiceStatus::Issued);
        d.clock.advance(EXPIRY_RETRY_DELAY);
        let later = d.expire_payments(10).await.unwrap();
        assert!(later.canceled.contains(paying[0].id()));
    }

    #[tokio::test]
    async fn cancels_that_keep_failing_never_keep_an_expired_payment_from_being_cancelled() {
        let d = deps_with(SequentialIds::default());
        for _ in 0..3 {
            create(&d).await;
            d.glase.fail_next("cancelInvoice", unavailable("down"));
        }
        let abandoned = abandoned_later(&d).await;

        let (first, second) = two_runs_of_two(&d).await;
        assert_eq!((first.failed, first.canceled.len()), (2, 0));
        assert_eq!(second.canceled, vec![abandoned.id().clone()]);
        assert_eq!(second.failed, 1);
    }
}
