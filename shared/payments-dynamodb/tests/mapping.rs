//! Round trips of every item type through its DynamoDB item, the index entries each state carries, and
//! malformed items naming the attribute.

use aws_sdk_dynamodb::types::AttributeValue;
use payments_domain::idempotency::{IdempotencyRecord, IdempotencyState, Operation, StoredOutcome};
use payments_domain::ids::ErsReference;
use payments_domain::ids::PaymentId;
use payments_domain::payment::ReceiptState;
use payments_domain::refund::RefundFailure;
use payments_domain::secret::ClientSecret;
use payments_dynamodb::DynamoError;
use payments_dynamodb::item::Item;
use payments_dynamodb::mapping;
use payments_dynamodb::testing::fixtures::*;
use payments_dynamodb::{attrs, keys};

fn has(item: &Item, name: &str) -> bool {
    item.contains_key(name)
}

fn malformed_attribute(error: DynamoError) -> String {
    match error {
        DynamoError::MalformedItem { attribute, .. } => attribute,
        other => panic!("expected a malformed item, got {other}"),
    }
}

/// `item` with the attribute `name` set to the string `value`.
fn with_string(mut item: Item, name: &str, value: &str) -> Item {
    item.insert(name.to_owned(), AttributeValue::S(value.to_owned()));
    item
}

/// The attribute `from` names when it refuses `item`.
fn malformed_in<T: std::fmt::Debug>(from: fn(&Item) -> Result<T, DynamoError>, item: &Item) -> String {
    malformed_attribute(from(item).unwrap_err())
}

#[test]
fn payments_round_trip_in_every_state() {
    let pending = pending_payment(12_550);
    let paid = paid(&pending, at(1_700_000_050_000));
    let reserved = paid.reserve_refund(sek(1_000)).unwrap();
    let canceled = pending.canceled_by_us(at(1_700_000_060_000)).unwrap();
    let failed = pending
        .observe(&observation("FAILED", 3, at(1_700_000_070_000)))
        .1
        .unwrap();
    let checked = pending.checked_at(at(1_700_000_001_000));
    let pos = pos_payment(500, terminal().id());
    let tried = paid.receipt_attempt_failed(at(1_700_000_051_000), None).unwrap();
    let sent = tried.receipt_sent(at(1_700_000_052_000)).unwrap();
    let refused = paid
        .receipt_attempt_failed(at(1_700_000_053_000), Some(23))
        .unwrap();
    let given_up = {
        let mut p = paid.clone();
        while matches!(p.receipt(), ReceiptState::Pending { .. }) {
            p = p.receipt_attempt_failed(at(1_700_000_054_000), None).unwrap();
        }
        p
    };
    for payment in [
        pending, paid, reserved, canceled, failed, checked, pos, tried, sent, refused, given_up,
    ] {
        let item = mapping::payment_item(&payment);
        assert_eq!(mapping::payment_from(&item).unwrap(), payment);
    }
}

#[test]
fn pending_payments_are_in_the_check_and_expiry_indexes_and_paid_ones_in_lookup_and_timeline() {
    let pending = pending_payment(100);
    let item = mapping::payment_item(&pending);
    assert!(has(&item, attrs::CHECK_PK) && has(&item, attrs::EXPIRY_PK));
    assert!(!has(&item, attrs::LOOKUP_PK) && !has(&item, attrs::TIMELINE_PK));

    // A paid payment whose receipt is due is in `check_due`, but in its own partition.
    let paid_now = paid(&pending, at(1_700_000_050_000));
    let item = mapping::payment_item(&paid_now);
    assert!(!has(&item, attrs::EXPIRY_PK));
    assert_eq!(
        item.get(attrs::CHECK_PK),
        Some(&AttributeValue::S(keys::RECEIPT_DUE.to_owned()))
    );
    assert!(has(&item, attrs::LOOKUP_PK) && has(&item, attrs::TIMELINE_PK));
    let sent = paid_now.receipt_sent(at(1_700_000_051_000)).unwrap();
    let item = mapping::payment_item(&sent);
    assert!(!has(&item, attrs::CHECK_PK) && !has(&item, attrs::EXPIRY_PK));

    let item = mapping::payment_item(&pending.canceled_by_us(at(1)).unwrap());
    for index in [
        attrs::CHECK_PK,
        attrs::EXPIRY_PK,
        attrs::LOOKUP_PK,
        attrs::TIMELINE_PK,
    ] {
        assert!(!has(&item, index), "{index}");
    }
}

