//! The axum adapter (`payments_api::serve`) over HTTP on loopback: a body over `MAX_BODY_BYTES` is
//! answered 413 however large it is (never read as an empty one), a body at the limit reaches the app.

use std::sync::Arc;

use payments_api::app::MAX_BODY_BYTES;
use payments_api::testing::fake_app;

const KEY: &str = "sk_test_serve_key";

/// The base URL of a server answering with a fresh fake app.
async fn serve() -> String {
    let router = payments_api::serve::app_router(Arc::new(fake_app(KEY)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    base
}

async fn post(base: &str, body: String) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/v1/payments"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_body_over_the_limit_is_answered_413() {
    let base = serve().await;
    let (status, body) = post(&base, " ".repeat(MAX_BODY_BYTES + 1)).await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test]
async fn a_body_of_more_than_a_mebibyte_is_answered_413_not_read_as_empty() {
    let base = serve().await;
    let (status, body) = post(&base, " ".repeat((1 << 20) + 1)).await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test]
async fn a_body_at_the_limit_reaches_the_app() {
    let base = serve().await;
    let order = r#"{"order_id":"S-1","currency":"SEK","total":2500}"#;
    let padded = format!("{order}{}", " ".repeat(MAX_BODY_BYTES - order.len()));
    let (status, body) = post(&base, padded).await;
    assert_eq!(status, 201, "{body}");
}
