//! Period reports end to end with the real adapters: the handlers through `App::handle`, DynamoDB on
//! dynoxide, Glase on the sandbox (its reports are not ready for 3 s after a mark, as configured by
//! default). Our clock is a manual one started at the real time, so a test can let the refund settle
//! margin pass without waiting for it.

use std::ops::Deref;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glase_protocol::{ClientContext, GetPaymentStatusRequest, Password, Request};
use glase_sandbox::{EventKind, FaultRules};
use http::Method;
use payments_api::testing::CapturedLines;
use payments_api::testing::stack::{LiveStack, StackPorts, live_stack};
use payments_api::wiring::SystemClock;
use payments_domain::ports::Clock;
use payments_domain::testing::ManualClock;
use payments_dynamodb::DynamoStore;
use payments_glase::ProtocolGateway;
use serde_json::{Value, json};

const KEY: &str = "sk_test_reports_key";

/// The values of one metric among the lines the app wrote, in order.
fn values(metrics: &CapturedLines, name: &str) -> Vec<Value> {
    metrics
        .json_lines()
        .into_iter()
        .filter_map(|v| v.get(name).cloned())
        .collect()
}

struct Stack {
    live: LiveStack<StackPorts<DynamoStore, ProtocolGateway<SystemClock>, ManualClock>>,
    metrics: CapturedLines,
    clock: ManualClock,
}

impl Deref for Stack {
    type Target = LiveStack<StackPorts<DynamoStore, ProtocolGateway<SystemClock>, ManualClock>>;

    fn deref(&self) -> &Self::Target {
        &self.live
    }
}

/// A stack whose notifications reach nobody, the app on a manual clock started at the real time.
async fn stack() -> Stack {
    let clock = ManualClock::default();
    let real = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    clock.advance(Duration::from_millis(
        u64::try_from(real - clock.now().unix_millis()).unwrap(),
    ));
    let metrics = CapturedLines::default();
    let live = live_stack(KEY)
        .clocks(clock.clone(), SystemClock)
        // Short enough that a refund the sandbox answers late becomes `needs_reconciliation`.
        .client(|c| c.request_timeout = Duration::from_millis(500))
        .master_secret("reports master secret")
        .metrics(metrics.clone())
        .without_notifications()
        .start()
        .await;
    Stack { live, metrics, clock }
}

impl Stack {
    /// One request through `App::handle` with the merchant's API key; the answer is checked against the
    /// OpenAPI document.
    async fn call(&self, method: Method, path: &str, template: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {KEY}");
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, body) =
            payments_api::testing::call(&self.app, method.clone(), path, &[("authorization", &auth)], text)
                .await;
        payments_api::openapi::validate_response(method.as_str(), template, status, &body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
        (status, body)
    }

    /// A payment created through the API and paid in the sandbox; answers (id, client secret, invoice).
    async fn created_and_paid_at_glase(&self, total: i64) -> (String, String, String) {
        self.created_and_paid_at_glase_in("SEK", total).await
    }

    /// Like [`Stack::created_and_paid_at_glase`], in `currency`.
    async fn created_and_paid_at_glase_in(&self, currency: &str, total: i64) -> (String, String, String) {
        let order = json!({"order_id": "R-1", "currency": currency, "total": total});
        let (status, created) = self
            .call(Method::POST, "/v1/payments", "/v1/payments", Some(order))
            .await;
        assert_eq!(status, 201, "{created}");
        let invoice = created["invoice_reference"].as_str().unwrap().to_owned();
        self.sandbox.sandbox().pay_invoice(&invoice).unwrap();
        (
            created["id"].as_str().unwrap().to_owned(),
            created["client_secret"].as_str().unwrap().to_owned(),
            invoice,
        )
    }

    /// A payment paid in the sandbox and confirmed by reading it (a second after its creation: a reader
    /// does not ask Glase about an invoice sent less than the check interval ago).
    async fn paid(&self, total: i64) -> String {
        self.paid_in("SEK", total).await
    }

    /// Like [`Stack::paid`], in `currency`.
    async fn paid_in(&self, currency: &str, total: i64) -> String {
        let (id, secret, _) = self.created_and_paid_at_glase_in(currency, total).await;
        self.clock.advance(Duration::from_secs(1));
        let (_, body) = payments_api::testing::call(
            &self.app,
            Method::GET,
            &format!("/v1/payments/{id}"),
            &[("x-client-secret", &secret)],
            "",
        )
        .await;
        assert_eq!(body["status"], "paid", "{body}");
        id
    }

