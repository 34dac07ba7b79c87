//! Point of sale end to end: every request goes through `App::handle` with the real adapters (DynamoDB on
//! dynoxide, Glase on the sandbox, whose notifications reach the same app over loopback). Our clock is a
//! manual one, so the till's 30-second window is tested without waiting; the sandbox keeps its own.
//!
//! The first test is the POS certification sequence of the Glase acceptance suite: register, assign the
//! Glase ID, an invoice with rows, its status before and after the sticker is paid, the receipt, a
//! cancellation, a refund, closing the period, unregistering.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use glase_protocol::{GlaseClient, GlaseClientConfig};
use glase_sandbox::faults::FaultActionKind;
use glase_sandbox::{EventKind, FaultRule, FaultRules};
use http::Method;
use payments_api::app::App;
use payments_api::testing::stack::{LiveStack, StackApp, StackPorts, live_stack};
use payments_domain::ids::{GlaseTerminalId, TerminalId};
use payments_domain::period::PeriodScope;
use payments_domain::ports::GlaseGateway;
use payments_domain::testing::ManualClock;
use payments_domain::usecases::Deps;
use payments_dynamodb::DynamoStore;
use payments_glase::{GlaseSettings, ProtocolGateway};
use serde_json::{Value, json};

const KEY: &str = "sk_test_pos_key";
const MASTER_SECRET: &str = "pos master secret";

type PosApp = StackApp<ManualClock>;

struct Stack {
    live: LiveStack<StackPorts<DynamoStore, ProtocolGateway<ManualClock>, ManualClock>>,
    /// The same app (same table, same clock) with Glase unreachable: its endpoint is a closed port.
    offline: PosApp,
    /// When set, requests go to `offline`.
    glase_down: AtomicBool,
    clock: ManualClock,
}

impl Deref for Stack {
    type Target = LiveStack<StackPorts<DynamoStore, ProtocolGateway<ManualClock>, ManualClock>>;

    fn deref(&self) -> &Self::Target {
        &self.live
    }
}

/// The route template and the path of `payment`'s route `suffix` (`""`, `"/refunds"`, `"/cancel"`...).
fn payment_route(payment: &Value, suffix: &str) -> (String, String) {
    let id = payment["id"].as_str().unwrap();
    (
        format!("/v1/payments/{{payment_id}}{suffix}"),
        format!("/v1/payments/{id}{suffix}"),
    )
}

/// A stack with a till registered as `external_id` with the Glase ID `glase_id`, and an invoice of
/// 10.00 SEK on it; answers the stack, the till's id and the invoice.
async fn stack_with_invoice(external_id: &str, glase_id: &str) -> (Stack, String, Value) {
    let s = stack().await;
    let terminal = s.till(external_id, glase_id).await;
    let (_, invoice) = s.invoice(&terminal, 1_000).await;
    (s, terminal, invoice)
}

async fn stack() -> Stack {
    let clock = ManualClock::default();
    let live = live_stack(KEY)
        .clock(clock.clone())
        .master_secret(MASTER_SECRET)
        .start()
        .await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/extclientproxy/service/v2", l.local_addr().unwrap())
    };
    let offline = App {
        deps: Deps {
            glase: ProtocolGateway::new(
                GlaseClient::new(GlaseClientConfig::new(closed)).unwrap(),
                GlaseSettings::sandbox(MASTER_SECRET),
                clock.clone(),
            ),
            ..live.app.deps.clone()
        },
        ..App::clone(&*live.app)
    };
    Stack {
        live,
        offline,
        glase_down: AtomicBool::new(false),
        clock,
    }
}

impl Stack {
    /// One request through `App::handle`; the JSON answer is checked against the OpenAPI document.
    async fn call(
        &self,
        method: Method,
        template: &str,
        path: &str,
        auth: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let app: &PosApp = if self.glase_down.load(Ordering::SeqCst) {
            &self.offline
        } else {
            &self.app
        };
        let body = body.map(Value::to_string).unwrap_or_default();
        let (status, value) = payments_api::testing::call(app, method.clone(), path, auth, body).await;
        payments_api::openapi::validate_response(method.as_str(), template, status, &value)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {value}"));
        (status, value)
    }

    async fn merchant(
        &self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let bearer = format!("Bearer {KEY}");
        self.call(method, template, path, &[("authorization", &bearer)], body)
            .await
    }

    async fn register(&self, external_id: &str) -> (u16, Value) {
        self.merchant(
            Method::POST,
            "/v1/terminals",
            "/v1/terminals",
            Some(&json!({ "external_id": external_id, "name": "Till 4" })),
        )
        .await
    }

