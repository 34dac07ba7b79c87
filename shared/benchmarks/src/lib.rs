//! Benchmarks of the Glase payment backend that run in one process or drive the local stack
//! over loopback. `tests/bench.sh` runs them all with the process-level ones of `lambda-bench` and prints
//! the table the README shows.
//!
//! - `cargo bench -p benchmarks --bench notification`: the notification path, in process, DynamoDB on
//!   dynoxide and Glase on the sandbox: from the notification's arrival to the getPaymentStatus call
//!   leaving, and the whole handler, over 10,000 notifications.
//! - `cargo bench -p benchmarks --bench calls`: store requests, DynamoDB capacity units (as DynamoDB
//!   reports them), Glase calls and queue messages per payment, for each kind of payment.
//! - `load` (binary): complete payments per second through a running local stack.
//! - `bench-report` (binary): gathers every result file into one document and prints the table, with the
//!   cost per million payments.
//!
//! Every figure is written as JSON under `target/bench/`; nothing here asserts a timing.

// The futures of a request through the counted live stack nest deeper than the default limit of 128
// lets the compiler lay them out.
#![recursion_limit = "256"]

pub mod prices;
pub mod report;
pub mod results;
pub mod stack;
pub mod stats;
pub mod template;
