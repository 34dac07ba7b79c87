//! The state engine: terminals, invoices, payments, refunds, periods and the rules that move them.
//!
//! Everything here is synchronous and takes the current sandbox time as an argument, so the rules are
//! tested without a clock, a network or a runtime. The [`crate::Sandbox`] wraps one [`State`] in a
//! mutex and adds the asynchronous parts (notification POSTs, the background timer).

use std::collections::HashMap;

use glase_protocol::{
    AssignSeqrIdRequest, AssignSeqrIdResponse, CancelInvoiceRequest, CancelInvoiceResponse, ClientContext,
    CommitReservationRequest, CommitReservationResponse, ExecuteReportRequest, ExecuteReportResponse,
    GetPaymentStatusRequest, GetPaymentStatusResponse, Invoice, InvoiceStatus, MarkTransactionPeriodRequest,
    MarkTransactionPeriodResponse, Password, PaymentMode, PrincipalType, Receipt, RefundPaymentRequest,
    RefundPaymentResponse, RegisterTerminalRequest, RegisterTerminalResponse, Report, Request, Response,
    ResultCode, SendInvoiceRequest, SendInvoiceResponse, SubmitPaymentReceiptRequest,
    SubmitPaymentReceiptResponse, UnregisterTerminalRequest, UnregisterTerminalResponse,
    UpdateInvoiceRequest, UpdateInvoiceResponse,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::config::SandboxConfig;
use crate::events::{CancelReason, EventKind, EventLog};
use crate::faults::FaultSet;
use crate::ids::IdGenerator;
use crate::reports::{self, ReportKind, ReportLine, ReportMeta};

/// The kind of a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalKind {
    /// Pre-provisioned from the configuration; many open invoices at a time.
    Webshop,
    /// Created by registerTerminal; one open invoice at a time.
    CashRegister,
}

/// A terminal.
#[derive(Clone, Debug)]
pub(crate) struct Terminal {
    pub(crate) id: String,
    pub(crate) password: Password,
    pub(crate) name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) kind: TerminalKind,
    pub(crate) seqr_id: Option<String>,
}

/// The payment of an invoice (immediate debit, or a committed reservation).
#[derive(Clone, Debug)]
pub(crate) struct PaymentRecord {
    pub(crate) ers_reference: String,
    pub(crate) amount_minor: i64,
    pub(crate) paid_at: OffsetDateTime,
    pub(crate) payer_terminal_id: String,
    /// When the payment is reversed unless acknowledged; `None` for committed reservations.
    pub(crate) ack_deadline: Option<OffsetDateTime>,
    pub(crate) acknowledged_at: Option<OffsetDateTime>,
    pub(crate) reversed_at: Option<OffsetDateTime>,
    pub(crate) refunded_minor: i64,
    pub(crate) refunds: Vec<String>,
}

/// A reservation waiting for commitReservation.
#[derive(Clone, Debug)]
pub(crate) struct ReservationRecord {
    pub(crate) amount_minor: i64,
    pub(crate) deadline: OffsetDateTime,
    pub(crate) payer_terminal_id: String,
}

/// One invoice and everything that happened to it.
#[derive(Clone, Debug)]
pub(crate) struct InvoiceRecord {
    pub(crate) reference: String,
    pub(crate) terminal_id: String,
    pub(crate) invoice: Invoice,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) status: InvoiceStatus,
    pub(crate) version: i32,
    pub(crate) in_progress: bool,
    pub(crate) issued_at: OffsetDateTime,
    pub(crate) expires_at: Option<OffsetDateTime>,
    pub(crate) payment: Option<PaymentRecord>,
    pub(crate) reservation: Option<ReservationRecord>,
    pub(crate) cancel_reason: Option<CancelReason>,
}

impl InvoiceRecord {
    /// The next deadline that changes this invoice on its own: the reversal of an unacknowledged
    /// payment, the lapse of a reservation or the expiry of an unpaid invoice.
    fn deadline(&self) -> Option<OffsetDateTime> {
        match self.status {
            InvoiceStatus::Paid => self
                .payment
                .as_ref()
                .filter(|p| p.acknowledged_at.is_none() && p.reversed_at.is_none())
                .and_then(|p| p.ack_deadline),
            InvoiceStatus::Reserved => self.reservation.as_ref().map(|r| r.deadline),
            InvoiceStatus::Issued => self.expires_at,
            _ => None,
        }
    }

