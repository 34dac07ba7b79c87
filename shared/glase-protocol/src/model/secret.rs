//! The password type: a secret that never reaches `Debug` output or logs.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// A Glase password (principal password or a new terminal password).
///
/// `Debug` prints a redaction. The clear text is reachable only inside this crate (where the SOAP
/// envelope is written) and through [`Password::verify`], which compares in constant time so that the
/// sandbox can check a presented password without ever holding it as a plain `String`.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a clear-text password.
    pub fn new(clear: impl Into<String>) -> Self {
        Self(SecretString::from(clear.into()))
    }

    /// Whether `candidate` equals this password, compared in constant time.
    pub fn verify(&self, candidate: &Password) -> bool {
        self.verify_str(candidate.expose())
    }

    /// Whether the clear text `candidate` equals this password, compared in constant time.
    pub fn verify_str(&self, candidate: &str) -> bool {
        self.expose().as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The number of characters, for length rules (e.g. "at least 4 characters", code 21).
    pub fn char_count(&self) -> usize {
        self.expose().chars().count()
    }

    /// Whether the password is empty (absent from a decoded request).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// The clear text. Crate-private on purpose: only the envelope writer needs it.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl Default for Password {
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.verify(other)
    }
}

impl Eq for Password {}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_the_password() {
        let p = Password::new("N2YFUhKaB1ZSuVF");
        let shown = format!("{p:?} {:#?}", vec![p.clone()]);
        assert!(!shown.contains("N2YFUhKaB1ZSuVF"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn verify_compares_whole_passwords() {
        let p = Password::new("1234");
        assert!(p.verify_str("1234"));
        assert!(!p.verify_str("123"));
        assert!(!p.verify_str("12345"));
        assert!(!p.verify(&Password::new("4321")));
        assert_eq!(p, Password::from("1234"));
        assert_eq!(p.char_count(), 4);
        assert!(Password::default().is_empty());
    }
}
