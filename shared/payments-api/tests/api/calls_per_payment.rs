//! What a payment costs in store requests and Glase calls, counted by the counting decorators around the
//! store and the Glase gateway while the API handles a whole payment (not estimated from the code). The
//! bar: a webshop payment confirmed by its notification costs one sendInvoice and one getPaymentStatus.
//! Each scenario prints its counts, so `cargo test -p payments-api --test api calls_per_payment:: -- --nocapture`
//! shows the table.

use std::time::Duration;

use http::Method;
use payments_api::testing::{CountedApp, counted_app};
use payments_domain::counting::CallCounts;
use payments_domain::ids::{InvoiceReference, PaymentId};
use payments_domain::payment::PaymentStatus;
use payments_domain::ports::PaymentStore;
use serde_json::Value;

const KEY: &str = "sk_test_calls_key";

fn app() -> CountedApp {
    counted_app(KEY)
}

async fn call(app: &CountedApp, method: Method, uri: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {KEY}");
    payments_api::testing::call(app, method, uri, &[("authorization", &auth)], body.to_owned()).await
}

/// Creates a payment; answers its id, client secret and invoice reference.
async fn create(app: &CountedApp) -> (String, String, InvoiceReference) {
    let body =
        r#"{"order_id":"A-1","currency":"SEK","total":2500,"rows":[{"description":"Tea","total":2500}]}"#;
    let (status, created) = call(app, Method::POST, "/v1/payments", body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let payment = app
        .deps
        .store
        .inner()
        .get_payment(&PaymentId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    (
        id,
        created["client_secret"].as_str().unwrap().to_owned(),
        payment.invoice_reference().clone(),
    )
}

/// A payment created, paid at Glase and confirmed by its notification; answers its id and the path of
/// its notification.
async fn paid_by_notification(app: &CountedApp) -> (String, String) {
    let (id, _, reference) = create(app).await;
    app.deps.glase.inner().pay(&reference);
    let path = notification_path(app);
    call(app, Method::POST, &path, "").await;
    (id, path)
}

fn notification_path(app: &CountedApp) -> String {
    payments_api::testing::notification_path(app.deps.glase.inner().calls())
}

async fn status_of(app: &CountedApp, id: &str) -> PaymentStatus {
    app.deps
        .store
        .inner()
        .get_payment(&PaymentId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .status()
}

/// Counts from zero again, in the store and at Glase.
fn reset_counts(app: &CountedApp) {
    app.deps.store.reset();
    app.deps.glase.reset();
}

fn show(scenario: &str, store: &CallCounts, glase: &CallCounts) {
    println!("{scenario}\n  store: {store:?}\n  glase: {glase:?}");
}

#[tokio::test]
async fn a_webshop_payment_confirmed_by_its_notification_costs_one_send_and_one_status_call() {
    let app = app();
    let (id, _, reference) = create(&app).await;
    app.deps.glase.inner().pay(&reference);
    let (status, _) = call(&app, Method::POST, &notification_path(&app), "").await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Paid);

    let glase = app.deps.glase.counts();
    show("webshop, notification", &app.deps.store.counts(), &glase);
    assert_eq!(app.deps.glase.count("send_invoice"), 1);
    assert_eq!(app.deps.glase.count("payment_status"), 1);
    assert_eq!(app.deps.glase.total(), 2, "{glase:?}");
    // Create writes the payment once; the notification reads it, claims its Glase call (a conditional
    // write, so that a flood of notifications costs one call a second) and writes the confirmation.
    assert_eq!(app.deps.store.count("insert_payment"), 1);
    assert_eq!(app.deps.store.count("update_payment"), 2);
}

#[tokio::test]
async fn a_duplicate_notification_of_a_paid_payment_costs_one_read_and_no_glase_call() {
    let app = app();
    let (_, path) = paid_by_notification(&app).await;
    reset_counts(&app);

    let (status, _) = call(&app, Method::POST, &path, "").await;
    assert_eq!(status, 200);
    show(
        "duplicate notification",
        &app.deps.store.counts(),
        &app.deps.glase.counts(),
    );
    assert_eq!(app.deps.glase.total(), 0);
    assert_eq!(app.deps.store.total(), 1);
}

#[tokio::test]
async fn a_browser_polling_once_a_second_costs_one_status_call_per_second_while_pending_and_none_after() {
    let app = app();
    let (id, secret, reference) = create(&app).await;
    let read = format!("/v1/payments/{id}?client_secret={secret}");
    // Fifteen seconds of polling before the shopper pays, then five more reads.
    for second in 0..20 {
        if second == 15 {
            app.deps.glase.inner().pay(&reference);
        }
        let (status, _) = call(&app, Method::GET, &read, "").await;
        assert_eq!(status, 200);
        app.deps.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Paid);

    let glase = app.deps.glase.counts();
    show(
        "webshop, polling only (20 reads)",
        &app.deps.store.counts(),
        &glase,
    );
    assert_eq!(app.deps.glase.count("send_invoice"), 1);
    // One check per read while pending, except the first (the invoice was sent that second): 14 before
    // the payment, the 16th read finds it paid, none after.
    assert_eq!(app.deps.glase.count("payment_status"), 15, "{glase:?}");
    assert_eq!(app.deps.store.count("get_payment"), 20);
    // Refunds are listed only once the payment is paid (the 16th read on); a pending one has none.
    assert_eq!(app.deps.store.count("list_refunds"), 5);
}

#[tokio::test]
async fn a_refund_costs_one_refund_call() {
    let app = app();
    let (id, _) = paid_by_notification(&app).await;
    reset_counts(&app);

    let (status, refund) = call(
        &app,
        Method::POST,
        &format!("/v1/payments/{id}/refunds"),
        r#"{"amount":1000}"#,
    )
    .await;
    assert_eq!(status, 202, "{refund}");
    for message in app.deps.queue.sent() {
        app.deps.process_refund(&message).await.unwrap();
    }

    let glase = app.deps.glase.counts();
    show("refund", &app.deps.store.counts(), &glase);
    assert_eq!(app.deps.glase.count("refund_payment"), 1);
    assert_eq!(app.deps.glase.total(), 1, "{glase:?}");
    assert_eq!(app.deps.queue.sent().len(), 1);
}

#[tokio::test]
async fn a_browser_on_the_websocket_costs_three_socket_events_and_one_push() {
    use payments_api::websocket::{WsEvent, handle};
    let app = app();
    let (id, secret, reference) = create(&app).await;
    reset_counts(&app);

    let event = |route: &str, query: Vec<(String, String)>, body: Option<String>| WsEvent {
        route_key: route.to_owned(),
        connection_id: "Yx1AbcDEFgoCIVg=".to_owned(),
        query,
        body,
    };
    let connect = event(
        "$connect",
        vec![
            ("payment_id".into(), id.clone()),
            ("client_secret".into(), secret),
        ],
        None,
    );
    assert_eq!(handle(&app.deps, &connect).await.status, 200);
    let sync = event(
        "sync",
        Vec::new(),
        Some(format!(r#"{{"action":"sync","payment_id":"{id}"}}"#)),
    );
    assert_eq!(handle(&app.deps, &sync).await.status, 200);
    // The shopper pays after fifteen seconds; the notification confirms and pushes.
    app.deps.clock.advance(Duration::from_secs(15));
    app.deps.glase.inner().pay(&reference);
    let (status, _) = call(&app, Method::POST, &notification_path(&app), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        handle(&app.deps, &event("$disconnect", Vec::new(), None))
            .await
            .status,
        200
    );

    let glase = app.deps.glase.counts();
    show("webshop, WebSocket push", &app.deps.store.counts(), &glase);
    assert_eq!(app.deps.push.pushed().len(), 1, "one push: the paid status");
    assert_eq!(app.deps.glase.count("payment_status"), 1);
    assert_eq!(app.deps.store.count("put_connection"), 1);
    assert_eq!(app.deps.store.count("delete_connection"), 1);
}