    fn bump(&mut self, status: InvoiceStatus) {
        self.status = status;
        self.version = self.version.saturating_add(1);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryKind {
    Payment,
    Refund,
}

/// One line of the ledger: a payment or a refund.
#[derive(Clone, Debug)]
struct LedgerEntry {
    kind: EntryKind,
    ers_reference: String,
    invoice_reference: String,
    terminal_id: String,
    cashier_id: Option<String>,
    /// Positive for payments, negative for refunds.
    amount_minor: i64,
    currency: String,
    shop_period: Option<String>,
    terminal_period: Option<String>,
    reversed: bool,
}

/// A closed transaction period.
#[derive(Clone, Debug)]
struct Period {
    terminal_id: Option<String>,
    ready_at: OffsetDateTime,
}

/// A notification the caller must POST (asynchronously, outside the state lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationJob {
    /// The paid invoice.
    pub invoice_reference: String,
    /// The full notification URL.
    pub url: String,
    /// The merchant's invoice id, sent in the form body.
    pub client_invoice_id: Option<String>,
}

/// Why a shopper or control action was refused. Nothing changes when it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No such invoice, sticker or terminal.
    #[error("{0}")]
    NotFound(String),
    /// The action does not fit the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
}

/// What the shopper's app would do after an action.
#[derive(Clone, Debug, Serialize)]
pub struct ShopperOutcome {
    /// The invoice after the action.
    pub invoice: InvoiceView,
    /// The backURL the app opens, if the invoice has one.
    pub back_url: Option<String>,
}

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

/// The URL without query string and fragment, for logs and views.
pub fn url_path_only(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_owned()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn payment_date(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    ))
    .unwrap_or_default()
}

fn minor_text(minor: i64) -> String {
    glase_protocol::Decimal::from_minor_units(minor).to_string()
}

/// The sandbox state. One per sandbox, behind a mutex.
#[derive(Debug)]
pub struct State {
    pub(crate) config: SandboxConfig,
    reseller_password: Password,
    pub(crate) terminals: HashMap<String, Terminal>,
    pub(crate) invoices: HashMap<String, InvoiceRecord>,
    invoice_order: Vec<String>,
    /// The invoices that may have a deadline (checked lazily: entries without one are dropped).
    pending: std::collections::HashSet<String>,
    ledger: Vec<LedgerEntry>,
    periods: HashMap<String, Period>,
    pub(crate) events: EventLog,
    pub(crate) faults: FaultSet,
    pub(crate) ids: IdGenerator,
}

type Outcome<T> = Result<T, ResultCode>;

impl State {
    /// A fresh state with the configured accounts.
    pub fn new(config: SandboxConfig) -> Self {
        let terminals = config
            .webshop_terminals
            .iter()
            .map(|t| {
                let terminal = Terminal {
                    id: t.terminal_id.clone(),
                    password: Password::new(t.password.clone()),
                    name: t.name.clone(),
                    external_id: None,
                    kind: TerminalKind::Webshop,
                    seqr_id: None,
                };
                (t.terminal_id.clone(), terminal)
            })
            .collect();
        Self {
            reseller_password: Password::new(config.reseller.password.clone()),
            ids: IdGenerator::new(config.seed),
            config,
            terminals,
            invoices: HashMap::new(),
            invoice_order: Vec::new(),
            pending: std::collections::HashSet::new(),
            ledger: Vec::new(),
            periods: HashMap::new(),
            events: EventLog::default(),
            faults: FaultSet::default(),
        }
    }

    // ----- Timers -------------------------------------------------------------------------------

    /// Applies every deadline that has passed at `now`: reversals of unacknowledged payments, lapsed
    /// reservations and (when configured) expired unpaid invoices. Deadlines are applied in the order
    /// the invoices were created.
    pub fn process_due(&mut self, now: OffsetDateTime) {
        let mut due: Vec<(OffsetDateTime, String)> = Vec::new();
        let invoices = &self.invoices;
        self.pending.retain(
            |reference| match invoices.get(reference).and_then(InvoiceRecord::deadline) {
                Some(deadline) => {
                    if deadline <= now {
                        due.push((deadline, reference.clone()));
                    }
                    true
                }
                None => false,
            },
        );
        due.sort();
        for (_, reference) in due {
            self.apply_deadline(&reference, now);
        }
    }

