//! The services the functions need, in this process on loopback ports: an embedded DynamoDB (dynoxide,
//! in memory) with the payments table, the Glase sandbox, and a catcher of the sandbox's notifications.
//! An in-process copy of the application (the same `payments_api::wiring::live_app` the functions
//! build) prepares the state an event needs: a pending payment, a paid one with its notification, a
//! confirmed one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use glase_sandbox::{SandboxConfig, SandboxHandle};
use payments_api::settings::{Function, GlaseConfig, Settings};
use payments_api::wiring::LiveApp;
use secrecy::SecretString;
use tokio::sync::{Notify, oneshot};

/// The API key the sample events carry (`Authorization: Bearer …`).
pub const EVENTS_API_KEY: &str = "sk_test_events_key";

/// The payments table's name.
pub const TABLE_NAME: &str = "payments";

/// The terminal-password master secret every process gets (a benchmark value, not a secret).
const TERMINAL_SECRET: &str = "lambda-bench-terminal-password-master-secret";
/// The client secret key every process gets (a benchmark value, not a secret).
const CLIENT_SECRET_KEY: &str = "lambda-bench-client-secret-key-of-32-bytes-or-more";

/// A payment prepared for an event.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Its id.
    pub id: String,
    /// The client secret shown at creation.
    pub client_secret: String,
    /// Glase's invoice reference.
    pub invoice_reference: String,
}

/// A notification the sandbox sent: the path and the query string (with the token).
#[derive(Debug, Clone)]
pub struct Notification {
    /// `/v1/notifications/<id>`.
    pub path: String,
    /// `token=…`.
    pub query: String,
}

#[derive(Default)]
struct Catcher {
    caught: Mutex<HashMap<String, String>>,
    changed: Notify,
}

/// The running stand-ins. Dropping them stops every server.
pub struct StandIns {
    /// `http://127.0.0.1:<port>` of the embedded DynamoDB.
    pub dynamo_endpoint: String,
    /// The sandbox (SOAP at `soap_endpoint_url()`).
    pub sandbox: SandboxHandle,
    /// The public base URL: the notification catcher.
    pub public_base_url: String,
    catcher: Arc<Catcher>,
    app: LiveApp,
    settings: Settings,
    counter: Mutex<u64>,
    _stop_dynamo: oneshot::Sender<()>,
    _stop_catcher: oneshot::Sender<()>,
}

/// Why the stand-ins could not start or prepare something.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StandInError(pub String);

fn err(context: &str) -> impl Fn(String) -> StandInError + '_ {
    move |e| StandInError(format!("{context}: {e}"))
}

/// A listener on a free loopback port, and its `http://127.0.0.1:<port>` URL.
async fn loopback_listener() -> Result<(tokio::net::TcpListener, String), StandInError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| StandInError(format!("bind: {e}")))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| StandInError(e.to_string()))?
    );
    Ok((listener, url))
}

