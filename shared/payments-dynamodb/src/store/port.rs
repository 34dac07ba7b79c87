//! The [`PaymentStore`] methods of [`DynamoStore`], entity by entity: payments, refunds, terminals,
//! reporting periods, idempotency records and push connections.
//!
//! Index queries may lag the items' last writes, so what an index answers is read from the item (or
//! checked again against it) before it is returned.

use std::time::{SystemTime, UNIX_EPOCH};

use payments_domain::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use payments_domain::ids::{ErsReference, PaymentId, PeriodId, RefundId, Revision, TerminalId, Timestamp};
use payments_domain::order::ExternalTerminalId;
use payments_domain::payment::{Payment, PaymentStatus};
use payments_domain::period::{PeriodScope, ReportingPeriod};
use payments_domain::ports::{ConnectionId, IdempotencyInsert, PaymentStore, PushConnection, StoreError};
use payments_domain::refund::{Refund, RefundStatus};
use payments_domain::terminal::Terminal;

use super::DynamoStore;
use super::conditions::Condition;
use super::query::{QuerySpec, SortKey};
use super::write::key_map;
use crate::attrs as a;
use crate::item::Reader;
use crate::keys;
use crate::mapping;
use crate::table;

impl PaymentStore for DynamoStore {
    async fn insert_payment(&self, payment: &Payment) -> Result<(), StoreError> {
        Ok(self
            .put_item(mapping::payment_item(payment), &Condition::absent())
            .await?)
    }

