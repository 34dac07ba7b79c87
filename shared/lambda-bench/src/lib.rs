//! Process-level benchmarks of the Lambda functions: each function's release binary runs
//! under a local stand-in of the Lambda Runtime API ([`runtime_api`]) with the services it needs in
//! this process ([`standins`]: embedded DynamoDB, the Glase sandbox). For every function it measures
//! cold starts against a hello-world `lambda_runtime` baseline (`hello-lambda`), the start-up phases the
//! function logs, warm invocation latency, and peak RSS over many invocations ([`bench`]), and writes
//! a JSON document and a table ([`report`]). Nothing here asserts a timing: the figures are reported.

// The in-process application's futures (a whole API request) are deep; their layout needs more room.
#![recursion_limit = "256"]

pub mod bench;
pub mod plans;
pub mod process;
pub mod report;
pub mod runtime_api;
pub mod standins;
pub mod stats;

/// Serves `router` on `listener` on its own task until the returned sender is dropped (or sent on).
pub(crate) fn serve_until_dropped(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    stop
}
