//! Apps for tests (the crate's own, and others' with the `testing` feature): one way to build an
//! [`App`] over any ports, and the app over the in-memory doubles of `payments_domain::testing`.

use payments_domain::ports::{Clock, GlaseGateway, IdGenerator, PaymentStore, RefundQueue, StatusPush};
use payments_domain::testing::{
    FakeGlase, InMemoryStore, ManualClock, RecordingPush, RecordingQueue, SequentialIds, fake_deps,
};
use payments_domain::usecases::{Deps, UseCaseSettings};
use secrecy::SecretString;

use crate::app::App;
use crate::auth::{ApiKeys, hash_api_key};
use crate::metrics::Metrics;

/// The app over the in-memory doubles.
pub type FakeApp = App<InMemoryStore, FakeGlase, RecordingQueue, RecordingPush, ManualClock, SequentialIds>;

/// An app serving every route (no function set) over `deps`, accepting the one API key `key`, writing
/// its metric lines to `metrics`.
pub fn app_over<S, G, Q, P, C, I>(
    deps: Deps<S, G, Q, P, C, I>,
    key: &str,
    metrics: impl std::io::Write + Send + 'static,
) -> App<S, G, Q, P, C, I>
where
    S: PaymentStore,
    G: GlaseGateway,
    Q: RefundQueue,
    P: StatusPush,
    C: Clock,
    I: IdGenerator,
{
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
