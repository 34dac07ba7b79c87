//! [`DynamoStore`], the DynamoDB implementation of the domain's [`PaymentStore`] port.
//!
//! Every write is conditional: inserts require the key to be absent; updates require the stored revision
//! to be the one the change was computed from AND the stored status to be one the new status may follow
//! (so even a buggy caller cannot move an item backwards). Writes of several items are one
//! TransactWriteItems with a client request token derived from what it writes, so a retried call within
//! DynamoDB's ten-minute idempotency window applies once and reports success.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use payments_domain::idempotency::{IdempotencyKey, IdempotencyRecord, Operation};
use payments_domain::ids::{ErsReference, PaymentId, PeriodId, RefundId, Revision, TerminalId, Timestamp};
use payments_domain::order::ExternalTerminalId;
use payments_domain::payment::{Payment, PaymentStatus};
use payments_domain::period::{PeriodScope, ReportingPeriod};
use payments_domain::ports::{ConnectionId, IdempotencyInsert, PaymentStore, PushConnection, StoreError};
use payments_domain::refund::{Refund, RefundStatus};
use payments_domain::terminal::Terminal;
use sha2::{Digest, Sha256};

use crate::attrs as a;
use crate::capacity::{CapacityMeter, Side, written};
use crate::error::{CancelReason, DynamoError};
use crate::item::{Item, Reader};
use crate::keys::{self, Key};
use crate::mapping;
use crate::table;

/// The DynamoDB store: a client and the table name. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    capacity: CapacityMeter,
}

impl DynamoStore {
    /// A store over `table_name` through `client`.
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table: table_name.into(),
            capacity: CapacityMeter::new(),
        }
    }

    /// A store whose client comes from the environment (region, credentials and, for local runs,
    /// `AWS_ENDPOINT_URL_DYNAMODB`): build it once per cold start.
    pub async fn from_env(table_name: impl Into<String>) -> Self {
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::new(Client::new(&config), table_name)
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The requests sent and the capacity DynamoDB reported for them, shared by every clone.
    pub fn capacity(&self) -> &CapacityMeter {
        &self.capacity
    }
}

impl From<DynamoError> for StoreError {
    fn from(error: DynamoError) -> Self {
        match error {
            DynamoError::ConditionFailed => StoreError::ConditionFailed,
            // A transaction DynamoDB refused for another reason (an item over 400 KB is `ValidationError`)
            // will fail again as it is: reporting it as a lost race made the caller re-read and answer
            // with the old state as if another writer had moved on (found by the soak: a period whose
            // report was too large stayed `reports_pending` without an error).
            DynamoError::TransactionCanceled { reasons }
                if reasons.contains(&CancelReason::Other)
                    && !reasons.contains(&CancelReason::ConditionFailed) =>
            {
                StoreError::Unavailable {
                    reason: "DynamoDB refused the transaction (an item or the request is invalid)".to_owned(),
                }
            }
            // Nothing of a canceled transaction was written. One that lost to a concurrent write is, for
            // the caller, the same as a failed revision check: re-read and decide again.
            DynamoError::TransactionCanceled { reasons } => {
                if reasons.contains(&CancelReason::Throttled)
                    && !reasons.contains(&CancelReason::ConditionFailed)
                {
                    StoreError::Throttled
                } else {
                    StoreError::ConditionFailed
                }
            }
            DynamoError::Throttled { .. } => StoreError::Throttled,
            DynamoError::MalformedItem {
                item_type,
                attribute,
                problem,
            } => StoreError::Malformed {
                attribute,
                reason: format!("{item_type} item: {problem}"),
            },
            DynamoError::Unavailable(reason) => StoreError::Unavailable { reason },
            DynamoError::Rejected { code, message } => StoreError::Unavailable {
                reason: format!("DynamoDB rejected the request ({code}): {message}"),
            },
        }
    }
}

