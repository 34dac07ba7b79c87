//! What each function is invoked with: a sample event from `events/`, the state prepared for it, and
//! the answer that is expected. The events are chosen to do the function's real work where that needs
//! no refund queue (no event here sends an SQS message; the functions that hold a queue client get a
//! closed loopback endpoint).

use std::path::Path;
use std::time::Duration;

use crate::standins::{Prepared, StandIns};

/// The id of the sample events' payment, replaced by a prepared payment's id.
pub const SAMPLE_PAYMENT_ID: &str = "pay_a5000000000000000000000000000001";
/// The sample events' client secret (the fakes' key's secret of [`SAMPLE_PAYMENT_ID`]), replaced by the
/// prepared payment's.
pub const SAMPLE_CLIENT_SECRET: &str = "cs_e1159e980f5eb75782f7cd3c26d70497";

/// The state an event needs before it is handed out (prepared in the harness, not timed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prep {
    /// The event as it is.
    AsIs,
    /// A new `idempotency-key` header per invocation, so each one does the work anew.
    UniqueIdempotencyKey,
    /// A new pending payment per invocation.
    FreshPayment,
    /// One pending payment per process, used by every invocation.
    OnePayment,
    /// A new payment per invocation that the shopper just paid: the event is the notification the
    /// sandbox sent for it.
    PaidNotification,
    /// One payment per process, paid and confirmed.
    OneConfirmedPayment,
}

/// How one function is benchmarked.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The binary's name (under the binary directory).
    pub binary: &'static str,
    /// The event file under the events directory (`None`: the baseline's own event).
    pub event: Option<&'static str>,
    /// What is prepared for each invocation.
    pub prep: Prep,
    /// The deadline handed to the function.
    pub deadline: Duration,
    /// The answer every invocation should get: an HTTP status, or `ok` for a non-HTTP answer.
    pub expect: &'static str,
}

/// The baseline.
pub const BASELINE: Plan = Plan {
    binary: "hello-lambda",
    event: None,
    prep: Prep::AsIs,
    deadline: Duration::from_secs(30),
    expect: "ok",
};

const DEADLINE: Duration = Duration::from_secs(30);

/// Every function, in the order they run. The safety net runs first: each of its passes sweeps the
/// pending payments of the whole table, so after the other functions' runs (create-payment alone leaves
/// over a thousand pending) it would measure that backlog instead of its own start.
pub const PLANS: &[Plan] = &[
    Plan {
        binary: "safety-net",
        event: Some("safety-net/schedule.json"),
        prep: Prep::AsIs,
        // Five seconds are kept back from the deadline, so 5.05 s makes a run of exactly one pass.
        deadline: Duration::from_millis(5_050),
        expect: "ok",
    },
    Plan {
        binary: "create-payment",
        event: Some("create-payment/ok.json"),
        prep: Prep::UniqueIdempotencyKey,
        deadline: DEADLINE,
        expect: "201",
    },
    Plan {
        binary: "notification",
        event: Some("notification/ok.json"),
        prep: Prep::PaidNotification,
        deadline: DEADLINE,
        expect: "200",
    },
    Plan {
        binary: "payment-status",
        event: Some("payment-status/merchant.json"),
        prep: Prep::OnePayment,
        deadline: DEADLINE,
        expect: "200",
    },
    Plan {
        binary: "payment-control",
        event: Some("payment-control/cancel.json"),
        prep: Prep::FreshPayment,
        deadline: DEADLINE,
        expect: "200",
    },
    Plan {
        binary: "refund-request",
        event: Some("refund-request/over-refundable.json"),
        prep: Prep::OneConfirmedPayment,
        deadline: DEADLINE,
        expect: "422",
    },
    Plan {
        binary: "refund-worker",
        event: Some("refund-worker/outbox-schedule.json"),
        prep: Prep::AsIs,
        deadline: DEADLINE,
        expect: "ok",
    },
    Plan {
        binary: "reporting",
        event: Some("reporting/get-unknown.json"),
        prep: Prep::AsIs,
        deadline: DEADLINE,
        expect: "404",
    },
    Plan {
        binary: "terminals",
        event: Some("terminals/list.json"),
        prep: Prep::AsIs,
        deadline: DEADLINE,
        expect: "200",
    },
    Plan {
        binary: "websocket",
        event: Some("websocket/connect.json"),
        prep: Prep::OnePayment,
        deadline: DEADLINE,
        expect: "200",
    },
];

