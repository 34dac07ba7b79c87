//! Idempotency of requests that create things, after the design of Powertools for AWS Lambda's
//! idempotency utility, without its two known bugs.
//!
//! A client-supplied [`IdempotencyKey`] maps to a record holding the [`Fingerprint`] (SHA-256 of a
//! canonical form of the first request) and, once done, the [`StoredOutcome`]. The record is
//! `INPROGRESS` while the first request runs (with a lease that ends when that request must have ended)
//! and `COMPLETED` afterwards; it expires after [`IdempotencyRecord::expires_at`] (the store removes it
//! with TTL, and an expired record counts as absent).
//!
//! [`evaluate`] decides what a request finds when a record for its key already exists:
//! - **The fingerprint is always compared first** (Powertools bug 1 skipped this when the conditional put
//!   failed on an in-progress record): the same key with another payload is a [`Begin::Conflict`], whatever
//!   the record's state.
//! - A completed record replays its outcome; a live in-progress record means "retry later".
//! - **An in-progress record whose lease ran out is never blindly re-run** (Powertools bug 2 re-ran the
//!   side effect after a timeout): for a side effect that must not happen twice (sendInvoice, refund) the
//!   answer is [`Begin::OutcomeUnknown`]: the first attempt may have reached Glase, so the client must look
//!   at what exists (list payments by its order id, or the refunds of the payment) and use a new key to
//!   try again. Only [`SideEffect::Repeatable`] operations take the record over and run again.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ids::{PaymentId, PeriodId, RefundId, Revision, TerminalId, Timestamp};
use crate::secret::ClientSecret;
use crate::text::{TextError, check_token};

/// A client-supplied idempotency key (the `Idempotency-Key` header): 1 to 255 visible ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest accepted key.
    pub const MAX_CHARS: usize = 255;

    /// Parses a key.
    pub fn parse(value: &str) -> Result<Self, TextError> {
        let visible: Vec<char> = ('!'..='~').filter(|c| !c.is_ascii_alphanumeric()).collect();
        check_token(
            "idempotency key",
            value,
            Self::MAX_CHARS,
            &visible,
            "visible ASCII characters",
        )?;
        Ok(IdempotencyKey(value.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

/// The operation a key belongs to; keys of different operations never collide.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Operation {
    /// `POST /v1/payments`.
    CreatePayment,
    /// `POST /v1/payments/{id}/refunds`.
    RequestRefund,
    /// `POST /v1/terminals`.
    RegisterTerminal,
    /// `POST /v1/reports` and the schedule.
    ClosePeriod,
}

impl Operation {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::CreatePayment => "create_payment",
            Operation::RequestRefund => "request_refund",
            Operation::RegisterTerminal => "register_terminal",
            Operation::ClosePeriod => "close_period",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Operation::CreatePayment,
            Operation::RequestRefund,
            Operation::RegisterTerminal,
            Operation::ClosePeriod,
        ]
        .into_iter()
        .find(|o| o.as_str() == value)
    }
}

/// Whether the operation's side effect may safely happen twice.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SideEffect {
    /// Running it again is harmless (e.g. reading, or a write guarded by its own condition).
    Repeatable,
    /// Running it again could pay, refund or invoice twice.
    NotRepeatable,
}

/// The SHA-256 of a request's canonical form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// A fingerprint read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({}…)", hex::encode(&self.0[..4]))
    }
}

/// Builds a [`Fingerprint`] from named fields in a fixed order. Each field is written as its name, a NUL,
/// the value's length as 8 big-endian bytes and the value, so that no two different field lists produce
/// the same bytes. Use cases feed the parsed request (not the raw JSON), so whitespace or key order in the
/// body do not matter but every value does.
#[derive(Clone)]
pub struct FingerprintBuilder {
    hasher: Sha256,
}

impl FingerprintBuilder {
    /// Starts a fingerprint for an operation.
    pub fn new(operation: Operation) -> Self {
        let mut builder = FingerprintBuilder {
            hasher: Sha256::new(),
        };
        builder.write("operation", operation.as_str().as_bytes());
        builder
    }

    fn write(&mut self, name: &str, value: &[u8]) {
        self.hasher.update(name.as_bytes());
        self.hasher.update([0u8]);
        self.hasher
            .update(u64::try_from(value.len()).unwrap_or(u64::MAX).to_be_bytes());
        self.hasher.update(value);
    }

    /// Adds a text field.
    #[must_use]
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.write(name, value.as_bytes());
        self
    }

    /// Adds an optional text field (absent and empty differ).
    #[must_use]
    pub fn optional_text(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => {
                self.write(name, b"some");
                self.write(name, value.as_bytes());
            }
            None => self.write(name, b"none"),
        }
        self
    }

    /// Adds an integer field.
    #[must_use]
    pub fn int(mut self, name: &str, value: i64) -> Self {
        self.write(name, &value.to_be_bytes());
        self
    }

    /// The fingerprint.
    pub fn finish(self) -> Fingerprint {
        Fingerprint(self.hasher.finalize().into())
    }
}

