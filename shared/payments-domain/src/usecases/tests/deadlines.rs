//! The use cases inside an invocation's deadline: every Glase call bounded by what is left, keeping back
//! what must still follow (see the module docs of [`crate::usecases`], "Deadlines").

use std::time::Duration;

use crate::ids::{StatusVersion, Timestamp};
use crate::order::tests::{order_of, row, sek};
use crate::payment::{GlaseInvoiceStatus, PaymentStatus};
use crate::ports::{Clock, GlaseGateway, GlaseTerminal};
use crate::testing::{FakeDeps, GlaseCall};

use super::{from_calls, glase_calls, keyed, request, store_down, token_of};
use crate::usecases::*;

type TestDeps = FakeDeps;

/// Reserves of 1 s for a store write and 2 s for a cancel, and at least 1 s for sendInvoice: a
/// payment needs 4 s left.
fn deps() -> TestDeps {
    crate::testing::fake_deps(UseCaseSettings {
        public_base_url: "https://pay.example".into(),
        reserves: Reserves {
            store_write: Duration::from_secs(1),
            glase_cancel: Duration::from_secs(2),
            send_invoice_min: Duration::from_secs(1),
        },
        ..UseCaseSettings::default()
    })
}

fn in_ms(d: &TestDeps, ms: u64) -> Timestamp {
    d.clock.now().plus(Duration::from_millis(ms))
}

/// The fakes with one pending webshop payment of 100 öre.
async fn one_pending() -> (TestDeps, CreatedPayment) {
    let d = deps();
    let created = d.create_payment(request(100)).await.unwrap();
    (d, created)
}

/// The fakes whose sendInvoice and cancelInvoice take `send` and `cancel` of the clock's time, and a
/// deadline 10 s ahead.
fn slow_glase(send: Duration, cancel: Duration) -> (TestDeps, Timestamp) {
    let d = deps();
    let deadline = in_ms(&d, 10_000);
    d.glase.set_clock_latency_of("sendInvoice", send);
    d.glase.set_clock_latency_of("cancelInvoice", cancel);
    (d, deadline)
}

/// The last Glase call was `call`, bounded to end one store write (1 s) before `deadline`.
fn assert_last_call_ends_a_write_before(d: &TestDeps, call: &str, deadline: Timestamp) {
    assert_eq!(
        d.glase.call_bounds().last(),
        Some(&(call, Some(deadline.minus(Duration::from_secs(1)))))
    );
}

async fn glase_status(d: &TestDeps, reference: &crate::ids::InvoiceReference) -> GlaseInvoiceStatus {
    d.glase
        .payment_status(&GlaseTerminal::Webshop, reference, StatusVersion::new(0))
        .await
        .unwrap()
        .status
}

#[tokio::test]
async fn no_invoice_is_sent_when_the_time_left_cannot_cover_the_send_the_store_write_and_a_cancel() {
    let d = deps();
    let deadline = in_ms(&d, 3_999);
    let err = d
        .create_payment_within(keyed(100, "short-of-time"), Some(deadline))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        UseCaseError::TooLittleTime {
            left: Duration::from_millis(3_999),
            needed: Duration::from_secs(4),
        }
    );
    assert!(d.glase.calls().is_empty(), "{:?}", d.glase.calls());
    assert!(d.store.payments().is_empty());
    // Nothing changed: the key is free, and the same request with time enough creates the payment.
    assert!(d.store.idempotency_records().is_empty());
    let created = d
        .create_payment_within(keyed(100, "short-of-time"), Some(in_ms(&d, 4_000)))
        .await
        .unwrap();
    assert!(!created.replayed);
    assert_eq!(d.store.payments().len(), 1);
}

#[tokio::test]
async fn send_invoice_must_answer_by_the_deadline_less_a_store_write_and_a_cancel() {
    let d = deps();
    let deadline = in_ms(&d, 10_000);
    d.create_payment_within(request(100), Some(deadline))
        .await
        .unwrap();
    assert_eq!(
        d.glase.call_bounds(),
        vec![("sendInvoice", Some(deadline.minus(Duration::from_secs(3))))]
    );
}

#[tokio::test]
async fn a_late_send_invoice_answer_still_leaves_time_to_cancel_when_the_store_write_fails() {
    // sendInvoice answers at the very end of its share (7 s of the 10), the store write fails, and
    // the cancel takes all of its 2 s reserve and the store write's unused second.
    let (d, deadline) = slow_glase(Duration::from_millis(6_999), Duration::from_millis(3_000));
    d.store.fail_next(store_down("down"));
    assert_err!(
        d.create_payment_within(request(100), Some(deadline)).await,
        UseCaseError::Store(_)
    );
    let cancels = from_calls(&d, |c| match c {
        GlaseCall::CancelInvoice { invoice_reference } => Some(invoice_reference),
        _ => None,
    });
    let reference = cancels.first().expect("the invoice is withdrawn");
    assert!(d.clock.now() <= deadline, "the cancel ended after the deadline");
    assert_eq!(glase_status(&d, reference).await, GlaseInvoiceStatus::Canceled);
    assert_eq!(
        d.glase.call_bounds()[..2],
        [
            ("sendInvoice", Some(deadline.minus(Duration::from_secs(3)))),
            ("cancelInvoice", Some(deadline)),
        ]
    );
}

