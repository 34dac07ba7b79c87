//! Payments and their state machine.
//!
//! A payment is `pending` until Glase reports a final status; then it is `paid`, `canceled` or `failed`
//! and never changes state again. What Glase reports is an [`Observation`]; [`decide`] is the one pure
//! function that turns the current payment and an observation into a [`Decision`]: either no change (with
//! the reason) or the next state. Stale, duplicate and out-of-order observations change nothing.
//!
//! Every method that changes a payment returns a new value with the next [`Revision`]; the store writes it
//! only if the stored revision is still the one the change was computed from.
//!
//! # Layout
//! - `status`: [`PaymentStatus`] and [`PaymentState`].
//! - `decision`: what a Glase status answer means for us: [`Observation`], [`decide`], [`Decision`].
//! - `receipt`: [`ReceiptState`], the receipt's way to Glase.
//! - `ledger`: [`RefundLedger`], the refund amounts a payment holds.
//! - this module: the payment itself ([`Payment`], [`NewPayment`], [`PaymentRecord`]), where it was
//!   sent ([`PaymentTerminal`]) and [`PaymentError`]; the unit tests of all of them.

mod decision;
mod ledger;
mod receipt;
mod status;

use std::time::Duration;

use thiserror::Error;

use crate::ids::{ErsReference, InvoiceReference, PaymentId, Revision, StatusVersion, TerminalId, Timestamp};
use crate::money::{Money, MoneyError};
use crate::order::Order;
use crate::secret::SecretHash;

pub use decision::{Decision, GlaseInvoiceStatus, NoChange, Observation, decide};
pub use ledger::RefundLedger;
pub use receipt::ReceiptState;
pub use status::{PaymentState, PaymentStatus};

/// Where a payment was sent: the webshop terminal, or one of our POS terminals.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum PaymentTerminal {
    /// The webshop terminal Glase issued to the merchant (from configuration).
    Webshop,
    /// A registered POS terminal.
    Pos(TerminalId),
}

/// Why a payment could not be changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    /// The change needs another state (e.g. updating rows of a paid payment).
    #[error("the payment is {actual}; this needs it to be {expected}")]
    WrongStatus {
        /// The state the change needs.
        expected: PaymentStatus,
        /// The payment's state.
        actual: PaymentStatus,
    },
    /// A refund amount is zero or negative.
    #[error("a refund amount must be greater than zero")]
    RefundNotPositive,
    /// A refund is in another currency than the payment.
    #[error("the refund is in {refund}, the payment in {payment}")]
    RefundCurrency {
        /// The payment's currency.
        payment: crate::money::Currency,
        /// The refund's currency.
        refund: crate::money::Currency,
    },
    /// The refund would take refunds above what was paid.
    #[error("only {refundable} can still be refunded; {requested} was asked")]
    ExceedsRefundable {
        /// What is still refundable.
        refundable: Money,
        /// What was asked.
        requested: Money,
    },
    /// Releasing more than is reserved: the ledger and the refunds disagree.
    #[error("the refund ledger holds {reserved} reserved, less than the {amount} being settled")]
    LedgerInconsistent {
        /// What is reserved.
        reserved: Money,
        /// What is settled.
        amount: Money,
    },
    /// A stored record breaks an invariant.
    #[error("stored payment is inconsistent: {0}")]
    Inconsistent(&'static str),
    /// Amount arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A payment. Build new ones with [`Payment::new`]; read stored ones back with
/// `Payment::try_from(PaymentRecord)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Payment {
    id: PaymentId,
    terminal: PaymentTerminal,
    order: Order,
    invoice_reference: InvoiceReference,
    state: PaymentState,
    glase_version: StatusVersion,
    last_checked_at: Option<Timestamp>,
    last_notified_at: Option<Timestamp>,
    client_secret_hash: SecretHash,
    notification_token_hash: SecretHash,
    next_notification_token_hash: Option<SecretHash>,
    created_at: Timestamp,
    expires_at: Timestamp,
    refunds: RefundLedger,
    pos_window_started_at: Option<Timestamp>,
    receipt: ReceiptState,
    revision: Revision,
}

/// What a new payment starts from (after sendInvoice answered with the invoice reference).
#[derive(Clone, Debug)]
pub struct NewPayment {
    /// Our id.
    pub id: PaymentId,
    /// Where the invoice was sent.
    pub terminal: PaymentTerminal,
    /// The order.
    pub order: Order,
    /// Glase's invoice reference.
    pub invoice_reference: InvoiceReference,
    /// Hash of the client secret.
    pub client_secret_hash: SecretHash,
    /// Hash of the notification token.
    pub notification_token_hash: SecretHash,
    /// When it was created.
    pub created_at: Timestamp,
    /// When an unpaid invoice is cancelled.
    pub expires_at: Timestamp,
}