/// A condition expression with its placeholders.
#[derive(Default)]
struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Condition {
    /// The item must not exist yet.
    fn absent() -> Self {
        Self {
            expression: "attribute_not_exists(#pk)".to_owned(),
            names: HashMap::from([("#pk".to_owned(), a::PK.to_owned())]),
            values: HashMap::new(),
        }
    }

    /// The item must exist at `expected` and, when `statuses` is not empty, be in one of them.
    fn revision(expected: Revision, statuses: &[&str]) -> Self {
        let mut condition = Self {
            expression: "#rev = :rev".to_owned(),
            names: HashMap::from([("#rev".to_owned(), a::REVISION.to_owned())]),
            values: HashMap::from([(":rev".to_owned(), AttributeValue::N(expected.get().to_string()))]),
        };
        if !statuses.is_empty() {
            condition.names.insert("#st".to_owned(), a::STATUS.to_owned());
            let alternatives: Vec<String> = statuses
                .iter()
                .enumerate()
                .map(|(i, status)| {
                    condition
                        .values
                        .insert(format!(":st{i}"), AttributeValue::S((*status).to_owned()));
                    format!("#st = :st{i}")
                })
                .collect();
            condition.expression = format!("{} AND ({})", condition.expression, alternatives.join(" OR "));
        }
        condition
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The stored payment statuses a payment in `next` may replace ([`PaymentStatus::replaceable_by`]).
fn payment_predecessors(next: PaymentStatus) -> Vec<&'static str> {
    PaymentStatus::replaceable_by(next)
        .iter()
        .map(PaymentStatus::as_str)
        .collect()
}

/// The stored refund statuses a refund in `next` may replace ([`RefundStatus::replaceable_by`]).
fn refund_predecessors(next: RefundStatus) -> Vec<&'static str> {
    RefundStatus::replaceable_by(next)
        .iter()
        .map(RefundStatus::as_str)
        .collect()
}

/// The stored terminal statuses a terminal may replace: an active terminal only an active one; an
/// unregistered terminal never becomes active again.
fn terminal_predecessors(terminal: &Terminal) -> Vec<&'static str> {
    if terminal.is_active() {
        vec!["active"]
    } else {
        vec!["active", "unregistered"]
    }
}

/// A client request token for a transaction: a digest of what it writes, so the same call repeated
/// within DynamoDB's idempotency window is applied once.
fn request_token(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn key_map(key: Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (a::PK.to_owned(), AttributeValue::S(key.pk)),
        (a::SK.to_owned(), AttributeValue::S(key.sk)),
    ])
}

/// How a query selects sort keys.
enum SortKey {
    Any,
    Equals(String),
    BeginsWith(String),
    Below(String),
    /// Below the value, newest first.
    BelowNewestFirst(String),
    Between(String, String),
}

