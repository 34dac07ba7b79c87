//! Fault injection on operations and notifications.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use glase_protocol::{GetPaymentStatusRequest, InvoiceStatus, SendInvoiceRequest, soap};
use glase_sandbox::EventKind;
use serde_json::json;

use crate::common::*;

fn send_invoice_body() -> String {
    soap::encode_request(
        &SendInvoiceRequest {
            context: shop(),
            invoice: Some(invoice(100)),
            tokens: vec![],
        }
        .into(),
    )
}

#[tokio::test]
async fn http_500_answers_without_executing_and_count_limits_the_hits() {
    let t = start().await;
    let put = t
        .request(
            reqwest::Method::PUT,
            "/sandbox/faults",
            Some(&json!({"rules": [{"target": "sendInvoice", "action": "http_500", "count": 1}]})),
        )
        .await;
    assert_eq!(put.status(), 200);
    let response = t
        .http
        .post(t.handle.soap_endpoint_url())
        .body(send_invoice_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(!response.text().await.unwrap().contains("Envelope"));
    assert!(t.sandbox().invoices().is_empty(), "the operation did not run");
    t.send(invoice(100)).await;
    assert_eq!(t.sandbox().invoices().len(), 1, "the rule hit once only");
    assert!(t.sandbox().events(None).iter().any(
        |e| matches!(&e.kind, EventKind::FaultInjected { target, action } if target == "sendInvoice" && action == "http_500")
    ));
}

#[tokio::test]
async fn an_injected_result_code_is_not_an_acknowledgement() {
    let t = start().await;
    let reference = t.send(invoice(100)).await;
    t.sandbox().pay_invoice(&reference).unwrap();
    t.set_faults(
        json!({"rules": [{"target": "getPaymentStatus", "action": "result_code", "result_code": 93}]}),
    );
    let status = t.status(&reference).await;
    assert_eq!(status.result_code.code(), 93);
    assert_eq!(status.result_description.as_deref(), Some("SYSTEM_BUSY"));
    t.sandbox().advance_clock(Duration::from_secs(21));
    t.sandbox().clear_faults();
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Canceled));
}

#[tokio::test]
async fn latency_executes_first_so_a_client_timing_out_leaves_a_real_invoice() {
    let t = start().await;
    t.set_faults(json!({"rules": [{"target": "sendInvoice", "action": "latency", "delay_ms": 1500}]}));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let result = impatient
        .post(t.handle.soap_endpoint_url())
        .body(send_invoice_body())
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
    assert_eq!(
        t.sandbox().invoices().len(),
        1,
        "the invoice exists although the client saw no answer"
    );
}

#[tokio::test]
async fn disconnect_executes_then_closes_the_connection_without_an_answer() {
    let t = start().await;
    t.set_faults(json!({"rules": [{"target": "sendInvoice", "action": "disconnect"}]}));
    let result = async {
        let response = t
            .http
            .post(t.handle.soap_endpoint_url())
            .body(send_invoice_body())
            .send()
            .await?;
        response.bytes().await
    }
    .await;
    assert!(result.is_err(), "no complete answer: {result:?}");
    assert_eq!(t.sandbox().invoices().len(), 1);
}

#[tokio::test]
async fn delay_waits_before_executing_and_then_answers() {
    let t = start().await;
    t.set_faults(json!({"rules": [{"target": "getPaymentStatus", "action": "delay", "delay_ms": 400}]}));
    let reference = t.send(invoice(100)).await;
    let started = Instant::now();
    let request = GetPaymentStatusRequest {
        context: shop(),
        invoice_reference: Some(reference),
        invoice_version: 0,
    };
    let response = t.call(request).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(glase_protocol::ResponseBase::result_code(&response).code(), 0);
}

#[tokio::test]
async fn dropped_duplicated_and_delayed_notifications() {
    let receiver = Receiver::start(StatusCode::OK).await;
    let t = start().await;
    let url = receiver.url("/n");

    t.set_faults(json!({"rules": [{"target": "notification", "action": "drop", "count": 1}]}));
    let dropped = t.paid(&url).await;
    let event = t
        .event_within(2, |e| matches!(e.kind, EventKind::NotificationDropped { .. }))
        .await
        .unwrap();
    assert!(
        matches!(event.kind, EventKind::NotificationDropped { invoice_reference } if invoice_reference == dropped)
    );
    assert_eq!(receiver.count(), 0);

    t.set_faults(json!({"rules": [{"target": "notification", "action": "duplicate"}]}));
    let duplicated = t.paid(&url).await;
    let second = t
        .event_within(5, |e| {
            matches!(e.kind, EventKind::NotificationSent { attempt: 2, .. })
        })
        .await;
    assert!(second.is_some());
    assert_eq!(receiver.count(), 2);
    assert!(receiver.seen().iter().all(|s| s.body.contains(&duplicated)));

    t.set_faults(json!({"rules": [{"target": "notification", "action": "delay", "delay_ms": 300}]}));
    let started = Instant::now();
    let delayed = t.paid(&url).await;
    let sent = t
        .event_within(5, |e| {
            matches!(&e.kind, EventKind::NotificationSent { invoice_reference, .. } if *invoice_reference == delayed)
        })
        .await;
    assert!(sent.is_some());
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(receiver.count(), 3);
}

#[tokio::test]
async fn the_faults_control_rejects_unknown_fields_and_bad_rules_and_delete_resets() {
    let t = start().await;
    for body in [
        json!({"rules": [{"target": "sendInvoice", "action": "http_500", "when": "always"}]}),
        json!({"rules": [], "mode": "x"}),
        json!({"rules": [{"target": "notification", "action": "http_500"}]}),
        json!({"rules": [{"target": "sendInvoice", "action": "explode"}]}),
        json!({"rules": [{"target": "sendInvoice", "action": "latency"}]}),
    ] {
        let response = t
            .request(reqwest::Method::PUT, "/sandbox/faults", Some(&body))
            .await;
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "bad_request");
    }
    t.send(invoice(100)).await;
    let put = json!({"rules": [{"target": "sendInvoice", "action": "result_code", "result_code": 94}]});
    assert_eq!(
        t.request(reqwest::Method::PUT, "/sandbox/faults", Some(&put))
            .await
            .status(),
        200
    );
    assert_eq!(t.send_on(shop(), invoice(100)).await.result_code.code(), 94);
    assert_eq!(
        t.request(reqwest::Method::DELETE, "/sandbox/faults", None)
            .await
            .status(),
        204
    );
    assert_eq!(t.send_on(shop(), invoice(100)).await.result_code.code(), 0);
}
