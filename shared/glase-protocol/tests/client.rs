//! The client against a local HTTP stub: success, slow answers, 5xx, faults, dropped connections,
//! retries where they are safe and none where they are not.

mod support;

use std::time::{Duration, Instant};

use glase_protocol::retry::RetryPolicy;
use glase_protocol::soap::{self, encode_fault, encode_request, encode_response};
use glase_protocol::*;
use support::stub::{Reply, Stub, closed_endpoint};
use support::*;

const DEADLINE: Duration = Duration::from_secs(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn client(endpoint: &str) -> GlaseClient {
    let config = GlaseClientConfig {
        request_timeout: ms(300),
        connect_timeout: ms(200),
        retry: RetryPolicy {
            base_delay: ms(20),
            max_delay: ms(100),
            report_wait: ms(30),
            max_report_wait: ms(60),
            ..RetryPolicy::default()
        },
        ..GlaseClientConfig::new(endpoint)
    };
    GlaseClient::new(config).unwrap().with_jitter(|| 1000)
}

fn send_invoice_request() -> SendInvoiceRequest {
    match full_request(Operation::SendInvoice) {
        Request::SendInvoice(r) => r,
        other => panic!("{other:?}"),
    }
}

fn status_request() -> GetPaymentStatusRequest {
    match full_request(Operation::GetPaymentStatus) {
        Request::GetPaymentStatus(r) => r,
        other => panic!("{other:?}"),
    }
}

fn report_request() -> ExecuteReportRequest {
    match full_request(Operation::ExecuteReport) {
        Request::ExecuteReport(r) => r,
        other => panic!("{other:?}"),
    }
}

/// A stub started with `replies`, and what `call` gets from a client to it.
async fn against<T>(
    replies: Vec<Reply>,
    call: impl AsyncFnOnce(&GlaseClient) -> Result<T, GlaseError>,
) -> (Stub, Result<T, GlaseError>) {
    let stub = Stub::start(replies).await;
    let result = call(&client(&stub.endpoint)).await;
    (stub, result)
}

/// A stub started with `replies`, and its answer to one [`send_invoice_request`].
async fn send_invoice_to(replies: Vec<Reply>) -> (Stub, Result<SendInvoiceResponse, GlaseError>) {
    against(replies, async |c| {
        c.send_invoice(&send_invoice_request(), DEADLINE).await
    })
    .await
}

/// A stub started with `replies`, and its answer to one [`status_request`] given `deadline`.
async fn status_from(
    replies: Vec<Reply>,
    deadline: Duration,
) -> (Stub, Result<GetPaymentStatusResponse, GlaseError>) {
    against(replies, async |c| {
        c.get_payment_status(&status_request(), deadline).await
    })
    .await
}

/// The rejection Glase's `code` with its `description` is.
fn rejected(code: ResultCode, description: &str) -> GlaseError {
    GlaseError::Rejected {
        code,
        description: Some(description.into()),
    }
}

fn answer(op: Operation, code: i32) -> Reply {
    let response = if code == 0 {
        full_response(op)
    } else {
        Response::with_code(op, ResultCode::from_code(code))
    };
    Reply::ok(encode_response(&response))
}

#[tokio::test]
async fn a_successful_call_posts_the_exact_envelope_once_and_returns_the_typed_response() {
    let stub = Stub::start(vec![answer(Operation::SendInvoice, 0)]).await;
    let request = send_invoice_request();
    let response = client(&stub.endpoint)
        .send_invoice(&request, DEADLINE)
        .await
        .unwrap();
    assert_eq!(
        Response::SendInvoice(response),
        full_response(Operation::SendInvoice)
    );
    let received = stub.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].request_line, "POST /service HTTP/1.1");
    assert_eq!(received[0].body, encode_request(&Request::SendInvoice(request)));
    let headers = received[0].headers.to_ascii_lowercase();
    assert!(
        headers.contains("content-type: text/xml; charset=utf-8"),
        "{headers}"
    );
    assert!(headers.contains("soapaction: \"\""), "{headers}");
}

#[tokio::test]
async fn every_typed_method_returns_its_own_response() {
    let script = Operation::ALL.into_iter().map(|op| answer(op, 0)).collect();
    let stub = Stub::start(script).await;
    let c = client(&stub.endpoint);
    for op in Operation::ALL {
        let response = c.call(&full_request(op), DEADLINE).await.unwrap();
        assert_eq!(response, full_response(op));
    }
    let r = |op| full_request(op);
    macro_rules! typed {
        ($method:ident, $op:ident) => {{
            let Request::$op(req) = r(Operation::$op) else {
                unreachable!()
            };
            let stub = Stub::start(vec![answer(Operation::$op, 0)]).await;
            let got = client(&stub.endpoint).$method(&req, DEADLINE).await.unwrap();
            assert_eq!(Response::$op(got), full_response(Operation::$op));
        }};
    }
    typed!(update_invoice, UpdateInvoice);
    typed!(cancel_invoice, CancelInvoice);
    typed!(commit_reservation, CommitReservation);
    typed!(submit_payment_receipt, SubmitPaymentReceipt);
    typed!(refund_payment, RefundPayment);
    typed!(register_terminal, RegisterTerminal);
    typed!(unregister_terminal, UnregisterTerminal);
    typed!(assign_seqr_id, AssignSeqrId);
    typed!(mark_transaction_period, MarkTransactionPeriod);
}

