//! In-memory fakes of every port, for unit tests of the use cases and of the function handlers.
//!
//! The fake store keeps the same conditional semantics as the real one (insert-if-absent,
//! update-if-revision-matches, all-or-nothing multi-item writes), so a handler test that passes here
//! exercises the same decisions it takes against DynamoDB. The fake Glase gateway answers from a script
//! and records every call; the clock is set by hand; ids come from a counter.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use crate::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, PaymentId, PeriodId, RefundId, Revision, SeqrId,
    StatusVersion, TerminalId, Timestamp, TransactionPeriodId,
};
use crate::order::{DisplayName, ExternalTerminalId};
use crate::payment::{GlaseInvoiceStatus, Observation, Payment, PaymentStatus};
use crate::period::{
    FetchedReport, PeriodScope, ReportDocument, ReportRow, ReportTransaction, ReportingPeriod,
};
use crate::ports::{
    Clock, ConnectionId, GlaseError, GlaseGateway, GlaseTerminal, IdGenerator, IdempotencyInsert, Invoice,
    PaymentStore, PushConnection, PushError, QueueError, ReceiptDocument, RefundInvoice, RefundMessage,
    RefundQueue, ReportRequest, StatusPush, StatusUpdate, StoreError,
};
use crate::refund::{Refund, RefundStatus};
use crate::secret::ClientSecretKey;
use crate::terminal::Terminal;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------------------

#[derive(Default)]
struct StoreState {
    payments: BTreeMap<String, Payment>,
    refunds: BTreeMap<(String, String), Refund>,
    terminals: BTreeMap<String, Terminal>,
    periods: BTreeMap<String, ReportingPeriod>,
    idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    connections: BTreeMap<String, PushConnection>,
    /// While the index lags: the connections stored since, which index reads do not see yet.
    unindexed: Option<std::collections::BTreeSet<String>>,
    fail_next: VecDeque<Option<StoreError>>,
    /// The writes still to let through, and the error the one after them answers once it took effect.
    fail_after_write: Option<(u64, StoreError)>,
    down: Option<StoreError>,
    writes: u64,
}

impl StoreState {
    /// Counts a write that took effect; answers the error armed by [`InMemoryStore::fail_after_write`]
    /// when this is the write it names.
    fn written(&mut self) -> Result<(), StoreError> {
        self.writes += 1;
        match self.fail_after_write.take() {
            Some((0, error)) => Err(error),
            Some((later, error)) => {
                self.fail_after_write = Some((later - 1, error));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// An in-memory [`PaymentStore`] with the real store's conditional semantics. Clones share the data.
#[derive(Clone, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<StoreState>>,
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InMemoryStore")
    }
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next store call fail with `error` (calls queue up in order).
    pub fn fail_next(&self, error: StoreError) {
        lock(&self.state).fail_next.push_back(Some(error));
    }

    /// Lets `skip` writes through, then makes the next write take effect and answer `error`: a write
    /// whose answer was lost (a connection that failed after the store committed).
    pub fn fail_after_write(&self, skip: u64, error: StoreError) {
        lock(&self.state).fail_after_write = Some((skip, error));
    }

    /// Lets the next store call through; queued before [`InMemoryStore::fail_next`], it makes a later
    /// call fail (e.g. the write after a read).
    pub fn pass_next(&self) {
        lock(&self.state).fail_next.push_back(None);
    }

    /// Makes index reads ([`PaymentStore::connections_for_payment`]) lag, as a DynamoDB global secondary
    /// index does: connections stored from now on are not seen by them until
    /// [`InMemoryStore::index_catches_up`]. Reads by key stay consistent.
    pub fn index_lags(&self) {
        lock(&self.state).unindexed = Some(Default::default());
    }

    /// Lets index reads see every stored connection again.
    pub fn index_catches_up(&self) {
        lock(&self.state).unindexed = None;
    }

    /// Makes every store call fail with `error`, once the calls queued with
    /// [`InMemoryStore::fail_next`] and [`InMemoryStore::pass_next`] are used up, until
    /// [`InMemoryStore::recover`].
    pub fn go_down(&self, error: StoreError) {
        lock(&self.state).down = Some(error);
    }

    /// Ends [`InMemoryStore::go_down`].
    pub fn recover(&self) {
        lock(&self.state).down = None;
    }

    /// Every payment, for assertions.
    pub fn payments(&self) -> Vec<Payment> {
        lock(&self.state).payments.values().cloned().collect()
    }

    /// Every terminal, for assertions.
    pub fn terminals(&self) -> Vec<Terminal> {
        lock(&self.state).terminals.values().cloned().collect()
    }

    /// Every refund, for assertions.
    pub fn refunds(&self) -> Vec<Refund> {
        lock(&self.state).refunds.values().cloned().collect()
    }

    /// Every idempotency record, for assertions.
    pub fn idempotency_records(&self) -> Vec<IdempotencyRecord> {
        lock(&self.state).idempotency.values().cloned().collect()
    }

    /// How many writes succeeded, for "nothing was stored" assertions.
    pub fn writes(&self) -> u64 {
        lock(&self.state).writes
    }

    fn enter(&self) -> Result<MutexGuard<'_, StoreState>, StoreError> {
        let mut s = lock(&self.state);
        match s.fail_next.pop_front() {
            Some(Some(e)) => Err(e),
            Some(None) => Ok(s),
            None => match s.down.clone() {
                Some(e) => Err(e),
                None => Ok(s),
            },
        }
    }
}

fn check_revision(stored: Option<Revision>, expected: Revision) -> Result<(), StoreError> {
    match stored {
        Some(r) if r == expected => Ok(()),
        _ => Err(StoreError::ConditionFailed),
    }
}

impl PaymentStore for InMemoryStore {
    async fn insert_payment(&self, payment: &Payment) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        if s.payments.contains_key(payment.id().as_str()) {
            return Err(StoreError::ConditionFailed);
        }
        s.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
        s.written()
    }

