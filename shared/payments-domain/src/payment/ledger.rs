//! The refund ledger of a payment: the amounts its refunds hold.

use crate::money::Money;

/// What refunds hold of a paid payment: the amounts of refunds still in flight (`queued`, `sending`,
/// `needs_reconciliation`) and of refunds that succeeded. Their sum never exceeds the paid total.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RefundLedger {
    pub(super) reserved: Money,
    pub(super) refunded: Money,
}

impl RefundLedger {
    /// An empty ledger.
    pub fn empty(currency: crate::money::Currency) -> Self {
        RefundLedger {
            reserved: Money::zero(currency),
            refunded: Money::zero(currency),
        }
    }

    /// Amounts of refunds in flight.
    pub fn reserved(&self) -> Money {
        self.reserved
    }

    /// Amounts of refunds that succeeded.
    pub fn refunded(&self) -> Money {
        self.refunded
    }
}
