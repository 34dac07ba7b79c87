//! The one definition of the payments table: key schema, attribute definitions, global secondary indexes,
//! TTL attribute and billing mode.
//!
//! Tests create their tables from [`definition`], and the infrastructure template is checked against
//! [`TableDefinition::cloudformation_properties`], so there is no second hand-written copy that can drift.
//! [`TableDefinition::differences`] compares a live table (DescribeTable and DescribeTimeToLive) with it.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use serde_json::{Value, json};

use crate::attrs;
use crate::error::DynamoError;

/// Exact lookups: payment or refund by `ersReference`, connections of a payment, the terminal list.
pub const LOOKUP_INDEX: &str = "lookup";
/// Items of one kind in time order: paid payments by paid time, refunds of one status by last change.
pub const TIMELINE_INDEX: &str = "timeline";
/// Sparse: pending payments by when Glase was last asked (the safety net).
pub const CHECK_DUE_INDEX: &str = "check_due";
/// Sparse: pending payments by when their invoice expires.
pub const EXPIRY_INDEX: &str = "expiry";

/// The billing mode of the table. Only on-demand is used: the load is spiky and small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// `PAY_PER_REQUEST`.
    PayPerRequest,
}

/// A key attribute of the table or of an index. Every key attribute of this table is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPair {
    /// The partition (HASH) key attribute.
    pub partition: &'static str,
    /// The sort (RANGE) key attribute.
    pub sort: &'static str,
}

/// A global secondary index; every index projects all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    /// The index name.
    pub name: &'static str,
    /// Its key attributes.
    pub key: KeyPair,
}

/// The table's shape, independent of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    /// The primary key.
    pub key: KeyPair,
    /// The global secondary indexes.
    pub global_indexes: &'static [IndexDefinition],
    /// The attribute DynamoDB's TTL reads (epoch seconds).
    pub ttl_attribute: &'static str,
    /// The billing mode.
    pub billing: Billing,
}

/// The [`LOOKUP_INDEX`] and its key attributes.
pub(crate) const LOOKUP: IndexDefinition = index(LOOKUP_INDEX, attrs::LOOKUP_PK, attrs::LOOKUP_SK);
/// The [`TIMELINE_INDEX`] and its key attributes.
pub(crate) const TIMELINE: IndexDefinition = index(TIMELINE_INDEX, attrs::TIMELINE_PK, attrs::TIMELINE_SK);
/// The [`CHECK_DUE_INDEX`] and its key attributes.
pub(crate) const CHECK_DUE: IndexDefinition = index(CHECK_DUE_INDEX, attrs::CHECK_PK, attrs::CHECK_SK);
/// The [`EXPIRY_INDEX`] and its key attributes.
pub(crate) const EXPIRY: IndexDefinition = index(EXPIRY_INDEX, attrs::EXPIRY_PK, attrs::EXPIRY_SK);

const INDEXES: &[IndexDefinition] = &[LOOKUP, TIMELINE, CHECK_DUE, EXPIRY];

const fn index(name: &'static str, partition: &'static str, sort: &'static str) -> IndexDefinition {
    IndexDefinition {
        name,
        key: KeyPair { partition, sort },
    }
}

/// The payments table.
pub const fn definition() -> TableDefinition {
    TableDefinition {
        key: KeyPair {
            partition: attrs::PK,
            sort: attrs::SK,
        },
        global_indexes: INDEXES,
        ttl_attribute: attrs::EXPIRES_AT,
        billing: Billing::PayPerRequest,
    }
}

/// How long [`create_table`] waits for a new table and its indexes to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often [`create_table`] polls DescribeTable while it waits.
const ACTIVE_POLL: Duration = Duration::from_millis(50);