    async fn assign(&self, terminal: &str, glase_id: &str) -> (u16, Value) {
        self.merchant(
            Method::PUT,
            "/v1/terminals/{terminal_id}/glase-id",
            &format!("/v1/terminals/{terminal}/glase-id"),
            Some(&json!({ "glase_id": glase_id })),
        )
        .await
    }

    async fn unregister(&self, terminal: &str) -> (u16, Value) {
        self.merchant(
            Method::DELETE,
            "/v1/terminals/{terminal_id}",
            &format!("/v1/terminals/{terminal}"),
            None,
        )
        .await
    }

    /// The terminal list.
    async fn list(&self) -> Value {
        self.merchant(Method::GET, "/v1/terminals", "/v1/terminals", None)
            .await
            .1
    }

    /// A registered terminal with the Glase ID `glase_id`; answers its id.
    async fn till(&self, external_id: &str, glase_id: &str) -> String {
        let (status, t) = self.register(external_id).await;
        assert_eq!(status, 201, "{t}");
        let id = t["id"].as_str().unwrap().to_owned();
        assert_eq!(self.assign(&id, glase_id).await.0, 200);
        id
    }

    async fn invoice(&self, terminal: &str, total: i64) -> (u16, Value) {
        self.merchant(
            Method::POST,
            "/v1/payments",
            "/v1/payments",
            Some(&json!({
                "order_id": "T4-1",
                "currency": "SEK",
                "total": total,
                "cashier_id": "Anna",
                "terminal_id": terminal,
                "rows": [
                    { "description": "Shoes", "quantity": 1, "total": total + 2_000 },
                    { "description": "Paid by card", "total": -2_000 }
                ]
            })),
        )
        .await
    }

    /// The till's poll: one second later, with the client secret.
    async fn poll(&self, payment: &Value) -> (u16, Value) {
        self.clock.advance(Duration::from_secs(1));
        self.as_till(Method::GET, payment, "").await
    }

    async fn till_action(&self, payment: &Value, action: &str) -> (u16, Value) {
        self.as_till(Method::POST, payment, &format!("/{action}")).await
    }

    /// A request with `payment`'s client secret, as the till makes it.
    async fn as_till(&self, method: Method, payment: &Value, suffix: &str) -> (u16, Value) {
        let (template, path) = payment_route(payment, suffix);
        let secret = payment["client_secret"].as_str().unwrap();
        self.call(method, &template, &path, &[("x-client-secret", secret)], None)
            .await
    }

    fn glase_status(&self, payment: &Value) -> String {
        self.sandbox
            .sandbox()
            .invoice(payment["invoice_reference"].as_str().unwrap())
            .unwrap()
            .status
    }

    /// Runs the refund worker over every queued message.
    async fn work(&self) {
        let failed = self.live.work().await;
        assert!(failed.is_empty(), "{failed:?}");
    }

    async fn finish(self) {
        self.live.finish().await;
    }
}

