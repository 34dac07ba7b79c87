//! The DynamoDB store of the payment functions: one table (single-table design) holding payments, refunds,
//! terminals, reporting periods, idempotency records and WebSocket connection items.
//!
//! # Layout
//! - [`attrs`]: every attribute name (the only module that spells them).
//! - [`table`]: the table definition, its CloudFormation rendering, creation and drift check.
//! - [`keys`]: the key values of every item type and index entry (the single-table layout).
//! - [`item`]: typed attribute reading and writing; [`mapping`]: entity ↔ item for every item type.
//! - [`store`]: [`DynamoStore`], the implementation of the domain's `PaymentStore` port.
//! - [`error`]: [`DynamoError`], which keeps the kind of each DynamoDB failure.
//! - `testing` (feature `testing`): fresh tables on dynoxide or DynamoDB Local for tests.

pub mod attrs;
pub mod error;
pub mod item;
pub mod keys;
pub mod mapping;
pub mod store;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{CancelReason, DynamoError};
pub use store::DynamoStore;
