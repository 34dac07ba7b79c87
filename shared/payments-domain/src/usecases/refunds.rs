//! Refunds: requested through the API, recorded together with the reservation of their amount, queued,
//! and sent to Glase by a worker that never pays back twice.
//!
//! - The request checks the amount against what is still refundable and writes the refund and the
//!   payment's reserved amount in one transaction; then it sends one message. A failed send leaves the
//!   refund `queued`, and [`Deps::sweep_refunds`] sends it again later (an outbox).
//! - An idempotency key belongs to its payment: the request's fingerprint covers the payment, so the
//!   same key on another payment is a conflict, never the other payment's refund. With a key, the
//!   refund's id is derived from the payment and the key ([`keyed_refund_id`]), so every attempt under
//!   that key writes the same refund item and the store's create-if-absent decides: an attempt whose
//!   answer was lost (a completion write that failed, a function that timed out after the refund was
//!   stored) is taken over after its lease and answers the refund the first attempt stored instead of
//!   recording a second one. The key is freed only after an error known to have changed nothing (a
//!   business refusal, an unknown payment, a throttled or refused write); after an ambiguous store
//!   error it stays taken until its lease ends, and the retry then finds what was stored.
//! - The worker claims the refund (`queued → sending`, conditional) before calling refundPayment, so a
//!   duplicate delivery does nothing. A clear answer settles it (`succeeded` with Glase's reference, or
//!   `failed` with the result code, giving the amount back). A call that certainly did not reach Glase
//!   puts it back to `queued` and the message is retried. An ambiguous call (timeout after sending) makes
//!   it `needs_reconciliation`: it is never sent again on its own; the period report settles it.

use std::time::Duration;

use crate::idempotency::{
    Fingerprint, FingerprintBuilder, IdempotencyKey, Operation, SideEffect, StoredOutcome,
};
use crate::ids::{PaymentId, RefundId};
use crate::money::Money;
use crate::order::{CashierId, RefundReason};
use crate::payment::PaymentError;
use crate::ports::{
    Clock, GlaseError, GlaseGateway, IdGenerator, PaymentStore, Ports, RefundInvoice, RefundMessage,
    RefundQueue, StoreError, result_codes,
};
use crate::refund::{NewRefund, Refund, RefundFailure, RefundStatus};

use super::{
    Caller, ConflictReason, Deps, KeyTaken, MAX_RACES, Race, UseCaseError, key_taken_over, retry_on_race,
};

/// A refund request.
#[derive(Clone, Debug)]
pub struct RequestRefund {
    /// The payment.
    pub payment_id: PaymentId,
    /// The amount in the payment's minor units.
    pub amount_minor: i64,
    /// Why (the refund invoice's title).
    pub reason: RefundReason,
    /// The cashier.
    pub cashier_id: Option<CashierId>,
    /// The client's idempotency key with the request's fingerprint (which covers the payment: see the
    /// module documentation).
    pub idempotency: Option<(IdempotencyKey, Fingerprint)>,
}

/// The id of the refund that `key` requests on `payment`: the same for every attempt under the key, and
/// distinct for every other payment or key (the first 16 bytes of a SHA-256 over both).
pub fn keyed_refund_id(payment: &PaymentId, key: &IdempotencyKey) -> RefundId {
    let digest = FingerprintBuilder::new(Operation::RequestRefund)
        .text("refund_of_payment", payment.as_str())
        .text("idempotency_key", key.as_str())
        .finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_bytes()[..16]);
    RefundId::from_random(bytes)
}

/// Whether a failed request certainly changed nothing, so that its idempotency key may be freed. An
/// unreachable store may have taken the refund's write before the connection failed.
fn changed_nothing(error: &UseCaseError) -> bool {
    !matches!(error, UseCaseError::Store(StoreError::Unavailable { .. }))
}

/// What the worker did with one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundProcessing {
    /// Glase refunded it.
    Succeeded,
    /// Glase refused it with this code; its amount is refundable again.
    Failed(i32),
    /// The outcome is unknown; the period report settles it. Never sent again on its own.
    NeedsReconciliation,
    /// Nothing to do: another delivery handled it, or it is settled.
    AlreadyHandled,
    /// The call certainly did not reach Glase; the refund is queued again and the message should be
    /// retried later.
    Retry(String),
}

/// What one outbox sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundSweepReport {
    /// `queued` refunds whose message was sent again.
    pub requeued: usize,
    /// `sending` refunds abandoned by a worker, moved to `needs_reconciliation`.
    pub abandoned: usize,
}

