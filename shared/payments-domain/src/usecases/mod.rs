//! Use cases: what the functions do, over the ports. Each is a method of [`Deps`], which holds one
//! implementation of every port; the functions build their `Deps` once per cold start and call these.
//!
//! - [`payments`]: create a payment, handle Glase's notification, read a payment (confirming a pending
//!   one with Glase at most once a second), cancel and update pending payments, and the confirmation
//!   step every path shares.
//! - [`sweeps`]: the safety net that confirms pending payments without a notification, and expiry.
//! - [`refunds`]: refund requests, the worker that never pays back twice, and the outbox sweep.
//! - [`reports`]: close a transaction period, fetch its reports, reconcile them with our books.
//! - [`connections`]: WebSocket connections listening to a payment.
//! - [`terminals`]: POS terminals (register, list, assign a Glase ID, unregister), the till's "try
//!   again", and the receipt sweep.
//! - `race` and `keys`: the two steps the use cases share: the loop around a conditional write that
//!   retries a lost race (`MAX_RACES` times at most), and taking a request's idempotency key.
//!
//! # Deadlines
//! A use case run inside a function invocation gets the invocation's deadline as a [`Timestamp`] (the
//! `_within` methods; the others run without one). Every Glase call it makes is bounded by that
//! deadline less the time of what must still follow the call ([`Reserves`]), through
//! [`GlaseGateway::bounded`](crate::ports::GlaseGateway::bounded); store calls are bounded by the store
//! client's own operation timeout, which [`Reserves::store_write`] keeps time for.
//!
//! Creating a payment is the case that costs money: sendInvoice, then the payment's store write, then,
//! when that write fails, the compensating cancelInvoice. sendInvoice must end by the deadline less one
//! store write and one cancel, so whenever it answers there is time to store the payment or withdraw
//! the invoice; when the time left cannot cover that and [`Reserves::send_invoice_min`] for the call
//! itself, nothing is sent and the answer is [`UseCaseError::TooLittleTime`]. A sendInvoice whose
//! answer does not come within its share is [`UseCaseError::OutcomeUnknown`], as any lost answer is:
//! nobody received its invoice reference, so nobody can be shown its QR code or cancel it by
//! reference (a point-of-sale invoice is replaced by the till's next one). A notification or a status
//! read gives getPaymentStatus what is left less the write of its outcome; a cancel or an update gives
//! cancelInvoice or updateInvoice the same, and with less than one store write and
//! [`Reserves::send_invoice_min`] left it asks and changes nothing ([`UseCaseError::TooLittleTime`]).
//! Refunds are bounded by the refund worker's own time budget per message; terminal registration and
//! period reports run without a deadline, their Glase calls ending by the client's own timeout.

use std::future::Future;
use std::time::Duration;

use futures::stream::{self, StreamExt as _};
use thiserror::Error;

use crate::idempotency::IdempotencyPolicy;
use crate::ids::Timestamp;
use crate::payment::{Payment, PaymentError, PaymentStatus};
use crate::ports::{GlaseError, PaymentStore, PortTypes, StoreError};
use crate::refund::Refund;
use crate::terminal::Terminal;

pub mod connections;
mod keys;
pub mod payments;
mod race;
pub mod refunds;
pub mod reports;
pub mod sweeps;
pub mod terminals;

#[cfg(test)]
mod tests;

pub(crate) use keys::{KeyTaken, key_taken_over};
pub(crate) use race::{MAX_RACES, Race, retry_on_race, retry_up_to};

pub use payments::{Caller, Cancellation, ConfirmOutcome, CreatePayment, CreatedPayment, PaymentView};
pub use refunds::{RefundProcessing, RefundSweepReport, RequestRefund};
pub use reports::{ClosePeriod, ClosedPeriod, ReconcileInput, ReconcileOutcome, RefundSettlement, reconcile};
pub use sweeps::{DueCheck, ExpiryReport, SweepReport};
pub use terminals::{ReceiptSweepReport, RegisteredTerminal};

