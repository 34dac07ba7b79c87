//! A faithful, stateful local stand-in for the Glase merchant SOAP service, with the shopper's side, a
//! controllable clock and fault injection. Tests, the local stack and demos use it; production never does.
//!
//! It speaks the same SOAP 1.1 as Glase through the `glase-protocol` crate's model and codec (there is no
//! second SOAP parser here), serves its own WSDL at `?wsdl`, keeps invoices, payments, refunds and
//! transaction periods in memory, POSTs the merchant's `notificationUrl` when the shopper pays, and
//! **reverses every payment that no `getPaymentStatus` acknowledged within the acknowledgement window**
//! (20 s by default), recording an "SMS to the shopper".
//!
//! # Layout
//!
//! - [`config`]: [`SandboxConfig`] (accounts, windows, switches), read from JSON or TOML.
//! - [`engine`]: the synchronous state machine: authentication, validation, the twelve operations, the
//!   shopper's actions, deadlines. Takes the time as an argument.
//! - [`clock`]: real time plus an offset that tests advance.
//! - [`events`]: the ordered event log.
//! - [`faults`]: fault rules and their selection.
//! - [`reports`]: the reconciliation report documents.
//! - [`wsdl`]: the WSDL generator.
//! - [`http`]: the axum routers (SOAP endpoint and `/sandbox/` controls) and [`spawn`].
//!
//! # Running it
//!
//! In a test: `let handle = glase_sandbox::spawn(SandboxConfig::default(), "127.0.0.1:0".parse()?).await?;`
//! then use `handle.soap_endpoint_url()` for the SOAP client, `handle.sandbox()` for the controls in Rust
//! (or `handle.base_url()` + `/sandbox/...` over HTTP) and `handle.shutdown().await` at the end.
//!
//! To mount it into another axum application: [`Sandbox::soap_router`] serves the SOAP endpoint at
//! [`SOAP_PATH`] (nest it under any prefix: the WSDL's `soap:address` is computed from the request's
//! `Host` and original path), [`Sandbox::controls_router`] serves `/sandbox/...`, and
//! [`Sandbox::router`] is both.
//!
//! As a program: `glase-sandbox [--bind 127.0.0.1] [--port 8913] [--config sandbox.toml]`.
//!
//! # Configuration (`--config`, JSON, or TOML when the file name ends in `.toml`)
//!
//! Every field is optional; unknown fields are errors.
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `reseller.id` / `reseller.user_id` / `reseller.password` | `public_test_shop` / `9900` / `1234` | the RESELLERUSER account |
//! | `webshop_terminals` | `[{terminal_id: "public_test_shop_terminal", password: "12345678", name: "Glase Public Test Shop"}]` | pre-provisioned webshop terminals (many open invoices each) |
//! | `shop_name` | `Glase Public Test Shop` | receiver name fallback |
//! | `currencies` | `["SEK","EUR","NOK","DKK","USD","GBP"]` | accepted currencies (others: 49) |
//! | `notification_body` | `form` | `form` (`invoiceReference`, `clientInvoiceId`) or `empty` |
//! | `ack_window_secs` | `20` | acknowledgement window after a payment |
//! | `report_delay_ms` | `3000` | REPORT_NOT_READY time after markTransactionPeriod |
//! | `unpaid_invoice_expiry_secs` | none | when set, unpaid ISSUED invoices become EXPIRED after it |
//! | `default_reservation_timeout_secs` | `3600` | reservation lifetime when the invoice gives none |
//! | `notification_timeout_ms` | `10000` | timeout of one notification POST |
//! | `seed` | none (OS entropy) | seeds identifiers and fault probabilities |
//!
//! # Behaviour where the Glase sources are silent
//!
//! - A new invoice has version 0; every status change (and updateInvoice) adds 1; scanning does not.
//! - Any `getPaymentStatus` that returns PAID acknowledges the payment, whatever `invoiceVersion` says.
//!   The window is measured from the payment on the sandbox clock. An unacknowledged payment becomes
//!   CANCELED (version + 1) with `payment_reversed` and `sms_sent` events; it then answers no
//!   `ersReference`, cannot be refunded (23) and is left out of reports.
//! - Reservation modes (`RESERVATION_*`, including `RESERVATION_DESIRED`) become RESERVED when paid and a
//!   notification is sent; commitReservation (amount optional, at most the reserved amount, else 11) makes
//!   them PAID with a new `ersReference` and counts as the acknowledgement; past the timeout they become
//!   EXPIRED (commit then answers 58); other states answer 96. cancelInvoice on RESERVED releases it.
//! - Invoice checks (49): `totalAmount` present, an accepted currency, at most two significant decimals;
//!   when rows are present each needs `itemTotalAmount` in the invoice's currency with at most two
//!   decimals, unit price and discount likewise, `itemQuantity` ≥ 1 when given, and the rows' totals must
//!   add up to `totalAmount`. A total ≤ 0 answers 11. A non-empty `notificationUrl` must start with
//!   `http://` or `https://` and name a host (64); an empty one counts as absent.
//! - Authentication: a TERMINALID operation with an unknown terminal or a non-TERMINALID principal
//!   answers 29, a RESELLERUSER operation with the wrong reseller/userId or another principal type 37,
//!   a wrong password 20. `markTransactionPeriod` and `executeReport` accept both kinds of context.
//!   `"<resellerId>/<userId>"` packed into `id` without `userId` is accepted.
//! - cancelInvoice: ISSUED 0, ISSUED while the shopper is paying 51, PAID 50, CANCELED 95, EXPIRED 58,
//!   FAILED 10. updateInvoice: while paying 48, PAID/RESERVED 90, other final states 10.
//! - An invoice of another terminal is unknown (54). getPaymentStatus without a reference reads the
//!   terminal's newest invoice.
//! - Refunds: only a PAID, acknowledged payment of the same terminal (unknown, reversed or foreign: 23;
//!   not yet acknowledged: 48); the refund invoice needs `totalAmount` in the payment's currency (49);
//!   Σ refunds ≤ original (98). The response's `ersReference` is the refund's own reference.
//! - registerTerminal needs a password of at least 4 characters (21); the name defaults to the external
//!   id. unregisterTerminal cancels the terminal's open invoices. assignSeqrId: 1–64 ASCII letters and
//!   digits, not bound to another terminal (53).
//! - Periods: a RESELLERUSER mark without `TERMINALID` closes the shop period (all ledger lines not yet in
//!   a shop period); with `TERMINALID`, or from a TERMINALID context, it closes that terminal's period.
//!   executeReport: unknown `reportId` 91; missing or unknown `transactionPeriodId` 10; before
//!   `report_delay_ms` has passed 2; STD_RECON_006/007 on a shop period stay 2 (as the FAQ describes).
//!   Refunds appear as negative rows (see [`reports`]).
//! - Loyalty tokens and `acknowledgmentMode` are accepted and ignored (no PENDING_ISSUER_ACKNOWLEDGE flow).
//! - The shopper's actions need an ISSUED invoice (409 otherwise); pay, cancel and fail answer the
//!   invoice's backURL; the sticker pay pays the newest ISSUED invoice of the sticker's terminal.
//! - Deadlines are applied by a background task (every 100 ms, when the sandbox is created inside a
//!   Tokio runtime) and at the start of every call, control action and clock advance.

