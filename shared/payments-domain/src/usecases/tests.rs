//! The payment use cases on the in-memory fakes; [`deadlines`]: the same inside an invocation's deadline.

use std::time::Duration;

use crate::idempotency::{FingerprintBuilder, IdempotencyKey, Operation, StoredOutcome};
use crate::order::tests::{order_of, row, sek};
use crate::payment::{GlaseInvoiceStatus, PaymentStatus, PaymentTerminal};
use crate::ports::{Clock, ConnectionId, GlaseError, PaymentStore, PushConnection, StoreError};
use crate::testing::{FakeDeps, GlaseCall, SequentialIds};

use super::*;

/// Asserts that `result` is an error matching `pattern` (shown when it is not), and answers the error.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {{
        let err = $result.unwrap_err();
        assert!(matches!(err, $pattern $(if $guard)?), "{err:?}");
        err
    }};
}
pub(super) use assert_err;

mod deadlines;

type TestDeps = FakeDeps;

fn deps() -> TestDeps {
    crate::testing::fake_deps(UseCaseSettings {
        public_base_url: "https://pay.example".into(),
        ..UseCaseSettings::default()
    })
}

/// Creates [`keyed`]`(500, "k")`.
async fn create_under_k(d: &TestDeps) -> Result<CreatedPayment, UseCaseError> {
    d.create_payment(keyed(500, "k")).await
}

/// The fakes whose next sendInvoice fails with `error`.
fn sending_fails(error: GlaseError) -> TestDeps {
    let d = deps();
    d.glase.fail_next("sendInvoice", error);
    d
}

/// A webshop payment of one row of `total` öre.
pub(super) fn request(total: i64) -> CreatePayment {
    CreatePayment {
        order: order_of(vec![row("Coffee", sek(total))], sek(total)).unwrap(),
        terminal: PaymentTerminal::Webshop,
        idempotency: None,
    }
}

/// [`request`] under the idempotency key `key`.
pub(super) fn keyed(total: i64, key: &str) -> CreatePayment {
    let fp = FingerprintBuilder::new(Operation::CreatePayment)
        .int("total", total)
        .finish();
    CreatePayment {
        idempotency: Some((IdempotencyKey::parse(key).unwrap(), fp)),
        ..request(total)
    }
}

/// What `pick` takes from each Glase call it answers for, in the order of the calls.
pub(super) fn from_calls<T>(d: &TestDeps, pick: impl FnMut(GlaseCall) -> Option<T>) -> Vec<T> {
    d.glase.calls().into_iter().filter_map(pick).collect()
}

/// The token of a notification URL.
fn token_in(url: &str) -> String {
    url.split("token=").nth(1).unwrap().to_owned()
}

/// The notification token of the first invoice sent.
pub(super) fn token_of(d: &TestDeps) -> String {
    let urls = from_calls(d, |c| match c {
        GlaseCall::SendInvoice { notification_url, .. } => Some(notification_url),
        _ => None,
    });
    token_in(&urls[0])
}

/// How many Glase calls `kind` picks out.
pub(super) fn glase_calls(d: &TestDeps, kind: impl Fn(&GlaseCall) -> bool) -> usize {
    d.glase.calls().iter().filter(|c| kind(c)).count()
}

fn status_calls(d: &TestDeps) -> usize {
    glase_calls(d, |c| matches!(c, GlaseCall::PaymentStatus { .. }))
}

pub(super) fn unavailable(reason: &str) -> GlaseError {
    GlaseError::Unavailable {
        reason: reason.into(),
    }
}

pub(super) fn unknown(reason: &str) -> GlaseError {
    GlaseError::OutcomeUnknown {
        reason: reason.into(),
    }
}

pub(super) fn rejected(code: i32, description: &str) -> GlaseError {
    GlaseError::Rejected {
        code,
        description: description.into(),
    }
}

pub(super) fn store_down(reason: &str) -> StoreError {
    StoreError::Unavailable {
        reason: reason.into(),
    }
}

/// An order of one row of `total` öre.
fn coffee(total: i64) -> crate::order::Order {
    order_of(vec![row("Coffee", sek(total))], sek(total)).unwrap()
}

/// Lets the next `calls` store calls pass before a failure set up after this.
fn pass(d: &TestDeps, calls: usize) {
    for _ in 0..calls {
        d.store.pass_next();
    }
}

/// Lets the next `calls` store calls pass and throttles the one after.
fn throttle_after(d: &TestDeps, calls: usize) {
    pass(d, calls);
    d.store.fail_next(StoreError::Throttled);
}

fn payment_of(d: &TestDeps, id: &crate::ids::PaymentId) -> crate::payment::Payment {
    d.store.payments().into_iter().find(|p| p.id() == id).unwrap()
}

/// The fakes with one pending webshop payment of 1 000 öre.
async fn one_pending() -> (TestDeps, CreatedPayment) {
    let d = deps();
    let created = d.create_payment(request(1_000)).await.unwrap();
    (d, created)
}

/// [`one_pending`], paid at Glase (we have not asked Glase yet).
async fn one_paid_at_glase() -> (TestDeps, CreatedPayment) {
    let (d, created) = one_pending().await;
    d.glase.pay(created.payment.invoice_reference());
    (d, created)
}

/// [`one_paid_at_glase`], 9 s later: due for the safety net.
async fn one_due_at_glase() -> (TestDeps, CreatedPayment) {
    let (d, created) = one_paid_at_glase().await;
    d.clock.advance(Duration::from_secs(9));
    (d, created)
}

#[tokio::test]
async fn creating_a_payment_sends_the_invoice_and_stores_it_pending() {
    let d = deps();
    let created = d.create_payment(request(12_550)).await.unwrap();
    assert_eq!(created.payment.status(), PaymentStatus::Pending);
    assert!(
        created
            .payment
            .client_secret_matches(created.client_secret.expose())
    );
    let url = match &d.glase.calls()[0] {
        GlaseCall::SendInvoice {
            notification_url,
            total_minor,
            ..
        } => {
            assert_eq!(*total_minor, 12_550);
            notification_url.clone()
        }
        other => panic!("unexpected {other:?}"),
    };
    assert!(url.starts_with(&format!(
        "https://pay.example/v1/notifications/{}?token=",
        created.payment.id()
    )));
    assert_eq!(d.store.payments().len(), 1);
}

