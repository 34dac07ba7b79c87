//! Idempotency records ↔ items.

use payments_domain::idempotency::{
    IdempotencyKey, IdempotencyRecord, IdempotencyState, Operation, StoredOutcome,
};
use payments_domain::ids::{PaymentId, PeriodId, RefundId, TerminalId};
use payments_domain::secret::ClientSecret;

use super::{fingerprint, i32_attr, keyed, millis, revision, time, ttl_seconds, typed_reader};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::{self, item_type};

/// The item of an idempotency record, with the TTL attribute (epoch seconds) at its expiry.
pub fn idempotency_item(record: &IdempotencyRecord) -> Item {
    let mut w = keyed(
        keys::idempotency(record.operation, &record.key),
        item_type::IDEMPOTENCY,
    )
    .string(a::OPERATION, record.operation.as_str())
    .string(a::IDEMPOTENCY_KEY, record.key.as_str())
    .string(a::FINGERPRINT, hex::encode(record.fingerprint.as_bytes()))
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
    let r = typed_reader(item_type::IDEMPOTENCY, item)?;
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
