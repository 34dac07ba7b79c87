//! The ordered log of what the sandbox did, readable at `GET /sandbox/events`.
//!
//! Each event has a sequence number starting at 1, the sandbox time it happened at and a kind. The JSON
//! form is `{"seq": 3, "at": "2026-01-01T10:00:00Z", "type": "notification_sent", ...fields}`.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why an invoice was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The merchant called cancelInvoice.
    Merchant,
    /// The shopper pressed cancel in the app.
    Shopper,
    /// A new sendInvoice on the same cash-register terminal replaced it.
    ReplacedByNewInvoice,
    /// The terminal was unregistered while the invoice was open.
    TerminalUnregistered,
}

/// What happened to one notification POST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationOutcome {
    /// The merchant's server answered with this HTTP status.
    HttpStatus(u16),
    /// No HTTP answer: connection refused, timeout, reset.
    Error(String),
}

/// One kind of event, with its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A SOAP operation was answered (faulted answers included, with the code sent).
    Call {
        /// The wire name of the operation.
        operation: String,
        /// The initiator principal id (terminal id or reseller id).
        principal: String,
        /// The result code answered.
        result_code: i32,
    },
    /// sendInvoice created an invoice.
    InvoiceIssued {
        /// The new invoice reference.
        invoice_reference: String,
        /// Its terminal.
        terminal_id: String,
        /// The total in minor units.
        amount_minor: i64,
        /// The currency.
        currency: String,
    },
    /// updateInvoice replaced an invoice's contents.
    InvoiceUpdated {
        /// The invoice.
        invoice_reference: String,
        /// Its new version.
        version: i32,
    },
    /// The shopper opened the invoice in the app; cancelInvoice now answers 51.
    InvoiceScanned {
        /// The invoice.
        invoice_reference: String,
    },
    /// The shopper paid an immediate-debit invoice: it is PAID and the acknowledgement window runs.
    PaymentReceived {
        /// The invoice.
        invoice_reference: String,
        /// The payment's reference.
        ers_reference: String,
        /// The amount in minor units.
        amount_minor: i64,
        /// The currency.
        currency: String,
        /// When the payment is reversed unless acknowledged.
        #[serde(serialize_with = "rfc3339")]
        ack_deadline: OffsetDateTime,
    },
    /// The shopper confirmed a reservation invoice: it is RESERVED.
    PaymentReserved {
        /// The invoice.
        invoice_reference: String,
        /// The reserved amount in minor units.
        amount_minor: i64,
        /// The currency.
        currency: String,
        /// When the reservation expires unless committed.
        #[serde(serialize_with = "rfc3339")]
        commit_deadline: OffsetDateTime,
    },
    /// commitReservation turned a reservation into a payment.
    ReservationCommitted {
        /// The invoice.
        invoice_reference: String,
        /// The payment's reference.
        ers_reference: String,
        /// The committed amount in minor units.
        amount_minor: i64,
    },
    /// An invoice became CANCELED (not a reversal, which has its own event).
    InvoiceCanceled {
        /// The invoice.
        invoice_reference: String,
        /// Who or what cancelled it.
        reason: CancelReason,
    },
    /// The shopper's payment failed: the invoice is FAILED.
    InvoiceFailed {
        /// The invoice.
        invoice_reference: String,
    },
    /// An unpaid invoice or an uncommitted reservation lapsed: the invoice is EXPIRED.
    InvoiceExpired {
        /// The invoice.
        invoice_reference: String,
    },
    /// getPaymentStatus returned PAID inside the window: the payment is final.
    PaymentAcknowledged {
        /// The invoice.
        invoice_reference: String,
        /// The payment's reference.
        ers_reference: String,
    },
    /// The notificationUrl was POSTed.
    NotificationSent {
        /// The invoice.
        invoice_reference: String,
        /// 1 for the first POST, 2 for an injected duplicate.
        attempt: u32,
        /// The notification URL without its query string, which may carry secrets.
        url_path: String,
        /// What the merchant's server answered.
        outcome: NotificationOutcome,
    },
    /// An injected fault swallowed the notification.
    NotificationDropped {
        /// The invoice.
        invoice_reference: String,
    },
    /// The payment was not acknowledged in time and was reversed: the invoice is CANCELED.
    PaymentReversed {
        /// The invoice.
        invoice_reference: String,
        /// The reversed payment's reference.
        ers_reference: String,
    },
    /// The "SMS" the shopper gets about a reversed payment.
    SmsSent {
        /// The invoice.
        invoice_reference: String,
        /// The shopper's wallet id.
        payer_terminal_id: String,
        /// The message text.
        text: String,
    },
    /// refundPayment succeeded.
    RefundIssued {
        /// The refunded payment.
        original_ers_reference: String,
        /// The refund's own reference.
        ers_reference: String,
        /// The refunded amount in minor units.
        amount_minor: i64,
        /// The currency.
        currency: String,
    },
    /// submitPaymentReceipt attached a receipt.
    ReceiptSubmitted {
        /// The payment or refund reference.
        ers_reference: String,
        /// The receipt type given.
        receipt_type: Option<String>,
    },
    /// registerTerminal created a cash-register terminal.
    TerminalRegistered {
        /// The new terminal id.
        terminal_id: String,
        /// The merchant's id for the till.
        external_terminal_id: Option<String>,
    },
    /// unregisterTerminal removed a terminal.
    TerminalUnregistered {
        /// The removed terminal.
        terminal_id: String,
    },
    /// assignSeqrId bound a sticker id.
    SeqrIdAssigned {
        /// The terminal.
        terminal_id: String,
        /// The sticker id.
        seqr_id: String,
    },
    /// markTransactionPeriod closed a period.
    TransactionPeriodMarked {
        /// The closed period.
        transaction_period_id: String,
        /// The terminal of a per-terminal period.
        terminal_id: Option<String>,
        /// The number of ledger entries in the period.
        entries: usize,
    },
    /// executeReport was asked for a report.
    ReportRequested {
        /// The report id.
        report_id: String,
        /// The period asked for.
        transaction_period_id: Option<String>,
        /// Whether the report was delivered (false: REPORT_NOT_READY or another rejection).
        delivered: bool,
    },
    /// A fault rule hit a call or a notification.
    FaultInjected {
        /// The rule's target.
        target: String,
        /// The rule's action.
        action: String,
    },
    /// The clock was advanced.
    ClockAdvanced {
        /// By how many seconds.
        seconds: u64,
    },
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The position in the log, from 1.
    pub seq: u64,
    /// The sandbox time of the event.
    #[serde(serialize_with = "rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