/// Settings the use cases need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseCaseSettings {
    /// The public base URL notification URLs are built from.
    pub public_base_url: String,
    /// How long an unpaid payment lives before expiry cancels it.
    pub payment_expiry: Duration,
    /// The shortest time between two Glase status calls for one payment on behalf of readers.
    pub status_check_interval: Duration,
    /// How long the safety net leaves a pending payment unasked before it asks Glase itself. With a
    /// sweep every second, a payment made at any moment is confirmed within this plus about a second:
    /// well inside Glase's 20-second window, while a payment confirmed by its notification or by a
    /// polling browser costs no extra call.
    pub safety_net_interval: Duration,
    /// Idempotency key lifetime and lease.
    pub idempotency: IdempotencyPolicy,
    /// How long a till waits for the shopper before it asks the cashier to try again or cancel.
    pub pos_window: Duration,
    /// How long after a refund's outcome became unknown Glase may still have been working on its call:
    /// no report may declare such a refund absent unless its period holds this time too (default
    /// [`reports::REFUND_SETTLE_MARGIN`]; a soak with short runs sets less).
    pub refund_settle_margin: Duration,
    /// What a use case keeps back for the steps after a Glase call, out of its invocation's time.
    pub reserves: Reserves,
}

/// The time a use case keeps back, out of what its invocation has left, for the steps that must still
/// follow a Glase call (see the module's "Deadlines").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reserves {
    /// One store write: at least the store client's operation timeout (default 3 s).
    pub store_write: Duration,
    /// One compensating cancelInvoice (default 3 s).
    pub glase_cancel: Duration,
    /// The least time worth giving sendInvoice; with less, no invoice is sent (default 2 s).
    pub send_invoice_min: Duration,
}

impl Default for Reserves {
    fn default() -> Self {
        Self {
            store_write: Duration::from_secs(3),
            glase_cancel: Duration::from_secs(3),
            send_invoice_min: Duration::from_secs(2),
        }
    }
}

impl Reserves {
    /// What creating a payment keeps back from sendInvoice: one store write and one cancel.
    pub fn after_send(&self) -> Duration {
        self.store_write.saturating_add(self.glase_cancel)
    }

    /// The least time left at which a payment is still created: [`Reserves::after_send`] and
    /// [`Reserves::send_invoice_min`].
    pub fn to_create(&self) -> Duration {
        self.after_send().saturating_add(self.send_invoice_min)
    }
}

/// Runs `step` on every item, at most `at_once` at a time, and answers the outcomes as they finish.
pub(crate) async fn at_most<T, F: Future>(
    items: impl IntoIterator<Item = T>,
    at_once: usize,
    step: impl FnMut(T) -> F,
) -> Vec<F::Output> {
    stream::iter(items)
        .map(step)
        .buffer_unordered(at_once)
        .collect()
        .await
}

/// When a step must end: the invocation's deadline less what is kept back for later steps, or `None`
/// when the use case runs without a deadline.
pub(crate) fn less(deadline: Option<Timestamp>, keep: Duration) -> Option<Timestamp> {
    deadline.map(|d| d.minus(keep))
}

impl Default for UseCaseSettings {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:3000".to_owned(),
            payment_expiry: Duration::from_secs(120),
            status_check_interval: Duration::from_secs(1),
            safety_net_interval: Duration::from_secs(8),
            idempotency: IdempotencyPolicy::default(),
            pos_window: Duration::from_secs(30),
            refund_settle_margin: reports::REFUND_SETTLE_MARGIN,
            reserves: Reserves::default(),
        }
    }
}

/// One implementation of every port, built once and shared by every request. `P` names the six port
/// types as one ([`PortTypes`]); the use cases are methods of `Deps<P>` for every `P: Ports`.
#[derive(Clone, Debug)]
pub struct Deps<P: PortTypes> {
    /// The store.
    pub store: P::Store,
    /// Glase.
    pub glase: P::Glase,
    /// The refund queue.
    pub queue: P::Queue,
    /// Status pushes.
    pub push: P::Push,
    /// The clock.
    pub clock: P::Clock,
    /// Ids and secrets.
    pub ids: P::Ids,
    /// Settings.
    pub settings: UseCaseSettings,
}

/// The port types of [`Deps`] with another store type.
pub type WithStore<P, T> = (
    T,
    <P as PortTypes>::Glase,
    <P as PortTypes>::Queue,
    <P as PortTypes>::Push,
    <P as PortTypes>::Clock,
    <P as PortTypes>::Ids,
);

impl<P: PortTypes<Store: PaymentStore>> Deps<P> {
    /// The stored payment `id`, or [`UseCaseError::NotFound`].
    pub(crate) async fn stored_payment(&self, id: &crate::ids::PaymentId) -> Result<Payment, UseCaseError> {
        self.store
            .get_payment(id)
            .await?
            .ok_or(UseCaseError::NotFound("payment"))
    }