impl TableDefinition {
    /// Every attribute used in a key of the table or of an index, each once, in a stable order.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.key.partition, self.key.sort];
        for index in self.global_indexes {
            for name in [index.key.partition, index.key.sort] {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The `Properties` of a CloudFormation `AWS::DynamoDB::Table` resource for this table, without
    /// `TableName` (the template names the table). Point-in-time recovery is on: the table holds money.
    pub fn cloudformation_properties(&self) -> Value {
        let billing = match self.billing {
            Billing::PayPerRequest => "PAY_PER_REQUEST",
        };
        let key_schema = |key: &KeyPair| {
            json!([
                { "AttributeName": key.partition, "KeyType": "HASH" },
                { "AttributeName": key.sort, "KeyType": "RANGE" },
            ])
        };
        let attributes: Vec<Value> = self
            .key_attributes()
            .into_iter()
            .map(|name| json!({ "AttributeName": name, "AttributeType": "S" }))
            .collect();
        let indexes: Vec<Value> = self
            .global_indexes
            .iter()
            .map(|index| {
                json!({
                    "IndexName": index.name,
                    "KeySchema": key_schema(&index.key),
                    "Projection": { "ProjectionType": "ALL" },
                })
            })
            .collect();
        json!({
            "BillingMode": billing,
            "AttributeDefinitions": attributes,
            "KeySchema": key_schema(&self.key),
            "GlobalSecondaryIndexes": indexes,
            "TimeToLiveSpecification": { "AttributeName": self.ttl_attribute, "Enabled": true },
            "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
        })
    }

    /// Every way a described table differs from this definition (empty when it matches). Compares key
    /// schemas, attribute definitions, indexes with their projections, billing mode and, when given, the
    /// TTL attribute and status.
    pub fn differences(&self, table: &TableDescription, ttl_attribute: Option<&str>) -> Vec<String> {
        let mut found = Vec::new();
        if described_key(table.key_schema()) != Some(self.key) {
            found.push(format!("table key schema is {:?}", table.key_schema()));
        }
        let mut expected: Vec<&str> = self.key_attributes();
        expected.sort_unstable();
        let mut actual: Vec<&str> = Vec::new();
        for definition in table.attribute_definitions() {
            if definition.attribute_type() != &ScalarAttributeType::S {
                found.push(format!(
                    "attribute `{}` is not a string",
                    definition.attribute_name()
                ));
            }
            actual.push(definition.attribute_name());
        }
        actual.sort_unstable();
        if actual != expected {
            found.push(format!(
                "attribute definitions are {actual:?}, expected {expected:?}"
            ));
        }
        let described = table.global_secondary_indexes();
        if described.len() != self.global_indexes.len() {
            found.push(format!(
                "{} global secondary indexes, expected {}",
                described.len(),
                self.global_indexes.len()
            ));
        }
        for index in self.global_indexes {
            match described.iter().find(|d| d.index_name() == Some(index.name)) {
                None => found.push(format!("index `{}` is missing", index.name)),
                Some(d) => {
                    if described_key(d.key_schema()) != Some(index.key) {
                        found.push(format!(
                            "index `{}` key schema is {:?}",
                            index.name,
                            d.key_schema()
                        ));
                    }
                    let projection = d.projection().and_then(|p| p.projection_type());
                    if projection != Some(&ProjectionType::All) {
                        found.push(format!("index `{}` projection is {projection:?}", index.name));
                    }
                }
            }
        }
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode());
        match self.billing {
            Billing::PayPerRequest if billing == Some(&BillingMode::PayPerRequest) => {}
            Billing::PayPerRequest => found.push(format!("billing mode is {billing:?}")),
        }
        if let Some(ttl) = ttl_attribute
            && ttl != self.ttl_attribute
        {
            found.push(format!(
                "TTL attribute is `{ttl}`, expected `{}`",
                self.ttl_attribute
            ));
        }
        found
    }
}

/// Reads a two-element HASH/RANGE key schema.
fn described_key(schema: &[KeySchemaElement]) -> Option<KeyPair> {
    let find = |kind: KeyType| {
        schema
            .iter()
            .find(|k| k.key_type() == &kind)
            .map(|k| k.attribute_name().to_owned())
    };
    let (partition, sort) = (find(KeyType::Hash)?, find(KeyType::Range)?);
    if schema.len() != 2 {
        return None;
    }
    // Map back to the static names so the comparison is by value.
    let known = definition().key_attributes();
    let partition = known.iter().copied().find(|n| *n == partition)?;
    let sort = known.iter().copied().find(|n| *n == sort)?;
    Some(KeyPair { partition, sort })
}

fn key_schema(key: &KeyPair) -> Result<Vec<KeySchemaElement>, DynamoError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(key.partition)
            .key_type(KeyType::Hash)
            .build()?,
        KeySchemaElement::builder()
            .attribute_name(key.sort)
            .key_type(KeyType::Range)
            .build()?,
    ])
}

/// Creates a table named `table_name` from [`definition`], waits until it and its indexes are active
/// (polling DescribeTable: the SDK's waiter sleeps at least 20 seconds) and turns TTL on.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), DynamoError> {
    let def = definition();
    let mut request = client
        .create_table()
        .table_name(table_name)
        .set_key_schema(Some(key_schema(&def.key)?))
        .billing_mode(match def.billing {
            Billing::PayPerRequest => BillingMode::PayPerRequest,
        });
    for name in def.key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        );
    }
    for index in def.global_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(&index.key)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?,
        );
    }
    request.send().await.map_err(DynamoError::from_sdk)?;
    wait_until_active(client, table_name).await?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(def.ttl_attribute)
                .enabled(true)
                .build()?,
        )
        .send()
        .await
        .map_err(DynamoError::from_sdk)?;
    Ok(())
}

