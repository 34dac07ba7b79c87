//! Proves that a full client call logs what operators need and never a password or an envelope body.

mod support;

use std::time::Duration;

use glase_protocol::soap::encode_response;
use glase_protocol::*;
use support::stub::{Reply, Stub};
use support::*;
use test_support::CapturedLines;

#[tokio::test]
async fn a_full_call_logs_operation_and_result_but_no_password_and_no_body() {
    let capture = CapturedLines::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stub = Stub::start(vec![
        Reply::ok("<wsdl:definitions/>".into()),
        Reply::ok(encode_response(&full_response(Operation::SendInvoice))),
        Reply::ok(encode_response(&Response::with_code(
            Operation::RegisterTerminal,
            ResultCode::AuthenticationFailed,
        ))),
    ])
    .await;
    let client = GlaseClient::new(GlaseClientConfig::new(&stub.endpoint)).unwrap();
    client.warm_up().await.unwrap();

    let Request::SendInvoice(send) = full_request(Operation::SendInvoice) else {
        unreachable!()
    };
    let context_password = "s3cr&t<pw>";
    assert!(send.context.password.verify_str(context_password));
    client.send_invoice(&send, Duration::from_secs(5)).await.unwrap();

    let Request::RegisterTerminal(register) = full_request(Operation::RegisterTerminal) else {
        unreachable!()
    };
    let new_terminal_password = "N2YFUhKaB1ZSuVF";
    let error = client
        .register_terminal(&register, Duration::from_secs(5))
        .await
        .unwrap_err();
    tracing::error!(error = ?error, request = ?register, "caller logs the failure and the request with Debug");

    let logs = capture.text();
    assert!(logs.contains("sendInvoice"), "{logs}");
    assert!(logs.contains("registerTerminal"), "{logs}");
    assert!(logs.contains("result_code=20"), "{logs}");
    assert!(logs.contains("elapsed_ms="), "{logs}");
    for secret in [
        context_password,
        "s3cr&amp;t",
        new_terminal_password,
        "1234</password>",
    ] {
        assert!(
            !logs.contains(secret),
            "secret {secret:?} leaked into the logs:\n{logs}"
        );
    }
    for body_marker in [
        "Envelope",
        "<context>",
        "invoiceRows",
        "Kaffe",
        "Order 42",
        "2610411111110",
    ] {
        assert!(
            !logs.contains(body_marker),
            "body content {body_marker:?} leaked into the logs:\n{logs}"
        );
    }
}
