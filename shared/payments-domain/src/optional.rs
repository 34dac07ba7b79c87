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
    with_glase_calls,
};

fn absent<T>() -> Result<T, GlaseError> {
    Err(GlaseError::Unavailable {
        reason: "this function has no Glase configuration".into(),
    })
}

/// Writes each Glase call ([`with_glase_calls`]) as: `None` answers [`absent`], `Some` passes it on.
macro_rules! absent_or_passed_on {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $answer:ty;)*) => {$(
        async fn $name(&self, $($arg: $ty),*) -> Result<$answer, GlaseError> {
            match self {
                Some(g) => g.$name($($arg),*).await,
                None => absent(),
            }
        }
    )*};
}

impl<G: GlaseGateway> GlaseGateway for Option<G> {
    fn bounded(&self, by: Timestamp) -> Self {
        self.as_ref().map(|g| g.bounded(by))
    }

    with_glase_calls!(absent_or_passed_on);
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
