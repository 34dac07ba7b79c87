//! The concurrent clients: webshop shoppers (pay, cancel, abandon, pay at the last moment), POS tills
//! (one client per till, as a till shows one payment at a time), the push-only stretch (payments nobody
//! reads, whose notifications the relay drops at a high rate, so only the safety net confirms them), and
//! the refund desk (refunds of paid payments, some in two parts, some over the amount, each asked again
//! with the same Idempotency-Key after the idempotency lease ran out, some first with a client timeout
//! too short for an answer). Every call survives glase-local being down: a refused connection, a 503 or
//! a 409 "still running" is tried again with the same Idempotency-Key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

use crate::check::{KeyAnswer, KeyRetry};
use crate::stack::Relay;

/// A payment the clients created.
#[derive(Clone, Debug)]
pub struct Created {
    /// Our id.
    pub id: String,
    /// Glase's invoice reference.
    pub invoice_reference: String,
    /// The client secret from the 201.
    pub client_secret: String,
    /// The total.
    pub total: i64,
    /// The till, for POS payments.
    pub terminal_id: Option<String>,
    /// Refund requests accepted (202).
    pub refunds_asked: u32,
    /// Amount asked back so far.
    pub refund_amount_asked: i64,
    /// When it was created.
    pub created: Instant,
    /// Whether the refund desk should refund it once paid.
    pub refund_wanted: bool,
    /// Whether it belongs to the push-only stretch (nobody reads it).
    pub push_only: bool,
}

/// Counters of what the clients did.
#[derive(Default, Debug)]
pub struct Tally {
    /// Payments created (201).
    pub created: AtomicU64,
    /// Creations that ended without a payment (502 outcome_unknown, 4xx, or no answer in time).
    pub create_failed: AtomicU64,
    /// Shopper payments in the sandbox.
    pub paid_by_shopper: AtomicU64,
    /// Cancels asked.
    pub cancels: AtomicU64,
    /// Payments left for expiry.
    pub abandoned: AtomicU64,
    /// Payments paid at the moment they expire.
    pub paid_at_expiry: AtomicU64,
    /// Shopper payments the sandbox refused because the invoice was no longer open.
    pub pay_refused: AtomicU64,
    /// Refunds accepted (202).
    pub refunds: AtomicU64,
    /// Refund requests whose key was still leased after a kill when the client gave up.
    pub refunds_leased: AtomicU64,
    /// Refunds over the amount, refused as they should be.
    pub refunds_refused: AtomicU64,
    /// Requests tried again (connection refused, 503, 409 still running).
    pub retried: AtomicU64,
    /// Unexpected answers (5xx other than 502/503, or a status no flow expects).
    pub unexpected: AtomicU64,
    /// Push-only payments created.
    pub push_only_created: AtomicU64,
    /// Push-only payments the shopper paid.
    pub push_only_paid: AtomicU64,
    /// Refund requests whose first attempt timed out client-side (no answer).
    pub refund_timeouts: AtomicU64,
    /// Refund requests whose one short first attempt met a busy store (503 `unavailable`, nothing
    /// changed); the same key is asked again after the lease.
    pub refunds_unavailable: AtomicU64,
    /// Refund requests asked again with the same key after the idempotency lease ran out.
    pub refund_retries: AtomicU64,
}

