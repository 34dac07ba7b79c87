//! The API Gateway push adapter against a local stand-in of the management API on loopback: the path and
//! body of PostToConnection, `410 Gone` as `PushError::Gone`, other failures as `Unavailable`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use payments_domain::ids::{ErsReference, PaymentId};
use payments_domain::payment::PaymentStatus;
use payments_domain::ports::{ConnectionId, PushError, StatusPush, StatusUpdate};
use payments_push::ApiGatewayPush;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String)>>>);

async fn post_to_connection(
    State(seen): State<Seen>,
    Path(connection): Path<String>,
    body: Bytes,
) -> impl IntoResponse {
    seen.0
        .lock()
        .unwrap()
        .push((connection.clone(), String::from_utf8_lossy(&body).into_owned()));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    match connection.as_str() {
        "gone" => {
            headers.insert("x-amzn-errortype", "GoneException".parse().unwrap());
            (StatusCode::GONE, headers, "{\"message\":\"gone\"}")
        }
        "broken" => {
            headers.insert("x-amzn-errortype", "InternalServerError".parse().unwrap());
            (StatusCode::BAD_REQUEST, headers, "{\"message\":\"no\"}")
        }
        _ => (StatusCode::OK, headers, ""),
    }
}

async fn stand_in() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/prod/@connections/{connection}", post(post_to_connection))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/prod"), seen)
}

async fn adapter(endpoint: &str) -> ApiGatewayPush {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    ApiGatewayPush::for_endpoint(&config, endpoint)
}

fn paid_update() -> StatusUpdate {
    StatusUpdate {
        payment_id: PaymentId::from_random([5; 16]),
        status: PaymentStatus::Paid,
        ers_reference: Some(ErsReference::parse("2026112209000000001000001").unwrap()),
    }
}

/// Pushes the paid update to `connection` through an adapter for `endpoint`.
async fn push_paid(endpoint: &str, connection: &str) -> Result<(), PushError> {
    let push = adapter(endpoint).await;
    push.push(&ConnectionId::parse(connection).unwrap(), &paid_update())
        .await
}

#[tokio::test]
async fn a_push_posts_the_status_message_to_the_connection() {
    let (endpoint, seen) = stand_in().await;
    push_paid(&endpoint, "abc123=").await.unwrap();
    let calls = seen.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "abc123=");
    let body: serde_json::Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["status"], "paid");
    assert_eq!(body["ers_reference"], "2026112209000000001000001");
}

#[tokio::test]
async fn a_gone_connection_is_reported_as_gone() {
    let (endpoint, _) = stand_in().await;
    let result = push_paid(&endpoint, "gone").await;
    assert_eq!(result, Err(PushError::Gone));
}

#[tokio::test]
async fn other_failures_are_unavailable_not_gone() {
    let (endpoint, _) = stand_in().await;
    let result = push_paid(&endpoint, "broken").await;
    assert!(matches!(result, Err(PushError::Unavailable { .. })), "{result:?}");

    // Nothing listening at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = push_paid(&format!("http://127.0.0.1:{port}/prod"), "x").await;
    assert!(matches!(result, Err(PushError::Unavailable { .. })), "{result:?}");
}
