//! Invoices over SOAP: issuing, validation, authentication, status, cancel, update, reservations, receipts.

use glase_protocol::{
    Amount, CancelInvoiceRequest, ClientContext, CommitReservationRequest, Decimal, GetPaymentStatusRequest,
    GetPaymentStatusResponse, InvoiceStatus, Password, PaymentMode, ReceiptDocument, RegisterTerminalRequest,
    RegisterTerminalResponse, ResultCode, SendInvoiceRequest, SendInvoiceResponse,
    SubmitPaymentReceiptRequest, SubmitPaymentReceiptResponse, UpdateInvoiceRequest, UpdateInvoiceResponse,
};
use glase_sandbox::{SandboxConfig, WebshopTerminal};

use crate::common::*;

async fn cancel(t: &TestSandbox, context: ClientContext, reference: &str) -> i32 {
    let request = CancelInvoiceRequest {
        context,
        invoice_reference: Some(reference.into()),
    };
    t.code(request).await
}

async fn commit(t: &TestSandbox, reference: &str, amount: Option<Amount>) -> i32 {
    let request = CommitReservationRequest {
        context: shop(),
        amount,
        invoice_reference: Some(reference.into()),
    };
    t.code(request).await
}

#[tokio::test]
async fn send_invoice_answers_a_17_digit_reference_and_its_qr_code_and_status_is_issued() {
    let t = start().await;
    let response = t.send_on(shop(), invoice(12550)).await;
    assert_eq!(response.result_code, ResultCode::Success);
    assert_eq!(response.result_description.as_deref(), Some("SUCCESS"));
    let reference = response.invoice_reference.unwrap();
    assert_eq!(reference.len(), 17);
    assert!(reference.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        response.invoice_qr_code.unwrap(),
        format!("HTTP://SEQR.SE/R{reference}")
    );
    let status = t.status(&reference).await;
    assert_eq!(status.result_code, ResultCode::Success);
    assert_eq!(status.status, Some(InvoiceStatus::Issued));
    assert_eq!(status.version, 0);
    assert_eq!(status.ers_reference, None);
    assert_eq!(status.receipt, None);
    t.handle.shutdown().await;
}

#[tokio::test]
async fn authentication_failures_answer_20_29_and_37() {
    let t = start().await;
    let wrong_password = ClientContext::terminal(TERMINAL, Password::new("wrong"));
    assert_eq!(
        t.send_on(wrong_password, invoice(100)).await.result_code.code(),
        20
    );
    let unknown = ClientContext::terminal("no_such_terminal", Password::new(TERMINAL_PASSWORD));
    assert_eq!(t.send_on(unknown, invoice(100)).await.result_code.code(), 29);
    assert_eq!(t.send_on(reseller(), invoice(100)).await.result_code.code(), 29);

    let register = |context: ClientContext| RegisterTerminalRequest {
        context,
        external_terminal_id: Some("Till 1".into()),
        password: Some(Password::new("till-secret")),
        name: Some("Till 1".into()),
    };
    let code =
        |r: glase_protocol::Response| RegisterTerminalResponse::try_from(r).unwrap().result_code.code();
    let unknown_reseller = ClientContext::reseller("other_shop", "9900", Password::new("1234"));
    assert_eq!(code(t.call(register(unknown_reseller)).await), 37);
    let wrong_user = ClientContext::reseller("public_test_shop", "1", Password::new("1234"));
    assert_eq!(code(t.call(register(wrong_user)).await), 37);
    let wrong_reseller_password = ClientContext::reseller("public_test_shop", "9900", Password::new("nope"));
    assert_eq!(code(t.call(register(wrong_reseller_password)).await), 20);
    assert_eq!(code(t.call(register(shop())).await), 37);
    // The cash-register sample's packed form "<resellerId>/<userId>" without a userId element.
    let mut packed = reseller();
    packed.initiator.id = "public_test_shop/9900".into();
    packed.initiator.user_id = None;
    assert_eq!(code(t.call(register(packed)).await), 0);
    assert!(
        t.sandbox().invoices().is_empty(),
        "no rejected call created an invoice"
    );
}

