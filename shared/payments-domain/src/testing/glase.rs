//! The fake Glase: a scripted [`GlaseGateway`] that records every call.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ManualClock, lock};
use crate::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, SeqrId, StatusVersion, TerminalId, Timestamp,
    TransactionPeriodId,
};
use crate::order::{DisplayName, ExternalTerminalId};
use crate::payment::{GlaseInvoiceStatus, Observation};
use crate::period::{FetchedReport, PeriodScope, ReportDocument, ReportRow, ReportTransaction};
use crate::ports::{
    Clock, GlaseError, GlaseGateway, GlaseTerminal, Invoice, ReceiptDocument, RefundInvoice, ReportRequest,
    narrowed_bound,
};

/// One call the fake Glase received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlaseCall {
    /// sendInvoice.
    SendInvoice {
        terminal: GlaseTerminal,
        total_minor: i64,
        notification_url: String,
    },
    /// getPaymentStatus.
    PaymentStatus {
        invoice_reference: InvoiceReference,
        last_seen: StatusVersion,
    },
    /// cancelInvoice.
    CancelInvoice { invoice_reference: InvoiceReference },
    /// updateInvoice.
    UpdateInvoice {
        invoice_reference: InvoiceReference,
        total_minor: i64,
        notification_url: String,
    },
    /// refundPayment.
    RefundPayment {
        payment_reference: ErsReference,
        amount_minor: i64,
    },
    /// registerTerminal.
    RegisterTerminal { terminal_id: TerminalId },
    /// unregisterTerminal.
    UnregisterTerminal,
    /// assignSeqrId.
    AssignSeqrId { seqr_id: SeqrId },
    /// submitPaymentReceipt.
    SubmitReceipt { ers_reference: ErsReference },
    /// markTransactionPeriod.
    MarkPeriod,
    /// executeReport.
    ExecuteReport { report_id: String },
}

#[derive(Default)]
struct GlaseState {
    calls: Vec<GlaseCall>,
    invoices: BTreeMap<String, (GlaseInvoiceStatus, u32, Option<String>)>,
    /// The last invoice of each POS terminal (Glase cancels it when the terminal sends a new one).
    last_on_terminal: BTreeMap<String, String>,
    next_reference: u64,
    failures: VecDeque<(&'static str, GlaseError)>,
    reports: BTreeMap<String, (String, Vec<ReportRow>)>,
    /// How far each call moves the manual clock (a slow Glase, as the use cases' clock sees it).
    clock_latency: Duration,
    /// How much further each call of an operation moves it.
    clock_latency_of: BTreeMap<&'static str, Duration>,
    /// The bound each call was made with ([`GlaseGateway::bounded`]), in call order.
    bounds: Vec<(&'static str, Option<Timestamp>)>,
    /// getPaymentStatus calls under way, and the most that ever were at once.
    status_in_flight: usize,
    status_max_in_flight: usize,
    /// How long each operation takes to answer (none when absent).
    latency: BTreeMap<&'static str, Duration>,
}

/// A future that is pending once (waking itself) and then ready: a call that takes "a moment", so that
/// a caller running calls concurrently has several under way at once.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// A scripted Glase: invoices it issued move when the test says so (`pay`, `cancel`), and any call can be
/// made to fail once with [`FakeGlase::fail_next`]. Every call is recorded.
#[derive(Clone, Default)]
pub struct FakeGlase {
    state: Arc<Mutex<GlaseState>>,
    clock: ManualClock,
    /// When this handle's calls must have answered ([`GlaseGateway::bounded`]).
    until: Option<Timestamp>,
}

/// How a call of the fake went: `late` when its answer came after the caller's bound, so the caller
/// never saw it (Glase took the call all the same).
#[derive(Clone, Copy)]
struct Answer {
    late: bool,
}

impl Answer {
    fn deliver<T>(self, value: Result<T, GlaseError>) -> Result<T, GlaseError> {
        if self.late {
            Err(GlaseError::OutcomeUnknown {
                reason: "the answer did not come within the call's bound".to_owned(),
            })
        } else {
            value
        }
    }
}

impl std::fmt::Debug for FakeGlase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeGlase")
    }
}

