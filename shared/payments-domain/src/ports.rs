//! Ports: the traits the use cases need from the outside world. Adapters implement them (DynamoDB, the
//! Glase SOAP client, SQS, the WebSocket push API); the `testing` feature has an in-memory fake of each.
//!
//! Every async method returns `impl Future<Output = …> + Send`, so use cases are generic over the ports
//! and no `dyn` or boxing is needed. Adapters may implement them with plain `async fn`.

use std::fmt;
use std::future::Future;

use thiserror::Error;

use crate::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use crate::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, PaymentId, PeriodId, RefundId, Revision, SeqrId,
    StatusVersion, TerminalId, Timestamp, TransactionPeriodId,
};
use crate::money::Money;
use crate::order::{CashierId, DisplayName, ExternalTerminalId, Order, OrderRow, RefundReason};
use crate::payment::{Observation, Payment, PaymentStatus};
use crate::period::{FetchedReport, PeriodScope, ReportingPeriod};
use crate::refund::{Refund, RefundStatus};
use crate::secret::{ClientSecret, ClientSecretKey, NotificationToken};
use crate::terminal::Terminal;
use crate::text::token_text;

// ---------------------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------------------

/// A store failure, keeping its kind so callers can tell "someone else changed it" from "try again" from
/// "the data is broken".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// A condition of a conditional write failed: the item exists (insert), is missing, or has another
    /// revision (update); or, in a transaction, any of its conditions failed. Nothing was written.
    #[error("the stored item changed or exists already (condition failed)")]
    ConditionFailed,
    /// The store asked us to slow down; nothing was written; retry with backoff.
    #[error("the store throttled the request")]
    Throttled,
    /// A stored item could not be read back: `attribute` is missing or has a bad value.
    #[error("stored item has a malformed attribute {attribute}: {reason}")]
    Malformed {
        /// The attribute's name.
        attribute: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store could not be reached or failed; for writes, whether anything was written is unknown
    /// unless the adapter knows better, so callers re-read before deciding.
    #[error("the store is unavailable: {reason}")]
    Unavailable {
        /// A short reason (no item data, no secrets).
        reason: String,
    },
}

impl StoreError {
    /// True for failures worth retrying as they are (throttling, unavailability).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Throttled | StoreError::Unavailable { .. })
    }
}

/// What inserting an idempotency record found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IdempotencyInsert {
    /// The record was written: this request owns the key.
    Inserted,
    /// A record for the key exists already (possibly expired but not yet removed by TTL); nothing was
    /// written. The adapter returns the existing record in the same round trip
    /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so the domain can always compare fingerprints.
    Existing(IdempotencyRecord),
}

token_text!(
    /// The id of a WebSocket connection (API Gateway's `connectionId`).
    ConnectionId,
    "connection id",
    128,
    ['=', '+', '/', '-', '_'],
    "ASCII letters, digits and = + / - _"
);

/// A browser's WebSocket connection listening to one payment. Kept until it closes or `expires_at` (TTL).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PushConnection {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The payment it listens to.
    pub payment_id: PaymentId,
    /// When the store may forget it.
    pub expires_at: Timestamp,
}

/// All state: payments, refunds, terminals, periods, idempotency records and push connections (one
/// DynamoDB table in production).
///
/// Conditional semantics, shared by every method:
/// - *insert* writes only if no item with the same key exists, else [`StoreError::ConditionFailed`];
/// - *update* with `expected` writes only if the stored item exists and its revision equals `expected`,
///   else [`StoreError::ConditionFailed`]; the value passed carries the next revision (`expected + 1`);
/// - methods that write several items do so in one transaction: all conditions hold and everything is
///   written, or nothing is written and the error is [`StoreError::ConditionFailed`];
/// - reads are strongly consistent where the backend offers it (reads by key); queries over secondary
///   indexes may lag slightly, which callers tolerate (they re-read by key before changing anything).
pub trait PaymentStore: Send + Sync {
    // Payments.

