//! Pure conversions between domain and protocol types, and the mapping of protocol errors.

use glase_protocol::{
    AcknowledgmentMode, Amount, Decimal, GetPaymentStatusResponse, InvoiceRow, InvoiceStatus, PaymentMode,
    Report,
};
use payments_domain::ids::{ErsReference, StatusVersion, Timestamp};
use payments_domain::money::Currency;
use payments_domain::money::Money;
use payments_domain::order::{Order, OrderRow};
use payments_domain::payment::{GlaseInvoiceStatus, Observation};
use payments_domain::period::{ReportDocument, ReportRow, SHOP_DETAILS_REPORT, TERMINAL_DETAILS_REPORT};
use payments_domain::ports::{GlaseError, RefundInvoice};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `INVALID_INVOICE_DATA`: used when an amount cannot be expressed for Glase (nothing was sent).
const INVALID_INVOICE_DATA: i32 = 49;

/// Maps a protocol client error to the domain's three kinds.
pub fn from_protocol_error(error: &glase_protocol::GlaseError) -> GlaseError {
    use glase_protocol::GlaseError as P;
    match error {
        P::Rejected { code, description } => GlaseError::Rejected {
            code: code.code(),
            description: description.clone().unwrap_or_else(|| code.description()),
        },
        P::Transport { message } => GlaseError::Unavailable {
            reason: message.clone(),
        },
        // An unexpected HTTP status without a SOAP body (a proxy's 4xx, say) means Glase did not act.
        P::Http { status } => GlaseError::Unavailable {
            reason: format!("HTTP status {status}"),
        },
        // A fault or an unreadable answer came after the request arrived: it may have taken effect.
        P::OutcomeUnknown { message } => GlaseError::OutcomeUnknown {
            reason: message.clone(),
        },
        P::Fault { code, .. } => GlaseError::OutcomeUnknown {
            reason: format!("SOAP fault {code}"),
        },
        P::Decode(e) => GlaseError::OutcomeUnknown {
            reason: format!("undecodable answer: {e}"),
        },
    }
}

fn amount(money: Money) -> Result<Amount, GlaseError> {
    let hundredths = money.to_hundredths().map_err(|e| GlaseError::Rejected {
        code: INVALID_INVOICE_DATA,
        description: format!("not sent: {e}"),
    })?;
    Ok(Amount::from_minor_units(money.currency().code(), hundredths))
}

/// `issueDate` as Glase examples write it: UTC, no zone, seconds precision.
pub(crate) fn issue_date(at: Timestamp) -> String {
    let seconds = at.unix_seconds();
    match OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => String::from("1970-01-01T00:00:00"),
    }
}

fn row(row: &OrderRow) -> Result<InvoiceRow, GlaseError> {
    Ok(InvoiceRow {
        item_description: Some(row.description.as_str().to_owned()),
        item_discount: row.discount.map(amount).transpose()?,
        item_ean: row.ean.as_ref().map(|e| e.as_str().to_owned()),
        item_quantity: Decimal::new(i128::from(row.quantity.thousandths()), 3).map(|d| d.normalized()),
        item_sku: row.sku.as_ref().map(|s| s.as_str().to_owned()),
        item_tax_rate: row
            .tax_rate
            .as_ref()
            .and_then(|t| Decimal::new(i128::from(t.basis_points()), 2))
            .map(|d| d.normalized()),
        item_total_amount: Some(amount(row.total)?),
        item_unit: row.unit.as_ref().map(|u| u.as_str().to_owned()),
        item_unit_price: row.unit_price.map(amount).transpose()?,
    })
}

fn rows(rows: &[OrderRow]) -> Result<Option<Vec<InvoiceRow>>, GlaseError> {
    if rows.is_empty() {
        return Ok(None);
    }
    rows.iter().map(row).collect::<Result<Vec<_>, _>>().map(Some)
}

/// The Glase invoice of an order: immediate debit, no acknowledgment step (no loyalty flow).
pub(crate) fn invoice(
    order: &Order,
    notification_url: Option<&str>,
    issued_at: Timestamp,
) -> Result<glase_protocol::Invoice, GlaseError> {
    Ok(glase_protocol::Invoice {
        payment_mode: Some(PaymentMode::ImmediateDebit),
        acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
        issue_date: Some(issue_date(issued_at)),
        title: Some(order.title().as_str().to_owned()),
        client_invoice_id: Some(order.merchant_order_id().as_str().to_owned()),
        invoice_rows: rows(order.rows())?,
        total_amount: Some(amount(order.total())?),
        cashier_id: order.cashier_id().map(|c| c.as_str().to_owned()),
        footer: None,
        back_url: order.back_url().map(|b| b.as_str().to_owned()),
        notification_url: notification_url.map(str::to_owned),
        commit_reservation_timeout: None,
    })
}