#[tokio::test]
async fn invalid_invoice_data_answers_49_11_and_64_and_creates_nothing() {
    let t = start().await;
    let cases: Vec<(&str, glase_protocol::Invoice, i32)> = vec![
        (
            "rows do not add up",
            glase_protocol::Invoice {
                total_amount: Some(sek(999)),
                ..invoice(1000)
            },
            49,
        ),
        (
            "three decimals",
            glase_protocol::Invoice {
                invoice_rows: None,
                total_amount: Some(Amount::new("SEK", "10.005".parse::<Decimal>().unwrap())),
                ..invoice(1000)
            },
            49,
        ),
        (
            "row currency differs",
            glase_protocol::Invoice {
                invoice_rows: Some(vec![glase_protocol::InvoiceRow {
                    item_total_amount: Some(Amount::from_minor_units("EUR", 1000)),
                    ..row(1000)
                }]),
                ..invoice(1000)
            },
            49,
        ),
        (
            "quantity below one",
            glase_protocol::Invoice {
                invoice_rows: Some(vec![glase_protocol::InvoiceRow {
                    item_quantity: Some("0.5".parse().unwrap()),
                    ..row(1000)
                }]),
                ..invoice(1000)
            },
            49,
        ),
        (
            "no total",
            glase_protocol::Invoice {
                total_amount: None,
                invoice_rows: None,
                ..invoice(1000)
            },
            49,
        ),
        (
            "unknown currency",
            glase_protocol::Invoice {
                invoice_rows: None,
                total_amount: Some(Amount::from_minor_units("XXX", 1000)),
                ..invoice(1000)
            },
            49,
        ),
        (
            "zero total",
            glase_protocol::Invoice {
                invoice_rows: None,
                ..invoice(0)
            },
            11,
        ),
        (
            "ftp notification URL",
            glase_protocol::Invoice {
                notification_url: Some("ftp://shop.example/n".into()),
                ..invoice(1000)
            },
            64,
        ),
        (
            "relative notification URL",
            glase_protocol::Invoice {
                notification_url: Some("/notify".into()),
                ..invoice(1000)
            },
            64,
        ),
    ];
    for (name, invoice, expected) in cases {
        let response = t.send_on(shop(), invoice).await;
        assert_eq!(response.result_code.code(), expected, "{name}");
        assert_eq!(response.invoice_reference, None, "{name}");
    }
    let missing = SendInvoiceResponse::try_from(
        t.call(SendInvoiceRequest {
            context: shop(),
            invoice: None,
            tokens: vec![],
        })
        .await,
    )
    .unwrap();
    assert_eq!(missing.result_code.code(), 49);
    assert!(t.sandbox().invoices().is_empty());

    // Negative discount rows are fine as long as the rows add up; https URLs are accepted.
    let mut discounted = invoice(900);
    discounted.invoice_rows = Some(vec![
        row(1000),
        glase_protocol::InvoiceRow {
            item_quantity: None,
            ..row(-100)
        },
    ]);
    discounted.notification_url = Some("HTTPS://shop.example/notify?token=x".into());
    assert_eq!(t.send_on(shop(), discounted).await.result_code.code(), 0);
}