fn rfc3339<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// The append-only log.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
}

impl EventLog {
    /// Appends an event and answers its sequence number.
    pub fn push(&mut self, at: OffsetDateTime, kind: EventKind) -> u64 {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event { seq, at, kind });
        seq
    }

    /// The events with a sequence number greater than `after` (all when `None`).
    pub fn after(&self, after: Option<u64>) -> Vec<Event> {
        let skip = usize::try_from(after.unwrap_or(0))
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        self.events[skip..].to_vec()
    }

    /// The sequence number of the last event (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.events.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn events_are_numbered_and_filtered_by_sequence() {
        let mut log = EventLog::default();
        let at = datetime!(2026-01-01 10:00 UTC);
        assert_eq!(
            log.push(
                at,
                EventKind::InvoiceScanned {
                    invoice_reference: "1".into()
                }
            ),
            1
        );
        assert_eq!(
            log.push(
                at,
                EventKind::InvoiceFailed {
                    invoice_reference: "1".into()
                }
            ),
            2
        );
        assert_eq!(log.after(None).len(), 2);
        assert_eq!(log.after(Some(1))[0].seq, 2);
        assert!(log.after(Some(9)).is_empty());
        let json = serde_json::to_value(&log.after(Some(1))[0]).unwrap();
        assert_eq!(json["type"], "invoice_failed");
        assert_eq!(json["at"], "2026-01-01T10:00:00Z");
        assert_eq!(json["invoice_reference"], "1");
    }
}
