//! Whether the receipt of a paid payment reached Glase, and when it is next due.

use std::time::Duration;

use crate::ids::Timestamp;

/// Whether the receipt of a paid payment reached Glase (submitPaymentReceipt). It only moves forward:
/// `not_due → pending → sent | failed`; a failed submission never changes the payment's own state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReceiptState {
    /// Not paid (or paid before receipts were sent): nothing to send.
    NotDue,
    /// Paid; the receipt still has to be sent.
    Pending {
        /// Unsuccessful attempts so far.
        attempts: u32,
        /// When the last attempt was made.
        last_attempt_at: Option<Timestamp>,
    },
    /// Glase accepted the receipt.
    Sent {
        /// When.
        at: Timestamp,
    },
    /// Given up: Glase refused it (`code`), or it could not be delivered in
    /// [`ReceiptState::MAX_ATTEMPTS`] attempts (`code` is `None`).
    Failed {
        /// Glase's result code of a definite refusal.
        code: Option<i32>,
        /// When.
        at: Timestamp,
    },
}

impl ReceiptState {
    /// How many unsuccessful attempts are made before a receipt is given up.
    pub const MAX_ATTEMPTS: u32 = 10;

    /// The wait after the first unsuccessful attempt; each further one doubles it, up to
    /// [`ReceiptState::MAX_RETRY_DELAY`].
    pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);

    /// The longest wait between two attempts. With [`ReceiptState::MAX_ATTEMPTS`] attempts a receipt
    /// is given up about four minutes after its first try, so a short Glase outage does not cost it.
    pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

    /// When the receipt is next due: a receipt never tried is due at once (the start of time, so it
    /// comes before every retry); after an unsuccessful attempt it waits
    /// [`ReceiptState::FIRST_RETRY_DELAY`], doubling with each attempt. `None` unless pending.
    pub fn due_at(&self) -> Option<Timestamp> {
        match *self {
            ReceiptState::Pending {
                last_attempt_at: None,
                ..
            } => Some(Timestamp::from_unix_millis(0)),
            ReceiptState::Pending {
                attempts,
                last_attempt_at: Some(at),
            } => {
                let doublings = attempts.saturating_sub(1).min(16);
                let delay = Self::FIRST_RETRY_DELAY
                    .saturating_mul(1 << doublings)
                    .min(Self::MAX_RETRY_DELAY);
                Some(at.plus(delay))
            }
            _ => None,
        }
    }

    /// The wire name used by the store: `not_due`, `pending`, `sent`, `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReceiptState::NotDue => "not_due",
            ReceiptState::Pending { .. } => "pending",
            ReceiptState::Sent { .. } => "sent",
            ReceiptState::Failed { .. } => "failed",
        }
    }
}
