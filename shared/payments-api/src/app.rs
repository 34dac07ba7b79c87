//! The application: one entry point, [`App::handle`], from an HTTP request to an HTTP response.
//!
//! Handlers are thin: they authenticate, parse the body into domain values, call one use case and
//! render its result. Every failure becomes a response through [`ApiError`]; `handle` never fails, so a
//! Lambda function built on it answers every expected failure itself instead of a 502 from API Gateway.
//!
//! [`App::handle_within`] answers inside an invocation's deadline (the Lambda context's, or the local
//! stack's stand-in for it): creating a payment, a notification, a status read, a cancel and an update
//! hand it to their use case, which bounds every Glase call by it (see `payments_domain::usecases`, "Deadlines"). A payment
//! that the time left cannot create safely is refused with 503 `unavailable` before anything is sent.

use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use payments_domain::idempotency::IdempotencyKey;
use payments_domain::ids::PaymentId;
use payments_domain::ids::Timestamp;
use payments_domain::payment::{GlaseInvoiceStatus, PaymentStatus};
use payments_domain::ports::{Clock, PortTypes, Ports};
use payments_domain::usecases::{Caller, ConfirmOutcome, Deps, UseCaseError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::ApiKeys;
use crate::dto::PaymentDto;
use crate::error::ApiError;
use crate::metrics::{Metric, Metrics};
pub use crate::refund_batch::{BatchTime, QueuedMessage, RefundBatch};
use crate::routes::Route;
use crate::settings::Function;

/// [`App::handle_as`]'s `FUNCTION` that answers every route (the local stack, the tests, the
/// benchmarks): no function has this number.
pub const EVERY_FUNCTION: u8 = u8::MAX;

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request as every function and the local stack hand it over.
pub type ApiRequest = Request<Bytes>;
/// A response.
pub type ApiResponse = Response<String>;
/// What a handler answers: the response, or the error that becomes one.
pub(crate) type Handled = Result<ApiResponse, ApiError>;

/// Who asks about a payment: the merchant (API key) or a browser/till (the payment's client secret).
pub(crate) enum Asker {
    /// The merchant's API key was presented and accepted.
    Merchant,
    /// A client secret, still to be compared with the payment's.
    ClientSecret(String),
}

impl Asker {
    /// The caller as the use cases take it.
    pub(crate) fn caller(&self) -> Caller<'_> {
        match self {
            Asker::Merchant => Caller::Merchant,
            Asker::ClientSecret(secret) => Caller::ClientSecret(secret),
        }
    }
}

/// The application: the use cases' dependencies, the API keys, metrics, and which routes it serves.
pub struct App<P: PortTypes> {
    /// The use cases.
    pub deps: Deps<P>,
    /// The merchant API keys.
    pub api_keys: ApiKeys,
    /// Metrics.
    pub metrics: Metrics,
    /// The function whose routes this app serves; `None` serves every route (the local stack).
    pub function: Option<Function>,
}

impl<P: PortTypes> Clone for App<P>
where
    Deps<P>: Clone,
{
    fn clone(&self) -> Self {
        Self {
            deps: self.deps.clone(),
            api_keys: self.api_keys.clone(),
            metrics: self.metrics.clone(),
            function: self.function,
        }
    }
}

pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> ApiResponse {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut r = Response::new(text);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The response of an error.
pub fn error_response(error: &ApiError) -> ApiResponse {
    let (status, body) = error.into_response_parts();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The decoded query parameters of a request.
pub fn query_params(request: &ApiRequest) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default()
}

pub(crate) fn query_value(request: &ApiRequest, name: &str) -> Option<String> {
    query_params(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub(crate) fn parse_body<T: DeserializeOwned>(request: &ApiRequest) -> Result<T, ApiError> {
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    // serde would also read a struct from a JSON array (its fields by position); the API takes objects.
    if request.body().iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    // The path of the value at fault (`total`, `rows[3].quantity`) becomes the error's field; serde's
    // message says what was expected there.
    let mut deserializer = serde_json::Deserializer::from_slice(request.body());
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = format!("the body is not valid: {}", e.inner());
        if path == "." || path.is_empty() || path.contains('?') {
            ApiError::invalid(message)
        } else {
            ApiError::invalid_field(path, message)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::invalid(format!("the body is not valid: {e}")))?;
    Ok(value)
}

/// The request's `Idempotency-Key` header, if it has one; a malformed key is a 400 naming the header.
pub(crate) fn idempotency_key(request: &ApiRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    header_str(request.headers(), "idempotency-key")
        .map(|k| {
            IdempotencyKey::parse(k).map_err(|e| ApiError::invalid_field("Idempotency-Key", e.to_string()))
        })
        .transpose()
}

pub(crate) fn payment_id(raw: &str) -> Result<PaymentId, ApiError> {
    PaymentId::parse(raw).map_err(|_| ApiError::not_found("payment"))
}

impl<P: Ports> App<P> {
    /// Answers one request without a deadline of its own (each call then ends by its client's own
    /// timeouts). Never fails: every error becomes its JSON response.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        self.handle_within(request, None).await
    }

    /// Answers one request inside an invocation that must have answered by `deadline`. Never fails:
    /// every error becomes its JSON response.
    pub async fn handle_within(&self, request: ApiRequest, deadline: Option<Timestamp>) -> ApiResponse {
        self.handle_as::<EVERY_FUNCTION>(request, deadline).await
    }

    /// [`App::handle_within`] compiled for the function numbered `FUNCTION` (`Function::X as u8`): only
    /// that function's handlers are in the code, and another function's route answers 404, as it does
    /// for an app whose [`App::function`] is another one. A deployed function's binary so carries its
    /// own handlers and not every route's; [`EVERY_FUNCTION`] answers every route.
    pub async fn handle_as<const FUNCTION: u8>(
        &self,
        request: ApiRequest,
        deadline: Option<Timestamp>,
    ) -> ApiResponse {
        let route = match Route::parse(request.method(), request.uri().path()) {
            Ok(r) => r,
            Err(e) => {
                let mut response = error_response(&e);
                if e.status == StatusCode::METHOD_NOT_ALLOWED {
                    // RFC 9110: a 405 lists the methods the path takes.
                    let methods = Route::allowed_methods(request.uri().path());
                    let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
                    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                        response.headers_mut().insert(header::ALLOW, value);
                    }
                }
                return response;
            }
        };
        let Some(dispatched) = self.dispatch::<FUNCTION>(route, &request, deadline) else {
            return error_response(&ApiError::not_found("route"));
        };
        // Every line logged while answering carries the method and path (the payment or refund id, never
        // the query, where the notification token and client secret travel); in Lambda this span sits
        // inside the runtime's span that carries the request id.
        let span = tracing::info_span!("request", method = %request.method(), path = request.uri().path());
        match tracing::Instrument::instrument(dispatched, span).await {
            Ok(r) => r,
            Err(e) => {
                if e.status.is_server_error() {
                    tracing::warn!(status = e.status.as_u16(), code = e.code, "request failed");
                }
                error_response(&e)
            }
        }
    }

    /// The route's handler when the function numbered `FUNCTION` answers it, else `None`. With
    /// [`EVERY_FUNCTION`] the function is [`App::function`], and for an app of every function the
    /// route's own.
    ///
    /// The function is the first thing matched and, for one function, a constant: the arms of every
    /// other function are dropped when this compiles. Each arm names the function of
    /// [`Route::function`] (a test keeps the two equal).
    ///
    /// The handler comes boxed: the handlers' futures are large (a use case with its Glase and store
    /// calls inline), and held in `handle_as`'s they would be copied into every caller's future and stack
    /// frame. Each route's future is its own box, so no future holds the largest of them all.
    fn dispatch<'a, const FUNCTION: u8>(
        &'a self,
        route: Route,
        request: &'a ApiRequest,
        deadline: Option<Timestamp>,
    ) -> Option<Pin<Box<dyn Future<Output = Handled> + Send + 'a>>> {
        use Function as F;
        let function = match const { Function::from_number(FUNCTION) } {
            Some(function) => function,
            None => self.function.unwrap_or_else(|| route.function()),
        };
        Some(match (function, route) {
            (F::CreatePayment, Route::CreatePayment) => Box::pin(self.create_payment(request, deadline)),
            (F::PaymentStatus, Route::OpenApi) => Box::pin(std::future::ready({
                let mut r = Response::new(crate::openapi::OPENAPI_JSON.to_owned());
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok(r)
            })),
            (F::PaymentStatus, Route::Widget) => {
                Box::pin(std::future::ready(Ok(crate::widget::response(request))))
            }
            (F::PaymentStatus, Route::GetPayment(id)) => {
                Box::pin(async move { self.get_payment(request, &id, deadline).await })
            }
            (F::PaymentStatus, Route::PaymentQr(id)) => {
                Box::pin(async move { self.payment_qr(request, &id).await })
            }
            (F::PaymentControl, Route::CancelPayment(id)) => {
                Box::pin(async move { self.cancel_payment(request, &id, deadline).await })
            }
            (F::PaymentControl, Route::UpdatePayment(id)) => {
                Box::pin(async move { self.update_payment(request, &id, deadline).await })
            }
            (F::PaymentControl, Route::TryAgain(id)) => {
                Box::pin(async move { self.try_again(request, &id).await })
            }
            (F::Notification, Route::Notify(id)) => {
                Box::pin(async move { self.notify(request, &id, deadline).await })
            }
            (F::RefundRequest, Route::CreateRefund(id)) => {
                Box::pin(async move { self.create_refund(request, &id).await })
            }
            (F::RefundRequest, Route::GetRefund(id, refund_id)) => {
                Box::pin(async move { self.get_refund(request, &id, &refund_id).await })
            }
            (F::Terminals, Route::RegisterTerminal) => Box::pin(self.register_terminal(request)),
            (F::Terminals, Route::ListTerminals) => Box::pin(self.list_terminals(request)),
            (F::Terminals, Route::AssignGlaseId(id)) => {
                Box::pin(async move { self.assign_glase_id(request, &id).await })
            }
            (F::Terminals, Route::UnregisterTerminal(id)) => {
                Box::pin(async move { self.unregister_terminal(request, &id).await })
            }
            (F::Reporting, Route::ClosePeriod) => Box::pin(self.close_period(request)),
            (F::Reporting, Route::GetReport(id)) => {
                Box::pin(async move { self.get_report(request, &id).await })
            }
            _ => return None,
        })
    }

    /// The API view of a payment, with the till's view of a POS payment as of now.
    pub(crate) fn payment_dto(
        &self,
        payment: &payments_domain::payment::Payment,
        refunds: &[payments_domain::refund::Refund],
    ) -> PaymentDto {
        PaymentDto::new(payment, refunds).with_pos(
            payment,
            self.deps.clock.now(),
            self.deps.settings.pos_window,
        )
    }

    /// Requires the merchant API key.
    pub(crate) fn merchant(&self, request: &ApiRequest) -> Result<(), ApiError> {
        if self
            .api_keys
            .accepts_authorization(header_str(request.headers(), "authorization"))
        {
            Ok(())
        } else {
            Err(ApiError::unauthorized())
        }
    }

    /// Requires the merchant API key and reads the JSON body.
    pub(crate) fn merchant_body<T: DeserializeOwned>(&self, request: &ApiRequest) -> Result<T, ApiError> {
        self.merchant(request)?;
        parse_body(request)
    }

    /// The payment `id` and who asks about it: the merchant (API key) or a browser/till (the payment's
    /// client secret, from the `client_secret` query parameter or the `X-Client-Secret` header). A
    /// request without credentials is refused before its id is read.
    pub(crate) fn payment_asker(
        &self,
        request: &ApiRequest,
        id: &str,
    ) -> Result<(PaymentId, Asker), ApiError> {
        let asker = if header_str(request.headers(), "authorization").is_some() {
            self.merchant(request).map(|()| Asker::Merchant)?
        } else {
            match query_value(request, "client_secret")
                .or_else(|| header_str(request.headers(), "x-client-secret").map(str::to_owned))
            {
                Some(s) if !s.is_empty() => Asker::ClientSecret(s),
                _ => return Err(ApiError::unauthorized()),
            }
        };
        Ok((payment_id(id)?, asker))
    }

    /// Awaits `call`, recording a Glase failure of `operation` in the metrics.
    pub(crate) async fn recorded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, UseCaseError>>,
    ) -> Result<T, UseCaseError> {
        call.await
            .inspect_err(|e| self.record_glase_failure(operation, e))
    }

    pub(crate) fn record_glase_failure(&self, operation: &'static str, error: &UseCaseError) {
        match error {
            UseCaseError::GlaseRejected { code, .. } => {
                self.metrics.record(&Metric::GlaseError {
                    operation,
                    result_code: *code,
                });
            }
            UseCaseError::OutcomeUnknown(_) => {
                self.metrics.record(&Metric::GlaseOutcomeUnknown { operation })
            }
            _ => {}
        }
    }

    pub(crate) fn record_confirmation(&self, outcome: &ConfirmOutcome) {
        if outcome.changed() {
            match outcome.after {
                PaymentStatus::Paid => self.metrics.record(&Metric::PaymentPaid),
                PaymentStatus::Canceled => self.metrics.record(&Metric::PaymentCanceled),
                _ => {}
            }
        }
        if outcome.after == PaymentStatus::Paid && outcome.disagreement == Some(GlaseInvoiceStatus::Canceled)
        {
            // Glase reversed a payment we hold as paid: the alarm that must never fire.
            tracing::error!("Glase reports a payment we recorded as paid as canceled");
            self.metrics.record(&Metric::PaymentReversed);
        }
    }
}

