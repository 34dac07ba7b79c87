//! Fixtures shared by the integration tests: fully populated requests and responses for every operation,
//! and the golden-file helper.

#![allow(dead_code)]

pub mod stub;

use std::path::PathBuf;

use glase_protocol::*;

/// Compares `actual` byte for byte with `tests/golden/<name>`. With `GLASE_BLESS=1` in the environment
/// the file is (re)written instead; review the diff before committing it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("GLASE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} unreadable ({e}); run with GLASE_BLESS=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "bytes differ from golden file {}\nexpected: {expected}\nactual:   {actual}",
        path.display()
    );
}

/// Reads a file under `tests/golden/`.
pub fn golden(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Removes comments and the whitespace layout of a pretty-printed document: whitespace-only text
/// between tags disappears and whitespace runs inside tags become one space.
pub fn compact(pretty: &str) -> String {
    let mut text = pretty.to_owned();
    while let Some(start) = text.find("<!--") {
        let end = text[start..].find("-->").map(|e| start + e + 3).unwrap();
        text.replace_range(start..end, "");
    }
    let mut out = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            let mut run = String::from(c);
            while let Some(&n) = chars.peek() {
                if !n.is_whitespace() {
                    break;
                }
                run.push(n);
                chars.next();
            }
            let between_tags = out.ends_with('>') && chars.peek() == Some(&'<');
            if between_tags {
                continue;
            }
            if run.contains('\n') {
                out.push(' ');
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A terminal's context on the `WS` channel with every client field set.
pub fn ws_terminal_context(
    [comment, client_id, client_reference]: [&str; 3],
    terminal_id: &str,
    password: &str,
) -> ClientContext {
    ClientContext {
        channel: Some("WS".into()),
        client_comment: Some(comment.into()),
        client_id: Some(client_id.into()),
        client_reference: Some(client_reference.into()),
        client_request_timeout: 0,
        initiator: PrincipalId::terminal(terminal_id),
        password: Password::new(password),
    }
}

pub fn terminal_context() -> ClientContext {
    ws_terminal_context(
        ["Kassa 2 — \"Café\" <öppen> & klar", "Glase POS 1.0", "ref-0001"],
        "87e791f9e24148a6892c52aa85bb0331",
        "s3cr&t<pw>",
    )
}

pub fn reseller_context() -> ClientContext {
    ClientContext::reseller("public_test_shop", "9900", Password::new("1234"))
        .with_client_id("Glase backend")
        .with_client_reference("close-2026-11-22")
}

pub fn full_invoice() -> Invoice {
    Invoice {
        payment_mode: Some(PaymentMode::ImmediateDebit),
        acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
        issue_date: Some("2026-11-22T09:15:00".into()),
        title: Some("Order 42 — Kaffe & bulle".into()),
        client_invoice_id: Some("order-42".into()),
        invoice_rows: Some(vec![
            InvoiceRow {
                item_description: Some("Kaffe <large>".into()),
                item_discount: Some(Amount::from_minor_units("SEK", 500)),
                item_ean: Some("0076232342123".into()),
                item_quantity: Some(dec("2")),
                item_sku: Some("12345-A".into()),
                item_tax_rate: Some(dec("12")),
                item_total_amount: Some(Amount::from_minor_units("SEK", 6500)),
                item_unit: Some("EA".into()),
                item_unit_price: Some(Amount::from_minor_units("SEK", 3500)),
            },
            InvoiceRow {
                item_description: Some("Kanelbulle".into()),
                item_discount: None,
                item_ean: None,
                item_quantity: Some(dec("1.5")),
                item_sku: None,
                item_tax_rate: Some(dec("12.5")),
                item_total_amount: Some(Amount::from_minor_units("SEK", 3000)),
                item_unit: Some(String::new()),
                item_unit_price: Some(Amount::from_minor_units("SEK", 2000)),
            },
        ]),
        total_amount: Some(Amount::from_minor_units("SEK", 9500)),
        cashier_id: Some("Bob".into()),
        footer: Some("Thank you".into()),
        back_url: Some("https://shop.example/done?order=42&x=1".into()),
        notification_url: Some("https://api.example/v1/notify/42".into()),
        commit_reservation_timeout: Some(3600),
    }
}

pub fn loyalty_token() -> CustomerToken {
    CustomerToken {
        description: Some("Loyalty card".into()),
        id: Some("X_CARD".into()),
        status: 1,
        value: Some("2610411111110".into()),
    }
}

pub fn report_parameters() -> ParameterMap {
    ParameterMap::new()
        .with("transactionPeriodId", "2012071711291546101000028")
        .with("TERMINALID", "2469e0bf14214797880cafb0eda1b535")
}

/// A request of `op` with every field the schema allows filled in.
pub fn full_request(op: Operation) -> Request {
    match op {
        Operation::SendInvoice => SendInvoiceRequest {
            context: terminal_context(),
            invoice: Some(full_invoice()),
            tokens: vec![
                loyalty_token(),
                CustomerToken {
                    status: 0,
                    ..loyalty_token()
                },
            ],
        }
        .into(),
        Operation::UpdateInvoice => UpdateInvoiceRequest {
            context: terminal_context(),
            invoice_reference: Some("20151029186719114".into()),
            invoice: Some(full_invoice()),
            tokens: vec![loyalty_token()],
        }
        .into(),
        Operation::GetPaymentStatus => GetPaymentStatusRequest {
            context: terminal_context(),
            invoice_reference: Some("20151029186719114".into()),
            invoice_version: 3,
        }
        .into(),
        Operation::CancelInvoice => CancelInvoiceRequest {
            context: terminal_context(),
            invoice_reference: Some("20151029186719114".into()),
        }
        .into(),
        Operation::CommitReservation => CommitReservationRequest {
            context: terminal_context(),
            amount: Some(Amount::from_minor_units("SEK", 8990)),
            invoice_reference: Some("20151029186719114".into()),
        }
        .into(),
        Operation::SubmitPaymentReceipt => SubmitPaymentReceiptRequest {
            context: terminal_context(),
            ers_reference: Some("2015102910184861801032678".into()),
            receipt_document: Some(ReceiptDocument {
                mime_type: Some("text/html".into()),
                receipt_data: Some(b"<html><body>Receipt \xC3\xA5</body></html>".to_vec()),
                receipt_type: Some("PAYMENT_RECEIPT".into()),
            }),
        }
        .into(),
        Operation::RefundPayment => RefundPaymentRequest {
            context: terminal_context(),
            ers_reference: Some("2015102910184861801032678".into()),
            invoice: Some(full_invoice()),
        }
        .into(),
        Operation::RegisterTerminal => RegisterTerminalRequest {
            context: reseller_context(),
            external_terminal_id: Some("Store 111/Till 4".into()),
            password: Some(Password::new("N2YFUhKaB1ZSuVF")),
            name: Some("My restaurant, cash register 2".into()),
        }
        .into(),
        Operation::UnregisterTerminal => UnregisterTerminalRequest {
            context: terminal_context(),
        }
        .into(),
        Operation::AssignSeqrId => AssignSeqrIdRequest {
            context: terminal_context(),
            seqr_id: Some("GLASE0001".into()),
        }
        .into(),
        Operation::MarkTransactionPeriod => MarkTransactionPeriodRequest {
            context: reseller_context(),
            parameters: Some(ParameterMap::new().with("TERMINALID", "2469e0bf14214797880cafb0eda1b535")),
        }
        .into(),
        Operation::ExecuteReport => ExecuteReportRequest {
            context: reseller_context(),
            report_id: Some("Reconciliation/STD_RECON_002.xml".into()),
            language: Some("en".into()),
            parameters: Some(report_parameters()),
        }
        .into(),
    }
}

pub fn full_receipt() -> Receipt {
    Receipt {
        terminal_id: Some("87e791f9e24148a6892c52aa85bb0331".into()),
        payment_date: Some("2015-10-29T10:18:48.663+01:00".into()),
        client_invoice_id: Some("order-42".into()),
        invoice_reference: Some("20151029186719114".into()),
        payment_reference: Some("2015102910184861801032678".into()),
        payer_terminal_id: Some("d613c5b8428d17248751bc101".into()),
        receiver_name: Some("My Shop's Name".into()),
        invoice: Some(full_invoice()),
    }
}

/// A successful response of `op` with every field the schema allows filled in.
pub fn full_response(op: Operation) -> Response {
    let ok = Some("SUCCESS".to_owned());
    let ers = Some("2015102910184861801032679".to_owned());
    match op {
        Operation::SendInvoice => SendInvoiceResponse {
            result_description: ok,
            invoice_qr_code: Some("HTTP://SEQR.SE/R20151029186719114".into()),
            invoice_reference: Some("20151029186719114".into()),
            ..Default::default()
        }
        .into(),
        Operation::GetPaymentStatus => GetPaymentStatusResponse {
            ers_reference: Some("2015102910184861801032678".into()),
            result_description: ok,
            status: Some(InvoiceStatus::Paid),
            receipt: Some(full_receipt()),
            customer_tokens: Some(vec![CustomerToken {
                status: 0,
                ..loyalty_token()
            }]),
            version: 2,
            ..Default::default()
        }
        .into(),
        Operation::RegisterTerminal => RegisterTerminalResponse {
            result_description: ok,
            terminal_id: Some("4ea3d2b6c5a24c1f9c0e0d6b8a7f3e21".into()),
            ..Default::default()
        }
        .into(),
        Operation::MarkTransactionPeriod => MarkTransactionPeriodResponse {
            result_description: ok,
            transaction_period_id: Some("2012071711291546101000028".into()),
            ..Default::default()
        }
        .into(),
        Operation::ExecuteReport => ExecuteReportResponse {
            result_description: ok,
            report: Some(Report {
                title: Some("STD_RECON_002_2012071711291546101000028.xml".into()),
                mime_type: Some("text/html".into()),
                content: Some(b"<TerminalTransactionSummary/>".to_vec()),
                content_string: Some("<TerminalTransactionSummary/>".into()),
            }),
            ..Default::default()
        }
        .into(),
        Operation::RefundPayment => RefundPaymentResponse {
            ers_reference: ers,
            result_description: ok,
            ..Default::default()
        }
        .into(),
        Operation::SubmitPaymentReceipt => SubmitPaymentReceiptResponse {
            ers_reference: ers,
            result_description: ok,
            ..Default::default()
        }
        .into(),
        other => Response::with_code(other, ResultCode::Success),
    }
}