async fn wait_until_active(client: &Client, table_name: &str) -> Result<(), DynamoError> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let described = client.describe_table().table_name(table_name).send().await;
        let described = described.map_err(DynamoError::from_sdk)?;
        let active = described.table().is_some_and(|t| {
            t.table_status() == Some(&TableStatus::Active)
                && t.global_secondary_indexes()
                    .iter()
                    .all(|i| i.index_status() == Some(&IndexStatus::Active))
        });
        if active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DynamoError::Unavailable(format!(
                "table {table_name} was not active within {}s",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(ACTIVE_POLL).await;
    }
}

/// Describes a live table and compares it with [`definition`]; answers the differences (empty when the
/// table matches), including its TTL setting.
pub async fn verify_table(client: &Client, table_name: &str) -> Result<Vec<String>, DynamoError> {
    let described = client
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .map_err(DynamoError::from_sdk)?;
    let table = described.table().ok_or_else(|| {
        DynamoError::Unavailable(format!("DescribeTable returned no table for {table_name}"))
    })?;
    let ttl = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(DynamoError::from_sdk)?;
    let ttl = ttl.time_to_live_description();
    let mut found = Vec::new();
    let status = ttl.and_then(|t| t.time_to_live_status());
    if !matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        found.push(format!("TTL status is {status:?}"));
    }
    found.extend(definition().differences(table, ttl.and_then(|t| t.attribute_name())));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{BillingModeSummary, GlobalSecondaryIndexDescription};

    use super::*;

    fn described(def: &TableDefinition, drop_index: Option<&str>) -> TableDescription {
        let key = |k: &KeyPair| key_schema(k).unwrap();
        let mut table = TableDescription::builder()
            .set_key_schema(Some(key(&def.key)))
            .billing_mode_summary(
                BillingModeSummary::builder()
                    .billing_mode(BillingMode::PayPerRequest)
                    .build(),
            );
        for name in def.key_attributes() {
            table = table.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            );
        }
        for index in def.global_indexes.iter().filter(|i| Some(i.name) != drop_index) {
            table = table.global_secondary_indexes(
                GlobalSecondaryIndexDescription::builder()
                    .index_name(index.name)
                    .set_key_schema(Some(key(&index.key)))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build(),
            );
        }
        table.build()
    }

    #[test]
    fn a_description_built_from_the_definition_has_no_differences() {
        let def = definition();
        assert_eq!(
            def.differences(&described(&def, None), Some(attrs::EXPIRES_AT)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_missing_index_and_a_wrong_ttl_attribute_are_reported() {
        let def = definition();
        let found = def.differences(&described(&def, Some(EXPIRY_INDEX)), Some("ttl"));
        assert!(
            found.iter().any(|d| d.contains("index `expiry` is missing")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|d| d.contains("TTL attribute is `ttl`")),
            "{found:?}"
        );
    }

    #[test]
    fn key_attributes_are_listed_once_each() {
        assert_eq!(
            definition().key_attributes(),
            vec![
                attrs::PK,
                attrs::SK,
                attrs::LOOKUP_PK,
                attrs::LOOKUP_SK,
                attrs::TIMELINE_PK,
                attrs::TIMELINE_SK,
                attrs::CHECK_PK,
                attrs::CHECK_SK,
                attrs::EXPIRY_PK,
                attrs::EXPIRY_SK,
            ]
        );
    }

    #[test]
    fn cloudformation_properties_describe_keys_indexes_ttl_and_billing() {
        let props = definition().cloudformation_properties();
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            props["KeySchema"][0],
            json!({ "AttributeName": "pk", "KeyType": "HASH" })
        );
        assert_eq!(
            props["KeySchema"][1],
            json!({ "AttributeName": "sk", "KeyType": "RANGE" })
        );
        assert_eq!(props["AttributeDefinitions"].as_array().unwrap().len(), 10);
        let indexes = props["GlobalSecondaryIndexes"].as_array().unwrap();
        let names: Vec<&str> = indexes.iter().map(|i| i["IndexName"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            vec![LOOKUP_INDEX, TIMELINE_INDEX, CHECK_DUE_INDEX, EXPIRY_INDEX]
        );
        assert_eq!(indexes[3]["KeySchema"][0]["AttributeName"], attrs::EXPIRY_PK);
        assert_eq!(indexes[1]["Projection"]["ProjectionType"], "ALL");
        assert_eq!(
            props["TimeToLiveSpecification"],
            json!({ "AttributeName": "expires_at", "Enabled": true })
        );
        assert!(props.get("TableName").is_none(), "the template names the table");
    }
}
