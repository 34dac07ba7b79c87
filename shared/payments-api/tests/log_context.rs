//! A log line written while answering a request carries the Lambda request id (from the runtime's span,
//! reproduced here with the same name and field) and the request's method and path, but not its query.

use std::io::Write;
use std::sync::{Arc, Mutex};

use payments_api::app::{App, request};
use payments_api::auth::{ApiKeys, hash_api_key};
use payments_api::metrics::Metrics;
use payments_api::telemetry::{LogFormat, LogSettings};
use payments_domain::testing::{
    FakeGlase, InMemoryStore, ManualClock, RecordingPush, RecordingQueue, SequentialIds,
};
use payments_domain::usecases::{Deps, UseCaseSettings};
use secrecy::SecretString;
use tracing::Instrument;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn log_lines_carry_the_request_id_and_the_path_but_not_the_query() {
    let logs = Captured::default();
    let sink = logs.clone();
    payments_api::telemetry::install(
        &LogSettings {
            format: LogFormat::Json,
            filter: "info".into(),
        },
        move || sink.clone(),
    )
    .expect("the only subscriber of this test binary");

    let clock = ManualClock::default();
    let app = App {
        deps: Deps {
            store: InMemoryStore::new(),
            glase: FakeGlase::new(clock.clone()),
            queue: RecordingQueue::default(),
            push: RecordingPush::default(),
            clock,
            ids: SequentialIds::default(),
            settings: UseCaseSettings::default(),
        },
        api_keys: ApiKeys::parse(&SecretString::from(hash_api_key("sk_test_log_context"))).unwrap(),
        metrics: Metrics::to_writer("logs", Box::new(std::io::sink())),
        function: None,
    };
    let body =
        r#"{"order_id":"A-1","currency":"SEK","total":100,"rows":[{"description":"Tea","total":100}]}"#;
    // The span lambda_runtime opens around every invocation.
    let invocation = tracing::info_span!("Lambda runtime invoke", requestId = "8476a536-e9f4-11e8-9739");
    let response = app
        .handle(request(
            http::Method::POST,
            "/v1/payments?trace=1",
            &[
                ("authorization", "Bearer sk_test_log_context"),
                ("content-type", "application/json"),
            ],
            body,
        ))
        .instrument(invocation)
        .await;
    assert_eq!(response.status(), 201, "{}", response.body());

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let created = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["message"] == "payment created")
        .unwrap_or_else(|| panic!("no 'payment created' line in {text}"));
    let spans = created["spans"].as_array().expect("the span list");
    assert_eq!(spans[0]["requestId"], "8476a536-e9f4-11e8-9739", "{created}");
    assert_eq!(spans[1]["method"], "POST", "{created}");
    assert_eq!(spans[1]["path"], "/v1/payments", "{created}");
    assert!(created["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert!(!text.contains("trace=1"), "the query is never logged");
}
