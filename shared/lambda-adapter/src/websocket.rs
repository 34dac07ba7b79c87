//! The WebSocket function: API Gateway WebSocket events (`$connect`, `sync`, `$disconnect`) in the
//! `aws_lambda_events` types, answered by [`payments_api::websocket::handle`]. `lambda_http` does not
//! take WebSocket events, so this runs on `lambda_runtime` directly.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use payments_api::settings::Function;
use payments_api::websocket::{WsAnswer, WsEvent};

/// The API's view of an API Gateway WebSocket event.
pub fn to_ws_event(event: &ApiGatewayWebsocketProxyRequest) -> WsEvent {
    let context = &event.request_context;
    WsEvent {
        route_key: context.route_key.clone().unwrap_or_default(),
        connection_id: context.connection_id.clone().unwrap_or_default(),
        query: event
            .query_string_parameters
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        body: event.body.clone(),
    }
}

/// The Lambda answer of a [`WsAnswer`]: for `sync`, API Gateway sends the body to the browser (the route
/// has a `$default` route response).
pub fn to_ws_response(answer: WsAnswer) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(answer.status);
    response.body = answer.body.map(Body::Text);
    response
}

/// Runs the WebSocket function: settings (only the table), logging, the store client once, then events.
pub async fn run_websocket() -> Result<(), Error> {
    let (aws, settings, mut timings) = crate::start(Function::WebSocket).await?;
    let step = std::time::Instant::now();
    let deps = Arc::new(payments_api::wiring::connection_deps(&settings, &aws));
    timings.clients_us = crate::micros_since(step);
    timings.log_initialised(Function::WebSocket);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let deps = Arc::clone(&deps);
            async move {
                let answer =
                    payments_api::websocket::handle(deps.as_ref(), &to_ws_event(&event.payload)).await;
                Ok::<_, Error>(to_ws_response(answer))
            }
        },
    ))
    .await
}
