//! Every DynamoDB attribute name the store writes or reads, and nothing else.
//!
//! This is the only module that spells attribute names. Expressions refer to them through
//! `ExpressionAttributeNames` placeholders built from these constants, so reserved words such as
//! `status` or `type` never need special care elsewhere.

/// Partition key of the table (string).
pub const PK: &str = "pk";
/// Sort key of the table (string).
pub const SK: &str = "sk";
/// Partition key of the `gsi1` lookup index (string; only on items with a secondary access path).
pub const GSI1_PK: &str = "gsi1pk";
/// Sort key of the `gsi1` lookup index (string).
pub const GSI1_SK: &str = "gsi1sk";
/// Partition key of the sparse `due` index (string; only while an item waits for scheduled work).
pub const DUE_PK: &str = "due_pk";
/// Sort key of the sparse `due` index: a zero-padded epoch time followed by the item id.
pub const DUE_SK: &str = "due_sk";
/// Which kind of item this is (`payment`, `refund`, ...).
pub const ITEM_TYPE: &str = "item_type";
/// Optimistic-concurrency revision: starts at 1 and grows by one with every write.
pub const REVISION: &str = "revision";
/// Epoch seconds after which DynamoDB's TTL deletes the item (idempotency records, connections).
pub const EXPIRES_AT: &str = "expires_at";
/// Epoch milliseconds at which the item was created.
pub const CREATED_AT: &str = "created_at";
/// Epoch milliseconds of the last write.
pub const UPDATED_AT: &str = "updated_at";
