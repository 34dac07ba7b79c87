//! A minimal local stand-in of the Lambda Runtime API (the part a function's runtime client uses):
//! `GET /2018-06-01/runtime/invocation/next` hands out one queued event with the
//! `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and `-Trace-Id` headers;
//! `POST …/invocation/{id}/response` and `…/{id}/error` complete it; `POST …/runtime/init/error`
//! records a start-up failure. One instance serves one function process, on a loopback port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function posted a response with this body.
    Response(Bytes),
    /// The function posted an error with this body.
    Error(Bytes),
}

/// A finished invocation and when it was handed out and answered.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The request id.
    pub request_id: String,
    /// The answer.
    pub outcome: Outcome,
    /// When `GET …/next` returned the event.
    pub handed_out: Instant,
    /// When the answer arrived.
    pub answered: Instant,
}

impl Completed {
    /// Hand-out to answer, in microseconds.
    pub fn duration_us(&self) -> u64 {
        micros(self.answered.saturating_duration_since(self.handed_out))
    }
}

/// Why an invocation did not complete.
#[derive(Debug)]
pub enum InvokeError {
    /// Nothing was answered in time (the process may have died).
    TimedOut,
    /// The stand-in stopped.
    Closed,
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::TimedOut => f.write_str("the invocation was not answered in time"),
            InvokeError::Closed => f.write_str("the Runtime API stand-in stopped"),
        }
    }
}

impl std::error::Error for InvokeError {}

struct Queued {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    done: oneshot::Sender<Completed>,
}

struct Waiting {
    handed_out: Instant,
    done: oneshot::Sender<Completed>,
}

struct Shared {
    function_name: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    waiting: Mutex<HashMap<String, Waiting>>,
    next_requests: mpsc::UnboundedSender<Instant>,
    init_errors: Mutex<Vec<String>>,
}

/// A running stand-in. Dropping it stops the server.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    submit: mpsc::UnboundedSender<Queued>,
    next_requests: tokio::sync::Mutex<mpsc::UnboundedReceiver<Instant>>,
    counter: Mutex<u64>,
    _stop: oneshot::Sender<()>,
}

impl RuntimeApi {
    /// Starts a stand-in for `function_name` on a free loopback port.
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (submit, queue) = mpsc::unbounded_channel();
        let (next_tx, next_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_name: function_name.to_owned(),
            queue: tokio::sync::Mutex::new(queue),
            waiting: Mutex::new(HashMap::new()),
            next_requests: next_tx,
            init_errors: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let stop = crate::serve_until_dropped(listener, router);
        Ok(Self {
            addr,
            shared,
            submit,
            next_requests: tokio::sync::Mutex::new(next_rx),
            counter: Mutex::new(0),
            _stop: stop,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits for the function's next `GET …/next` and answers when it arrived; `None` after `timeout`.
    pub async fn next_request(&self, timeout: Duration) -> Option<Instant> {
        let mut requests = self.next_requests.lock().await;
        tokio::time::timeout(timeout, requests.recv())
            .await
            .ok()
            .flatten()
    }

    /// Queues `payload` as the next invocation (with a deadline `deadline` from now) and waits for its
    /// answer, at most `timeout`.
    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
        deadline: Duration,
        timeout: Duration,
    ) -> Result<Completed, InvokeError> {
        let request_id = {
            let mut counter = self.counter.lock().unwrap_or_else(PoisonError::into_inner);
            *counter += 1;
            format!("bench-{:08}-0000-4000-8000-{:012}", std::process::id(), *counter)
        };
        let deadline_ms = epoch_ms(SystemTime::now() + deadline);
        let (done, answered) = oneshot::channel();
        self.submit
            .send(Queued {
                request_id,
                payload: Bytes::from(payload.to_string()),
                deadline_ms,
                done,
            })
            .map_err(|_| InvokeError::Closed)?;
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(completed)) => Ok(completed),
            Ok(Err(_)) => Err(InvokeError::Closed),
            Err(_) => Err(InvokeError::TimedOut),
        }
    }

    /// The bodies of every `POST …/runtime/init/error` so far.
    pub fn init_errors(&self) -> Vec<String> {
        self.shared
            .init_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.next_requests.send(Instant::now());
    let queued = {
        let mut queue = shared.queue.lock().await;
        queue.recv().await
    };
    let Some(queued) = queued else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", queued.request_id.clone());
    set("lambda-runtime-deadline-ms", queued.deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        format!(
            "arn:aws:lambda:eu-north-1:000000000000:function:{}",
            shared.function_name
        ),
    );
    set(
        "lambda-runtime-trace-id",
        format!("Root=1-00000000-{:024x};Sampled=0", queued.deadline_ms),
    );
    set("content-type", "application/json".to_owned());
    let handed_out = Instant::now();
    shared
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            queued.request_id,
            Waiting {
                handed_out,
                done: queued.done,
            },
        );
    (StatusCode::OK, headers, queued.payload).into_response()
}

fn complete(shared: &Shared, id: String, outcome: Outcome) -> StatusCode {
    let answered = Instant::now();
    let waiting = shared
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    match waiting {
        Some(w) => {
            let _ = w.done.send(Completed {
                request_id: id,
                outcome,
                handed_out: w.handed_out,
                answered,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(&shared, id, Outcome::Response(body))
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(&shared, id, Outcome::Error(body))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared
        .init_errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A duration in whole microseconds, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
