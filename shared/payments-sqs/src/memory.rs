//! An in-process queue with the SQS behaviours the refund flow relies on, for tests and the local stack
//! only (it keeps nothing across restarts and is never used in AWS):
//!
//! - at-least-once delivery: a received message stays in the queue until it is deleted;
//! - a visibility timeout per receive, changeable with [`InMemoryQueue::change_visibility`];
//! - a receive count per message and a dead-letter queue: a message that was received
//!   `max_receive_count` times and becomes visible again moves to the dead-letter queue instead of being
//!   delivered, as SQS's redrive policy does;
//! - a new receipt handle per receive; only the latest one deletes the message or changes its
//!   visibility (SQS is laxer with an older handle; being strict here catches a worker that keeps stale
//!   handles);
//! - bodies go through the same [`envelope`](crate::envelope) as on SQS.
//!
//! Clones share one queue, so the local stack hands one clone to the refund API (as its
//! [`RefundQueue`]) and one to the worker's poller ([`InMemoryQueue::receive_wait`]). Time is read with
//! `tokio::time::Instant`, so tests with a paused Tokio clock can step through visibility timeouts
//! without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use payments_domain::ports::{QueueError, RefundMessage, RefundQueue};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::delivery::{Delivery, ReceiptHandle};
use crate::envelope;
use crate::error::SqsError;
use crate::queue::{MAX_VISIBILITY_TIMEOUT, QueueDefinition};

/// One stored message.
#[derive(Debug)]
struct Stored {
    message_id: String,
    body: String,
    receive_count: u32,
    visible_at: Instant,
    /// The handle of the latest receive; `None` before the first one.
    receipt_handle: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    messages: VecDeque<Stored>,
    dead_letters: Vec<Stored>,
}

impl State {
    /// The position of the message last received with `receipt_handle`; an unknown or stale handle is
    /// SQS's `ReceiptHandleIsInvalid`.
    fn received_with(&self, receipt_handle: &ReceiptHandle) -> Result<usize, SqsError> {
        self.messages
            .iter()
            .position(|m| m.receipt_handle.as_deref() == Some(receipt_handle.as_str()))
            .ok_or_else(|| SqsError::Rejected {
                code: "ReceiptHandleIsInvalid".to_owned(),
                message: "the receipt handle is unknown or no longer current".to_owned(),
            })
    }
}

#[derive(Debug)]
struct Shared {
    definition: QueueDefinition,
    state: Mutex<State>,
    /// Woken when a message is sent or made visible early, for [`InMemoryQueue::receive_wait`].
    arrived: Notify,
}

/// The in-process stand-in for the refund queue and its dead-letter queue (tests and the local stack
/// only). Clones share the same queue.
#[derive(Debug, Clone)]
pub struct InMemoryQueue {
    shared: Arc<Shared>,
}