/// Every stored field of a payment, public, for store adapters. Converting it back checks the invariants.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PaymentRecord {
    /// Our id.
    pub id: PaymentId,
    /// Where the invoice was sent.
    pub terminal: PaymentTerminal,
    /// The order.
    pub order: Order,
    /// Glase's invoice reference.
    pub invoice_reference: InvoiceReference,
    /// The state.
    pub state: PaymentState,
    /// The Glase status version last stored.
    pub glase_version: StatusVersion,
    /// When we last asked Glase for the status (or claimed to be about to).
    pub last_checked_at: Option<Timestamp>,
    /// When a notification last asked Glase for the status (or claimed to be about to).
    pub last_notified_at: Option<Timestamp>,
    /// Hash of the client secret.
    pub client_secret_hash: SecretHash,
    /// Hash of the notification token.
    pub notification_token_hash: SecretHash,
    /// Hash of the token of an invoice update in flight (sent with updateInvoice, not yet recorded as
    /// the payment's token).
    pub next_notification_token_hash: Option<SecretHash>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When an unpaid invoice is cancelled.
    pub expires_at: Timestamp,
    /// Sum of refunds in flight.
    pub refund_reserved: Money,
    /// Sum of refunds that succeeded.
    pub refunded: Money,
    /// POS payments: when the till's current waiting window started (creation, or the last "try again").
    pub pos_window_started_at: Option<Timestamp>,
    /// Whether the receipt reached Glase.
    pub receipt: ReceiptState,
    /// The optimistic-concurrency revision.
    pub revision: Revision,
}

impl TryFrom<PaymentRecord> for Payment {
    type Error = PaymentError;

    fn try_from(r: PaymentRecord) -> Result<Self, Self::Error> {
        let currency = r.order.currency();
        if r.refund_reserved.currency() != currency || r.refunded.currency() != currency {
            return Err(PaymentError::Inconsistent(
                "refund amounts are in another currency",
            ));
        }
        if r.refund_reserved.is_negative() || r.refunded.is_negative() {
            return Err(PaymentError::Inconsistent("negative refund amounts"));
        }
        let held = r.refund_reserved.checked_add(&r.refunded)?;
        if held.minor_units() > 0 && r.state.status() != PaymentStatus::Paid {
            return Err(PaymentError::Inconsistent(
                "refunds on a payment that is not paid",
            ));
        }
        if held.minor_units() > r.order.total().minor_units() {
            return Err(PaymentError::Inconsistent("refunds exceed the paid total"));
        }
        if r.receipt != ReceiptState::NotDue && r.state.status() != PaymentStatus::Paid {
            return Err(PaymentError::Inconsistent(
                "a receipt on a payment that is not paid",
            ));
        }
        if r.pos_window_started_at.is_some() && r.terminal == PaymentTerminal::Webshop {
            return Err(PaymentError::Inconsistent("a till window on a webshop payment"));
        }
        Ok(Payment {
            id: r.id,
            terminal: r.terminal,
            order: r.order,
            invoice_reference: r.invoice_reference,
            state: r.state,
            glase_version: r.glase_version,
            last_checked_at: r.last_checked_at,
            last_notified_at: r.last_notified_at,
            client_secret_hash: r.client_secret_hash,
            notification_token_hash: r.notification_token_hash,
            next_notification_token_hash: r.next_notification_token_hash,
            created_at: r.created_at,
            expires_at: r.expires_at,
            refunds: RefundLedger {
                reserved: r.refund_reserved,
                refunded: r.refunded,
            },
            pos_window_started_at: r.pos_window_started_at,
            receipt: r.receipt,
            revision: r.revision,
        })
    }
}

impl Payment {
    /// A new pending payment at revision 1.
    pub fn new(new: NewPayment) -> Self {
        let currency = new.order.currency();
        let pos_window_started_at = match new.terminal {
            PaymentTerminal::Webshop => None,
            PaymentTerminal::Pos(_) => Some(new.created_at),
        };
        Payment {
            id: new.id,
            terminal: new.terminal,
            order: new.order,
            invoice_reference: new.invoice_reference,
            state: PaymentState::Pending,
            glase_version: StatusVersion::INITIAL,
            last_checked_at: None,
            last_notified_at: None,
            client_secret_hash: new.client_secret_hash,
            notification_token_hash: new.notification_token_hash,
            next_notification_token_hash: None,
            created_at: new.created_at,
            expires_at: new.expires_at,
            refunds: RefundLedger::empty(currency),
            pos_window_started_at,
            receipt: ReceiptState::NotDue,
            revision: Revision::FIRST,
        }
    }