#[tokio::test]
async fn a_glase_rejection_stores_nothing() {
    let d = deps();
    d.glase
        .fail_next("sendInvoice", rejected(49, "INVALID_INVOICE_DATA"));
    let err = d.create_payment(request(100)).await.unwrap_err();
    assert_eq!(
        err,
        UseCaseError::GlaseRejected {
            code: 49,
            description: "INVALID_INVOICE_DATA".into()
        }
    );
    assert!(d.store.payments().is_empty());
}

#[tokio::test]
async fn a_store_failure_after_sending_withdraws_the_invoice() {
    let d = deps();
    d.store.fail_next(store_down("down"));
    assert_err!(d.create_payment(request(100)).await, UseCaseError::Store(_));
    assert!(
        d.glase
            .calls()
            .iter()
            .any(|c| matches!(c, GlaseCall::CancelInvoice { .. }))
    );
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_replay_the_first_payment() {
    let d = deps();
    let first = d.create_payment(keyed(500, "order-1")).await.unwrap();
    let again = d.create_payment(keyed(500, "order-1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.payment.id(), first.payment.id());
    assert_eq!(again.client_secret.expose(), first.client_secret.expose());
    assert_eq!(d.glase.call_count(), 1, "the invoice is sent once");
}

/// Ids of the fakes with another client secret key (or none): a process configured otherwise.
#[derive(Clone, Debug)]
struct KeyedIds(SequentialIds, Option<crate::secret::ClientSecretKey>);

impl crate::ports::IdGenerator for KeyedIds {
    fn random_128(&self) -> [u8; 16] {
        self.0.random_128()
    }

    fn client_secret_key(&self) -> Option<&crate::secret::ClientSecretKey> {
        self.1.as_ref()
    }
}

fn with_ids(d: &TestDeps, key: Option<&str>) -> FakeDeps<KeyedIds> {
    Deps {
        store: d.store.clone(),
        glase: d.glase.clone(),
        queue: d.queue.clone(),
        push: d.push.clone(),
        clock: d.clock.clone(),
        ids: KeyedIds(
            d.ids.clone(),
            key.map(|k| crate::secret::ClientSecretKey::parse(k).unwrap()),
        ),
        settings: d.settings.clone(),
    }
}

fn completed_create(d: &TestDeps) -> StoredOutcome {
    let records = d.store.idempotency_records();
    assert_eq!(records.len(), 1, "{records:?}");
    match &records[0].state {
        crate::idempotency::IdempotencyState::Completed { outcome } => outcome.clone(),
        other => panic!("the record is not completed: {other:?}"),
    }
}

#[tokio::test]
async fn the_idempotency_record_keeps_the_payment_id_and_no_client_secret() {
    let d = deps();
    let first = d.create_payment(keyed(500, "order-1")).await.unwrap();
    assert_eq!(
        completed_create(&d),
        StoredOutcome::PaymentCreated {
            payment_id: first.payment.id().clone(),
            stored_client_secret: None,
        }
    );
    // The secret derives from the payment id, so a replay answers it again, and it opens the payment.
    let again = d.create_payment(keyed(500, "order-1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.client_secret.expose(), first.client_secret.expose());
    assert!(again.payment.client_secret_matches(again.client_secret.expose()));
}

#[tokio::test]
async fn a_record_of_the_earlier_format_replays_the_secret_it_holds() {
    let d = deps();
    let first = d.create_payment(keyed(500, "order-1")).await.unwrap();
    // What a record written before client secrets were derived holds: the secret itself.
    let mut record = d.store.idempotency_records().remove(0);
    record.state = crate::idempotency::IdempotencyState::Completed {
        outcome: StoredOutcome::PaymentCreated {
            payment_id: first.payment.id().clone(),
            stored_client_secret: Some(first.client_secret.clone()),
        },
    };
    let expected = record.revision;
    record.revision = expected.next();
    d.store
        .replace_idempotency_record(&record, expected)
        .await
        .unwrap();
    // A process without the key still answers it: the stored secret is used, nothing is derived.
    let again = with_ids(&d, None)
        .create_payment(keyed(500, "order-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.client_secret.expose(), first.client_secret.expose());
    assert_eq!(d.glase.call_count(), 1, "the invoice is sent once");
}

#[tokio::test]
async fn a_replay_under_another_key_is_refused_rather_than_answering_a_wrong_secret() {
    let d = deps();
    d.create_payment(keyed(500, "order-1")).await.unwrap();
    assert_err!(
        with_ids(&d, Some("another client secret key, 32+ bytes"))
            .create_payment(keyed(500, "order-1"))
            .await,
        UseCaseError::NotConfigured(_)
    );
}

#[tokio::test]
async fn without_a_client_secret_key_nothing_is_sent_and_the_key_stays_free() {
    let d = deps();
    assert_err!(
        with_ids(&d, None).create_payment(keyed(500, "order-1")).await,
        UseCaseError::NotConfigured(_)
    );
    assert_eq!(d.glase.call_count(), 0);
    assert!(d.store.payments().is_empty());
    assert!(d.store.idempotency_records().is_empty());
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_a_conflict() {
    let d = deps();
    d.create_payment(keyed(500, "order-1")).await.unwrap();
    let err = d.create_payment(keyed(600, "order-1")).await.unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused));
    assert_eq!(d.glase.call_count(), 1);
}

#[tokio::test]
async fn a_key_whose_first_request_never_reached_glase_can_be_used_again() {
    let d = sending_fails(unavailable("refused"));
    assert_err!(create_under_k(&d).await, UseCaseError::GlaseUnavailable(_));
    assert!(d.store.idempotency_records().is_empty(), "the key is freed");
    create_under_k(&d).await.unwrap();
}

#[tokio::test]
async fn an_ambiguous_send_is_never_repeated_under_the_same_key() {
    let d = sending_fails(unknown("timeout"));
    assert_err!(create_under_k(&d).await, UseCaseError::OutcomeUnknown(_));
    assert_err!(create_under_k(&d).await, UseCaseError::OutcomeUnknown(_));
    assert_eq!(d.glase.call_count(), 1);
}

#[tokio::test]
async fn a_notification_confirms_with_glase_and_records_the_payment_as_paid() {
    let (d, created) = one_paid_at_glase().await;
    let (payment, outcome) = d
        .handle_notification(created.payment.id(), &token_of(&d))
        .await
        .unwrap();
    assert_eq!(payment.status(), PaymentStatus::Paid);
    assert!(payment.ers_reference().is_some());
    assert!(outcome.unwrap().changed());
    assert_eq!(d.store.payments()[0].status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn a_wrong_token_or_unknown_payment_is_not_found_and_glase_is_not_asked() {
    let (d, created) = one_pending().await;
    let calls = d.glase.call_count();
    let err = d
        .handle_notification(created.payment.id(), "00000000000000000000000000000000")
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::NotFound("payment"));
    let other = crate::ids::PaymentId::from_random([9; 16]);
    assert_eq!(
        d.handle_notification(&other, &token_of(&d)).await.unwrap_err(),
        UseCaseError::NotFound("payment")
    );
    assert_eq!(d.glase.call_count(), calls);
}

#[tokio::test]
async fn a_duplicate_notification_changes_nothing_and_asks_glase_once() {
    let (d, created) = one_paid_at_glase().await;
    let token = token_of(&d);
    d.handle_notification(created.payment.id(), &token).await.unwrap();
    let writes = d.store.writes();
    let (again, outcome) = d.handle_notification(created.payment.id(), &token).await.unwrap();
    assert_eq!(again.status(), PaymentStatus::Paid);
    assert!(outcome.is_none());
    assert_eq!(d.store.writes(), writes);
    assert_eq!(status_calls(&d), 1);
}

#[tokio::test]
async fn notifications_of_one_payment_ask_glase_at_most_once_a_second() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    let token = token_of(&d);
    // The first notification asks at once, even right after the invoice was sent.
    let (_, outcome) = d.handle_notification(&id, &token).await.unwrap();
    assert!(outcome.is_some());
    assert_eq!(status_calls(&d), 1);
    // A flood inside the second is answered from the store.
    for _ in 0..5 {
        let (payment, outcome) = d.handle_notification(&id, &token).await.unwrap();
        assert_eq!(payment.status(), PaymentStatus::Pending);
        assert!(outcome.is_none());
    }
    assert_eq!(status_calls(&d), 1);
    d.clock.advance(Duration::from_millis(1_000));
    d.glase.pay(created.payment.invoice_reference());
    let (paid, outcome) = d.handle_notification(&id, &token).await.unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
    assert!(outcome.unwrap().changed());
    assert_eq!(status_calls(&d), 2);
}

#[tokio::test]
async fn a_status_read_just_before_does_not_delay_the_first_notification() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    d.clock.advance(Duration::from_millis(1_000));
    d.read_payment(&id, Caller::Merchant).await.unwrap();
    assert_eq!(status_calls(&d), 1, "the read claimed this second's check");
    d.glase.pay(created.payment.invoice_reference());
    let (paid, _) = d.handle_notification(&id, &token_of(&d)).await.unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
    assert_eq!(status_calls(&d), 2, "the notification asked Glase at once");
}

#[tokio::test]
async fn a_notification_whose_glase_call_failed_lets_the_next_one_ask_at_once() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    let token = token_of(&d);
    d.glase
        .fail_next("getPaymentStatus", unavailable("connection refused"));
    assert!(d.handle_notification(&id, &token).await.is_err());
    d.glase.pay(created.payment.invoice_reference());
    let (paid, _) = d.handle_notification(&id, &token).await.unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn a_notification_asks_glase_even_when_its_claim_cannot_be_stored() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    let token = token_of(&d);
    d.glase.pay(created.payment.invoice_reference());
    // The payment's read passes, the claim is throttled, the confirmation's write passes.
    d.store.pass_next();
    d.store.fail_next(StoreError::Throttled);
    let (paid, _) = d.handle_notification(&id, &token).await.unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
    assert_eq!(status_calls(&d), 1);
}

#[tokio::test]
async fn reading_a_pending_payment_asks_glase_at_most_once_a_second() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    let secret = created.client_secret.expose().to_owned();
    d.read_payment(&id, Caller::ClientSecret(&secret)).await.unwrap();
    assert_eq!(
        status_calls(&d),
        0,
        "an invoice sent less than a second ago is not asked about"
    );
    d.clock.advance(Duration::from_millis(1_000));
    d.read_payment(&id, Caller::ClientSecret(&secret)).await.unwrap();
    d.read_payment(&id, Caller::ClientSecret(&secret)).await.unwrap();
    assert_eq!(status_calls(&d), 1);
    d.clock.advance(Duration::from_millis(1_000));
    d.glase.pay(created.payment.invoice_reference());
    let view = d.read_payment(&id, Caller::ClientSecret(&secret)).await.unwrap();
    assert_eq!(status_calls(&d), 2);
    assert_eq!(
        view.payment.status(),
        PaymentStatus::Paid,
        "a polling reader confirms the payment"
    );
    d.clock.advance(Duration::from_secs(5));
    d.read_payment(&id, Caller::Merchant).await.unwrap();
    assert_eq!(status_calls(&d), 2, "a final payment is served from the store");
}

#[tokio::test]
async fn a_wrong_client_secret_reads_nothing() {
    let (d, created) = one_pending().await;
    let err = d
        .read_payment(created.payment.id(), Caller::ClientSecret("nope"))
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::NotFound("payment"));
    assert_eq!(status_calls(&d), 0);
}

#[tokio::test]
async fn a_status_change_is_pushed_and_gone_connections_are_forgotten() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    for c in ["live-1", "gone-1"] {
        d.store
            .put_connection(&PushConnection {
                connection_id: ConnectionId::parse(c).unwrap(),
                payment_id: id.clone(),
                expires_at: d.clock.now().plus(Duration::from_secs(3600)),
            })
            .await
            .unwrap();
    }
    d.glase.pay(created.payment.invoice_reference());
    d.handle_notification(&id, &token_of(&d)).await.unwrap();
    let pushed = d.push.pushed();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].0.as_str(), "live-1");
    assert_eq!(pushed[0].1.status, PaymentStatus::Paid);
    let left = d.store.connections_for_payment(&id).await.unwrap();
    assert_eq!(left.len(), 1, "the gone connection was deleted");
}

