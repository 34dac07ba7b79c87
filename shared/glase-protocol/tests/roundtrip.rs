//! Property tests: decoding an encoded request or response gives back exactly the value encoded, for
//! arbitrary content including markup characters, quotes, carriage returns and non-ASCII text.

use glase_protocol::soap::{decode_request, decode_response, encode_request, encode_response};
use glase_protocol::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Text XML 1.0 can carry, biased towards the characters that need escaping.
fn text() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('<'),
        Just('>'),
        Just('&'),
        Just('"'),
        Just('\''),
        Just('\r'),
        Just('\n'),
        Just('\t'),
        Just(' '),
        Just('å'),
        Just('€'),
        Just('😀'),
        Just(']'),
    ];
    let any_valid = any::<char>().prop_filter("XML 1.0 character", |c| {
        matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    });
    vec(
        prop_oneof![3 => special, 5 => proptest::char::range('a', 'z'), 2 => any_valid],
        0..16,
    )
    .prop_map(String::from_iter)
}

fn word() -> impl Strategy<Value = String> {
    "[A-Z][A-Z_]{0,12}"
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0_u32..8).prop_map(|(m, s)| Decimal::new(i128::from(m), s).unwrap())
}

fn amount() -> impl Strategy<Value = Amount> {
    (text(), decimal()).prop_map(|(currency, value)| Amount { currency, value })
}

fn password() -> impl Strategy<Value = Password> {
    text().prop_map(Password::new)
}

fn principal() -> impl Strategy<Value = PrincipalId> {
    let kind = prop_oneof![
        Just(PrincipalType::TerminalId),
        Just(PrincipalType::ResellerUser),
        text()
            .prop_filter("unknown", |t| t != "TERMINALID" && t != "RESELLERUSER")
            .prop_map(PrincipalType::Other),
    ];
    (text(), kind, of(text())).prop_map(|(id, kind, user_id)| PrincipalId { id, kind, user_id })
}

fn context() -> impl Strategy<Value = ClientContext> {
    (
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        any::<i64>(),
        principal(),
        password(),
    )
        .prop_map(|c| ClientContext {
            channel: c.0,
            client_comment: c.1,
            client_id: c.2,
            client_reference: c.3,
            client_request_timeout: c.4,
            initiator: c.5,
            password: c.6,
        })
}

fn payment_mode() -> impl Strategy<Value = PaymentMode> {
    prop_oneof![
        proptest::sample::select(PaymentMode::KNOWN.to_vec()),
        word().prop_map(|w| PaymentMode::from_wire(&w)),
    ]
}

fn ack_mode() -> impl Strategy<Value = AcknowledgmentMode> {
    prop_oneof![
        proptest::sample::select(AcknowledgmentMode::KNOWN.to_vec()),
        word().prop_map(|w| AcknowledgmentMode::from_wire(&w)),
    ]
}

fn status() -> impl Strategy<Value = InvoiceStatus> {
    prop_oneof![
        proptest::sample::select(InvoiceStatus::KNOWN.to_vec()),
        word().prop_map(|w| InvoiceStatus::from_wire(&w)),
    ]
}

fn row() -> impl Strategy<Value = InvoiceRow> {
    (
        of(text()),
        of(amount()),
        of(text()),
        of(decimal()),
        of(text()),
        of(decimal()),
        of(amount()),
        of(text()),
        of(amount()),
    )
        .prop_map(|(d, disc, ean, qty, sku, tax, total, unit, price)| InvoiceRow {
            item_description: d,
            item_discount: disc,
            item_ean: ean,
            item_quantity: qty,
            item_sku: sku,
            item_tax_rate: tax,
            item_total_amount: total,
            item_unit: unit,
            item_unit_price: price,
        })
}

