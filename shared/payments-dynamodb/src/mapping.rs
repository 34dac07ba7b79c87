//! Domain entity ↔ DynamoDB item, for every item type. Writing adds the keys and the index entries of
//! [`crate::keys`]; reading checks every attribute and names the one that is wrong.

use payments_domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyState, Operation, StoredOutcome,
};
use payments_domain::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, PaymentId, PeriodId, RefundId, Revision, SeqrId,
    StatusVersion, TerminalId, Timestamp, TransactionPeriodId,
};
use payments_domain::money::{Currency, Money};
use payments_domain::order::{
    BackUrl, CashierId, DisplayName, Ean, ExternalTerminalId, ItemDescription, MerchantOrderId, Order,
    OrderParts, OrderRow, Quantity, RefundReason, Sku, TaxRate, Title, Unit,
};
use payments_domain::payment::{
    Payment, PaymentRecord, PaymentState, PaymentStatus, PaymentTerminal, ReceiptState,
};
use payments_domain::period::{
    Mismatch, MismatchKind, PeriodRecord, PeriodScope, Reconciliation, ReportDocument, ReportingPeriod,
};
use payments_domain::ports::{ConnectionId, PushConnection};
use payments_domain::refund::{Refund, RefundFailure, RefundRecord, RefundState, RefundStatus};
use payments_domain::secret::{ClientSecret, SecretHash};
use payments_domain::terminal::{Terminal, TerminalRecord, TerminalState};

use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::{Item, Reader, Writer};
use crate::keys::{self, Key, item_type};

/// The value of the `terminal` attribute of a payment sent on the webshop terminal.
const WEBSHOP: &str = "webshop";

fn keyed(key: Key, kind: &str) -> Writer {
    Writer::new()
        .string(a::PK, key.pk)
        .string(a::SK, key.sk)
        .string(a::ITEM_TYPE, kind)
}

fn check_type(reader: &Reader<'_>, expected: &str) -> Result<(), DynamoError> {
    let found = reader.string(a::ITEM_TYPE)?;
    if found == expected {
        Ok(())
    } else {
        Err(reader.malformed(a::ITEM_TYPE, format!("is `{found}`, expected `{expected}`")))
    }
}

fn millis(at: Timestamp) -> i64 {
    at.unix_millis()
}

fn time(reader: &Reader<'_>, name: &str) -> Result<Timestamp, DynamoError> {
    reader.i64(name).map(Timestamp::from_unix_millis)
}

fn opt_time(reader: &Reader<'_>, name: &str) -> Result<Option<Timestamp>, DynamoError> {
    Ok(reader.opt_i64(name)?.map(Timestamp::from_unix_millis))
}

fn revision(reader: &Reader<'_>) -> Result<Revision, DynamoError> {
    let value = reader.u64(a::REVISION)?;
    Revision::new(value).ok_or_else(|| reader.malformed(a::REVISION, "is 0"))
}

fn currency(reader: &Reader<'_>) -> Result<Currency, DynamoError> {
    reader.parsed(a::CURRENCY, Currency::parse)
}

fn money(reader: &Reader<'_>, name: &str, currency: Currency) -> Result<Money, DynamoError> {
    Ok(Money::new(reader.i64(name)?, currency))
}

fn opt_money(reader: &Reader<'_>, name: &str, currency: Currency) -> Result<Option<Money>, DynamoError> {
    Ok(reader.opt_i64(name)?.map(|minor| Money::new(minor, currency)))
}

fn u32_attr(reader: &Reader<'_>, name: &str) -> Result<u32, DynamoError> {
    let value = reader.u64(name)?;
    u32::try_from(value).map_err(|_| reader.malformed(name, "is too large"))
}

fn i32_attr(reader: &Reader<'_>, name: &str) -> Result<i32, DynamoError> {
    let value = reader.i64(name)?;
    i32::try_from(value).map_err(|_| reader.malformed(name, "is out of range"))
}