pub mod clock;
pub mod config;
pub mod engine;
pub mod events;
pub mod faults;
pub mod http;
mod ids;
pub mod notify;
mod phone;
pub mod reports;
pub mod wsdl;

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use glase_protocol::{Request, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;

pub use config::{ConfigError, NotificationBody, ResellerAccount, SandboxConfig, WebshopTerminal};
pub use engine::{ControlError, InvoiceView, NotificationJob, PaymentView, ShopperOutcome, TerminalKind};
pub use events::{CancelReason, Event, EventKind, NotificationOutcome};
pub use faults::{FaultAction, FaultError, FaultRule, FaultRules};
pub use http::{SandboxHandle, spawn};

use engine::State;

/// The path of the SOAP endpoint (GET `?wsdl` for the WSDL).
pub const SOAP_PATH: &str = "/extclientproxy/service/v2";

/// The target name of notification fault rules.
pub const NOTIFICATION_TARGET: &str = faults::NOTIFICATION_TARGET;

struct Inner {
    config: SandboxConfig,
    clock: clock::SandboxClock,
    state: Mutex<State>,
    http: reqwest::Client,
    changed: watch::Sender<u64>,
}

/// One sandbox: its state, clock, event log and fault rules. Cheap to clone (shared).
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A terminal as `GET /sandbox/accounts` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TerminalAccount {
    /// The terminal id.
    pub terminal_id: String,
    /// The password for configured terminals; `None` for registered ones (only the registering
    /// merchant knows it, and the sandbox keeps it only as a secret).
    pub password: Option<String>,
    /// The name shown to the shopper.
    pub name: String,
    /// `webshop` or `cash_register`.
    pub kind: TerminalKind,
    /// The bound sticker id.
    pub seqr_id: Option<String>,
    /// The merchant's id for a registered till.
    pub external_terminal_id: Option<String>,
}

/// The reseller as `GET /sandbox/accounts` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ResellerView {
    /// The reseller id.
    pub id: String,
    /// The user id.
    pub user_id: String,
    /// The password (it is a sandbox).
    pub password: String,
}

