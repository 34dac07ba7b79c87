//! Every DynamoDB attribute name the store writes or reads, and nothing else.
//!
//! This is the only module that spells attribute names. Expressions refer to them through
//! `ExpressionAttributeNames` placeholders built from these constants, so reserved words such as
//! `status` never need special care elsewhere.

// Keys and indexes.

/// Partition key of the table (string).
pub const PK: &str = "pk";
/// Sort key of the table (string).
pub const SK: &str = "sk";
/// Partition key of the `lookup` index: exact lookups (by `ersReference`, connections of a payment,
/// the terminal list).
pub const LOOKUP_PK: &str = "lookup_pk";
/// Sort key of the `lookup` index.
pub const LOOKUP_SK: &str = "lookup_sk";
/// Partition key of the `timeline` index: items of one kind in time order (paid payments by paid time,
/// refunds of one status by last change).
pub const TIMELINE_PK: &str = "timeline_pk";
/// Sort key of the `timeline` index: a zero-padded epoch time, then the item id.
pub const TIMELINE_SK: &str = "timeline_sk";
/// Partition key of the sparse `check_due` index (on pending payments, and on paid payments whose receipt
/// is still to be sent, in another partition).
pub const CHECK_PK: &str = "check_pk";
/// Sort key of the `check_due` index: the zero-padded time Glase was last asked (0 when never), or the
/// receipt's last attempt (0 when never), then the id.
pub const CHECK_SK: &str = "check_sk";
/// Partition key of the sparse `expiry` index (only on pending payments).
pub const EXPIRY_PK: &str = "expiry_pk";
/// Sort key of the `expiry` index: the zero-padded time the invoice expires, then the id.
pub const EXPIRY_SK: &str = "expiry_sk";

// Common to every item.

/// Which kind of item this is (`payment`, `refund`, ...).
pub const ITEM_TYPE: &str = "item_type";
/// Optimistic-concurrency revision: starts at 1 and grows by one with every write.
pub const REVISION: &str = "revision";
/// Epoch SECONDS after which DynamoDB's TTL deletes the item. Only on items that may vanish
/// (idempotency records, connections); never on payments, refunds, terminals or periods.
pub const EXPIRES_AT: &str = "expires_at";
/// The exact expiry of an item with a TTL, in epoch milliseconds.
pub const EXPIRES_AT_MS: &str = "expires_at_ms";
/// Epoch milliseconds at which the item was created.
pub const CREATED_AT: &str = "created_at";
/// Epoch milliseconds of the last change.
pub const UPDATED_AT: &str = "updated_at";
/// The status of a payment, refund or terminal, as its wire name.
pub const STATUS: &str = "status";

// Ids and references.

/// Our payment id.
pub const PAYMENT_ID: &str = "payment_id";
/// Our refund id.
pub const REFUND_ID: &str = "refund_id";
/// Our terminal id (on a payment: absent for the webshop terminal).
pub const TERMINAL_ID: &str = "terminal_id";
/// Our period id.
pub const PERIOD_ID: &str = "period_id";
/// Glase's invoice reference.
pub const INVOICE_REFERENCE: &str = "invoice_reference";
/// Glase's `ersReference` of a paid payment or a succeeded refund.
pub const ERS_REFERENCE: &str = "ers_reference";

// Money and orders.

/// ISO 4217 currency code of every amount of the item.
pub const CURRENCY: &str = "currency";
/// An amount in minor units (refund amount, order total).
pub const AMOUNT: &str = "amount";
/// The merchant's order id (`clientInvoiceId`).
pub const MERCHANT_ORDER_ID: &str = "merchant_order_id";
/// The invoice title.
pub const TITLE: &str = "title";
/// The cashier id.
pub const CASHIER_ID: &str = "cashier_id";
/// The backURL.
pub const BACK_URL: &str = "back_url";
/// The order rows (list of maps).
pub const ROWS: &str = "rows";
/// Row: description.
pub const ROW_DESCRIPTION: &str = "description";
/// Row: quantity in thousandths.
pub const ROW_QUANTITY: &str = "quantity_thousandths";
/// Row: unit price in minor units.
pub const ROW_UNIT_PRICE: &str = "unit_price";
/// Row: total in minor units.
pub const ROW_TOTAL: &str = "total";
/// Row: tax rate in basis points.
pub const ROW_TAX_RATE: &str = "tax_rate_bp";
/// Row: SKU.
pub const ROW_SKU: &str = "sku";
/// Row: EAN.
pub const ROW_EAN: &str = "ean";
/// Row: unit.
pub const ROW_UNIT: &str = "unit";
/// Row: discount in minor units.
pub const ROW_DISCOUNT: &str = "discount";

// Payments.

