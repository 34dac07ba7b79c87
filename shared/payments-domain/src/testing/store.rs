//! The in-memory store: a [`PaymentStore`] with the real store's conditional semantics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::lock;
use crate::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use crate::ids::{ErsReference, PaymentId, PeriodId, RefundId, Revision, TerminalId, Timestamp};
use crate::order::ExternalTerminalId;
use crate::payment::{Payment, PaymentStatus};
use crate::period::{PeriodScope, ReportingPeriod};
use crate::ports::{ConnectionId, IdempotencyInsert, PaymentStore, PushConnection, StoreError};
use crate::refund::{Refund, RefundStatus};
use crate::terminal::Terminal;

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

    /// The items of one of the state's maps that `keep` picks out, in key order (a call like any other).
    fn select<K, V: Clone>(
        &self,
        items: fn(&StoreState) -> &BTreeMap<K, V>,
        keep: impl Fn(&V) -> bool,
    ) -> Result<Vec<V>, StoreError> {
        let s = self.enter()?;
        Ok(items(&s).values().filter(|v| keep(v)).cloned().collect())
    }

    /// The first of [`InMemoryStore::select`].
    fn find<K, V: Clone>(
        &self,
        items: fn(&StoreState) -> &BTreeMap<K, V>,
        keep: impl Fn(&V) -> bool,
    ) -> Result<Option<V>, StoreError> {
        Ok(self.select(items, keep)?.into_iter().next())
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

impl StoreState {
    fn put_payment(&mut self, payment: &Payment) {
        self.payments
            .insert(payment.id().as_str().to_owned(), payment.clone());
    }

    fn put_terminal(&mut self, terminal: &Terminal) {
        self.terminals
            .insert(terminal.id().as_str().to_owned(), terminal.clone());
    }
}

/// The key of a refund: its payment and its id.
fn refund_key(payment: &PaymentId, refund: &RefundId) -> (String, String) {
    (payment.as_str().to_owned(), refund.as_str().to_owned())
}

/// The key of an idempotency record: its operation and the client's key.
fn record_key(operation: Operation, key: &IdempotencyKey) -> (String, String) {
    (operation.as_str().to_owned(), key.as_str().to_owned())
}

/// The insert-if-absent condition: no item with the key `id` yet.
fn absent<V>(items: &BTreeMap<String, V>, id: &str) -> Result<(), StoreError> {
    if items.contains_key(id) {
        return Err(StoreError::ConditionFailed);
    }
    Ok(())
}

/// Payments by when they are due, then their id, at most `limit`: the order of a due index.
fn earliest_first(mut due: Vec<(Timestamp, Payment)>, limit: usize) -> Vec<Payment> {
    due.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.id().as_str().cmp(q.id().as_str())));
    due.into_iter().take(limit).map(|(_, p)| p).collect()
}

fn check_revision(stored: Option<Revision>, expected: Revision) -> Result<(), StoreError> {
    match stored {
        Some(r) if r == expected => Ok(()),
        _ => Err(StoreError::ConditionFailed),
    }
}

/// The real store's condition on a payment: the expected revision, and a stored status the new one may
/// replace.
fn check_payment(stored: Option<&Payment>, next: &Payment, expected: Revision) -> Result<(), StoreError> {
    check_revision(stored.map(Payment::revision), expected)?;
    match stored {
        Some(p) if PaymentStatus::replaceable_by(next.status()).contains(&p.status()) => Ok(()),
        _ => Err(StoreError::ConditionFailed),
    }
}

/// The real store's condition on a refund, as [`check_payment`]'s on a payment.
fn check_refund(stored: Option<&Refund>, next: &Refund, expected: Revision) -> Result<(), StoreError> {
    check_revision(stored.map(Refund::revision), expected)?;
    match stored {
        Some(r) if RefundStatus::replaceable_by(next.status()).contains(&r.status()) => Ok(()),
        _ => Err(StoreError::ConditionFailed),
    }
}

/// The real store's condition on a terminal: an unregistered terminal never becomes active again.
fn check_terminal(stored: Option<&Terminal>, next: &Terminal, expected: Revision) -> Result<(), StoreError> {
    check_revision(stored.map(Terminal::revision), expected)?;
    match stored {
        Some(t) if t.is_active() || !next.is_active() => Ok(()),
        _ => Err(StoreError::ConditionFailed),
    }
}