/// The invoice describing a refund: title, cashier, amount and the returned rows.
pub(crate) fn refund_invoice(refund: &RefundInvoice) -> Result<glase_protocol::Invoice, GlaseError> {
    Ok(glase_protocol::Invoice {
        payment_mode: None,
        acknowledgment_mode: None,
        issue_date: Some(issue_date(refund.issued_at)),
        title: Some(refund.reason.as_str().to_owned()),
        client_invoice_id: None,
        invoice_rows: rows(&refund.rows)?,
        total_amount: Some(amount(refund.amount)?),
        cashier_id: refund.cashier_id.as_ref().map(|c| c.as_str().to_owned()),
        footer: None,
        back_url: None,
        notification_url: None,
        commit_reservation_timeout: None,
    })
}

fn status(status: Option<&InvoiceStatus>) -> GlaseInvoiceStatus {
    match status {
        Some(s) => GlaseInvoiceStatus::from_wire(s.as_str()),
        None => GlaseInvoiceStatus::Unknown(String::new()),
    }
}

/// The domain's observation of a getPaymentStatus answer received at `observed_at`.
///
/// The payment reference is the top-level `ersReference`, or the receipt's `paymentReference` when
/// the former is absent (clients in the field read either). `paidAt` is the receipt's `paymentDate`.
pub fn observation_from_status(
    response: &GetPaymentStatusResponse,
    observed_at: Timestamp,
) -> Result<Observation, GlaseError> {
    let receipt = response.receipt.as_ref();
    let ers = response
        .ers_reference
        .as_deref()
        .or_else(|| receipt.and_then(|r| r.payment_reference.as_deref()))
        .map(|r| {
            ErsReference::parse(r).map_err(|_| GlaseError::OutcomeUnknown {
                reason: "Glase sent a malformed ersReference".to_owned(),
            })
        })
        .transpose()?;
    let paid_at = receipt
        .and_then(|r| r.payment_date.as_deref())
        .and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok())
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .map(Timestamp::from_unix_millis);
    Ok(Observation {
        status: status(response.status.as_ref()),
        version: StatusVersion::new(u32::try_from(response.version).unwrap_or(0)),
        ers_reference: ers,
        paid_at,
        observed_at,
    })
}

/// The domain's copy of a report: `contentString`, or `content` when it is UTF-8 text.
pub(crate) fn report_document(report_id: &str, report: Report) -> Option<ReportDocument> {
    let content = match (report.content_string, report.content) {
        (Some(text), _) if !text.is_empty() => text,
        (_, Some(bytes)) => String::from_utf8(bytes).ok()?,
        (Some(text), None) => text,
        (None, None) => return None,
    };
    Some(ReportDocument {
        report_id: report_id.to_owned(),
        title: report.title.unwrap_or_default(),
        mime_type: report.mime_type.unwrap_or_default(),
        content,
    })
}

