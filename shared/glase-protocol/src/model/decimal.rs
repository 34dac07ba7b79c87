//! Exact decimal numbers and money amounts.
//!
//! Glase carries every amount, quantity and tax rate as `xs:decimal`. A [`Decimal`] keeps the value as an
//! integer mantissa and a decimal scale, so `93.31000` stays exactly that and never passes through a
//! float. Equality is structural: `1.5` and `1.50` are different representations (they encode to
//! different bytes); use [`Decimal::numeric_eq`] to compare values.

use std::fmt;
use std::str::FromStr;

/// The largest number of fraction digits a [`Decimal`] accepts.
pub const MAX_SCALE: u32 = 28;

/// An exact decimal number: `mantissa × 10^(-scale)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// Why a text is not an acceptable `xs:decimal`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text is not in the `xs:decimal` lexical form (`-12.50`, `+3`, `.5`).
    #[error("not a decimal number")]
    Syntax,
    /// The number has more digits than this crate represents exactly.
    #[error("decimal number out of range")]
    OutOfRange,
}

impl Decimal {
    /// Zero with scale 0.
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// Builds `mantissa × 10^(-scale)`; `None` when `scale` exceeds [`MAX_SCALE`].
    pub fn new(mantissa: i128, scale: u32) -> Option<Self> {
        (scale <= MAX_SCALE).then_some(Self { mantissa, scale })
    }

    /// Builds a whole number (scale 0).
    pub fn from_integer(value: i64) -> Self {
        Self {
            mantissa: i128::from(value),
            scale: 0,
        }
    }

    /// Builds a value from hundredths, always with two fraction digits: `12550` is `125.50`.
    pub fn from_minor_units(minor: i64) -> Self {
        Self {
            mantissa: i128::from(minor),
            scale: 2,
        }
    }

    /// The integer mantissa.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// The number of fraction digits.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The value in hundredths, when it has at most two significant fraction digits and fits an `i64`.
    ///
    /// Trailing zeros do not count: `93.31000` gives `9331`, `1.005` gives `None`.
    pub fn to_minor_units(&self) -> Option<i64> {
        let value = if self.scale <= 2 {
            self.mantissa.checked_mul(10_i128.checked_pow(2 - self.scale)?)?
        } else {
            let divisor = 10_i128.checked_pow(self.scale - 2)?;
            if self.mantissa % divisor != 0 {
                return None;
            }
            self.mantissa / divisor
        };
        i64::try_from(value).ok()
    }

    /// The same value without trailing fraction zeros (`1.50` becomes `1.5`, `2.00` becomes `2`).
    pub fn normalized(&self) -> Self {
        let mut out = *self;
        while out.scale > 0 && out.mantissa % 10 == 0 {
            out.mantissa /= 10;
            out.scale -= 1;
        }
        out
    }

    /// Whether two decimals denote the same number, whatever their scales.
    pub fn numeric_eq(&self, other: &Decimal) -> bool {
        self.normalized() == other.normalized()
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }
}

impl Default for Decimal {
    fn default() -> Self {
        Self::ZERO
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{int}.{frac}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    /// Parses the `xs:decimal` lexical form; surrounding XML whitespace is ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = match body.split_once('.') {
            Some((int, frac)) => (int, frac),
            None => (body, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DecimalError::Syntax);
        }
        let scale = u32::try_from(frac.len()).map_err(|_| DecimalError::OutOfRange)?;
        if scale > MAX_SCALE {
            return Err(DecimalError::OutOfRange);
        }
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(DecimalError::OutOfRange)?;
        }
        if negative {
            mantissa = -mantissa;
        }
        Ok(Self { mantissa, scale })
    }
}

/// A money amount as Glase sends it: an ISO 4217 currency and an exact decimal value.
///
/// Decoding is lenient like the server: an absent `currency` decodes as an empty string and an absent
/// `value` as zero, so the consumer (the sandbox) decides which error code that deserves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Amount {
    /// The ISO 4217 currency code, e.g. `SEK`.
    pub currency: String,
    /// The exact value.
    pub value: Decimal,
}

impl Amount {
    /// Builds an amount from an exact decimal.
    pub fn new(currency: impl Into<String>, value: Decimal) -> Self {
        Self {
            currency: currency.into(),
            value,
        }
    }

    /// Builds an amount from hundredths: `from_minor_units("SEK", 12550)` encodes as `125.50`.
    pub fn from_minor_units(currency: impl Into<String>, minor: i64) -> Self {
        Self::new(currency, Decimal::from_minor_units(minor))
    }

    /// The value in hundredths; `None` with more than two significant decimals or on overflow.
    pub fn to_minor_units(&self) -> Option<i64> {
        self.value.to_minor_units()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_encode_with_two_fraction_digits() {
        assert_eq!(Decimal::from_minor_units(12550).to_string(), "125.50");
        assert_eq!(Decimal::from_minor_units(5).to_string(), "0.05");
        assert_eq!(Decimal::from_minor_units(-5).to_string(), "-0.05");
        assert_eq!(Decimal::from_minor_units(-12345).to_string(), "-123.45");
        assert_eq!(Decimal::from_minor_units(0).to_string(), "0.00");
    }

    #[test]
    fn report_amounts_with_five_decimals_parse_and_convert() {
        let d: Decimal = "93.31000".parse().unwrap();
        assert_eq!(d.to_string(), "93.31000");
        assert_eq!(d.to_minor_units(), Some(9331));
    }

    #[test]
    fn more_than_two_significant_decimals_have_no_minor_units() {
        let d: Decimal = "1.005".parse().unwrap();
        assert_eq!(d.to_minor_units(), None);
        assert_eq!("-2.5".parse::<Decimal>().unwrap().to_minor_units(), Some(-250));
        assert_eq!("500".parse::<Decimal>().unwrap().to_minor_units(), Some(50000));
    }

    #[test]
    fn lexical_forms_of_xs_decimal_are_accepted() {
        for (text, shown) in [
            ("+3", "3"),
            (".5", "0.5"),
            ("5.", "5"),
            (" 7.25\n", "7.25"),
            ("-0.0", "0.0"),
        ] {
            assert_eq!(text.parse::<Decimal>().unwrap().to_string(), shown, "{text}");
        }
    }

    #[test]
    fn malformed_decimals_are_rejected() {
        for text in ["", "-", ".", "1e5", "1.2.3", "NaN", "1,5", "--1", " ", "0x10"] {
            assert_eq!(text.parse::<Decimal>(), Err(DecimalError::Syntax), "{text:?}");
        }
        let long = "9".repeat(60);
        assert_eq!(long.parse::<Decimal>(), Err(DecimalError::OutOfRange));
        let deep = format!("0.{}", "1".repeat(29));
        assert_eq!(deep.parse::<Decimal>(), Err(DecimalError::OutOfRange));
    }

    #[test]
    fn numeric_equality_ignores_trailing_zeros() {
        let a: Decimal = "1.50".parse().unwrap();
        let b: Decimal = "1.5".parse().unwrap();
        assert_ne!(a, b);
        assert!(a.numeric_eq(&b));
        assert_eq!(a.normalized(), b);
    }

    #[test]
    fn minor_unit_conversion_reports_overflow_as_none() {
        let huge = Decimal::new(i128::from(i64::MAX) * 1000, 0).unwrap();
        assert_eq!(huge.to_minor_units(), None);
        assert_eq!(Decimal::new(1, MAX_SCALE + 1), None);
    }
}
