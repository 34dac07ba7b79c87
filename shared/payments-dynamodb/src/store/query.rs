//! Reads: a strongly consistent GetItem by key, and queries of one partition of the table or of an index,
//! page by page. Each request asks for its consumed capacity and adds it to the store's meter.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::DynamoStore;
use super::write::key_map;
use crate::capacity::{Side, written};
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::Key;
use crate::table::{self, IndexDefinition, KeyPair};

/// How an entity is read from its item: one of the `*_from` functions of [`crate::mapping`].
pub(super) type FromItem<T> = fn(&Item) -> Result<T, DynamoError>;

/// How a query selects sort keys.
pub(super) enum SortKey {
    Any,
    Equals(String),
    BeginsWith(String),
    Below(String),
    /// Below the value, newest first.
    BelowNewestFirst(String),
    Between(String, String),
}

/// One partition of the table or of an index, the sort keys to select and at most how many items.
pub(super) struct QuerySpec {
    index: Option<&'static str>,
    key: KeyPair,
    partition: String,
    sort: SortKey,
    limit: Option<usize>,
}

impl QuerySpec {
    /// The items of `partition` in the table itself (read strongly consistent) that `sort` selects.
    pub(super) fn table(partition: String, sort: SortKey) -> Self {
        Self {
            index: None,
            key: table::definition().key,
            partition,
            sort,
            limit: None,
        }
    }

    /// The entries of `partition` in `index` that `sort` selects.
    pub(super) fn index(index: IndexDefinition, partition: String, sort: SortKey) -> Self {
        Self {
            index: Some(index.name),
            key: index.key,
            partition,
            sort,
            limit: None,
        }
    }

    /// At most `limit` items.
    pub(super) fn limit(self, limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..self
        }
    }
}

impl DynamoStore {
    /// The item at `key`, read strongly consistent.
    pub(super) async fn get(&self, key: Key) -> Result<Option<Item>, DynamoError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.capacity
            .record(Side::Read, written(&output, |o| o.consumed_capacity()));
        Ok(output.map_err(DynamoError::from_sdk)?.item)
    }

    /// The item at `key` read with `from`.
    pub(super) async fn get_as<T>(&self, key: Key, from: FromItem<T>) -> Result<Option<T>, DynamoError> {
        self.get(key).await?.as_ref().map(from).transpose()
    }

    /// Every item `spec` selects, following the pages up to its limit.
    pub(super) async fn query(&self, spec: QuerySpec) -> Result<Vec<Item>, DynamoError> {
        let mut names = HashMap::from([("#pk".to_owned(), spec.key.partition.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(spec.partition))]);
        let mut expression = "#pk = :pk".to_owned();
        let newest_first = matches!(spec.sort, SortKey::BelowNewestFirst(_));
        let sort_condition = match spec.sort {
            SortKey::Any => None,
            SortKey::Equals(value) => Some(("#sk = :sk", vec![(":sk", value)])),
            SortKey::BeginsWith(value) => Some(("begins_with(#sk, :sk)", vec![(":sk", value)])),
            SortKey::Below(value) | SortKey::BelowNewestFirst(value) => {
                Some(("#sk < :sk", vec![(":sk", value)]))
            }
            SortKey::Between(low, high) => {
                Some(("#sk BETWEEN :lo AND :hi", vec![(":lo", low), (":hi", high)]))
            }
        };
        if let Some((condition, bound)) = sort_condition {
            names.insert("#sk".to_owned(), spec.key.sort.to_owned());
            for (placeholder, value) in bound {
                values.insert(placeholder.to_owned(), AttributeValue::S(value));
            }
            expression = format!("{expression} AND {condition}");
        }
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let remaining = spec.limit.map(|limit| limit.saturating_sub(items.len()));
            if remaining == Some(0) {
                break;
            }
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(spec.index.map(str::to_owned))
                .key_condition_expression(&expression)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_limit(remaining.map(|r| i32::try_from(r).unwrap_or(i32::MAX)))
                .set_exclusive_start_key(start)
                .scan_index_forward(!newest_first)
                // Only the table itself offers strongly consistent reads; indexes lag slightly.
                .consistent_read(spec.index.is_none())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            self.capacity
                .record(Side::Read, written(&page, |o| o.consumed_capacity()));
            let page = page.map_err(DynamoError::from_sdk)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Every item `spec` selects, read with `from`.
    pub(super) async fn query_as<T>(
        &self,
        spec: QuerySpec,
        from: FromItem<T>,
    ) -> Result<Vec<T>, DynamoError> {
        self.query(spec).await?.iter().map(from).collect()
    }

    /// The items `spec` selects, read with `from`, that `keep` accepts.
    pub(super) async fn query_where<T>(
        &self,
        spec: QuerySpec,
        from: FromItem<T>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, DynamoError> {
        let found = self.query_as(spec, from).await?;
        Ok(found.into_iter().filter(keep).collect())
    }

    /// The one entry of the lookup index at `partition` and `sort`.
    pub(super) async fn lookup_one(
        &self,
        partition: String,
        sort: &str,
    ) -> Result<Option<Item>, DynamoError> {
        let spec = QuerySpec::index(table::LOOKUP, partition, SortKey::Equals(sort.to_owned())).limit(1);
        Ok(self.query(spec).await?.pop())
    }
}