#[tokio::test]
async fn cancelling_a_pending_payment_cancels_the_invoice() {
    let (d, created) = one_pending().await;
    let payment = cancel(&d, &created).await.unwrap();
    assert_eq!(payment.status(), PaymentStatus::Canceled);
    // Cancelling again answers the canceled payment without a Glase call.
    let calls = d.glase.call_count();
    assert_eq!(
        cancel(&d, &created).await.unwrap().status(),
        PaymentStatus::Canceled
    );
    assert_eq!(d.glase.call_count(), calls);
}

#[tokio::test]
async fn cancelling_a_payment_glase_holds_as_paid_records_it_paid_and_conflicts() {
    let (d, created) = one_paid_at_glase().await;
    let err = cancel(&d, &created).await.unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::AlreadyPaid));
    assert_eq!(
        d.store.payments()[0].status(),
        PaymentStatus::Paid,
        "the payment was confirmed, not lost"
    );
}

#[tokio::test]
async fn cancelling_while_the_shopper_pays_is_a_conflict() {
    let (d, created) = one_pending().await;
    d.glase.fail_next("cancelInvoice", rejected(51, "IN_PROGRESS"));
    let err = cancel(&d, &created).await.unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::PaymentInProgress));
    assert_eq!(d.store.payments()[0].status(), PaymentStatus::Pending);
}

