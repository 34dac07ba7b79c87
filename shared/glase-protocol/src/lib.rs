//! The one crate that knows the Glase wire format: a typed model of the twelve merchant operations,
//! a SOAP 1.1 codec for requests and responses in both directions, an async client and its retry policy.
//!
//! Glase's merchant API is the SEQR SOAP API under another name, so every wire name (operations,
//! elements, enum literals, the namespace `http://external.interfaces.ers.seamless.com/`) stays as SEQR
//! spells it. The client (payment functions) and the local sandbox (which serves the same operations)
//! both build on this crate, so the two sides can never disagree about the bytes.
//!
//! # Layout
//!
//! - [`model`]: data types (`ClientContext`, `PrincipalId`, `Password`, `Invoice`, `InvoiceRow`,
//!   `Amount` over an exact `Decimal`, `InvoiceStatus`, `ResultCode`, `Receipt`, `Report`...), one
//!   request and one response struct per operation, and the `Operation`, `Request`, `Response` enums.
//!   No I/O, no XML.
//! - [`soap`]: `encode_request`/`decode_request`, `encode_response`/`decode_response`, `encode_fault`.
//!   Encoding writes WSDL sequence order; decoding is lenient about order, prefixes and unknown elements
//!   and strict about the envelope, the namespace, DTDs, size and depth.
//! - [`report`]: `parse_report`, the executeReport documents read into `ReportMeta`, `TransactionRow`s
//!   (exact amounts, `NULL` cashiers) and `SummaryRow`s.
//! - [`retry`]: the retry decision as pure functions (`RetryPolicy::decide`, `jittered`) with the
//!   per-operation rules.
//! - [`client`]: `GlaseClient`, built once from `GlaseClientConfig`, with one typed async method per
//!   operation, `call` for any `Request`, `warm_up`, and `GlaseError`.
//!
//! # Example
//!
//! ```
//! use glase_protocol::{soap, ClientContext, GetPaymentStatusRequest, Operation, Password, Request};
//!
//! let request = Request::from(GetPaymentStatusRequest {
//!     context: ClientContext::terminal("87e791f9e24148a6892c52aa85bb0331", Password::new("123456")),
//!     invoice_reference: Some("1397222701693".into()),
//!     invoice_version: 0,
//! });
//! let xml = soap::encode_request(&request);
//! assert!(xml.contains("<invoiceReference>1397222701693</invoiceReference><invoiceVersion>0</invoiceVersion>"));
//! assert_eq!(soap::decode_request(xml.as_bytes()), Ok(request));
//! assert_eq!(soap::peek_operation(xml.as_bytes()), Ok(Operation::GetPaymentStatus));
//! ```
//!
//! # Invariants
//!
//! - Passwords are `Password` values: `Debug` redacts them, and only the envelope writer reads them.
//! - Money is never a float: amounts are integer mantissa plus scale.
//! - The client never logs a body; it logs operation, attempt, duration, HTTP status and result code.
//! - Operations that are not safe to repeat are never repeated once the request may have left.

pub mod client;
pub mod model;
pub mod report;
pub mod retry;
pub mod soap;

pub use client::{ConfigError, GlaseClient, GlaseClientConfig, GlaseError};
pub use model::*;
