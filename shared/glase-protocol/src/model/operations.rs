//! The twelve merchant operations: one request and one response type each, plus the [`Operation`],
//! [`Request`] and [`Response`] enums over them.

use std::fmt;
use std::str::FromStr;

use super::decimal::Amount;
use super::result_code::ResultCode;
use super::secret::Password;
use super::types::{
    ClientContext, CustomerToken, Invoice, InvoiceStatus, ParameterMap, Receipt, ReceiptDocument, Report,
};

/// A merchant operation of the Glase API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `sendInvoice`: create an invoice.
    SendInvoice,
    /// `updateInvoice`: replace an unpaid invoice's content.
    UpdateInvoice,
    /// `getPaymentStatus`: read (and acknowledge) the invoice status.
    GetPaymentStatus,
    /// `cancelInvoice`: cancel an unpaid invoice.
    CancelInvoice,
    /// `commitReservation`: complete a reserved payment.
    CommitReservation,
    /// `submitPaymentReceipt`: attach a receipt to a payment.
    SubmitPaymentReceipt,
    /// `refundPayment`: refund (part of) a payment.
    RefundPayment,
    /// `registerTerminal`: create a cash-register terminal.
    RegisterTerminal,
    /// `unregisterTerminal`: remove the calling terminal.
    UnregisterTerminal,
    /// `assignSeqrId`: link a sticker id to the terminal.
    AssignSeqrId,
    /// `markTransactionPeriod`: close the current transaction period.
    MarkTransactionPeriod,
    /// `executeReport`: produce a report.
    ExecuteReport,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 12] = [
        Operation::SendInvoice,
        Operation::UpdateInvoice,
        Operation::GetPaymentStatus,
        Operation::CancelInvoice,
        Operation::CommitReservation,
        Operation::SubmitPaymentReceipt,
        Operation::RefundPayment,
        Operation::RegisterTerminal,
        Operation::UnregisterTerminal,
        Operation::AssignSeqrId,
        Operation::MarkTransactionPeriod,
        Operation::ExecuteReport,
    ];

    /// The wire name (the request wrapper element).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::SendInvoice => "sendInvoice",
            Operation::UpdateInvoice => "updateInvoice",
            Operation::GetPaymentStatus => "getPaymentStatus",
            Operation::CancelInvoice => "cancelInvoice",
            Operation::CommitReservation => "commitReservation",
            Operation::SubmitPaymentReceipt => "submitPaymentReceipt",
            Operation::RefundPayment => "refundPayment",
            Operation::RegisterTerminal => "registerTerminal",
            Operation::UnregisterTerminal => "unregisterTerminal",
            Operation::AssignSeqrId => "assignSeqrId",
            Operation::MarkTransactionPeriod => "markTransactionPeriod",
            Operation::ExecuteReport => "executeReport",
        }
    }

    /// The response wrapper element name (`sendInvoiceResponse`).
    pub fn response_name(&self) -> String {
        format!("{}Response", self.name())
    }

    /// The operation whose response wrapper has this name.
    pub fn from_response_name(name: &str) -> Option<Self> {
        name.strip_suffix("Response").and_then(|op| op.parse().ok())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a name that is not a merchant operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Glase operation {0:?}")]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| UnknownOperation(name.to_owned()))
    }
}

macro_rules! request_structs {
    ($($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty,)* })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// The caller's identity and password (`clientContext`).
            pub context: ClientContext,
            $($(#[$fdoc])* pub $field: $ty,)*
        }
    )*};
}

