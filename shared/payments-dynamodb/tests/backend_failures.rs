//! Failing backends keep their kind: the start script exits non-zero with a reason; a store whose endpoint
//! does not answer reports `Unavailable` (retryable), never an empty answer; and DynamoDB's error answers
//! (served by a loopback stand-in, parsed by the real SDK) map to `Throttled`, `ConditionFailed` and
//! `Unavailable`.

use std::path::PathBuf;
use std::process::Command;

use payments_domain::ports::{PaymentStore, StoreError};
use payments_dynamodb::DynamoStore;
use payments_dynamodb::testing::{client_for, fixtures};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/dynamodb/dynamodb-local.sh")
}

fn scratch_run_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_start_script_fails_with_a_reason_when_java_is_missing() {
    let output = Command::new(script())
        .arg("start")
        .env("JAVA", "/nonexistent/java")
        .env("DYNAMODB_LOCAL_RUN_DIR", scratch_run_dir("no-java"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not installed"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("DYNAMODB_LOCAL_ENDPOINT="));
}

#[test]
fn the_start_script_fails_when_the_server_exits_at_once() {
    let run_dir = scratch_run_dir("exits");
    let output = Command::new(script())
        .arg("start")
        .env("JAVA", "false")
        .env("DYNAMODB_LOCAL_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did not start"), "{stderr}");
    assert!(
        !run_dir.join("pid").exists(),
        "no pid of a dead server is left behind"
    );
}

#[test]
fn stop_without_a_server_succeeds_and_endpoint_fails() {
    let run_dir = scratch_run_dir("idle");
    let stop = Command::new(script())
        .arg("stop")
        .env("DYNAMODB_LOCAL_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    assert!(stop.status.success());
    let endpoint = Command::new(script())
        .arg("endpoint")
        .env("DYNAMODB_LOCAL_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    assert!(!endpoint.status.success());
}

#[tokio::test]
async fn a_store_without_a_reachable_endpoint_is_unavailable() {
    // Bind a port, then close it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_for(&format!("http://127.0.0.1:{port}")).await;
    let store = DynamoStore::new(client, "payments");
    let payment = fixtures::pending_payment(100);
    let read = store.get_payment(payment.id()).await;
    assert!(matches!(&read, Err(StoreError::Unavailable { .. })), "{read:?}");
    assert!(read.unwrap_err().is_retryable());
    let write = store.insert_payment(&payment).await;
    assert!(matches!(write, Err(StoreError::Unavailable { .. })), "{write:?}");
}

/// A stand-in DynamoDB endpoint on loopback that answers every request with one canned error.
async fn canned_error_endpoint(status: &'static str, error_type: &'static str, body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                // Read the request head and its body, then answer and close.
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    received.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&received);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(str::to_owned)
                            })
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if received.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {error_type}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    endpoint
}

/// A client without retries, so an error comes back after one request.
async fn client_without_retries(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

#[tokio::test]
async fn every_throttling_answer_of_dynamodb_is_reported_as_throttled() {
    for code in [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    ] {
        let body = format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"slow down"}}"#);
        let endpoint = canned_error_endpoint("400 Bad Request", code, body).await;
        let store = DynamoStore::new(client_without_retries(&endpoint).await, "payments");
        let payment = fixtures::pending_payment(100);
        assert_eq!(
            store.insert_payment(&payment).await,
            Err(StoreError::Throttled),
            "{code}"
        );
        assert_eq!(
            store.get_payment(payment.id()).await,
            Err(StoreError::Throttled),
            "{code}"
        );
    }
}

#[tokio::test]
async fn a_transaction_canceled_for_throttling_is_throttled_and_for_a_condition_is_a_conflict() {
    let payment = fixtures::paid(&fixtures::pending_payment(1_000), fixtures::at(1_700_000_050_000));
    let refund = fixtures::refund(&payment, 100);
    let reserved = payment.reserve_refund(refund.amount()).unwrap();
    for (reasons, expected) in [
        (
            r#"[{"Code":"None"},{"Code":"ThrottlingError"}]"#,
            StoreError::Throttled,
        ),
        (
            r#"[{"Code":"ConditionalCheckFailed"},{"Code":"None"}]"#,
            StoreError::ConditionFailed,
        ),
        (
            r#"[{"Code":"None"},{"Code":"TransactionConflict"}]"#,
            StoreError::ConditionFailed,
        ),
    ] {
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"canceled","CancellationReasons":{reasons}}}"#
        );
        let endpoint = canned_error_endpoint("400 Bad Request", "TransactionCanceledException", body).await;
        let store = DynamoStore::new(client_without_retries(&endpoint).await, "payments");
        assert_eq!(
            store.create_refund(&refund, &reserved, payment.revision()).await,
            Err(expected),
            "{reasons}"
        );
    }
}

#[tokio::test]
async fn a_server_error_is_unavailable() {
    let body =
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}"#.to_owned();
    let endpoint = canned_error_endpoint("500 Internal Server Error", "InternalServerError", body).await;
    let store = DynamoStore::new(client_without_retries(&endpoint).await, "payments");
    let read = store.get_payment(fixtures::pending_payment(100).id()).await;
    assert!(matches!(read, Err(StoreError::Unavailable { .. })), "{read:?}");
}
