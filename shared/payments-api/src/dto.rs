//! The JSON bodies of the v1 API and their conversion to and from domain types.
//!
//! Request bodies are parsed strictly (`deny_unknown_fields`) and converted into domain values with
//! the domain's own checks; the first problem found becomes a 400 naming the field. Numbers that are
//! not amounts (quantity, tax rate) are read from their decimal text, never computed as floats.

use payments_domain::idempotency::{Fingerprint, FingerprintBuilder, Operation};
use payments_domain::ids::{PaymentId, TerminalId, Timestamp};
use payments_domain::money::{Currency, Money};
use payments_domain::order::{
    BackUrl, CashierId, Ean, ItemDescription, MerchantOrderId, Order, OrderError, OrderParts, OrderRow,
    Quantity, RefundReason, Sku, TaxRate, Title, Unit,
};
use payments_domain::payment::{Payment, PaymentTerminal};
use payments_domain::pos::{PosView, pos_view};
use payments_domain::refund::{Refund, RefundFailure, RefundState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;

/// A row of an order, as the API takes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RowBody {
    /// The item text.
    pub description: String,
    /// How many; defaults to 1; at most three decimals.
    pub quantity: Option<serde_json::Number>,
    /// The unit price in minor units.
    pub unit_price: Option<i64>,
    /// The row total in minor units.
    pub total: i64,
    /// VAT percent, at most two decimals.
    pub tax_rate: Option<serde_json::Number>,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// EAN.
    pub ean: Option<String>,
    /// Unit of the quantity.
    pub unit: Option<String>,
    /// Discount in minor units.
    pub discount: Option<i64>,
}

/// `POST /v1/payments`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentBody {
    /// The merchant's order id.
    pub order_id: String,
    /// The title shown on the phone; defaults to the order id.
    pub title: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// The total in minor units.
    pub total: i64,
    /// The rows; without them one row carries the whole total.
    pub rows: Option<Vec<RowBody>>,
    /// The cashier.
    pub cashier_id: Option<String>,
    /// Where the app returns a shopper who paid from the same phone.
    pub back_url: Option<String>,
    /// A POS terminal; without it the webshop terminal.
    pub terminal_id: Option<String>,
}

/// `PATCH /v1/payments/{id}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentBody {
    /// A new title.
    pub title: Option<String>,
    /// The new total in minor units.
    pub total: i64,
    /// The new rows.
    pub rows: Option<Vec<RowBody>>,
}

/// A refused order as a 400 naming the field at fault (`total`, `rows`, `rows[2].quantity`...).
fn order_error(error: &OrderError) -> ApiError {
    let field = match error {
        OrderError::TotalNotPositive { .. } | OrderError::AmountTooLarge { row: None, .. } => {
            "total".to_owned()
        }
        OrderError::AmountTooLarge {
            row: Some(row),
            field,
            ..
        } => format!("rows[{row}].{field}"),
        OrderError::CurrencyMismatch { row, field, .. } => format!("rows[{row}].{}", field.replace(' ', "_")),
        OrderError::NegativeDiscount { row } => format!("rows[{row}].discount"),
        OrderError::QuantityOutOfRange { row, .. } => format!("rows[{row}].quantity"),
        _ => "rows".to_owned(),
    };
    ApiError::invalid_field(field, error.to_string())
}

/// Builds a new order from a request: [`Order::new`]'s rules and the limits of new orders.
fn new_order(parts: OrderParts) -> Result<Order, ApiError> {
    let order = Order::new(parts).map_err(|e| order_error(&e))?;
    order.check_limits().map_err(|e| order_error(&e))?;
    Ok(order)
}

fn field<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid_field(name, e.to_string()))
}

/// `raw` parsed with `parse` when present; a failure is a 400 naming the field `name`.
fn optional_field<T, E: std::fmt::Display>(
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    field(name, raw.map(parse).transpose())
}

