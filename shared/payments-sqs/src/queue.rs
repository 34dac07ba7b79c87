//! The definition of the refund queue and its dead-letter queue, in one place: the attributes SQS gets
//! (visibility timeout, retention, redrive policy), the backoff a worker applies to a transient failure,
//! and a helper that creates the pair (tests and local tooling; in AWS the template creates them).
//!
//! Infrastructure as code must express the same numbers: a drift test compares the template's
//! `AWS::SQS::Queue` resources with [`QueueDefinition::cloudformation_properties`] and
//! [`QueueDefinition::dead_letter_cloudformation_properties`], and [`QueueDefinition::differences`]
//! compares a live queue's attributes (GetQueueAttributes) with the definition.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

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
            (QueueAttributeName::SqsManagedSseEnabled, "true".to_owned()),
        ])
    }

    /// The attributes of the dead-letter queue.
    pub fn dead_letter_attributes(&self) -> HashMap<QueueAttributeName, String> {
        HashMap::from([
            (
                QueueAttributeName::MessageRetentionPeriod,
                self.dead_letter_retention.as_secs().to_string(),
            ),
            (QueueAttributeName::SqsManagedSseEnabled, "true".to_owned()),
        ])
    }

    /// The `Properties` of the CloudFormation `AWS::SQS::Queue` resource of the queue, without
    /// `QueueName` (the template names it). `dead_letter_arn` is how the template refers to the
    /// dead-letter queue's ARN, e.g. `{"Fn::GetAtt": ["RefundDeadLetterQueue", "Arn"]}`. Server-side
    /// encryption with SQS-managed keys is on (the SQS default for new queues, stated explicitly).
    pub fn cloudformation_properties(&self, dead_letter_arn: Value) -> Value {
        json!({
            "VisibilityTimeout": self.visibility_timeout.as_secs(),
            "MessageRetentionPeriod": self.message_retention.as_secs(),
            "SqsManagedSseEnabled": true,
            "RedrivePolicy": {
                "deadLetterTargetArn": dead_letter_arn,
                "maxReceiveCount": self.max_receive_count,
            },
        })
    }

    /// The `Properties` of the dead-letter queue's `AWS::SQS::Queue` resource, without `QueueName`.
    pub fn dead_letter_cloudformation_properties(&self) -> Value {
        json!({
            "MessageRetentionPeriod": self.dead_letter_retention.as_secs(),
            "SqsManagedSseEnabled": true,
        })
    }

    /// Every way a live queue's attributes (GetQueueAttributes with `All`) differ from this definition:
    /// visibility timeout, retention and the redrive policy's `maxReceiveCount`, and, when given, its
    /// dead-letter target. Empty when they match.
    pub fn differences(
        &self,
        attributes: &HashMap<QueueAttributeName, String>,
        dead_letter_arn: Option<&str>,
    ) -> Vec<String> {
        let mut found = Vec::new();
        let mut expect = |name: QueueAttributeName, expected: String| {
            let actual = attributes.get(&name).map(String::as_str);
            if actual != Some(expected.as_str()) {
                found.push(format!("{name} is {actual:?}, expected {expected:?}"));
            }
        };
        expect(
            QueueAttributeName::VisibilityTimeout,
            self.visibility_timeout.as_secs().to_string(),
        );
        expect(
            QueueAttributeName::MessageRetentionPeriod,
            self.message_retention.as_secs().to_string(),
        );
        let policy = attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok());
        match policy {
            None => found.push("the queue has no readable redrive policy".to_owned()),
            Some(policy) => {
                // SQS answers `maxReceiveCount` as a number; some emulators as a string.
                let count = match &policy["maxReceiveCount"] {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                if count != Some(u64::from(self.max_receive_count)) {
                    found.push(format!(
                        "maxReceiveCount is {}, expected {}",
                        policy["maxReceiveCount"], self.max_receive_count
                    ));
                }
                if let Some(arn) = dead_letter_arn
                    && policy["deadLetterTargetArn"].as_str() != Some(arn)
                {
                    found.push(format!(
                        "deadLetterTargetArn is {}, expected {arn:?}",
                        policy["deadLetterTargetArn"]
                    ));
                }
            }
        }
        found
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
    let dead_letter_url = create_queue(
        client,
        &format!("{name}-dlq"),
        definition.dead_letter_attributes(),
    )
    .await?;
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
    let queue_url = create_queue(client, name, definition.attributes(&dead_letter_arn)).await?;
    Ok(QueuePair {
        queue_url,
        dead_letter_url,
        dead_letter_arn,
    })
}

/// Creates the queue `name` with `attributes` and answers its URL.
async fn create_queue(
    client: &Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, SqsError> {
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(SqsError::from_sdk)?;
    created
        .queue_url
        .ok_or_else(|| SqsError::unexpected("CreateQueue answered without a queue URL"))
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
    fn the_cloudformation_properties_say_what_the_definition_says() {
        let arn = json!({"Fn::GetAtt": ["RefundDeadLetterQueue", "Arn"]});
        assert_eq!(
            REFUND_QUEUE.cloudformation_properties(arn.clone()),
            json!({
                "VisibilityTimeout": 180,
                "MessageRetentionPeriod": 345_600,
                "SqsManagedSseEnabled": true,
                "RedrivePolicy": { "deadLetterTargetArn": arn, "maxReceiveCount": 5 },
            })
        );
        assert_eq!(
            REFUND_QUEUE.dead_letter_cloudformation_properties(),
            json!({ "MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": true })
        );
    }

    #[test]
    fn matching_attributes_have_no_differences() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:refunds-dlq";
        assert!(
            REFUND_QUEUE
                .differences(&REFUND_QUEUE.attributes(arn), Some(arn))
                .is_empty()
        );
        // A string count, as some emulators answer, is the same count.
        let mut attributes = REFUND_QUEUE.attributes(arn);
        attributes.insert(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"5"}}"#),
        );
        assert!(REFUND_QUEUE.differences(&attributes, None).is_empty());
    }

    #[test]
    fn every_drifted_attribute_is_named() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:refunds-dlq";
        let other = QueueDefinition {
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 3,
            message_retention: Duration::from_secs(60),
            ..REFUND_QUEUE
        };
        let found = REFUND_QUEUE.differences(&other.attributes("arn:other"), Some(arn));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("VisibilityTimeout"), "{found:?}");
        assert!(found[1].starts_with("MessageRetentionPeriod"), "{found:?}");
        assert!(found[2].starts_with("maxReceiveCount"), "{found:?}");
        assert!(found[3].starts_with("deadLetterTargetArn"), "{found:?}");
        let missing = REFUND_QUEUE.differences(&HashMap::new(), None);
        assert_eq!(missing.len(), 3, "{missing:?}");
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
