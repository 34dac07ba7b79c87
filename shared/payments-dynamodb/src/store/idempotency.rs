//! The insert of an idempotency record: a PutItem that needs the key to be absent and, when the key is
//! taken, answers the stored record (which DynamoDB returns with the failed condition).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use payments_domain::idempotency::IdempotencyRecord;
use payments_domain::ports::IdempotencyInsert;

use super::DynamoStore;
use super::conditions::Condition;
use super::write::SingleWrite;
use crate::error::DynamoError;
use crate::keys;
use crate::mapping;

impl DynamoStore {
    /// Inserts `record`, or answers the record stored under its key.
    pub(super) async fn insert_idempotency(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, DynamoError> {
        let key = keys::idempotency(record.operation, &record.key);
        let item = mapping::idempotency_item(record);
        let condition = Condition::absent();
        // A record deleted between a failed insert and the read that follows is retried a few times.
        for _ in 0..3 {
            let result = self
                .client
                .put_item()
                .set_item(Some(item.clone()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send_to(self, Some(&condition))
                .await;
            let error = match result {
                Ok(_) => return Ok(IdempotencyInsert::Inserted),
                Err(error) => error,
            };
            let existing = match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(DynamoError::from_sdk(error)),
            };
            // The existing record normally comes back with the failure; read it if the backend did not.
            let existing = match existing {
                Some(item) if !item.is_empty() => Some(item),
                _ => self.get(key.clone()).await?,
            };
            if let Some(item) = existing {
                return Ok(IdempotencyInsert::Existing(mapping::idempotency_from(&item)?));
            }
        }
        Err(DynamoError::Unavailable(
            "the idempotency record kept changing during the insert".to_owned(),
        ))
    }
}
