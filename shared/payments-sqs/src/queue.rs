//! The definition of the refund queue and its dead-letter queue, in one place: the attributes SQS gets
//! (visibility timeout, retention, redrive policy), the backoff a worker applies to a transient failure,
//! and a helper that creates the pair (tests and local tooling; in AWS the template creates them).
//!
//! Infrastructure as code must express the same numbers; a drift test can compare the template against
//! [`REFUND_QUEUE`] and [`QueueDefinition::attributes`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::error::SqsError;

/// The attributes of a standard queue with a redrive policy to a dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDefinition {
    /// How long a received message stays invisible before it is delivered again. AWS recommends at least
    /// six times the timeout of the Lambda function the queue triggers.
    pub visibility_timeout: Duration,
    /// How many receives a message gets; the next one moves it to the dead-letter queue instead.
    pub max_receive_count: u32,
    /// How long an unprocessed message is kept in the queue.
    pub message_retention: Duration,
    /// How long a message is kept in the dead-letter queue (longer than in the queue, so an operator
    /// has time to look at it).
    pub dead_letter_retention: Duration,
}

/// The refund queue as deployed.
///
/// - Visibility timeout 180 s: six times a worker timeout of 30 s, the AWS recommendation for an SQS
///   event source.
/// - Five receives: a transient Glase failure (93, 94, a refused connection) is retried four times with
///   growing delays (see [`retry_delay`]) before the message lands in the dead-letter queue, where the
///   refund stays `queued` and the outbox sweep or an operator picks it up; a poison message reaches
///   the dead-letter queue after the same bounded number of receives.
/// - Four days in the queue (the SQS default), fourteen days (the SQS maximum) in the dead-letter queue.
pub const REFUND_QUEUE: QueueDefinition = QueueDefinition {
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 5,
    message_retention: Duration::from_secs(4 * 24 * 60 * 60),
    dead_letter_retention: Duration::from_secs(14 * 24 * 60 * 60),
};

/// The longest visibility timeout SQS accepts (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// The first delay after a transient failure.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The longest delay after a transient failure.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(15 * 60);

/// The delay before a message that failed transiently on its `receive_count`-th receive is delivered
/// again: 30 s, 60 s, 120 s, … doubling up to 15 minutes. The worker sets it with
/// `ChangeMessageVisibility` (see [`crate::SqsRefundQueue::change_visibility`]) before reporting the
/// message as failed. `receive_count` is SQS's `ApproximateReceiveCount`, which starts at 1; 0 is
/// treated as 1.
pub fn retry_delay(receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(16);
    let delay = FIRST_RETRY_DELAY.saturating_mul(1_u32 << doublings);
    delay.min(MAX_RETRY_DELAY)
}

impl QueueDefinition {
    /// The redrive policy JSON that sends messages to `dead_letter_arn` after
    /// [`QueueDefinition::max_receive_count`] receives.
    pub fn redrive_policy(&self, dead_letter_arn: &str) -> String {
        serde_json::json!({
            "deadLetterTargetArn": dead_letter_arn,
            "maxReceiveCount": self.max_receive_count,
        })
        .to_string()
    }

    /// The attributes of the queue itself, with its redrive policy to `dead_letter_arn`.
    pub fn attributes(&self, dead_letter_arn: &str) -> HashMap<QueueAttributeName, String> {
        HashMap::from([
            (
                QueueAttributeName::VisibilityTimeout,
                self.visibility_timeout.as_secs().to_string(),
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                self.message_retention.as_secs().to_string(),
            ),
            (
                QueueAttributeName::RedrivePolicy,
                self.redrive_policy(dead_letter_arn),
            ),
        ])
    }

    /// The attributes of the dead-letter queue.
    pub fn dead_letter_attributes(&self) -> HashMap<QueueAttributeName, String> {
        HashMap::from([(
            QueueAttributeName::MessageRetentionPeriod,
            self.dead_letter_retention.as_secs().to_string(),
        )])
    }
}

/// A queue and its dead-letter queue, as created by [`create_queue_pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePair {
    /// The queue's URL.
    pub queue_url: String,
    /// The dead-letter queue's URL.
    pub dead_letter_url: String,
    /// The dead-letter queue's ARN (named in the queue's redrive policy).
    pub dead_letter_arn: String,
}

/// Creates the dead-letter queue `{name}-dlq` and the queue `name` with `definition`'s attributes.
/// Creating a queue that exists with the same attributes succeeds (SQS's CreateQueue is idempotent), so
/// local tooling may call this on every start.
pub async fn create_queue_pair(
    client: &Client,
    name: &str,
    definition: &QueueDefinition,
) -> Result<QueuePair, SqsError> {
    let dead_letter = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .set_attributes(Some(definition.dead_letter_attributes()))
        .send()
        .await
        .map_err(SqsError::from_sdk)?;
    let dead_letter_url = dead_letter
        .queue_url
        .ok_or_else(|| SqsError::unexpected("CreateQueue answered without a queue URL"))?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(SqsError::from_sdk)?;
    let dead_letter_arn = arn
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| SqsError::unexpected("GetQueueAttributes answered without the queue ARN"))?;
    let queue = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(definition.attributes(&dead_letter_arn)))
        .send()
        .await
        .map_err(SqsError::from_sdk)?;
    let queue_url = queue
        .queue_url
        .ok_or_else(|| SqsError::unexpected("CreateQueue answered without a queue URL"))?;
    Ok(QueuePair {
        queue_url,
        dead_letter_url,
        dead_letter_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visibility_timeout_covers_six_worker_timeouts_of_thirty_seconds() {
        assert!(REFUND_QUEUE.visibility_timeout >= Duration::from_secs(6 * 30));
        assert!(REFUND_QUEUE.visibility_timeout <= MAX_VISIBILITY_TIMEOUT);
    }

    #[test]
    fn the_dead_letter_queue_keeps_messages_longer_than_the_queue_within_the_sqs_maximum() {
        assert!(REFUND_QUEUE.dead_letter_retention > REFUND_QUEUE.message_retention);
        assert!(REFUND_QUEUE.dead_letter_retention <= Duration::from_secs(1_209_600));
        assert!(REFUND_QUEUE.message_retention >= Duration::from_secs(60));
    }

    #[test]
    fn the_attributes_say_what_the_definition_says() {
        let attributes = REFUND_QUEUE.attributes("arn:aws:sqs:us-east-1:123456789012:refunds-dlq");
        assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "180");
        assert_eq!(attributes[&QueueAttributeName::MessageRetentionPeriod], "345600");
        let policy: serde_json::Value =
            serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).expect("JSON");
        assert_eq!(
            policy,
            serde_json::json!({
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:refunds-dlq",
                "maxReceiveCount": 5,
            })
        );
        assert_eq!(
            REFUND_QUEUE.dead_letter_attributes()[&QueueAttributeName::MessageRetentionPeriod],
            "1209600"
        );
    }

    #[test]
    fn retry_delays_double_from_thirty_seconds_up_to_fifteen_minutes() {
        let delays: Vec<u64> = (0..=8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY_DELAY);
    }

    #[test]
    fn every_retry_before_the_dead_letter_queue_fits_in_the_retention_period() {
        let total: Duration = (1..REFUND_QUEUE.max_receive_count).map(retry_delay).sum();
        assert!(total < REFUND_QUEUE.message_retention);
    }
}
