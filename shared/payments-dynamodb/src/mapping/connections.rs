//! WebSocket connections ↔ items.

use payments_domain::ids::PaymentId;
use payments_domain::ports::{ConnectionId, PushConnection};

use super::{keyed, millis, time, ttl_seconds, typed_reader};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::{self, item_type};

/// The item of a WebSocket connection, found by payment through `lookup`, removed by TTL at its expiry.
pub fn connection_item(connection: &PushConnection) -> Item {
    keyed(keys::connection(&connection.connection_id), item_type::CONNECTION)
        .string(a::CONNECTION_ID, connection.connection_id.as_str())
        .string(a::PAYMENT_ID, connection.payment_id.as_str())
        .number(a::EXPIRES_AT, ttl_seconds(connection.expires_at))
        .number(a::EXPIRES_AT_MS, millis(connection.expires_at))
        .string(a::LOOKUP_PK, keys::connections_of(&connection.payment_id))
        .string(a::LOOKUP_SK, connection.connection_id.as_str())
        .build()
}

/// Reads a connection item.
pub fn connection_from(item: &Item) -> Result<PushConnection, DynamoError> {
    let r = typed_reader(item_type::CONNECTION, item)?;
    Ok(PushConnection {
        connection_id: r.parsed(a::CONNECTION_ID, ConnectionId::parse)?,
        payment_id: r.parsed(a::PAYMENT_ID, PaymentId::parse)?,
        expires_at: time(&r, a::EXPIRES_AT_MS)?,
    })
}
