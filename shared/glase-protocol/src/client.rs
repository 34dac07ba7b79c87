//! The async Glase client: one `reqwest` client (rustls) built once, typed methods per operation, the
//! retry policy of [`crate::retry`] applied inside a caller-given deadline.
//!
//! TLS trusts the Mozilla root program compiled into the binary ([`tls_config`]), not the operating
//! system's store: reading and parsing that store cost 4 to 9 ms of every Lambda cold start, and the
//! compiled-in set is the same on a laptop and in Lambda.
//!
//! The client logs the operation name, the attempt number, the duration, the HTTP status and the result
//! code of every attempt, and never a request or response body (they carry passwords and payment data).

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};

use crate::model::*;
use crate::retry::{AttemptOutcome, RetryDecision, RetryPolicy, jittered};
use crate::soap::{self, DecodeError, Limits, SoapError};

/// How the client reaches Glase.
#[derive(Debug, Clone)]
pub struct GlaseClientConfig {
    /// The SOAP endpoint, e.g. `https://host/extclientproxy/service/v2` (no `?wsdl`).
    pub endpoint: String,
    /// The longest one attempt may take, connect to last response byte.
    pub request_timeout: Duration,
    /// The longest a TCP/TLS connect may take.
    pub connect_timeout: Duration,
    /// The `User-Agent` header; `None` leaves reqwest's default.
    pub user_agent: Option<String>,
    /// The retry policy.
    pub retry: RetryPolicy,
}

impl GlaseClientConfig {
    /// A configuration with a 10 s per-attempt timeout, a 2 s connect timeout and the default policy.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            user_agent: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The endpoint is not an absolute `http`/`https` URL.
    #[error("invalid Glase endpoint: {0}")]
    Endpoint(String),
    /// The HTTP client could not be built (e.g. TLS initialisation failed).
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Why a Glase call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlaseError {
    /// Glase answered with a non-zero result code.
    #[error("Glase rejected the call with result code {code}")]
    Rejected {
        /// The result code.
        code: ResultCode,
        /// The description Glase sent.
        description: Option<String>,
    },
    /// Nothing reached Glase: no connection could be made (or the deadline ran out before sending).
    #[error("could not reach Glase: {message}")]
    Transport {
        /// What went wrong (no message content).
        message: String,
    },
    /// The request may have reached Glase and no answer came back (timeout after sending, reset
    /// connection, HTTP 5xx without a SOAP body). The operation may or may not have taken effect.
    #[error("outcome unknown: {message}")]
    OutcomeUnknown {
        /// What went wrong (no message content).
        message: String,
    },
    /// Glase answered with a SOAP Fault.
    #[error("SOAP fault {code}: {message}")]
    Fault {
        /// The `faultcode`.
        code: String,
        /// The `faultstring`.
        message: String,
    },
    /// Glase answered with an unexpected HTTP status and no SOAP body.
    #[error("unexpected HTTP status {status}")]
    Http {
        /// The status code.
        status: u16,
    },
    /// Glase answered with a body this crate cannot decode.
    #[error("undecodable Glase response: {0}")]
    Decode(DecodeError),
}

impl GlaseError {
    /// Whether calling again later could succeed without risking a duplicate effect: transport
    /// failures, `SYSTEM_BUSY`, `SERVICE_UNAVAILABLE`, `REPORT_NOT_READY` and HTTP 5xx.
    /// `OutcomeUnknown` is not: reconcile first (e.g. read the status) and then decide.
    pub fn is_retryable(&self) -> bool {
        match self {
            GlaseError::Transport { .. } => true,
            GlaseError::Rejected { code, .. } => matches!(
                code,
                ResultCode::SystemBusy | ResultCode::ServiceUnavailable | ResultCode::ReportNotReady
            ),
            GlaseError::Http { status } => *status >= 500,
            GlaseError::OutcomeUnknown { .. } | GlaseError::Fault { .. } | GlaseError::Decode(_) => false,
        }
    }

    /// Whether the operation may have taken effect at Glase although the call failed: an unknown
    /// outcome, or an answer that could not be decoded.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self, GlaseError::OutcomeUnknown { .. } | GlaseError::Decode(_))
    }

    /// The result code of a rejection.
    pub fn result_code(&self) -> Option<ResultCode> {
        match self {
            GlaseError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

type JitterSource = Arc<dyn Fn() -> u16 + Send + Sync>;

/// The Glase client. Build it once per process (Lambda cold start) and clone it freely: clones share
/// the connection pool.
#[derive(Clone)]
pub struct GlaseClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    request_timeout: Duration,
    retry: RetryPolicy,
    jitter: JitterSource,
}

impl std::fmt::Debug for GlaseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlaseClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("request_timeout", &self.inner.request_timeout)
            .finish_non_exhaustive()
    }
}

