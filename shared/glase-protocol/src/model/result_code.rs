//! Glase result codes (`ERSWSResultCodes` of the merchant API).

use std::fmt;

macro_rules! result_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $name:literal,)*) => {
        /// A Glase result code. Every code of the 2.11 interface has a variant; any other number is
        /// kept in [`ResultCode::Unknown`] so that nothing is lost on a round trip.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ResultCode {
            $($(#[$doc])* $variant,)*
            /// A number this crate does not know.
            Unknown(i32),
        }

        impl ResultCode {
            /// Every known code, in numeric order.
            pub const ALL: &'static [ResultCode] = &[$(ResultCode::$variant,)*];

            /// The code for a number (unknown numbers are kept in [`ResultCode::Unknown`]).
            pub fn from_code(code: i32) -> Self {
                match code {
                    $($code => ResultCode::$variant,)*
                    other => ResultCode::Unknown(other),
                }
            }

            /// The wire number.
            pub fn code(&self) -> i32 {
                match self {
                    $(ResultCode::$variant => $code,)*
                    ResultCode::Unknown(code) => *code,
                }
            }

            /// The constant name (`INVALID_INVOICE_DATA`), or `None` for an unknown number.
            pub fn name(&self) -> Option<&'static str> {
                match self {
                    $(ResultCode::$variant => Some($name),)*
                    ResultCode::Unknown(_) => None,
                }
            }
        }
    };
}

result_codes! {
    /// 0: the operation succeeded.
    Success = 0 => "SUCCESS",
    /// 1: pending approval.
    PendingApproval = 1 => "PENDING_APPROVAL",
    /// 2: executeReport: the report is not ready yet; wait a few seconds and repeat.
    ReportNotReady = 2 => "REPORT_NOT_READY",
    /// 10: rejected by business logic.
    RejectedBusinessLogic = 10 => "REJECTED_BUSINESS_LOGIC",
    /// 11: the amount was rejected.
    RejectedAmount = 11 => "REJECTED_AMOUNT",
    /// 12: the payment was rejected.
    RejectedPayment = 12 => "REJECTED_PAYMENT",
    /// 13: the top-up was rejected.
    RejectedTopup = 13 => "REJECTED_TOPUP",
    /// 20: wrong password.
    AuthenticationFailed = 20 => "AUTHENTICATION_FAILED",
    /// 21: access denied (e.g. terminal password shorter than 4 characters).
    AccessDenied = 21 => "ACCESS_DENIED",
    /// 22: the new password is not acceptable.
    InvalidNewPassword = 22 => "INVALID_NEW_PASSWORD",
    /// 23: the ERS reference was not found.
    InvalidErsReference = 23 => "INVALID_ERS_REFERENCE",
    /// 29: the TERMINALID principal is unknown.
    InvalidInitiatorPrincipalId = 29 => "INVALID_INITIATOR_PRINCIPAL_ID",
    /// 30: invalid receiver principal id.
    InvalidReceiverPrincipalId = 30 => "INVALID_RECEIVER_PRINCIPAL_ID",
    /// 31: invalid sender principal id.
    InvalidSenderPrincipalId = 31 => "INVALID_SENDER_PRINCIPAL_ID",
    /// 32: invalid top-up principal id.
    InvalidTopupPrincipalId = 32 => "INVALID_TOPUP_PRINCIPAL_ID",
    /// 33: the initiator is blocked or inactive.
    InvalidInitiatorPrincipalState = 33 => "INVALID_INITIATOR_PRINCIPAL_STATE",
    /// 34: invalid receiver principal state.
    InvalidReceiverPrincipalState = 34 => "INVALID_RECEIVER_PRINCIPAL_STATE",
    /// 35: invalid sender principal state.
    InvalidSenderPrincipalState = 35 => "INVALID_SENDER_PRINCIPAL_STATE",
    /// 36: invalid top-up principal state.
    InvalidTopupPrincipalState = 36 => "INVALID_TOPUP_PRINCIPAL_STATE",
    /// 37: the RESELLERUSER principal is unknown.
    InitiatorPrincipalNotFound = 37 => "INITIATOR_PRINCIPAL_NOT_FOUND",
    /// 38: receiver principal not found.
    ReceiverPrincipalNotFound = 38 => "RECEIVER_PRINCIPAL_NOT_FOUND",
    /// 39: sender principal not found.
    SenderPrincipalNotFound = 39 => "SENDER_PRINCIPAL_NOT_FOUND",
    /// 40: top-up principal not found.
    TopupPrincipalNotFound = 40 => "TOPUP_PRINCIPAL_NOT_FOUND",
    /// 41: invalid product.
    InvalidProduct = 41 => "INVALID_PRODUCT",
    /// 42: invalid receiver account type.
    InvalidReceiverAccountType = 42 => "INVALID_RECEIVER_ACCOUNT_TYPE",
    /// 43: invalid sender account type.
    InvalidSenderAccountType = 43 => "INVALID_SENDER_ACCOUNT_TYPE",
    /// 44: invalid top-up account type.
    InvalidTopupAccountType = 44 => "INVALID_TOPUP_ACCOUNT_TYPE",
    /// 45: receiver account not found.
    ReceiverAccountNotFound = 45 => "RECEIVER_ACCOUNT_NOT_FOUND",
    /// 46: sender account not found.
    SenderAccountNotFound = 46 => "SENDER_ACCOUNT_NOT_FOUND",
    /// 47: top-up account not found.
    TopupAccountNotFound = 47 => "TOPUP_ACCOUNT_NOT_FOUND",
    /// 48: a payment is in progress.
    PaymentInProgress = 48 => "PAYMENT_IN_PROGRESS",
    /// 49: the invoice data is invalid (wrong currency, more than two decimals...).
    InvalidInvoiceData = 49 => "INVALID_INVOICE_DATA",
    /// 50: the invoice is paid and cannot be cancelled.
    CannotCancelPaidInvoice = 50 => "CANNOT_CANCEL_PAID_INVOICE",
    /// 51: the customer is paying; the invoice cannot be cancelled now.
    CannotCancelInvoiceInProgress = 51 => "CANNOT_CANCEL_INVOICE_IN_PROGRESS",
    /// 52: invalid customer.
    InvalidCustomer = 52 => "INVALID_CUSTOMER",
    /// 53: the Glase ID is not alphanumeric or belongs to another terminal.
    InvalidSeqrId = 53 => "INVALID_SEQR_ID",
    /// 54: the invoice reference is unknown for this terminal.
    InvalidInvoiceReference = 54 => "INVALID_INVOICE_REFERENCE",
    /// 55: the payment is already cancelled.
    PaymentAlreadyCancelled = 55 => "PAYMENT_ALREADY_CANCELLED",
    /// 56: registration not possible.
    RegistrationNotPossible = 56 => "REGISTRATION_NOT_POSSIBLE",
    /// 57: the principal to register already exists.
    RegistrationPrincipalAlreadyExists = 57 => "REGISTRATION_PRINCIPAL_ALREADY_EXISTS",
    /// 58: the payment (reservation) expired.
    PaymentExpired = 58 => "PAYMENT_EXPIRED",
    /// 60: the authorization expired.
    AuthorizationExpired = 60 => "AUTHORIZATION_EXPIRED",
    /// 61: the authorization was cancelled.
    AuthorizationCancelled = 61 => "AUTHORIZATION_CANCELLED",
    /// 62: the authorization is in progress.
    AuthorizationInProgress = 62 => "AUTHORIZATION_IN_PROGRESS",
    /// 63: invalid authorization reference.
    InvalidAuthorizationReference = 63 => "INVALID_AUTHORIZATION_REFERENCE",
    /// 64: the notification URL is malformed.
    InvalidNotificationUrl = 64 => "INVALID_NOTIFICATION_URL",
    /// 90: unclassified system error.
    SystemError = 90 => "SYSTEM_ERROR",
    /// 91: the operation is not supported.
    UnsupportedOperation = 91 => "UNSUPPORTED_OPERATION",
    /// 92: license rejection.
    LicenseRejection = 92 => "LICENSE_REJECTION",
    /// 93: the system is busy; back off and retry.
    SystemBusy = 93 => "SYSTEM_BUSY",
    /// 94: an external backend (bank) is unavailable; back off and retry.
    ServiceUnavailable = 94 => "SERVICE_UNAVAILABLE",
    /// 95: the invoice is already cancelled.
    InvoiceAlreadyCanceled = 95 => "INVOICE_ALREADY_CANCELED",
    /// 96: commitReservation on an invoice that is not RESERVED.
    InvoiceStateNotReserved = 96 => "INVOICE_STATE_NOT_RESERVED",
    /// 97: the reseller may not refund.
    ResellerNotAllowedToDoRefund = 97 => "RESELLER_NOT_ALLOWED_TO_DO_REFUND",
    /// 98: the refunds would exceed the original payment.
    SumOfRefundsCanNotBeMoreThanOriginalTransaction = 98
        => "SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION",
    /// 99: the receiver's account does not allow refunds.
    ReceiverAccountDoesNotAllowRefunds = 99 => "RECEIVER_ACCOUNT_DOES_NOT_ALLOW_REFUNDS",
}

