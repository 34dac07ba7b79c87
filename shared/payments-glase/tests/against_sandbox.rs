//! The gateway against the Glase sandbox over real SOAP on loopback: every port operation, the
//! domain's view of the answers, and the credentials it derives.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use glase_protocol::{GlaseClient, GlaseClientConfig};
use glase_sandbox::{SandboxConfig, SandboxHandle};
use payments_domain::ids::{ErsReference, InvoiceReference, PaymentId, StatusVersion, TerminalId, Timestamp};
use payments_domain::money::{Currency, Money};
use payments_domain::order::{
    DisplayName, ExternalTerminalId, ItemDescription, MerchantOrderId, Order, OrderParts, OrderRow, Quantity,
    RefundReason, Title,
};
use payments_domain::payment::{GlaseInvoiceStatus, Observation};
use payments_domain::period::PeriodScope;
use payments_domain::ports::{
    Clock, GlaseError, GlaseGateway, GlaseTerminal, Invoice, NotificationUrl, ReceiptDocument, RefundInvoice,
    ReportRequest,
};
use payments_domain::secret::NotificationToken;
use payments_glase::{GlaseSettings, ProtocolGateway};
use secrecy::{ExposeSecret, SecretString};

#[derive(Clone, Default)]
struct FixedClock(Arc<AtomicI64>);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}

struct Fixture {
    sandbox: SandboxHandle,
    gateway: ProtocolGateway<FixedClock>,
    /// The notification URL of a receiver that answers 200 for as long as the fixture lives.
    notify: String,
    _receiver: tokio::task::JoinHandle<()>,
}

impl Fixture {
    /// The webshop invoice's status as first read (from the initial version).
    async fn webshop_status(&self, reference: &InvoiceReference) -> Observation {
        self.gateway
            .payment_status(&GlaseTerminal::Webshop, reference, StatusVersion::INITIAL)
            .await
            .unwrap()
    }

    /// Sends an invoice of `total` on the webshop terminal that notifies the fixture's receiver.
    async fn send_webshop(&self, total: i64) -> InvoiceReference {
        self.gateway
            .send_invoice(&GlaseTerminal::Webshop, &invoice(total, &self.notify))
            .await
            .unwrap()
    }
}

/// Asserts that a call ends in a rejection with result code `code`.
fn assert_rejected<T: std::fmt::Debug>(result: Result<T, GlaseError>, code: i32) {
    assert_eq!(result.unwrap_err().code(), Some(code));
}

async fn fixture() -> Fixture {
    let config = SandboxConfig {
        report_delay_ms: 0,
        ..SandboxConfig::default()
    };
    let sandbox = glase_sandbox::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let settings = GlaseSettings::sandbox("a master secret for terminal passwords");
    let client = GlaseClient::new(GlaseClientConfig::new(sandbox.soap_endpoint_url())).unwrap();
    let clock = FixedClock(Arc::new(AtomicI64::new(1_763_800_000_000)));
    let (notify, receiver) = receiver().await;
    Fixture {
        sandbox,
        gateway: ProtocolGateway::new(client, settings, clock),
        notify,
        _receiver: receiver,
    }
}

fn sek(minor: i64) -> Money {
    Money::new(minor, Currency::parse("SEK").unwrap())
}

fn order(total: i64) -> Order {
    Order::new(OrderParts {
        merchant_order_id: MerchantOrderId::parse("order-42").unwrap(),
        title: Title::parse("Order 42").unwrap(),
        rows: vec![
            OrderRow::simple(
                ItemDescription::parse("Coffee").unwrap(),
                Quantity::whole(2).unwrap(),
                sek(total - 500),
            ),
            OrderRow::simple(
                ItemDescription::parse("Cake").unwrap(),
                Quantity::whole(1).unwrap(),
                sek(500),
            ),
        ],
        total: sek(total),
        cashier_id: None,
        back_url: None,
    })
    .unwrap()
}

fn invoice(total: i64, notify_to: &str) -> Invoice {
    let id = PaymentId::from_random([7; 16]);
    let token = NotificationToken::from_random([9; 16]);
    Invoice {
        order: order(total),
        notification_url: NotificationUrl::new(notify_to, &id, &token),
        issued_at: Timestamp::from_unix_millis(1_763_800_000_000),
    }
}