struct QuerySpec {
    index: Option<&'static str>,
    partition_attr: &'static str,
    partition: String,
    sort_attr: &'static str,
    sort: SortKey,
    limit: Option<usize>,
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

impl DynamoStore {
    fn put(&self, item: Item, condition: &Condition) -> Result<TransactWriteItem, DynamoError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(Some(condition.names.clone()))
            .set_expression_attribute_values(condition.values())
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A put without a condition, for items owned by another item whose condition guards the transaction.
    fn put_owned(&self, item: Item) -> Result<TransactWriteItem, DynamoError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key: Key) -> Result<TransactWriteItem, DynamoError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    async fn put_item(&self, item: Item, condition: &Condition) -> Result<(), DynamoError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(Some(condition.names.clone()))
            .set_expression_attribute_values(condition.values())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Write, written(&result, |o| o.consumed_capacity()));
        result.map_err(DynamoError::from_sdk)?;
        Ok(())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>, token: String) -> Result<(), DynamoError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let consumed = result.as_ref().map(|o| o.consumed_capacity()).unwrap_or_default();
        self.capacity.record(Side::Write, consumed);
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => Err(
                    DynamoError::canceled(canceled.cancellation_reasons().iter().map(|r| r.code())),
                ),
                // The same token with other parameters: someone else's write under this identity.
                Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
                    Err(DynamoError::ConditionFailed)
                }
                _ => Err(DynamoError::from_sdk(error)),
            },
        }
    }

    async fn get(&self, key: Key) -> Result<Option<Item>, DynamoError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Read, written(&output, |o| o.consumed_capacity()));
        Ok(output.map_err(DynamoError::from_sdk)?.item)
    }

    async fn query(&self, spec: QuerySpec) -> Result<Vec<Item>, DynamoError> {
        let mut names = HashMap::from([("#pk".to_owned(), spec.partition_attr.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(spec.partition))]);
        let mut expression = "#pk = :pk".to_owned();
        let newest_first = matches!(spec.sort, SortKey::BelowNewestFirst(_));
        let sort_condition = match spec.sort {
            SortKey::Any => None,
            SortKey::Equals(value) => Some(("#sk = :sk", vec![(":sk", value)])),
            SortKey::BeginsWith(value) => Some(("begins_with(#sk, :sk)", vec![(":sk", value)])),
            SortKey::Below(value) | SortKey::BelowNewestFirst(value) => {
                Some(("#sk < :sk", vec![(":sk", value)]))
            }
            SortKey::Between(low, high) => {
                Some(("#sk BETWEEN :lo AND :hi", vec![(":lo", low), (":hi", high)]))
            }
        };
        if let Some((condition, bound)) = sort_condition {
            names.insert("#sk".to_owned(), spec.sort_attr.to_owned());
            for (placeholder, value) in bound {
                values.insert(placeholder.to_owned(), AttributeValue::S(value));
            }
            expression = format!("{expression} AND {condition}");
        }
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let remaining = spec.limit.map(|limit| limit.saturating_sub(items.len()));
            if remaining == Some(0) {
                break;
            }
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(spec.index.map(str::to_owned))
                .key_condition_expression(&expression)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_limit(remaining.map(|r| i32::try_from(r).unwrap_or(i32::MAX)))
                .set_exclusive_start_key(start)
                .scan_index_forward(!newest_first)
                // Only the table itself offers strongly consistent reads; indexes lag slightly.
                .consistent_read(spec.index.is_none())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            self.capacity
                .record(Side::Read, written(&page, |o| o.consumed_capacity()));
            let page = page.map_err(DynamoError::from_sdk)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(items)
    }

    async fn lookup_one(&self, partition: String, sort: &str) -> Result<Option<Item>, DynamoError> {
        let mut found = self
            .query(QuerySpec {
                index: Some(table::LOOKUP_INDEX),
                partition_attr: a::LOOKUP_PK,
                partition,
                sort_attr: a::LOOKUP_SK,
                sort: SortKey::Equals(sort.to_owned()),
                limit: Some(1),
            })
            .await?;
        Ok(found.pop())
    }

    async fn read_payment(&self, id: &PaymentId) -> Result<Option<Payment>, DynamoError> {
        self.get(keys::payment(id))
            .await?
            .map(|item| mapping::payment_from(&item))
            .transpose()
    }

    async fn read_refund(
        &self,
        payment_id: &PaymentId,
        id: &RefundId,
    ) -> Result<Option<Refund>, DynamoError> {
        self.get(keys::refund(payment_id, id))
            .await?
            .map(|item| mapping::refund_from(&item))
            .transpose()
    }

    async fn read_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, DynamoError> {
        self.get(keys::terminal(id))
            .await?
            .map(|item| mapping::terminal_from(&item))
            .transpose()
    }

    fn payment_update(
        &self,
        payment: &Payment,
        expected: Revision,
    ) -> Result<TransactWriteItem, DynamoError> {
        let condition = Condition::revision(expected, &payment_predecessors(payment.status()));
        self.put(mapping::payment_item(payment), &condition)
    }

    fn terminal_update(
        &self,
        terminal: &Terminal,
        expected: Revision,
    ) -> Result<TransactWriteItem, DynamoError> {
        let condition = Condition::revision(expected, &terminal_predecessors(terminal));
        self.put(mapping::terminal_item(terminal), &condition)
    }

    fn refund_update(&self, refund: &Refund, expected: Revision) -> Result<TransactWriteItem, DynamoError> {
        let condition = Condition::revision(expected, &refund_predecessors(refund.status()));
        self.put(mapping::refund_item(refund), &condition)
    }

    async fn insert_idempotency(&self, record: &IdempotencyRecord) -> Result<IdempotencyInsert, DynamoError> {
        let key = keys::idempotency(record.operation, &record.key);
        let item = mapping::idempotency_item(record);
        let condition = Condition::absent();
        // A record deleted between a failed insert and the read that follows is retried a few times.
        for _ in 0..3 {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(Some(condition.names.clone()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            self.capacity
                .record(Side::Write, written(&result, |o| o.consumed_capacity()));
            let error = match result {
                Ok(_) => return Ok(IdempotencyInsert::Inserted),
                Err(error) => error,
            };
            let existing = match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(DynamoError::from_sdk(error)),
            };
            // The existing record normally comes back with the failure; read it if the backend did not.
            let existing = match existing {
                Some(item) if !item.is_empty() => Some(item),
                _ => self.get(key.clone()).await?,
            };
            if let Some(item) = existing {
                return Ok(IdempotencyInsert::Existing(mapping::idempotency_from(&item)?));
            }
        }
        Err(DynamoError::Unavailable(
            "the idempotency record kept changing during the insert".to_owned(),
        ))
    }

    async fn read_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, DynamoError> {
        let key = keys::period(id);
        let items = self
            .query(QuerySpec {
                index: None,
                partition_attr: a::PK,
                partition: key.pk,
                sort_attr: a::SK,
                sort: SortKey::Any,
                limit: None,
            })
            .await?;
        let (period, documents): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|item| matches!(item.get(a::SK), Some(AttributeValue::S(sk)) if *sk == key.sk));
        match period.first() {
            None => Ok(None),
            Some(item) => mapping::period_from(item, &documents).map(Some),
        }
    }

    async fn write_period(
        &self,
        period: &ReportingPeriod,
        expected: Option<Revision>,
    ) -> Result<(), DynamoError> {
        let (item, documents) = mapping::period_items(period)?;
        let id = period.id();
        let parts_now = document_part_keys(&item)?;
        let mut writes = Vec::with_capacity(documents.len() + 1);
        let stale_parts = match expected {
            None => {
                writes.push(self.put(item, &Condition::absent())?);
                Vec::new()
            }
            Some(expected) => {
                // Parts the new documents no longer have are deleted; the old ones are named by the
                // stored item, whose revision the transaction checks.
                let old = self
                    .get(keys::period(id))
                    .await?
                    .ok_or(DynamoError::ConditionFailed)?;
                writes.push(self.put(item, &Condition::revision(expected, &[]))?);
                document_part_keys(&old)?
                    .into_iter()
                    .filter(|key| !parts_now.contains(key))
                    .collect()
            }
        };
        // The documents belong to the period item, whose condition guards the whole transaction.
        for document in documents {
            writes.push(self.put_owned(document)?);
        }
        for (position, part) in stale_parts {
            writes.push(self.delete(keys::period_document(id, position, part))?);
        }
        let revision = period.revision().get().to_string();
        self.transact(writes, request_token(&["period", id.as_str(), &revision]))
            .await
    }
}