impl StandIns {
    /// Starts DynamoDB (with the table), the sandbox and the notification catcher.
    pub async fn start() -> Result<Self, StandInError> {
        // DynamoDB.
        let db = dynoxide::Database::memory().map_err(|e| StandInError(format!("dynoxide: {e}")))?;
        let (listener, dynamo_endpoint) = loopback_listener().await?;
        let (stop_dynamo, stopped) = oneshot::channel::<()>();
        tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
            let _ = stopped.await;
        }));
        let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "lambda-bench",
            ))
            .endpoint_url(&dynamo_endpoint)
            .load()
            .await;
        payments_dynamodb::table::create_table(&aws_sdk_dynamodb::Client::new(&aws), TABLE_NAME)
            .await
            .map_err(|e| StandInError(format!("cannot create the table: {e}")))?;

        // Glase.
        let sandbox = glase_sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| StandInError(format!("sandbox: {e}")))?;

        // The notification catcher (the functions' public base URL).
        let catcher = Arc::new(Catcher::default());
        let (listener, public_base_url) = loopback_listener().await?;
        let router = Router::new()
            .route("/v1/notifications/{id}", post(catch))
            .with_state(Arc::clone(&catcher));
        let stop_catcher = crate::serve_until_dropped(listener, router);

        let settings = settings(&sandbox, &public_base_url)?;
        let mut app = payments_api::wiring::live_app(&settings, &aws)
            .await
            .map_err(|e| StandInError(format!("the in-process app: {e}")))?;
        // The preparing app's metrics would mix with the table on standard output.
        app.metrics = payments_api::metrics::Metrics::to_writer("lambda-bench", Box::new(std::io::sink()));
        // It prepares state through every route (a notification confirms the refund's payment), like the
        // local stack; the settings' function would limit it to that function's routes.
        app.function = None;
        Ok(Self {
            dynamo_endpoint,
            sandbox,
            public_base_url,
            catcher,
            app,
            settings,
            counter: Mutex::new(0),
            _stop_dynamo: stop_dynamo,
            _stop_catcher: stop_catcher,
        })
    }

    /// The environment of a function process: its settings (secrets straight from the environment, no
    /// `<NAME>_SECRET_ARN`), fake AWS credentials and region, the SDK endpoints, and what Lambda sets.
    pub fn function_env(&self, function_name: &str, runtime_api: &str) -> Vec<(String, String)> {
        let glase = self.settings.glase.as_ref();
        let config = self.sandbox.sandbox().config();
        let terminal = config.webshop_terminals.first();
        let pairs: Vec<(&str, String)> = vec![
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/30/[$LATEST]bench".to_owned(),
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_SESSION_TOKEN", "lambda-bench-session".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent/lambda-bench/config".to_owned()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/lambda-bench/credentials".to_owned(),
            ),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamo_endpoint.clone()),
            // No queue is contacted by the events used (see the README of this crate); the endpoint is a
            // closed loopback port so nothing could leave the machine if one were.
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("TABLE_NAME", TABLE_NAME.to_owned()),
            ("GLASE_ENDPOINT", self.sandbox.soap_endpoint_url()),
            (
                "GLASE_TERMINAL_ID",
                terminal.map(|t| t.terminal_id.clone()).unwrap_or_default(),
            ),
            (
                "GLASE_TERMINAL_PASSWORD",
                terminal.map(|t| t.password.clone()).unwrap_or_default(),
            ),
            ("GLASE_RESELLER_ID", config.reseller.id.clone()),
            ("GLASE_RESELLER_USER_ID", config.reseller.user_id.clone()),
            ("GLASE_RESELLER_PASSWORD", config.reseller.password.clone()),
            ("TERMINAL_PASSWORD_SECRET", TERMINAL_SECRET.to_owned()),
            ("CLIENT_SECRET_KEY", CLIENT_SECRET_KEY.to_owned()),
            (
                "REFUND_QUEUE_URL",
                "http://127.0.0.1:9/000000000000/glase-refunds".to_owned(),
            ),
            ("PUBLIC_BASE_URL", self.public_base_url.clone()),
            ("API_KEY_HASHES", payments_api::auth::hash_api_key(EVENTS_API_KEY)),
            (
                "GLASE_TIMEOUT_MS",
                glase
                    .map(|g| g.request_timeout.as_millis().to_string())
                    .unwrap_or_else(|| "10000".to_owned()),
            ),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn next_number(&self) -> u64 {
        let mut counter = self.counter.lock().unwrap_or_else(PoisonError::into_inner);
        *counter += 1;
        *counter
    }

    /// Creates a pending webshop payment through the in-process app (Glase's sendInvoice included).
    pub async fn create_payment(&self) -> Result<Prepared, StandInError> {
        let n = self.next_number();
        let body = serde_json::json!({
            "order_id": format!("BENCH-{n}"),
            "currency": "SEK",
            "total": 12550,
        });
        let request = http::Request::builder()
            .method("POST")
            .uri("/v1/payments")
            .header("authorization", format!("Bearer {EVENTS_API_KEY}"))
            .header("content-type", "application/json")
            .header("idempotency-key", format!("lambda-bench-prepare-{n}"))
            .body(Bytes::from(body.to_string()));
        let created = self
            .handled(request, StatusCode::CREATED, "creating a payment")
            .await?;
        let value: serde_json::Value =
            serde_json::from_str(&created).map_err(|e| err("the created payment")(e.to_string()))?;
        let text = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StandInError(format!("the created payment has no {name}")))
        };
        Ok(Prepared {
            id: text("id")?,
            client_secret: text("client_secret")?,
            invoice_reference: text("invoice_reference")?,
        })
    }

    /// Creates a payment, has the shopper pay it in the sandbox, and answers the notification the
    /// sandbox sent (not yet handled by anybody: the payment waits for its confirmation).
    pub async fn paid_payment(&self) -> Result<(Prepared, Notification), StandInError> {
        let payment = self.create_payment().await?;
        self.sandbox
            .sandbox()
            .pay_invoice(&payment.invoice_reference)
            .map_err(|e| StandInError(format!("paying in the sandbox: {e:?}")))?;
        let query = self.caught(&payment.id, Duration::from_secs(10)).await?;
        let notification = Notification {
            path: format!("/v1/notifications/{}", payment.id),
            query,
        };
        Ok((payment, notification))
    }

    /// A paid payment confirmed through its notification (handled by the in-process app).
    pub async fn confirmed_payment(&self) -> Result<Prepared, StandInError> {
        let (payment, notification) = self.paid_payment().await?;
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{}?{}", notification.path, notification.query))
            .body(Bytes::new());
        self.handled(request, StatusCode::OK, "the notification").await?;
        Ok(payment)
    }

    /// Has the in-process app handle `request` and answers the body, or an error naming `what` when
    /// the request cannot be built or the answer's status is not `expected`.
    async fn handled(
        &self,
        request: http::Result<http::Request<Bytes>>,
        expected: StatusCode,
        what: &str,
    ) -> Result<String, StandInError> {
        let request = request.map_err(|e| StandInError(e.to_string()))?;
        let response = self.app.handle(request).await;
        if response.status() != expected {
            return Err(StandInError(format!(
                "{what} answered {}: {}",
                response.status(),
                response.body()
            )));
        }
        Ok(response.into_body())
    }

    async fn caught(&self, payment_id: &str, timeout: Duration) -> Result<String, StandInError> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.catcher.changed.notified();
            if let Some(query) = self
                .catcher
                .caught
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(payment_id)
            {
                return Ok(query);
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                return Err(StandInError(format!("no notification arrived for {payment_id}")));
            }
        }
    }
}

