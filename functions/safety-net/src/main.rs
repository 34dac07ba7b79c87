//! The `safety-net` Lambda function: started by a schedule once a minute, it confirms every pending
//! payment nobody asked Glase about within eight seconds (so a payment whose notification was lost and
//! whose shopper never came back is still acknowledged inside Glase's 20-second window) and cancels
//! expired invoices, one pass a second for just over a minute.
//!
//! The work lives in `payments-domain` (the sweeps), `payments-api` (the passes) and `lambda-adapter`
//! (start-up and the event).

// As in lambda-adapter: the start-up future nests deeper than the default type-depth limit.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_adapter::run_safety_net().await
}