impl ResultCode {
    /// The `resultDescription` the server prints for this code: the constant name, the sentence for
    /// 98, and `UNKNOWN ERSWSResultCode = <n>` for unknown numbers.
    pub fn description(&self) -> String {
        match self {
            ResultCode::SumOfRefundsCanNotBeMoreThanOriginalTransaction => {
                "Sum of refunds can not be more than original transaction".to_owned()
            }
            ResultCode::Unknown(code) => format!("UNKNOWN ERSWSResultCode = {code}"),
            known => known.name().unwrap_or_default().to_owned(),
        }
    }

    /// Whether this is `SUCCESS` (0).
    pub fn is_success(&self) -> bool {
        *self == ResultCode::Success
    }
}

// The enum is generated by a macro, where `#[default]` cannot single out one variant.
#[allow(clippy::derivable_impls)]
impl Default for ResultCode {
    fn default() -> Self {
        ResultCode::Success
    }
}

impl From<i32> for ResultCode {
    fn from(code: i32) -> Self {
        ResultCode::from_code(code)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_through_its_number() {
        assert_eq!(ResultCode::ALL.len(), 56);
        for code in ResultCode::ALL {
            assert_eq!(ResultCode::from_code(code.code()), *code);
            assert!(code.name().is_some());
        }
    }

    #[test]
    fn descriptions_match_what_the_server_prints() {
        assert_eq!(ResultCode::Success.description(), "SUCCESS");
        assert_eq!(ResultCode::from_code(49).description(), "INVALID_INVOICE_DATA");
        assert_eq!(
            ResultCode::from_code(98).description(),
            "Sum of refunds can not be more than original transaction"
        );
        assert_eq!(
            ResultCode::from_code(77).description(),
            "UNKNOWN ERSWSResultCode = 77"
        );
        assert_eq!(ResultCode::from_code(-1), ResultCode::Unknown(-1));
        assert_eq!(ResultCode::from_code(58), ResultCode::PaymentExpired);
        assert_eq!(ResultCode::from_code(93).to_string(), "93 (SYSTEM_BUSY)");
    }
}