#[test]
fn a_payment_never_carries_the_ttl_attribute() {
    let item = mapping::payment_item(&pending_payment(100));
    assert!(!has(&item, attrs::EXPIRES_AT), "TTL would delete the payment");
    assert!(has(&item, attrs::INVOICE_EXPIRES_AT));
}

#[test]
fn refunds_round_trip_in_every_state() {
    let payment = paid(&pending_payment(10_000), at(1_700_000_050_000));
    let queued = refund(&payment, 2_500);
    let sending = queued.start_sending(at(1_700_000_101_000)).unwrap();
    let succeeded = sending
        .succeed(ErsReference::parse(&digits(25)).unwrap(), at(1_700_000_102_000))
        .unwrap();
    let rejected = sending
        .fail(
            RefundFailure::Rejected {
                code: 98,
                description: "REFUND_EXCEEDS".to_owned(),
            },
            at(1_700_000_103_000),
        )
        .unwrap();
    let unsure = sending.needs_reconciliation(at(1_700_000_104_000)).unwrap();
    let absent = unsure
        .fail(RefundFailure::AbsentFromReport, at(1_700_000_105_000))
        .unwrap();
    for refund in [queued, sending, succeeded.clone(), rejected, unsure, absent] {
        let item = mapping::refund_item(&refund);
        assert_eq!(mapping::refund_from(&item).unwrap(), refund);
        assert!(has(&item, attrs::TIMELINE_PK), "every refund is listed by status");
    }
    assert!(
        has(&mapping::refund_item(&succeeded), attrs::LOOKUP_PK),
        "found by its ersReference"
    );
}

#[test]
fn terminals_round_trip_with_their_external_id_item() {
    let fresh = terminal();
    let busy = terminal_with_sticker_and_payment();
    let gone = busy.unregistered(at(1_700_000_900_000)).unwrap();
    for terminal in [fresh, busy, gone] {
        let item = mapping::terminal_item(&terminal);
        assert_eq!(mapping::terminal_from(&item).unwrap(), terminal);
        let external = mapping::terminal_external_item(&terminal);
        assert_eq!(
            &mapping::terminal_external_from(&external).unwrap(),
            terminal.id()
        );
    }
}

#[test]
fn periods_round_trip_with_documents_and_reconciliation() {
    let marked = period();
    let with_documents = marked
        .with_document(document("Reconciliation/STD_RECON_003.xml", "<r/>"))
        .with_document(document("b", "x"));
    let reconciled = with_documents.with_reconciliation(reconciliation());
    for period in [marked, with_documents, reconciled] {
        let (item, documents) = mapping::period_items(&period).unwrap();
        assert_eq!(documents.len(), period.documents().len());
        // Documents are read back in the period's order whatever order the query returns them in.
        let reversed: Vec<Item> = documents.into_iter().rev().collect();
        assert_eq!(mapping::period_from(&item, &reversed).unwrap(), period);
    }
}