    async fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        if s.payments.contains_key(payment.id().as_str()) {
            return Err(StoreError::ConditionFailed);
        }
        check_revision(
            s.terminals.get(terminal.id().as_str()).map(Terminal::revision),
            expected_terminal,
        )?;
        s.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
        s.terminals
            .insert(terminal.id().as_str().to_owned(), terminal.clone());
        s.written()
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.enter()?.payments.get(id.as_str()).cloned())
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        check_revision(
            s.payments.get(payment.id().as_str()).map(Payment::revision),
            expected,
        )?;
        s.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
        s.written()
    }

    async fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        // Like the `check_due` index: ordered by the last check (the creation when never checked), then
        // the id, and bounded, so only due payments take the `limit`.
        let s = self.enter()?;
        let due_since = |p: &Payment| p.last_checked_at().unwrap_or(p.created_at());
        let mut due: Vec<(Timestamp, Payment)> = s
            .payments
            .values()
            .filter(|p| p.status() == PaymentStatus::Pending && due_since(p) < checked_before)
            .map(|p| (due_since(p), p.clone()))
            .collect();
        due.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.id().as_str().cmp(q.id().as_str())));
        Ok(due.into_iter().take(limit).map(|(_, p)| p).collect())
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let s = self.enter()?;
        let mut expired: Vec<Payment> = s
            .payments
            .values()
            .filter(|p| p.status() == PaymentStatus::Pending && p.expires_at() <= now)
            .cloned()
            .collect();
        expired.sort_by(|p, q| (p.expires_at(), p.id().as_str()).cmp(&(q.expires_at(), q.id().as_str())));
        expired.truncate(limit);
        Ok(expired)
    }

    async fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        // Like the `RECEIPT_DUE` partition: ordered by when the receipt is next due, then the id, and
        // bounded by `now`, so a retry still waiting takes no place.
        let s = self.enter()?;
        let mut due: Vec<(Timestamp, Payment)> = s
            .payments
            .values()
            .filter_map(|p| p.receipt().due_at().map(|at| (at, p.clone())))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.id().as_str().cmp(q.id().as_str())));
        Ok(due.into_iter().take(limit).map(|(_, p)| p).collect())
    }

    async fn find_payment_by_ers_reference(&self, ers: &ErsReference) -> Result<Option<Payment>, StoreError> {
        Ok(self
            .enter()?
            .payments
            .values()
            .find(|p| p.ers_reference() == Some(ers))
            .cloned())
    }

    async fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>, StoreError> {
        Ok(self
            .enter()?
            .payments
            .values()
            .filter(|p| p.paid_at().is_some_and(|t| from <= t && t < to))
            .cloned()
            .collect())
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = (
            refund.payment_id().as_str().to_owned(),
            refund.id().as_str().to_owned(),
        );
        if s.refunds.contains_key(&key) {
            return Err(StoreError::ConditionFailed);
        }
        check_revision(
            s.payments.get(payment.id().as_str()).map(Payment::revision),
            expected_payment,
        )?;
        s.refunds.insert(key, refund.clone());
        s.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
        s.written()
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        let key = (payment_id.as_str().to_owned(), refund_id.as_str().to_owned());
        Ok(self.enter()?.refunds.get(&key).cloned())
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let mut refunds: Vec<Refund> = self
            .enter()?
            .refunds
            .values()
            .filter(|r| r.payment_id() == payment_id)
            .cloned()
            .collect();
        refunds.sort_by_key(Refund::created_at);
        Ok(refunds)
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = (
            refund.payment_id().as_str().to_owned(),
            refund.id().as_str().to_owned(),
        );
        check_revision(s.refunds.get(&key).map(Refund::revision), expected)?;
        s.refunds.insert(key, refund.clone());
        s.written()
    }

    async fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = (
            refund.payment_id().as_str().to_owned(),
            refund.id().as_str().to_owned(),
        );
        check_revision(s.refunds.get(&key).map(Refund::revision), expected_refund)?;
        check_revision(
            s.payments.get(payment.id().as_str()).map(Payment::revision),
            expected_payment,
        )?;
        s.refunds.insert(key, refund.clone());
        s.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
        s.written()
    }

    async fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let mut found: Vec<Refund> = self
            .enter()?
            .refunds
            .values()
            .filter(|r| r.status() == status && r.updated_at() < updated_before)
            .cloned()
            .collect();
        found.sort_by_key(Refund::updated_at);
        found.truncate(limit);
        Ok(found)
    }

    async fn find_refund_by_ers_reference(&self, ers: &ErsReference) -> Result<Option<Refund>, StoreError> {
        Ok(self
            .enter()?
            .refunds
            .values()
            .find(|r| r.ers_reference() == Some(ers))
            .cloned())
    }

    async fn insert_terminal(&self, terminal: &Terminal) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let taken = s.terminals.contains_key(terminal.id().as_str())
            || s.terminals
                .values()
                .any(|t| t.external_id() == terminal.external_id());
        if taken {
            return Err(StoreError::ConditionFailed);
        }
        s.terminals
            .insert(terminal.id().as_str().to_owned(), terminal.clone());
        s.written()
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        Ok(self.enter()?.terminals.get(id.as_str()).cloned())
    }

    async fn find_terminal_by_external_id(
        &self,
        external: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        Ok(self
            .enter()?
            .terminals
            .values()
            .find(|t| t.external_id() == external)
            .cloned())
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let mut all: Vec<Terminal> = self.enter()?.terminals.values().cloned().collect();
        all.sort_by_key(|t| t.to_record().created_at);
        Ok(all)
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        check_revision(
            s.terminals.get(terminal.id().as_str()).map(Terminal::revision),
            expected,
        )?;
        s.terminals
            .insert(terminal.id().as_str().to_owned(), terminal.clone());
        s.written()
    }

    async fn insert_period(&self, period: &ReportingPeriod) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        if s.periods.contains_key(period.id().as_str()) {
            return Err(StoreError::ConditionFailed);
        }
        s.periods.insert(period.id().as_str().to_owned(), period.clone());
        s.written()
    }

    async fn get_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, StoreError> {
        Ok(self.enter()?.periods.get(id.as_str()).cloned())
    }

    async fn latest_period_before(
        &self,
        scope: &PeriodScope,
        before: Timestamp,
    ) -> Result<Option<ReportingPeriod>, StoreError> {
        Ok(self
            .enter()?
            .periods
            .values()
            .filter(|p| p.scope() == scope && p.marked_at() < before)
            .max_by_key(|p| (p.marked_at(), p.id().as_str().to_owned()))
            .cloned())
    }

    async fn update_period(&self, period: &ReportingPeriod, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        check_revision(
            s.periods.get(period.id().as_str()).map(ReportingPeriod::revision),
            expected,
        )?;
        s.periods.insert(period.id().as_str().to_owned(), period.clone());
        s.written()
    }

    async fn insert_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, StoreError> {
        let mut s = self.enter()?;
        let key = (
            record.operation.as_str().to_owned(),
            record.key.as_str().to_owned(),
        );
        if let Some(existing) = s.idempotency.get(&key) {
            return Ok(IdempotencyInsert::Existing(existing.clone()));
        }
        s.idempotency.insert(key, record.clone());
        s.written()?;
        Ok(IdempotencyInsert::Inserted)
    }

    async fn replace_idempotency_record(
        &self,
        record: &IdempotencyRecord,
        expected: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = (
            record.operation.as_str().to_owned(),
            record.key.as_str().to_owned(),
        );
        check_revision(s.idempotency.get(&key).map(|r| r.revision), expected)?;
        s.idempotency.insert(key, record.clone());
        s.written()
    }

    async fn delete_idempotency_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        expected: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let k = (operation.as_str().to_owned(), key.as_str().to_owned());
        check_revision(s.idempotency.get(&k).map(|r| r.revision), expected)?;
        s.idempotency.remove(&k);
        s.written()
    }

    async fn put_connection(&self, connection: &PushConnection) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let id = connection.connection_id.as_str().to_owned();
        if let Some(unindexed) = s.unindexed.as_mut() {
            unindexed.insert(id.clone());
        }
        s.connections.insert(id, connection.clone());
        s.written()
    }

    async fn delete_connection(&self, connection_id: &ConnectionId) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        s.connections.remove(connection_id.as_str());
        Ok(())
    }

    async fn connection(&self, connection_id: &ConnectionId) -> Result<Option<PushConnection>, StoreError> {
        Ok(self.enter()?.connections.get(connection_id.as_str()).cloned())
    }

    async fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Vec<PushConnection>, StoreError> {
        let s = self.enter()?;
        Ok(s.connections
            .values()
            .filter(|c| &c.payment_id == payment_id)
            .filter(|c| {
                s.unindexed
                    .as_ref()
                    .is_none_or(|u| !u.contains(c.connection_id.as_str()))
            })
            .cloned()
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------------------
// Glase
// ---------------------------------------------------------------------------------------------------------

/// One call the fake Glase received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlaseCall {
    /// sendInvoice.
    SendInvoice {
        terminal: GlaseTerminal,
        total_minor: i64,
        notification_url: String,
    },
    /// getPaymentStatus.
    PaymentStatus {
        invoice_reference: InvoiceReference,
        last_seen: StatusVersion,
    },
    /// cancelInvoice.
    CancelInvoice { invoice_reference: InvoiceReference },
    /// updateInvoice.
    UpdateInvoice {
        invoice_reference: InvoiceReference,
        total_minor: i64,
        notification_url: String,
    },
    /// refundPayment.
    RefundPayment {
        payment_reference: ErsReference,
        amount_minor: i64,
    },
    /// registerTerminal.
    RegisterTerminal { terminal_id: TerminalId },
    /// unregisterTerminal.
    UnregisterTerminal,
    /// assignSeqrId.
    AssignSeqrId { seqr_id: SeqrId },
    /// submitPaymentReceipt.
    SubmitReceipt { ers_reference: ErsReference },
    /// markTransactionPeriod.
    MarkPeriod,
    /// executeReport.
    ExecuteReport { report_id: String },
}

#[derive(Default)]
struct GlaseState {
    calls: Vec<GlaseCall>,
    invoices: BTreeMap<String, (GlaseInvoiceStatus, u32, Option<String>)>,
    /// The last invoice of each POS terminal (Glase cancels it when the terminal sends a new one).
    last_on_terminal: BTreeMap<String, String>,
    next_reference: u64,
    failures: VecDeque<(&'static str, GlaseError)>,
    reports: BTreeMap<String, (String, Vec<ReportRow>)>,
    /// How far each call moves the manual clock (a slow Glase, as the use cases' clock sees it).
    clock_latency: Duration,
    /// How much further each call of an operation moves it.
    clock_latency_of: BTreeMap<&'static str, Duration>,
    /// The bound each call was made with ([`GlaseGateway::bounded`]), in call order.
    bounds: Vec<(&'static str, Option<Timestamp>)>,
    /// getPaymentStatus calls under way, and the most that ever were at once.
    status_in_flight: usize,
    status_max_in_flight: usize,
    /// How long each operation takes to answer (none when absent).
    latency: BTreeMap<&'static str, Duration>,
}

/// A future that is pending once (waking itself) and then ready: a call that takes "a moment", so that
/// a caller running calls concurrently has several under way at once.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// A scripted Glase: invoices it issued move when the test says so (`pay`, `cancel`), and any call can be
/// made to fail once with [`FakeGlase::fail_next`]. Every call is recorded.
#[derive(Clone, Default)]
pub struct FakeGlase {
    state: Arc<Mutex<GlaseState>>,
    clock: ManualClock,
    /// When this handle's calls must have answered ([`GlaseGateway::bounded`]).
    until: Option<Timestamp>,
}

/// How a call of the fake went: `late` when its answer came after the caller's bound, so the caller
/// never saw it (Glase took the call all the same).
#[derive(Clone, Copy)]
struct Answer {
    late: bool,
}

impl Answer {
    fn deliver<T>(self, value: Result<T, GlaseError>) -> Result<T, GlaseError> {
        if self.late {
            Err(GlaseError::OutcomeUnknown {
                reason: "the answer did not come within the call's bound".to_owned(),
            })
        } else {
            value
        }
    }
}

impl std::fmt::Debug for FakeGlase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeGlase")
    }
}

impl FakeGlase {
    /// A fake stamping observations with `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Self {
            state: Arc::default(),
            clock,
            until: None,
        }
    }

    /// The bound of every call so far, by operation, in call order (`None`: unbounded).
    pub fn call_bounds(&self) -> Vec<(&'static str, Option<Timestamp>)> {
        lock(&self.state).bounds.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<GlaseCall> {
        lock(&self.state).calls.clone()
    }

    /// The most getPaymentStatus calls that were under way at the same time (each call takes one
    /// scheduling turn).
    pub fn max_status_calls_in_flight(&self) -> usize {
        lock(&self.state).status_max_in_flight
    }

    /// How many calls were made.
    pub fn call_count(&self) -> usize {
        lock(&self.state).calls.len()
    }

    /// Makes every later call take `latency` on the manual clock: each call moves it on by that much.
    pub fn set_clock_latency(&self, latency: Duration) {
        lock(&self.state).clock_latency = latency;
    }

    /// Makes every later call of `operation` take `latency` more on the manual clock.
    pub fn set_clock_latency_of(&self, operation: &'static str, latency: Duration) {
        lock(&self.state).clock_latency_of.insert(operation, latency);
    }

    /// Makes the next call of `operation` (e.g. `"sendInvoice"`) fail with `error`.
    pub fn fail_next(&self, operation: &'static str, error: GlaseError) {
        lock(&self.state).failures.push_back((operation, error));
    }

    /// Makes every later call of `operation` take `by` (on tokio's clock, so a paused test runtime
    /// skips it) before it answers; the call is recorded when it starts.
    pub fn set_latency(&self, operation: &'static str, by: Duration) {
        lock(&self.state).latency.insert(operation, by);
    }

    /// The shopper pays the invoice.
    pub fn pay(&self, reference: &InvoiceReference) {
        let mut s = lock(&self.state);
        let n = s.next_reference;
        if let Some(inv) = s.invoices.get_mut(reference.as_str()) {
            inv.0 = GlaseInvoiceStatus::Paid;
            inv.1 += 1;
            inv.2 = Some(format!("2026112200000000000{n:06}"));
        }
    }

    /// Sets an invoice's status (cancel, fail, expire…), adding one to its version.
    pub fn set_status(&self, reference: &InvoiceReference, status: GlaseInvoiceStatus) {
        let mut s = lock(&self.state);
        if let Some(inv) = s.invoices.get_mut(reference.as_str()) {
            inv.0 = status;
            inv.1 += 1;
        }
    }

    /// What executeReport answers for `report_id`: the document text and the transactions the real
    /// gateway would read from it. A report never set answers `REPORT_NOT_READY`.
    pub fn set_report(&self, report_id: &str, content: &str, transactions: Vec<ReportTransaction>) {
        let rows = transactions
            .into_iter()
            .map(|t| ReportRow::try_from(t).expect("a report row within range"))
            .collect();
        self.set_report_rows(report_id, content, rows);
    }

    /// Like [`FakeGlase::set_report`], with rows as the gateway reads them (a row may name no currency).
    pub fn set_report_rows(&self, report_id: &str, content: &str, rows: Vec<ReportRow>) {
        lock(&self.state)
            .reports
            .insert(report_id.to_owned(), (content.to_owned(), rows));
    }

    /// Records a call, waits its latency, and answers the failure queued for it, if any. A bounded
    /// call is not sent once its bound has passed ([`GlaseError::Unavailable`], nothing recorded); one
    /// whose manual-clock latency runs past its bound moves the clock to the bound only (the caller
    /// stops waiting there) and its answer is late: Glase still does what it was asked.
    async fn call(&self, operation: &'static str, call: GlaseCall) -> Result<Answer, GlaseError> {
        if let Some(until) = self.until
            && self.clock.now() >= until
        {
            return Err(GlaseError::Unavailable {
                reason: "the call's bound passed before it was sent".to_owned(),
            });
        }
        let latency = lock(&self.state).latency.get(operation).copied();
        let outcome = self.begin(operation, call);
        if let Some(by) = latency {
            tokio::time::sleep(by).await;
        }
        outcome
    }

    fn begin(&self, operation: &'static str, call: GlaseCall) -> Result<Answer, GlaseError> {
        let mut s = lock(&self.state);
        s.calls.push(call);
        s.bounds.push((operation, self.until));
        let latency = s
            .clock_latency
            .saturating_add(s.clock_latency_of.get(operation).copied().unwrap_or_default());
        let now = self.clock.now();
        let late = self.until.is_some_and(|until| now.plus(latency) > until);
        match self.until {
            Some(until) if late => self.clock.advance(until.since(now)),
            _ => self.clock.advance(latency),
        }
        if let Some(pos) = s.failures.iter().position(|(op, _)| *op == operation)
            && let Some((_, e)) = s.failures.remove(pos)
        {
            return Answer { late }.deliver(Err(e));
        }
        Ok(Answer { late })
    }
}