    async fn refund(&self, id: &str, amount: i64) -> String {
        let path = format!("/v1/payments/{id}/refunds");
        let body = json!({"amount": amount, "reason": "Returned"});
        let (status, refund) = self
            .call(
                Method::POST,
                &path,
                "/v1/payments/{payment_id}/refunds",
                Some(body),
            )
            .await;
        assert_eq!(status, 202, "{refund}");
        self.work().await;
        refund["id"].as_str().unwrap().to_owned()
    }

    async fn refund_status(&self, id: &str, refund_id: &str) -> String {
        let path = format!("/v1/payments/{id}/refunds/{refund_id}");
        let (_, body) = self
            .call(
                Method::GET,
                &path,
                "/v1/payments/{payment_id}/refunds/{refund_id}",
                None,
            )
            .await;
        body["status"].as_str().unwrap().to_owned()
    }

    fn marks(&self) -> usize {
        self.count(|e| matches!(e, EventKind::TransactionPeriodMarked { .. }))
    }
}

#[tokio::test]
async fn a_period_with_payments_refunds_and_a_glase_only_payment_shows_the_expected_mismatches() {
    let s = stack().await;
    let kept = s.paid(10_000).await;
    let refunded = s.paid(5_000).await;
    let refund = s.refund(&refunded, 1_000).await;
    assert_eq!(s.refund_status(&refunded, &refund).await, "succeeded");

    // A refund whose answer is lost: Glase executes it, we cannot know.
    let unsure = s.paid(8_000).await;
    s.set_faults(
        json!({"rules": [{"target": "refundPayment", "action": "latency", "delay_ms": 1500, "count": 1}]}),
    );
    let lost = s.refund(&unsure, 2_000).await;
    assert_eq!(s.refund_status(&unsure, &lost).await, "needs_reconciliation");
    tokio::time::sleep(Duration::from_millis(1_600)).await;

    // Paid at Glase, confirmed there by someone else, never by us: still pending with us.
    let (_, _, invoice) = s.created_and_paid_at_glase(4_200).await;
    let webshop = s.sandbox.sandbox().config().webshop_terminals[0].clone();
    s.sandbox
        .sandbox()
        .execute(&Request::from(GetPaymentStatusRequest {
            context: ClientContext::terminal(webshop.terminal_id, Password::new(webshop.password)),
            invoice_reference: Some(invoice.clone()),
            invoice_version: 0,
        }));
    let glase_only = s.sandbox.sandbox().invoice(&invoice).unwrap().payment.unwrap();
    assert!(glase_only.acknowledged);

    // The settle margin passes on our clock; the period closes.
    s.clock.advance(Duration::from_secs(600));
    let body = json!({"period_key": "e2e-2026-11-29"});
    let (status, report) = s
        .call(Method::POST, "/v1/reports", "/v1/reports", Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["status"], "mismatches_found", "{report}");
    assert_eq!(report["matched"], 5, "three payments and two refunds: {report}");
    let mismatches = report["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{report}");
    assert_eq!(mismatches[0]["kind"], "paid_at_glase_only");
    assert_eq!(mismatches[0]["glase_amount"], 4_200);
    assert_eq!(mismatches[0]["ers_reference"], glase_only.ers_reference.as_str());
    let documents = report["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 2);
    let details = documents
        .iter()
        .find(|d| d["report_id"] == "Reconciliation/STD_RECON_003.xml")
        .unwrap();
    assert!(details["content"].as_str().unwrap().contains("-20.00000"));

    // The mismatch is counted once, in the metric the alarm watches.
    assert_eq!(values(&s.metrics, "ReconciliationMismatches"), [json!(1)]);

    // The refund whose answer was lost is settled by the report.
    assert_eq!(s.refund_status(&unsure, &lost).await, "succeeded");
    let _ = kept;

    // REPORT_NOT_READY was answered and retried until the report came.
    let requested: Vec<bool> = s.picked(|e| match e {
        EventKind::ReportRequested { delivered, .. } => Some(delivered),
        _ => None,
    });
    assert!(
        requested.contains(&false),
        "the report was not ready at first: {requested:?}"
    );
    assert_eq!(requested.iter().filter(|d| **d).count(), 2, "{requested:?}");

    // The same key again: the same period, no second mark; and it can be read.
    let (status, again) = s
        .call(Method::POST, "/v1/reports", "/v1/reports", Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], report["id"]);
    assert_eq!(s.marks(), 1, "one markTransactionPeriod");
    assert_eq!(
        values(&s.metrics, "ReconciliationMismatches").len(),
        1,
        "a replay counts nothing again"
    );
    let path = format!("/v1/reports/{}", report["id"].as_str().unwrap());
    let (status, read) = s.call(Method::GET, &path, "/v1/reports/{report_id}", None).await;
    assert_eq!(status, 200);
    assert_eq!(read, report);
    s.live.shutdown().await;
}