impl FakeGlase {
    /// A fake stamping observations with `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Self {
            state: Arc::default(),
            clock,
            until: None,
        }
    }

    /// The bound of every call so far, by operation, in call order (`None`: unbounded).
    pub fn call_bounds(&self) -> Vec<(&'static str, Option<Timestamp>)> {
        lock(&self.state).bounds.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<GlaseCall> {
        lock(&self.state).calls.clone()
    }

    /// The most getPaymentStatus calls that were under way at the same time (each call takes one
    /// scheduling turn).
    pub fn max_status_calls_in_flight(&self) -> usize {
        lock(&self.state).status_max_in_flight
    }

    /// How many calls were made.
    pub fn call_count(&self) -> usize {
        lock(&self.state).calls.len()
    }

    /// Makes every later call take `latency` on the manual clock: each call moves it on by that much.
    pub fn set_clock_latency(&self, latency: Duration) {
        lock(&self.state).clock_latency = latency;
    }

    /// Makes every later call of `operation` take `latency` more on the manual clock.
    pub fn set_clock_latency_of(&self, operation: &'static str, latency: Duration) {
        lock(&self.state).clock_latency_of.insert(operation, latency);
    }

    /// Makes the next call of `operation` (e.g. `"sendInvoice"`) fail with `error`.
    pub fn fail_next(&self, operation: &'static str, error: GlaseError) {
        lock(&self.state).failures.push_back((operation, error));
    }

    /// Makes every later call of `operation` take `by` (on tokio's clock, so a paused test runtime
    /// skips it) before it answers; the call is recorded when it starts.
    pub fn set_latency(&self, operation: &'static str, by: Duration) {
        lock(&self.state).latency.insert(operation, by);
    }

    /// The shopper pays the invoice.
    pub fn pay(&self, reference: &InvoiceReference) {
        let mut s = lock(&self.state);
        let n = s.next_reference;
        if let Some(inv) = s.invoices.get_mut(reference.as_str()) {
            inv.0 = GlaseInvoiceStatus::Paid;
            inv.1 += 1;
            inv.2 = Some(format!("2026112200000000000{n:06}"));
        }
    }

    /// Sets an invoice's status (cancel, fail, expire…), adding one to its version.
    pub fn set_status(&self, reference: &InvoiceReference, status: GlaseInvoiceStatus) {
        let mut s = lock(&self.state);
        if let Some(inv) = s.invoices.get_mut(reference.as_str()) {
            inv.0 = status;
            inv.1 += 1;
        }
    }

    /// What executeReport answers for `report_id`: the document text and the transactions the real
    /// gateway would read from it. A report never set answers `REPORT_NOT_READY`.
    pub fn set_report(&self, report_id: &str, content: &str, transactions: Vec<ReportTransaction>) {
        let rows = transactions
            .into_iter()
            .map(|t| ReportRow::try_from(t).expect("a report row within range"))
            .collect();
        self.set_report_rows(report_id, content, rows);
    }

    /// Like [`FakeGlase::set_report`], with rows as the gateway reads them (a row may name no currency).
    pub fn set_report_rows(&self, report_id: &str, content: &str, rows: Vec<ReportRow>) {
        lock(&self.state)
            .reports
            .insert(report_id.to_owned(), (content.to_owned(), rows));
    }

    /// Records a call, waits its latency, and answers the failure queued for it, if any. A bounded
    /// call is not sent once its bound has passed ([`GlaseError::Unavailable`], nothing recorded); one
    /// whose manual-clock latency runs past its bound moves the clock to the bound only (the caller
    /// stops waiting there) and its answer is late: Glase still does what it was asked.
    async fn call(&self, operation: &'static str, call: GlaseCall) -> Result<Answer, GlaseError> {
        if let Some(until) = self.until
            && self.clock.now() >= until
        {
            return Err(GlaseError::Unavailable {
                reason: "the call's bound passed before it was sent".to_owned(),
            });
        }
        let latency = lock(&self.state).latency.get(operation).copied();
        let outcome = self.begin(operation, call);
        if let Some(by) = latency {
            tokio::time::sleep(by).await;
        }
        outcome
    }

    /// A [`FakeGlase::call`] that changes nothing at Glase and answers `Ok(())`.
    async fn acknowledge(&self, operation: &'static str, call: GlaseCall) -> Result<(), GlaseError> {
        self.call(operation, call).await?.deliver(Ok(()))
    }

    /// The next of the references the fake hands out, written and parsed by `make`; one that does not
    /// parse is Glase's SYSTEM_ERROR.
    fn next_reference<T, E>(&self, make: impl FnOnce(u64) -> Result<T, E>) -> Result<T, GlaseError> {
        let mut s = lock(&self.state);
        s.next_reference += 1;
        make(s.next_reference).map_err(|_| rejected(90, "SYSTEM_ERROR"))
    }

    fn begin(&self, operation: &'static str, call: GlaseCall) -> Result<Answer, GlaseError> {
        let mut s = lock(&self.state);
        s.calls.push(call);
        s.bounds.push((operation, self.until));
        let latency = s
            .clock_latency
            .saturating_add(s.clock_latency_of.get(operation).copied().unwrap_or_default());
        let now = self.clock.now();
        let late = self.until.is_some_and(|until| now.plus(latency) > until);
        match self.until {
            Some(until) if late => self.clock.advance(until.since(now)),
            _ => self.clock.advance(latency),
        }
        if let Some(pos) = s.failures.iter().position(|(op, _)| *op == operation)
            && let Some((_, e)) = s.failures.remove(pos)
        {
            return Answer { late }.deliver(Err(e));
        }
        Ok(Answer { late })
    }
}

