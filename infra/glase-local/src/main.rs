//! `glase-local`: the whole Glase payment backend in one process on a laptop.
//!
//! Every function's handler serves the v1 API on one port, over an embedded DynamoDB (dynoxide, kept in
//! the data directory), an in-process refund queue, the schedules as timers, a WebSocket endpoint, and the
//! Glase sandbox mounted under `/glase` (SOAP) and `/sandbox` (the shopper's side). A demo shop and the
//! checkout widget show a payment end to end. `--glase-endpoint` and the SDK's own endpoint variables point
//! it at real services instead; nothing inside the handlers knows the difference.

mod args;
mod dynamo;
mod environment;
mod shop;
mod ws;

use std::collections::BTreeMap;
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
use payments_api::settings::{SdkTimeouts, env};
use payments_api::telemetry::{self, LogFormat, LogSettings};
use payments_api::wiring::{self, AnyPush, AnyQueue, LivePorts, OsRandom, SystemClock};
use payments_domain::faults::FaultyStore;
use payments_domain::idempotency::IdempotencyPolicy;
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

/// A DynamoDB client with the functions' SDK timeouts: of the SDK's own settings, or of the embedded
/// DynamoDB at `embedded`.
async fn dynamo_client(embedded: Option<&str>, timeouts: &SdkTimeouts) -> aws_sdk_dynamodb::Client {
    let loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts.config());
    let Some(endpoint) = embedded else {
        return aws_sdk_dynamodb::Client::new(&loader.load().await);
    };
    let config = loader
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
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
/// is ([`payments_api::settings::Function::timeout`]), so the use cases budget their calls as they do in AWS. `None` for a
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
    let client_secret_key =
        persistent_secret(&args.data_dir, "client-secret-key", "").map_err(|e| e.to_string())?;

    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");

    // Glase: a real endpoint when given, else the built-in sandbox on this port.
    let sandbox = match &args.glase_endpoint {
        Some(_) => None,
        None => Some(Sandbox::new(SandboxConfig::default()).map_err(|e| format!("sandbox: {e}"))?),
    };
    let process = payments_api::config::ProcessEnv;
    let external_dynamodb = environment::external_dynamodb(&process);
    let mut fixed = BTreeMap::from([
        (env::API_KEY_HASHES, hash_api_key(&api_key)),
        (env::TERMINAL_PASSWORD_SECRET, terminal_secret),
    ]);
    if !external_dynamodb {
        fixed.insert(env::TABLE_NAME, environment::EMBEDDED_TABLE.to_owned());
    }
    match (&args.glase_endpoint, &sandbox) {
        (Some(endpoint), _) => {
            fixed.insert(env::GLASE_ENDPOINT, endpoint.clone());
        }
        (None, Some(sandbox)) => {
            let config = sandbox.config();
            let webshop = config
                .webshop_terminals
                .first()
                .ok_or("the sandbox has no webshop terminal")?;
            fixed.extend([
                (
                    env::GLASE_ENDPOINT,
                    format!("{base}/glase/extclientproxy/service/v2"),
                ),
                (env::GLASE_TERMINAL_ID, webshop.terminal_id.clone()),
                (env::GLASE_TERMINAL_PASSWORD, webshop.password.clone()),
                (env::GLASE_RESELLER_ID, config.reseller.id.clone()),
                (env::GLASE_RESELLER_USER_ID, config.reseller.user_id.clone()),
                (env::GLASE_RESELLER_PASSWORD, config.reseller.password.clone()),
            ]);
        }
        (None, None) => return Err("no Glase endpoint".into()),
    }
    // Notification URLs are built from the public base URL: this address unless something in front of
    // it (a proxy, a tunnel) is named. Client secrets derive from the kept key, so a replay after a
    // restart on the same data answers the secret the first answer gave.
    let defaults = BTreeMap::from([
        (env::PUBLIC_BASE_URL, base.clone()),
        (env::CLIENT_SECRET_KEY, client_secret_key),
    ]);
    let source = environment::LocalEnv {
        process: &process,
        fixed,
        defaults,
    };
    let settings = environment::load(&source).map_err(|e| e.to_string())?;
    let soak = environment::SoakSettings::load(&process).map_err(|e| e.to_string())?;
    let client_secret_key = settings
        .client_secret_key
        .clone()
        .ok_or("CLIENT_SECRET_KEY is not set")?;
    let table_name = settings.table_name.clone().unwrap_or_default();

    // DynamoDB: the SDK's own settings when they name one, else the embedded one.
    let embedded = match external_dynamodb {
        true => None,
        false => Some(dynamo::start(&args.data_dir).await.map_err(|e| e.0)?),
    };
    let dynamo = dynamo_client(
        embedded.as_ref().map(|e| e.endpoint.as_str()),
        &settings.sdk_timeouts,
    )
    .await;
    dynamo::ensure_table(&dynamo, &table_name)
        .await
        .map_err(|e| e.0)?;

    let store_faults = soak.store_faults;
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
                refund_settle_margin: soak.refund_settle_margin,
                idempotency: IdempotencyPolicy {
                    lease: soak.idempotency_lease,
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
    let stuck_sending = soak.refund_sending;
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
            worker.apply_redelivery_delays(&batch.delays).await;
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
}
