//! The data types shared by the operations: context, principals, invoices, tokens, receipts, reports.
//!
//! Field names follow the wire names in Rust spelling. Every schema element with `minOccurs="0"` is an
//! `Option` (absent stays absent on a round trip), repeated elements are `Vec`s (absent means empty),
//! and schema primitives (`xs:int`, `xs:long` without `minOccurs="0"`) are plain integers that decode
//! as 0 when absent, as the server does.

use super::decimal::Amount;
use super::decimal::Decimal;
use super::secret::Password;

macro_rules! wire_enum {
    ($(#[$outer:meta])* $name:ident { $($(#[$doc:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$outer])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
            /// A value this crate does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every known value.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Unknown(other) => other,
                }
            }

            /// Parses a wire value; unknown values are kept in `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// How the invoice is to be paid (`tns:paymentMode`).
    PaymentMode {
        /// Debit at once (the standard).
        ImmediateDebit => "IMMEDIATE_DEBIT",
        /// Try to reserve; fall back to an immediate debit.
        ReservationDesired => "RESERVATION_DESIRED",
        /// Reserve the amount; commitReservation completes the payment.
        ReservationRequired => "RESERVATION_REQUIRED",
        /// Reserve a preliminary maximum; commitReservation carries the final amount.
        ReservationRequiredPreliminaryAmount => "RESERVATION_REQUIRED_PRELIMINARY_AMOUNT",
    }
}

wire_enum! {
    /// Whether the merchant must acknowledge the identified customer (`tns:acknowledgmentMode`).
    AcknowledgmentMode {
        /// No acknowledgment (use unless you run a loyalty flow).
        NoAcknowledgment => "NO_ACKNOWLEDGMENT",
        /// Acknowledge only when the customer has loyalty tokens.
        OptionalAcknowledgment => "OPTIONAL_ACKNOWLEDGMENT",
        /// Always acknowledge.
        RequireAcknowledgment => "REQUIRE_ACKNOWLEDGMENT",
    }
}

wire_enum! {
    /// The status of an invoice (`tns:invoiceStatus`).
    InvoiceStatus {
        /// Issued, waiting for payment.
        Issued => "ISSUED",
        /// Paid (final once acknowledged by getPaymentStatus).
        Paid => "PAID",
        /// Waiting for the merchant to acknowledge the identified customer.
        PendingIssuerAcknowledge => "PENDING_ISSUER_ACKNOWLEDGE",
        /// Cancelled.
        Canceled => "CANCELED",
        /// The payment failed.
        Failed => "FAILED",
        /// The amount is reserved, awaiting commitReservation.
        Reserved => "RESERVED",
        /// Expired (2.10+).
        Expired => "EXPIRED",
        /// Partially paid (documented, never in a schema).
        PartiallyPaid => "PARTIALLY_PAID",
    }
}

impl InvoiceStatus {
    /// Whether the status can still change without merchant action (`ISSUED`, `PENDING_ISSUER_ACKNOWLEDGE`,
    /// `RESERVED`).
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            InvoiceStatus::Issued | InvoiceStatus::PendingIssuerAcknowledge | InvoiceStatus::Reserved
        )
    }
}

/// The kind of a principal (`principalId.type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// `TERMINALID`: a terminal identified by its terminal id.
    TerminalId,
    /// `RESELLERUSER`: a reseller (shop) user, with `userId`.
    ResellerUser,
    /// Any other spelling, kept verbatim (including an absent or empty type, kept as "").
    Other(String),
}

impl PrincipalType {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            PrincipalType::TerminalId => "TERMINALID",
            PrincipalType::ResellerUser => "RESELLERUSER",
            PrincipalType::Other(other) => other,
        }
    }

    /// Parses a wire value.
    pub fn from_wire(value: &str) -> Self {
        match value {
            "TERMINALID" => PrincipalType::TerminalId,
            "RESELLERUSER" => PrincipalType::ResellerUser,
            other => PrincipalType::Other(other.to_owned()),
        }
    }
}

/// Who acts (`tns:principalId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrincipalId {
    /// The terminal id or reseller id (empty when absent from a decoded request).
    pub id: String,
    /// The principal kind.
    pub kind: PrincipalType,
    /// The reseller user id (`9900` in every example); unused for terminals.
    pub user_id: Option<String>,
}

