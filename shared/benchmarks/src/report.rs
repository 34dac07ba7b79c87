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

/// One bar the benchmarks must meet: what, the bar, the figure, met or not (None when not measured).
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

/// Every bar the benchmarks must meet, with its measured figure.
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
    // Cold start: judged on what a cold start adds to a warm invocation, against the same for the
    // hello-world baseline; the first-invocation ratio is published beside it.
    let worst = |key: &str| {
        functions
            .iter()
            .filter_map(|(name, f)| f[key].as_f64().map(|r| (name.clone(), r)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    let worst_cost = worst("cold_cost_ratio_to_baseline");
    let worst_first = worst("ratio_to_baseline");
    bars.push(Bar {
        what: "Cold start: what it adds to a warm invocation (init + first invocation − warm p50), worst function, against the same for a hello-world lambda_runtime binary",
        bar: "≤ 3×",
        figure: worst_cost.as_ref().map_or("–".into(), |(n, r)| {
            let first = worst_first
                .as_ref()
                .map_or(String::new(), |(fnm, fr)| format!("; init + first invocation {fr:.2}× ({fnm})"));
            format!("{r:.2}× ({n}){first}")
        }),
        met: worst_cost.as_ref().map(|(_, r)| *r <= 3.0),
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

impl Inputs {
    /// The inputs held by a results document (`shared/benchmarks/results.json`), so its tables can be
    /// rendered again without running anything.
    pub fn from_document(document: &Value) -> Self {
        Self {
            notification: document["notification_path"].clone(),
            calls: document["calls_per_payment"].clone(),
            load: document["end_to_end"].clone(),
            lambda: document["lambda"].clone(),
            package: document["package_size"].clone(),
        }
    }
}

/// The line naming the machine and the day a results document was produced.
pub fn measured_on(document: &Value) -> String {
    let m = &document["machine"];
    let day = document["generated_at"]
        .as_str()
        .unwrap_or("")
        .get(..10)
        .unwrap_or("");
    format!(
        "Measured on {day} on a {}-core {} machine ({}, Linux {}).",
        m["cpus"],
        m["arch"].as_str().unwrap_or("?"),
        m["cpu"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?")
    )
}

/// The bars table of a results document, preceded by the machine it was measured on.
pub fn render_bars(document: &Value) -> String {
    let mut out = format!(
        "{}\n\n| Measure | Bar | Measured | Met |\n|---|---|---|---|\n",
        measured_on(document)
    );
    for b in bars(&Inputs::from_document(document)) {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            b.what,
            b.bar,
            b.figure,
            verdict(b.met)
        ));
    }
    out
}

/// Every table of a results document: the bars, the figures per function, and per kind of payment.
pub fn render(document: &Value) -> String {
    let inputs = Inputs::from_document(document);
    let mut out = render_bars(document);
    let functions = lambda_functions(&inputs.lambda);
    let packages = packages(&inputs.package);
    if !functions.is_empty() || !packages.is_empty() {
        out.push_str(
            "\n| Function | Init (ms) | First invocation (ms) | × hello-world | Cold start less a warm invocation, × hello-world's | Warm p50 (ms) | Peak RSS (MB) | Zipped arm64 (MB) |\n|---|---|---|---|---|---|---|---|\n",
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
            out.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} |\n",
                show(&f["init_ms"]),
                show(&f["first_invoke_ms"]),
                show(&f["ratio_to_baseline"]),
                show(&f["cold_cost_ratio_to_baseline"]),
                show(&f["warm_p50_ms"]),
                f["peak_rss_kib"].as_u64().map_or("–".into(), |k| mb(k * 1024)),
                size.map_or("–".into(), mb)
            ));
        }
    }
    let scenarios = inputs.calls["scenarios"].as_array().cloned().unwrap_or_default();
    if !scenarios.is_empty() {
        out.push_str(
            "\n| Per payment | HTTP requests | Lambda invocations | DynamoDB reads (RCU) | DynamoDB writes (WCU) | Glase calls | Queue messages | Cost per million payments |\n|---|---|---|---|---|---|---|---|\n",
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
            out.push_str(&format!(
                "| {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {} |\n",
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
            ));
        }
    }
    out
}

/// `text` with the lines between `<!-- NAME -->` and `<!-- /NAME -->` replaced by `content`; `None`
/// when the markers are missing.
pub fn replace_block(text: &str, name: &str, content: &str) -> Option<String> {
    let (open, close) = (format!("<!-- {name} -->\n"), format!("<!-- /{name} -->"));
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(format!("{}{}{}", &text[..start], content, &text[end..]))
}

/// The lines between `<!-- NAME -->` and `<!-- /NAME -->`, when both are there.
pub fn block<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let (open, close) = (format!("<!-- {name} -->\n"), format!("<!-- /{name} -->"));
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(&text[start..end])
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
                "notification": {"ratio_to_baseline": 2.5, "cold_cost_ratio_to_baseline": 2.2, "peak_rss_kib": 20_000},
                "create-payment": {"ratio_to_baseline": 2.9, "cold_cost_ratio_to_baseline": 3.1, "peak_rss_kib": 29_296}}}),
            package: json!({"functions": {"CreatePaymentFunction": {"zipped_bytes": 5_999_999},
                "NotificationFunction": {"zipped_bytes": 4_000_000}}}),
        };
        let bars = bars(&inputs);
        // The worst function's cold-start cost decides: 3.1× is over 3×.
        assert_eq!(met(&bars, "Cold start"), Some(false));
        assert!(
            bars[0].figure.starts_with("3.10× (create-payment)"),
            "{}",
            bars[0].figure
        );
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
    fn a_slow_first_invocation_alone_does_not_fail_the_cold_start_bar() {
        let inputs = Inputs {
            lambda: json!({"functions": {
                "payment-control": {"ratio_to_baseline": 3.73, "cold_cost_ratio_to_baseline": 2.6},
                "websocket": {"ratio_to_baseline": 2.5, "cold_cost_ratio_to_baseline": 2.17}}}),
            ..Inputs::default()
        };
        let bars = bars(&inputs);
        assert_eq!(met(&bars, "Cold start"), Some(true));
        assert_eq!(
            bars[0].figure,
            "2.60× (payment-control); init + first invocation 3.73× (payment-control)"
        );
    }

    #[test]
    fn a_block_is_replaced_between_its_markers_only() {
        let text = "a\n<!-- results -->\nold\n<!-- /results -->\nb\n";
        let new = replace_block(text, "results", "new\n").unwrap();
        assert_eq!(new, "a\n<!-- results -->\nnew\n<!-- /results -->\nb\n");
        assert_eq!(block(&new, "results"), Some("new\n"));
        assert_eq!(replace_block("no markers", "results", "x"), None);
    }

    #[test]
    fn a_document_renders_its_bars_with_the_machine() {
        let document = json!({
            "generated_at": "2026-11-30T12:04:02Z",
            "machine": {"cpus": 2, "arch": "x86_64", "cpu": "AMD EPYC", "kernel": "6.18"},
            "end_to_end": {"payments_per_second": 359, "reversals": 0, "errors": 0, "clients": 64},
        });
        let text = render_bars(&document);
        assert!(
            text.starts_with("Measured on 2026-11-30 on a 2-core x86_64 machine (AMD EPYC, Linux 6.18).\n"),
            "{text}"
        );
        assert!(
            text.contains("| 359/s with 64 clients, 0 reversals, 0 errors | yes |"),
            "{text}"
        );
        assert!(text.contains("| – | not measured |"), "{text}");
    }

    #[test]
    fn megabytes_are_decimal() {
        assert_eq!(mb(6_000_000), "6.00");
        assert_eq!(mb(4_623_882), "4.62");
    }
}