/// The rows of a details report (STD_RECON_003 or 007); other reports carry none. A row that names no
/// `Currency` keeps none: the reconciliation reads it in the period's currency. A details
/// report that cannot be read, or a row whose amount or reference is not acceptable, is an error naming
/// what is wrong (never the document).
/// The report must be of `period` when its `<Meta>` names one.
pub(crate) fn report_transactions(
    report_id: &str,
    period: &str,
    content: &str,
) -> Result<Vec<ReportRow>, String> {
    if report_id != SHOP_DETAILS_REPORT && report_id != TERMINAL_DETAILS_REPORT {
        return Ok(Vec::new());
    }
    let parsed = glase_protocol::report::parse_report(content).map_err(|e| e.to_string())?;
    if let Some(other) = parsed
        .meta
        .transaction_period_id
        .as_deref()
        .filter(|id| *id != period)
    {
        return Err(format!("the report is of period {other}, not of {period}"));
    }
    parsed
        .transactions
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let position = index + 1;
            let currency = row
                .currency
                .as_deref()
                .map(Currency::parse)
                .transpose()
                .map_err(|e| format!("report row {position}: currency: {e}"))?;
            let hundredths = row.amount_minor().ok_or_else(|| {
                format!(
                    "report row {position}: amount {} is not exact in cents",
                    row.amount
                )
            })?;
            if let Some(currency) = currency {
                Money::from_hundredths(hundredths, currency)
                    .map_err(|e| format!("report row {position}: amount: {e}"))?;
            }
            let ers_reference = ErsReference::parse(&row.ers_reference)
                .map_err(|e| format!("report row {position}: ErsReference: {e}"))?;
            Ok(ReportRow {
                ers_reference,
                hundredths,
                currency,
                terminal: row.terminal_id,
                cashier: row.cashier_id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glase_protocol::{Receipt, ResultCode};

    #[test]
    fn issue_dates_are_utc_without_zone() {
        assert_eq!(
            issue_date(Timestamp::from_unix_millis(1_451_046_896_000)),
            "2015-12-25T12:34:56"
        );
    }

    #[test]
    fn a_paid_answer_becomes_a_paid_observation() {
        let response = GetPaymentStatusResponse {
            ers_reference: Some("2015102910184861801032678".into()),
            result_code: ResultCode::Success,
            status: Some(InvoiceStatus::Paid),
            receipt: Some(Receipt {
                payment_date: Some("2015-10-29T10:18:48.663+01:00".into()),
                ..Receipt::default()
            }),
            version: 2,
            ..GetPaymentStatusResponse::default()
        };
        let seen = observation_from_status(&response, Timestamp::from_unix_millis(5)).unwrap();
        assert_eq!(seen.status, GlaseInvoiceStatus::Paid);
        assert_eq!(seen.version.get(), 2);
        assert_eq!(seen.ers_reference.unwrap().as_str(), "2015102910184861801032678");
        assert_eq!(seen.paid_at, Some(Timestamp::from_unix_millis(1_446_110_328_663)));
        assert_eq!(seen.observed_at, Timestamp::from_unix_millis(5));
    }

    #[test]
    fn the_receipt_reference_stands_in_for_a_missing_ers_reference() {
        let response = GetPaymentStatusResponse {
            status: Some(InvoiceStatus::Paid),
            receipt: Some(Receipt {
                payment_reference: Some("123".into()),
                ..Receipt::default()
            }),
            ..GetPaymentStatusResponse::default()
        };
        let seen = observation_from_status(&response, Timestamp::from_unix_millis(0)).unwrap();
        assert_eq!(seen.ers_reference.unwrap().as_str(), "123");
    }

    #[test]
    fn protocol_errors_keep_their_kind() {
        use glase_protocol::GlaseError as P;
        assert_eq!(
            from_protocol_error(&P::Rejected {
                code: ResultCode::from_code(49),
                description: None
            }),
            GlaseError::Rejected {
                code: 49,
                description: "INVALID_INVOICE_DATA".into()
            }
        );
        assert!(matches!(
            from_protocol_error(&P::Transport {
                message: "refused".into()
            }),
            GlaseError::Unavailable { .. }
        ));
        assert!(matches!(
            from_protocol_error(&P::OutcomeUnknown {
                message: "timeout".into()
            }),
            GlaseError::OutcomeUnknown { .. }
        ));
        assert!(matches!(
            from_protocol_error(&P::Fault {
                code: "soap:Server".into(),
                message: "x".into()
            }),
            GlaseError::OutcomeUnknown { .. }
        ));
    }

    #[test]
    fn details_rows_become_signed_hundredths_and_summaries_carry_none() {
        let xml = "<TransactionDetails><Meta><ResellerId>s</ResellerId></Meta>\
                   <Row><TerminalId>t1</TerminalId><CashierId>NULL</CashierId><SalesAmount>93.31000</SalesAmount>\
                   <Currency>EUR</Currency><ErsReference>1001</ErsReference></Row>\
                   <Row><TerminalId>t1</TerminalId><CashierId>Ann</CashierId><SalesAmount>-3.31000</SalesAmount>\
                   <ErsReference>1002</ErsReference></Row></TransactionDetails>";
        let rows = report_transactions(SHOP_DETAILS_REPORT, "P1", xml).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].hundredths, 9_331);
        assert_eq!(rows[0].currency, Some(Currency::parse("EUR").unwrap()));
        assert_eq!(rows[0].cashier, None);
        // A row without a Currency keeps none: the reconciliation reads it in the period's currency.
        assert_eq!(rows[1].hundredths, -331);
        assert_eq!(rows[1].currency, None);
        assert_eq!(rows[1].ers_reference.as_str(), "1002");
        assert_eq!(rows[1].cashier.as_deref(), Some("Ann"));
        assert_eq!(
            report_transactions("Reconciliation/Shop.xml", "P1", "not even xml"),
            Ok(Vec::new())
        );
    }

    #[test]
    fn an_unreadable_details_report_is_an_error() {
        assert!(report_transactions(TERMINAL_DETAILS_REPORT, "P1", "<TransactionDetails>").is_err());
        let other = "<TransactionDetails><Meta><TransactionPeriodId>P2</TransactionPeriodId></Meta>\
                     </TransactionDetails>";
        let err = report_transactions(SHOP_DETAILS_REPORT, "P1", other).unwrap_err();
        assert!(err.contains("P2"), "{err}");
        assert_eq!(
            report_transactions(SHOP_DETAILS_REPORT, "P2", other),
            Ok(Vec::new())
        );
        let fraction = "<TransactionDetails><Meta/><Row><SalesAmount>1.00100</SalesAmount>\
                        <ErsReference>1</ErsReference></Row></TransactionDetails>";
        let err = report_transactions(SHOP_DETAILS_REPORT, "P1", fraction).unwrap_err();
        assert!(err.contains("row 1"), "{err}");
    }
}