/// The (position, part) of every document part a period item names.
fn document_part_keys(period: &Item) -> Result<Vec<(usize, usize)>, DynamoError> {
    let counts = Reader::new(keys::item_type::PERIOD, period).u64_list(a::DOCUMENT_PARTS)?;
    Ok(counts
        .iter()
        .enumerate()
        .flat_map(|(position, &count)| (0..count as usize).map(move |part| (position, part)))
        .collect())
}

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
        let writes = vec![
            self.put(mapping::payment_item(payment), &Condition::absent())?,
            self.terminal_update(terminal, expected_terminal)?,
        ];
        let expected = expected_terminal.get().to_string();
        let token = request_token(&[
            "payment_on_terminal",
            payment.id().as_str(),
            terminal.id().as_str(),
            &expected,
        ]);
        Ok(self.transact(writes, token).await?)
    }

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.read_payment(id).await?)
    }

    async fn update_payment(&self, payment: &Payment, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::revision(expected, &payment_predecessors(payment.status()));
        Ok(self.put_item(mapping::payment_item(payment), &condition).await?)
    }

    async fn pending_payments_due(
        &self,
        checked_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let items = self
            .query(QuerySpec {
                index: Some(table::CHECK_DUE_INDEX),
                partition_attr: a::CHECK_PK,
                partition: keys::PENDING.to_owned(),
                sort_attr: a::CHECK_SK,
                sort: SortKey::Below(keys::sortable(checked_before)),
                limit: Some(limit),
            })
            .await?;
        let payments = items
            .iter()
            .map(mapping::payment_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(payments
            .into_iter()
            .filter(|p| p.status() == PaymentStatus::Pending)
            .collect())
    }

    async fn pending_payments_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let bound = now.plus(std::time::Duration::from_millis(1));
        let items = self
            .query(QuerySpec {
                index: Some(table::EXPIRY_INDEX),
                partition_attr: a::EXPIRY_PK,
                partition: keys::PENDING.to_owned(),
                sort_attr: a::EXPIRY_SK,
                sort: SortKey::Below(keys::sortable(bound)),
                limit: Some(limit),
            })
            .await?;
        let payments = items
            .iter()
            .map(mapping::payment_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(payments
            .into_iter()
            .filter(|p| p.status() == PaymentStatus::Pending && p.expires_at() <= now)
            .collect())
    }

    async fn payments_with_receipt_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let bound = now.plus(std::time::Duration::from_millis(1));
        let items = self
            .query(QuerySpec {
                index: Some(table::CHECK_DUE_INDEX),
                partition_attr: a::CHECK_PK,
                partition: keys::RECEIPT_DUE.to_owned(),
                sort_attr: a::CHECK_SK,
                sort: SortKey::Below(keys::sortable(bound)),
                limit: Some(limit),
            })
            .await?;
        let payments = items
            .iter()
            .map(mapping::payment_from)
            .collect::<Result<Vec<_>, _>>()?;
        // The index may lag a write that just sent a receipt; the sweep's conditional write settles it.
        Ok(payments
            .into_iter()
            .filter(|p| p.receipt().due_at().is_some_and(|at| at <= now))
            .collect())
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
        Ok(self.read_payment(&id).await?)
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
        let items = self
            .query(QuerySpec {
                index: Some(table::TIMELINE_INDEX),
                partition_attr: a::TIMELINE_PK,
                partition: keys::PAID.to_owned(),
                sort_attr: a::TIMELINE_SK,
                sort: SortKey::Between(keys::sortable(from), keys::sortable(to)),
                limit: None,
            })
            .await?;
        let payments = items
            .iter()
            .map(mapping::payment_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(payments
            .into_iter()
            .filter(|p| p.paid_at().is_some_and(|at| from <= at && at < to))
            .collect())
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let writes = vec![
            self.put(mapping::refund_item(refund), &Condition::absent())?,
            self.payment_update(payment, expected_payment)?,
        ];
        let expected = expected_payment.get().to_string();
        let token = request_token(&[
            "create_refund",
            payment.id().as_str(),
            refund.id().as_str(),
            &expected,
        ]);
        Ok(self.transact(writes, token).await?)
    }

    async fn get_refund(
        &self,
        payment_id: &PaymentId,
        refund_id: &RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        Ok(self.read_refund(payment_id, refund_id).await?)
    }

    async fn list_refunds(&self, payment_id: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let items = self
            .query(QuerySpec {
                index: None,
                partition_attr: a::PK,
                partition: keys::payment_partition(payment_id),
                sort_attr: a::SK,
                sort: SortKey::BeginsWith(keys::refund_prefix()),
                limit: None,
            })
            .await?;
        let mut refunds = items
            .iter()
            .map(mapping::refund_from)
            .collect::<Result<Vec<_>, _>>()?;
        refunds.sort_by(|x, y| (x.created_at(), x.id()).cmp(&(y.created_at(), y.id())));
        Ok(refunds)
    }

    async fn update_refund(&self, refund: &Refund, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::revision(expected, &refund_predecessors(refund.status()));
        Ok(self.put_item(mapping::refund_item(refund), &condition).await?)
    }

    async fn settle_refund(
        &self,
        refund: &Refund,
        expected_refund: Revision,
        payment: &Payment,
        expected_payment: Revision,
    ) -> Result<(), StoreError> {
        let writes = vec![
            self.refund_update(refund, expected_refund)?,
            self.payment_update(payment, expected_payment)?,
        ];
        let (r, p) = (
            expected_refund.get().to_string(),
            expected_payment.get().to_string(),
        );
        let token = request_token(&[
            "settle_refund",
            payment.id().as_str(),
            refund.id().as_str(),
            &r,
            &p,
        ]);
        Ok(self.transact(writes, token).await?)
    }

    async fn refunds_in_status(
        &self,
        status: RefundStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let items = self
            .query(QuerySpec {
                index: Some(table::TIMELINE_INDEX),
                partition_attr: a::TIMELINE_PK,
                partition: keys::refunds_in(status),
                sort_attr: a::TIMELINE_SK,
                sort: SortKey::Below(keys::sortable(updated_before)),
                limit: Some(limit),
            })
            .await?;
        let refunds = items
            .iter()
            .map(mapping::refund_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(refunds.into_iter().filter(|r| r.status() == status).collect())
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
        Ok(self.read_refund(&payment_id, &refund_id).await?)
    }

    async fn insert_terminal(&self, terminal: &Terminal) -> Result<(), StoreError> {
        let writes = vec![
            self.put(mapping::terminal_item(terminal), &Condition::absent())?,
            self.put(mapping::terminal_external_item(terminal), &Condition::absent())?,
        ];
        let token = request_token(&[
            "insert_terminal",
            terminal.id().as_str(),
            terminal.external_id().as_str(),
        ]);
        Ok(self.transact(writes, token).await?)
    }

    async fn get_terminal(&self, id: &TerminalId) -> Result<Option<Terminal>, StoreError> {
        Ok(self.read_terminal(id).await?)
    }

    async fn find_terminal_by_external_id(
        &self,
        external_id: &ExternalTerminalId,
    ) -> Result<Option<Terminal>, StoreError> {
        let Some(item) = self.get(keys::terminal_external(external_id)).await? else {
            return Ok(None);
        };
        let id = mapping::terminal_external_from(&item)?;
        Ok(self.read_terminal(&id).await?)
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let items = self
            .query(QuerySpec {
                index: Some(table::LOOKUP_INDEX),
                partition_attr: a::LOOKUP_PK,
                partition: keys::TERMINALS.to_owned(),
                sort_attr: a::LOOKUP_SK,
                sort: SortKey::Any,
                limit: None,
            })
            .await?;
        Ok(items
            .iter()
            .map(mapping::terminal_from)
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn update_terminal(&self, terminal: &Terminal, expected: Revision) -> Result<(), StoreError> {
        let condition = Condition::revision(expected, &terminal_predecessors(terminal));
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
        let items = self
            .query(QuerySpec {
                index: Some(table::TIMELINE_INDEX),
                partition_attr: a::TIMELINE_PK,
                partition: keys::periods_of(scope),
                sort_attr: a::TIMELINE_SK,
                sort: SortKey::BelowNewestFirst(keys::sortable(before)),
                limit: Some(1),
            })
            .await?;
        let Some(item) = items.first() else {
            return Ok(None);
        };
        let id = Reader::new(keys::item_type::PERIOD, item).parsed(a::PERIOD_ID, PeriodId::parse)?;
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
        let condition = Condition::revision(expected, &[]);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(keys::idempotency(operation, key))))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(Some(condition.names.clone()))
            .set_expression_attribute_values(condition.values())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Write, written(&result, |o| o.consumed_capacity()));
        result.map_err(DynamoError::from_sdk)?;
        Ok(())
    }

    async fn put_connection(&self, connection: &PushConnection) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(mapping::connection_item(connection)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Write, written(&result, |o| o.consumed_capacity()));
        result.map_err(DynamoError::from_sdk)?;
        Ok(())
    }

    async fn delete_connection(&self, connection_id: &ConnectionId) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(keys::connection(connection_id))))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Write, written(&result, |o| o.consumed_capacity()));
        result.map_err(DynamoError::from_sdk)?;
        Ok(())
    }

    async fn connection(&self, connection_id: &ConnectionId) -> Result<Option<PushConnection>, StoreError> {
        // A consistent GetItem of the connection's own item, not the `lookup` index (which is eventually
        // consistent and may not hold a connection stored a moment ago).
        Ok(self
            .get(keys::connection(connection_id))
            .await?
            .map(|item| mapping::connection_from(&item))
            .transpose()?)
    }

    async fn connections_for_payment(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Vec<PushConnection>, StoreError> {
        let items = self
            .query(QuerySpec {
                index: Some(table::LOOKUP_INDEX),
                partition_attr: a::LOOKUP_PK,
                partition: keys::connections_of(payment_id),
                sort_attr: a::LOOKUP_SK,
                sort: SortKey::Any,
                limit: None,
            })
            .await?;
        let connections = items
            .iter()
            .map(mapping::connection_from)
            .collect::<Result<Vec<_>, _>>()?;
        // TTL removes expired items only eventually; an expired connection is not live.
        let now = now();
        Ok(connections.into_iter().filter(|c| c.expires_at > now).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_move_only_forward() {
        assert_eq!(payment_predecessors(PaymentStatus::Pending), vec!["pending"]);
        assert_eq!(payment_predecessors(PaymentStatus::Paid), vec!["pending", "paid"]);
        assert!(!payment_predecessors(PaymentStatus::Canceled).contains(&"paid"));
    }

    #[test]
    fn refunds_follow_their_state_machine() {
        assert_eq!(
            refund_predecessors(RefundStatus::Sending),
            vec!["queued", "sending"]
        );
        assert_eq!(
            refund_predecessors(RefundStatus::Queued),
            vec!["queued", "sending"]
        );
        assert!(!refund_predecessors(RefundStatus::Queued).contains(&"succeeded"));
        assert!(!refund_predecessors(RefundStatus::Failed).contains(&"succeeded"));
        assert!(!refund_predecessors(RefundStatus::Succeeded).contains(&"queued"));
    }

    #[test]
    fn a_revision_condition_names_every_allowed_status() {
        let condition = Condition::revision(Revision::FIRST, &["pending", "paid"]);
        assert_eq!(condition.expression, "#rev = :rev AND (#st = :st0 OR #st = :st1)");
        assert_eq!(condition.values.len(), 3);
        assert_eq!(condition.names.get("#st").map(String::as_str), Some(a::STATUS));
    }

    #[test]
    fn request_tokens_are_stable_distinct_and_short_enough() {
        let token = request_token(&["create_refund", "pay_1", "re_1", "3"]);
        assert_eq!(token, request_token(&["create_refund", "pay_1", "re_1", "3"]));
        assert_ne!(token, request_token(&["create_refund", "pay_1", "re_1", "4"]));
        assert_ne!(request_token(&["ab", "c"]), request_token(&["a", "bc"]));
        assert!(token.len() <= 36);
    }

    #[test]
    fn domain_errors_keep_their_kind() {
        assert_eq!(
            StoreError::from(DynamoError::ConditionFailed),
            StoreError::ConditionFailed
        );
        assert_eq!(
            StoreError::from(DynamoError::Throttled {
                code: "ThrottlingException".to_owned()
            }),
            StoreError::Throttled
        );
        assert_eq!(
            StoreError::from(DynamoError::canceled([
                Some("None"),
                Some("ConditionalCheckFailed")
            ])),
            StoreError::ConditionFailed
        );
        assert_eq!(
            StoreError::from(DynamoError::canceled([Some("ThrottlingError"), Some("None")])),
            StoreError::Throttled
        );
        assert!(
            matches!(
                StoreError::from(DynamoError::canceled([Some("None"), Some("ValidationError")])),
                StoreError::Unavailable { .. }
            ),
            "a refused transaction is not a lost race"
        );
        let malformed = StoreError::from(DynamoError::MalformedItem {
            item_type: "payment",
            attribute: "amount".to_owned(),
            problem: "is missing".to_owned(),
        });
        assert!(matches!(malformed, StoreError::Malformed { attribute, .. } if attribute == "amount"));
        assert!(StoreError::from(DynamoError::Unavailable("down".to_owned())).is_retryable());
    }
}
