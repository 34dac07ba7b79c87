//! The reversal rule: a payment no getPaymentStatus acknowledged within the window is reversed.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use glase_protocol::{InvoiceStatus, soap};
use glase_sandbox::{EventKind, NotificationBody, NotificationOutcome, SandboxConfig};

use crate::common::*;

#[tokio::test]
async fn an_unacknowledged_payment_is_reversed_when_the_clock_passes_20_seconds() {
    let t = start().await;
    let reference = t.send(invoice(4200)).await;
    let paid = t.sandbox().pay_invoice(&reference).unwrap();
    assert_eq!(paid.invoice.status, "PAID");
    let ers = paid.invoice.payment.unwrap().ers_reference;

    t.sandbox().advance_clock(Duration::from_secs(19));
    let view = t.sandbox().invoice(&reference).unwrap();
    assert_eq!(view.status, "PAID", "not yet at 19 s");

    t.sandbox().advance_clock(Duration::from_secs(2));
    let view = t.sandbox().invoice(&reference).unwrap();
    assert_eq!((view.status.as_str(), view.version), ("CANCELED", 2));
    let payment = view.payment.unwrap();
    assert!(payment.reversed && !payment.acknowledged);

    let events = t.sandbox().events(None);
    let reversed = events.iter().position(
        |e| matches!(&e.kind, EventKind::PaymentReversed { ers_reference, .. } if *ers_reference == ers),
    );
    let sms = events.iter().position(
        |e| matches!(&e.kind, EventKind::SmsSent { invoice_reference, .. } if *invoice_reference == reference),
    );
    assert!(
        reversed.unwrap() < sms.unwrap(),
        "the reversal comes first, then the SMS"
    );

    // A late getPaymentStatus sees the reversal and gets no payment reference.
    let status = t.status(&reference).await;
    assert_eq!(
        (status.status, status.version, status.ers_reference),
        (Some(InvoiceStatus::Canceled), 2, None)
    );
    assert!(status.receipt.is_none());
}

#[tokio::test]
async fn a_payment_acknowledged_within_the_window_is_never_reversed() {
    let t = start().await;
    let reference = t.send(invoice(4200)).await;
    t.sandbox().pay_invoice(&reference).unwrap();
    t.sandbox().advance_clock(Duration::from_secs(19));
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Paid));
    t.sandbox().advance_clock(Duration::from_secs(3600));
    let status = t.status(&reference).await;
    assert_eq!((status.status, status.version), (Some(InvoiceStatus::Paid), 1));
    let payment = t.sandbox().invoice(&reference).unwrap().payment.unwrap();
    assert!(payment.acknowledged && !payment.reversed);
    assert!(
        !t.sandbox()
            .events(None)
            .iter()
            .any(|e| matches!(e.kind, EventKind::SmsSent { .. }))
    );
}

#[tokio::test]
async fn a_status_call_before_the_payment_does_not_count_as_the_acknowledgement() {
    let t = start().await;
    let reference = t.send(invoice(100)).await;
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Issued));
    t.sandbox().pay_invoice(&reference).unwrap();
    t.sandbox().advance_clock(Duration::from_secs(21));
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Canceled));
}

#[tokio::test]
async fn the_window_is_configurable_and_reversal_also_fires_in_real_time() {
    let t = start_with(SandboxConfig {
        ack_window_secs: 1,
        ..SandboxConfig::default()
    })
    .await;
    let reference = t.send(invoice(100)).await;
    t.sandbox().pay_invoice(&reference).unwrap();
    // Nobody calls: the background task reverses the payment once a real second has passed.
    let reversed = t
        .event_within(5, |e| matches!(e.kind, EventKind::PaymentReversed { .. }))
        .await;
    assert!(reversed.is_some());
    assert_eq!(t.sandbox().invoice(&reference).unwrap().status, "CANCELED");
}

