//! The public status of a payment and its state with what each state carries.

use std::fmt;

use crate::ids::{ErsReference, Timestamp};

/// The public status of a payment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PaymentStatus {
    /// The invoice is out; nobody has paid, cancelled or failed it yet.
    Pending,
    /// Paid and acknowledged to Glase.
    Paid,
    /// Cancelled (by us, by the shopper, by expiry, or replaced on a POS terminal).
    Canceled,
    /// The payment failed.
    Failed,
}

impl PaymentStatus {
    /// The wire name used by the public API and the store: `pending`, `paid`, `canceled`, `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(PaymentStatus::Pending),
            "paid" => Some(PaymentStatus::Paid),
            "canceled" => Some(PaymentStatus::Canceled),
            "failed" => Some(PaymentStatus::Failed),
            _ => None,
        }
    }

    /// True for `paid`, `canceled` and `failed`.
    pub fn is_final(&self) -> bool {
        !matches!(self, PaymentStatus::Pending)
    }

    /// The stored statuses a payment in `next` may replace: only `pending` while pending, else
    /// `pending` or the same final status (a ledger change of a paid payment). Every store enforces this
    /// in its conditional write, so no status ever moves backwards.
    pub fn replaceable_by(next: PaymentStatus) -> &'static [PaymentStatus] {
        use PaymentStatus::*;
        match next {
            Pending => &[Pending],
            Paid => &[Pending, Paid],
            Canceled => &[Pending, Canceled],
            Failed => &[Pending, Failed],
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a payment with what each state carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PaymentState {
    /// Waiting for the shopper.
    Pending,
    /// Paid: Glase's payment reference and when it was paid.
    Paid {
        /// The payment's `ersReference` (needed for refunds and reconciliation).
        ers_reference: ErsReference,
        /// When Glase says it was paid (the receipt's `paymentDate`), else when we saw it.
        paid_at: Timestamp,
    },
    /// Cancelled.
    Canceled {
        /// When we learned it.
        at: Timestamp,
    },
    /// Failed.
    Failed {
        /// When we learned it.
        at: Timestamp,
    },
}

impl PaymentState {
    /// The status without its data.
    pub fn status(&self) -> PaymentStatus {
        match self {
            PaymentState::Pending => PaymentStatus::Pending,
            PaymentState::Paid { .. } => PaymentStatus::Paid,
            PaymentState::Canceled { .. } => PaymentStatus::Canceled,
            PaymentState::Failed { .. } => PaymentStatus::Failed,
        }
    }
}
