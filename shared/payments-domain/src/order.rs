//! Orders: what the shopper is asked to pay, row by row.
//!
//! An [`Order`] can only be built through [`Order::new`], which checks every rule that spans fields: at
//! least one and at most [`Order::MAX_ROWS`] rows, one currency throughout, rows that sum exactly to the
//! total, a total above zero. Single rows may be negative (a discount, or the part a POS shopper paid by
//! card or cash), which is how Glase balances an invoice. Field-level rules (lengths, alphabets) live in
//! the field types, which the boundary parses first.

use std::fmt;

use thiserror::Error;

use crate::money::{Currency, Money, MoneyError};
use crate::text::{TextError, free_text};

free_text!(
    /// The merchant's own order id, sent to Glase as `clientInvoiceId` and echoed on the receipt. At most
    /// 32 characters so that it also fits `clientReference` (Glase's limit on both).
    MerchantOrderId,
    "merchant order id",
    32
);
free_text!(
    /// The invoice title shown in the Glase app.
    Title,
    "title",
    80
);
free_text!(
    /// The cashier id or name (`cashierId`); shows in period reports.
    CashierId,
    "cashier id",
    32
);
free_text!(
    /// The text of an invoice row (`itemDescription`).
    ItemDescription,
    "item description",
    200
);
free_text!(
    /// A stock keeping unit (`itemSKU`).
    Sku,
    "SKU",
    64
);
free_text!(
    /// The unit of a row's quantity (`itemUnit`, e.g. `EA`, `kg`).
    Unit,
    "unit",
    16
);
free_text!(
    /// A display name (a terminal's name shown on the buyer's phone).
    DisplayName,
    "display name",
    64
);
free_text!(
    /// The merchant's id of a till (`externalTerminalId`, e.g. `Store 111/Till 4`).
    ExternalTerminalId,
    "external terminal id",
    64
);
free_text!(
    /// Why a refund is made; sent to Glase as the refund invoice's title.
    RefundReason,
    "refund reason",
    80
);

/// A European Article Number (`itemEAN`): 8, 12, 13 or 14 digits.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Ean(String);

