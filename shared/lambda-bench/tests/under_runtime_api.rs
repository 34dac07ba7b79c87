//! The harness end to end on real binaries: the hello-world baseline and the real `websocket` function
//! (built from its own source as `websocket-under-test`) run under the Runtime API stand-in. Nothing
//! here asserts a timing.

use std::path::Path;
use std::time::Duration;

use lambda_bench::bench::{self, Options};
use lambda_bench::plans::{BASELINE, EventMaker, PLANS, Plan, status_of};
use lambda_bench::process::{FunctionProcess, PHASE_FIELDS};
use lambda_bench::runtime_api::{Outcome, RuntimeApi};
use lambda_bench::standins::StandIns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(60);

fn lambda_env(name: &str, api: &RuntimeApi) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api.address()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn websocket_plan() -> Plan {
    *PLANS.iter().find(|p| p.binary == "websocket").unwrap()
}

#[tokio::test]
async fn the_baseline_answers_its_event_intact_and_an_error_through_the_error_endpoint() {
    let api = RuntimeApi::start("hello-lambda").await.unwrap();
    let process = FunctionProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_hello-lambda")),
        &lambda_env("hello-lambda", &api),
    )
    .unwrap();
    assert!(
        api.next_request(WAIT).await.is_some(),
        "the process never asked for work"
    );

    let event = serde_json::json!({"hello": "world", "amount": 12550, "rows": [1, 2, {"ü": "ñ"}]});
    let completed = api.invoke(&event, Duration::from_secs(30), WAIT).await.unwrap();
    let Outcome::Response(body) = &completed.outcome else {
        panic!("expected a response, got {:?}", completed.outcome);
    };
    assert_eq!(serde_json::from_slice::<serde_json::Value>(body).unwrap(), event);
    assert!(completed.answered >= completed.handed_out);

    let failed = api
        .invoke(
            &serde_json::json!({"fail": "refused on purpose"}),
            Duration::from_secs(30),
            WAIT,
        )
        .await
        .unwrap();
    let Outcome::Error(body) = &failed.outcome else {
        panic!("expected an error, got {:?}", failed.outcome);
    };
    assert!(String::from_utf8_lossy(body).contains("refused on purpose"));
    assert_eq!(status_of(&failed.outcome), "error");

    let rss = process.peak_rss_kib().unwrap();
    assert!(rss > 0);
    let pid = process.pid();
    process.stop(Duration::from_secs(5)).await;
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the process is still there"
    );
}

#[tokio::test]
async fn a_real_function_logs_its_start_up_phases_and_answers_its_events() {
    let standins = StandIns::start().await.unwrap();
    let api = RuntimeApi::start("websocket").await.unwrap();
    let process = FunctionProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_websocket-under-test")),
        &standins.function_env("websocket", &api.address()),
    )
    .unwrap();
    assert!(
        api.next_request(WAIT).await.is_some(),
        "output: {:?}",
        process.facts().notable
    );
    let facts = process.wait_for_phases(Duration::from_secs(5)).await;
    let phases = facts.phases.expect("the initialised line with its phases");
    for field in PHASE_FIELDS {
        assert!(phases.contains_key(*field), "{field} missing from {phases:?}");
    }
    let sum: u64 = phases
        .iter()
        .filter(|(k, _)| k.as_str() != "init_total_us")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(phases["init_total_us"], sum);

    // $connect with a real payment's id and client secret: the connection is stored.
    let mut events = EventMaker::new(websocket_plan(), &events_dir()).unwrap();
    let connect = events.next(&standins).await.unwrap();
    let completed = api.invoke(&connect, Duration::from_secs(30), WAIT).await.unwrap();
    assert_eq!(status_of(&completed.outcome), "200", "{:?}", completed.outcome);

    // The same payment with a wrong client secret is refused, and the answer says so.
    let mut wrong = connect.clone();
    wrong["queryStringParameters"]["client_secret"] = "cs_wrong".into();
    let refused = api.invoke(&wrong, Duration::from_secs(30), WAIT).await.unwrap();
    assert_eq!(status_of(&refused.outcome), "403", "{:?}", refused.outcome);

    assert!(process.peak_rss_kib().unwrap() > 0);
    process.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_function_that_cannot_start_is_reported_not_measured() {
    let standins = StandIns::start().await.unwrap();
    let api = RuntimeApi::start("websocket").await.unwrap();
    let env: Vec<(String, String)> = standins
        .function_env("websocket", &api.address())
        .into_iter()
        .filter(|(k, _)| k != "TABLE_NAME")
        .collect();
    let mut process =
        FunctionProcess::spawn(Path::new(env!("CARGO_BIN_EXE_websocket-under-test")), &env).unwrap();
    assert!(api.next_request(Duration::from_secs(5)).await.is_none());
    let status = process
        .try_exited()
        .expect("the process exits when its settings are incomplete");
    assert!(!status.success());
    assert!(
        process.facts().notable.iter().any(|l| l.contains("TABLE_NAME")),
        "{:?}",
        process.facts().notable
    );
}

#[tokio::test]
async fn an_init_error_posted_to_the_stand_in_is_recorded() {
    let api = RuntimeApi::start("any").await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(api.address()).await.unwrap();
    let body = r#"{"errorMessage":"settings missing","errorType":"Init"}"#;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        api.address(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    assert_eq!(api.init_errors(), vec![body.to_owned()]);
}

#[tokio::test]
async fn the_benchmark_of_the_baseline_counts_every_answer_and_reads_the_peak_rss() {
    let standins = StandIns::start().await.unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_hello-lambda"));
    let options = Options {
        bin_dir: bin.parent().unwrap().to_path_buf(),
        events_dir: events_dir(),
        cold_runs: 2,
        invocations: 5,
    };
    let measured = bench::run(BASELINE, &standins, &options).await;
    assert!(measured.errors.is_empty(), "{:?}", measured.errors);
    assert_eq!(measured.init_us.len(), 2);
    assert_eq!(measured.first_invoke_us.len(), 2);
    assert_eq!(measured.warm_us.len(), 4);
    assert_eq!(measured.statuses.get("ok"), Some(&5));
    assert_eq!(measured.unexpected, 0);
    assert!(measured.peak_rss_kib.is_some_and(|k| k > 0));
}
