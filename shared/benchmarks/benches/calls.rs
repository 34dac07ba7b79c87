//! What each kind of payment costs in requests, counted while the API handles it with the real
//! adapters in one process (DynamoDB on dynoxide, Glase on the sandbox): store calls by operation
//! (the counting decorator), DynamoDB requests and capacity units as DynamoDB reported them (the
//! store's capacity meter), Glase calls by operation, queue messages, HTTP requests and Lambda
//! invocations; and from those, the cost per million payments at list prices.
//!
//! Our clock is a manual one, so a shopper who pays after 15 seconds costs no waiting.
//!
//! `cargo bench -p benchmarks --bench calls`. Writes `target/bench/calls.json`.

#![recursion_limit = "256"]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use benchmarks::prices::{self, Usage};
use benchmarks::stack::{Stack, webshop_order};
use benchmarks::template::memory_mb;
use glase_sandbox::FaultRules;
use http::Method;
use payments_api::app::QueuedMessage;
use payments_domain::testing::ManualClock;
use serde_json::{Value, json};

type S = Stack<ManualClock>;

/// What one scenario did, counted.
#[derive(Default)]
struct Tally {
    /// (function, in-process time) of each Lambda invocation the scenario made.
    invocations: Vec<(&'static str, Duration)>,
    http_requests: u64,
    sqs_requests: u64,
    queue_messages: u64,
}

impl Tally {
    async fn timed<F: std::future::Future<Output = T>, T>(
        &mut self,
        function: &'static str,
        http: bool,
        f: F,
    ) -> T {
        let started = Instant::now();
        let out = f.await;
        self.invocations.push((function, started.elapsed()));
        if http {
            self.http_requests += 1;
        }
        out
    }
}

fn reset(s: &S) {
    s.app.deps.store.reset();
    s.app.deps.store.inner().capacity().reset();
    s.app.deps.glase.reset();
    s.take_glase_calls();
}

/// The notification the sandbox sent, as our server handled it (a Lambda invocation and an HTTP
/// request of the notification function).
async fn notified(s: &mut S, tally: &mut Tally) {
    let served = tokio::time::timeout(Duration::from_secs(10), s.next_served("/v1/notifications/"))
        .await
        .expect("the sandbox notifies");
    assert_eq!(served.status, 200);
    tally
        .invocations
        .push(("notification", served.answered - served.arrived));
    tally.http_requests += 1;
}

async fn create(s: &S, tally: &mut Tally, body: &Value) -> Value {
    let (status, created) = tally
        .timed(
            "create-payment",
            true,
            s.merchant(Method::POST, "/v1/payments", Some(body)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn read(s: &S, tally: &mut Tally, payment: &Value) -> Value {
    let (status, view) = tally
        .timed("payment-status", true, s.shopper(Method::GET, payment, ""))
        .await;
    assert_eq!(status, 200, "{view}");
    view
}

fn reference(payment: &Value) -> String {
    payment["invoice_reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The receipt of the payment just paid goes to Glase (submitPaymentReceipt) from the safety net's pass:
/// counted in requests, not as an invocation (that run is a fixed cost, see the README). Its query of the
/// receipts due is shared by every payment paid in the same second; here it is one payment's alone.
async fn receipt(s: &S) {
    let sent = s.app.deps.submit_due_receipts(10).await.unwrap().sent;
    assert_eq!(sent, 1, "one receipt is due");
}

/// A webshop payment confirmed by its notification; the shop's page then reads the outcome once.
async fn webshop_with_notification(s: &mut S) -> Tally {
    let mut tally = Tally::default();
    let payment = create(s, &mut tally, &webshop_order(2_500)).await;
    s.sandbox.sandbox().pay_invoice(&reference(&payment)).unwrap();
    notified(s, &mut tally).await;
    assert_eq!(read(s, &mut tally, &payment).await["status"], "paid");
    receipt(s).await;
    tally
}

/// A webshop payment whose notification never arrives: the widget polls once a second and the shopper
/// pays after 15 seconds.
async fn webshop_polling_only(s: &mut S, clock: &ManualClock) -> Tally {
    let drop: FaultRules =
        serde_json::from_value(json!({"rules": [{"target": "notification", "action": "drop"}]})).unwrap();
    s.sandbox.sandbox().set_faults(&drop).unwrap();
    let mut tally = Tally::default();
    let payment = create(s, &mut tally, &webshop_order(2_500)).await;
    for second in 1..=30 {
        clock.advance(Duration::from_secs(1));
        if second == 15 {
            s.sandbox.sandbox().pay_invoice(&reference(&payment)).unwrap();
        }
        if read(s, &mut tally, &payment).await["status"] == "paid" {
            break;
        }
    }
    let none: FaultRules = serde_json::from_value(json!({"rules": []})).unwrap();
    s.sandbox.sandbox().set_faults(&none).unwrap();
    receipt(s).await;
    tally
}

/// A cashier's payment at a registered till (registration is once per till and not counted): the till
/// polls once a second; the shopper scans the sticker after 5 seconds; then the receipt.
async fn point_of_sale(s: &mut S, clock: &ManualClock, terminal: &str) -> Tally {
    let mut tally = Tally::default();
    let body = json!({
        "order_id": "T-1", "currency": "SEK", "total": 12_550, "cashier_id": "Anna",
        "terminal_id": terminal,
        "rows": [{ "description": "Shoes", "total": 12_550 }]
    });
    let payment = create(s, &mut tally, &body).await;
    for second in 1..=30 {
        clock.advance(Duration::from_secs(1));
        if second == 5 {
            s.sandbox.sandbox().pay_sticker(POS_GLASE_ID).unwrap();
            notified(s, &mut tally).await;
        }
        if read(s, &mut tally, &payment).await["status"] == "paid" {
            break;
        }
    }
    receipt(s).await;
    tally
}

const POS_GLASE_ID: &str = "4711";

/// A full refund of a paid webshop payment (paid before counting starts): the request, the queue
/// message, the worker's refundPayment.
async fn refund(s: &mut S, paid: &Value) -> Tally {
    let mut tally = Tally::default();
    let id = paid["id"].as_str().unwrap_or_default();
    let (status, body) = tally
        .timed(
            "refund-request",
            true,
            s.merchant(
                Method::POST,
                &format!("/v1/payments/{id}/refunds"),
                Some(&json!({ "amount": 2_500, "reason": "Returned" })),
            ),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    tally.sqs_requests += 1; // SendMessage
    let deliveries = s.queue.receive(10);
    tally.sqs_requests += 1; // ReceiveMessage (Lambda's poller)
    tally.queue_messages += deliveries.len() as u64;
    let messages: Vec<QueuedMessage> = deliveries.iter().map(QueuedMessage::from).collect();
    let batch = tally
        .timed("refund-worker", false, s.app.process_refund_messages(&messages))
        .await;
    assert!(batch.failed.is_empty());
    for d in &deliveries {
        s.queue.delete(&d.receipt_handle).unwrap();
        tally.sqs_requests += 1; // DeleteMessage
    }
    tally
}

fn summarize(name: &str, what: &str, s: &S, tally: &Tally) -> Value {
    let store = s.app.deps.store.counts();
    let glase = s.app.deps.glase.counts();
    let capacity = s.app.deps.store.inner().capacity().totals();
    let store_requests = capacity.read_requests + capacity.write_requests;
    let glase_calls: u64 = glase.values().sum();
    let invocations = tally.invocations.len() as u64;
    // Billed time: each invocation's own time here (rounded up to a millisecond), plus the assumed AWS
    // waits for the requests the scenario made, spread over its invocations.
    let own_ms: u64 = tally
        .invocations
        .iter()
        .map(|(_, d)| u64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(0))
        .sum();
    let billed = prices::billed_ms(own_ms, store_requests, glase_calls, tally.sqs_requests);
    let mb = tally
        .invocations
        .iter()
        .map(|(f, _)| memory_mb(f).unwrap_or(256))
        .max()
        .unwrap_or(256);
    let usage = Usage {
        http_requests: tally.http_requests,
        invocations,
        lambda_mb_ms: mb * billed,
        read_milli_units: capacity.read_milli_units,
        write_milli_units: capacity.write_milli_units,
        sqs_requests: tally.sqs_requests,
        ..Usage::default()
    };
    let cost = prices::cost(&usage);
    let mut by_function = BTreeMap::<&str, u64>::new();
    for (f, _) in &tally.invocations {
        *by_function.entry(f).or_default() += 1;
    }
    println!("{name}: {what}");
    println!(
        "  invocations {by_function:?}, HTTP requests {}",
        tally.http_requests
    );
    println!("  store calls {store:?}");
    println!(
        "  DynamoDB: {} reads ({}.{:03} RCU), {} writes ({}.{:03} WCU)",
        capacity.read_requests,
        capacity.read_milli_units / 1000,
        capacity.read_milli_units % 1000,
        capacity.write_requests,
        capacity.write_milli_units / 1000,
        capacity.write_milli_units % 1000
    );
    println!("  Glase calls {glase:?}; queue messages {}", tally.queue_messages);
    println!(
        "  cost per million payments {} ({cost:?} picodollars per payment)",
        prices::per_million(cost.total)
    );
    json!({
        "scenario": name,
        "what": what,
        "invocations": by_function,
        "http_requests": tally.http_requests,
        "store_calls": store,
        "dynamodb": {
            "read_requests": capacity.read_requests,
            "write_requests": capacity.write_requests,
            "read_milli_units": capacity.read_milli_units,
            "write_milli_units": capacity.write_milli_units,
        },
        "glase_calls": glase,
        "queue_messages": tally.queue_messages,
        "sqs_requests": tally.sqs_requests,
        "usage": usage,
        "cost_picodollars": cost,
        "cost_per_million": prices::per_million(cost.total),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let clock = ManualClock::default();
    let mut s = Stack::start(clock.clone()).await;
    let mut scenarios = Vec::new();

    // A first payment warms every connection; it is not counted.
    webshop_with_notification(&mut s).await;

    reset(&s);
    let t = webshop_with_notification(&mut s).await;
    scenarios.push(summarize(
        "webshop_notification",
        "create, the shopper pays, Glase's notification confirms it, the shop reads the outcome once",
        &s,
        &t,
    ));

    reset(&s);
    let t = webshop_polling_only(&mut s, &clock).await;
    scenarios.push(summarize(
        "webshop_polling",
        "create, no notification arrives, the widget polls once a second, the shopper pays after 15 s",
        &s,
        &t,
    ));

    let (status, till) = s
        .merchant(
            Method::POST,
            "/v1/terminals",
            Some(&json!({ "external_id": "Bench/Till 1", "name": "Till 1" })),
        )
        .await;
    assert_eq!(status, 201, "{till}");
    let terminal = till["id"].as_str().unwrap_or_default().to_owned();
    let (status, assigned) = s
        .merchant(
            Method::PUT,
            &format!("/v1/terminals/{terminal}/glase-id"),
            Some(&json!({ "glase_id": POS_GLASE_ID })),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    reset(&s);
    let t = point_of_sale(&mut s, &clock, &terminal).await;
    scenarios.push(summarize(
        "point_of_sale",
        "a cashier's payment, the till polls once a second, the sticker is paid after 5 s, the receipt is sent",
        &s,
        &t,
    ));

    let mut setup = Tally::default();
    let paid = create(&s, &mut setup, &webshop_order(2_500)).await;
    s.sandbox.sandbox().pay_invoice(&reference(&paid)).unwrap();
    notified(&mut s, &mut setup).await;
    receipt(&s).await;
    reset(&s);
    let t = refund(&mut s, &paid).await;
    scenarios.push(summarize(
        "refund",
        "a full refund of a paid payment: the request, one queue message, the worker's refundPayment",
        &s,
        &t,
    ));

    let document = json!({
        "benchmark": "calls_per_payment",
        "at": benchmarks::results::now_rfc3339(),
        "prices": prices::PRICES_AS_OF,
        "assumed_aws_waits_ms": {
            "dynamodb": prices::ASSUMED_DYNAMODB_MS,
            "glase": prices::ASSUMED_GLASE_MS,
            "sqs": prices::ASSUMED_SQS_MS,
        },
        "scenarios": scenarios,
    });
    let path = benchmarks::results::write("calls", &document).expect("the result is written");
    println!("written to {}", path.display());
    s.sandbox.shutdown().await;
}
