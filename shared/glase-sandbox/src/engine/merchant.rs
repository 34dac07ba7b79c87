//! The merchant's operations: the SOAP requests of terminals and the reseller, and the reports.

use glase_protocol::{
    AssignSeqrIdRequest, AssignSeqrIdResponse, CancelInvoiceRequest, CancelInvoiceResponse, ClientContext,
    CommitReservationRequest, CommitReservationResponse, ExecuteReportRequest, ExecuteReportResponse,
    GetPaymentStatusRequest, GetPaymentStatusResponse, InvoiceStatus, MarkTransactionPeriodRequest,
    MarkTransactionPeriodResponse, Receipt, RefundPaymentRequest, RefundPaymentResponse,
    RegisterTerminalRequest, RegisterTerminalResponse, Report, Request, Response, ResultCode,
    SendInvoiceRequest, SendInvoiceResponse, SubmitPaymentReceiptRequest, SubmitPaymentReceiptResponse,
    UnregisterTerminalRequest, UnregisterTerminalResponse, UpdateInvoiceRequest, UpdateInvoiceResponse,
};
use time::OffsetDateTime;

use super::{
    EntryKind, InvoiceRecord, LedgerEntry, Outcome, PaymentRecord, Period, State, Terminal, TerminalKind,
    payment_date,
};
use crate::events::{CancelReason, EventKind};
use crate::reports::{self, ReportKind, ReportLine, ReportMeta};

impl State {
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

    /// Authenticates the calling terminal and answers the reference of its invoice `reference`
    /// (answered 90 when it is missing, unknown or another terminal's).
    fn callers_invoice(&self, context: &ClientContext, reference: Option<&str>) -> Outcome<String> {
        let terminal_id = self.auth_terminal(context)?;
        self.owned_invoice(&terminal_id, reference)
    }

    fn invoice_mut(&mut self, reference: &str) -> Outcome<&mut InvoiceRecord> {
        self.invoices
            .get_mut(reference)
            .ok_or(ResultCode::InvalidInvoiceReference)
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
        let reference = self.callers_invoice(&r.context, r.invoice_reference.as_deref())?;
        let record = &self.invoices[&reference];
        match record.status {
            InvoiceStatus::Issued if record.in_progress => return Err(ResultCode::PaymentInProgress),
            InvoiceStatus::Issued => {}
            InvoiceStatus::Paid | InvoiceStatus::Reserved => return Err(ResultCode::SystemError),
            _ => return Err(ResultCode::RejectedBusinessLogic),
        }
        let invoice = r.invoice.as_ref().ok_or(ResultCode::InvalidInvoiceData)?;
        let (amount_minor, currency) = self.validate_invoice(invoice)?;
        let record = self.invoice_mut(&reference)?;
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
        // The field, not `invoice_mut`: the event log is borrowed beside the record below.
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
        let reference = self.callers_invoice(&r.context, r.invoice_reference.as_deref())?;
        let record = self.invoice_mut(&reference)?;
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
        let reference = self.callers_invoice(&r.context, r.invoice_reference.as_deref())?;
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
        let record = self.invoice_mut(&reference)?;
        let entry = record.paid(PaymentRecord::new(
            ers_reference.clone(),
            amount_minor,
            now,
            reservation.payer_terminal_id,
            None,
            Some(now),
        ));
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
        let ers = required_ers(r.ers_reference.as_deref())?;
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
        let ers = required_ers(r.ers_reference.as_deref())?;
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
}

/// An ERS reference the request must carry (answered 97 when it does not).
fn required_ers(ers_reference: Option<&str>) -> Outcome<&str> {
    ers_reference.ok_or(ResultCode::InvalidErsReference)
}
