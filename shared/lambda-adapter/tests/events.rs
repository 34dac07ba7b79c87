//! Every sample event in `events/` round-trips through the `aws_lambda_events` type of API Gateway HTTP
//! API (payload 2.0) and runs through its function's handler on the in-memory fakes, answering the status
//! this table expects. The expectations live here, not in the event files.

mod support;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_adapter::{to_api_request, to_lambda_response};
use payments_api::settings::Function;
use payments_api::testing::{FakeApp, fake_app};
use payments_domain::ids::PaymentId;
use payments_domain::payment::PaymentStatus;
use payments_domain::ports::PaymentStore;
use support::{events_dir, read, round_trip};

/// What a test needs before its event: nothing, a created payment, or a created payment the shopper paid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    Nothing,
    Created,
    CreatedAndPaid,
    /// Created, paid, and confirmed through the notification.
    Confirmed,
    /// Confirmed, and a refund requested.
    RefundQueued,
    /// A registered POS terminal (`term_…01`), no payment.
    Terminal,
    /// A registered POS terminal and a pending payment on it (`pay_…02`).
    PosCreated,
    /// Glase has the period's reports ready (nothing else).
    ReportsReady,
    /// Reports ready, and `reporting/close.json` closed a period.
    PeriodClosed,
}

macro_rules! event_cases {
    ($($test:ident: $file:literal, $function:ident, $before:ident, $status:literal;)*) => {
        const CASES: &[(&str, Function, Before, u16)] = &[$(($file, Function::$function, Before::$before, $status)),*];
        $(
            #[tokio::test]
            async fn $test() {
                answers_as_expected($file, Function::$function, Before::$before, $status).await;
            }
        )*
    };
}

// One test per HTTP event file and prior state: `name: file, function, state before, expected status;`.
// The macro also lists them in `CASES`, which the table checks read.
event_cases! {
    create_payment_ok: "create-payment/ok.json", CreatePayment, Nothing, 201;
    create_payment_missing_key: "create-payment/missing-key.json", CreatePayment, Nothing, 401;
    create_payment_wrong_key: "create-payment/wrong-key.json", CreatePayment, Nothing, 401;
    create_payment_rows_do_not_sum: "create-payment/rows-do-not-sum.json", CreatePayment, Nothing, 400;
    create_payment_malformed_json: "create-payment/malformed-json.json", CreatePayment, Nothing, 400;
    create_payment_unknown_field: "create-payment/unknown-field.json", CreatePayment, Nothing, 400;
    create_payment_wrong_route: "create-payment/wrong-route.json", CreatePayment, Created, 404;
    payment_status_merchant: "payment-status/merchant.json", PaymentStatus, Created, 200;
    payment_status_client_secret: "payment-status/client-secret.json", PaymentStatus, Created, 200;
    payment_status_wrong_client_secret: "payment-status/wrong-client-secret.json", PaymentStatus, Created, 404;
    payment_status_no_credential: "payment-status/no-credential.json", PaymentStatus, Created, 401;
    payment_status_unknown_payment: "payment-status/unknown-payment.json", PaymentStatus, Created, 404;
    payment_status_qr: "payment-status/qr.json", PaymentStatus, Created, 200;
    payment_status_openapi: "payment-status/openapi.json", PaymentStatus, Nothing, 200;
    payment_status_widget: "payment-status/widget.json", PaymentStatus, Nothing, 200;
    payment_control_cancel: "payment-control/cancel.json", PaymentControl, Created, 200;
    payment_control_cancel_unknown: "payment-control/cancel-unknown.json", PaymentControl, Created, 404;
    payment_control_update: "payment-control/update.json", PaymentControl, Created, 200;
    payment_control_update_rows_do_not_sum: "payment-control/update-rows-do-not-sum.json", PaymentControl, Created, 400;
    payment_control_update_missing_key: "payment-control/update-missing-key.json", PaymentControl, Created, 401;
    notification_ok: "notification/ok.json", Notification, CreatedAndPaid, 200;
    notification_wrong_token: "notification/wrong-token.json", Notification, CreatedAndPaid, 404;
    notification_missing_token: "notification/missing-token.json", Notification, CreatedAndPaid, 404;
    notification_unknown_payment: "notification/unknown-payment.json", Notification, CreatedAndPaid, 404;
    refund_request_ok_after_confirmed: "refund-request/ok.json", RefundRequest, Confirmed, 202;
    refund_request_ok_after_created: "refund-request/ok.json", RefundRequest, Created, 409;
    refund_request_over_refundable: "refund-request/over-refundable.json", RefundRequest, Confirmed, 422;
    refund_request_zero_amount: "refund-request/zero-amount.json", RefundRequest, Confirmed, 400;
    refund_request_missing_key: "refund-request/missing-key.json", RefundRequest, Confirmed, 401;
    refund_request_get_after_refund_queued: "refund-request/get.json", RefundRequest, RefundQueued, 200;
    refund_request_get_after_confirmed: "refund-request/get.json", RefundRequest, Confirmed, 404;
    terminals_register_after_nothing: "terminals/register.json", Terminals, Nothing, 201;
    terminals_register_after_terminal: "terminals/register.json", Terminals, Terminal, 200;
    terminals_register_empty_name: "terminals/register-empty-name.json", Terminals, Nothing, 400;
    terminals_register_missing_key: "terminals/register-missing-key.json", Terminals, Nothing, 401;
    terminals_list: "terminals/list.json", Terminals, Terminal, 200;
    terminals_assign_glase_id_after_terminal: "terminals/assign-glase-id.json", Terminals, Terminal, 200;
    terminals_assign_glase_id_after_nothing: "terminals/assign-glase-id.json", Terminals, Nothing, 404;
    terminals_assign_glase_id_invalid: "terminals/assign-glase-id-invalid.json", Terminals, Terminal, 400;
    terminals_unregister: "terminals/unregister.json", Terminals, PosCreated, 200;
    terminals_unregister_unknown: "terminals/unregister-unknown.json", Terminals, Terminal, 404;
    create_payment_pos_after_terminal: "create-payment/pos.json", CreatePayment, Terminal, 201;
    create_payment_pos_after_nothing: "create-payment/pos.json", CreatePayment, Nothing, 404;
    payment_control_try_again: "payment-control/try-again.json", PaymentControl, PosCreated, 200;
    payment_control_try_again_webshop: "payment-control/try-again-webshop.json", PaymentControl, Created, 409;
    reporting_close_after_reports_ready: "reporting/close.json", Reporting, ReportsReady, 201;
    reporting_close_after_period_closed: "reporting/close.json", Reporting, PeriodClosed, 200;
    reporting_close_without_body: "reporting/close-without-body.json", Reporting, ReportsReady, 201;
    reporting_close_missing_key: "reporting/close-missing-key.json", Reporting, ReportsReady, 401;
    reporting_close_bad_period_key: "reporting/close-bad-period-key.json", Reporting, ReportsReady, 400;
    reporting_close_unknown_field: "reporting/close-unknown-field.json", Reporting, ReportsReady, 400;
    reporting_close_unknown_terminal: "reporting/close-unknown-terminal.json", Reporting, ReportsReady, 404;
    reporting_get_after_period_closed: "reporting/get.json", Reporting, PeriodClosed, 200;
    reporting_get_after_reports_ready: "reporting/get.json", Reporting, ReportsReady, 404;
    reporting_get_unknown: "reporting/get-unknown.json", Reporting, PeriodClosed, 404;
    reporting_get_missing_key: "reporting/get-missing-key.json", Reporting, PeriodClosed, 401;
}

