//! The payment routes: create (`POST /v1/payments`), read (`GET …/{id}`, `…/qr.svg`), cancel, update,
//! and Glase's notification (`POST /v1/notifications/{id}`).
//!
//! Handlers are thin like the others: authenticate, parse, call one use case, render.

use std::time::Instant;

use http::{HeaderValue, Response, StatusCode, header};
use payments_domain::ids::Timestamp;
use payments_domain::order::Order;
use payments_domain::payment::{PaymentStatus, PaymentTerminal};
use payments_domain::ports::Ports;
use payments_domain::usecases::{ConfirmOutcome, CreatePayment};

use crate::app::{ApiRequest, App, Handled, idempotency_key, json, payment_id, query_value};
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

    pub(crate) async fn create_payment(&self, request: &ApiRequest, deadline: Option<Timestamp>) -> Handled {
        let body: CreatePaymentBody = self.merchant_body(request)?;
        let parsed = body.into_domain()?;
        let key = idempotency_key(request)?;
        let command = CreatePayment {
            order: parsed.order,
            terminal: parsed
                .terminal
                .map_or(PaymentTerminal::Webshop, PaymentTerminal::Pos),
            idempotency: key.map(|k| (k, parsed.fingerprint)),
        };
        let creating = self.deps.create_payment_within(command, deadline);
        let created = self.recorded("sendInvoice", creating).await?;
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
    ) -> Handled {
        let (id, asker) = self.payment_asker(request, id)?;
        let reading = self.deps.read_payment_within(&id, asker.caller(), deadline);
        let view = self.recorded("getPaymentStatus", reading).await?;
        if let Some(outcome) = &view.confirmation {
            self.record_confirmation(outcome);
        }
        Ok(json(
            StatusCode::OK,
            &self.payment_dto(&view.payment, &view.refunds),
        ))
    }

    pub(crate) async fn payment_qr(&self, request: &ApiRequest, id: &str) -> Handled {
        let (id, asker) = self.payment_asker(request, id)?;
        let reference = self.deps.invoice_reference(&id, asker.caller()).await?;
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
    ) -> Handled {
        let (id, asker) = self.payment_asker(request, id)?;
        let canceling = self.deps.cancel_payment_within(&id, asker.caller(), deadline);
        let canceled = self.recorded("cancelInvoice", canceling).await?;
        if canceled.canceled_now {
            self.metrics.record(&Metric::PaymentCanceled);
        }
        // A canceled payment has no refunds (only a paid one can).
        Ok(json(StatusCode::OK, &self.payment_dto(&canceled.payment, &[])))
    }

    pub(crate) async fn update_payment(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Handled {
        let body: UpdatePaymentBody = self.merchant_body(request)?;
        let id = payment_id(id)?;
        let edit = |current: &Order| body.into_order(current);
        let updating = self.deps.update_payment_with(&id, edit, deadline);
        let payment = self.recorded("updateInvoice", updating).await??;
        // An updated payment is pending, so it has no refunds (only a paid one can).
        Ok(json(StatusCode::OK, &self.payment_dto(&payment, &[])))
    }

    pub(crate) async fn notify(
        &self,
        request: &ApiRequest,
        id: &str,
        deadline: Option<Timestamp>,
    ) -> Handled {
        let started = Instant::now();
        // The body is never read: the token in the URL identifies the payment, Glase's answer decides.
        let token = query_value(request, "token").unwrap_or_default();
        let id = payment_id(id)?;
        let handling = self.deps.handle_notification_within(&id, &token, deadline);
        let (payment, outcome) = self.recorded("getPaymentStatus", handling).await?;
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