#[tokio::test]
async fn an_already_cancelled_invoice_counts_as_cancelled() {
    let (d, created) = one_pending().await;
    d.glase
        .set_status(created.payment.invoice_reference(), GlaseInvoiceStatus::Canceled);
    let payment = cancel(&d, &created).await.unwrap();
    assert_eq!(payment.status(), PaymentStatus::Canceled);
}

#[tokio::test]
async fn updating_a_pending_payment_replaces_its_order_and_token() {
    let (d, created) = one_pending().await;
    let old_token = token_of(&d);
    let order = coffee(1_500);
    let updated = d.update_payment(created.payment.id(), order).await.unwrap();
    assert_eq!(updated.amount(), sek(1_500));
    assert!(
        !updated.notification_token_matches(&old_token),
        "the old token is retired"
    );
    assert!(d.glase.calls().iter().any(|c| matches!(
        c,
        GlaseCall::UpdateInvoice {
            total_minor: 1_500,
            ..
        }
    )));
}

#[tokio::test]
async fn an_update_made_from_the_current_order_sees_it_and_a_refused_one_sends_and_stores_nothing() {
    let (d, created) = one_pending().await;
    let id = created.payment.id();
    let before = d.store.payments();
    let refused = d
        .update_payment_with(id, |current| Err(current.total()), None)
        .await
        .unwrap();
    assert_eq!(refused, Err(sek(1_000)), "the edit got the stored order");
    assert!(update_tokens(&d).is_empty(), "nothing was sent");
    assert_eq!(d.store.payments(), before, "nothing was stored");

    let updated = d
        .update_payment_with(id, |_| Ok::<_, ()>(coffee(1_500)), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.amount(), sek(1_500));
    assert_eq!(update_tokens(&d).len(), 1);

    let unknown = crate::ids::PaymentId::from_random([9; 16]);
    let err = d
        .update_payment_with(
            &unknown,
            |_| -> Result<_, ()> { panic!("no order to edit") },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::NotFound("payment"));
}

async fn cancel(d: &TestDeps, created: &CreatedPayment) -> Result<crate::payment::Payment, UseCaseError> {
    d.cancel_payment(created.payment.id(), Caller::Merchant).await
}

/// Connects `conn` to the payment with its client secret, for a minute.
async fn connect(d: &TestDeps, created: &CreatedPayment, conn: &ConnectionId) -> crate::ports::StatusUpdate {
    d.connect(
        created.payment.id(),
        created.client_secret.expose(),
        conn,
        Duration::from_secs(60),
    )
    .await
    .unwrap()
}

/// How many connections the store lists for the payment `id`.
async fn listeners(d: &TestDeps, id: &crate::ids::PaymentId) -> usize {
    d.store.connections_for_payment(id).await.unwrap().len()
}

/// Updates the payment `id` to [`coffee`]`(1_500)` while the payment's read and the next token's write
/// pass and every store call after updateInvoice fails with `failure`; the store recovers after.
async fn update_not_recorded(d: &TestDeps, id: &crate::ids::PaymentId, failure: StoreError) -> UseCaseError {
    pass(d, 2);
    d.store.go_down(failure);
    let err = d.update_payment(id, coffee(1_500)).await.unwrap_err();
    d.store.recover();
    err
}

fn update_tokens(d: &TestDeps) -> Vec<String> {
    from_calls(d, |c| match c {
        GlaseCall::UpdateInvoice { notification_url, .. } => Some(token_in(&notification_url)),
        _ => None,
    })
}

#[tokio::test]
async fn an_update_glase_took_but_the_store_did_not_is_not_reported_as_nothing_changed() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    let err = update_not_recorded(&d, &id, StoreError::Throttled).await;
    assert!(matches!(err, UseCaseError::NotRecorded(_)), "{err:?}");
    assert_eq!(update_tokens(&d).len(), 1, "updateInvoice took effect at Glase");
    assert_eq!(d.store.payments()[0].amount(), sek(1_000));

    // The token Glase now holds is one we can verify: the shopper's payment is confirmed.
    let glase_token = update_tokens(&d).remove(0);
    let calls = status_calls(&d);
    d.glase.pay(created.payment.invoice_reference());
    let (paid, outcome) = d.handle_notification(&id, &glase_token).await.unwrap();
    assert_eq!(paid.status(), PaymentStatus::Paid);
    assert!(outcome.unwrap().changed());
    assert_eq!(status_calls(&d), calls + 1);
}

