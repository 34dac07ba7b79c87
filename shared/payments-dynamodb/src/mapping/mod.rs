//! Domain entity ↔ DynamoDB item, for every item type. Writing adds the keys and the index entries of
//! [`crate::keys`]; reading checks every attribute and names the one that is wrong.
//!
//! # Layout
//! - this module: the attribute helpers every item type shares.
//! - `payments`: payments, with their orders and receipts ([`payment_item`], [`payment_from`]).
//! - `refunds`: [`refund_item`], [`refund_from`].
//! - `terminals`: [`terminal_item`], [`terminal_from`] and the external-id item.
//! - `periods`: [`period_items`], [`period_from`]: a period with its document parts.
//! - `idempotency`: [`idempotency_item`], [`idempotency_from`].
//! - `connections`: [`connection_item`], [`connection_from`].

mod connections;
mod idempotency;
mod payments;
mod periods;
mod refunds;
mod terminals;

use payments_domain::idempotency::Fingerprint;
use payments_domain::ids::{Revision, Timestamp};
use payments_domain::money::{Currency, Money};
use payments_domain::secret::SecretHash;

use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::{Item, Reader, Writer};
use crate::keys::Key;

pub use connections::{connection_from, connection_item};
pub use idempotency::{idempotency_from, idempotency_item};
pub use payments::{payment_from, payment_item};
pub use periods::{DOCUMENT_PART_BYTES, PERIOD_DOCUMENT_BYTES, parts_of, period_from, period_items};
pub use refunds::{refund_from, refund_item};
pub use terminals::{terminal_external_from, terminal_external_item, terminal_from, terminal_item};

/// The value of the `terminal` attribute of a payment sent on the webshop terminal.
const WEBSHOP: &str = "webshop";

fn keyed(key: Key, kind: &str) -> Writer {
    Writer::new()
        .string(a::PK, key.pk)
        .string(a::SK, key.sk)
        .string(a::ITEM_TYPE, kind)
}

/// A reader of `item`, which must be of the type `expected`.
fn typed_reader<'a>(expected: &'static str, item: &'a Item) -> Result<Reader<'a>, DynamoError> {
    let reader = Reader::new(expected, item);
    let found = reader.string(a::ITEM_TYPE)?;
    if found == expected {
        Ok(reader)
    } else {
        Err(reader.malformed(a::ITEM_TYPE, format!("is `{found}`, expected `{expected}`")))
    }
}

fn millis(at: Timestamp) -> i64 {
    at.unix_millis()
}

fn time(reader: &Reader<'_>, name: &str) -> Result<Timestamp, DynamoError> {
    reader.i64(name).map(Timestamp::from_unix_millis)
}

fn opt_time(reader: &Reader<'_>, name: &str) -> Result<Option<Timestamp>, DynamoError> {
    Ok(reader.opt_i64(name)?.map(Timestamp::from_unix_millis))
}

fn revision(reader: &Reader<'_>) -> Result<Revision, DynamoError> {
    let value = reader.u64(a::REVISION)?;
    Revision::new(value).ok_or_else(|| reader.malformed(a::REVISION, "is 0"))
}

fn currency(reader: &Reader<'_>) -> Result<Currency, DynamoError> {
    reader.parsed(a::CURRENCY, Currency::parse)
}

fn money(reader: &Reader<'_>, name: &str, currency: Currency) -> Result<Money, DynamoError> {
    Ok(Money::new(reader.i64(name)?, currency))
}

fn opt_money(reader: &Reader<'_>, name: &str, currency: Currency) -> Result<Option<Money>, DynamoError> {
    Ok(reader.opt_i64(name)?.map(|minor| Money::new(minor, currency)))
}

fn u32_attr(reader: &Reader<'_>, name: &str) -> Result<u32, DynamoError> {
    let value = reader.u64(name)?;
    u32::try_from(value).map_err(|_| reader.malformed(name, "is too large"))
}

fn i32_attr(reader: &Reader<'_>, name: &str) -> Result<i32, DynamoError> {
    let value = reader.i64(name)?;
    i32::try_from(value).map_err(|_| reader.malformed(name, "is out of range"))
}

fn hash(reader: &Reader<'_>, name: &str) -> Result<SecretHash, DynamoError> {
    reader.parsed(name, SecretHash::from_hex)
}

fn fingerprint(reader: &Reader<'_>) -> Result<Fingerprint, DynamoError> {
    let text = reader.string(a::FINGERPRINT)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| reader.malformed(a::FINGERPRINT, "is not 64 hexadecimal digits"))?;
    Ok(Fingerprint::from_bytes(bytes))
}

/// The TTL value of an expiry: epoch seconds, rounded up so TTL never removes an item early.
fn ttl_seconds(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(1000) + i64::from(at.unix_millis().rem_euclid(1000) != 0)
}
