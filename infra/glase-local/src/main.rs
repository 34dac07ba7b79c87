//! `glase-local`: the whole Glase payment backend in one process on a laptop.
//!
//! Every function's handler serves the v1 API on one port, over an embedded DynamoDB (dynoxide, kept in
//! the data directory), an in-process refund queue, the schedules as timers, a WebSocket endpoint, and the
//! Glase sandbox mounted under `/glase` (SOAP) and `/sandbox` (the shopper's side). A demo shop and the
//! checkout widget show a payment end to end. `--glase-endpoint` and the SDK's own endpoint variables point
//! it at real services instead; nothing inside the handlers knows the difference.

mod args;
mod dynamo;
mod shop;
mod ws;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use glase_sandbox::{Sandbox, SandboxConfig};
use payments_api::app::{App, QueuedMessage};
use payments_api::auth::{ApiKeys, hash_api_key};
use payments_api::jobs::SafetyNetPlan;
use payments_api::metrics::Metrics;
use payments_api::settings::{Function, GlaseConfig, Settings};
use payments_api::telemetry::{self, LogFormat, LogSettings};
use payments_api::wiring::{self, AnyPush, AnyQueue, LiveApp, OsRandom, SystemClock};
use payments_domain::usecases::Deps;
use payments_dynamodb::DynamoStore;
use payments_push::LocalHub;
use payments_sqs::InMemoryQueue;
use payments_sqs::queue::REFUND_QUEUE;
use secrecy::SecretString;

use crate::args::{Args, USAGE};

const WIDGET_JS: &str = include_str!("../assets/glase-checkout.js");

/// A value kept in the data directory, created once (so restarts keep the API key and the secrets).
fn persistent_secret(dir: &Path, name: &str, prefix: &str) -> std::io::Result<String> {
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let value = format!("{prefix}{:032x}", rand::random::<u128>());
    std::fs::write(&path, &value)?;
    Ok(value)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "glase-local",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

async fn api(app: Arc<LiveApp>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, payments_api::app::MAX_BODY_BYTES + 1).await else {
        return payments_api::app::error_response(&payments_api::error::ApiError::too_large(
            payments_api::app::MAX_BODY_BYTES,
        ))
        .map(Body::from);
    };
    app.handle(http::Request::from_parts(parts, bytes))
        .await
        .map(Body::from)
}

