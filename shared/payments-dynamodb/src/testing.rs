//! Fresh tables for tests, on either backend the contract tests run against:
//!
//! - [`Backend::Dynoxide`]: an in-process dynoxide server (SQLite in memory) on a loopback port, one fresh
//!   database per call, stopped when the [`TestTable`] is dropped.
//! - [`Backend::DynamoDbLocal`]: AWS's DynamoDB Local, shared by the whole test process, with a uniquely
//!   named table per call. Its endpoint comes from `DYNAMODB_LOCAL_ENDPOINT` (set by `tests/run.sh`).
//!   When that variable is absent, the harness starts a server of its own with
//!   `tests/dynamodb/dynamodb-local.sh` (owned by this process and stopped when it exits). A server that
//!   cannot be started fails the test with the script's output: it is never skipped.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use tokio::sync::oneshot;

use crate::table;

/// The environment variable that names a running DynamoDB Local, e.g. `http://127.0.0.1:8000`.
pub const DYNAMODB_LOCAL_ENDPOINT: &str = "DYNAMODB_LOCAL_ENDPOINT";

/// A DynamoDB implementation the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// dynoxide in-process.
    Dynoxide,
    /// DynamoDB Local (Java).
    DynamoDbLocal,
}

/// A freshly created payments table and a client for it. Dropping it stops an in-process server.
pub struct TestTable {
    /// A client configured for the backend's endpoint.
    pub client: Client,
    /// The table's name.
    pub table_name: String,
    /// The endpoint the client talks to.
    pub endpoint: String,
    _stop: Option<oneshot::Sender<()>>,
}

impl TestTable {
    /// Creates a fresh table on `backend`. Panics, failing the test, when the backend cannot be reached.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Dynoxide => dynoxide_table().await,
            Backend::DynamoDbLocal => dynamodb_local_table().await,
        }
    }
}

/// A client for a local endpoint with static test credentials in `us-east-1`.
pub async fn client_for(endpoint: &str) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "payments-dynamodb-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

/// Starts dynoxide on a fresh in-memory database on `127.0.0.1` (a free port) and creates the table.
pub async fn dynoxide_table() -> TestTable {
    let db = dynoxide::Database::memory().expect("dynoxide opens an in-memory database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
        let _ = stopped.await;
    }));
    let client = client_for(&endpoint).await;
    let table_name = "payments".to_owned();
    table::create_table(&client, &table_name)
        .await
        .expect("create the table on dynoxide");
    TestTable {
        client,
        table_name,
        endpoint,
        _stop: Some(stop),
    }
}

/// Creates a uniquely named table on the shared DynamoDB Local.
pub async fn dynamodb_local_table() -> TestTable {
    let endpoint = dynamodb_local_endpoint();
    let client = client_for(&endpoint).await;
    let table_name = format!("payments-{}", uuid::Uuid::new_v4().simple());
    table::create_table(&client, &table_name)
        .await
        .unwrap_or_else(|e| panic!("create a table on DynamoDB Local at {endpoint}: {e}"));
    TestTable {
        client,
        table_name,
        endpoint,
        _stop: None,
    }
}

/// The DynamoDB Local endpoint: `DYNAMODB_LOCAL_ENDPOINT`, or a server this process starts once.
pub fn dynamodb_local_endpoint() -> String {
    test_support::servers::DYNAMODB_LOCAL.endpoint()
}

/// Domain values for tests: every item type, in every state worth storing. Ids are random, so values from
/// different calls never collide.
pub mod fixtures {
    use std::time::Duration;

    use payments_domain::idempotency::{
        FingerprintBuilder, IdempotencyKey, IdempotencyPolicy, IdempotencyRecord, Operation, StoredOutcome,
    };
    use payments_domain::ids::{
        ErsReference, GlaseTerminalId, InvoiceReference, PaymentId, PeriodId, RefundId, SeqrId, TerminalId,
        Timestamp, TransactionPeriodId,
    };
    use payments_domain::money::{Currency, Money};
    use payments_domain::order::{
        BackUrl, CashierId, DisplayName, Ean, ExternalTerminalId, ItemDescription, MerchantOrderId, Order,
        OrderParts, OrderRow, Quantity, RefundReason, Sku, TaxRate, Title, Unit,
    };
    use payments_domain::payment::{GlaseInvoiceStatus, NewPayment, Observation, Payment, PaymentTerminal};
    use payments_domain::period::{
        Mismatch, MismatchKind, PeriodScope, Reconciliation, ReportDocument, ReportingPeriod,
    };
    use payments_domain::ports::{ConnectionId, PushConnection};
    use payments_domain::refund::{NewRefund, Refund};
    use payments_domain::secret::SecretHash;
    use payments_domain::terminal::Terminal;

