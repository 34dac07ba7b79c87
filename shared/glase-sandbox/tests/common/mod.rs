//! Helpers shared by the integration tests: a started sandbox, the protocol crate's client pointed at it,
//! contexts, invoices and a tiny notification receiver.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use glase_protocol::retry::RetryPolicy;
use glase_protocol::{
    Amount, ClientContext, GetPaymentStatusRequest, GetPaymentStatusResponse, Invoice, InvoiceRow, Password,
    PaymentMode, Request, Response, SendInvoiceRequest, SendInvoiceResponse, soap,
};
use glase_protocol::{GlaseClient, GlaseClientConfig, GlaseError};
use glase_sandbox::{SandboxConfig, SandboxHandle};

pub const TERMINAL: &str = "public_test_shop_terminal";
pub const TERMINAL_PASSWORD: &str = "12345678";

/// A started sandbox, the protocol crate's client pointed at it (without retries, so that tests see every
/// answer as it is) and a plain HTTP client for raw SOAP and the controls.
pub struct TestSandbox {
    pub handle: SandboxHandle,
    pub client: GlaseClient,
    pub http: reqwest::Client,
}

pub async fn start() -> TestSandbox {
    start_with(SandboxConfig {
        seed: Some(7),
        ..SandboxConfig::default()
    })
    .await
}

pub async fn start_with(config: SandboxConfig) -> TestSandbox {
    let handle = glase_sandbox::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let no_retries = RetryPolicy {
        max_attempts: 1,
        max_report_attempts: 1,
        ..RetryPolicy::default()
    };
    let client = client_for(&handle, no_retries);
    TestSandbox {
        handle,
        client,
        http: reqwest::Client::new(),
    }
}

/// A protocol-crate client for the sandbox with the given retry policy.
pub fn client_for(handle: &SandboxHandle, retry: RetryPolicy) -> GlaseClient {
    let mut config = GlaseClientConfig::new(handle.soap_endpoint_url());
    config.request_timeout = Duration::from_secs(5);
    config.retry = retry;
    GlaseClient::new(config).unwrap()
}

impl TestSandbox {
    pub fn sandbox(&self) -> &glase_sandbox::Sandbox {
        self.handle.sandbox()
    }

    /// Performs one request through the protocol crate's [`GlaseClient`]. A business rejection (which the
    /// client reports as `GlaseError::Rejected`) is turned back into the response the server sent, so
    /// that tests can assert every result code the same way.
    pub async fn call(&self, request: impl Into<Request>) -> Response {
        let request = request.into();
        let operation = request.operation();
        match self.client.call(&request, Duration::from_secs(10)).await {
            Ok(response) => response,
            Err(GlaseError::Rejected { code, description }) => {
                assert_eq!(description, Some(code.description()), "{operation}");
                Response::with_code(operation, code)
            }
            Err(other) => panic!("{operation}: {other:?}"),
        }
    }

    /// The result code [`TestSandbox::call`] gets for `request`.
    pub async fn code(&self, request: impl Into<Request>) -> i32 {
        glase_protocol::ResponseBase::result_code(&self.call(request).await).code()
    }

