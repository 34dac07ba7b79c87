//! A reporting period is one item and its document parts, under the period's partition: read together by
//! one query, written together by one transaction guarded by the period item's condition.

use aws_sdk_dynamodb::types::AttributeValue;
use payments_domain::ids::{PeriodId, Revision};
use payments_domain::period::ReportingPeriod;

use super::DynamoStore;
use super::conditions::Condition;
use super::query::{QuerySpec, SortKey};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::{Item, Reader};
use crate::keys;
use crate::mapping;

impl DynamoStore {
    /// The period `id` with its documents.
    pub(super) async fn read_period(&self, id: &PeriodId) -> Result<Option<ReportingPeriod>, DynamoError> {
        let key = keys::period(id);
        let items = self.query(QuerySpec::table(key.pk, SortKey::Any)).await?;
        let (period, documents): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|item| matches!(item.get(a::SK), Some(AttributeValue::S(sk)) if *sk == key.sk));
        match period.first() {
            None => Ok(None),
            Some(item) => mapping::period_from(item, &documents).map(Some),
        }
    }

    /// Inserts `period` with its documents (no `expected` revision) or replaces the stored one at
    /// `expected`.
    pub(super) async fn write_period(
        &self,
        period: &ReportingPeriod,
        expected: Option<Revision>,
    ) -> Result<(), DynamoError> {
        let (item, documents) = mapping::period_items(period)?;
        let id = period.id();
        let parts_now = document_part_keys(&item)?;
        let mut writes = Vec::with_capacity(documents.len() + 1);
        let stale_parts = match expected {
            None => {
                writes.push(self.put(item, Some(&Condition::absent()))?);
                Vec::new()
            }
            Some(expected) => {
                // Parts the new documents no longer have are deleted; the old ones are named by the
                // stored item, whose revision the transaction checks.
                let old = self
                    .get(keys::period(id))
                    .await?
                    .ok_or(DynamoError::ConditionFailed)?;
                writes.push(self.put(item, Some(&Condition::revision(expected, &[])))?);
                document_part_keys(&old)?
                    .into_iter()
                    .filter(|key| !parts_now.contains(key))
                    .collect()
            }
        };
        // The documents belong to the period item, whose condition guards the whole transaction.
        for document in documents {
            writes.push(self.put(document, None)?);
        }
        for (position, part) in stale_parts {
            writes.push(self.delete(keys::period_document(id, position, part))?);
        }
        self.transact("period", &[id.as_str()], &[period.revision()], writes)
            .await
    }
}

/// The (position, part) of every document part a period item names.
fn document_part_keys(period: &Item) -> Result<Vec<(usize, usize)>, DynamoError> {
    let counts = Reader::new(keys::item_type::PERIOD, period).u64_list(a::DOCUMENT_PARTS)?;
    Ok(counts
        .iter()
        .enumerate()
        .flat_map(|(position, &count)| (0..count as usize).map(move |part| (position, part)))
        .collect())
}