/// What the clients share.
pub struct Shared {
    /// glase-local's base URL.
    pub api: String,
    /// The sandbox's base URL.
    pub sandbox: String,
    /// The merchant API key.
    pub api_key: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// Every payment created.
    pub created: Mutex<Vec<Created>>,
    /// The counters.
    pub tally: Tally,
    /// The next payment number to take.
    pub next: AtomicU64,
    /// How many payments to create.
    pub payments: u64,
    /// When the load started.
    pub started: Instant,
    /// The load's length.
    pub duration: Duration,
    /// The payment expiry glase-local runs with.
    pub expiry: Duration,
    /// Some unexpected answers, for the report.
    pub samples: Mutex<Vec<String>>,
    /// glase-local's idempotency lease.
    pub lease: Duration,
    /// The answers of every refund key, with its retry after the lease.
    pub key_retries: Mutex<Vec<KeyRetry>>,
    /// The retries after the lease still to come.
    pub retry_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// One v1 request with the API key: its method, path, JSON body and Idempotency-Key.
#[derive(Clone, Debug)]
pub struct V1 {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    key: Option<String>,
}

impl V1 {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: reqwest::Method::GET,
            path: path.into(),
            body: None,
            key: None,
        }
    }

    /// A POST to `path`, without a body until [`V1::json`].
    pub fn post(path: impl Into<String>) -> Self {
        Self {
            method: reqwest::Method::POST,
            ..Self::get(path)
        }
    }

    /// The request with this JSON body.
    pub fn json(self, body: &Value) -> Self {
        Self {
            body: Some(body.clone()),
            ..self
        }
    }

    /// The request with this Idempotency-Key.
    pub fn key(self, key: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            ..self
        }
    }
}

impl Shared {
    /// Takes the next payment number, waiting for its slot (payments are spread evenly over the load's
    /// length); `None` when all were taken or the time is up.
    pub async fn take(&self) -> Option<u64> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        if n >= self.payments {
            return None;
        }
        let slot_ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX) / self.payments.max(1);
        let due = self.started + Duration::from_millis(slot_ms.saturating_mul(n));
        tokio::time::sleep_until(due.into()).await;
        (self.started.elapsed() < self.duration + Duration::from_secs(5)).then_some(n)
    }

    fn note(&self, what: String) {
        self.tally.unexpected.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.samples.lock()
            && s.len() < 20
        {
            s.push(what);
        }
    }

    /// A v1 call with the API key, tried again while glase-local is down or busy (up to `patience`).
    /// Answers the last status and body, or `None` when nothing answered.
    pub async fn call(&self, request: &V1, patience: Duration) -> Option<(u16, Value)> {
        let started = Instant::now();
        loop {
            let answer = self.call_once(request, Duration::from_secs(30)).await;
            let again = match &answer {
                None => true,
                Some((503, _)) => true,
                // Another request with this key is still running (the first attempt, or one cut off by
                // a kill): ask again.
                Some((409, body)) => request.key.is_some() && body["error"]["code"] != "conflict_paid",
                _ => false,
            };
            if !again || started.elapsed() > patience {
                return answer;
            }
            self.tally.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// One v1 call with the API key, given up after `timeout` (glase-local runs it on to its end).
    pub async fn call_once(&self, request: &V1, timeout: Duration) -> Option<(u16, Value)> {
        let mut built = self
            .http
            .request(request.method.clone(), format!("{}{}", self.api, request.path))
            .bearer_auth(&self.api_key)
            .timeout(timeout);
        if let Some(body) = &request.body {
            built = built.json(body);
        }
        if let Some(key) = &request.key {
            built = built.header("Idempotency-Key", key);
        }
        let r = built.send().await.ok()?;
        let status = r.status().as_u16();
        let body = r.json::<Value>().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    /// The payment as its client (shopper or till) sees it, with the client secret.
    async fn poll(&self, c: &Created) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/v1/payments/{}", self.api, c.id))
            .header("X-Client-Secret", &c.client_secret)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .ok()?;
        if r.status().is_success() {
            r.json().await.ok()
        } else {
            None
        }
    }

    /// Polls until paid or `limit` passed; answers whether it was seen paid.
    async fn poll_until_paid(&self, c: &Created, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(p) = self.poll(c).await {
                match p["status"].as_str() {
                    Some("paid") => return true,
                    Some("pending") => {}
                    _ => return false,
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }

    /// The shopper pays in the sandbox (its controls are never faulted or killed).
    async fn pay(&self, c: &Created) -> bool {
        let r = self
            .http
            .post(format!(
                "{}/sandbox/invoices/{}/pay",
                self.sandbox, c.invoice_reference
            ))
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                self.tally.paid_by_shopper.fetch_add(1, Ordering::Relaxed);
                true
            }
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                // 409: no longer ISSUED (expiry or a cancel came first); expected for a late payer.
                if status == 409 {
                    self.tally.pay_refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.note(format!("sandbox pay {}: {status} {text}", c.invoice_reference));
                }
                false
            }
            Err(e) => {
                self.note(format!("sandbox pay: {e}"));
                false
            }
        }
    }

    async fn create(
        &self,
        n: u64,
        terminal: Option<&str>,
        push_only: bool,
        rng: &mut rand::rngs::StdRng,
    ) -> Option<Created> {
        let total: i64 = rng.random_range(100..50_000);
        let mut body = json!({"order_id": format!("soak-{n}"), "currency": "SEK", "total": total});
        if let Some(t) = terminal {
            body["terminal_id"] = json!(t);
            body["cashier_id"] = json!(format!("cashier-{}", n % 3));
        }
        let key = format!("soak-create-{n}-{:08x}", rng.random::<u32>());
        let answer = self
            .call(
                &V1::post("/v1/payments").json(&body).key(&key),
                Duration::from_secs(40),
            )
            .await;
        match answer {
            Some((200 | 201, p)) => {
                self.tally.created.fetch_add(1, Ordering::Relaxed);
                let created = Created {
                    id: p["id"].as_str().unwrap_or_default().to_owned(),
                    invoice_reference: p["invoice_reference"].as_str().unwrap_or_default().to_owned(),
                    client_secret: p["client_secret"].as_str().unwrap_or_default().to_owned(),
                    total,
                    terminal_id: terminal.map(str::to_owned),
                    refunds_asked: 0,
                    refund_amount_asked: 0,
                    created: Instant::now(),
                    refund_wanted: !push_only && rng.random_ratio(35, 100),
                    push_only,
                };
                if let Ok(mut all) = self.created.lock() {
                    all.push(created.clone());
                }
                Some(created)
            }
            other => {
                self.tally.create_failed.fetch_add(1, Ordering::Relaxed);
                match &other {
                    Some((502, b)) if b["error"]["code"] == "outcome_unknown" => {}
                    // Still unanswered after the client's patience: the first attempt was cut off by a
                    // kill and its key is leased (then answers outcome_unknown).
                    Some((502 | 503 | 409, _)) | None => {}
                    Some((status, b)) => self.note(format!("create: {status} {b}")),
                }
                None
            }
        }
    }
}

