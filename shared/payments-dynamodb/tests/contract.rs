//! The store's contract tests, each run against dynoxide (in-process, a fresh database per test) and
//! DynamoDB Local (AWS's engine, a fresh table per test), and those that read no raw item also against
//! the in-memory store of `payments_domain::testing`, which claims the same semantics. See
//! `payments_dynamodb::testing` for how the backends start; a backend that cannot start fails its tests.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use payments_domain::idempotency::{
    Begin, IdempotencyKey, IdempotencyState, Operation, SideEffect, evaluate,
};
use payments_domain::ids::ErsReference;
use payments_domain::payment::{Payment, PaymentError, PaymentState, PaymentStatus, ReceiptState};
use payments_domain::ports::{IdempotencyInsert, PaymentStore, StoreError};
use payments_domain::refund::{RefundFailure, RefundStatus};
use payments_dynamodb::testing::fixtures::*;
use payments_dynamodb::testing::{Backend, TestTable};
use payments_dynamodb::{CapacityTotals, DynamoStore, attrs, keys, mapping, table};

/// Instantiates every test of the first list (`async fn name(store: impl ContractStore)`) on dynoxide, on
/// DynamoDB Local and on the in-memory store the use-case tests run on, which claims the same
/// conditional semantics; and every test of the second list (`async fn name(backend: Backend)`, which
/// reads raw items, capacity or the table itself) on the two DynamoDB backends.
macro_rules! contract_tests {
    (store: [$($name:ident),* $(,)?], table: [$($raw:ident),* $(,)?] $(,)?) => {
        contract_tests!(@backend dynoxide, Dynoxide, [$($name),*], [$($raw),*]);
        contract_tests!(@backend dynamodb_local, DynamoDbLocal, [$($name),*], [$($raw),*]);
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(payments_domain::testing::InMemoryStore::new()).await;
                }
            )*
        }
    };
    // Every test of both lists in `mod $module`, on `Backend::$backend`.
    (@backend $module:ident, $backend:ident, [$($name:ident),*], [$($raw:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_table, store) = super::store(payments_dynamodb::testing::Backend::$backend).await;
                    super::$name(store).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $raw() {
                    super::$raw(payments_dynamodb::testing::Backend::$backend).await;
                }
            )*
        }
    };
}

contract_tests!(
    store: [
        a_payment_is_inserted_once_and_read_back,
        an_update_over_a_stale_revision_fails_and_changes_nothing,
        a_payment_never_moves_backwards_even_at_the_right_revision,
        two_concurrent_transitions_of_one_payment_exactly_one_wins,
        a_refund_reserves_its_amount_in_the_same_transaction,
        two_concurrent_refunds_that_exceed_the_payment_exactly_one_succeeds,
        a_retried_refund_transaction_applies_once,
        settling_a_refund_moves_the_ledger_and_the_refund_forward_only,
        refunds_are_listed_by_payment_and_by_status,
        pending_payments_are_found_when_due_for_a_check_and_when_expired,
        paid_payments_are_found_by_ers_reference_and_paid_time,
        terminals_are_unique_by_external_id_and_listed_oldest_first,
        a_pos_payment_and_its_terminal_are_written_together_or_not_at_all,
        an_unregistered_terminal_never_becomes_active_again,
        periods_keep_their_documents_and_reconciliation,
        an_expired_idempotency_record_is_returned_and_can_be_taken_over,
        the_same_idempotency_key_from_two_tasks_at_once_has_one_owner,
        a_connection_is_read_by_its_id_at_once_after_it_is_stored,
        the_same_key_with_two_payloads_at_once_is_a_conflict_for_the_loser,
        receipts_due_are_listed_least_recently_tried_first_until_sent_or_given_up,
        a_pos_payment_keeps_its_till_window_and_a_new_one_moves_it,
        a_due_payment_is_found_behind_more_than_limit_young_ones_with_lower_ids,
        a_receipt_retry_not_yet_due_takes_no_place_from_a_due_one,
        a_postponed_expiry_leaves_the_head_of_the_expiry_index,
    ],
    table: [
        created_table_matches_the_definition,
        the_capacity_each_request_consumed_is_counted,
        a_busy_shops_report_is_kept_in_parts_and_stale_parts_are_removed,
        the_latest_earlier_period_of_a_scope_is_found,
        idempotency_begin_complete_and_conflict,
        connections_are_listed_by_payment_until_they_expire_or_are_deleted,
        a_malformed_stored_item_is_reported_with_its_attribute,
    ],
);

/// What the store tests need of a store: the port, shareable between tasks.
trait ContractStore: PaymentStore + Clone + Send + Sync + 'static {}
impl<T: PaymentStore + Clone + Send + Sync + 'static> ContractStore for T {}

/// Runs `task` on every input in a task of its own, all released at the same moment, and answers their
/// results in the order of the inputs.
async fn at_once<I, R, F, const N: usize>(inputs: [I; N], task: impl Fn(I) -> F) -> Vec<R>
where
    F: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tasks = inputs.map(|input| {
        let (barrier, run) = (barrier.clone(), task(input));
        tokio::spawn(async move {
            barrier.wait().await;
            run.await
        })
    });
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn store(backend: Backend) -> (TestTable, DynamoStore) {
    let table = TestTable::new(backend).await;
    let store = DynamoStore::new(table.client.clone(), table.table_name.clone());
    (table, store)
}