#[tokio::test]
async fn the_same_update_sent_again_after_it_was_not_recorded_brings_the_record_in_line() {
    let (d, created) = one_pending().await;
    let id = created.payment.id().clone();
    assert!(matches!(
        update_not_recorded(&d, &id, store_down("connection reset")).await,
        UseCaseError::NotRecorded(_)
    ));
    let updated = d.update_payment(&id, coffee(1_500)).await.unwrap();
    assert_eq!(updated.amount(), sek(1_500));
    assert_eq!(d.store.payments()[0].amount(), sek(1_500));
    let tokens = update_tokens(&d);
    assert_eq!(tokens.len(), 2);
    assert!(updated.notification_token_matches(&tokens[1]));
    assert!(
        !updated.notification_token_matches(&tokens[0]),
        "the token of the update Glase replaced is retired"
    );
}

#[tokio::test]
async fn a_store_failure_that_heals_after_update_invoice_is_retried_and_recorded() {
    let (d, created) = one_pending().await;
    let order = coffee(1_500);
    throttle_after(&d, 2);
    let updated = d.update_payment(created.payment.id(), order).await.unwrap();
    assert_eq!(updated.amount(), sek(1_500));
    assert_eq!(d.store.payments()[0], updated);
}

#[tokio::test]
async fn a_paid_payment_cannot_be_updated() {
    let (d, created) = one_paid_at_glase().await;
    d.handle_notification(created.payment.id(), &token_of(&d))
        .await
        .unwrap();
    let order = coffee(1_500);
    let err = d.update_payment(created.payment.id(), order).await.unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::AlreadyPaid));
}

#[tokio::test]
async fn a_reversal_glase_reports_after_we_recorded_paid_is_reported_as_a_disagreement() {
    let (d, created) = one_paid_at_glase().await;
    let (paid, _) = d.confirm(created.payment.clone()).await.unwrap();
    d.glase
        .set_status(created.payment.invoice_reference(), GlaseInvoiceStatus::Canceled);
    let (still, outcome) = d.confirm(paid).await.unwrap();
    assert_eq!(still.status(), PaymentStatus::Paid, "a final payment never moves");
    assert_eq!(outcome.disagreement, Some(GlaseInvoiceStatus::Canceled));
}

