//! The benchmark's JSON document and its table: medians of the cold starts, the ratio to the
//! hello-world baseline, phase medians, warm p50/p99, peak RSS and the answers, with the
//! bars (what a cold start adds to a warm invocation ≤ 3× the baseline's, peak RSS under 30 MB).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::bench::Measured;
use crate::stats::{hundredths_text, median, ms_json, ms_short, percentile};

/// The cold-start bar: what a cold start adds to a warm invocation ([`cold_cost_ratio_hundredths`]) at
/// most this many hundredths of the baseline's.
pub const COLD_START_BAR_HUNDREDTHS: u64 = 300;
/// The memory bar: peak RSS under 30 MB (30,000,000 bytes).
pub const RSS_BAR_BYTES: u64 = 30_000_000;

/// Median init plus median first invocation (µs).
pub fn cold_total_us(m: &Measured) -> Option<u64> {
    Some(median(&m.init_us)? + median(&m.first_invoke_us)?)
}

/// The ratio of `m`'s cold total to the baseline's, in hundredths: against the median of the baseline's
/// cold starts paired with `m`'s when there are any, else against the baseline's own run.
pub fn ratio_hundredths(m: &Measured, baseline: &Measured) -> Option<u64> {
    let base = match median(&m.paired_baseline_us) {
        Some(paired) => paired,
        None => cold_total_us(baseline)?,
    };
    hundredths_of(cold_total_us(m)?, base)
}

/// `ours / base` in hundredths; `None` when `base` is zero.
fn hundredths_of(ours: u64, base: u64) -> Option<u64> {
    if base == 0 {
        return None;
    }
    u64::try_from(u128::from(ours) * 100 / u128::from(base)).ok()
}

/// What a cold start adds to an invocation (µs): median init plus median first invocation, less the
/// warm p50 (the work every invocation does, including the stand-ins' answers). The cold-start bar is
/// judged on its ratio, [`cold_cost_ratio_hundredths`]; [`ratio_hundredths`] is published beside it.
pub fn cold_cost_us(m: &Measured) -> Option<u64> {
    Some(cold_total_us(m)?.saturating_sub(percentile(&m.warm_us, 50)?))
}

/// [`cold_cost_us`] of `m` against the baseline's, in hundredths (the baseline's paired cold starts less
/// its warm p50 when there are any, else its own run's cold cost).
pub fn cold_cost_ratio_hundredths(m: &Measured, baseline: &Measured) -> Option<u64> {
    let base = match median(&m.paired_baseline_us) {
        Some(paired) => paired.saturating_sub(percentile(&baseline.warm_us, 50)?),
        None => cold_cost_us(baseline)?,
    };
    hundredths_of(cold_cost_us(m)?, base)
}

fn hundredths_json(h: Option<u64>) -> Value {
    h.map_or(Value::Null, |h| {
        crate::stats::json_number(&hundredths_text(h.into()))
    })
}

fn opt_ms(us: Option<u64>) -> Value {
    us.map_or(Value::Null, ms_json)
}

fn phases_json(m: &Measured) -> Value {
    let mut phases = serde_json::Map::new();
    for (name, values) in &m.phases_us {
        let key = name.strip_suffix("_us").unwrap_or(name);
        phases.insert(format!("{key}_ms"), opt_ms(median(values)));
    }
    phases.insert("outside_phases_ms".into(), opt_ms(median(&m.outside_phases_us)));
    phases.insert(
        "glase_warm_up_ms".into(),
        median(&m.glase_warm_up_ms).map_or(Value::Null, Value::from),
    );
    Value::Object(phases)
}

/// One function's entry.
pub fn function_json(m: &Measured, baseline: Option<&Measured>) -> Value {
    let ratio = hundredths_json(baseline.and_then(|b| ratio_hundredths(m, b)));
    let cost_ratio = hundredths_json(baseline.and_then(|b| cold_cost_ratio_hundredths(m, b)));
    let meets_cold = baseline
        .and_then(|b| cold_cost_ratio_hundredths(m, b))
        .map(|h| h <= COLD_START_BAR_HUNDREDTHS);
    let meets_rss = m.peak_rss_kib.map(|k| k * 1024 < RSS_BAR_BYTES);
    json!({
        "event": m.event,
        "expected_status": m.expect,
        "cold_runs": m.init_us.len(),
        "init_ms": opt_ms(median(&m.init_us)),
        "first_invoke_ms": opt_ms(median(&m.first_invoke_us)),
        "cold_total_ms": opt_ms(cold_total_us(m)),
        "ratio_to_baseline": ratio,
        "paired_baseline_ms": opt_ms(median(&m.paired_baseline_us)),
        "cold_cost_over_warm_ms": opt_ms(cold_cost_us(m)),
        "cold_cost_ratio_to_baseline": cost_ratio,
        "phases": phases_json(m),
        "warm_invocations": m.warm_us.len(),
        "warm_p50_ms": opt_ms(percentile(&m.warm_us, 50)),
        "warm_p99_ms": opt_ms(percentile(&m.warm_us, 99)),
        "peak_rss_kib": m.peak_rss_kib,
        "statuses": m.statuses,
        "unexpected_answers": m.unexpected,
        "meets_cold_start_bar": meets_cold,
        "meets_memory_bar": meets_rss,
        "errors": m.errors,
    })
}