    fn apply_deadline(&mut self, reference: &str, now: OffsetDateTime) {
        let reference = reference.to_owned();
        let Some(record) = self.invoices.get_mut(&reference) else {
            return;
        };
        match record.status {
            InvoiceStatus::Paid => {
                let Some(payment) = record.payment.as_mut() else {
                    return;
                };
                let due = payment.acknowledged_at.is_none()
                    && payment.reversed_at.is_none()
                    && payment.ack_deadline.is_some_and(|d| d <= now);
                if !due {
                    return;
                }
                let at = payment.ack_deadline.unwrap_or(now);
                payment.reversed_at = Some(at);
                let ers = payment.ers_reference.clone();
                let payer = payment.payer_terminal_id.clone();
                record.bump(InvoiceStatus::Canceled);
                let amount = minor_text(record.amount_minor);
                let currency = record.currency.clone();
                for entry in self.ledger.iter_mut().filter(|e| e.ers_reference == ers) {
                    entry.reversed = true;
                }
                self.events.push(
                    at,
                    EventKind::PaymentReversed {
                        invoice_reference: reference.clone(),
                        ers_reference: ers,
                    },
                );
                self.events.push(
                    at,
                    EventKind::SmsSent {
                        invoice_reference: reference.clone(),
                        payer_terminal_id: payer,
                        text: format!(
                            "Your Glase payment of {amount} {currency} was reversed because the shop did not \
                             confirm it. No money has been taken."
                        ),
                    },
                );
            }
            InvoiceStatus::Reserved => {
                let Some(reservation) = record.reservation.as_ref() else {
                    return;
                };
                if reservation.deadline <= now {
                    let at = reservation.deadline;
                    record.bump(InvoiceStatus::Expired);
                    self.events.push(
                        at,
                        EventKind::InvoiceExpired {
                            invoice_reference: reference.clone(),
                        },
                    );
                }
            }
            InvoiceStatus::Issued => {
                if let Some(at) = record.expires_at.filter(|e| *e <= now) {
                    record.bump(InvoiceStatus::Expired);
                    record.in_progress = false;
                    self.events.push(
                        at,
                        EventKind::InvoiceExpired {
                            invoice_reference: reference.clone(),
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// The earliest pending deadline, if any (for the background timer).
    pub fn next_deadline(&self) -> Option<OffsetDateTime> {
        self.pending
            .iter()
            .filter_map(|r| self.invoices.get(r).and_then(InvoiceRecord::deadline))
            .min()
    }

    // ----- Authentication -----------------------------------------------------------------------

    fn auth_terminal(&self, ctx: &ClientContext) -> Outcome<String> {
        if ctx.initiator.kind != PrincipalType::TerminalId {
            return Err(ResultCode::InvalidInitiatorPrincipalId);
        }
        let terminal = self
            .terminals
            .get(&ctx.initiator.id)
            .ok_or(ResultCode::InvalidInitiatorPrincipalId)?;
        if !terminal.password.verify(&ctx.password) {
            return Err(ResultCode::AuthenticationFailed);
        }
        Ok(terminal.id.clone())
    }

    fn auth_reseller(&self, ctx: &ClientContext) -> Outcome<()> {
        if ctx.initiator.kind != PrincipalType::ResellerUser {
            return Err(ResultCode::InitiatorPrincipalNotFound);
        }
        // The cash-register sample packs "<resellerId>/<userId>" into `id` and sends no `userId`.
        let (id, user_id) = match (&ctx.initiator.user_id, ctx.initiator.id.split_once('/')) {
            (Some(user_id), _) => (ctx.initiator.id.as_str(), user_id.as_str()),
            (None, Some((id, user_id))) => (id, user_id),
            (None, None) => return Err(ResultCode::InitiatorPrincipalNotFound),
        };
        if id != self.config.reseller.id || user_id != self.config.reseller.user_id {
            return Err(ResultCode::InitiatorPrincipalNotFound);
        }
        if !self.reseller_password.verify(&ctx.password) {
            return Err(ResultCode::AuthenticationFailed);
        }
        Ok(())
    }

    /// A terminal id for TERMINALID contexts, `None` for the reseller.
    fn auth_any(&self, ctx: &ClientContext) -> Outcome<Option<String>> {
        match ctx.initiator.kind {
            PrincipalType::ResellerUser => self.auth_reseller(ctx).map(|()| None),
            _ => self.auth_terminal(ctx).map(Some),
        }
    }

    // ----- Validation ---------------------------------------------------------------------------

    /// Checks an invoice and answers its total in minor units and its currency.
    fn validate_invoice(&self, invoice: &Invoice) -> Outcome<(i64, String)> {
        let bad = ResultCode::InvalidInvoiceData;
        let total = invoice.total_amount.as_ref().ok_or(bad)?;
        if !self.config.currencies.contains(&total.currency) {
            return Err(bad);
        }
        let total_minor = total.to_minor_units().ok_or(bad)?;
        let same_currency_minor = |amount: &glase_protocol::Amount| -> Outcome<i64> {
            if amount.currency != total.currency {
                return Err(bad);
            }
            amount.to_minor_units().ok_or(bad)
        };
        if let Some(rows) = invoice.invoice_rows.as_ref().filter(|rows| !rows.is_empty()) {
            let mut sum: i64 = 0;
            for row in rows {
                let row_total = same_currency_minor(row.item_total_amount.as_ref().ok_or(bad)?)?;
                sum = sum.checked_add(row_total).ok_or(bad)?;
                for amount in [&row.item_unit_price, &row.item_discount].into_iter().flatten() {
                    same_currency_minor(amount)?;
                }
                if let Some(q) = row.item_quantity {
                    // A quantity below 1 is refused: `mantissa < 10^scale` means `q < 1`.
                    let one = 10_i128.checked_pow(q.scale()).ok_or(bad)?;
                    if q.mantissa() < one {
                        return Err(bad);
                    }
                }
            }
            if sum != total_minor {
                return Err(bad);
            }
        }
        if total_minor <= 0 {
            return Err(ResultCode::RejectedAmount);
        }
        if let Some(url) = invoice
            .notification_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            check_notification_url(url)?;
        }
        Ok((total_minor, total.currency.clone()))
    }

    // ----- Operations ---------------------------------------------------------------------------

    /// Executes one SOAP request at `now` and answers its response. Rejections are responses with a
    /// non-zero result code; nothing changes when an operation is rejected.
    pub fn execute(&mut self, request: &Request, now: OffsetDateTime) -> Response {
        self.process_due(now);
        let operation = request.operation();
        let result: Outcome<Response> = match request {
            Request::SendInvoice(r) => self.send_invoice(r, now).map(Into::into),
            Request::UpdateInvoice(r) => self.update_invoice(r, now).map(Into::into),
            Request::GetPaymentStatus(r) => self.get_payment_status(r, now).map(Into::into),
            Request::CancelInvoice(r) => self.cancel_invoice(r, now).map(Into::into),
            Request::CommitReservation(r) => self.commit_reservation(r, now).map(Into::into),
            Request::SubmitPaymentReceipt(r) => self.submit_payment_receipt(r, now).map(Into::into),
            Request::RefundPayment(r) => self.refund_payment(r, now).map(Into::into),
            Request::RegisterTerminal(r) => self.register_terminal(r, now).map(Into::into),
            Request::UnregisterTerminal(r) => self.unregister_terminal(r, now).map(Into::into),
            Request::AssignSeqrId(r) => self.assign_seqr_id(r, now).map(Into::into),
            Request::MarkTransactionPeriod(r) => self.mark_transaction_period(r, now).map(Into::into),
            Request::ExecuteReport(r) => self.execute_report(r, now).map(Into::into),
        };
        result.unwrap_or_else(|code| Response::with_code(operation, code))
    }

    fn owned_invoice(&self, terminal_id: &str, reference: Option<&str>) -> Outcome<String> {
        let reference = reference.ok_or(ResultCode::InvalidInvoiceReference)?;
        match self.invoices.get(reference) {
            Some(r) if r.terminal_id == terminal_id => Ok(reference.to_owned()),
            _ => Err(ResultCode::InvalidInvoiceReference),
        }
    }

    fn send_invoice(&mut self, r: &SendInvoiceRequest, now: OffsetDateTime) -> Outcome<SendInvoiceResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let invoice = r.invoice.as_ref().ok_or(ResultCode::InvalidInvoiceData)?;
        let (amount_minor, currency) = self.validate_invoice(invoice)?;
        let kind = self.terminals[&terminal_id].kind;
        if kind == TerminalKind::CashRegister {
            self.cancel_open_invoices(&terminal_id, CancelReason::ReplacedByNewInvoice, now);
        }
        let reference = loop {
            let candidate = self.ids.invoice_reference(now);
            if !self.invoices.contains_key(&candidate) {
                break candidate;
            }
        };
        let expires_at = self
            .config
            .unpaid_invoice_expiry_secs
            .map(|s| now + std::time::Duration::from_secs(s));
        self.invoices.insert(
            reference.clone(),
            InvoiceRecord {
                reference: reference.clone(),
                terminal_id: terminal_id.clone(),
                invoice: invoice.clone(),
                amount_minor,
                currency: currency.clone(),
                status: InvoiceStatus::Issued,
                version: 0,
                in_progress: false,
                issued_at: now,
                expires_at,
                payment: None,
                reservation: None,
                cancel_reason: None,
            },
        );
        self.invoice_order.push(reference.clone());
        if expires_at.is_some() {
            self.pending.insert(reference.clone());
        }
        self.events.push(
            now,
            EventKind::InvoiceIssued {
                invoice_reference: reference.clone(),
                terminal_id,
                amount_minor,
                currency,
            },
        );
        Ok(SendInvoiceResponse {
            invoice_qr_code: Some(format!("HTTP://SEQR.SE/R{reference}")),
            invoice_reference: Some(reference),
            ..SendInvoiceResponse::with_code(ResultCode::Success)
        })
    }

    fn cancel_open_invoices(&mut self, terminal_id: &str, reason: CancelReason, now: OffsetDateTime) {
        for reference in &self.invoice_order {
            let Some(record) = self.invoices.get_mut(reference) else {
                continue;
            };
            if record.terminal_id == terminal_id && record.status == InvoiceStatus::Issued {
                record.bump(InvoiceStatus::Canceled);
                record.in_progress = false;
                record.cancel_reason = Some(reason);
                self.events.push(
                    now,
                    EventKind::InvoiceCanceled {
                        invoice_reference: reference.clone(),
                        reason,
                    },
                );
            }
        }
    }

    fn update_invoice(
        &mut self,
        r: &UpdateInvoiceRequest,
        now: OffsetDateTime,
    ) -> Outcome<UpdateInvoiceResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let reference = self.owned_invoice(&terminal_id, r.invoice_reference.as_deref())?;
        let record = &self.invoices[&reference];
        match record.status {
            InvoiceStatus::Issued if record.in_progress => return Err(ResultCode::PaymentInProgress),
            InvoiceStatus::Issued => {}
            InvoiceStatus::Paid | InvoiceStatus::Reserved => return Err(ResultCode::SystemError),
            _ => return Err(ResultCode::RejectedBusinessLogic),
        }
        let invoice = r.invoice.as_ref().ok_or(ResultCode::InvalidInvoiceData)?;
        let (amount_minor, currency) = self.validate_invoice(invoice)?;
        let record = self
            .invoices
            .get_mut(&reference)
            .ok_or(ResultCode::InvalidInvoiceReference)?;
        record.invoice = invoice.clone();
        record.amount_minor = amount_minor;
        record.currency = currency;
        record.version = record.version.saturating_add(1);
        let version = record.version;
        self.events.push(
            now,
            EventKind::InvoiceUpdated {
                invoice_reference: reference,
                version,
            },
        );
        Ok(UpdateInvoiceResponse::with_code(ResultCode::Success))
    }

    fn get_payment_status(
        &mut self,
        r: &GetPaymentStatusRequest,
        now: OffsetDateTime,
    ) -> Outcome<GetPaymentStatusResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let reference = match r.invoice_reference.as_deref().filter(|s| !s.is_empty()) {
            Some(reference) => self.owned_invoice(&terminal_id, Some(reference))?,
            // Without a reference, the terminal's newest invoice is meant (a physical shop's current one).
            None => self
                .invoice_order
                .iter()
                .rev()
                .find(|reference| {
                    self.invoices
                        .get(*reference)
                        .is_some_and(|i| i.terminal_id == terminal_id)
                })
                .cloned()
                .ok_or(ResultCode::InvalidInvoiceReference)?,
        };
        let receiver_name = self.terminals[&terminal_id].name.clone();
        let record = self
            .invoices
            .get_mut(&reference)
            .ok_or(ResultCode::InvalidInvoiceReference)?;
        let mut response = GetPaymentStatusResponse {
            status: Some(record.status.clone()),
            version: record.version,
            customer_tokens: Some(Vec::new()),
            ..GetPaymentStatusResponse::with_code(ResultCode::Success)
        };
        if record.status == InvoiceStatus::Paid
            && let Some(payment) = record.payment.as_mut()
        {
            if payment.acknowledged_at.is_none() {
                payment.acknowledged_at = Some(now);
                self.events.push(
                    now,
                    EventKind::PaymentAcknowledged {
                        invoice_reference: reference.clone(),
                        ers_reference: payment.ers_reference.clone(),
                    },
                );
            }
            response.ers_reference = Some(payment.ers_reference.clone());
            response.receipt = Some(Receipt {
                terminal_id: Some(record.terminal_id.clone()),
                payment_date: Some(payment_date(payment.paid_at)),
                client_invoice_id: record.invoice.client_invoice_id.clone(),
                invoice_reference: Some(reference.clone()),
                payment_reference: Some(payment.ers_reference.clone()),
                payer_terminal_id: Some(payment.payer_terminal_id.clone()),
                receiver_name: Some(receiver_name),
                invoice: Some(record.invoice.clone()),
            });
        }
        Ok(response)
    }

    fn cancel_invoice(
        &mut self,
        r: &CancelInvoiceRequest,
        now: OffsetDateTime,
    ) -> Outcome<CancelInvoiceResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let reference = self.owned_invoice(&terminal_id, r.invoice_reference.as_deref())?;
        let record = self
            .invoices
            .get_mut(&reference)
            .ok_or(ResultCode::InvalidInvoiceReference)?;
        match record.status {
            InvoiceStatus::Issued if record.in_progress => {
                return Err(ResultCode::CannotCancelInvoiceInProgress);
            }
            InvoiceStatus::Issued | InvoiceStatus::Reserved => {}
            InvoiceStatus::Paid => return Err(ResultCode::CannotCancelPaidInvoice),
            InvoiceStatus::Canceled => return Err(ResultCode::InvoiceAlreadyCanceled),
            InvoiceStatus::Expired => return Err(ResultCode::PaymentExpired),
            _ => return Err(ResultCode::RejectedBusinessLogic),
        }
        record.bump(InvoiceStatus::Canceled);
        record.cancel_reason = Some(CancelReason::Merchant);
        self.events.push(
            now,
            EventKind::InvoiceCanceled {
                invoice_reference: reference,
                reason: CancelReason::Merchant,
            },
        );
        Ok(CancelInvoiceResponse::with_code(ResultCode::Success))
    }

    fn commit_reservation(
        &mut self,
        r: &CommitReservationRequest,
        now: OffsetDateTime,
    ) -> Outcome<CommitReservationResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let reference = self.owned_invoice(&terminal_id, r.invoice_reference.as_deref())?;
        let record = &self.invoices[&reference];
        match record.status {
            InvoiceStatus::Reserved => {}
            InvoiceStatus::Expired if record.reservation.is_some() => return Err(ResultCode::PaymentExpired),
            _ => return Err(ResultCode::InvoiceStateNotReserved),
        }
        let reservation = record
            .reservation
            .clone()
            .ok_or(ResultCode::InvoiceStateNotReserved)?;
        let amount_minor = match &r.amount {
            None => reservation.amount_minor,
            Some(amount) => {
                if amount.currency != record.currency {
                    return Err(ResultCode::InvalidInvoiceData);
                }
                let minor = amount.to_minor_units().ok_or(ResultCode::InvalidInvoiceData)?;
                if minor <= 0 || minor > reservation.amount_minor {
                    return Err(ResultCode::RejectedAmount);
                }
                minor
            }
        };
        let ers_reference = self.ids.ers_reference(now);
        let record = self
            .invoices
            .get_mut(&reference)
            .ok_or(ResultCode::InvalidInvoiceReference)?;
        record.bump(InvoiceStatus::Paid);
        record.payment = Some(PaymentRecord {
            ers_reference: ers_reference.clone(),
            amount_minor,
            paid_at: now,
            payer_terminal_id: reservation.payer_terminal_id,
            ack_deadline: None,
            acknowledged_at: Some(now),
            reversed_at: None,
            refunded_minor: 0,
            refunds: Vec::new(),
        });
        let entry = LedgerEntry {
            kind: EntryKind::Payment,
            ers_reference: ers_reference.clone(),
            invoice_reference: reference.clone(),
            terminal_id: record.terminal_id.clone(),
            cashier_id: record.invoice.cashier_id.clone(),
            amount_minor,
            currency: record.currency.clone(),
            shop_period: None,
            terminal_period: None,
            reversed: false,
        };
        self.ledger.push(entry);
        self.events.push(
            now,
            EventKind::ReservationCommitted {
                invoice_reference: reference,
                ers_reference,
                amount_minor,
            },
        );
        Ok(CommitReservationResponse::with_code(ResultCode::Success))
    }

