//! Terminals and their external-id items ↔ items.

use payments_domain::ids::{GlaseTerminalId, PaymentId, SeqrId, TerminalId};
use payments_domain::order::{DisplayName, ExternalTerminalId};
use payments_domain::terminal::{Terminal, TerminalRecord, TerminalState};

use super::{keyed, millis, revision, time, typed_reader};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::Item;
use crate::keys::{self, item_type};

/// The item of a terminal, listed in `lookup` under the terminal list by creation time.
pub fn terminal_item(terminal: &Terminal) -> Item {
    let record = terminal.to_record();
    let mut w = keyed(keys::terminal(&record.id), item_type::TERMINAL)
        .string(a::TERMINAL_ID, record.id.as_str())
        .string(a::EXTERNAL_ID, record.external_id.as_str())
        .string(a::NAME, record.name.as_str())
        .string(a::GLASE_TERMINAL_ID, record.glase_terminal_id.as_str())
        .opt_string(a::SEQR_ID, record.seqr_id.as_ref().map(|s| s.as_str()))
        .opt_string(a::OPEN_PAYMENT, record.open_payment.as_ref().map(|p| p.as_str()))
        .number(a::CREATED_AT, millis(record.created_at))
        .number(a::REVISION, record.revision.get())
        .string(a::LOOKUP_PK, keys::TERMINALS)
        .string(a::LOOKUP_SK, keys::timed(record.created_at, record.id.as_str()));
    w = match &record.state {
        TerminalState::Active => w.string(a::STATUS, "active"),
        TerminalState::Unregistered { at } => w
            .string(a::STATUS, "unregistered")
            .number(a::UNREGISTERED_AT, millis(*at)),
    };
    w.build()
}

/// Reads a terminal item.
pub fn terminal_from(item: &Item) -> Result<Terminal, DynamoError> {
    let r = typed_reader(item_type::TERMINAL, item)?;
    let state = match r.string(a::STATUS)? {
        "active" => TerminalState::Active,
        "unregistered" => TerminalState::Unregistered {
            at: time(&r, a::UNREGISTERED_AT)?,
        },
        other => return Err(r.malformed(a::STATUS, format!("`{other}` is not a terminal status"))),
    };
    Ok(Terminal::from(TerminalRecord {
        id: r.parsed(a::TERMINAL_ID, TerminalId::parse)?,
        external_id: r.parsed(a::EXTERNAL_ID, ExternalTerminalId::parse)?,
        name: r.parsed(a::NAME, DisplayName::parse)?,
        glase_terminal_id: r.parsed(a::GLASE_TERMINAL_ID, GlaseTerminalId::parse)?,
        seqr_id: r.opt_parsed(a::SEQR_ID, SeqrId::parse)?,
        state,
        open_payment: r.opt_parsed(a::OPEN_PAYMENT, PaymentId::parse)?,
        created_at: time(&r, a::CREATED_AT)?,
        revision: revision(&r)?,
    }))
}

/// The item that reserves a terminal's external id and points at the terminal.
pub fn terminal_external_item(terminal: &Terminal) -> Item {
    keyed(
        keys::terminal_external(terminal.external_id()),
        item_type::TERMINAL_EXTERNAL,
    )
    .string(a::EXTERNAL_ID, terminal.external_id().as_str())
    .string(a::TERMINAL_ID, terminal.id().as_str())
    .build()
}

/// Reads the terminal id from an external-id item.
pub fn terminal_external_from(item: &Item) -> Result<TerminalId, DynamoError> {
    let r = typed_reader(item_type::TERMINAL_EXTERNAL, item)?;
    r.parsed(a::TERMINAL_ID, TerminalId::parse)
}