/// Everything a client needs to talk to the sandbox.
#[derive(Clone, Debug, Serialize)]
pub struct Accounts {
    /// The reseller.
    pub reseller: ResellerView,
    /// The terminals, configured first, then registered ones by id.
    pub terminals: Vec<TerminalAccount>,
}

impl Sandbox {
    /// Builds a sandbox after checking the configuration. Inside a Tokio runtime it also starts the
    /// background task that applies deadlines in real time; it stops when the last clone is dropped.
    pub fn new(config: SandboxConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        // Notifications go straight to the merchant's URL, never through a proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError::Invalid(format!("cannot build the notification HTTP client: {e}")))?;
        let (changed, _) = watch::channel(0);
        let sandbox = Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(config.clone())),
                config,
                clock: clock::SandboxClock::new(),
                http,
                changed,
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(run_timer(Arc::downgrade(&sandbox.inner)));
        }
        Ok(sandbox)
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, state: &State) {
        self.inner.changed.send_replace(state.events.last_seq());
    }

    /// The sandbox time.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Moves the clock forward and applies every deadline that passed, before answering the new time.
    pub fn advance_clock(&self, by: Duration) -> OffsetDateTime {
        let now = self.inner.clock.advance(by);
        let mut state = self.state();
        state.events.push(
            now,
            EventKind::ClockAdvanced {
                seconds: by.as_secs(),
            },
        );
        state.process_due(now);
        self.publish(&state);
        now
    }

    /// Executes one SOAP request as the service would (no faults applied) and logs a `call` event.
    pub fn execute(&self, request: &Request) -> Response {
        let mut state = self.state();
        let now = self.now();
        let response = state.execute(request, now);
        state.events.push(now, call_event(request, &response));
        self.publish(&state);
        response
    }

    /// Draws the fault (if any) for a call or notification target, logging a `fault_injected` event.
    pub(crate) fn draw_fault(&self, target: &str) -> Option<FaultAction> {
        let mut state = self.state();
        let state = &mut *state;
        let action = state.faults.draw(target, state.ids.rng())?;
        let now = self.now();
        state.events.push(
            now,
            EventKind::FaultInjected {
                target: target.to_owned(),
                action: action.name().into(),
            },
        );
        self.publish(state);
        Some(action)
    }

    /// Logs the answer of a call that a fault rule answered without executing.
    pub(crate) fn record_call(&self, request: &Request, response: &Response) {
        let mut state = self.state();
        let now = self.now();
        state.events.push(now, call_event(request, response));
        self.publish(&state);
    }

    /// The shopper opens an invoice in the app: cancelInvoice now answers 51.
    pub fn scan_invoice(&self, reference: &str) -> Result<ShopperOutcome, ControlError> {
        self.shopper(|state, now| state.scan(reference, now))
    }

    /// The shopper pays an invoice. The notification (if the invoice has a notificationUrl) is POSTed in
    /// the background; watch the events for its outcome.
    pub fn pay_invoice(&self, reference: &str) -> Result<ShopperOutcome, ControlError> {
        let (outcome, job) = {
            let mut state = self.state();
            let now = self.now();
            let result = state.pay(reference, now);
            self.publish(&state);
            result?
        };
        if let Some(job) = job {
            self.dispatch_notification(job);
        }
        Ok(outcome)
    }

    /// The shopper scans a POS sticker and pays its terminal's open invoice.
    pub fn pay_sticker(&self, seqr_id: &str) -> Result<ShopperOutcome, ControlError> {
        let reference = self.state().sticker_invoice(seqr_id)?;
        self.pay_invoice(&reference)
    }

    /// The invoice a sticker currently shows.
    pub fn sticker_invoice(&self, seqr_id: &str) -> Result<InvoiceView, ControlError> {
        let state = self.state();
        let reference = state.sticker_invoice(seqr_id)?;
        state
            .view(&reference)
            .ok_or_else(|| ControlError::NotFound(format!("no invoice {reference}")))
    }

    /// The shopper presses cancel: the invoice becomes CANCELED.
    pub fn cancel_invoice_as_shopper(&self, reference: &str) -> Result<ShopperOutcome, ControlError> {
        self.shopper(|state, now| state.shopper_cancel(reference, now))
    }

    /// The shopper's payment fails: the invoice becomes FAILED.
    pub fn fail_invoice(&self, reference: &str) -> Result<ShopperOutcome, ControlError> {
        self.shopper(|state, now| state.fail(reference, now))
    }

    fn shopper(
        &self,
        action: impl FnOnce(&mut State, OffsetDateTime) -> Result<ShopperOutcome, ControlError>,
    ) -> Result<ShopperOutcome, ControlError> {
        let mut state = self.state();
        let now = self.now();
        let result = action(&mut state, now);
        self.publish(&state);
        result
    }

    /// The full state of one invoice (deadlines applied first).
    pub fn invoice(&self, reference: &str) -> Option<InvoiceView> {
        let mut state = self.state();
        state.process_due(self.now());
        self.publish(&state);
        state.view(reference)
    }

    /// Every invoice, oldest first.
    pub fn invoices(&self) -> Vec<InvoiceView> {
        let mut state = self.state();
        state.process_due(self.now());
        self.publish(&state);
        state
            .invoice_references()
            .iter()
            .filter_map(|r| state.view(r))
            .collect()
    }

    /// The events after sequence number `after` (all when `None`).
    pub fn events(&self, after: Option<u64>) -> Vec<Event> {
        let mut state = self.state();
        state.process_due(self.now());
        self.publish(&state);
        state.events.after(after)
    }

    /// Waits (real time) until an event matching `predicate` is in the log, and answers the first one;
    /// `None` when `timeout` passes first.
    pub async fn wait_for_event(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Event) -> bool,
    ) -> Option<Event> {
        let mut changes = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.events(None).into_iter().find(|e| predicate(e)) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.events(None).into_iter().find(|e| predicate(e)),
            }
        }
    }

    /// Replaces the fault rules. Nothing changes when the rules are refused.
    pub fn set_faults(&self, rules: &FaultRules) -> Result<(), FaultError> {
        let set = faults::FaultSet::from_rules(rules)?;
        self.state().faults = set;
        Ok(())
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state().faults = faults::FaultSet::default();
    }

    /// The reseller and the terminals with their credentials.
    pub fn accounts(&self) -> Accounts {
        let state = self.state();
        let config = &self.inner.config;
        let mut terminals: Vec<TerminalAccount> = state
            .terminals
            .values()
            .map(|t| TerminalAccount {
                terminal_id: t.id.clone(),
                password: config
                    .webshop_terminals
                    .iter()
                    .find(|w| w.terminal_id == t.id)
                    .map(|w| w.password.clone()),
                name: t.name.clone(),
                kind: t.kind,
                seqr_id: t.seqr_id.clone(),
                external_terminal_id: t.external_id.clone(),
            })
            .collect();
        terminals.sort_by(|a, b| {
            (a.kind == TerminalKind::CashRegister, &a.terminal_id)
                .cmp(&(b.kind == TerminalKind::CashRegister, &b.terminal_id))
        });
        Accounts {
            reseller: ResellerView {
                id: config.reseller.id.clone(),
                user_id: config.reseller.user_id.clone(),
                password: config.reseller.password.clone(),
            },
            terminals,
        }
    }

    fn dispatch_notification(&self, job: NotificationJob) {
        let fault = self.draw_fault(NOTIFICATION_TARGET);
        if fault == Some(FaultAction::Drop) {
            let mut state = self.state();
            let now = self.now();
            state.events.push(
                now,
                EventKind::NotificationDropped {
                    invoice_reference: job.invoice_reference,
                },
            );
            self.publish(&state);
            return;
        }
        let sandbox = self.clone();
        let send = async move {
            let attempts = match fault {
                Some(FaultAction::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    1
                }
                Some(FaultAction::Duplicate) => 2,
                _ => 1,
            };
            for attempt in 1..=attempts {
                sandbox.send_notification(&job, attempt).await;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(send);
            }
            Err(_) => tracing::warn!("no Tokio runtime: the notification cannot be sent"),
        }
    }

    async fn send_notification(&self, job: &NotificationJob, attempt: u32) {
        let config = &self.inner.config;
        let url_path = engine::url_path_only(&job.url);
        let outcome = notify::post(
            &self.inner.http,
            &job.url,
            config.notification_body,
            &job.invoice_reference,
            job.client_invoice_id.as_deref(),
            Duration::from_millis(config.notification_timeout_ms),
        )
        .await;
        tracing::info!(invoice = %job.invoice_reference, url = %url_path, attempt, outcome = ?outcome, "notification");
        let mut state = self.state();
        let now = self.now();
        state.events.push(
            now,
            EventKind::NotificationSent {
                invoice_reference: job.invoice_reference.clone(),
                attempt,
                url_path,
                outcome,
            },
        );
        self.publish(&state);
    }
}

fn call_event(request: &Request, response: &Response) -> EventKind {
    use glase_protocol::ResponseBase as _;
    EventKind::Call {
        operation: request.operation().name().to_owned(),
        principal: request.context().initiator.id.clone(),
        result_code: response.result_code().code(),
    }
}

/// Applies deadlines in real time while the sandbox lives.
async fn run_timer(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let sandbox = Sandbox { inner };
        let mut state = sandbox.state();
        let now = sandbox.now();
        if state.next_deadline().is_some_and(|d| d <= now) {
            state.process_due(now);
            sandbox.publish(&state);
        }
    }
}