    /// Sends one request with the codec and reqwest, bypassing the client (for fault tests).
    pub async fn raw(&self, request: impl Into<Request>) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(self.handle.soap_endpoint_url())
            .header("content-type", soap::CONTENT_TYPE)
            .body(soap::encode_request(&request.into()))
            .send()
            .await
    }

    /// Sends an invoice of 1.00 that notifies `url`, pays it as the shopper and answers its reference.
    pub async fn paid(&self, url: &str) -> String {
        let mut order = invoice(100);
        order.notification_url = Some(url.to_owned());
        let reference = self.send(order).await;
        self.sandbox().pay_invoice(&reference).unwrap();
        reference
    }

    /// Replaces the sandbox's fault rules by `rules`, given as the `/sandbox/faults` JSON.
    pub fn set_faults(&self, rules: serde_json::Value) {
        let rules: glase_sandbox::FaultRules = serde_json::from_value(rules).unwrap();
        self.sandbox().set_faults(&rules).unwrap();
    }

    /// The first event `predicate` accepts within `seconds`, or `None`.
    pub async fn event_within(
        &self,
        seconds: u64,
        predicate: impl Fn(&glase_sandbox::Event) -> bool,
    ) -> Option<glase_sandbox::Event> {
        self.sandbox()
            .wait_for_event(Duration::from_secs(seconds), predicate)
            .await
    }

    /// Sends an invoice on the webshop terminal and answers its reference.
    pub async fn send(&self, invoice: Invoice) -> String {
        let response = self.send_on(shop(), invoice).await;
        assert_eq!(response.result_code.code(), 0, "{response:?}");
        response.invoice_reference.unwrap()
    }

    pub async fn send_on(&self, context: ClientContext, invoice: Invoice) -> SendInvoiceResponse {
        let request = SendInvoiceRequest {
            context,
            invoice: Some(invoice),
            tokens: vec![],
        };
        SendInvoiceResponse::try_from(self.call(request).await).unwrap()
    }

    pub async fn status(&self, reference: &str) -> GetPaymentStatusResponse {
        self.status_on(shop(), reference).await
    }

    pub async fn status_on(&self, context: ClientContext, reference: &str) -> GetPaymentStatusResponse {
        let request = GetPaymentStatusRequest {
            context,
            invoice_reference: Some(reference.to_owned()),
            invoice_version: 0,
        };
        GetPaymentStatusResponse::try_from(self.call(request).await).unwrap()
    }

    /// Sends an invoice, pays it as the shopper and acknowledges it with getPaymentStatus.
    /// Sends an invoice of `minor` units, pays it as the shopper without acknowledging it and answers
    /// the payment's ersReference.
    pub async fn paid_unacknowledged(&self, minor: i64) -> String {
        let reference = self.send(invoice(minor)).await;
        let paid = self.sandbox().pay_invoice(&reference).unwrap();
        paid.invoice.payment.unwrap().ers_reference
    }

    pub async fn paid_and_acknowledged(&self, minor: i64) -> (String, String) {
        let reference = self.send(invoice(minor)).await;
        self.sandbox().pay_invoice(&reference).unwrap();
        let status = self.status(&reference).await;
        assert_eq!(status.status.unwrap().as_str(), "PAID");
        (reference, status.ers_reference.unwrap())
    }

    /// Sends a `method` request to `path` on the sandbox, with `body` as JSON when given.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }
}

/// The response's `content-type` header.
pub fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

pub fn shop() -> ClientContext {
    ClientContext::terminal(TERMINAL, Password::new(TERMINAL_PASSWORD))
}

pub fn reseller() -> ClientContext {
    ClientContext::reseller("public_test_shop", "9900", Password::new("1234"))
}

pub fn sek(minor: i64) -> Amount {
    Amount::from_minor_units("SEK", minor)
}

/// An invoice of one row for `minor` hundredths of SEK.
pub fn invoice(minor: i64) -> Invoice {
    Invoice {
        payment_mode: Some(PaymentMode::ImmediateDebit),
        title: Some("Test order".into()),
        client_invoice_id: Some("order-42".into()),
        invoice_rows: Some(vec![row(minor)]),
        total_amount: Some(sek(minor)),
        cashier_id: Some("Bob".into()),
        back_url: Some("https://shop.example/done?order=42".into()),
        ..Invoice::default()
    }
}

pub fn row(minor: i64) -> InvoiceRow {
    InvoiceRow {
        item_description: Some("Coffee".into()),
        item_quantity: Some(glase_protocol::Decimal::from_integer(1)),
        item_total_amount: Some(sek(minor)),
        ..InvoiceRow::default()
    }
}

/// What the notification receiver saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path_and_query: String,
    pub content_type: Option<String>,
    pub body: String,
}

/// A tiny notification receiver that records POSTs and answers a fixed status.
pub struct Receiver {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    pub async fn start(status: StatusCode) -> Self {
        Self::start_with_hook(status, None).await
    }

    /// Starts a receiver; `hook` (if any) runs before answering, e.g. to call getPaymentStatus like a
    /// merchant's notification handler.
    pub async fn start_with_hook(
        status: StatusCode,
        hook: Option<Arc<dyn Fn(String) + Send + Sync>>,
    ) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let state = (seen.clone(), status, hook);
        let app = Router::new().route("/{*path}", post(record)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, seen }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

type ReceiverState = (
    Arc<Mutex<Vec<Seen>>>,
    StatusCode,
    Option<Arc<dyn Fn(String) + Send + Sync>>,
);

async fn record(
    State((seen, status, hook)): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = String::from_utf8_lossy(&body).into_owned();
    seen.lock().unwrap().push(Seen {
        path_and_query: uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
    });
    if let Some(hook) = hook {
        hook(body);
    }
    status
}

/// Waits (real time, at most 5 s) until `f` holds.
pub async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}
