//! The application with its real adapters in one process, counted: DynamoDB on dynoxide behind the
//! counting decorator (and the store's own capacity meter), Glase on the sandbox (spawned on loopback)
//! behind the counting decorator with an observer that notes when each call leaves, and the handlers
//! behind an HTTP server on loopback, where the sandbox sends its notifications. Every request the server
//! answers is reported with the instants it arrived and was answered.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use glase_protocol::{GlaseClient, GlaseClientConfig};
use glase_sandbox::{SandboxConfig, SandboxHandle};
use http::Method;
use payments_api::app::{ApiRequest, App, request};
use payments_api::auth::{ApiKeys, hash_api_key};
use payments_api::metrics::Metrics;
use payments_api::wiring::{AnyPush, AnyQueue, OsRandom};
use payments_domain::counting::Counting;
use payments_domain::ports::Clock;
use payments_domain::usecases::{Deps, UseCaseSettings};
use payments_dynamodb::DynamoStore;
use payments_dynamodb::testing::{Backend, TestTable};
use payments_glase::{GlaseSettings, ProtocolGateway};
use payments_sqs::InMemoryQueue;
use payments_sqs::queue::REFUND_QUEUE;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;

/// The merchant API key the stack accepts.
pub const API_KEY: &str = "sk_bench_key";

/// The application of the stack.
pub type BenchApp<C> = App<(
    Counting<DynamoStore>,
    Counting<ProtocolGateway<C>>,
    AnyQueue,
    AnyPush,
    C,
    OsRandom,
)>;

/// A request the stack's HTTP server answered.
#[derive(Clone, Debug)]
pub struct Served {
    /// The path (no query string).
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// When the request reached the handler.
    pub arrived: Instant,
    /// When the handler had its answer.
    pub answered: Instant,
}

/// A Glase call as it left: the port operation's name and the instant.
pub type GlaseCallLog = Arc<Mutex<Vec<(&'static str, Instant)>>>;

/// The running stack.
pub struct Stack<C: Clock> {
    /// The application (call it in process with [`Stack::call`], or over HTTP at [`Stack::base`]).
    pub app: Arc<BenchApp<C>>,
    /// The Glase sandbox.
    pub sandbox: SandboxHandle,
    /// The refund queue.
    pub queue: InMemoryQueue,
    /// The HTTP server's base URL, which the notification URLs point at.
    pub base: String,
    /// The requests the HTTP server answered, in order.
    pub served: mpsc::UnboundedReceiver<Served>,
    /// Every Glase call as it left.
    pub glase_calls: GlaseCallLog,
    _table: TestTable,
}

impl<C: Clock + Clone + Send + Sync + 'static> Stack<C> {
    /// Starts the sandbox, a fresh dynoxide table and the HTTP server; the application uses `clock`.
    pub async fn start(clock: C) -> Stack<C> {
        let sandbox = glase_sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("the sandbox starts");
        let table = TestTable::new(Backend::Dynoxide).await;
        let queue = InMemoryQueue::new(REFUND_QUEUE);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let accounts = sandbox.sandbox().config().clone();
        let webshop = &accounts.webshop_terminals[0];
        let glase_calls: GlaseCallLog = Arc::default();
        let log = Arc::clone(&glase_calls);
        let gateway = ProtocolGateway::new(
            GlaseClient::new(GlaseClientConfig::new(sandbox.soap_endpoint_url())).expect("a client"),
            GlaseSettings::new(
                webshop.terminal_id.clone(),
                SecretString::from(webshop.password.clone()),
                accounts.reseller.id.clone(),
                accounts.reseller.user_id.clone(),
                SecretString::from(accounts.reseller.password.clone()),
                SecretString::from("bench master secret"),
            ),
            clock.clone(),
        );
        let app = Arc::new(App {
            deps: Deps {
                store: Counting::new(DynamoStore::new(table.client.clone(), table.table_name.clone())),
                glase: Counting::observed(
                    gateway,
                    Arc::new(move |op| {
                        if let Ok(mut calls) = log.lock() {
                            calls.push((op, Instant::now()));
                        }
                    }),
                ),
                queue: AnyQueue::Memory(queue.clone()),
                push: AnyPush::None,
                clock,
                ids: OsRandom::with_process_key(),
                settings: UseCaseSettings {
                    public_base_url: base.clone(),
                    ..UseCaseSettings::default()
                },
            },
            api_keys: ApiKeys::parse(&SecretString::from(hash_api_key(API_KEY))).expect("a key hash"),
            metrics: Metrics::to_writer("bench", Box::new(std::io::sink())),
            function: None,
        });
        let (tx, served) = mpsc::unbounded_channel();
        let routed = Arc::clone(&app);
        let router = payments_api::serve::router(move |request: ApiRequest| {
            let app = Arc::clone(&routed);
            let tx = tx.clone();
            async move {
                let arrived = Instant::now();
                let path = request.uri().path().to_owned();
                let response = app.handle(request).await;
                let answered = Instant::now();
                let _ = tx.send(Served {
                    path,
                    status: response.status().as_u16(),
                    arrived,
                    answered,
                });
                response
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Stack {
            app,
            sandbox,
            queue,
            base,
            served,
            glase_calls,
            _table: table,
        }
    }

    /// One request through `App::handle` in process; answers the status and the JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend_from_slice(auth);
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let response = self.app.handle(request(method, path, &headers, bytes)).await;
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(response.body()).unwrap_or(Value::Null),
        )
    }

    /// A request with the merchant's API key.
    pub async fn merchant(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let bearer = format!("Bearer {API_KEY}");
        self.call(method, path, &[("authorization", &bearer)], body).await
    }

    /// A request with a payment's client secret, as the widget or the till makes it.
    pub async fn shopper(&self, method: Method, payment: &Value, suffix: &str) -> (u16, Value) {
        let id = payment["id"].as_str().unwrap_or_default();
        let secret = payment["client_secret"].as_str().unwrap_or_default();
        self.call(
            method,
            &format!("/v1/payments/{id}{suffix}"),
            &[("x-client-secret", secret)],
            None,
        )
        .await
    }

    /// The next request the HTTP server answered whose path starts with `prefix`, skipping others.
    pub async fn next_served(&mut self, prefix: &str) -> Served {
        loop {
            let served = self.served.recv().await.expect("the server runs");
            if served.path.starts_with(prefix) {
                return served;
            }
        }
    }

    /// Takes the Glase calls logged so far.
    pub fn take_glase_calls(&self) -> Vec<(&'static str, Instant)> {
        self.glase_calls
            .lock()
            .map(|mut calls| std::mem::take(&mut *calls))
            .unwrap_or_default()
    }
}

/// A webshop order of `total` minor units (SEK) with one row.
pub fn webshop_order(total: i64) -> Value {
    serde_json::json!({
        "order_id": "B-1",
        "currency": "SEK",
        "total": total,
        "rows": [{ "description": "Tea", "total": total }]
    })
}