/// Events of the reporting function that are not HTTP: the schedule's input.
const REPORTING_EVENTS: &[&str] = &["reporting/schedule.json"];

/// Events of the refund worker (not HTTP): the SQS batch and the schedule.
const WORKER_EVENTS: &[&str] = &[
    "refund-worker/batch-with-poison.json",
    "refund-worker/outbox-schedule.json",
];

/// Events that are not HTTP API events, with their own tests in `tests/websocket.rs`.
const NON_HTTP_EVENTS: &[&str] = &[
    "websocket/connect.json",
    "websocket/connect-wrong-secret.json",
    "websocket/connect-no-secret.json",
    "websocket/sync.json",
    "websocket/sync-other-payment.json",
    "websocket/disconnect.json",
    "safety-net/schedule.json",
];

fn app(function: Option<Function>) -> FakeApp {
    FakeApp {
        function,
        ..fake_app("sk_test_events_key")
    }
}

/// Glase has the shop's reports of any period ready (empty: nothing was sold).
fn reports_ready(app: &FakeApp) {
    app.deps.glase.set_report(
        payments_domain::period::SHOP_SUMMARY_REPORT,
        "<ResellerTransactionSummary/>",
        Vec::new(),
    );
    app.deps.glase.set_report(
        payments_domain::period::SHOP_DETAILS_REPORT,
        "<TransactionDetails/>",
        Vec::new(),
    );
}

/// Runs one event and checks a JSON answer against the OpenAPI schema of its route and status.
async fn run(app: &FakeApp, name: &str) -> u16 {
    let text = read(name);
    let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let response = to_lambda_response(app.handle(to_api_request(request)).await);
    let status = response.status().as_u16();
    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (method, template) = event["routeKey"].as_str().unwrap().split_once(' ').unwrap();
    let is_json = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "application/json");
    if is_json && template != "/v1/openapi.json" {
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        payments_api::openapi::validate_response(method, template, status, &body)
            .unwrap_or_else(|e| panic!("{name}: the answer does not match the OpenAPI document: {e}"));
    }
    status
}