/// Reads a JSON number's decimal text as an integer of `10^-scale` units; refuses more decimals.
fn scaled(name: &str, n: &serde_json::Number, scale: u32) -> Result<i64, ApiError> {
    let text = n.to_string();
    let bad = || {
        ApiError::invalid_field(
            name,
            format!("must be a decimal number with at most {scale} decimals"),
        )
    };
    if text.contains(['e', 'E']) {
        return Err(bad());
    }
    let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(bad());
    }
    let negative = int.starts_with('-');
    let int: i64 = int.trim_start_matches('-').parse().map_err(|_| bad())?;
    let mut frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    for _ in frac.len()..scale as usize {
        frac_value = frac_value.checked_mul(10).ok_or_else(bad)?;
    }
    let value = int
        .checked_mul(10i64.pow(scale))
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(bad)?;
    Ok(if negative { -value } else { value })
}

fn row(i: usize, body: &RowBody, currency: Currency) -> Result<OrderRow, ApiError> {
    let f = |name: &str| format!("rows[{i}].{name}");
    let quantity = match &body.quantity {
        None => Quantity::ONE,
        Some(n) => field(
            &f("quantity"),
            Quantity::from_thousandths(scaled(&f("quantity"), n, 3)?),
        )?,
    };
    let tax_rate = match &body.tax_rate {
        None => None,
        Some(n) => {
            let bp = scaled(&f("tax_rate"), n, 2)?;
            let bp =
                u32::try_from(bp).map_err(|_| ApiError::invalid_field(f("tax_rate"), "must be 0 to 100"))?;
            Some(field(&f("tax_rate"), TaxRate::from_basis_points(bp))?)
        }
    };
    Ok(OrderRow {
        description: field(&f("description"), ItemDescription::parse(&body.description))?,
        quantity,
        unit_price: body.unit_price.map(|m| Money::new(m, currency)),
        total: Money::new(body.total, currency),
        tax_rate,
        sku: optional_field(&f("sku"), body.sku.as_deref(), Sku::parse)?,
        ean: optional_field(&f("ean"), body.ean.as_deref(), Ean::parse)?,
        unit: optional_field(&f("unit"), body.unit.as_deref(), Unit::parse)?,
        discount: body.discount.map(|m| Money::new(m, currency)),
    })
}

fn rows(bodies: Option<&[RowBody]>, title: &Title, total: Money) -> Result<Vec<OrderRow>, ApiError> {
    match bodies {
        None | Some([]) => Ok(vec![OrderRow::simple(
            field("title", ItemDescription::parse(title.as_str()))?,
            Quantity::ONE,
            total,
        )]),
        Some(list) => {
            if list.len() > Order::MAX_ROWS {
                return Err(ApiError::invalid_field(
                    "rows",
                    format!("at most {} rows are allowed", Order::MAX_ROWS),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, r)| row(i, r, total.currency()))
                .collect()
        }
    }
}

/// `POST /v1/payments/{id}/refunds`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundBody {
    /// The amount in the payment's minor units.
    pub amount: i64,
    /// Why; the refund invoice's title (default "Refund").
    pub reason: Option<String>,
    /// The cashier.
    pub cashier_id: Option<String>,
}

impl CreateRefundBody {
    /// The checked parts: amount, reason, cashier, and the fingerprint for idempotency. The fingerprint
    /// covers the refunded payment as well as the body, so an Idempotency-Key used on one payment is a
    /// conflict on any other.
    pub fn into_parts(
        self,
        payment: &PaymentId,
    ) -> Result<(i64, RefundReason, Option<CashierId>, Fingerprint), ApiError> {
        let fingerprint = FingerprintBuilder::new(Operation::RequestRefund)
            .text("payment_id", payment.as_str())
            .text("body", &serde_json::to_string(&self).unwrap_or_default())
            .finish();
        if self.amount <= 0 {
            return Err(ApiError::invalid_field("amount", "must be greater than zero"));
        }
        if self.amount > Order::MAX_AMOUNT_MINOR {
            return Err(ApiError::invalid_field(
                "amount",
                format!("must be at most {} minor units", Order::MAX_AMOUNT_MINOR),
            ));
        }
        let reason = field(
            "reason",
            RefundReason::parse(self.reason.as_deref().unwrap_or("Refund")),
        )?;
        let cashier = optional_field("cashier_id", self.cashier_id.as_deref(), CashierId::parse)?;
        Ok((self.amount, reason, cashier, fingerprint))
    }
}

/// What a create request asks for, in domain terms.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The order.
    pub order: Order,
    /// The POS terminal, if any.
    pub terminal: Option<TerminalId>,
    /// The request's fingerprint for idempotency.
    pub fingerprint: Fingerprint,
}

