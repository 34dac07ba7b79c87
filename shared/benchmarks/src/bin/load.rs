//! End-to-end throughput through a running local stack over HTTP on loopback: concurrent clients each
//! create a payment (`POST /v1/payments`), pay it as the shopper in the sandbox, and read it until it
//! shows `paid` (Glase's notification reached the stack, which asked Glase for the status). Counts
//! complete payments per second over the measured window, the latency of a whole payment, errors, and
//! the reversals the sandbox logged.
//!
//! `load --base http://127.0.0.1:PORT --api-key KEY [--clients 64] [--seconds 20] [--warm-up 3]`
//! (`tests/bench.sh` starts the local stack and runs this). Writes `target/bench/load.json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use benchmarks::stats::{ms, nanos, summarize};
use serde_json::{Value, json};

struct Args {
    base: String,
    api_key: String,
    clients: usize,
    seconds: u64,
    warm_up: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        base: String::new(),
        api_key: String::new(),
        clients: 64,
        seconds: 20,
        warm_up: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = value()?,
            "--api-key" => a.api_key = value()?,
            "--clients" => a.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--warm-up" => a.warm_up = value()?.parse().map_err(|e| format!("--warm-up: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.base.is_empty() || a.api_key.is_empty() {
        return Err("usage: load --base URL --api-key KEY [--clients N] [--seconds S] [--warm-up S]".into());
    }
    Ok(a)
}

#[derive(Default)]
struct Counters {
    completed: AtomicU64,
    errors: AtomicU64,
    reads: AtomicU64,
}

/// One whole payment; answers its duration, or what went wrong.
async fn one_payment(http: &reqwest::Client, a: &Args, counters: &Counters) -> Result<Duration, String> {
    let started = Instant::now();
    let created: Value = http
        .post(format!("{}/v1/payments", a.base))
        .bearer_auth(&a.api_key)
        .json(&json!({
            "order_id": "L-1", "currency": "SEK", "total": 2_500,
            "rows": [{ "description": "Tea", "total": 2_500 }]
        }))
        .send()
        .await
        .map_err(|e| format!("create: {e}"))?
        .error_for_status()
        .map_err(|e| format!("create: {e}"))?
        .json()
        .await
        .map_err(|e| format!("create: {e}"))?;
    let id = created["id"].as_str().ok_or("create: no id")?;
    let secret = created["client_secret"]
        .as_str()
        .ok_or("create: no client secret")?;
    let reference = created["invoice_reference"]
        .as_str()
        .ok_or("create: no reference")?;
    http.post(format!("{}/sandbox/invoices/{reference}/pay", a.base))
        .send()
        .await
        .map_err(|e| format!("pay: {e}"))?
        .error_for_status()
        .map_err(|e| format!("pay: {e}"))?;
    let deadline = started + Duration::from_secs(20);
    loop {
        let view: Value = http
            .get(format!("{}/v1/payments/{id}", a.base))
            .header("x-client-secret", secret)
            .send()
            .await
            .map_err(|e| format!("read: {e}"))?
            .json()
            .await
            .map_err(|e| format!("read: {e}"))?;
        counters.reads.fetch_add(1, Ordering::Relaxed);
        match view["status"].as_str() {
            Some("paid") => return Ok(started.elapsed()),
            Some("pending") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return Err(format!("payment {id} ended {other:?}")),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = match args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(a.clients)
        .build()
        .expect("an HTTP client");
    let counters = Arc::new(Counters::default());
    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs(a.warm_up);
    let measure_until = measure_from + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for _ in 0..a.clients {
        let (http, a, counters) = (http.clone(), Arc::clone(&a), Arc::clone(&counters));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            while Instant::now() < measure_until {
                let outcome = one_payment(&http, &a, &counters).await;
                let finished = Instant::now();
                let counted = finished >= measure_from && finished < measure_until;
                match outcome {
                    Ok(took) if counted => {
                        counters.completed.fetch_add(1, Ordering::Relaxed);
                        latencies.push(nanos(took));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                        errors.push(e);
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (l, e) = t.await.expect("a client task");
        latencies.extend(l);
        errors.extend(e);
    }
    let completed = counters.completed.load(Ordering::Relaxed);
    let per_second = completed / a.seconds.max(1);
    let latency = summarize(&mut latencies);
    // The sandbox's ledger: any reversal means a paid payment nobody fetched within 20 s.
    let events: Value = match http.get(format!("{}/sandbox/events", a.base)).send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let list = events
        .as_array()
        .cloned()
        .or_else(|| events["events"].as_array().cloned());
    let reversals = list.as_ref().map(|l| {
        l.iter()
            .filter(|e| e["type"] == "payment_reversed" || e["kind"]["type"] == "payment_reversed")
            .count()
    });
    println!(
        "end to end: {} clients, {} s measured: {completed} payments, {per_second} per second",
        a.clients, a.seconds
    );
    println!(
        "  payment latency p50 {} ms  p90 {} ms  p99 {} ms  max {} ms",
        ms(latency.p50_ns),
        ms(latency.p90_ns),
        ms(latency.p99_ns),
        ms(latency.max_ns)
    );
    println!(
        "  errors {}  status reads {}  reversals {}",
        errors.len(),
        counters.reads.load(Ordering::Relaxed),
        reversals.map_or("unknown (no sandbox events)".to_owned(), |r| r.to_string())
    );
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    let document = json!({
        "benchmark": "end_to_end",
        "at": benchmarks::results::now_rfc3339(),
        "clients": a.clients,
        "seconds": a.seconds,
        "warm_up_seconds": a.warm_up,
        "completed": completed,
        "payments_per_second": per_second,
        "latency": latency,
        "errors": errors.len(),
        "status_reads": counters.reads.load(Ordering::Relaxed),
        "reversals": reversals,
        "bar": { "payments_per_second_at_least": 300, "reversals": 0 },
    });
    match benchmarks::results::write("load", &document) {
        Ok(path) => println!("  written to {}", path.display()),
        Err(e) => eprintln!("cannot write the result: {e}"),
    }
    std::process::ExitCode::SUCCESS
}
