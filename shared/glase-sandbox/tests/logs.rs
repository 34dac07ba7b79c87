//! What the sandbox logs: one line per call, never a password or a notification URL's query string.
//!
//! This test runs in its own test binary (its own process): tracing caches per-callsite interest
//! process-wide, so a scoped subscriber in a process where other tests log concurrently can miss events.

mod common;

use common::*;
use test_support::CapturedLines;

#[tokio::test(flavor = "current_thread")]
async fn logs_name_each_call_but_never_passwords_or_notification_tokens() {
    let capture = CapturedLines::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let receiver = Receiver::start(axum::http::StatusCode::OK).await;
    let t = start().await;
    let reference = t.paid(&receiver.url("/notify/1?token=tok-SECRET-123")).await;
    t.event_within(5, |e| {
        matches!(e.kind, glase_sandbox::EventKind::NotificationSent { .. })
    })
    .await
    .unwrap();
    t.status(&reference).await;

    let logs = capture.text();
    // The client logs its calls too; only the sandbox's own lines count here.
    let sandbox_lines: Vec<&str> = logs.lines().filter(|l| l.contains("glase_sandbox")).collect();
    for operation in ["sendInvoice", "getPaymentStatus"] {
        let line = sandbox_lines
            .iter()
            .find(|l| l.contains("glase call") && l.contains(operation));
        let line = line.unwrap_or_else(|| panic!("no sandbox line for {operation}: {logs}"));
        assert!(
            line.contains("result_code=0") && line.contains("duration_ms="),
            "{line}"
        );
        assert!(line.contains(TERMINAL), "{line}");
    }
    assert!(
        sandbox_lines
            .iter()
            .any(|l| l.contains("notification") && l.contains("/notify/1")),
        "{logs}"
    );
    assert!(!logs.contains(TERMINAL_PASSWORD), "{logs}");
    assert!(!logs.contains("tok-SECRET-123"), "{logs}");
}
