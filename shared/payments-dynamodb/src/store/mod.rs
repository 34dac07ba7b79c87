//! [`DynamoStore`], the DynamoDB implementation of the domain's
//! [`PaymentStore`](payments_domain::ports::PaymentStore) port.
//!
//! Every write is conditional: inserts require the key to be absent; updates require the stored revision
//! to be the one the change was computed from AND the stored status to be one the new status may follow
//! (so even a buggy caller cannot move an item backwards). Writes of several items are one
//! TransactWriteItems with a client request token derived from what it writes, so a retried call within
//! DynamoDB's ten-minute idempotency window applies once and reports success.
//!
//! # Layout
//! - this module: the store and how its errors reach the domain.
//! - `port`: the `PaymentStore` methods, entity by entity: payments, refunds, terminals, reporting periods,
//!   idempotency records and connections.
//! - `conditions`: the condition of every write (an absent key, or the expected revision and the stored
//!   statuses each entity may replace) and how a request carries it.
//! - `write`: single-item writes and transactions with their request tokens, metered.
//! - `query`: reads by key and queries of the table or an index, metered.
//! - `periods`: a reporting period read and written with its document parts.
//! - `idempotency`: the insert of an idempotency record, which answers the stored one when the key is taken.

mod conditions;
mod idempotency;
mod periods;
mod port;
mod query;
mod write;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use payments_domain::ports::StoreError;

use crate::capacity::CapacityMeter;
use crate::error::{CancelReason, DynamoError};

/// The DynamoDB store: a client and the table name. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    capacity: CapacityMeter,
}

impl DynamoStore {
    /// A store over `table_name` through `client`.
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table: table_name.into(),
            capacity: CapacityMeter::new(),
        }
    }

    /// A store whose client comes from the environment (region, credentials and, for local runs,
    /// `AWS_ENDPOINT_URL_DYNAMODB`): build it once per cold start.
    pub async fn from_env(table_name: impl Into<String>) -> Self {
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::new(Client::new(&config), table_name)
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The requests sent and the capacity DynamoDB reported for them, shared by every clone.
    pub fn capacity(&self) -> &CapacityMeter {
        &self.capacity
    }
}

impl From<DynamoError> for StoreError {
    fn from(error: DynamoError) -> Self {
        match error {
            DynamoError::ConditionFailed => StoreError::ConditionFailed,
            // A transaction DynamoDB refused for another reason (an item over 400 KB is `ValidationError`)
            // will fail again as it is: reporting it as a lost race made the caller re-read and answer
            // with the old state as if another writer had moved on (found by the soak: a period whose
            // report was too large stayed `reports_pending` without an error).
            DynamoError::TransactionCanceled { reasons }
                if reasons.contains(&CancelReason::Other)
                    && !reasons.contains(&CancelReason::ConditionFailed) =>
            {
                StoreError::Unavailable {
                    reason: "DynamoDB refused the transaction (an item or the request is invalid)".to_owned(),
                }
            }
            // Nothing of a canceled transaction was written. One that lost to a concurrent write is, for
            // the caller, the same as a failed revision check: re-read and decide again.
            DynamoError::TransactionCanceled { reasons } => {
                if reasons.contains(&CancelReason::Throttled)
                    && !reasons.contains(&CancelReason::ConditionFailed)
                {
                    StoreError::Throttled
                } else {
                    StoreError::ConditionFailed
                }
            }
            DynamoError::Throttled { .. } => StoreError::Throttled,
            DynamoError::MalformedItem {
                item_type,
                attribute,
                problem,
            } => StoreError::Malformed {
                attribute,
                reason: format!("{item_type} item: {problem}"),
            },
            DynamoError::Unavailable(reason) => StoreError::Unavailable { reason },
            DynamoError::Rejected { code, message } => StoreError::Unavailable {
                reason: format!("DynamoDB rejected the request ({code}): {message}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_keep_their_kind() {
        assert_eq!(
            StoreError::from(DynamoError::ConditionFailed),
            StoreError::ConditionFailed
        );
        assert_eq!(
            StoreError::from(DynamoError::Throttled {
                code: "ThrottlingException".to_owned()
            }),
            StoreError::Throttled
        );
        assert_eq!(
            StoreError::from(DynamoError::canceled([
                Some("None"),
                Some("ConditionalCheckFailed")
            ])),
            StoreError::ConditionFailed
        );
        assert_eq!(
            StoreError::from(DynamoError::canceled([Some("ThrottlingError"), Some("None")])),
            StoreError::Throttled
        );
        assert!(
            matches!(
                StoreError::from(DynamoError::canceled([Some("None"), Some("ValidationError")])),
                StoreError::Unavailable { .. }
            ),
            "a refused transaction is not a lost race"
        );
        let malformed = StoreError::from(DynamoError::MalformedItem {
            item_type: "payment",
            attribute: "amount".to_owned(),
            problem: "is missing".to_owned(),
        });
        assert!(matches!(malformed, StoreError::Malformed { attribute, .. } if attribute == "amount"));
        assert!(StoreError::from(DynamoError::Unavailable("down".to_owned())).is_retryable());
    }
}
