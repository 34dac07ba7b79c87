//! The reconciliation report documents of executeReport (`STD_RECON_*`), read into typed rows.
//!
//! A report is XML: a root element named after the report (`TransactionDetails`,
//! `TerminalTransactionSummary`, ...), a `<Meta>` block (`ResellerId`, `TerminalId` on per-terminal reports,
//! `TransactionPeriodId`, `GeneratedAt` as `yyyy-MM-dd HH:mm`) and `<Row>` elements. Detail rows carry
//! `TerminalId`, `CashierId` (`NULL` when the invoice had none), `SalesAmount` (five decimals, negative for
//! refunds) and `ErsReference`; summary rows carry `SalesCount` and `SalesTotal`, grouped by `TerminalId` or
//! `CashierId`. A `Currency` element is read when present.
//!
//! The SOAP decoder's rules apply (DTDs refused, depth), with the larger size limits of an executeReport
//! answer ([`crate::soap::Limits::REPORT`]). Amounts stay exact
//! [`Decimal`]s; [`TransactionRow::amount_minor`] gives hundredths without any float.

use roxmltree::Node;

use crate::model::Decimal;
use crate::soap::DecodeError;
use crate::soap::Limits;
use crate::soap::read::{child, parse_within, text_of};

/// Why a report document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The text is not acceptable XML (size, DTD, depth, well-formedness).
    #[error("report is not acceptable XML: {0}")]
    Xml(#[from] DecodeError),
    /// The document has no `<Meta>` block.
    #[error("report has no Meta block")]
    MissingMeta,
    /// Row `row` (1-based) lacks a required element.
    #[error("report row {row} has no {element}")]
    MissingElement {
        /// The row's position, from 1.
        row: usize,
        /// The missing element.
        element: &'static str,
    },
    /// Row `row` (1-based) has an element whose value does not parse.
    #[error("report row {row} has an invalid {element}: {reason}")]
    InvalidValue {
        /// The row's position, from 1.
        row: usize,
        /// The element.
        element: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Row `row` (1-based) is neither a transaction nor a summary row.
    #[error(
        "report row {row} is neither a transaction (SalesAmount, ErsReference) nor a summary (SalesCount, SalesTotal)"
    )]
    UnknownRow {
        /// The row's position, from 1.
        row: usize,
    },
}

/// The `<Meta>` block of a report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportMeta {
    /// `ResellerId`.
    pub reseller_id: Option<String>,
    /// `TerminalId` (per-terminal reports).
    pub terminal_id: Option<String>,
    /// `TransactionPeriodId`.
    pub transaction_period_id: Option<String>,
    /// `GeneratedAt`, as written (`yyyy-MM-dd HH:mm`).
    pub generated_at: Option<String>,
}

/// One transaction of a details report (STD_RECON_003 or 007).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    /// `TerminalId`: the terminal that took the payment or made the refund.
    pub terminal_id: Option<String>,
    /// `CashierId`; `NULL` in the document reads as `None`.
    pub cashier_id: Option<String>,
    /// `SalesAmount`: positive for a payment, negative for a refund, exact.
    pub amount: Decimal,
    /// `Currency`, when the report names it.
    pub currency: Option<String>,
    /// `ErsReference` of the payment or of the refund.
    pub ers_reference: String,
}

impl TransactionRow {
    /// The amount in hundredths (`93.31000` → `9331`, `-3.31000` → `-331`); `None` when the amount has a
    /// non-zero digit beyond the second decimal or does not fit an `i64`.
    pub fn amount_minor(&self) -> Option<i64> {
        self.amount.to_minor_units()
    }

    /// Whether the row is a refund (negative amount).
    pub fn is_refund(&self) -> bool {
        self.amount.is_negative()
    }
}

/// One row of a summary report (Shop.xml, STD_RECON_002, 004, 006).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The group's `TerminalId` or `CashierId` (`None` for a shop or terminal total, or a `NULL` cashier).
    pub group: Option<String>,
    /// `Currency`, when the report names it.
    pub currency: Option<String>,
    /// `SalesCount`: payments and refunds counted alike.
    pub sales_count: u64,
    /// `SalesTotal`: the signed sum.
    pub sales_total: Decimal,
}