#[tokio::test]
async fn cancel_invoice_answers_0_95_51_50_and_54() {
    let config = SandboxConfig {
        webshop_terminals: vec![
            WebshopTerminal {
                terminal_id: TERMINAL.into(),
                password: TERMINAL_PASSWORD.into(),
                name: "A".into(),
            },
            WebshopTerminal {
                terminal_id: "other_shop".into(),
                password: "other-pw".into(),
                name: "B".into(),
            },
        ],
        ..SandboxConfig::default()
    };
    let t = start_with(config).await;
    let issued = t.send(invoice(100)).await;
    assert_eq!(cancel(&t, shop(), &issued).await, 0);
    let status = t.status(&issued).await;
    assert_eq!(
        (status.status, status.version),
        (Some(InvoiceStatus::Canceled), 1)
    );
    assert_eq!(cancel(&t, shop(), &issued).await, 95);

    let scanned = t.send(invoice(100)).await;
    t.sandbox().scan_invoice(&scanned).unwrap();
    assert_eq!(cancel(&t, shop(), &scanned).await, 51);
    assert_eq!(
        t.status(&scanned).await.status,
        Some(InvoiceStatus::Issued),
        "scanning keeps ISSUED"
    );

    let paid = t.send(invoice(100)).await;
    t.sandbox().pay_invoice(&paid).unwrap();
    assert_eq!(cancel(&t, shop(), &paid).await, 50);

    assert_eq!(cancel(&t, shop(), "20260101000000000").await, 54);
    let other = ClientContext::terminal("other_shop", Password::new("other-pw"));
    assert_eq!(
        cancel(&t, other.clone(), &issued).await,
        54,
        "another terminal's invoice is unknown"
    );
    assert_eq!(t.status_on(other, &paid).await.result_code.code(), 54);
}

#[tokio::test]
async fn update_invoice_replaces_the_content_and_bumps_the_version() {
    let t = start().await;
    let reference = t.send(invoice(100)).await;
    let update = |invoice: glase_protocol::Invoice| UpdateInvoiceRequest {
        context: shop(),
        invoice_reference: Some(reference.clone()),
        invoice: Some(invoice),
        tokens: vec![],
    };
    let code = |r: glase_protocol::Response| UpdateInvoiceResponse::try_from(r).unwrap().result_code.code();
    assert_eq!(code(t.call(update(invoice(250))).await), 0);
    assert_eq!(t.status(&reference).await.version, 1);
    assert_eq!(t.sandbox().invoice(&reference).unwrap().amount_minor, 250);
    let broken = glase_protocol::Invoice {
        total_amount: Some(sek(1)),
        ..invoice(250)
    };
    assert_eq!(code(t.call(update(broken)).await), 49);
    assert_eq!(
        t.sandbox().invoice(&reference).unwrap().amount_minor,
        250,
        "a rejected update changes nothing"
    );
    t.sandbox().scan_invoice(&reference).unwrap();
    assert_eq!(code(t.call(update(invoice(300))).await), 48);
    t.sandbox().pay_invoice(&reference).unwrap();
    assert_eq!(code(t.call(update(invoice(300))).await), 90);
}

#[tokio::test]
async fn a_paid_status_carries_the_ers_reference_and_a_full_receipt() {
    let t = start().await;
    let reference = t.send(invoice(12550)).await;
    t.sandbox().pay_invoice(&reference).unwrap();
    let status = t.status(&reference).await;
    assert_eq!(status.status, Some(InvoiceStatus::Paid));
    assert_eq!(status.version, 1);
    let ers = status.ers_reference.clone().unwrap();
    assert_eq!(ers.len(), 25);
    assert!(ers.bytes().all(|b| b.is_ascii_digit()));
    let receipt = status.receipt.unwrap();
    assert_eq!(receipt.payment_reference.as_deref(), Some(ers.as_str()));
    assert_eq!(receipt.invoice_reference.as_deref(), Some(reference.as_str()));
    assert_eq!(receipt.terminal_id.as_deref(), Some(TERMINAL));
    assert_eq!(receipt.client_invoice_id.as_deref(), Some("order-42"));
    assert_eq!(receipt.payer_terminal_id.unwrap().len(), 25);
    assert!(receipt.receiver_name.is_some());
    assert!(receipt.payment_date.unwrap().contains('T'));
    assert_eq!(receipt.invoice.unwrap().total_amount, Some(sek(12550)));
    assert_eq!(status.customer_tokens, Some(vec![]));
}

#[tokio::test]
async fn get_payment_status_without_a_reference_reads_the_newest_invoice() {
    let t = start().await;
    t.send(invoice(100)).await;
    let newest = t.send(invoice(200)).await;
    t.sandbox().pay_invoice(&newest).unwrap();
    let request = GetPaymentStatusRequest {
        context: shop(),
        invoice_reference: None,
        invoice_version: 0,
    };
    let status = GetPaymentStatusResponse::try_from(t.call(request).await).unwrap();
    assert_eq!(status.receipt.unwrap().invoice_reference, Some(newest));
}