    /// One try of [`retry_on_race`] that writes `next` over `current`: done with `next`, or after a lost
    /// race the payment read again.
    pub(crate) async fn write_payment(
        &self,
        next: Payment,
        current: &Payment,
    ) -> Result<Race<Payment, Payment>, UseCaseError> {
        match self.store.update_payment(&next, current.revision()).await {
            Ok(()) => Ok(Race::Done(next)),
            Err(StoreError::ConditionFailed) => Ok(Race::Retry(self.stored_payment(current.id()).await?)),
            Err(e) => Err(e.into()),
        }
    }

    /// The stored terminal `id`, or [`UseCaseError::NotFound`].
    pub(crate) async fn stored_terminal(
        &self,
        id: &crate::ids::TerminalId,
    ) -> Result<Terminal, UseCaseError> {
        self.store
            .get_terminal(id)
            .await?
            .ok_or(UseCaseError::NotFound("terminal"))
    }

    /// The refunds of `payment`, oldest first. Only a paid payment can have refunds (a refund needs
    /// `paid`, and `paid` is final), so for any other the store is not asked: a widget polling a
    /// pending payment costs one read a poll instead of a read and a query.
    pub async fn refunds_of(&self, payment: &Payment) -> Result<Vec<Refund>, StoreError> {
        if payment.status() == PaymentStatus::Paid {
            self.store.list_refunds(payment.id()).await
        } else {
            Ok(Vec::new())
        }
    }
}

impl<P: PortTypes<Glase: Clone, Queue: Clone, Push: Clone, Clock: Clone, Ids: Clone>> Deps<P> {
    /// The same dependencies over another store (e.g. the store wrapped in a decorator).
    pub fn with_store<T>(&self, store: T) -> Deps<WithStore<P, T>> {
        Deps {
            store,
            glase: self.glase.clone(),
            queue: self.queue.clone(),
            push: self.push.clone(),
            clock: self.clock.clone(),
            ids: self.ids.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// Why a conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The payment is paid already (cancel, update).
    AlreadyPaid,
    /// The shopper is paying right now (Glase 51 or 48).
    PaymentInProgress,
    /// The payment is not pending.
    NotPending,
    /// The idempotency key was used with another request body.
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    IdempotencyInProgress {
        /// When it may be retried.
        retry_after: Duration,
    },
    /// The terminal is unregistered.
    TerminalUnregistered,
    /// Only a paid payment can be refunded.
    NotPaid,
    /// The request needs a point-of-sale payment.
    NotPos,
}

/// Why a use case failed. Every variant maps to one HTTP answer in the API layer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum UseCaseError {
    /// No such payment (or the credential does not match it: the caller learns nothing more).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The request conflicts with the current state.
    #[error("conflict: {0:?}")]
    Conflict(ConflictReason),
    /// The request is invalid for this payment.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The request is well formed but cannot be done (e.g. a refund above what is refundable).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// Glase refused the request; nothing happened.
    #[error("Glase rejected the request: {description} ({code})")]
    GlaseRejected {
        /// The result code.
        code: i32,
        /// The description.
        description: String,
    },
    /// Glase could not be reached; nothing happened.
    #[error("Glase is unavailable: {0}")]
    GlaseUnavailable(String),
    /// A Glase call may or may not have taken effect; it is not repeated.
    #[error("the outcome is unknown: {0}")]
    OutcomeUnknown(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
    /// The invocation has too little time left to do this safely; nothing was sent or changed.
    #[error("too little time left: {left:?} of the {needed:?} needed")]
    TooLittleTime {
        /// The time that was left.
        left: Duration,
        /// The time the request needs.
        needed: Duration,
    },
    /// Glase took the change but our record of it could not be written: the payment read back shows
    /// the state before. Sending the same request again is safe and brings the two together.
    #[error("not recorded: {0}")]
    NotRecorded(String),
    /// This process lacks a setting the request needs (e.g. the client secret key); nothing was sent.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
}

impl From<StoreError> for UseCaseError {
    fn from(e: StoreError) -> Self {
        UseCaseError::Store(e)
    }
}

impl From<GlaseError> for UseCaseError {
    fn from(e: GlaseError) -> Self {
        match e {
            GlaseError::Rejected { code, description } => UseCaseError::GlaseRejected { code, description },
            GlaseError::Unavailable { reason } => UseCaseError::GlaseUnavailable(reason),
            GlaseError::OutcomeUnknown { reason } => UseCaseError::OutcomeUnknown(reason),
        }
    }
}

impl From<PaymentError> for UseCaseError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::WrongStatus { .. } => UseCaseError::Conflict(ConflictReason::NotPending),
            other => UseCaseError::Invalid(other.to_string()),
        }
    }
}
