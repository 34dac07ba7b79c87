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
    PushConnection, ReceiptDocument, RefundInvoice, ReportRequest, StoreError, with_glase_calls,
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

/// Writes each listed store call as: ask the hook with the call's name and kind, then pass it on.
macro_rules! hooked_store_calls {
    ($($kind:ident fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $answer:ty;)*) => {$(
        async fn $name(&self, $($arg: $ty),*) -> Result<$answer, StoreError> {
            self.store(stringify!($name), $kind)?;
            self.inner.$name($($arg),*).await
        }
    )*};
}

/// Writes each Glase call ([`with_glase_calls`]) as: ask the hook with the call's name, then pass it on.
macro_rules! hooked_glase_calls {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $answer:ty;)*) => {$(
        async fn $name(&self, $($arg: $ty),*) -> Result<$answer, GlaseError> {
            self.glase(stringify!($name))?;
            self.inner.$name($($arg),*).await
        }
    )*};
}

impl<S: PaymentStore, H: StoreHook> PaymentStore for Hooked<S, H> {
    hooked_store_calls! {
        Insert fn insert_payment(payment: &Payment) -> ();
        Conditional fn insert_payment_on_terminal(
            payment: &Payment, terminal: &Terminal, expected_terminal: Revision,
        ) -> ();
        Read fn get_payment(id: &PaymentId) -> Option<Payment>;
        Conditional fn update_payment(payment: &Payment, expected: Revision) -> ();
        Read fn pending_payments_due(checked_before: Timestamp, limit: usize) -> Vec<Payment>;
        Read fn pending_payments_expired(now: Timestamp, limit: usize) -> Vec<Payment>;
        Read fn payments_with_receipt_due(now: Timestamp, limit: usize) -> Vec<Payment>;
        Read fn find_payment_by_ers_reference(ers_reference: &ErsReference) -> Option<Payment>;
        Read fn payments_paid_between(from: Timestamp, to: Timestamp) -> Vec<Payment>;
        Conditional fn create_refund(refund: &Refund, payment: &Payment, expected_payment: Revision) -> ();
        Read fn get_refund(payment_id: &PaymentId, refund_id: &RefundId) -> Option<Refund>;
        Read fn list_refunds(payment_id: &PaymentId) -> Vec<Refund>;
        Conditional fn update_refund(refund: &Refund, expected: Revision) -> ();
        Conditional fn settle_refund(
            refund: &Refund, expected_refund: Revision, payment: &Payment, expected_payment: Revision,
        ) -> ();
        Read fn refunds_in_status(
            status: RefundStatus, updated_before: Timestamp, limit: usize,
        ) -> Vec<Refund>;
        Read fn find_refund_by_ers_reference(ers_reference: &ErsReference) -> Option<Refund>;
        Insert fn insert_terminal(terminal: &Terminal) -> ();
        Read fn get_terminal(id: &TerminalId) -> Option<Terminal>;
        Read fn find_terminal_by_external_id(external_id: &ExternalTerminalId) -> Option<Terminal>;
        Read fn list_terminals() -> Vec<Terminal>;
        Conditional fn update_terminal(terminal: &Terminal, expected: Revision) -> ();
        Insert fn insert_period(period: &ReportingPeriod) -> ();
        Read fn get_period(id: &PeriodId) -> Option<ReportingPeriod>;
        Read fn latest_period_before(scope: &PeriodScope, before: Timestamp) -> Option<ReportingPeriod>;
        Conditional fn update_period(period: &ReportingPeriod, expected: Revision) -> ();
        Idempotency fn insert_idempotency_record(record: &IdempotencyRecord) -> IdempotencyInsert;
        Idempotency fn replace_idempotency_record(record: &IdempotencyRecord, expected: Revision) -> ();
        Idempotency fn delete_idempotency_record(
            operation: Operation, key: &IdempotencyKey, expected: Revision,
        ) -> ();
        Unconditional fn put_connection(connection: &PushConnection) -> ();
        Unconditional fn delete_connection(connection_id: &ConnectionId) -> ();
        Read fn connection(connection_id: &ConnectionId) -> Option<PushConnection>;
        Read fn connections_for_payment(payment_id: &PaymentId) -> Vec<PushConnection>;
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

    with_glase_calls!(hooked_glase_calls);
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
