//! Reporting periods: a transaction period closed with markTransactionPeriod, the report documents
//! fetched for it, and the result of reconciling them against our own payments and refunds.

use crate::ids::{
    ErsReference, GlaseTerminalId, PaymentId, PeriodId, RefundId, Revision, TerminalId, Timestamp,
    TransactionPeriodId,
};
use crate::money::{Currency, Money, MoneyError};

/// Whose transactions a period covers.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum PeriodScope {
    /// The whole shop (reseller context, no parameters).
    Shop,
    /// One POS terminal (`TERMINALID=` parameter).
    Terminal {
        /// Our id.
        terminal_id: TerminalId,
        /// Glase's id, sent as the parameter.
        glase_terminal_id: GlaseTerminalId,
    },
}

/// One report as fetched with executeReport; the raw text is kept verbatim.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportDocument {
    /// The `reportId` asked for (e.g. `Reconciliation/STD_RECON_003.xml`).
    pub report_id: String,
    /// The report's `title`.
    pub title: String,
    /// The report's `mimeType` as Glase states it.
    pub mime_type: String,
    /// The document text (`contentString`, or `content` decoded).
    pub content: String,
}

/// `reportId` of the shop summary (STD_RECON_001).
pub const SHOP_SUMMARY_REPORT: &str = "Reconciliation/Shop.xml";
/// `reportId` of the shop's transaction details (STD_RECON_003).
pub const SHOP_DETAILS_REPORT: &str = "Reconciliation/STD_RECON_003.xml";
/// `reportId` of one terminal's summary (STD_RECON_006).
pub const TERMINAL_SUMMARY_REPORT: &str = "Reconciliation/STD_RECON_006.xml";
/// `reportId` of one terminal's transaction details (STD_RECON_007).
pub const TERMINAL_DETAILS_REPORT: &str = "Reconciliation/STD_RECON_007.xml";

impl PeriodScope {
    /// The reports a period of this scope fetches: the summary, then the transaction details.
    pub fn report_ids(&self) -> [&'static str; 2] {
        match self {
            PeriodScope::Shop => [SHOP_SUMMARY_REPORT, SHOP_DETAILS_REPORT],
            PeriodScope::Terminal { .. } => [TERMINAL_SUMMARY_REPORT, TERMINAL_DETAILS_REPORT],
        }
    }

    /// The details report of this scope (the one reconciliation reads).
    pub fn details_report_id(&self) -> &'static str {
        self.report_ids()[1]
    }
}

/// One transaction of a period as Glase's details report lists it (read by the gateway; the domain never
/// sees the XML).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportTransaction {
    /// The payment's or the refund's own `ErsReference`.
    pub ers_reference: ErsReference,
    /// The signed amount: positive for a payment, negative for a refund.
    pub amount: Money,
    /// The Glase terminal that took it, as the report names it.
    pub terminal: Option<String>,
    /// The cashier (`NULL` in the report reads as `None`).
    pub cashier: Option<String>,
}

/// One row of a details report as the gateway reads it, before its currency is known for certain: a
/// row may name no `Currency` (Glase's refund rows name none). The reconciliation reads such a row in
/// the period's currency (see [`crate::usecases::reports`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportRow {
    /// The payment's or the refund's own `ErsReference`.
    pub ers_reference: ErsReference,
    /// The signed amount in hundredths, as Glase's two-decimal amounts give it: positive for a payment,
    /// negative for a refund.
    pub hundredths: i64,
    /// The row's `Currency`, when it names one.
    pub currency: Option<Currency>,
    /// The Glase terminal that took it, as the report names it.
    pub terminal: Option<String>,
    /// The cashier (`NULL` in the report reads as `None`).
    pub cashier: Option<String>,
}

impl ReportRow {
    /// Whether the row is a refund.
    pub fn is_refund(&self) -> bool {
        self.hundredths < 0
    }