/// A webshop client: creates payments until the load is over; each is paid (70 %), cancelled (10 %),
/// abandoned to expiry (15 %) or paid just as it expires (5 %). Half the payers watch the payment (poll
/// with the client secret), the others leave it to the notification and the safety net.
pub async fn webshop(shared: Arc<Shared>, seed: u64) {
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
    while let Some(n) = shared.take().await {
        let Some(c) = shared.create(n, None, false, &mut rng).await else {
            continue;
        };
        let fate = rng.random_range(0..100);
        if fate < 70 {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..800))).await;
            if shared.pay(&c).await && rng.random_bool(0.5) {
                shared.poll_until_paid(&c, Duration::from_secs(15)).await;
            }
        } else if fate < 80 {
            shared.tally.cancels.fetch_add(1, Ordering::Relaxed);
            let answer = shared
                .call(
                    &V1::post(format!("/v1/payments/{}/cancel", c.id)),
                    Duration::from_secs(40),
                )
                .await;
            match answer {
                Some((200, _)) => {}
                Some((status, b)) => shared.note(format!("cancel {}: {status} {b}", c.id)),
                None => shared.note(format!("cancel {}: no answer", c.id)),
            }
        } else if fate < 95 {
            shared.tally.abandoned.fetch_add(1, Ordering::Relaxed);
        } else {
            // Pays within a second of the expiry: the expiry's cancel and the payment race.
            shared.tally.paid_at_expiry.fetch_add(1, Ordering::Relaxed);
            let s = shared.clone();
            let at =
                shared.expiry + Duration::from_millis(rng.random_range(0..2_000)) - Duration::from_secs(1);
            tokio::spawn(async move {
                tokio::time::sleep_until((c.created + at).into()).await;
                s.pay(&c).await;
            });
        }
    }
}

