//! Apps for tests (the crate's own, and others' with the `testing` feature): one way to build an
//! [`App`] over any ports, the app over the in-memory doubles of `payments_domain::testing` (also with
//! the counting decorators around the store and Glase), one request through an app, and captured log
//! lines. The live stack (the sandbox, dynoxide and the served app) is [`stack`] (feature `live-stack`).

use bytes::Bytes;
use http::Method;
use payments_domain::counting::Counting;
use payments_domain::period::{
    SHOP_DETAILS_REPORT, SHOP_SUMMARY_REPORT, TERMINAL_DETAILS_REPORT, TERMINAL_SUMMARY_REPORT,
};
use payments_domain::ports::Ports;
use payments_domain::testing::{
    FakeGlase, FakePorts, GlaseCall, InMemoryStore, ManualClock, RecordingPush, RecordingQueue,
    SequentialIds, fake_deps,
};
use payments_domain::usecases::{Deps, UseCaseSettings};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::app::{App, request};
use crate::auth::{ApiKeys, hash_api_key};
use crate::metrics::Metrics;
use crate::settings::env;
use crate::telemetry::{LogFormat, LogSettings};
pub use test_support::CapturedLines;

#[cfg(feature = "live-stack")]
pub mod stack;

/// The app over the in-memory doubles.
pub type FakeApp = App<FakePorts>;

/// The app over the in-memory doubles with the store and Glase counted.
pub type CountedApp = App<(
    Counting<InMemoryStore>,
    Counting<FakeGlase>,
    RecordingQueue,
    RecordingPush,
    ManualClock,
    SequentialIds,
)>;

/// An app serving every route (no function set) over `deps`, accepting the one API key `key`, writing
/// its metric lines to `metrics`.
pub fn app_over<P: Ports>(deps: Deps<P>, key: &str, metrics: impl std::io::Write + Send + 'static) -> App<P> {
    App {
        deps,
        api_keys: ApiKeys::parse(&SecretString::from(hash_api_key(key))).expect("one API key's hash"),
        metrics: Metrics::to_writer("tests", Box::new(metrics)),
        function: None,
    }
}

/// The app over fresh in-memory doubles with the default settings, accepting the API key `key` and
/// dropping its metric lines.
pub fn fake_app(key: &str) -> FakeApp {
    app_over(fake_deps(UseCaseSettings::default()), key, std::io::sink())
}

/// An app over fresh in-memory doubles with the default settings, the store and Glase counted, and
/// Glase's shop and terminal reports ready (empty), accepting the API key `key` and dropping its metric
/// lines.
pub fn counted_app(key: &str) -> CountedApp {
    let clock = ManualClock::default();
    let glase = FakeGlase::new(clock.clone());
    for (id, content) in [
        (SHOP_SUMMARY_REPORT, "<ResellerTransactionSummary/>"),
        (SHOP_DETAILS_REPORT, "<TransactionDetails/>"),
        (TERMINAL_SUMMARY_REPORT, "<TerminalTransactionSummary/>"),
        (TERMINAL_DETAILS_REPORT, "<TransactionDetails/>"),
    ] {
        glase.set_report(id, content, Vec::new());
    }
    app_over(
        Deps {
            store: Counting::new(InMemoryStore::new()),
            glase: Counting::new(glase),
            queue: RecordingQueue::default(),
            push: RecordingPush::default(),
            clock,
            ids: SequentialIds::default(),
            settings: UseCaseSettings::default(),
        },
        key,
        std::io::sink(),
    )
}

/// Sends one request with a JSON content type and `headers` through `App::handle`; answers the status
/// and the body as JSON (`Null` when it is not JSON).
pub async fn call<P: Ports>(
    app: &App<P>,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, Value) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let response = app.handle(request(method, uri, &all, body)).await;
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(response.body()).unwrap_or(Value::Null),
    )
}

/// Installs the process-wide JSON log subscriber at `filter` and answers the lines it writes. A process
/// has one subscriber, so a test binary calls this once.
pub fn captured_logs(filter: &str) -> CapturedLines {
    let logs = CapturedLines::default();
    let sink = logs.clone();
    crate::telemetry::install(
        &LogSettings {
            format: LogFormat::Json,
            filter: filter.into(),
        },
        move || sink.clone(),
    )
    .expect("the only subscriber of this test binary");
    logs
}

/// The path and query of the notification URL (with its token) of the first `SendInvoice` among
/// `calls` (pass them reversed for the latest).
pub fn notification_path(calls: impl IntoIterator<Item = GlaseCall>) -> String {
    let url = calls
        .into_iter()
        .find_map(|c| match c {
            GlaseCall::SendInvoice { notification_url, .. } => Some(notification_url),
            _ => None,
        })
        .expect("a sendInvoice call");
    let tail = url
        .split("/v1/notifications/")
        .nth(1)
        .expect("a notification URL");
    format!("/v1/notifications/{tail}")
}

/// A complete environment: every variable any function requires, with valid values (the settings,
/// wiring and documentation tests start from it).
pub fn complete_env() -> BTreeMap<String, String> {
    env_map(&[
        (env::TABLE_NAME, "payments"),
        (
            env::GLASE_ENDPOINT,
            "https://glase.example/extclientproxy/service/v2",
        ),
        (env::GLASE_TERMINAL_ID, "terminal"),
        (env::GLASE_TERMINAL_PASSWORD, "terminal-password-secret-value"),
        (env::GLASE_RESELLER_ID, "reseller"),
        (env::GLASE_RESELLER_PASSWORD, "reseller-password-secret-value"),
        (env::TERMINAL_PASSWORD_SECRET, "master-secret-value"),
        (env::REFUND_QUEUE_URL, "https://sqs.example/123/refunds"),
        (env::PUBLIC_BASE_URL, "https://pay.example"),
        (env::API_KEY_HASHES, "sha256:00"),
        (env::CLIENT_SECRET_KEY, "client-secret-key-value-of-32-bytes"),
    ])
}

/// An environment of the variables `pairs`.
pub fn env_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