    /// Every field, for the store.
    pub fn to_record(&self) -> PaymentRecord {
        PaymentRecord {
            id: self.id.clone(),
            terminal: self.terminal.clone(),
            order: self.order.clone(),
            invoice_reference: self.invoice_reference.clone(),
            state: self.state.clone(),
            glase_version: self.glase_version,
            last_checked_at: self.last_checked_at,
            last_notified_at: self.last_notified_at,
            client_secret_hash: self.client_secret_hash,
            notification_token_hash: self.notification_token_hash,
            next_notification_token_hash: self.next_notification_token_hash,
            created_at: self.created_at,
            expires_at: self.expires_at,
            refund_reserved: self.refunds.reserved,
            refunded: self.refunds.refunded,
            pos_window_started_at: self.pos_window_started_at,
            receipt: self.receipt,
            revision: self.revision,
        }
    }

    /// Our id.
    pub fn id(&self) -> &PaymentId {
        &self.id
    }
    /// Where the invoice was sent.
    pub fn terminal(&self) -> &PaymentTerminal {
        &self.terminal
    }
    /// The order.
    pub fn order(&self) -> &Order {
        &self.order
    }
    /// The amount to pay.
    pub fn amount(&self) -> Money {
        self.order.total()
    }
    /// Glase's invoice reference.
    pub fn invoice_reference(&self) -> &InvoiceReference {
        &self.invoice_reference
    }
    /// The state.
    pub fn state(&self) -> &PaymentState {
        &self.state
    }
    /// The status.
    pub fn status(&self) -> PaymentStatus {
        self.state.status()
    }
    /// The `ersReference` once paid.
    pub fn ers_reference(&self) -> Option<&ErsReference> {
        match &self.state {
            PaymentState::Paid { ers_reference, .. } => Some(ers_reference),
            _ => None,
        }
    }
    /// When it was paid.
    pub fn paid_at(&self) -> Option<Timestamp> {
        match &self.state {
            PaymentState::Paid { paid_at, .. } => Some(*paid_at),
            _ => None,
        }
    }
    /// The Glase status version last stored.
    pub fn glase_version(&self) -> StatusVersion {
        self.glase_version
    }
    /// When we last asked Glase.
    pub fn last_checked_at(&self) -> Option<Timestamp> {
        self.last_checked_at
    }

    /// When a notification last asked Glase (or claimed to be about to).
    pub fn last_notified_at(&self) -> Option<Timestamp> {
        self.last_notified_at
    }

    /// Hash of the token of an invoice update in flight, if any.
    pub fn next_notification_token_hash(&self) -> Option<&SecretHash> {
        self.next_notification_token_hash.as_ref()
    }
    /// The hash of the client secret.
    pub fn client_secret_hash(&self) -> &SecretHash {
        &self.client_secret_hash
    }
    /// The hash of the notification token.
    pub fn notification_token_hash(&self) -> &SecretHash {
        &self.notification_token_hash
    }
    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    /// When an unpaid invoice is cancelled.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    /// The refund ledger.
    pub fn refunds(&self) -> RefundLedger {
        self.refunds
    }
    /// POS payments: when the till's current waiting window started.
    pub fn pos_window_started_at(&self) -> Option<Timestamp> {
        self.pos_window_started_at
    }
    /// Whether the receipt reached Glase.
    pub fn receipt(&self) -> ReceiptState {
        self.receipt
    }
    /// The revision.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// True when a client secret matches (constant-time comparison of hashes).
    pub fn client_secret_matches(&self, presented: &str) -> bool {
        self.client_secret_hash.verify(presented)
    }

    /// True when a notification token matches (constant-time comparison of hashes).
    ///
    /// The token of an invoice update in flight matches too: Glase may hold it (updateInvoice took
    /// effect) while our record of the update could not be written.
    pub fn notification_token_matches(&self, presented: &str) -> bool {
        let current = self.notification_token_hash.verify(presented);
        let next = self
            .next_notification_token_hash
            .as_ref()
            .is_some_and(|h| h.verify(presented));
        current | next
    }

    /// True when a notification may ask Glase: pending, and no notification asked within
    /// `min_interval`. Unlike [`Payment::due_for_check`], a status read or the invoice's creation does
    /// not count: the first notification of a payment always asks Glase at once (the 20-second rule),
    /// while a flood of notifications (a leaked notification URL) costs one Glase call a second.
    pub fn notification_due(&self, now: Timestamp, min_interval: Duration) -> bool {
        self.status() == PaymentStatus::Pending
            && self
                .last_notified_at
                .is_none_or(|last| now.since(last) >= min_interval || now < last)
    }

