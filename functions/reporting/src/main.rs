//! The `reporting` Lambda function: `POST /v1/reports` and `GET /v1/reports/{id}` from API Gateway, and
//! the daily schedule's `{"job":"close-period"}`, which closes the shop's transaction period of the day
//! and reconciles its reports.
//!
//! The work lives in `payments-domain` (the period use case and reconciliation), `payments-api` (the
//! handlers) and `lambda-adapter` (start-up and telling the two kinds of event apart).

// The close future nests the whole report path; its layout needs a deeper query limit than the default.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_adapter::run_reporting().await
}
