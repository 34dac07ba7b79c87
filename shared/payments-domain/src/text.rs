//! Bounded text fields: each newtype knows its field name and maximum length, refuses empty values and
//! control characters, and keeps the text exactly as given.

use thiserror::Error;

/// Why a text field was refused. `field` is the public name of the field (for messages).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    /// The value is empty or only whitespace.
    #[error("{field} must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// The value has more characters than allowed.
    #[error("{field} has {actual} characters; at most {max} are allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
        /// The length of the value.
        actual: usize,
    },
    /// The value contains a control character (newline, tab, NUL, ...).
    #[error("{field} must not contain control characters")]
    ControlCharacter {
        /// The field.
        field: &'static str,
    },
    /// The value contains a character outside the field's alphabet.
    #[error("{field} contains {found:?}; allowed are {allowed}")]
    InvalidCharacter {
        /// The field.
        field: &'static str,
        /// The first offending character.
        found: char,
        /// A description of the alphabet.
        allowed: &'static str,
    },
    /// The value does not have the required shape (prefix, length, scheme).
    #[error("{field} is malformed: {reason}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is expected.
        reason: &'static str,
    },
}

/// Checks the rules shared by every free-text field.
pub(crate) fn check_free_text(field: &'static str, value: &str, max: usize) -> Result<(), TextError> {
    if value.trim().is_empty() {
        return Err(TextError::Empty { field });
    }
    let actual = value.chars().count();
    if actual > max {
        return Err(TextError::TooLong { field, max, actual });
    }
    if value.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter { field });
    }
    Ok(())
}

/// Checks a token-like field: 1..=max characters from `[A-Za-z0-9]` plus the `extra` characters.
pub(crate) fn check_token(
    field: &'static str,
    value: &str,
    max: usize,
    extra: &[char],
    allowed: &'static str,
) -> Result<(), TextError> {
    if value.is_empty() {
        return Err(TextError::Empty { field });
    }
    let actual = value.chars().count();
    if actual > max {
        return Err(TextError::TooLong { field, max, actual });
    }
    if let Some(found) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !extra.contains(c))
    {
        return Err(TextError::InvalidCharacter {
            field,
            found,
            allowed,
        });
    }
    Ok(())
}

/// What every text newtype has beside its `parse`: `as_str`, `TryFrom<&str>` (through `parse`),
/// `Display` (the text) and a `Debug` that names the type.
macro_rules! text_newtype_impls {
    ($name:ident) => {
        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::text::TextError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

/// Declares a free-text newtype with a private field, `parse`, `as_str`, `TryFrom<&str>` and `Display`.
macro_rules! free_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The maximum number of characters.
            pub const MAX_CHARS: usize = $max;

            /// Parses the value, refusing empty, too long or control-character text.
            pub fn parse(value: &str) -> Result<Self, $crate::text::TextError> {
                $crate::text::check_free_text($field, value, $max)?;
                Ok(Self(value.to_owned()))
            }
        }

        $crate::text::text_newtype_impls!($name);
    };
}

/// Declares a token newtype (ASCII letters, digits and the given extra characters).
macro_rules! token_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, [$($extra:literal),*], $allowed:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The maximum number of characters.
            pub const MAX_CHARS: usize = $max;

            /// Parses the value, refusing empty, too long or out-of-alphabet text.
            pub fn parse(value: &str) -> Result<Self, $crate::text::TextError> {
                $crate::text::check_token($field, value, $max, &[$($extra),*], $allowed)?;
                Ok(Self(value.to_owned()))
            }
        }

        $crate::text::text_newtype_impls!($name);
    };
}

pub(crate) use free_text;
pub(crate) use text_newtype_impls;
pub(crate) use token_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_blank_long_and_control_characters() {
        assert_eq!(
            check_free_text("title", "  ", 5),
            Err(TextError::Empty { field: "title" })
        );
        assert_eq!(
            check_free_text("title", "abcdef", 5),
            Err(TextError::TooLong {
                field: "title",
                max: 5,
                actual: 6
            })
        );
        assert_eq!(
            check_free_text("title", "a\nb", 5),
            Err(TextError::ControlCharacter { field: "title" })
        );
        assert_eq!(check_free_text("title", "åäö", 3), Ok(()));
    }

    #[test]
    fn tokens_accept_only_their_alphabet() {
        assert_eq!(check_token("id", "ab_1", 8, &['_'], "letters"), Ok(()));
        assert_eq!(
            check_token("id", "ab-1", 8, &['_'], "letters"),
            Err(TextError::InvalidCharacter {
                field: "id",
                found: '-',
                allowed: "letters"
            })
        );
        assert_eq!(
            check_token("id", "", 8, &[], "letters"),
            Err(TextError::Empty { field: "id" })
        );
    }
}
