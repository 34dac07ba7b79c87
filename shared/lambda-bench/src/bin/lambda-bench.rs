//! `lambda-bench`: cold start, start-up phases, warm latency and peak RSS of every Lambda function's
//! release binary under a local stand-in of the Lambda Runtime API, against the `hello-lambda` baseline.
//!
//! ```text
//! lambda-bench --bin-dir target/release --events events --out target/bench/lambda.json \
//!     [--cold-runs 10] [--invocations 1000] [--only notification,create-payment]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use lambda_bench::bench::{self, Options};
use lambda_bench::plans::{BASELINE, PLANS};
use lambda_bench::report;
use lambda_bench::standins::StandIns;

const USAGE: &str = "usage: lambda-bench --bin-dir DIR --events DIR [--out FILE] [--cold-runs N] \
[--invocations N] [--only NAME,NAME...]
  --bin-dir      where the release binaries are (the functions and hello-lambda), e.g. target/release
  --events       the events/ directory
  --out          write the JSON document here (the table goes to standard output either way)
  --cold-runs    cold starts per function (default 10)
  --invocations  invocations of the one process per function that measures memory (default 1000)
  --only         only these functions (the baseline always runs)
Exit status: 0 when every function ran and answered as expected, 1 otherwise, 2 on bad arguments.
";

struct Args {
    options: Options,
    out: Option<PathBuf>,
    only: Option<Vec<String>>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut bin_dir = None;
    let mut events_dir = None;
    let mut out = None;
    let mut cold_runs = 10;
    let mut invocations = 1_000;
    let mut only = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bin-dir" => bin_dir = Some(PathBuf::from(value("--bin-dir")?)),
            "--events" => events_dir = Some(PathBuf::from(value("--events")?)),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--cold-runs" => {
                cold_runs = at_least(&value("--cold-runs")?, 1, "--cold-runs must be a positive number")?;
            }
            "--invocations" => {
                invocations = at_least(
                    &value("--invocations")?,
                    2,
                    "--invocations must be a number above 1",
                )?;
            }
            "--only" => {
                let names: Vec<String> = value("--only")?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                if let Some(unknown) = names
                    .iter()
                    .find(|n| !PLANS.iter().any(|p| p.binary == n.as_str()))
                {
                    return Err(format!("--only: no function {unknown}"));
                }
                only = Some(names);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(Args {
        options: Options {
            bin_dir: bin_dir.ok_or("--bin-dir is required")?,
            events_dir: events_dir.ok_or("--events is required")?,
            cold_runs,
            invocations,
        },
        out,
        only,
    }))
}

/// `text` as a whole number of at least `min`, or `error`.
fn at_least(text: &str, min: u32, error: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| error.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lambda-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let standins = match StandIns::start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lambda-bench: cannot start the stand-ins: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = &args.options;
    eprintln!(
        "lambda-bench: {} cold starts and {} invocations per function",
        options.cold_runs, options.invocations
    );
    eprintln!("lambda-bench: running {}", BASELINE.binary);
    let baseline = bench::run(BASELINE, &standins, options).await;
    let mut results = Vec::new();
    for plan in PLANS {
        if let Some(only) = &args.only
            && !only.iter().any(|n| n == plan.binary)
        {
            continue;
        }
        eprintln!("lambda-bench: running {}", plan.binary);
        let measured = bench::run(*plan, &standins, options).await;
        for e in &measured.errors {
            eprintln!("lambda-bench: {}: {e}", measured.name);
        }
        results.push(measured);
    }
    print!("{}", report::table(&baseline, &results));
    let document = report::document(
        &baseline,
        &results,
        options.cold_runs,
        options.invocations,
        &command,
    );
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("lambda-bench: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        if let Err(e) = std::fs::write(out, text + "\n") {
            eprintln!("lambda-bench: cannot write {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("lambda-bench: wrote {}", out.display());
    }
    let clean = std::iter::once(&baseline)
        .chain(results.iter())
        .all(|m| m.errors.is_empty() && m.unexpected == 0);
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