    async fn insert_payment_on_terminal(
        &self,
        payment: &Payment,
        terminal: &Terminal,
        expected_terminal: Revision,
    ) -> Result<(), StoreError> {
        let terminal_moves = Condition::terminal_update(terminal, expected_terminal);
        let writes = vec![
            self.put(mapping::payment_item(payment), Some(&Condition::absent()))?,
            self.put(mapping::terminal_item(terminal), Some(&terminal_moves))?,
        ];
        let ids = [payment.id().as_str(), terminal.id().as_str()];
        Ok(self
            .transact("payment_on_terminal", &ids, &[expected_terminal], writes)
            .await?)
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.get_as(keys::payment(id), mapping::payment_from).await?)
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::payment_update(payment, expected);
        Ok(self.put_item(mapping::payment_item(payment), &condition).await?)
    }

    async fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let due = SortKey::Below(keys::sortable(checked_before));
        let spec = QuerySpec::index(table::CHECK_DUE, keys::PENDING.to_owned(), due).limit(limit);
        Ok(self
            .query_where(spec, mapping::payment_from, |p| {
                p.status() == PaymentStatus::Pending
            })
            .await?)
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let expired = SortKey::Below(keys::sortable(now.plus(std::time::Duration::from_millis(1))));
        let spec = QuerySpec::index(table::EXPIRY, keys::PENDING.to_owned(), expired).limit(limit);
        Ok(self
            .query_where(spec, mapping::payment_from, |p| {
                p.status() == PaymentStatus::Pending && p.expires_at() <= now
            })
            .await?)
    }

    async fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let due = SortKey::Below(keys::sortable(now.plus(std::time::Duration::from_millis(1))));
        let spec = QuerySpec::index(table::CHECK_DUE, keys::RECEIPT_DUE.to_owned(), due).limit(limit);
        // The index may lag a write that just sent a receipt; the sweep's conditional write settles it.
        Ok(self
            .query_where(spec, mapping::payment_from, |p| {
                p.receipt().due_at().is_some_and(|at| at <= now)
            })
            .await?)
    }

    async fn find_payment_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Payment>, StoreError> {
        let Some(found) = self
            .lookup_one(keys::ers(ers_reference), keys::ers_payment())
            .await?
        else {
            return Ok(None);
        };
        // The index entry names the payment; the answer is the strongly consistent item.
        let id = Reader::new(keys::item_type::PAYMENT, &found).parsed(a::PAYMENT_ID, PaymentId::parse)?;
        Ok(self.get_as(keys::payment(&id), mapping::payment_from).await?)
    }

    async fn payments_paid_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        // BETWEEN is inclusive, but every entry is `<time>#<id>`, which sorts after the bare `to` bound.
        let between = SortKey::Between(keys::sortable(from), keys::sortable(to));
        let spec = QuerySpec::index(table::TIMELINE, keys::PAID.to_owned(), between);
        Ok(self
            .query_where(spec, mapping::payment_from, |p| {
                p.paid_at().is_some_and(|at| from <= at && at < to)
            })
            .await?)
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        // The refund reserves its amount in the payment's ledger.
        let ledger_moves = Condition::payment_update(payment, expected_payment);
        let writes = vec![
            self.put(mapping::refund_item(refund), Some(&Condition::absent()))?,
            self.put(mapping::payment_item(payment), Some(&ledger_moves))?,
        ];
        let ids = [payment.id().as_str(), refund.id().as_str()];
        Ok(self
            .transact("create_refund", &ids, &[expected_payment], writes)
            .await?)
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        Ok(self
            .get_as(keys::refund(payment_id, refund_id), mapping::refund_from)
            .await?)
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let refunds = SortKey::BeginsWith(keys::refund_prefix());
        let spec = QuerySpec::table(keys::payment_partition(payment_id), refunds);
        let mut refunds = self.query_as(spec, mapping::refund_from).await?;
        refunds.sort_by(|x, y| (x.created_at(), x.id()).cmp(&(y.created_at(), y.id())));
        Ok(refunds)
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::refund_update(refund, expected);
        Ok(self.put_item(mapping::refund_item(refund), &condition).await?)
    }

    async fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let (refund_moves, ledger_moves) = (
            Condition::refund_update(refund, expected_refund),
            Condition::payment_update(payment, expected_payment),
        );
        let writes = vec![
            self.put(mapping::refund_item(refund), Some(&refund_moves))?,
            self.put(mapping::payment_item(payment), Some(&ledger_moves))?,
        ];
        let ids = [payment.id().as_str(), refund.id().as_str()];
        let revisions = [expected_refund, expected_payment];
        Ok(self.transact("settle_refund", &ids, &revisions, writes).await?)
    }

    async fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let before = SortKey::Below(keys::sortable(updated_before));
        let spec = QuerySpec::index(table::TIMELINE, keys::refunds_in(status), before).limit(limit);
        Ok(self
            .query_where(spec, mapping::refund_from, |r| r.status() == status)
            .await?)
    }

    async fn find_refund_by_ers_reference(
        &self,
        ers_reference: &ErsReference,
    ) -> Result<Option<Refund>, StoreError> {
        let Some(found) = self
            .lookup_one(keys::ers(ers_reference), keys::ers_refund())
            .await?
        else {
            return Ok(None);
        };
        let reader = Reader::new(keys::item_type::REFUND, &found);
        let payment_id = reader.parsed(a::PAYMENT_ID, PaymentId::parse)?;
        let refund_id = reader.parsed(a::REFUND_ID, RefundId::parse)?;
        Ok(self
            .get_as(keys::refund(&payment_id, &refund_id), mapping::refund_from)
            .await?)
    }

    async fn insert_terminal(&self, terminal: &Terminal) -> Result<(), StoreError> {
        let writes = vec![
            self.put(mapping::terminal_item(terminal), Some(&Condition::absent()))?,
            self.put(
                mapping::terminal_external_item(terminal),
                Some(&Condition::absent()),
            )?,
        ];
        let ids = [terminal.id().as_str(), terminal.external_id().as_str()];
        Ok(self.transact("insert_terminal", &ids, &[], writes).await?)
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        Ok(self.get_as(keys::terminal(id), mapping::terminal_from).await?)
    }

    async fn find_terminal_by_external_id(
        &self,
        external_id: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        let Some(item) = self.get(keys::terminal_external(external_id)).await? else {
            return Ok(None);
        };
        let id = mapping::terminal_external_from(&item)?;
        Ok(self.get_as(keys::terminal(&id), mapping::terminal_from).await?)
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let spec = QuerySpec::index(table::LOOKUP, keys::TERMINALS.to_owned(), SortKey::Any);
        Ok(self.query_as(spec, mapping::terminal_from).await?)
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::terminal_update(terminal, expected);
        Ok(self
            .put_item(mapping::terminal_item(terminal), &condition)
            .await?)
    }

    async fn insert_period(&self, period: &ReportingPeriod) -> Result<(), StoreError> {
        Ok(self.write_period(period, None).await?)
    }

    async fn get_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, StoreError> {
        Ok(self.read_period(id).await?)
    }

    async fn latest_period_before(
        &self,
        scope: &PeriodScope,
        before: Timestamp,
    ) -> Result<Option<ReportingPeriod>, StoreError> {
        // Every entry is `<time>#<id>`; one below the bare `before` is marked strictly earlier.
        let earlier = SortKey::BelowNewestFirst(keys::sortable(before));
        let spec = QuerySpec::index(table::TIMELINE, keys::periods_of(scope), earlier).limit(1);
        let Some(item) = self.query(spec).await?.pop() else {
            return Ok(None);
        };
        let id = Reader::new(keys::item_type::PERIOD, &item).parsed(a::PERIOD_ID, PeriodId::parse)?;
        // The index entry carries no documents; the period is read whole by its key.
        Ok(self.read_period(&id).await?)
    }

    async fn update_period(&self, period: &ReportingPeriod, expected: Revision) -> Result<(), StoreError> {
        Ok(self.write_period(period, Some(expected)).await?)
    }

    async fn insert_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, StoreError> {
        Ok(self.insert_idempotency(record).await?)
    }

    async fn replace_idempotency_record(
        &self,
        record: &IdempotencyRecord,
        expected: Revision,
    ) -> Result<(), StoreError> {
        Ok(self
            .put_item(
                mapping::idempotency_item(record),
                &Condition::revision(expected, &[]),
            )
            .await?)
    }

    async fn delete_idempotency_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        expected: Revision,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .delete_item()
            .set_key(Some(key_map(keys::idempotency(operation, key))));
        Ok(self
            .write(request, Some(&Condition::revision(expected, &[])))
            .await?)
    }

    async fn put_connection(&self, connection: &PushConnection) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .set_item(Some(mapping::connection_item(connection)));
        Ok(self.write(request, None).await?)
    }

    async fn delete_connection(&self, connection_id: &ConnectionId) -> Result<(), StoreError> {
        let request = self
            .client
            .delete_item()
            .set_key(Some(key_map(keys::connection(connection_id))));
        Ok(self.write(request, None).await?)
    }

    async fn connection(&self, connection_id: &ConnectionId) -> Result<Option<PushConnection>, StoreError> {
        // A consistent GetItem of the connection's own item, not the `lookup` index (which is eventually
        // consistent and may not hold a connection stored a moment ago).
        Ok(self
            .get_as(keys::connection(connection_id), mapping::connection_from)
            .await?)
    }

    async fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Vec<PushConnection>, StoreError> {
        let spec = QuerySpec::index(table::LOOKUP, keys::connections_of(payment_id), SortKey::Any);
        // TTL removes expired items only eventually; an expired connection is not live.
        Ok(self
            .query_where(spec, mapping::connection_from, |c| c.expires_at > now())
            .await?)
    }
}

/// The time on this machine's clock.
fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}