/// Builds a request for tests and adapters.
pub fn request(method: Method, uri: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> ApiRequest {
    let mut builder = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(body.into())
        .unwrap_or_else(|_| Request::new(Bytes::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeApp, fake_app};

    /// Whether the app compiled for the function numbered `FUNCTION` has a handler for `route`.
    fn dispatches<const FUNCTION: u8>(app: &FakeApp, route: &Route, request: &ApiRequest) -> bool {
        app.dispatch::<FUNCTION>(route.clone(), request, None).is_some()
    }

    /// Whether each function's build, in `Function::ALL`'s order, has a handler for `route`.
    fn dispatched_by(app: &FakeApp, route: &Route, request: &ApiRequest) -> Vec<bool> {
        use Function as F;
        vec![
            dispatches::<{ F::CreatePayment as u8 }>(app, route, request),
            dispatches::<{ F::Notification as u8 }>(app, route, request),
            dispatches::<{ F::PaymentStatus as u8 }>(app, route, request),
            dispatches::<{ F::PaymentControl as u8 }>(app, route, request),
            dispatches::<{ F::RefundRequest as u8 }>(app, route, request),
            dispatches::<{ F::RefundWorker as u8 }>(app, route, request),
            dispatches::<{ F::Reporting as u8 }>(app, route, request),
            dispatches::<{ F::SafetyNet as u8 }>(app, route, request),
            dispatches::<{ F::Terminals as u8 }>(app, route, request),
            dispatches::<{ F::WebSocket as u8 }>(app, route, request),
        ]
    }

    #[test]
    fn each_route_is_dispatched_by_its_own_function_only_and_by_every_function_build() {
        let app = fake_app("sk_test_dispatch");
        for (method, template) in Route::TEMPLATES {
            let path = Route::sample_path(template);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let route = Route::parse(&method, &path).unwrap();
            let request = request(method.clone(), &path, &[], "");
            let expected: Vec<bool> = Function::ALL.iter().map(|f| *f == route.function()).collect();
            assert_eq!(
                dispatched_by(&app, &route, &request),
                expected,
                "{method} {template} is dispatched by exactly {:?}",
                route.function()
            );
            assert!(
                dispatches::<EVERY_FUNCTION>(&app, &route, &request),
                "{method} {template} with every route"
            );
        }
    }

    #[test]
    fn function_numbers_name_their_functions_and_every_function_is_none() {
        for function in Function::ALL {
            assert_eq!(Function::from_number(*function as u8), Some(*function));
        }
        assert_eq!(Function::from_number(EVERY_FUNCTION), None);
    }

    #[tokio::test]
    async fn a_build_for_one_function_answers_another_functions_route_with_404() {
        let app = fake_app("sk_test_dispatch");
        let asked = || {
            request(
                Method::GET,
                "/v1/terminals",
                &[("authorization", "Bearer sk_test_dispatch")],
                "",
            )
        };
        let reporting = app
            .handle_as::<{ Function::Reporting as u8 }>(asked(), None)
            .await;
        assert_eq!(reporting.status(), StatusCode::NOT_FOUND);
        assert!(reporting.body().contains("route"), "{}", reporting.body());
        let terminals = app
            .handle_as::<{ Function::Terminals as u8 }>(asked(), None)
            .await;
        assert_eq!(terminals.status(), StatusCode::OK, "{}", terminals.body());
        let mut reporting_app = app;
        reporting_app.function = Some(Function::Reporting);
        let every = reporting_app.handle(asked()).await;
        assert_eq!(
            every.status(),
            StatusCode::NOT_FOUND,
            "an app of one function, every route compiled in"
        );
    }
}
