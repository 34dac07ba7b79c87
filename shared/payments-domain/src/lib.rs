//! The payment domain of the Glase functions: what a payment, a refund, a POS terminal, a reporting period
//! and an idempotent request are, how each may change, and the use cases that drive them through ports.
//! This crate does no I/O and knows nothing of AWS, HTTP, SOAP or Lambda; adapters implement its
//! [`ports`], and every boundary converts its own DTOs into these types (no domain type derives
//! `Serialize`).
//!
//! # Layout
//! - [`money`]: [`Money`] (integer minor units) and [`Currency`] (ISO 4217, exponent 0 or 2).
//! - [`text`], [`ids`], [`secret`]: bounded text fields, our ids and Glase's references, timestamps,
//!   revisions, client secrets and notification tokens with their SHA-256 hashes.
//! - [`order`]: orders and rows, checked by [`Order::new`].
//! - [`payment`]: the payment state machine and [`payment::decide`], the pure mapping of Glase
//!   observations to transitions; the refund ledger of a payment.
//! - [`refund`], [`terminal`], [`period`]: the other entities.
//! - [`pos`]: what a till shows for a cashier payment, and the receipt sent to Glase.
//! - [`idempotency`]: keys, fingerprints, records and [`idempotency::evaluate`].
//! - [`ports`]: `PaymentStore`, `GlaseGateway`, `RefundQueue`, `StatusPush`, `Clock`, `IdGenerator`, and
//!   [`ports::Ports`], the one name for a set of six implementations (a tuple of them).
//! - [`usecases`]: what the functions do, over the ports: methods of [`usecases::Deps`]`<P: Ports>`.
//! - `hooked`, `counting`, `faults` (cargo feature `decorators`): the decorator of the store and Glase
//!   ports that asks a hook before each call, and its hooks that count the calls and inject store faults.
//! - `testing` (cargo feature `testing`): in-memory fakes of every port.
//!
//! # Tests
//! A module's unit tests are its child module `tests` (`#[cfg(test)] mod tests`), inline at the end
//! of the module. One too long to sit inline is that child module's own file, where Rust looks for it
//! (`usecases/tests.rs`, with its own child `usecases/tests/deadlines.rs`; `usecases/reports/tests.rs`),
//! never a `#[path]` or a `*_tests.rs` sibling. The use case tests share their setup
//! (`usecases::tests`: fakes with a payment in a given state, the injected errors) with the other use
//! case test modules. `properties` holds the property tests that span modules. The crate has no
//! `tests/` directory: what crosses crates is tested by the crates that use it.
//!
//! # Invariants
//! - Money is an `i64` of minor units with a currency; arithmetic is checked; there is no float.
//! - An order has 1 to 100 rows in one currency that sum exactly to a total above zero.
//! - A payment moves `pending → paid | canceled | failed` only; a final payment never changes state.
//!   Stale (older version), duplicate and unknown observations change nothing.
//! - A refund moves `queued → sending → succeeded | failed | needs_reconciliation`, and
//!   `needs_reconciliation → succeeded | failed` only through a period report.
//! - The amounts of a payment's refunds that are not `failed` never exceed what was paid.
//! - Every change yields the next revision; the store writes it only over the revision it was computed
//!   from, so concurrent changes never overwrite each other.
//! - Secrets are stored only as SHA-256 hashes, compared in constant time, and never printed by `Debug`.
//! - The same idempotency key with another payload is always a conflict, and a side effect that must not
//!   happen twice is never re-run after a timeout.

#[cfg(any(test, feature = "decorators"))]
pub mod counting;
#[cfg(any(test, feature = "decorators"))]
pub mod faults;
#[cfg(any(test, feature = "decorators"))]
pub mod hooked;
pub mod idempotency;
pub mod ids;
pub mod money;
pub mod optional;
pub mod order;
pub mod payment;
pub mod period;
pub mod ports;
pub mod pos;
pub mod refund;
pub mod secret;
pub mod terminal;
pub mod text;
pub mod usecases;

#[cfg(test)]
mod properties;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use money::{Currency, Money, MoneyError};
pub use order::{Order, OrderError, OrderParts, OrderRow};
