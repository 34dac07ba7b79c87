//! Identifiers: our own opaque ids (`pay_…`, `re_…`, `term_…`, `per_…`), the references Glase hands
//! out, points in time and the revision counter used for optimistic concurrency.

use std::fmt;
use std::time::Duration;

use crate::text::{TextError, token_text};

/// Checks `<prefix><32 lowercase hex>`.
fn check_prefixed(field: &'static str, prefix: &str, value: &str) -> Result<(), TextError> {
    let Some(rest) = value.strip_prefix(prefix) else {
        return Err(TextError::Malformed {
            field,
            reason: "wrong prefix",
        });
    };
    if rest.len() != 32
        || !rest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(TextError::Malformed {
            field,
            reason: "expected 32 lowercase hexadecimal digits",
        });
    }
    Ok(())
}

/// Declares one of our own prefixed ids.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Parses `<prefix><32 lowercase hex>`.
            pub fn parse(value: &str) -> Result<Self, TextError> {
                check_prefixed($field, $prefix, value)?;
                Ok(Self(value.to_owned()))
            }

            /// Builds an id from 16 random bytes (see [`crate::ports::IdGenerator`]).
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(format!("{}{}", $prefix, hex::encode(bytes)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = TextError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// Our id of a payment: `pay_` and 32 hex digits.
    PaymentId,
    "payment id",
    "pay_"
);
prefixed_id!(
    /// Our id of a refund: `re_` and 32 hex digits.
    RefundId,
    "refund id",
    "re_"
);
prefixed_id!(
    /// Our id of a POS terminal: `term_` and 32 hex digits.
    TerminalId,
    "terminal id",
    "term_"
);
prefixed_id!(
    /// Our id of a reporting period: `per_` and 32 hex digits.
    PeriodId,
    "period id",
    "per_"
);

token_text!(
    /// Glase's reference of an invoice (`invoiceReference`, 13 or 17 digits in the wild).
    InvoiceReference,
    "invoice reference",
    64,
    [],
    "ASCII letters and digits"
);

impl InvoiceReference {
    /// The QR code text of the invoice, `HTTP://SEQR.SE/R<invoiceReference>`.
    pub fn qr_code_url(&self) -> String {
        format!("HTTP://SEQR.SE/R{}", self.0)
    }

    /// The deep link that opens the Glase app on the same phone, `SEQR://SEQR.SE/R<invoiceReference>`.
    pub fn app_url(&self) -> String {
        format!("SEQR://SEQR.SE/R{}", self.0)
    }
}

token_text!(
    /// Glase's reference of a transaction (`ersReference`, 25 digits in the wild): of a payment once it is
    /// paid, or of a refund once it succeeded.
    ErsReference,
    "ersReference",
    64,
    [],
    "ASCII letters and digits"
);
token_text!(
    /// Glase's id of a terminal (`terminalId`, returned by registerTerminal or issued for webshops).
    GlaseTerminalId,
    "Glase terminal id",
    64,
    ['_', '-'],
    "ASCII letters, digits, '_' and '-'"
);
token_text!(
    /// A Glase ID (`seqrId`): the id printed on a terminal's sticker.
    SeqrId,
    "Glase ID",
    32,
    [],
    "ASCII letters and digits"
);

impl SeqrId {
    /// The sticker QR text of the terminal, `HTTP://SEQR.SE/Q<seqrId>`.
    pub fn sticker_qr(&self) -> String {
        format!("HTTP://SEQR.SE/Q{}", self.0)
    }
}

token_text!(
    /// Glase's id of a closed transaction period (`transactionPeriodId`).
    TransactionPeriodId,
    "transaction period id",
    64,
    [],
    "ASCII letters and digits"
);

/// The version counter Glase returns with every payment status (`version`); it grows with each change.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct StatusVersion(u32);

impl StatusVersion {
    /// The version before any status was seen.
    pub const INITIAL: StatusVersion = StatusVersion(0);

    /// A version.
    pub const fn new(version: u32) -> Self {
        StatusVersion(version)
    }

    /// The number.
    pub fn get(&self) -> u32 {
        self.0
    }
}

impl TryFrom<i32> for StatusVersion {
    type Error = TextError;
    /// Glase sends an `int`; a negative one is malformed.
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        u32::try_from(value)
            .map(StatusVersion)
            .map_err(|_| TextError::Malformed {
                field: "version",
                reason: "negative",
            })
    }
}

