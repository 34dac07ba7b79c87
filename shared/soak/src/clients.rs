//! The concurrent clients: webshop shoppers (pay, cancel, abandon, pay at the last moment), POS tills
//! (one client per till, as a till shows one payment at a time), and the refund desk (refunds of paid
//! payments, some in two parts, some over the amount). Every call survives glase-local being down: a
//! refused connection, a 503 or a 409 "still running" is tried again with the same Idempotency-Key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

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
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        patience: Duration,
    ) -> Option<(u16, Value)> {
        let started = Instant::now();
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.api))
                .bearer_auth(&self.api_key)
                .timeout(Duration::from_secs(30));
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let answer = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.json::<Value>().await.unwrap_or(Value::Null);
                    Some((status, body))
                }
                Err(_) => None,
            };
            let again = match &answer {
                None => true,
                Some((503, _)) => true,
                // Another request with this key is still running (the first attempt, or one cut off by
                // a kill): ask again.
                Some((409, body)) => idempotency_key.is_some() && body["error"]["code"] != "conflict_paid",
                _ => false,
            };
            if !again || started.elapsed() > patience {
                return answer;
            }
            self.tally.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
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

    async fn create(&self, n: u64, terminal: Option<&str>, rng: &mut rand::rngs::StdRng) -> Option<Created> {
        let total: i64 = rng.random_range(100..50_000);
        let mut body = json!({"order_id": format!("soak-{n}"), "currency": "SEK", "total": total});
        if let Some(t) = terminal {
            body["terminal_id"] = json!(t);
            body["cashier_id"] = json!(format!("cashier-{}", n % 3));
        }
        let key = format!("soak-create-{n}-{:08x}", rng.random::<u32>());
        let answer = self
            .call(
                reqwest::Method::POST,
                "/v1/payments",
                Some(&body),
                Some(&key),
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
                    refund_wanted: rng.random_ratio(35, 100),
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
        let Some(c) = shared.create(n, None, &mut rng).await else {
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
                    reqwest::Method::POST,
                    &format!("/v1/payments/{}/cancel", c.id),
                    None,
                    None,
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
        let Some(c) = shared.create(n, Some(&terminal), &mut rng).await else {
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
                    reqwest::Method::GET,
                    &format!("/v1/payments/{}", c.id),
                    None,
                    None,
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
                match shared
                    .call(
                        reqwest::Method::POST,
                        &format!("/v1/payments/{}/refunds", c.id),
                        Some(&body),
                        Some(&key),
                        Duration::from_secs(40),
                    )
                    .await
                {
                    Some((202 | 200, _)) => {
                        shared.tally.refunds.fetch_add(1, Ordering::Relaxed);
                        mark(&shared, &c.id, |x| {
                            x.refunds_asked += 1;
                            x.refund_amount_asked += amount;
                        });
                    }
                    Some((409 | 422 | 400, _)) if amount > c.total => {
                        shared.tally.refunds_refused.fetch_add(1, Ordering::Relaxed);
                    }
                    // Still unanswered after the client's patience: the first attempt was cut off by the
                    // kill and its key is leased (it then answers outcome_unknown; nothing is sent twice).
                    Some((409, _)) => {
                        shared.tally.refunds_leased.fetch_add(1, Ordering::Relaxed);
                    }
                    Some((status, b)) => shared.note(format!("refund {} of {amount}: {status} {b}", c.id)),
                    None => shared.note(format!("refund {}: no answer", c.id)),
                }
            }
        }
    }
}

fn mark(shared: &Shared, id: &str, change: impl FnOnce(&mut Created)) {
    if let Ok(mut all) = shared.created.lock()
        && let Some(c) = all.iter_mut().find(|c| c.id == id)
    {
        change(c);
    }
}