#[tokio::test]
async fn every_event_file_is_in_the_table() {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(events_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                f.file_name().unwrap().to_string_lossy()
            );
            files.push(name);
        }
    }
    for f in &files {
        assert!(
            CASES.iter().any(|(name, ..)| name == f)
                || WORKER_EVENTS.contains(&f.as_str())
                || NON_HTTP_EVENTS.contains(&f.as_str())
                || REPORTING_EVENTS.contains(&f.as_str()),
            "{f} has no expectation"
        );
    }
}

/// The event file `name` round-trips, and runs through `function`'s app after the state `before` calls
/// for with the status `expected`; an answer of 400 or more must change nothing.
async fn answers_as_expected(name: &str, function: Function, before: Before, expected: u16) {
    round_trip::<ApiGatewayV2httpRequest>(name);
    let seeding = app(None);
    if matches!(before, Before::Terminal | Before::PosCreated) {
        assert_eq!(
            run(&seeding, "terminals/register.json").await,
            201,
            "seeding {name}"
        );
    }
    if before == Before::PosCreated {
        assert_eq!(
            run(&seeding, "create-payment/pos.json").await,
            201,
            "seeding {name}"
        );
    }
    if matches!(before, Before::ReportsReady | Before::PeriodClosed) {
        reports_ready(&seeding);
    }
    if before == Before::PeriodClosed {
        assert_eq!(run(&seeding, "reporting/close.json").await, 201, "seeding {name}");
    }
    if !matches!(
        before,
        Before::Nothing | Before::Terminal | Before::PosCreated | Before::ReportsReady | Before::PeriodClosed
    ) {
        assert_eq!(
            run(&seeding, "create-payment/ok.json").await,
            201,
            "seeding {name}"
        );
    }
    if matches!(
        before,
        Before::CreatedAndPaid | Before::Confirmed | Before::RefundQueued
    ) {
        let payment = seeding.deps.store.payments().pop().unwrap();
        seeding.deps.glase.pay(payment.invoice_reference());
    }
    if matches!(before, Before::Confirmed | Before::RefundQueued) {
        assert_eq!(run(&seeding, "notification/ok.json").await, 200, "seeding {name}");
    }
    if before == Before::RefundQueued {
        assert_eq!(
            run(&seeding, "refund-request/ok.json").await,
            202,
            "seeding {name}"
        );
    }
    let app = FakeApp {
        function: Some(function),
        ..seeding
    };
    let snapshot = |a: &FakeApp| {
        format!(
            "{:?}{:?}{:?}{:?}{}",
            a.deps.store.payments(),
            a.deps.store.refunds(),
            a.deps.store.idempotency_records(),
            a.deps.store.terminals(),
            a.deps.glase.call_count()
        )
    };
    let before_state = snapshot(&app);
    let status = run(&app, name).await;
    assert_eq!(status, expected, "{name}");
    if status >= 400 {
        assert_eq!(snapshot(&app), before_state, "{name} must change nothing");
    }
}

#[tokio::test]
async fn the_notification_event_confirms_the_payment() {
    let app = app(None);
    run(&app, "create-payment/ok.json").await;
    let payment = app.deps.store.payments().pop().unwrap();
    app.deps.glase.pay(payment.invoice_reference());
    assert_eq!(run(&app, "notification/ok.json").await, 200);
    let id = PaymentId::parse("pay_a5000000000000000000000000000001").unwrap();
    assert_eq!(
        app.deps.store.get_payment(&id).await.unwrap().unwrap().status(),
        PaymentStatus::Paid
    );
}

/// An app over the fakes with the sample payment created, paid and notified, and the sample refund of
/// it requested: the refund worker's events find its message.
async fn app_with_requested_refund() -> FakeApp {
    let app = app(None);
    run(&app, "create-payment/ok.json").await;
    let payment = app.deps.store.payments().pop().unwrap();
    app.deps.glase.pay(payment.invoice_reference());
    run(&app, "notification/ok.json").await;
    assert_eq!(run(&app, "refund-request/ok.json").await, 202);
    app
}

