//! Gathers the benchmark results under `target/bench/` into one document and prints the tables the
//! README shows: each bar with the measured figure, then the figures per function and
//! per kind of payment.
//!
//! `bench-report --in target/bench --out shared/benchmarks/results.json`

use std::path::{Path, PathBuf};

use benchmarks::report::{Inputs, bars, lambda_functions, mb, packages, verdict};
use serde_json::{Value, json};

fn read(dir: &Path, name: &str) -> Value {
    std::fs::read_to_string(dir.join(format!("{name}.json")))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "arch": std::env::consts::ARCH,
    })
}

fn main() -> std::process::ExitCode {
    let mut input = PathBuf::from("target/bench");
    let mut output = PathBuf::from("shared/benchmarks/results.json");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--in", Some(v)) => input = PathBuf::from(v),
            ("--out", Some(v)) => output = PathBuf::from(v),
            _ => {
                eprintln!("usage: bench-report [--in DIR] [--out FILE]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let notification = read(&input, "notification");
    let calls = read(&input, "calls");
    let load = read(&input, "load");
    let lambda = read(&input, "lambda");
    let package = read(&input, "package");

    let inputs = Inputs {
        notification,
        calls,
        load,
        lambda,
        package,
    };
    let bars = bars(&inputs);
    let packages = packages(&inputs.package);
    let functions = lambda_functions(&inputs.lambda);
    let scenarios = inputs.calls["scenarios"].as_array().cloned().unwrap_or_default();
    // Written before anything is printed, so a reader that closes the output early loses nothing.
    let document = json!({
        "generated_at": benchmarks::results::now_rfc3339(),
        "machine": machine(),
        "bars": bars.iter().map(|b| json!({
            "measure": b.what, "bar": b.bar, "measured": b.figure, "met": b.met,
        })).collect::<Vec<_>>(),
        "notification_path": &inputs.notification,
        "calls_per_payment": &inputs.calls,
        "end_to_end": &inputs.load,
        "lambda": &inputs.lambda,
        "package_size": &inputs.package,
    });
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    if let Err(e) = std::fs::write(&output, text + "\n") {
        eprintln!("cannot write {}: {e}", output.display());
        return std::process::ExitCode::FAILURE;
    }
    println!("| Measure | Bar | Measured | Met |\n|---|---|---|---|");
    for b in &bars {
        println!("| {} | {} | {} | {} |", b.what, b.bar, b.figure, verdict(b.met));
    }

    if !functions.is_empty() || !packages.is_empty() {
        println!(
            "\n| Function | Init (ms) | First invocation (ms) | × hello-world | Cold start less a warm invocation, × hello-world's | Warm p50 (ms) | Peak RSS (MB) | Zipped arm64 (MB) |\n|---|---|---|---|---|---|---|---|"
        );
        let mut names: Vec<String> = functions.iter().map(|(n, _)| n.clone()).collect();
        for (n, _) in &packages {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names.sort();
        for name in names {
            let f = functions
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| f.clone())
                .unwrap_or(Value::Null);
            let size = packages.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
            let show = |v: &Value| v.as_f64().map_or("–".to_owned(), |x| format!("{x:.2}"));
            println!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                show(&f["init_ms"]),
                show(&f["first_invoke_ms"]),
                show(&f["ratio_to_baseline"]),
                show(&f["cold_cost_ratio_to_baseline"]),
                show(&f["warm_p50_ms"]),
                f["peak_rss_kib"].as_u64().map_or("–".into(), |k| mb(k * 1024)),
                size.map_or("–".into(), mb)
            );
        }
    }

    if !scenarios.is_empty() {
        println!(
            "\n| Per payment | HTTP requests | Lambda invocations | DynamoDB reads (RCU) | DynamoDB writes (WCU) | Glase calls | Queue messages | Cost per million payments |\n|---|---|---|---|---|---|---|---|"
        );
        for s in &scenarios {
            let d = &s["dynamodb"];
            let units = |v: &Value| {
                let m = v.as_u64().unwrap_or(0);
                format!("{}.{}", m / 1000, (m % 1000) / 100)
            };
            let glase: Vec<String> = s["glase_calls"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
                .unwrap_or_default();
            let invocations: u64 = s["invocations"]
                .as_object()
                .map(|m| m.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            println!(
                "| {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {} |",
                s["scenario"].as_str().unwrap_or_default(),
                s["http_requests"],
                invocations,
                d["read_requests"],
                units(&d["read_milli_units"]),
                d["write_requests"],
                units(&d["write_milli_units"]),
                glase.join(", "),
                s["queue_messages"],
                s["cost_per_million"].as_str().unwrap_or("–")
            );
        }
    }

    println!("\nwritten to {}", output.display());
    std::process::ExitCode::SUCCESS
}
