//! The notification path, in one process: DynamoDB on dynoxide, Glase on the sandbox, the handlers
//! behind an HTTP server on loopback. For each payment: create it (not timed), let the shopper pay in
//! the sandbox, which POSTs the notification; time from the notification reaching the handler to the
//! getPaymentStatus call leaving (the observer on the Glase port), and the whole handler. One
//! notification at a time, so no sample waits behind another.
//!
//! `cargo bench -p benchmarks --bench notification` (`BENCH_NOTIFICATIONS`, default 10,000; 200 more
//! warm up first and are not counted). Writes `target/bench/notification.json`.

use std::time::Duration;

use benchmarks::stack::{Stack, webshop_order};
use benchmarks::stats::{Summary, ms, nanos, summarize};
use http::Method;
use payments_api::wiring::SystemClock;

const WARM_UP: usize = 200;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::var("BENCH_NOTIFICATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut stack = Stack::start(SystemClock).await;
    let mut to_glase = Vec::with_capacity(count);
    let mut handler = Vec::with_capacity(count);
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let started = std::time::Instant::now();
    for i in 0..WARM_UP + count {
        let (status, created) = stack
            .merchant(Method::POST, "/v1/payments", Some(&webshop_order(2_500)))
            .await;
        assert_eq!(status, 201, "{created}");
        let reference = created["invoice_reference"]
            .as_str()
            .expect("a reference")
            .to_owned();
        stack.take_glase_calls();
        stack
            .sandbox
            .sandbox()
            .pay_invoice(&reference)
            .expect("the shopper pays");
        let served = tokio::time::timeout(Duration::from_secs(10), stack.next_served("/v1/notifications/"))
            .await
            .expect("the sandbox notifies within 10 s");
        let left = stack
            .take_glase_calls()
            .into_iter()
            .find(|(op, at)| *op == "payment_status" && *at >= served.arrived)
            .map(|(_, at)| at)
            .expect("the notification asked Glase for the payment's status");
        if i >= WARM_UP {
            *statuses.entry(served.status).or_default() += 1;
            to_glase.push(nanos(left - served.arrived));
            handler.push(nanos(served.answered - served.arrived));
        }
    }
    let elapsed = started.elapsed();
    let to_glase = summarize(&mut to_glase);
    let handler = summarize(&mut handler);
    let paid = stack.app.deps.store.count("update_payment");
    println!(
        "notification path, {count} notifications (+{WARM_UP} warm-up), {:.1?} in all",
        elapsed
    );
    println!("  statuses: {statuses:?}; payment updates: {paid}");
    row("arrival -> getPaymentStatus leaves", &to_glase);
    row("whole handler", &handler);
    let document = serde_json::json!({
        "benchmark": "notification_path",
        "at": benchmarks::results::now_rfc3339(),
        "notifications": count,
        "warm_up": WARM_UP,
        "statuses": statuses,
        "to_glase_call": to_glase,
        "handler": handler,
        "bar": { "to_glase_call_p99_ns_below": 2_000_000 },
    });
    let path = benchmarks::results::write("notification", &document).expect("the result is written");
    println!("  written to {}", path.display());
    stack.sandbox.shutdown().await;
}

fn row(name: &str, s: &Summary) {
    println!(
        "  {name:<38} p50 {} ms  p90 {} ms  p99 {} ms  max {} ms",
        ms(s.p50_ns),
        ms(s.p90_ns),
        ms(s.p99_ns),
        ms(s.max_ns)
    );
}
