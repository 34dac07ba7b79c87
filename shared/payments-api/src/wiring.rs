//! Builds the real adapters from [`Settings`], once per cold start.
//!
//! Every client is created here and reused for every invocation: the AWS configuration is loaded once,
//! the DynamoDB, SQS and management API clients share it, and the Glase client opens its connection
//! during initialisation so the first notification does not pay for the TLS handshake. Endpoints follow
//! the AWS SDK's own settings (`AWS_ENDPOINT_URL_DYNAMODB`, …), so no code here knows whether it runs in
//! AWS or on a laptop.
//!
//! Every AWS SDK client gets the function's [`SdkTimeouts`] (an operation timeout and an attempt
//! timeout, see [`timed`]), so no store, queue or push call outlives what the use cases keep back for
//! it ([`payments_domain::usecases::Reserves::store_write`] is the operation timeout).

use std::time::Duration;

use glase_protocol::{GlaseClient, GlaseClientConfig};
use payments_domain::ids::Timestamp;
use payments_domain::ports::{
    Clock, ConnectionId, IdGenerator, PushError, QueueError, RefundMessage, RefundQueue, StatusPush,
    StatusUpdate,
};
use payments_domain::secret::ClientSecretKey;
use payments_domain::usecases::{Deps, UseCaseSettings};
use payments_dynamodb::DynamoStore;
use payments_glase::{GlaseSettings, ProtocolGateway};
use payments_push::{ApiGatewayPush, LocalHub};
use payments_sqs::{InMemoryQueue, QueueUrl, SqsRefundQueue};

use crate::app::App;
use crate::auth::ApiKeys;
use crate::metrics::Metrics;
use crate::settings::{SdkTimeouts, Settings};

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_unix_millis(ms)
    }
}

/// Ids and secrets from the operating system's cryptographically secure generator, and the key client
/// secrets derive from when this process creates payments (`Default` has none).
#[derive(Clone, Debug, Default)]
pub struct OsRandom {
    client_secret_key: Option<ClientSecretKey>,
}

impl OsRandom {
    /// Random ids, and client secrets derived under `key` (none without one).
    pub fn new(client_secret_key: Option<ClientSecretKey>) -> Self {
        OsRandom { client_secret_key }
    }

    /// Random ids, and client secrets under a key drawn once for this process alone: for tests and
    /// benchmarks, where no replay outlives the process.
    pub fn with_process_key() -> Self {
        static KEY: std::sync::OnceLock<Option<ClientSecretKey>> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(|| {
            let text = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
            ClientSecretKey::parse(&text).ok()
        });
        OsRandom::new(key.clone())
    }
}

impl IdGenerator for OsRandom {
    fn random_128(&self) -> [u8; 16] {
        rand::random()
    }

    fn client_secret_key(&self) -> Option<&ClientSecretKey> {
        self.client_secret_key.as_ref()
    }
}

/// The refund queue of this process: SQS in AWS, the in-process queue on a laptop, or none for
/// functions that queue nothing.
#[derive(Clone, Debug)]
pub enum AnyQueue {
    /// SQS.
    Sqs(SqsRefundQueue),
    /// The local stack's in-process queue.
    Memory(InMemoryQueue),
    /// No queue configured.
    None,
}

impl RefundQueue for AnyQueue {
    async fn enqueue(&self, message: &RefundMessage) -> Result<(), QueueError> {
        match self {
            AnyQueue::Sqs(q) => q.enqueue(message).await,
            AnyQueue::Memory(q) => q.enqueue(message).await,
            AnyQueue::None => Err(QueueError::Unavailable {
                reason: "no refund queue is configured".into(),
            }),
        }
    }
}

/// Where status pushes go: the WebSocket API in AWS, the local hub on a laptop, or nowhere (browsers
/// then poll).
#[derive(Clone, Debug)]
pub enum AnyPush {
    /// API Gateway's management API.
    ApiGateway(ApiGatewayPush),
    /// The local stack's sockets.
    Local(LocalHub),
    /// No pushes.
    None,
}

impl StatusPush for AnyPush {
    async fn push(&self, connection: &ConnectionId, update: &StatusUpdate) -> Result<(), PushError> {
        match self {
            AnyPush::ApiGateway(p) => p.push(connection, update).await,
            AnyPush::Local(p) => p.push(connection, update).await,
            AnyPush::None => Err(PushError::Unavailable {
                reason: "no push endpoint is configured".into(),
            }),
        }
    }
}

