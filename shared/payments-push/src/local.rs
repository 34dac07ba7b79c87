//! The in-process hub of the local stack: each open WebSocket registers a channel under its connection
//! id; a push sends the message to that channel. A closed socket's channel is gone, which the hub
//! reports as `PushError::Gone`, exactly as API Gateway answers 410 for a closed connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use payments_domain::ports::{ConnectionId, PushError, StatusPush, StatusUpdate};
use tokio::sync::mpsc;

use crate::message;

/// Connection id → the socket's outgoing channel. Cheap to clone; clones share the table.
#[derive(Clone, Debug, Default)]
pub struct LocalHub {
    connections: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<String>>>>,
}

/// The receiving end of one registered connection. Dropping it closes the connection for the hub.
#[derive(Debug)]
pub struct Subscription {
    /// The messages pushed to this connection, as JSON text.
    pub messages: mpsc::UnboundedReceiver<String>,
}

impl LocalHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `connection`; replaces an earlier registration under the same id.
    pub fn register(&self, connection: &ConnectionId) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut map) = self.connections.lock() {
            map.insert(connection.as_str().to_owned(), tx);
        }
        Subscription { messages: rx }
    }

    /// Forgets `connection`.
    pub fn unregister(&self, connection: &ConnectionId) {
        if let Ok(mut map) = self.connections.lock() {
            map.remove(connection.as_str());
        }
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.connections.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no connection is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StatusPush for LocalHub {
    async fn push(&self, connection: &ConnectionId, update: &StatusUpdate) -> Result<(), PushError> {
        let sender = self
            .connections
            .lock()
            .map_err(|_| PushError::Unavailable {
                reason: "hub lock poisoned".into(),
            })?
            .get(connection.as_str())
            .cloned();
        match sender {
            Some(tx) if tx.send(message::encode(update)).is_ok() => Ok(()),
            Some(_) => {
                self.unregister(connection);
                Err(PushError::Gone)
            }
            None => Err(PushError::Gone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_domain::ids::PaymentId;
    use payments_domain::payment::PaymentStatus;

    fn update() -> StatusUpdate {
        StatusUpdate {
            payment_id: PaymentId::from_random([2; 16]),
            status: PaymentStatus::Paid,
            ers_reference: None,
        }
    }

    #[tokio::test]
    async fn a_registered_connection_receives_the_message() {
        let hub = LocalHub::new();
        let id = ConnectionId::parse("conn-1").unwrap();
        let mut sub = hub.register(&id);
        hub.push(&id, &update()).await.unwrap();
        let text = sub.messages.recv().await.unwrap();
        assert!(text.contains("\"status\":\"paid\""));
    }

    #[tokio::test]
    async fn a_closed_or_unknown_connection_is_gone_and_forgotten() {
        let hub = LocalHub::new();
        let id = ConnectionId::parse("conn-2").unwrap();
        drop(hub.register(&id));
        assert_eq!(hub.push(&id, &update()).await, Err(PushError::Gone));
        assert!(hub.is_empty());
        assert_eq!(
            hub.push(&ConnectionId::parse("never").unwrap(), &update()).await,
            Err(PushError::Gone)
        );
    }
}
