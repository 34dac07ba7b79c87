//! The application layer of the Glase payment backend, shared by every function and by the local
//! stack: the v1 HTTP API (routes, handlers, authorisation, error answers), the scheduled jobs (the
//! safety net, expiry, receipts, period reports), the refund worker's batches, and the wiring that
//! builds the real adapters from settings. It turns requests and schedules into calls of the domain's
//! use cases (`payments-domain`) and does no business logic of its own.
//!
//! Function crates are thin: they read their configuration with [`config`], initialise logging with
//! [`telemetry`], build their clients once, and hand each request to a handler here. Errors become
//! HTTP answers in exactly one place, [`error`] (`impl From<UseCaseError> for ApiError`).
//!
//! # Layout
//! - [`config`]: typed configuration from the environment, naming every missing variable at once.
//! - [`telemetry`]: the tracing initialiser honouring Lambda's log level and format controls.
//! - [`metrics`]: business metrics in CloudWatch Embedded Metric Format.
//! - [`app`]: [`app::App`], the one entry from an HTTP request to a response: routing, credentials,
//!   dispatch to the handlers of each resource.
//! - [`payments`]: the payment routes (create, read, QR code, cancel, update) and Glase's notification.
//! - [`refunds`]: the refund routes.
//! - [`routes`]: the v1 routes and which function serves each.
//! - [`dto`]: the JSON bodies and their conversion to domain types.
//! - [`auth`]: merchant API keys as hashes, compared in constant time.
//! - [`error`]: the error type and its mapping to HTTP statuses and JSON bodies.
//! - [`wiring`]: the real adapters built from settings, once per cold start.
//! - [`openapi`]: the OpenAPI document of the API, and (feature `testing`) the check of an answer
//!   against it with the `jsonschema` crate.
//! - [`qr`]: invoice QR codes as SVG.
//! - [`terminals`]: the point-of-sale routes (terminal administration, the till's "try again").
//! - [`refund_batch`]: the refund worker's batches, their redelivery delays, and the outbox sweep.
//! - [`reports`]: period reports: closing a period, reading it, and the daily schedule's job.
//! - [`settings`]: the list of functions, the variables each requires, and their typed settings.
//! - [`websocket`]: the WebSocket API's `$connect`, `sync` and `$disconnect` routes.
//! - [`jobs`]: scheduled work without a request: the safety net's confirmation pipeline, receipts and
//!   expiry.
//! - `testing` (feature `testing`): test apps over the in-memory doubles, one request through an app,
//!   captured log lines; `testing::stack` (feature `live-stack`): the sandbox, a dynoxide table and the
//!   app served on loopback, for end-to-end tests and benchmarks.
//! - `serve` (feature `axum`): the axum adapter serving the app over HTTP (a body too large answers 413).
//! - [`cors`]: the CORS rules of the API (the local stack's layer and the template's configuration).
//! - [`widget`]: the checkout widget script the API serves.

pub mod app;
pub mod auth;
pub mod config;
pub mod cors;
pub mod dto;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod payments;
pub mod qr;
pub mod refund_batch;
pub mod refunds;
pub mod reports;
pub mod routes;
pub mod secrets;
#[cfg(feature = "axum")]
pub mod serve;
pub mod settings;
pub mod telemetry;
pub mod terminals;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod websocket;
pub mod widget;
pub mod wiring;
