//! The metrics that mean money lost or owed are recorded where it happens: a reversal Glase made after
//! the shopper paid, a Glase call with no clear outcome, a failed safety-net pass. Each such metric has an
//! alarm in the template (checked by the template drift tests).

use std::time::Duration;

use http::Method;
use payments_api::app::{ApiResponse, request};
use payments_api::jobs::SafetyNetPlan;
use payments_api::testing::CapturedLines;
use payments_api::testing::{FakeApp as TestApp, app_over, notification_path};
use payments_domain::ids::PaymentId;
use payments_domain::payment::{GlaseInvoiceStatus, Payment, PaymentStatus};
use payments_domain::ports::{Clock, GlaseError, PaymentStore, StoreError};
use payments_domain::testing::fake_deps;
use payments_domain::usecases::UseCaseSettings;

const KEY: &str = "sk_test_money_metrics";

/// The EMF lines of the metric `name` among those the app wrote, in order.
fn values(lines: &CapturedLines, name: &str) -> Vec<serde_json::Value> {
    lines
        .json_lines()
        .into_iter()
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name)
        .collect()
}

fn app() -> (TestApp, CapturedLines) {
    let lines = CapturedLines::default();
    let app = app_over(fake_deps(UseCaseSettings::default()), KEY, lines.clone());
    (app, lines)
}

/// Sends one request with the merchant's API key and a JSON body (empty for none).
async fn merchant(app: &TestApp, method: Method, uri: &str, body: &str) -> ApiResponse {
    let auth = format!("Bearer {KEY}");
    app.handle(request(
        method,
        uri,
        &[("authorization", &auth), ("content-type", "application/json")],
        body.to_owned(),
    ))
    .await
}

/// Sends one request about `payment` (its path and `suffix`) with the merchant's API key.
async fn about(app: &TestApp, method: Method, payment: &Payment, suffix: &str, body: &str) -> ApiResponse {
    let path = format!("/v1/payments/{}{suffix}", payment.id().as_str());
    merchant(app, method, &path, body).await
}

/// Glase's notification at `notification` (path and query), answered 200.
async fn notify(app: &TestApp, notification: &str) {
    let response = app.handle(request(Method::POST, notification, &[], "")).await;
    assert_eq!(response.status(), 200, "{}", response.body());
}

/// A webshop payment created through the API, and the path and query of its notification URL.
async fn create(app: &TestApp, order_id: &str) -> (Payment, String) {
    let body = format!(
        r#"{{"order_id":"{order_id}","currency":"SEK","total":2500,"rows":[{{"description":"Tea","total":2500}}]}}"#
    );
    let response = merchant(app, Method::POST, "/v1/payments", &body).await;
    assert_eq!(response.status(), 201, "{}", response.body());
    let created: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    let id = PaymentId::parse(created["id"].as_str().unwrap()).unwrap();
    let payment = app.deps.store.get_payment(&id).await.unwrap().unwrap();
    let notification = notification_path(app.deps.glase.calls().into_iter().rev());
    (payment, notification)
}

/// A webshop payment created through the API, paid at Glase and confirmed by its notification.
async fn paid_by_notification(app: &TestApp, order_id: &str) -> Payment {
    let (payment, notification) = create(app, order_id).await;
    app.deps.glase.pay(payment.invoice_reference());
    notify(app, &notification).await;
    payment
}