/// Epoch milliseconds when the payment was paid.
pub const PAID_AT: &str = "paid_at";
/// Epoch milliseconds when the payment became canceled or failed.
pub const FINAL_AT: &str = "final_at";
/// The Glase status version last stored.
pub const GLASE_VERSION: &str = "glase_version";
/// Epoch milliseconds when Glase was last asked.
pub const LAST_CHECKED_AT: &str = "last_checked_at";
/// Hex SHA-256 of the client secret.
pub const CLIENT_SECRET_HASH: &str = "client_secret_hash";
/// Hex SHA-256 of the notification token.
pub const NOTIFICATION_TOKEN_HASH: &str = "notification_token_hash";
/// Hex SHA-256 of the token of an invoice update in flight (sent with updateInvoice, not yet recorded).
pub const NEXT_NOTIFICATION_TOKEN_HASH: &str = "next_notification_token_hash";
/// Epoch milliseconds when a notification last asked Glase.
pub const LAST_NOTIFIED_AT: &str = "last_notified_at";
/// Epoch milliseconds when an unpaid invoice is cancelled. Deliberately not `expires_at`, which is the
/// TTL attribute: a payment must never be deleted by TTL.
pub const INVOICE_EXPIRES_AT: &str = "invoice_expires_at";
/// Minor units reserved by refunds in flight.
pub const REFUND_RESERVED: &str = "refund_reserved";
/// Minor units refunded.
pub const REFUNDED: &str = "refunded";
/// POS payments: epoch milliseconds when the till's current waiting window started.
pub const POS_WINDOW_STARTED_AT: &str = "pos_window_started_at";
/// The receipt's state: `not_due`, `pending`, `sent`, `failed` (absent on older items: `not_due`).
pub const RECEIPT_STATUS: &str = "receipt_status";
/// Unsuccessful receipt attempts so far.
pub const RECEIPT_ATTEMPTS: &str = "receipt_attempts";
/// Epoch milliseconds of the receipt's last attempt (pending), or when it was sent or given up.
pub const RECEIPT_AT: &str = "receipt_at";
/// Glase's result code of a refused receipt.
pub const RECEIPT_CODE: &str = "receipt_code";

// Refunds.

/// The refund reason (title).
pub const REASON: &str = "reason";
/// Epoch milliseconds the refund entered its current state.
pub const STATE_SINCE: &str = "state_since";
/// Which failure a failed refund had: `rejected` or `absent_from_report`.
pub const FAILURE_KIND: &str = "failure_kind";
/// Glase's result code of a rejected refund.
pub const FAILURE_CODE: &str = "failure_code";
/// Glase's result description of a rejected refund.
pub const FAILURE_DESCRIPTION: &str = "failure_description";
/// How many times the refund was sent.
pub const ATTEMPTS: &str = "attempts";

// Terminals.

/// The till's external id.
pub const EXTERNAL_ID: &str = "external_id";
/// The terminal's display name.
pub const NAME: &str = "name";
/// Glase's terminal id.
pub const GLASE_TERMINAL_ID: &str = "glase_terminal_id";
/// The Glase ID on the sticker.
pub const SEQR_ID: &str = "seqr_id";
/// The payment open on the terminal.
pub const OPEN_PAYMENT: &str = "open_payment";
/// Epoch milliseconds when the terminal was unregistered.
pub const UNREGISTERED_AT: &str = "unregistered_at";

// Reporting periods.

/// Glase's transaction period id.
pub const TRANSACTION_PERIOD_ID: &str = "transaction_period_id";
/// `shop` or `terminal`.
pub const SCOPE: &str = "scope";
/// Epoch milliseconds when the period was marked.
pub const MARKED_AT: &str = "marked_at";
/// The report ids of the period's documents, in order (the documents are items of their own).
pub const DOCUMENT_IDS: &str = "document_ids";
/// Document: report id.
pub const REPORT_ID: &str = "report_id";
/// Document: MIME type.
pub const MIME_TYPE: &str = "mime_type";
/// Document: one part of the deflate-compressed content (binary).
pub const CONTENT_PART: &str = "content_part";
/// Document part: its place among the document's parts, from 0.
pub const PART: &str = "part";
/// The number of parts of each document, in the order of `document_ids`.
pub const DOCUMENT_PARTS: &str = "document_parts";
/// Epoch milliseconds of the reconciliation (absent until reconciled).
pub const RECONCILED_AT: &str = "reconciled_at";
/// Number of matched transactions.
pub const MATCHED: &str = "matched";
/// The mismatches (list of maps).
pub const MISMATCHES: &str = "mismatches";
/// Mismatch: kind.
pub const MISMATCH_KIND: &str = "kind";
/// Mismatch: Glase's amount in minor units.
pub const GLASE_AMOUNT: &str = "glase_amount";
/// Mismatch: our amount in minor units.
pub const OUR_AMOUNT: &str = "our_amount";

// Idempotency records.

/// The operation the key belongs to.
pub const OPERATION: &str = "operation";
/// The client's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// Hex SHA-256 fingerprint of the first request.
pub const FINGERPRINT: &str = "fingerprint";
/// Epoch milliseconds when an in-progress record's lease ends.
pub const LEASE_EXPIRES_AT: &str = "lease_expires_at";
/// The stored outcome's kind.
pub const OUTCOME: &str = "outcome";
/// The client secret of a created payment, in idempotency records of the earlier format only: read so
/// their replay answers it until they expire, never written (a replay derives the secret again).
pub const CLIENT_SECRET: &str = "client_secret";
/// Glase's result code of a rejection outcome.
pub const RESULT_CODE: &str = "result_code";
/// Glase's result description of a rejection outcome.
pub const RESULT_DESCRIPTION: &str = "result_description";

// Connections.

/// The WebSocket connection id.
pub const CONNECTION_ID: &str = "connection_id";
