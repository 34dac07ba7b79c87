//! Counting decorators: a [`PaymentStore`] and a [`GlaseGateway`] that pass every call through to the
//! wrapped implementation and count it by operation, so tests and benchmarks can say how many store
//! requests and Glase calls a payment costs, measured rather than estimated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use crate::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, PaymentId, PeriodId, RefundId, Revision, SeqrId,
    StatusVersion, TerminalId, Timestamp, TransactionPeriodId,
};
use crate::order::{DisplayName, ExternalTerminalId};
use crate::payment::{Observation, Payment};
use crate::period::{FetchedReport, PeriodScope, ReportingPeriod};
use crate::ports::{
    ConnectionId, GlaseError, GlaseGateway, GlaseTerminal, IdempotencyInsert, Invoice, PaymentStore,
    PushConnection, ReceiptDocument, RefundInvoice, ReportRequest, StoreError,
};
use crate::refund::{Refund, RefundStatus};
use crate::terminal::Terminal;

/// Calls by operation name (the port method's name).
pub type CallCounts = BTreeMap<&'static str, u64>;

/// Told each operation's name as its call starts, before the wrapped implementation sees it (benchmarks
/// use it to take the time a Glase call leaves).
pub type Observer = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Wraps a port implementation and counts the calls made through it. Clones share their counts.
#[derive(Clone, Default)]
pub struct Counting<T> {
    inner: T,
    counts: Arc<Mutex<CallCounts>>,
    observer: Option<Observer>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Counting<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counting")
            .field("inner", &self.inner)
            .field("counts", &self.counts())
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl<T> Counting<T> {
    /// Wraps `inner` with all counts at zero.
    pub fn new(inner: T) -> Self {
        Counting {
            inner,
            counts: Arc::default(),
            observer: None,
        }
    }

    /// Wraps `inner` as [`Counting::new`] does and tells `observer` of every call as it starts.
    pub fn observed(inner: T, observer: Observer) -> Self {
        Counting {
            observer: Some(observer),
            ..Counting::new(inner)
        }
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The calls so far, by operation.
    pub fn counts(&self) -> CallCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The calls of one operation so far.
    pub fn count(&self, operation: &str) -> u64 {
        self.counts().get(operation).copied().unwrap_or(0)
    }

    /// All calls so far.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
    }

    fn tick(&self, operation: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(operation).or_insert(0) += 1;
        }
        if let Some(observer) = &self.observer {
            observer(operation);
        }
    }
}

impl<T: PaymentStore> PaymentStore for Counting<T> {
    async fn insert_payment(&self, payment: &Payment) -> Result<(), StoreError> {
        self.tick("insert_payment");
        self.inner.insert_payment(payment).await
    }

    async fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> Result<(), StoreError> {
        self.tick("insert_payment_on_terminal");
        self.inner
            .insert_payment_on_terminal(payment, terminal, expected_terminal)
            .await
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        self.tick("get_payment");
        self.inner.get_payment(id).await
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        self.tick("update_payment");
        self.inner.update_payment(payment, expected).await
    }

