//! The DynamoDB store of the payment functions: one table (single-table design) holding payments, refunds,
//! terminals, reporting periods, idempotency records and WebSocket connection items.
//!
//! # Layout
//! - [`attrs`]: every attribute name (the only module that spells them).
//! - [`table`]: the table definition, its CloudFormation rendering, creation and drift check.
//! - [`keys`]: the key values of every item type and index entry (the single-table layout).
//! - [`item`]: typed attribute reading and writing; [`mapping`]: entity ↔ item for every item type.
//! - [`store`]: [`DynamoStore`], the implementation of the domain's `PaymentStore` port: its methods
//!   entity by entity, on shared pieces for conditions, writes and queries, and the reads and writes of
//!   reporting periods and idempotency records (see its own `# Layout`).
//! - [`error`]: [`DynamoError`], which keeps the kind of each DynamoDB failure.
//! - `testing` (feature `testing`): fresh tables on dynoxide or DynamoDB Local for tests, and fixtures.
//!
//! # Invariants
//! - Every write is conditional. Inserts need the key to be absent; updates need the stored revision to
//!   be the one the change was computed from and the stored status to be one the new status may follow,
//!   so no write moves a payment, refund or terminal backwards, even one that bypasses the domain.
//! - Writes of several items (refund + payment ledger, POS payment + terminal, terminal + external-id
//!   item, period + documents) are one TransactWriteItems with a client request token derived from the
//!   ids and revisions it writes: the same call retried within ten minutes applies once.
//! - Only idempotency records and connection items carry the TTL attribute `expires_at` (epoch seconds,
//!   rounded up); a payment's invoice expiry is `invoice_expires_at`, which TTL never reads.
//! - Reads by key are strongly consistent; index queries may lag slightly. A write computed from a stale
//!   index answer still carries its revision check, so it fails with `ConditionFailed` instead of
//!   overwriting a newer change. Lookups by `ersReference` re-read the item by key before answering.

pub mod attrs;
pub mod capacity;
pub mod error;
pub mod item;
pub mod keys;
pub mod mapping;
pub mod store;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;

pub use capacity::{CapacityMeter, CapacityTotals};
pub use error::{CancelReason, DynamoError};
pub use store::DynamoStore;
