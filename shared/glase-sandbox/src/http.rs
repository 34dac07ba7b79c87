//! The HTTP face of the sandbox: the SOAP endpoint, the WSDL, the `/sandbox/` controls, and [`spawn`].
//!
//! # Controls (JSON)
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /sandbox/invoices/{ref}/pay` | – | `{"invoice": InvoiceView, "back_url": …}`; starts the notification and the acknowledgement window |
//! | `POST /sandbox/invoices/{ref}/cancel` | – | same shape; the shopper cancels (CANCELED) |
//! | `POST /sandbox/invoices/{ref}/fail` | – | same shape; the payment fails (FAILED) |
//! | `POST /sandbox/invoices/{ref}/scan` | – | same shape without back_url; payment in progress |
//! | `POST /sandbox/stickers/{seqrId}/pay` | – | pays the sticker terminal's open invoice |
//! | `GET /sandbox/stickers/{seqrId}` | – | the InvoiceView the sticker currently shows |
//! | `GET /sandbox/invoices/{ref}` | – | InvoiceView (status, version, payment with acknowledged / reversed, refunds) |
//! | `GET /sandbox/invoices` | – | every InvoiceView, oldest first |
//! | `GET /sandbox/events?after=N` | – | `{"events": [...]}` in order; `after` skips the first N |
//! | `POST /sandbox/clock/advance` | `{"seconds": N}` | `{"now": "…"}` after applying passed deadlines |
//! | `GET /sandbox/clock` | – | `{"now": "…", "offset_seconds": N}` |
//! | `GET /sandbox/accounts` | – | reseller and terminals with credentials |
//! | `PUT /sandbox/faults` | `{"rules": [...]}` (see [`crate::faults`]) | `{"rules": N}`; 400 on unknown fields or bad rules |
//! | `DELETE /sandbox/faults` | – | 204 |
//! | `GET /sandbox/phone` | – | the shopper's phone page (HTML) |
//!
//! Errors are `{"error": {"code": "not_found" | "conflict" | "bad_request", "message": "…"}}` with 404,
//! 409 or 400.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use glase_protocol::{Operation, Request, ResponseBase as _, ResultCode, soap};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::ControlError;
use crate::faults::{FaultAction, FaultRules};
use crate::{SOAP_PATH, Sandbox, SandboxConfig, phone, wsdl};

impl Sandbox {
    /// The SOAP endpoint and the controls in one router.
    pub fn router(&self) -> Router {
        self.soap_router().merge(self.controls_router())
    }

    /// The SOAP endpoint at [`SOAP_PATH`]: POST for calls, `GET ?wsdl` for the WSDL.
    pub fn soap_router(&self) -> Router {
        Router::new()
            .route(SOAP_PATH, get(wsdl_get).post(soap_post))
            .with_state(self.clone())
    }

    /// The controls under `/sandbox/`.
    pub fn controls_router(&self) -> Router {
        Router::new()
            .route("/sandbox/phone", get(phone_page))
            .route("/sandbox/accounts", get(accounts))
            .route("/sandbox/invoices", get(list_invoices))
            .route("/sandbox/invoices/{reference}", get(get_invoice))
            .route("/sandbox/invoices/{reference}/{action}", post(invoice_action))
            .route("/sandbox/stickers/{seqr_id}", get(get_sticker))
            .route("/sandbox/stickers/{seqr_id}/pay", post(pay_sticker))
            .route("/sandbox/events", get(events))
            .route("/sandbox/clock", get(clock))
            .route("/sandbox/clock/advance", post(advance_clock))
            .route(
                "/sandbox/faults",
                axum::routing::put(put_faults)
                    .delete(delete_faults)
                    .get(get_faults),
            )
            .with_state(self.clone())
    }
}

// ----- SOAP ---------------------------------------------------------------------------------------

fn xml(status: StatusCode, body: String) -> HttpResponse {
    (status, [(header::CONTENT_TYPE, soap::CONTENT_TYPE)], body).into_response()
}

async fn soap_post(State(sandbox): State<Sandbox>, body: Bytes) -> HttpResponse {
    let started = Instant::now();
    let request = match soap::decode_request(&body) {
        Ok(request) => request,
        Err(error) => {
            tracing::info!(error = %error, duration_ms = started.elapsed().as_millis() as u64, "glase call rejected: SOAP fault");
            return xml(
                StatusCode::INTERNAL_SERVER_ERROR,
                soap::encode_fault("soap:Client", &error.to_string()),
            );
        }
    };
    let operation = request.operation();
    let fault = sandbox.draw_fault(operation.name());
    match fault {
        Some(FaultAction::Http500) => {
            log_call(&request, None, started, Some("http_500"));
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain")],
                "injected HTTP 500",
            )
                .into_response();
        }
        Some(FaultAction::ResultCode(code)) => {
            let response = glase_protocol::Response::with_code(operation, ResultCode::from_code(code));
            sandbox.record_call(&request, &response);
            log_call(&request, Some(code), started, Some("result_code"));
            return xml(StatusCode::OK, soap::encode_response(&response));
        }
        Some(FaultAction::Delay(wait)) => tokio::time::sleep(wait).await,
        _ => {}
    }
    let response = sandbox.execute(&request);
    let code = response.result_code().code();
    let body = soap::encode_response(&response);
    match fault {
        Some(FaultAction::Latency(wait)) => {
            tokio::time::sleep(wait).await;
            log_call(&request, Some(code), started, Some("latency"));
            xml(StatusCode::OK, body)
        }
        Some(FaultAction::Disconnect) => {
            log_call(&request, Some(code), started, Some("disconnect"));
            disconnect()
        }
        Some(FaultAction::Delay(_)) => {
            log_call(&request, Some(code), started, Some("delay"));
            xml(StatusCode::OK, body)
        }
        _ => {
            log_call(&request, Some(code), started, None);
            xml(StatusCode::OK, body)
        }
    }
}

/// One log line per call: operation, principal (a terminal or reseller id, never a password), result
/// code, duration and the injected fault, if any.
fn log_call(request: &Request, code: Option<i32>, started: Instant, fault: Option<&str>) {
    let operation: Operation = request.operation();
    tracing::info!(
        operation = operation.name(),
        principal = %request.context().initiator.id,
        result_code = code,
        duration_ms = started.elapsed().as_millis() as u64,
        fault,
        "glase call"
    );
}

/// A response whose body fails at once: hyper then closes the connection without a complete answer.
fn disconnect() -> HttpResponse {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("injected disconnect"))
    });
    HttpResponse::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, soap::CONTENT_TYPE)
        .body(Body::from_stream(failing))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn wsdl_get(OriginalUri(uri): OriginalUri, headers: HeaderMap) -> HttpResponse {
    let wants_wsdl = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.eq_ignore_ascii_case("wsdl")));
    if !wants_wsdl {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Glase sandbox SOAP 1.1 endpoint: POST SOAP envelopes here; GET ?wsdl for the WSDL.\n",
        )
            .into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    let endpoint = format!("{scheme}://{host}{}", uri.path());
    xml(StatusCode::OK, wsdl::render(&endpoint))
}

// ----- Controls -----------------------------------------------------------------------------------

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> HttpResponse {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message.to_string()}})),
    )
        .into_response()
}

fn control_error(e: ControlError) -> HttpResponse {
    match e {
        ControlError::NotFound(m) => error(StatusCode::NOT_FOUND, "not_found", m),
        ControlError::Conflict(m) => error(StatusCode::CONFLICT, "conflict", m),
        ControlError::BadRequest(m) => error(StatusCode::BAD_REQUEST, "bad_request", m),
    }
}

fn json_ok(value: impl serde::Serialize) -> HttpResponse {
    axum::Json(value).into_response()
}

async fn phone_page() -> Html<&'static str> {
    Html(phone::PAGE)
}

async fn accounts(State(sandbox): State<Sandbox>) -> HttpResponse {
    json_ok(sandbox.accounts())
}

async fn list_invoices(State(sandbox): State<Sandbox>) -> HttpResponse {
    json_ok(json!({"invoices": sandbox.invoices()}))
}

async fn get_invoice(State(sandbox): State<Sandbox>, Path(reference): Path<String>) -> HttpResponse {
    match sandbox.invoice(&reference) {
        Some(view) => json_ok(view),
        None => control_error(ControlError::NotFound(format!("no invoice {reference}"))),
    }
}

async fn invoice_action(
    State(sandbox): State<Sandbox>,
    Path((reference, action)): Path<(String, String)>,
) -> HttpResponse {
    let result = match action.as_str() {
        "pay" => sandbox.pay_invoice(&reference),
        "cancel" => sandbox.cancel_invoice_as_shopper(&reference),
        "fail" => sandbox.fail_invoice(&reference),
        "scan" => sandbox.scan_invoice(&reference),
        other => return control_error(ControlError::NotFound(format!("no shopper action {other:?}"))),
    };
    result.map_or_else(control_error, json_ok)
}

async fn get_sticker(State(sandbox): State<Sandbox>, Path(seqr_id): Path<String>) -> HttpResponse {
    sandbox
        .sticker_invoice(&seqr_id)
        .map_or_else(control_error, json_ok)
}

async fn pay_sticker(State(sandbox): State<Sandbox>, Path(seqr_id): Path<String>) -> HttpResponse {
    sandbox.pay_sticker(&seqr_id).map_or_else(control_error, json_ok)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<u64>,
}

async fn events(
    State(sandbox): State<Sandbox>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> HttpResponse {
    match query {
        Ok(Query(q)) => json_ok(json!({"events": sandbox.events(q.after)})),
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e.body_text()),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn clock(State(sandbox): State<Sandbox>) -> HttpResponse {
    json_ok(json!({"now": rfc3339(sandbox.now()), "offset_seconds": sandbox.inner.clock.offset().as_secs()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(sandbox): State<Sandbox>, body: Bytes) -> HttpResponse {
    match serde_json::from_slice::<Advance>(&body) {
        Ok(advance) => {
            json_ok(json!({"now": rfc3339(sandbox.advance_clock(Duration::from_secs(advance.seconds)))}))
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{\"seconds\": N}}: {e}"),
        ),
    }
}

async fn put_faults(State(sandbox): State<Sandbox>, body: Bytes) -> HttpResponse {
    let rules: FaultRules = match serde_json::from_slice(&body) {
        Ok(rules) => rules,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    match sandbox.set_faults(&rules) {
        Ok(()) => json_ok(json!({"rules": rules.rules.len()})),
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e),
    }
}

async fn delete_faults(State(sandbox): State<Sandbox>) -> HttpResponse {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(sandbox): State<Sandbox>) -> HttpResponse {
    json_ok(json!({"active": !sandbox.state().faults.is_empty()}))
}

// ----- Spawning -----------------------------------------------------------------------------------

/// A sandbox served on a local address, for tests and the binary.
#[derive(Debug)]
pub struct SandboxHandle {
    sandbox: Sandbox,
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SandboxHandle {
    /// The bound address (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `http://<addr>/extclientproxy/service/v2`.
    pub fn soap_endpoint_url(&self) -> String {
        format!("{}{SOAP_PATH}", self.base_url())
    }

    /// `http://<addr>/extclientproxy/service/v2?wsdl`.
    pub fn wsdl_url(&self) -> String {
        format!("{}?wsdl", self.soap_endpoint_url())
    }

    /// The sandbox, for controls in Rust.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting connections and waits (at most 5 s) for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// Serves until the process receives Ctrl-C or SIGTERM (used by the binary).
    pub async fn serve_until_signal(self) {
        shutdown_signal().await;
        self.shutdown().await;
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a sandbox on `addr` (use `127.0.0.1:0` in tests) and serves [`Sandbox::router`].
pub async fn spawn(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<SandboxHandle> {
    let sandbox =
        Sandbox::new(config).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = sandbox.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(SandboxHandle {
        sandbox,
        local_addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
