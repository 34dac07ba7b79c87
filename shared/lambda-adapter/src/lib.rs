//! The one place outside the function crates that knows Lambda's HTTP event types.
//!
//! An HTTP function's `main` is one line: [`run_http`] with its [`Function`]'s number. That loads the function's
//! settings (naming every missing variable at once), initialises logging the way Lambda's log controls
//! say, builds every client once, and serves API Gateway HTTP API (payload 2.0) events by converting
//! them to the Lambda-agnostic [`ApiRequest`] that [`payments_api::app::App::handle`] answers. The
//! local stack and the tests call the same `handle` without any of this. The functions whose events
//! are JSON (the refund worker, reporting, the safety net) start the same way through [`serve`], which
//! hands each event to their handler.

// The functions' start-up and run loops nest the SDK's and the use cases' futures deeper than the
// compiler's default type-depth limit allows when the workspace's features are unified.
#![recursion_limit = "256"]

use std::sync::Arc;
use std::time::Instant;

pub mod safety_net;
pub mod tls;
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

/// The invocation's deadline, from the Lambda context that `lambda_http` puts in the request's
/// extensions: the context gives it in Unix milliseconds, the clock the use cases read. `None` outside
/// Lambda (no context) or for a deadline that does not fit.
pub fn invocation_deadline(request: &Request) -> Option<payments_domain::ids::Timestamp> {
    use lambda_http::RequestExt;
    let context = request.lambda_context_ref()?;
    i64::try_from(context.deadline)
        .ok()
        .filter(|ms| *ms > 0)
        .map(payments_domain::ids::Timestamp::from_unix_millis)
}

/// Converts the API's response into a Lambda HTTP response.
pub fn to_lambda_response(response: ApiResponse) -> Response<Body> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::Text(body))
}

/// How long each step of a cold start took, in microseconds. [`StartTimings::log_initialised`] puts them
/// on the function's "initialised" log line so cold starts can be broken down from the logs alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartTimings {
    /// Installing the log subscriber.
    pub logging_us: u64,
    /// Loading the AWS configuration (region, credentials chain, endpoints).
    pub aws_config_us: u64,
    /// Layering the secrets (each `<NAME>_SECRET_ARN`) over the environment, including the Secrets Manager
    /// client.
    pub secrets_us: u64,
    /// Reading and checking the function's settings.
    pub settings_us: u64,
    /// Building the clients (store, Glase with its connection warm-up, queue, push): the wiring.
    pub clients_us: u64,
}

impl StartTimings {
    /// The sum of every step.
    pub fn total_us(&self) -> u64 {
        self.logging_us
            .saturating_add(self.aws_config_us)
            .saturating_add(self.secrets_us)
            .saturating_add(self.settings_us)
            .saturating_add(self.clients_us)
    }

    /// Logs the "initialised" line of `function` with every step as a numeric field.
    pub fn log_initialised(&self, function: Function) {
        tracing::info!(
            function = function.crate_name(),
            logging_us = self.logging_us,
            aws_config_us = self.aws_config_us,
            secrets_us = self.secrets_us,
            settings_us = self.settings_us,
            clients_us = self.clients_us,
            init_total_us = self.total_us(),
            "initialised"
        );
    }
}