fn invoice() -> impl Strategy<Value = Invoice> {
    (
        (
            of(payment_mode()),
            of(ack_mode()),
            of(text()),
            of(text()),
            of(text()),
            of(vec(row(), 0..3)),
        ),
        (
            of(amount()),
            of(text()),
            of(text()),
            of(text()),
            of(text()),
            of(any::<i64>()),
        ),
    )
        .prop_map(
            |((pm, am, issue, title, cid, rows), (total, cashier, footer, back, notify, crt))| Invoice {
                payment_mode: pm,
                acknowledgment_mode: am,
                issue_date: issue,
                title,
                client_invoice_id: cid,
                invoice_rows: rows,
                total_amount: total,
                cashier_id: cashier,
                footer,
                back_url: back,
                notification_url: notify,
                commit_reservation_timeout: crt,
            },
        )
}

fn token() -> impl Strategy<Value = CustomerToken> {
    (of(text()), of(text()), any::<i32>(), of(text())).prop_map(|(description, id, status, value)| {
        CustomerToken {
            description,
            id,
            status,
            value,
        }
    })
}

fn parameters() -> impl Strategy<Value = ParameterMap> {
    vec((text(), text()), 0..4).prop_map(|entries| ParameterMap { entries })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40)
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (context(), of(invoice()), vec(token(), 0..3)).prop_map(|(context, invoice, tokens)| {
            SendInvoiceRequest {
                context,
                invoice,
                tokens,
            }
            .into()
        }),
        (context(), of(text()), of(invoice()), vec(token(), 0..3)).prop_map(
            |(context, r, invoice, tokens)| {
                UpdateInvoiceRequest {
                    context,
                    invoice_reference: r,
                    invoice,
                    tokens,
                }
                .into()
            }
        ),
        (context(), of(text()), any::<i32>()).prop_map(|(context, r, v)| {
            GetPaymentStatusRequest {
                context,
                invoice_reference: r,
                invoice_version: v,
            }
            .into()
        }),
        (context(), of(text())).prop_map(|(context, r)| CancelInvoiceRequest {
            context,
            invoice_reference: r
        }
        .into()),
        (context(), of(amount()), of(text())).prop_map(|(context, amount, r)| {
            CommitReservationRequest {
                context,
                amount,
                invoice_reference: r,
            }
            .into()
        }),
        (context(), of(text()), of((of(text()), of(bytes()), of(text())))).prop_map(|(context, ers, doc)| {
            SubmitPaymentReceiptRequest {
                context,
                ers_reference: ers,
                receipt_document: doc.map(|(mime_type, receipt_data, receipt_type)| ReceiptDocument {
                    mime_type,
                    receipt_data,
                    receipt_type,
                }),
            }
            .into()
        }),
        (context(), of(text()), of(invoice())).prop_map(|(context, ers, invoice)| RefundPaymentRequest {
            context,
            ers_reference: ers,
            invoice
        }
        .into()),
        (context(), of(text()), of(password()), of(text())).prop_map(|(context, ext, password, name)| {
            RegisterTerminalRequest {
                context,
                external_terminal_id: ext,
                password,
                name,
            }
            .into()
        }),
        context().prop_map(|context| UnregisterTerminalRequest { context }.into()),
        (context(), of(text()))
            .prop_map(|(context, seqr_id)| AssignSeqrIdRequest { context, seqr_id }.into()),
        (context(), of(parameters())).prop_map(|(context, parameters)| MarkTransactionPeriodRequest {
            context,
            parameters
        }
        .into()),
        (context(), of(text()), of(text()), of(parameters())).prop_map(
            |(context, report_id, language, parameters)| {
                ExecuteReportRequest {
                    context,
                    report_id,
                    language,
                    parameters,
                }
                .into()
            }
        ),
    ]
}

fn base() -> impl Strategy<Value = (Option<String>, ResultCode, Option<String>)> {
    (
        of(text()),
        any::<i32>().prop_map(ResultCode::from_code),
        of(text()),
    )
}