#[test]
fn a_large_document_is_stored_compressed_in_parts_that_each_fit_an_item() {
    // 20,000 transactions: about 4 MB of XML, ten times DynamoDB's item limit.
    let details = details_report(20_000);
    assert!(details.len() > 3_500_000, "{}", details.len());
    let period = period()
        .with_document(document("summary", "<s/>"))
        .with_document(document("details", &details));
    let (item, documents) = mapping::period_items(&period).unwrap();
    assert!(documents.len() > 2, "the details take more than one part");
    for part in &documents {
        let bytes = match part.get(attrs::CONTENT_PART) {
            Some(AttributeValue::B(blob)) => blob.as_ref().len(),
            other => panic!("{other:?}"),
        };
        assert!(bytes <= mapping::DOCUMENT_PART_BYTES, "{bytes}");
    }
    let reversed: Vec<Item> = documents.into_iter().rev().collect();
    assert_eq!(mapping::period_from(&item, &reversed).unwrap(), period);
    // A missing middle part is reported, not read as a shorter document.
    let (item, mut documents) = mapping::period_items(&period).unwrap();
    documents.remove(2);
    let error = mapping::period_from(&item, &documents).unwrap_err();
    assert_eq!(malformed_attribute(error), attrs::DOCUMENT_IDS);
}

#[test]
fn documents_too_large_for_one_transaction_are_refused() {
    // Random digits compress to about half: 8 MB of them cannot fit the period's transaction.
    let mut state: u64 = 7;
    let noise: String = (0..8_000_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b'0' + ((state >> 33) % 10) as u8)
        })
        .collect();
    let period = period().with_document(document("details", &noise));
    match mapping::period_items(&period) {
        Err(DynamoError::Rejected { code, .. }) => assert_eq!(code, "DocumentsTooLarge"),
        other => panic!("{:?}", other.map(|(_, d)| d.len())),
    }
}

#[test]
fn a_period_whose_document_is_missing_is_malformed() {
    let period = period().with_document(document("a", "x"));
    let (item, _) = mapping::period_items(&period).unwrap();
    let error = mapping::period_from(&item, &[]).unwrap_err();
    assert_eq!(malformed_attribute(error), attrs::DOCUMENT_IDS);
}

#[test]
fn idempotency_records_round_trip_in_progress_and_with_every_outcome() {
    let now = at(1_700_000_000_123);
    let started = idempotency_record(Operation::CreatePayment, "key-1", "body", now);
    let item = mapping::idempotency_item(&started);
    assert_eq!(mapping::idempotency_from(&item).unwrap(), started);
    for outcome in outcomes() {
        let done = started.completed(outcome);
        assert_eq!(
            mapping::idempotency_from(&mapping::idempotency_item(&done)).unwrap(),
            done
        );
    }
}

/// A started CreatePayment record, and the payment id and client secret of its outcome.
fn started_payment_creation() -> (IdempotencyRecord, PaymentId, ClientSecret) {
    let now = at(1_700_000_000_123);
    let started = idempotency_record(Operation::CreatePayment, "key-1", "body", now);
    (
        started,
        PaymentId::from_random(random()),
        ClientSecret::from_random(random()),
    )
}

#[test]
fn a_payment_created_record_holds_the_payment_id_and_no_client_secret() {
    let (started, payment_id, secret) = started_payment_creation();
    // Even an outcome read from a record of the earlier format, which carries its secret, is written
    // without it.
    let done = started.completed(StoredOutcome::PaymentCreated {
        payment_id: payment_id.clone(),
        stored_client_secret: Some(secret.clone()),
    });
    let item = mapping::idempotency_item(&done);
    assert!(!has(&item, attrs::CLIENT_SECRET));
    let text = format!("{item:?}");
    assert!(!text.contains(&secret.expose()[3..]), "{text}");
    assert_eq!(
        item.get(attrs::PAYMENT_ID),
        Some(&AttributeValue::S(payment_id.as_str().to_owned()))
    );
}

#[test]
fn a_payment_created_record_of_the_earlier_format_reads_back_its_client_secret() {
    let (started, payment_id, secret) = started_payment_creation();
    let mut item = mapping::idempotency_item(&started.completed(StoredOutcome::PaymentCreated {
        payment_id: payment_id.clone(),
        stored_client_secret: None,
    }));
    item.insert(
        attrs::CLIENT_SECRET.to_owned(),
        AttributeValue::S(secret.expose().to_owned()),
    );
    let record = mapping::idempotency_from(&item).unwrap();
    assert_eq!(
        record.state,
        IdempotencyState::Completed {
            outcome: StoredOutcome::PaymentCreated {
                payment_id,
                stored_client_secret: Some(secret),
            }
        }
    );
}

