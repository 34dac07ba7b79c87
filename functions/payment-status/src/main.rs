//! The `payment-status` Lambda function: GET /v1/payments/{payment_id}, its QR code, GET /v1/openapi.json
//! and the checkout widget script (GET /widget/glase-checkout.js).
//!
//! Everything it does lives in `payments-api` (the handlers) and `lambda-adapter` (start-up and the
//! event conversion); this crate only names the function, so its settings, routes and compiled-in handlers are its own.

// As in lambda-adapter: the start-up future nests deeper than the default type-depth limit.
#![recursion_limit = "256"]

use payments_api::settings::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_adapter::run_http::<{ Function::PaymentStatus as u8 }>().await
}
