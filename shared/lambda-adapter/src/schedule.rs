//! The reporting function's events: API Gateway HTTP API (payload 2.0) requests for `POST /v1/reports`
//! and `GET /v1/reports/{id}`, and the schedule's input `{"job":"close-period"}` (EventBridge Scheduler
//! sends the target's Input JSON as the event). One handler tells them apart by the `job` field.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use lambda_http::Error;
use payments_api::app::App;
use payments_api::reports::ScheduledJob;
use payments_api::settings::Function;
use payments_domain::ports::Ports;

use crate::to_api_request;

/// Answers one event of the reporting function: a scheduled job runs and answers its report (an error,
/// also a period whose reports are still pending, fails the invocation so Lambda runs the event again;
/// the retry resumes the same period), anything else is
/// read as an HTTP API request and answered like every HTTP function does.
pub async fn handle_reporting_event<P>(
    app: &App<P>,
    event: serde_json::Value,
) -> Result<serde_json::Value, Error>
where
    P: Ports,
{
    if event.get("job").is_some() {
        let job: ScheduledJob = serde_json::from_value(event)?;
        let report = app.run_scheduled_job(&job).await.map_err(|e| {
            tracing::error!(
                status = e.status.as_u16(),
                code = e.code,
                "scheduled period close failed"
            );
            Error::from(format!("scheduled period close failed: {}", e.code))
        })?;
        return Ok(serde_json::to_value(report)?);
    }
    let request = lambda_http::request::from_str(&event.to_string())?;
    let response = app
        .handle_as::<{ Function::Reporting as u8 }>(to_api_request(request), None)
        .await;
    let (parts, body) = response.into_parts();
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = parts.headers;
    answer.body = Some(Body::Text(body));
    Ok(serde_json::to_value(answer)?)
}

/// The reporting function's `main`: start-up as every function, then [`handle_reporting_event`].
pub async fn run_reporting() -> Result<(), Error> {
    crate::serve(Function::Reporting, |app, _, event| async move {
        handle_reporting_event(app.as_ref(), event.payload).await
    })
    .await
}
