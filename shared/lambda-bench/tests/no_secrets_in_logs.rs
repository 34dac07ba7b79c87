//! Real function binaries under the Runtime API stand-in at the most verbose level Lambda's log
//! controls offer (`AWS_LAMBDA_LOG_LEVEL=TRACE`): create-payment takes a payment with the API key and
//! calls Glase with the terminal password; the websocket function accepts a connection with the
//! client secret. No line either process writes holds one of those secrets.

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

/// Runs `binary` as the function `name` at TRACE, answers each event, and returns its output and the
/// answers.
async fn run_at_trace(
    standins: &StandIns,
    binary: &Path,
    name: &str,
    events: Vec<serde_json::Value>,
) -> (Vec<String>, Vec<Outcome>) {
    let api = RuntimeApi::start(name).await.unwrap();
    let mut env = standins.function_env(name, &api.address());
    env.retain(|(k, _)| k != "AWS_LAMBDA_LOG_LEVEL" && k != "RUST_LOG");
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into()));
    let process = FunctionProcess::spawn(binary, &env).unwrap();
    assert!(
        api.next_request(WAIT).await.is_some(),
        "{name} never asked for work: {:?}",
        process.facts().notable
    );
    let mut outcomes = Vec::new();
    for event in events {
        let completed = api.invoke(&event, Duration::from_secs(30), WAIT).await.unwrap();
        outcomes.push(completed.outcome);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    process.stop(Duration::from_secs(5)).await;
    (output, outcomes)
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

    let mut creates = EventMaker::new(plan("create-payment"), &events_dir()).unwrap();
    let event = creates.next(&standins).await.unwrap();
    let (output, outcomes) = run_at_trace(
        &standins,
        Path::new(env!("CARGO_BIN_EXE_create-payment-under-test")),
        "create-payment",
        vec![event],
    )
    .await;
    assert_eq!(status_of(&outcomes[0]), "201", "{:?}", outcomes[0]);
    let Outcome::Response(body) = &outcomes[0] else {
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

    let mut connects = EventMaker::new(plan("websocket"), &events_dir()).unwrap();
    let connect = connects.next(&standins).await.unwrap();
    let secret = connect["queryStringParameters"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (output, outcomes) = run_at_trace(
        &standins,
        Path::new(env!("CARGO_BIN_EXE_websocket-under-test")),
        "websocket",
        vec![connect],
    )
    .await;
    assert_eq!(status_of(&outcomes[0]), "200", "{:?}", outcomes[0]);
    assert_clean(&output, &[("the client secret", secret)]);
}
