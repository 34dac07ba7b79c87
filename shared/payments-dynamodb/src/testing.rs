//! Fresh tables for tests, on either backend the contract tests run against:
//!
//! - [`Backend::Dynoxide`]: an in-process dynoxide server (SQLite in memory) on a loopback port, one fresh
//!   database per call, stopped when the [`TestTable`] is dropped.
//! - [`Backend::DynamoDbLocal`]: AWS's DynamoDB Local, shared by the whole test process, with a uniquely
//!   named table per call. Its endpoint comes from `DYNAMODB_LOCAL_ENDPOINT` (set by `tests/run.sh`).
//!   When that variable is absent, the harness starts a server of its own with
//!   `tests/dynamodb/dynamodb-local.sh` (owned by this process and stopped when it exits). A server that
//!   cannot be started fails the test with the script's output: it is never skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use tokio::sync::oneshot;

use crate::table;

/// The environment variable that names a running DynamoDB Local, e.g. `http://127.0.0.1:8000`.
pub const DYNAMODB_LOCAL_ENDPOINT: &str = "DYNAMODB_LOCAL_ENDPOINT";

/// A DynamoDB implementation the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// dynoxide in-process.
    Dynoxide,
    /// DynamoDB Local (Java).
    DynamoDbLocal,
}

/// A freshly created payments table and a client for it. Dropping it stops an in-process server.
pub struct TestTable {
    /// A client configured for the backend's endpoint.
    pub client: Client,
    /// The table's name.
    pub table_name: String,
    /// The endpoint the client talks to.
    pub endpoint: String,
    _stop: Option<oneshot::Sender<()>>,
}

impl TestTable {
    /// Creates a fresh table on `backend`. Panics, failing the test, when the backend cannot be reached.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Dynoxide => dynoxide_table().await,
            Backend::DynamoDbLocal => dynamodb_local_table().await,
        }
    }
}

/// A client for a local endpoint with static test credentials in `us-east-1`.
pub async fn client_for(endpoint: &str) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "payments-dynamodb-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

/// Starts dynoxide on a fresh in-memory database on `127.0.0.1` (a free port) and creates the table.
pub async fn dynoxide_table() -> TestTable {
    let db = dynoxide::Database::memory().expect("dynoxide opens an in-memory database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
        let _ = stopped.await;
    }));
    let client = client_for(&endpoint).await;
    let table_name = "payments".to_owned();
    table::create_table(&client, &table_name)
        .await
        .expect("create the table on dynoxide");
    TestTable {
        client,
        table_name,
        endpoint,
        _stop: Some(stop),
    }
}

/// Creates a uniquely named table on the shared DynamoDB Local.
pub async fn dynamodb_local_table() -> TestTable {
    let endpoint = dynamodb_local_endpoint();
    let client = client_for(&endpoint).await;
    let table_name = format!("payments-{}", uuid::Uuid::new_v4().simple());
    table::create_table(&client, &table_name)
        .await
        .unwrap_or_else(|e| panic!("create a table on DynamoDB Local at {endpoint}: {e}"));
    TestTable {
        client,
        table_name,
        endpoint,
        _stop: None,
    }
}

/// The DynamoDB Local endpoint: `DYNAMODB_LOCAL_ENDPOINT`, or a server this process starts once.
pub fn dynamodb_local_endpoint() -> String {
    if let Ok(endpoint) = std::env::var(DYNAMODB_LOCAL_ENDPOINT)
        && !endpoint.is_empty()
    {
        return endpoint;
    }
    static STARTED: OnceLock<Result<String, String>> = OnceLock::new();
    match STARTED.get_or_init(start_own_dynamodb_local) {
        Ok(endpoint) => endpoint.clone(),
        Err(why) => panic!("DynamoDB Local is required by these tests and could not be started: {why}"),
    }
}

/// Runs the start script with this process as the owner, in a run directory of its own, so the server is
/// stopped (by its process id) when this test process ends and other test processes keep theirs.
fn start_own_dynamodb_local() -> Result<String, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = repo.join("tests/dynamodb/dynamodb-local.sh");
    let pid = std::process::id();
    let run_dir = repo.join(format!("target/dynamodb-local/run-{pid}"));
    let output = Command::new(&script)
        .args(["start", "--owner-pid", &pid.to_string()])
        .env("DYNAMODB_LOCAL_RUN_DIR", &run_dir)
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{} exited with {}: {}{}",
            script.display(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("DYNAMODB_LOCAL_ENDPOINT="))
        .map(str::to_owned)
        .ok_or_else(|| format!("{} printed no endpoint: {stdout}", script.display()))
}
