//! The refund worker's batches: each queue message handed to the refund use case on its own, within the
//! invocation's time, with the redelivery delays of the messages Glase could not be reached for applied
//! to the queue; and the outbox sweep the worker's schedule runs, with its policy.

use std::time::Duration;

use payments_domain::ids::Timestamp;
use payments_domain::ports::RefundMessage;
use payments_domain::ports::{Clock, PortTypes, Ports};
use payments_domain::usecases::{RefundProcessing, RefundSweepReport, UseCaseError};

use crate::app::App;
use crate::metrics::Metric;
use crate::wiring::AnyQueue;

/// The outbox sweep sends the message of a refund still `queued` after this long again.
pub const OUTBOX_QUEUED_FOR: Duration = Duration::from_secs(60);
/// The outbox sweep hands a refund a worker left `sending` for this long to reconciliation.
pub const OUTBOX_ABANDONED_AFTER: Duration = Duration::from_secs(300);
/// The most refunds one outbox sweep looks at.
pub const OUTBOX_BATCH: usize = 100;

/// One queue message handed to the refund worker.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// The queue's message id (to report a failure).
    pub id: String,
    /// The body.
    pub body: String,
    /// The receipt handle (to delay the next delivery).
    pub receipt_handle: String,
    /// How many times the queue has delivered it, this time included.
    pub receive_count: u32,
}

impl From<&payments_sqs::Delivery> for QueuedMessage {
    fn from(d: &payments_sqs::Delivery) -> Self {
        Self {
            id: d.message_id.clone(),
            body: d.body.clone(),
            receipt_handle: d.receipt_handle.as_str().to_owned(),
            receive_count: d.receive_count,
        }
    }
}

/// How much time a batch of refund messages may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTime {
    /// When the invocation ends (the Lambda context's deadline).
    pub deadline: Timestamp,
    /// The longest one message can take: its refundPayment call at its worst and the store calls around
    /// it (see `Settings::refund_message_budget`).
    pub per_message: Duration,
}

/// What a batch of refund messages needs from the queue afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundBatch {
    /// The ids of the messages to deliver again.
    pub failed: Vec<String>,
    /// Receipt handles whose next delivery should wait this long (Glase was unreachable: backing off
    /// 30 s, doubling with every delivery up to 15 minutes).
    pub delays: Vec<(String, Duration)>,
}

impl<P: Ports> App<P> {
    /// Processes a batch of refund messages, each on its own, with no limit on the time it takes: see
    /// [`Self::process_refund_messages_within`].
    pub async fn process_refund_messages(&self, messages: &[QueuedMessage]) -> RefundBatch {
        self.process_refund_messages_within(messages, None).await
    }

    /// Processes a batch of refund messages, each on its own; answers the ids of the messages to deliver
    /// again (a message that cannot be decoded, a refund Glase could not be reached for, a store failure).
    /// A poison message keeps failing until the queue moves it to its dead-letter queue; it never blocks
    /// the others.
    ///
    /// With `time`, a message is taken only while the time left until the deadline covers
    /// [`BatchTime::per_message`]; the rest of the batch goes back to the queue untouched (as failures,
    /// without a delay), so the invocation never ends in the middle of a Glase call, which would leave
    /// its refund `sending` until the outbox sweep hands it to reconciliation.
    pub async fn process_refund_messages_within(
        &self,
        messages: &[QueuedMessage],
        time: Option<BatchTime>,
    ) -> RefundBatch {
        let mut failed = Vec::new();
        let mut delays = Vec::new();
        for (index, m) in messages.iter().enumerate() {
            if let Some(time) = time
                && self.deps.clock.now().plus(time.per_message) > time.deadline
            {
                let left = &messages[index..];
                tracing::warn!(
                    returned = left.len(),
                    "too little time left for another refund call: the rest of the batch goes back to the queue"
                );
                failed.extend(left.iter().map(|m| m.id.clone()));
                break;
            }
            let message: RefundMessage = match payments_sqs::decode_refund(&m.body) {
                Ok(decoded) => decoded,
                Err(e) => {
                    tracing::warn!(message_id = %m.id, error = %e, "undecodable refund message");
                    failed.push(m.id.clone());
                    continue;
                }
            };
            match self.deps.process_refund(&message).await {
                Ok(RefundProcessing::Retry(reason)) => {
                    tracing::info!(refund_id = message.refund_id.as_str(), %reason, "refund will be retried");
                    failed.push(m.id.clone());
                    delays.push((
                        m.receipt_handle.clone(),
                        payments_sqs::retry_delay(m.receive_count),
                    ));
                }
                Ok(RefundProcessing::NeedsReconciliation) => {
                    tracing::warn!(
                        refund_id = message.refund_id.as_str(),
                        "refund outcome unknown: it waits for the period report and is not sent again"
                    );
                    self.metrics.record(&Metric::RefundNeedsReconciliation);
                }
                Ok(RefundProcessing::Failed(code)) => {
                    self.metrics.record(&Metric::GlaseError {
                        operation: "refundPayment",
                        result_code: code,
                    });
                }
                Ok(RefundProcessing::Succeeded | RefundProcessing::AlreadyHandled) => {}
                Err(e) => {
                    tracing::warn!(refund_id = message.refund_id.as_str(), error = %e, "refund processing failed");
                    failed.push(m.id.clone());
                }
            }
        }
        RefundBatch { failed, delays }
    }

    /// The outbox sweep of the worker's schedule, with its policy ([`OUTBOX_QUEUED_FOR`],
    /// [`OUTBOX_ABANDONED_AFTER`], [`OUTBOX_BATCH`]).
    pub async fn sweep_refund_outbox(&self) -> Result<RefundSweepReport, UseCaseError> {
        let report = self
            .deps
            .sweep_refunds(OUTBOX_QUEUED_FOR, OUTBOX_ABANDONED_AFTER, OUTBOX_BATCH)
            .await?;
        tracing::info!(
            requeued = report.requeued,
            abandoned = report.abandoned,
            "refund outbox sweep"
        );
        if report.abandoned > 0 {
            tracing::warn!(
                abandoned = report.abandoned,
                "refunds left sending by a worker wait for the period report and are not sent again"
            );
        }
        // A refund a worker left `sending` owes the same alarm as one whose call had no clear outcome.
        for _ in 0..report.abandoned {
            self.metrics.record(&Metric::RefundNeedsReconciliation);
        }
        Ok(report)
    }
}

impl<P: PortTypes<Queue = AnyQueue>> App<P> {
    /// Delays the next delivery of each message of `delays` (a [`RefundBatch`]'s) on the refund queue,
    /// SQS or the local stack's in-process queue. A delay that cannot be set is logged: the message then
    /// comes back after the queue's own visibility timeout.
    pub async fn apply_redelivery_delays(&self, delays: &[(String, Duration)]) {
        for (handle, delay) in delays {
            let handle = payments_sqs::ReceiptHandle::new(handle.clone());
            let set = match &self.deps.queue {
                AnyQueue::Sqs(queue) => queue.change_visibility(&handle, *delay).await,
                AnyQueue::Memory(queue) => queue.change_visibility(&handle, *delay),
                AnyQueue::None => return,
            };
            if let Err(e) = set {
                tracing::warn!(error = %e, "could not delay a refund message");
            }
        }
    }
}
