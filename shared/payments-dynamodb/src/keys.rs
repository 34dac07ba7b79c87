//! The key values of every item type and of the index entries: the single-table layout.
//!
//! | Item | `pk` | `sk` | Index entries |
//! |---|---|---|---|
//! | payment | `PAYMENT#<id>` | `PAYMENT` | pending: `check_due` (`PENDING`, last check or creation), `expiry` (`PENDING`, invoice expiry); paid: `lookup` (`ERS#<ersReference>`, `PAYMENT`), `timeline` (`PAID`, paid time), while its receipt is due `check_due` (`RECEIPT_DUE`, when next due) |
//! | refund | `PAYMENT#<payment id>` | `REFUND#<id>` | `timeline` (`REFUND#<status>`, last change); succeeded: `lookup` (`ERS#<ersReference>`, `REFUND`) |
//! | terminal | `TERMINAL#<id>` | `TERMINAL` | `lookup` (`TERMINALS`, creation time) |
//! | terminal external id (uniqueness) | `TERMINAL_EXTERNAL#<external id>` | `TERMINAL_EXTERNAL` | none |
//! | period | `PERIOD#<id>` | `PERIOD` | `timeline` (`PERIOD#shop` or `PERIOD#terminal#<terminal id>`, marked time) |
//! | period document | `PERIOD#<period id>` | `DOCUMENT#<position>` | none |
//! | idempotency record (TTL) | `IDEMPOTENCY#<operation>#<key>` | `IDEMPOTENCY` | none |
//! | connection (TTL) | `CONNECTION#<connection id>` | `CONNECTION` | `lookup` (`CONNECTIONS#<payment id>`, connection id) |

use payments_domain::idempotency::{IdempotencyKey, Operation};
use payments_domain::ids::{ErsReference, PaymentId, PeriodId, RefundId, TerminalId, Timestamp};
use payments_domain::order::ExternalTerminalId;
use payments_domain::period::PeriodScope;
use payments_domain::ports::ConnectionId;
use payments_domain::refund::RefundStatus;

/// The values of an item's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The partition key value.
    pub pk: String,
    /// The sort key value.
    pub sk: String,
}

/// `item_type` values.
pub mod item_type {
    /// A payment.
    pub const PAYMENT: &str = "payment";
    /// A refund.
    pub const REFUND: &str = "refund";
    /// A terminal.
    pub const TERMINAL: &str = "terminal";
    /// The uniqueness item of a terminal's external id.
    pub const TERMINAL_EXTERNAL: &str = "terminal_external";
    /// A reporting period.
    pub const PERIOD: &str = "period";
    /// A report document of a period.
    pub const PERIOD_DOCUMENT: &str = "period_document";
    /// An idempotency record.
    pub const IDEMPOTENCY: &str = "idempotency";
    /// A WebSocket connection.
    pub const CONNECTION: &str = "connection";
}

const PAYMENT: &str = "PAYMENT";
const REFUND: &str = "REFUND";
const TERMINAL: &str = "TERMINAL";
const TERMINAL_EXTERNAL: &str = "TERMINAL_EXTERNAL";
const PERIOD: &str = "PERIOD";
const DOCUMENT: &str = "DOCUMENT";
const IDEMPOTENCY: &str = "IDEMPOTENCY";
const CONNECTION: &str = "CONNECTION";

/// The partition value of the sparse pending-payment indexes.
pub const PENDING: &str = "PENDING";
/// The `check_due` partition of paid payments whose receipt is still to be sent.
pub const RECEIPT_DUE: &str = "RECEIPT_DUE";
/// The `timeline` partition of paid payments.
pub const PAID: &str = "PAID";
/// The `lookup` partition of the terminal list.
pub const TERMINALS: &str = "TERMINALS";

/// A payment.
pub fn payment(id: &PaymentId) -> Key {
    Key {
        pk: format!("{PAYMENT}#{id}"),
        sk: PAYMENT.to_owned(),
    }
}

/// The partition of a payment and its refunds.
pub fn payment_partition(id: &PaymentId) -> String {
    format!("{PAYMENT}#{id}")
}

/// A refund, stored in its payment's partition.
pub fn refund(payment_id: &PaymentId, id: &RefundId) -> Key {
    Key {
        pk: payment_partition(payment_id),
        sk: format!("{REFUND}#{id}"),
    }
}

