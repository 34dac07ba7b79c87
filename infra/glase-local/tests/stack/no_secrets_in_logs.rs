//! The local stack at the most verbose log level there is (`AWS_LAMBDA_LOG_LEVEL=TRACE`, which the same
//! telemetry code as the functions reads) takes a payment with an API key, reads it with its client
//! secret, and is notified by the sandbox; no line it logged holds the API key, the client secret, the
//! notification token, or a Glase password.

use std::time::Duration;

use crate::running::{client, data_dir, json, poll, send_ok, start};

const API_KEY: &str = "sk_local_log_test_0123456789abcdef";

#[tokio::test]
async fn no_secret_reaches_the_log_at_trace() {
    let data = data_dir("logs");
    let stack = start(
        &data,
        &[
            ("GLASE_API_KEY", Some(API_KEY)),
            ("AWS_LAMBDA_LOG_LEVEL", Some("TRACE")),
            ("RUST_LOG", Some("trace")),
        ],
    );
    let base = stack.base.clone();
    let http = client();

    let created = json(
        http.post(format!("{base}/v1/payments"))
            .bearer_auth(API_KEY)
            .header("idempotency-key", "log-test-1")
            .json(&serde_json::json!({
                "order_id": "log-test-1", "currency": "SEK", "total": 2500,
                "rows": [{"description": "Tea", "total": 2500}]
            })),
    )
    .await;
    let id = created["id"].as_str().expect("a payment").to_owned();
    let client_secret = created["client_secret"].as_str().unwrap().to_owned();
    let reference = created["invoice_reference"].as_str().unwrap().to_owned();
    send_ok(http.get(format!("{base}/v1/payments/{id}?client_secret={client_secret}"))).await;
    send_ok(http.post(format!("{base}/sandbox/invoices/{reference}/pay"))).await;
    let payment = poll(
        || {
            json(
                http.get(format!("{base}/v1/payments/{id}"))
                    .header("X-Client-Secret", &client_secret),
            )
        },
        |payment| payment["status"] == "paid",
    )
    .await;
    assert_eq!(
        payment["status"], "paid",
        "the notification confirmed the payment"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The start-up banner shows the developer the API key on purpose; it is not a log line.
    let lines: Vec<String> = stack
        .stop()
        .into_iter()
        .filter(|line| !line.trim_start().starts_with("API key"))
        .collect();

    let sandbox = glase_sandbox::SandboxConfig::default();
    let terminal_secret = std::fs::read_to_string(data.join("terminal-secret")).unwrap();
    let mut secrets = vec![
        ("the API key", API_KEY.to_owned()),
        ("the client secret", client_secret.clone()),
        ("the terminal password secret", terminal_secret.trim().to_owned()),
        // Any SOAP request body (the reseller password, "1234", is too short to search for itself).
        ("a Glase request's password element", "<password>".to_owned()),
    ];
    for t in &sandbox.webshop_terminals {
        secrets.push(("a terminal password", t.password.clone()));
    }
    assert!(
        lines.iter().any(|l| l.contains("notification handled")),
        "the handlers' lines were captured: {lines:?}"
    );
    for line in &lines {
        for (what, secret) in &secrets {
            assert!(!line.contains(secret.as_str()), "{what} in a log line: {line}");
        }
        // The notification token travels only as the notification URL's query.
        assert!(
            !line.contains("token="),
            "a notification token in a log line: {line}"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}
