//! The one axum adapter for the app: an HTTP request becomes an [`ApiRequest`] (a body over
//! [`MAX_BODY_BYTES`] is answered 413 without reaching the app), and an [`ApiResponse`] becomes an axum
//! response. The local stack, the benchmarks and the tests serve the app through it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;

use payments_domain::ports::Ports;

use crate::app::{ApiRequest, ApiResponse, App, MAX_BODY_BYTES, error_response};
use crate::error::ApiError;

/// The request with its body read, or the 413 answer when the body is over [`MAX_BODY_BYTES`].
pub async fn api_request(request: Request) -> Result<ApiRequest, Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => Ok(http::Request::from_parts(parts, bytes)),
        Err(_) => Err(response(error_response(&ApiError::too_large(MAX_BODY_BYTES)))),
    }
}

/// The app's answer as an axum response.
pub fn response(answer: ApiResponse) -> Response {
    answer.map(Body::from)
}

/// A router answering every request with `handle` (usually `App::handle` of a shared app).
pub fn router<F, Fut>(handle: F) -> Router
where
    F: Fn(ApiRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ApiResponse> + Send + 'static,
{
    Router::new().fallback(move |request: Request| {
        let handle = handle.clone();
        async move {
            match api_request(request).await {
                Ok(request) => response(handle(request).await),
                Err(refused) => refused,
            }
        }
    })
}

/// A router answering every request with `app` (see [`router`]).
pub fn app_router<P: Ports + 'static>(app: Arc<App<P>>) -> Router {
    router(move |request| {
        let app = Arc::clone(&app);
        async move { app.handle(request).await }
    })
}
