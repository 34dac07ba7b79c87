//! The message envelope: the only place that knows what an SQS message body of the refund queue looks
//! like.
//!
//! A body is a small versioned JSON object that carries ids only:
//!
//! ```json
//! {"v":1,"kind":"refund","payment_id":"pay_…","refund_id":"re_…"}
//! ```
//!
//! It never carries an amount, a reason or a secret: the worker reloads the refund from the store, so a
//! forged or replayed message can at worst make the worker re-check a refund that is already settled.
//! Decoding is strict. A body that is not JSON, is too large, has another version or kind, lacks a field,
//! has a field this version does not define, or carries an id of the wrong shape is an [`EnvelopeError`]:
//! a poison message, which the worker reports as failed so the queue's redrive policy moves it to the
//! dead-letter queue. A new field or a new meaning is a new version.

use payments_domain::ids::{PaymentId, RefundId};
use payments_domain::ports::RefundMessage;
use payments_domain::text::TextError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The envelope version this code writes and the only one it reads.
pub const ENVELOPE_VERSION: u64 = 1;

/// The `kind` of a refund message.
pub const KIND_REFUND: &str = "refund";

/// The largest body the decoder looks at. A real envelope is about 110 bytes; anything far larger is not
/// ours and is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 1024;

/// Why a message body is not a refund message this code understands. The errors never repeat the body
/// (it may be forged), only what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvelopeError {
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("the message body has {actual} bytes; at most {max} are allowed")]
    TooLarge {
        /// The body's length in bytes.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not a JSON object of the envelope's shape (syntax error, wrong type, missing or
    /// unknown field).
    #[error("the message body is not a valid envelope: {reason}")]
    Malformed {
        /// What the JSON parser found wrong (position and field, never the body itself).
        reason: String,
    },
    /// The envelope has a version this code does not read.
    #[error("the message envelope has version {version}; this code reads version {ENVELOPE_VERSION}")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// The envelope has a kind this queue does not carry.
    #[error("the message envelope has kind {kind:?}; this queue carries {KIND_REFUND:?} only")]
    UnknownKind {
        /// The kind found, cut to 32 characters.
        kind: String,
    },
    /// An id has the wrong shape.
    #[error("the message envelope has an invalid {field}: {source}")]
    InvalidId {
        /// `payment_id` or `refund_id`.
        field: &'static str,
        /// Why the id was refused.
        source: TextError,
    },
}

/// The version and kind, read first so an unknown version is reported as such rather than as a shape
/// the current version does not have.
#[derive(Deserialize)]
struct Header {
    v: u64,
    kind: String,
}

/// The whole version 1 refund envelope, as written and as read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundEnvelopeV1<'a> {
    v: u64,
    kind: &'a str,
    payment_id: &'a str,
    refund_id: &'a str,
}

/// Encodes a refund message as the body of an SQS message.
pub fn encode_refund(message: &RefundMessage) -> String {
    let envelope = RefundEnvelopeV1 {
        v: ENVELOPE_VERSION,
        kind: KIND_REFUND,
        payment_id: message.payment_id.as_str(),
        refund_id: message.refund_id.as_str(),
    };
    // Serialising a struct of plain strings and an integer cannot fail; the fallback is never taken, and
    // it would still produce a body the decoder refuses rather than a panic in a Lambda.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// Decodes the body of an SQS message (e.g. an SQS event record's `body`) into a refund message.
pub fn decode_refund(body: &str) -> Result<RefundMessage, EnvelopeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::TooLarge {
            actual: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    let header: Header = serde_json::from_str(body).map_err(malformed)?;
    if header.v != ENVELOPE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion { version: header.v });
    }
    if header.kind != KIND_REFUND {
        return Err(EnvelopeError::UnknownKind {
            kind: header.kind.chars().take(32).collect(),
        });
    }
    // Ids are plain ASCII, so a borrowed `&str` always works; an escaped id would not be one of ours and
    // fails here as malformed.
    let envelope: RefundEnvelopeV1<'_> = serde_json::from_str(body).map_err(malformed)?;
    let payment_id = PaymentId::parse(envelope.payment_id).map_err(|source| EnvelopeError::InvalidId {
        field: "payment_id",
        source,
    })?;
    let refund_id = RefundId::parse(envelope.refund_id).map_err(|source| EnvelopeError::InvalidId {
        field: "refund_id",
        source,
    })?;
    Ok(RefundMessage {
        payment_id,
        refund_id,
    })
}