async fn widget() -> Response {
    let mut r = WIDGET_JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

async fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    let api_key = match env("GLASE_API_KEY") {
        Some(k) => k,
        None => persistent_secret(&args.data_dir, "api-key", "sk_local_").map_err(|e| e.to_string())?,
    };
    let terminal_secret =
        persistent_secret(&args.data_dir, "terminal-secret", "").map_err(|e| e.to_string())?;

    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");

    // DynamoDB: the SDK's own settings when given, else the embedded one.
    let (dynamo, table_name, _embedded) = match (env("AWS_ENDPOINT_URL_DYNAMODB"), env("TABLE_NAME")) {
        (Some(_), Some(table)) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            (aws_sdk_dynamodb::Client::new(&config), table, None)
        }
        _ => {
            let embedded = dynamo::start(&args.data_dir).await.map_err(|e| e.0)?;
            (
                dynamo_client(&embedded.endpoint).await,
                "payments".to_owned(),
                Some(embedded),
            )
        }
    };
    dynamo::ensure_table(&dynamo, &table_name)
        .await
        .map_err(|e| e.0)?;

    // Glase: a real endpoint when given, else the built-in sandbox on this port.
    let sandbox = match &args.glase_endpoint {
        Some(_) => None,
        None => Some(Sandbox::new(SandboxConfig::default()).map_err(|e| format!("sandbox: {e}"))?),
    };
    let glase = match (&args.glase_endpoint, &sandbox) {
        (Some(endpoint), _) => GlaseConfig {
            endpoint: endpoint.clone(),
            request_timeout: Duration::from_secs(10),
            terminal_id: env("GLASE_TERMINAL_ID").ok_or("GLASE_TERMINAL_ID is not set")?,
            terminal_password: SecretString::from(
                env("GLASE_TERMINAL_PASSWORD").ok_or("GLASE_TERMINAL_PASSWORD is not set")?,
            ),
            reseller_id: env("GLASE_RESELLER_ID").unwrap_or_default(),
            reseller_user_id: env("GLASE_RESELLER_USER_ID").unwrap_or_else(|| "9900".to_owned()),
            reseller_password: SecretString::from(env("GLASE_RESELLER_PASSWORD").unwrap_or_default()),
            terminal_password_secret: SecretString::from(terminal_secret.clone()),
        },
        (None, Some(sandbox)) => {
            let config = sandbox.config();
            let webshop = config
                .webshop_terminals
                .first()
                .ok_or("the sandbox has no webshop terminal")?;
            GlaseConfig {
                endpoint: format!("{base}/glase/extclientproxy/service/v2"),
                request_timeout: Duration::from_secs(10),
                terminal_id: webshop.terminal_id.clone(),
                terminal_password: SecretString::from(webshop.password.clone()),
                reseller_id: config.reseller.id.clone(),
                reseller_user_id: config.reseller.user_id.clone(),
                reseller_password: SecretString::from(config.reseller.password.clone()),
                terminal_password_secret: SecretString::from(terminal_secret.clone()),
            }
        }
        (None, None) => return Err("no Glase endpoint".into()),
    };
    let settings = Settings {
        function: Function::CreatePayment,
        table_name: Some(table_name.clone()),
        glase: Some(glase),
        refund_queue_url: None,
        public_base_url: Some(base.clone()),
        api_key_hashes: Some(SecretString::from(hash_api_key(&api_key))),
        websocket_endpoint: None,
        payment_expiry: Duration::from_secs(
            env("PAYMENT_EXPIRY_SECONDS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(120),
        ),
    };
    let hub = LocalHub::new();
    let refunds = InMemoryQueue::new(REFUND_QUEUE);
    let app: Arc<LiveApp> = Arc::new(App {
        deps: Deps {
            store: DynamoStore::new(dynamo, table_name),
            glase: Some(
                wiring::glase_gateway(&settings, false)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            queue: AnyQueue::Memory(refunds.clone()),
            push: AnyPush::Local(hub.clone()),
            clock: SystemClock,
            ids: OsRandom,
            settings: wiring::use_case_settings(&settings),
        },
        api_keys: ApiKeys::parse(&SecretString::from(hash_api_key(&api_key))).map_err(|e| e.to_string())?,
        metrics: Metrics::stdout("glase-local"),
        function: None,
    });

    let shop = shop::Shop::new(base.clone(), &api_key);
    let mut router = Router::new()
        .route("/", get(|| async { Redirect::temporary("/shop/") }))
        .route("/widget/glase-checkout.js", get(widget))
        .route(
            "/v1/ws",
            get(ws::upgrade).with_state(ws::WsState {
                app: app.clone(),
                hub,
            }),
        )
        .merge(shop.router());
    if let Some(sandbox) = &sandbox {
        router = router
            .nest("/glase", sandbox.soap_router())
            .merge(sandbox.controls_router());
    }
    let api_app = app.clone();
    let router = router.fallback(move |request: Request| api(api_app.clone(), request));

    // The schedules: the safety net every second, expiry every five (the same passes the safety-net
    // function runs in AWS).
    let sweeper = app.clone();
    tokio::spawn(async move {
        let plan = SafetyNetPlan::default();
        let mut tick = tokio::time::interval(plan.tick);
        let mut pass: u64 = 0;
        loop {
            tick.tick().await;
            pass += 1;
            sweeper.safety_net_pass(pass, &plan).await;
        }
    });

    // The refund worker: the in-process queue's messages, with the same batch handling as the Lambda.
    let worker = app.clone();
    tokio::spawn(async move {
        let mut n: u64 = 0;
        loop {
            let deliveries = refunds.receive_wait(10, Duration::from_secs(1)).await;
            let messages: Vec<QueuedMessage> = deliveries.iter().map(QueuedMessage::from).collect();
            let batch = worker.process_refund_messages(&messages).await;
            for d in deliveries
                .iter()
                .filter(|d| !batch.failed.contains(&d.message_id))
            {
                let _ = refunds.delete(&d.receipt_handle);
            }
            for (handle, delay) in &batch.delays {
                let _ = refunds.change_visibility(&payments_sqs::ReceiptHandle::new(handle.clone()), *delay);
            }
            n += 1;
            if n.is_multiple_of(30) {
                let _ = worker
                    .deps
                    .sweep_refunds(Duration::from_secs(60), Duration::from_secs(300), 100)
                    .await;
            }
        }
    });

    println!("glase-local listening on {base}");
    println!("  demo shop        {base}/shop/");
    println!("  API              {base}/v1/  (OpenAPI: {base}/v1/openapi.json)");
    println!("  API key          {api_key}");
    println!("  checkout widget  {base}/widget/glase-checkout.js");
    if sandbox.is_some() {
        println!("  Glase sandbox    {base}/glase/extclientproxy/service/v2  (WSDL: ?wsdl)");
        println!("  shopper's phone  {base}/sandbox/phone");
    }
    println!("  data             {}", args.data_dir.display());

    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("glase-local: shutting down");
        })
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(&LogSettings::from_env(
        &payments_api::config::ProcessEnv,
        LogFormat::Text,
    ));
    let args = match Args::parse(std::env::args().skip(1), env) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("glase-local: {}\n\n{USAGE}", e.0);
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glase-local: {e}");
            ExitCode::FAILURE
        }
    }
}
