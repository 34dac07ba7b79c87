//! The local stack's WebSocket endpoint, `GET /v1/ws?payment_id=…&client_secret=…`.
//!
//! It plays API Gateway's WebSocket API: the connect step is authorised by the same use case (`connect`)
//! the AWS `$connect` route uses, status changes arrive through the in-process hub that implements the
//! same push port, and `{"action":"sync"}` answers the current status.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_domain::ids::PaymentId;
use payments_domain::ports::ConnectionId;
use payments_domain::usecases::UseCaseError;
use payments_push::{LocalHub, message};
use serde::Deserialize;

/// What the WebSocket endpoint needs.
#[derive(Clone)]
pub struct WsState {
    /// The application.
    pub app: Arc<crate::LocalApp>,
    /// The sockets.
    pub hub: LocalHub,
}

/// The query of the upgrade request.
#[derive(Deserialize)]
pub struct WsQuery {
    payment_id: String,
    client_secret: String,
}

/// Authorises and upgrades.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    Query(q): Query<WsQuery>,
    State(state): State<WsState>,
) -> Response {
    let Ok(payment_id) = PaymentId::parse(&q.payment_id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let connection = match ConnectionId::parse(&format!("local-{:032x}", rand::random::<u128>())) {
        Ok(c) => c,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match state
        .app
        .deps
        .connect(
            &payment_id,
            &q.client_secret,
            &connection,
            payments_api::websocket::CONNECTION_LIFETIME,
        )
        .await
    {
        Ok(_) => {}
        Err(UseCaseError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
    ws.on_upgrade(move |socket| serve(socket, state, connection, payment_id))
}

async fn serve(mut socket: WebSocket, state: WsState, connection: ConnectionId, payment_id: PaymentId) {
    let mut subscription = state.hub.register(&connection);
    loop {
        tokio::select! {
            pushed = subscription.messages.recv() => match pushed {
                Some(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) if text.contains("sync") => {
                    if let Ok(update) = state.app.deps.sync(&connection, &payment_id).await
                        && socket.send(Message::Text(message::encode(&update).into())).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    state.hub.unregister(&connection);
    let _ = state.app.deps.disconnect(&connection).await;
}
