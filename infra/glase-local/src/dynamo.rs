//! The embedded DynamoDB of the local stack: dynoxide on a SQLite file in the data directory, served on
//! a loopback port so the real AWS SDK client (and so the real store adapter) talks to it.

use std::path::Path;

use aws_sdk_dynamodb::Client;
use payments_dynamodb::table;
use tokio::sync::oneshot;

/// A running embedded DynamoDB. Dropping it stops the server.
pub struct Embedded {
    /// The endpoint the SDK client uses.
    pub endpoint: String,
    _stop: oneshot::Sender<()>,
}

/// Why the embedded DynamoDB could not start.
#[derive(Debug)]
pub struct DynamoStartError(pub String);

/// Opens (or creates) `dir/dynamodb.sqlite` and serves it on a loopback port.
pub async fn start(dir: &Path) -> Result<Embedded, DynamoStartError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| DynamoStartError(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join("dynamodb.sqlite");
    let path = file
        .to_str()
        .ok_or_else(|| DynamoStartError("the data directory is not UTF-8".into()))?;
    let db =
        dynoxide::Database::new(path).map_err(|e| DynamoStartError(format!("cannot open {path}: {e}")))?;
    // The file opens with SQLite's default `synchronous = FULL`: an fsync on every commit, which capped the
    // local stack at about 55 payments a second on this machine's disk. dynoxide's normal settings
    // (`synchronous = NORMAL` in its WAL mode) lose nothing when the process is killed or crashes; only a
    // power loss of the laptop may drop the last commits, which is right for a stand-in.
    db.disable_bulk_loading()
        .map_err(|e| DynamoStartError(format!("cannot configure {path}: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| DynamoStartError(format!("cannot bind a loopback port: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DynamoStartError(e.to_string()))?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
        let _ = stopped.await;
    }));
    Ok(Embedded {
        endpoint: format!("http://{addr}"),
        _stop: stop,
    })
}

/// Creates the payments table unless it exists already (a restart on the same data directory).
///
/// Whether it exists is asked with ListTables, not DescribeTable: on a first start "no such table" is
/// expected, and DescribeTable would answer it with an error response that the emulator logs as a
/// warning. A store that cannot be listed is an error, not a missing table.
pub async fn ensure_table(client: &Client, table_name: &str) -> Result<(), DynamoStartError> {
    let mut pages = client.list_tables().into_paginator().items().send();
    while let Some(name) = pages.next().await {
        let name = name.map_err(|e| DynamoStartError(format!("cannot list tables: {e}")))?;
        if name == table_name {
            return Ok(());
        }
    }
    table::create_table(client, table_name)
        .await
        .map_err(|e| DynamoStartError(format!("cannot create table {table_name}: {e}")))
}