#[tokio::test]
async fn the_worker_refunds_the_good_message_and_reports_only_the_poison_one() {
    let text = read("refund-worker/batch-with-poison.json");
    let batch: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
    assert_eq!(batch.records.len(), 2);
    let app = app_with_requested_refund().await;

    let (answer, delays) = lambda_adapter::handle_worker_event(&app, serde_json::from_str(&text).unwrap())
        .await
        .unwrap();
    assert!(delays.is_empty());
    let failures = answer["batchItemFailures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0]["itemIdentifier"],
        "0d5b6e7c-2222-4b3a-9f00-000000000002"
    );
    let refund = app.deps.store.refunds().pop().unwrap();
    assert_eq!(refund.status(), payments_domain::refund::RefundStatus::Succeeded);

    // The same batch again (an at-least-once redelivery): no second refund.
    lambda_adapter::handle_worker_event(&app, serde_json::from_str(&text).unwrap())
        .await
        .unwrap();
    let refunds = app
        .deps
        .glase
        .calls()
        .into_iter()
        .filter(|c| matches!(c, payments_domain::testing::GlaseCall::RefundPayment { .. }))
        .count();
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn the_schedule_event_runs_the_outbox_sweep() {
    let text = read("refund-worker/outbox-schedule.json");
    let event: aws_lambda_events::eventbridge::EventBridgeEvent = serde_json::from_str(&text).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    let app = app(None);
    let (answer, _) = lambda_adapter::handle_worker_event(&app, serde_json::from_str(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(answer["requeued"], 0);
}

#[tokio::test]
async fn an_unreachable_glase_fails_the_message_and_backs_off_by_its_receive_count() {
    let mut event: serde_json::Value =
        serde_json::from_str(&read("refund-worker/batch-with-poison.json")).unwrap();
    event["Records"].as_array_mut().unwrap().truncate(1);
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = serde_json::json!("3");
    let app = app_with_requested_refund().await;
    app.deps.glase.fail_next(
        "refundPayment",
        payments_domain::ports::GlaseError::Rejected {
            code: 93,
            description: "SYSTEM_BUSY".into(),
        },
    );
    let (answer, delays) = lambda_adapter::handle_worker_event(&app, event.clone())
        .await
        .unwrap();
    assert_eq!(
        answer["batchItemFailures"][0]["itemIdentifier"],
        "0d5b6e7c-1111-4b3a-9f00-000000000001"
    );
    let handle = event["Records"][0]["receiptHandle"].as_str().unwrap();
    assert_eq!(
        delays,
        vec![(handle.to_owned(), std::time::Duration::from_secs(120))],
        "30 s doubled twice"
    );
    let refund = app.deps.store.refunds().pop().unwrap();
    assert_eq!(
        refund.status(),
        payments_domain::refund::RefundStatus::Queued,
        "back in line"
    );
    // The next delivery refunds it.
    let (answer, _) = lambda_adapter::handle_worker_event(&app, event).await.unwrap();
    assert!(answer["batchItemFailures"].as_array().unwrap().is_empty());
}

fn marks(app: &FakeApp) -> usize {
    app.deps
        .glase
        .calls()
        .iter()
        .filter(|c| matches!(c, payments_domain::testing::GlaseCall::MarkPeriod))
        .count()
}

#[tokio::test]
async fn the_schedule_event_closes_the_day_once_however_often_it_comes() {
    let app = app(Some(Function::Reporting));
    reports_ready(&app);
    let event: serde_json::Value = serde_json::from_str(&read("reporting/schedule.json")).unwrap();
    let first = lambda_adapter::handle_reporting_event(&app, event.clone())
        .await
        .unwrap();
    payments_api::openapi::validate_response("GET", "/v1/reports/{report_id}", 200, &first)
        .unwrap_or_else(|e| panic!("the schedule's answer is a Report: {e}"));
    assert_eq!(first["status"], "reconciled");
    let again = lambda_adapter::handle_reporting_event(&app, event).await.unwrap();
    assert_eq!(
        again["id"], first["id"],
        "a retried event answers the same period"
    );
    assert_eq!(marks(&app), 1, "one markTransactionPeriod");

    let unknown = serde_json::json!({"job": "something-else"});
    assert!(
        lambda_adapter::handle_reporting_event(&app, unknown)
            .await
            .is_err()
    );
    assert_eq!(marks(&app), 1);
}

#[tokio::test]
async fn the_reporting_function_answers_http_events_in_the_api_gateway_shape() {
    let app = app(Some(Function::Reporting));
    reports_ready(&app);
    let close: serde_json::Value = serde_json::from_str(&read("reporting/close.json")).unwrap();
    let answer = lambda_adapter::handle_reporting_event(&app, close).await.unwrap();
    let answer: aws_lambda_events::apigw::ApiGatewayV2httpResponse = serde_json::from_value(answer).unwrap();
    assert_eq!(answer.status_code, 201);
    assert_eq!(answer.headers["content-type"], "application/json");
    let get: serde_json::Value = serde_json::from_str(&read("reporting/get.json")).unwrap();
    let answer = lambda_adapter::handle_reporting_event(&app, get).await.unwrap();
    assert_eq!(answer["statusCode"], 200);
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], "per_a5000000000000000000000000000001");
    assert_eq!(body["documents"].as_array().unwrap().len(), 2);
}