request_structs! {
    /// `sendInvoice(context, invoice, tokens*)`, called by a terminal (TERMINALID).
    SendInvoiceRequest {
        /// The invoice.
        invoice: Option<Invoice>,
        /// Optional loyalty tokens (repeated `<tokens>`).
        tokens: Vec<CustomerToken>,
    }
    /// `updateInvoice(context, invoiceReference, invoice, tokens*)`, called by a terminal (TERMINALID).
    UpdateInvoiceRequest {
        /// The invoice to update.
        invoice_reference: Option<String>,
        /// The new invoice content.
        invoice: Option<Invoice>,
        /// Tokens used in this payment.
        tokens: Vec<CustomerToken>,
    }
    /// `getPaymentStatus(context, invoiceReference, invoiceVersion)`, called by a terminal (TERMINALID).
    GetPaymentStatusRequest {
        /// The invoice.
        invoice_reference: Option<String>,
        /// The last version seen (0 on the first call).
        invoice_version: i32,
    }
    /// `cancelInvoice(context, invoiceReference)`, called by a terminal (TERMINALID).
    CancelInvoiceRequest {
        /// The invoice.
        invoice_reference: Option<String>,
    }
    /// `commitReservation(context, amount?, invoiceReference)`, called by a terminal (TERMINALID).
    CommitReservationRequest {
        /// The final amount (optional).
        amount: Option<Amount>,
        /// The reserved invoice.
        invoice_reference: Option<String>,
    }
    /// `submitPaymentReceipt(context, ersReference, receiptDocument)`, called by a terminal (TERMINALID).
    SubmitPaymentReceiptRequest {
        /// The payment or refund reference.
        ers_reference: Option<String>,
        /// The receipt.
        receipt_document: Option<ReceiptDocument>,
    }
    /// `refundPayment(context, ersReference, invoice)`, called by a terminal (TERMINALID).
    RefundPaymentRequest {
        /// The original payment's reference.
        ers_reference: Option<String>,
        /// The refund description (`totalAmount` = refund amount).
        invoice: Option<Invoice>,
    }
    /// `registerTerminal(context, externalTerminalId, password, name)`, called by the reseller
    /// (RESELLERUSER).
    RegisterTerminalRequest {
        /// The merchant's id for the till.
        external_terminal_id: Option<String>,
        /// The new terminal's password.
        password: Option<Password>,
        /// The name shown on the buyer's phone.
        name: Option<String>,
    }
    /// `unregisterTerminal(context)`, called by the terminal itself.
    UnregisterTerminalRequest {}
    /// `assignSeqrId(context, seqrId)`, called by a terminal (TERMINALID).
    AssignSeqrIdRequest {
        /// The sticker's Glase ID.
        seqr_id: Option<String>,
    }
    /// `markTransactionPeriod(context, parameters?)`, called by a terminal or the reseller.
    MarkTransactionPeriodRequest {
        /// E.g. `TERMINALID=<id>` for per-terminal reconciliation.
        parameters: Option<ParameterMap>,
    }
    /// `executeReport(context, reportId, language?, parameters?)`, called by a terminal or the reseller.
    ExecuteReportRequest {
        /// E.g. `Reconciliation/STD_RECON_002.xml`.
        report_id: Option<String>,
        /// E.g. `en`.
        language: Option<String>,
        /// E.g. `transactionPeriodId=<id>`.
        parameters: Option<ParameterMap>,
    }
}

/// Access to the base response fields (`tns:erswsResponse`) every response carries.
pub trait ResponseBase {
    /// The ERS reference (payment, refund or none).
    fn ers_reference(&self) -> Option<&str>;
    /// The result code.
    fn result_code(&self) -> ResultCode;
    /// The result description.
    fn result_description(&self) -> Option<&str>;
}

macro_rules! response_structs {
    ($($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty,)* })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// The ERS reference (`ersReference`), absent for most operations.
            pub ers_reference: Option<String>,
            /// The result code (`resultCode`).
            pub result_code: ResultCode,
            /// The result description (`resultDescription`).
            pub result_description: Option<String>,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            /// A response with this code, its server description and no other content.
            pub fn with_code(code: ResultCode) -> Self {
                Self { result_description: Some(code.description()), result_code: code, ..Self::default() }
            }
        }

        impl ResponseBase for $name {
            fn ers_reference(&self) -> Option<&str> {
                self.ers_reference.as_deref()
            }
            fn result_code(&self) -> ResultCode {
                self.result_code
            }
            fn result_description(&self) -> Option<&str> {
                self.result_description.as_deref()
            }
        }
    )*};
}

response_structs! {
    /// `erswsSendInvoiceResponse`.
    SendInvoiceResponse {
        /// `HTTP://SEQR.SE/R<invoiceReference>`.
        invoice_qr_code: Option<String>,
        /// The new invoice's reference.
        invoice_reference: Option<String>,
    }
    /// `erswsResponse` of updateInvoice.
    UpdateInvoiceResponse {}
    /// `erswsPaymentStatusResponse`.
    GetPaymentStatusResponse {
        /// The invoice status.
        status: Option<InvoiceStatus>,
        /// The receipt when PAID.
        receipt: Option<Receipt>,
        /// Tokens inside `<customerTokens>`; `Some(empty)` for an empty `<customerTokens/>`.
        customer_tokens: Option<Vec<CustomerToken>>,
        /// The invoice version.
        version: i32,
    }
    /// `erswsResponse` of cancelInvoice.
    CancelInvoiceResponse {}
    /// `erswsResponse` of commitReservation.
    CommitReservationResponse {}
    /// `erswsResponse` of submitPaymentReceipt.
    SubmitPaymentReceiptResponse {}
    /// `erswsResponse` of refundPayment (`ersReference` = the refund's reference).
    RefundPaymentResponse {}
    /// `erswsRegisterTerminalResponse`.
    RegisterTerminalResponse {
        /// The new terminal id.
        terminal_id: Option<String>,
    }
    /// `erswsResponse` of unregisterTerminal.
    UnregisterTerminalResponse {}
    /// `erswsResponse` of assignSeqrId.
    AssignSeqrIdResponse {}
    /// `erswsMarkTransactionPeriodResponse`.
    MarkTransactionPeriodResponse {
        /// The closed period's id.
        transaction_period_id: Option<String>,
    }
    /// `erswsExecuteReportResponse`.
    ExecuteReportResponse {
        /// The report.
        report: Option<Report>,
    }
}