#[tokio::test]
async fn the_pos_certification_sequence_runs_through_our_api() {
    let s = stack().await;

    // 1. registerTerminal; the same external id again answers the same terminal.
    let (status, t) = s.register("Store 1/Till 4").await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["status"], "active");
    assert!(t.get("password").is_none());
    let terminal = t["id"].as_str().unwrap().to_owned();
    let (status, again) = s.register("Store 1/Till 4").await;
    assert_eq!((status, again["id"].as_str()), (200, Some(terminal.as_str())));
    let registered = s
        .events()
        .iter()
        .filter(|e| matches!(e, EventKind::TerminalRegistered { .. }))
        .count();
    assert_eq!(registered, 1);

    // 2. assignSeqrId: the answer carries the sticker QR.
    let (status, t) = s.assign(&terminal, "4711").await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["glase_id"], "4711");
    assert_eq!(t["sticker_qr"], "HTTP://SEQR.SE/Q4711");

    // 3. sendInvoice with rows (one negative: the part paid by card).
    let (status, paid) = s.invoice(&terminal, 12_550).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["terminal_id"], terminal.as_str());
    assert_eq!(paid["pos"]["display"], "please_wait");
    assert_eq!(paid["pos"]["window_open"], true);
    let view = s
        .sandbox
        .sandbox()
        .invoice(paid["invoice_reference"].as_str().unwrap())
        .unwrap();
    assert_eq!(view.rows.len(), 2);
    assert_eq!(view.amount_minor, 12_550);

    // 4. getPaymentStatus before the sticker is scanned, then after the shopper paid.
    let (status, before) = s.poll(&paid).await;
    assert_eq!((status, before["status"].as_str()), (200, Some("pending")));
    assert_eq!(before["pos"]["display"], "please_wait");
    s.sandbox.sandbox().pay_sticker("4711").unwrap();
    let (_, after) = s.poll(&paid).await;
    assert_eq!(after["status"], "paid", "{after}");
    assert_eq!(after["pos"]["display"], "completed");
    let ers = after["ers_reference"].as_str().unwrap().to_owned();
    let receipt = after["pos"]["receipt_text"].as_str().unwrap();
    for part in ["Glase payment", "125.50 SEK", ers.as_str(), "Time: "] {
        assert!(receipt.contains(part), "{part} in {receipt}");
    }

    // 5. submitPaymentReceipt, from the sweep the safety net runs; once.
    let report = s.app.deps.submit_due_receipts(10).await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(s.app.deps.submit_due_receipts(10).await.unwrap().sent, 0);
    let receipts: Vec<_> = s.picked(|e| match e {
        EventKind::ReceiptSubmitted { ers_reference, .. } => Some(ers_reference),
        _ => None,
    });
    assert_eq!(receipts, vec![ers.clone()]);

    // 6. cancelInvoice: a new invoice, its status, then the cashier cancels.
    let (_, canceled) = s.invoice(&terminal, 5_000).await;
    assert_eq!(s.poll(&canceled).await.1["status"], "pending");
    let (status, c) = s.till_action(&canceled, "cancel").await;
    assert_eq!((status, c["status"].as_str()), (200, Some("canceled")));
    assert_eq!(c["pos"]["display"], "canceled");
    assert_eq!(s.glase_status(&canceled), "CANCELED");

    // 7. refundPayment: a new invoice paid through the sticker, confirmed, refunded.
    let (_, refunded) = s.invoice(&terminal, 3_000).await;
    assert_eq!(s.poll(&refunded).await.1["status"], "pending");
    s.sandbox.sandbox().pay_sticker("4711").unwrap();
    assert_eq!(s.poll(&refunded).await.1["status"], "paid");
    let refund = json!({ "amount": 3_000, "reason": "Returned" });
    let (template, path) = payment_route(&refunded, "/refunds");
    let (status, r) = s.merchant(Method::POST, &template, &path, Some(&refund)).await;
    assert_eq!(status, 202, "{r}");
    s.work().await;
    assert!(s.events().iter().any(|e| matches!(
        e,
        EventKind::RefundIssued {
            amount_minor: 3_000,
            ..
        }
    )));

    // 8. markTransactionPeriod for the terminal (POST /v1/reports is another route's work).
    let glase_terminal_id = s
        .picked(|e| match e {
            EventKind::TerminalRegistered { terminal_id, .. } => Some(terminal_id),
            _ => None,
        })
        .remove(0);
    let period = s
        .app
        .deps
        .glase
        .mark_period(&PeriodScope::Terminal {
            terminal_id: TerminalId::parse(&terminal).unwrap(),
            glase_terminal_id: GlaseTerminalId::parse(&glase_terminal_id).unwrap(),
        })
        .await
        .unwrap();
    assert!(!period.as_str().is_empty());

    // 9. unregisterTerminal: the list shows it unregistered and it takes no more payments.
    let (status, t) = s.unregister(&terminal).await;
    assert_eq!((status, t["status"].as_str()), (200, Some("unregistered")));
    assert!(
        s.events()
            .iter()
            .any(|e| matches!(e, EventKind::TerminalUnregistered { .. }))
    );
    let list = s.list().await;
    assert_eq!(list["terminals"][0]["status"], "unregistered");
    let (status, refused) = s.invoice(&terminal, 1_000).await;
    assert_eq!(status, 409, "{refused}");
    s.finish().await;
}

#[tokio::test]
async fn a_second_invoice_on_the_same_till_cancels_the_first() {
    let (s, terminal, first) = stack_with_invoice("Till 1", "5001").await;
    let (status, second) = s.invoice(&terminal, 2_000).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(s.glase_status(&first), "CANCELED");
    let (_, first_now) = s.poll(&first).await;
    assert_eq!(first_now["status"], "canceled");
    assert_eq!(first_now["pos"]["display"], "canceled");
    // The sticker now pays the second invoice.
    s.sandbox.sandbox().pay_sticker("5001").unwrap();
    assert_eq!(s.poll(&second).await.1["status"], "paid");
    assert_eq!(s.poll(&first).await.1["status"], "canceled");
    s.finish().await;
}

#[tokio::test]
async fn an_invoice_paid_just_before_the_next_one_is_recorded_paid_and_never_reversed() {
    let (s, terminal, first) = stack_with_invoice("Till 8", "5008").await;
    s.sandbox.sandbox().pay_sticker("5008").unwrap();
    let (status, _) = s.invoice(&terminal, 2_000).await;
    assert_eq!(status, 201);
    assert_eq!(s.glase_status(&first), "PAID");
    let (template, path) = payment_route(&first, "");
    let (_, stored) = s.merchant(Method::GET, &template, &path, None).await;
    assert_eq!(stored["status"], "paid", "{stored}");
    s.sandbox.sandbox().advance_clock(Duration::from_secs(25));
    s.finish().await;
}

