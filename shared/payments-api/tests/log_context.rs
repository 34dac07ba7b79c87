//! A log line written while answering a request carries the Lambda request id (from the runtime's span,
//! reproduced here with the same name and field) and the request's method and path, but not its query.

use tracing::Instrument;

#[tokio::test]
async fn log_lines_carry_the_request_id_and_the_path_but_not_the_query() {
    let logs = payments_api::testing::captured_logs("info");

    let app = payments_api::testing::fake_app("sk_test_log_context");
    let body =
        r#"{"order_id":"A-1","currency":"SEK","total":100,"rows":[{"description":"Tea","total":100}]}"#;
    // The span lambda_runtime opens around every invocation.
    let invocation = tracing::info_span!("Lambda runtime invoke", requestId = "8476a536-e9f4-11e8-9739");
    let (status, answer) = payments_api::testing::call(
        &app,
        http::Method::POST,
        "/v1/payments?trace=1",
        &[("authorization", "Bearer sk_test_log_context")],
        body,
    )
    .instrument(invocation)
    .await;
    assert_eq!(status, 201, "{answer}");

    let text = logs.text();
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