/// A random permille from the standard library's per-instance random hash keys.
fn random_permille() -> u16 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    u16::try_from(bits % 1001).unwrap_or(1000)
}

/// The client's TLS configuration: the Mozilla root program compiled into the binary as ready trust
/// anchors (`webpki-roots`; nothing to parse at start-up, where copying and parsing the 150 certificates
/// for reqwest cost about a sixth of a cold start's client construction), TLS 1.2 and 1.3 with the
/// aws-lc-rs provider, and HTTP/2 or HTTP/1.1 offered by ALPN as reqwest would.
pub fn tls_config() -> Result<rustls::ClientConfig, ConfigError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Http(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl GlaseClient {
    /// Builds the client. Proxy environment variables are ignored on purpose: payment traffic goes
    /// straight to the configured endpoint.
    pub fn new(config: GlaseClientConfig) -> Result<Self, ConfigError> {
        let endpoint = Url::parse(&config.endpoint).map_err(|e| ConfigError::Endpoint(e.to_string()))?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(ConfigError::Endpoint(format!(
                "{} is not an http(s) URL",
                endpoint.scheme()
            )));
        }
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .no_proxy();
        if let Some(agent) = &config.user_agent {
            builder = builder.user_agent(agent.clone());
        }
        let http = builder.build().map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                request_timeout: config.request_timeout,
                retry: config.retry,
                jitter: Arc::new(random_permille),
            }),
        })
    }

    /// Replaces the jitter source (a permille in `0..=1000`), e.g. with a constant in tests.
    pub fn with_jitter(self, source: impl Fn() -> u16 + Send + Sync + 'static) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                endpoint: inner.endpoint.clone(),
                request_timeout: inner.request_timeout,
                retry: inner.retry,
                jitter: Arc::new(source),
            }),
        }
    }

    /// The configured endpoint.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// Opens a connection ahead of the first call (a GET of `<endpoint>?wsdl`, body discarded), so that
    /// a Lambda init phase pays for TCP and TLS set-up. Any HTTP answer counts as success.
    pub async fn warm_up(&self) -> Result<(), GlaseError> {
        let mut url = self.inner.endpoint.clone();
        url.set_query(Some("wsdl"));
        let started = Instant::now();
        match self.inner.http.get(url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = read_capped(response, Limits::MESSAGE.bytes).await;
                tracing::info!(
                    elapsed_ms = elapsed_ms(started),
                    http_status = status,
                    "glase warm-up"
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(elapsed_ms = elapsed_ms(started), "glase warm-up failed");
                Err(GlaseError::Transport {
                    message: describe(&e),
                })
            }
        }
    }

    /// Performs `request`, retrying as [`crate::retry`] allows, within `deadline` from now.
    pub async fn call(&self, request: &Request, deadline: Duration) -> Result<Response, GlaseError> {
        let op = request.operation();
        let body = soap::encode_request(request);
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut maybe_sent = false;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                let message = "deadline exhausted before the request was sent".to_owned();
                return Err(if maybe_sent {
                    GlaseError::OutcomeUnknown { message }
                } else {
                    GlaseError::Transport { message }
                });
            }
            let attempt_started = Instant::now();
            let (outcome, status, result) = self
                .attempt(op, body.clone(), remaining.min(self.inner.request_timeout))
                .await;
            maybe_sent |= outcome != AttemptOutcome::ConnectFailed;
            let result_code = match &outcome {
                AttemptOutcome::Answered(code) => Some(code.code()),
                _ => None,
            };
            let decision = self
                .inner
                .retry
                .decide(op, attempt, &outcome, started.elapsed(), deadline);
            tracing::info!(
                operation = op.name(),
                attempt,
                elapsed_ms = elapsed_ms(attempt_started),
                http_status = status,
                result_code,
                outcome = outcome_label(&outcome),
                retry = matches!(decision, RetryDecision::RetryAfter(_)),
                "glase call"
            );
            match decision {
                RetryDecision::RetryAfter(wait) => {
                    tokio::time::sleep(jittered(wait, (self.inner.jitter)())).await;
                }
                RetryDecision::Stop => {
                    return result.map_err(|e| match e {
                        GlaseError::Transport { message } if maybe_sent => GlaseError::OutcomeUnknown {
                            message: format!("{message} (after an earlier attempt may have reached Glase)"),
                        },
                        other => other,
                    });
                }
            }
        }
    }

    async fn attempt(
        &self,
        op: Operation,
        body: String,
        timeout: Duration,
    ) -> (AttemptOutcome, Option<u16>, Result<Response, GlaseError>) {
        let sent = self
            .inner
            .http
            .post(self.inner.endpoint.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(soap::CONTENT_TYPE))
            .header("SOAPAction", HeaderValue::from_static("\"\""))
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return (
                    AttemptOutcome::ConnectFailed,
                    None,
                    Err(GlaseError::Transport {
                        message: describe(&e),
                    }),
                );
            }
            Err(e) => {
                return (
                    AttemptOutcome::Ambiguous,
                    None,
                    Err(GlaseError::OutcomeUnknown {
                        message: describe(&e),
                    }),
                );
            }
        };
        let status = response.status();
        let code = Some(status.as_u16());
        let limit = Limits::of_response(op).bytes;
        let bytes = match read_capped(response, limit).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge(size)) => {
                let error = DecodeError::TooLarge { size, limit };
                return (AttemptOutcome::Undecodable, code, Err(GlaseError::Decode(error)));
            }
            Err(ReadError::Http(e)) => {
                let message = format!("response body interrupted: {}", describe(&e));
                return (
                    AttemptOutcome::Ambiguous,
                    code,
                    Err(GlaseError::OutcomeUnknown { message }),
                );
            }
        };
        match soap::decode_response(op, &bytes) {
            Ok(response) => {
                let result_code = response.result_code();
                let outcome = AttemptOutcome::Answered(result_code);
                if result_code.is_success() {
                    (outcome, code, Ok(response))
                } else {
                    let description = response.result_description().map(str::to_owned);
                    (
                        outcome,
                        code,
                        Err(GlaseError::Rejected {
                            code: result_code,
                            description,
                        }),
                    )
                }
            }
            Err(SoapError::Fault { code: fault, message }) => (
                AttemptOutcome::Fault,
                code,
                Err(GlaseError::Fault { code: fault, message }),
            ),
            Err(SoapError::Decode(error)) => classify_undecodable(status, error, code),
        }
    }
}

