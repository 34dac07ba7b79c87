//! Gathers the benchmark results under `target/bench/` into one document,
//! `shared/benchmarks/results.json`, prints its tables, and writes them into the documentation: the bars
//! into the README's `bench-bars` block, every table into `shared/benchmarks/README.md`'s
//! `bench-results` block. The documentation's figures are thus always the latest run's.
//!
//! `bench-report --in target/bench --out shared/benchmarks/results.json`
//! `bench-report --from shared/benchmarks/results.json` renders an existing document again.

use std::path::{Path, PathBuf};

use benchmarks::report::{Inputs, bars, render, render_bars, replace_block};
use serde_json::{Value, json};

type Render = fn(&Value) -> String;

/// The documents whose blocks hold the tables, with the block and how it is rendered.
const DOCUMENTS: &[(&str, &str, Render)] = &[
    ("README.md", "bench-bars", render_bars),
    ("shared/benchmarks/README.md", "bench-results", render),
];

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
    let mut from = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--in", Some(v)) => input = PathBuf::from(v),
            ("--out", Some(v)) => output = PathBuf::from(v),
            ("--from", Some(v)) => from = Some(PathBuf::from(v)),
            _ => {
                eprintln!("usage: bench-report [--in DIR] [--out FILE] | --from FILE");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let document = match from {
        Some(path) => {
            let Some(mut document) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            else {
                eprintln!("cannot read the results document {}", path.display());
                return std::process::ExitCode::FAILURE;
            };
            document["bars"] = bars_json(&Inputs::from_document(&document));
            output = path;
            document
        }
        None => gather(&input),
    };
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    if let Err(e) = std::fs::write(&output, text + "\n") {
        eprintln!("cannot write {}: {e}", output.display());
        return std::process::ExitCode::FAILURE;
    }
    print!("{}", render(&document));
    println!("\nwritten to {}", output.display());
    for (path, name, render) in DOCUMENTS {
        let updated = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| replace_block(&t, name, &render(&document)));
        match updated.map(|t| std::fs::write(path, t)) {
            Some(Ok(())) => println!("tables written into {path}"),
            _ => {
                eprintln!("cannot write the `{name}` block of {path}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}

fn bars_json(inputs: &Inputs) -> Value {
    bars(inputs)
        .iter()
        .map(|b| json!({"measure": b.what, "bar": b.bar, "measured": b.figure, "met": b.met}))
        .collect()
}

/// One document from the result files the benchmarks wrote.
fn gather(input: &Path) -> Value {
    let inputs = Inputs {
        notification: read(input, "notification"),
        calls: read(input, "calls"),
        load: read(input, "load"),
        lambda: read(input, "lambda"),
        package: read(input, "package"),
    };
    json!({
        "generated_at": benchmarks::results::now_rfc3339(),
        "machine": machine(),
        "bars": bars_json(&inputs),
        "notification_path": &inputs.notification,
        "calls_per_payment": &inputs.calls,
        "end_to_end": &inputs.load,
        "lambda": &inputs.lambda,
        "package_size": &inputs.package,
    })
}
