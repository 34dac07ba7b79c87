//! The refund routes: request a refund (`POST /v1/payments/{id}/refunds`) and read one
//! (`GET …/refunds/{refund_id}`). The refund worker's batches are in [`crate::refund_batch`].

use http::StatusCode;
use payments_domain::ids::RefundId;
use payments_domain::ports::Ports;
use payments_domain::usecases::RequestRefund;

use crate::app::{ApiRequest, App, Handled, idempotency_key, json, payment_id};
use crate::dto::{CreateRefundBody, RefundDto};
use crate::error::ApiError;

impl<P: Ports> App<P> {
    pub(crate) async fn create_refund(&self, request: &ApiRequest, id: &str) -> Handled {
        let body: CreateRefundBody = self.merchant_body(request)?;
        let payment = payment_id(id)?;
        let (amount_minor, reason, cashier_id, fingerprint) = body.into_parts(&payment)?;
        let key = idempotency_key(request)?;
        let refund = self
            .deps
            .request_refund(RequestRefund {
                payment_id: payment,
                amount_minor,
                reason,
                cashier_id,
                idempotency: key.map(|k| (k, fingerprint)),
            })
            .await?;
        tracing::info!(payment_id = id, refund_id = refund.id().as_str(), "refund queued");
        Ok(json(StatusCode::ACCEPTED, &RefundDto::from(&refund)))
    }

    pub(crate) async fn get_refund(&self, request: &ApiRequest, id: &str, refund_id: &str) -> Handled {
        self.merchant(request)?;
        let refund_id = RefundId::parse(refund_id).map_err(|_| ApiError::not_found("refund"))?;
        let refund = self.deps.get_refund(&payment_id(id)?, &refund_id).await?;
        Ok(json(StatusCode::OK, &RefundDto::from(&refund)))
    }
}
