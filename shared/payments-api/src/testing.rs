//! Apps for tests (the crate's own, and others' with the `testing` feature): one way to build an
//! [`App`] over any ports, and the app over the in-memory doubles of `payments_domain::testing`.

use payments_domain::ports::Ports;
use payments_domain::testing::{FakePorts, GlaseCall, fake_deps};
use payments_domain::usecases::{Deps, UseCaseSettings};
use secrecy::SecretString;
use std::collections::BTreeMap;

use crate::app::App;
use crate::auth::{ApiKeys, hash_api_key};
use crate::metrics::Metrics;
use crate::settings::env;

/// The app over the in-memory doubles.
pub type FakeApp = App<FakePorts>;

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
    [
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