    /// Inserts a new payment (insert-if-absent by id).
    fn insert_payment(&self, payment: &Payment) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Inserts a new POS payment and, in the same transaction, updates its terminal (whose
    /// `open_payment` now names it) if the terminal's revision is still `expected_terminal`.
    fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a payment by id.
    fn get_payment(&self, id: &PaymentId)
    -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Replaces a payment if its stored revision is `expected` (update-if-revision-matches).
    fn update_payment(
        &self,
        payment: &Payment,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Pending payments nobody asked Glase about since `checked_before`, counting a never-checked one
    /// from its creation (sendInvoice was its first check), oldest first, at most `limit`. Only due
    /// payments take the `limit`: however many younger ones there are, the oldest due ones are
    /// answered. Feeds the safety net that confirms payments without a notification or a polling
    /// client.
    fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;

    /// Pending payments whose `expires_at` is at or before `now`, the earliest expiry first, at most
    /// `limit`.
    fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;

    /// Paid payments whose receipt is due at or before `now` ([`crate::payment::ReceiptState::due_at`]),
    /// the earliest due first (never-tried ones before every retry), at most `limit` (the receipt
    /// sweep). A retry still waiting for its time never takes one of the `limit` places.
    fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;

    /// The payment with this `ersReference`, if any (reconciliation).
    fn find_payment_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Paid payments with `from <= paid_at < to` (reconciliation: "paid with us only").
    fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;

    // Refunds.

    /// Creates a refund and reserves its amount, atomically: inserts `refund` (insert-if-absent) and
    /// replaces `payment` (whose refund ledger already holds the amount, see
    /// [`Payment::reserve_refund`]) if the payment's revision is still `expected_payment`. Two concurrent
    /// refunds of one payment cannot both pass: one gets `ConditionFailed` and re-checks.
    fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a refund of a payment.
    fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> impl Future<Output = Result<Option<Refund>, StoreError>> + Send;

    /// All refunds of a payment, oldest first.
    fn list_refunds(
        &self,
        payment_id: &PaymentId,
    ) -> impl Future<Output = Result<Vec<Refund>, StoreError>> + Send;

    /// Replaces a refund if its stored revision is `expected` (e.g. `queued → sending`).
    fn update_refund(
        &self,
        refund: &Refund,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Settles a refund and its payment's ledger in one transaction: replaces `refund` if its revision is
    /// `expected_refund` and `payment` if its revision is `expected_payment` (see
    /// [`Payment::settle_refund`]).
    fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Refunds in `status` whose last change is before `updated_before`, oldest first, at most `limit`
    /// (the outbox sweep re-queues old `queued` ones; stuck `sending` ones go to reconciliation).
    fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Refund>, StoreError>> + Send;

    /// The refund whose own `ersReference` is this one, if any (reconciliation).
    fn find_refund_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> impl Future<Output = Result<Option<Refund>, StoreError>> + Send;

    // Terminals.

    /// Inserts a terminal; fails with `ConditionFailed` if its id or its external id is taken (the
    /// external id is unique among terminals, also atomically).
    fn insert_terminal(&self, terminal: &Terminal) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a terminal.
    fn get_terminal(
        &self,
        id: &TerminalId,
    ) -> impl Future<Output = Result<Option<Terminal>, StoreError>> + Send;

    /// The terminal with this external id, if any.
    fn find_terminal_by_external_id(
        &self,
        external_id: &ExternalTerminalId,
    ) -> impl Future<Output = Result<Option<Terminal>, StoreError>> + Send;

    /// All terminals, active and unregistered, oldest first.
    fn list_terminals(&self) -> impl Future<Output = Result<Vec<Terminal>, StoreError>> + Send;

    /// Replaces a terminal if its stored revision is `expected`.
    fn update_terminal(
        &self,
        terminal: &Terminal,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // Reporting periods.

    /// Inserts a period (insert-if-absent by id).
    fn insert_period(&self, period: &ReportingPeriod) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a period.
    fn get_period(
        &self,
        id: &PeriodId,
    ) -> impl Future<Output = Result<Option<ReportingPeriod>, StoreError>> + Send;

    /// The latest period of `scope` marked before `before`, if any (where the next period's window of
    /// our own payments starts).
    fn latest_period_before(
        &self,
        scope: &PeriodScope,
        before: Timestamp,
    ) -> impl Future<Output = Result<Option<ReportingPeriod>, StoreError>> + Send;

    /// Replaces a period if its stored revision is `expected`.
    fn update_period(
        &self,
        period: &ReportingPeriod,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // Idempotency records (key: operation + idempotency key).

    /// Inserts an in-progress record if none exists for its operation and key; otherwise writes nothing
    /// and returns the existing record.
    fn insert_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> impl Future<Output = Result<IdempotencyInsert, StoreError>> + Send;

    /// Replaces a record if its stored revision is `expected` (complete it, or take over an expired one).
    fn replace_idempotency_record(
        &self,
        record: &IdempotencyRecord,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a record if its stored revision is `expected` (the request failed before any side effect,
    /// so the client may retry with the same key).
    fn delete_idempotency_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        expected: Revision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // WebSocket connections.

    /// Stores (or refreshes) a connection; unconditional.
    fn put_connection(
        &self,
        connection: &PushConnection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a connection; deleting a missing one succeeds.
    fn delete_connection(
        &self,
        connection_id: &ConnectionId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One connection, read consistently (a connection stored just before is found), or `None` when it
    /// is unknown. An expired connection the TTL has not removed yet is still answered: the caller
    /// compares `expires_at` with its clock.
    fn connection(
        &self,
        connection_id: &ConnectionId,
    ) -> impl Future<Output = Result<Option<PushConnection>, StoreError>> + Send;

    /// The live connections listening to a payment. This reads an index, which may lag a connection
    /// stored just before: good for fanning out a push, never for deciding what a connection may read.
    fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> impl Future<Output = Result<Vec<PushConnection>, StoreError>> + Send;
}

// ---------------------------------------------------------------------------------------------------------
// Glase
// ---------------------------------------------------------------------------------------------------------

/// A Glase call that did not succeed, by what it means for retrying.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GlaseError {
    /// Glase answered with a `resultCode` other than 0: a definite answer, nothing happened (except where a
    /// code says otherwise, e.g. 95 "already canceled").
    #[error("Glase refused the request: {description} ({code})")]
    Rejected {
        /// The `resultCode`.
        code: i32,
        /// The `resultDescription`.
        description: String,
    },
    /// Glase could not be reached and the request certainly did not take effect (connection refused, DNS,
    /// timeout before sending, or 93/94 busy/unavailable): retry later.
    #[error("Glase is unavailable: {reason}")]
    Unavailable {
        /// A short reason.
        reason: String,
    },
    /// The request left but no usable answer came back (timeout after sending, broken response): it may
    /// or may not have taken effect. Never repeat a non-idempotent call on this.
    #[error("the outcome of the Glase call is unknown: {reason}")]
    OutcomeUnknown {
        /// A short reason.
        reason: String,
    },
}

/// Glase result codes the use cases act on (`ERSWSResultCodes`).
pub mod result_codes {
    /// `REPORT_NOT_READY`: retry executeReport later.
    pub const REPORT_NOT_READY: i32 = 2;
    /// `PAYMENT_IN_PROGRESS`.
    pub const PAYMENT_IN_PROGRESS: i32 = 48;
    /// `CANNOT_CANCEL_PAID_INVOICE`.
    pub const CANNOT_CANCEL_PAID_INVOICE: i32 = 50;
    /// `CANNOT_CANCEL_INVOICE_IN_PROGRESS`.
    pub const CANNOT_CANCEL_INVOICE_IN_PROGRESS: i32 = 51;
    /// `INVALID_SEQR_ID`.
    pub const INVALID_SEQR_ID: i32 = 53;
    /// `SYSTEM_BUSY`.
    pub const SYSTEM_BUSY: i32 = 93;
    /// `SERVICE_UNAVAILABLE`.
    pub const SERVICE_UNAVAILABLE: i32 = 94;
    /// `INVOICE_ALREADY_CANCELED`: cancelInvoice counts it as done.
    pub const INVOICE_ALREADY_CANCELED: i32 = 95;
}

impl GlaseError {
    /// True when nothing happened and trying again later may succeed (unavailable, or a 93/94 refusal).
    pub fn is_transient(&self) -> bool {
        match self {
            GlaseError::Unavailable { .. } => true,
            GlaseError::Rejected { code, .. } => {
                *code == result_codes::SYSTEM_BUSY || *code == result_codes::SERVICE_UNAVAILABLE
            }
            GlaseError::OutcomeUnknown { .. } => false,
        }
    }

    /// The result code of a rejection.
    pub fn code(&self) -> Option<i32> {
        match self {
            GlaseError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Which Glase terminal a call acts as. The gateway holds the webshop terminal's credentials and derives
/// (or decrypts) POS terminal passwords from our terminal id; the domain never sees a password.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum GlaseTerminal {
    /// The webshop terminal from configuration.
    Webshop,
    /// A registered POS terminal.
    Pos {
        /// Our id (the gateway derives the terminal password from it).
        terminal_id: TerminalId,
        /// Glase's id.
        glase_terminal_id: GlaseTerminalId,
    },
}

/// The notificationUrl of one payment: `{public base}/v1/notifications/{id}?token={token}`. It carries the
/// token, so its `Debug` hides the query.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationUrl(String);

impl NotificationUrl {
    /// Builds the URL from the public base (no trailing slash needed), the payment id and the token.
    pub fn new(public_base: &str, payment_id: &PaymentId, token: &NotificationToken) -> Self {
        NotificationUrl(format!(
            "{}/v1/notifications/{}?token={}",
            public_base.trim_end_matches('/'),
            payment_id,
            token.expose()
        ))
    }

    /// The URL, to send to Glase. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NotificationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visible = self.0.split('?').next().unwrap_or_default();
        write!(f, "NotificationUrl({visible}?token=<redacted>)")
    }
}

/// An invoice to send or update.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Invoice {
    /// The order (title, clientInvoiceId, rows, total, cashierId, backURL).
    pub order: Order,
    /// Where Glase notifies us.
    pub notification_url: NotificationUrl,
    /// The `issueDate`.
    pub issued_at: Timestamp,
}

/// A refund to send with refundPayment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefundInvoice {
    /// The refund's title.
    pub reason: RefundReason,
    /// The amount (`totalAmount`).
    pub amount: Money,
    /// The `cashierId`.
    pub cashier_id: Option<CashierId>,
    /// Rows of returned items, if given.
    pub rows: Vec<OrderRow>,
    /// The `issueDate`.
    pub issued_at: Timestamp,
}

/// A receipt to attach with submitPaymentReceipt.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReceiptDocument {
    /// The `mimeType`.
    pub mime_type: String,
    /// The `receiptType` (e.g. `PAYMENT_RECEIPT`).
    pub receipt_type: String,
    /// The document bytes (the gateway base64-encodes them).
    pub data: Vec<u8>,
}

/// Which report to fetch with executeReport.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportRequest {
    /// The `reportId`, e.g. `Reconciliation/STD_RECON_003.xml`.
    pub report_id: String,
    /// The closed period.
    pub transaction_period_id: TransactionPeriodId,
    /// Shop or terminal (adds the `TERMINALID` parameter).
    pub scope: PeriodScope,
}

/// The Glase merchant operations, in domain terms. The adapter knows the wire format, credentials,
/// timeouts and which failures are [`GlaseError::Unavailable`] versus [`GlaseError::OutcomeUnknown`].
///
/// Every call ends by the adapter's own deadlines. [`GlaseGateway::bounded`] narrows them for one
/// invocation: the use cases bound each call by what the invocation has left, keeping back the time of
/// the steps that must still follow it (see [`crate::usecases::Reserves`]).
pub trait GlaseGateway: Send + Sync {
    /// The same gateway with every call ending by `by` (a time on the clock the use cases read): a call
    /// that cannot be sent by then is [`GlaseError::Unavailable`], one whose answer has not come by then
    /// is [`GlaseError::OutcomeUnknown`]. Of two bounds the earlier holds (bounding a bounded gateway
    /// never extends it), and the adapter's own deadlines still hold within it.
    fn bounded(&self, by: Timestamp) -> Self
    where
        Self: Sized;

    /// sendInvoice: returns the invoice reference (the QR and app URLs derive from it).
    fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> impl Future<Output = Result<InvoiceReference, GlaseError>> + Send;

    /// getPaymentStatus, acknowledging `last_seen` (the version we stored); this call also commits a paid
    /// invoice. The observation's `observed_at` is when the answer arrived.
    fn payment_status(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> impl Future<Output = Result<Observation, GlaseError>> + Send;

    /// cancelInvoice.
    fn cancel_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
    ) -> impl Future<Output = Result<(), GlaseError>> + Send;

    /// updateInvoice.
    fn update_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> impl Future<Output = Result<(), GlaseError>> + Send;

    /// refundPayment of the payment `payment_reference`: returns the refund's own `ersReference`.
    fn refund_payment(
        &self,
        terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> impl Future<Output = Result<ErsReference, GlaseError>> + Send;

    /// registerTerminal with the reseller credentials; the terminal password is derived from `terminal_id`.
    fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        external_id: &ExternalTerminalId,
        name: &DisplayName,
    ) -> impl Future<Output = Result<GlaseTerminalId, GlaseError>> + Send;

    /// unregisterTerminal.
    fn unregister_terminal(
        &self,
        terminal: &GlaseTerminal,
    ) -> impl Future<Output = Result<(), GlaseError>> + Send;

    /// assignSeqrId.
    fn assign_seqr_id(
        &self,
        terminal: &GlaseTerminal,
        seqr_id: &SeqrId,
    ) -> impl Future<Output = Result<(), GlaseError>> + Send;

    /// submitPaymentReceipt for a payment or refund reference.
    fn submit_receipt(
        &self,
        terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        receipt: &ReceiptDocument,
    ) -> impl Future<Output = Result<(), GlaseError>> + Send;

    /// markTransactionPeriod: closes the current period and returns its id.
    fn mark_period(
        &self,
        scope: &PeriodScope,
    ) -> impl Future<Output = Result<TransactionPeriodId, GlaseError>> + Send;

    /// executeReport: the document, with its transactions read when it is a details report. A document
    /// that cannot be read is [`GlaseError::OutcomeUnknown`]; `REPORT_NOT_READY` comes back as
    /// `Rejected { code: 2, .. }`.
    fn execute_report(
        &self,
        request: &ReportRequest,
    ) -> impl Future<Output = Result<FetchedReport, GlaseError>> + Send;
}

/// The bound of a gateway bounded by `by` whose bound was `until` (`None`: unbounded): of two bounds the
/// earlier holds, as [`GlaseGateway::bounded`] asks of every implementation.
pub fn narrowed_bound(until: Option<Timestamp>, by: Timestamp) -> Timestamp {
    until.map_or(by, |until| until.min(by))
}

/// Calls the macro `$then` with every [`GlaseGateway`] call (each method but `bounded`), each written as
/// `fn name(argument: Type, …) -> Answer;` for an answer of `Result<Answer, GlaseError>`, so that a
/// gateway which wraps another ([`crate::optional`], `crate::hooked`) writes its forwarding once for
/// all of them. The types are named as this module names them; the caller imports them.
macro_rules! with_glase_calls {
    ($then:ident) => {
        $then! {
            fn send_invoice(terminal: &GlaseTerminal, invoice: &Invoice) -> InvoiceReference;
            fn payment_status(
                terminal: &GlaseTerminal, invoice_reference: &InvoiceReference, last_seen: StatusVersion,
            ) -> Observation;
            fn cancel_invoice(terminal: &GlaseTerminal, invoice_reference: &InvoiceReference) -> ();
            fn update_invoice(
                terminal: &GlaseTerminal, invoice_reference: &InvoiceReference, invoice: &Invoice,
            ) -> ();
            fn refund_payment(
                terminal: &GlaseTerminal, payment_reference: &ErsReference, refund: &RefundInvoice,
            ) -> ErsReference;
            fn register_terminal(
                terminal_id: &TerminalId, external_id: &ExternalTerminalId, name: &DisplayName,
            ) -> GlaseTerminalId;
            fn unregister_terminal(terminal: &GlaseTerminal) -> ();
            fn assign_seqr_id(terminal: &GlaseTerminal, seqr_id: &SeqrId) -> ();
            fn submit_receipt(
                terminal: &GlaseTerminal, ers_reference: &ErsReference, receipt: &ReceiptDocument,
            ) -> ();
            fn mark_period(scope: &PeriodScope) -> TransactionPeriodId;
            fn execute_report(request: &ReportRequest) -> FetchedReport;
        }
    };
}
pub(crate) use with_glase_calls;

// ---------------------------------------------------------------------------------------------------------
// Queue, push, clock, ids
// ---------------------------------------------------------------------------------------------------------

/// A queue failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueueError {
    /// The message was not accepted; the refund stays `queued` and the outbox sweep sends it later.
    #[error("the queue is unavailable: {reason}")]
    Unavailable {
        /// A short reason.
        reason: String,
    },
}

/// The message asking a worker to process one refund.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefundMessage {
    /// The payment.
    pub payment_id: PaymentId,
    /// The refund.
    pub refund_id: RefundId,
}

/// The refund queue (SQS in production): at-least-once delivery.
pub trait RefundQueue: Send + Sync {
    /// Sends one message.
    fn enqueue(&self, message: &RefundMessage) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// A push failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PushError {
    /// The connection is closed for good; forget it.
    #[error("the connection is gone")]
    Gone,
    /// The push API failed; the browser's polling fallback covers it.
    #[error("push unavailable: {reason}")]
    Unavailable {
        /// A short reason.
        reason: String,
    },
}

/// What a browser is told when a payment changes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StatusUpdate {
    /// The payment.
    pub payment_id: PaymentId,
    /// Its new status.
    pub status: PaymentStatus,
    /// Its `ersReference` once paid.
    pub ers_reference: Option<ErsReference>,
}

/// Pushes status changes to WebSocket connections (API Gateway management API in production).
pub trait StatusPush: Send + Sync {
    /// Sends one update to one connection.
    fn push(
        &self,
        connection: &ConnectionId,
        update: &StatusUpdate,
    ) -> impl Future<Output = Result<(), PushError>> + Send;
}

/// The time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Randomness for ids and secrets: 128 bits from a cryptographically secure source in production; and
/// the key that client secrets derive from, in a process that creates payments.
pub trait IdGenerator: Send + Sync {
    /// 16 random bytes.
    fn random_128(&self) -> [u8; 16];

    /// The key client secrets derive from; `None` in a process that creates no payments (it only ever
    /// checks presented secrets against their stored hashes).
    fn client_secret_key(&self) -> Option<&ClientSecretKey>;

    /// A new payment id.
    fn payment_id(&self) -> PaymentId {
        PaymentId::from_random(self.random_128())
    }
    /// A new refund id.
    fn refund_id(&self) -> RefundId {
        RefundId::from_random(self.random_128())
    }
    /// A new terminal id.
    fn terminal_id(&self) -> TerminalId {
        TerminalId::from_random(self.random_128())
    }
    /// A new period id.
    fn period_id(&self) -> PeriodId {
        PeriodId::from_random(self.random_128())
    }
    /// The client secret of payment `id`, derived under [`IdGenerator::client_secret_key`]: the same id
    /// always gives the same secret. `None` without a key.
    fn client_secret(&self, id: &PaymentId) -> Option<ClientSecret> {
        self.client_secret_key().map(|key| key.client_secret(id))
    }
    /// A new notification token.
    fn notification_token(&self) -> NotificationToken {
        NotificationToken::from_random(self.random_128())
    }
}

// ---------------------------------------------------------------------------------------------------------
// The set of ports
// ---------------------------------------------------------------------------------------------------------

/// Six port types under one name: a tuple `(store, Glase, queue, push, clock, ids)` is one. The
/// types need not implement their ports here, so a holder that uses only some of them can fill the
/// others with `()`; [`Ports`] is the set whose every type does.
pub trait PortTypes {
    /// The store.
    type Store;
    /// Glase.
    type Glase;
    /// The refund queue.
    type Queue;
    /// Status pushes.
    type Push;
    /// The clock.
    type Clock;
    /// Ids and secrets.
    type Ids;
}

impl<S, G, Q, P, C, I> PortTypes for (S, G, Q, P, C, I) {
    type Store = S;
    type Glase = G;
    type Queue = Q;
    type Push = P;
    type Clock = C;
    type Ids = I;
}

/// A complete set of ports: every type implements its port. Every use case and every handler is
/// generic over one `P: Ports`; any tuple of six implementations is one.
pub trait Ports:
    PortTypes<
        Store: PaymentStore,
        Glase: GlaseGateway,
        Queue: RefundQueue,
        Push: StatusPush,
        Clock: Clock,
        Ids: IdGenerator,
    >
{
}

impl<T> Ports for T where
    T: PortTypes<
            Store: PaymentStore,
            Glase: GlaseGateway,
            Queue: RefundQueue,
            Push: StatusPush,
            Clock: Clock,
            Ids: IdGenerator,
        >
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_url_carries_the_token_but_debug_hides_it() {
        let id = PaymentId::from_random([1; 16]);
        let token = NotificationToken::from_random([0xee; 16]);
        let url = NotificationUrl::new("https://pay.example/", &id, &token);
        assert_eq!(
            url.expose(),
            format!("https://pay.example/v1/notifications/{id}?token=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
        );
        let printed = format!("{url:?}");
        assert!(!printed.contains("eeee"), "{printed}");
        assert!(printed.contains("/v1/notifications/pay_"), "{printed}");
    }

    #[test]
    fn busy_and_unavailable_are_transient_but_an_unknown_outcome_is_not() {
        let busy = GlaseError::Rejected {
            code: 93,
            description: "SYSTEM_BUSY".to_owned(),
        };
        assert!(busy.is_transient());
        assert!(
            GlaseError::Unavailable {
                reason: "refused".to_owned()
            }
            .is_transient()
        );
        assert!(
            !GlaseError::OutcomeUnknown {
                reason: "timeout".to_owned()
            }
            .is_transient()
        );
        assert!(
            !GlaseError::Rejected {
                code: 49,
                description: "x".to_owned()
            }
            .is_transient()
        );
    }

    #[test]
    fn throttling_is_retryable_and_a_failed_condition_is_not() {
        assert!(StoreError::Throttled.is_retryable());
        assert!(!StoreError::ConditionFailed.is_retryable());
    }
}
