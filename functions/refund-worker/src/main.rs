//! The `refund-worker` Lambda function: refund messages from SQS (answering only the failed message ids,
//! for `ReportBatchItemFailures`), and the scheduled outbox sweep.
//!
//! The work lives in `payments-domain` (the refund use cases), `payments-api` (the batch) and
//! `lambda-adapter` (start-up and the event types).

// The worker future nests the whole refund path; its layout needs a deeper query limit than the default.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_adapter::run_refund_worker().await
}