/// The real adapters of every port. Glase is `None` for a function whose settings hold no Glase
/// configuration (see `payments_domain::optional`).
pub type LivePorts = (
    DynamoStore,
    Option<ProtocolGateway<SystemClock>>,
    AnyQueue,
    AnyPush,
    SystemClock,
    OsRandom,
);

/// The application with the real adapters.
pub type LiveApp = App<LivePorts>;

/// Why the application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// A setting cannot be used.
    #[error("{0}")]
    Setting(String),
}

/// The Glase gateway of `settings`; with `warm_up` its connection is opened (best effort) before the
/// first request.
pub async fn glase_gateway(
    settings: &Settings,
    warm_up: bool,
) -> Result<ProtocolGateway<SystemClock>, WiringError> {
    let g = settings
        .glase
        .as_ref()
        .ok_or_else(|| WiringError::Setting("Glase is not configured".into()))?;
    let mut config = GlaseClientConfig::new(g.endpoint.clone());
    config.request_timeout = g.request_timeout;
    config.connect_timeout = Duration::from_secs(2);
    let client = GlaseClient::new(config).map_err(|e| WiringError::Setting(e.to_string()))?;
    if warm_up && let Err(e) = client.warm_up().await {
        tracing::warn!(error = %e, "could not open a connection to Glase during start-up");
    }
    let gateway_settings = GlaseSettings::new(
        g.terminal_id.clone(),
        g.terminal_password.clone(),
        g.reseller_id.clone(),
        g.reseller_user_id.clone(),
        g.reseller_password.clone(),
        g.terminal_password_secret.clone(),
    );
    Ok(ProtocolGateway::new(client, gateway_settings, SystemClock))
}

/// The use-case settings of `settings`: a store write is kept the SDK's operation timeout.
pub fn use_case_settings(settings: &Settings) -> UseCaseSettings {
    let defaults = UseCaseSettings::default();
    UseCaseSettings {
        public_base_url: settings.public_base_url.clone().unwrap_or_default(),
        payment_expiry: settings.payment_expiry,
        reserves: payments_domain::usecases::Reserves {
            store_write: settings.sdk_timeouts.operation,
            ..defaults.reserves
        },
        ..defaults
    }
}

/// `aws` with `timeouts` as every client's operation and attempt timeouts.
pub fn timed(aws: &aws_config::SdkConfig, timeouts: SdkTimeouts) -> aws_config::SdkConfig {
    aws.to_builder().timeout_config(timeouts.config()).build()
}

/// The DynamoDB store of `settings`.
pub fn live_store(settings: &Settings, aws: &aws_config::SdkConfig) -> DynamoStore {
    let table = settings.table_name.clone().unwrap_or_default();
    let aws = timed(aws, settings.sdk_timeouts);
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)
}

/// The dependencies of the WebSocket function: the store and the clock only. It holds no Glase
/// credentials, queue or push client, so those ports are `()`.
pub type ConnectionDeps = Deps<(DynamoStore, (), (), (), SystemClock, ())>;

/// Builds the WebSocket function's dependencies.
pub fn connection_deps(settings: &Settings, aws: &aws_config::SdkConfig) -> ConnectionDeps {
    Deps {
        store: live_store(settings, aws),
        glase: (),
        queue: (),
        push: (),
        clock: SystemClock,
        ids: (),
        settings: use_case_settings(settings),
    }
}