#[tokio::test]
async fn reservations_are_committed_up_to_the_reserved_amount_or_expire() {
    let t = start().await;
    let reserve = |minor, timeout| glase_protocol::Invoice {
        payment_mode: Some(PaymentMode::ReservationRequiredPreliminaryAmount),
        commit_reservation_timeout: timeout,
        ..invoice(minor)
    };
    let reference = t.send(reserve(1000, Some(600))).await;
    assert_eq!(commit(&t, &reference, None).await, 96, "not reserved yet");
    t.sandbox().pay_invoice(&reference).unwrap();
    let status = t.status(&reference).await;
    assert_eq!(
        (status.status, status.version, status.ers_reference),
        (Some(InvoiceStatus::Reserved), 1, None)
    );
    assert_eq!(
        commit(&t, &reference, Some(sek(1001))).await,
        11,
        "more than reserved"
    );
    assert_eq!(
        commit(&t, &reference, Some(Amount::from_minor_units("EUR", 500))).await,
        49
    );
    assert_eq!(commit(&t, &reference, Some(sek(800))).await, 0);
    let status = t.status(&reference).await;
    assert_eq!((status.status, status.version), (Some(InvoiceStatus::Paid), 2));
    assert_eq!(status.ers_reference.unwrap().len(), 25);
    assert_eq!(
        t.sandbox()
            .invoice(&reference)
            .unwrap()
            .payment
            .unwrap()
            .amount_minor,
        800
    );
    assert_eq!(commit(&t, &reference, None).await, 96);
    // A committed reservation is acknowledged by the commit: it is never reversed.
    t.sandbox().advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Paid));

    let lapsing = t.send(reserve(500, Some(30))).await;
    t.sandbox().pay_invoice(&lapsing).unwrap();
    t.sandbox().advance_clock(std::time::Duration::from_secs(31));
    assert_eq!(t.status(&lapsing).await.status, Some(InvoiceStatus::Expired));
    assert_eq!(commit(&t, &lapsing, None).await, 58);

    let released = t.send(reserve(500, None)).await;
    t.sandbox().pay_invoice(&released).unwrap();
    assert_eq!(
        cancel(&t, shop(), &released).await,
        0,
        "cancelInvoice releases a reservation"
    );
    assert_eq!(t.status(&released).await.status, Some(InvoiceStatus::Canceled));
}

#[tokio::test]
async fn submit_payment_receipt_accepts_known_payments_only() {
    let t = start().await;
    let (_, ers) = t.paid_and_acknowledged(1000).await;
    let submit = |ers: &str| SubmitPaymentReceiptRequest {
        context: shop(),
        ers_reference: Some(ers.to_owned()),
        receipt_document: Some(ReceiptDocument {
            mime_type: Some("text/html".into()),
            receipt_data: Some(b"<p>thanks</p>".to_vec()),
            receipt_type: Some("PAYMENT_RECEIPT".into()),
        }),
    };
    let code = |r: glase_protocol::Response| {
        SubmitPaymentReceiptResponse::try_from(r)
            .unwrap()
            .result_code
            .code()
    };
    assert_eq!(code(t.call(submit(&ers)).await), 0);
    assert_eq!(code(t.call(submit("2015102910184861801032678")).await), 23);
}

#[tokio::test]
async fn unpaid_invoices_expire_when_configured() {
    let t = start_with(SandboxConfig {
        unpaid_invoice_expiry_secs: Some(120),
        ..SandboxConfig::default()
    })
    .await;
    let reference = t.send(invoice(100)).await;
    t.sandbox().advance_clock(std::time::Duration::from_secs(119));
    assert_eq!(t.status(&reference).await.status, Some(InvoiceStatus::Issued));
    t.sandbox().advance_clock(std::time::Duration::from_secs(2));
    let status = t.status(&reference).await;
    assert_eq!((status.status, status.version), (Some(InvoiceStatus::Expired), 1));
    assert!(t.sandbox().pay_invoice(&reference).is_err());
}
