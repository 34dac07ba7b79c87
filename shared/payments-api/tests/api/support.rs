//! The app over the in-memory test doubles, with the counting decorators around the store and Glase, and
//! a snapshot of everything a request could change: what the authorisation and limits tests compare
//! before and after each refused request.

use http::Method;
use payments_api::app::request;
use payments_api::testing::{CountedApp, counted_app, notification_path};
use payments_domain::idempotency::IdempotencyRecord;
use payments_domain::payment::Payment;
use payments_domain::refund::Refund;
use payments_domain::terminal::Terminal;
use serde_json::Value;

/// The merchant's API key.
pub const KEY: &str = "sk_test_matrix_key";

/// The app under test.
pub type TestApp = CountedApp;

/// A fresh app serving every route, with Glase's reports ready (empty).
pub fn app() -> TestApp {
    counted_app(KEY)
}

/// An answer: status, content type and body (JSON, or `Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The body as text.
    pub text: String,
    /// The body as JSON.
    pub json: Value,
}

/// Sends one request through `App::handle`.
pub async fn send(app: &TestApp, method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let response = app.handle(request(method, uri, headers, body.to_owned())).await;
    let text = response.body().clone();
    Answer {
        status: response.status().as_u16(),
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// Sends one request with the merchant's API key.
pub async fn merchant(app: &TestApp, method: Method, uri: &str, body: &str) -> Answer {
    let auth = format!("Bearer {KEY}");
    send(
        app,
        method,
        uri,
        &[("authorization", &auth), ("content-type", "application/json")],
        body,
    )
    .await
}

/// A payment created through the API.
#[derive(Debug, Clone)]
pub struct Created {
    /// Its id.
    pub id: String,
    /// Its client secret.
    pub client_secret: String,
    /// The path and query of its notification URL (with its token).
    pub notification: String,
}

/// Creates a webshop payment of `total` öre through the API.
pub async fn create_payment(app: &TestApp, order_id: &str, total: i64) -> Created {
    let body = format!(r#"{{"order_id":"{order_id}","currency":"SEK","total":{total}}}"#);
    let created = merchant(app, Method::POST, "/v1/payments", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    Created {
        id: created.json["id"].as_str().unwrap().to_owned(),
        client_secret: created.json["client_secret"].as_str().unwrap().to_owned(),
        notification: notification_path(app.deps.glase.inner().calls().into_iter().rev()),
    }
}

/// Pays `created` at Glase and delivers its notification, which confirms it.
pub async fn pay_and_notify(app: &TestApp, created: &Created) {
    let reference = app
        .deps
        .store
        .inner()
        .payments()
        .into_iter()
        .find(|p| p.id().as_str() == created.id)
        .unwrap()
        .invoice_reference()
        .clone();
    app.deps.glase.inner().pay(&reference);
    let notified = send(app, Method::POST, &created.notification, &[], "").await;
    assert_eq!(notified.json["status"], "paid", "{}", notified.text);
}

/// Everything a request could have changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    terminals: Vec<Terminal>,
    idempotency: Vec<IdempotencyRecord>,
    store_writes: u64,
    queued: usize,
    pushed: usize,
}

/// The state of the store, the queue and the push now.
pub fn snapshot(app: &TestApp) -> Snapshot {
    let store = app.deps.store.inner();
    Snapshot {
        payments: store.payments(),
        refunds: store.refunds(),
        terminals: store.terminals(),
        idempotency: store.idempotency_records(),
        store_writes: store.writes(),
        queued: app.deps.queue.sent().len(),
        pushed: app.deps.push.pushed().len(),
    }
}

/// Runs `f` and checks that it made no Glase call and changed nothing; answers what `f` answered.
pub async fn changes_nothing<F, Fut>(app: &TestApp, what: &str, f: F) -> Answer
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let before = snapshot(app);
    app.deps.glase.reset();
    let glase_log = app.deps.glase.inner().call_count();
    let answer = f().await;
    assert_eq!(
        app.deps.glase.total(),
        0,
        "{what}: Glase was called: {:?}",
        app.deps.glase.counts()
    );
    assert_eq!(
        app.deps.glase.inner().call_count(),
        glase_log,
        "{what}: Glase was called"
    );
    assert_eq!(snapshot(app), before, "{what}: something changed");
    answer
}