/// The sort-key prefix of a payment's refunds.
pub fn refund_prefix() -> String {
    format!("{REFUND}#")
}

/// A terminal.
pub fn terminal(id: &TerminalId) -> Key {
    Key {
        pk: format!("{TERMINAL}#{id}"),
        sk: TERMINAL.to_owned(),
    }
}

/// The uniqueness item of a terminal's external id.
pub fn terminal_external(external_id: &ExternalTerminalId) -> Key {
    Key {
        pk: format!("{TERMINAL_EXTERNAL}#{}", external_id.as_str()),
        sk: TERMINAL_EXTERNAL.to_owned(),
    }
}

/// A reporting period.
pub fn period(id: &PeriodId) -> Key {
    Key {
        pk: format!("{PERIOD}#{id}"),
        sk: PERIOD.to_owned(),
    }
}

/// The `timeline` partition of the periods of one scope.
pub fn periods_of(scope: &PeriodScope) -> String {
    match scope {
        PeriodScope::Shop => format!("{PERIOD}#shop"),
        PeriodScope::Terminal { terminal_id, .. } => format!("{PERIOD}#terminal#{terminal_id}"),
    }
}

/// Part `part` of the document at `position` of a period.
pub fn period_document(id: &PeriodId, position: usize, part: usize) -> Key {
    Key {
        pk: format!("{PERIOD}#{id}"),
        sk: format!("{DOCUMENT}#{position:04}#{part:04}"),
    }
}

/// The sort-key prefix of a period's documents.
pub fn period_document_prefix() -> String {
    format!("{DOCUMENT}#")
}

/// An idempotency record.
pub fn idempotency(operation: Operation, key: &IdempotencyKey) -> Key {
    Key {
        pk: format!("{IDEMPOTENCY}#{}#{}", operation.as_str(), key.as_str()),
        sk: IDEMPOTENCY.to_owned(),
    }
}

/// A connection.
pub fn connection(id: &ConnectionId) -> Key {
    Key {
        pk: format!("{CONNECTION}#{}", id.as_str()),
        sk: CONNECTION.to_owned(),
    }
}

/// The `lookup` partition of a payment's connections.
pub fn connections_of(payment_id: &PaymentId) -> String {
    format!("{CONNECTION}S#{payment_id}")
}

/// The `lookup` partition of an `ersReference` (a paid payment and a succeeded refund).
pub fn ers(reference: &ErsReference) -> String {
    format!("ERS#{}", reference.as_str())
}

/// The `lookup` sort value of a payment found by `ersReference`.
pub fn ers_payment() -> &'static str {
    PAYMENT
}

/// The `lookup` sort value of a refund found by `ersReference`.
pub fn ers_refund() -> &'static str {
    REFUND
}

/// The `timeline` partition of refunds in `status`.
pub fn refunds_in(status: RefundStatus) -> String {
    format!("{REFUND}#{}", status.as_str())
}

/// A sortable text form of a time: 15 zero-padded digits of epoch milliseconds (negative times sort as 0).
pub fn sortable(at: Timestamp) -> String {
    format!("{:015}", at.unix_millis().max(0))
}

/// A sort value ordered by time, made unique by the id: `<sortable time>#<id>`.
pub fn timed(at: Timestamp, id: &str) -> String {
    format!("{}#{id}", sortable(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_values_sort_like_their_times_and_bound_strictly() {
        let early = timed(Timestamp::from_unix_millis(999), "b");
        let late = timed(Timestamp::from_unix_millis(1_000), "a");
        assert!(early < late);
        // A bound is the bare time: every entry at exactly that time sorts after it.
        assert!(sortable(Timestamp::from_unix_millis(1_000)) < late);
        assert!(early < sortable(Timestamp::from_unix_millis(1_000)));
    }

    #[test]
    fn refunds_live_in_their_payments_partition() {
        let payment_id = PaymentId::from_random([1; 16]);
        let refund_id = RefundId::from_random([2; 16]);
        let key = refund(&payment_id, &refund_id);
        assert_eq!(key.pk, payment(&payment_id).pk);
        assert!(key.sk.starts_with(&refund_prefix()));
    }
}
