//! What a receive hands out, the same for SQS and for the in-process queue: the message id, the receipt
//! handle that deletes it or changes its visibility, the raw body and how often it was received.

use std::fmt;

use payments_domain::ports::RefundMessage;

use crate::envelope::{self, EnvelopeError};

/// The token that deletes one receive of a message or changes its visibility. Each receive of the same
/// message gets a new one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReceiptHandle(String);

impl ReceiptHandle {
    /// Wraps a receipt handle SQS returned (or an SQS event record's `receiptHandle`).
    pub fn new(handle: impl Into<String>) -> Self {
        ReceiptHandle(handle.into())
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReceiptHandle {
    /// SQS receipt handles run to hundreds of characters; a prefix is enough to tell two apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(16).collect();
        if prefix.len() < self.0.len() {
            write!(f, "ReceiptHandle({prefix}…)")
        } else {
            write!(f, "ReceiptHandle({prefix})")
        }
    }
}

/// One received message.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's id of the message (the same on every receive).
    pub message_id: String,
    /// The handle of this receive.
    pub receipt_handle: ReceiptHandle,
    /// The raw body; decode it with [`Delivery::refund`].
    pub body: String,
    /// How often the message has been received, this receive included (SQS's `ApproximateReceiveCount`).
    pub receive_count: u32,
}

impl Delivery {
    /// Decodes the body through the envelope; an error means a poison message.
    pub fn refund(&self) -> Result<RefundMessage, EnvelopeError> {
        envelope::decode_refund(&self.body)
    }
}

impl fmt::Debug for Delivery {
    /// The body is not printed: a poison message may contain anything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("message_id", &self.message_id)
            .field("receipt_handle", &self.receipt_handle)
            .field("body_bytes", &self.body.len())
            .field("receive_count", &self.receive_count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_a_short_handle_and_no_body() {
        let delivery = Delivery {
            message_id: "m-1".to_owned(),
            receipt_handle: ReceiptHandle::new("AQEBabcdefghijklmnopqrstuvwxyz"),
            body: "card number 4111".to_owned(),
            receive_count: 2,
        };
        let printed = format!("{delivery:?}");
        assert!(printed.contains("ReceiptHandle(AQEBabcdefghijkl…)"), "{printed}");
        assert!(!printed.contains("4111"), "{printed}");
        assert_eq!(
            format!("{:?}", ReceiptHandle::new("short")),
            "ReceiptHandle(short)"
        );
    }

    #[test]
    fn a_delivery_decodes_its_body_through_the_envelope() {
        let message = RefundMessage {
            payment_id: payments_domain::ids::PaymentId::from_random([3; 16]),
            refund_id: payments_domain::ids::RefundId::from_random([4; 16]),
        };
        let mut delivery = Delivery {
            message_id: "m-1".to_owned(),
            receipt_handle: ReceiptHandle::new("h"),
            body: envelope::encode_refund(&message),
            receive_count: 1,
        };
        assert_eq!(delivery.refund(), Ok(message));
        delivery.body = "not json".to_owned();
        assert!(delivery.refund().is_err());
    }
}
