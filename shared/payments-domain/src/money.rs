//! Money: integer minor units of an ISO 4217 currency, with checked arithmetic.
//!
//! Glase takes amounts with at most two decimals, so only currencies whose minor unit has exponent 0 or 2
//! are accepted. The conversion to "hundredths" (the integer the Glase boundary formats as `#.##`) lives
//! here so that no other crate ever multiplies minor units by hand.

use std::fmt;

use thiserror::Error;

/// Why a currency code or an amount was refused, or why arithmetic on amounts failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The code is not three uppercase ASCII letters.
    #[error("currency code {0:?} is not three uppercase letters (ISO 4217)")]
    MalformedCurrency(String),
    /// The code is well formed but not in the table of known ISO 4217 currencies.
    #[error("currency {0} is not a known ISO 4217 currency")]
    UnknownCurrency(String),
    /// The currency's minor unit has more than two decimals, which Glase cannot express.
    #[error("currency {code} has {exponent} decimals; Glase accepts at most two")]
    UnsupportedExponent {
        /// The ISO 4217 code.
        code: String,
        /// Its number of decimals.
        exponent: u8,
    },
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: Currency,
        /// The currency of the right operand.
        right: Currency,
    },
    /// The result does not fit in 64 bits.
    #[error("amount overflow")]
    Overflow,
    /// A value in hundredths cannot be expressed in a currency without decimals.
    #[error("{hundredths} hundredths is not a whole amount of {currency}, which has no decimals")]
    FractionalMinorUnit {
        /// The value in hundredths.
        hundredths: i64,
        /// The currency without decimals.
        currency: Currency,
    },
}

/// An ISO 4217 currency from the explicit table below, with a minor-unit exponent of 0 or 2.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// The currencies this crate knows, with the number of decimals of their minor unit (ISO 4217).
/// Entries with three decimals are listed so that they get a precise "unsupported exponent" error
/// instead of "unknown currency".
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

impl Currency {
    /// Swedish krona, Glase's home currency; handy in tests and examples.
    pub const SEK: Currency = Currency {
        code: *b"SEK",
        exponent: 2,
    };
    /// Euro.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };
    /// Japanese yen, a currency without decimals.
    pub const JPY: Currency = Currency {
        code: *b"JPY",
        exponent: 0,
    };

    /// Parses an ISO 4217 code such as `SEK`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(MoneyError::MalformedCurrency(code.to_owned()));
        }
        let Some(&(_, exponent)) = CURRENCIES.iter().find(|(known, _)| *known == code) else {
            return Err(MoneyError::UnknownCurrency(code.to_owned()));
        };
        if exponent != 0 && exponent != 2 {
            return Err(MoneyError::UnsupportedExponent {
                code: code.to_owned(),
                exponent,
            });
        }
        Ok(Currency {
            code: [bytes[0], bytes[1], bytes[2]],
            exponent,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The bytes were checked to be ASCII uppercase letters when the value was built.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The number of decimals of the minor unit: 0 or 2.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl TryFrom<&str> for Currency {
    type Error = MoneyError;
    fn try_from(code: &str) -> Result<Self, Self::Error> {
        Currency::parse(code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in integer minor units (`12550` SEK is 125.50 kr) of one currency. It may be negative
/// (balancing rows of an order); entities that need a positive amount say so in their own types.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` minor units.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in the given currency.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`, refusing other currencies and overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.checked(other, i64::checked_add)
    }

    /// `self - other`, refusing other currencies and overflow.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.checked(other, i64::checked_sub)
    }

    /// `op` of the two amounts' minor units, refusing other currencies and overflow.
    fn checked(&self, other: &Money, op: fn(i64, i64) -> Option<i64>) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = op(self.minor, other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency,
        })
    }

    /// Sums amounts that must all be in `currency`; an empty list sums to zero.
    pub fn checked_sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |sum, amount| sum.checked_add(amount))
    }

    /// The amount in hundredths of the currency's major unit, the integer the Glase boundary prints
    /// with two decimals (`12550` → `125.50`; 5 JPY → `500` → `5.00`).
    pub fn to_hundredths(&self) -> Result<i64, MoneyError> {
        match self.currency.exponent {
            2 => Ok(self.minor),
            _ => self.minor.checked_mul(100).ok_or(MoneyError::Overflow),
        }
    }

    /// The inverse of [`Money::to_hundredths`]: refuses fractions of a currency without decimals.
    pub fn from_hundredths(hundredths: i64, currency: Currency) -> Result<Money, MoneyError> {
        match currency.exponent {
            2 => Ok(Money::new(hundredths, currency)),
            _ if hundredths % 100 == 0 => Ok(Money::new(hundredths / 100, currency)),
            _ => Err(MoneyError::FractionalMinorUnit { hundredths, currency }),
        }
    }
}

