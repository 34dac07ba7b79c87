//! The WebSocket API's routes, independent of Lambda's event types: `$connect`, `sync` and `$disconnect`.
//!
//! A browser opens `wss://…/live?payment_id=…&client_secret=…`. `$connect` accepts the connection only
//! with the payment's client secret and stores it (with a two-hour TTL, API Gateway's longest connection
//! life); any other answer than 200 makes API Gateway refuse the socket. Right after opening, the browser
//! sends `{"action":"sync","payment_id":"…"}` and receives the current status as the route's response:
//! this closes the race where the payment finished before the socket was open. Later changes arrive by
//! PostToConnection from the functions that change the payment. `$disconnect` forgets the connection
//! (best effort: the TTL removes it anyway).

use std::time::Duration;

use payments_domain::ids::PaymentId;
use payments_domain::ports::{Clock, ConnectionId, PaymentStore, PortTypes};
use payments_domain::usecases::{Deps, UseCaseError};
use serde::Deserialize;

/// How long a connection item lives: API Gateway closes WebSocket connections after two hours.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// One WebSocket event, as API Gateway describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WsEvent {
    /// `$connect`, `$disconnect`, `sync`, or `$default` for anything else.
    pub route_key: String,
    /// API Gateway's connection id.
    pub connection_id: String,
    /// The query parameters of the connect request.
    pub query: Vec<(String, String)>,
    /// The message body (for `sync` and `$default`).
    pub body: Option<String>,
}

impl WsEvent {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to a WebSocket event: for `$connect` the status decides whether the socket opens; for
/// `sync` the body is sent to the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsAnswer {
    /// An HTTP status.
    pub status: u16,
    /// The message for the browser, if any.
    pub body: Option<String>,
}

impl WsAnswer {
    fn ok(body: Option<String>) -> Self {
        WsAnswer { status: 200, body }
    }

    fn error(status: u16, code: &str) -> Self {
        WsAnswer {
            status,
            body: Some(serde_json::json!({ "type": "error", "error": code }).to_string()),
        }
    }
}

#[derive(Deserialize)]
struct SyncMessage {
    payment_id: String,
}

/// Answers one WebSocket event. Only the store and the clock are used, so the WebSocket function has no
/// Glase credentials at all.
pub async fn handle<P>(deps: &Deps<P>, event: &WsEvent) -> WsAnswer
where
    P: PortTypes<Store: PaymentStore, Clock: Clock>,
{
    let Ok(connection) = ConnectionId::parse(&event.connection_id) else {
        return WsAnswer::error(400, "bad_connection_id");
    };
    match event.route_key.as_str() {
        "$connect" => {
            let (Some(payment), Some(secret)) = (event.query("payment_id"), event.query("client_secret"))
            else {
                return WsAnswer::error(401, "payment_id_and_client_secret_required");
            };
            // An unknown payment and a wrong secret look the same.
            let Ok(payment_id) = PaymentId::parse(payment) else {
                return WsAnswer::error(403, "refused");
            };
            match deps
                .connect(&payment_id, secret, &connection, CONNECTION_LIFETIME)
                .await
            {
                Ok(_) => {
                    tracing::info!(payment_id = %payment_id, "websocket connected");
                    WsAnswer::ok(None)
                }
                Err(UseCaseError::NotFound(_)) => WsAnswer::error(403, "refused"),
                Err(e) => {
                    tracing::warn!(error = %e, "websocket connect failed");
                    WsAnswer::error(503, "unavailable")
                }
            }
        }
        "$disconnect" => {
            if let Err(e) = deps.disconnect(&connection).await {
                tracing::warn!(error = %e, "could not forget a closed connection; its TTL will");
            }
            WsAnswer::ok(None)
        }
        "sync" => {
            let message: Option<SyncMessage> =
                event.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
            let Some(payment_id) = message.and_then(|m| PaymentId::parse(&m.payment_id).ok()) else {
                return WsAnswer::error(400, "sync_needs_payment_id");
            };
            match deps.sync(&connection, &payment_id).await {
                Ok(update) => WsAnswer::ok(Some(payments_push::message::encode(&update))),
                Err(UseCaseError::NotFound(_)) => WsAnswer::error(404, "not_found"),
                Err(e) => {
                    tracing::warn!(error = %e, "websocket sync failed");
                    WsAnswer::error(503, "unavailable")
                }
            }
        }
        _ => WsAnswer::error(400, "unknown_action"),
    }
}
