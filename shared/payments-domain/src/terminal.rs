//! POS terminals: a till registered with Glase, its sticker (Glase ID), and the one invoice it may have
//! open at a time.

use thiserror::Error;

use crate::ids::{GlaseTerminalId, PaymentId, Revision, SeqrId, TerminalId, Timestamp};
use crate::order::{DisplayName, ExternalTerminalId};

/// Whether a terminal may take payments.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TerminalState {
    /// Registered with Glase.
    Active,
    /// Unregistered; it takes no more payments.
    Unregistered {
        /// When.
        at: Timestamp,
    },
}

/// A change the terminal's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TerminalError {
    /// The terminal is unregistered.
    #[error("terminal {0} is unregistered")]
    Unregistered(TerminalId),
}

/// Every stored field of a terminal, public, for store adapters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TerminalRecord {
    /// Our id.
    pub id: TerminalId,
    /// The merchant's id of the till; unique among terminals.
    pub external_id: ExternalTerminalId,
    /// The name shown on the buyer's phone.
    pub name: DisplayName,
    /// Glase's terminal id from registerTerminal.
    pub glase_terminal_id: GlaseTerminalId,
    /// The sticker's Glase ID once assigned.
    pub seqr_id: Option<SeqrId>,
    /// Active or unregistered.
    pub state: TerminalState,
    /// The payment whose invoice is open on this till, if any.
    pub open_payment: Option<PaymentId>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// The optimistic-concurrency revision.
    pub revision: Revision,
}

/// A POS terminal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Terminal {
    record: TerminalRecord,
}

impl From<TerminalRecord> for Terminal {
    fn from(record: TerminalRecord) -> Self {
        Terminal { record }
    }
}

impl Terminal {
    /// A newly registered, active terminal at revision 1.
    pub fn registered(
        id: TerminalId,
        external_id: ExternalTerminalId,
        name: DisplayName,
        glase_terminal_id: GlaseTerminalId,
        now: Timestamp,
    ) -> Terminal {
        Terminal {
            record: TerminalRecord {
                id,
                external_id,
                name,
                glase_terminal_id,
                seqr_id: None,
                state: TerminalState::Active,
                open_payment: None,
                created_at: now,
                revision: Revision::FIRST,
            },
        }
    }

    /// Every field, for the store.
    pub fn to_record(&self) -> TerminalRecord {
        self.record.clone()
    }
    /// Our id.
    pub fn id(&self) -> &TerminalId {
        &self.record.id
    }
    /// The merchant's id of the till.
    pub fn external_id(&self) -> &ExternalTerminalId {
        &self.record.external_id
    }
    /// The display name.
    pub fn name(&self) -> &DisplayName {
        &self.record.name
    }
    /// Glase's terminal id.
    pub fn glase_terminal_id(&self) -> &GlaseTerminalId {
        &self.record.glase_terminal_id
    }
    /// The Glase ID, once assigned.
    pub fn seqr_id(&self) -> Option<&SeqrId> {
        self.record.seqr_id.as_ref()
    }
    /// The state.
    pub fn state(&self) -> &TerminalState {
        &self.record.state
    }
    /// True while it may take payments.
    pub fn is_active(&self) -> bool {
        self.record.state == TerminalState::Active
    }
    /// The open payment.
    pub fn open_payment(&self) -> Option<&PaymentId> {
        self.record.open_payment.as_ref()
    }
    /// The revision.
    pub fn revision(&self) -> Revision {
        self.record.revision
    }

    fn active_change(&self, change: impl FnOnce(&mut TerminalRecord)) -> Result<Terminal, TerminalError> {
        if !self.is_active() {
            return Err(TerminalError::Unregistered(self.record.id.clone()));
        }
        let mut record = self.record.clone();
        change(&mut record);
        record.revision = record.revision.next();
        Ok(Terminal { record })
    }

    /// Records the Glase ID assigned with assignSeqrId.
    pub fn with_seqr_id(&self, seqr_id: SeqrId) -> Result<Terminal, TerminalError> {
        self.active_change(|r| r.seqr_id = Some(seqr_id))
    }

    /// Records the payment now open on the till (Glase cancels the previous invoice on a new one).
    pub fn with_open_payment(&self, payment: PaymentId) -> Result<Terminal, TerminalError> {
        self.active_change(|r| r.open_payment = Some(payment))
    }

    /// Marks the terminal unregistered.
    pub fn unregistered(&self, at: Timestamp) -> Result<Terminal, TerminalError> {
        self.active_change(|r| {
            r.state = TerminalState::Unregistered { at };
            r.open_payment = None;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> Terminal {
        Terminal::registered(
            TerminalId::from_random([3; 16]),
            ExternalTerminalId::parse("Store 1/Till 4").unwrap(),
            DisplayName::parse("Till 4").unwrap(),
            GlaseTerminalId::parse("87e791f9e24148a6892c52aa85bb0331").unwrap(),
            Timestamp::from_unix_millis(1),
        )
    }

    #[test]
    fn an_active_terminal_takes_a_glase_id_and_an_open_payment() {
        let t = terminal().with_seqr_id(SeqrId::parse("42").unwrap()).unwrap();
        let t = t.with_open_payment(PaymentId::from_random([1; 16])).unwrap();
        assert_eq!(t.seqr_id().unwrap().sticker_qr(), "HTTP://SEQR.SE/Q42");
        assert!(t.open_payment().is_some());
        assert_eq!(t.revision().get(), 3);
    }

    #[test]
    fn an_unregistered_terminal_refuses_every_change() {
        let gone = terminal().unregistered(Timestamp::from_unix_millis(2)).unwrap();
        assert!(!gone.is_active());
        assert!(matches!(
            gone.with_open_payment(PaymentId::from_random([1; 16])),
            Err(TerminalError::Unregistered(_))
        ));
        assert!(gone.unregistered(Timestamp::from_unix_millis(3)).is_err());
    }
}
