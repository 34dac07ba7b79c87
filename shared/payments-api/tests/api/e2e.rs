//! End to end with the real adapters: the handlers behind a local HTTP server on loopback, DynamoDB on
//! dynoxide, Glase on the sandbox (which POSTs its notifications to that server). After every test the
//! sandbox's event log must show no reversal: our side was up the whole time.

use std::ops::Deref;
use std::time::Duration;

use glase_sandbox::EventKind;
use payments_api::jobs::SafetyNetPlan;
use payments_api::testing::stack::{LiveStack, StackBuilder, StackPorts, live_stack};
use payments_api::wiring::SystemClock;
use payments_domain::ids::{PaymentId, RefundId};
use payments_domain::payment::PaymentStatus;
use payments_domain::ports::{PaymentStore, RefundMessage};
use payments_dynamodb::DynamoStore;
use payments_glase::ProtocolGateway;
use serde_json::{Value, json};

const KEY: &str = "sk_test_e2e_key";

/// The live stack and an HTTP client for its served app.
struct Stack {
    live: LiveStack<StackPorts<DynamoStore, ProtocolGateway<SystemClock>, SystemClock>>,
    http: reqwest::Client,
}

impl Deref for Stack {
    type Target = LiveStack<StackPorts<DynamoStore, ProtocolGateway<SystemClock>, SystemClock>>;

    fn deref(&self) -> &Self::Target {
        &self.live
    }
}

async fn stack() -> Stack {
    stack_from(live_stack(KEY)).await
}

/// A stack with a payment of 100.00 SEK paid; answers the stack and the payment's id.
async fn stack_with_paid_payment() -> (Stack, String) {
    let s = stack().await;
    let id = s.paid_payment(10_000).await;
    (s, id)
}

