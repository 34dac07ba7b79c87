//! The WebSocket sample events in `events/websocket/` round-trip through the `aws_lambda_events` WebSocket
//! type and run through the WebSocket function's handler on the in-memory store; the safety-net schedule
//! event runs a pass that confirms a payment whose notification was lost.

mod support;

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::encodings::Body;
use lambda_adapter::websocket::{to_ws_event, to_ws_response};
use payments_api::app::request;
use payments_api::jobs::SafetyNetPlan;
use payments_api::testing::{FakeApp, fake_app};
use payments_domain::ids::PaymentId;
use payments_domain::payment::PaymentStatus;
use payments_domain::ports::PaymentStore;
use support::{read, round_trip};

const PAYMENT: &str = "pay_a5000000000000000000000000000001";

/// An app with one created payment (the first of `SequentialIds`: the id and client secret the events
/// name).
async fn app_with_payment() -> FakeApp {
    let app = fake_app("sk_test_events_key");
    let event: serde_json::Value = serde_json::from_str(&read("create-payment/ok.json")).unwrap();
    let response = app
        .handle(request(
            http::Method::POST,
            "/v1/payments",
            &[
                ("authorization", "Bearer sk_test_events_key"),
                ("content-type", "application/json"),
            ],
            event["body"].as_str().unwrap().to_owned(),
        ))
        .await;
    assert_eq!(response.status(), 201, "{}", response.body());
    app
}

/// Runs one WebSocket event file; answers the status and the body sent to the browser.
async fn run(app: &FakeApp, name: &str) -> (i64, Option<String>) {
    let event: ApiGatewayWebsocketProxyRequest =
        serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let response = to_ws_response(payments_api::websocket::handle(&app.deps, &to_ws_event(&event)).await);
    let body = match response.body {
        Some(Body::Text(t)) => Some(t),
        None => None,
        Some(other) => panic!("{name}: unexpected body {other:?}"),
    };
    (response.status_code, body)
}

async fn connections(app: &FakeApp) -> usize {
    app.deps
        .store
        .connections_for_payment(&PaymentId::parse(PAYMENT).unwrap())
        .await
        .unwrap()
        .len()
}

#[test]
fn every_websocket_event_round_trips_through_the_lambda_event_type() {
    for name in [
        "websocket/connect.json",
        "websocket/connect-wrong-secret.json",
        "websocket/connect-no-secret.json",
        "websocket/sync.json",
        "websocket/sync-other-payment.json",
        "websocket/disconnect.json",
    ] {
        let event: ApiGatewayWebsocketProxyRequest = round_trip(name);
        assert!(event.request_context.connection_id.is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_connection_needs_the_payment_and_its_client_secret() {
    let app = app_with_payment().await;
    assert_eq!(run(&app, "websocket/connect-no-secret.json").await.0, 401);
    assert_eq!(run(&app, "websocket/connect-wrong-secret.json").await.0, 403);
    assert_eq!(connections(&app).await, 0, "a refused connection stores nothing");

    assert_eq!(run(&app, "websocket/connect.json").await.0, 200);
    assert_eq!(connections(&app).await, 1);
}

#[tokio::test]
async fn sync_answers_the_current_status_to_an_accepted_connection_only() {
    let app = app_with_payment().await;
    // Before $connect stored it, the connection hears nothing.
    assert_eq!(run(&app, "websocket/sync.json").await.0, 404);

    run(&app, "websocket/connect.json").await;
    let (status, body) = run(&app, "websocket/sync.json").await;
    assert_eq!(status, 200);
    let message: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
    assert_eq!(message["type"], "status");
    assert_eq!(message["payment_id"], PAYMENT);
    assert_eq!(message["status"], "pending");

    let (status, body) = run(&app, "websocket/sync-other-payment.json").await;
    assert_eq!(status, 404);
    assert!(!body.unwrap().contains("pending"));
}

#[tokio::test]
async fn disconnect_forgets_the_connection() {
    let app = app_with_payment().await;
    run(&app, "websocket/connect.json").await;
    assert_eq!(run(&app, "websocket/disconnect.json").await.0, 200);
    assert_eq!(connections(&app).await, 0);
    assert_eq!(run(&app, "websocket/sync.json").await.0, 404);
}

#[tokio::test(start_paused = true)]
async fn the_safety_net_schedule_confirms_a_payment_whose_notification_was_lost() {
    let event: serde_json::Value = serde_json::from_str(&read("safety-net/schedule.json")).unwrap();
    assert_eq!(event["job"], "safety-net");
    let app = app_with_payment().await;
    let id = PaymentId::parse(PAYMENT).unwrap();
    let payment = app.deps.store.get_payment(&id).await.unwrap().unwrap();
    app.deps.glase.pay(payment.invoice_reference());
    app.deps.clock.advance(Duration::from_secs(9));

    let summary = app
        .run_safety_net(&SafetyNetPlan::default(), Duration::from_secs(3))
        .await;
    assert_eq!(summary.paid, 1);
    let stored = app.deps.store.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(stored.status(), PaymentStatus::Paid);
    assert_eq!(summary_passes(&summary), 3);
}

fn summary_passes(summary: &payments_api::jobs::SafetyNetSummary) -> u64 {
    lambda_adapter::safety_net::summary_json(summary)["passes"]
        .as_u64()
        .unwrap()
}
