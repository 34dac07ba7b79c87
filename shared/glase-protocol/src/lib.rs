//! The one crate that knows the Glase wire format: a typed model of the twelve merchant operations,
//! a SOAP 1.1 codec for requests and responses in both directions, an async client and its retry policy.
//!
//! Glase's merchant API is the SEQR SOAP API under another name; every wire name stays as SEQR spells it.
//!
//! # Layout
//!
//! - [`model`]: data types (`ClientContext`, `Invoice`, `Amount` over an exact `Decimal`, `ResultCode`...),
//!   one request and one response struct per operation, and the `Operation`, `Request`, `Response` enums.
//! - [`soap`]: `encode_request`/`decode_request`, `encode_response`/`decode_response`, `encode_fault`.
//!   Encoding writes WSDL sequence order; decoding is lenient about order, prefixes and unknown elements
//!   and strict about the envelope, the namespace, DTDs, size and depth.

pub mod model;
pub mod retry;
pub mod soap;

pub use model::*;