/// A stack as `builder` makes it (the client's timeouts, the use-case settings).
async fn stack_from(builder: StackBuilder<SystemClock>) -> Stack {
    Stack {
        live: builder.master_secret("e2e master secret").start().await,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

/// The status and JSON body of the answer to `request`, checked against the OpenAPI document.
async fn answer(request: reqwest::RequestBuilder, method: &str, template: &str) -> (u16, Value) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    payments_api::openapi::validate_response(method, template, status, &body).unwrap();
    (status, body)
}

impl Stack {
    /// A request with the merchant's API key.
    fn merchant(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY)
    }

    async fn create(&self, body: &Value, key: Option<&str>) -> (u16, Value) {
        let mut req = self.merchant(reqwest::Method::POST, "/v1/payments").json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        answer(req, "POST", "/v1/payments").await
    }

    async fn get(&self, id: &str, secret: &str) -> (u16, Value) {
        let req = self
            .http
            .get(format!("{}/v1/payments/{id}", self.base))
            .header("X-Client-Secret", secret);
        answer(req, "GET", "/v1/payments/{payment_id}").await
    }

    /// The shopper pays the payment `created` in the sandbox.
    fn pay(&self, created: &Value) {
        self.sandbox
            .sandbox()
            .pay_invoice(created["invoice_reference"].as_str().unwrap())
            .unwrap();
    }

    /// Reads the payment `created` with its client secret.
    async fn read(&self, created: &Value) -> (u16, Value) {
        let (id, secret) = (
            created["id"].as_str().unwrap(),
            created["client_secret"].as_str().unwrap(),
        );
        self.get(id, secret).await
    }

    /// Creates a payment, pays it in the sandbox and reads it until it is paid; answers its id.
    async fn paid_payment(&self, total: i64) -> String {
        let (_, created) = self.create(&order(total), None).await;
        self.pay(&created);
        for _ in 0..40 {
            if self.read(&created).await.1["status"] == "paid" {
                return created["id"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the payment was not confirmed");
    }

    async fn refund(&self, id: &str, amount: i64) -> (u16, Value) {
        let req = self
            .merchant(reqwest::Method::POST, &format!("/v1/payments/{id}/refunds"))
            .json(&json!({ "amount": amount, "reason": "Returned" }));
        answer(req, "POST", "/v1/payments/{payment_id}/refunds").await
    }

    /// Queues the refund's message again, as a redelivery would.
    fn redeliver(&self, id: &str, refund: &Value) {
        let message = payments_sqs::encode_refund(&RefundMessage {
            payment_id: PaymentId::parse(id).unwrap(),
            refund_id: RefundId::parse(refund["id"].as_str().unwrap()).unwrap(),
        });
        self.queue.send_body(message);
    }

    /// Cancels the payment `id`.
    async fn cancel(&self, id: &str) -> reqwest::Response {
        self.merchant(reqwest::Method::POST, &format!("/v1/payments/{id}/cancel"))
            .send()
            .await
            .unwrap()
    }

    async fn refund_status(&self, id: &str, refund_id: &str) -> Value {
        let r = self
            .merchant(
                reqwest::Method::GET,
                &format!("/v1/payments/{id}/refunds/{refund_id}"),
            )
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    fn refunds_at_glase(&self) -> usize {
        self.count(|e| matches!(e, EventKind::RefundIssued { .. }))
    }

    fn status_calls(&self) -> usize {
        self.count(|e| matches!(e, EventKind::Call { operation, .. } if operation == "getPaymentStatus"))
    }

    async fn finish(self) {
        self.live.finish().await;
    }
}

fn order(total: i64) -> Value {
    json!({
        "order_id": "A-1001",
        "currency": "SEK",
        "total": total,
        "rows": [
            { "description": "Coffee", "quantity": 2, "unit_price": 2000, "total": 4000, "tax_rate": 12 },
            { "description": "Mug", "total": total - 4000, "sku": "MUG-1" }
        ]
    })
}

#[tokio::test]
async fn a_paid_payment_is_confirmed_by_its_notification() {
    let s = stack().await;
    let (status, created) = s.create(&order(12_550), None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "pending");
    let reference = created["invoice_reference"].as_str().unwrap();
    assert_eq!(created["qr_code_url"], format!("HTTP://SEQR.SE/R{reference}"));
    assert_eq!(created["app_url"], format!("SEQR://SEQR.SE/R{reference}"));

    s.sandbox.sandbox().pay_invoice(reference).unwrap();
    let notified = s
        .sandbox
        .sandbox()
        .wait_for_event(Duration::from_secs(10), |e| {
            matches!(&e.kind, EventKind::PaymentAcknowledged { .. })
        })
        .await;
    assert!(
        notified.is_some(),
        "the notification made us acknowledge the payment"
    );

    let (_, read) = s.read(&created).await;
    assert_eq!(read["status"], "paid");
    let ers = read["ers_reference"].as_str().unwrap();
    let view = s.sandbox.sandbox().invoice(reference).unwrap();
    assert_eq!(view.payment.unwrap().ers_reference, ers);
    s.finish().await;
}

#[tokio::test]
async fn without_notifications_a_polling_reader_still_confirms_in_time() {
    let s = stack().await;
    s.set_faults(json!({"rules": [{"target": "notification", "action": "drop"}]}));
    let (_, created) = s.create(&order(5_000), None).await;
    s.pay(&created);

    let mut paid = false;
    for _ in 0..30 {
        let (_, read) = s.read(&created).await;
        if read["status"] == "paid" {
            paid = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(paid, "polling confirmed the payment");
    s.sandbox.sandbox().advance_clock(Duration::from_secs(25));
    s.finish().await;
}

#[tokio::test]
async fn with_every_notification_lost_and_nobody_polling_the_safety_net_confirms_and_expiry_cancels() {
    // Expiry after 9 s (instead of 120) so that it runs inside the same minute-long run of the
    // safety-net function; the safety net itself keeps its production interval of 8 s.
    let s = stack_from(live_stack(KEY).settings(|u| {
        u.payment_expiry = Duration::from_secs(9);
    }))
    .await;
    s.set_faults(json!({"rules": [{"target": "notification", "action": "drop"}]}));
    let mut paid = Vec::new();
    for total in [1_000, 2_000, 3_000] {
        let (_, created) = s.create(&order(total), None).await;
        let reference = created["invoice_reference"].as_str().unwrap().to_owned();
        s.sandbox.sandbox().pay_invoice(&reference).unwrap();
        paid.push((created["id"].as_str().unwrap().to_owned(), reference));
    }
    let (_, abandoned) = s.create(&order(4_000), None).await;
    let (_, opened) = s.create(&order(5_000), None).await;
    let opened_reference = opened["invoice_reference"].as_str().unwrap();
    s.sandbox.sandbox().scan_invoice(opened_reference).unwrap();

    // What the safety-net function does in AWS, for 14 s instead of 62: a pass every second.
    let summary = s
        .app
        .run_safety_net(&SafetyNetPlan::default(), Duration::from_secs(14))
        .await;

    let status = |id: &str| {
        let id = PaymentId::parse(id).unwrap();
        let store = s.app.deps.store.clone();
        async move { store.get_payment(&id).await.unwrap().unwrap().status() }
    };
    for (id, reference) in &paid {
        assert_eq!(status(id).await, PaymentStatus::Paid, "{id}");
        let view = s.sandbox.sandbox().invoice(reference).unwrap();
        assert_eq!(view.status, "PAID", "{reference}");
    }
    assert!(summary.paid >= 1, "{summary:?}");
    assert_eq!(
        status(abandoned["id"].as_str().unwrap()).await,
        PaymentStatus::Canceled
    );
    let abandoned_view = s
        .sandbox
        .sandbox()
        .invoice(abandoned["invoice_reference"].as_str().unwrap())
        .unwrap();
    assert_eq!(abandoned_view.status, "CANCELED");
    // The shopper has it open: Glase answers 51, so it is left for a later run, not cancelled.
    assert_eq!(
        status(opened["id"].as_str().unwrap()).await,
        PaymentStatus::Pending
    );
    assert!(summary.in_progress >= 1, "{summary:?}");
    assert!(s.sandbox.sandbox().invoice(opened_reference).unwrap().in_progress);

    // Long after Glase's 20-second window: nothing was reversed (checked by `finish`).
    s.sandbox.sandbox().advance_clock(Duration::from_secs(25));
    s.finish().await;
}

#[tokio::test]
async fn duplicate_notifications_change_nothing_twice() {
    let s = stack().await;
    s.set_faults(json!({"rules": [{"target": "notification", "action": "duplicate"}]}));
    let (_, created) = s.create(&order(5_000), None).await;
    s.pay(&created);
    let second = s
        .sandbox
        .sandbox()
        .wait_for_event(Duration::from_secs(10), |e| {
            matches!(&e.kind, EventKind::NotificationSent { attempt: 2, .. })
        })
        .await;
    assert!(second.is_some(), "the duplicate was delivered");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.status_calls(), 1, "only the first notification asked Glase");
    let (_, read) = s.read(&created).await;
    assert_eq!(read["status"], "paid");
    s.finish().await;
}

#[tokio::test]
async fn a_pending_payment_is_cancelled_and_updated_at_glase() {
    let s = stack().await;
    let (_, created) = s.create(&order(5_000), None).await;
    let id = created["id"].as_str().unwrap();
    let reference = created["invoice_reference"].as_str().unwrap();

    let r = s
        .merchant(reqwest::Method::PATCH, &format!("/v1/payments/{id}"))
        .json(&json!({"total": 7000, "rows": [{"description": "Bigger mug", "total": 7000}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        s.sandbox.sandbox().invoice(reference).unwrap().amount_minor,
        7_000
    );

    let r = s.cancel(id).await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "canceled");
    assert_eq!(s.sandbox.sandbox().invoice(reference).unwrap().status, "CANCELED");
    s.finish().await;
}

#[tokio::test]
async fn cancelling_a_paid_payment_is_a_conflict() {
    let s = stack().await;
    let (_, created) = s.create(&order(5_000), None).await;
    let id = created["id"].as_str().unwrap();
    s.pay(&created);
    let r = s.cancel(id).await;
    assert_eq!(r.status().as_u16(), 409);
    s.finish().await;
}

#[tokio::test]
async fn the_same_idempotency_key_replays_and_a_changed_body_conflicts() {
    let s = stack().await;
    let (a, first) = s.create(&order(5_000), Some("order-A-1001")).await;
    let (b, again) = s.create(&order(5_000), Some("order-A-1001")).await;
    assert_eq!((a, b), (201, 201));
    assert_eq!(first["id"], again["id"]);
    let (c, conflict) = s.create(&order(6_000), Some("order-A-1001")).await;
    assert_eq!(c, 409, "{conflict}");
    assert_eq!(s.sandbox.sandbox().invoices().len(), 1, "one invoice was sent");
    s.finish().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_sent_or_stored() {
    let s = stack().await;
    let no_key = s
        .http
        .post(format!("{}/v1/payments", s.base))
        .json(&order(5_000))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status().as_u16(), 401);
    let (status, err) = s.create(&json!({"order_id": "x", "currency": "SEK", "total": 100, "rows": [{"description": "a", "total": 90}]}), None).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["field"], "rows");
    let (status, _) = s.create(&json!({"order_id": "x", "currency": "SEK"}), None).await;
    assert_eq!(status, 400);
    let wrong_token = s
        .http
        .post(format!(
            "{}/v1/notifications/pay_00000000000000000000000000000000?token=abc",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status().as_u16(), 404);
    assert!(s.sandbox.sandbox().invoices().is_empty());
    assert_eq!(s.status_calls(), 0);
    s.finish().await;
}

#[tokio::test]
async fn partial_refunds_reach_glase_once_each_and_one_over_the_payment_is_refused() {
    let (s, id) = stack_with_paid_payment().await;
    let (a, first) = s.refund(&id, 6_000).await;
    let (b, _) = s.refund(&id, 4_000).await;
    assert_eq!((a, b), (202, 202));
    assert_eq!(first["status"], "queued");
    let (over, err) = s.refund(&id, 1).await;
    assert_eq!(over, 422, "{err}");
    assert!(s.work().await.is_empty());
    assert_eq!(s.refunds_at_glase(), 2);
    let done = s.refund_status(&id, first["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    assert!(done["ers_reference"].as_str().is_some());
    // A redelivered message pays nothing back a second time.
    s.redeliver(&id, &first);
    assert!(s.work().await.is_empty());
    assert_eq!(s.refunds_at_glase(), 2);
    s.finish().await;
}

#[tokio::test]
async fn a_refund_whose_answer_is_lost_is_never_sent_again() {
    let s = stack_from(live_stack(KEY).client(|c| c.request_timeout = Duration::from_millis(500))).await;
    let id = s.paid_payment(10_000).await;
    s.set_faults(
        json!({"rules": [{"target": "refundPayment", "action": "latency", "delay_ms": 1500, "count": 1}]}),
    );
    let (_, refund) = s.refund(&id, 3_000).await;
    assert!(
        s.work().await.is_empty(),
        "the message is done: only the report may settle it now"
    );
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(s.refunds_at_glase(), 1, "Glase executed the refund");
    let state = s.refund_status(&id, refund["id"].as_str().unwrap()).await;
    assert_eq!(state["status"], "needs_reconciliation");
    // Even if the message comes again, nothing is sent.
    s.redeliver(&id, &refund);
    s.work().await;
    assert_eq!(s.refunds_at_glase(), 1);
    s.finish().await;
}

#[tokio::test]
async fn a_mixed_batch_refunds_the_good_message_and_fails_only_the_poison_one() {
    let (s, id) = stack_with_paid_payment().await;
    s.queue.send_body("not a refund message".to_owned());
    let (status, _) = s.refund(&id, 2_500).await;
    assert_eq!(status, 202);
    let failed = s.work().await;
    assert_eq!(failed.len(), 1, "only the poison message fails");
    assert_eq!(s.refunds_at_glase(), 1);
    s.finish().await;
}

#[tokio::test]
async fn a_worker_that_crashed_mid_call_leaves_the_refund_to_reconciliation_and_never_resends() {
    use payments_domain::ports::Clock;
    let (s, id) = stack_with_paid_payment().await;
    let (_, refund) = s.refund(&id, 1_000).await;
    let payment_id = PaymentId::parse(&id).unwrap();
    let refund_id = RefundId::parse(refund["id"].as_str().unwrap()).unwrap();
    // A worker claimed the refund and died before Glase answered: the refund is `sending`.
    let store = &s.app.deps.store;
    let queued = store.get_refund(&payment_id, &refund_id).await.unwrap().unwrap();
    let claimed = queued.start_sending(SystemClock.now()).unwrap();
    store.update_refund(&claimed, queued.revision()).await.unwrap();
    // The message comes back: nothing is sent.
    assert!(s.work().await.is_empty());
    assert_eq!(s.refunds_at_glase(), 0);
    assert_eq!(
        s.refund_status(&id, refund_id.as_str()).await["status"],
        "sending"
    );
    s.finish().await;
}