#[tokio::test]
async fn a_period_in_euros_reads_the_refund_rows_that_name_no_currency_in_euros() {
    let s = stack().await;
    let paid = s.paid_in("EUR", 5_000).await;
    let refund = s.refund(&paid, 1_250).await;
    assert_eq!(s.refund_status(&paid, &refund).await, "succeeded");
    s.clock.advance(Duration::from_secs(600));

    let body = json!({"period_key": "eur-2026-12-01"});
    let (status, report) = s
        .call(Method::POST, "/v1/reports", "/v1/reports", Some(body))
        .await;
    assert_eq!(status, 201, "{report}");
    let details = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["report_id"] == "Reconciliation/STD_RECON_003.xml")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    // Glase's details rows name no currency: both rows are read in the period's (EUR).
    assert!(!details.contains("<Currency>"), "{details}");
    assert!(details.contains("-12.50000"), "{details}");
    assert_eq!(report["status"], "reconciled", "{report}");
    assert_eq!(report["matched"], 2, "the payment and its refund: {report}");
    assert_eq!(report["mismatches"], json!([]), "{report}");
    s.live.shutdown().await;
}

#[tokio::test]
async fn the_schedule_event_twice_yields_one_period() {
    let s = stack().await;
    s.paid(3_000).await;
    let job: payments_api::reports::ScheduledJob =
        serde_json::from_value(json!({"job": "close-period"})).unwrap();
    let first = s.app.run_scheduled_job(&job).await.unwrap();
    let again = s.app.run_scheduled_job(&job).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(first.status, "reconciled");
    assert_eq!(first.matched, Some(1));
    assert_eq!(s.marks(), 1);
    assert_eq!(values(&s.metrics, "ReconciliationMismatches"), [json!(0)]);
    let (status, _) = s
        .call(
            Method::GET,
            "/v1/reports/per_00000000000000000000000000000000",
            "/v1/reports/{report_id}",
            None,
        )
        .await;
    assert_eq!(status, 404);
    s.live.shutdown().await;
}

#[tokio::test]
async fn a_scheduled_close_whose_reports_stay_unready_fails_so_its_retry_resumes_the_same_period() {
    let s = stack().await;
    s.paid(3_000).await;
    s.set_faults(json!({"rules": [{"target": "executeReport", "action": "result_code", "result_code": 2}]}));
    let job: payments_api::reports::ScheduledJob =
        serde_json::from_value(json!({"job": "close-period", "scheduled_time": "2026-12-01T00:05:00Z"}))
            .unwrap();
    // The reports stay unready until the job's budget is spent: our clock passes it while it waits.
    let clock = s.clock.clone();
    let budget_passes = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        clock.advance(payments_api::reports::REPORTS_BUDGET + Duration::from_secs(1));
    });
    let failed = s.app.run_scheduled_job(&job).await.unwrap_err();
    budget_passes.await.unwrap();
    assert_eq!(
        failed.status, 503,
        "the invocation fails, so Lambda runs it again: {failed:?}"
    );
    assert_eq!(s.marks(), 1);

    // The retry (same event) resumes that period: no second mark, and it reconciles.
    s.sandbox
        .sandbox()
        .set_faults(&FaultRules { rules: Vec::new() })
        .unwrap();
    let resumed = s.app.run_scheduled_job(&job).await.unwrap();
    assert_eq!(resumed.status, "reconciled");
    assert_eq!(resumed.matched, Some(1));
    assert_eq!(s.marks(), 1, "the retry closes no second period");
    let (status, read) = s
        .call(
            Method::GET,
            &format!("/v1/reports/{}", resumed.id),
            "/v1/reports/{report_id}",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["status"], "reconciled");
    s.live.shutdown().await;
}
