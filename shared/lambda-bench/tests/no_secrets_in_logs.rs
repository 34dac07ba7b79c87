//! Real function binaries under the Runtime API stand-in at the most verbose level Lambda's log
//! controls offer (`AWS_LAMBDA_LOG_LEVEL=TRACE`): create-payment takes a payment with the API key and
//! calls Glase with the terminal password; the websocket function accepts a connection with the
//! client secret. No line either process writes holds one of those secrets.

// Making an event runs a whole in-process API request, whose futures are deep; their layout needs more
// room.
#![recursion_limit = "256"]

use std::path::Path;
use std::time::Duration;

use lambda_bench::plans::{EventMaker, PLANS, Plan, status_of};
use lambda_bench::process::FunctionProcess;
use lambda_bench::runtime_api::{Outcome, RuntimeApi};
use lambda_bench::standins::{EVENTS_API_KEY, StandIns};

const WAIT: Duration = Duration::from_secs(60);

fn plan(binary: &str) -> Plan {
    *PLANS.iter().find(|p| p.binary == binary).unwrap()
}

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The function binaries under test.
const CREATE_PAYMENT: &str = env!("CARGO_BIN_EXE_create-payment-under-test");
const WEBSOCKET: &str = env!("CARGO_BIN_EXE_websocket-under-test");

/// The first event of the function `name`'s plan, made against the stand-ins.
async fn first_event(standins: &StandIns, name: &str) -> serde_json::Value {
    let mut events = EventMaker::new(plan(name), &events_dir()).unwrap();
    events.next(standins).await.unwrap()
}

/// Runs `binary` as the function `name` at TRACE for one event, checks that the answer has `status`,
/// and returns the function's output and the answer.
async fn run_at_trace(
    standins: &StandIns,
    binary: &str,
    name: &str,
    event: serde_json::Value,
    status: &str,
) -> (Vec<String>, Outcome) {
    let api = RuntimeApi::start(name).await.unwrap();
    let mut env = standins.function_env(name, &api.address());
    env.retain(|(k, _)| k != "AWS_LAMBDA_LOG_LEVEL" && k != "RUST_LOG");
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into()));
    let process = FunctionProcess::spawn(Path::new(binary), &env).unwrap();
    assert!(
        api.next_request(WAIT).await.is_some(),
        "{name} never asked for work: {:?}",
        process.facts().notable
    );
    let outcome = api
        .invoke(&event, Duration::from_secs(30), WAIT)
        .await
        .unwrap()
        .outcome;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    process.stop(Duration::from_secs(5)).await;
    assert_eq!(status_of(&outcome), status, "{outcome:?}");
    (output, outcome)
}

fn assert_clean(output: &[String], secrets: &[(&str, String)]) {
    assert!(
        output.iter().any(|l| l.contains("\"initialised\"")),
        "the function's lines were captured: {output:?}"
    );
    for line in output {
        for (what, secret) in secrets {
            assert!(!line.contains(secret.as_str()), "{what} in a log line: {line}");
        }
    }
}

#[tokio::test]
async fn functions_at_trace_log_no_api_key_client_secret_or_glase_password() {
    let standins = StandIns::start().await.unwrap();
    let env_value = |name: &str| {
        standins
            .function_env("create-payment", "127.0.0.1:9")
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap()
    };
    let terminal_password = env_value("GLASE_TERMINAL_PASSWORD");
    let client_secret_key = env_value("CLIENT_SECRET_KEY");

    let event = first_event(&standins, "create-payment").await;
    let (output, outcome) = run_at_trace(&standins, CREATE_PAYMENT, "create-payment", event, "201").await;
    let Outcome::Response(body) = &outcome else {
        unreachable!()
    };
    let response: serde_json::Value = serde_json::from_slice(body).unwrap();
    let created: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let client_secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_clean(
        &output,
        &[
            ("the API key", EVENTS_API_KEY.to_owned()),
            ("the client secret", client_secret),
            ("the terminal password", terminal_password.clone()),
            ("the client secret key", client_secret_key),
            ("a Glase request's password element", "<password>".to_owned()),
        ],
    );

    let connect = first_event(&standins, "websocket").await;
    let secret = connect["queryStringParameters"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (output, _) = run_at_trace(&standins, WEBSOCKET, "websocket", connect, "200").await;
    assert_clean(&output, &[("the client secret", secret)]);
}
