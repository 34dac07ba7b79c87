//! The SQS adapter against moto_server: a standard queue with a redrive policy to a dead-letter queue,
//! fresh and uniquely named for every test. The endpoint is `SQS_ENDPOINT`, or a moto_server this test
//! process starts with `tests/moto/moto-server.sh` (see `payments_sqs::testing`); the tests fail, never
//! skip, when neither is available.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use payments_domain::ids::{PaymentId, RefundId};
use payments_domain::ports::{RefundMessage, RefundQueue};
use payments_sqs::testing::{TestQueues, client_for, sqs_endpoint};
use payments_sqs::{QueueDefinition, QueueUrl, REFUND_QUEUE, SqsError, SqsRefundQueue, encode_refund};

/// Short timeouts so redelivery happens within a test; two receives before the dead-letter queue.
const FAST: QueueDefinition = QueueDefinition {
    visibility_timeout: Duration::from_secs(1),
    max_receive_count: 2,
    ..REFUND_QUEUE
};

/// Long enough for moto to answer a receive that has something to return.
const WAIT: Duration = Duration::from_secs(1);

/// Whether a receive of up to `max` messages that does not wait finds none in `queue`.
async fn nothing_visible(queue: &SqsRefundQueue, max: u8) -> bool {
    queue
        .receive(max, Duration::ZERO)
        .await
        .expect("receive")
        .is_empty()
}

fn message(n: u8) -> RefundMessage {
    RefundMessage {
        payment_id: PaymentId::from_random([n; 16]),
        refund_id: RefundId::from_random([n.wrapping_mul(7).wrapping_add(1); 16]),
    }
}

#[tokio::test]
async fn a_queued_refund_is_received_decoded_and_deleted() {
    let queues = TestQueues::new(&FAST).await;
    queues.queue.enqueue(&message(1)).await.expect("enqueue");

    let deliveries = queues.queue.receive(10, WAIT).await.expect("receive");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].refund(), Ok(message(1)));
    assert_eq!(deliveries[0].body, encode_refund(&message(1)));
    assert_eq!(deliveries[0].receive_count, 1);

    queues
        .queue
        .delete(&deliveries[0].receipt_handle)
        .await
        .expect("delete");
    tokio::time::sleep(FAST.visibility_timeout + Duration::from_millis(500)).await;
    let after = queues.queue.receive(10, Duration::ZERO).await.expect("receive");
    assert!(
        after.is_empty(),
        "a deleted message is not delivered again: {after:?}"
    );
}

#[tokio::test]
async fn several_refunds_round_trip_through_the_real_queue() {
    let queues = TestQueues::new(&FAST).await;
    for n in 1..=5 {
        queues.queue.send(&message(n)).await.expect("send");
    }
    let mut received = Vec::new();
    for _ in 0..10 {
        for delivery in queues.queue.receive(10, WAIT).await.expect("receive") {
            received.push(delivery.refund().expect("our own envelope decodes"));
            queues
                .queue
                .delete(&delivery.receipt_handle)
                .await
                .expect("delete");
        }
        if received.len() == 5 {
            break;
        }
    }
    received.sort_by(|a, b| a.payment_id.cmp(&b.payment_id));
    let expected: Vec<_> = (1..=5).map(message).collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn an_undeleted_message_is_delivered_again_after_its_visibility_timeout() {
    let queues = TestQueues::new(&FAST).await;
    queues.queue.send(&message(2)).await.expect("send");
    let first = queues.queue.receive(1, WAIT).await.expect("receive");
    assert_eq!(first.len(), 1);
    assert!(nothing_visible(&queues.queue, 1).await, "in flight");

    tokio::time::sleep(FAST.visibility_timeout + Duration::from_millis(500)).await;
    let second = queues.queue.receive(1, WAIT).await.expect("receive");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    assert_eq!(second[0].refund(), Ok(message(2)));
}

#[tokio::test]
async fn changing_the_visibility_hastens_or_delays_the_next_delivery() {
    let definition = QueueDefinition {
        max_receive_count: 5,
        ..FAST
    };
    let queues = TestQueues::new(&definition).await;
    queues.queue.send(&message(3)).await.expect("send");

    // Zero makes the message visible at once.
    let first = queues.queue.receive(1, WAIT).await.expect("receive").remove(0);
    queues
        .queue
        .change_visibility(&first.receipt_handle, Duration::ZERO)
        .await
        .expect("change visibility");
    let second = queues.queue.receive(1, WAIT).await.expect("receive");
    assert_eq!(second.len(), 1, "visible again at once");
    assert_eq!(second[0].receive_count, 2);

    // A longer timeout outlasts the queue's own one-second timeout.
    queues
        .queue
        .change_visibility(&second[0].receipt_handle, Duration::from_secs(4))
        .await
        .expect("change visibility");
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert!(
        nothing_visible(&queues.queue, 1).await,
        "still hidden by the longer timeout"
    );
    tokio::time::sleep(Duration::from_millis(2_700)).await;
    let third = queues.queue.receive(1, WAIT).await.expect("receive");
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].receive_count, 3);
}