impl Ean {
    /// Parses an EAN-8, UPC-A, EAN-13 or GTIN-14 code.
    pub fn parse(value: &str) -> Result<Self, TextError> {
        if !value.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 13, 14].contains(&value.len()) {
            return Err(TextError::Malformed {
                field: "EAN",
                reason: "expected 8, 12, 13 or 14 digits",
            });
        }
        Ok(Ean(value.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The URL the Glase app opens after paying or cancelling on the same phone (`backURL`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct BackUrl(String);

impl BackUrl {
    /// The longest accepted URL.
    pub const MAX_CHARS: usize = 2048;

    /// Parses an absolute `http://` or `https://` URL without whitespace.
    pub fn parse(value: &str) -> Result<Self, TextError> {
        let field = "back URL";
        if value.len() > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                field,
                max: Self::MAX_CHARS,
                actual: value.chars().count(),
            });
        }
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        match rest {
            Some(host_and_path) if !host_and_path.is_empty() && !host_and_path.starts_with('/') => {}
            _ => {
                return Err(TextError::Malformed {
                    field,
                    reason: "expected an http:// or https:// URL",
                });
            }
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TextError::Malformed {
                field,
                reason: "must not contain whitespace",
            });
        }
        Ok(BackUrl(value.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A quantity in thousandths (`1500` is 1.5), above zero. Glase takes a decimal `itemQuantity`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    /// One item.
    pub const ONE: Quantity = Quantity(1000);

    /// A quantity of `thousandths` thousandths; refuses zero and negative values.
    pub fn from_thousandths(thousandths: i64) -> Result<Self, OrderError> {
        if thousandths <= 0 {
            return Err(OrderError::QuantityNotPositive { thousandths });
        }
        Ok(Quantity(thousandths))
    }

    /// A whole number of items.
    pub fn whole(count: u32) -> Result<Self, OrderError> {
        Self::from_thousandths(i64::from(count) * 1000)
    }

    /// The quantity in thousandths.
    pub fn thousandths(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    /// Prints a decimal with no trailing zeros: `2`, `1.5`, `0.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1000;
        let fraction = self.0 % 1000;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{fraction:03}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A VAT rate in hundredths of a percent (`2500` is 25 %), from 0 to 100 %.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaxRate(u32);

impl TaxRate {
    /// A rate in hundredths of a percent.
    pub fn from_basis_points(hundredths_of_percent: u32) -> Result<Self, OrderError> {
        if hundredths_of_percent > 10_000 {
            return Err(OrderError::TaxRateOutOfRange {
                hundredths_of_percent,
            });
        }
        Ok(TaxRate(hundredths_of_percent))
    }

    /// The rate in hundredths of a percent.
    pub fn basis_points(&self) -> u32 {
        self.0
    }
}

/// Why an order was refused. Each rule has its own variant; row numbers count from 0.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    /// A field failed its own rules.
    #[error(transparent)]
    Field(#[from] TextError),
    /// A currency code failed to parse.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The order has no rows.
    #[error("an order needs at least one row")]
    NoRows,
    /// The order has too many rows.
    #[error("an order has at most {max} rows; this one has {actual}")]
    TooManyRows {
        /// The limit.
        max: usize,
        /// The number of rows given.
        actual: usize,
    },
    /// The total is zero or negative.
    #[error("the total must be greater than zero; it is {total}")]
    TotalNotPositive {
        /// The total given.
        total: Money,
    },
    /// An amount in a row is not in the order's currency.
    #[error("row {row}: {field} is in {found}, but the order is in {expected}")]
    CurrencyMismatch {
        /// The row.
        row: usize,
        /// Which amount of the row.
        field: &'static str,
        /// The order's currency (that of the total).
        expected: Currency,
        /// The row's currency.
        found: Currency,
    },
    /// The rows do not add up to the total.
    #[error("the rows sum to {rows_sum}, but the total is {total}")]
    RowsDoNotSum {
        /// The sum of the row totals.
        rows_sum: Money,
        /// The total given.
        total: Money,
    },
    /// Adding up the rows overflowed.
    #[error("the row totals are too large to add up")]
    Overflow,
    /// A quantity is zero or negative.
    #[error("a quantity must be greater than zero; got {thousandths} thousandths")]
    QuantityNotPositive {
        /// The quantity given, in thousandths.
        thousandths: i64,
    },
    /// A tax rate is above 100 %.
    #[error("a tax rate must be between 0 and 100 %; got {hundredths_of_percent} hundredths of a percent")]
    TaxRateOutOfRange {
        /// The rate given.
        hundredths_of_percent: u32,
    },
    /// A row discount is negative.
    #[error("row {row}: the discount must not be negative")]
    NegativeDiscount {
        /// The row.
        row: usize,
    },
    /// An amount is beyond [`Order::MAX_AMOUNT_MINOR`] (either sign).
    #[error("{field} must be at most {max} minor units either way; it is {amount}")]
    AmountTooLarge {
        /// The row, or `None` for the order's total.
        row: Option<usize>,
        /// Which amount (`total`, `unit_price`, `discount`).
        field: &'static str,
        /// The limit.
        max: i64,
        /// The amount given.
        amount: Money,
    },
    /// A quantity is below one item or above [`Order::MAX_QUANTITY_THOUSANDTHS`].
    #[error("row {row}: a quantity must be from 1 to {max}; got {thousandths} thousandths", max = Order::MAX_QUANTITY_THOUSANDTHS / 1000)]
    QuantityOutOfRange {
        /// The row.
        row: usize,
        /// The quantity given, in thousandths.
        thousandths: i64,
    },
}

/// The fields of one invoice row. Every field is already parsed; [`Order::new`] checks how rows relate
/// to each other and to the total.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderRow {
    /// What the row is (`itemDescription`).
    pub description: ItemDescription,
    /// How many (`itemQuantity`).
    pub quantity: Quantity,
    /// Price of one unit (`itemUnitPrice`); informative, not checked against the total (see the crate
    /// docs: merchants price units with and without tax).
    pub unit_price: Option<Money>,
    /// The row's amount (`itemTotalAmount`); may be negative to balance the invoice.
    pub total: Money,
    /// VAT rate (`itemTaxRate`).
    pub tax_rate: Option<TaxRate>,
    /// Stock keeping unit (`itemSKU`).
    pub sku: Option<Sku>,
    /// EAN (`itemEAN`).
    pub ean: Option<Ean>,
    /// Unit (`itemUnit`).
    pub unit: Option<Unit>,
    /// Discount already taken off `total` (`itemDiscount`); not negative.
    pub discount: Option<Money>,
}

impl OrderRow {
    /// A row with only the required fields.
    pub fn simple(description: ItemDescription, quantity: Quantity, total: Money) -> Self {
        OrderRow {
            description,
            quantity,
            unit_price: None,
            total,
            tax_rate: None,
            sku: None,
            ean: None,
            unit: None,
            discount: None,
        }
    }
}

/// A checked order: the content of a Glase invoice.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Order {
    merchant_order_id: MerchantOrderId,
    title: Title,
    rows: Vec<OrderRow>,
    total: Money,
    cashier_id: Option<CashierId>,
    back_url: Option<BackUrl>,
}

/// Everything an order is made of, before the cross-field checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderParts {
    /// The merchant's order id (`clientInvoiceId`).
    pub merchant_order_id: MerchantOrderId,
    /// The title shown in the app.
    pub title: Title,
    /// The rows.
    pub rows: Vec<OrderRow>,
    /// The amount to pay.
    pub total: Money,
    /// The cashier.
    pub cashier_id: Option<CashierId>,
    /// Where the app returns after paying on the same phone.
    pub back_url: Option<BackUrl>,
}

impl Order {
    /// The most rows an order may have.
    pub const MAX_ROWS: usize = 100;

    /// The largest amount (either sign) a new order may carry anywhere: total, row totals, unit prices
    /// and discounts. 10^10 minor units is 100 million in a two-decimal currency: far above any QR
    /// payment, and small enough that the sum of [`Order::MAX_ROWS`] rows and every conversion to
    /// Glase's hundredths stay exact.
    pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000;

    /// The largest quantity of a row of a new order, in thousandths (one million items).
    pub const MAX_QUANTITY_THOUSANDTHS: i64 = 1_000_000_000;

    /// The limits a new order must respect on top of [`Order::new`]'s rules: every amount within
    /// [`Order::MAX_AMOUNT_MINOR`], every quantity from 1 (Glase refuses an `itemQuantity` below 1 with
    /// 49) to [`Order::MAX_QUANTITY_THOUSANDTHS`]. They are checked where requests come in, not when a
    /// stored order is read back, so that changing a limit can never make a stored payment unreadable.
    pub fn check_limits(&self) -> Result<(), OrderError> {
        let within = |amount: Money| {
            amount
                .minor_units()
                .checked_abs()
                .is_some_and(|a| a <= Self::MAX_AMOUNT_MINOR)
        };
        let too_large = |row, field, amount| OrderError::AmountTooLarge {
            row,
            field,
            max: Self::MAX_AMOUNT_MINOR,
            amount,
        };
        if !within(self.total) {
            return Err(too_large(None, "total", self.total));
        }
        for (i, r) in self.rows.iter().enumerate() {
            let amounts = [
                ("total", Some(r.total)),
                ("unit_price", r.unit_price),
                ("discount", r.discount),
            ];
            for (field, amount) in amounts {
                if let Some(amount) = amount
                    && !within(amount)
                {
                    return Err(too_large(Some(i), field, amount));
                }
            }
            let q = r.quantity.thousandths();
            if !(1000..=Self::MAX_QUANTITY_THOUSANDTHS).contains(&q) {
                return Err(OrderError::QuantityOutOfRange {
                    row: i,
                    thousandths: q,
                });
            }
        }
        Ok(())
    }

    /// Checks the cross-field rules and builds the order.
    pub fn new(parts: OrderParts) -> Result<Order, OrderError> {
        let OrderParts {
            merchant_order_id,
            title,
            rows,
            total,
            cashier_id,
            back_url,
        } = parts;
        check_rows(&rows, total)?;
        Ok(Order {
            merchant_order_id,
            title,
            rows,
            total,
            cashier_id,
            back_url,
        })
    }

    /// The same order with new rows and total (updateInvoice), checked again.
    pub fn with_rows(&self, rows: Vec<OrderRow>, total: Money) -> Result<Order, OrderError> {
        check_rows(&rows, total)?;
        Ok(Order {
            rows,
            total,
            ..self.clone()
        })
    }

    /// The merchant's order id.
    pub fn merchant_order_id(&self) -> &MerchantOrderId {
        &self.merchant_order_id
    }

    /// The title.
    pub fn title(&self) -> &Title {
        &self.title
    }

    /// The rows, in the merchant's order.
    pub fn rows(&self) -> &[OrderRow] {
        &self.rows
    }

    /// The amount to pay, greater than zero.
    pub fn total(&self) -> Money {
        self.total
    }

    /// The order's currency.
    pub fn currency(&self) -> Currency {
        self.total.currency()
    }

    /// The cashier.
    pub fn cashier_id(&self) -> Option<&CashierId> {
        self.cashier_id.as_ref()
    }

    /// The back URL.
    pub fn back_url(&self) -> Option<&BackUrl> {
        self.back_url.as_ref()
    }

    /// The parts, for adapters that store the order.
    pub fn to_parts(&self) -> OrderParts {
        OrderParts {
            merchant_order_id: self.merchant_order_id.clone(),
            title: self.title.clone(),
            rows: self.rows.clone(),
            total: self.total,
            cashier_id: self.cashier_id.clone(),
            back_url: self.back_url.clone(),
        }
    }
}

/// The rules shared by [`Order::new`] and [`Order::with_rows`].
fn check_rows(rows: &[OrderRow], total: Money) -> Result<(), OrderError> {
    if rows.is_empty() {
        return Err(OrderError::NoRows);
    }
    if rows.len() > Order::MAX_ROWS {
        return Err(OrderError::TooManyRows {
            max: Order::MAX_ROWS,
            actual: rows.len(),
        });
    }
    if !total.is_positive() {
        return Err(OrderError::TotalNotPositive { total });
    }
    let expected = total.currency();
    let mut rows_sum = Money::zero(expected);
    for (row, r) in rows.iter().enumerate() {
        let amounts = [
            ("total", Some(r.total)),
            ("unit price", r.unit_price),
            ("discount", r.discount),
        ];
        for (field, amount) in amounts {
            if let Some(amount) = amount
                && amount.currency() != expected
            {
                return Err(OrderError::CurrencyMismatch {
                    row,
                    field,
                    expected,
                    found: amount.currency(),
                });
            }
        }
        if r.discount.is_some_and(|d| d.is_negative()) {
            return Err(OrderError::NegativeDiscount { row });
        }
        rows_sum = rows_sum.checked_add(&r.total).map_err(|_| OrderError::Overflow)?;
    }
    if rows_sum != total {
        return Err(OrderError::RowsDoNotSum { rows_sum, total });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sek(minor: i64) -> Money {
        Money::new(minor, Currency::SEK)
    }

    pub(crate) fn row(description: &str, total: Money) -> OrderRow {
        OrderRow::simple(ItemDescription::parse(description).unwrap(), Quantity::ONE, total)
    }

    pub(crate) fn order_of(rows: Vec<OrderRow>, total: Money) -> Result<Order, OrderError> {
        Order::new(OrderParts {
            merchant_order_id: MerchantOrderId::parse("order-42").unwrap(),
            title: Title::parse("Coffee shop").unwrap(),
            rows,
            total,
            cashier_id: None,
            back_url: None,
        })
    }

    #[test]
    fn rows_that_sum_to_the_total_make_an_order() {
        let order = order_of(vec![row("Latte", sek(4500)), row("Bun", sek(3000))], sek(7500)).unwrap();
        assert_eq!(order.total(), sek(7500));
        assert_eq!(order.rows().len(), 2);
    }

    #[test]
    fn a_negative_row_may_balance_the_remainder_paid_by_card() {
        let rows = vec![row("Groceries", sek(50_000)), row("Paid by card", sek(-30_000))];
        assert_eq!(order_of(rows, sek(20_000)).unwrap().total(), sek(20_000));
    }

    #[test]
    fn rows_that_do_not_sum_to_the_total_are_refused() {
        let error = order_of(vec![row("Latte", sek(4500))], sek(5000)).unwrap_err();
        assert_eq!(
            error,
            OrderError::RowsDoNotSum {
                rows_sum: sek(4500),
                total: sek(5000)
            }
        );
    }

    #[test]
    fn a_zero_or_negative_total_is_refused_even_when_rows_sum() {
        let rows = vec![row("Item", sek(1000)), row("Voucher", sek(-1000))];
        assert_eq!(
            order_of(rows, sek(0)).unwrap_err(),
            OrderError::TotalNotPositive { total: sek(0) }
        );
    }

    #[test]
    fn an_order_without_rows_is_refused() {
        assert_eq!(order_of(vec![], sek(100)).unwrap_err(), OrderError::NoRows);
    }

    #[test]
    fn more_than_the_row_limit_is_refused() {
        let rows = (0..=Order::MAX_ROWS).map(|_| row("Item", sek(1))).collect();
        let error = order_of(rows, sek(101)).unwrap_err();
        assert_eq!(
            error,
            OrderError::TooManyRows {
                max: 100,
                actual: 101
            }
        );
    }

    #[test]
    fn a_row_in_another_currency_is_refused_and_named() {
        let rows = vec![
            row("Item", sek(100)),
            row("Other", Money::new(100, Currency::EUR)),
        ];
        let error = order_of(rows, sek(200)).unwrap_err();
        assert_eq!(
            error,
            OrderError::CurrencyMismatch {
                row: 1,
                field: "total",
                expected: Currency::SEK,
                found: Currency::EUR
            }
        );
    }

    #[test]
    fn a_unit_price_in_another_currency_is_refused() {
        let mut r = row("Item", sek(100));
        r.unit_price = Some(Money::new(100, Currency::EUR));
        let error = order_of(vec![r], sek(100)).unwrap_err();
        assert!(matches!(
            error,
            OrderError::CurrencyMismatch {
                field: "unit price",
                ..
            }
        ));
    }

    #[test]
    fn a_negative_discount_is_refused() {
        let mut r = row("Item", sek(100));
        r.discount = Some(sek(-5));
        assert_eq!(
            order_of(vec![r], sek(100)).unwrap_err(),
            OrderError::NegativeDiscount { row: 0 }
        );
    }

    #[test]
    fn rows_that_overflow_when_added_are_refused() {
        let rows = vec![row("A", sek(i64::MAX)), row("B", sek(1))];
        assert_eq!(order_of(rows, sek(1)).unwrap_err(), OrderError::Overflow);
    }

    #[test]
    fn updating_rows_checks_them_again() {
        let order = order_of(vec![row("Latte", sek(4500))], sek(4500)).unwrap();
        assert!(order.with_rows(vec![row("Latte", sek(4000))], sek(4500)).is_err());
        let updated = order.with_rows(vec![row("Latte", sek(4000))], sek(4000)).unwrap();
        assert_eq!(updated.merchant_order_id(), order.merchant_order_id());
        assert_eq!(updated.total(), sek(4000));
    }

    #[test]
    fn quantities_must_be_positive_and_print_as_decimals() {
        assert_eq!(
            Quantity::from_thousandths(0),
            Err(OrderError::QuantityNotPositive { thousandths: 0 })
        );
        assert_eq!(Quantity::from_thousandths(1500).unwrap().to_string(), "1.5");
        assert_eq!(Quantity::from_thousandths(125).unwrap().to_string(), "0.125");
        assert_eq!(Quantity::whole(2).unwrap().to_string(), "2");
    }

    #[test]
    fn tax_rates_above_one_hundred_percent_are_refused() {
        assert!(TaxRate::from_basis_points(2500).is_ok());
        assert_eq!(
            TaxRate::from_basis_points(10_001),
            Err(OrderError::TaxRateOutOfRange {
                hundredths_of_percent: 10_001
            })
        );
    }

    #[test]
    fn new_orders_keep_amounts_and_quantities_within_the_limits() {
        let max = Order::MAX_AMOUNT_MINOR;
        assert_eq!(
            order_of(vec![row("Car", sek(max))], sek(max))
                .unwrap()
                .check_limits(),
            Ok(())
        );
        let big = order_of(vec![row("Car", sek(max + 1))], sek(max + 1)).unwrap();
        assert!(matches!(
            big.check_limits(),
            Err(OrderError::AmountTooLarge {
                row: None,
                field: "total",
                ..
            })
        ));
        let balanced = order_of(vec![row("A", sek(max + 1)), row("B", sek(-max))], sek(1)).unwrap();
        assert!(matches!(
            balanced.check_limits(),
            Err(OrderError::AmountTooLarge {
                row: Some(0),
                field: "total",
                ..
            })
        ));
        let mut priced = row("A", sek(100));
        priced.unit_price = Some(sek(i64::MIN));
        assert!(matches!(
            order_of(vec![priced], sek(100)).unwrap().check_limits(),
            Err(OrderError::AmountTooLarge {
                row: Some(0),
                field: "unit_price",
                ..
            })
        ));
        for (thousandths, ok) in [
            (999, false),
            (1000, true),
            (1_000_000_000, true),
            (1_000_000_001, false),
        ] {
            let mut r = row("Flour", sek(100));
            r.quantity = Quantity::from_thousandths(thousandths).unwrap();
            let checked = order_of(vec![r], sek(100)).unwrap().check_limits();
            assert_eq!(checked.is_ok(), ok, "{thousandths}: {checked:?}");
        }
    }

    #[test]
    fn field_limits_follow_the_protocol() {
        assert!(MerchantOrderId::parse(&"x".repeat(32)).is_ok());
        assert!(matches!(
            MerchantOrderId::parse(&"x".repeat(33)),
            Err(TextError::TooLong { max: 32, .. })
        ));
        assert!(Ean::parse("7312345678901").is_ok());
        assert!(Ean::parse("73123").is_err());
        assert!(BackUrl::parse("https://shop.example/done?o=1").is_ok());
        assert!(BackUrl::parse("ftp://shop.example").is_err());
        assert!(BackUrl::parse("https://").is_err());
        assert!(BackUrl::parse("https://shop.example/a b").is_err());
    }
}