const REGION: &str = "eu-north-1";
const ACCESS_KEY_ID: &str = "AKIALAMBDABENCH00000";
const SECRET_ACCESS_KEY: &str = "lambda-bench-not-a-secret";

fn settings(sandbox: &SandboxHandle, public_base_url: &str) -> Result<Settings, StandInError> {
    let config = sandbox.sandbox().config();
    let terminal = config
        .webshop_terminals
        .first()
        .ok_or_else(|| StandInError("the sandbox has no webshop terminal".into()))?;
    Ok(Settings {
        function: Function::CreatePayment,
        table_name: Some(TABLE_NAME.to_owned()),
        glase: Some(GlaseConfig {
            endpoint: sandbox.soap_endpoint_url(),
            request_timeout: Duration::from_secs(10),
            terminal_id: terminal.terminal_id.clone(),
            terminal_password: SecretString::from(terminal.password.clone()),
            reseller_id: config.reseller.id.clone(),
            reseller_user_id: config.reseller.user_id.clone(),
            reseller_password: SecretString::from(config.reseller.password.clone()),
            terminal_password_secret: SecretString::from(TERMINAL_SECRET),
        }),
        refund_queue_url: None,
        public_base_url: Some(public_base_url.to_owned()),
        api_key_hashes: Some(SecretString::from(payments_api::auth::hash_api_key(
            EVENTS_API_KEY,
        ))),
        websocket_endpoint: None,
        payment_expiry: Duration::from_secs(3_600),
        sdk_timeouts: payments_api::settings::SdkTimeouts::default(),
        client_secret_key: Some(
            payments_domain::secret::ClientSecretKey::parse(CLIENT_SECRET_KEY)
                .map_err(|e| StandInError(format!("CLIENT_SECRET_KEY: {e}")))?,
        ),
    })
}

async fn catch(
    State(catcher): State<Arc<Catcher>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> StatusCode {
    catcher
        .caught
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, query.unwrap_or_default());
    catcher.changed.notify_waiters();
    StatusCode::OK
}
