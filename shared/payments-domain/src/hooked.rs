//! The one decorator of each port: [`Hooked`] passes every [`PaymentStore`] and [`GlaseGateway`] call
//! through to the wrapped implementation, and first asks its hook ([`StoreHook`], [`GlaseHook`]), which
//! may refuse the call. A refused call never reaches the wrapped implementation. Counting
//! ([`crate::counting`]) and fault injection ([`crate::faults`]) are hooks.

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

/// What a store request is, as far as a fault may depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreCallKind {
    /// A read or a query; writes nothing.
    Read,
    /// An insert of a fresh id (payment, terminal, period): it cannot lose a race.
    Insert,
    /// An idempotency record inserted, replaced or deleted: only taken over by another request after its
    /// lease expired, so it does not lose a race either.
    Idempotency,
    /// An update or a transaction over an expected revision, which a concurrent writer can move
    /// (`update_*`, `settle_refund`, `create_refund`, `insert_payment_on_terminal`).
    Conditional,
    /// An unconditional write (a push connection stored or forgotten).
    Unconditional,
}

/// A store request as its hook sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreCall {
    /// The [`PaymentStore`] method's name.
    pub operation: &'static str,
    /// What kind of request it is.
    pub kind: StoreCallKind,
}

/// Asked before each store request is passed on.
pub trait StoreHook: Send + Sync {
    /// `Ok` passes the request on; an error is its answer, and the wrapped store never sees it.
    fn before(&self, call: StoreCall) -> Result<(), StoreError>;
}

/// A Glase call as its hook sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlaseCall {
    /// The [`GlaseGateway`] method's name.
    pub operation: &'static str,
}

/// Asked before each Glase call is passed on. A gateway [bounded](GlaseGateway::bounded) keeps a clone
/// of the hook, so a hook's clones should share what it records.
pub trait GlaseHook: Send + Sync {
    /// `Ok` passes the call on; an error is its answer, and the wrapped gateway never sees it.
    fn before(&self, call: GlaseCall) -> Result<(), GlaseError>;
}

/// A port implementation and the hook asked before each of its calls.
#[derive(Clone, Debug, Default)]
pub struct Hooked<T, H> {
    inner: T,
    hook: H,
}

impl<T, H> Hooked<T, H> {
    /// Wraps `inner`, asking `hook` before each call.
    pub fn with_hook(inner: T, hook: H) -> Self {
        Hooked { inner, hook }
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    fn store(&self, operation: &'static str, kind: StoreCallKind) -> Result<(), StoreError>
    where
        H: StoreHook,
    {
        self.hook.before(StoreCall { operation, kind })
    }

    fn glase(&self, operation: &'static str) -> Result<(), GlaseError>
    where
        H: GlaseHook,
    {
        self.hook.before(GlaseCall { operation })
    }
}

use StoreCallKind::{Conditional, Idempotency, Insert, Read, Unconditional};

impl<S: PaymentStore, H: StoreHook> PaymentStore for Hooked<S, H> {
    async fn insert_payment(&self, payment: &Payment) -> Result<(), StoreError> {
        self.store("insert_payment", Insert)?;
        self.inner.insert_payment(payment).await
    }

    async fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> Result<(), StoreError> {
        self.store("insert_payment_on_terminal", Conditional)?;
        self.inner
            .insert_payment_on_terminal(payment, terminal, expected_terminal)
            .await
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        self.store("get_payment", Read)?;
        self.inner.get_payment(id).await
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        self.store("update_payment", Conditional)?;
        self.inner.update_payment(payment, expected).await
    }

    async fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.store("pending_payments_due", Read)?;
        self.inner.pending_payments_due(checked_before, limit).await
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.store("pending_payments_expired", Read)?;
        self.inner.pending_payments_expired(now, limit).await
    }

    async fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.store("payments_with_receipt_due", Read)?;
        self.inner.payments_with_receipt_due(now, limit).await
    }

    async fn find_payment_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Payment>, StoreError> {
        self.store("find_payment_by_ers_reference", Read)?;
        self.inner.find_payment_by_ers_reference(ers_reference).await
    }

    async fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>, StoreError> {
        self.store("payments_paid_between", Read)?;
        self.inner.payments_paid_between(from, to).await
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        self.store("create_refund", Conditional)?;
        self.inner.create_refund(refund, payment, expected_payment).await
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        self.store("get_refund", Read)?;
        self.inner.get_refund(payment_id, refund_id).await
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        self.store("list_refunds", Read)?;
        self.inner.list_refunds(payment_id).await
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        self.store("update_refund", Conditional)?;
        self.inner.update_refund(refund, expected).await
    }

    async fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        self.store("settle_refund", Conditional)?;
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
        self.store("refunds_in_status", Read)?;
        self.inner.refunds_in_status(status, updated_before, limit).await
    }