    /// The transaction, with the row's own currency or else `otherwise`; an amount that is not whole in
    /// that currency's minor units is an error.
    pub fn in_currency(&self, otherwise: Currency) -> Result<ReportTransaction, MoneyError> {
        Ok(ReportTransaction {
            ers_reference: self.ers_reference.clone(),
            amount: Money::from_hundredths(self.hundredths, self.currency.unwrap_or(otherwise))?,
            terminal: self.terminal.clone(),
            cashier: self.cashier.clone(),
        })
    }
}

impl TryFrom<ReportTransaction> for ReportRow {
    type Error = MoneyError;

    /// The row of a transaction whose currency is stated.
    fn try_from(t: ReportTransaction) -> Result<Self, MoneyError> {
        Ok(ReportRow {
            ers_reference: t.ers_reference,
            hundredths: t.amount.to_hundredths()?,
            currency: Some(t.amount.currency()),
            terminal: t.terminal,
            cashier: t.cashier,
        })
    }
}

/// What executeReport returned: the document as Glase sent it, and its rows when it is a details report
/// (empty for summaries).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FetchedReport {
    /// The raw document, kept verbatim.
    pub document: ReportDocument,
    /// The transaction rows, read from the document.
    pub transactions: Vec<ReportRow>,
}

/// Where a period stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PeriodStatus {
    /// Marked; reports not (all) fetched or not reconciled yet.
    ReportsPending,
    /// Reconciled without a mismatch.
    Reconciled,
    /// Reconciled with at least one mismatch.
    MismatchesFound,
}

impl PeriodStatus {
    /// The wire name: `reports_pending`, `reconciled`, `mismatches_found`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PeriodStatus::ReportsPending => "reports_pending",
            PeriodStatus::Reconciled => "reconciled",
            PeriodStatus::MismatchesFound => "mismatches_found",
        }
    }
}

/// The kinds of disagreement between Glase's books and ours.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MismatchKind {
    /// Glase lists a payment we do not have as paid.
    PaidAtGlaseOnly,
    /// We have a paid payment Glase does not list.
    PaidWithUsOnly,
    /// Both have it with different amounts.
    AmountDiffers,
    /// Glase lists a refund we do not know.
    RefundUnknown,
    /// One of our refunds whose outcome is unknown and whose Glase call may have landed on either side
    /// of a mark of this period: the report does not list it, but that alone does not show it never
    /// happened, so it stays `needs_reconciliation` for a person to settle.
    RefundUndecided,
}

impl MismatchKind {
    /// Every kind.
    pub const ALL: [MismatchKind; 5] = [
        MismatchKind::PaidAtGlaseOnly,
        MismatchKind::PaidWithUsOnly,
        MismatchKind::AmountDiffers,
        MismatchKind::RefundUnknown,
        MismatchKind::RefundUndecided,
    ];

    /// The wire name: `paid_at_glase_only`, `paid_with_us_only`, `amount_differs`, `refund_unknown`,
    /// `refund_undecided`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MismatchKind::PaidAtGlaseOnly => "paid_at_glase_only",
            MismatchKind::PaidWithUsOnly => "paid_with_us_only",
            MismatchKind::AmountDiffers => "amount_differs",
            MismatchKind::RefundUnknown => "refund_unknown",
            MismatchKind::RefundUndecided => "refund_undecided",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// One disagreement.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mismatch {
    /// What kind.
    pub kind: MismatchKind,
    /// The transaction's `ersReference`, when known.
    pub ers_reference: Option<ErsReference>,
    /// Our payment, when we have one.
    pub payment_id: Option<PaymentId>,
    /// Our refund, when we have one.
    pub refund_id: Option<RefundId>,
    /// Glase's amount, when Glase lists it.
    pub glase_amount: Option<Money>,
    /// Our amount, when we have it.
    pub our_amount: Option<Money>,
}

/// The result of reconciling a period.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reconciliation {
    /// When it was done.
    pub reconciled_at: Timestamp,
    /// How many Glase transactions matched ours exactly.
    pub matched: u32,
    /// Every disagreement.
    pub mismatches: Vec<Mismatch>,
}

impl Reconciliation {
    /// The number of mismatches of one kind.
    pub fn count(&self, kind: MismatchKind) -> usize {
        self.mismatches.iter().filter(|m| m.kind == kind).count()
    }
}

