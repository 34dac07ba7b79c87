//! Business metrics in CloudWatch Embedded Metric Format (EMF).
//!
//! A Lambda function prints one JSON line per metric to standard output; CloudWatch turns the
//! `_aws` block into a metric without any API call, so recording a metric costs no latency and needs
//! no IAM permission. Locally the same lines go to the log, where a person or a test can read them.
//!
//! Metrics whose count means money lost or owed ([`Metric::costs_money`]) each have an alarm in the
//! template (a Metrics Insights query summing it over every function); the template drift tests check it.
//!
//! # What a reversal looks like
//! Glase reverses a paid invoice nobody acknowledged (getPaymentStatus) within 20 seconds, and afterwards
//! getPaymentStatus answers `CANCELED`, the same status as an invoice the shopper or the merchant
//! cancelled; no result code tells the two apart. [`Metric::PaymentReversed`] is recorded when we know the
//! shopper had paid:
//! - a payment we recorded as paid is later seen `CANCELED`;
//! - a notification arrives (Glase notifies only when the shopper has paid) and getPaymentStatus then
//!   answers `CANCELED` for a payment we held as pending: it was reversed before we acknowledged it.
//!
//! A payment the shopper paid whose notification never arrived and which nobody asked about in time is
//! seen `CANCELED` by the next status read or the safety net like any cancelled invoice: that reversal is
//! not counted here. The safety net exists so that it does not happen, and
//! [`Metric::SafetyNetPassFailed`] alarms when it cannot run.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric this backend emits.
pub const NAMESPACE: &str = "GlasePayments";

/// One observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A payment was created and its invoice sent.
    PaymentCreated,
    /// A payment was confirmed paid with Glase.
    PaymentPaid,
    /// A payment was canceled (by the merchant, the shopper or expiry).
    PaymentCanceled,
    /// Glase reversed a payment: the shopper paid and we did not confirm in time (see the module's notes
    /// on what can be told).
    PaymentReversed,
    /// Milliseconds from a notification arriving to the confirmed status being stored.
    NotificationToConfirmationMs(u64),
    /// Glase answered a call with a non-zero result code.
    GlaseError {
        operation: &'static str,
        result_code: i32,
    },
    /// A call to Glase had no clear outcome (timeout after the request left).
    GlaseOutcomeUnknown { operation: &'static str },
    /// A refund could not be settled and waits for the period report.
    RefundNeedsReconciliation,
    /// A reconciliation found this many mismatches.
    ReconciliationMismatches(u64),
    /// A pass of the safety net could not do its work (a sweep's listing failed); the next pass tries
    /// again, so only failures that last matter.
    SafetyNetPassFailed,
}

impl Metric {
    /// One of each kind of metric, for the checks that every metric is alarmed or deliberately not.
    pub fn kinds() -> Vec<Metric> {
        vec![
            Metric::PaymentCreated,
            Metric::PaymentPaid,
            Metric::PaymentCanceled,
            Metric::PaymentReversed,
            Metric::NotificationToConfirmationMs(0),
            Metric::GlaseError {
                operation: "sendInvoice",
                result_code: 0,
            },
            Metric::GlaseOutcomeUnknown {
                operation: "sendInvoice",
            },
            Metric::RefundNeedsReconciliation,
            Metric::ReconciliationMismatches(0),
            Metric::SafetyNetPassFailed,
        ]
    }

    /// True when a count of this metric means money lost or owed: each such metric has an alarm.
    pub fn costs_money(&self) -> bool {
        match self {
            // A shopper paid and got the money back with an SMS: the sale is lost.
            Metric::PaymentReversed => true,
            // An invoice, cancellation or report may have taken effect at Glase unseen by us.
            Metric::GlaseOutcomeUnknown { .. } => true,
            // Money may have gone back to the shopper, or not; a person may have to look.
            Metric::RefundNeedsReconciliation => true,
            // Our books differ from Glase's.
            Metric::ReconciliationMismatches(_) => true,
            // Paid payments nobody else confirms go unacknowledged and are reversed.
            Metric::SafetyNetPassFailed => true,
            // Business as usual; a rejection is answered to the caller, who decides.
            Metric::PaymentCreated
            | Metric::PaymentPaid
            | Metric::PaymentCanceled
            | Metric::NotificationToConfirmationMs(_)
            | Metric::GlaseError { .. } => false,
        }
    }

