//! The protocol crate's client with its real retry policy against the sandbox and its faults.

use std::time::Duration;

use glase_protocol::retry::RetryPolicy;
use glase_protocol::{
    ExecuteReportRequest, GetPaymentStatusRequest, GlaseError, InvoiceStatus, MarkTransactionPeriodRequest,
    ParameterMap, ResultCode, SendInvoiceRequest,
};
use glase_sandbox::{EventKind, SandboxConfig};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn get_payment_status_retried_through_system_busy_still_acknowledges_in_time() {
    let t = start().await;
    let client = client_for(&t.handle, RetryPolicy::default());
    let reference = t.send(invoice(100)).await;
    t.sandbox().pay_invoice(&reference).unwrap();
    let busy = json!({"rules": [{"target": "getPaymentStatus", "action": "result_code", "result_code": 93, "count": 2}]});
    t.set_faults(busy);
    let request = GetPaymentStatusRequest {
        context: shop(),
        invoice_reference: Some(reference.clone()),
        invoice_version: 0,
    };
    let status = client
        .get_payment_status(&request, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(status.status, Some(InvoiceStatus::Paid));
    let calls = t
        .sandbox()
        .events(None)
        .into_iter()
        .filter(|e| matches!(&e.kind, EventKind::Call { operation, .. } if operation == "getPaymentStatus"))
        .count();
    assert_eq!(calls, 3, "two injected SYSTEM_BUSY answers, then the real one");
    t.sandbox().advance_clock(Duration::from_secs(60));
    assert_eq!(t.sandbox().invoice(&reference).unwrap().status, "PAID");
}

#[tokio::test]
async fn send_invoice_after_an_injected_http_500_is_outcome_unknown_and_not_repeated() {
    let t = start().await;
    let client = client_for(&t.handle, RetryPolicy::default());
    t.set_faults(json!({"rules": [{"target": "sendInvoice", "action": "http_500"}]}));
    let error = failed_send(&client).await;
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    let hits = t
        .sandbox()
        .events(None)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::FaultInjected { .. }))
        .count();
    assert_eq!(hits, 1, "sendInvoice is never repeated");
    assert!(t.sandbox().invoices().is_empty());
}

#[tokio::test]
async fn a_latency_fault_past_the_client_timeout_leaves_the_invoice_created_and_the_outcome_unknown() {
    let t = start().await;
    let mut config = glase_protocol::GlaseClientConfig::new(t.handle.soap_endpoint_url());
    config.request_timeout = Duration::from_millis(300);
    let client = glase_protocol::GlaseClient::new(config).unwrap();
    let slow = json!({"rules": [{"target": "sendInvoice", "action": "latency", "delay_ms": 1500}]});
    t.set_faults(slow);
    let error = failed_send(&client).await;
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(
        t.sandbox().invoices().len(),
        1,
        "the sandbox executed it before the latency"
    );
}

#[tokio::test]
async fn execute_report_is_retried_until_the_report_is_ready() {
    let t = start_with(SandboxConfig {
        report_delay_ms: 500,
        ..SandboxConfig::default()
    })
    .await;
    let client = client_for(&t.handle, RetryPolicy::default());
    t.paid_and_acknowledged(700).await;
    let mark = MarkTransactionPeriodRequest {
        context: reseller(),
        parameters: None,
    };
    let period = client
        .mark_transaction_period(&mark, Duration::from_secs(5))
        .await
        .unwrap();
    let request = ExecuteReportRequest {
        context: reseller(),
        report_id: Some("Reconciliation/Shop.xml".into()),
        language: None,
        parameters: Some(
            ParameterMap::new().with("transactionPeriodId", period.transaction_period_id.unwrap()),
        ),
    };
    let report = client
        .execute_report(&request, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(report.result_code, ResultCode::Success);
    assert!(
        report
            .report
            .unwrap()
            .content_string
            .unwrap()
            .contains("<SalesTotal>7.00000</SalesTotal>")
    );
    let not_ready = t
        .sandbox()
        .events(None)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::ReportRequested { delivered: false, .. }))
        .count();
    assert!(
        not_ready >= 1,
        "the first attempt came before the report was ready"
    );
}

/// The error `client` gets for an invoice of 1.00 sent on the webshop terminal, within five seconds.
async fn failed_send(client: &glase_protocol::GlaseClient) -> GlaseError {
    let request = SendInvoiceRequest {
        context: shop(),
        invoice: Some(invoice(100)),
        tokens: vec![],
    };
    client
        .send_invoice(&request, Duration::from_secs(5))
        .await
        .unwrap_err()
}
