//! Writes: single-item PutItem and DeleteItem requests, and TransactWriteItems with a client request token.
//! Each request asks for its consumed capacity and adds it to the store's meter.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnConsumedCapacity, TransactWriteItem};
use payments_domain::ids::Revision;
use sha2::{Digest, Sha256};

use super::DynamoStore;
use super::conditions::{Condition, Conditional};
use crate::attrs as a;
use crate::capacity::{Side, written};
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::Key;

impl DynamoStore {
    /// A put of `item` inside a transaction, under `condition`. An item without one belongs to another
    /// item of the transaction, whose condition guards it.
    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&Condition>,
    ) -> Result<TransactWriteItem, DynamoError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .under(condition)
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A delete of `key` inside a transaction.
    pub(super) fn delete(&self, key: Key) -> Result<TransactWriteItem, DynamoError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A PutItem of `item` under `condition`.
    pub(super) async fn put_item(&self, item: Item, condition: &Condition) -> Result<(), DynamoError> {
        self.write(self.client.put_item().set_item(Some(item)), Some(condition))
            .await
    }

    /// Sends one single-item write (see [`SingleWrite::send_to`]); a failed condition is
    /// [`DynamoError::ConditionFailed`], any other failure keeps its kind.
    pub(super) async fn write(
        &self,
        request: impl SingleWrite,
        condition: Option<&Condition>,
    ) -> Result<(), DynamoError> {
        request
            .send_to(self, condition)
            .await
            .map(drop)
            .map_err(DynamoError::from_sdk)
    }

    /// Sends `writes` as one transaction: the call `name` on the items `ids` at `revisions`, which make
    /// its client request token ([`request_token`]). A canceled transaction keeps the reason of each item.
    pub(super) async fn transact(
        &self,
        name: &str,
        ids: &[&str],
        revisions: &[Revision],
        writes: Vec<TransactWriteItem>,
    ) -> Result<(), DynamoError> {
        let revisions: Vec<String> = revisions.iter().map(|r| r.get().to_string()).collect();
        let parts: Vec<&str> = [name]
            .into_iter()
            .chain(ids.iter().copied())
            .chain(revisions.iter().map(String::as_str))
            .collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&parts))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let consumed = result.as_ref().map(|o| o.consumed_capacity()).unwrap_or_default();
        self.capacity.record(Side::Write, consumed);
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => Err(
                    DynamoError::canceled(canceled.cancellation_reasons().iter().map(|r| r.code())),
                ),
                // The same token with other parameters: someone else's write under this identity.
                Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
                    Err(DynamoError::ConditionFailed)
                }
                _ => Err(DynamoError::from_sdk(error)),
            },
        }
    }
}

/// A single-item write request (PutItem, DeleteItem) with its item or key set.
pub(super) trait SingleWrite {
    /// What DynamoDB answers.
    type Output;
    /// The request's own error.
    type Error: ProvideErrorMetadata + std::error::Error + 'static;

    /// Sends the request to `store`'s table, under `condition` when there is one, and meters it. The
    /// error is the SDK's, for a caller that reads what comes with a failed condition.
    async fn send_to(
        self,
        store: &DynamoStore,
        condition: Option<&Condition>,
    ) -> Result<Self::Output, SdkError<Self::Error, HttpResponse>>;
}

macro_rules! single_writes {
    ($($request:ty => $output:ty, $error:ty;)+) => {$(
        impl SingleWrite for $request {
            type Output = $output;
            type Error = $error;

            async fn send_to(
                self,
                store: &DynamoStore,
                condition: Option<&Condition>,
            ) -> Result<$output, SdkError<$error, HttpResponse>> {
                let result = self
                    .table_name(&store.table)
                    .under(condition)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await;
                store
                    .capacity
                    .record(Side::Write, written(&result, |o| o.consumed_capacity()));
                result
            }
        }
    )+};
}

single_writes! {
    PutItemFluentBuilder => PutItemOutput, PutItemError;
    DeleteItemFluentBuilder => DeleteItemOutput, DeleteItemError;
}

/// A client request token for a transaction: a digest of what it writes, so the same call repeated
/// within DynamoDB's idempotency window is applied once.
fn request_token(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The key attributes of `key`.
pub(super) fn key_map(key: Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (a::PK.to_owned(), AttributeValue::S(key.pk)),
        (a::SK.to_owned(), AttributeValue::S(key.sk)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tokens_are_stable_distinct_and_short_enough() {
        let token = request_token(&["create_refund", "pay_1", "re_1", "3"]);
        assert_eq!(token, request_token(&["create_refund", "pay_1", "re_1", "3"]));
        assert_ne!(token, request_token(&["create_refund", "pay_1", "re_1", "4"]));
        assert_ne!(request_token(&["ab", "c"]), request_token(&["a", "bc"]));
        assert!(token.len() <= 36);
    }
}