    /// The metric's name in CloudWatch.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::PaymentCreated => "PaymentsCreated",
            Metric::PaymentPaid => "PaymentsPaid",
            Metric::PaymentCanceled => "PaymentsCanceled",
            Metric::PaymentReversed => "PaymentsReversed",
            Metric::NotificationToConfirmationMs(_) => "NotificationToConfirmation",
            Metric::GlaseError { .. } => "GlaseErrors",
            Metric::GlaseOutcomeUnknown { .. } => "GlaseOutcomeUnknown",
            Metric::RefundNeedsReconciliation => "RefundsNeedingReconciliation",
            Metric::ReconciliationMismatches(_) => "ReconciliationMismatches",
            Metric::SafetyNetPassFailed => "SafetyNetPassesFailed",
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Metric::NotificationToConfirmationMs(_) => "Milliseconds",
            _ => "Count",
        }
    }

    fn value(&self) -> u64 {
        match self {
            Metric::NotificationToConfirmationMs(v) | Metric::ReconciliationMismatches(v) => *v,
            _ => 1,
        }
    }

    /// Extra dimensions beyond the function name.
    fn dimensions(&self) -> Vec<(&'static str, String)> {
        match self {
            Metric::GlaseError {
                operation,
                result_code,
            } => {
                vec![
                    ("Operation", (*operation).to_owned()),
                    ("ResultCode", result_code.to_string()),
                ]
            }
            Metric::GlaseOutcomeUnknown { operation } => vec![("Operation", (*operation).to_owned())],
            _ => Vec::new(),
        }
    }

    /// The EMF document of this metric, as one JSON line.
    pub fn to_emf(&self, function: &str, timestamp_ms: u64) -> String {
        let dims = self.dimensions();
        let mut dimension_names = vec![Value::from("Function")];
        dimension_names.extend(dims.iter().map(|(k, _)| Value::from(*k)));
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimension_names],
                    "Metrics": [{ "Name": self.name(), "Unit": self.unit() }],
                }],
            }),
        );
        doc.insert("Function".into(), Value::from(function));
        for (k, v) in dims {
            doc.insert(k.into(), Value::from(v));
        }
        doc.insert(self.name().into(), Value::from(self.value()));
        Value::Object(doc).to_string()
    }
}

/// Writes metrics as EMF lines. Cheap to clone; one per process.
#[derive(Clone)]
pub struct Metrics {
    function: Arc<str>,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics of `function` written to standard output.
    pub fn stdout(function: &str) -> Self {
        Self::to_writer(function, Box::new(std::io::stdout()))
    }

    /// Metrics of `function` written to `out`.
    pub fn to_writer(function: &str, out: Box<dyn Write + Send>) -> Self {
        Self {
            function: Arc::from(function),
            out: Arc::new(Mutex::new(out)),
        }
    }

    /// Records one observation. Losing a metric never fails the caller.
    pub fn record(&self, metric: &Metric) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let line = metric.to_emf(&self.function, now_ms);
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name() {
        let names: std::collections::BTreeSet<&str> = Metric::kinds().iter().map(Metric::name).collect();
        assert_eq!(names.len(), Metric::kinds().len());
        assert!(names.contains("SafetyNetPassesFailed"));
    }

    #[test]
    fn an_emf_line_declares_its_metric_and_carries_the_value() {
        let line = Metric::NotificationToConfirmationMs(42).to_emf("notification", 1_700_000_000_000);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "NotificationToConfirmation", "Unit": "Milliseconds" }])
        );
        assert_eq!(v["Function"], "notification");
        assert_eq!(v["NotificationToConfirmation"], 42);
    }

    #[test]
    fn glase_errors_are_split_by_operation_and_result_code() {
        let line = Metric::GlaseError {
            operation: "sendInvoice",
            result_code: 49,
        }
        .to_emf("create", 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Operation", "ResultCode"]])
        );
        assert_eq!(v["Operation"], "sendInvoice");
        assert_eq!(v["ResultCode"], "49");
        assert_eq!(v["GlaseErrors"], 1);
    }

    #[test]
    fn recorded_metrics_are_written_one_per_line() {
        let buffer = test_support::CapturedLines::default();
        let metrics = Metrics::to_writer("create", Box::new(buffer.clone()));
        metrics.record(&Metric::PaymentCreated);
        metrics.record(&Metric::PaymentPaid);
        let text = buffer.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"PaymentsCreated\":1"));
        assert!(lines[1].contains("\"PaymentsPaid\":1"));
    }
}