fn rejected(code: i32, description: &str) -> GlaseError {
    GlaseError::Rejected {
        code,
        description: description.to_owned(),
    }
}

impl GlaseGateway for FakeGlase {
    fn bounded(&self, by: Timestamp) -> Self {
        Self {
            state: Arc::clone(&self.state),
            clock: self.clock.clone(),
            until: Some(narrowed_bound(self.until, by)),
        }
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        let answer = self
            .call(
                "sendInvoice",
                GlaseCall::SendInvoice {
                    terminal: terminal.clone(),
                    total_minor: invoice.order.total().minor_units(),
                    notification_url: invoice.notification_url.expose().to_owned(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        s.next_reference += 1;
        let reference = format!("20261122{:09}", s.next_reference);
        if let GlaseTerminal::Pos { terminal_id, .. } = terminal {
            // Like Glase: a new invoice on a cash register cancels its open one.
            if let Some(previous) = s
                .last_on_terminal
                .insert(terminal_id.as_str().to_owned(), reference.clone())
                && let Some(inv) = s.invoices.get_mut(&previous)
                && inv.0 == GlaseInvoiceStatus::Issued
            {
                inv.0 = GlaseInvoiceStatus::Canceled;
                inv.1 += 1;
            }
        }
        s.invoices
            .insert(reference.clone(), (GlaseInvoiceStatus::Issued, 0, None));
        answer.deliver(InvoiceReference::parse(&reference).map_err(|_| rejected(90, "SYSTEM_ERROR")))
    }

    async fn payment_status(
        &self,
        _terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        let answer = self
            .call(
                "getPaymentStatus",
                GlaseCall::PaymentStatus {
                    invoice_reference: invoice_reference.clone(),
                    last_seen,
                },
            )
            .await?;
        {
            let mut s = lock(&self.state);
            s.status_in_flight += 1;
            s.status_max_in_flight = s.status_max_in_flight.max(s.status_in_flight);
        }
        YieldOnce(false).await;
        let mut s = lock(&self.state);
        s.status_in_flight -= 1;
        let found = s
            .invoices
            .get(invoice_reference.as_str())
            .cloned()
            .ok_or_else(|| rejected(54, "INVALID_INVOICE_REFERENCE"));
        answer.deliver(found.map(|(status, version, ers)| Observation {
            status,
            version: StatusVersion::new(version),
            ers_reference: ers.and_then(|e| ErsReference::parse(&e).ok()),
            paid_at: None,
            observed_at: self.clock.now(),
        }))
    }

    async fn cancel_invoice(
        &self,
        _terminal: &GlaseTerminal,
        reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        let answer = self
            .call(
                "cancelInvoice",
                GlaseCall::CancelInvoice {
                    invoice_reference: reference.clone(),
                },
            )
            .await?;
        let mut s = lock(&self.state);
        let Some(inv) = s.invoices.get_mut(reference.as_str()) else {
            return answer.deliver(Err(rejected(54, "INVALID_INVOICE_REFERENCE")));
        };
        answer.deliver(match inv.0 {
            GlaseInvoiceStatus::Paid => Err(rejected(50, "CANNOT_CANCEL_PAID_INVOICE")),
            GlaseInvoiceStatus::Canceled => Err(rejected(95, "INVOICE_ALREADY_CANCELED")),
            // The shopper has opened the invoice and is paying.
            GlaseInvoiceStatus::PendingIssuerAcknowledge => {
                Err(rejected(51, "CANNOT_CANCEL_INVOICE_IN_PROGRESS"))
            }
            _ => {
                inv.0 = GlaseInvoiceStatus::Canceled;
                inv.1 += 1;
                Ok(())
            }
        })
    }

    async fn update_invoice(
        &self,
        _terminal: &GlaseTerminal,
        reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        let call = GlaseCall::UpdateInvoice {
            invoice_reference: reference.clone(),
            total_minor: invoice.order.total().minor_units(),
            notification_url: invoice.notification_url.expose().to_owned(),
        };
        self.acknowledge("updateInvoice", call).await
    }

    async fn refund_payment(
        &self,
        _terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> Result<ErsReference, GlaseError> {
        let answer = self
            .call(
                "refundPayment",
                GlaseCall::RefundPayment {
                    payment_reference: payment_reference.clone(),
                    amount_minor: refund.amount.minor_units(),
                },
            )
            .await?;
        answer.deliver(self.next_reference(|n| ErsReference::parse(&format!("2026112299999999999{n:06}"))))
    }

    async fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        _external_id: &ExternalTerminalId,
        _name: &DisplayName,
    ) -> Result<GlaseTerminalId, GlaseError> {
        let answer = self
            .call(
                "registerTerminal",
                GlaseCall::RegisterTerminal {
                    terminal_id: terminal_id.clone(),
                },
            )
            .await?;
        answer.deliver(self.next_reference(|n| GlaseTerminalId::parse(&format!("glase{n:027}"))))
    }

    async fn unregister_terminal(&self, _terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        self.acknowledge("unregisterTerminal", GlaseCall::UnregisterTerminal)
            .await
    }

    async fn assign_seqr_id(&self, _terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        let seqr_id = seqr_id.clone();
        self.acknowledge("assignSeqrId", GlaseCall::AssignSeqrId { seqr_id })
            .await
    }

    async fn submit_receipt(
        &self,
        _terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        _receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        let ers_reference = ers_reference.clone();
        self.acknowledge("submitPaymentReceipt", GlaseCall::SubmitReceipt { ers_reference })
            .await
    }

    async fn mark_period(&self, _scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        let answer = self.call("markTransactionPeriod", GlaseCall::MarkPeriod).await?;
        answer.deliver(
            self.next_reference(|n| TransactionPeriodId::parse(&format!("2026112288888888888{n:06}"))),
        )
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        let answer = self
            .call(
                "executeReport",
                GlaseCall::ExecuteReport {
                    report_id: request.report_id.clone(),
                },
            )
            .await?;
        let s = lock(&self.state);
        let Some((content, transactions)) = s.reports.get(&request.report_id).cloned() else {
            return answer.deliver(Err(rejected(2, "REPORT_NOT_READY")));
        };
        answer.deliver(Ok(FetchedReport {
            document: ReportDocument {
                report_id: request.report_id.clone(),
                title: String::new(),
                mime_type: "text/html".to_owned(),
                content,
            },
            transactions,
        }))
    }
}