// ---------------------------------------------------------------------------------------------------------
// Safety net, expiry, connections
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_safety_net_confirms_a_paid_payment_nobody_asked_about() {
    let (d, _) = one_paid_at_glase().await;
    d.clock.advance(Duration::from_secs(2));
    assert_eq!(
        d.confirm_due_payments(10).await.unwrap().confirmed,
        0,
        "too early: the notification may come"
    );
    d.clock.advance(Duration::from_secs(7));
    let report = d.confirm_due_payments(10).await.unwrap();
    assert_eq!(report.confirmed, 1);
    assert_eq!(report.changed.len(), 1);
    assert_eq!(d.store.payments()[0].status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn the_safety_net_confirms_due_payments_concurrently_but_bounded() {
    let d = deps();
    let mut references = Vec::new();
    for i in 0..40 {
        let created = d.create_payment(request(1_000 + i)).await.unwrap();
        references.push(created.payment.invoice_reference().clone());
    }
    for reference in references.iter().step_by(2) {
        d.glase.pay(reference);
    }
    d.clock.advance(Duration::from_secs(9));
    let report = d.confirm_due_payments(100).await.unwrap();
    assert_eq!(report.confirmed, 40);
    assert_eq!(report.changed.len(), 20);
    assert_eq!(report.failed, 0);
    assert_eq!(
        d.glase.max_status_calls_in_flight(),
        super::sweeps::CONFIRM_CONCURRENCY,
        "as many Glase calls at once as the bound allows, and no more"
    );
    let paid = d
        .store
        .payments()
        .iter()
        .filter(|p| p.status() == PaymentStatus::Paid)
        .count();
    assert_eq!(paid, 20);
}

#[tokio::test]
async fn a_failed_safety_net_check_is_tried_again_on_the_next_pass() {
    let (d, _) = one_due_at_glase().await;
    d.glase.fail_next("getPaymentStatus", unavailable("busy"));
    let report = d.confirm_due_payments(10).await.unwrap();
    assert_eq!((report.confirmed, report.failed), (1, 1), "{report:?}");
    assert_eq!(
        d.store.payments()[0].last_checked_at(),
        None,
        "the failed check gave its claim back"
    );
    d.clock.advance(Duration::from_secs(1));
    let report = d.confirm_due_payments(10).await.unwrap();
    assert_eq!(
        report.changed.len(),
        1,
        "asked again a second later, not 8 s later: {report:?}"
    );
    assert_eq!(d.store.payments()[0].status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn a_check_whose_outcome_cannot_be_stored_is_given_back_too() {
    let (d, _) = one_due_at_glase().await;
    // The due query and the claim pass; the write of the paid outcome is throttled.
    throttle_after(&d, 2);
    let report = d.confirm_due_payments(10).await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let stored = d.store.payments()[0].clone();
    assert_eq!(stored.status(), PaymentStatus::Pending);
    assert_eq!(stored.last_checked_at(), None);
    d.clock.advance(Duration::from_secs(1));
    assert_eq!(d.confirm_due_payments(10).await.unwrap().changed.len(), 1);
}

#[tokio::test]
async fn a_release_that_fails_leaves_the_claim_for_one_interval() {
    let (d, _) = one_due_at_glase().await;
    let claimed_at = d.clock.now();
    d.glase.fail_next("getPaymentStatus", unavailable("busy"));
    // The due query and the claim pass; the release is throttled.
    throttle_after(&d, 2);
    assert_eq!(d.confirm_due_payments(10).await.unwrap().failed, 1);
    assert_eq!(d.store.payments()[0].last_checked_at(), Some(claimed_at));
    d.clock.advance(Duration::from_secs(1));
    assert_eq!(d.confirm_due_payments(10).await.unwrap().confirmed, 0);
    d.clock.advance(Duration::from_secs(8));
    assert_eq!(d.confirm_due_payments(10).await.unwrap().changed.len(), 1);
}

#[tokio::test]
async fn a_reader_whose_check_failed_does_not_hold_the_claim() {
    let (d, created) = one_paid_at_glase().await;
    d.clock.advance(Duration::from_secs(2));
    d.glase.fail_next("getPaymentStatus", unknown("timeout"));
    let read = d.read_payment(created.payment.id(), Caller::Merchant).await;
    assert!(matches!(read, Err(UseCaseError::GlaseUnavailable(_))), "{read:?}");
    assert_eq!(d.store.payments()[0].last_checked_at(), None);
    // The shopper closed the page: the safety net asks as soon as the payment is due, not 8 s after
    // the failed read.
    d.clock.advance(Duration::from_secs(6));
    assert_eq!(d.confirm_due_payments(10).await.unwrap().changed.len(), 1);
}

#[tokio::test]
async fn the_safety_net_leaves_final_and_recently_checked_payments_alone() {
    let d = deps();
    let paid = d.create_payment(request(1_000)).await.unwrap();
    d.glase.pay(paid.payment.invoice_reference());
    d.handle_notification(paid.payment.id(), &token_of(&d))
        .await
        .unwrap();
    d.clock.advance(Duration::from_secs(2));
    let fresh = d.create_payment(request(2_000)).await.unwrap();
    d.read_payment(fresh.payment.id(), Caller::Merchant)
        .await
        .unwrap();
    let calls = status_calls(&d);
    let report = d.confirm_due_payments(10).await.unwrap();
    assert_eq!(report.confirmed, 0, "{report:?}");
    assert_eq!(
        status_calls(&d),
        calls,
        "no Glase call for final or just-checked payments"
    );
}

#[tokio::test]
async fn expiry_cancels_old_unpaid_invoices_but_not_one_being_paid() {
    let d = deps();
    let old = d.create_payment(request(1_000)).await.unwrap();
    let busy = d.create_payment(request(2_000)).await.unwrap();
    d.clock.advance(Duration::from_secs(121));
    let young = d.create_payment(request(3_000)).await.unwrap();
    d.glase.fail_next("cancelInvoice", rejected(51, "IN_PROGRESS"));
    let report = d.expire_payments(10).await.unwrap();
    assert_eq!(report.in_progress, 1);
    assert_eq!(report.canceled.len(), 1);
    let status_of = |id: &crate::ids::PaymentId| {
        d.store
            .payments()
            .into_iter()
            .find(|p| p.id() == id)
            .unwrap()
            .status()
    };
    // The first expired payment in expiry order met the injected 51; the other was cancelled.
    let statuses = [status_of(old.payment.id()), status_of(busy.payment.id())];
    assert!(statuses.contains(&PaymentStatus::Canceled) && statuses.contains(&PaymentStatus::Pending));
    assert_eq!(status_of(young.payment.id()), PaymentStatus::Pending);
}

#[tokio::test]
async fn a_connection_needs_the_client_secret_and_hears_the_current_status() {
    let (d, created) = one_pending().await;
    let conn = ConnectionId::parse("conn-1").unwrap();
    let wrong = d
        .connect(created.payment.id(), "nope", &conn, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(wrong, UseCaseError::NotFound("payment"));
    assert!(listeners(&d, created.payment.id()).await == 0);

    let update = d
        .connect(
            created.payment.id(),
            created.client_secret.expose(),
            &conn,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(update.status, PaymentStatus::Pending);
    assert_eq!(listeners(&d, created.payment.id()).await, 1);
    d.disconnect(&conn).await.unwrap();
    assert!(listeners(&d, created.payment.id()).await == 0);
}

#[tokio::test]
async fn sync_answers_only_the_payment_the_connection_was_accepted_for() {
    let d = deps();
    let mine = d.create_payment(request(1_000)).await.unwrap();
    let other = d.create_payment(request(2_000)).await.unwrap();
    let conn = ConnectionId::parse("conn-sync").unwrap();
    connect(&d, &mine, &conn).await;

    let update = d.sync(&conn, mine.payment.id()).await.unwrap();
    assert_eq!(update.payment_id, *mine.payment.id());
    assert_eq!(update.status, PaymentStatus::Pending);

    // Naming another payment, or syncing from a connection never accepted, reveals nothing.
    assert_eq!(
        d.sync(&conn, other.payment.id()).await.unwrap_err(),
        UseCaseError::NotFound("connection")
    );
    let stranger = ConnectionId::parse("conn-stranger").unwrap();
    assert_eq!(
        d.sync(&stranger, mine.payment.id()).await.unwrap_err(),
        UseCaseError::NotFound("connection")
    );

    d.disconnect(&conn).await.unwrap();
    assert_eq!(
        d.sync(&conn, mine.payment.id()).await.unwrap_err(),
        UseCaseError::NotFound("connection")
    );
}

#[tokio::test]
async fn sync_right_after_connecting_is_answered_while_the_index_lags() {
    let (d, created) = one_pending().await;
    d.store.index_lags();
    let conn = ConnectionId::parse("conn-fresh").unwrap();
    connect(&d, &created, &conn).await;
    assert!(
        listeners(&d, created.payment.id()).await == 0,
        "the index does not show the connection yet"
    );

    let update = d.sync(&conn, created.payment.id()).await.unwrap();
    assert_eq!(update.payment_id, *created.payment.id());
    assert_eq!(update.status, PaymentStatus::Pending);
}

#[tokio::test]
async fn sync_from_an_expired_connection_is_not_found() {
    let (d, created) = one_pending().await;
    let conn = ConnectionId::parse("conn-old").unwrap();
    connect(&d, &created, &conn).await;
    d.clock.advance(Duration::from_secs(61));
    assert_eq!(
        d.sync(&conn, created.payment.id()).await.unwrap_err(),
        UseCaseError::NotFound("connection")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------------------

async fn paid(d: &TestDeps, total: i64) -> crate::ids::PaymentId {
    let created = d.create_payment(request(total)).await.unwrap();
    d.glase.pay(created.payment.invoice_reference());
    d.confirm(created.payment.clone()).await.unwrap();
    created.payment.id().clone()
}

pub(super) fn refund_of(id: &crate::ids::PaymentId, amount: i64) -> RequestRefund {
    RequestRefund {
        payment_id: id.clone(),
        amount_minor: amount,
        reason: crate::order::RefundReason::parse("Returned").unwrap(),
        cashier_id: None,
        idempotency: None,
    }
}

async fn process(d: &TestDeps, message: &crate::ports::RefundMessage) -> RefundProcessing {
    d.process_refund(message).await.unwrap()
}

fn refund_calls(d: &TestDeps) -> usize {
    glase_calls(d, |c| matches!(c, GlaseCall::RefundPayment { .. }))
}

/// The fakes with a paid payment of 1 000 öre and one refund of `amount` recorded: the payment's id
/// and the refund's queued message.
async fn one_refund_queued(amount: i64) -> (TestDeps, crate::ids::PaymentId, crate::ports::RefundMessage) {
    let d = deps();
    let id = paid(&d, 1_000).await;
    d.request_refund(refund_of(&id, amount)).await.unwrap();
    let message = d.queue.sent()[0].clone();
    (d, id, message)
}

#[tokio::test]
async fn partial_refunds_up_to_the_paid_amount_are_recorded_and_one_over_is_refused() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    d.request_refund(refund_of(&id, 600)).await.unwrap();
    d.request_refund(refund_of(&id, 400)).await.unwrap();
    assert_err!(
        d.request_refund(refund_of(&id, 1)).await,
        UseCaseError::Unprocessable(_)
    );
    assert_eq!(d.queue.sent().len(), 2, "each recorded refund is queued once");
    assert_eq!(d.store.refunds().len(), 2);
}

#[tokio::test]
async fn an_unpaid_payment_cannot_be_refunded() {
    let (d, created) = one_pending().await;
    let err = d
        .request_refund(refund_of(created.payment.id(), 100))
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::NotPaid));
    assert!(d.store.refunds().is_empty());
}

#[tokio::test]
async fn the_worker_refunds_once_even_when_the_message_comes_twice() {
    let (d, id, message) = one_refund_queued(300).await;
    assert_eq!(process(&d, &message).await, RefundProcessing::Succeeded);
    assert_eq!(process(&d, &message).await, RefundProcessing::AlreadyHandled);
    assert_eq!(refund_calls(&d), 1);
    let refund = d
        .get_refund(&message.payment_id, &message.refund_id)
        .await
        .unwrap();
    assert_eq!(refund.status(), crate::refund::RefundStatus::Succeeded);
    assert!(refund.ers_reference().is_some());
    let payment = payment_of(&d, &id);
    assert_eq!(payment.refunds().refunded().minor_units(), 300);
    assert_eq!(payment.refunds().reserved().minor_units(), 0);
}

#[tokio::test]
async fn a_refused_refund_fails_and_gives_its_amount_back() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    d.request_refund(refund_of(&id, 1_000)).await.unwrap();
    d.glase.fail_next("refundPayment", rejected(99, "NO_REFUNDS"));
    assert_eq!(
        process(&d, &d.queue.sent()[0]).await,
        RefundProcessing::Failed(99)
    );
    let payment = payment_of(&d, &id);
    assert_eq!(payment.refundable().minor_units(), 1_000);
}

#[tokio::test]
async fn an_unreachable_glase_puts_the_refund_back_in_line_and_the_retry_refunds_it() {
    let (d, _, message) = one_refund_queued(500).await;
    d.glase.fail_next("refundPayment", rejected(93, "SYSTEM_BUSY"));
    assert!(matches!(process(&d, &message).await, RefundProcessing::Retry(_)));
    assert_eq!(
        d.get_refund(&message.payment_id, &message.refund_id)
            .await
            .unwrap()
            .status(),
        crate::refund::RefundStatus::Queued
    );
    assert_eq!(process(&d, &message).await, RefundProcessing::Succeeded);
}

#[tokio::test]
async fn an_ambiguous_refund_is_never_sent_again() {
    let (d, id, message) = one_refund_queued(500).await;
    d.glase.fail_next("refundPayment", unknown("timeout"));
    assert_eq!(process(&d, &message).await, RefundProcessing::NeedsReconciliation);
    assert_eq!(process(&d, &message).await, RefundProcessing::AlreadyHandled);
    d.clock.advance(Duration::from_secs(3600));
    sweep(&d).await;
    assert_eq!(refund_calls(&d), 1, "one call, never repeated");
    let payment = payment_of(&d, &id);
    assert_eq!(
        payment.refunds().reserved().minor_units(),
        500,
        "the amount stays held until reconciled"
    );
}

#[tokio::test]
async fn the_outbox_sweep_queues_a_refund_whose_message_was_lost() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    d.queue.set_failing(true);
    let refund = d.request_refund(refund_of(&id, 200)).await.unwrap();
    assert!(d.queue.sent().is_empty());
    d.queue.set_failing(false);
    d.clock.advance(Duration::from_secs(61));
    let report = sweep(&d).await;
    assert_eq!(report.requeued, 1);
    assert_eq!(d.queue.sent()[0].refund_id, *refund.id());
}

#[tokio::test]
async fn a_worker_that_vanished_mid_call_leaves_the_refund_for_reconciliation() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    let refund = d.request_refund(refund_of(&id, 200)).await.unwrap();
    let claimed = refund.start_sending(d.clock.now()).unwrap();
    d.store.update_refund(&claimed, refund.revision()).await.unwrap();
    d.clock.advance(Duration::from_secs(301));
    let report = sweep(&d).await;
    assert_eq!(report.abandoned, 1);
    assert_eq!(
        process(&d, &d.queue.sent()[0]).await,
        RefundProcessing::AlreadyHandled
    );
    assert_eq!(refund_calls(&d), 0);
}

#[tokio::test]
async fn only_a_paid_payments_refunds_are_asked_of_the_store() {
    let d = deps();
    let counted = d.with_store(crate::counting::Counting::new(d.store.clone()));
    let created = counted.create_payment(request(1_000)).await.unwrap();
    let id = created.payment.id().clone();
    let view = counted.read_payment(&id, Caller::Merchant).await.unwrap();
    assert_eq!(view.payment.status(), PaymentStatus::Pending);
    assert!(view.refunds.is_empty());
    assert_eq!(
        counted.store.count("list_refunds"),
        0,
        "a pending payment has no refunds"
    );

    d.glase.pay(created.payment.invoice_reference());
    counted.confirm(created.payment.clone()).await.unwrap();
    counted.request_refund(refund_of(&id, 400)).await.unwrap();
    let view = counted.read_payment(&id, Caller::Merchant).await.unwrap();
    assert_eq!(view.refunds.len(), 1, "a paid payment's refunds are listed");
    assert_eq!(counted.store.count("list_refunds"), 1);
}

fn keyed_refund(id: &crate::ids::PaymentId, amount: i64, key: &str) -> RequestRefund {
    let fp = FingerprintBuilder::new(Operation::RequestRefund)
        .text("payment_id", id.as_str())
        .int("amount", amount)
        .finish();
    RequestRefund {
        idempotency: Some((IdempotencyKey::parse(key).unwrap(), fp)),
        ..refund_of(id, amount)
    }
}

/// A retry under a key whose record is left in progress: refused until the lease ends, then answered.
async fn answered_after_the_lease(d: &TestDeps, request: impl Fn() -> RequestRefund) -> Refund {
    let early = d.request_refund(request()).await.unwrap_err();
    assert!(
        matches!(
            early,
            UseCaseError::Conflict(ConflictReason::IdempotencyInProgress { .. })
        ),
        "{early:?}"
    );
    d.clock
        .advance(d.settings.idempotency.lease + Duration::from_secs(1));
    d.request_refund(request()).await.unwrap()
}

/// The outbox sweep: queued for a minute, abandoned after five.
async fn sweep(d: &TestDeps) -> RefundSweepReport {
    d.sweep_refunds(Duration::from_secs(60), Duration::from_secs(300), 10)
        .await
        .unwrap()
}

fn reserved(d: &TestDeps, id: &crate::ids::PaymentId) -> i64 {
    let payment = payment_of(d, id);
    payment.refunds().reserved().minor_units()
}

#[tokio::test]
async fn a_keyed_refund_whose_completion_was_lost_answers_the_stored_refund_after_the_lease() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    let first = d
        .request_refund(keyed_refund(&id, 400, "refund-1"))
        .await
        .unwrap();
    // The completion write is lost (it failed, or the function timed out after the refund was stored):
    // the key's record is left in progress, as the first attempt wrote it.
    let done = d
        .store
        .idempotency_records()
        .into_iter()
        .find(|r| r.operation == Operation::RequestRefund)
        .unwrap();
    let left = crate::idempotency::IdempotencyRecord {
        state: crate::idempotency::IdempotencyState::InProgress {
            lease_expires_at: done.created_at.plus(d.settings.idempotency.lease),
        },
        revision: done.revision.next(),
        ..done.clone()
    };
    d.store
        .replace_idempotency_record(&left, done.revision)
        .await
        .unwrap();

    let retry = answered_after_the_lease(&d, || keyed_refund(&id, 400, "refund-1")).await;
    assert_eq!(retry.id(), first.id(), "the retry answers the stored refund");
    assert_eq!(d.store.refunds().len(), 1, "one refund");
    assert_eq!(reserved(&d, &id), 400, "its amount is reserved once");
    assert_eq!(d.queue.sent().len(), 1, "and queued once");
}

#[tokio::test]
async fn a_refund_stored_by_a_write_whose_answer_was_lost_keeps_its_key_and_is_found_by_the_retry() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    // The second write of the request (after the key's record) is the refund: it is stored, but the
    // connection fails before the answer arrives.
    d.store.fail_after_write(1, store_down("connection reset"));
    assert_err!(
        d.request_refund(keyed_refund(&id, 1_000, "refund-2")).await,
        UseCaseError::Store(StoreError::Unavailable { .. })
    );
    assert_eq!(d.store.refunds().len(), 1, "the refund was stored");
    assert_eq!(
        d.store.idempotency_records().len(),
        1,
        "an ambiguous store error does not free the key"
    );

    let retry = answered_after_the_lease(&d, || keyed_refund(&id, 1_000, "refund-2")).await;
    assert_eq!(d.store.refunds().len(), 1, "one refund");
    assert_eq!(d.store.refunds()[0].id(), retry.id());
    assert_eq!(reserved(&d, &id), 1_000, "its amount is reserved once");
}