/// Every stored field of a period, public, for store adapters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeriodRecord {
    /// Our id.
    pub id: PeriodId,
    /// Glase's id of the closed period.
    pub transaction_period_id: TransactionPeriodId,
    /// Shop or terminal.
    pub scope: PeriodScope,
    /// When markTransactionPeriod answered.
    pub marked_at: Timestamp,
    /// The reports fetched so far.
    pub documents: Vec<ReportDocument>,
    /// The reconciliation, once done.
    pub reconciliation: Option<Reconciliation>,
    /// The optimistic-concurrency revision.
    pub revision: Revision,
}

/// A reporting period.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportingPeriod {
    record: PeriodRecord,
}

impl From<PeriodRecord> for ReportingPeriod {
    fn from(record: PeriodRecord) -> Self {
        ReportingPeriod { record }
    }
}

impl ReportingPeriod {
    /// A freshly marked period at revision 1.
    pub fn marked(
        id: PeriodId,
        transaction_period_id: TransactionPeriodId,
        scope: PeriodScope,
        now: Timestamp,
    ) -> Self {
        ReportingPeriod {
            record: PeriodRecord {
                id,
                transaction_period_id,
                scope,
                marked_at: now,
                documents: Vec::new(),
                reconciliation: None,
                revision: Revision::FIRST,
            },
        }
    }

    /// Every field, for the store.
    pub fn to_record(&self) -> PeriodRecord {
        self.record.clone()
    }
    /// Our id.
    pub fn id(&self) -> &PeriodId {
        &self.record.id
    }
    /// Glase's id.
    pub fn transaction_period_id(&self) -> &TransactionPeriodId {
        &self.record.transaction_period_id
    }
    /// The scope.
    pub fn scope(&self) -> &PeriodScope {
        &self.record.scope
    }
    /// The documents.
    pub fn documents(&self) -> &[ReportDocument] {
        &self.record.documents
    }
    /// The reconciliation.
    pub fn reconciliation(&self) -> Option<&Reconciliation> {
        self.record.reconciliation.as_ref()
    }
    /// The revision.
    pub fn revision(&self) -> Revision {
        self.record.revision
    }
    /// When markTransactionPeriod answered.
    pub fn marked_at(&self) -> Timestamp {
        self.record.marked_at
    }
    /// Where the period stands.
    pub fn status(&self) -> PeriodStatus {
        match &self.record.reconciliation {
            None => PeriodStatus::ReportsPending,
            Some(r) if r.mismatches.is_empty() => PeriodStatus::Reconciled,
            Some(_) => PeriodStatus::MismatchesFound,
        }
    }

    /// Adds a document; a document with the same report id replaces the earlier one, so a retried fetch
    /// never stores a report twice.
    #[must_use]
    pub fn with_document(&self, document: ReportDocument) -> ReportingPeriod {
        let mut record = self.record.clone();
        record.documents.retain(|d| d.report_id != document.report_id);
        record.documents.push(document);
        record.revision = record.revision.next();
        ReportingPeriod { record }
    }

    /// Records the reconciliation (a later one replaces an earlier one).
    #[must_use]
    pub fn with_reconciliation(&self, reconciliation: Reconciliation) -> ReportingPeriod {
        let mut record = self.record.clone();
        record.reconciliation = Some(reconciliation);
        record.revision = record.revision.next();
        ReportingPeriod { record }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refetched_report_replaces_the_earlier_copy() {
        let period = ReportingPeriod::marked(
            PeriodId::from_random([4; 16]),
            TransactionPeriodId::parse("2012071711291546101000028").unwrap(),
            PeriodScope::Shop,
            Timestamp::from_unix_millis(1),
        );
        let doc = |content: &str| ReportDocument {
            report_id: "Reconciliation/STD_RECON_003.xml".to_owned(),
            title: "t".to_owned(),
            mime_type: "text/html".to_owned(),
            content: content.to_owned(),
        };
        let twice = period.with_document(doc("a")).with_document(doc("b"));
        assert_eq!(twice.documents().len(), 1);
        assert_eq!(twice.documents()[0].content, "b");
        assert_eq!(twice.revision().get(), 3);
    }
}