impl PaymentStore for InMemoryStore {
    async fn insert_payment(&self, payment: &Payment) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        absent(&s.payments, payment.id().as_str())?;
        s.put_payment(payment);
        s.written()
    }

    async fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        absent(&s.payments, payment.id().as_str())?;
        check_terminal(
            s.terminals.get(terminal.id().as_str()),
            terminal,
            expected_terminal,
        )?;
        s.put_payment(payment);
        s.put_terminal(terminal);
        s.written()
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.enter()?.payments.get(id.as_str()).cloned())
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        check_payment(s.payments.get(payment.id().as_str()), payment, expected)?;
        s.put_payment(payment);
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
        let due: Vec<(Timestamp, Payment)> = s
            .payments
            .values()
            .filter(|p| p.status() == PaymentStatus::Pending && due_since(p) < checked_before)
            .map(|p| (due_since(p), p.clone()))
            .collect();
        Ok(earliest_first(due, limit))
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let mut expired = self.select(
            |s| &s.payments,
            |p| p.status() == PaymentStatus::Pending && p.expires_at() <= now,
        )?;
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
        let due: Vec<(Timestamp, Payment)> = s
            .payments
            .values()
            .filter_map(|p| p.receipt().due_at().map(|at| (at, p.clone())))
            .filter(|(at, _)| *at <= now)
            .collect();
        Ok(earliest_first(due, limit))
    }

    async fn find_payment_by_ers_reference(&self, ers: &ErsReference) -> Result<Option<Payment>, StoreError> {
        self.find(|s| &s.payments, |p| p.ers_reference() == Some(ers))
    }

    async fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>, StoreError> {
        // Like the `timeline` index: in the order they were paid.
        let mut paid = self.select(
            |s| &s.payments,
            |p| p.paid_at().is_some_and(|t| from <= t && t < to),
        )?;
        paid.sort_by_key(|p| (p.paid_at(), p.id().as_str().to_owned()));
        Ok(paid)
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = refund_key(refund.payment_id(), refund.id());
        if let Some(existing) = s.refunds.get(&key) {
            // The same transaction repeated (a retry after a lost answer) succeeds without applying a
            // second time, as the real store's request token makes it; anything else is refused.
            let applied = existing == refund && s.payments.get(payment.id().as_str()) == Some(payment);
            return if applied {
                Ok(())
            } else {
                Err(StoreError::ConditionFailed)
            };
        }
        check_payment(s.payments.get(payment.id().as_str()), payment, expected_payment)?;
        s.refunds.insert(key, refund.clone());
        s.put_payment(payment);
        s.written()
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        let key = refund_key(payment_id, refund_id);
        Ok(self.enter()?.refunds.get(&key).cloned())
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let mut refunds = self.select(|s| &s.refunds, |r| r.payment_id() == payment_id)?;
        refunds.sort_by_key(Refund::created_at);
        Ok(refunds)
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        let key = refund_key(refund.payment_id(), refund.id());
        check_refund(s.refunds.get(&key), refund, expected)?;
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
        let key = refund_key(refund.payment_id(), refund.id());
        check_refund(s.refunds.get(&key), refund, expected_refund)?;
        check_payment(s.payments.get(payment.id().as_str()), payment, expected_payment)?;
        s.refunds.insert(key, refund.clone());
        s.put_payment(payment);
        s.written()
    }

    async fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let mut found = self.select(
            |s| &s.refunds,
            |r| r.status() == status && r.updated_at() < updated_before,
        )?;
        found.sort_by_key(Refund::updated_at);
        found.truncate(limit);
        Ok(found)
    }

    async fn find_refund_by_ers_reference(&self, ers: &ErsReference) -> Result<Option<Refund>, StoreError> {
        self.find(|s| &s.refunds, |r| r.ers_reference() == Some(ers))
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
        s.put_terminal(terminal);
        s.written()
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        Ok(self.enter()?.terminals.get(id.as_str()).cloned())
    }

    async fn find_terminal_by_external_id(
        &self,
        external: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        self.find(|s| &s.terminals, |t| t.external_id() == external)
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let mut all = self.select(|s| &s.terminals, |_| true)?;
        all.sort_by_key(|t| t.to_record().created_at);
        Ok(all)
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        check_terminal(s.terminals.get(terminal.id().as_str()), terminal, expected)?;
        s.put_terminal(terminal);
        s.written()
    }

    async fn insert_period(&self, period: &ReportingPeriod) -> Result<(), StoreError> {
        let mut s = self.enter()?;
        absent(&s.periods, period.id().as_str())?;
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
        let key = record_key(record.operation, &record.key);
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
        let key = record_key(record.operation, &record.key);
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
        let k = record_key(operation, key);
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