#[tokio::test]
async fn a_refusal_frees_the_key_for_a_corrected_retry() {
    let d = deps();
    let id = paid(&d, 1_000).await;
    d.store.fail_next(StoreError::Throttled);
    let err = d
        .request_refund(keyed_refund(&id, 500, "refund-3"))
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::Store(StoreError::Throttled));
    assert!(d.store.idempotency_records().is_empty(), "nothing was written");
    assert_err!(
        d.request_refund(keyed_refund(&id, 2_000, "refund-3")).await,
        UseCaseError::Unprocessable(_)
    );
    assert!(
        d.store.idempotency_records().is_empty(),
        "a refusal changed nothing and frees the key"
    );
    let refund = d
        .request_refund(keyed_refund(&id, 500, "refund-3"))
        .await
        .unwrap();
    assert_eq!(refund.amount().minor_units(), 500);
    assert_eq!(reserved(&d, &id), 500);
}

#[tokio::test]
async fn a_key_is_never_answered_with_another_payments_refund() {
    let d = deps();
    let first = paid(&d, 1_000).await;
    let second = paid(&d, 1_000).await;
    d.request_refund(keyed_refund(&first, 300, "refund-4"))
        .await
        .unwrap();
    // A replayed outcome names its payment: even a record whose fingerprint matched answers only it.
    let mut other = keyed_refund(&second, 300, "refund-4");
    other.idempotency = keyed_refund(&first, 300, "refund-4").idempotency;
    let err = d.request_refund(other).await.unwrap_err();
    assert_eq!(err, UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused));
    assert_eq!(reserved(&d, &second), 0);
}
