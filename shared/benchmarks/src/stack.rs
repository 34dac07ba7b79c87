//! The application with its real adapters in one process, counted: the live stack of
//! `payments_api::testing::stack` (DynamoDB on dynoxide, Glase on the sandbox spawned on loopback, the
//! handlers behind an HTTP server on loopback, where the sandbox sends its notifications), with the store
//! behind the counting decorator (and the store's own capacity meter) and Glase behind the counting
//! decorator with an observer that notes when each call leaves. Every request the server answers is
//! reported with the instants it arrived and was answered.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use glase_sandbox::SandboxHandle;
use http::Method;
use payments_api::app::{ApiRequest, App};
use payments_api::testing::stack::{LiveStack, StackPorts, live_stack};
use payments_domain::counting::Counting;
use payments_domain::ports::Clock;
use payments_dynamodb::DynamoStore;
use payments_dynamodb::testing::TestTable;
use payments_glase::ProtocolGateway;
use payments_sqs::InMemoryQueue;
use serde_json::Value;
use tokio::sync::mpsc;

/// The merchant API key the stack accepts.
pub const API_KEY: &str = "sk_bench_key";

/// The application of the stack.
pub type BenchApp<C> = App<StackPorts<Counting<DynamoStore>, Counting<ProtocolGateway<C>>, C>>;

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
        let glase_calls: GlaseCallLog = Arc::default();
        let log = Arc::clone(&glase_calls);
        let (tx, served) = mpsc::unbounded_channel();
        let LiveStack {
            app,
            sandbox,
            queue,
            base,
            table,
        } = live_stack(API_KEY)
            .clock(clock)
            .master_secret("bench master secret")
            .start_with(
                |store, gateway| {
                    let observer = Arc::new(move |op| {
                        if let Ok(mut calls) = log.lock() {
                            calls.push((op, Instant::now()));
                        }
                    });
                    (Counting::new(store), Counting::observed(gateway, observer))
                },
                |app| observed_router(app, tx),
            )
            .await;
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
        let body = body.map(Value::to_string).unwrap_or_default();
        payments_api::testing::call(&self.app, method, path, auth, body).await
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

/// A router answering with `app` that reports every request it answered to `tx`.
fn observed_router<C: Clock + Clone + 'static>(
    app: Arc<BenchApp<C>>,
    tx: mpsc::UnboundedSender<Served>,
) -> Router {
    payments_api::serve::router(move |request: ApiRequest| {
        let app = Arc::clone(&app);
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
    })
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
