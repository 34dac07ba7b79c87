//! Merchant API keys: configured as SHA-256 hashes, compared in constant time, never logged.
//!
//! The configuration holds `sha256:<64 hex digits>` entries, separated by commas, so rotating a key is
//! adding the new hash, moving the shop over, and removing the old one. A plain key never needs to be
//! stored by this backend; `hash_api_key` (and the local stack) print the entry for a key.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The accepted API keys, as hashes.
#[derive(Clone)]
pub struct ApiKeys {
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.hashes.len())
    }
}

/// Why a configured hash list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeysError {
    /// No entry at all.
    #[error("no API key hash is configured")]
    Empty,
    /// Entry number `index` (from 1) is not `sha256:` followed by 64 hex digits.
    #[error("entry {index} is not of the form sha256:<64 hex digits>")]
    Malformed { index: usize },
}

/// The configuration entry for `key`: `sha256:` and the hex digest.
pub fn hash_api_key(key: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

impl ApiKeys {
    /// Parses the configured list (`sha256:<hex>[,sha256:<hex>…]`).
    pub fn parse(list: &SecretString) -> Result<Self, ApiKeysError> {
        let mut hashes = Vec::new();
        for (i, entry) in list
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let digits = entry
                .strip_prefix("sha256:")
                .ok_or(ApiKeysError::Malformed { index: i + 1 })?;
            let mut hash = [0u8; 32];
            hex::decode_to_slice(digits, &mut hash).map_err(|_| ApiKeysError::Malformed { index: i + 1 })?;
            hashes.push(hash);
        }
        if hashes.is_empty() {
            return Err(ApiKeysError::Empty);
        }
        Ok(Self { hashes })
    }

    /// No key at all: every merchant request is refused (functions that serve no merchant route).
    pub fn none() -> Self {
        Self { hashes: Vec::new() }
    }

    /// Whether `presented` is one of the keys. Every configured hash is compared, in constant time.
    pub fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        for hash in &self.hashes {
            found |= hash.ct_eq(&digest);
        }
        found.into()
    }

    /// Whether an `Authorization` header value carries an accepted bearer key.
    pub fn accepts_authorization(&self, header: Option<&str>) -> bool {
        match header.and_then(bearer_token) {
            Some(token) => self.accepts(token),
            None => false,
        }
    }
}

/// The token of a `Bearer` authorization header value (scheme matched case-insensitively).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &str) -> Result<ApiKeys, ApiKeysError> {
        ApiKeys::parse(&SecretString::from(list.to_owned()))
    }

    #[test]
    fn a_configured_key_is_accepted_and_others_are_not() {
        let k = keys(&format!(
            "{}, {}",
            hash_api_key("old-key"),
            hash_api_key("new-key")
        ))
        .unwrap();
        assert!(k.accepts("old-key"));
        assert!(k.accepts("new-key"));
        assert!(!k.accepts("new-key "));
        assert!(!k.accepts(""));
    }

    #[test]
    fn the_bearer_header_is_required() {
        let k = keys(&hash_api_key("sk_test")).unwrap();
        assert!(k.accepts_authorization(Some("Bearer sk_test")));
        assert!(k.accepts_authorization(Some("bearer   sk_test")));
        assert!(!k.accepts_authorization(Some("Basic sk_test")));
        assert!(!k.accepts_authorization(Some("sk_test")));
        assert!(!k.accepts_authorization(None));
    }

    #[test]
    fn malformed_or_empty_lists_are_rejected() {
        assert_eq!(keys("").unwrap_err(), ApiKeysError::Empty);
        assert_eq!(keys("md5:abc").unwrap_err(), ApiKeysError::Malformed { index: 1 });
        assert_eq!(
            keys(&format!("{},sha256:zz", hash_api_key("a"))).unwrap_err(),
            ApiKeysError::Malformed { index: 2 }
        );
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let entry = hash_api_key("k").to_uppercase().replacen("SHA256:", "sha256:", 1);
        assert!(keys(&entry).unwrap().accepts("k"));
    }

    #[test]
    fn debug_output_shows_no_hash() {
        let entry = hash_api_key("k");
        let text = format!("{:?}", keys(&entry).unwrap());
        assert_eq!(text, "ApiKeys(1 configured)");
    }
}