#[tokio::test]
async fn send_invoice_is_not_repeated_after_a_timeout_and_reports_outcome_unknown() {
    let stub = Stub::start(vec![Reply::after(ms(1500), answer(Operation::SendInvoice, 0))]).await;
    let started = Instant::now();
    let error = client(&stub.endpoint)
        .send_invoice(&send_invoice_request(), DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert!(error.may_have_taken_effect());
    assert!(
        started.elapsed() < ms(1200),
        "the per-attempt timeout must cut the wait"
    );
    tokio::time::sleep(ms(100)).await;
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn refund_payment_is_not_repeated_after_a_dropped_connection() {
    let stub = Stub::start(vec![Reply::Drop, answer(Operation::RefundPayment, 0)]).await;
    let Request::RefundPayment(request) = full_request(Operation::RefundPayment) else {
        unreachable!()
    };
    let error = client(&stub.endpoint)
        .refund_payment(&request, DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn send_invoice_is_not_repeated_after_a_5xx_without_soap_body() {
    let (stub, result) = send_invoice_to(vec![Reply::Body(502, "<html>bad gateway</html>".into())]).await;
    let error = result.unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn send_invoice_is_not_repeated_after_a_truncated_answer() {
    let partial = encode_response(&full_response(Operation::SendInvoice))[..60].to_owned();
    let (stub, result) = send_invoice_to(vec![Reply::Truncated(partial)]).await;
    let error = result.unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn send_invoice_busy_is_a_rejection_and_not_repeated() {
    let (stub, result) = send_invoice_to(vec![answer(Operation::SendInvoice, 93)]).await;
    let error = result.unwrap_err();
    assert_eq!(error, rejected(ResultCode::SystemBusy, "SYSTEM_BUSY"));
    assert!(error.is_retryable());
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn get_payment_status_is_retried_on_system_busy_then_succeeds() {
    let (stub, result) = status_from(
        vec![
            answer(Operation::GetPaymentStatus, 93),
            answer(Operation::GetPaymentStatus, 94),
            answer(Operation::GetPaymentStatus, 0),
        ],
        DEADLINE,
    )
    .await;
    let response = result.unwrap();
    assert_eq!(response.status, Some(InvoiceStatus::Paid));
    assert_eq!(stub.count(), 3);
}

#[tokio::test]
async fn get_payment_status_gives_up_after_the_attempt_limit() {
    let (stub, result) = status_from(vec![answer(Operation::GetPaymentStatus, 93)], DEADLINE).await;
    let error = result.unwrap_err();
    assert_eq!(error.result_code(), Some(ResultCode::SystemBusy));
    assert_eq!(stub.count(), RetryPolicy::default().max_attempts as usize);
}

#[tokio::test]
async fn get_payment_status_is_retried_after_timeouts_drops_and_5xx() {
    let (stub, result) = status_from(
        vec![
            Reply::after(ms(1000), answer(Operation::GetPaymentStatus, 0)),
            Reply::Drop,
            Reply::Body(503, String::new()),
            answer(Operation::GetPaymentStatus, 0),
        ],
        DEADLINE,
    )
    .await;
    let response = result.unwrap();
    assert_eq!(response.version, 2);
    assert_eq!(stub.count(), 4);
}

#[tokio::test]
async fn retries_stop_at_the_callers_deadline() {
    let stub = Stub::start(vec![Reply::after(
        ms(1000),
        answer(Operation::GetPaymentStatus, 0),
    )])
    .await;
    let started = Instant::now();
    let error = client(&stub.endpoint)
        .get_payment_status(&status_request(), ms(500))
        .await
        .unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert!(started.elapsed() < ms(800), "took {:?}", started.elapsed());
    assert!(stub.count() <= 2);
}

#[tokio::test]
async fn a_spent_deadline_sends_nothing() {
    let (stub, result) = status_from(vec![answer(Operation::GetPaymentStatus, 0)], Duration::ZERO).await;
    let error = result.unwrap_err();
    assert!(matches!(error, GlaseError::Transport { .. }), "{error:?}");
    assert_eq!(stub.count(), 0);
}

#[tokio::test]
async fn a_connect_failure_after_an_ambiguous_attempt_still_reports_outcome_unknown() {
    let stub = Stub::start(vec![Reply::after(ms(2000), answer(Operation::CancelInvoice, 0))]).await;
    let c = client(&stub.endpoint);
    let Request::CancelInvoice(request) = full_request(Operation::CancelInvoice) else {
        unreachable!()
    };
    let call = tokio::spawn(async move { c.cancel_invoice(&request, DEADLINE).await });
    while stub.count() == 0 {
        tokio::time::sleep(ms(5)).await;
    }
    stub.stop_listening().await;
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(error, GlaseError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn business_rejections_are_never_retried() {
    let (stub, result) = status_from(vec![answer(Operation::GetPaymentStatus, 54)], DEADLINE).await;
    let error = result.unwrap_err();
    assert_eq!(
        error,
        rejected(ResultCode::InvalidInvoiceReference, "INVALID_INVOICE_REFERENCE")
    );
    assert!(!error.is_retryable());
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn soap_faults_are_typed_and_not_retried() {
    let (stub, result) = status_from(
        vec![Reply::Body(
            500,
            encode_fault("soap:Server", "Fault occurred while processing."),
        )],
        DEADLINE,
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(
        error,
        GlaseError::Fault {
            code: "soap:Server".into(),
            message: "Fault occurred while processing.".into()
        }
    );
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn http_errors_without_soap_body_are_reported_with_their_status() {
    let stub = Stub::start(vec![Reply::Body(404, "not found".into())]).await;
    let error = client(&stub.endpoint)
        .cancel_invoice(&CancelInvoiceRequest::default(), DEADLINE)
        .await
        .unwrap_err();
    assert_eq!(error, GlaseError::Http { status: 404 });
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn undecodable_and_oversized_answers_are_decode_errors() {
    let (stub, result) = status_from(vec![Reply::ok("<html/>".into())], DEADLINE).await;
    let error = result.unwrap_err();
    assert_eq!(error, GlaseError::Decode(soap::DecodeError::NotSoapEnvelope));
    assert_eq!(stub.count(), 1);

    let huge = "x".repeat(soap::MAX_INPUT_BYTES + 1);
    let (_stub, result) = status_from(vec![Reply::ok(huge)], DEADLINE).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, GlaseError::Decode(soap::DecodeError::TooLarge { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_execute_report_answer_may_be_larger_than_any_other_answer() {
    // A report of 3 MiB: over the 1 MiB of every other answer, inside the report limit.
    let big = "r".repeat(3 * soap::MAX_INPUT_BYTES);
    let mut response = full_response(Operation::ExecuteReport);
    if let Response::ExecuteReport(r) = &mut response
        && let Some(report) = &mut r.report
    {
        report.content_string = Some(big.clone());
    }
    let stub = Stub::start(vec![Reply::ok(encode_response(&response))]).await;
    let answer = client(&stub.endpoint)
        .execute_report(&report_request(), DEADLINE)
        .await
        .unwrap();
    assert_eq!(answer.report.unwrap().content_string, Some(big));
}

#[tokio::test]
async fn report_not_ready_is_retried_until_the_report_is_ready() {
    let stub = Stub::start(vec![
        answer(Operation::ExecuteReport, 2),
        answer(Operation::ExecuteReport, 2),
        answer(Operation::ExecuteReport, 0),
    ])
    .await;
    let started = Instant::now();
    let response = client(&stub.endpoint)
        .execute_report(&report_request(), DEADLINE)
        .await
        .unwrap();
    assert_eq!(
        response.report.unwrap().content_string.as_deref(),
        Some("<TerminalTransactionSummary/>")
    );
    assert_eq!(stub.count(), 3);
    assert!(
        started.elapsed() >= ms(30 + 60),
        "waits of 30 ms then 60 ms expected"
    );
}

#[tokio::test]
async fn connect_failures_are_retried_for_every_operation_then_reported_as_transport() {
    let endpoint = closed_endpoint().await;
    let started = Instant::now();
    let error = client(&endpoint)
        .send_invoice(&send_invoice_request(), DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(error, GlaseError::Transport { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(!error.may_have_taken_effect());
    assert!(
        started.elapsed() >= ms(20 + 40 + 80),
        "three backoff waits expected, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn warm_up_opens_a_connection_with_a_wsdl_get() {
    let stub = Stub::start(vec![Reply::ok("<wsdl:definitions/>".into())]).await;
    client(&stub.endpoint).warm_up().await.unwrap();
    let received = stub.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].request_line, "GET /service?wsdl HTTP/1.1");

    let error = client(&closed_endpoint().await).warm_up().await.unwrap_err();
    assert!(matches!(error, GlaseError::Transport { .. }), "{error:?}");
}

#[tokio::test]
async fn clones_can_be_used_concurrently() {
    let stub = Stub::start(vec![answer(Operation::CancelInvoice, 0)]).await;
    let original = client(&stub.endpoint);
    let clone = original.clone();
    let Request::CancelInvoice(request) = full_request(Operation::CancelInvoice) else {
        unreachable!()
    };
    let (a, b) = tokio::join!(
        original.cancel_invoice(&request, DEADLINE),
        clone.cancel_invoice(&request, DEADLINE)
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(stub.count(), 2);
}
