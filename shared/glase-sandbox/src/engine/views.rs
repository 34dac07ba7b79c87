//! Views: the state of one invoice as `GET /sandbox/invoices/{ref}` shows it.

use glase_protocol::PaymentMode;
use serde::Serialize;

use super::{State, minor_text, rfc3339, url_path_only};
use crate::events::CancelReason;

/// A row as the shopper sees it.
#[derive(Clone, Debug, Serialize)]
pub struct RowView {
    /// Item text.
    pub description: Option<String>,
    /// Quantity as sent.
    pub quantity: Option<String>,
    /// Row total as sent, e.g. `125.50`.
    pub total: Option<String>,
    /// Row currency.
    pub currency: Option<String>,
}

/// The payment part of an invoice view.
#[derive(Clone, Debug, Serialize)]
pub struct PaymentView {
    /// The payment's reference.
    pub ers_reference: String,
    /// The paid amount in minor units.
    pub amount_minor: i64,
    /// When the shopper paid (sandbox time, RFC 3339).
    pub paid_at: String,
    /// The shopper's wallet id.
    pub payer_terminal_id: String,
    /// When it is reversed unless acknowledged (absent for committed reservations).
    pub ack_deadline: Option<String>,
    /// Whether a getPaymentStatus returned PAID in time (or the reservation was committed).
    pub acknowledged: bool,
    /// When it was acknowledged.
    pub acknowledged_at: Option<String>,
    /// Whether it was reversed for want of an acknowledgement.
    pub reversed: bool,
    /// When it was reversed.
    pub reversed_at: Option<String>,
    /// The sum refunded so far in minor units.
    pub refunded_minor: i64,
    /// The refunds' references.
    pub refunds: Vec<String>,
}

/// The full state of one invoice, as `GET /sandbox/invoices/{ref}` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct InvoiceView {
    /// The reference.
    pub invoice_reference: String,
    /// `HTTP://SEQR.SE/R<reference>`.
    pub qr_code: String,
    /// The issuing terminal.
    pub terminal_id: String,
    /// The terminal's name, shown on the phone.
    pub receiver_name: String,
    /// The wire status.
    pub status: String,
    /// The version.
    pub version: i32,
    /// Whether the shopper has opened it (cancelInvoice answers 51).
    pub in_progress: bool,
    /// The title.
    pub title: Option<String>,
    /// The merchant's invoice id.
    pub client_invoice_id: Option<String>,
    /// The payment mode.
    pub payment_mode: String,
    /// The rows.
    pub rows: Vec<RowView>,
    /// The total in minor units.
    pub amount_minor: i64,
    /// The total as a decimal text.
    pub amount: String,
    /// The currency.
    pub currency: String,
    /// The backURL.
    pub back_url: Option<String>,
    /// The notification URL's path (its query string may carry secrets and is not shown).
    pub notification_url_path: Option<String>,
    /// When it was issued.
    pub issued_at: String,
    /// Why it was cancelled (not set for reversals).
    pub cancel_reason: Option<CancelReason>,
    /// The payment, once paid.
    pub payment: Option<PaymentView>,
    /// The reserved amount, while or after reserved.
    pub reserved_amount_minor: Option<i64>,
    /// When the reservation lapses.
    pub reservation_deadline: Option<String>,
}

impl State {
    /// The full view of one invoice.
    pub fn view(&self, reference: &str) -> Option<InvoiceView> {
        let r = self.invoices.get(reference)?;
        let receiver_name = self
            .terminals
            .get(&r.terminal_id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| self.config.shop_name.clone());
        let rows = r
            .invoice
            .invoice_rows
            .iter()
            .flatten()
            .map(|row| RowView {
                description: row.item_description.clone(),
                quantity: row.item_quantity.map(|q| q.to_string()),
                total: row.item_total_amount.as_ref().map(|a| a.value.to_string()),
                currency: row.item_total_amount.as_ref().map(|a| a.currency.clone()),
            })
            .collect();
        let payment = r.payment.as_ref().map(|p| PaymentView {
            ers_reference: p.ers_reference.clone(),
            amount_minor: p.amount_minor,
            paid_at: rfc3339(p.paid_at),
            payer_terminal_id: p.payer_terminal_id.clone(),
            ack_deadline: p.ack_deadline.map(rfc3339),
            acknowledged: p.acknowledged_at.is_some(),
            acknowledged_at: p.acknowledged_at.map(rfc3339),
            reversed: p.reversed_at.is_some(),
            reversed_at: p.reversed_at.map(rfc3339),
            refunded_minor: p.refunded_minor,
            refunds: p.refunds.clone(),
        });
        Some(InvoiceView {
            invoice_reference: r.reference.clone(),
            qr_code: format!("HTTP://SEQR.SE/R{}", r.reference),
            terminal_id: r.terminal_id.clone(),
            receiver_name,
            status: r.status.to_string(),
            version: r.version,
            in_progress: r.in_progress,
            title: r.invoice.title.clone(),
            client_invoice_id: r.invoice.client_invoice_id.clone(),
            payment_mode: r
                .invoice
                .payment_mode
                .as_ref()
                .map_or_else(|| PaymentMode::ImmediateDebit.to_string(), ToString::to_string),
            rows,
            amount_minor: r.amount_minor,
            amount: minor_text(r.amount_minor),
            currency: r.currency.clone(),
            back_url: r.invoice.back_url.clone(),
            notification_url_path: r.invoice.notification_url.as_deref().map(url_path_only),
            issued_at: rfc3339(r.issued_at),
            cancel_reason: r.cancel_reason,
            payment,
            reserved_amount_minor: r.reservation.as_ref().map(|x| x.amount_minor),
            reservation_deadline: r.reservation.as_ref().map(|x| rfc3339(x.deadline)),
        })
    }

    /// Every invoice reference, oldest first.
    pub fn invoice_references(&self) -> Vec<String> {
        self.invoice_order.clone()
    }
}