impl PrincipalId {
    /// A `TERMINALID` principal.
    pub fn terminal(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: PrincipalType::TerminalId,
            user_id: None,
        }
    }

    /// A `RESELLERUSER` principal.
    pub fn reseller(id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: PrincipalType::ResellerUser,
            user_id: Some(user_id.into()),
        }
    }
}

impl Default for PrincipalId {
    fn default() -> Self {
        Self {
            id: String::new(),
            kind: PrincipalType::Other(String::new()),
            user_id: None,
        }
    }
}

/// The first child of every request (`tns:clientContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientContext {
    /// The channel, e.g. `WS` (max 40 characters).
    pub channel: Option<String>,
    /// A free comment (max 80 characters).
    pub client_comment: Option<String>,
    /// Identifies the client software.
    pub client_id: Option<String>,
    /// The client's own request reference (max 32 characters, not checked by the service).
    pub client_reference: Option<String>,
    /// Server-side timeout in milliseconds; must be 0.
    pub client_request_timeout: i64,
    /// The acting principal.
    pub initiator: PrincipalId,
    /// The initiator's password.
    pub password: Password,
}

impl ClientContext {
    /// A `TERMINALID` context with channel `WS` and timeout 0.
    pub fn terminal(terminal_id: impl Into<String>, password: Password) -> Self {
        Self::with_principal(PrincipalId::terminal(terminal_id), password)
    }

    /// A `RESELLERUSER` context with channel `WS` and timeout 0.
    pub fn reseller(reseller_id: impl Into<String>, user_id: impl Into<String>, password: Password) -> Self {
        Self::with_principal(PrincipalId::reseller(reseller_id, user_id), password)
    }

    fn with_principal(initiator: PrincipalId, password: Password) -> Self {
        Self {
            channel: Some("WS".to_owned()),
            client_comment: None,
            client_id: None,
            client_reference: None,
            client_request_timeout: 0,
            initiator,
            password,
        }
    }

    /// Sets `clientId` (builder style).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets `clientReference` (builder style).
    pub fn with_client_reference(mut self, reference: impl Into<String>) -> Self {
        self.client_reference = Some(reference.into());
        self
    }
}

/// An invoice (`tns:invoice`), fields in WSDL order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invoice {
    /// How the invoice is paid.
    pub payment_mode: Option<PaymentMode>,
    /// Whether the merchant acknowledges the identified customer.
    pub acknowledgment_mode: Option<AcknowledgmentMode>,
    /// Creation time as the `xs:dateTime` text, e.g. `2015-12-25T12:34:56` (kept verbatim).
    pub issue_date: Option<String>,
    /// Shown on the bill and the receipt.
    pub title: Option<String>,
    /// The merchant's own invoice id.
    pub client_invoice_id: Option<String>,
    /// The rows, inside `<invoiceRows>`; `None` when the wrapper is absent.
    pub invoice_rows: Option<Vec<InvoiceRow>>,
    /// The amount to pay.
    pub total_amount: Option<Amount>,
    /// The cashier.
    pub cashier_id: Option<String>,
    /// Receipt footer text.
    pub footer: Option<String>,
    /// The URL the app opens after payment or cancel.
    pub back_url: Option<String>,
    /// The URL Glase calls when the invoice is paid.
    pub notification_url: Option<String>,
    /// Seconds within which a reservation may be committed.
    pub commit_reservation_timeout: Option<i64>,
}

/// An invoice row (`tns:paymentInvoiceRow`), fields in WSDL order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvoiceRow {
    /// Item text.
    pub item_description: Option<String>,
    /// Discount on the row.
    pub item_discount: Option<Amount>,
    /// EAN code.
    pub item_ean: Option<String>,
    /// Quantity (decimal, e.g. `1.5` kg).
    pub item_quantity: Option<Decimal>,
    /// SKU.
    pub item_sku: Option<String>,
    /// VAT percent.
    pub item_tax_rate: Option<Decimal>,
    /// Row total.
    pub item_total_amount: Option<Amount>,
    /// Unit (`EA`, `kg`, or empty).
    pub item_unit: Option<String>,
    /// Unit price.
    pub item_unit_price: Option<Amount>,
}