impl CreatePaymentBody {
    /// Converts the body, checking every field.
    pub fn into_domain(self) -> Result<CreateRequest, ApiError> {
        let fingerprint = FingerprintBuilder::new(Operation::CreatePayment)
            .text("body", &serde_json::to_string(&self).unwrap_or_default())
            .finish();
        let currency = field("currency", Currency::parse(&self.currency))?;
        let total = Money::new(self.total, currency);
        let order_id = field("order_id", MerchantOrderId::parse(&self.order_id))?;
        let title = field(
            "title",
            Title::parse(self.title.as_deref().unwrap_or(&self.order_id)),
        )?;
        let rows = rows(self.rows.as_deref(), &title, total)?;
        let order = new_order(OrderParts {
            merchant_order_id: order_id,
            title,
            rows,
            total,
            cashier_id: optional_field("cashier_id", self.cashier_id.as_deref(), CashierId::parse)?,
            back_url: optional_field("back_url", self.back_url.as_deref(), BackUrl::parse)?,
        })?;
        let terminal = optional_field("terminal_id", self.terminal_id.as_deref(), TerminalId::parse)?;
        Ok(CreateRequest {
            order,
            terminal,
            fingerprint,
        })
    }
}

impl UpdatePaymentBody {
    /// The new order of `payment`, checked.
    pub fn into_order(self, current: &Order) -> Result<Order, ApiError> {
        let total = Money::new(self.total, current.currency());
        let title = match &self.title {
            Some(t) => field("title", Title::parse(t))?,
            None => current.title().clone(),
        };
        let rows = rows(self.rows.as_deref(), &title, total)?;
        let mut parts = current.to_parts();
        parts.title = title;
        parts.rows = rows;
        parts.total = total;
        new_order(parts)
    }
}

/// RFC 3339 text of a timestamp.
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_millis()) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A refund as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RefundDto {
    /// Id.
    pub id: String,
    /// The payment.
    pub payment_id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Status.
    pub status: &'static str,
    /// Reason.
    pub reason: String,
    /// Glase's refund reference, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ers_reference: Option<String>,
    /// Glase's result code, when it refused the refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<i32>,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<&Refund> for RefundDto {
    fn from(r: &Refund) -> Self {
        Self {
            id: r.id().as_str().to_owned(),
            payment_id: r.payment_id().as_str().to_owned(),
            amount: r.amount().minor_units(),
            currency: r.amount().currency().code().to_owned(),
            status: r.status().as_str(),
            reason: r.reason().as_str().to_owned(),
            ers_reference: r.ers_reference().map(|e| e.as_str().to_owned()),
            result_code: match r.state() {
                RefundState::Failed {
                    failure: RefundFailure::Rejected { code, .. },
                    ..
                } => Some(*code),
                _ => None,
            },
            created_at: rfc3339(r.created_at()),
            updated_at: rfc3339(r.updated_at()),
        }
    }
}

/// A payment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentDto {
    /// Id.
    pub id: String,
    /// `pending`, `paid`, `canceled`, `failed`.
    pub status: &'static str,
    /// The merchant's order id.
    pub order_id: String,
    /// The title.
    pub title: String,
    /// Currency.
    pub currency: String,
    /// Total in minor units.
    pub total: i64,
    /// Glase's invoice reference.
    pub invoice_reference: String,
    /// `HTTP://SEQR.SE/R…`.
    pub qr_code_url: String,
    /// `SEQR://SEQR.SE/R…`.
    pub app_url: String,
    /// The receipt reference, once paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ers_reference: Option<String>,
    /// When paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// When an unpaid invoice is cancelled.
    pub expires_at: String,
    /// The POS terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// What was refunded (succeeded refunds).
    pub refunded_amount: i64,
    /// The refunds.
    pub refunds: Vec<RefundDto>,
    /// Shown only when the payment is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// What the till shows, for a point-of-sale payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<PosDto>,
}

/// What a till shows for a cashier payment (`PosView` in the OpenAPI document).
#[derive(Debug, Clone, Serialize)]
pub struct PosDto {
    /// `please_wait`, `completed`, `canceled`, `error`, `window_ended`.
    pub display: &'static str,
    /// False once the waiting window has passed.
    pub window_open: bool,
    /// When the current window ends.
    pub window_ends_at: String,
    /// The text to print for a paid payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_text: Option<String>,
}