macro_rules! operation_enums {
    ($($variant:ident($req:ident, $resp:ident),)*) => {
        /// A request of any operation.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Request {
            $(#[doc = concat!("A `", stringify!($req), "`.")] $variant($req),)*
        }

        /// A response of any operation.
        // A paid getPaymentStatus response carries a whole invoice; one response exists per call, so
        // the size difference costs nothing worth boxing for.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Response {
            $(#[doc = concat!("A `", stringify!($resp), "`.")] $variant($resp),)*
        }

        impl Request {
            /// The operation.
            pub fn operation(&self) -> Operation {
                match self {
                    $(Request::$variant(_) => Operation::$variant,)*
                }
            }

            /// The client context.
            pub fn context(&self) -> &ClientContext {
                match self {
                    $(Request::$variant(r) => &r.context,)*
                }
            }
        }

        impl Response {
            /// The operation.
            pub fn operation(&self) -> Operation {
                match self {
                    $(Response::$variant(_) => Operation::$variant,)*
                }
            }

            /// A response of `operation` with this code, its description and no other content.
            pub fn with_code(operation: Operation, code: ResultCode) -> Self {
                match operation {
                    $(Operation::$variant => Response::$variant($resp::with_code(code)),)*
                }
            }

            fn base(&self) -> &dyn ResponseBase {
                match self {
                    $(Response::$variant(r) => r,)*
                }
            }
        }

        $(
            impl From<$req> for Request {
                fn from(value: $req) -> Self {
                    Request::$variant(value)
                }
            }

            impl From<$resp> for Response {
                fn from(value: $resp) -> Self {
                    Response::$variant(value)
                }
            }

            impl TryFrom<Response> for $resp {
                type Error = Response;

                fn try_from(value: Response) -> Result<Self, Self::Error> {
                    match value {
                        Response::$variant(inner) => Ok(inner),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

operation_enums! {
    SendInvoice(SendInvoiceRequest, SendInvoiceResponse),
    UpdateInvoice(UpdateInvoiceRequest, UpdateInvoiceResponse),
    GetPaymentStatus(GetPaymentStatusRequest, GetPaymentStatusResponse),
    CancelInvoice(CancelInvoiceRequest, CancelInvoiceResponse),
    CommitReservation(CommitReservationRequest, CommitReservationResponse),
    SubmitPaymentReceipt(SubmitPaymentReceiptRequest, SubmitPaymentReceiptResponse),
    RefundPayment(RefundPaymentRequest, RefundPaymentResponse),
    RegisterTerminal(RegisterTerminalRequest, RegisterTerminalResponse),
    UnregisterTerminal(UnregisterTerminalRequest, UnregisterTerminalResponse),
    AssignSeqrId(AssignSeqrIdRequest, AssignSeqrIdResponse),
    MarkTransactionPeriod(MarkTransactionPeriodRequest, MarkTransactionPeriodResponse),
    ExecuteReport(ExecuteReportRequest, ExecuteReportResponse),
}

impl ResponseBase for Response {
    fn ers_reference(&self) -> Option<&str> {
        self.base().ers_reference()
    }
    fn result_code(&self) -> ResultCode {
        self.base().result_code()
    }
    fn result_description(&self) -> Option<&str> {
        self.base().result_description()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_parse_back() {
        for op in Operation::ALL {
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
            assert_eq!(Operation::from_response_name(&op.response_name()), Some(op));
        }
        assert_eq!(
            "benchmarkingNop".parse::<Operation>(),
            Err(UnknownOperation("benchmarkingNop".into()))
        );
        assert_eq!(Operation::from_response_name("sendInvoice"), None);
    }

    #[test]
    fn with_code_fills_the_server_description() {
        let r = Response::with_code(Operation::RefundPayment, ResultCode::from_code(98));
        assert_eq!(r.operation(), Operation::RefundPayment);
        assert_eq!(r.result_code().code(), 98);
        assert_eq!(
            r.result_description(),
            Some("Sum of refunds can not be more than original transaction")
        );
        assert!(SendInvoiceResponse::try_from(r.clone()).is_err());
        assert!(RefundPaymentResponse::try_from(r).is_ok());
    }
}