/// What a completed request produced, replayed to later requests with the same key and payload.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StoredOutcome {
    /// A payment was created. Its client secret is not kept: a replay derives it again from the payment
    /// id (see [`crate::secret`]).
    PaymentCreated {
        /// The payment.
        payment_id: PaymentId,
        /// The client secret a record of the earlier format holds (a random secret, which cannot be
        /// derived): read back until such records expire, and answered by their replay. `None` in every
        /// record written now; the store never writes it.
        stored_client_secret: Option<ClientSecret>,
    },
    /// A refund was recorded and queued.
    RefundRequested {
        /// The payment.
        payment_id: PaymentId,
        /// The refund.
        refund_id: RefundId,
    },
    /// A terminal was registered.
    TerminalRegistered {
        /// The terminal.
        terminal_id: TerminalId,
    },
    /// A period was closed.
    PeriodClosed {
        /// The period.
        period_id: PeriodId,
    },
    /// Glase refused the request; the same refusal is replayed.
    GlaseRejected {
        /// The `resultCode`.
        code: i32,
        /// The `resultDescription`.
        description: String,
    },
    /// The side effect may or may not have happened (a timeout after the request left). Replayed as is:
    /// the key can never be used to try again.
    OutcomeUnknown,
}

/// The state of an idempotency record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IdempotencyState {
    /// The first request is running; it must have ended by `lease_expires_at`.
    InProgress {
        /// When the running request must have ended (its Lambda timeout).
        lease_expires_at: Timestamp,
    },
    /// The first request ended with this outcome.
    Completed {
        /// The outcome.
        outcome: StoredOutcome,
    },
}

/// One idempotency record; all fields public, as the store keeps it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IdempotencyRecord {
    /// The operation.
    pub operation: Operation,
    /// The client's key.
    pub key: IdempotencyKey,
    /// The first request's fingerprint.
    pub fingerprint: Fingerprint,
    /// In progress or completed.
    pub state: IdempotencyState,
    /// When the record was (last) started.
    pub created_at: Timestamp,
    /// When the record stops counting (the store's TTL attribute removes it some time after).
    pub expires_at: Timestamp,
    /// The optimistic-concurrency revision.
    pub revision: Revision,
}

/// How long keys live and how long a running request may hold one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotencyPolicy {
    /// How long a key is remembered (default 24 hours).
    pub key_lifetime: Duration,
    /// How long a running request may hold a key (at least the function's timeout; default 60 s).
    pub lease: Duration,
}

impl Default for IdempotencyPolicy {
    fn default() -> Self {
        IdempotencyPolicy {
            key_lifetime: Duration::from_secs(24 * 60 * 60),
            lease: Duration::from_secs(60),
        }
    }
}

impl IdempotencyRecord {
    /// A new in-progress record.
    pub fn start(
        operation: Operation,
        key: IdempotencyKey,
        fingerprint: Fingerprint,
        now: Timestamp,
        policy: IdempotencyPolicy,
    ) -> Self {
        IdempotencyRecord {
            operation,
            key,
            fingerprint,
            state: IdempotencyState::InProgress {
                lease_expires_at: now.plus(policy.lease),
            },
            created_at: now,
            expires_at: now.plus(policy.key_lifetime),
            revision: Revision::FIRST,
        }
    }

    /// The same record started again (taking over an expired one): the next revision.
    #[must_use]
    pub fn restarted_over(&self, previous: &IdempotencyRecord) -> Self {
        IdempotencyRecord {
            revision: previous.revision.next(),
            ..self.clone()
        }
    }

    /// The record completed with `outcome`: the next revision.
    #[must_use]
    pub fn completed(&self, outcome: StoredOutcome) -> Self {
        IdempotencyRecord {
            state: IdempotencyState::Completed { outcome },
            revision: self.revision.next(),
            ..self.clone()
        }
    }
}

/// What a request finds for its key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Begin {
    /// The existing record is expired or abandoned by a repeatable operation: replace it (conditional on
    /// its revision) and run.
    TakeOver {
        /// The revision to replace.
        expected: Revision,
    },
    /// The first request completed: answer with its outcome, run nothing.
    Replay(StoredOutcome),
    /// The key was used for another payload.
    Conflict,
    /// The first request is still running.
    RetryLater {
        /// How long until its lease ends.
        retry_after: Duration,
    },
    /// The first request of a non-repeatable operation vanished mid-flight: its outcome is unknown.
    OutcomeUnknown,
}

