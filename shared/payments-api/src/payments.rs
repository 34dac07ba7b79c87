//! The payment routes: create (`POST /v1/payments`), read (`GET …/{id}`, `…/qr.svg`), cancel, update,
//! and Glase's notification (`POST /v1/notifications/{id}`).
//!
//! Handlers are thin like the others: authenticate, parse, call one use case, render.

use std::time::Instant;

use http::{HeaderValue, Response, StatusCode, header};
use payments_domain::ids::Timestamp;
use payments_domain::payment::{PaymentStatus, PaymentTerminal};
use payments_domain::ports::{PaymentStore, Ports};
use payments_domain::usecases::{ConfirmOutcome, CreatePayment, UseCaseError};

use crate::app::{ApiRequest, ApiResponse, App, idempotency_key, json, parse_body, payment_id, query_value};
use crate::dto::{CreatePaymentBody, UpdatePaymentBody};
use crate::error::ApiError;
use crate::metrics::Metric;

impl<P: Ports> App<P> {
    /// Records a confirmation made for a notification. Glase notifies only when the shopper has paid, so
    /// a pending payment it then answers `CANCELED` for was reversed before anyone acknowledged it.
    pub(crate) fn record_notified_confirmation(&self, outcome: &ConfirmOutcome) {
        self.record_confirmation(outcome);
        if outcome.before == PaymentStatus::Pending && outcome.after == PaymentStatus::Canceled {
            tracing::error!("Glase notified a payment and then reported it canceled: it was reversed");
            self.metrics.record(&Metric::PaymentReversed);
        }
    }

    pub(crate) async fn create_payment(
        &self,
        request: &ApiRequest,
        deadline: Option<Timestamp>,
    ) -> Result<ApiResponse, ApiError> {
        self.merchant(request)?;
        let body: CreatePaymentBody = parse_body(request)?;
        let parsed = body.into_domain()?;
        let key = idempotency_key(request)?;
        let command = CreatePayment {
            order: parsed.order,
            terminal: parsed
                .terminal
                .map_or(PaymentTerminal::Webshop, PaymentTerminal::Pos),
            idempotency: key.map(|k| (k, parsed.fingerprint)),
        };
        let created = self
            .deps
            .create_payment_within(command, deadline)
            .await
            .inspect_err(|e| self.record_glase_failure("sendInvoice", e));
        let created = created?;
        if !created.replayed {
            self.metrics.record(&Metric::PaymentCreated);
            tracing::info!(payment_id = created.payment.id().as_str(), "payment created");
        }
        let mut dto = self.payment_dto(&created.payment, &[]);
        dto.client_secret = Some(created.client_secret.expose().to_owned());
        Ok(json(StatusCode::CREATED, &dto))
    }

    pub(crate) async fn get_payment(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Result<ApiResponse, ApiError> {
        let secret = query_value(request, "client_secret");
        let caller = self.caller(request, &secret)?;
        let id = payment_id(id)?;
        let view = self
            .deps
            .read_payment_within(&id, caller, deadline)
            .await
            .inspect_err(|e| self.record_glase_failure("getPaymentStatus", e))?;
        if let Some(outcome) = &view.confirmation {
            self.record_confirmation(outcome);
        }
        Ok(json(
            StatusCode::OK,
            &self.payment_dto(&view.payment, &view.refunds),
        ))
    }

    pub(crate) async fn payment_qr(&self, request: &ApiRequest, id: &str) -> Result<ApiResponse, ApiError> {
        let secret = query_value(request, "client_secret");
        let caller = self.caller(request, &secret)?;
        let id = payment_id(id)?;
        let reference = self.deps.invoice_reference(&id, caller).await?;
        let svg = crate::qr::svg(&reference.qr_code_url(), 220).map_err(|_| ApiError::internal())?;
        let mut r = Response::new(svg);
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=3600"),
        );
        Ok(r)
    }

    pub(crate) async fn cancel_payment(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Result<ApiResponse, ApiError> {
        let secret = query_value(request, "client_secret");
        let caller = self.caller(request, &secret)?;
        let id = payment_id(id)?;
        let canceled = self
            .deps
            .cancel_payment_within(&id, caller, deadline)
            .await
            .inspect_err(|e| self.record_glase_failure("cancelInvoice", e))?;
        if canceled.canceled_now {
            self.metrics.record(&Metric::PaymentCanceled);
        }
        let payment = canceled.payment;
        let refunds = self.deps.refunds_of(&payment).await.unwrap_or_default();
        Ok(json(StatusCode::OK, &self.payment_dto(&payment, &refunds)))
    }

    pub(crate) async fn update_payment(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Result<ApiResponse, ApiError> {
        self.merchant(request)?;
        let body: UpdatePaymentBody = parse_body(request)?;
        let id = payment_id(id)?;
        let current = self
            .deps
            .store
            .get_payment(&id)
            .await
            .map_err(UseCaseError::from)?
            .ok_or_else(|| ApiError::not_found("payment"))?;
        let order = body.into_order(current.order())?;
        let payment = self
            .deps
            .update_payment_within(&id, order, deadline)
            .await
            .inspect_err(|e| self.record_glase_failure("updateInvoice", e))?;
        let refunds = self.deps.refunds_of(&payment).await.unwrap_or_default();
        Ok(json(StatusCode::OK, &self.payment_dto(&payment, &refunds)))
    }

    pub(crate) async fn notify(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Result<ApiResponse, ApiError> {
        let started = Instant::now();
        // The body is never read: the token in the URL identifies the payment, Glase's answer decides.
        let token = query_value(request, "token").unwrap_or_default();
        let id = payment_id(id)?;
        let (payment, outcome) = self
            .deps
            .handle_notification_within(&id, &token, deadline)
            .await
            .inspect_err(|e| self.record_glase_failure("getPaymentStatus", e))?;
        if let Some(outcome) = &outcome {
            self.record_notified_confirmation(outcome);
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.metrics.record(&Metric::NotificationToConfirmationMs(ms));
        }
        tracing::info!(
            payment_id = id.as_str(),
            status = payment.status().as_str(),
            "notification handled"
        );
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "status": payment.status().as_str() }),
        ))
    }
}