#[tokio::test]
async fn a_send_invoice_answer_later_than_its_share_ends_as_outcome_unknown_before_the_deadline() {
    // The answer would come after 9 s: past sendInvoice's share (7 s), before the deadline.
    let (d, deadline) = slow_glase(Duration::from_secs(9), Duration::from_secs(2));
    assert_err!(
        d.create_payment_within(keyed(100, "late-answer"), Some(deadline))
            .await,
        UseCaseError::OutcomeUnknown(_)
    );
    // The use case stopped waiting when the share ended, with the kept-back time still ahead.
    assert_eq!(d.clock.now(), deadline.minus(Duration::from_secs(3)));
    assert!(d.store.payments().is_empty());
    // The key remembers the unknown outcome, so the same request is never sent twice.
    assert_err!(
        d.create_payment_within(keyed(100, "late-answer"), Some(in_ms(&d, 10_000)))
            .await,
        UseCaseError::OutcomeUnknown(_)
    );
    assert_eq!(glase_calls(&d, |c| matches!(c, GlaseCall::SendInvoice { .. })), 1);
}

#[tokio::test]
async fn a_notification_gives_get_payment_status_what_is_left_less_the_write_of_its_outcome() {
    let (d, created) = one_pending().await;
    d.glase.pay(created.payment.invoice_reference());
    let deadline = in_ms(&d, 5_000);
    let (paid, _) = d
        .handle_notification_within(created.payment.id(), &token_of(&d), Some(deadline))
        .await
        .unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
    assert_last_call_ends_a_write_before(&d, "getPaymentStatus", deadline);
}

#[tokio::test]
async fn a_notification_whose_status_answer_is_later_than_its_share_ends_before_the_outcome_write() {
    let (d, created) = one_pending().await;
    d.glase.pay(created.payment.invoice_reference());
    d.glase
        .set_clock_latency_of("getPaymentStatus", Duration::from_secs(5));
    let deadline = in_ms(&d, 3_000);
    assert_err!(
        d.handle_notification_within(created.payment.id(), &token_of(&d), Some(deadline))
            .await,
        UseCaseError::OutcomeUnknown(_)
    );
    assert_eq!(d.clock.now(), deadline.minus(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_status_read_gives_get_payment_status_what_is_left_less_the_write_of_its_outcome() {
    let (d, created) = one_pending().await;
    d.clock.advance(Duration::from_secs(2));
    let deadline = in_ms(&d, 6_000);
    let view = d
        .read_payment_within(created.payment.id(), Caller::Merchant, Some(deadline))
        .await
        .unwrap();
    assert!(view.confirmation.is_some());
    assert_last_call_ends_a_write_before(&d, "getPaymentStatus", deadline);
}

#[tokio::test]
async fn a_cancel_gives_cancel_invoice_what_is_left_less_the_write_of_its_outcome() {
    let (d, created) = one_pending().await;
    let deadline = in_ms(&d, 5_000);
    let canceled = d
        .cancel_payment_within(created.payment.id(), Caller::Merchant, Some(deadline))
        .await
        .unwrap();
    assert_eq!(canceled.payment.status(), PaymentStatus::Canceled);
    assert!(canceled.canceled_now);
    assert_last_call_ends_a_write_before(&d, "cancelInvoice", deadline);
}

#[tokio::test]
async fn an_update_gives_update_invoice_what_is_left_less_the_write_of_its_outcome() {
    let (d, created) = one_pending().await;
    let deadline = in_ms(&d, 5_000);
    let order = order_of(vec![row("Tea", sek(250))], sek(250)).unwrap();
    let updated = d
        .update_payment_within(created.payment.id(), order, Some(deadline))
        .await
        .unwrap();
    assert_eq!(updated.order().total(), sek(250));
    assert_last_call_ends_a_write_before(&d, "updateInvoice", deadline);
}

#[tokio::test]
async fn a_cancel_or_update_without_time_for_the_call_and_the_write_asks_and_changes_nothing() {
    let (d, created) = one_pending().await;
    let calls = d.glase.call_count();
    let before = d.store.payments();
    // A store write (1 s) and the least worth giving a Glase call (1 s): 2 s are needed.
    let deadline = in_ms(&d, 1_999);
    let needed = UseCaseError::TooLittleTime {
        left: Duration::from_millis(1_999),
        needed: Duration::from_secs(2),
    };
    let cancel = d
        .cancel_payment_within(created.payment.id(), Caller::Merchant, Some(deadline))
        .await
        .unwrap_err();
    assert_eq!(cancel, needed);
    let order = order_of(vec![row("Tea", sek(250))], sek(250)).unwrap();
    let update = d
        .update_payment_within(created.payment.id(), order, Some(deadline))
        .await
        .unwrap_err();
    assert_eq!(update, needed);
    assert_eq!(d.glase.call_count(), calls);
    assert_eq!(d.store.payments(), before);
}