    fn submit_payment_receipt(
        &mut self,
        r: &SubmitPaymentReceiptRequest,
        now: OffsetDateTime,
    ) -> Outcome<SubmitPaymentReceiptResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let ers = r
            .ers_reference
            .as_deref()
            .ok_or(ResultCode::InvalidErsReference)?;
        let known = self
            .ledger
            .iter()
            .any(|e| e.ers_reference == ers && e.terminal_id == terminal_id && !e.reversed);
        if !known {
            return Err(ResultCode::InvalidErsReference);
        }
        let receipt_type = r.receipt_document.as_ref().and_then(|d| d.receipt_type.clone());
        self.events.push(
            now,
            EventKind::ReceiptSubmitted {
                ers_reference: ers.to_owned(),
                receipt_type,
            },
        );
        Ok(SubmitPaymentReceiptResponse::with_code(ResultCode::Success))
    }

    fn refund_payment(
        &mut self,
        r: &RefundPaymentRequest,
        now: OffsetDateTime,
    ) -> Outcome<RefundPaymentResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let ers = r
            .ers_reference
            .as_deref()
            .ok_or(ResultCode::InvalidErsReference)?;
        let payment_entry = self
            .ledger
            .iter()
            .find(|e| e.kind == EntryKind::Payment && e.ers_reference == ers && e.terminal_id == terminal_id)
            .filter(|e| !e.reversed)
            .cloned()
            .ok_or(ResultCode::InvalidErsReference)?;
        let record = &self.invoices[&payment_entry.invoice_reference];
        let payment = record.payment.as_ref().ok_or(ResultCode::InvalidErsReference)?;
        if payment.acknowledged_at.is_none() {
            return Err(ResultCode::PaymentInProgress);
        }
        let (original, refunded) = (payment.amount_minor, payment.refunded_minor);
        let invoice = r.invoice.as_ref().ok_or(ResultCode::InvalidInvoiceData)?;
        let (amount_minor, currency) = self.validate_invoice(invoice)?;
        if currency != payment_entry.currency {
            return Err(ResultCode::InvalidInvoiceData);
        }
        if refunded
            .checked_add(amount_minor)
            .is_none_or(|sum| sum > original)
        {
            return Err(ResultCode::SumOfRefundsCanNotBeMoreThanOriginalTransaction);
        }
        let refund_reference = self.ids.ers_reference(now);
        let record = self
            .invoices
            .get_mut(&payment_entry.invoice_reference)
            .ok_or(ResultCode::InvalidErsReference)?;
        let payment = record.payment.as_mut().ok_or(ResultCode::InvalidErsReference)?;
        payment.refunded_minor += amount_minor;
        payment.refunds.push(refund_reference.clone());
        self.ledger.push(LedgerEntry {
            kind: EntryKind::Refund,
            ers_reference: refund_reference.clone(),
            invoice_reference: payment_entry.invoice_reference.clone(),
            terminal_id,
            cashier_id: invoice.cashier_id.clone(),
            amount_minor: -amount_minor,
            currency: currency.clone(),
            shop_period: None,
            terminal_period: None,
            reversed: false,
        });
        self.events.push(
            now,
            EventKind::RefundIssued {
                original_ers_reference: ers.to_owned(),
                ers_reference: refund_reference.clone(),
                amount_minor,
                currency,
            },
        );
        Ok(RefundPaymentResponse {
            ers_reference: Some(refund_reference),
            ..RefundPaymentResponse::with_code(ResultCode::Success)
        })
    }

    fn register_terminal(
        &mut self,
        r: &RegisterTerminalRequest,
        now: OffsetDateTime,
    ) -> Outcome<RegisterTerminalResponse> {
        self.auth_reseller(&r.context)?;
        let password = r
            .password
            .as_ref()
            .filter(|p| p.char_count() >= 4)
            .ok_or(ResultCode::AccessDenied)?;
        let terminal_id = loop {
            let candidate = self.ids.terminal_id();
            if !self.terminals.contains_key(&candidate) {
                break candidate;
            }
        };
        let name = r
            .name
            .clone()
            .or_else(|| r.external_terminal_id.clone())
            .unwrap_or_else(|| self.config.shop_name.clone());
        self.terminals.insert(
            terminal_id.clone(),
            Terminal {
                id: terminal_id.clone(),
                password: password.clone(),
                name,
                external_id: r.external_terminal_id.clone(),
                kind: TerminalKind::CashRegister,
                seqr_id: None,
            },
        );
        self.events.push(
            now,
            EventKind::TerminalRegistered {
                terminal_id: terminal_id.clone(),
                external_terminal_id: r.external_terminal_id.clone(),
            },
        );
        Ok(RegisterTerminalResponse {
            terminal_id: Some(terminal_id),
            ..RegisterTerminalResponse::with_code(ResultCode::Success)
        })
    }

    fn unregister_terminal(
        &mut self,
        r: &UnregisterTerminalRequest,
        now: OffsetDateTime,
    ) -> Outcome<UnregisterTerminalResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        self.cancel_open_invoices(&terminal_id, CancelReason::TerminalUnregistered, now);
        self.terminals.remove(&terminal_id);
        self.events
            .push(now, EventKind::TerminalUnregistered { terminal_id });
        Ok(UnregisterTerminalResponse::with_code(ResultCode::Success))
    }

    fn assign_seqr_id(
        &mut self,
        r: &AssignSeqrIdRequest,
        now: OffsetDateTime,
    ) -> Outcome<AssignSeqrIdResponse> {
        let terminal_id = self.auth_terminal(&r.context)?;
        let seqr_id = r
            .seqr_id
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or(ResultCode::InvalidSeqrId)?;
        let taken = self
            .terminals
            .values()
            .any(|t| t.id != terminal_id && t.seqr_id.as_deref() == Some(seqr_id));
        if taken {
            return Err(ResultCode::InvalidSeqrId);
        }
        if let Some(t) = self.terminals.get_mut(&terminal_id) {
            t.seqr_id = Some(seqr_id.to_owned());
        }
        self.events.push(
            now,
            EventKind::SeqrIdAssigned {
                terminal_id,
                seqr_id: seqr_id.to_owned(),
            },
        );
        Ok(AssignSeqrIdResponse::with_code(ResultCode::Success))
    }

    fn mark_transaction_period(
        &mut self,
        r: &MarkTransactionPeriodRequest,
        now: OffsetDateTime,
    ) -> Outcome<MarkTransactionPeriodResponse> {
        let caller_terminal = self.auth_any(&r.context)?;
        let parameter = r
            .parameters
            .as_ref()
            .and_then(|p| p.get("TERMINALID"))
            .filter(|s| !s.is_empty());
        let scope = match (caller_terminal, parameter) {
            (Some(own), Some(param)) if own != param => return Err(ResultCode::InvalidInitiatorPrincipalId),
            (Some(own), _) => Some(own),
            (None, Some(param)) if !self.terminals.contains_key(param) => {
                return Err(ResultCode::InvalidInitiatorPrincipalId);
            }
            (None, param) => param.map(str::to_owned),
        };
        let period_id = self.ids.ers_reference(now);
        let mut entries = 0;
        for entry in &mut self.ledger {
            match &scope {
                None if entry.shop_period.is_none() => {
                    entry.shop_period = Some(period_id.clone());
                    entries += 1;
                }
                Some(t) if entry.terminal_period.is_none() && entry.terminal_id == *t => {
                    entry.terminal_period = Some(period_id.clone());
                    entries += 1;
                }
                _ => {}
            }
        }
        self.periods.insert(
            period_id.clone(),
            Period {
                terminal_id: scope.clone(),
                ready_at: now + self.config.report_delay(),
            },
        );
        self.events.push(
            now,
            EventKind::TransactionPeriodMarked {
                transaction_period_id: period_id.clone(),
                terminal_id: scope,
                entries,
            },
        );
        Ok(MarkTransactionPeriodResponse {
            transaction_period_id: Some(period_id),
            ..MarkTransactionPeriodResponse::with_code(ResultCode::Success)
        })
    }

    fn execute_report(
        &mut self,
        r: &ExecuteReportRequest,
        now: OffsetDateTime,
    ) -> Outcome<ExecuteReportResponse> {
        let caller_terminal = self.auth_any(&r.context)?;
        let period_id = r
            .parameters
            .as_ref()
            .and_then(|p| p.get("transactionPeriodId"))
            .map(str::to_owned);
        let result = self.build_report(r, caller_terminal.as_deref(), period_id.as_deref(), now);
        self.events.push(
            now,
            EventKind::ReportRequested {
                report_id: r.report_id.clone().unwrap_or_default(),
                transaction_period_id: period_id,
                delivered: result.is_ok(),
            },
        );
        let report = result?;
        Ok(ExecuteReportResponse {
            report: Some(report),
            ..ExecuteReportResponse::with_code(ResultCode::Success)
        })
    }

    fn build_report(
        &self,
        r: &ExecuteReportRequest,
        caller_terminal: Option<&str>,
        period_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Outcome<Report> {
        let kind = r
            .report_id
            .as_deref()
            .and_then(ReportKind::from_id)
            .ok_or(ResultCode::UnsupportedOperation)?;
        let period_id = period_id.ok_or(ResultCode::RejectedBusinessLogic)?;
        let period = self
            .periods
            .get(period_id)
            .ok_or(ResultCode::RejectedBusinessLogic)?;
        if let Some(own) = caller_terminal
            && period.terminal_id.as_deref() != Some(own)
        {
            return Err(ResultCode::RejectedBusinessLogic);
        }
        if now < period.ready_at {
            return Err(ResultCode::ReportNotReady);
        }
        let terminal_parameter = r.parameters.as_ref().and_then(|p| p.get("TERMINALID"));
        if kind.per_terminal() {
            // A period marked without TERMINALID never yields the per-terminal reports (FAQ).
            let Some(period_terminal) = period.terminal_id.as_deref() else {
                return Err(ResultCode::ReportNotReady);
            };
            if terminal_parameter.is_some_and(|t| t != period_terminal) {
                return Err(ResultCode::RejectedBusinessLogic);
            }
        }
        let lines: Vec<ReportLine> = self
            .ledger
            .iter()
            .filter(|e| !e.reversed)
            .filter(|e| match &period.terminal_id {
                None => e.shop_period.as_deref() == Some(period_id),
                Some(_) => e.terminal_period.as_deref() == Some(period_id),
            })
            .map(|e| ReportLine {
                terminal_id: e.terminal_id.clone(),
                cashier_id: e.cashier_id.clone(),
                amount_minor: e.amount_minor,
                currency: e.currency.clone(),
                ers_reference: e.ers_reference.clone(),
            })
            .collect();
        let meta = ReportMeta {
            reseller_id: self.config.reseller.id.clone(),
            terminal_id: if kind.per_terminal() {
                period.terminal_id.clone()
            } else {
                None
            },
            transaction_period_id: period_id.to_owned(),
            generated_at: now,
        };
        let text = reports::render(kind, &meta, &lines);
        Ok(Report {
            title: Some(kind.title(period_id)),
            mime_type: Some("text/html".to_owned()),
            content: Some(text.clone().into_bytes()),
            content_string: Some(text),
        })
    }

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
            record.bump(InvoiceStatus::Paid);
            record.payment = Some(PaymentRecord {
                ers_reference: ers_reference.clone(),
                amount_minor: record.amount_minor,
                paid_at: now,
                payer_terminal_id,
                ack_deadline: Some(ack_deadline),
                acknowledged_at: None,
                reversed_at: None,
                refunded_minor: 0,
                refunds: Vec::new(),
            });
            let entry = LedgerEntry {
                kind: EntryKind::Payment,
                ers_reference: ers_reference.clone(),
                invoice_reference: reference.to_owned(),
                terminal_id: record.terminal_id.clone(),
                cashier_id: record.invoice.cashier_id.clone(),
                amount_minor: record.amount_minor,
                currency: record.currency.clone(),
                shop_period: None,
                terminal_period: None,
                reversed: false,
            };
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

/// A notification URL must be `http://` or `https://` (any case) followed by a host, without spaces.
fn check_notification_url(url: &str) -> Outcome<()> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(ResultCode::InvalidNotificationUrl),
    }
}
