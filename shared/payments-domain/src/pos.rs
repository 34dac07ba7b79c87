//! What a till shows for a cashier payment, and the receipt sent to Glase after a payment. Pure functions
//! of a payment and the time.
//!
//! The till polls once a second. While the payment is pending and its waiting window (30 s by default,
//! restarted by "try again") is open, it shows "please wait"; once the window has passed it shows "window
//! ended", and the cashier either tries again or cancels. A final payment shows completed (with the
//! receipt text), canceled or error whatever the window says.

use std::time::Duration;

use crate::ids::Timestamp;
use crate::payment::{Payment, PaymentState};
use crate::ports::ReceiptDocument;

/// What the till displays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PosDisplay {
    /// Pending, window open: "please wait".
    PleaseWait,
    /// Paid: print the receipt.
    Completed,
    /// Canceled (by the cashier, the shopper, expiry, or a newer payment on the till).
    Canceled,
    /// The payment failed.
    Error,
    /// Pending, but the window has passed: ask the cashier to try again or cancel.
    WindowEnded,
}

impl PosDisplay {
    /// The wire name: `please_wait`, `completed`, `canceled`, `error`, `window_ended`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PosDisplay::PleaseWait => "please_wait",
            PosDisplay::Completed => "completed",
            PosDisplay::Canceled => "canceled",
            PosDisplay::Error => "error",
            PosDisplay::WindowEnded => "window_ended",
        }
    }
}

/// The till's view of a POS payment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PosView {
    /// What to show.
    pub display: PosDisplay,
    /// False once the window has passed (or the payment is final).
    pub window_open: bool,
    /// When the current window ends.
    pub window_ends_at: Timestamp,
    /// For a paid payment, the text to print: amount, Glase reference, "Glase payment", time.
    pub receipt_text: Option<String>,
}

/// The till's view of `payment` at `now`, or `None` for a webshop payment.
pub fn pos_view(payment: &Payment, now: Timestamp, window: Duration) -> Option<PosView> {
    let started = payment.pos_window_started_at()?;
    let window_ends_at = started.plus(window);
    let in_window = now < window_ends_at;
    let (display, window_open) = match payment.state() {
        PaymentState::Pending if in_window => (PosDisplay::PleaseWait, true),
        PaymentState::Pending => (PosDisplay::WindowEnded, false),
        PaymentState::Paid { .. } => (PosDisplay::Completed, false),
        PaymentState::Canceled { .. } => (PosDisplay::Canceled, false),
        PaymentState::Failed { .. } => (PosDisplay::Error, false),
    };
    Some(PosView {
        display,
        window_open,
        window_ends_at,
        receipt_text: receipt_text(payment),
    })
}

/// The short text a till prints for a paid payment; `None` unless paid.
pub fn receipt_text(payment: &Payment) -> Option<String> {
    let ers = payment.ers_reference()?;
    let paid_at = payment.paid_at()?;
    Some(format!(
        "Glase payment\nAmount: {}\nReference: {}\nTime: {}",
        payment.amount(),
        ers.as_str(),
        utc_text(paid_at)
    ))
}

/// The `receiptType` of the receipts we send.
pub const RECEIPT_TYPE: &str = "PAYMENT_RECEIPT";
/// The `mimeType` of the receipts we send: the Glase certification prefers "Base64" (the document is
/// plain UTF-8 text, base64-encoded on the wire by the gateway).
pub const RECEIPT_MIME_TYPE: &str = "Base64";