async fn status_of(app: &TestApp, payment: &Payment) -> PaymentStatus {
    app.deps
        .store
        .get_payment(payment.id())
        .await
        .unwrap()
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_notified_payment_glase_answers_canceled_for_counts_as_reversed() {
    let (app, lines) = app();
    let (payment, notification) = create(&app, "order-reversed").await;
    // The shopper paid, nobody acknowledged within 20 s, Glase reversed it: it now answers CANCELED.
    app.deps.glase.pay(payment.invoice_reference());
    app.deps
        .glase
        .set_status(payment.invoice_reference(), GlaseInvoiceStatus::Canceled);
    // The notification of the payment arrives late.
    notify(&app, &notification).await;
    assert_eq!(status_of(&app, &payment).await, PaymentStatus::Canceled);
    assert_eq!(values(&lines, "PaymentsReversed").len(), 1);
    assert_eq!(values(&lines, "PaymentsReversed")[0]["PaymentsReversed"], 1);
}

#[tokio::test]
async fn a_payment_canceled_without_a_notification_is_no_reversal() {
    let (app, lines) = app();
    let (by_shopper, _) = create(&app, "order-shopper-cancel").await;
    let (by_merchant, _) = create(&app, "order-merchant-cancel").await;
    // The shopper cancels in the app; the next status read (a second later) sees it.
    app.deps
        .glase
        .set_status(by_shopper.invoice_reference(), GlaseInvoiceStatus::Canceled);
    app.deps.clock.advance(Duration::from_secs(2));
    let read = about(&app, Method::GET, &by_shopper, "", "").await;
    assert_eq!(read.status(), 200, "{}", read.body());
    assert_eq!(status_of(&app, &by_shopper).await, PaymentStatus::Canceled);
    // The merchant cancels the other.
    let cancel = about(&app, Method::POST, &by_merchant, "/cancel", "").await;
    assert_eq!(cancel.status(), 200, "{}", cancel.body());
    assert_eq!(status_of(&app, &by_merchant).await, PaymentStatus::Canceled);
    assert!(values(&lines, "PaymentsReversed").is_empty());
}

#[tokio::test]
async fn a_notification_of_a_paid_payment_is_no_reversal() {
    let (app, lines) = app();
    let payment = paid_by_notification(&app, "order-paid").await;
    assert_eq!(status_of(&app, &payment).await, PaymentStatus::Paid);
    assert!(values(&lines, "PaymentsReversed").is_empty());
    assert_eq!(values(&lines, "PaymentsPaid").len(), 1);
}

#[tokio::test]
async fn a_period_close_with_no_clear_outcome_counts_an_unknown_glase_outcome() {
    let (app, lines) = app();
    app.deps.glase.fail_next(
        "markTransactionPeriod",
        GlaseError::OutcomeUnknown {
            reason: "timed out after the request was sent".into(),
        },
    );
    let response = merchant(
        &app,
        Method::POST,
        "/v1/reports",
        r#"{"period_key":"unknown-outcome"}"#,
    )
    .await;
    assert!(response.status().is_server_error(), "{}", response.body());
    let unknown = values(&lines, "GlaseOutcomeUnknown");
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert_eq!(unknown[0]["Operation"], "markTransactionPeriod");
}

#[tokio::test]
async fn a_safety_net_pass_that_cannot_list_its_payments_is_counted() {
    let (app, lines) = app();
    let plan = SafetyNetPlan::default();
    let fine = app.safety_net_pass(1, &plan).await;
    assert_eq!(fine.failed_passes, 0);
    assert!(values(&lines, "SafetyNetPassesFailed").is_empty());

    app.deps.store.fail_next(StoreError::Throttled);
    app.deps.clock.advance(Duration::from_secs(1));
    let failed = app.safety_net_pass(2, &plan).await;
    assert_eq!(failed.failed_passes, 1);
    assert_eq!(values(&lines, "SafetyNetPassesFailed").len(), 1);
}

#[tokio::test]
async fn a_cancel_counts_the_payment_canceled_once_however_often_it_is_asked() {
    let (app, lines) = app();
    let (payment, _) = create(&app, "order-cancel-twice").await;
    for _ in 0..2 {
        let response = about(&app, Method::POST, &payment, "/cancel", "").await;
        assert_eq!(response.status(), 200, "{}", response.body());
    }
    assert_eq!(status_of(&app, &payment).await, PaymentStatus::Canceled);
    assert_eq!(values(&lines, "PaymentsCanceled").len(), 1);
}

#[tokio::test]
async fn a_refund_the_outbox_sweep_hands_to_reconciliation_is_counted() {
    let (app, lines) = app();
    let payment = paid_by_notification(&app, "order-abandoned-refund").await;
    let body = r#"{"amount":1000,"reason":"Returned"}"#;
    let refund = about(&app, Method::POST, &payment, "/refunds", body).await;
    assert_eq!(refund.status(), 202, "{}", refund.body());
    // A worker claimed the refund and vanished mid-call.
    let stored = app.deps.store.list_refunds(payment.id()).await.unwrap().remove(0);
    let claimed = stored.start_sending(app.deps.clock.now()).unwrap();
    app.deps
        .store
        .update_refund(&claimed, stored.revision())
        .await
        .unwrap();
    assert!(values(&lines, "RefundsNeedingReconciliation").is_empty());

    app.deps.clock.advance(Duration::from_secs(301));
    let report = app.sweep_refund_outbox().await.unwrap();
    assert_eq!(report.abandoned, 1);
    let counted = values(&lines, "RefundsNeedingReconciliation");
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert_eq!(counted[0]["RefundsNeedingReconciliation"], 1);
}