/// A notification receiver that records nothing and answers 200, so notifications succeed.
async fn receiver() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn an_invoice_is_sent_paid_observed_and_refunded() {
    let f = fixture().await;
    let reference = f.send_webshop(12_550).await;

    let issued = f.webshop_status(&reference).await;
    assert_eq!(issued.status, GlaseInvoiceStatus::Issued);
    assert_eq!(issued.ers_reference, None);

    let stored = f.sandbox.sandbox().invoice(reference.as_str()).unwrap();
    assert_eq!(stored.amount_minor, 12_550);
    f.sandbox.sandbox().pay_invoice(reference.as_str()).unwrap();

    let paid = f
        .gateway
        .payment_status(&GlaseTerminal::Webshop, &reference, issued.version)
        .await
        .unwrap();
    assert_eq!(paid.status, GlaseInvoiceStatus::Paid);
    assert!(paid.version.get() > issued.version.get());
    let ers = paid
        .ers_reference
        .clone()
        .expect("a paid observation carries the ersReference");
    assert_eq!(paid.observed_at, Timestamp::from_unix_millis(1_763_800_000_000));
    assert!(paid.paid_at.is_some());

    let refund = RefundInvoice {
        reason: RefundReason::parse("Returned cake").unwrap(),
        amount: sek(500),
        cashier_id: None,
        rows: Vec::new(),
        issued_at: Timestamp::from_unix_millis(1_763_800_100_000),
    };
    let refund_ref = f
        .gateway
        .refund_payment(&GlaseTerminal::Webshop, &ers, &refund)
        .await
        .unwrap();
    assert_ne!(refund_ref, ers, "a refund has its own ersReference");

    let too_much = RefundInvoice {
        amount: sek(12_100),
        ..refund
    };
    assert_rejected(
        f.gateway
            .refund_payment(&GlaseTerminal::Webshop, &ers, &too_much)
            .await,
        98,
    );
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn cancel_and_update_reach_glase_and_rejections_keep_their_code() {
    let f = fixture().await;
    let reference = f.send_webshop(1_000).await;
    f.gateway
        .update_invoice(&GlaseTerminal::Webshop, &reference, &invoice(2_000, &f.notify))
        .await
        .unwrap();
    assert_eq!(
        f.sandbox
            .sandbox()
            .invoice(reference.as_str())
            .unwrap()
            .amount_minor,
        2_000
    );

    f.gateway
        .cancel_invoice(&GlaseTerminal::Webshop, &reference)
        .await
        .unwrap();
    let seen = f.webshop_status(&reference).await;
    assert_eq!(seen.status, GlaseInvoiceStatus::Canceled);
    assert_eq!(
        f.gateway
            .cancel_invoice(&GlaseTerminal::Webshop, &reference)
            .await
            .unwrap_err(),
        GlaseError::Rejected {
            code: 95,
            description: "INVOICE_ALREADY_CANCELED".into()
        }
    );
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_pos_terminal_is_registered_with_a_derived_password_and_takes_sticker_payments() {
    let f = fixture().await;
    let ours = TerminalId::from_random([3; 16]);
    let glase_id = f
        .gateway
        .register_terminal(
            &ours,
            &ExternalTerminalId::parse("Store 1/Till 4").unwrap(),
            &DisplayName::parse("Till 4").unwrap(),
        )
        .await
        .unwrap();
    let till = GlaseTerminal::Pos {
        terminal_id: ours.clone(),
        glase_terminal_id: glase_id.clone(),
    };
    f.gateway
        .assign_seqr_id(&till, &payments_domain::ids::SeqrId::parse("4711").unwrap())
        .await
        .unwrap();

    let reference = f
        .gateway
        .send_invoice(&till, &invoice(3_000, &f.notify))
        .await
        .unwrap();
    f.sandbox.sandbox().pay_sticker("4711").unwrap();
    let paid = f
        .gateway
        .payment_status(&till, &reference, StatusVersion::INITIAL)
        .await
        .unwrap();
    assert_eq!(paid.status, GlaseInvoiceStatus::Paid);
    let ers = paid.ers_reference.unwrap();

    let receipt = ReceiptDocument {
        mime_type: "text/plain".into(),
        receipt_type: "PAYMENT_RECEIPT".into(),
        data: b"Glase payment 30.00 SEK".to_vec(),
    };
    f.gateway.submit_receipt(&till, &ers, &receipt).await.unwrap();

    // Another id under the same master secret derives another password: Glase refuses it.
    let impostor = GlaseTerminal::Pos {
        terminal_id: TerminalId::from_random([4; 16]),
        glase_terminal_id: glase_id.clone(),
    };
    assert_rejected(
        f.gateway.send_invoice(&impostor, &invoice(100, &f.notify)).await,
        20,
    );

    f.gateway.unregister_terminal(&till).await.unwrap();
    assert_rejected(f.gateway.send_invoice(&till, &invoice(100, &f.notify)).await, 29);
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_period_is_marked_and_its_reports_fetched() {
    let f = fixture().await;
    let reference = f.send_webshop(4_200).await;
    f.sandbox.sandbox().pay_invoice(reference.as_str()).unwrap();
    let paid = f.webshop_status(&reference).await;
    let ers: ErsReference = paid.ers_reference.unwrap();

    let period = f.gateway.mark_period(&PeriodScope::Shop).await.unwrap();
    let details = f
        .gateway
        .execute_report(&ReportRequest {
            report_id: "Reconciliation/STD_RECON_003.xml".into(),
            transaction_period_id: period.clone(),
            scope: PeriodScope::Shop,
        })
        .await
        .unwrap();
    assert!(
        details.document.content.contains(ers.as_str()),
        "the details report lists the payment"
    );
    assert!(
        details.document.content.contains("42.00000"),
        "amounts carry five decimals"
    );
    assert_eq!(details.document.report_id, "Reconciliation/STD_RECON_003.xml");
    // The sandbox's own document, read into rows: the payment with its exact amount, no cashier.
    assert_eq!(details.transactions.len(), 1);
    assert_eq!(details.transactions[0].ers_reference, ers);
    assert_eq!(details.transactions[0].hundredths, 4_200);
    assert_eq!(
        details.transactions[0].currency, None,
        "details rows name no currency"
    );
    assert_eq!(details.transactions[0].cashier, None);
    let summary = f
        .gateway
        .execute_report(&ReportRequest {
            report_id: "Reconciliation/Shop.xml".into(),
            transaction_period_id: period.clone(),
            scope: PeriodScope::Shop,
        })
        .await
        .unwrap();
    assert!(summary.transactions.is_empty());
    assert!(summary.document.content.contains("<SalesCount>1</SalesCount>"));
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_glase_is_unavailable_not_unknown() {
    // Bind and drop a listener to find a loopback port with nothing behind it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = GlaseClientConfig::new(format!("http://127.0.0.1:{port}/extclientproxy/service/v2"));
    config.connect_timeout = Duration::from_millis(200);
    let client = GlaseClient::new(config).unwrap();
    let gateway = ProtocolGateway::new(client, GlaseSettings::sandbox("m"), FixedClock::default());
    let err = gateway
        .send_invoice(&GlaseTerminal::Webshop, &invoice(100, "http://127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(matches!(err, GlaseError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_wrong_password_is_rejected_without_showing_it_in_the_error() {
    let f = fixture().await;
    let err = ProtocolGateway::new(
        GlaseClient::new(GlaseClientConfig::new(f.sandbox.soap_endpoint_url())).unwrap(),
        GlaseSettings {
            webshop_password: SecretString::from("wrong-password-123"),
            ..GlaseSettings::sandbox("m")
        },
        FixedClock::default(),
    )
    .cancel_invoice(
        &GlaseTerminal::Webshop,
        &payments_domain::ids::InvoiceReference::parse("1").unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some(20));
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains("wrong-password-123"));
    f.sandbox.shutdown().await;
}

#[test]
fn the_sandbox_settings_are_the_accounts_a_default_sandbox_has() {
    let accounts = SandboxConfig::default();
    let webshop = &accounts.webshop_terminals[0];
    let settings = GlaseSettings::sandbox("m");
    assert_eq!(settings.webshop_terminal_id, webshop.terminal_id);
    assert_eq!(settings.webshop_password.expose_secret(), webshop.password);
    assert_eq!(settings.reseller_id, accounts.reseller.id);
    assert_eq!(settings.reseller_user_id, accounts.reseller.user_id);
    assert_eq!(
        settings.reseller_password.expose_secret(),
        accounts.reseller.password
    );
    assert_eq!(settings.terminal_password_secret.expose_secret(), "m");
}