/// A till: one payment at a time on its terminal; the shopper pays (80 %) and the till polls until
/// paid, or walks away (the next payment on the till cancels the open invoice at Glase).
pub async fn till(shared: Arc<Shared>, terminal: String, seed: u64) {
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
    while let Some(n) = shared.take().await {
        let Some(c) = shared.create(n, Some(&terminal), false, &mut rng).await else {
            continue;
        };
        if rng.random_ratio(80, 100) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
            if shared.pay(&c).await {
                shared.poll_until_paid(&c, Duration::from_secs(20)).await;
            }
        } else {
            shared.tally.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The push-only stretch: `count` webshop payments from `start`, `rate` a second (each created on its own
/// task at its moment, whatever the answers take), numbered from `first`. Nobody polls them; the relay
/// drops most of their notifications (see [`Relay::drop_notifications_of`]); the shopper pays each within
/// a second. Only the safety net can confirm them inside Glase's window.
pub async fn push_only(shared: Arc<Shared>, relay: Relay, start: Instant, count: u64, rate: u64, first: u64) {
    let mut tasks = Vec::new();
    for i in 0..count {
        let at = start + Duration::from_millis(i * 1_000 / rate.max(1));
        tokio::time::sleep_until(at.into()).await;
        let (shared, relay) = (shared.clone(), relay.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(first + i);
            let Some(c) = shared.create(first + i, None, true, &mut rng).await else {
                return;
            };
            shared.tally.push_only_created.fetch_add(1, Ordering::Relaxed);
            relay.drop_notifications_of(&c.id);
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..1_000))).await;
            if shared.pay(&c).await {
                shared.tally.push_only_paid.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// The refund desk: every second, refunds payments that wanted one and are paid by now (asked at least
/// 12 s after creation, when the safety net has confirmed them whatever happened to the notification):
/// all or part, sometimes the rest in a second refund, sometimes one over what is left (refused, 4xx).
pub async fn refund_desk(shared: Arc<Shared>, seed: u64, until: Instant) {
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let due: Vec<Created> = shared
            .created
            .lock()
            .map(|all| {
                all.iter()
                    .filter(|c| {
                        c.refund_wanted
                            && c.refunds_asked == 0
                            && c.created.elapsed() > Duration::from_secs(12)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for c in due {
            if Instant::now() >= until {
                break;
            }
            mark(&shared, &c.id, |x| x.refund_wanted = false);
            let Some((200, p)) = shared
                .call(
                    &V1::get(format!("/v1/payments/{}", c.id)),
                    Duration::from_secs(30),
                )
                .await
            else {
                continue;
            };
            if p["status"] != "paid" {
                continue;
            }
            let first = if rng.random_bool(0.5) {
                c.total
            } else {
                rng.random_range(1..=c.total)
            };
            let mut asked = vec![first];
            if first < c.total && rng.random_bool(0.5) {
                asked.push(c.total - first);
            }
            if rng.random_ratio(10, 100) {
                asked.push(c.total + 1);
            }
            for amount in asked {
                let mut body = json!({"amount": amount, "reason": "Returned"});
                if c.terminal_id.is_some() {
                    body["cashier_id"] = json!("cashier-1");
                }
                let key = format!("soak-refund-{}-{:08x}", c.id, rng.random::<u32>());
                // Some first attempts give up sooner than glase-local answers (it runs them on).
                let short = rng
                    .random_ratio(40, 100)
                    .then(|| Duration::from_millis(rng.random_range(10..150)));
                refund_with_retry(&shared, &c, amount, body, key, short).await;
            }
        }
    }
}

/// What a refund request's answer means for the counts; answers it as a [`KeyAnswer`]. `first` says
/// whether this is the key's first attempt, `known` whether an earlier attempt was accepted already.
fn refund_answer(
    shared: &Shared,
    c: &Created,
    amount: i64,
    answer: Option<(u16, Value)>,
    first: bool,
    known: bool,
) -> KeyAnswer {
    match answer {
        Some((202 | 200, body)) => {
            if !known {
                shared.tally.refunds.fetch_add(1, Ordering::Relaxed);
                mark(shared, &c.id, |x| {
                    x.refunds_asked += 1;
                    x.refund_amount_asked += amount;
                });
            }
            KeyAnswer::Accepted(body["id"].as_str().unwrap_or_default().to_owned())
        }
        Some((status @ (409 | 422 | 400), _)) if amount > c.total => {
            if first {
                shared.tally.refunds_refused.fetch_add(1, Ordering::Relaxed);
            }
            KeyAnswer::Refused(status)
        }
        // Still unanswered after the client's patience: the first attempt was cut off by the kill and
        // its key is leased (it then answers outcome_unknown; nothing is sent twice).
        Some((409, _)) if first => {
            shared.tally.refunds_leased.fetch_add(1, Ordering::Relaxed);
            KeyAnswer::Refused(409)
        }
        // A first attempt made once, without retries (a client with little patience), met a busy store:
        // nothing was changed, and the same key is asked again after the lease.
        Some((503, b)) if first && b["error"]["code"] == "unavailable" => {
            shared.tally.refunds_unavailable.fetch_add(1, Ordering::Relaxed);
            KeyAnswer::Refused(503)
        }
        Some((status, b)) => {
            shared.note(format!("refund {} of {amount}: {status} {b}", c.id));
            KeyAnswer::Refused(status)
        }
        None => KeyAnswer::NoAnswer,
    }
}

/// One refund request, and the same request (key and body) again once glase-local's idempotency lease
/// ran out: on its own task, so the desk goes on. The first attempt waits `short` at most when given
/// (a client that gave up before the answer), else as long as any call.
async fn refund_with_retry(
    shared: &Arc<Shared>,
    c: &Created,
    amount: i64,
    body: Value,
    key: String,
    short: Option<Duration>,
) {
    let request = V1::post(format!("/v1/payments/{}/refunds", c.id))
        .json(&body)
        .key(&key);
    let started = Instant::now();
    let answer = match short {
        Some(timeout) => shared.call_once(&request, timeout).await,
        None => shared.call(&request, Duration::from_secs(40)).await,
    };
    if answer.is_none() {
        if short.is_some() {
            shared.tally.refund_timeouts.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.note(format!("refund {}: no answer", c.id));
        }
    }
    let first = refund_answer(shared, c, amount, answer, true, false);
    let (s, c) = (shared.clone(), c.clone());
    let task = tokio::spawn(async move {
        // Two seconds past the lease from the first attempt's start (its record was written after it).
        let at = (started + s.lease + Duration::from_secs(2)).max(Instant::now());
        tokio::time::sleep_until(at.into()).await;
        s.tally.refund_retries.fetch_add(1, Ordering::Relaxed);
        let answer = s.call(&request, Duration::from_secs(40)).await;
        if answer.is_none() {
            s.note(format!("refund {} asked again after the lease: no answer", c.id));
        }
        let known = matches!(first, KeyAnswer::Accepted(_));
        let retry = refund_answer(&s, &c, amount, answer, false, known);
        if let Ok(mut all) = s.key_retries.lock() {
            all.push(KeyRetry {
                payment_id: c.id.clone(),
                first,
                retry: Some(retry),
            });
        }
    });
    if let Ok(mut tasks) = shared.retry_tasks.lock() {
        tasks.push(task);
    }
}

pub fn mark(shared: &Shared, id: &str, change: impl FnOnce(&mut Created)) {
    if let Ok(mut all) = shared.created.lock()
        && let Some(c) = all.iter_mut().find(|c| c.id == id)
    {
        change(c);
    }
}
