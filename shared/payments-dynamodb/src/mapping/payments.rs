//! Payments (with their orders and receipts) ↔ items.

use payments_domain::ids::{ErsReference, InvoiceReference, PaymentId, StatusVersion, TerminalId, Timestamp};
use payments_domain::order::{
    BackUrl, CashierId, Ean, ItemDescription, MerchantOrderId, Order, OrderParts, OrderRow, Quantity, Sku,
    TaxRate, Title, Unit,
};
use payments_domain::payment::{
    Payment, PaymentRecord, PaymentState, PaymentStatus, PaymentTerminal, ReceiptState,
};

use super::{
    WEBSHOP, currency, hash, i32_attr, keyed, millis, money, opt_money, opt_time, revision, time,
    typed_reader, u32_attr,
};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::{Item, Reader, Writer};
use crate::keys::{self, item_type};

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
    let r = typed_reader(item_type::PAYMENT, item)?;
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
