//! The condition of every write: the key must be absent, or the stored revision must be the expected one
//! and the stored status one the new status may replace. [`Conditional`] puts a condition on a request.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use payments_domain::ids::Revision;
use payments_domain::payment::{Payment, PaymentStatus};
use payments_domain::refund::{Refund, RefundStatus};
use payments_domain::terminal::Terminal;

use crate::attrs as a;

/// A condition expression with its placeholders.
pub(super) struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Condition {
    /// The item must not exist yet.
    pub(super) fn absent() -> Self {
        Self {
            expression: "attribute_not_exists(#pk)".to_owned(),
            names: HashMap::from([("#pk".to_owned(), a::PK.to_owned())]),
            values: HashMap::new(),
        }
    }

    /// The item must exist at `expected` and, when `statuses` is not empty, be in one of them.
    pub(super) fn revision(expected: Revision, statuses: &[&str]) -> Self {
        let mut condition = Self {
            expression: "#rev = :rev".to_owned(),
            names: HashMap::from([("#rev".to_owned(), a::REVISION.to_owned())]),
            values: HashMap::from([(":rev".to_owned(), AttributeValue::N(expected.get().to_string()))]),
        };
        if !statuses.is_empty() {
            condition.names.insert("#st".to_owned(), a::STATUS.to_owned());
            let alternatives: Vec<String> = statuses
                .iter()
                .enumerate()
                .map(|(i, status)| {
                    condition
                        .values
                        .insert(format!(":st{i}"), AttributeValue::S((*status).to_owned()));
                    format!("#st = :st{i}")
                })
                .collect();
            condition.expression = format!("{} AND ({})", condition.expression, alternatives.join(" OR "));
        }
        condition
    }

    /// The stored payment must be at `expected` in a status `payment`'s may replace.
    pub(super) fn payment_update(payment: &Payment, expected: Revision) -> Self {
        Self::revision(expected, &payment_predecessors(payment.status()))
    }

    /// The stored refund must be at `expected` in a status `refund`'s may replace.
    pub(super) fn refund_update(refund: &Refund, expected: Revision) -> Self {
        Self::revision(expected, &refund_predecessors(refund.status()))
    }

    /// The stored terminal must be at `expected` in a status `terminal`'s may replace.
    pub(super) fn terminal_update(terminal: &Terminal, expected: Revision) -> Self {
        Self::revision(expected, &terminal_predecessors(terminal))
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The stored payment statuses a payment in `next` may replace ([`PaymentStatus::replaceable_by`]).
fn payment_predecessors(next: PaymentStatus) -> Vec<&'static str> {
    PaymentStatus::replaceable_by(next)
        .iter()
        .map(PaymentStatus::as_str)
        .collect()
}

/// The stored refund statuses a refund in `next` may replace ([`RefundStatus::replaceable_by`]).
fn refund_predecessors(next: RefundStatus) -> Vec<&'static str> {
    RefundStatus::replaceable_by(next)
        .iter()
        .map(RefundStatus::as_str)
        .collect()
}

/// The stored terminal statuses a terminal may replace: an active terminal only an active one; an
/// unregistered terminal never becomes active again.
fn terminal_predecessors(terminal: &Terminal) -> Vec<&'static str> {
    if terminal.is_active() {
        vec!["active"]
    } else {
        vec!["active", "unregistered"]
    }
}

/// A write request that can carry a condition. The SDK's request builders have the same three setters
/// but no trait in common.
pub(super) trait Conditional: Sized {
    /// The request under `condition`; without one, the request as it is.
    fn under(self, condition: Option<&Condition>) -> Self;
}

macro_rules! conditional {
    ($($request:ty),+ $(,)?) => {$(
        impl Conditional for $request {
            fn under(self, condition: Option<&Condition>) -> Self {
                self.set_condition_expression(condition.map(|c| c.expression.clone()))
                    .set_expression_attribute_names(condition.map(|c| c.names.clone()))
                    .set_expression_attribute_values(condition.and_then(Condition::values))
            }
        }
    )+};
}

conditional!(PutItemFluentBuilder, DeleteItemFluentBuilder, PutBuilder);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_move_only_forward() {
        assert_eq!(payment_predecessors(PaymentStatus::Pending), vec!["pending"]);
        assert_eq!(payment_predecessors(PaymentStatus::Paid), vec!["pending", "paid"]);
        assert!(!payment_predecessors(PaymentStatus::Canceled).contains(&"paid"));
    }

    #[test]
    fn refunds_follow_their_state_machine() {
        assert_eq!(
            refund_predecessors(RefundStatus::Sending),
            vec!["queued", "sending"]
        );
        assert_eq!(
            refund_predecessors(RefundStatus::Queued),
            vec!["queued", "sending"]
        );
        assert!(!refund_predecessors(RefundStatus::Queued).contains(&"succeeded"));
        assert!(!refund_predecessors(RefundStatus::Failed).contains(&"succeeded"));
        assert!(!refund_predecessors(RefundStatus::Succeeded).contains(&"queued"));
    }

    #[test]
    fn a_revision_condition_names_every_allowed_status() {
        let condition = Condition::revision(Revision::FIRST, &["pending", "paid"]);
        assert_eq!(condition.expression, "#rev = :rev AND (#st = :st0 OR #st = :st1)");
        assert_eq!(condition.values.len(), 3);
        assert_eq!(condition.names.get("#st").map(String::as_str), Some(a::STATUS));
    }
}