    /// 16 random bytes.
    pub fn random() -> [u8; 16] {
        *uuid::Uuid::new_v4().as_bytes()
    }

    /// A random run of digits, for Glase references.
    pub fn digits(count: usize) -> String {
        let mut out = String::new();
        while out.len() < count {
            out.push_str(&uuid::Uuid::new_v4().as_u128().to_string());
        }
        out.truncate(count);
        out
    }

    /// Swedish kronor.
    pub fn sek(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SEK").expect("SEK is supported"))
    }

    /// A point in time, in milliseconds.
    pub fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis)
    }

    /// The current time.
    pub fn now() -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis();
        Timestamp::from_unix_millis(i64::try_from(millis).expect("fits"))
    }

    /// An order of two rows (every optional row field set on the first) summing to `total`.
    pub fn order(total: i64) -> Order {
        let first = total / 2;
        let rows = vec![
            OrderRow {
                description: ItemDescription::parse("Blue mug").unwrap(),
                quantity: Quantity::from_thousandths(2_000).unwrap(),
                unit_price: Some(sek(first / 2)),
                total: sek(first),
                tax_rate: Some(TaxRate::from_basis_points(2_500).unwrap()),
                sku: Some(Sku::parse("MUG-1").unwrap()),
                ean: Some(Ean::parse("7310865004703").unwrap()),
                unit: Some(Unit::parse("pcs").unwrap()),
                discount: Some(sek(0)),
            },
            OrderRow::simple(
                ItemDescription::parse("Shipping").unwrap(),
                Quantity::ONE,
                sek(total - first),
            ),
        ];
        Order::new(OrderParts {
            merchant_order_id: MerchantOrderId::parse(&format!("order-{}", digits(6))).unwrap(),
            title: Title::parse("Webshop order").unwrap(),
            rows,
            total: sek(total),
            cashier_id: Some(CashierId::parse("Anna").unwrap()),
            back_url: Some(BackUrl::parse("https://shop.example/back").unwrap()),
        })
        .expect("the rows sum to the total")
    }

    /// A new pending payment of `total` on the webshop terminal, created at `created_at`, expiring two
    /// minutes later.
    pub fn pending_payment_at(total: i64, created_at: Timestamp) -> Payment {
        Payment::new(NewPayment {
            id: PaymentId::from_random(random()),
            terminal: PaymentTerminal::Webshop,
            order: order(total),
            invoice_reference: InvoiceReference::parse(&digits(13)).unwrap(),
            client_secret_hash: SecretHash::of("client secret"),
            notification_token_hash: SecretHash::of("notification token"),
            created_at,
            expires_at: created_at.plus(Duration::from_secs(120)),
        })
    }

    /// A new pending payment of `total`.
    pub fn pending_payment(total: i64) -> Payment {
        pending_payment_at(total, at(1_700_000_000_000))
    }

    /// A pending payment on a POS terminal.
    pub fn pos_payment(total: i64, terminal: &TerminalId) -> Payment {
        let mut record = pending_payment(total).to_record();
        record.terminal = PaymentTerminal::Pos(terminal.clone());
        record.pos_window_started_at = Some(record.created_at);
        Payment::try_from(record).unwrap()
    }

    /// What Glase says about a payment.
    pub fn observation(status: &str, version: u32, observed_at: Timestamp) -> Observation {
        let paid = status == "PAID";
        Observation {
            status: GlaseInvoiceStatus::from_wire(status),
            version: payments_domain::ids::StatusVersion::new(version),
            ers_reference: paid.then(|| ErsReference::parse(&digits(25)).unwrap()),
            paid_at: paid.then_some(observed_at),
            observed_at,
        }
    }

    /// `payment` after Glase reported it paid (the next revision).
    pub fn paid(payment: &Payment, paid_at: Timestamp) -> Payment {
        payment
            .observe(&observation("PAID", 2, paid_at))
            .1
            .expect("a pending payment becomes paid")
    }

    /// A queued refund of `amount` of `payment`.
    pub fn refund(payment: &Payment, amount: i64) -> Refund {
        Refund::new(NewRefund {
            id: RefundId::from_random(random()),
            payment_id: payment.id().clone(),
            amount: sek(amount),
            reason: RefundReason::parse("Returned item").unwrap(),
            cashier_id: Some(CashierId::parse("Anna").unwrap()),
            created_at: at(1_700_000_100_000),
        })
        .unwrap()
    }

    /// A new active terminal.
    pub fn terminal() -> Terminal {
        Terminal::registered(
            TerminalId::from_random(random()),
            ExternalTerminalId::parse(&format!("till-{}", digits(8))).unwrap(),
            DisplayName::parse("Till 1").unwrap(),
            GlaseTerminalId::parse(&format!("glase-{}", digits(8))).unwrap(),
            at(1_700_000_000_000),
        )
    }

    /// A terminal with a sticker and an open payment.
    pub fn terminal_with_sticker_and_payment() -> Terminal {
        terminal()
            .with_seqr_id(SeqrId::parse("42").unwrap())
            .unwrap()
            .with_open_payment(PaymentId::from_random(random()))
            .unwrap()
    }

    /// A period of a terminal, just marked.
    pub fn period() -> ReportingPeriod {
        ReportingPeriod::marked(
            PeriodId::from_random(random()),
            TransactionPeriodId::parse(&digits(10)).unwrap(),
            PeriodScope::Terminal {
                terminal_id: TerminalId::from_random(random()),
                glase_terminal_id: GlaseTerminalId::parse("glase-1").unwrap(),
            },
            at(1_700_000_200_000),
        )
    }

    /// A report document.
    pub fn document(report_id: &str, content: &str) -> ReportDocument {
        ReportDocument {
            report_id: report_id.to_owned(),
            title: format!("Report {report_id}"),
            mime_type: "text/xml".to_owned(),
            content: content.to_owned(),
        }
    }

    /// A details report of `rows` transactions, as varied as real ones (references, amounts and times
    /// differ row by row), so that it compresses like a real report does.
    pub fn details_report(rows: usize) -> String {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let mut text = String::from("<TransactionDetails>");
        for row in 0..rows {
            text.push_str(&format!(
                "<Transaction><ErsReference>{:017}</ErsReference><TerminalId>till-{}</TerminalId>\
                 <Amount>{}.{:02}</Amount><Currency>SEK</Currency><Time>2026-11-30T{:02}:{:02}:{:02}Z</Time>\
                 <Type>{}</Type><Row>{row}</Row></Transaction>",
                next() * 1_000 + next() % 1_000,
                next() % 8,
                next() % 5_000,
                next() % 100,
                next() % 24,
                next() % 60,
                next() % 60,
                if next() % 5 == 0 { "REFUND" } else { "PAYMENT" },
            ));
        }
        text.push_str("</TransactionDetails>");
        text
    }

    /// A reconciliation with one mismatch of each kind.
    pub fn reconciliation() -> Reconciliation {
        let mismatch = |kind, glase: Option<i64>, ours: Option<i64>| Mismatch {
            kind,
            ers_reference: Some(ErsReference::parse(&digits(25)).unwrap()),
            payment_id: Some(PaymentId::from_random(random())),
            refund_id: None,
            glase_amount: glase.map(sek),
            our_amount: ours.map(sek),
        };
        Reconciliation {
            reconciled_at: at(1_700_000_300_000),
            matched: 7,
            mismatches: vec![
                mismatch(MismatchKind::PaidAtGlaseOnly, Some(100), None),
                mismatch(MismatchKind::PaidWithUsOnly, None, Some(200)),
                mismatch(MismatchKind::AmountDiffers, Some(300), Some(301)),
                Mismatch {
                    kind: MismatchKind::RefundUnknown,
                    ers_reference: None,
                    payment_id: None,
                    refund_id: Some(RefundId::from_random(random())),
                    glase_amount: None,
                    our_amount: None,
                },
            ],
        }
    }

    /// A fresh in-progress idempotency record for `key` created at `now`.
    pub fn idempotency_record(
        operation: Operation,
        key: &str,
        payload: &str,
        now: Timestamp,
    ) -> IdempotencyRecord {
        IdempotencyRecord::start(
            operation,
            IdempotencyKey::parse(key).unwrap(),
            FingerprintBuilder::new(operation)
                .text("payload", payload)
                .finish(),
            now,
            IdempotencyPolicy::default(),
        )
    }

    /// Every completed outcome an idempotency record can hold.
    pub fn outcomes() -> Vec<StoredOutcome> {
        vec![
            StoredOutcome::PaymentCreated {
                payment_id: PaymentId::from_random(random()),
                stored_client_secret: None,
            },
            StoredOutcome::RefundRequested {
                payment_id: PaymentId::from_random(random()),
                refund_id: RefundId::from_random(random()),
            },
            StoredOutcome::TerminalRegistered {
                terminal_id: TerminalId::from_random(random()),
            },
            StoredOutcome::PeriodClosed {
                period_id: PeriodId::from_random(random()),
            },
            StoredOutcome::GlaseRejected {
                code: 49,
                description: "INVALID_PARAMETERS".to_owned(),
            },
            StoredOutcome::OutcomeUnknown,
        ]
    }

    /// A connection to `payment` expiring at `expires_at`.
    pub fn connection(payment: &PaymentId, expires_at: Timestamp) -> PushConnection {
        PushConnection {
            connection_id: ConnectionId::parse(&format!("conn{}=", digits(10))).unwrap(),
            payment_id: payment.clone(),
            expires_at,
        }
    }
}
