//! The adapter's error, which keeps the kind of every SQS failure: throttling and unavailability (worth
//! retrying) versus a request SQS refused (a missing queue, a bad receipt handle, a misconfiguration).

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use payments_domain::ports::QueueError;
use thiserror::Error;

/// An SQS failure with its kind kept. Messages carry SQS's error code and message, never a message body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SqsError {
    /// SQS asked us to slow down (retryable with backoff).
    #[error("SQS throttled the request ({code}); retry with backoff")]
    Throttled {
        /// The error code SQS answered.
        code: String,
    },
    /// SQS could not be reached, timed out, or failed on its side (retryable). For a send, whether the
    /// message was accepted is unknown; a duplicate is harmless because delivery is at-least-once anyway.
    #[error("SQS is unavailable: {reason}")]
    Unavailable {
        /// A short reason.
        reason: String,
    },
    /// The queue does not exist (a misconfigured queue URL, or a queue deleted under us).
    #[error("the queue does not exist ({code})")]
    QueueDoesNotExist {
        /// The error code SQS answered.
        code: String,
    },
    /// SQS refused the request itself (invalid parameter, expired receipt handle, message not in
    /// flight, access denied): a bug or a misconfiguration, not retryable as it is.
    #[error("SQS rejected the request ({code}): {message}")]
    Rejected {
        /// The error code SQS answered.
        code: String,
        /// SQS's message.
        message: String,
    },
}

/// Error codes that mean "slow down", in the JSON protocol's short form and the query protocol's form.
const THROTTLING_CODES: &[&str] = &[
    "RequestThrottled",
    "ThrottlingException",
    "Throttling",
    "KmsThrottled",
    "KMS.ThrottlingException",
    "OverLimit",
];

/// Error codes that mean the queue is not there.
const MISSING_QUEUE_CODES: &[&str] = &["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"];

/// Error codes that mean SQS failed on its side.
const UNAVAILABLE_CODES: &[&str] = &["InternalError", "InternalFailure", "ServiceUnavailable"];

impl SqsError {
    /// Classifies any SDK failure by what it means for retrying.
    pub fn from_sdk<E, R>(error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match &error {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().unwrap_or("Unknown").to_owned();
                let message = inner
                    .message()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>();
                Self::from_code(code, message)
            }
            SdkError::TimeoutError(_) => Self::Unavailable {
                reason: "the request timed out".to_owned(),
            },
            SdkError::DispatchFailure(failure) => Self::Unavailable {
                reason: if failure.is_timeout() {
                    "the connection timed out".to_owned()
                } else if failure.is_io() {
                    "the connection failed".to_owned()
                } else {
                    "the request could not be sent".to_owned()
                },
            },
            SdkError::ResponseError(_) => Self::Unavailable {
                reason: "the response could not be read".to_owned(),
            },
            SdkError::ConstructionFailure(_) => Self::Rejected {
                code: "ConstructionFailure".to_owned(),
                message: "the request could not be built".to_owned(),
            },
            _ => Self::Unavailable {
                reason: "unknown SDK failure".to_owned(),
            },
        }
    }

    /// Classifies an SQS error code.
    pub fn from_code(code: String, message: String) -> Self {
        let code_str = code.as_str();
        if THROTTLING_CODES.contains(&code_str) {
            Self::Throttled { code }
        } else if MISSING_QUEUE_CODES.contains(&code_str) {
            Self::QueueDoesNotExist { code }
        } else if UNAVAILABLE_CODES.contains(&code_str) {
            Self::Unavailable {
                reason: format!("{code}: {message}"),
            }
        } else {
            Self::Rejected { code, message }
        }
    }

    /// An answer that lacks something the API promises.
    pub(crate) fn unexpected(what: &str) -> Self {
        Self::Unavailable {
            reason: what.to_owned(),
        }
    }

    /// True for failures worth retrying as they are (throttling, unavailability).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }
}

impl From<SqsError> for QueueError {
    /// The domain only needs to know that the message was not accepted: the refund stays `queued` and the
    /// outbox sweep sends it again. The reason keeps the kind for the log line.
    fn from(error: SqsError) -> Self {
        QueueError::Unavailable {
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: &str) -> SqsError {
        SqsError::from_code(code.to_owned(), "m".to_owned())
    }

    #[test]
    fn throttling_codes_are_throttled_and_retryable() {
        for code in [
            "RequestThrottled",
            "ThrottlingException",
            "KmsThrottled",
            "OverLimit",
        ] {
            let error = classify(code);
            assert_eq!(
                error,
                SqsError::Throttled {
                    code: code.to_owned()
                }
            );
            assert!(error.is_retryable());
        }
    }

    #[test]
    fn a_missing_queue_is_its_own_kind_and_not_retryable() {
        for code in ["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"] {
            let error = classify(code);
            assert!(matches!(error, SqsError::QueueDoesNotExist { .. }), "{code}");
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn server_failures_are_unavailable_and_retryable() {
        let error = classify("InternalError");
        assert!(matches!(error, SqsError::Unavailable { .. }));
        assert!(error.is_retryable());
    }

    #[test]
    fn other_codes_are_rejections_that_keep_code_and_message() {
        let error = SqsError::from_code("ReceiptHandleIsInvalid".to_owned(), "bad handle".to_owned());
        assert_eq!(
            error,
            SqsError::Rejected {
                code: "ReceiptHandleIsInvalid".to_owned(),
                message: "bad handle".to_owned()
            }
        );
        assert!(!error.is_retryable());
    }

    #[test]
    fn the_domain_error_keeps_the_kind_in_its_reason() {
        let reason = QueueError::from(classify("RequestThrottled")).to_string();
        assert!(
            reason.contains("throttled the request (RequestThrottled)"),
            "{reason}"
        );
        let reason = QueueError::from(classify("QueueDoesNotExist")).to_string();
        assert!(reason.contains("does not exist"), "{reason}");
    }
}
