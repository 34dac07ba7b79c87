//! Refunds and their state machine.
//!
//! ```text
//! queued ◀─▶ sending ──▶ succeeded
//!                 │  ├──▶ failed
//!                 │  └──▶ needs_reconciliation ──▶ succeeded | failed (safe to retry)
//! ```
//!
//! `sending → queued` is taken only when the call certainly did not reach Glase (so the message is retried).
//! `queued → sending` is the conditional write the worker makes before calling refundPayment, so a
//! duplicate delivery finds the refund already `sending` and does nothing. After an ambiguous answer the
//! refund becomes `needs_reconciliation` and is settled only by a period report, never by calling Glase
//! again. The amounts of refunds that are not `failed` never exceed the payment (see
//! [`crate::payment::Payment::reserve_refund`]).

use std::fmt;

use thiserror::Error;

use crate::ids::{ErsReference, PaymentId, RefundId, Revision, Timestamp};
use crate::money::Money;
use crate::order::{CashierId, RefundReason};

/// The public status of a refund.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RefundStatus {
    /// Recorded and queued; nobody has called Glase yet.
    Queued,
    /// A worker claimed it and is calling refundPayment.
    Sending,
    /// Glase refunded it.
    Succeeded,
    /// Glase refused it, or a report showed it never happened; its amount is refundable again.
    Failed,
    /// The call's outcome is unknown; the next period report settles it.
    NeedsReconciliation,
}

impl RefundStatus {
    /// The wire name: `queued`, `sending`, `succeeded`, `failed`, `needs_reconciliation`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Queued => "queued",
            RefundStatus::Sending => "sending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
            RefundStatus::NeedsReconciliation => "needs_reconciliation",
        }
    }

    /// The stored statuses a refund in `next` may replace, following the refund state machine; every
    /// store enforces this in its conditional write.
    pub fn replaceable_by(next: RefundStatus) -> &'static [RefundStatus] {
        use RefundStatus::*;
        match next {
            // A refund goes back to `queued` only when its call certainly did not reach Glase.
            Queued => &[Queued, Sending],
            Sending => &[Queued, Sending],
            NeedsReconciliation => &[Sending, NeedsReconciliation],
            Succeeded => &[Sending, NeedsReconciliation, Succeeded],
            Failed => &[Sending, NeedsReconciliation, Failed],
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            RefundStatus::Queued,
            RefundStatus::Sending,
            RefundStatus::Succeeded,
            RefundStatus::Failed,
            RefundStatus::NeedsReconciliation,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// True for `succeeded` and `failed`.
    pub fn is_final(&self) -> bool {
        matches!(self, RefundStatus::Succeeded | RefundStatus::Failed)
    }

    /// True when the amount counts against the payment (every status but `failed`).
    pub fn holds_amount(&self) -> bool {
        !matches!(self, RefundStatus::Failed)
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a refund failed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RefundFailure {
    /// Glase refused it with a result code (98, 99, 97, 23, ...).
    Rejected {
        /// The `resultCode`.
        code: i32,
        /// The `resultDescription`.
        description: String,
    },
    /// The refund was in `needs_reconciliation` and the period report does not contain it: it never
    /// happened, and a new refund may safely be requested.
    AbsentFromReport,
}

/// The state of a refund with what each state carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RefundState {
    /// Queued.
    Queued,
    /// Being sent since `since`.
    Sending {
        /// When the worker claimed it.
        since: Timestamp,
    },
    /// Refunded by Glase.
    Succeeded {
        /// The refund's own `ersReference`.
        ers_reference: ErsReference,
        /// When we learned it.
        at: Timestamp,
    },
    /// Failed.
    Failed {
        /// Why.
        failure: RefundFailure,
        /// When we learned it.
        at: Timestamp,
    },
    /// Outcome unknown; `since` and the refund's `updated_at` bound when its Glase call was made.
    NeedsReconciliation {
        /// When the call whose outcome is unknown began: the worker's claim (`sending` since).
        since: Timestamp,
    },
}

impl RefundState {
    /// The status without its data.
    pub fn status(&self) -> RefundStatus {
        match self {
            RefundState::Queued => RefundStatus::Queued,
            RefundState::Sending { .. } => RefundStatus::Sending,
            RefundState::Succeeded { .. } => RefundStatus::Succeeded,
            RefundState::Failed { .. } => RefundStatus::Failed,
            RefundState::NeedsReconciliation { .. } => RefundStatus::NeedsReconciliation,
        }
    }
}

/// A transition the refund's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a refund that is {from} cannot become {to}")]
pub struct RefundTransitionError {
    /// The current status.
    pub from: RefundStatus,
    /// The status asked for.
    pub to: RefundStatus,
}

/// A refund of (part of) a paid payment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Refund {
    record: RefundRecord,
}