#[test]
fn ttl_items_carry_expiry_in_epoch_seconds_rounded_up() {
    let now = at(1_700_000_000_123);
    let record = idempotency_record(Operation::RequestRefund, "key-2", "body", now);
    let item = mapping::idempotency_item(&record);
    let expected = (record.expires_at.unix_millis() + 999) / 1000;
    assert_eq!(
        item.get(attrs::EXPIRES_AT),
        Some(&AttributeValue::N(expected.to_string()))
    );

    let payment = pending_payment(100);
    let connection = connection(payment.id(), at(1_700_000_060_000));
    let item = mapping::connection_item(&connection);
    assert_eq!(
        item.get(attrs::EXPIRES_AT),
        Some(&AttributeValue::N("1700000060".to_owned()))
    );
    assert_eq!(mapping::connection_from(&item).unwrap(), connection);
}

#[test]
fn a_payment_item_from_before_receipts_owes_none_and_a_bad_receipt_state_is_named() {
    let paid = paid(&pending_payment(100), at(1_700_000_050_000));
    let mut item = mapping::payment_item(&paid);
    for name in [attrs::RECEIPT_STATUS, attrs::RECEIPT_ATTEMPTS, attrs::RECEIPT_AT] {
        item.remove(name);
    }
    assert_eq!(
        mapping::payment_from(&item).unwrap().receipt(),
        ReceiptState::NotDue
    );
    let item = with_string(mapping::payment_item(&paid), attrs::RECEIPT_STATUS, "lost");
    assert_eq!(malformed_in(mapping::payment_from, &item), attrs::RECEIPT_STATUS);
    let mut item = mapping::payment_item(&paid.receipt_sent(at(1_700_000_051_000)).unwrap());
    item.remove(attrs::RECEIPT_AT);
    assert_eq!(malformed_in(mapping::payment_from, &item), attrs::RECEIPT_AT);
}

#[test]
fn a_missing_or_mistyped_attribute_is_named() {
    let pending = mapping::payment_item(&pending_payment(100));
    let mut item = pending.clone();
    item.remove(attrs::CLIENT_SECRET_HASH);
    assert_eq!(
        malformed_in(mapping::payment_from, &item),
        attrs::CLIENT_SECRET_HASH
    );

    let item = with_string(pending.clone(), attrs::GLASE_VERSION, "three");
    assert_eq!(malformed_in(mapping::payment_from, &item), attrs::GLASE_VERSION);

    let item = with_string(pending, attrs::STATUS, "refunded");
    assert_eq!(malformed_in(mapping::payment_from, &item), attrs::STATUS);

    let mut item = mapping::refund_item(&refund(&paid(&pending_payment(100), at(1)), 10));
    item.insert(attrs::REVISION.to_owned(), AttributeValue::N("0".to_owned()));
    assert_eq!(malformed_in(mapping::refund_from, &item), attrs::REVISION);
}

#[test]
fn a_row_with_a_bad_value_is_named_with_its_position() {
    let mut item = mapping::payment_item(&pending_payment(100));
    let Some(AttributeValue::L(rows)) = item.get_mut(attrs::ROWS) else {
        panic!("rows")
    };
    let Some(AttributeValue::M(row)) = rows.get_mut(1) else {
        panic!("row")
    };
    row.insert(attrs::ROW_TOTAL.to_owned(), AttributeValue::S("a lot".to_owned()));
    let attribute = malformed_in(mapping::payment_from, &item);
    assert_eq!(attribute, format!("{}[1].{}", attrs::ROWS, attrs::ROW_TOTAL));
}

#[test]
fn an_item_of_another_type_is_refused() {
    let item = mapping::refund_item(&refund(&paid(&pending_payment(100), at(1)), 10));
    assert_eq!(malformed_in(mapping::payment_from, &item), attrs::ITEM_TYPE);
}
