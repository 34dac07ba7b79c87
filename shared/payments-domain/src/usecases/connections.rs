//! WebSocket connections: a browser listening to one payment's status.
//!
//! A connection is accepted only with the payment's client secret, and stored with an expiry so the
//! store's TTL removes connections whose close was never seen. A browser asks for the current status
//! right after connecting (the payment may have finished before the socket opened); every later change
//! reaches it through [`Deps::push_status`].
//!
//! These use cases need only the store and the clock, so the WebSocket function builds its [`Deps`] with
//! no Glase client, queue or push client at all (`()` in their places).

use std::time::Duration;

use crate::ids::PaymentId;
use crate::payment::Payment;
use crate::ports::{Clock, ConnectionId, PaymentStore, PortTypes, PushConnection, StatusUpdate};

use super::{Deps, UseCaseError};

fn update_of(payment: &Payment) -> StatusUpdate {
    StatusUpdate {
        payment_id: payment.id().clone(),
        status: payment.status(),
        ers_reference: payment.ers_reference().cloned(),
    }
}

impl<P: PortTypes<Store: PaymentStore, Clock: Clock>> Deps<P> {
    /// Accepts a connection for `payment_id` if `client_secret` is the payment's, and remembers it for
    /// `lifetime`. A wrong secret or unknown payment is `NotFound` and stores nothing.
    pub async fn connect(
        &self,
        payment_id: &PaymentId,
        client_secret: &str,
        connection_id: &ConnectionId,
        lifetime: Duration,
    ) -> Result<StatusUpdate, UseCaseError> {
        let payment = self
            .store
            .get_payment(payment_id)
            .await?
            .filter(|p| p.client_secret_matches(client_secret))
            .ok_or(UseCaseError::NotFound("payment"))?;
        self.store
            .put_connection(&PushConnection {
                connection_id: connection_id.clone(),
                payment_id: payment_id.clone(),
                expires_at: self.clock.now().plus(lifetime),
            })
            .await?;
        Ok(update_of(&payment))
    }

    /// The current status of a payment a connection listens to, from the store.
    pub async fn current_status(&self, payment_id: &PaymentId) -> Result<StatusUpdate, UseCaseError> {
        let payment = self.stored_payment(payment_id).await?;
        Ok(update_of(&payment))
    }

    /// The current status for a connection that asks for it (the `sync` message): answered only when
    /// `connection_id` was accepted for `payment_id` by [`Deps::connect`] and has not expired, so a
    /// connection cannot read another payment's status by naming it. Anything else is `NotFound`.
    ///
    /// The connection is authorised by a consistent read of its own item, never through the index of a
    /// payment's connections: that index lags, and a browser syncs right after connecting.
    pub async fn sync(
        &self,
        connection_id: &ConnectionId,
        payment_id: &PaymentId,
    ) -> Result<StatusUpdate, UseCaseError> {
        let now = self.clock.now();
        match self.store.connection(connection_id).await? {
            Some(c) if &c.payment_id == payment_id && c.expires_at > now => {}
            _ => return Err(UseCaseError::NotFound("connection")),
        }
        self.current_status(payment_id).await
    }

    /// Forgets a closed connection (best effort: TTL removes it anyway).
    pub async fn disconnect(&self, connection_id: &ConnectionId) -> Result<(), UseCaseError> {
        Ok(self.store.delete_connection(connection_id).await?)
    }
}
