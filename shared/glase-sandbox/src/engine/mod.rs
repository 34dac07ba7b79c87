//! The state engine: terminals, invoices, payments, refunds, periods and the rules that move them.
//!
//! Everything here is synchronous and takes the current sandbox time as an argument, so the rules are
//! tested without a clock, a network or a runtime. The [`crate::Sandbox`] wraps one [`State`] in a
//! mutex and adds the asynchronous parts (notification POSTs, the background timer).
//!
//! # Layout
//! - this module: terminals, invoices and the ledger, the [`State`] with its timers, authentication and
//!   validation.
//! - `merchant`: the merchant's operations ([`State::execute`]).
//! - `shopper`: the shopper's actions ([`State::scan`], [`State::pay`] and the others).
//! - `views`: [`InvoiceView`] and what it holds ([`State::view`]).

mod merchant;
mod shopper;
mod views;

use std::collections::HashMap;

use glase_protocol::{ClientContext, Invoice, InvoiceStatus, Password, PrincipalType, ResultCode};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::config::SandboxConfig;
use crate::events::{CancelReason, EventKind, EventLog};
use crate::faults::FaultSet;
use crate::ids::IdGenerator;

pub use shopper::ShopperOutcome;
pub use views::{InvoiceView, PaymentView, RowView};

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

    /// Marks the invoice paid by `payment` and answers the payment's ledger entry, in no period yet.
    fn paid(&mut self, payment: PaymentRecord) -> LedgerEntry {
        self.bump(InvoiceStatus::Paid);
        let entry = LedgerEntry {
            kind: EntryKind::Payment,
            ers_reference: payment.ers_reference.clone(),
            invoice_reference: self.reference.clone(),
            terminal_id: self.terminal_id.clone(),
            cashier_id: self.invoice.cashier_id.clone(),
            amount_minor: payment.amount_minor,
            currency: self.currency.clone(),
            shop_period: None,
            terminal_period: None,
            reversed: false,
        };
        self.payment = Some(payment);
        entry
    }
}

impl PaymentRecord {
    /// A payment neither reversed nor refunded.
    fn new(
        ers_reference: String,
        amount_minor: i64,
        paid_at: OffsetDateTime,
        payer_terminal_id: String,
        ack_deadline: Option<OffsetDateTime>,
        acknowledged_at: Option<OffsetDateTime>,
    ) -> Self {
        Self {
            ers_reference,
            amount_minor,
            paid_at,
            payer_terminal_id,
            ack_deadline,
            acknowledged_at,
            reversed_at: None,
            refunded_minor: 0,
            refunds: Vec::new(),
        }
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