/// A loyalty token (`tns:customerToken`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerToken {
    /// Token description.
    pub description: Option<String>,
    /// Token type id.
    pub id: Option<String>,
    /// 0 pending, 1 used, 90 blocked, 99 invalid.
    pub status: i32,
    /// Token value (e.g. card number).
    pub value: Option<String>,
}

/// The receipt of a paid invoice (`tns:receipt`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// The issuing terminal.
    pub terminal_id: Option<String>,
    /// Payment time as the `xs:dateTime` text (kept verbatim).
    pub payment_date: Option<String>,
    /// The merchant's invoice id.
    pub client_invoice_id: Option<String>,
    /// The invoice reference.
    pub invoice_reference: Option<String>,
    /// The 25-digit payment reference.
    pub payment_reference: Option<String>,
    /// The payer's wallet id.
    pub payer_terminal_id: Option<String>,
    /// The invoice issuer's name.
    pub receiver_name: Option<String>,
    /// The paid invoice.
    pub invoice: Option<Invoice>,
}

/// A report (`tns:report`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Report title.
    pub title: Option<String>,
    /// MIME type (`text/html` even for XML content).
    pub mime_type: Option<String>,
    /// The document bytes (base64 on the wire).
    pub content: Option<Vec<u8>>,
    /// The document as text.
    pub content_string: Option<String>,
}

/// A receipt attached to a payment (`tns:receiptDocument`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptDocument {
    /// MIME type.
    pub mime_type: Option<String>,
    /// The document bytes (base64 on the wire).
    pub receipt_data: Option<Vec<u8>>,
    /// `PAYMENT_RECEIPT`, `WARRANTY`, `VOUCHER` or `OTHER`.
    pub receipt_type: Option<String>,
}

/// Ordered key/value parameters (`tns:parameterMap` → `parameter` → `entry*`).
///
/// An absent `key` or `value` inside an entry decodes as an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterMap {
    /// The entries in wire order.
    pub entries: Vec<(String, String)>,
}

impl ParameterMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.entries.push((key.into(), value.into()));
        self
    }

    /// The value of the first entry with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_constructors_use_the_documented_defaults() {
        let t = ClientContext::terminal("t1", Password::new("pw"));
        assert_eq!(t.channel.as_deref(), Some("WS"));
        assert_eq!(t.client_request_timeout, 0);
        assert_eq!(t.initiator.kind.as_str(), "TERMINALID");
        assert_eq!(t.initiator.user_id, None);
        let r = ClientContext::reseller("shop", "9900", Password::new("pw")).with_client_id("glase");
        assert_eq!(r.initiator.kind, PrincipalType::ResellerUser);
        assert_eq!(r.initiator.user_id.as_deref(), Some("9900"));
        assert_eq!(r.client_id.as_deref(), Some("glase"));
        assert!(!format!("{r:?}").contains("pw\""));
    }

    #[test]
    fn wire_enums_keep_unknown_values() {
        assert_eq!(InvoiceStatus::from_wire("PAID"), InvoiceStatus::Paid);
        assert_eq!(InvoiceStatus::from_wire("EXPIRED").as_str(), "EXPIRED");
        assert_eq!(
            InvoiceStatus::from_wire("LATER"),
            InvoiceStatus::Unknown("LATER".into())
        );
        assert_eq!(InvoiceStatus::KNOWN.len(), 8);
        assert_eq!(PaymentMode::from_wire("X").as_str(), "X");
        assert_eq!(
            PrincipalType::from_wire("RESELLERMSISDN").as_str(),
            "RESELLERMSISDN"
        );
        assert!(InvoiceStatus::Issued.is_open());
        assert!(!InvoiceStatus::Paid.is_open());
    }

    #[test]
    fn parameter_map_keeps_order_and_finds_first_key() {
        let m = ParameterMap::new()
            .with("transactionPeriodId", "1")
            .with("TERMINALID", "t")
            .with("TERMINALID", "u");
        assert_eq!(m.get("TERMINALID"), Some("t"));
        assert_eq!(m.get("missing"), None);
        assert_eq!(m.entries[0].0, "transactionPeriodId");
    }
}
