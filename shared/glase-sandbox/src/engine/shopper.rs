//! The shopper's actions: scanning, paying, cancelling and failing an invoice, as the app would.

use glase_protocol::{InvoiceStatus, PaymentMode};
use serde::Serialize;
use time::OffsetDateTime;

use super::{
    ControlError, InvoiceRecord, InvoiceView, NotificationJob, PaymentRecord, ReservationRecord, State,
};
use crate::events::{CancelReason, EventKind};

/// What the shopper's app would do after an action.
#[derive(Clone, Debug, Serialize)]
pub struct ShopperOutcome {
    /// The invoice after the action.
    pub invoice: InvoiceView,
    /// The backURL the app opens, if the invoice has one.
    pub back_url: Option<String>,
}

impl State {
    // ----- The shopper's side -------------------------------------------------------------------

    fn shopper_invoice(&mut self, reference: &str) -> Result<&mut InvoiceRecord, ControlError> {
        let record = self
            .invoices
            .get_mut(reference)
            .ok_or_else(|| ControlError::NotFound(format!("no invoice {reference}")))?;
        if record.status != InvoiceStatus::Issued {
            return Err(ControlError::Conflict(format!(
                "invoice {reference} is {}, the shopper can only act on an ISSUED invoice",
                record.status
            )));
        }
        Ok(record)
    }

    /// The shopper opens the invoice in the app (payment in progress).
    pub fn scan(&mut self, reference: &str, now: OffsetDateTime) -> Result<ShopperOutcome, ControlError> {
        self.process_due(now);
        let record = self.shopper_invoice(reference)?;
        if !record.in_progress {
            record.in_progress = true;
            self.events.push(
                now,
                EventKind::InvoiceScanned {
                    invoice_reference: reference.to_owned(),
                },
            );
        }
        self.outcome(reference, false)
    }

    /// The shopper pays. Immediate-debit invoices become PAID (the acknowledgement window starts and
    /// a notification job is answered); reservation invoices become RESERVED.
    pub fn pay(
        &mut self,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<(ShopperOutcome, Option<NotificationJob>), ControlError> {
        self.process_due(now);
        let ack_window = self.config.ack_window();
        let default_timeout = self.config.default_reservation_timeout_secs;
        self.shopper_invoice(reference)?;
        let payer_terminal_id = self.ids.payer_terminal_id();
        let ers_reference = self.ids.ers_reference(now);
        let record = self.shopper_invoice(reference)?;
        record.in_progress = false;
        let reservation = matches!(
            record.invoice.payment_mode,
            Some(
                PaymentMode::ReservationDesired
                    | PaymentMode::ReservationRequired
                    | PaymentMode::ReservationRequiredPreliminaryAmount
            )
        );
        if reservation {
            let seconds = record
                .invoice
                .commit_reservation_timeout
                .and_then(|s| u64::try_from(s).ok())
                .filter(|s| *s > 0)
                .unwrap_or(default_timeout);
            let deadline = now + std::time::Duration::from_secs(seconds);
            record.bump(InvoiceStatus::Reserved);
            record.reservation = Some(ReservationRecord {
                amount_minor: record.amount_minor,
                deadline,
                payer_terminal_id,
            });
            let kind = EventKind::PaymentReserved {
                invoice_reference: reference.to_owned(),
                amount_minor: record.amount_minor,
                currency: record.currency.clone(),
                commit_deadline: deadline,
            };
            self.events.push(now, kind);
        } else {
            let ack_deadline = now + ack_window;
            let entry = record.paid(PaymentRecord::new(
                ers_reference.clone(),
                record.amount_minor,
                now,
                payer_terminal_id,
                Some(ack_deadline),
                None,
            ));
            let kind = EventKind::PaymentReceived {
                invoice_reference: reference.to_owned(),
                ers_reference,
                amount_minor: record.amount_minor,
                currency: record.currency.clone(),
                ack_deadline,
            };
            self.ledger.push(entry);
            self.events.push(now, kind);
        }
        self.pending.insert(reference.to_owned());
        let record = &self.invoices[reference];
        let job = record
            .invoice
            .notification_url
            .as_ref()
            .filter(|u| !u.trim().is_empty())
            .map(|url| NotificationJob {
                invoice_reference: reference.to_owned(),
                url: url.clone(),
                client_invoice_id: record.invoice.client_invoice_id.clone(),
            });
        Ok((self.outcome(reference, true)?, job))
    }

    /// The shopper presses cancel in the app: the invoice becomes CANCELED.
    pub fn shopper_cancel(
        &mut self,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<ShopperOutcome, ControlError> {
        self.process_due(now);
        let record = self.shopper_invoice(reference)?;
        record.in_progress = false;
        record.bump(InvoiceStatus::Canceled);
        record.cancel_reason = Some(CancelReason::Shopper);
        self.events.push(
            now,
            EventKind::InvoiceCanceled {
                invoice_reference: reference.to_owned(),
                reason: CancelReason::Shopper,
            },
        );
        self.outcome(reference, true)
    }

    /// The shopper's payment fails: the invoice becomes FAILED.
    pub fn fail(&mut self, reference: &str, now: OffsetDateTime) -> Result<ShopperOutcome, ControlError> {
        self.process_due(now);
        let record = self.shopper_invoice(reference)?;
        record.in_progress = false;
        record.bump(InvoiceStatus::Failed);
        self.events.push(
            now,
            EventKind::InvoiceFailed {
                invoice_reference: reference.to_owned(),
            },
        );
        self.outcome(reference, true)
    }

    /// The open (ISSUED) invoice of the terminal whose sticker carries `seqr_id`: the newest one.
    pub fn sticker_invoice(&self, seqr_id: &str) -> Result<String, ControlError> {
        let terminal = self
            .terminals
            .values()
            .find(|t| t.seqr_id.as_deref() == Some(seqr_id))
            .ok_or_else(|| ControlError::NotFound(format!("no terminal has Glase ID {seqr_id}")))?;
        self.invoice_order
            .iter()
            .rev()
            .find(|r| {
                self.invoices
                    .get(*r)
                    .is_some_and(|i| i.terminal_id == terminal.id && i.status == InvoiceStatus::Issued)
            })
            .cloned()
            .ok_or_else(|| {
                ControlError::NotFound(format!("terminal with Glase ID {seqr_id} has no open invoice"))
            })
    }

    fn outcome(&self, reference: &str, with_back_url: bool) -> Result<ShopperOutcome, ControlError> {
        let invoice = self
            .view(reference)
            .ok_or_else(|| ControlError::NotFound(format!("no invoice {reference}")))?;
        let back_url = if with_back_url {
            invoice.back_url.clone()
        } else {
            None
        };
        Ok(ShopperOutcome { invoice, back_url })
    }
}