impl<P: Ports> Deps<P> {
    /// Records a refund and queues it. With an idempotency key, a repeated request answers the first
    /// refund; another body under the same key is a conflict.
    pub async fn request_refund(&self, request: RequestRefund) -> Result<Refund, UseCaseError> {
        let Some((key, fingerprint)) = request.idempotency.clone() else {
            return self.record_refund(&request).await;
        };
        let taken = self.take_key(
            self.key_record(Operation::RequestRefund, &key, fingerprint),
            SideEffect::Repeatable,
            "an earlier request with this key did not finish",
            |_| key_taken_over(),
        );
        let owned = match taken.await? {
            KeyTaken::Owned(owned) => owned,
            KeyTaken::Replay(StoredOutcome::RefundRequested {
                payment_id,
                refund_id,
            }) if payment_id == request.payment_id => {
                return self
                    .store
                    .get_refund(&payment_id, &refund_id)
                    .await?
                    .ok_or(UseCaseError::NotFound("refund"));
            }
            KeyTaken::Replay(_) => return Err(UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused)),
        };
        let result = self.record_refund(&request).await;
        match &result {
            Ok(refund) => {
                let outcome = StoredOutcome::RefundRequested {
                    payment_id: refund.payment_id().clone(),
                    refund_id: refund.id().clone(),
                };
                let _ = self
                    .store
                    .replace_idempotency_record(&owned.completed(outcome), owned.revision)
                    .await;
            }
            Err(e) if changed_nothing(e) => {
                let _ = self
                    .store
                    .delete_idempotency_record(Operation::RequestRefund, &key, owned.revision)
                    .await;
            }
            // The refund may be stored: the key stays taken until its lease ends, and the retry that
            // takes it over then finds that refund by its id.
            Err(_) => {}
        }
        result
    }

    /// The refund stored under the request's key before, if any: the answer when it is the same request,
    /// a conflict when the key asked for another refund (after its record expired).
    async fn stored_under_key(
        &self,
        request: &RequestRefund,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, UseCaseError> {
        let Some(existing) = self.store.get_refund(&request.payment_id, refund_id).await? else {
            return Ok(None);
        };
        let same = existing.amount().minor_units() == request.amount_minor
            && existing.reason() == &request.reason
            && existing.cashier_id() == request.cashier_id.as_ref();
        if same {
            Ok(Some(existing))
        } else {
            Err(UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused))
        }
    }

    async fn record_refund(&self, request: &RequestRefund) -> Result<Refund, UseCaseError> {
        let payment = self.load_for(&request.payment_id, Caller::Merchant).await?;
        let keyed = request.idempotency.is_some();
        let refund_id = match &request.idempotency {
            Some((key, _)) => keyed_refund_id(&request.payment_id, key),
            None => self.ids.refund_id(),
        };
        // An earlier attempt under this key may have stored the refund (and reserved its amount, so
        // checking the amount first could refuse the very refund it asks about).
        if keyed && let Some(existing) = self.stored_under_key(request, &refund_id).await? {
            return Ok(existing);
        }
        let refund_id = &refund_id;
        let recorded = retry_on_race(payment, |payment, _| async move {
            let amount = Money::new(request.amount_minor, payment.amount().currency());
            let next = payment.reserve_refund(amount).map_err(|e| match e {
                PaymentError::WrongStatus { .. } => UseCaseError::Conflict(ConflictReason::NotPaid),
                other => UseCaseError::Unprocessable(other.to_string()),
            })?;
            let refund = Refund::new(NewRefund {
                id: refund_id.clone(),
                payment_id: request.payment_id.clone(),
                amount,
                reason: request.reason.clone(),
                cashier_id: request.cashier_id.clone(),
                created_at: self.clock.now(),
            })
            .map_err(|e| UseCaseError::Invalid(e.0.to_owned()))?;
            match self.store.create_refund(&refund, &next, payment.revision()).await {
                Ok(()) => {
                    // A failed send is repaired by the outbox sweep: the refund stays queued.
                    let _ = self
                        .queue
                        .enqueue(&RefundMessage {
                            payment_id: request.payment_id.clone(),
                            refund_id: refund_id.clone(),
                        })
                        .await;
                    Ok(Race::Done(refund))
                }
                Err(StoreError::ConditionFailed) => {
                    if keyed && let Some(existing) = self.stored_under_key(request, refund_id).await? {
                        return Ok(Race::Done(existing));
                    }
                    Ok(Race::Retry(self.stored_payment(&request.payment_id).await?))
                }
                Err(e) => Err(e.into()),
            }
        });
        Ok(recorded.await?.won()?)
    }

    /// Reads a refund of a payment.
    pub async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Refund, UseCaseError> {
        self.store
            .get_refund(payment_id, refund_id)
            .await?
            .ok_or(UseCaseError::NotFound("refund"))
    }

    /// Processes one refund message (at-least-once delivery: duplicates do nothing).
    pub async fn process_refund(&self, message: &RefundMessage) -> Result<RefundProcessing, UseCaseError> {
        let Some(refund) = self
            .store
            .get_refund(&message.payment_id, &message.refund_id)
            .await?
        else {
            return Ok(RefundProcessing::AlreadyHandled);
        };
        if refund.status() != RefundStatus::Queued {
            return Ok(RefundProcessing::AlreadyHandled);
        }
        let sending = refund
            .start_sending(self.clock.now())
            .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
        match self.store.update_refund(&sending, refund.revision()).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Ok(RefundProcessing::AlreadyHandled),
            Err(e) => return Err(e.into()),
        }
        let payment = self.stored_payment(&message.payment_id).await?;
        let Some(original) = payment.ers_reference().cloned() else {
            return Err(UseCaseError::Invalid("a refunded payment must be paid".into()));
        };
        let terminal = self.glase_terminal_of(&payment).await?;
        let invoice = RefundInvoice {
            reason: refund.reason().clone(),
            amount: refund.amount(),
            cashier_id: refund.cashier_id().cloned(),
            rows: Vec::new(),
            issued_at: self.clock.now(),
        };
        let answer = self.glase.refund_payment(&terminal, &original, &invoice).await;
        let now = self.clock.now();
        let transient = |e: &GlaseError| match e {
            GlaseError::Unavailable { .. } => true,
            GlaseError::Rejected { code, .. } => {
                *code == result_codes::SYSTEM_BUSY || *code == result_codes::SERVICE_UNAVAILABLE
            }
            GlaseError::OutcomeUnknown { .. } => false,
        };
        let (next, outcome, settle) = match answer {
            Ok(reference) => (
                sending
                    .succeed(reference, now)
                    .map_err(|e| UseCaseError::Invalid(e.to_string()))?,
                RefundProcessing::Succeeded,
                Some(true),
            ),
            Err(e) if transient(&e) => (
                sending
                    .release(now)
                    .map_err(|e| UseCaseError::Invalid(e.to_string()))?,
                RefundProcessing::Retry(e.to_string()),
                None,
            ),
            Err(GlaseError::Rejected { code, description }) => (
                sending
                    .fail(RefundFailure::Rejected { code, description }, now)
                    .map_err(|e| UseCaseError::Invalid(e.to_string()))?,
                RefundProcessing::Failed(code),
                Some(false),
            ),
            Err(_) => (
                sending
                    .needs_reconciliation(now)
                    .map_err(|e| UseCaseError::Invalid(e.to_string()))?,
                RefundProcessing::NeedsReconciliation,
                None,
            ),
        };
        match settle {
            None => self.store.update_refund(&next, sending.revision()).await?,
            Some(succeeded) => {
                let (next, sending, refund) = (&next, &sending, &refund);
                let settled = retry_on_race(payment, |current, attempt| async move {
                    let ledger = current
                        .settle_refund(refund.amount(), succeeded)
                        .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
                    match self
                        .store
                        .settle_refund(next, sending.revision(), &ledger, current.revision())
                        .await
                    {
                        Ok(()) => Ok(Race::Done(())),
                        Err(StoreError::ConditionFailed) if attempt + 1 < MAX_RACES => {
                            Ok(Race::Retry(self.stored_payment(&message.payment_id).await?))
                        }
                        Err(e) => Err(e.into()),
                    }
                });
                settled.await?.won()?;
            }
        }
        Ok(outcome)
    }

    /// The outbox sweep: sends again the message of every refund still `queued` after `queued_for`, and
    /// moves refunds a worker left `sending` for longer than `abandoned_after` to `needs_reconciliation`
    /// (their call may have happened; only the period report may settle them).
    pub async fn sweep_refunds(
        &self,
        queued_for: Duration,
        abandoned_after: Duration,
        limit: usize,
    ) -> Result<RefundSweepReport, UseCaseError> {
        let now = self.clock.now();
        let mut report = RefundSweepReport::default();
        for refund in self
            .store
            .refunds_in_status(RefundStatus::Queued, now.minus(queued_for), limit)
            .await?
        {
            let message = RefundMessage {
                payment_id: refund.payment_id().clone(),
                refund_id: refund.id().clone(),
            };
            if self.queue.enqueue(&message).await.is_ok() {
                report.requeued += 1;
            }
        }
        for refund in self
            .store
            .refunds_in_status(RefundStatus::Sending, now.minus(abandoned_after), limit)
            .await?
        {
            if let Ok(next) = refund.needs_reconciliation(now)
                && self.store.update_refund(&next, refund.revision()).await.is_ok()
            {
                report.abandoned += 1;
            }
        }
        Ok(report)
    }
}