/// Makes the events of one process, preparing what each needs.
pub struct EventMaker {
    plan: Plan,
    template: serde_json::Value,
    one: Option<Prepared>,
    count: u64,
}

/// Why an event could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

impl EventMaker {
    /// Reads the plan's event from `events_dir`.
    pub fn new(plan: Plan, events_dir: &Path) -> Result<Self, EventError> {
        let template = match plan.event {
            None => serde_json::json!({ "hello": "lambda-bench" }),
            Some(file) => {
                let path = events_dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| EventError(format!("{}: {e}", path.display())))?;
                serde_json::from_str(&text).map_err(|e| EventError(format!("{}: {e}", path.display())))?
            }
        };
        Ok(Self {
            plan,
            template,
            one: None,
            count: 0,
        })
    }

    /// The next event, with its state prepared in `standins`.
    pub async fn next(&mut self, standins: &StandIns) -> Result<serde_json::Value, EventError> {
        self.count += 1;
        let fail = |e: crate::standins::StandInError| EventError(e.0);
        match self.plan.prep {
            Prep::AsIs => Ok(self.template.clone()),
            Prep::UniqueIdempotencyKey => {
                let mut event = self.template.clone();
                let key = format!("lambda-bench-{}-{}", std::process::id(), self.count);
                set_header(&mut event, "idempotency-key", &key);
                Ok(event)
            }
            Prep::FreshPayment => {
                let payment = standins.create_payment().await.map_err(fail)?;
                substitute(&self.template, &payment)
            }
            Prep::OnePayment | Prep::OneConfirmedPayment => {
                if self.one.is_none() {
                    let payment = if self.plan.prep == Prep::OnePayment {
                        standins.create_payment().await
                    } else {
                        standins.confirmed_payment().await
                    };
                    self.one = Some(payment.map_err(fail)?);
                }
                match &self.one {
                    Some(payment) => substitute(&self.template, payment),
                    None => Err(EventError("no payment prepared".into())),
                }
            }
            Prep::PaidNotification => {
                let (payment, notification) = standins.paid_payment().await.map_err(fail)?;
                let mut event = substitute(&self.template, &payment)?;
                set_target(&mut event, &notification.path, &notification.query);
                Ok(event)
            }
        }
    }
}

/// The template with the sample payment id and client secret replaced by `payment`'s.
pub fn substitute(template: &serde_json::Value, payment: &Prepared) -> Result<serde_json::Value, EventError> {
    let text = template
        .to_string()
        .replace(SAMPLE_PAYMENT_ID, &payment.id)
        .replace(SAMPLE_CLIENT_SECRET, &payment.client_secret);
    serde_json::from_str(&text).map_err(|e| EventError(e.to_string()))
}

/// Sets (or adds) a header of an HTTP API event.
pub fn set_header(event: &mut serde_json::Value, name: &str, value: &str) {
    if let Some(headers) = event
        .get_mut("headers")
        .and_then(serde_json::Value::as_object_mut)
    {
        headers.insert(name.to_owned(), serde_json::Value::String(value.to_owned()));
    }
}

