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
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use glase_sandbox::{Sandbox, SandboxConfig};
use payments_api::app::{App, QueuedMessage};
use payments_api::auth::{ApiKeys, hash_api_key};
use payments_api::cors;
use payments_api::jobs::SafetyNetPlan;
use payments_api::metrics::Metrics;
use payments_api::settings::{Function, GlaseConfig, Settings};
use payments_api::telemetry::{self, LogFormat, LogSettings};
use payments_api::wiring::{self, AnyPush, AnyQueue, LivePorts, OsRandom, SystemClock};
use payments_domain::faults::{FaultyStore, StoreFaultRates};
use payments_domain::idempotency::IdempotencyPolicy;
use payments_domain::secret::ClientSecretKey;
use payments_domain::usecases::{Deps, WithStore};
use payments_dynamodb::DynamoStore;
use payments_push::LocalHub;
use payments_sqs::InMemoryQueue;
use payments_sqs::queue::REFUND_QUEUE;
use secrecy::SecretString;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::args::{Args, USAGE};

/// The application of the local stack: the live adapters, the store behind the fault decorator (which
/// passes everything through unless `GLASE_LOCAL_STORE_FAULTS` asks for faults).
pub type LocalApp = App<WithStore<LivePorts, FaultyStore<DynamoStore>>>;

/// The store faults asked for with `GLASE_LOCAL_STORE_FAULTS` (none when unset).
fn store_fault_rates(value: Option<String>) -> Result<StoreFaultRates, String> {
    match value {
        Some(text) => text
            .parse()
            .map_err(|e: payments_domain::faults::StoreFaultsParseError| {
                format!("GLASE_LOCAL_STORE_FAULTS: {e}")
            }),
        None => Ok(StoreFaultRates::NONE),
    }
}

/// A whole number of seconds from the environment variable `name` (its `value`), or `default` when it is
/// unset.
fn seconds_setting(name: &str, value: Option<String>, default: Duration) -> Result<Duration, String> {
    match value {
        Some(v) => v
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{name}: not a whole number of seconds: {v}")),
        None => Ok(default),
    }
}

/// The line glase-local prints about the store faults it injected (the soak reads it).
fn store_fault_line(store: &FaultyStore<DynamoStore>) -> String {
    let c = store.counts();
    format!(
        "glase-local: store faults injected: requests={} throttled={} conflicts={}",
        c.requests, c.throttled, c.conflicts
    )
}

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