fn classify_undecodable(
    status: StatusCode,
    error: DecodeError,
    code: Option<u16>,
) -> (AttemptOutcome, Option<u16>, Result<Response, GlaseError>) {
    if status.is_server_error() {
        let message = format!("HTTP {} without a SOAP body", status.as_u16());
        (
            AttemptOutcome::Ambiguous,
            code,
            Err(GlaseError::OutcomeUnknown { message }),
        )
    } else if !status.is_success() {
        (
            AttemptOutcome::HttpStatus(status.as_u16()),
            code,
            Err(GlaseError::Http {
                status: status.as_u16(),
            }),
        )
    } else {
        (AttemptOutcome::Undecodable, code, Err(GlaseError::Decode(error)))
    }
}

enum ReadError {
    TooLarge(usize),
    Http(reqwest::Error),
}

/// Reads a response body, refusing more than `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if let Some(length) = response.content_length().and_then(|l| usize::try_from(l).ok())
        && length > limit
    {
        return Err(ReadError::TooLarge(length));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A short description of a transport error, without URL or body.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connect failed"
    } else if error.is_body() {
        "body error"
    } else if error.is_request() {
        "request failed"
    } else {
        "HTTP error"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn outcome_label(outcome: &AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::ConnectFailed => "connect_failed",
        AttemptOutcome::Ambiguous => "ambiguous",
        AttemptOutcome::HttpStatus(_) => "http_status",
        AttemptOutcome::Fault => "fault",
        AttemptOutcome::Undecodable => "undecodable",
        AttemptOutcome::Answered(code) if code.is_success() => "success",
        AttemptOutcome::Answered(_) => "rejected",
    }
}

