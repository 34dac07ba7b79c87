//! Refunds through `App::handle` and the worker's batch, on the in-memory test doubles.

mod support;

use http::Method;
use support::{Answer, KEY, TestApp, app, create_payment, send};

/// A payment of `total` paid through its notification; answers its id.
async fn paid(app: &TestApp, order_id: &str, total: i64) -> String {
    let created = create_payment(app, order_id, total).await;
    let reference = app
        .deps
        .store
        .inner()
        .payments()
        .into_iter()
        .find(|p| p.id().as_str() == created.id)
        .unwrap()
        .invoice_reference()
        .clone();
    app.deps.glase.inner().pay(&reference);
    let notified = send(app, Method::POST, &created.notification, &[], "").await;
    assert_eq!(notified.json["status"], "paid", "{}", notified.text);
    created.id
}

/// `POST /v1/payments/{payment}/refunds` with `body` under the Idempotency-Key `key`.
async fn refund_with_key(app: &TestApp, payment: &str, key: &str, body: &str) -> Answer {
    let auth = format!("Bearer {KEY}");
    send(
        app,
        Method::POST,
        &format!("/v1/payments/{payment}/refunds"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn an_idempotency_key_used_on_another_payment_is_a_conflict_not_that_payments_refund() {
    let app = app();
    let first = paid(&app, "R-1", 1_000).await;
    let second = paid(&app, "R-2", 1_000).await;
    let body = r#"{"amount":300,"reason":"Returned"}"#;

    let refunded = refund_with_key(&app, &first, "refund-key-1", body).await;
    assert_eq!(refunded.status, 202, "{}", refunded.text);
    let again = refund_with_key(&app, &first, "refund-key-1", body).await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(
        again.json["id"], refunded.json["id"],
        "the same payment replays its refund"
    );

    let other = refund_with_key(&app, &second, "refund-key-1", body).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.json["error"]["code"], "conflict", "{}", other.text);
    let refunds = app.deps.store.inner().refunds();
    assert_eq!(refunds.len(), 1, "no refund of the second payment was recorded");
    assert_eq!(refunds[0].payment_id().as_str(), first);
    assert_eq!(app.deps.queue.sent().len(), 1);

    // The second payment takes its own refund under its own key.
    let own = refund_with_key(&app, &second, "refund-key-2", body).await;
    assert_eq!(own.status, 202, "{}", own.text);
    assert_ne!(own.json["id"], refunded.json["id"]);
}