async fn api(app: Arc<LocalApp>, request: Request) -> Response {
    let request = match payments_api::serve::api_request(request).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    let deadline = request_deadline(&request);
    // In AWS an invocation runs to its end when the caller hangs up; here too. Awaited inline, the
    // handler would be dropped with the connection, between sendInvoice and storing the payment say.
    let handled = tokio::spawn(async move { app.handle_within(request, deadline).await });
    match handled.await {
        Ok(response) => payments_api::serve::response(response),
        Err(e) => {
            tracing::error!(error = %e, "a request's handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The deadline Lambda would give the request: now plus the `Timeout` of the function whose route it
/// is ([`Function::timeout`]), so the use cases budget their calls as they do in AWS. `None` for a
/// path no function serves (answered without any call).
fn request_deadline(request: &payments_api::app::ApiRequest) -> Option<payments_domain::ids::Timestamp> {
    use payments_domain::ports::Clock;
    let route = payments_api::routes::Route::parse(request.method(), request.uri().path()).ok()?;
    Some(SystemClock.now().plus(route.function().timeout()))
}

/// The CORS layer of the API for the widget's origins, from the same rules the template deploys
/// ([`payments_api::cors`]); `None` without an origin (then the shop and the API share one origin).
fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| format!("--widget-origin: not an origin: {o}")))
        .collect::<Result<Vec<_>, _>>()?;
    let methods = cors::ALLOW_METHODS
        .iter()
        .map(|m| m.parse::<http::Method>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let headers = cors::ALLOW_HEADERS
        .iter()
        .map(|h| h.parse::<http::HeaderName>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(methods)
            .allow_headers(headers)
            .max_age(Duration::from_secs(cors::MAX_AGE_SECONDS)),
    ))
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
    // Client secrets derive from this key, so a replay after a restart on the same data answers the
    // secret the first answer gave.
    let client_secret_key = match env("CLIENT_SECRET_KEY") {
        Some(k) => k,
        None => persistent_secret(&args.data_dir, "client-secret-key", "").map_err(|e| e.to_string())?,
    };
    let client_secret_key = ClientSecretKey::parse(&client_secret_key)
        .map_err(|_| "CLIENT_SECRET_KEY: shorter than 32 bytes".to_owned())?;

    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    // Notification URLs are built from the public base URL: this address unless something in front of
    // it (a proxy, a tunnel) is named.
    let public_base = env("PUBLIC_BASE_URL").unwrap_or_else(|| base.clone());
    let store_faults = store_fault_rates(env("GLASE_LOCAL_STORE_FAULTS"))?;
    let glase_timeout = match env("GLASE_TIMEOUT_MS") {
        Some(v) => Duration::from_millis(
            v.parse()
                .map_err(|_| format!("GLASE_TIMEOUT_MS: not a number of milliseconds: {v}"))?,
        ),
        None => Duration::from_secs(10),
    };

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
            request_timeout: glase_timeout,
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
                request_timeout: glase_timeout,
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
        public_base_url: Some(public_base.clone()),
        api_key_hashes: Some(SecretString::from(hash_api_key(&api_key))),
        websocket_endpoint: None,
        payment_expiry: Duration::from_secs(
            env("PAYMENT_EXPIRY_SECONDS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(120),
        ),
        sdk_timeouts: payments_api::settings::SdkTimeouts::default(),
        client_secret_key: Some(client_secret_key.clone()),
    };
    let hub = LocalHub::new();
    let refunds = InMemoryQueue::new(REFUND_QUEUE);
    let store = FaultyStore::new(DynamoStore::new(dynamo, table_name), store_faults);
    let app: Arc<LocalApp> = Arc::new(App {
        deps: Deps {
            store: store.clone(),
            glase: Some(
                wiring::glase_gateway(&settings, false)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            queue: AnyQueue::Memory(refunds.clone()),
            push: AnyPush::Local(hub.clone()),
            clock: SystemClock,
            ids: OsRandom::new(Some(client_secret_key.clone())),
            settings: payments_domain::usecases::UseCaseSettings {
                refund_settle_margin: seconds_setting(
                    "GLASE_LOCAL_REFUND_SETTLE_MARGIN_SECONDS",
                    env("GLASE_LOCAL_REFUND_SETTLE_MARGIN_SECONDS"),
                    payments_domain::usecases::reports::REFUND_SETTLE_MARGIN,
                )?,
                idempotency: IdempotencyPolicy {
                    lease: seconds_setting(
                        "GLASE_LOCAL_IDEMPOTENCY_LEASE_SECONDS",
                        env("GLASE_LOCAL_IDEMPOTENCY_LEASE_SECONDS"),
                        IdempotencyPolicy::default().lease,
                    )?,
                    ..IdempotencyPolicy::default()
                },
                ..wiring::use_case_settings(&settings)
            },
        },
        api_keys: ApiKeys::parse(&SecretString::from(hash_api_key(&api_key))).map_err(|e| e.to_string())?,
        metrics: Metrics::stdout("glase-local"),
        function: None,
    });

    let shop = shop::Shop::new(base.clone(), &api_key);
    let mut router = Router::new()
        .route("/", get(|| async { Redirect::temporary("/shop/") }))
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
    let mut router = router.fallback(move |request: Request| api(api_app.clone(), request));
    if let Some(layer) = cors_layer(&args.widget_origins)? {
        router = router.layer(layer);
    }

    // The schedules: the safety net's sweeps side by side (confirmation and receipts every second,
    // expiry every five), the same run the safety-net function makes in AWS, renewed every hour.
    let sweeper = app.clone();
    tokio::spawn(async move {
        let plan = SafetyNetPlan::default();
        loop {
            sweeper.run_safety_net(&plan, Duration::from_secs(3600)).await;
        }
    });

    // The refund worker: the in-process queue's messages, with the same batch handling as the Lambda.
    // The outbox sweep re-queues refunds still `queued` after a minute and hands refunds left `sending`
    // (a crash mid-call) to reconciliation after five minutes, or GLASE_LOCAL_REFUND_SENDING_SECONDS.
    let stuck_sending = seconds_setting(
        "GLASE_LOCAL_REFUND_SENDING_SECONDS",
        env("GLASE_LOCAL_REFUND_SENDING_SECONDS"),
        Duration::from_secs(300),
    )?;
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
                    .sweep_refunds(Duration::from_secs(60), stuck_sending, 100)
                    .await;
            }
        }
    });

    if store_faults.is_active() {
        // What was injected, every two seconds while it changes (a killed process prints no last line).
        let faulty = store.clone();
        tokio::spawn(async move {
            let mut last = String::new();
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let line = store_fault_line(&faulty);
                if line != last {
                    println!("{line}");
                    last = line;
                }
            }
        });
        println!("  store faults     {store_faults} (GLASE_LOCAL_STORE_FAULTS)");
    }

    println!("glase-local listening on {base}");
    println!("  demo shop        {base}/shop/");
    println!("  API              {base}/v1/  (OpenAPI: {base}/v1/openapi.json)");
    println!("  API key          {api_key}");
    println!("  checkout widget  {base}{}", payments_api::widget::PATH);
    for origin in &args.widget_origins {
        println!("  widget origin    {origin} (CORS)");
    }
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
        .map_err(|e| e.to_string())?;
    if store_faults.is_active() {
        println!("{}", store_fault_line(&store));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_faults_are_off_unless_asked_for() {
        assert_eq!(store_fault_rates(None), Ok(StoreFaultRates::NONE));
        let rates = store_fault_rates(Some("throttle=0.05,conflict=0.1".into())).unwrap();
        assert!(rates.is_active());
        assert_eq!((rates.throttle_ppm, rates.conflict_ppm), (50_000, 100_000));
        let e = store_fault_rates(Some("throttle=5".into())).unwrap_err();
        assert!(
            e.starts_with("GLASE_LOCAL_STORE_FAULTS: store faults: throttle"),
            "{e}"
        );
    }

    #[test]
    fn a_request_gets_the_timeout_of_the_function_whose_route_it_is_as_its_deadline() {
        use payments_domain::ports::Clock;
        let deadline_of = |method: http::Method, path: &str| {
            let before = SystemClock.now();
            let request = payments_api::app::request(method, path, &[], "");
            request_deadline(&request).map(|d| d.since(before))
        };
        let create = deadline_of(http::Method::POST, "/v1/payments").unwrap();
        assert!(
            create >= Duration::from_secs(15) && create < Duration::from_secs(16),
            "{create:?}"
        );
        let terminals = deadline_of(http::Method::GET, "/v1/terminals").unwrap();
        assert!(
            terminals >= Duration::from_secs(30) && terminals < Duration::from_secs(31),
            "{terminals:?}"
        );
        assert_eq!(deadline_of(http::Method::GET, "/nowhere"), None);
    }

    #[test]
    fn a_seconds_setting_has_a_default_and_names_a_bad_value() {
        let default = Duration::from_secs(300);
        assert_eq!(seconds_setting("X", None, default), Ok(default));
        assert_eq!(
            seconds_setting("X", Some("30".into()), default),
            Ok(Duration::from_secs(30))
        );
        assert_eq!(
            seconds_setting("X", Some("soon".into()), default),
            Err("X: not a whole number of seconds: soon".into())
        );
    }
}
