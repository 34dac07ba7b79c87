//! The baseline of the cold-start benchmark: a hello-world `lambda_runtime` function that answers every
//! event with the event itself. Built with the same release profile as the functions, so the difference
//! between it and a function is what the function does, not the runtime or the toolchain.
//!
//! An event `{"fail": "<reason>"}` is answered with an error (reported through the Runtime API's
//! `/error`), so the harness's error path can be tested with the baseline too.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        if let Some(reason) = event.payload.get("fail").and_then(Value::as_str) {
            return Err(Error::from(reason.to_owned()));
        }
        Ok::<_, Error>(event.payload)
    }))
    .await
}
