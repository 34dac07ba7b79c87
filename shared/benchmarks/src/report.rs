//! The benchmark report: the bars checked against the gathered result documents, and the
//! figures per function. `bench-report` prints it; the tests below pin how each bar is judged.

use serde_json::Value;

use crate::stats::ms;
use crate::template::binary_of;

/// The result documents, as the benchmarks wrote them (`Value::Null` for one not run).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `notification.json`.
    pub notification: Value,
    /// `calls.json`.
    pub calls: Value,
    /// `load.json`.
    pub load: Value,
    /// `lambda.json` (from `lambda-bench`).
    pub lambda: Value,
    /// `package.json`.
    pub package: Value,
}

/// One bar of the issue: what, the bar, the figure, met or not (None when not measured).
pub struct Bar {
    /// What is measured.
    pub what: &'static str,
    /// The bar.
    pub bar: &'static str,
    /// The measured figure, in words.
    pub figure: String,
    /// Whether the bar is met; `None` when not measured.
    pub met: Option<bool>,
}

/// The table's word for a bar's outcome.
pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "not measured",
    }
}

/// The functions of the lambda-bench document, by name.
pub fn lambda_functions(lambda: &Value) -> Vec<(String, Value)> {
    match &lambda["functions"] {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(list) => list
            .iter()
            .map(|v| (v["name"].as_str().unwrap_or_default().to_owned(), v.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Bytes as decimal megabytes with two decimals.
pub fn mb(bytes: u64) -> String {
    format!("{}.{:02}", bytes / 1_000_000, (bytes % 1_000_000) / 10_000)
}

/// The zipped package sizes by binary name, sorted.
pub fn packages(package: &Value) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = package["functions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, v)| {
                    (
                        binary_of(id).unwrap_or_else(|| id.clone()),
                        v["zipped_bytes"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    list.sort();
    list
}

/// Every bar of the issue with its measured figure.
pub fn bars(inputs: &Inputs) -> Vec<Bar> {
    let Inputs {
        notification,
        calls,
        load,
        lambda,
        package,
    } = inputs;
    let packages = packages(package);
    let functions = lambda_functions(lambda);

    let mut bars = Vec::new();
    // Cold start.
    let worst_ratio = functions
        .iter()
        .filter_map(|(name, f)| f["ratio_to_baseline"].as_f64().map(|r| (name.clone(), r)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    bars.push(Bar {
        what: "Cold start: init + first invocation, worst function, vs hello-world lambda_runtime",
        bar: "≤ 3×",
        figure: worst_ratio
            .as_ref()
            .map_or("–".into(), |(n, r)| format!("{r:.2}× ({n})")),
        met: worst_ratio.as_ref().map(|(_, r)| *r <= 3.0),
    });
    // Notification path.
    let p99 = notification["to_glase_call"]["p99_ns"].as_u64();
    bars.push(Bar {
        what: "Notification arrives → getPaymentStatus leaves, p99 (in process, dynoxide + sandbox)",
        bar: "< 2 ms",
        figure: p99.map_or("–".into(), |n| {
            format!(
                "{} ms (p50 {} ms; {} notifications)",
                ms(n),
                ms(notification["to_glase_call"]["p50_ns"].as_u64().unwrap_or(0)),
                notification["notifications"]
            )
        }),
        met: p99.map(|n| n < 2_000_000),
    });
    // End to end.
    let rate = load["payments_per_second"].as_u64();
    let reversals = load["reversals"].as_u64();
    bars.push(Bar {
        what: "End to end through the local stack (create, pay, notification, status paid)",
        bar: "≥ 300 payments/s, 0 reversals",
        figure: rate.map_or("–".into(), |r| {
            format!(
                "{r}/s with {} clients, {} reversals, {} errors",
                load["clients"], load["reversals"], load["errors"]
            )
        }),
        met: rate.map(|r| r >= 300 && reversals == Some(0) && load["errors"].as_u64() == Some(0)),
    });
    // Memory.
    let worst_rss = functions
        .iter()
        .filter_map(|(name, f)| f["peak_rss_kib"].as_u64().map(|k| (name.clone(), k)))
        .max_by_key(|(_, k)| *k);
    bars.push(Bar {
        what: "Peak RSS of a function binary over its invocations, worst function",
        bar: "< 30 MB",
        figure: worst_rss.as_ref().map_or("–".into(), |(n, k)| {
            format!("{} MB ({n}, {} invocations)", mb(k * 1024), lambda["invocations"])
        }),
        met: worst_rss.as_ref().map(|(_, k)| k * 1024 < 30_000_000),
    });
    // Package size.
    let largest = packages.iter().max_by_key(|(_, b)| *b);
    bars.push(Bar {
        what: "Zipped arm64 bootstrap, largest function",
        bar: "< 6 MB",
        figure: largest.map_or("–".into(), |(n, b)| format!("{} MB ({n})", mb(*b))),
        met: largest.map(|(_, b)| *b < 6_000_000),
    });
    // Calls per payment.
    let scenarios = calls["scenarios"].as_array().cloned().unwrap_or_default();
    let webshop = scenarios.iter().find(|s| s["scenario"] == "webshop_notification");
    bars.push(Bar {
        what: "Glase calls confirming a webshop payment by its notification",
        bar: "1 sendInvoice + 1 getPaymentStatus",
        figure: webshop.map_or("–".into(), |s| {
            format!(
                "{} sendInvoice + {} getPaymentStatus (+{} submitPaymentReceipt afterwards)",
                s["glase_calls"]["send_invoice"],
                s["glase_calls"]["payment_status"],
                s["glase_calls"]["submit_receipt"].as_u64().unwrap_or(0)
            )
        }),
        met: webshop
            .map(|s| s["glase_calls"]["send_invoice"] == 1 && s["glase_calls"]["payment_status"] == 1),
    });

    bars
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn met(bars: &[Bar], prefix: &str) -> Option<bool> {
        bars.iter()
            .find(|b| b.what.starts_with(prefix))
            .and_then(|b| b.met)
    }

    #[test]
    fn nothing_measured_is_said_so_and_not_met() {
        let bars = bars(&Inputs::default());
        assert_eq!(bars.len(), 6);
        assert!(bars.iter().all(|b| b.met.is_none()), "every bar unmeasured");
        assert_eq!(verdict(None), "not measured");
    }

    #[test]
    fn each_bar_is_judged_on_its_figure() {
        let inputs = Inputs {
            notification: json!({"notifications": 10_000, "to_glase_call": {"p50_ns": 400_000, "p99_ns": 1_999_999}}),
            calls: json!({"scenarios": [{"scenario": "webshop_notification",
                "glase_calls": {"send_invoice": 1, "payment_status": 2}}]}),
            load: json!({"payments_per_second": 350, "reversals": 1, "errors": 0, "clients": 64}),
            lambda: json!({"invocations": 1000, "functions": {
                "notification": {"ratio_to_baseline": 2.5, "peak_rss_kib": 20_000},
                "create-payment": {"ratio_to_baseline": 3.1, "peak_rss_kib": 29_296}}}),
            package: json!({"functions": {"CreatePaymentFunction": {"zipped_bytes": 5_999_999},
                "NotificationFunction": {"zipped_bytes": 4_000_000}}}),
        };
        let bars = bars(&inputs);
        // The worst function decides: 3.1× is over 3×.
        assert_eq!(met(&bars, "Cold start"), Some(false));
        assert!(bars[0].figure.contains("create-payment"));
        assert_eq!(met(&bars, "Notification"), Some(true));
        // Fast enough, but one reversal fails the bar.
        assert_eq!(met(&bars, "End to end"), Some(false));
        // 29,296 KiB is just under 30,000,000 bytes.
        assert_eq!(met(&bars, "Peak RSS"), Some(true));
        assert_eq!(met(&bars, "Zipped"), Some(true));
        assert!(bars[4].figure.contains("create-payment"), "{}", bars[4].figure);
        // Two status calls where one is the bar.
        assert_eq!(met(&bars, "Glase calls"), Some(false));
    }

    #[test]
    fn megabytes_are_decimal() {
        assert_eq!(mb(6_000_000), "6.00");
        assert_eq!(mb(4_623_882), "4.62");
    }
}