/// Builds the application of one Lambda function from its settings and the AWS configuration.
pub async fn live_app(settings: &Settings, aws: &aws_config::SdkConfig) -> Result<LiveApp, WiringError> {
    let store = live_store(settings, aws);
    let aws = &timed(aws, settings.sdk_timeouts);
    // Only a function whose settings include Glase gets a gateway (the refund request has none).
    let glase = match settings.glase {
        Some(_) => Some(glase_gateway(settings, true).await?),
        None => None,
    };
    let queue = match &settings.refund_queue_url {
        Some(url) => AnyQueue::Sqs(SqsRefundQueue::new(
            aws_sdk_sqs::Client::new(aws),
            QueueUrl::parse(url).map_err(|e| WiringError::Setting(e.to_string()))?,
        )),
        None => AnyQueue::None,
    };
    let push = match &settings.websocket_endpoint {
        Some(endpoint) => AnyPush::ApiGateway(ApiGatewayPush::for_endpoint(aws, endpoint)),
        None => AnyPush::None,
    };
    let api_keys = match &settings.api_key_hashes {
        Some(hashes) => {
            ApiKeys::parse(hashes).map_err(|e| WiringError::Setting(format!("API_KEY_HASHES: {e}")))?
        }
        None => ApiKeys::none(),
    };
    Ok(App {
        deps: Deps {
            store,
            glase,
            queue,
            push,
            clock: SystemClock,
            ids: OsRandom::new(settings.client_secret_key.clone()),
            settings: use_case_settings(settings),
        },
        api_keys,
        metrics: Metrics::stdout(settings.function.crate_name()),
        function: Some(settings.function),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::settings::{Function, env};

    /// Every setting any function reads, with Glase at a closed loopback port (the app warms its
    /// connection up at start) and a well-formed API key hash.
    fn environment() -> BTreeMap<String, String> {
        let mut vars = crate::testing::complete_env();
        vars.insert(
            env::GLASE_ENDPOINT.to_owned(),
            "http://127.0.0.1:9/extclientproxy/service/v2".to_owned(),
        );
        vars.insert(
            env::API_KEY_HASHES.to_owned(),
            crate::auth::hash_api_key("sk_test_wiring"),
        );
        vars
    }

    fn aws() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build()
    }

    #[tokio::test]
    async fn a_store_call_to_a_silent_dynamodb_ends_by_the_sdk_operation_timeout() {
        use payments_domain::ports::{PaymentStore, StoreError};
        // A listener that accepts every connection and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let mut vars = environment();
        vars.insert(env::SDK_OPERATION_TIMEOUT_MS.to_owned(), "500".to_owned());
        vars.insert(env::SDK_ATTEMPT_TIMEOUT_MS.to_owned(), "200".to_owned());
        let settings = Settings::load(Function::PaymentStatus, &vars).unwrap();
        assert_eq!(
            settings.sdk_timeouts,
            SdkTimeouts {
                operation: Duration::from_millis(500),
                attempt: Duration::from_millis(200),
            }
        );
        assert_eq!(
            use_case_settings(&settings).reserves.store_write,
            Duration::from_millis(500)
        );
        let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "wiring-tests",
            ))
            .endpoint_url(&endpoint)
            .load()
            .await;
        let store = live_store(&settings, &aws);
        let started = std::time::Instant::now();
        let id = payments_domain::ids::PaymentId::from_random([7; 16]);
        let answer = tokio::time::timeout(Duration::from_secs(5), store.get_payment(&id))
            .await
            .expect("the SDK's operation timeout ends the call");
        let took = started.elapsed();
        assert!(
            matches!(answer, Err(StoreError::Unavailable { .. })),
            "{answer:?}"
        );
        // Generous: ten times the operation timeout, never the SDK's retries of silent attempts.
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(took >= Duration::from_millis(200), "{took:?}");
        held.abort();
    }

    #[test]
    fn an_sdk_attempt_timeout_above_the_operation_timeout_is_refused() {
        let mut vars = environment();
        vars.insert(env::SDK_OPERATION_TIMEOUT_MS.to_owned(), "500".to_owned());
        vars.insert(env::SDK_ATTEMPT_TIMEOUT_MS.to_owned(), "800".to_owned());
        let err = Settings::load(Function::CreatePayment, &vars).unwrap_err();
        assert!(err.to_string().contains(env::SDK_ATTEMPT_TIMEOUT_MS), "{err}");
        assert_eq!(SdkTimeouts::load(&environment()).unwrap(), SdkTimeouts::default());
    }

    #[tokio::test]
    async fn every_function_that_serves_with_the_app_builds_it_from_its_own_settings() {
        for function in Function::ALL.iter().filter(|f| **f != Function::WebSocket) {
            let settings = Settings::load(*function, &environment()).unwrap();
            let app = live_app(&settings, &aws())
                .await
                .unwrap_or_else(|e| panic!("{function:?}: {e}"));
            // The refund request needs no Glase: it has no gateway (and no Glase secret).
            assert_eq!(
                app.deps.glase.is_none(),
                *function == Function::RefundRequest,
                "{function:?}"
            );
            // Only the function that creates payments holds the client secret key.
            assert_eq!(
                app.deps.ids.client_secret_key().is_some(),
                *function == Function::CreatePayment,
                "{function:?}"
            );
        }
    }
}