/// A report read into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReport {
    /// The root element's name (`TransactionDetails`, ...).
    pub root: String,
    /// The `<Meta>` block.
    pub meta: ReportMeta,
    /// The transaction rows (details reports).
    pub transactions: Vec<TransactionRow>,
    /// The summary rows (summary reports).
    pub summaries: Vec<SummaryRow>,
}

/// Trimmed text of a child element, `None` when absent or empty.
fn field(node: Node<'_, '_>, name: &'static str) -> Option<String> {
    child(node, name)
        .map(|n| text_of(n).trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// A text field where `NULL` means absent.
fn nullable(node: Node<'_, '_>, name: &'static str) -> Option<String> {
    field(node, name).filter(|t| t != "NULL")
}

fn decimal(row: usize, node: Node<'_, '_>, element: &'static str) -> Result<Decimal, ReportError> {
    let text = field(node, element).ok_or(ReportError::MissingElement { row, element })?;
    text.parse()
        .map_err(|e: crate::model::DecimalError| ReportError::InvalidValue {
            row,
            element,
            reason: e.to_string(),
        })
}

/// Reads a report document (the `contentString` of executeReport).
pub fn parse_report(text: &str) -> Result<ParsedReport, ReportError> {
    let doc = parse_within(text.as_bytes(), Limits::REPORT)?;
    let root = doc.root_element();
    let meta = child(root, "Meta").ok_or(ReportError::MissingMeta)?;
    let meta = ReportMeta {
        reseller_id: field(meta, "ResellerId"),
        terminal_id: field(meta, "TerminalId"),
        transaction_period_id: field(meta, "TransactionPeriodId"),
        generated_at: field(meta, "GeneratedAt"),
    };
    let mut transactions = Vec::new();
    let mut summaries = Vec::new();
    let rows = root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "Row");
    for (index, node) in rows.enumerate() {
        let row = index + 1;
        let has = |name: &'static str| child(node, name).is_some();
        if has("SalesAmount") || has("ErsReference") {
            let amount = decimal(row, node, "SalesAmount")?;
            let ers_reference = field(node, "ErsReference").ok_or(ReportError::MissingElement {
                row,
                element: "ErsReference",
            })?;
            transactions.push(TransactionRow {
                terminal_id: nullable(node, "TerminalId"),
                cashier_id: nullable(node, "CashierId"),
                amount,
                currency: field(node, "Currency"),
                ers_reference,
            });
        } else if has("SalesCount") || has("SalesTotal") {
            let count = field(node, "SalesCount").ok_or(ReportError::MissingElement {
                row,
                element: "SalesCount",
            })?;
            let sales_count = count.parse().map_err(|_| ReportError::InvalidValue {
                row,
                element: "SalesCount",
                reason: format!("`{count}` is not a count"),
            })?;
            summaries.push(SummaryRow {
                group: nullable(node, "TerminalId").or_else(|| nullable(node, "CashierId")),
                currency: field(node, "Currency"),
                sales_count,
                sales_total: decimal(row, node, "SalesTotal")?,
            });
        } else {
            return Err(ReportError::UnknownRow { row });
        }
    }
    Ok(ParsedReport {
        root: root.tag_name().name().to_owned(),
        meta,
        transactions,
        summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAILS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<TransactionDetails>
  <Meta>
    <ResellerId>shop</ResellerId>
    <TransactionPeriodId>2012071711291546101000028</TransactionPeriodId>
    <GeneratedAt>2026-01-02 03:04</GeneratedAt>
  </Meta>
  <Row>
    <TerminalId>t1</TerminalId>
    <CashierId>Bob</CashierId>
    <SalesAmount>93.31000</SalesAmount>
    <Currency>SEK</Currency>
    <ErsReference>111</ErsReference>
  </Row>
  <Row>
    <TerminalId>t1</TerminalId>
    <CashierId>NULL</CashierId>
    <SalesAmount>-3.31000</SalesAmount>
    <ErsReference>112</ErsReference>
  </Row>
</TransactionDetails>
"#;

    #[test]
    fn details_rows_are_typed_with_exact_amounts_and_null_cashiers() {
        let report = parse_report(DETAILS).unwrap();
        assert_eq!(report.root, "TransactionDetails");
        assert_eq!(report.meta.reseller_id.as_deref(), Some("shop"));
        assert_eq!(
            report.meta.transaction_period_id.as_deref(),
            Some("2012071711291546101000028")
        );
        assert_eq!(report.meta.generated_at.as_deref(), Some("2026-01-02 03:04"));
        assert_eq!(report.meta.terminal_id, None);
        assert_eq!(report.transactions.len(), 2);
        let (payment, refund) = (&report.transactions[0], &report.transactions[1]);
        assert_eq!(payment.amount_minor(), Some(9331));
        assert!(!payment.is_refund());
        assert_eq!(payment.cashier_id.as_deref(), Some("Bob"));
        assert_eq!(payment.currency.as_deref(), Some("SEK"));
        assert_eq!(payment.ers_reference, "111");
        assert_eq!(refund.amount_minor(), Some(-331));
        assert!(refund.is_refund());
        assert_eq!(refund.cashier_id, None);
        assert_eq!(refund.currency, None);
        assert!(report.summaries.is_empty());
    }

    #[test]
    fn summary_rows_keep_group_count_and_total() {
        let xml = "<TerminalTransactionSummary><Meta><ResellerId>s</ResellerId><TerminalId>t9</TerminalId>\
                   </Meta><Row><TerminalId>t1</TerminalId><Currency>SEK</Currency><SalesCount>2</SalesCount>\
                   <SalesTotal>90.00000</SalesTotal></Row></TerminalTransactionSummary>";
        let report = parse_report(xml).unwrap();
        assert_eq!(report.meta.terminal_id.as_deref(), Some("t9"));
        assert_eq!(
            report.summaries,
            [SummaryRow {
                group: Some("t1".into()),
                currency: Some("SEK".into()),
                sales_count: 2,
                sales_total: "90.00000".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn an_amount_beyond_hundredths_has_no_minor_units() {
        let xml = DETAILS.replace("93.31000", "93.31500");
        let report = parse_report(&xml).unwrap();
        assert_eq!(report.transactions[0].amount_minor(), None);
    }

    #[test]
    fn bad_documents_give_clear_errors() {
        assert!(matches!(
            parse_report("<TransactionDetails>"),
            Err(ReportError::Xml(_))
        ));
        assert_eq!(
            parse_report("<TransactionDetails><Row/></TransactionDetails>"),
            Err(ReportError::MissingMeta)
        );
        assert_eq!(
            parse_report(&DETAILS.replace("<SalesAmount>93.31000</SalesAmount>", "")),
            Err(ReportError::MissingElement {
                row: 1,
                element: "SalesAmount"
            })
        );
        assert!(matches!(
            parse_report(&DETAILS.replace("-3.31000", "minus three")),
            Err(ReportError::InvalidValue {
                row: 2,
                element: "SalesAmount",
                ..
            })
        ));
        assert_eq!(
            parse_report(&DETAILS.replace("<ErsReference>112</ErsReference>", "")),
            Err(ReportError::MissingElement {
                row: 2,
                element: "ErsReference"
            })
        );
        assert_eq!(
            parse_report("<X><Meta/><Row><Other>1</Other></Row></X>"),
            Err(ReportError::UnknownRow { row: 1 })
        );
        let dtd = "<!DOCTYPE x [<!ENTITY a \"b\">]><X><Meta/></X>";
        assert_eq!(
            parse_report(dtd),
            Err(ReportError::Xml(DecodeError::DtdNotAllowed))
        );
    }
}
