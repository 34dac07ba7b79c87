//! The push adapter over API Gateway's management API (`PostToConnection`).

use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use payments_domain::ports::{ConnectionId, PushError, StatusPush, StatusUpdate};

use crate::message;

/// Pushes to the connections of one WebSocket API stage. Build once per cold start.
#[derive(Clone, Debug)]
pub struct ApiGatewayPush {
    client: Client,
}

impl ApiGatewayPush {
    /// An adapter over a management API client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter for the stage whose management endpoint is `endpoint`
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`), with the rest of the AWS
    /// configuration (region, credentials) from `config`.
    pub fn for_endpoint(config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(endpoint)
            .build();
        Self::new(Client::from_conf(conf))
    }
}

fn classify(error: SdkError<PostToConnectionError>) -> PushError {
    match &error {
        SdkError::ServiceError(e) if matches!(e.err(), PostToConnectionError::GoneException(_)) => {
            PushError::Gone
        }
        SdkError::ServiceError(e) => PushError::Unavailable {
            reason: format!("management API refused: {}", e.err()),
        },
        other => PushError::Unavailable {
            reason: format!("management API unreachable: {other}"),
        },
    }
}

impl StatusPush for ApiGatewayPush {
    async fn push(&self, connection: &ConnectionId, update: &StatusUpdate) -> Result<(), PushError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection.as_str())
            .data(Blob::new(message::encode(update)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = classify(e);
                tracing::debug!(connection = connection.as_str(), ?error, "push failed");
                Err(error)
            }
        }
    }
}