impl fmt::Display for Money {
    /// Shows the amount with its decimals and code, e.g. `125.50 SEK` or `-3 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        match self.currency.exponent {
            2 => write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency),
            _ => write!(f, "{sign}{abs} {}", self.currency),
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_code_parses_with_its_exponent() {
        assert_eq!(Currency::parse("SEK").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
    }

    #[test]
    fn lowercase_or_short_codes_are_malformed() {
        for bad in ["sek", "SE", "SEKK", "", "S1K"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::MalformedCurrency(bad.to_owned()))
            );
        }
    }

    #[test]
    fn a_well_formed_but_unknown_code_is_unknown() {
        assert_eq!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".to_owned()))
        );
    }

    #[test]
    fn currencies_with_three_decimals_are_refused_because_glase_takes_two() {
        assert_eq!(
            Currency::parse("KWD"),
            Err(MoneyError::UnsupportedExponent {
                code: "KWD".to_owned(),
                exponent: 3
            })
        );
    }

    #[test]
    fn every_table_entry_is_a_well_formed_code_listed_once() {
        for (i, (code, _)) in CURRENCIES.iter().enumerate() {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code}"
            );
            assert!(
                CURRENCIES[i + 1..].iter().all(|(other, _)| other != code),
                "{code} twice"
            );
        }
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let sek = Money::new(100, Currency::SEK);
        let eur = Money::new(100, Currency::EUR);
        assert_eq!(
            sek.checked_add(&eur),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::SEK,
                right: Currency::EUR
            })
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let max = Money::new(i64::MAX, Currency::SEK);
        assert_eq!(
            max.checked_add(&Money::new(1, Currency::SEK)),
            Err(MoneyError::Overflow)
        );
        let min = Money::new(i64::MIN, Currency::SEK);
        assert_eq!(
            min.checked_sub(&Money::new(1, Currency::SEK)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MAX, Currency::JPY).to_hundredths(),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn sums_add_up_in_one_currency() {
        let amounts = [Money::new(250, Currency::SEK), Money::new(-50, Currency::SEK)];
        assert_eq!(
            Money::checked_sum(Currency::SEK, &amounts),
            Ok(Money::new(200, Currency::SEK))
        );
        assert_eq!(
            Money::checked_sum(Currency::SEK, &[]),
            Ok(Money::zero(Currency::SEK))
        );
    }

    #[test]
    fn hundredths_scale_currencies_without_decimals() {
        assert_eq!(Money::new(12550, Currency::SEK).to_hundredths(), Ok(12550));
        assert_eq!(Money::new(5, Currency::JPY).to_hundredths(), Ok(500));
        assert_eq!(
            Money::from_hundredths(500, Currency::JPY),
            Ok(Money::new(5, Currency::JPY))
        );
        assert_eq!(
            Money::from_hundredths(550, Currency::JPY),
            Err(MoneyError::FractionalMinorUnit {
                hundredths: 550,
                currency: Currency::JPY
            })
        );
    }

    #[test]
    fn display_shows_decimals_and_sign() {
        assert_eq!(Money::new(12550, Currency::SEK).to_string(), "125.50 SEK");
        assert_eq!(Money::new(-5, Currency::SEK).to_string(), "-0.05 SEK");
        assert_eq!(Money::new(7, Currency::JPY).to_string(), "7 JPY");
    }
}