async fn raw_item(t: &TestTable, key: keys::Key) -> Option<payments_dynamodb::item::Item> {
    t.client
        .get_item()
        .table_name(&t.table_name)
        .key(attrs::PK, AttributeValue::S(key.pk))
        .key(attrs::SK, AttributeValue::S(key.sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

async fn created_table_matches_the_definition(backend: Backend) {
    let t = TestTable::new(backend).await;
    let differences = table::verify_table(&t.client, &t.table_name).await.unwrap();
    assert!(differences.is_empty(), "{differences:#?}");
}

async fn a_payment_is_inserted_once_and_read_back(store: impl ContractStore) {
    let payment = pending_payment(12_550);
    assert_eq!(store.get_payment(payment.id()).await.unwrap(), None);
    store.insert_payment(&payment).await.unwrap();
    assert_eq!(
        store.get_payment(payment.id()).await.unwrap(),
        Some(payment.clone())
    );

    // A second insert under the same id fails and leaves the first one as it was.
    let mut other = pending_payment(999).to_record();
    other.id = payment.id().clone();
    let other = Payment::try_from(other).unwrap();
    assert_eq!(
        store.insert_payment(&other).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_payment(payment.id()).await.unwrap(), Some(payment));
}

async fn the_capacity_each_request_consumed_is_counted(backend: Backend) {
    let (_t, store) = store(backend).await;
    let meter = store.capacity().clone();
    assert_eq!(meter.totals(), CapacityTotals::default());

    let payment = pending_payment(4_200);
    store.insert_payment(&payment).await.unwrap();
    let after_insert = meter.totals();
    assert_eq!((after_insert.read_requests, after_insert.write_requests), (0, 1));
    // At least one unit for the item itself; the index entries it writes add theirs.
    assert!(after_insert.write_milli_units >= 1000, "{after_insert:?}");

    store.get_payment(payment.id()).await.unwrap();
    let after_read = meter.totals();
    assert_eq!(after_read.read_requests, 1);
    // A strongly consistent read of an item under 4 KB is one read unit.
    assert_eq!(after_read.read_milli_units, 1000);

    // A write that loses its condition is a request; its error answer reports no capacity.
    assert_eq!(
        store.insert_payment(&payment).await,
        Err(StoreError::ConditionFailed)
    );
    let after_conflict = meter.totals();
    assert_eq!(after_conflict.write_requests, 2);
    assert_eq!(after_conflict.write_milli_units, after_insert.write_milli_units);

    // A query is a read request (one page here), whatever it finds.
    store.list_refunds(payment.id()).await.unwrap();
    assert_eq!(meter.totals().read_requests, 2);

    // Clones of the store share the meter.
    let clone = store.clone();
    clone.get_payment(payment.id()).await.unwrap();
    assert_eq!(meter.totals().read_requests, 3);
    meter.reset();
    assert_eq!(store.capacity().totals(), CapacityTotals::default());
}

async fn an_update_over_a_stale_revision_fails_and_changes_nothing(store: impl ContractStore) {
    let payment = pending_payment(100);
    store.insert_payment(&payment).await.unwrap();
    let checked = payment.checked_at(at(1_700_000_001_000));
    store.update_payment(&checked, payment.revision()).await.unwrap();

    // A change computed from the first revision arrives late.
    let late = payment.checked_at(at(1_700_000_002_000));
    assert_eq!(
        store.update_payment(&late, payment.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(
        store.get_payment(payment.id()).await.unwrap(),
        Some(checked.clone())
    );

    // Updating a payment that does not exist fails too.
    let missing = pending_payment(100);
    let next = missing.checked_at(at(1));
    assert_eq!(
        store.update_payment(&next, missing.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_payment(missing.id()).await.unwrap(), None);
}

async fn a_payment_never_moves_backwards_even_at_the_right_revision(store: impl ContractStore) {
    let pending = pending_payment(100);
    store.insert_payment(&pending).await.unwrap();
    let paid = paid(&pending, at(1_700_000_050_000));
    store.update_payment(&paid, pending.revision()).await.unwrap();

    // A caller that bypasses the state machine and writes `pending` (or `canceled`) over `paid` with the
    // correct revision is refused by the store itself.
    for state in [
        PaymentState::Pending,
        PaymentState::Canceled {
            at: at(1_700_000_060_000),
        },
    ] {
        let mut record = paid.to_record();
        record.state = state;
        record.receipt = ReceiptState::NotDue;
        record.revision = paid.revision().next();
        let backwards = Payment::try_from(record).unwrap();
        assert_eq!(
            store.update_payment(&backwards, paid.revision()).await,
            Err(StoreError::ConditionFailed)
        );
    }
    assert_eq!(
        store.get_payment(pending.id()).await.unwrap().unwrap().status(),
        PaymentStatus::Paid
    );
}

async fn two_concurrent_transitions_of_one_payment_exactly_one_wins(store: impl ContractStore) {
    let store = Arc::new(store);
    let pending = pending_payment(100);
    store.insert_payment(&pending).await.unwrap();
    let paid = paid(&pending, at(1_700_000_050_000));
    let canceled = pending.canceled_by_us(at(1_700_000_050_001)).unwrap();
    let results = at_once([paid.clone(), canceled.clone()], |next| {
        let (store, expected) = (store.clone(), pending.revision());
        async move { store.update_payment(&next, expected).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::ConditionFailed))),
        "{results:?}"
    );
    let stored = store.get_payment(pending.id()).await.unwrap().unwrap();
    let winner = if results[0].is_ok() { paid } else { canceled };
    assert_eq!(stored, winner);
}

async fn paid_in_store(store: &impl PaymentStore, total: i64) -> Payment {
    let pending = pending_payment(total);
    store.insert_payment(&pending).await.unwrap();
    let paid = paid(&pending, at(1_700_000_050_000));
    store.update_payment(&paid, pending.revision()).await.unwrap();
    paid
}

async fn a_refund_reserves_its_amount_in_the_same_transaction(store: impl ContractStore) {
    let payment = paid_in_store(&store, 10_000).await;
    let refund = refund(&payment, 2_500);
    let reserved = payment.reserve_refund(refund.amount()).unwrap();
    store
        .create_refund(&refund, &reserved, payment.revision())
        .await
        .unwrap();
    assert_eq!(
        store.get_refund(payment.id(), refund.id()).await.unwrap(),
        Some(refund.clone())
    );
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(stored.refunds().reserved(), sek(2_500));
    assert_eq!(stored.refundable(), sek(7_500));

    // A refund computed from the old payment revision writes neither the refund nor the reservation.
    let late = refund_of(&payment, 1_000);
    let late_reserved = payment.reserve_refund(late.amount()).unwrap();
    assert_eq!(
        store
            .create_refund(&late, &late_reserved, payment.revision())
            .await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_refund(payment.id(), late.id()).await.unwrap(), None);
    assert_eq!(store.get_payment(payment.id()).await.unwrap().unwrap(), stored);
}

/// The `refund` fixture, for tests where a local variable named `refund` shadows it.
fn refund_of(payment: &Payment, amount: i64) -> payments_domain::refund::Refund {
    refund(payment, amount)
}

/// What the refund request use case does: read, reserve, write; re-read on a lost race.
async fn request_refund(
    store: &impl PaymentStore,
    payment: &Payment,
    amount: i64,
) -> Result<(), PaymentError> {
    for _ in 0..20 {
        let current = store.get_payment(payment.id()).await.unwrap().unwrap();
        let reserved = current.reserve_refund(sek(amount))?;
        let refund = refund(&current, amount);
        match store.create_refund(&refund, &reserved, current.revision()).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) => tokio::time::sleep(Duration::from_millis(5)).await,
            Err(other) => panic!("unexpected store error {other}"),
        }
    }
    panic!("the refund kept losing races");
}

async fn two_concurrent_refunds_that_exceed_the_payment_exactly_one_succeeds(store: impl ContractStore) {
    let store = Arc::new(store);
    let payment = paid_in_store(store.as_ref(), 10_000).await;
    let results = at_once([6_000, 7_000], |amount| {
        let (store, payment) = (store.clone(), payment.clone());
        async move { request_refund(store.as_ref(), &payment, amount).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(PaymentError::ExceedsRefundable { .. }))),
        "{results:?}"
    );
    let refunds = store.list_refunds(payment.id()).await.unwrap();
    assert_eq!(refunds.len(), 1);
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(stored.refunds().reserved(), refunds[0].amount());
}

async fn a_retried_refund_transaction_applies_once(store: impl ContractStore) {
    let payment = paid_in_store(&store, 10_000).await;
    let refund = refund(&payment, 4_000);
    let reserved = payment.reserve_refund(refund.amount()).unwrap();
    store
        .create_refund(&refund, &reserved, payment.revision())
        .await
        .unwrap();
    // The same call again (a client retry after a lost answer) carries the same request token: it
    // succeeds without applying a second time.
    store
        .create_refund(&refund, &reserved, payment.revision())
        .await
        .unwrap();
    assert_eq!(store.list_refunds(payment.id()).await.unwrap().len(), 1);
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(stored.refunds().reserved(), sek(4_000));
    assert_eq!(stored.revision(), reserved.revision());

    // Another refund from the same stale revision is not covered by that token and fails.
    let other = refund_of(&payment, 1_000);
    let other_reserved = payment.reserve_refund(other.amount()).unwrap();
    assert_eq!(
        store
            .create_refund(&other, &other_reserved, payment.revision())
            .await,
        Err(StoreError::ConditionFailed)
    );
}

async fn settling_a_refund_moves_the_ledger_and_the_refund_forward_only(store: impl ContractStore) {
    let payment = paid_in_store(&store, 10_000).await;
    let queued = refund(&payment, 3_000);
    let reserved = payment.reserve_refund(queued.amount()).unwrap();
    store
        .create_refund(&queued, &reserved, payment.revision())
        .await
        .unwrap();

    let sending = queued.start_sending(at(1_700_000_101_000)).unwrap();
    store.update_refund(&sending, queued.revision()).await.unwrap();
    // A duplicate delivery computed from `queued` finds it already sending.
    assert_eq!(
        store.update_refund(&sending, queued.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    // A call that certainly did not reach Glase puts the refund back in line; the next delivery claims it.
    let released = sending.release(at(1_700_000_101_500)).unwrap();
    store.update_refund(&released, sending.revision()).await.unwrap();
    let sending = released.start_sending(at(1_700_000_101_700)).unwrap();
    store.update_refund(&sending, released.revision()).await.unwrap();

    let ers = ErsReference::parse(&digits(25)).unwrap();
    let succeeded = sending.succeed(ers.clone(), at(1_700_000_102_000)).unwrap();
    let settled = reserved.settle_refund(succeeded.amount(), true).unwrap();
    store
        .settle_refund(&succeeded, sending.revision(), &settled, reserved.revision())
        .await
        .unwrap();
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(
        (stored.refunds().reserved(), stored.refunds().refunded()),
        (sek(0), sek(3_000))
    );
    assert_eq!(
        store.find_refund_by_ers_reference(&ers).await.unwrap(),
        Some(succeeded.clone())
    );

    // Writing `queued` over the success, even at the right revision, is refused.
    let mut back = succeeded.to_record();
    back.state = payments_domain::refund::RefundState::Queued;
    back.revision = succeeded.revision().next();
    let back = payments_domain::refund::Refund::try_from(back).unwrap();
    assert_eq!(
        store.update_refund(&back, succeeded.revision()).await,
        Err(StoreError::ConditionFailed)
    );

    // A failure computed from `sending` cannot overwrite the success.
    let failed = sending.fail(
        RefundFailure::Rejected {
            code: 99,
            description: "x".to_owned(),
        },
        at(1_700_000_103_000),
    );
    let give_back = reserved.settle_refund(succeeded.amount(), false).unwrap();
    assert_eq!(
        store
            .settle_refund(
                &failed.unwrap(),
                sending.revision(),
                &give_back,
                reserved.revision()
            )
            .await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(
        store.get_refund(payment.id(), succeeded.id()).await.unwrap(),
        Some(succeeded)
    );
}

async fn refunds_are_listed_by_payment_and_by_status(store: impl ContractStore) {
    let mut payment = paid_in_store(&store, 10_000).await;
    let mut created = Vec::new();
    for amount in [1_000, 2_000] {
        let refund = refund(&payment, amount);
        let reserved = payment.reserve_refund(refund.amount()).unwrap();
        store
            .create_refund(&refund, &reserved, payment.revision())
            .await
            .unwrap();
        payment = reserved;
        created.push(refund);
    }
    let sending = created[1].start_sending(at(1_700_000_101_000)).unwrap();
    store
        .update_refund(&sending, created[1].revision())
        .await
        .unwrap();

    let listed = store.list_refunds(payment.id()).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&created[0]) && listed.contains(&sending));

    let eventually = |status, before| {
        let store = &store;
        async move {
            for _ in 0..50 {
                let found = store.refunds_in_status(status, before, 10).await.unwrap();
                if !found.is_empty() {
                    return found;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Vec::new()
        }
    };
    assert_eq!(
        eventually(RefundStatus::Queued, at(1_700_000_200_000)).await,
        vec![created[0].clone()]
    );
    assert_eq!(
        eventually(RefundStatus::Sending, at(1_700_000_200_000)).await,
        vec![sending]
    );
    // Changed at or after the bound: not listed.
    assert!(
        store
            .refunds_in_status(RefundStatus::Queued, created[0].updated_at(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .refunds_in_status(RefundStatus::Failed, at(i64::MAX / 2), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn pending_payments_are_found_when_due_for_a_check_and_when_expired(store: impl ContractStore) {
    let base = 1_700_000_000_000;
    // Three pending payments created a second apart (expiring 120 s later), one checked recently.
    let first = pending_payment_at(100, at(base));
    let second = pending_payment_at(100, at(base + 1_000));
    let third = pending_payment_at(100, at(base + 2_000));
    for p in [&first, &second, &third] {
        store.insert_payment(p).await.unwrap();
    }
    let recently = third.checked_at(at(base + 10_000));
    store.update_payment(&recently, third.revision()).await.unwrap();
    let earlier = second.checked_at(at(base + 5_000));
    store.update_payment(&earlier, second.revision()).await.unwrap();
    // And one that is already paid, which no sweep may return.
    let done = paid_in_store(&store, 100).await;

    let due = store.pending_payments_due(at(base + 10_000), 10).await.unwrap();
    let ids: Vec<_> = due.iter().map(|p| p.id().clone()).collect();
    assert_eq!(
        ids,
        vec![first.id().clone(), second.id().clone()],
        "never checked first, then oldest check"
    );
    assert_eq!(
        store
            .pending_payments_due(at(base + 10_000), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .pending_payments_due(at(base + 10_001), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        !store
            .pending_payments_due(at(i64::MAX / 2), 10)
            .await
            .unwrap()
            .iter()
            .any(|p| p.id() == done.id())
    );

    // Expiry: at or before `now`, oldest first.
    let expired = store
        .pending_payments_expired(at(base + 121_000), 10)
        .await
        .unwrap();
    let ids: Vec<_> = expired.iter().map(|p| p.id().clone()).collect();
    assert_eq!(ids, vec![first.id().clone(), second.id().clone()]);
    assert!(
        store
            .pending_payments_expired(at(base + 119_999), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A payment that leaves `pending` leaves both indexes.
    let canceled = earlier.canceled_by_us(at(base + 20_000)).unwrap();
    store.update_payment(&canceled, earlier.revision()).await.unwrap();
    let expired = store
        .pending_payments_expired(at(base + 200_000), 10)
        .await
        .unwrap();
    assert_eq!(expired.len(), 2);
    assert!(!expired.iter().any(|p| p.id() == second.id()));
}

async fn paid_payments_are_found_by_ers_reference_and_paid_time(store: impl ContractStore) {
    let mut paid_ones = Vec::new();
    for (offset, total) in [(0, 100), (1_000, 200), (2_000, 300)] {
        let pending = pending_payment(total);
        store.insert_payment(&pending).await.unwrap();
        let paid = paid(&pending, at(1_700_000_050_000 + offset));
        store.update_payment(&paid, pending.revision()).await.unwrap();
        paid_ones.push(paid);
    }
    let ers = paid_ones[1].ers_reference().unwrap().clone();
    assert_eq!(
        store.find_payment_by_ers_reference(&ers).await.unwrap(),
        Some(paid_ones[1].clone())
    );
    let unknown = ErsReference::parse(&digits(25)).unwrap();
    assert_eq!(store.find_payment_by_ers_reference(&unknown).await.unwrap(), None);

    // `from` is inclusive and `to` exclusive.
    let between = store
        .payments_paid_between(at(1_700_000_050_000), at(1_700_000_052_000))
        .await
        .unwrap();
    let ids: Vec<_> = between.iter().map(|p| p.id().clone()).collect();
    assert_eq!(ids, vec![paid_ones[0].id().clone(), paid_ones[1].id().clone()]);
    assert!(
        store
            .payments_paid_between(at(1_700_000_052_001), at(1_700_000_060_000))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn terminals_are_unique_by_external_id_and_listed_oldest_first(store: impl ContractStore) {
    let first = terminal();
    store.insert_terminal(&first).await.unwrap();
    assert_eq!(store.get_terminal(first.id()).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store
            .find_terminal_by_external_id(first.external_id())
            .await
            .unwrap(),
        Some(first.clone())
    );

    // Another terminal with the same external id is refused, and nothing of it is written.
    let mut twin = terminal().to_record();
    twin.external_id = first.external_id().clone();
    let twin = payments_domain::terminal::Terminal::from(twin);
    assert_eq!(
        store.insert_terminal(&twin).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_terminal(twin.id()).await.unwrap(), None);

    let mut later = terminal().to_record();
    later.created_at = at(first.to_record().created_at.unix_millis() + 1_000);
    let later = payments_domain::terminal::Terminal::from(later);
    store.insert_terminal(&later).await.unwrap();
    let mut listed = Vec::new();
    for _ in 0..50 {
        listed = store.list_terminals().await.unwrap();
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed, vec![first.clone(), later]);

    let stickered = first
        .with_seqr_id(payments_domain::ids::SeqrId::parse("42").unwrap())
        .unwrap();
    store.update_terminal(&stickered, first.revision()).await.unwrap();
    assert_eq!(
        store.update_terminal(&stickered, first.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_terminal(first.id()).await.unwrap(), Some(stickered));
}

async fn a_pos_payment_and_its_terminal_are_written_together_or_not_at_all(store: impl ContractStore) {
    let terminal = terminal();
    store.insert_terminal(&terminal).await.unwrap();
    let payment = pos_payment(500, terminal.id());
    let busy = terminal.with_open_payment(payment.id().clone()).unwrap();
    store
        .insert_payment_on_terminal(&payment, &busy, terminal.revision())
        .await
        .unwrap();
    assert_eq!(
        store.get_payment(payment.id()).await.unwrap(),
        Some(payment.clone())
    );
    assert_eq!(
        store.get_terminal(terminal.id()).await.unwrap(),
        Some(busy.clone())
    );

    // A second payment computed from the terminal's old revision writes nothing.
    let second = pos_payment(700, terminal.id());
    let stale = terminal.with_open_payment(second.id().clone()).unwrap();
    assert_eq!(
        store
            .insert_payment_on_terminal(&second, &stale, terminal.revision())
            .await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_payment(second.id()).await.unwrap(), None);
    assert_eq!(store.get_terminal(terminal.id()).await.unwrap(), Some(busy));
}

async fn an_unregistered_terminal_never_becomes_active_again(store: impl ContractStore) {
    let terminal = terminal();
    store.insert_terminal(&terminal).await.unwrap();
    let gone = terminal.unregistered(at(1_700_000_900_000)).unwrap();
    store.update_terminal(&gone, terminal.revision()).await.unwrap();
    let mut revived = terminal.to_record();
    revived.revision = gone.revision().next();
    let revived = payments_domain::terminal::Terminal::from(revived);
    assert_eq!(
        store.update_terminal(&revived, gone.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_terminal(terminal.id()).await.unwrap(), Some(gone));
}

async fn periods_keep_their_documents_and_reconciliation(store: impl ContractStore) {
    let marked = period();
    store.insert_period(&marked).await.unwrap();
    // Another period under the same id is refused. (The very same insert repeated within DynamoDB's
    // ten-minute idempotency window carries the same request token and succeeds without a second write.)
    let mut twin = period().to_record();
    twin.id = marked.id().clone();
    let twin = payments_domain::period::ReportingPeriod::from(twin);
    assert_eq!(store.insert_period(&twin).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.get_period(marked.id()).await.unwrap(), Some(marked.clone()));

    let summary = marked.with_document(document("Summary", "<summary/>"));
    store.update_period(&summary, marked.revision()).await.unwrap();
    let details = summary.with_document(document("Details", &"<row/>".repeat(20_000)));
    store.update_period(&details, summary.revision()).await.unwrap();
    // Replacing a document keeps one copy of it.
    let replaced = details.with_document(document("Summary", "<summary version=\"2\"/>"));
    store.update_period(&replaced, details.revision()).await.unwrap();
    let reconciled = replaced.with_reconciliation(reconciliation());
    store
        .update_period(&reconciled, replaced.revision())
        .await
        .unwrap();
    assert_eq!(
        store.get_period(marked.id()).await.unwrap(),
        Some(reconciled.clone())
    );

    assert_eq!(
        store.update_period(&summary, marked.revision()).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get_period(marked.id()).await.unwrap(), Some(reconciled));
}

async fn a_busy_shops_report_is_kept_in_parts_and_stale_parts_are_removed(backend: Backend) {
    let (t, store) = store(backend).await;
    let marked = period();
    store.insert_period(&marked).await.unwrap();
    // About 15,000 transactions: some 3 MB of XML, far over DynamoDB's 400 KB item limit (a shop with
    // 1,500 transactions a period already passed it).
    let details = marked
        .with_document(document("summary", "<s/>"))
        .with_document(document("details", &details_report(15_000)));
    store.update_period(&details, marked.revision()).await.unwrap();
    assert_eq!(
        store.get_period(marked.id()).await.unwrap(),
        Some(details.clone())
    );
    let items_of_period = || async {
        t.client
            .query()
            .table_name(&t.table_name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", attrs::PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::period(marked.id()).pk))
            .consistent_read(true)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count()
    };
    let parted = items_of_period().await;
    assert!(
        parted > 3,
        "the period item, the summary and several parts of the details: {parted}"
    );
    // A smaller report replaces it: the parts it no longer needs are deleted with the same write.
    let smaller = details.with_document(document("details", &details_report(10)));
    store.update_period(&smaller, details.revision()).await.unwrap();
    assert_eq!(items_of_period().await, 3);
    assert_eq!(store.get_period(marked.id()).await.unwrap(), Some(smaller));
}

async fn the_latest_earlier_period_of_a_scope_is_found(backend: Backend) {
    use payments_domain::ids::Timestamp;
    use payments_domain::period::{PeriodScope, ReportingPeriod};
    let (_t, store) = store(backend).await;
    let terminal = period();
    let at = |scope: &PeriodScope, millis: i64| {
        let mut record = period().to_record();
        record.scope = scope.clone();
        record.marked_at = Timestamp::from_unix_millis(millis);
        ReportingPeriod::from(record)
    };
    let first = at(&PeriodScope::Shop, 1_700_000_000_000);
    let second = at(&PeriodScope::Shop, 1_700_086_400_000);
    let other = at(terminal.scope(), 1_700_050_000_000);
    for p in [&second, &first, &other] {
        store.insert_period(p).await.unwrap();
    }
    // The stored copy, with a document, is what comes back.
    let second_doc = second.with_document(document("Summary", "<s/>"));
    store.update_period(&second_doc, second.revision()).await.unwrap();
    let latest = |scope: PeriodScope, before: i64| {
        let store = &store;
        async move {
            store
                .latest_period_before(&scope, Timestamp::from_unix_millis(before))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        latest(PeriodScope::Shop, 1_800_000_000_000).await,
        Some(second_doc)
    );
    assert_eq!(
        latest(PeriodScope::Shop, 1_700_086_400_000).await,
        Some(first.clone())
    );
    assert_eq!(latest(PeriodScope::Shop, 1_700_000_000_000).await, None);
    assert_eq!(
        latest(terminal.scope().clone(), 1_800_000_000_000).await,
        Some(other)
    );
}

async fn idempotency_begin_complete_and_conflict(backend: Backend) {
    let (t, store) = store(backend).await;
    let now = now();
    let first = idempotency_record(Operation::CreatePayment, "order-42", "body A", now);
    assert_eq!(
        store.insert_idempotency_record(&first).await.unwrap(),
        IdempotencyInsert::Inserted
    );

    // TTL attribute: epoch seconds.
    let raw = raw_item(&t, keys::idempotency(first.operation, &first.key))
        .await
        .unwrap();
    let ttl = (first.expires_at.unix_millis() + 999) / 1000;
    assert_eq!(
        raw.get(attrs::EXPIRES_AT),
        Some(&AttributeValue::N(ttl.to_string()))
    );

    // The same key in flight: the existing record comes back, and its fingerprint decides.
    let same = idempotency_record(Operation::CreatePayment, "order-42", "body A", now);
    let IdempotencyInsert::Existing(existing) = store.insert_idempotency_record(&same).await.unwrap() else {
        panic!("the key is taken");
    };
    assert_eq!(existing, first);
    assert!(matches!(
        evaluate(&existing, &same.fingerprint, now, SideEffect::NotRepeatable),
        Begin::RetryLater { .. }
    ));
    let other_body = idempotency_record(Operation::CreatePayment, "order-42", "body B", now);
    let IdempotencyInsert::Existing(existing) = store.insert_idempotency_record(&other_body).await.unwrap()
    else {
        panic!("the key is taken");
    };
    assert_eq!(
        evaluate(&existing, &other_body.fingerprint, now, SideEffect::NotRepeatable),
        Begin::Conflict
    );

    // The same key under another operation is another record.
    let other_operation = idempotency_record(Operation::RequestRefund, "order-42", "body A", now);
    assert_eq!(
        store.insert_idempotency_record(&other_operation).await.unwrap(),
        IdempotencyInsert::Inserted
    );

    // Completing it; a stale completion fails; a replay sees the outcome.
    let outcome = outcomes().remove(0);
    let done = first.completed(outcome.clone());
    store
        .replace_idempotency_record(&done, first.revision)
        .await
        .unwrap();
    assert_eq!(
        store.replace_idempotency_record(&done, first.revision).await,
        Err(StoreError::ConditionFailed)
    );
    let IdempotencyInsert::Existing(existing) = store.insert_idempotency_record(&same).await.unwrap() else {
        panic!("the key is taken");
    };
    assert_eq!(
        evaluate(&existing, &same.fingerprint, now, SideEffect::NotRepeatable),
        Begin::Replay(outcome)
    );

    // Deleting needs the current revision.
    let key = IdempotencyKey::parse("order-42").unwrap();
    assert_eq!(
        store
            .delete_idempotency_record(Operation::CreatePayment, &key, first.revision)
            .await,
        Err(StoreError::ConditionFailed)
    );
    store
        .delete_idempotency_record(Operation::CreatePayment, &key, done.revision)
        .await
        .unwrap();
    assert_eq!(
        store.insert_idempotency_record(&same).await.unwrap(),
        IdempotencyInsert::Inserted
    );
}

async fn an_expired_idempotency_record_is_returned_and_can_be_taken_over(store: impl ContractStore) {
    let long_ago = at(now().unix_millis() - 2 * 24 * 60 * 60 * 1000);
    let old = idempotency_record(Operation::RegisterTerminal, "till-7", "body A", long_ago);
    store.insert_idempotency_record(&old).await.unwrap();

    // TTL has not removed it yet: the insert returns it, and the domain sees it expired.
    let now = now();
    let fresh = idempotency_record(Operation::RegisterTerminal, "till-7", "body B", now);
    let IdempotencyInsert::Existing(existing) = store.insert_idempotency_record(&fresh).await.unwrap() else {
        panic!("the expired record is still stored");
    };
    let Begin::TakeOver { expected } =
        evaluate(&existing, &fresh.fingerprint, now, SideEffect::NotRepeatable)
    else {
        panic!("an expired record is taken over");
    };
    let taken = fresh.restarted_over(&existing);
    store.replace_idempotency_record(&taken, expected).await.unwrap();
    let IdempotencyInsert::Existing(stored) = store.insert_idempotency_record(&fresh).await.unwrap() else {
        panic!("the key is taken");
    };
    assert_eq!(stored, taken);
    assert!(matches!(stored.state, IdempotencyState::InProgress { .. }));
}

async fn the_same_idempotency_key_from_two_tasks_at_once_has_one_owner(store: impl ContractStore) {
    let store = Arc::new(store);
    let now = now();
    let results = at_once(["body A", "body A"], |body| {
        let store = store.clone();
        let record = idempotency_record(Operation::RequestRefund, "refund-key", body, now);
        async move { (store.insert_idempotency_record(&record).await.unwrap(), record) }
    })
    .await;
    let inserted = results
        .iter()
        .filter(|(r, _)| *r == IdempotencyInsert::Inserted)
        .count();
    assert_eq!(inserted, 1, "{results:?}");
    let (IdempotencyInsert::Existing(existing), mine) = results
        .iter()
        .find(|(r, _)| *r != IdempotencyInsert::Inserted)
        .unwrap()
    else {
        panic!("the other task sees the owner's record");
    };
    assert!(matches!(
        evaluate(existing, &mine.fingerprint, now, SideEffect::NotRepeatable),
        Begin::RetryLater { .. }
    ));
}

async fn connections_are_listed_by_payment_until_they_expire_or_are_deleted(backend: Backend) {
    let (t, store) = store(backend).await;
    let payment = pending_payment(100);
    let later = at(now().unix_millis() + 600_000);
    let live = connection(payment.id(), later);
    let expired = connection(payment.id(), at(now().unix_millis() - 1_000));
    let elsewhere = connection(pending_payment(100).id(), later);
    for c in [&live, &expired, &elsewhere] {
        store.put_connection(c).await.unwrap();
    }
    // Refreshing a connection is a plain overwrite.
    store.put_connection(&live).await.unwrap();
    let raw = raw_item(&t, keys::connection(&live.connection_id)).await.unwrap();
    let ttl = (later.unix_millis() + 999) / 1000;
    assert_eq!(
        raw.get(attrs::EXPIRES_AT),
        Some(&AttributeValue::N(ttl.to_string()))
    );

    let mut found = Vec::new();
    for _ in 0..50 {
        found = store.connections_for_payment(payment.id()).await.unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found, vec![live.clone()]);

    store.delete_connection(&live.connection_id).await.unwrap();
    store.delete_connection(&live.connection_id).await.unwrap();
    assert_eq!(raw_item(&t, keys::connection(&live.connection_id)).await, None);
}

async fn a_connection_is_read_by_its_id_at_once_after_it_is_stored(store: impl ContractStore) {
    let payment = pending_payment(100);
    let live = connection(payment.id(), at(now().unix_millis() + 600_000));
    let expired = connection(payment.id(), at(now().unix_millis() - 1_000));
    assert_eq!(store.connection(&live.connection_id).await.unwrap(), None);
    store.put_connection(&live).await.unwrap();
    store.put_connection(&expired).await.unwrap();
    // No waiting: the read is consistent, unlike the index of a payment's connections.
    assert_eq!(
        store.connection(&live.connection_id).await.unwrap(),
        Some(live.clone())
    );
    // An expired connection the TTL has not removed yet is answered as stored; the caller judges it.
    assert_eq!(
        store.connection(&expired.connection_id).await.unwrap(),
        Some(expired.clone())
    );
    store.delete_connection(&live.connection_id).await.unwrap();
    assert_eq!(store.connection(&live.connection_id).await.unwrap(), None);
}

async fn a_malformed_stored_item_is_reported_with_its_attribute(backend: Backend) {
    let (t, store) = store(backend).await;
    let payment = pending_payment(100);
    let mut item = mapping::payment_item(&payment);
    item.insert(
        attrs::REFUND_RESERVED.to_owned(),
        AttributeValue::S("lots".to_owned()),
    );
    t.client
        .put_item()
        .table_name(&t.table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    match store.get_payment(payment.id()).await {
        Err(StoreError::Malformed { attribute, .. }) => assert_eq!(attribute, attrs::REFUND_RESERVED),
        other => panic!("expected a malformed item, got {other:?}"),
    }
    // The broken item still occupies its key: an insert does not silently replace it.
    assert_eq!(
        store.insert_payment(&payment).await,
        Err(StoreError::ConditionFailed)
    );
}

async fn the_same_key_with_two_payloads_at_once_is_a_conflict_for_the_loser(store: impl ContractStore) {
    let store = Arc::new(store);
    let now = now();
    let results = at_once(["body A", "body B"], |body| {
        let store = store.clone();
        let record = idempotency_record(Operation::CreatePayment, "shared-key", body, now);
        async move { (store.insert_idempotency_record(&record).await.unwrap(), record) }
    })
    .await;
    assert_eq!(
        results
            .iter()
            .filter(|(r, _)| *r == IdempotencyInsert::Inserted)
            .count(),
        1,
        "{results:?}"
    );
    let (winner_result, winner) = results
        .iter()
        .find(|(r, _)| *r == IdempotencyInsert::Inserted)
        .unwrap();
    let (IdempotencyInsert::Existing(existing), loser) =
        results.iter().find(|(r, _)| r != winner_result).unwrap()
    else {
        panic!("the loser sees the winner's record");
    };
    assert_eq!(
        existing, winner,
        "the record returned in the failed put is the winner's"
    );
    assert_eq!(
        evaluate(existing, &loser.fingerprint, now, SideEffect::NotRepeatable),
        Begin::Conflict
    );
}

async fn receipts_due_are_listed_least_recently_tried_first_until_sent_or_given_up(
    store: impl ContractStore,
) {
    let base = 1_700_000_000_000;
    let far = at(i64::MAX / 2);
    assert!(store.payments_with_receipt_due(far, 10).await.unwrap().is_empty());
    let pending = pending_payment(100);
    store.insert_payment(&pending).await.unwrap();
    assert!(
        store.payments_with_receipt_due(far, 10).await.unwrap().is_empty(),
        "an unpaid payment owes no receipt"
    );
    let first = paid_in_store(&store, 100).await;
    let second = paid_in_store(&store, 200).await;
    // The first was tried once already: the never-tried one comes first.
    let tried = first.receipt_attempt_failed(at(base + 5_000), None).unwrap();
    store.update_payment(&tried, first.revision()).await.unwrap();
    assert_eq!(
        store.get_payment(first.id()).await.unwrap().unwrap().receipt(),
        ReceiptState::Pending {
            attempts: 1,
            last_attempt_at: Some(at(base + 5_000))
        }
    );
    let due: Vec<_> = store
        .payments_with_receipt_due(far, 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id().clone())
        .collect();
    assert_eq!(due, vec![second.id().clone(), first.id().clone()]);
    assert_eq!(store.payments_with_receipt_due(far, 1).await.unwrap().len(), 1);

    let sent = second.receipt_sent(at(base + 6_000)).unwrap();
    store.update_payment(&sent, second.revision()).await.unwrap();
    let refused = tried.receipt_attempt_failed(at(base + 7_000), Some(23)).unwrap();
    store.update_payment(&refused, tried.revision()).await.unwrap();
    assert!(store.payments_with_receipt_due(far, 10).await.unwrap().is_empty());
    assert_eq!(store.get_payment(second.id()).await.unwrap().unwrap(), sent);
    assert_eq!(store.get_payment(first.id()).await.unwrap().unwrap(), refused);
    // A receipt does not make the payment pending again: the due-for-check list stays empty.
    assert!(
        store
            .pending_payments_due(at(i64::MAX / 2), 10)
            .await
            .unwrap()
            .iter()
            .all(|p| p.id() == pending.id())
    );
}

async fn a_pos_payment_keeps_its_till_window_and_a_new_one_moves_it(store: impl ContractStore) {
    let t = terminal();
    store.insert_terminal(&t).await.unwrap();
    let payment = pos_payment(100, t.id());
    store.insert_payment(&payment).await.unwrap();
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(stored.pos_window_started_at(), Some(payment.created_at()));
    let later = payment.created_at().plus(std::time::Duration::from_secs(200));
    let again = stored
        .with_new_pos_window(later, std::time::Duration::from_secs(30))
        .unwrap();
    store.update_payment(&again, stored.revision()).await.unwrap();
    let stored = store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(stored, again);
    assert_eq!(stored.pos_window_started_at(), Some(later));
}

/// `payment` with the id made of `byte`, so a test can choose where it sorts among equal times.
fn with_id(payment: &Payment, byte: u8) -> Payment {
    let mut record = payment.to_record();
    record.id = payments_domain::ids::PaymentId::from_random([byte; 16]);
    Payment::try_from(record).unwrap()
}

async fn a_due_payment_is_found_behind_more_than_limit_young_ones_with_lower_ids(store: impl ContractStore) {
    let base = 1_700_000_000_000;
    // The due payment, never checked, created first but with the highest id.
    let due = with_id(&pending_payment_at(100, at(base)), 0xff);
    store.insert_payment(&due).await.unwrap();
    // More young never-checked payments than the query's limit, every one with a lower id.
    for byte in 1..=5 {
        let young = with_id(&pending_payment_at(100, at(base + 5_000)), byte);
        store.insert_payment(&young).await.unwrap();
    }
    let found = store.pending_payments_due(at(base + 1), 3).await.unwrap();
    let ids: Vec<_> = found.iter().map(|p| p.id().clone()).collect();
    assert_eq!(ids, vec![due.id().clone()], "only the due payment");
    // Once they are due too, the oldest comes first, then the ids in order.
    let all = store.pending_payments_due(at(base + 5_001), 3).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].id(), due.id());
    assert!(all[1].id().as_str() < all[2].id().as_str());
}

async fn a_receipt_retry_not_yet_due_takes_no_place_from_a_due_one(store: impl ContractStore) {
    let base = 1_700_000_000_000;
    // Tried three times, last at `base`: due again 8 s later. Low id.
    let waiting_pending = with_id(&pending_payment(100), 0x01);
    store.insert_payment(&waiting_pending).await.unwrap();
    let waiting = paid(&waiting_pending, at(base - 10_000));
    store
        .update_payment(&waiting, waiting_pending.revision())
        .await
        .unwrap();
    let mut tried = waiting.clone();
    for _ in 0..3 {
        let next = tried.receipt_attempt_failed(at(base), None).unwrap();
        store.update_payment(&next, tried.revision()).await.unwrap();
        tried = next;
    }
    assert_eq!(tried.receipt().due_at(), Some(at(base + 8_000)));
    // Tried once, later (at base + 1 s): due again 2 s after that. High id.
    let due_pending = with_id(&pending_payment(100), 0xfe);
    store.insert_payment(&due_pending).await.unwrap();
    let due = paid(&due_pending, at(base - 10_000));
    store.update_payment(&due, due_pending.revision()).await.unwrap();
    let due_tried = due.receipt_attempt_failed(at(base + 1_000), None).unwrap();
    store.update_payment(&due_tried, due.revision()).await.unwrap();

    let found = store
        .payments_with_receipt_due(at(base + 4_000), 1)
        .await
        .unwrap();
    assert_eq!(found, vec![due_tried.clone()]);
    let found = store
        .payments_with_receipt_due(at(base + 4_000), 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the waiting retry is not listed before its time");
    let found = store
        .payments_with_receipt_due(at(base + 8_000), 10)
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|p| p.id().clone()).collect();
    assert_eq!(
        ids,
        vec![due.id().clone(), waiting.id().clone()],
        "earliest due first"
    );
}

async fn a_postponed_expiry_leaves_the_head_of_the_expiry_index(store: impl ContractStore) {
    let base = 1_700_000_000_000;
    let stuck = pending_payment_at(100, at(base));
    let behind = pending_payment_at(100, at(base + 1_000));
    for p in [&stuck, &behind] {
        store.insert_payment(p).await.unwrap();
    }
    let now = at(base + 125_000);
    assert_eq!(
        store.pending_payments_expired(now, 1).await.unwrap(),
        vec![stuck.clone()]
    );
    let postponed = stuck.expiry_postponed(now.plus(Duration::from_secs(30))).unwrap();
    store.update_payment(&postponed, stuck.revision()).await.unwrap();
    assert_eq!(
        store.pending_payments_expired(now, 1).await.unwrap(),
        vec![behind.clone()]
    );
    let later = now.plus(Duration::from_secs(30));
    let ids: Vec<_> = store
        .pending_payments_expired(later, 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id().clone())
        .collect();
    assert_eq!(ids, vec![behind.id().clone(), stuck.id().clone()]);
}
