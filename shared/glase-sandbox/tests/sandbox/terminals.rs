//! Cash-register terminals: registration, one open invoice, stickers, unregistration.

use glase_protocol::{
    AssignSeqrIdRequest, ClientContext, InvoiceStatus, Password, RegisterTerminalRequest,
    RegisterTerminalResponse, UnregisterTerminalRequest,
};

use crate::common::*;

async fn register(t: &TestSandbox, password: &str) -> RegisterTerminalResponse {
    let request = RegisterTerminalRequest {
        context: reseller(),
        external_terminal_id: Some("Store 1/Till 4".into()),
        password: Some(Password::new(password)),
        name: Some("My shop, till 4".into()),
    };
    RegisterTerminalResponse::try_from(t.call(request).await).unwrap()
}

async fn till(t: &TestSandbox) -> ClientContext {
    let terminal_id = register(t, "till-password").await.terminal_id.unwrap();
    ClientContext::terminal(terminal_id, Password::new("till-password"))
}

/// The reference of an invoice of `minor` units sent on `terminal`.
async fn issued_on(t: &TestSandbox, terminal: &ClientContext, minor: i64) -> String {
    t.send_on(terminal.clone(), invoice(minor))
        .await
        .invoice_reference
        .unwrap()
}

async fn assign(t: &TestSandbox, context: ClientContext, seqr_id: &str) -> i32 {
    let request = AssignSeqrIdRequest {
        context,
        seqr_id: Some(seqr_id.into()),
    };
    t.code(request).await
}

#[tokio::test]
async fn register_terminal_answers_a_32_hex_id_and_needs_a_4_character_password() {
    let t = start().await;
    let response = register(&t, "abcd").await;
    assert_eq!(response.result_code.code(), 0);
    let id = response.terminal_id.unwrap();
    assert_eq!(id.len(), 32);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(register(&t, "abc").await.result_code.code(), 21);
    let accounts = t.sandbox().accounts();
    let registered = accounts.terminals.iter().find(|a| a.terminal_id == id).unwrap();
    assert_eq!(registered.external_terminal_id.as_deref(), Some("Store 1/Till 4"));
    assert_eq!(registered.password, None);
}

#[tokio::test]
async fn a_new_invoice_on_a_cash_register_cancels_the_open_one_but_webshops_keep_many() {
    let t = start().await;
    let till = till(&t).await;
    let first = issued_on(&t, &till, 100).await;
    let second = issued_on(&t, &till, 200).await;
    let old = t.status_on(till.clone(), &first).await;
    assert_eq!((old.status, old.version), (Some(InvoiceStatus::Canceled), 1));
    assert_eq!(
        t.status_on(till.clone(), &second).await.status,
        Some(InvoiceStatus::Issued)
    );
    let view = t.sandbox().invoice(&first).unwrap();
    assert_eq!(
        view.cancel_reason,
        Some(glase_sandbox::CancelReason::ReplacedByNewInvoice)
    );

    // A paid invoice is final: the next invoice leaves it alone.
    t.sandbox().pay_invoice(&second).unwrap();
    t.status_on(till.clone(), &second).await;
    let third = issued_on(&t, &till, 300).await;
    assert_eq!(
        t.status_on(till.clone(), &second).await.status,
        Some(InvoiceStatus::Paid)
    );
    assert_eq!(
        t.status_on(till, &third).await.status,
        Some(InvoiceStatus::Issued)
    );

    let a = t.send(invoice(100)).await;
    let b = t.send(invoice(100)).await;
    assert_eq!(t.status(&a).await.status, Some(InvoiceStatus::Issued));
    assert_eq!(t.status(&b).await.status, Some(InvoiceStatus::Issued));
}

#[tokio::test]
async fn assign_seqr_id_binds_a_sticker_the_shopper_can_pay() {
    let t = start().await;
    let till_a = till(&t).await;
    let till_b = till(&t).await;
    assert_eq!(assign(&t, till_a.clone(), "SHOP1TILL4").await, 0);
    assert_eq!(
        assign(&t, till_a.clone(), "SHOP1TILL4").await,
        0,
        "re-assigning its own id is fine"
    );
    assert_eq!(
        assign(&t, till_b.clone(), "SHOP1TILL4").await,
        53,
        "taken by another terminal"
    );
    assert_eq!(assign(&t, till_b.clone(), "not-alnum").await, 53);
    assert_eq!(assign(&t, till_b, "").await, 53);

    let reference = issued_on(&t, &till_a, 990).await;
    let shown = t.sandbox().sticker_invoice("SHOP1TILL4").unwrap();
    assert_eq!(shown.invoice_reference, reference);
    let response = t
        .request(reqwest::Method::POST, "/sandbox/stickers/SHOP1TILL4/pay", None)
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["invoice"]["invoice_reference"], reference.as_str());
    assert_eq!(body["invoice"]["status"], "PAID");
    assert_eq!(
        t.status_on(till_a, &reference).await.status,
        Some(InvoiceStatus::Paid)
    );
    let again = t
        .request(reqwest::Method::POST, "/sandbox/stickers/SHOP1TILL4/pay", None)
        .await;
    assert_eq!(again.status(), 404, "no open invoice left");
    let unknown = t
        .request(reqwest::Method::POST, "/sandbox/stickers/NOPE/pay", None)
        .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn an_unregistered_terminal_is_unknown_afterwards() {
    let t = start().await;
    let till = till(&t).await;
    let open = issued_on(&t, &till, 100).await;
    let request = UnregisterTerminalRequest {
        context: till.clone(),
    };
    let code = t.code(request.clone()).await;
    assert_eq!(code, 0);
    assert_eq!(t.sandbox().invoice(&open).unwrap().status, "CANCELED");
    assert_eq!(t.send_on(till.clone(), invoice(100)).await.result_code.code(), 29);
    let again = t.code(request).await;
    assert_eq!(again, 29);
}