fn receipt() -> impl Strategy<Value = Receipt> {
    (
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(invoice()),
    )
        .prop_map(|(t, d, c, i, p, payer, name, invoice)| Receipt {
            terminal_id: t,
            payment_date: d,
            client_invoice_id: c,
            invoice_reference: i,
            payment_reference: p,
            payer_terminal_id: payer,
            receiver_name: name,
            invoice,
        })
}

fn response() -> impl Strategy<Value = Response> {
    let plain =
        (proptest::sample::select(Operation::ALL.to_vec()), base()).prop_map(|(op, (ers, code, desc))| {
            let mut r = Response::with_code(op, code);
            match &mut r {
                Response::UpdateInvoice(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::CancelInvoice(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::CommitReservation(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::SubmitPaymentReceipt(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::RefundPayment(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::UnregisterTerminal(x) => (x.ers_reference, x.result_description) = (ers, desc),
                Response::AssignSeqrId(x) => (x.ers_reference, x.result_description) = (ers, desc),
                _ => {}
            }
            r
        });
    prop_oneof![
        plain,
        (base(), of(text()), of(text())).prop_map(
            |((ers_reference, result_code, result_description), qr, r)| {
                SendInvoiceResponse {
                    ers_reference,
                    result_code,
                    result_description,
                    invoice_qr_code: qr,
                    invoice_reference: r,
                }
                .into()
            }
        ),
        (
            base(),
            of(status()),
            of(receipt()),
            of(vec(token(), 0..3)),
            any::<i32>()
        )
            .prop_map(
                |(
                    (ers_reference, result_code, result_description),
                    status,
                    receipt,
                    customer_tokens,
                    version,
                )| {
                    GetPaymentStatusResponse {
                        ers_reference,
                        result_code,
                        result_description,
                        status,
                        receipt,
                        customer_tokens,
                        version,
                    }
                    .into()
                }
            ),
        (base(), of(text())).prop_map(
            |((ers_reference, result_code, result_description), terminal_id)| {
                RegisterTerminalResponse {
                    ers_reference,
                    result_code,
                    result_description,
                    terminal_id,
                }
                .into()
            }
        ),
        (base(), of(text())).prop_map(|((ers_reference, result_code, result_description), id)| {
            MarkTransactionPeriodResponse {
                ers_reference,
                result_code,
                result_description,
                transaction_period_id: id,
            }
            .into()
        }),
        (base(), of((of(text()), of(text()), of(bytes()), of(text())))).prop_map(
            |((ers_reference, result_code, result_description), report)| {
                ExecuteReportResponse {
                    ers_reference,
                    result_code,
                    result_description,
                    report: report.map(|(title, mime_type, content, content_string)| Report {
                        title,
                        mime_type,
                        content,
                        content_string,
                    }),
                }
                .into()
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_an_encoded_request_gives_it_back(request in request()) {
        let xml = encode_request(&request);
        prop_assert_eq!(decode_request(xml.as_bytes()), Ok(request));
    }

    #[test]
    fn decoding_an_encoded_response_gives_it_back(response in response()) {
        let xml = encode_response(&response);
        prop_assert_eq!(decode_response(response.operation(), xml.as_bytes()), Ok(response));
    }
}

#[test]
fn characters_xml_cannot_carry_are_replaced_not_emitted() {
    let request: Request = AssignSeqrIdRequest {
        context: ClientContext::terminal("t\u{1}", Password::new("p\u{0}w")),
        seqr_id: Some("a\u{FFFF}b\u{8}".into()),
    }
    .into();
    let xml = encode_request(&request);
    let Request::AssignSeqrId(back) = decode_request(xml.as_bytes()).unwrap() else {
        panic!("variant")
    };
    assert_eq!(back.seqr_id.as_deref(), Some("a\u{FFFD}b\u{FFFD}"));
    assert_eq!(back.context.initiator.id, "t\u{FFFD}");
    assert!(back.context.password.verify_str("p\u{FFFD}w"));
}