fn rejected(code: i32, description: &str) -> GlaseError {
    GlaseError::Rejected {
        code,
        description: description.to_owned(),
    }
}

impl GlaseGateway for FakeGlase {
    fn bounded(&self, by: Timestamp) -> Self {
        Self {
            state: Arc::clone(&self.state),
            clock: self.clock.clone(),
            until: Some(self.until.map_or(by, |until| until.min(by))),
        }
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        let answer = self
            .call(
                "sendInvoice",
                GlaseCall::SendInvoice {
                    terminal: terminal.clone(),
                    total_minor: invoice.order.total().minor_units(),
                    notification_url: invoice.notification_url.expose().to_owned(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        s.next_reference += 1;
        let reference = format!("20261122{:09}", s.next_reference);
        if let GlaseTerminal::Pos { terminal_id, .. } = terminal {
            // Like Glase: a new invoice on a cash register cancels its open one.
            if let Some(previous) = s
                .last_on_terminal
                .insert(terminal_id.as_str().to_owned(), reference.clone())
                && let Some(inv) = s.invoices.get_mut(&previous)
                && inv.0 == GlaseInvoiceStatus::Issued
            {
                inv.0 = GlaseInvoiceStatus::Canceled;
                inv.1 += 1;
            }
        }
        s.invoices
            .insert(reference.clone(), (GlaseInvoiceStatus::Issued, 0, None));
        answer.deliver(InvoiceReference::parse(&reference).map_err(|_| rejected(90, "SYSTEM_ERROR")))
    }

    async fn payment_status(
        &self,
        _terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        let answer = self
            .call(
                "getPaymentStatus",
                GlaseCall::PaymentStatus {
                    invoice_reference: invoice_reference.clone(),
                    last_seen,
                },
            )
            .await?;
        {
            let mut s = lock(&self.state);
            s.status_in_flight += 1;
            s.status_max_in_flight = s.status_max_in_flight.max(s.status_in_flight);
        }
        YieldOnce(false).await;
        let mut s = lock(&self.state);
        s.status_in_flight -= 1;
        let found = s
            .invoices
            .get(invoice_reference.as_str())
            .cloned()
            .ok_or_else(|| rejected(54, "INVALID_INVOICE_REFERENCE"));
        answer.deliver(found.map(|(status, version, ers)| Observation {
            status,
            version: StatusVersion::new(version),
            ers_reference: ers.and_then(|e| ErsReference::parse(&e).ok()),
            paid_at: None,
            observed_at: self.clock.now(),
        }))
    }

    async fn cancel_invoice(
        &self,
        _terminal: &GlaseTerminal,
        reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        let answer = self
            .call(
                "cancelInvoice",
                GlaseCall::CancelInvoice {
                    invoice_reference: reference.clone(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        let Some(inv) = s.invoices.get_mut(reference.as_str()) else {
            return answer.deliver(Err(rejected(54, "INVALID_INVOICE_REFERENCE")));
        };
        answer.deliver(match inv.0 {
            GlaseInvoiceStatus::Paid => Err(rejected(50, "CANNOT_CANCEL_PAID_INVOICE")),
            GlaseInvoiceStatus::Canceled => Err(rejected(95, "INVOICE_ALREADY_CANCELED")),
            // The shopper has opened the invoice and is paying.
            GlaseInvoiceStatus::PendingIssuerAcknowledge => {
                Err(rejected(51, "CANNOT_CANCEL_INVOICE_IN_PROGRESS"))
            }
            _ => {
                inv.0 = GlaseInvoiceStatus::Canceled;
                inv.1 += 1;
                Ok(())
            }
        })
    }

    async fn update_invoice(
        &self,
        _terminal: &GlaseTerminal,
        reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        let answer = self
            .call(
                "updateInvoice",
                GlaseCall::UpdateInvoice {
                    invoice_reference: reference.clone(),
                    total_minor: invoice.order.total().minor_units(),
                    notification_url: invoice.notification_url.expose().to_owned(),
                },
            )
            .await?;
        answer.deliver(Ok(()))
    }

    async fn refund_payment(
        &self,
        _terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> Result<ErsReference, GlaseError> {
        let answer = self
            .call(
                "refundPayment",
                GlaseCall::RefundPayment {
                    payment_reference: payment_reference.clone(),
                    amount_minor: refund.amount.minor_units(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        s.next_reference += 1;
        answer.deliver(
            ErsReference::parse(&format!("2026112299999999999{:06}", s.next_reference))
                .map_err(|_| rejected(90, "SYSTEM_ERROR")),
        )
    }

    async fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        _external_id: &ExternalTerminalId,
        _name: &DisplayName,
    ) -> Result<GlaseTerminalId, GlaseError> {
        let answer = self
            .call(
                "registerTerminal",
                GlaseCall::RegisterTerminal {
                    terminal_id: terminal_id.clone(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        s.next_reference += 1;
        answer.deliver(
            GlaseTerminalId::parse(&format!("glase{:027}", s.next_reference))
                .map_err(|_| rejected(90, "SYSTEM_ERROR")),
        )
    }

    async fn unregister_terminal(&self, _terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        let answer = self
            .call("unregisterTerminal", GlaseCall::UnregisterTerminal)
            .await?;
        answer.deliver(Ok(()))
    }

    async fn assign_seqr_id(&self, _terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        let answer = self
            .call(
                "assignSeqrId",
                GlaseCall::AssignSeqrId {
                    seqr_id: seqr_id.clone(),
                },
            )
            .await?;
        answer.deliver(Ok(()))
    }

    async fn submit_receipt(
        &self,
        _terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        _receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        let answer = self
            .call(
                "submitPaymentReceipt",
                GlaseCall::SubmitReceipt {
                    ers_reference: ers_reference.clone(),
                },
            )
            .await?;
        answer.deliver(Ok(()))
    }

    async fn mark_period(&self, _scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        let answer = self.call("markTransactionPeriod", GlaseCall::MarkPeriod).await?;
        let mut s = lock(&self.state);
        s.next_reference += 1;
        answer.deliver(
            TransactionPeriodId::parse(&format!("2026112288888888888{:06}", s.next_reference))
                .map_err(|_| rejected(90, "SYSTEM_ERROR")),
        )
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        let answer = self
            .call(
                "executeReport",
                GlaseCall::ExecuteReport {
                    report_id: request.report_id.clone(),
                },
            )
            .await?;
        let s = lock(&self.state);
        let Some((content, transactions)) = s.reports.get(&request.report_id).cloned() else {
            return answer.deliver(Err(rejected(2, "REPORT_NOT_READY")));
        };
        answer.deliver(Ok(FetchedReport {
            document: ReportDocument {
                report_id: request.report_id.clone(),
                title: String::new(),
                mime_type: "text/html".to_owned(),
                content,
            },
            transactions,
        }))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Queue, push, clock, ids
// ---------------------------------------------------------------------------------------------------------

/// A queue that records what was sent; can be made to fail.
#[derive(Clone, Default, Debug)]
pub struct RecordingQueue {
    sent: Arc<Mutex<Vec<RefundMessage>>>,
    failing: Arc<Mutex<bool>>,
}

impl RecordingQueue {
    /// The messages sent so far.
    pub fn sent(&self) -> Vec<RefundMessage> {
        lock(&self.sent).clone()
    }

    /// Makes every send fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }
}

impl RefundQueue for RecordingQueue {
    async fn enqueue(&self, message: &RefundMessage) -> Result<(), QueueError> {
        if *lock(&self.failing) {
            return Err(QueueError::Unavailable {
                reason: "the test queue is down".into(),
            });
        }
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

/// A push port that records what was pushed; connections named `gone…` answer `Gone`.
#[derive(Clone, Default, Debug)]
pub struct RecordingPush {
    pushed: Arc<Mutex<Vec<(ConnectionId, StatusUpdate)>>>,
}

impl RecordingPush {
    /// Everything pushed so far.
    pub fn pushed(&self) -> Vec<(ConnectionId, StatusUpdate)> {
        lock(&self.pushed).clone()
    }
}

impl StatusPush for RecordingPush {
    async fn push(&self, connection: &ConnectionId, update: &StatusUpdate) -> Result<(), PushError> {
        if connection.as_str().starts_with("gone") {
            return Err(PushError::Gone);
        }
        lock(&self.pushed).push((connection.clone(), update.clone()));
        Ok(())
    }
}

/// A clock set by hand. Clones share the time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl Default for ManualClock {
    fn default() -> Self {
        // 2026-11-22T09:00:00Z.
        ManualClock(Arc::new(AtomicU64::new(1_795_338_000_000)))
    }
}

impl ManualClock {
    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(i64::try_from(self.0.load(Ordering::SeqCst)).unwrap_or(i64::MAX))
    }
}

/// Ids from a counter: deterministic and distinct.
#[derive(Clone, Default, Debug)]
pub struct SequentialIds(Arc<AtomicU64>);

impl IdGenerator for SequentialIds {
    fn random_128(&self) -> [u8; 16] {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        bytes[0] = 0xa5;
        bytes
    }

    fn client_secret_key(&self) -> Option<&ClientSecretKey> {
        Some(test_client_secret_key())
    }
}

/// The client secret key of the fakes: fixed, so tests can derive the secret of any payment id.
pub fn test_client_secret_key() -> &'static ClientSecretKey {
    static KEY: std::sync::OnceLock<ClientSecretKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        ClientSecretKey::parse("the fakes' client secret key, 32+ bytes").expect("a long enough key")
    })
}

/// The use cases over the in-memory fakes, with sequential ids.
pub type FakeDeps = crate::usecases::Deps<
    InMemoryStore,
    FakeGlase,
    RecordingQueue,
    RecordingPush,
    ManualClock,
    SequentialIds,
>;

/// Use cases over fresh fakes that share one manual clock, with sequential ids and `settings`.
pub fn fake_deps(settings: crate::usecases::UseCaseSettings) -> FakeDeps {
    fake_deps_with(SequentialIds::default(), settings)
}

/// Like [`fake_deps`], with the id generator `ids`.
pub fn fake_deps_with<I: IdGenerator>(
    ids: I,
    settings: crate::usecases::UseCaseSettings,
) -> crate::usecases::Deps<InMemoryStore, FakeGlase, RecordingQueue, RecordingPush, ManualClock, I> {
    let clock = ManualClock::default();
    crate::usecases::Deps {
        store: InMemoryStore::new(),
        glase: FakeGlase::new(clock.clone()),
        queue: RecordingQueue::default(),
        push: RecordingPush::default(),
        clock,
        ids,
        settings,
    }
}