fn malformed(error: serde_json::Error) -> EnvelopeError {
    // serde_json's messages name the field and position but quote at most a field name or a type, so
    // nothing of a value (which could be anything a forger chose) is repeated. Cut them anyway.
    EnvelopeError::Malformed {
        reason: error.to_string().chars().take(160).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> RefundMessage {
        RefundMessage {
            payment_id: PaymentId::from_random([0x1a; 16]),
            refund_id: RefundId::from_random([0x2b; 16]),
        }
    }

    #[test]
    fn a_refund_message_round_trips_through_its_body() {
        let message = message();
        assert_eq!(decode_refund(&encode_refund(&message)), Ok(message));
    }

    #[test]
    fn the_body_is_versioned_json_with_ids_only() {
        let body = encode_refund(&message());
        assert_eq!(
            body,
            r#"{"v":1,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"}"#
        );
    }

    #[test]
    fn field_order_and_whitespace_do_not_matter() {
        let body = r#" { "refund_id" : "re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b",
            "payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a", "kind":"refund", "v":1 } "#;
        assert_eq!(decode_refund(body), Ok(message()));
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        for body in ["", "hello", "{", "[1,2]", "null", "{\"v\":1,\"kind\":\"refund\""] {
            assert!(
                matches!(decode_refund(body), Err(EnvelopeError::Malformed { .. })),
                "{body:?}: {:?}",
                decode_refund(body)
            );
        }
    }

    #[test]
    fn another_version_is_refused_as_unsupported() {
        let body = r#"{"v":2,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"}"#;
        assert_eq!(
            decode_refund(body),
            Err(EnvelopeError::UnsupportedVersion { version: 2 })
        );
        // A later version may change the shape entirely; it is still reported by its version.
        assert_eq!(
            decode_refund(r#"{"v":0,"kind":"refund"}"#),
            Err(EnvelopeError::UnsupportedVersion { version: 0 })
        );
    }

    #[test]
    fn a_version_that_is_not_a_number_is_malformed() {
        let body = r#"{"v":"1","kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"}"#;
        assert!(matches!(
            decode_refund(body),
            Err(EnvelopeError::Malformed { .. })
        ));
    }

    #[test]
    fn another_kind_is_refused_as_unknown_and_cut_short() {
        let body = r#"{"v":1,"kind":"payout","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"}"#;
        assert_eq!(
            decode_refund(body),
            Err(EnvelopeError::UnknownKind {
                kind: "payout".to_owned()
            })
        );
        let long = format!(r#"{{"v":1,"kind":"{}"}}"#, "k".repeat(200));
        let Err(EnvelopeError::UnknownKind { kind }) = decode_refund(&long) else {
            panic!("a long kind is an unknown kind");
        };
        assert_eq!(kind.len(), 32);
    }

    #[test]
    fn a_missing_field_is_malformed() {
        let body = r#"{"v":1,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a"}"#;
        let Err(EnvelopeError::Malformed { reason }) = decode_refund(body) else {
            panic!("a missing refund id is malformed");
        };
        assert!(reason.contains("refund_id"), "{reason}");
    }

    #[test]
    fn an_amount_or_any_other_extra_field_is_refused() {
        let body = r#"{"v":1,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b","amount":100000}"#;
        let Err(EnvelopeError::Malformed { reason }) = decode_refund(body) else {
            panic!("an extra field is malformed");
        };
        assert!(reason.contains("amount"), "{reason}");
    }

    #[test]
    fn ids_of_the_wrong_shape_are_invalid_ids() {
        let swapped = r#"{"v":1,"kind":"refund","payment_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b","refund_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a"}"#;
        assert!(matches!(
            decode_refund(swapped),
            Err(EnvelopeError::InvalidId {
                field: "payment_id",
                ..
            })
        ));
        let short = r#"{"v":1,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a","refund_id":"re_2b"}"#;
        assert!(matches!(
            decode_refund(short),
            Err(EnvelopeError::InvalidId {
                field: "refund_id",
                ..
            })
        ));
    }

    #[test]
    fn an_escaped_id_is_refused() {
        let body = r#"{"v":1,"kind":"refund","payment_id":"pay_1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\u0061","refund_id":"re_2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"}"#;
        assert!(matches!(
            decode_refund(body),
            Err(EnvelopeError::Malformed { .. })
        ));
    }

    #[test]
    fn an_oversized_body_is_refused_before_parsing() {
        let body = format!(
            r#"{{"v":1,"kind":"refund","pad":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(
            decode_refund(&body),
            Err(EnvelopeError::TooLarge {
                actual: body.len(),
                max: MAX_BODY_BYTES
            })
        );
    }

    #[test]
    fn errors_never_repeat_the_values_of_the_body() {
        let body = r#"{"v":1,"kind":"refund","payment_id":"pay_SECRET-LOOKING-VALUE","refund_id":"re_x"}"#;
        let error = decode_refund(body).expect_err("an invalid id");
        assert!(!format!("{error} {error:?}").contains("SECRET-LOOKING-VALUE"));
        let body = r#"{"v":1,"kind":"refund","payment_id":42,"refund_id":"re_x"}"#;
        let error = decode_refund(body).expect_err("a number is not an id");
        assert!(matches!(error, EnvelopeError::Malformed { .. }));
    }
}