    async fn find_refund_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Refund>, StoreError> {
        self.store("find_refund_by_ers_reference", Read)?;
        self.inner.find_refund_by_ers_reference(ers_reference).await
    }

    async fn insert_terminal(&self, terminal: &Terminal) -> Result<(), StoreError> {
        self.store("insert_terminal", Insert)?;
        self.inner.insert_terminal(terminal).await
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        self.store("get_terminal", Read)?;
        self.inner.get_terminal(id).await
    }

    async fn find_terminal_by_external_id(
        &self,
        external_id: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        self.store("find_terminal_by_external_id", Read)?;
        self.inner.find_terminal_by_external_id(external_id).await
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        self.store("list_terminals", Read)?;
        self.inner.list_terminals().await
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        self.store("update_terminal", Conditional)?;
        self.inner.update_terminal(terminal, expected).await
    }

    async fn insert_period(&self, period: &ReportingPeriod) -> Result<(), StoreError> {
        self.store("insert_period", Insert)?;
        self.inner.insert_period(period).await
    }

    async fn get_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, StoreError> {
        self.store("get_period", Read)?;
        self.inner.get_period(id).await
    }

    async fn latest_period_before(
        &self,
        scope: &PeriodScope,
        before: Timestamp,
    ) -> Result<Option<ReportingPeriod>, StoreError> {
        self.store("latest_period_before", Read)?;
        self.inner.latest_period_before(scope, before).await
    }

    async fn update_period(&self, period: &ReportingPeriod, expected: Revision) -> Result<(), StoreError> {
        self.store("update_period", Conditional)?;
        self.inner.update_period(period, expected).await
    }

    async fn insert_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, StoreError> {
        self.store("insert_idempotency_record", Idempotency)?;
        self.inner.insert_idempotency_record(record).await
    }

    async fn replace_idempotency_record(
        &self,
        record: &IdempotencyRecord,
        expected: Revision,
    ) -> Result<(), StoreError> {
        self.store("replace_idempotency_record", Idempotency)?;
        self.inner.replace_idempotency_record(record, expected).await
    }

    async fn delete_idempotency_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        expected: Revision,
    ) -> Result<(), StoreError> {
        self.store("delete_idempotency_record", Idempotency)?;
        self.inner
            .delete_idempotency_record(operation, key, expected)
            .await
    }

    async fn put_connection(&self, connection: &PushConnection) -> Result<(), StoreError> {
        self.store("put_connection", Unconditional)?;
        self.inner.put_connection(connection).await
    }

    async fn delete_connection(&self, connection_id: &ConnectionId) -> Result<(), StoreError> {
        self.store("delete_connection", Unconditional)?;
        self.inner.delete_connection(connection_id).await
    }

    async fn connection(&self, connection_id: &ConnectionId) -> Result<Option<PushConnection>, StoreError> {
        self.store("connection", Read)?;
        self.inner.connection(connection_id).await
    }

    async fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Vec<PushConnection>, StoreError> {
        self.store("connections_for_payment", Read)?;
        self.inner.connections_for_payment(payment_id).await
    }
}

impl<G: GlaseGateway, H: GlaseHook + Clone> GlaseGateway for Hooked<G, H> {
    /// The inner gateway bounded, asking a clone of the same hook.
    fn bounded(&self, by: Timestamp) -> Self {
        Hooked {
            inner: self.inner.bounded(by),
            hook: self.hook.clone(),
        }
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        self.glase("send_invoice")?;
        self.inner.send_invoice(terminal, invoice).await
    }

    async fn payment_status(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        self.glase("payment_status")?;
        self.inner
            .payment_status(terminal, invoice_reference, last_seen)
            .await
    }

