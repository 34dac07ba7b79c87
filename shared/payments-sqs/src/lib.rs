//! The refund queue on SQS: how a refund request reaches the refund worker. The API function records a
//! refund as `queued` and sends one message through [`SqsRefundQueue`], the SQS implementation of the
//! domain's [`RefundQueue`](payments_domain::ports::RefundQueue) port; the worker, a Lambda on an SQS
//! event source mapping with `ReportBatchItemFailures`, decodes each record's body with
//! [`envelope::decode_refund`] and reloads the refund from the store. Delivery is at-least-once; the
//! worker's conditional writes give the exactly-once effect.
//!
//! # Layout
//! - [`envelope`]: the only module that knows the message body: versioned JSON with ids only
//!   (`{"v":1,"kind":"refund","payment_id":…,"refund_id":…}`); strict decoding with a typed
//!   [`EnvelopeError`] for poison messages.
//! - [`queue`]: the queue's definition in one place ([`REFUND_QUEUE`]: visibility timeout, max receives
//!   before the dead-letter queue, retention), the redrive policy, [`retry_delay`] for a worker's backoff
//!   after a transient failure, and [`create_queue_pair`] for tests and local tooling.
//! - [`adapter`]: [`QueueUrl`] (checked once from configuration, [`REFUND_QUEUE_URL_VAR`]) and
//!   [`SqsRefundQueue`]: send (the port), receive, delete and change visibility.
//! - [`delivery`]: [`Delivery`] and [`ReceiptHandle`], what a receive hands out on SQS and in process.
//! - [`error`]: [`SqsError`], which keeps throttled and unavailable (retryable) apart from a missing
//!   queue and other rejections, and converts into the domain's `QueueError`.
//! - [`memory`]: [`InMemoryQueue`], an in-process stand-in with at-least-once delivery, visibility
//!   timeouts, max receives and a dead-letter queue, for tests and the local stack only.
//! - `testing` (cargo feature `testing`): a moto_server endpoint (`SQS_ENDPOINT`, or started on demand
//!   with `tests/moto/moto-server.sh`) and uniquely named queue pairs on it.
//!
//! # Invariants
//! - A message carries ids only: never an amount, a reason or a secret. A forged or replayed message
//!   can at worst make the worker re-check a refund.
//! - Only [`envelope`] knows the body's shape; everything else sends and receives through it.
//! - A body this code does not understand is a typed error, never a panic and never a guess.
//! - Errors and `Debug` output never repeat a message body.
//! - The SDK client is built once by the caller and shared; this crate never builds one per call.

pub mod adapter;
pub mod delivery;
pub mod envelope;
pub mod error;
pub mod memory;
pub mod queue;
#[cfg(feature = "testing")]
pub mod testing;

pub use adapter::{QueueUrl, QueueUrlError, REFUND_QUEUE_URL_VAR, SqsRefundQueue};
pub use delivery::{Delivery, ReceiptHandle};
pub use envelope::{EnvelopeError, decode_refund, encode_refund};
pub use error::SqsError;
pub use memory::InMemoryQueue;
pub use queue::{QueueDefinition, QueuePair, REFUND_QUEUE, create_queue_pair, retry_delay};
