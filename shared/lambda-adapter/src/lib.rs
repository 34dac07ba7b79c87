//! The one place outside the function crates that knows Lambda's HTTP event types.
//!
//! An HTTP function's `main` is one line: [`run_http`] with its [`Function`]. That loads the function's
//! settings (naming every missing variable at once), initialises logging the way Lambda's log controls
//! say, builds every client once, and serves API Gateway HTTP API (payload 2.0) events by converting
//! them to the Lambda-agnostic [`ApiRequest`] that [`payments_api::app::App::handle`] answers. The
//! local stack and the tests call the same `handle` without any of this.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::{Body, Error, Request, Response, service_fn};
use payments_api::app::{ApiRequest, ApiResponse};
use payments_api::config::ProcessEnv;
use payments_api::settings::{Function, Settings};
use payments_api::telemetry::{self, LogFormat, LogSettings};

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

/// Runs an HTTP function: settings, logging, clients once, then the Lambda runtime loop.
pub async fn run_http(function: Function) -> Result<(), Error> {
    telemetry::init(&LogSettings::from_env(&ProcessEnv, LogFormat::Json));
    let settings = Settings::load(function, &ProcessEnv)?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let app = Arc::new(payments_api::wiring::live_app(&settings, &aws).await?);
    tracing::info!(function = function.crate_name(), "initialised");
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(to_lambda_response(app.handle(to_api_request(request)).await)) }
    }))
    .await
}
