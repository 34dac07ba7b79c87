//! Refunds ↔ items.

use payments_domain::ids::{ErsReference, PaymentId, RefundId};
use payments_domain::order::{CashierId, RefundReason};
use payments_domain::refund::{Refund, RefundFailure, RefundRecord, RefundState, RefundStatus};

use super::{currency, i32_attr, keyed, millis, money, revision, time, typed_reader, u32_attr};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::{self, item_type};

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
    let r = typed_reader(item_type::REFUND, item)?;
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