#[tokio::test]
async fn a_poison_message_reaches_the_dead_letter_queue_after_max_receives_without_blocking_others() {
    let queues = TestQueues::new(&FAST).await;
    queues
        .queue
        .send_body("{\"v\":9}".to_owned())
        .await
        .expect("send poison");
    queues.queue.send(&message(4)).await.expect("send");

    let mut good = Vec::new();
    let mut poison_receives = 0;
    for _ in 0..6 {
        for delivery in queues.queue.receive(10, WAIT).await.expect("receive") {
            match delivery.refund() {
                Ok(refund) => {
                    good.push(refund);
                    queues
                        .queue
                        .delete(&delivery.receipt_handle)
                        .await
                        .expect("delete");
                }
                Err(_) => {
                    poison_receives += 1;
                    // A worker reports the record as failed; make it visible again at once.
                    queues
                        .queue
                        .change_visibility(&delivery.receipt_handle, Duration::ZERO)
                        .await
                        .expect("change visibility");
                }
            }
        }
    }
    assert_eq!(good, [message(4)]);
    assert_eq!(poison_receives, FAST.max_receive_count);

    let dead = queues
        .dead_letters
        .receive(10, WAIT)
        .await
        .expect("receive from the DLQ");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{\"v\":9}");
    assert!(dead[0].refund().is_err());
    assert!(
        nothing_visible(&queues.queue, 10).await,
        "nothing is left in the queue"
    );
}

/// Every attribute of the queue (not the dead-letter queue) of `queues`.
async fn queue_attributes(queues: &TestQueues) -> HashMap<QueueAttributeName, String> {
    queues
        .client
        .get_queue_attributes()
        .queue_url(&queues.pair.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("get attributes")
        .attributes
        .expect("attributes")
}

#[tokio::test]
async fn create_queue_pair_applies_the_definition() {
    let queues = TestQueues::new(&REFUND_QUEUE).await;
    let attributes = queue_attributes(&queues).await;
    assert_eq!(
        REFUND_QUEUE.differences(&attributes, Some(&queues.pair.dead_letter_arn)),
        Vec::<String>::new()
    );
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "180");
    assert_eq!(attributes[&QueueAttributeName::MessageRetentionPeriod], "345600");
    let policy: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).expect("redrive policy JSON");
    assert_eq!(
        policy["deadLetterTargetArn"],
        queues.pair.dead_letter_arn.as_str()
    );
    assert_eq!(policy["maxReceiveCount"].as_u64(), Some(5));
    assert_eq!(attributes[&QueueAttributeName::SqsManagedSseEnabled], "true");

    // The same check notices a queue created with other numbers.
    let drifted = TestQueues::new(&FAST).await;
    let attributes = queue_attributes(&drifted).await;
    let found = REFUND_QUEUE.differences(&attributes, Some(&queues.pair.dead_letter_arn));
    assert_eq!(found.len(), 3, "{found:?}");
}

#[tokio::test]
async fn a_missing_queue_is_its_own_error_kind_and_the_port_reports_it_as_unavailable() {
    let client = client_for(&sqs_endpoint()).await;
    let url = format!(
        "{}/123456789012/no-such-queue-{}",
        sqs_endpoint(),
        std::process::id()
    );
    let queue = SqsRefundQueue::new(client, QueueUrl::parse(&url).expect("url"));
    let error = queue.send(&message(5)).await.expect_err("no such queue");
    assert!(matches!(error, SqsError::QueueDoesNotExist { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let port_error = queue.enqueue(&message(5)).await.expect_err("no such queue");
    assert!(port_error.to_string().contains("does not exist"), "{port_error}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_retryable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = client_for(&endpoint).await;
    let queue = SqsRefundQueue::new(
        client,
        QueueUrl::parse(&format!("{endpoint}/123456789012/refunds")).expect("url"),
    );
    let error = queue.send(&message(6)).await.expect_err("nothing listens");
    assert!(matches!(error, SqsError::Unavailable { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_forged_receipt_handle_is_rejected() {
    let queues = TestQueues::new(&FAST).await;
    let error = queues
        .queue
        .delete(&payments_sqs::ReceiptHandle::new("forged"))
        .await
        .expect_err("forged handle");
    assert!(matches!(error, SqsError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn receive_asks_for_a_batch_size_and_wait_that_sqs_accepts() {
    let queues = TestQueues::new(&FAST).await;
    for n in 1..=12 {
        queues.queue.send(&message(n)).await.expect("send");
    }
    // Zero becomes one.
    let one = queues
        .queue
        .receive(0, WAIT)
        .await
        .expect("a batch size of zero is raised to one");
    assert_eq!(one.len(), 1);
    // Fifty becomes ten, and a minute's wait becomes twenty seconds (messages are waiting, so it returns
    // at once); SQS refuses both values as they are.
    let batch = queues
        .queue
        .receive(50, Duration::from_secs(60))
        .await
        .expect("a batch size of fifty is lowered to ten");
    assert!(!batch.is_empty() && batch.len() <= 10, "{}", batch.len());
}