    async fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.tick("pending_payments_due");
        self.inner.pending_payments_due(checked_before, limit).await
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.tick("pending_payments_expired");
        self.inner.pending_payments_expired(now, limit).await
    }

    async fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.tick("payments_with_receipt_due");
        self.inner.payments_with_receipt_due(now, limit).await
    }

    async fn find_payment_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Payment>, StoreError> {
        self.tick("find_payment_by_ers_reference");
        self.inner.find_payment_by_ers_reference(ers_reference).await
    }

    async fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>, StoreError> {
        self.tick("payments_paid_between");
        self.inner.payments_paid_between(from, to).await
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        self.tick("create_refund");
        self.inner.create_refund(refund, payment, expected_payment).await
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        self.tick("get_refund");
        self.inner.get_refund(payment_id, refund_id).await
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        self.tick("list_refunds");
        self.inner.list_refunds(payment_id).await
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        self.tick("update_refund");
        self.inner.update_refund(refund, expected).await
    }

    async fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        self.tick("settle_refund");
        self.inner
            .settle_refund(refund, expected_refund, payment, expected_payment)
            .await
    }

    async fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        self.tick("refunds_in_status");
        self.inner.refunds_in_status(status, updated_before, limit).await
    }

    async fn find_refund_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Refund>, StoreError> {
        self.tick("find_refund_by_ers_reference");
        self.inner.find_refund_by_ers_reference(ers_reference).await
    }

    async fn insert_terminal(&self, terminal: &Terminal) -> Result<(), StoreError> {
        self.tick("insert_terminal");
        self.inner.insert_terminal(terminal).await
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        self.tick("get_terminal");
        self.inner.get_terminal(id).await
    }

    async fn find_terminal_by_external_id(
        &self,
        external_id: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        self.tick("find_terminal_by_external_id");
        self.inner.find_terminal_by_external_id(external_id).await
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        self.tick("list_terminals");
        self.inner.list_terminals().await
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        self.tick("update_terminal");
        self.inner.update_terminal(terminal, expected).await
    }

    async fn insert_period(&self, period: &ReportingPeriod) -> Result<(), StoreError> {
        self.tick("insert_period");
        self.inner.insert_period(period).await
    }

    async fn get_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, StoreError> {
        self.tick("get_period");
        self.inner.get_period(id).await
    }

    async fn latest_period_before(
        &self,
        scope: &PeriodScope,
        before: Timestamp,
    ) -> Result<Option<ReportingPeriod>, StoreError> {
        self.tick("latest_period_before");
        self.inner.latest_period_before(scope, before).await
    }

    async fn update_period(&self, period: &ReportingPeriod, expected: Revision) -> Result<(), StoreError> {
        self.tick("update_period");
        self.inner.update_period(period, expected).await
    }

    async fn insert_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, StoreError> {
        self.tick("insert_idempotency_record");
        self.inner.insert_idempotency_record(record).await
    }

    async fn replace_idempotency_record(
        &self,
        record: &IdempotencyRecord,
        expected: Revision,
    ) -> Result<(), StoreError> {
        self.tick("replace_idempotency_record");
        self.inner.replace_idempotency_record(record, expected).await
    }

    async fn delete_idempotency_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        expected: Revision,
    ) -> Result<(), StoreError> {
        self.tick("delete_idempotency_record");
        self.inner
            .delete_idempotency_record(operation, key, expected)
            .await
    }

    async fn put_connection(&self, connection: &PushConnection) -> Result<(), StoreError> {
        self.tick("put_connection");
        self.inner.put_connection(connection).await
    }

    async fn delete_connection(&self, connection_id: &ConnectionId) -> Result<(), StoreError> {
        self.tick("delete_connection");
        self.inner.delete_connection(connection_id).await
    }

    async fn connection(&self, connection_id: &ConnectionId) -> Result<Option<PushConnection>, StoreError> {
        self.tick("connection");
        self.inner.connection(connection_id).await
    }

    async fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Vec<PushConnection>, StoreError> {
        self.tick("connections_for_payment");
        self.inner.connections_for_payment(payment_id).await
    }
}

impl<T: GlaseGateway> GlaseGateway for Counting<T> {
    /// The inner gateway bounded; the counts stay shared with `self`.
    fn bounded(&self, by: Timestamp) -> Self {
        Counting {
            inner: self.inner.bounded(by),
            counts: Arc::clone(&self.counts),
            observer: self.observer.clone(),
        }
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        self.tick("send_invoice");
        self.inner.send_invoice(terminal, invoice).await
    }

    async fn payment_status(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        self.tick("payment_status");
        self.inner
            .payment_status(terminal, invoice_reference, last_seen)
            .await
    }

    async fn cancel_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        self.tick("cancel_invoice");
        self.inner.cancel_invoice(terminal, invoice_reference).await
    }

    async fn update_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        self.tick("update_invoice");
        self.inner
            .update_invoice(terminal, invoice_reference, invoice)
            .await
    }

    async fn refund_payment(
        &self,
        terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> Result<ErsReference, GlaseError> {
        self.tick("refund_payment");
        self.inner
            .refund_payment(terminal, payment_reference, refund)
            .await
    }

    async fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        external_id: &ExternalTerminalId,
        name: &DisplayName,
    ) -> Result<GlaseTerminalId, GlaseError> {
        self.tick("register_terminal");
        self.inner.register_terminal(terminal_id, external_id, name).await
    }

    async fn unregister_terminal(&self, terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        self.tick("unregister_terminal");
        self.inner.unregister_terminal(terminal).await
    }

    async fn assign_seqr_id(&self, terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        self.tick("assign_seqr_id");
        self.inner.assign_seqr_id(terminal, seqr_id).await
    }

    async fn submit_receipt(
        &self,
        terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        self.tick("submit_receipt");
        self.inner.submit_receipt(terminal, ers_reference, receipt).await
    }

    async fn mark_period(&self, scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        self.tick("mark_period");
        self.inner.mark_period(scope).await
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        self.tick("execute_report");
        self.inner.execute_report(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::InMemoryStore;

    #[tokio::test]
    async fn an_observer_hears_each_call_as_it_starts_and_the_call_is_still_counted() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        let store = Counting::observed(
            InMemoryStore::new(),
            Arc::new(move |op| sink.lock().unwrap().push(op)),
        );
        let id = PaymentId::from_random([7; 16]);
        assert_eq!(store.get_payment(&id).await, Ok(None));
        assert_eq!(store.list_refunds(&id).await, Ok(Vec::new()));
        assert_eq!(*heard.lock().unwrap(), vec!["get_payment", "list_refunds"]);
        assert_eq!(store.count("get_payment"), 1);
        assert_eq!(store.total(), 2);
        assert!(format!("{store:?}").contains("observed: true"));
    }
}
