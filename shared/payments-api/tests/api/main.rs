//! The `payments-api` integration tests, one module per subject, in one test binary: each test binary
//! links the whole dependency tree again, so one binary builds faster than one per subject. The tests that
//! install the process-wide log subscriber (`log_context.rs`, `no_secrets_in_logs.rs`) are binaries of
//! their own, since a process has only one.
//!
//! Run one subject with `cargo test -p payments-api --test api authorization::`.

mod authorization;
mod calls_per_payment;
mod e2e;
mod fuzz_regressions;
mod limits;
mod money_metrics;
mod pos;
mod refunds;
mod reports;
mod serve;
mod support;
