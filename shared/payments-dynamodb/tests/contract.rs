//! The store's contract tests, each run against dynoxide (in-process) and DynamoDB Local.

use payments_dynamodb::table;
use payments_dynamodb::testing::{Backend, TestTable};

/// Instantiates every listed `async fn name(backend: Backend)` once per backend.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod dynoxide {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(payments_dynamodb::testing::Backend::Dynoxide).await;
                }
            )*
        }
        mod dynamodb_local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(payments_dynamodb::testing::Backend::DynamoDbLocal).await;
                }
            )*
        }
    };
}

contract_tests!(created_table_matches_the_definition);

async fn created_table_matches_the_definition(backend: Backend) {
    let t = TestTable::new(backend).await;
    let differences = table::verify_table(&t.client, &t.table_name).await.unwrap();
    assert!(differences.is_empty(), "{differences:#?}");
}