/// Microseconds since `since`, saturating.
pub fn micros_since(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The SDK's configuration loader: the HTTP client of [`tls`], and in Lambda (where the runtime sets
/// `AWS_REGION` and the role's credentials as environment variables) the region and credentials from the
/// environment directly, without building the default provider chains (profile files, IMDS, SSO, STS)
/// that could never answer there. Elsewhere (a laptop without those variables) the default chains.
fn aws_config_loader(env: impl Fn(&str) -> Option<String>) -> aws_config::ConfigLoader {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(tls::sdk_http_client());
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(region) = set("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    if set("AWS_ACCESS_KEY_ID").is_some() && set("AWS_SECRET_ACCESS_KEY").is_some() {
        loader = loader
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader
}

/// The AWS configuration and the function's settings: the environment, with the secrets named by its
/// `<NAME>_SECRET_ARN` variables (fetched once, here) layered over it; and how long each step took.
async fn start(function: Function) -> Result<(aws_config::SdkConfig, Settings, StartTimings), Error> {
    let mut timings = StartTimings::default();
    let step = Instant::now();
    telemetry::init(&LogSettings::from_env(&ProcessEnv, LogFormat::Json));
    timings.logging_us = micros_since(step);
    let step = Instant::now();
    // Every client, the Secrets Manager one of the next step included, gets the SDK timeouts.
    let timeouts = payments_api::settings::SdkTimeouts::load(&ProcessEnv)?;
    let aws = aws_config_loader(|name| std::env::var(name).ok())
        .timeout_config(timeouts.config())
        .load()
        .await;
    timings.aws_config_us = micros_since(step);
    let step = Instant::now();
    let fetcher = payments_api::secrets::SecretsManager(aws.clone());
    let env = payments_api::secrets::load(ProcessEnv, &fetcher).await?;
    timings.secrets_us = micros_since(step);
    let step = Instant::now();
    let settings = Settings::load(function, &env)?;
    timings.settings_us = micros_since(step);
    Ok((aws, settings, timings))
}

/// Builds the live application of `settings` and records how long that took in `timings`.
async fn live_app(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    timings: &mut StartTimings,
) -> Result<payments_api::wiring::LiveApp, Error> {
    let step = Instant::now();
    let app = payments_api::wiring::live_app(settings, aws).await?;
    timings.clients_us = micros_since(step);
    Ok(app)
}

/// The start-up every function with the live application shares: settings (secrets included),
/// logging, every client once, and the "initialised" line with the time each step took.
async fn started(function: Function) -> Result<(Arc<payments_api::wiring::LiveApp>, Arc<Settings>), Error> {
    let (aws, settings, mut timings) = start(function).await?;
    let app = Arc::new(live_app(&settings, &aws, &mut timings).await?);
    timings.log_initialised(function);
    Ok((app, Arc::new(settings)))
}

/// Runs a function whose events are JSON for `lambda_runtime` (the refund worker, reporting, the safety
/// net): the start-up every function shares, then `handler` for each event with the application and the settings.
pub async fn serve<F, Fut>(function: Function, handler: F) -> Result<(), Error>
where
    F: Fn(
        Arc<payments_api::wiring::LiveApp>,
        Arc<Settings>,
        lambda_runtime::LambdaEvent<serde_json::Value>,
    ) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, Error>>,
{
    let (app, settings) = started(function).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            handler(Arc::clone(&app), Arc::clone(&settings), event)
        },
    ))
    .await
}

/// Runs the HTTP function numbered `FUNCTION` (`Function::X as u8`): settings, logging, clients once,
/// then the Lambda runtime loop. The requests are answered by [`App::handle_as`] for that function, so
/// the binary holds that function's handlers only.
///
/// [`App::handle_as`]: payments_api::app::App::handle_as
pub async fn run_http<const FUNCTION: u8>() -> Result<(), Error> {
    let function = const {
        match Function::from_number(FUNCTION) {
            Some(function) => function,
            None => panic!("run_http takes a function's number, `Function::X as u8`"),
        }
    };
    let (app, _) = started(function).await?;
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move {
            let deadline = invocation_deadline(&request);
            let response = app.handle_as::<FUNCTION>(to_api_request(request), deadline).await;
            Ok::<_, Error>(to_lambda_response(response))
        }
    }))
    .await
}

/// The refund worker's event: an SQS batch (from the refund queue), or anything else (the schedule that
/// runs the outbox sweep). Answers the response for Lambda and the visibility delays to apply. The batch
/// has no time limit: see [`handle_worker_event_within`].
pub async fn handle_worker_event<P>(
    app: &payments_api::app::App<P>,
    event: serde_json::Value,
) -> Result<(serde_json::Value, Vec<(String, std::time::Duration)>), Error>
where
    P: payments_domain::ports::Ports,
{
    handle_worker_event_within(app, event, None).await
}