macro_rules! typed_calls {
    ($($(#[$doc:meta])* $method:ident($req:ident) -> $resp:ident;)*) => {
        impl GlaseClient {
            $(
                $(#[$doc])*
                pub async fn $method(&self, request: &$req, deadline: Duration) -> Result<$resp, GlaseError> {
                    let response = self.call(&Request::from(request.clone()), deadline).await?;
                    $resp::try_from(response).map_err(|other| {
                        GlaseError::Decode(DecodeError::UnexpectedElement {
                            expected: stringify!($resp).to_owned(),
                            found: other.operation().response_name(),
                        })
                    })
                }
            )*
        }
    };
}

typed_calls! {
    /// `sendInvoice`. Never repeated after an ambiguous failure: expect `OutcomeUnknown`.
    send_invoice(SendInvoiceRequest) -> SendInvoiceResponse;
    /// `updateInvoice`. Never repeated after an ambiguous failure.
    update_invoice(UpdateInvoiceRequest) -> UpdateInvoiceResponse;
    /// `getPaymentStatus`. Repeated on transport errors, 5xx, 93 and 94.
    get_payment_status(GetPaymentStatusRequest) -> GetPaymentStatusResponse;
    /// `cancelInvoice`. Repeated on transport errors, 5xx, 93 and 94 (a repeat answers 95 at worst).
    cancel_invoice(CancelInvoiceRequest) -> CancelInvoiceResponse;
    /// `commitReservation`. Never repeated after an ambiguous failure.
    commit_reservation(CommitReservationRequest) -> CommitReservationResponse;
    /// `submitPaymentReceipt`. Never repeated after an ambiguous failure.
    submit_payment_receipt(SubmitPaymentReceiptRequest) -> SubmitPaymentReceiptResponse;
    /// `refundPayment`. Never repeated after an ambiguous failure: expect `OutcomeUnknown`.
    refund_payment(RefundPaymentRequest) -> RefundPaymentResponse;
    /// `registerTerminal`. Never repeated after an ambiguous failure.
    register_terminal(RegisterTerminalRequest) -> RegisterTerminalResponse;
    /// `unregisterTerminal`. Never repeated after an ambiguous failure.
    unregister_terminal(UnregisterTerminalRequest) -> UnregisterTerminalResponse;
    /// `assignSeqrId`. Never repeated after an ambiguous failure.
    assign_seqr_id(AssignSeqrIdRequest) -> AssignSeqrIdResponse;
    /// `markTransactionPeriod`. Never repeated after an ambiguous failure.
    mark_transaction_period(MarkTransactionPeriodRequest) -> MarkTransactionPeriodResponse;
    /// `executeReport`. Repeated on transport errors, 5xx, 93, 94 and `REPORT_NOT_READY` (1–3 s waits).
    execute_report(ExecuteReportRequest) -> ExecuteReportResponse;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(matches!(
            GlaseClient::new(GlaseClientConfig::new("not a url")),
            Err(ConfigError::Endpoint(_))
        ));
        assert!(matches!(
            GlaseClient::new(GlaseClientConfig::new("ftp://host/x")),
            Err(ConfigError::Endpoint(_))
        ));
        let client = GlaseClient::new(GlaseClientConfig::new("http://127.0.0.1:9/service")).unwrap();
        assert_eq!(client.endpoint(), "http://127.0.0.1:9/service");
        assert!(format!("{client:?}").contains("127.0.0.1:9"));
    }

    #[test]
    fn error_classification() {
        let rejected = |code| GlaseError::Rejected {
            code: ResultCode::from_code(code),
            description: None,
        };
        assert!(rejected(93).is_retryable());
        assert!(rejected(94).is_retryable());
        assert!(rejected(2).is_retryable());
        assert!(!rejected(49).is_retryable());
        assert_eq!(rejected(49).result_code(), Some(ResultCode::InvalidInvoiceData));
        assert!(
            GlaseError::Transport {
                message: String::new()
            }
            .is_retryable()
        );
        assert!(GlaseError::Http { status: 503 }.is_retryable());
        assert!(!GlaseError::Http { status: 404 }.is_retryable());
        let unknown = GlaseError::OutcomeUnknown {
            message: String::new(),
        };
        assert!(!unknown.is_retryable());
        assert!(unknown.may_have_taken_effect());
        assert!(GlaseError::Decode(DecodeError::EmptyBody).may_have_taken_effect());
        assert!(!rejected(49).may_have_taken_effect());
        assert!(
            !GlaseError::Fault {
                code: "soap:Client".into(),
                message: String::new()
            }
            .may_have_taken_effect()
        );
    }

    #[test]
    fn random_jitter_stays_in_range() {
        for _ in 0..100 {
            assert!(random_permille() <= 1000);
        }
    }

    #[test]
    fn undecodable_bodies_are_classified_by_status() {
        let e = DecodeError::EmptyBody;
        assert_eq!(
            classify_undecodable(StatusCode::BAD_GATEWAY, e.clone(), Some(502)).0,
            AttemptOutcome::Ambiguous
        );
        assert_eq!(
            classify_undecodable(StatusCode::NOT_FOUND, e.clone(), Some(404)).0,
            AttemptOutcome::HttpStatus(404)
        );
        assert_eq!(
            classify_undecodable(StatusCode::OK, e, Some(200)).0,
            AttemptOutcome::Undecodable
        );
    }
}
