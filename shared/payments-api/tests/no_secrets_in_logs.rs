//! Every log line of a full payment (create, notification, reads, a refused request, cancel), captured at
//! TRACE level across all crates, and every metric line: none contains the API key, the client secret,
//! the notification token or a Glase password.

use std::time::Duration;

use glase_protocol::{GlaseClient, GlaseClientConfig};
use glase_sandbox::{EventKind, SandboxConfig};
use payments_api::app::{App, request};
use payments_api::auth::{ApiKeys, hash_api_key};
use payments_api::metrics::Metrics;
use payments_api::telemetry::{CapturedLines, LogFormat, LogSettings};
use payments_api::wiring::{AnyPush, AnyQueue, OsRandom, SystemClock};
use payments_domain::usecases::{Deps, UseCaseSettings};
use payments_dynamodb::DynamoStore;
use payments_dynamodb::testing::{Backend, TestTable};
use payments_glase::{GlaseSettings, ProtocolGateway};
use secrecy::SecretString;

const API_KEY: &str = "sk_test_never_logged_0123456789";
const TERMINAL_PASSWORD: &str = "12345678";
const MASTER_SECRET: &str = "master-secret-never-logged";

#[tokio::test]
async fn a_full_payment_logs_no_secret() {
    let logs = CapturedLines::default();
    let sink = logs.clone();
    payments_api::telemetry::install(
        &LogSettings {
            format: LogFormat::Json,
            filter: "trace".into(),
        },
        move || sink.clone(),
    )
    .expect("the only subscriber of this test binary");
    let metrics_out = CapturedLines::default();

    let sandbox = glase_sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let table = TestTable::new(Backend::Dynoxide).await;
    let accounts = sandbox.sandbox().config().clone();
    assert_eq!(accounts.webshop_terminals[0].password, TERMINAL_PASSWORD);
    let app: App<(_, _, _, _, _, _)> = App {
        deps: Deps {
            store: DynamoStore::new(table.client.clone(), table.table_name.clone()),
            glase: ProtocolGateway::new(
                GlaseClient::new(GlaseClientConfig::new(sandbox.soap_endpoint_url())).unwrap(),
                GlaseSettings::new(
                    accounts.webshop_terminals[0].terminal_id.clone(),
                    SecretString::from(TERMINAL_PASSWORD),
                    accounts.reseller.id.clone(),
                    accounts.reseller.user_id.clone(),
                    SecretString::from(accounts.reseller.password.clone()),
                    SecretString::from(MASTER_SECRET),
                ),
                SystemClock,
            ),
            queue: AnyQueue::None,
            push: AnyPush::None,
            clock: SystemClock,
            ids: OsRandom::with_process_key(),
            settings: UseCaseSettings {
                public_base_url: "http://127.0.0.1:9".into(),
                ..UseCaseSettings::default()
            },
        },
        api_keys: ApiKeys::parse(&SecretString::from(hash_api_key(API_KEY))).unwrap(),
        metrics: Metrics::to_writer("test", Box::new(metrics_out.clone())),
        function: None,
    };
    let auth = format!("Bearer {API_KEY}");
    let created = app
        .handle(request(
            http::Method::POST,
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
    let read = app
        .handle(request(
            http::Method::GET,
            &format!("/v1/payments/{id}?client_secret={secret}"),
            &[],
            "",
        ))
        .await;
    assert_eq!(read.status(), 200);
    assert!(read.body().contains("\"paid\""));
    let wrong = app
        .handle(request(
            http::Method::GET,
            &format!("/v1/payments/{id}"),
            &[("authorization", "Bearer sk_wrong")],
            "",
        ))
        .await;
    assert_eq!(wrong.status(), 401);
    let notified = app
        .handle(request(
            http::Method::POST,
            &format!("/v1/notifications/{id}?token=not-the-token"),
            &[],
            "",
        ))
        .await;
    assert_eq!(notified.status(), 404);
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
    sandbox.shutdown().await;
}