/// [`handle_worker_event`] within `time`: a batch takes no further message once the time left until the
/// invocation's deadline cannot cover another one (the rest are answered as batch item failures, so the
/// queue delivers them again).
pub async fn handle_worker_event_within<P>(
    app: &payments_api::app::App<P>,
    event: serde_json::Value,
    time: Option<payments_api::app::BatchTime>,
) -> Result<(serde_json::Value, Vec<(String, std::time::Duration)>), Error>
where
    P: payments_domain::ports::Ports,
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
        let batch = app.process_refund_messages_within(&messages, time).await;
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
        .sweep_refund_outbox()
        .await
        .map_err(|e| Error::from(e.to_string()))?;
    Ok((
        serde_json::json!({ "requeued": report.requeued, "abandoned": report.abandoned }),
        Vec::new(),
    ))
}

/// Runs the refund worker: settings, logging, clients once, then SQS batches (with
/// `ReportBatchItemFailures`) within each invocation's deadline, and the scheduled outbox sweep.
pub async fn run_refund_worker() -> Result<(), Error> {
    serve(Function::RefundWorker, |app, settings, event| async move {
        // The context's deadline is in Unix milliseconds, the clock the use cases read.
        let time = i64::try_from(event.context.deadline)
            .ok()
            .map(|ms| payments_api::app::BatchTime {
                deadline: payments_domain::ids::Timestamp::from_unix_millis(ms),
                per_message: settings.refund_message_budget(),
            });
        let (response, delays) = handle_worker_event_within(app.as_ref(), event.payload, time).await?;
        app.apply_redelivery_delays(&delays).await;
        Ok(response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use payments_api::testing::CapturedLines;

    use super::*;

    #[tokio::test]
    async fn in_lambda_the_region_comes_from_the_environment() {
        let env = |name: &str| match name {
            "AWS_REGION" => Some("eu-north-1".to_owned()),
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("not-a-real-secret".to_owned()),
            _ => None,
        };
        let config = aws_config_loader(env).load().await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-north-1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
    }

    #[test]
    fn the_initialised_line_carries_every_start_up_step_in_microseconds() {
        let timings = StartTimings {
            logging_us: 1,
            aws_config_us: 20,
            secrets_us: 300,
            settings_us: 4_000,
            clients_us: 50_000,
        };
        assert_eq!(timings.total_us(), 54_321);
        let captured = CapturedLines::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || timings.log_initialised(Function::Notification));
        let text = captured.text();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "initialised");
        assert_eq!(line["function"], "notification");
        assert_eq!(line["logging_us"], 1);
        assert_eq!(line["aws_config_us"], 20);
        assert_eq!(line["secrets_us"], 300);
        assert_eq!(line["settings_us"], 4_000);
        assert_eq!(line["clients_us"], 50_000);
        assert_eq!(line["init_total_us"], 54_321);
    }

    #[test]
    fn the_invocation_deadline_comes_from_the_lambda_context_of_the_request() {
        use lambda_http::RequestExt;
        let mut context = lambda_runtime::Context::default();
        context.deadline = 1_795_338_010_000;
        let request = Request::new(Body::Empty).with_lambda_context(context);
        assert_eq!(
            invocation_deadline(&request),
            Some(payments_domain::ids::Timestamp::from_unix_millis(
                1_795_338_010_000
            ))
        );
        assert_eq!(invocation_deadline(&Request::new(Body::Empty)), None);
    }

    #[test]
    fn a_step_time_saturates_instead_of_overflowing() {
        let timings = StartTimings {
            logging_us: u64::MAX,
            clients_us: 1,
            ..StartTimings::default()
        };
        assert_eq!(timings.total_us(), u64::MAX);
    }
}
