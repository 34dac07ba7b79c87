//! The one place outside the function crates that knows Lambda's HTTP event types.
//!
//! An HTTP function's `main` is one line: [`run_http`] with its [`Function`]. That loads the function's
//! settings (naming every missing variable at once), initialises logging the way Lambda's log controls
//! say, builds every client once, and serves API Gateway HTTP API (payload 2.0) events by converting
//! them to the Lambda-agnostic [`ApiRequest`] that [`payments_api::app::App::handle`] answers. The
//! local stack and the tests call the same `handle` without any of this.

use std::sync::Arc;

pub mod safety_net;
pub mod websocket;

pub use safety_net::run_safety_net;
pub use websocket::run_websocket;

use bytes::Bytes;
use lambda_http::{Body, Error, Request, Response, service_fn};
use payments_api::app::{ApiRequest, ApiResponse};
use payments_api::config::ProcessEnv;
use payments_api::settings::{Function, Settings};
use payments_api::telemetry::{self, LogFormat, LogSettings};

mod schedule;
pub use schedule::{handle_reporting_event, run_reporting};

/// Converts a Lambda HTTP request into the API's request.
pub fn to_api_request(request: Request) -> ApiRequest {
    let (parts, body) = request.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    http::Request::from_parts(parts, bytes)
}

/// Converts the API's response into a Lambda HTTP response.
pub fn to_lambda_response(response: ApiResponse) -> Response<Body> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::Text(body))
}

/// The AWS configuration and the function's settings: the environment, with the secret named by
/// `APP_SECRET_ARN` (fetched once, here) layered over it.
async fn start(function: Function) -> Result<(aws_config::SdkConfig, Settings), Error> {
    telemetry::init(&LogSettings::from_env(&ProcessEnv, LogFormat::Json));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let fetcher = payments_api::secrets::SecretsManager(aws_sdk_secretsmanager::Client::new(&aws));
    let env = payments_api::secrets::load(ProcessEnv, &fetcher).await?;
    let settings = Settings::load(function, &env)?;
    Ok((aws, settings))
}

/// Runs an HTTP function: settings, logging, clients once, then the Lambda runtime loop.
pub async fn run_http(function: Function) -> Result<(), Error> {
    let (aws, settings) = start(function).await?;
    let app = Arc::new(payments_api::wiring::live_app(&settings, &aws).await?);
    tracing::info!(function = function.crate_name(), "initialised");
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(to_lambda_response(app.handle(to_api_request(request)).await)) }
    }))
    .await
}

/// The refund worker's event: an SQS batch (from the refund queue), or anything else (the schedule that
/// runs the outbox sweep). Answers the response for Lambda and the visibility delays to apply.
pub async fn handle_worker_event<S, G, Q, P, C, I>(
    app: &payments_api::app::App<S, G, Q, P, C, I>,
    event: serde_json::Value,
) -> Result<(serde_json::Value, Vec<(String, std::time::Duration)>), Error>
where
    S: payments_domain::ports::PaymentStore,
    G: payments_domain::ports::GlaseGateway,
    Q: payments_domain::ports::RefundQueue,
    P: payments_domain::ports::StatusPush,
    C: payments_domain::ports::Clock,
    I: payments_domain::ports::IdGenerator,
{
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    if event.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event)?;
        let messages: Vec<payments_api::app::QueuedMessage> = batch
            .records
            .into_iter()
            .map(|r| payments_api::app::QueuedMessage {
                receive_count: r
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                id: r.message_id.unwrap_or_default(),
                body: r.body.unwrap_or_default(),
                receipt_handle: r.receipt_handle.unwrap_or_default(),
            })
            .collect();
        let batch = app.process_refund_messages(&messages).await;
        let failed = batch.failed;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        return Ok((serde_json::to_value(response)?, batch.delays));
    }
    let report = app
        .deps
        .sweep_refunds(
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(300),
            100,
        )
        .await
        .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(
        requeued = report.requeued,
        abandoned = report.abandoned,
        "refund outbox sweep"
    );
    Ok((
        serde_json::json!({ "requeued": report.requeued, "abandoned": report.abandoned }),
        Vec::new(),
    ))
}

/// Runs the refund worker: settings, logging, clients once, then SQS batches (with
/// `ReportBatchItemFailures`) and the scheduled outbox sweep.
pub async fn run_refund_worker() -> Result<(), Error> {
    let (aws, settings) = start(Function::RefundWorker).await?;
    let app = Arc::new(payments_api::wiring::live_app(&settings, &aws).await?);
    tracing::info!(function = Function::RefundWorker.crate_name(), "initialised");
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let app = Arc::clone(&app);
            async move {
                let (response, delays) = handle_worker_event(app.as_ref(), event.payload).await?;
                if let payments_api::wiring::AnyQueue::Sqs(queue) = &app.deps.queue {
                    for (handle, delay) in delays {
                        let handle = payments_sqs::ReceiptHandle::new(handle);
                        if let Err(e) = queue.change_visibility(&handle, delay).await {
                            tracing::warn!(error = %e, "could not delay a refund message");
                        }
                    }
                }
                Ok::<_, Error>(response)
            }
        },
    ))
    .await
}