    async fn cancel_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        self.glase("cancel_invoice")?;
        self.inner.cancel_invoice(terminal, invoice_reference).await
    }

    async fn update_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        self.glase("update_invoice")?;
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
        self.glase("refund_payment")?;
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
        self.glase("register_terminal")?;
        self.inner.register_terminal(terminal_id, external_id, name).await
    }

    async fn unregister_terminal(&self, terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        self.glase("unregister_terminal")?;
        self.inner.unregister_terminal(terminal).await
    }

    async fn assign_seqr_id(&self, terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        self.glase("assign_seqr_id")?;
        self.inner.assign_seqr_id(terminal, seqr_id).await
    }

    async fn submit_receipt(
        &self,
        terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        self.glase("submit_receipt")?;
        self.inner.submit_receipt(terminal, ers_reference, receipt).await
    }

    async fn mark_period(&self, scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        self.glase("mark_period")?;
        self.inner.mark_period(scope).await
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        self.glase("execute_report")?;
        self.inner.execute_report(request).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ports::Clock;
    use crate::testing::{FakeGlase, InMemoryStore, ManualClock};

    /// Records each call and refuses it while `refuse` is set.
    #[derive(Clone, Default)]
    struct Gate {
        refuse: std::sync::Arc<std::sync::atomic::AtomicBool>,
        calls: std::sync::Arc<Mutex<Vec<&'static str>>>,
    }

    impl Gate {
        fn refusing(&self, refuse: bool) {
            self.refuse.store(refuse, std::sync::atomic::Ordering::SeqCst);
        }

        fn refuses(&self, operation: &'static str) -> bool {
            self.calls.lock().unwrap().push(operation);
            self.refuse.load(std::sync::atomic::Ordering::SeqCst)
        }

        fn calls(&self) -> Vec<&'static str> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl StoreHook for Gate {
        fn before(&self, call: StoreCall) -> Result<(), StoreError> {
            if self.refuses(call.operation) {
                return Err(StoreError::Unavailable {
                    reason: format!("refused {:?}", call.kind),
                });
            }
            Ok(())
        }
    }

    impl GlaseHook for Gate {
        fn before(&self, call: GlaseCall) -> Result<(), GlaseError> {
            if self.refuses(call.operation) {
                return Err(GlaseError::Unavailable {
                    reason: "refused".into(),
                });
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_refused_store_call_never_reaches_the_inner_store() {
        let gate = Gate::default();
        let store = Hooked::with_hook(InMemoryStore::new(), gate.clone());
        let connection = PushConnection {
            connection_id: ConnectionId::parse("conn-1").unwrap(),
            payment_id: PaymentId::from_random([4; 16]),
            expires_at: Timestamp::from_unix_millis(1_700_000_000_000),
        };
        let id = &connection.connection_id;
        gate.refusing(true);
        assert_eq!(
            store.put_connection(&connection).await,
            Err(StoreError::Unavailable {
                reason: "refused Unconditional".into()
            })
        );
        assert!(store.connection(id).await.is_err());
        assert_eq!(
            store.inner().connection(id).await,
            Ok(None),
            "nothing was written"
        );

        gate.refusing(false);
        store.put_connection(&connection).await.unwrap();
        gate.refusing(true);
        assert!(store.delete_connection(id).await.is_err());
        assert_eq!(
            store.inner().connection(id).await,
            Ok(Some(connection.clone())),
            "nothing was deleted"
        );
        assert_eq!(
            gate.calls(),
            [
                "put_connection",
                "connection",
                "put_connection",
                "delete_connection"
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_glase_call_never_leaves_and_a_bounded_gateway_keeps_the_hook() {
        let gate = Gate::default();
        let clock = ManualClock::default();
        let fake = FakeGlase::new(clock.clone());
        let by = clock.now().plus(std::time::Duration::from_secs(60));
        let glase = Hooked::with_hook(fake.clone(), gate.clone()).bounded(by);
        gate.refusing(true);
        assert!(matches!(
            glase.mark_period(&PeriodScope::Shop).await,
            Err(GlaseError::Unavailable { .. })
        ));
        assert_eq!(fake.call_count(), 0);
        gate.refusing(false);
        assert!(glase.mark_period(&PeriodScope::Shop).await.is_ok());
        assert_eq!(fake.call_count(), 1);
        assert_eq!(gate.calls(), ["mark_period", "mark_period"]);
    }
}