impl InMemoryQueue {
    /// An empty queue that behaves as `definition` says (visibility timeout, max receives).
    pub fn new(definition: QueueDefinition) -> Self {
        Self {
            shared: Arc::new(Shared {
                definition,
                state: Mutex::new(State::default()),
                arrived: Notify::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed (every change is a single
        // push, remove or field update), so a poisoned lock is safe to keep using.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends one refund message; answers its message id.
    pub fn send(&self, message: &RefundMessage) -> String {
        self.send_body(envelope::encode_refund(message))
    }

    /// Sends a raw body (tests put poison messages on the queue with it).
    pub fn send_body(&self, body: String) -> String {
        let mut state = self.state();
        state.next_id += 1;
        let message_id = format!("mem-{:08}", state.next_id);
        state.messages.push_back(Stored {
            message_id: message_id.clone(),
            body,
            receive_count: 0,
            visible_at: Instant::now(),
            receipt_handle: None,
        });
        drop(state);
        self.shared.arrived.notify_waiters();
        message_id
    }

    /// Receives up to `max` visible messages, oldest first, and hides each for the visibility timeout.
    /// Visible messages that have used up their receives move to the dead-letter queue on the way.
    pub fn receive(&self, max: usize) -> Vec<Delivery> {
        let now = Instant::now();
        let max_receive_count = self.shared.definition.max_receive_count;
        let visibility_timeout = self.shared.definition.visibility_timeout;
        let mut state = self.state();
        let state = &mut *state;
        let mut deliveries = Vec::new();
        let mut index = 0;
        while index < state.messages.len() && deliveries.len() < max {
            let message = &mut state.messages[index];
            if message.visible_at > now {
                index += 1;
                continue;
            }
            if message.receive_count >= max_receive_count {
                if let Some(mut dead) = state.messages.remove(index) {
                    dead.receipt_handle = None;
                    state.dead_letters.push(dead);
                }
                continue;
            }
            message.receive_count += 1;
            message.visible_at = now + visibility_timeout;
            let handle = format!("{}:{}", message.message_id, message.receive_count);
            message.receipt_handle = Some(handle.clone());
            deliveries.push(Delivery {
                message_id: message.message_id.clone(),
                receipt_handle: ReceiptHandle::new(handle),
                body: message.body.clone(),
                receive_count: message.receive_count,
            });
            index += 1;
        }
        deliveries
    }

    /// Like [`InMemoryQueue::receive`], but when nothing is visible it waits, up to `wait`, for a
    /// message to be sent or to become visible again (SQS's long polling). Answers an empty batch when
    /// the wait ends with nothing to deliver.
    pub async fn receive_wait(&self, max: usize, wait: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + wait;
        loop {
            // Register for the wake-up before looking, so a send between the look and the wait is seen.
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let batch = self.receive(max);
            let now = Instant::now();
            if !batch.is_empty() || now >= deadline {
                return batch;
            }
            let wake_at = self.next_visible_at().map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                () = &mut arrived => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    /// When the earliest in-flight message becomes visible again, if any is in flight.
    fn next_visible_at(&self) -> Option<Instant> {
        self.state().messages.iter().map(|m| m.visible_at).min()
    }

    /// Deletes the message received with `receipt_handle`. An unknown or stale handle is an
    /// [`SqsError::Rejected`] with SQS's code `ReceiptHandleIsInvalid`, and nothing changes.
    pub fn delete(&self, receipt_handle: &ReceiptHandle) -> Result<(), SqsError> {
        let mut state = self.state();
        let position = state.received_with(receipt_handle)?;
        state.messages.remove(position);
        Ok(())
    }

    /// Makes the message received with `receipt_handle` visible again after `timeout` (at most 12
    /// hours). The message must still be in flight, as on SQS: otherwise the error is
    /// `MessageNotInflight`; an unknown or stale handle is `ReceiptHandleIsInvalid`.
    pub fn change_visibility(
        &self,
        receipt_handle: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), SqsError> {
        let now = Instant::now();
        let mut state = self.state();
        let position = state.received_with(receipt_handle)?;
        let message = &mut state.messages[position];
        if message.visible_at <= now {
            return Err(SqsError::Rejected {
                code: "MessageNotInflight".to_owned(),
                message: "the message is not in flight".to_owned(),
            });
        }
        message.visible_at = now + timeout.min(MAX_VISIBILITY_TIMEOUT);
        drop(state);
        self.shared.arrived.notify_waiters();
        Ok(())
    }

    /// How many messages are in the queue, visible or in flight (not counting dead letters).
    pub fn len(&self) -> usize {
        self.state().messages.len()
    }

    /// True when the queue holds no message (dead letters aside).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bodies in the dead-letter queue, oldest first.
    pub fn dead_letters(&self) -> Vec<String> {
        self.state().dead_letters.iter().map(|m| m.body.clone()).collect()
    }

    /// The definition the queue follows.
    pub fn definition(&self) -> &QueueDefinition {
        &self.shared.definition
    }
}

impl RefundQueue for InMemoryQueue {
    async fn enqueue(&self, message: &RefundMessage) -> Result<(), QueueError> {
        self.send(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use payments_domain::ids::{PaymentId, RefundId};

    use super::*;

    const VISIBILITY: Duration = Duration::from_secs(30);

    fn queue(max_receive_count: u32) -> InMemoryQueue {
        InMemoryQueue::new(QueueDefinition {
            visibility_timeout: VISIBILITY,
            max_receive_count,
            ..crate::queue::REFUND_QUEUE
        })
    }

    /// A queue (see [`queue`]) holding `message(1)`, received once and in flight.
    fn one_in_flight(max_receive_count: u32) -> (InMemoryQueue, Delivery) {
        let queue = queue(max_receive_count);
        queue.send(&message(1));
        let delivery = queue.receive(1).remove(0);
        (queue, delivery)
    }

    fn message(n: u8) -> RefundMessage {
        RefundMessage {
            payment_id: PaymentId::from_random([n; 16]),
            refund_id: RefundId::from_random([n.wrapping_add(100); 16]),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_enqueued_refund_is_received_with_its_envelope_and_deleted() {
        let queue = queue(3);
        queue.enqueue(&message(1)).await.unwrap();
        let deliveries = queue.receive(10);
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].refund(), Ok(message(1)));
        assert_eq!(deliveries[0].receive_count, 1);
        queue.delete(&deliveries[0].receipt_handle).unwrap();
        assert!(queue.is_empty());
        tokio::time::advance(VISIBILITY * 2).await;
        assert!(queue.receive(10).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_received_message_is_hidden_until_its_visibility_timeout_ends_then_delivered_again() {
        let queue = queue(3);
        queue.send(&message(1));
        let first = queue.receive(10);
        assert_eq!(first.len(), 1);
        assert!(queue.receive(10).is_empty(), "in flight");
        tokio::time::advance(VISIBILITY - Duration::from_millis(1)).await;
        assert!(queue.receive(10).is_empty(), "still in flight");
        tokio::time::advance(Duration::from_millis(1)).await;
        let second = queue.receive(10);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].message_id, first[0].message_id);
        assert_eq!(second[0].receive_count, 2);
        assert_ne!(second[0].receipt_handle, first[0].receipt_handle);
    }

    #[tokio::test(start_paused = true)]
    async fn receive_takes_at_most_max_messages_oldest_first() {
        let queue = queue(3);
        for n in 1..=3 {
            queue.send(&message(n));
        }
        let batch = queue.receive(2);
        let refunds: Vec<_> = batch.iter().map(|d| d.refund().unwrap()).collect();
        assert_eq!(refunds, [message(1), message(2)]);
        assert_eq!(queue.receive(2)[0].refund(), Ok(message(3)));
        assert_eq!(queue.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn changing_the_visibility_delays_or_hastens_the_next_delivery() {
        let (queue, first) = one_in_flight(5);
        queue
            .change_visibility(&first.receipt_handle, Duration::ZERO)
            .unwrap();
        let second = queue.receive(1).remove(0);
        assert_eq!(second.receive_count, 2);

        queue
            .change_visibility(&second.receipt_handle, Duration::from_secs(120))
            .unwrap();
        tokio::time::advance(VISIBILITY).await;
        assert!(queue.receive(1).is_empty(), "the longer timeout holds");
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(queue.receive(1)[0].receive_count, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_or_unknown_handle_changes_nothing() {
        let (queue, first) = one_in_flight(5);
        tokio::time::advance(VISIBILITY).await;
        let second = queue.receive(1).remove(0);

        for handle in [&first.receipt_handle, &ReceiptHandle::new("forged")] {
            let error = queue.delete(handle).unwrap_err();
            assert!(matches!(&error, SqsError::Rejected { code, .. } if code == "ReceiptHandleIsInvalid"));
            let error = queue.change_visibility(handle, Duration::ZERO).unwrap_err();
            assert!(matches!(&error, SqsError::Rejected { code, .. } if code == "ReceiptHandleIsInvalid"));
        }
        assert_eq!(queue.len(), 1);
        assert!(
            queue.receive(1).is_empty(),
            "the second receive is still in flight"
        );
        queue.delete(&second.receipt_handle).unwrap();
        assert!(queue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_visibility_of_a_message_no_longer_in_flight_cannot_change() {
        let (queue, delivery) = one_in_flight(5);
        tokio::time::advance(VISIBILITY).await;
        let error = queue
            .change_visibility(&delivery.receipt_handle, Duration::from_secs(60))
            .unwrap_err();
        assert!(matches!(&error, SqsError::Rejected { code, .. } if code == "MessageNotInflight"));
        assert_eq!(queue.receive(1).len(), 1, "still visible as before");
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_moves_to_the_dead_letter_queue_after_max_receives_without_blocking_others() {
        let queue = queue(2);
        queue.send_body("poison".to_owned());
        queue.send(&message(7));
        let first = queue.receive(10);
        assert_eq!(first.len(), 2);
        assert!(first[0].refund().is_err());
        assert_eq!(first[1].refund(), Ok(message(7)));
        queue.delete(&first[1].receipt_handle).unwrap();

        tokio::time::advance(VISIBILITY).await;
        let second = queue.receive(10);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].receive_count, 2);
        assert!(queue.dead_letters().is_empty(), "two receives are allowed");

        tokio::time::advance(VISIBILITY).await;
        assert!(
            queue.receive(10).is_empty(),
            "the poison message is not delivered a third time"
        );
        assert_eq!(queue.dead_letters(), ["poison"]);
        assert!(queue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_queue() {
        let producer = queue(3);
        let consumer = producer.clone();
        producer.enqueue(&message(1)).await.unwrap();
        assert_eq!(consumer.receive(1)[0].refund(), Ok(message(1)));
        assert_eq!(producer.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn receive_wait_answers_as_soon_as_a_message_is_sent() {
        let queue = queue(3);
        let producer = queue.clone();
        let started = Instant::now();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            producer.send(&message(1));
        });
        let batch = queue.receive_wait(10, Duration::from_secs(20)).await;
        assert_eq!(batch.len(), 1);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        sender.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn receive_wait_wakes_when_an_in_flight_message_becomes_visible() {
        let (queue, first) = one_in_flight(3);
        let started = Instant::now();
        let again = queue.receive_wait(1, Duration::from_secs(60)).await;
        assert_eq!(started.elapsed(), VISIBILITY);
        assert_eq!(again[0].message_id, first.message_id);
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn receive_wait_wakes_when_a_message_is_made_visible_early() {
        let (queue, first) = one_in_flight(3);
        let releaser = queue.clone();
        let started = Instant::now();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            releaser
                .change_visibility(&first.receipt_handle, Duration::ZERO)
                .unwrap();
        });
        let again = queue.receive_wait(1, Duration::from_secs(20)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(again[0].receive_count, 2);
        release.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn receive_wait_gives_up_empty_after_the_wait() {
        let queue = queue(3);
        let started = Instant::now();
        assert!(queue.receive_wait(10, Duration::from_secs(5)).await.is_empty());
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn the_visibility_timeout_is_capped_at_twelve_hours() {
        let (queue, delivery) = one_in_flight(5);
        queue
            .change_visibility(&delivery.receipt_handle, Duration::from_secs(100 * 3600))
            .unwrap();
        tokio::time::advance(MAX_VISIBILITY_TIMEOUT).await;
        assert_eq!(queue.receive(1).len(), 1);
    }
}
