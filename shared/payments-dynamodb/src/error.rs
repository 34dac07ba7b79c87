//! The adapter's error, which keeps the kind of every DynamoDB failure: a failed condition, a canceled
//! transaction with its per-item reasons, throttling (retryable), a malformed item (naming the attribute),
//! an unavailable service, or a request DynamoDB rejected (a bug or a misconfiguration).

use std::fmt;

use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};

/// Why one item of a canceled transaction did not apply, in the order of the transaction's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// This item was fine; another item made the transaction fail.
    None,
    /// This item's condition expression was false.
    ConditionFailed,
    /// Another transaction or write was touching this item at the same time.
    TransactionConflict,
    /// Throttled.
    Throttled,
    /// Any other code DynamoDB reported.
    Other,
}

impl CancelReason {
    fn from_code(code: Option<&str>) -> Self {
        match code {
            None | Some("None") => Self::None,
            Some("ConditionalCheckFailed") => Self::ConditionFailed,
            Some("TransactionConflict") => Self::TransactionConflict,
            Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded") => {
                Self::Throttled
            }
            Some(_) => Self::Other,
        }
    }
}

/// A DynamoDB failure with its kind kept.
#[derive(thiserror::Error)]
pub enum DynamoError {
    /// A single-item write's condition expression was false: someone else changed the item first, or it
    /// does not exist (or already exists).
    #[error("the conditional write failed: the item changed or does not exist")]
    ConditionFailed,
    /// A transaction was canceled; the reasons follow the order of its items.
    #[error("the transaction was canceled: {reasons:?}")]
    TransactionCanceled {
        /// One reason per item of the transaction.
        reasons: Vec<CancelReason>,
    },
    /// DynamoDB throttled the request (retryable).
    #[error("DynamoDB throttled the request ({code}); retry with backoff")]
    Throttled {
        /// The error code DynamoDB answered.
        code: String,
    },
    /// A stored item does not have the shape the adapter expects.
    #[error("malformed {item_type} item: attribute `{attribute}` {problem}")]
    MalformedItem {
        /// The kind of item being read.
        item_type: &'static str,
        /// The attribute that is missing or wrong.
        attribute: String,
        /// What is wrong with it.
        problem: String,
    },
    /// DynamoDB could not be reached or failed internally (retryable).
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// DynamoDB refused the request itself (validation, missing table, idempotency token reuse with
    /// different parameters): a bug or a misconfiguration, not retryable.
    #[error("DynamoDB rejected the request ({code}): {message}")]
    Rejected {
        /// The error code DynamoDB answered.
        code: String,
        /// DynamoDB's message.
        message: String,
    },
}

// Debug repeats Display: the variants carry no item data, and this keeps it that way if one ever does.
impl fmt::Debug for DynamoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynamoError({self})")
    }
}

impl DynamoError {
    /// Whether repeating the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Unavailable(_) => true,
            Self::TransactionCanceled { reasons } => {
                !reasons.is_empty()
                    && reasons.iter().all(|r| {
                        matches!(
                            r,
                            CancelReason::None | CancelReason::TransactionConflict | CancelReason::Throttled
                        )
                    })
                    && reasons.iter().any(|r| *r != CancelReason::None)
            }
            Self::ConditionFailed | Self::MalformedItem { .. } | Self::Rejected { .. } => false,
        }
    }

    /// Classifies an SDK error by its error code. Operation-specific variants that carry data (the item
    /// of a failed condition, the reasons of a canceled transaction) are read by the caller first.
    pub fn from_sdk<E, R>(error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        match &error {
            SdkError::ServiceError(service) => {
                let err = service.err();
                Self::from_code(err.code().unwrap_or("Unknown"), err.message().unwrap_or_default())
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Self::Unavailable(describe_chain(&error))
            }
            _ => Self::Rejected {
                code: "ClientError".to_owned(),
                message: describe_chain(&error),
            },
        }
    }

    /// Classifies a DynamoDB error code.
    pub fn from_code(code: &str, message: &str) -> Self {
        match code {
            "ConditionalCheckFailedException" => Self::ConditionFailed,
            "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded" => {
                Self::Throttled {
                    code: code.to_owned(),
                }
            }
            "TransactionConflictException" | "TransactionInProgressException" => Self::TransactionCanceled {
                reasons: vec![CancelReason::TransactionConflict],
            },
            "InternalServerError" | "ServiceUnavailable" | "ServiceUnavailableException" => {
                Self::Unavailable(format!("{code}: {message}"))
            }
            _ => Self::Rejected {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// Builds the error of a canceled transaction from DynamoDB's reason codes.
    pub fn canceled<'a>(codes: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        Self::TransactionCanceled {
            reasons: codes.into_iter().map(CancelReason::from_code).collect(),
        }
    }
}

impl From<BuildError> for DynamoError {
    fn from(error: BuildError) -> Self {
        Self::Rejected {
            code: "BuildError".to_owned(),
            message: error.to_string(),
        }
    }
}

/// Joins an error and its sources into one line, since the SDK's top-level Display is terse.
fn describe_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_throttled_and_retryable() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            let error = DynamoError::from_code(code, "slow down");
            assert!(
                matches!(&error, DynamoError::Throttled { code: c } if c == code),
                "{code}"
            );
            assert!(error.is_retryable(), "{code}");
        }
    }

    #[test]
    fn a_failed_condition_is_not_retryable() {
        let error = DynamoError::from_code(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        );
        assert!(matches!(error, DynamoError::ConditionFailed));
        assert!(!error.is_retryable());
    }

    #[test]
    fn server_errors_are_unavailable_and_retryable() {
        let error = DynamoError::from_code("InternalServerError", "oops");
        assert!(matches!(error, DynamoError::Unavailable(_)));
        assert!(error.is_retryable());
    }

    #[test]
    fn validation_errors_are_rejections() {
        let error = DynamoError::from_code("ValidationException", "bad expression");
        assert!(matches!(&error, DynamoError::Rejected { code, .. } if code == "ValidationException"));
        assert!(!error.is_retryable());
    }

    #[test]
    fn cancellation_reasons_keep_their_order_and_kind() {
        let error = DynamoError::canceled([
            Some("None"),
            Some("ConditionalCheckFailed"),
            None,
            Some("TransactionConflict"),
        ]);
        let DynamoError::TransactionCanceled { reasons } = &error else {
            panic!("{error}")
        };
        assert_eq!(
            reasons,
            &[
                CancelReason::None,
                CancelReason::ConditionFailed,
                CancelReason::None,
                CancelReason::TransactionConflict
            ]
        );
        assert!(
            !error.is_retryable(),
            "a failed condition inside a transaction is final"
        );
    }

    #[test]
    fn a_transaction_lost_only_to_a_conflict_is_retryable() {
        let error = DynamoError::canceled([Some("None"), Some("TransactionConflict")]);
        assert!(error.is_retryable());
        let error = DynamoError::canceled([Some("ThrottlingError")]);
        assert!(error.is_retryable());
    }
}
