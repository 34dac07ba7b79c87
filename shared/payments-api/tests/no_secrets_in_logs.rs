//! Every log line of a full payment (create, notification, reads, a refused request, cancel), captured at
//! TRACE level across all crates, and every metric line: none contains the API key, the client secret,
//! the notification token or a Glase password.

use std::time::Duration;

use glase_sandbox::EventKind;
use http::Method;
use payments_api::app::{ApiResponse, App, request};
use payments_api::testing::CapturedLines;
use payments_api::testing::stack::live_stack;
use payments_domain::ports::Ports;

const API_KEY: &str = "sk_test_never_logged_0123456789";
const TERMINAL_PASSWORD: &str = "12345678";
const MASTER_SECRET: &str = "master-secret-never-logged";

/// One request without a body through `App::handle`.
async fn send<P: Ports>(app: &App<P>, method: Method, uri: &str, headers: &[(&str, &str)]) -> ApiResponse {
    app.handle(request(method, uri, headers, "")).await
}

#[tokio::test]
async fn a_full_payment_logs_no_secret() {
    let logs = payments_api::testing::captured_logs("trace");
    let metrics_out = CapturedLines::default();
    let stack = live_stack(API_KEY)
        .master_secret(MASTER_SECRET)
        .metrics(metrics_out.clone())
        .without_notifications()
        .start()
        .await;
    let (app, sandbox) = (&stack.app, &stack.sandbox);
    assert_eq!(
        sandbox.sandbox().config().webshop_terminals[0].password,
        TERMINAL_PASSWORD
    );
    let auth = format!("Bearer {API_KEY}");
    let created = app
        .handle(request(
            Method::POST,
            "/v1/payments",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ],
            r#"{"order_id":"A-1","currency":"SEK","total":4200}"#,
        ))
        .await;
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = serde_json::from_str(created.body()).unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    let reference = body["invoice_reference"].as_str().unwrap().to_owned();

    sandbox.sandbox().pay_invoice(&reference).unwrap();
    // Our notification URL points nowhere (port 9), so confirm through a polling read, as a browser would.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let read = send(
        app,
        Method::GET,
        &format!("/v1/payments/{id}?client_secret={secret}"),
        &[],
    )
    .await;
    assert_eq!(read.status(), 200);
    assert!(read.body().contains("\"paid\""));
    // A wrong API key, a wrong notification token.
    for (method, uri, authorization, status) in [
        (
            Method::GET,
            format!("/v1/payments/{id}"),
            Some("Bearer sk_wrong"),
            401,
        ),
        (
            Method::POST,
            format!("/v1/notifications/{id}?token=not-the-token"),
            None,
            404,
        ),
    ] {
        let headers: Vec<(&str, &str)> = authorization.map(|a| ("authorization", a)).into_iter().collect();
        assert_eq!(send(app, method, &uri, &headers).await.status(), status);
    }
    assert!(
        sandbox
            .sandbox()
            .events(None)
            .iter()
            .any(|e| matches!(e.kind, EventKind::PaymentAcknowledged { .. })),
        "the payment was confirmed"
    );

    let text = logs.text();
    assert!(text.contains("payment created"), "the capture works: {text}");
    let metrics = metrics_out.text();
    assert!(metrics.contains("PaymentsCreated"));
    for (what, secret) in [
        ("API key", API_KEY),
        ("client secret", secret.as_str()),
        ("terminal password", TERMINAL_PASSWORD),
        ("master secret", MASTER_SECRET),
    ] {
        assert!(!text.contains(secret), "the {what} reached the logs");
        assert!(!metrics.contains(secret), "the {what} reached the metrics");
    }
    assert!(
        !text.contains("token="),
        "no notification URL with its token reached the logs"
    );
    stack.shutdown().await;
}