#[tokio::test]
async fn paying_posts_the_notification_url_with_a_form_body_and_records_the_outcome() {
    let receiver = Receiver::start(StatusCode::OK).await;
    let t = start().await;
    let reference = t.paid(&receiver.url("/v1/notifications/abc?token=s3cret")).await;
    let sent = t
        .event_within(5, |e| matches!(e.kind, EventKind::NotificationSent { .. }))
        .await
        .unwrap();
    let EventKind::NotificationSent {
        invoice_reference,
        attempt,
        url_path,
        outcome,
    } = sent.kind
    else {
        unreachable!()
    };
    assert_eq!((invoice_reference, attempt), (reference.clone(), 1));
    assert_eq!(outcome, NotificationOutcome::HttpStatus(200));
    assert_eq!(
        url_path,
        receiver.url("/v1/notifications/abc"),
        "the query string is never recorded"
    );
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path_and_query, "/v1/notifications/abc?token=s3cret");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        seen[0].body,
        format!("invoiceReference={reference}&clientInvoiceId=order-42")
    );
    let json = serde_json::to_string(&t.sandbox().events(None)).unwrap();
    assert!(!json.contains("s3cret"));
}

#[tokio::test]
async fn the_empty_body_switch_sends_an_empty_post_and_failures_are_recorded() {
    let receiver = Receiver::start(StatusCode::SERVICE_UNAVAILABLE).await;
    let t = start_with(SandboxConfig {
        notification_body: NotificationBody::Empty,
        ..SandboxConfig::default()
    })
    .await;
    t.paid(&receiver.url("/n")).await;
    let sent = t
        .event_within(5, |e| matches!(e.kind, EventKind::NotificationSent { .. }))
        .await
        .unwrap();
    assert!(matches!(
        sent.kind,
        EventKind::NotificationSent {
            outcome: NotificationOutcome::HttpStatus(503),
            ..
        }
    ));
    assert_eq!(receiver.seen()[0].body, "");

    // A notification URL nobody listens on is recorded as an error, and the payment is still reversed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/n", closed.local_addr().unwrap());
    drop(closed);
    let second = t.paid(&dead_url).await;
    let failed = t
        .event_within(5, |e| {
            matches!(&e.kind, EventKind::NotificationSent { invoice_reference, outcome: NotificationOutcome::Error(_), .. } if *invoice_reference == second)
        })
        .await;
    assert!(failed.is_some());
    t.sandbox().advance_clock(Duration::from_secs(21));
    assert_eq!(t.sandbox().invoice(&second).unwrap().status, "CANCELED");
}

#[tokio::test]
async fn a_merchant_that_confirms_on_notification_keeps_the_payment() {
    let t = Arc::new(start().await);
    let endpoint = t.handle.soap_endpoint_url();
    // The receiver behaves like our notification handler: getPaymentStatus at once, then 200.
    let hook: Arc<dyn Fn(String) + Send + Sync> = Arc::new(move |body: String| {
        let endpoint = endpoint.clone();
        let reference = body
            .split('&')
            .find_map(|p| p.strip_prefix("invoiceReference="))
            .unwrap()
            .to_owned();
        tokio::spawn(async move {
            let request = glase_protocol::GetPaymentStatusRequest {
                context: shop(),
                invoice_reference: Some(reference),
                invoice_version: 0,
            };
            let body = soap::encode_request(&request.into());
            reqwest::Client::new()
                .post(endpoint)
                .body(body)
                .send()
                .await
                .unwrap();
        });
    });
    let receiver = Receiver::start_with_hook(StatusCode::OK, Some(hook)).await;
    let reference = t.paid(&receiver.url("/n")).await;
    let acknowledged = t
        .event_within(5, |e| matches!(e.kind, EventKind::PaymentAcknowledged { .. }))
        .await;
    assert!(acknowledged.is_some());
    t.sandbox().advance_clock(Duration::from_secs(60));
    assert_eq!(t.sandbox().invoice(&reference).unwrap().status, "PAID");
}