/// Decides what a request with `fingerprint` does about the `existing` record for its key.
pub fn evaluate(
    existing: &IdempotencyRecord,
    fingerprint: &Fingerprint,
    now: Timestamp,
    effect: SideEffect,
) -> Begin {
    if now >= existing.expires_at {
        return Begin::TakeOver {
            expected: existing.revision,
        };
    }
    if existing.fingerprint != *fingerprint {
        return Begin::Conflict;
    }
    match &existing.state {
        IdempotencyState::Completed { outcome } => Begin::Replay(outcome.clone()),
        IdempotencyState::InProgress { lease_expires_at } if now < *lease_expires_at => Begin::RetryLater {
            retry_after: lease_expires_at.since(now),
        },
        IdempotencyState::InProgress { .. } => match effect {
            SideEffect::Repeatable => Begin::TakeOver {
                expected: existing.revision,
            },
            SideEffect::NotRepeatable => Begin::OutcomeUnknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(value: &str) -> Fingerprint {
        FingerprintBuilder::new(Operation::CreatePayment)
            .text("order", value)
            .finish()
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn record(state: IdempotencyState) -> IdempotencyRecord {
        let mut r = IdempotencyRecord::start(
            Operation::CreatePayment,
            IdempotencyKey::parse("key-1").unwrap(),
            fp("a"),
            t(0),
            IdempotencyPolicy {
                key_lifetime: Duration::from_secs(100),
                lease: Duration::from_secs(10),
            },
        );
        r.state = state;
        r
    }

    fn in_progress() -> IdempotencyRecord {
        record(IdempotencyState::InProgress {
            lease_expires_at: t(10_000),
        })
    }

    #[test]
    fn the_same_payload_replays_the_stored_outcome() {
        let done = in_progress().completed(StoredOutcome::OutcomeUnknown);
        assert_eq!(
            evaluate(&done, &fp("a"), t(1), SideEffect::NotRepeatable),
            Begin::Replay(StoredOutcome::OutcomeUnknown)
        );
        assert_eq!(done.revision.get(), 2);
    }

    #[test]
    fn another_payload_is_a_conflict_even_while_the_first_request_runs() {
        assert_eq!(
            evaluate(&in_progress(), &fp("b"), t(1), SideEffect::NotRepeatable),
            Begin::Conflict
        );
        let done = in_progress().completed(StoredOutcome::OutcomeUnknown);
        assert_eq!(
            evaluate(&done, &fp("b"), t(1), SideEffect::NotRepeatable),
            Begin::Conflict
        );
    }

    #[test]
    fn an_in_flight_duplicate_is_told_to_retry_after_the_lease() {
        assert_eq!(
            evaluate(&in_progress(), &fp("a"), t(4_000), SideEffect::NotRepeatable),
            Begin::RetryLater {
                retry_after: Duration::from_secs(6)
            }
        );
    }

    #[test]
    fn an_abandoned_non_repeatable_request_is_never_run_again() {
        assert_eq!(
            evaluate(&in_progress(), &fp("a"), t(10_000), SideEffect::NotRepeatable),
            Begin::OutcomeUnknown
        );
    }

    #[test]
    fn an_abandoned_repeatable_request_is_taken_over() {
        assert_eq!(
            evaluate(&in_progress(), &fp("a"), t(10_000), SideEffect::Repeatable),
            Begin::TakeOver {
                expected: Revision::FIRST
            }
        );
    }

    #[test]
    fn an_expired_record_counts_as_absent_whatever_its_payload() {
        assert_eq!(
            evaluate(&in_progress(), &fp("b"), t(100_000), SideEffect::NotRepeatable),
            Begin::TakeOver {
                expected: Revision::FIRST
            }
        );
    }

    #[test]
    fn fingerprints_separate_fields_unambiguously() {
        let ab_c = FingerprintBuilder::new(Operation::CreatePayment)
            .text("x", "ab")
            .text("y", "c")
            .finish();
        let a_bc = FingerprintBuilder::new(Operation::CreatePayment)
            .text("x", "a")
            .text("y", "bc")
            .finish();
        assert_ne!(ab_c, a_bc);
        let none = FingerprintBuilder::new(Operation::CreatePayment)
            .optional_text("x", None)
            .finish();
        let empty = FingerprintBuilder::new(Operation::CreatePayment)
            .optional_text("x", Some(""))
            .finish();
        assert_ne!(none, empty);
        let other_op = FingerprintBuilder::new(Operation::RequestRefund)
            .text("order", "a")
            .finish();
        assert_ne!(other_op, fp("a"));
        assert_eq!(fp("a"), fp("a"));
    }

    #[test]
    fn keys_are_visible_ascii_up_to_255_characters() {
        assert!(IdempotencyKey::parse("3f2a-…").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("order-42/attempt:1").is_ok());
    }
}
