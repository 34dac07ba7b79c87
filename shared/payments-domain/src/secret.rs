//! Secrets handed to clients (the payment's client secret, the notification token in Glase's
//! notificationUrl) and the SHA-256 hashes we keep instead of them.
//!
//! A secret is shown once (in the create answer or the notificationUrl) and never stored: the store keeps
//! its [`SecretHash`], and a presented candidate is checked by hashing it and comparing the two hashes in
//! constant time. No type here prints its content in `Debug` or `Display`.
//!
//! A payment's client secret is derived, not drawn: it is HMAC-SHA256 of the payment id under the
//! server's [`ClientSecretKey`] (`CLIENT_SECRET_KEY`, held by the function that creates payments only),
//! truncated to 128 bits. So an idempotent replay of a create answers the same secret again without any
//! record keeping it, while the payment still stores only the secret's hash: the functions that check a
//! presented secret (status, WebSocket, the till's "try again") never need the key. Changing the key
//! leaves every issued secret valid (their hashes are stored); only a replay of a payment created under
//! the previous key can no longer answer its secret, and says so.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::PaymentId;
use crate::text::TextError;

/// Writes the methods a secret text presented to us shares: `parse`, `expose` (documented by the
/// attributes given), `hash`, and a `Debug` that hides the text.
macro_rules! presented_secret {
    ($name:ident, $field:literal, $(#[$expose:meta])*) => {
        impl $name {
            #[doc = concat!("Wraps a ", $field, " presented to us. It is only ever hashed and compared, so")]
            /// any non-empty text of reasonable length is accepted; a wrong one simply does not match.
            pub fn parse(presented: &str) -> Result<Self, TextError> {
                check_presented($field, presented)?;
                Ok($name(presented.to_owned()))
            }

            $(#[$expose])*
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// The hash to store.
            pub fn hash(&self) -> SecretHash {
                SecretHash::of(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

/// The secret a browser or till uses to read one payment: `cs_` and 32 hex digits (128 bits, derived
/// from the payment id by [`ClientSecretKey::client_secret`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Builds a secret from 16 bytes (random or derived).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        ClientSecret(format!("cs_{}", hex::encode(bytes)))
    }
}

presented_secret!(
    ClientSecret,
    "client secret",
    /// The secret itself, for the one answer that hands it out. Never log it.
);

/// The server-side key that payments' client secrets derive from (`CLIENT_SECRET_KEY`): at least
/// [`ClientSecretKey::MIN_BYTES`] bytes of text. `Debug` hides it.
#[derive(Clone)]
pub struct ClientSecretKey(std::sync::Arc<[u8]>);

impl ClientSecretKey {
    /// The shortest accepted key, in bytes (256 bits).
    pub const MIN_BYTES: usize = 32;

    /// The domain-separation label hashed before the payment id.
    const LABEL: &'static [u8] = b"glase-payments/client-secret/v1\0";

    /// Reads a key from its configured text.
    pub fn parse(key: &str) -> Result<Self, TextError> {
        if key.len() < Self::MIN_BYTES {
            return Err(TextError::Malformed {
                field: "client secret key",
                reason: "expected at least 32 bytes",
            });
        }
        Ok(ClientSecretKey(key.as_bytes().into()))
    }

    /// The client secret of payment `id`: the first 16 bytes of HMAC-SHA256(key, label ‖ id).
    pub fn client_secret(&self, id: &PaymentId) -> ClientSecret {
        // HMAC takes a key of any length, so this never fails.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            unreachable!("HMAC-SHA256 accepts keys of every length")
        };
        mac.update(Self::LABEL);
        mac.update(id.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        ClientSecret::from_random(bytes)
    }
}

impl fmt::Debug for ClientSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecretKey(<redacted>)")
    }
}

/// The token in a payment's notificationUrl (`?token=…`): 32 hex digits, 128 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationToken(String);

impl NotificationToken {
    /// Builds a token from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        NotificationToken(hex::encode(bytes))
    }
}

presented_secret!(
    NotificationToken,
    "notification token",
    /// The token itself, for building the notificationUrl. Never log it.
);

fn check_presented(field: &'static str, presented: &str) -> Result<(), TextError> {
    if presented.is_empty() {
        return Err(TextError::Empty { field });
    }
    if presented.len() > 256 {
        return Err(TextError::TooLong {
            field,
            max: 256,
            actual: presented.chars().count(),
        });
    }
    Ok(())
}

/// The SHA-256 hash of a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a secret.
    pub fn of(secret: &str) -> Self {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// A hash read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretHash(bytes)
    }

    /// The 32 bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case), for adapters that store the hash as text.
    pub fn from_hex(hex: &str) -> Result<Self, TextError> {
        let malformed = TextError::Malformed {
            field: "secret hash",
            reason: "expected 64 hexadecimal digits",
        };
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).map_err(|_| malformed)?;
        Ok(SecretHash(bytes))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// True when `candidate` hashes to this hash. The comparison takes the same time wherever the
    /// hashes differ.
    pub fn verify(&self, candidate: &str) -> bool {
        let candidate = SecretHash::of(candidate);
        bool::from(self.0.ct_eq(&candidate.0))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<sha256>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_verifies_against_its_own_hash_only() {
        let secret = ClientSecret::from_random([7; 16]);
        let hash = secret.hash();
        assert!(hash.verify(secret.expose()));
        assert!(!hash.verify("cs_07070707070707070707070707070706"));
        assert!(!hash.verify(""));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = ClientSecret::from_random([7; 16]);
        let token = NotificationToken::from_random([9; 16]);
        let printed = format!("{secret:?} {token:?} {:?}", secret.hash());
        assert!(!printed.contains("0707"), "{printed}");
        assert!(!printed.contains("0909"), "{printed}");
    }

    #[test]
    fn a_client_secret_derives_from_the_payment_id_under_the_key() {
        let key = ClientSecretKey::parse(&"k".repeat(32)).unwrap();
        let other_key = ClientSecretKey::parse(&"q".repeat(32)).unwrap();
        let id = PaymentId::from_random([1; 16]);
        let other_id = PaymentId::from_random([2; 16]);
        let secret = key.client_secret(&id);
        assert_eq!(secret, key.client_secret(&id));
        assert_ne!(secret, key.client_secret(&other_id));
        assert_ne!(secret, other_key.client_secret(&id));
        let text = secret.expose();
        assert!(text.starts_with("cs_") && text.len() == 35, "{text}");
        assert!(text[3..].bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
        assert_eq!(format!("{key:?}"), "ClientSecretKey(<redacted>)");
    }

    #[test]
    fn a_short_client_secret_key_is_refused() {
        assert!(ClientSecretKey::parse(&"k".repeat(31)).is_err());
        assert!(ClientSecretKey::parse("").is_err());
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = SecretHash::of("abc");
        assert_eq!(
            hash.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(SecretHash::from_hex(&hash.to_hex()), Ok(hash));
        assert!(SecretHash::from_hex("zz").is_err());
    }

    #[test]
    fn hex_hashes_are_64_digits_of_either_case() {
        let hash = SecretHash::of("abc");
        assert_eq!(SecretHash::from_hex(&hash.to_hex().to_uppercase()), Ok(hash));
        assert!(SecretHash::from_hex(&hash.to_hex()[..62]).is_err());
        assert!(SecretHash::from_hex(&format!("{}00", hash.to_hex())).is_err());
        assert!(SecretHash::from_hex(&format!("{}g", &hash.to_hex()[..63])).is_err());
    }

    #[test]
    fn presented_secrets_must_be_non_empty_and_bounded() {
        assert!(ClientSecret::parse("").is_err());
        assert!(NotificationToken::parse(&"a".repeat(257)).is_err());
        assert!(NotificationToken::parse("abc").is_ok());
    }
}