/// The machine the figures come from.
pub fn machine_json() -> Value {
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    json!({ "nproc": nproc, "kernel": kernel, "cpu": cpu, "arch": std::env::consts::ARCH })
}

/// The whole document.
pub fn document(
    baseline: &Measured,
    functions: &[Measured],
    cold_runs: u32,
    invocations: u32,
    command: &str,
) -> Value {
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let by_name: BTreeMap<&str, Value> = functions
        .iter()
        .map(|m| (m.name.as_str(), function_json(m, Some(baseline))))
        .collect();
    json!({
        "timestamp": timestamp,
        "command": command,
        "machine": machine_json(),
        "cold_runs": cold_runs,
        "invocations": invocations,
        "bars": {
            "cold_start_cost_ratio_max": 3,
            "peak_rss_bytes_under": RSS_BAR_BYTES,
        },
        "baseline": function_json(baseline, None),
        "functions": by_name,
    })
}

fn cell(us: Option<u64>) -> String {
    us.map_or_else(|| "-".to_owned(), ms_short)
}

fn phase(m: &Measured, name: &str) -> Option<u64> {
    m.phases_us.get(name).and_then(|v| median(v))
}

/// The readable table (milliseconds; medians over the cold starts; RSS in MiB).
pub fn table(baseline: &Measured, functions: &[Measured]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<16} {:>8} {:>8} {:>8} {:>6} | {:>9} {:>6} | {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} | {:>8} {:>8} {:>8} | {}\n",
        "function",
        "init",
        "1st inv",
        "cold",
        "ratio",
        "cold-warm",
        "ratio",
        "logging",
        "aws_cfg",
        "secrets",
        "setting",
        "clients",
        "outside",
        "warmup",
        "warm p50",
        "warm p99",
        "RSS MiB",
        "answers"
    ));
    for m in std::iter::once(baseline).chain(functions.iter()) {
        let ratio_cell = |ratio: fn(&Measured, &Measured) -> Option<u64>| {
            if std::ptr::eq(m, baseline) {
                "1.00".to_owned()
            } else {
                ratio(m, baseline).map_or_else(|| "-".to_owned(), |h| hundredths_text(h.into()))
            }
        };
        let ratio = ratio_cell(ratio_hundredths);
        let cost_ratio = ratio_cell(cold_cost_ratio_hundredths);
        let rss = m.peak_rss_kib.map_or_else(
            || "-".to_owned(),
            |k| format!("{}.{}", k / 1024, (k % 1024) * 10 / 1024),
        );
        let answers: Vec<String> = m.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        let mut answers = answers.join(" ");
        if m.unexpected > 0 {
            answers.push_str(&format!(" (unexpected {}; expected {})", m.unexpected, m.expect));
        }
        if !m.errors.is_empty() {
            answers.push_str(&format!(" ERRORS: {}", m.errors.len()));
        }
        let warm_up = median(&m.glase_warm_up_ms).map_or_else(|| "-".to_owned(), |v| v.to_string());
        out.push_str(&format!(
            "{:<16} {:>8} {:>8} {:>8} {:>6} | {:>9} {:>6} | {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} | {:>8} {:>8} {:>8} | {}\n",
            m.name,
            cell(median(&m.init_us)),
            cell(median(&m.first_invoke_us)),
            cell(cold_total_us(m)),
            ratio,
            cell(cold_cost_us(m)),
            cost_ratio,
            cell(phase(m, "logging_us")),
            cell(phase(m, "aws_config_us")),
            cell(phase(m, "secrets_us")),
            cell(phase(m, "settings_us")),
            cell(phase(m, "clients_us")),
            cell(median(&m.outside_phases_us)),
            warm_up,
            cell(percentile(&m.warm_us, 50)),
            cell(percentile(&m.warm_us, 99)),
            rss,
            answers
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(name: &str, init: &[u64], first: &[u64]) -> Measured {
        Measured {
            name: name.into(),
            init_us: init.to_vec(),
            first_invoke_us: first.to_vec(),
            expect: "ok".into(),
            ..Measured::default()
        }
    }

    /// [`measured`] with warm invocations too.
    fn measured_warm(name: &str, init: &[u64], first: &[u64], warm: &[u64]) -> Measured {
        Measured {
            warm_us: warm.to_vec(),
            ..measured(name, init, first)
        }
    }

    #[test]
    fn the_ratio_compares_medians_of_init_plus_first_invocation() {
        let baseline = measured("hello-lambda", &[1_000, 900, 5_000], &[100, 100, 100]);
        let function = measured("notification", &[3_000, 2_800, 9_000], &[200, 200, 300]);
        // (1000 + 100) vs (3000 + 200).
        assert_eq!(cold_total_us(&baseline), Some(1_100));
        assert_eq!(ratio_hundredths(&function, &baseline), Some(290));
        let doc = function_json(&function, Some(&baseline));
        assert_eq!(doc["ratio_to_baseline"], json!(2.9));
        assert_eq!(doc["init_ms"], json!(3.0));
    }

    #[test]
    fn the_ratio_uses_the_baseline_runs_paired_with_the_function_when_there_are_any() {
        let baseline = measured("hello-lambda", &[1_000], &[100]);
        let mut function = measured("notification", &[3_000, 2_800, 9_000], &[200, 200, 300]);
        // The machine was busier while the function ran: its paired baseline took 1,600 µs.
        function.paired_baseline_us = vec![1_500, 1_600, 4_000];
        assert_eq!(ratio_hundredths(&function, &baseline), Some(200));
        let doc = function_json(&function, Some(&baseline));
        assert_eq!(doc["paired_baseline_ms"], json!(1.6));
        assert_eq!(doc["ratio_to_baseline"], json!(2.0));
    }

    #[test]
    fn the_cold_cost_leaves_out_the_work_of_a_warm_invocation() {
        let baseline = measured_warm("hello-lambda", &[1_000], &[100], &[50, 50, 60]);
        let mut function = measured_warm("create-payment", &[3_000], &[2_500], &[1_500, 1_500, 1_900]);
        function.paired_baseline_us = vec![1_250];
        // 3,000 + 2,500 - 1,500 against 1,250 - 50.
        assert_eq!(cold_cost_us(&function), Some(4_000));
        assert_eq!(cold_cost_ratio_hundredths(&function, &baseline), Some(333));
        // Without pairs: the baseline's own cold cost, 1,000 + 100 - 50.
        function.paired_baseline_us.clear();
        assert_eq!(cold_cost_ratio_hundredths(&function, &baseline), Some(380));
        let doc = function_json(&function, Some(&baseline));
        assert_eq!(doc["cold_cost_over_warm_ms"], json!(4.0));
        assert_eq!(doc["cold_cost_ratio_to_baseline"], json!(3.8));
        // The bar is judged on what the cold start adds: 3.8×, over it.
        assert_eq!(doc["ratio_to_baseline"], json!(5.0));
        assert_eq!(doc["meets_cold_start_bar"], json!(false));
    }

    #[test]
    fn the_bar_is_met_when_a_cold_start_adds_at_most_three_times_the_baselines_however_slow_the_work() {
        let baseline = measured_warm("hello-lambda", &[1_000], &[100], &[50, 50, 60]);
        // Its first invocation is mostly the work a warm invocation does too (2,000 µs).
        let function = measured_warm("create-payment", &[2_500], &[2_500], &[2_000, 2_000, 2_100]);
        // 2,500 + 2,500 - 2,000 against 1,100 - 50: 2.85×; the first-invocation ratio is 4.54×.
        let doc = function_json(&function, Some(&baseline));
        assert_eq!(doc["cold_cost_ratio_to_baseline"], json!(2.85));
        assert_eq!(doc["ratio_to_baseline"], json!(4.54));
        assert_eq!(doc["meets_cold_start_bar"], json!(true));
    }

    #[test]
    fn the_memory_bar_is_30_million_bytes() {
        let mut m = measured("x", &[1], &[1]);
        m.peak_rss_kib = Some(29_296);
        assert_eq!(function_json(&m, None)["meets_memory_bar"], json!(true));
        m.peak_rss_kib = Some(29_297);
        assert_eq!(function_json(&m, None)["meets_memory_bar"], json!(false));
    }

    #[test]
    fn the_table_has_a_row_per_function_and_the_baseline() {
        let baseline = measured("hello-lambda", &[1_000], &[100]);
        let mut function = measured("notification", &[2_000], &[100]);
        function.statuses.insert("200".into(), 3);
        let text = table(&baseline, &[function]);
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("notification"));
        assert!(text.contains("200×3"));
        assert!(text.contains("1.90"));
    }
}
