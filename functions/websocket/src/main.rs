//! The `websocket` Lambda function: the WebSocket API's `$connect` (checks the payment's client secret
//! and stores the connection), `sync` (answers the current status) and `$disconnect` routes. It needs
//! only the table: no Glase credentials.
//!
//! The work lives in `payments-domain` (the connection use cases), `payments-api` (the routes) and
//! `lambda-adapter` (start-up and the event types).

// As in lambda-adapter: the start-up future nests deeper than the default type-depth limit.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_adapter::run_websocket().await
}