#[tokio::test]
async fn after_thirty_seconds_the_till_asks_and_try_again_opens_a_new_window() {
    let (s, _, payment) = stack_with_invoice("Till 2", "5002").await;
    for _ in 0..29 {
        let (_, p) = s.poll(&payment).await;
        assert_eq!(p["pos"]["display"], "please_wait");
    }
    let (status, p) = s.poll(&payment).await;
    assert_eq!(status, 200);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["pos"]["display"], "window_ended");
    assert_eq!(p["pos"]["window_open"], false);

    let (status, again) = s.till_action(&payment, "try-again").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["pos"]["display"], "please_wait");
    assert_eq!(again["pos"]["window_open"], true);
    assert_ne!(again["pos"]["window_ends_at"], p["pos"]["window_ends_at"]);
    assert_eq!(s.poll(&payment).await.1["pos"]["display"], "please_wait");

    s.sandbox.sandbox().pay_sticker("5002").unwrap();
    let (_, paid) = s.poll(&payment).await;
    assert_eq!(paid["pos"]["display"], "completed");
    let (status, late) = s.till_action(&payment, "try-again").await;
    assert_eq!(status, 409, "{late}");
    s.finish().await;
}

#[tokio::test]
async fn an_unregistered_or_unknown_terminal_is_refused_and_nothing_is_sent() {
    let (s, terminal, open) = stack_with_invoice("Till 3", "5003").await;
    let (status, _) = s.unregister(&terminal).await;
    assert_eq!(status, 200);
    // Its open invoice was cancelled first, at Glase and with us.
    assert_eq!(s.glase_status(&open), "CANCELED");
    assert_eq!(s.poll(&open).await.1["status"], "canceled");
    let invoices = s.sandbox.sandbox().invoices().len();
    let (status, body) = s.invoice(&terminal, 1_000).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(s.assign(&terminal, "5004").await.0, 409);
    let (status, _) = s.invoice("term_00000000000000000000000000000000", 1_000).await;
    assert_eq!(status, 404);
    assert_eq!(s.sandbox.sandbox().invoices().len(), invoices);
    s.finish().await;
}

#[tokio::test]
async fn a_glase_id_that_is_taken_or_invalid_is_a_clear_error() {
    let s = stack().await;
    s.till("Till 5", "6001").await;
    let (_, other) = s.register("Till 6").await;
    let other = other["id"].as_str().unwrap();
    let (status, taken) = s.assign(other, "6001").await;
    assert_eq!(status, 422, "{taken}");
    assert_eq!(taken["error"]["result_code"], 53);
    let (status, bad) = s.assign(other, "60-01").await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "glase_id");
    let list = s.list().await;
    let other_listed = list["terminals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == other)
        .unwrap()
        .clone();
    assert!(other_listed.get("glase_id").is_none(), "{other_listed}");
    s.finish().await;
}

#[tokio::test]
async fn when_glase_cannot_be_reached_the_till_gets_503_and_never_a_false_paid() {
    let (s, terminal, payment) = stack_with_invoice("Till 7", "7001").await;
    let down = FaultRules {
        rules: ["getPaymentStatus", "sendInvoice"]
            .into_iter()
            .map(|target| FaultRule {
                target: target.to_owned(),
                action: FaultActionKind::Http500,
                probability: None,
                count: None,
                delay_ms: None,
                result_code: None,
            })
            .collect(),
    };
    s.sandbox.sandbox().set_faults(&down).unwrap();
    let (status, body) = s.poll(&payment).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Glase"),
        "{body}"
    );
    // A new invoice whose answer is lost may exist at Glase: never sent again, and said so (502).
    let (status, body) = s.invoice(&terminal, 2_000).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("outcome_unknown"))
    );
    // The shopper pays while we cannot hear Glase: not paid with us until Glase confirms it.
    s.sandbox.sandbox().pay_sticker("7001").unwrap();
    let (status, _) = s.poll(&payment).await;
    assert_eq!(status, 503);
    s.sandbox.sandbox().clear_faults();
    let (status, paid) = s.poll(&payment).await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")));

    // Glase unreachable altogether (connection refused): the till gets 503 and nothing is stored.
    s.glase_down.store(true, Ordering::SeqCst);
    let (status, body) = s.invoice(&terminal, 3_000).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let (_, other) = {
        s.glase_down.store(false, Ordering::SeqCst);
        s.invoice(&terminal, 4_000).await
    };
    s.glase_down.store(true, Ordering::SeqCst);
    let (status, body) = s.poll(&other).await;
    assert_eq!(status, 503, "{body}");
    s.glase_down.store(false, Ordering::SeqCst);
    assert_eq!(s.poll(&other).await.1["status"], "pending");
    s.finish().await;
}
