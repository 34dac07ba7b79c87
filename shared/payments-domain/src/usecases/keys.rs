//! Taking a request's idempotency key, the step that begins every use case run under a key: insert the
//! request's record, or decide with [`evaluate`] what the record an earlier request left means.

use std::time::Duration;

use crate::idempotency::{
    Begin, Fingerprint, IdempotencyKey, IdempotencyRecord, Operation, SideEffect, StoredOutcome, evaluate,
};
use crate::ports::{Clock, IdempotencyInsert, PaymentStore, PortTypes, StoreError};

use super::{ConflictReason, Deps, UseCaseError};

/// When a request whose take-over of an expired key lost to another request may try again.
const TAKE_OVER_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What taking a key comes to when it does not end the request.
#[derive(Debug)]
pub(crate) enum KeyTaken {
    /// This request holds the key: the record to complete, or to free, when it ends.
    Owned(IdempotencyRecord),
    /// An earlier request with the same payload completed: its outcome.
    Replay(StoredOutcome),
}

/// The answer to a request whose key another request holds: try again after `retry_after`.
fn key_in_progress(retry_after: Duration) -> UseCaseError {
    UseCaseError::Conflict(ConflictReason::IdempotencyInProgress { retry_after })
}

/// The answer to a request whose take-over of an expired key lost to another request.
pub(crate) fn key_taken_over() -> UseCaseError {
    key_in_progress(TAKE_OVER_RETRY_AFTER)
}

impl<P: PortTypes<Store: PaymentStore, Clock: Clock>> Deps<P> {
    /// A new in-progress record of `key` for a request of `operation`, under the configured policy.
    pub(crate) fn key_record(
        &self,
        operation: Operation,
        key: &IdempotencyKey,
        fingerprint: Fingerprint,
    ) -> IdempotencyRecord {
        IdempotencyRecord::start(
            operation,
            key.clone(),
            fingerprint,
            self.clock.now(),
            self.settings.idempotency,
        )
    }

    /// Takes the key of `fresh`, the request's new record: inserts it, or takes over the earlier
    /// request's record when [`evaluate`] allows (`take_over_failed` answers a failed replace). The same
    /// key with another payload is [`ConflictReason::IdempotencyKeyReused`], a running earlier request
    /// is [`ConflictReason::IdempotencyInProgress`], and one that vanished mid-flight is
    /// [`UseCaseError::OutcomeUnknown`] with `outcome_unknown`.
    pub(crate) async fn take_key(
        &self,
        fresh: IdempotencyRecord,
        effect: SideEffect,
        outcome_unknown: &str,
        take_over_failed: impl FnOnce(StoreError) -> UseCaseError,
    ) -> Result<KeyTaken, UseCaseError> {
        let existing = match self.store.insert_idempotency_record(&fresh).await? {
            IdempotencyInsert::Inserted => return Ok(KeyTaken::Owned(fresh)),
            IdempotencyInsert::Existing(existing) => existing,
        };
        match evaluate(&existing, &fresh.fingerprint, fresh.created_at, effect) {
            Begin::TakeOver { expected } => {
                let mine = fresh.restarted_over(&existing);
                match self.store.replace_idempotency_record(&mine, expected).await {
                    Ok(()) => Ok(KeyTaken::Owned(mine)),
                    Err(e) => Err(take_over_failed(e)),
                }
            }
            Begin::Replay(outcome) => Ok(KeyTaken::Replay(outcome)),
            Begin::Conflict => Err(UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused)),
            Begin::RetryLater { retry_after } => Err(key_in_progress(retry_after)),
            Begin::OutcomeUnknown => Err(UseCaseError::OutcomeUnknown(outcome_unknown.to_owned())),
        }
    }
}
