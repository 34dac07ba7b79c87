//! Test helpers (cargo feature `testing`): an SQS endpoint on moto_server and uniquely named queue pairs
//! on it.
//!
//! The endpoint comes from `SQS_ENDPOINT` (set by `tests/run.sh`, which starts moto_server with
//! `tests/moto/moto-server.sh`). When that variable is absent, the harness starts a server of its own with
//! the same script (owned by this process and stopped, by its pid, when the process exits). A server
//! that cannot be started fails the test with the script's output: it is never skipped.

use aws_config::BehaviorVersion;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{Credentials, Region};

use crate::adapter::{QueueUrl, SqsRefundQueue};
use crate::queue::{self, QueueDefinition, QueuePair};

/// The environment variable that names a running SQS endpoint, e.g. `http://127.0.0.1:5000`.
pub const SQS_ENDPOINT: &str = "SQS_ENDPOINT";

/// A client for a local endpoint with static test credentials in `us-east-1`.
pub async fn client_for(endpoint: &str) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "payments-sqs-tests"))
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

/// A fresh queue and dead-letter queue with unique names, and adapters for both.
#[derive(Debug, Clone)]
pub struct TestQueues {
    /// The client the queues were created with.
    pub client: Client,
    /// The URLs and the dead-letter ARN.
    pub pair: QueuePair,
    /// The refund queue.
    pub queue: SqsRefundQueue,
    /// The dead-letter queue, read through the same adapter.
    pub dead_letters: SqsRefundQueue,
}

impl TestQueues {
    /// Creates `refunds-<uuid>` and `refunds-<uuid>-dlq` on the test endpoint. Panics, failing the test,
    /// when the endpoint cannot be reached.
    pub async fn new(definition: &QueueDefinition) -> Self {
        let endpoint = sqs_endpoint();
        let client = client_for(&endpoint).await;
        let name = format!("refunds-{}", uuid::Uuid::new_v4().simple());
        let pair = queue::create_queue_pair(&client, &name, definition)
            .await
            .unwrap_or_else(|e| panic!("create queues on {endpoint}: {e}"));
        let url = |raw: &str| QueueUrl::parse(raw).unwrap_or_else(|e| panic!("queue URL {raw}: {e}"));
        Self {
            queue: SqsRefundQueue::new(client.clone(), url(&pair.queue_url)),
            dead_letters: SqsRefundQueue::new(client.clone(), url(&pair.dead_letter_url)),
            client,
            pair,
        }
    }
}

/// The SQS endpoint: `SQS_ENDPOINT`, or a moto_server this process starts once.
pub fn sqs_endpoint() -> String {
    test_support::servers::MOTO.endpoint()
}
