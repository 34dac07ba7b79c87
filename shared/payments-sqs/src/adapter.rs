//! The SQS implementation of the domain's [`RefundQueue`] port, plus the receive, delete and visibility
//! calls that tests, local tooling and a worker's backoff need.

use std::fmt;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use payments_domain::ports::{QueueError, RefundMessage, RefundQueue};
use thiserror::Error;

use crate::delivery::{Delivery, ReceiptHandle};
use crate::envelope;
use crate::error::SqsError;
use crate::queue::MAX_VISIBILITY_TIMEOUT;

/// The environment variable the functions read the refund queue's URL from.
pub const REFUND_QUEUE_URL_VAR: &str = "REFUND_QUEUE_URL";

/// The most messages one ReceiveMessage call returns.
pub const MAX_RECEIVE_BATCH: u8 = 10;

/// The longest long-poll wait SQS allows.
pub const MAX_RECEIVE_WAIT: Duration = Duration::from_secs(20);

/// Why a configured queue URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueueUrlError {
    /// Nothing was configured.
    #[error("the queue URL is empty")]
    Empty,
    /// The value is not an absolute `http(s)://host/account/name` URL.
    #[error("the queue URL is malformed: {reason}")]
    Malformed {
        /// What is expected.
        reason: &'static str,
    },
}

/// The URL of an SQS queue, e.g. `https://sqs.eu-north-1.amazonaws.com/123456789012/refunds`, checked
/// once when the configuration is read.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueUrl(String);

impl QueueUrl {
    /// Checks the shape: `http://` or `https://`, a host, a path with the queue's name, no whitespace, no
    /// query.
    pub fn parse(value: &str) -> Result<Self, QueueUrlError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(QueueUrlError::Empty);
        }
        let Some(rest) = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
        else {
            return Err(QueueUrlError::Malformed {
                reason: "expected an http:// or https:// URL",
            });
        };
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) || value.contains(['?', '#']) {
            return Err(QueueUrlError::Malformed {
                reason: "expected no whitespace, query or fragment",
            });
        }
        let Some((host, path)) = rest.split_once('/') else {
            return Err(QueueUrlError::Malformed {
                reason: "expected a path that names the queue",
            });
        };
        let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        if host.is_empty() || name.is_empty() {
            return Err(QueueUrlError::Malformed {
                reason: "expected a host and a path that names the queue",
            });
        }
        Ok(QueueUrl(value.trim_end_matches('/').to_owned()))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueUrl({})", self.0)
    }
}

impl fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The refund queue on SQS. Build it once per cold start from the function's SDK client and the
/// configured URL; it is cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct SqsRefundQueue {
    client: Client,
    queue_url: QueueUrl,
}