impl From<PosView> for PosDto {
    fn from(v: PosView) -> Self {
        Self {
            display: v.display.as_str(),
            window_open: v.window_open,
            window_ends_at: rfc3339(v.window_ends_at),
            receipt_text: v.receipt_text,
        }
    }
}

impl PaymentDto {
    /// The view of `payment` with `refunds`.
    pub fn new(payment: &Payment, refunds: &[Refund]) -> Self {
        Self {
            id: payment.id().as_str().to_owned(),
            status: payment.status().as_str(),
            order_id: payment.order().merchant_order_id().as_str().to_owned(),
            title: payment.order().title().as_str().to_owned(),
            currency: payment.amount().currency().code().to_owned(),
            total: payment.amount().minor_units(),
            invoice_reference: payment.invoice_reference().as_str().to_owned(),
            qr_code_url: payment.invoice_reference().qr_code_url(),
            app_url: payment.invoice_reference().app_url(),
            ers_reference: payment.ers_reference().map(|e| e.as_str().to_owned()),
            paid_at: payment.paid_at().map(rfc3339),
            created_at: rfc3339(payment.created_at()),
            expires_at: rfc3339(payment.expires_at()),
            terminal_id: match payment.terminal() {
                PaymentTerminal::Webshop => None,
                PaymentTerminal::Pos(t) => Some(t.as_str().to_owned()),
            },
            refunded_amount: payment.refunds().refunded().minor_units(),
            refunds: refunds.iter().map(RefundDto::from).collect(),
            client_secret: None,
            pos: None,
        }
    }

    /// Adds the till's view of a POS payment at `now` with a waiting window of `window`.
    #[must_use]
    pub fn with_pos(mut self, payment: &Payment, now: Timestamp, window: std::time::Duration) -> Self {
        self.pos = pos_view(payment, now, window).map(PosDto::from);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> serde_json::Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn decimal_numbers_are_read_from_their_text() {
        assert_eq!(scaled("q", &number("2"), 3).unwrap(), 2_000);
        assert_eq!(scaled("q", &number("0.25"), 3).unwrap(), 250);
        assert_eq!(scaled("q", &number("1.500"), 3).unwrap(), 1_500);
        assert_eq!(scaled("t", &number("12.5"), 2).unwrap(), 1_250);
        assert!(scaled("q", &number("0.0001"), 3).is_err());
        assert_eq!(scaled("q", &number("1e3"), 3).unwrap(), 1_000_000);
        assert!(scaled("q", &number("1e-7"), 3).is_err());
    }

    fn body(json: &str) -> CreatePaymentBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_body_without_rows_becomes_one_row_of_the_total() {
        let req = body(r#"{"order_id":"A-1","currency":"SEK","total":12550}"#)
            .into_domain()
            .unwrap();
        assert_eq!(req.order.rows().len(), 1);
        assert_eq!(req.order.total().minor_units(), 12_550);
        assert_eq!(req.order.title().as_str(), "A-1");
    }

    #[test]
    fn rows_that_do_not_sum_to_the_total_are_refused_naming_rows() {
        let err = body(
            r#"{"order_id":"A-1","currency":"SEK","total":100,"rows":[{"description":"x","total":90}]}"#,
        )
        .into_domain()
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("rows"));
    }

    #[test]
    fn an_unknown_currency_is_refused_naming_currency() {
        let err = body(r#"{"order_id":"A-1","currency":"XXX","total":100}"#)
            .into_domain()
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("currency"));
    }

    #[test]
    fn the_fingerprint_follows_the_body() {
        let a = body(r#"{"order_id":"A-1","currency":"SEK","total":100}"#)
            .into_domain()
            .unwrap();
        let b = body(r#"{"currency":"SEK","order_id":"A-1","total":100}"#)
            .into_domain()
            .unwrap();
        let c = body(r#"{"order_id":"A-1","currency":"SEK","total":101}"#)
            .into_domain()
            .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint, "key order does not matter");
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_str::<CreatePaymentBody>(r#"{"order_id":"A","currency":"SEK","total":1,"x":1}"#)
                .is_err()
        );
    }
}
