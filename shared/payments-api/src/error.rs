//! The one place where failures become HTTP answers.
//!
//! Every handler returns `Result<_, ApiError>`; [`ApiError::into_response_parts`] turns the error into
//! the status and the JSON body `{"error": {"code", "message", "result_code"?, "field"?}}` that the
//! OpenAPI document describes. Messages are written for the merchant's engineer and never contain a
//! secret or a request body.

use http::StatusCode;
use payments_domain::ports::StoreError;
use payments_domain::usecases::{ConflictReason, UseCaseError};
use serde::Serialize;

/// A failure, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// Glase's result code, when Glase rejected the call.
    pub result_code: Option<i32>,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            result_code: None,
            field: None,
        }
    }

    /// 400: the request is malformed or fails validation.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 400 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::invalid(message)
        }
    }

    /// 401: no or a wrong credential.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key or client secret is required",
        )
    }

    /// 404: nothing of that kind with that id (also for a wrong notification token).
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method",
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 422: the request is well formed but cannot be done.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }

    /// 413: the body is larger than the API accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body exceeds {limit} bytes"),
        )
    }

    /// 422 or 502: Glase rejected the call. Rejections caused by the request's data are the caller's
    /// to fix (422); everything else is Glase's or our configuration's (502).
    pub fn glase_rejected(result_code: i32, description: &str, callers_fault: bool) -> Self {
        let status = if callers_fault {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_GATEWAY
        };
        Self {
            result_code: Some(result_code),
            ..Self::new(
                status,
                "glase_rejected",
                format!("Glase rejected the call: {description} ({result_code})"),
            )
        }
    }

    /// 503: Glase (or our store) cannot be reached right now; nothing was changed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 502: a call may or may not have taken effect; it is not repeated automatically.
    pub fn outcome_unknown(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "outcome_unknown", message)
    }

    /// 503: Glase took the change but the store could not record it; the payment must be read again and
    /// the same request sent again (which is safe).
    pub fn not_recorded(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "not_recorded", message)
    }

    /// 500: a fault of ours; the message stays generic.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    /// The status and the JSON body of this error.
    pub fn into_response_parts(&self) -> (StatusCode, String) {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                result_code: self.result_code,
                field: self.field.as_deref(),
            },
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| String::from("{\"error\":{}}"));
        (self.status, json)
    }
}

/// The one mapping from use-case failures to API errors, so a handler's `?` turns a use case's error
/// into its answer.
impl From<UseCaseError> for ApiError {
    fn from(error: UseCaseError) -> Self {
        match error {
            UseCaseError::NotFound(what) => ApiError::not_found(what),
            UseCaseError::Conflict(reason) => ApiError::conflict(match reason {
                ConflictReason::AlreadyPaid => "the payment is paid already; refund it instead".to_owned(),
                ConflictReason::PaymentInProgress => {
                    "the shopper is paying right now; try again shortly".to_owned()
                }
                ConflictReason::NotPending => "the payment is no longer pending".to_owned(),
                ConflictReason::IdempotencyKeyReused => {
                    "this Idempotency-Key was used with another request (another body or payment)".to_owned()
                }
                ConflictReason::IdempotencyInProgress { retry_after } => format!(
                    "a request with this Idempotency-Key is still running; retry in {} s",
                    retry_after.as_secs().max(1)
                ),
                ConflictReason::TerminalUnregistered => "the terminal is unregistered".to_owned(),
                ConflictReason::NotPaid => "only a paid payment can be refunded".to_owned(),
                ConflictReason::NotPos => "only a point-of-sale payment has a till window".to_owned(),
            }),
            UseCaseError::Invalid(message) => ApiError::invalid(message),
            UseCaseError::Unprocessable(message) => ApiError::unprocessable(message),
            UseCaseError::GlaseRejected { code, description } => {
                ApiError::glase_rejected(code, &description, matches!(code, 11 | 49 | 53 | 64 | 98))
            }
            UseCaseError::GlaseUnavailable(_) => {
                ApiError::unavailable("Glase cannot be reached right now; nothing was changed, try again")
            }
            UseCaseError::OutcomeUnknown(_) => ApiError::outcome_unknown(
                "Glase did not answer clearly; the request may have taken effect and is not repeated",
            ),
            UseCaseError::Store(StoreError::ConditionFailed) => {
                ApiError::conflict("the payment changed at the same time; read it and try again")
            }
            UseCaseError::Store(StoreError::Throttled) => {
                ApiError::unavailable("the store is busy; nothing was changed, try again")
            }
            // An unreachable store may have taken a write before the connection failed: the answer does not
            // claim that nothing changed. Trying again is safe (every write is conditional).
            UseCaseError::Store(StoreError::Unavailable { .. }) => {
                ApiError::unavailable("the store cannot be reached right now; try again")
            }
            UseCaseError::Store(StoreError::Malformed { .. }) => ApiError::internal(),
            UseCaseError::TooLittleTime { .. } => ApiError::unavailable(
                "too little of this request's time was left to ask Glase safely; nothing was sent or \
                 changed, try again",
            ),
            // A function deployed without a setting it needs: nothing was sent; the log says which.
            UseCaseError::NotConfigured(what) => {
                tracing::error!(problem = what, "the function lacks a setting this request needs");
                ApiError::internal()
            }
            UseCaseError::NotRecorded(_) => ApiError::not_recorded(
                "Glase took the change, but it could not be recorded: the payment may still show the \
                 previous state; send the same request again",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_throttled_store_is_said_to_have_changed_nothing() {
        use payments_domain::ports::StoreError;
        use payments_domain::usecases::UseCaseError;
        let throttled = ApiError::from(UseCaseError::Store(StoreError::Throttled));
        let unreachable = ApiError::from(UseCaseError::Store(StoreError::Unavailable {
            reason: "connection reset".into(),
        }));
        assert_eq!(throttled.status, 503);
        assert_eq!(unreachable.status, 503);
        assert!(throttled.message.contains("nothing was changed"));
        assert!(
            !unreachable.message.contains("nothing was changed"),
            "{}",
            unreachable.message
        );
        assert!(
            !unreachable.message.contains("connection reset"),
            "no internals in the answer"
        );
    }

    #[test]
    fn a_change_glase_took_but_we_did_not_record_says_so_and_to_send_it_again() {
        use payments_domain::usecases::UseCaseError;
        let e = ApiError::from(UseCaseError::NotRecorded("store throttled".into()));
        assert_eq!(e.status, 503);
        assert_eq!(e.code, "not_recorded");
        assert!(!e.message.contains("nothing was changed"), "{}", e.message);
        assert!(e.message.contains("send the same request again"), "{}", e.message);
    }

    use super::*;

    #[test]
    fn a_glase_rejection_carries_its_result_code() {
        let (status, body) = ApiError::glase_rejected(49, "INVALID_INVOICE_DATA", true).into_response_parts();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "glase_rejected");
        assert_eq!(v["error"]["result_code"], 49);
        let (status, _) = ApiError::glase_rejected(20, "AUTHENTICATION_FAILED", false).into_response_parts();
        assert_eq!(status, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn optional_fields_are_left_out_when_absent() {
        let (status, body) = ApiError::not_found("payment").into_response_parts();
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            r#"{"error":{"code":"not_found","message":"no such payment"}}"#
        );
        let (_, body) = ApiError::invalid_field("rows", "rows do not sum to total").into_response_parts();
        assert!(body.contains(r#""field":"rows""#));
    }
}