/// Points an HTTP API (payload 2.0) event at `path` with the query string `query`.
pub fn set_target(event: &mut serde_json::Value, path: &str, query: &str) {
    let parameters: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), serde_json::Value::String(v.to_owned()))
        })
        .collect();
    if let Some(object) = event.as_object_mut() {
        object.insert("rawPath".into(), path.into());
        object.insert("rawQueryString".into(), query.into());
        object.insert(
            "queryStringParameters".into(),
            serde_json::Value::Object(parameters),
        );
    }
    if let Some(http) = event
        .pointer_mut("/requestContext/http")
        .and_then(serde_json::Value::as_object_mut)
    {
        http.insert("path".into(), path.into());
    }
}

/// The answer of an invocation as a status: the `statusCode` of an HTTP answer, `ok` for any other
/// answer, `error` for an invocation error.
pub fn status_of(outcome: &crate::runtime_api::Outcome) -> String {
    match outcome {
        crate::runtime_api::Outcome::Error(_) => "error".to_owned(),
        crate::runtime_api::Outcome::Response(body) => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("statusCode").and_then(serde_json::Value::as_u64))
            .map_or_else(|| "ok".to_owned(), |code| code.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::runtime_api::Outcome;

    #[test]
    fn the_status_is_the_http_answers_status_code_or_ok_or_error() {
        assert_eq!(
            status_of(&Outcome::Response(Bytes::from(r#"{"statusCode":201}"#))),
            "201"
        );
        assert_eq!(
            status_of(&Outcome::Response(Bytes::from(r#"{"passes":1}"#))),
            "ok"
        );
        assert_eq!(status_of(&Outcome::Error(Bytes::from("{}"))), "error");
    }

    #[test]
    fn a_notification_event_is_pointed_at_the_caught_url() {
        let mut event = serde_json::json!({
            "rawPath": "/v1/notifications/pay_x",
            "rawQueryString": "token=old",
            "queryStringParameters": {"token": "old"},
            "requestContext": {"http": {"path": "/v1/notifications/pay_x"}},
        });
        set_target(&mut event, "/v1/notifications/pay_y", "token=new");
        assert_eq!(event["rawPath"], "/v1/notifications/pay_y");
        assert_eq!(event["rawQueryString"], "token=new");
        assert_eq!(event["queryStringParameters"]["token"], "new");
        assert_eq!(event["requestContext"]["http"]["path"], "/v1/notifications/pay_y");
    }

    #[test]
    fn the_sample_ids_are_replaced_everywhere() {
        let template = serde_json::json!({
            "rawPath": format!("/v1/payments/{SAMPLE_PAYMENT_ID}"),
            "pathParameters": {"payment_id": SAMPLE_PAYMENT_ID},
            "queryStringParameters": {"client_secret": SAMPLE_CLIENT_SECRET},
        });
        let payment = Prepared {
            id: "pay_real".into(),
            client_secret: "cs_real".into(),
            invoice_reference: "1".into(),
        };
        let event = substitute(&template, &payment).unwrap();
        assert_eq!(event["rawPath"], "/v1/payments/pay_real");
        assert_eq!(event["pathParameters"]["payment_id"], "pay_real");
        assert_eq!(event["queryStringParameters"]["client_secret"], "cs_real");
    }

    #[test]
    fn the_safety_net_runs_before_any_function_that_leaves_pending_payments() {
        let first_creator = PLANS
            .iter()
            .position(|p| p.binary == "create-payment")
            .expect("create-payment has a plan");
        let safety_net = PLANS
            .iter()
            .position(|p| p.binary == "safety-net")
            .expect("safety-net has a plan");
        assert!(safety_net < first_creator);
    }

    #[test]
    fn every_plan_names_an_event_file_that_exists() {
        let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        for plan in PLANS {
            assert!(EventMaker::new(*plan, &events).is_ok(), "{}", plan.binary);
        }
    }

    #[test]
    fn a_unique_idempotency_key_replaces_the_samples() {
        let mut event = serde_json::json!({"headers": {"idempotency-key": "A-1001"}});
        set_header(&mut event, "idempotency-key", "k-2");
        assert_eq!(event["headers"]["idempotency-key"], "k-2");
    }
}