    /// Records that a notification is asking Glase now (claimed before the call, so that concurrent
    /// notifications see it).
    #[must_use]
    pub fn notified_at(&self, now: Timestamp) -> Payment {
        Payment {
            last_notified_at: Some(now),
            ..self.bumped()
        }
    }

    /// Gives back a notification's claim ([`Payment::notified_at`]) whose call failed: the next
    /// notification (Glase's retry) asks again at once.
    #[must_use]
    pub fn notification_released(&self, before: Option<Timestamp>) -> Payment {
        Payment {
            last_notified_at: before,
            ..self.bumped()
        }
    }

    /// Records the token hash of an invoice update about to be sent (before updateInvoice): from now on
    /// a notification with that token is accepted, whatever becomes of the update.
    pub fn with_next_notification_token(&self, hash: SecretHash) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Pending)?;
        Ok(Payment {
            next_notification_token_hash: Some(hash),
            ..self.bumped()
        })
    }

    /// True when Glase may be asked again: pending, and neither asked nor created within `min_interval`.
    /// An invoice sent less than `min_interval` ago counts as just checked: sendInvoice's answer is that
    /// check, and the shopper's notification comes anyway; so a checkout page's first poll right after
    /// creation costs a read, not a conditional write and a getPaymentStatus.
    pub fn due_for_check(&self, now: Timestamp, min_interval: Duration) -> bool {
        let last = self.last_checked_at.unwrap_or(self.created_at);
        self.status() == PaymentStatus::Pending && (now.since(last) >= min_interval || now < last)
    }

    fn bumped(&self) -> Payment {
        Payment {
            revision: self.revision.next(),
            ..self.clone()
        }
    }

    /// Records that Glase is being asked now (claimed before the call, so that concurrent readers see it).
    #[must_use]
    pub fn checked_at(&self, now: Timestamp) -> Payment {
        Payment {
            last_checked_at: Some(now),
            ..self.bumped()
        }
    }

    /// Gives back a check claimed with [`Payment::checked_at`] whose call failed (Glase or the store):
    /// the last check returns to `before`, its value ahead of the claim, so the safety net and readers
    /// may ask again on their next pass instead of a whole interval later. A claim held after a failure
    /// would leave a payment whose notification was lost only one or two more tries inside Glase's
    /// 20-second window.
    #[must_use]
    pub fn check_released(&self, before: Option<Timestamp>) -> Payment {
        Payment {
            last_checked_at: before,
            ..self.bumped()
        }
    }

    /// Applies an observation: `Ok(Some(next))` when the payment changes, `Ok(None)` with the reason
    /// otherwise. The next payment also records `observed_at` as the last check.
    pub fn observe(&self, observation: &Observation) -> (Decision, Option<Payment>) {
        let decision = decide(self, observation);
        let next = match &decision {
            Decision::NoChange(_) => None,
            Decision::Advance { state, version } => Some(Payment {
                receipt: match state {
                    PaymentState::Paid { .. } => ReceiptState::Pending {
                        attempts: 0,
                        last_attempt_at: None,
                    },
                    _ => self.receipt,
                },
                state: state.clone(),
                glase_version: *version,
                last_checked_at: Some(observation.observed_at),
                ..self.bumped()
            }),
        };
        (decision, next)
    }

    /// Marks a pending payment canceled because we cancelled the invoice (cancel, expiry, or a newer
    /// invoice on the same POS terminal). Final payments are refused.
    pub fn canceled_by_us(&self, at: Timestamp) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Pending)?;
        Ok(Payment {
            state: PaymentState::Canceled { at },
            ..self.bumped()
        })
    }

    /// Replaces the order of a pending payment and its notification token hash (after updateInvoice,
    /// which sent the invoice with the token of `token_hash`, succeeded). The update's token becomes the
    /// payment's only token.
    pub fn with_updated_invoice(
        &self,
        order: Order,
        token_hash: SecretHash,
    ) -> Result<Payment, PaymentError> {
        let next = self.with_order(order)?;
        Ok(Payment {
            notification_token_hash: token_hash,
            next_notification_token_hash: None,
            ..next
        })
    }

    /// Replaces the order of a pending payment (after updateInvoice succeeded).
    pub fn with_order(&self, order: Order) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Pending)?;
        if order.currency() != self.order.currency() {
            return Err(PaymentError::Money(MoneyError::CurrencyMismatch {
                left: self.order.currency(),
                right: order.currency(),
            }));
        }
        Ok(Payment {
            order,
            ..self.bumped()
        })
    }

    /// Starts a new waiting window on the till ("try again"): a pending POS payment only. The invoice is
    /// kept alive at least until the new window ends.
    pub fn with_new_pos_window(&self, now: Timestamp, window: Duration) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Pending)?;
        if self.terminal == PaymentTerminal::Webshop {
            return Err(PaymentError::Inconsistent("a webshop payment has no till window"));
        }
        Ok(Payment {
            pos_window_started_at: Some(now),
            expires_at: self.expires_at.max(now.plus(window)),
            ..self.bumped()
        })
    }

    /// Leaves a pending payment whose expiry could not cancel it (the shopper is paying, or the cancel
    /// failed) for a later attempt: its expiry moves to `retry_at` (never earlier), so payments expiring
    /// after it are reached first. Final payments are refused.
    pub fn expiry_postponed(&self, retry_at: Timestamp) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Pending)?;
        Ok(Payment {
            expires_at: self.expires_at.max(retry_at),
            ..self.bumped()
        })
    }

    /// Records that the receipt reached Glase. Only a pending receipt moves.
    pub fn receipt_sent(&self, at: Timestamp) -> Result<Payment, PaymentError> {
        self.require_receipt_pending()?;
        Ok(Payment {
            receipt: ReceiptState::Sent { at },
            ..self.bumped()
        })
    }

    /// Records an unsuccessful receipt attempt: Glase refused it (`refused_code`: given up at once), or it
    /// did not get through (tried again later, given up after [`ReceiptState::MAX_ATTEMPTS`]).
    pub fn receipt_attempt_failed(
        &self,
        at: Timestamp,
        refused_code: Option<i32>,
    ) -> Result<Payment, PaymentError> {
        let attempts = self.require_receipt_pending()? + 1;
        let receipt = if refused_code.is_some() || attempts >= ReceiptState::MAX_ATTEMPTS {
            ReceiptState::Failed {
                code: refused_code,
                at,
            }
        } else {
            ReceiptState::Pending {
                attempts,
                last_attempt_at: Some(at),
            }
        };
        Ok(Payment {
            receipt,
            ..self.bumped()
        })
    }

    fn require_receipt_pending(&self) -> Result<u32, PaymentError> {
        match self.receipt {
            ReceiptState::Pending { attempts, .. } => Ok(attempts),
            _ => Err(PaymentError::Inconsistent(
                "the receipt is not waiting to be sent",
            )),
        }
    }

    fn require(&self, expected: PaymentStatus) -> Result<(), PaymentError> {
        let actual = self.status();
        if actual == expected {
            Ok(())
        } else {
            Err(PaymentError::WrongStatus { expected, actual })
        }
    }

    /// What can still be refunded: the paid total minus refunds in flight and succeeded; zero unless paid.
    pub fn refundable(&self) -> Money {
        let currency = self.order.currency();
        if self.status() != PaymentStatus::Paid {
            return Money::zero(currency);
        }
        // The invariant (reserved + refunded <= total, all non-negative) makes this arithmetic exact.
        let held = self
            .refunds
            .reserved
            .minor_units()
            .saturating_add(self.refunds.refunded.minor_units());
        Money::new(
            self.order.total().minor_units().saturating_sub(held).max(0),
            currency,
        )
    }

    /// Reserves `amount` for a new refund: the payment must be paid and the amount must fit what is still
    /// refundable. This is the pure check the store makes atomic with the refund's creation.
    pub fn reserve_refund(&self, amount: Money) -> Result<Payment, PaymentError> {
        self.require(PaymentStatus::Paid)?;
        if amount.currency() != self.order.currency() {
            return Err(PaymentError::RefundCurrency {
                payment: self.order.currency(),
                refund: amount.currency(),
            });
        }
        if !amount.is_positive() {
            return Err(PaymentError::RefundNotPositive);
        }
        let refundable = self.refundable();
        if amount.minor_units() > refundable.minor_units() {
            return Err(PaymentError::ExceedsRefundable {
                refundable,
                requested: amount,
            });
        }
        let reserved = self.refunds.reserved.checked_add(&amount)?;
        Ok(Payment {
            refunds: RefundLedger {
                reserved,
                ..self.refunds
            },
            ..self.bumped()
        })
    }

    /// Settles a reserved refund amount: moves it to `refunded` when the refund succeeded, or gives it back
    /// when it failed.
    pub fn settle_refund(&self, amount: Money, succeeded: bool) -> Result<Payment, PaymentError> {
        if amount.minor_units() > self.refunds.reserved.minor_units() || amount.is_negative() {
            return Err(PaymentError::LedgerInconsistent {
                reserved: self.refunds.reserved,
                amount,
            });
        }
        let reserved = self.refunds.reserved.checked_sub(&amount)?;
        let refunded = if succeeded {
            self.refunds.refunded.checked_add(&amount)?
        } else {
            self.refunds.refunded
        };
        Ok(Payment {
            refunds: RefundLedger { reserved, refunded },
            ..self.bumped()
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::order::tests::{order_of, row, sek};

    pub(crate) fn pending_payment(total: i64) -> Payment {
        Payment::new(NewPayment {
            id: PaymentId::from_random([1; 16]),
            terminal: PaymentTerminal::Webshop,
            order: order_of(vec![row("Item", sek(total))], sek(total)).unwrap(),
            invoice_reference: InvoiceReference::parse("1397222701693").unwrap(),
            client_secret_hash: SecretHash::of("cs"),
            notification_token_hash: SecretHash::of("token"),
            created_at: Timestamp::from_unix_millis(1_000),
            expires_at: Timestamp::from_unix_millis(121_000),
        })
    }

    pub(crate) fn observation(status: &str, version: u32) -> Observation {
        let paid = status == "PAID";
        Observation {
            status: GlaseInvoiceStatus::from_wire(status),
            version: StatusVersion::new(version),
            ers_reference: paid.then(|| ErsReference::parse("2015102910184861801032678").unwrap()),
            paid_at: paid.then(|| Timestamp::from_unix_millis(5_000)),
            observed_at: Timestamp::from_unix_millis(6_000),
        }
    }

    /// What deciding on the observation `status`, `version` leaves unchanged; a change fails the test.
    fn no_change(payment: &Payment, status: &str, version: u32) -> NoChange {
        match decide(payment, &observation(status, version)) {
            Decision::NoChange(unchanged) => unchanged,
            change => panic!("expected no change, got {change:?}"),
        }
    }

    pub(crate) fn paid_payment(total: i64) -> Payment {
        pending_payment(total).observe(&observation("PAID", 2)).1.unwrap()
    }

    #[test]
    fn paid_with_a_reference_makes_a_pending_payment_paid() {
        let (decision, next) = pending_payment(100).observe(&observation("PAID", 2));
        assert!(matches!(decision, Decision::Advance { .. }));
        let next = next.unwrap();
        assert_eq!(next.status(), PaymentStatus::Paid);
        assert_eq!(
            next.ers_reference().unwrap().as_str(),
            "2015102910184861801032678"
        );
        assert_eq!(next.paid_at(), Some(Timestamp::from_unix_millis(5_000)));
        assert_eq!(next.revision(), Revision::FIRST.next());
        assert_eq!(next.glase_version(), StatusVersion::new(2));
    }

    #[test]
    fn paid_without_a_reference_keeps_the_payment_pending() {
        let mut seen = observation("PAID", 2);
        seen.ers_reference = None;
        assert_eq!(
            decide(&pending_payment(100), &seen),
            Decision::NoChange(NoChange::PaidWithoutReference)
        );
    }

    #[test]
    fn canceled_and_expired_make_it_canceled_and_failed_makes_it_failed() {
        let p = pending_payment(100);
        assert_eq!(
            p.observe(&observation("CANCELED", 1)).1.unwrap().status(),
            PaymentStatus::Canceled
        );
        assert_eq!(
            p.observe(&observation("EXPIRED", 1)).1.unwrap().status(),
            PaymentStatus::Canceled
        );
        assert_eq!(
            p.observe(&observation("FAILED", 1)).1.unwrap().status(),
            PaymentStatus::Failed
        );
    }

    #[test]
    fn issued_with_a_newer_version_only_remembers_the_version() {
        let p = pending_payment(100);
        let next = p
            .observe(&observation("PENDING_ISSUER_ACKNOWLEDGE", 1))
            .1
            .unwrap();
        assert_eq!(next.status(), PaymentStatus::Pending);
        assert_eq!(next.glase_version(), StatusVersion::new(1));
        assert_eq!(no_change(&next, "ISSUED", 1), NoChange::NothingNew);
    }

    #[test]
    fn an_older_version_is_stale_and_changes_nothing() {
        let p = pending_payment(100).observe(&observation("ISSUED", 3)).1.unwrap();
        assert_eq!(no_change(&p, "CANCELED", 2), NoChange::Stale);
    }

    #[test]
    fn a_duplicate_paid_observation_changes_nothing() {
        let paid = paid_payment(100);
        assert_eq!(no_change(&paid, "PAID", 2), NoChange::AlreadyFinal);
    }

    #[test]
    fn a_reversal_reported_after_paid_is_flagged_but_never_applied() {
        let paid = paid_payment(100);
        assert_eq!(
            no_change(&paid, "CANCELED", 3),
            NoChange::FinalDisagrees {
                ours: PaymentStatus::Paid,
                glase: GlaseInvoiceStatus::Canceled
            }
        );
    }

    #[test]
    fn an_unknown_status_changes_nothing() {
        assert_eq!(
            decide(&pending_payment(100), &observation("PARTIALLY_PAID", 1)),
            Decision::NoChange(NoChange::UnknownStatus("PARTIALLY_PAID".to_owned()))
        );
    }

    #[test]
    fn the_status_check_is_due_at_most_once_per_interval() {
        let p = pending_payment(100);
        let now = Timestamp::from_unix_millis(10_000);
        assert!(p.due_for_check(now, Duration::from_secs(1)));
        let checked = p.checked_at(now);
        assert!(!checked.due_for_check(now.plus(Duration::from_millis(999)), Duration::from_secs(1)));
        assert!(checked.due_for_check(now.plus(Duration::from_secs(1)), Duration::from_secs(1)));
        assert!(!paid_payment(100).due_for_check(now, Duration::from_secs(1)));
    }

    #[test]
    fn refunds_are_reserved_up_to_the_paid_total_and_no_further() {
        let paid = paid_payment(1000);
        let once = paid.reserve_refund(sek(600)).unwrap();
        assert_eq!(once.refundable(), sek(400));
        assert_eq!(
            once.reserve_refund(sek(401)),
            Err(PaymentError::ExceedsRefundable {
                refundable: sek(400),
                requested: sek(401)
            })
        );
        let twice = once.reserve_refund(sek(400)).unwrap();
        assert_eq!(twice.refundable(), sek(0));
    }

    #[test]
    fn a_failed_refund_gives_its_amount_back_and_a_succeeded_one_keeps_it() {
        let reserved = paid_payment(1000).reserve_refund(sek(600)).unwrap();
        let failed = reserved.settle_refund(sek(600), false).unwrap();
        assert_eq!(failed.refundable(), sek(1000));
        let succeeded = reserved.settle_refund(sek(600), true).unwrap();
        assert_eq!(succeeded.refundable(), sek(400));
        assert_eq!(succeeded.refunds().refunded(), sek(600));
        assert!(matches!(
            succeeded.settle_refund(sek(1), true),
            Err(PaymentError::LedgerInconsistent { .. })
        ));
    }

    #[test]
    fn only_paid_payments_take_refunds_and_only_positive_ones() {
        assert!(matches!(
            pending_payment(100).reserve_refund(sek(10)),
            Err(PaymentError::WrongStatus {
                expected: PaymentStatus::Paid,
                ..
            })
        ));
        assert_eq!(
            paid_payment(100).reserve_refund(sek(0)),
            Err(PaymentError::RefundNotPositive)
        );
    }

    #[test]
    fn canceling_or_updating_needs_a_pending_payment() {
        let paid = paid_payment(100);
        assert!(paid.canceled_by_us(Timestamp::from_unix_millis(1)).is_err());
        assert!(paid.with_order(paid.order().clone()).is_err());
        let canceled = pending_payment(100)
            .canceled_by_us(Timestamp::from_unix_millis(1))
            .unwrap();
        assert_eq!(canceled.status(), PaymentStatus::Canceled);
    }

    #[test]
    fn a_record_round_trips_and_broken_records_are_refused() {
        let paid = paid_payment(1000).reserve_refund(sek(100)).unwrap();
        assert_eq!(Payment::try_from(paid.to_record()), Ok(paid.clone()));
        let mut record = paid.to_record();
        record.refund_reserved = sek(2000);
        assert!(matches!(
            Payment::try_from(record),
            Err(PaymentError::Inconsistent(_))
        ));
        let mut record = pending_payment(1000).to_record();
        record.refunded = sek(1);
        assert!(matches!(
            Payment::try_from(record),
            Err(PaymentError::Inconsistent(_))
        ));
    }

    fn pos_payment(total: i64) -> Payment {
        let mut record = pending_payment(total).to_record();
        record.terminal = PaymentTerminal::Pos(TerminalId::from_random([9; 16]));
        record.pos_window_started_at = Some(record.created_at);
        Payment::try_from(record).unwrap()
    }

    #[test]
    fn a_payment_becoming_paid_owes_its_receipt_and_a_pending_one_does_not() {
        assert_eq!(pending_payment(100).receipt(), ReceiptState::NotDue);
        assert_eq!(
            paid_payment(100).receipt(),
            ReceiptState::Pending {
                attempts: 0,
                last_attempt_at: None
            }
        );
        let canceled = pending_payment(100)
            .observe(&observation("CANCELED", 1))
            .1
            .unwrap();
        assert_eq!(canceled.receipt(), ReceiptState::NotDue);
    }

    #[test]
    fn a_receipt_moves_forward_only_and_is_given_up_after_refusal_or_many_attempts() {
        let at = Timestamp::from_unix_millis(9_000);
        let sent = paid_payment(100).receipt_sent(at).unwrap();
        assert_eq!(sent.receipt(), ReceiptState::Sent { at });
        assert_eq!(sent.status(), PaymentStatus::Paid);
        assert!(sent.receipt_sent(at).is_err());
        assert!(sent.receipt_attempt_failed(at, None).is_err());
        assert!(pending_payment(100).receipt_sent(at).is_err());

        let refused = paid_payment(100).receipt_attempt_failed(at, Some(23)).unwrap();
        assert_eq!(refused.receipt(), ReceiptState::Failed { code: Some(23), at });
        assert_eq!(refused.status(), PaymentStatus::Paid);

        let mut p = paid_payment(100);
        for n in 1..ReceiptState::MAX_ATTEMPTS {
            p = p.receipt_attempt_failed(at, None).unwrap();
            assert_eq!(
                p.receipt(),
                ReceiptState::Pending {
                    attempts: n,
                    last_attempt_at: Some(at)
                }
            );
        }
        let p = p.receipt_attempt_failed(at, None).unwrap();
        assert_eq!(p.receipt(), ReceiptState::Failed { code: None, at });
    }

    #[test]
    fn a_receipt_is_due_at_once_then_after_a_doubling_wait() {
        let at = Timestamp::from_unix_millis(9_000);
        let p = paid_payment(100);
        assert_eq!(p.receipt().due_at(), Some(Timestamp::from_unix_millis(0)));
        assert_eq!(pending_payment(100).receipt().due_at(), None);
        let once = p.receipt_attempt_failed(at, None).unwrap();
        assert_eq!(once.receipt().due_at(), Some(Timestamp::from_unix_millis(11_000)));
        let twice = once.receipt_attempt_failed(at, None).unwrap();
        assert_eq!(
            twice.receipt().due_at(),
            Some(Timestamp::from_unix_millis(13_000))
        );
        let mut many = twice;
        for _ in 3..ReceiptState::MAX_ATTEMPTS {
            many = many.receipt_attempt_failed(at, None).unwrap();
        }
        assert_eq!(many.receipt().due_at(), Some(Timestamp::from_unix_millis(69_000)));
        assert_eq!(many.receipt_sent(at).unwrap().receipt().due_at(), None);
    }

    #[test]
    fn a_postponed_expiry_moves_later_only_and_only_while_pending() {
        let p = pending_payment(100);
        let later = p.expires_at().plus(Duration::from_secs(30));
        let postponed = p.expiry_postponed(later).unwrap();
        assert_eq!(postponed.expires_at(), later);
        assert_eq!(postponed.revision(), p.revision().next());
        assert_eq!(postponed.status(), PaymentStatus::Pending);
        let earlier = p.expires_at().minus(Duration::from_secs(30));
        assert_eq!(p.expiry_postponed(earlier).unwrap().expires_at(), p.expires_at());
        assert!(paid_payment(100).expiry_postponed(later).is_err());
    }

    #[test]
    fn a_stored_receipt_on_an_unpaid_payment_is_refused() {
        let mut record = pending_payment(100).to_record();
        record.receipt = ReceiptState::Sent {
            at: Timestamp::from_unix_millis(1),
        };
        assert!(Payment::try_from(record).is_err());
        let mut record = pending_payment(100).to_record();
        record.pos_window_started_at = Some(Timestamp::from_unix_millis(1));
        assert!(
            Payment::try_from(record).is_err(),
            "a webshop payment has no till window"
        );
    }

    #[test]
    fn a_new_till_window_restarts_at_now_and_keeps_the_invoice_alive_until_it_ends() {
        let p = pos_payment(100);
        assert_eq!(p.pos_window_started_at(), Some(p.created_at()));
        let now = Timestamp::from_unix_millis(200_000);
        let next = p.with_new_pos_window(now, Duration::from_secs(30)).unwrap();
        assert_eq!(next.pos_window_started_at(), Some(now));
        assert_eq!(next.expires_at(), Timestamp::from_unix_millis(230_000));
        assert_eq!(next.revision(), p.revision().next());
        let early = p
            .with_new_pos_window(Timestamp::from_unix_millis(2_000), Duration::from_secs(30))
            .unwrap();
        assert_eq!(early.expires_at(), p.expires_at(), "expiry never moves earlier");
        assert!(
            pending_payment(100)
                .with_new_pos_window(now, Duration::from_secs(30))
                .is_err()
        );
        let paid = p.observe(&observation("PAID", 2)).1.unwrap();
        assert!(matches!(
            paid.with_new_pos_window(now, Duration::from_secs(30)),
            Err(PaymentError::WrongStatus { .. })
        ));
    }
}