impl SqsRefundQueue {
    /// The queue at `queue_url`, reached through `client`.
    pub fn new(client: Client, queue_url: QueueUrl) -> Self {
        Self { client, queue_url }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &QueueUrl {
        &self.queue_url
    }

    /// Sends one refund message; answers the message id SQS assigned.
    pub async fn send(&self, message: &RefundMessage) -> Result<String, SqsError> {
        let body = envelope::encode_refund(message);
        self.send_body(body).await
    }

    /// Sends a raw body. Only [`SqsRefundQueue::send`] produces bodies the worker accepts; this exists so
    /// tests and operators' tooling can put a poison message on a queue or move one back from a
    /// dead-letter queue unchanged.
    pub async fn send_body(&self, body: String) -> Result<String, SqsError> {
        let output = self
            .client
            .send_message()
            .queue_url(self.queue_url.as_str())
            .message_body(body)
            .send()
            .await
            .map_err(SqsError::from_sdk)?;
        output
            .message_id
            .ok_or_else(|| SqsError::unexpected("SendMessage answered without a message id"))
    }

    /// Receives up to `max` messages (clamped to 1..=10), waiting up to `wait` (at most 20 s) for the
    /// first one. Each delivery carries its receive count.
    pub async fn receive(&self, max: u8, wait: Duration) -> Result<Vec<Delivery>, SqsError> {
        let max = max.clamp(1, MAX_RECEIVE_BATCH);
        let wait = wait.min(MAX_RECEIVE_WAIT);
        let output = self
            .client
            .receive_message()
            .queue_url(self.queue_url.as_str())
            .max_number_of_messages(i32::from(max))
            .wait_time_seconds(seconds(wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(SqsError::from_sdk)?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let receive_count = message
                    .attributes
                    .as_ref()
                    .and_then(|attributes| {
                        attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .and_then(|count| count.parse::<u32>().ok())
                    .ok_or_else(|| SqsError::unexpected("a received message lacks its receive count"))?;
                Ok(Delivery {
                    message_id: message
                        .message_id
                        .ok_or_else(|| SqsError::unexpected("a received message lacks its id"))?,
                    receipt_handle: ReceiptHandle::new(message.receipt_handle.ok_or_else(|| {
                        SqsError::unexpected("a received message lacks its receipt handle")
                    })?),
                    body: message.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect()
    }

    /// Deletes the received message (the worker is done with it).
    pub async fn delete(&self, receipt_handle: &ReceiptHandle) -> Result<(), SqsError> {
        self.client
            .delete_message()
            .queue_url(self.queue_url.as_str())
            .receipt_handle(receipt_handle.as_str())
            .send()
            .await
            .map_err(SqsError::from_sdk)?;
        Ok(())
    }

    /// Makes the received message visible again after `timeout` (at most 12 hours; whole seconds, rounded
    /// down); zero makes it visible at once. A worker uses this with [`crate::queue::retry_delay`] to back
    /// off after a transient failure.
    pub async fn change_visibility(
        &self,
        receipt_handle: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), SqsError> {
        self.client
            .change_message_visibility()
            .queue_url(self.queue_url.as_str())
            .receipt_handle(receipt_handle.as_str())
            .visibility_timeout(seconds(timeout.min(MAX_VISIBILITY_TIMEOUT)))
            .send()
            .await
            .map_err(SqsError::from_sdk)?;
        Ok(())
    }
}

/// Whole seconds as the SDK's `i32`; callers have already capped the duration far below `i32::MAX`.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

impl RefundQueue for SqsRefundQueue {
    /// Sends one message per refund. A failure is logged with its kind and the refund's ids (no amounts
    /// exist in the message) and reported as [`QueueError::Unavailable`]: the refund stays `queued` and
    /// the outbox sweep sends it again.
    async fn enqueue(&self, message: &RefundMessage) -> Result<(), QueueError> {
        match self.send(message).await {
            Ok(message_id) => {
                tracing::debug!(
                    payment_id = %message.payment_id,
                    refund_id = %message.refund_id,
                    message_id,
                    "refund queued"
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    payment_id = %message.payment_id,
                    refund_id = %message.refund_id,
                    retryable = error.is_retryable(),
                    %error,
                    "refund message not sent"
                );
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_of_sqs_and_of_a_local_endpoint_parse() {
        let url = QueueUrl::parse("https://sqs.eu-north-1.amazonaws.com/123456789012/refunds").unwrap();
        assert_eq!(
            url.as_str(),
            "https://sqs.eu-north-1.amazonaws.com/123456789012/refunds"
        );
        let local = QueueUrl::parse(" http://127.0.0.1:4566/123456789012/refunds/ ").unwrap();
        assert_eq!(local.as_str(), "http://127.0.0.1:4566/123456789012/refunds");
    }

    #[test]
    fn malformed_queue_urls_are_refused_with_a_reason() {
        assert_eq!(QueueUrl::parse("  "), Err(QueueUrlError::Empty));
        for bad in [
            "sqs.eu-north-1.amazonaws.com/123456789012/refunds",
            "ftp://host/1/refunds",
            "https://sqs.eu-north-1.amazonaws.com",
            "https://sqs.eu-north-1.amazonaws.com/",
            "https:///123/refunds",
            "https://host/1/ref unds",
            "https://host/1/refunds?x=1",
        ] {
            assert!(
                matches!(QueueUrl::parse(bad), Err(QueueUrlError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_become_whole_seconds() {
        assert_eq!(seconds(Duration::from_millis(2_900)), 2);
        assert_eq!(seconds(Duration::MAX), i32::MAX);
    }
}
