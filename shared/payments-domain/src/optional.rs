//! A Glase gateway that a function may not have: `Option<G>` is a [`GlaseGateway`] whose `None` answers
//! every call with [`GlaseError::Unavailable`] before anything leaves. A function whose settings hold no
//! Glase credentials (the refund request only reads the payment and queues the refund) is built with
//! `None`, so it cannot call Glase by mistake and needs no Glase secret to start.

use crate::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, SeqrId, StatusVersion, TerminalId, Timestamp,
    TransactionPeriodId,
};
use crate::order::{DisplayName, ExternalTerminalId};
use crate::payment::Observation;
use crate::period::{FetchedReport, PeriodScope};
use crate::ports::{
    GlaseError, GlaseGateway, GlaseTerminal, Invoice, ReceiptDocument, RefundInvoice, ReportRequest,
};

fn absent<T>() -> Result<T, GlaseError> {
    Err(GlaseError::Unavailable {
        reason: "this function has no Glase configuration".into(),
    })
}

impl<G: GlaseGateway> GlaseGateway for Option<G> {
    fn bounded(&self, by: Timestamp) -> Self {
        self.as_ref().map(|g| g.bounded(by))
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        match self {
            Some(g) => g.send_invoice(terminal, invoice).await,
            None => absent(),
        }
    }

    async fn payment_status(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        match self {
            Some(g) => g.payment_status(terminal, invoice_reference, last_seen).await,
            None => absent(),
        }
    }

    async fn cancel_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        match self {
            Some(g) => g.cancel_invoice(terminal, invoice_reference).await,
            None => absent(),
        }
    }

    async fn update_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        match self {
            Some(g) => g.update_invoice(terminal, invoice_reference, invoice).await,
            None => absent(),
        }
    }

    async fn refund_payment(
        &self,
        terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> Result<ErsReference, GlaseError> {
        match self {
            Some(g) => g.refund_payment(terminal, payment_reference, refund).await,
            None => absent(),
        }
    }

    async fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        external_id: &ExternalTerminalId,
        name: &DisplayName,
    ) -> Result<GlaseTerminalId, GlaseError> {
        match self {
            Some(g) => g.register_terminal(terminal_id, external_id, name).await,
            None => absent(),
        }
    }

    async fn unregister_terminal(&self, terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        match self {
            Some(g) => g.unregister_terminal(terminal).await,
            None => absent(),
        }
    }

    async fn assign_seqr_id(&self, terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        match self {
            Some(g) => g.assign_seqr_id(terminal, seqr_id).await,
            None => absent(),
        }
    }

    async fn submit_receipt(
        &self,
        terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        match self {
            Some(g) => g.submit_receipt(terminal, ers_reference, receipt).await,
            None => absent(),
        }
    }

    async fn mark_period(&self, scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        match self {
            Some(g) => g.mark_period(scope).await,
            None => absent(),
        }
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        match self {
            Some(g) => g.execute_report(request).await,
            None => absent(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeGlase, ManualClock};

    #[tokio::test]
    async fn none_refuses_before_anything_leaves_and_some_passes_through() {
        let none: Option<FakeGlase> = None;
        let scope = PeriodScope::Shop;
        assert!(matches!(
            none.mark_period(&scope).await,
            Err(GlaseError::Unavailable { .. })
        ));
        let fake = FakeGlase::new(ManualClock::default());
        let some = Some(fake.clone());
        assert!(some.mark_period(&scope).await.is_ok());
        assert_eq!(fake.call_count(), 1);
    }
}
