//! WebSocket connections: a browser listening to one payment's status.
//!
//! A connection is accepted only with the payment's client secret, and stored with an expiry so the
//! store's TTL removes connections whose close was never seen. A browser asks for the current status
//! right after connecting (the payment may have finished before the socket opened); every later change
//! reaches it through [`Deps::push_status`].

use std::time::Duration;

use crate::ids::PaymentId;
use crate::ports::{
    Clock, ConnectionId, GlaseGateway, IdGenerator, PaymentStore, PushConnection, RefundQueue, StatusPush,
    StatusUpdate,
};

use super::{Deps, Reader, UseCaseError};

impl<S, G, Q, P, C, I> Deps<S, G, Q, P, C, I>
where
    S: PaymentStore,
    G: GlaseGateway,
    Q: RefundQueue,
    P: StatusPush,
    C: Clock,
    I: IdGenerator,
{
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
            .load_for(payment_id, Reader::ClientSecret(client_secret))
            .await?;
        self.store
            .put_connection(&PushConnection {
                connection_id: connection_id.clone(),
                payment_id: payment_id.clone(),
                expires_at: self.clock.now().plus(lifetime),
            })
            .await?;
        Ok(StatusUpdate {
            payment_id: payment_id.clone(),
            status: payment.status(),
            ers_reference: payment.ers_reference().cloned(),
        })
    }

    /// The current status of a payment a connection listens to, from the store.
    pub async fn current_status(&self, payment_id: &PaymentId) -> Result<StatusUpdate, UseCaseError> {
        let payment = self
            .store
            .get_payment(payment_id)
            .await?
            .ok_or(UseCaseError::NotFound("payment"))?;
        Ok(StatusUpdate {
            payment_id: payment_id.clone(),
            status: payment.status(),
            ers_reference: payment.ers_reference().cloned(),
        })
    }

    /// Forgets a closed connection (best effort: TTL removes it anyway).
    pub async fn disconnect(&self, connection_id: &ConnectionId) -> Result<(), UseCaseError> {
        Ok(self.store.delete_connection(connection_id).await?)
    }
}