fn hash(reader: &Reader<'_>, name: &str) -> Result<SecretHash, DynamoError> {
    reader.parsed(name, SecretHash::from_hex)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fingerprint(reader: &Reader<'_>) -> Result<Fingerprint, DynamoError> {
    let text = reader.string(a::FINGERPRINT)?;
    let bad = || reader.malformed(a::FINGERPRINT, "is not 64 hexadecimal digits");
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(Fingerprint::from_bytes(bytes))
}

// Orders.

fn order_attrs(mut w: Writer, order: &Order) -> Writer {
    let rows = order
        .rows()
        .iter()
        .map(|row| {
            Writer::new()
                .string(a::ROW_DESCRIPTION, row.description.as_str())
                .number(a::ROW_QUANTITY, row.quantity.thousandths())
                .opt_number(a::ROW_UNIT_PRICE, row.unit_price.map(|m| m.minor_units()))
                .number(a::ROW_TOTAL, row.total.minor_units())
                .opt_number(a::ROW_TAX_RATE, row.tax_rate.map(|t| t.basis_points()))
                .opt_string(a::ROW_SKU, row.sku.as_ref().map(|v| v.as_str()))
                .opt_string(a::ROW_EAN, row.ean.as_ref().map(|v| v.as_str()))
                .opt_string(a::ROW_UNIT, row.unit.as_ref().map(|v| v.as_str()))
                .opt_number(a::ROW_DISCOUNT, row.discount.map(|m| m.minor_units()))
                .build()
        })
        .collect();
    w = w
        .string(a::MERCHANT_ORDER_ID, order.merchant_order_id().as_str())
        .string(a::TITLE, order.title().as_str())
        .string(a::CURRENCY, order.currency().code())
        .number(a::AMOUNT, order.total().minor_units())
        .opt_string(a::CASHIER_ID, order.cashier_id().map(|c| c.as_str()))
        .opt_string(a::BACK_URL, order.back_url().map(|b| b.as_str()))
        .list_of_maps(a::ROWS, rows);
    w
}

fn order_from(r: &Reader<'_>) -> Result<Order, DynamoError> {
    let currency = currency(r)?;
    let rows = r.list_of_maps(a::ROWS, |row| {
        Ok(OrderRow {
            description: row.parsed(a::ROW_DESCRIPTION, ItemDescription::parse)?,
            quantity: Quantity::from_thousandths(row.i64(a::ROW_QUANTITY)?)
                .map_err(|e| row.malformed(a::ROW_QUANTITY, e.to_string()))?,
            unit_price: opt_money(row, a::ROW_UNIT_PRICE, currency)?,
            total: money(row, a::ROW_TOTAL, currency)?,
            tax_rate: match row.opt_i64(a::ROW_TAX_RATE)? {
                Some(bp) => Some(
                    u32::try_from(bp)
                        .ok()
                        .and_then(|bp| TaxRate::from_basis_points(bp).ok())
                        .ok_or_else(|| row.malformed(a::ROW_TAX_RATE, "is not a valid tax rate"))?,
                ),
                None => None,
            },
            sku: row.opt_parsed(a::ROW_SKU, Sku::parse)?,
            ean: row.opt_parsed(a::ROW_EAN, Ean::parse)?,
            unit: row.opt_parsed(a::ROW_UNIT, Unit::parse)?,
            discount: opt_money(row, a::ROW_DISCOUNT, currency)?,
        })
    })?;
    Order::new(OrderParts {
        merchant_order_id: r.parsed(a::MERCHANT_ORDER_ID, MerchantOrderId::parse)?,
        title: r.parsed(a::TITLE, Title::parse)?,
        rows,
        total: money(r, a::AMOUNT, currency)?,
        cashier_id: r.opt_parsed(a::CASHIER_ID, CashierId::parse)?,
        back_url: r.opt_parsed(a::BACK_URL, BackUrl::parse)?,
    })
    .map_err(|e| r.malformed(a::ROWS, format!("do not make a valid order: {e}")))
}

// Payments.

/// The item of a payment, with its index entries: pending payments are in the `check_due` and `expiry`
/// indexes, paid ones in `lookup` (by `ersReference`) and `timeline` (by paid time).
///
/// The `check_due` sort keys are the times from which the sweeps count, so a query bounded by a time
/// answers only due entries, oldest first, and younger entries never take its `limit`:
/// - `PENDING`: the last check, or the creation when the payment was never checked (sendInvoice was
///   its first check); the safety net asks for those before `now - interval`. Items written with a
///   sort time of 0 for a never-checked payment (as tables filled by earlier versions hold) sort first
///   and count as due: the sweep sees them, skips the young ones by their own times, and rewrites each
///   with its real time on the first check, so they cost at most a few places for one interval.
/// - `RECEIPT_DUE`: when the receipt is next due ([`ReceiptState::due_at`]: 0 for a receipt never
///   tried, else the last attempt plus the retry wait). Entries written with the last attempt instead
///   sort at or before their due time; the store drops any not yet due from the answer, and the next
///   attempt rewrites them.
///
/// The `expiry` sort key is the invoice's expiry, which expiry postpones when it cannot cancel a
/// payment now ([`Payment::expiry_postponed`]), so such payments leave the head of the index.
pub fn payment_item(payment: &Payment) -> Item {
    let id = payment.id();
    let mut w = keyed(keys::payment(id), item_type::PAYMENT)
        .string(a::PAYMENT_ID, id.as_str())
        .string(a::INVOICE_REFERENCE, payment.invoice_reference().as_str())
        .string(a::STATUS, payment.status().as_str())
        .number(a::GLASE_VERSION, payment.glase_version().get())
        .opt_number(a::LAST_CHECKED_AT, payment.last_checked_at().map(millis))
        .string(a::CLIENT_SECRET_HASH, payment.client_secret_hash().to_hex())
        .string(
            a::NOTIFICATION_TOKEN_HASH,
            payment.notification_token_hash().to_hex(),
        )
        .opt_string(
            a::NEXT_NOTIFICATION_TOKEN_HASH,
            payment.next_notification_token_hash().map(|h| h.to_hex()),
        )
        .opt_number(a::LAST_NOTIFIED_AT, payment.last_notified_at().map(millis))
        .number(a::CREATED_AT, millis(payment.created_at()))
        .number(a::INVOICE_EXPIRES_AT, millis(payment.expires_at()))
        .number(a::REFUND_RESERVED, payment.refunds().reserved().minor_units())
        .number(a::REFUNDED, payment.refunds().refunded().minor_units())
        .opt_number(
            a::POS_WINDOW_STARTED_AT,
            payment.pos_window_started_at().map(millis),
        )
        .string(a::RECEIPT_STATUS, payment.receipt().as_str())
        .number(a::REVISION, payment.revision().get());
    w = match payment.receipt() {
        ReceiptState::NotDue => w,
        ReceiptState::Pending {
            attempts,
            last_attempt_at,
        } => w
            .number(a::RECEIPT_ATTEMPTS, attempts)
            .opt_number(a::RECEIPT_AT, last_attempt_at.map(millis))
            .string(a::CHECK_PK, keys::RECEIPT_DUE)
            .string(
                a::CHECK_SK,
                keys::timed(
                    payment
                        .receipt()
                        .due_at()
                        .unwrap_or(Timestamp::from_unix_millis(0)),
                    id.as_str(),
                ),
            ),
        ReceiptState::Sent { at } => w.number(a::RECEIPT_AT, millis(at)),
        ReceiptState::Failed { code, at } => w
            .number(a::RECEIPT_AT, millis(at))
            .opt_number(a::RECEIPT_CODE, code),
    };
    w = match payment.terminal() {
        PaymentTerminal::Webshop => w.string(a::TERMINAL_ID, WEBSHOP),
        PaymentTerminal::Pos(terminal) => w.string(a::TERMINAL_ID, terminal.as_str()),
    };
    w = order_attrs(w, payment.order());
    match payment.state() {
        PaymentState::Pending => {
            let due_since = payment.last_checked_at().unwrap_or(payment.created_at());
            w = w
                .string(a::CHECK_PK, keys::PENDING)
                .string(a::CHECK_SK, keys::timed(due_since, id.as_str()))
                .string(a::EXPIRY_PK, keys::PENDING)
                .string(a::EXPIRY_SK, keys::timed(payment.expires_at(), id.as_str()));
        }
        PaymentState::Paid {
            ers_reference,
            paid_at,
        } => {
            w = w
                .string(a::ERS_REFERENCE, ers_reference.as_str())
                .number(a::PAID_AT, millis(*paid_at))
                .string(a::LOOKUP_PK, keys::ers(ers_reference))
                .string(a::LOOKUP_SK, keys::ers_payment())
                .string(a::TIMELINE_PK, keys::PAID)
                .string(a::TIMELINE_SK, keys::timed(*paid_at, id.as_str()));
        }
        PaymentState::Canceled { at } | PaymentState::Failed { at } => {
            w = w.number(a::FINAL_AT, millis(*at));
        }
    }
    w.build()
}

/// Reads a payment item.
pub fn payment_from(item: &Item) -> Result<Payment, DynamoError> {
    let r = Reader::new(item_type::PAYMENT, item);
    check_type(&r, item_type::PAYMENT)?;
    let order = order_from(&r)?;
    let currency = order.currency();
    let status = r.string(a::STATUS)?;
    let state = match PaymentStatus::parse(status) {
        Some(PaymentStatus::Pending) => PaymentState::Pending,
        Some(PaymentStatus::Paid) => PaymentState::Paid {
            ers_reference: r.parsed(a::ERS_REFERENCE, ErsReference::parse)?,
            paid_at: time(&r, a::PAID_AT)?,
        },
        Some(PaymentStatus::Canceled) => PaymentState::Canceled {
            at: time(&r, a::FINAL_AT)?,
        },
        Some(PaymentStatus::Failed) => PaymentState::Failed {
            at: time(&r, a::FINAL_AT)?,
        },
        None => return Err(r.malformed(a::STATUS, format!("`{status}` is not a payment status"))),
    };
    let terminal = match r.string(a::TERMINAL_ID)? {
        WEBSHOP => PaymentTerminal::Webshop,
        _ => PaymentTerminal::Pos(r.parsed(a::TERMINAL_ID, TerminalId::parse)?),
    };
    let record = PaymentRecord {
        id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
        terminal,
        order,
        invoice_reference: r.parsed(a::INVOICE_REFERENCE, InvoiceReference::parse)?,
        state,
        glase_version: StatusVersion::new(u32_attr(&r, a::GLASE_VERSION)?),
        last_checked_at: opt_time(&r, a::LAST_CHECKED_AT)?,
        last_notified_at: opt_time(&r, a::LAST_NOTIFIED_AT)?,
        client_secret_hash: hash(&r, a::CLIENT_SECRET_HASH)?,
        notification_token_hash: hash(&r, a::NOTIFICATION_TOKEN_HASH)?,
        next_notification_token_hash: r
            .opt_string(a::NEXT_NOTIFICATION_TOKEN_HASH)?
            .map(|_| hash(&r, a::NEXT_NOTIFICATION_TOKEN_HASH))
            .transpose()?,
        created_at: time(&r, a::CREATED_AT)?,
        expires_at: time(&r, a::INVOICE_EXPIRES_AT)?,
        refund_reserved: money(&r, a::REFUND_RESERVED, currency)?,
        refunded: money(&r, a::REFUNDED, currency)?,
        pos_window_started_at: opt_time(&r, a::POS_WINDOW_STARTED_AT)?,
        receipt: receipt_from(&r)?,
        revision: revision(&r)?,
    };
    Payment::try_from(record).map_err(|e| r.malformed(a::REFUND_RESERVED, e.to_string()))
}

fn receipt_from(r: &Reader<'_>) -> Result<ReceiptState, DynamoError> {
    Ok(match r.opt_string(a::RECEIPT_STATUS)? {
        None | Some("not_due") => ReceiptState::NotDue,
        Some("pending") => ReceiptState::Pending {
            attempts: u32_attr(r, a::RECEIPT_ATTEMPTS)?,
            last_attempt_at: opt_time(r, a::RECEIPT_AT)?,
        },
        Some("sent") => ReceiptState::Sent {
            at: time(r, a::RECEIPT_AT)?,
        },
        Some("failed") => ReceiptState::Failed {
            code: match r.has(a::RECEIPT_CODE) {
                true => Some(i32_attr(r, a::RECEIPT_CODE)?),
                false => None,
            },
            at: time(r, a::RECEIPT_AT)?,
        },
        Some(other) => {
            return Err(r.malformed(a::RECEIPT_STATUS, format!("`{other}` is not a receipt state")));
        }
    })
}

// Refunds.

/// The item of a refund, in its payment's partition; in `timeline` under its status, and in `lookup`
/// by its own `ersReference` once it succeeded.
pub fn refund_item(refund: &Refund) -> Item {
    let record = refund.to_record();
    let mut w = keyed(keys::refund(&record.payment_id, &record.id), item_type::REFUND)
        .string(a::REFUND_ID, record.id.as_str())
        .string(a::PAYMENT_ID, record.payment_id.as_str())
        .string(a::CURRENCY, record.amount.currency().code())
        .number(a::AMOUNT, record.amount.minor_units())
        .string(a::REASON, record.reason.as_str())
        .opt_string(a::CASHIER_ID, record.cashier_id.as_ref().map(|c| c.as_str()))
        .string(a::STATUS, refund.status().as_str())
        .number(a::ATTEMPTS, record.attempts)
        .number(a::CREATED_AT, millis(record.created_at))
        .number(a::UPDATED_AT, millis(record.updated_at))
        .number(a::REVISION, record.revision.get())
        .string(a::TIMELINE_PK, keys::refunds_in(refund.status()))
        .string(a::TIMELINE_SK, keys::timed(record.updated_at, record.id.as_str()));
    w = match &record.state {
        RefundState::Queued => w,
        RefundState::Sending { since } | RefundState::NeedsReconciliation { since } => {
            w.number(a::STATE_SINCE, millis(*since))
        }
        RefundState::Succeeded { ers_reference, at } => w
            .number(a::STATE_SINCE, millis(*at))
            .string(a::ERS_REFERENCE, ers_reference.as_str())
            .string(a::LOOKUP_PK, keys::ers(ers_reference))
            .string(a::LOOKUP_SK, keys::ers_refund()),
        RefundState::Failed { failure, at } => {
            let w = w.number(a::STATE_SINCE, millis(*at));
            match failure {
                RefundFailure::Rejected { code, description } => w
                    .string(a::FAILURE_KIND, "rejected")
                    .number(a::FAILURE_CODE, *code)
                    .string(a::FAILURE_DESCRIPTION, description.as_str()),
                RefundFailure::AbsentFromReport => w.string(a::FAILURE_KIND, "absent_from_report"),
            }
        }
    };
    w.build()
}

/// Reads a refund item.
pub fn refund_from(item: &Item) -> Result<Refund, DynamoError> {
    let r = Reader::new(item_type::REFUND, item);
    check_type(&r, item_type::REFUND)?;
    let currency = currency(&r)?;
    let status = r.string(a::STATUS)?;
    let state = match RefundStatus::parse(status) {
        Some(RefundStatus::Queued) => RefundState::Queued,
        Some(RefundStatus::Sending) => RefundState::Sending {
            since: time(&r, a::STATE_SINCE)?,
        },
        Some(RefundStatus::NeedsReconciliation) => RefundState::NeedsReconciliation {
            since: time(&r, a::STATE_SINCE)?,
        },
        Some(RefundStatus::Succeeded) => RefundState::Succeeded {
            ers_reference: r.parsed(a::ERS_REFERENCE, ErsReference::parse)?,
            at: time(&r, a::STATE_SINCE)?,
        },
        Some(RefundStatus::Failed) => {
            let failure = match r.string(a::FAILURE_KIND)? {
                "rejected" => RefundFailure::Rejected {
                    code: i32_attr(&r, a::FAILURE_CODE)?,
                    description: r.string(a::FAILURE_DESCRIPTION)?.to_owned(),
                },
                "absent_from_report" => RefundFailure::AbsentFromReport,
                other => return Err(r.malformed(a::FAILURE_KIND, format!("`{other}` is not a failure kind"))),
            };
            RefundState::Failed {
                failure,
                at: time(&r, a::STATE_SINCE)?,
            }
        }
        None => return Err(r.malformed(a::STATUS, format!("`{status}` is not a refund status"))),
    };
    let record = RefundRecord {
        id: r.parsed(a::REFUND_ID, RefundId::parse)?,
        payment_id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
        amount: money(&r, a::AMOUNT, currency)?,
        reason: r.parsed(a::REASON, RefundReason::parse)?,
        cashier_id: r.opt_parsed(a::CASHIER_ID, CashierId::parse)?,
        state,
        attempts: u32_attr(&r, a::ATTEMPTS)?,
        created_at: time(&r, a::CREATED_AT)?,
        updated_at: time(&r, a::UPDATED_AT)?,
        revision: revision(&r)?,
    };
    Refund::try_from(record).map_err(|e| r.malformed(a::AMOUNT, e.to_string()))
}

// Terminals.

/// The item of a terminal, listed in `lookup` under the terminal list by creation time.
pub fn terminal_item(terminal: &Terminal) -> Item {
    let record = terminal.to_record();
    let mut w = keyed(keys::terminal(&record.id), item_type::TERMINAL)
        .string(a::TERMINAL_ID, record.id.as_str())
        .string(a::EXTERNAL_ID, record.external_id.as_str())
        .string(a::NAME, record.name.as_str())
        .string(a::GLASE_TERMINAL_ID, record.glase_terminal_id.as_str())
        .opt_string(a::SEQR_ID, record.seqr_id.as_ref().map(|s| s.as_str()))
        .opt_string(a::OPEN_PAYMENT, record.open_payment.as_ref().map(|p| p.as_str()))
        .number(a::CREATED_AT, millis(record.created_at))
        .number(a::REVISION, record.revision.get())
        .string(a::LOOKUP_PK, keys::TERMINALS)
        .string(a::LOOKUP_SK, keys::timed(record.created_at, record.id.as_str()));
    w = match &record.state {
        TerminalState::Active => w.string(a::STATUS, "active"),
        TerminalState::Unregistered { at } => w
            .string(a::STATUS, "unregistered")
            .number(a::UNREGISTERED_AT, millis(*at)),
    };
    w.build()
}

/// Reads a terminal item.
pub fn terminal_from(item: &Item) -> Result<Terminal, DynamoError> {
    let r = Reader::new(item_type::TERMINAL, item);
    check_type(&r, item_type::TERMINAL)?;
    let state = match r.string(a::STATUS)? {
        "active" => TerminalState::Active,
        "unregistered" => TerminalState::Unregistered {
            at: time(&r, a::UNREGISTERED_AT)?,
        },
        other => return Err(r.malformed(a::STATUS, format!("`{other}` is not a terminal status"))),
    };
    Ok(Terminal::from(TerminalRecord {
        id: r.parsed(a::TERMINAL_ID, TerminalId::parse)?,
        external_id: r.parsed(a::EXTERNAL_ID, ExternalTerminalId::parse)?,
        name: r.parsed(a::NAME, DisplayName::parse)?,
        glase_terminal_id: r.parsed(a::GLASE_TERMINAL_ID, GlaseTerminalId::parse)?,
        seqr_id: r.opt_parsed(a::SEQR_ID, SeqrId::parse)?,
        state,
        open_payment: r.opt_parsed(a::OPEN_PAYMENT, PaymentId::parse)?,
        created_at: time(&r, a::CREATED_AT)?,
        revision: revision(&r)?,
    }))
}

/// The item that reserves a terminal's external id and points at the terminal.
pub fn terminal_external_item(terminal: &Terminal) -> Item {
    keyed(
        keys::terminal_external(terminal.external_id()),
        item_type::TERMINAL_EXTERNAL,
    )
    .string(a::EXTERNAL_ID, terminal.external_id().as_str())
    .string(a::TERMINAL_ID, terminal.id().as_str())
    .build()
}

/// Reads the terminal id from an external-id item.
pub fn terminal_external_from(item: &Item) -> Result<TerminalId, DynamoError> {
    let r = Reader::new(item_type::TERMINAL_EXTERNAL, item);
    check_type(&r, item_type::TERMINAL_EXTERNAL)?;
    r.parsed(a::TERMINAL_ID, TerminalId::parse)
}

// Reporting periods.

/// The most compressed bytes one document item holds. DynamoDB refuses items over 400 KB; a busy shop's
/// details report (about 300 bytes of XML per transaction) passed that as plain text at about 1,300
/// transactions a period (found by the soak), so documents are stored deflate-compressed, in parts.
pub const DOCUMENT_PART_BYTES: usize = 300_000;
/// The most compressed bytes all documents of a period may take: the period is written in one
/// transaction, which DynamoDB limits to 4 MB. Reports compress about tenfold, so this holds the
/// largest report the Glase client accepts (16 MiB).
pub const PERIOD_DOCUMENT_BYTES: usize = 3_600_000;
/// The most a stored document may inflate to: more is a damaged item, not a report.
const DOCUMENT_TEXT_LIMIT: u64 = 64 * 1024 * 1024;

fn deflate(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

fn inflate(reader: &Reader<'_>, compressed: &[u8]) -> Result<String, DynamoError> {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(DOCUMENT_TEXT_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| reader.malformed(a::CONTENT_PART, format!("does not inflate to text: {e}")))?;
    Ok(text)
}

/// The item of a period and the items of its documents' parts (so a period is not bound by the 400 KB
/// item limit). Refused when the documents together are too large for one transaction.
pub fn period_items(period: &ReportingPeriod) -> Result<(Item, Vec<Item>), DynamoError> {
    let record = period.to_record();
    let mut w = keyed(keys::period(&record.id), item_type::PERIOD)
        .string(a::PERIOD_ID, record.id.as_str())
        .string(a::TRANSACTION_PERIOD_ID, record.transaction_period_id.as_str())
        .number(a::MARKED_AT, millis(record.marked_at))
        .number(a::REVISION, record.revision.get())
        .string(a::TIMELINE_PK, keys::periods_of(&record.scope))
        .string(a::TIMELINE_SK, keys::timed(record.marked_at, record.id.as_str()));
    w = match &record.scope {
        PeriodScope::Shop => w.string(a::SCOPE, "shop"),
        PeriodScope::Terminal {
            terminal_id,
            glase_terminal_id,
        } => w
            .string(a::SCOPE, "terminal")
            .string(a::TERMINAL_ID, terminal_id.as_str())
            .string(a::GLASE_TERMINAL_ID, glase_terminal_id.as_str()),
    };
    let compressed: Vec<Vec<u8>> = record.documents.iter().map(|d| deflate(&d.content)).collect();
    let total: usize = compressed.iter().map(Vec::len).sum();
    if total > PERIOD_DOCUMENT_BYTES {
        return Err(DynamoError::Rejected {
            code: "DocumentsTooLarge".to_owned(),
            message: format!(
                "the period's report documents take {total} bytes compressed; at most {PERIOD_DOCUMENT_BYTES} fit"
            ),
        });
    }
    w = w
        .string_list(
            a::DOCUMENT_IDS,
            record.documents.iter().map(|d| d.report_id.clone()).collect(),
        )
        .number_list(
            a::DOCUMENT_PARTS,
            compressed.iter().map(|c| parts_of(c.len()) as u64),
        );
    if let Some(reconciliation) = &record.reconciliation {
        let mismatches = reconciliation
            .mismatches
            .iter()
            .map(|m| {
                let currency = m
                    .glase_amount
                    .or(m.our_amount)
                    .map(|amount| amount.currency().code().to_owned());
                Writer::new()
                    .string(a::MISMATCH_KIND, m.kind.as_str())
                    .opt_string(a::ERS_REFERENCE, m.ers_reference.as_ref().map(|e| e.as_str()))
                    .opt_string(a::PAYMENT_ID, m.payment_id.as_ref().map(|p| p.as_str()))
                    .opt_string(a::REFUND_ID, m.refund_id.as_ref().map(|p| p.as_str()))
                    .opt_string(a::CURRENCY, currency)
                    .opt_number(a::GLASE_AMOUNT, m.glase_amount.map(|m| m.minor_units()))
                    .opt_number(a::OUR_AMOUNT, m.our_amount.map(|m| m.minor_units()))
                    .build()
            })
            .collect();
        w = w
            .number(a::RECONCILED_AT, millis(reconciliation.reconciled_at))
            .number(a::MATCHED, reconciliation.matched)
            .list_of_maps(a::MISMATCHES, mismatches);
    }
    let mut documents = Vec::new();
    for (position, (document, compressed)) in record.documents.iter().zip(&compressed).enumerate() {
        // An empty document has no chunk but still takes one (empty) part.
        let mut chunks = compressed.chunks(DOCUMENT_PART_BYTES);
        for part in 0..parts_of(compressed.len()) {
            let bytes = chunks.next().unwrap_or_default().to_vec();
            documents.push(
                keyed(
                    keys::period_document(&record.id, position, part),
                    item_type::PERIOD_DOCUMENT,
                )
                .string(a::REPORT_ID, document.report_id.as_str())
                .string(a::TITLE, document.title.as_str())
                .string(a::MIME_TYPE, document.mime_type.as_str())
                .number(a::PART, part as u64)
                .binary(a::CONTENT_PART, bytes)
                .build(),
            );
        }
    }
    Ok((w.build(), documents))
}

/// How many items a document of `compressed` bytes takes (an empty one still takes one).
pub fn parts_of(compressed: usize) -> usize {
    compressed.div_ceil(DOCUMENT_PART_BYTES).max(1)
}

/// Reads a period from its item and its document items (in any order; the period item lists them).
pub fn period_from(item: &Item, documents: &[Item]) -> Result<ReportingPeriod, DynamoError> {
    let r = Reader::new(item_type::PERIOD, item);
    check_type(&r, item_type::PERIOD)?;
    let scope = match r.string(a::SCOPE)? {
        "shop" => PeriodScope::Shop,
        "terminal" => PeriodScope::Terminal {
            terminal_id: r.parsed(a::TERMINAL_ID, TerminalId::parse)?,
            glase_terminal_id: r.parsed(a::GLASE_TERMINAL_ID, GlaseTerminalId::parse)?,
        },
        other => return Err(r.malformed(a::SCOPE, format!("`{other}` is not a period scope"))),
    };
    let mut parts = Vec::with_capacity(documents.len());
    for document in documents {
        let d = Reader::new(item_type::PERIOD_DOCUMENT, document);
        check_type(&d, item_type::PERIOD_DOCUMENT)?;
        parts.push((d.string(a::REPORT_ID)?, d.u64(a::PART)?, d));
    }
    let ids = r.string_list(a::DOCUMENT_IDS)?;
    let counts = r.u64_list(a::DOCUMENT_PARTS)?;
    if counts.len() != ids.len() {
        return Err(r.malformed(a::DOCUMENT_PARTS, "does not count the parts of every document"));
    }
    let mut ordered = Vec::with_capacity(ids.len());
    for (id, count) in ids.iter().zip(counts) {
        let mut compressed = Vec::new();
        let mut first = None;
        for part in 0..count {
            let (_, _, d) = parts
                .iter()
                .find(|(report_id, n, _)| report_id == id && *n == part)
                .ok_or_else(|| {
                    r.malformed(
                        a::DOCUMENT_IDS,
                        format!("names document `{id}`, whose part {part} is missing"),
                    )
                })?;
            compressed.extend_from_slice(d.binary(a::CONTENT_PART)?);
            first.get_or_insert(d);
        }
        let d = first.ok_or_else(|| r.malformed(a::DOCUMENT_PARTS, format!("gives `{id}` no parts")))?;
        ordered.push(ReportDocument {
            report_id: id.clone(),
            title: d.string(a::TITLE)?.to_owned(),
            mime_type: d.string(a::MIME_TYPE)?.to_owned(),
            content: inflate(d, &compressed)?,
        });
    }
    let reconciliation = match opt_time(&r, a::RECONCILED_AT)? {
        None => None,
        Some(reconciled_at) => Some(Reconciliation {
            reconciled_at,
            matched: u32_attr(&r, a::MATCHED)?,
            mismatches: r.list_of_maps(a::MISMATCHES, |m| {
                let kind = m.string(a::MISMATCH_KIND)?;
                let kind = MismatchKind::parse(kind).ok_or_else(|| {
                    m.malformed(a::MISMATCH_KIND, format!("`{kind}` is not a mismatch kind"))
                })?;
                let currency = m.opt_parsed(a::CURRENCY, Currency::parse)?;
                let amount = |name: &str| -> Result<Option<Money>, DynamoError> {
                    match (m.opt_i64(name)?, currency) {
                        (None, _) => Ok(None),
                        (Some(minor), Some(currency)) => Ok(Some(Money::new(minor, currency))),
                        (Some(_), None) => Err(m.malformed(a::CURRENCY, "is missing")),
                    }
                };
                Ok(Mismatch {
                    kind,
                    ers_reference: m.opt_parsed(a::ERS_REFERENCE, ErsReference::parse)?,
                    payment_id: m.opt_parsed(a::PAYMENT_ID, PaymentId::parse)?,
                    refund_id: m.opt_parsed(a::REFUND_ID, RefundId::parse)?,
                    glase_amount: amount(a::GLASE_AMOUNT)?,
                    our_amount: amount(a::OUR_AMOUNT)?,
                })
            })?,
        }),
    };
    Ok(ReportingPeriod::from(PeriodRecord {
        id: r.parsed(a::PERIOD_ID, PeriodId::parse)?,
        transaction_period_id: r.parsed(a::TRANSACTION_PERIOD_ID, TransactionPeriodId::parse)?,
        scope,
        marked_at: time(&r, a::MARKED_AT)?,
        documents: ordered,
        reconciliation,
        revision: revision(&r)?,
    }))
}

// Idempotency records.

/// The item of an idempotency record, with the TTL attribute (epoch seconds) at its expiry.
pub fn idempotency_item(record: &IdempotencyRecord) -> Item {
    let mut w = keyed(
        keys::idempotency(record.operation, &record.key),
        item_type::IDEMPOTENCY,
    )
    .string(a::OPERATION, record.operation.as_str())
    .string(a::IDEMPOTENCY_KEY, record.key.as_str())
    .string(a::FINGERPRINT, hex(record.fingerprint.as_bytes()))
    .number(a::CREATED_AT, millis(record.created_at))
    .number(a::EXPIRES_AT, ttl_seconds(record.expires_at))
    .number(a::EXPIRES_AT_MS, millis(record.expires_at))
    .number(a::REVISION, record.revision.get());
    w = match &record.state {
        IdempotencyState::InProgress { lease_expires_at } => w
            .string(a::STATUS, "in_progress")
            .number(a::LEASE_EXPIRES_AT, millis(*lease_expires_at)),
        IdempotencyState::Completed { outcome } => {
            let w = w.string(a::STATUS, "completed");
            match outcome {
                // The client secret is never written, not even one read from an earlier record: a
                // replay derives it from the payment id.
                StoredOutcome::PaymentCreated { payment_id, .. } => w
                    .string(a::OUTCOME, "payment_created")
                    .string(a::PAYMENT_ID, payment_id.as_str()),
                StoredOutcome::RefundRequested {
                    payment_id,
                    refund_id,
                } => w
                    .string(a::OUTCOME, "refund_requested")
                    .string(a::PAYMENT_ID, payment_id.as_str())
                    .string(a::REFUND_ID, refund_id.as_str()),
                StoredOutcome::TerminalRegistered { terminal_id } => w
                    .string(a::OUTCOME, "terminal_registered")
                    .string(a::TERMINAL_ID, terminal_id.as_str()),
                StoredOutcome::PeriodClosed { period_id } => w
                    .string(a::OUTCOME, "period_closed")
                    .string(a::PERIOD_ID, period_id.as_str()),
                StoredOutcome::GlaseRejected { code, description } => w
                    .string(a::OUTCOME, "glase_rejected")
                    .number(a::RESULT_CODE, *code)
                    .string(a::RESULT_DESCRIPTION, description.as_str()),
                StoredOutcome::OutcomeUnknown => w.string(a::OUTCOME, "outcome_unknown"),
            }
        }
    };
    w.build()
}

/// Reads an idempotency record item.
pub fn idempotency_from(item: &Item) -> Result<IdempotencyRecord, DynamoError> {
    let r = Reader::new(item_type::IDEMPOTENCY, item);
    check_type(&r, item_type::IDEMPOTENCY)?;
    let operation = r.string(a::OPERATION)?;
    let operation = Operation::parse(operation)
        .ok_or_else(|| r.malformed(a::OPERATION, format!("`{operation}` is not an operation")))?;
    let state = match r.string(a::STATUS)? {
        "in_progress" => IdempotencyState::InProgress {
            lease_expires_at: time(&r, a::LEASE_EXPIRES_AT)?,
        },
        "completed" => IdempotencyState::Completed {
            outcome: match r.string(a::OUTCOME)? {
                "payment_created" => StoredOutcome::PaymentCreated {
                    payment_id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
                    stored_client_secret: r.opt_parsed(a::CLIENT_SECRET, ClientSecret::parse)?,
                },
                "refund_requested" => StoredOutcome::RefundRequested {
                    payment_id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
                    refund_id: r.parsed(a::REFUND_ID, RefundId::parse)?,
                },
                "terminal_registered" => StoredOutcome::TerminalRegistered {
                    terminal_id: r.parsed(a::TERMINAL_ID, TerminalId::parse)?,
                },
                "period_closed" => StoredOutcome::PeriodClosed {
                    period_id: r.parsed(a::PERIOD_ID, PeriodId::parse)?,
                },
                "glase_rejected" => StoredOutcome::GlaseRejected {
                    code: i32_attr(&r, a::RESULT_CODE)?,
                    description: r.string(a::RESULT_DESCRIPTION)?.to_owned(),
                },
                "outcome_unknown" => StoredOutcome::OutcomeUnknown,
                other => return Err(r.malformed(a::OUTCOME, format!("`{other}` is not an outcome"))),
            },
        },
        other => return Err(r.malformed(a::STATUS, format!("`{other}` is not an idempotency status"))),
    };
    Ok(IdempotencyRecord {
        operation,
        key: r.parsed(a::IDEMPOTENCY_KEY, IdempotencyKey::parse)?,
        fingerprint: fingerprint(&r)?,
        state,
        created_at: time(&r, a::CREATED_AT)?,
        expires_at: time(&r, a::EXPIRES_AT_MS)?,
        revision: revision(&r)?,
    })
}

/// The TTL value of an expiry: epoch seconds, rounded up so TTL never removes an item early.
fn ttl_seconds(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(1000) + i64::from(at.unix_millis().rem_euclid(1000) != 0)
}

// Connections.

/// The item of a WebSocket connection, found by payment through `lookup`, removed by TTL at its expiry.
pub fn connection_item(connection: &PushConnection) -> Item {
    keyed(keys::connection(&connection.connection_id), item_type::CONNECTION)
        .string(a::CONNECTION_ID, connection.connection_id.as_str())
        .string(a::PAYMENT_ID, connection.payment_id.as_str())
        .number(a::EXPIRES_AT, ttl_seconds(connection.expires_at))
        .number(a::EXPIRES_AT_MS, millis(connection.expires_at))
        .string(a::LOOKUP_PK, keys::connections_of(&connection.payment_id))
        .string(a::LOOKUP_SK, connection.connection_id.as_str())
        .build()
}

/// Reads a connection item.
pub fn connection_from(item: &Item) -> Result<PushConnection, DynamoError> {
    let r = Reader::new(item_type::CONNECTION, item);
    check_type(&r, item_type::CONNECTION)?;
    Ok(PushConnection {
        connection_id: r.parsed(a::CONNECTION_ID, ConnectionId::parse)?,
        payment_id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
        expires_at: time(&r, a::EXPIRES_AT_MS)?,
    })
}