/// The optimistic-concurrency counter of a stored item. A new item has revision 1; every conditional
/// update writes `revision + 1` and succeeds only when the stored revision is still the one read.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Revision(u64);

impl Revision {
    /// The revision of a freshly created item.
    pub const FIRST: Revision = Revision(1);

    /// A revision read from storage; 0 is not a valid revision.
    pub fn new(value: u64) -> Option<Self> {
        (value > 0).then_some(Revision(value))
    }

    /// The number.
    pub fn get(&self) -> u64 {
        self.0
    }

    /// The revision an update writes. Saturates (2^64 updates of one item do not happen).
    #[must_use]
    pub fn next(&self) -> Revision {
        Revision(self.0.saturating_add(1))
    }
}

/// A point in time in milliseconds since the Unix epoch (UTC). The domain never reads the system clock;
/// it gets `now` from the [`crate::ports::Clock`] port.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i64);

impl Timestamp {
    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down), for TTL attributes.
    pub fn unix_seconds(&self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `self + duration`, saturating at the end of time.
    #[must_use]
    pub fn plus(&self, duration: Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    /// `self - duration`, saturating at the start of time.
    #[must_use]
    pub fn minus(&self, duration: Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(millis))
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn since(&self, earlier: Timestamp) -> Duration {
        let millis = self.0.saturating_sub(earlier.0);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = PaymentId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), "pay_abababababababababababababababab");
        assert_eq!(PaymentId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn an_id_with_the_wrong_prefix_or_body_is_refused() {
        assert!(PaymentId::parse("re_abababababababababababababababab").is_err());
        assert!(PaymentId::parse("pay_ABABABABABABABABABABABABABABABAB").is_err());
        assert!(PaymentId::parse("pay_abab").is_err());
        assert!(RefundId::parse("re_0123456789abcdef0123456789abcdef").is_ok());
    }

    #[test]
    fn invoice_urls_derive_from_the_reference() {
        let reference = InvoiceReference::parse("1397222701693").unwrap();
        assert_eq!(reference.qr_code_url(), "HTTP://SEQR.SE/R1397222701693");
        assert_eq!(reference.app_url(), "SEQR://SEQR.SE/R1397222701693");
        assert_eq!(SeqrId::parse("42").unwrap().sticker_qr(), "HTTP://SEQR.SE/Q42");
    }

    #[test]
    fn glase_references_refuse_punctuation() {
        assert!(InvoiceReference::parse("12 34").is_err());
        assert!(SeqrId::parse("ab-1").is_err());
        assert!(GlaseTerminalId::parse("public_test_shop_terminal").is_ok());
    }

    #[test]
    fn a_negative_status_version_is_malformed() {
        assert!(StatusVersion::try_from(-1).is_err());
        assert_eq!(StatusVersion::try_from(3), Ok(StatusVersion::new(3)));
    }

    #[test]
    fn revisions_start_at_one_and_count_up() {
        assert_eq!(Revision::new(0), None);
        assert_eq!(Revision::FIRST.next().get(), 2);
    }

    #[test]
    fn timestamps_add_and_subtract_durations() {
        let t = Timestamp::from_unix_millis(10_500);
        assert_eq!(t.plus(Duration::from_secs(1)).unix_millis(), 11_500);
        assert_eq!(t.minus(Duration::from_millis(500)).unix_seconds(), 10);
        assert_eq!(
            t.since(Timestamp::from_unix_millis(10_000)),
            Duration::from_millis(500)
        );
        assert_eq!(Timestamp::from_unix_millis(0).since(t), Duration::ZERO);
    }
}