/// Every stored field of a refund, public, for store adapters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefundRecord {
    /// Our id.
    pub id: RefundId,
    /// The refunded payment.
    pub payment_id: PaymentId,
    /// How much, in the payment's currency, above zero.
    pub amount: Money,
    /// Why (the refund invoice's title).
    pub reason: RefundReason,
    /// Who (the refund invoice's `cashierId`).
    pub cashier_id: Option<CashierId>,
    /// The state.
    pub state: RefundState,
    /// How many times a worker claimed it (`queued → sending`).
    pub attempts: u32,
    /// When it was requested.
    pub created_at: Timestamp,
    /// When its state last changed.
    pub updated_at: Timestamp,
    /// The optimistic-concurrency revision.
    pub revision: Revision,
}

/// A stored refund that breaks an invariant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("stored refund is inconsistent: {0}")]
pub struct RefundRecordError(pub &'static str);

impl TryFrom<RefundRecord> for Refund {
    type Error = RefundRecordError;
    fn try_from(record: RefundRecord) -> Result<Self, Self::Error> {
        if !record.amount.is_positive() {
            return Err(RefundRecordError("the amount is not above zero"));
        }
        Ok(Refund { record })
    }
}

/// What a new refund starts from.
#[derive(Clone, Debug)]
pub struct NewRefund {
    /// Our id.
    pub id: RefundId,
    /// The payment.
    pub payment_id: PaymentId,
    /// How much; must be above zero (checked by [`crate::payment::Payment::reserve_refund`]).
    pub amount: Money,
    /// Why.
    pub reason: RefundReason,
    /// Who.
    pub cashier_id: Option<CashierId>,
    /// When.
    pub created_at: Timestamp,
}

impl Refund {
    /// A queued refund at revision 1; refuses amounts that are not above zero.
    pub fn new(new: NewRefund) -> Result<Refund, RefundRecordError> {
        Refund::try_from(RefundRecord {
            id: new.id,
            payment_id: new.payment_id,
            amount: new.amount,
            reason: new.reason,
            cashier_id: new.cashier_id,
            state: RefundState::Queued,
            attempts: 0,
            created_at: new.created_at,
            updated_at: new.created_at,
            revision: Revision::FIRST,
        })
    }

    /// Every field, for the store.
    pub fn to_record(&self) -> RefundRecord {
        self.record.clone()
    }

    /// Our id.
    pub fn id(&self) -> &RefundId {
        &self.record.id
    }
    /// The payment.
    pub fn payment_id(&self) -> &PaymentId {
        &self.record.payment_id
    }
    /// The amount.
    pub fn amount(&self) -> Money {
        self.record.amount
    }
    /// The reason.
    pub fn reason(&self) -> &RefundReason {
        &self.record.reason
    }
    /// The cashier.
    pub fn cashier_id(&self) -> Option<&CashierId> {
        self.record.cashier_id.as_ref()
    }
    /// The state.
    pub fn state(&self) -> &RefundState {
        &self.record.state
    }
    /// The status.
    pub fn status(&self) -> RefundStatus {
        self.record.state.status()
    }
    /// The refund's `ersReference` once succeeded.
    pub fn ers_reference(&self) -> Option<&ErsReference> {
        match &self.record.state {
            RefundState::Succeeded { ers_reference, .. } => Some(ers_reference),
            _ => None,
        }
    }
    /// How many times a worker claimed it.
    pub fn attempts(&self) -> u32 {
        self.record.attempts
    }
    /// When it was requested.
    pub fn created_at(&self) -> Timestamp {
        self.record.created_at
    }
    /// When its state last changed.
    pub fn updated_at(&self) -> Timestamp {
        self.record.updated_at
    }
    /// The revision.
    pub fn revision(&self) -> Revision {
        self.record.revision
    }

    fn moved(
        &self,
        allowed_from: &[RefundStatus],
        state: RefundState,
        at: Timestamp,
    ) -> Result<Refund, RefundTransitionError> {
        let from = self.status();
        if !allowed_from.contains(&from) {
            return Err(RefundTransitionError {
                from,
                to: state.status(),
            });
        }
        let attempts = if state.status() == RefundStatus::Sending {
            self.record.attempts.saturating_add(1)
        } else {
            self.record.attempts
        };
        Ok(Refund {
            record: RefundRecord {
                state,
                attempts,
                updated_at: at,
                revision: self.record.revision.next(),
                ..self.record.clone()
            },
        })
    }

    /// `queued → sending`: a worker claims the refund before calling refundPayment.
    pub fn start_sending(&self, now: Timestamp) -> Result<Refund, RefundTransitionError> {
        self.moved(&[RefundStatus::Queued], RefundState::Sending { since: now }, now)
    }

    /// `sending | needs_reconciliation → succeeded`, with the refund's own `ersReference`.
    pub fn succeed(
        &self,
        ers_reference: ErsReference,
        now: Timestamp,
    ) -> Result<Refund, RefundTransitionError> {
        self.moved(
            &[RefundStatus::Sending, RefundStatus::NeedsReconciliation],
            RefundState::Succeeded {
                ers_reference,
                at: now,
            },
            now,
        )
    }

    /// `sending → failed` after a clear refusal, or `needs_reconciliation → failed` when the report shows
    /// it never happened.
    pub fn fail(&self, failure: RefundFailure, now: Timestamp) -> Result<Refund, RefundTransitionError> {
        let from: &[RefundStatus] = match failure {
            RefundFailure::Rejected { .. } => &[RefundStatus::Sending],
            RefundFailure::AbsentFromReport => &[RefundStatus::NeedsReconciliation],
        };
        self.moved(from, RefundState::Failed { failure, at: now }, now)
    }

    /// `sending → queued` when the call certainly did not take effect (Glase unreachable before the
    /// request left, or its definite "busy" answers 93 and 94): the refund goes back in line for the next
    /// delivery of its message. Both states hold the amount, so the refund ledger does not change.
    pub fn release(&self, now: Timestamp) -> Result<Refund, RefundTransitionError> {
        self.moved(&[RefundStatus::Sending], RefundState::Queued, now)
    }

    /// `sending → needs_reconciliation` after an ambiguous answer (or a worker that vanished mid-call).
    /// The state keeps when the call began (the claim); `updated_at` becomes `now`, when the outcome was
    /// found unknown. Between the two lies the moment the call may have reached Glase.
    pub fn needs_reconciliation(&self, now: Timestamp) -> Result<Refund, RefundTransitionError> {
        let since = match self.record.state {
            RefundState::Sending { since } => since,
            _ => now,
        };
        self.moved(
            &[RefundStatus::Sending],
            RefundState::NeedsReconciliation { since },
            now,
        )
    }

    /// When the Glase call of a `needs_reconciliation` refund began (`None` in any other state).
    pub fn call_began_at(&self) -> Option<Timestamp> {
        match self.record.state {
            RefundState::NeedsReconciliation { since } => Some(since),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::order::tests::sek;

    pub(crate) fn queued_refund(amount: i64) -> Refund {
        Refund::new(NewRefund {
            id: RefundId::from_random([2; 16]),
            payment_id: PaymentId::from_random([1; 16]),
            amount: sek(amount),
            reason: RefundReason::parse("Returned item").unwrap(),
            cashier_id: None,
            created_at: Timestamp::from_unix_millis(1_000),
        })
        .unwrap()
    }

    fn ers() -> ErsReference {
        ErsReference::parse("2015102910184861801032679").unwrap()
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn a_refund_is_claimed_once_then_succeeds() {
        let sending = queued_refund(100).start_sending(t(2)).unwrap();
        assert_eq!(sending.attempts(), 1);
        assert_eq!(
            sending.start_sending(t(3)),
            Err(RefundTransitionError {
                from: RefundStatus::Sending,
                to: RefundStatus::Sending
            })
        );
        let done = sending.succeed(ers(), t(4)).unwrap();
        assert_eq!(done.status(), RefundStatus::Succeeded);
        assert_eq!(done.ers_reference(), Some(&ers()));
        assert_eq!(done.revision().get(), 3);
    }

    #[test]
    fn a_queued_refund_cannot_succeed_without_being_sent() {
        assert!(queued_refund(100).succeed(ers(), t(2)).is_err());
    }

    #[test]
    fn an_ambiguous_refund_is_settled_only_by_the_report() {
        let unknown = queued_refund(100)
            .start_sending(t(2))
            .unwrap()
            .needs_reconciliation(t(3))
            .unwrap();
        assert!(unknown.start_sending(t(4)).is_err());
        let rejected = RefundFailure::Rejected {
            code: 98,
            description: "x".to_owned(),
        };
        assert!(unknown.fail(rejected, t(4)).is_err());
        assert_eq!(
            unknown
                .fail(RefundFailure::AbsentFromReport, t(4))
                .unwrap()
                .status(),
            RefundStatus::Failed
        );
        assert_eq!(
            unknown.succeed(ers(), t(4)).unwrap().status(),
            RefundStatus::Succeeded
        );
    }

    #[test]
    fn final_refunds_never_move() {
        let failed = queued_refund(100)
            .start_sending(t(2))
            .unwrap()
            .fail(
                RefundFailure::Rejected {
                    code: 99,
                    description: "no".to_owned(),
                },
                t(3),
            )
            .unwrap();
        assert!(failed.succeed(ers(), t(4)).is_err());
        assert!(failed.needs_reconciliation(t(4)).is_err());
        assert!(failed.start_sending(t(4)).is_err());
    }

    #[test]
    fn a_refund_of_zero_is_refused() {
        let mut record = queued_refund(100).to_record();
        record.amount = sek(0);
        assert!(Refund::try_from(record).is_err());
    }

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for status in [
            RefundStatus::Queued,
            RefundStatus::NeedsReconciliation,
            RefundStatus::Failed,
        ] {
            assert_eq!(RefundStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RefundStatus::parse("done"), None);
    }
}