/// The receipt document of a paid payment, built from its invoice: title, order id, cashier, every row
/// (quantity, text, amount), the total, "Glase payment", the Glase reference and the time. `None` unless
/// paid.
pub fn receipt_document(payment: &Payment) -> Option<ReceiptDocument> {
    let ers = payment.ers_reference()?;
    let paid_at = payment.paid_at()?;
    let order = payment.order();
    let mut text = format!(
        "{}\nOrder: {}\n",
        order.title().as_str(),
        order.merchant_order_id().as_str()
    );
    if let Some(cashier) = order.cashier_id() {
        text.push_str(&format!("Cashier: {}\n", cashier.as_str()));
    }
    for row in order.rows() {
        text.push_str(&format!(
            "{} x {}: {}\n",
            row.quantity,
            row.description.as_str(),
            row.total
        ));
    }
    text.push_str(&format!(
        "Total: {}\nGlase payment\nReference: {}\nTime: {}\n",
        order.total(),
        ers.as_str(),
        utc_text(paid_at)
    ));
    Some(ReceiptDocument {
        mime_type: RECEIPT_MIME_TYPE.to_owned(),
        receipt_type: RECEIPT_TYPE.to_owned(),
        data: text.into_bytes(),
    })
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a timestamp (the proleptic Gregorian calendar, days from civil).
pub fn utc_text(at: Timestamp) -> String {
    let secs = at.unix_seconds();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TerminalId;
    use crate::payment::PaymentTerminal;
    use crate::payment::tests::{observation, pending_payment};

    const WINDOW: Duration = Duration::from_secs(30);

    fn pos(payment: Payment) -> Payment {
        let mut record = payment.to_record();
        record.terminal = PaymentTerminal::Pos(TerminalId::from_random([2; 16]));
        record.pos_window_started_at = Some(record.created_at);
        Payment::try_from(record).unwrap()
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn a_webshop_payment_has_no_till_view() {
        assert_eq!(pos_view(&pending_payment(100), at(1_000), WINDOW), None);
    }

    #[test]
    fn a_pending_payment_says_please_wait_for_thirty_seconds_then_window_ended() {
        let p = pos(pending_payment(100));
        let start = p.created_at();
        let v = pos_view(&p, start.plus(Duration::from_millis(29_999)), WINDOW).unwrap();
        assert_eq!(v.display, PosDisplay::PleaseWait);
        assert!(v.window_open);
        assert_eq!(v.window_ends_at, start.plus(WINDOW));
        assert_eq!(v.receipt_text, None);
        let v = pos_view(&p, start.plus(WINDOW), WINDOW).unwrap();
        assert_eq!(v.display, PosDisplay::WindowEnded);
        assert!(!v.window_open);
        let again = p.with_new_pos_window(start.plus(WINDOW), WINDOW).unwrap();
        let v = pos_view(&again, start.plus(Duration::from_secs(45)), WINDOW).unwrap();
        assert_eq!(v.display, PosDisplay::PleaseWait);
        assert_eq!(v.window_ends_at, start.plus(Duration::from_secs(60)));
    }

    #[test]
    fn final_payments_show_completed_canceled_or_error_even_after_the_window() {
        let p = pos(pending_payment(12_550));
        let late = p.created_at().plus(Duration::from_secs(300));
        let paid = p.observe(&observation("PAID", 2)).1.unwrap();
        let v = pos_view(&paid, late, WINDOW).unwrap();
        assert_eq!(v.display, PosDisplay::Completed);
        assert!(!v.window_open);
        let text = v.receipt_text.unwrap();
        assert!(text.contains("Glase payment"), "{text}");
        assert!(text.contains("125.50 SEK"), "{text}");
        assert!(text.contains("2015102910184861801032678"), "{text}");
        assert!(text.contains("1970-01-01 00:00:05 UTC"), "{text}");
        let canceled = p.observe(&observation("CANCELED", 1)).1.unwrap();
        assert_eq!(
            pos_view(&canceled, late, WINDOW).unwrap().display,
            PosDisplay::Canceled
        );
        let failed = p.observe(&observation("FAILED", 1)).1.unwrap();
        assert_eq!(
            pos_view(&failed, late, WINDOW).unwrap().display,
            PosDisplay::Error
        );
    }

    #[test]
    fn the_receipt_document_lists_the_invoice_and_the_payment_reference() {
        assert_eq!(receipt_document(&pending_payment(100)), None);
        let paid = pending_payment(12_550)
            .observe(&observation("PAID", 2))
            .1
            .unwrap();
        let doc = receipt_document(&paid).unwrap();
        assert_eq!(doc.mime_type, "Base64");
        assert_eq!(doc.receipt_type, "PAYMENT_RECEIPT");
        let text = String::from_utf8(doc.data).unwrap();
        assert!(text.contains("1 x Item: 125.50 SEK"), "{text}");
        assert!(text.contains("Total: 125.50 SEK"), "{text}");
        assert!(text.contains("Reference: 2015102910184861801032678"), "{text}");
    }

    #[test]
    fn utc_text_follows_the_calendar() {
        assert_eq!(utc_text(at(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(at(1_795_338_000_000)), "2026-11-22 09:00:00 UTC");
        assert_eq!(utc_text(at(951_782_400_000)), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(at(-1_000)), "1969-12-31 23:59:59 UTC");
    }
}
