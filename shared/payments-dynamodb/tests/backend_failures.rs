//! A backend that is not there fails loudly: the start script exits non-zero with a reason, and a store
//! whose endpoint does not answer reports `Unavailable` (retryable), never an empty answer.

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
