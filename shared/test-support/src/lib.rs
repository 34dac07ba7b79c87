//! What the tests of several crates share; nothing deployed links this crate.
//!
//! # Layout
//! - [`servers`]: DynamoDB Local and moto_server, found or started for the adapters' test helpers.
//! - [`logs`]: [`CapturedLines`], log or metric lines kept in memory, for the tests that prove what is
//!   logged (and that no secret is).

pub mod logs;
pub mod servers;

pub use logs::CapturedLines;
