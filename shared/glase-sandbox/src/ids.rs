//! Identifier shapes of the Glase merchant API (invoice references, ersReferences, terminal ids).
//!
//! * invoiceReference: 17 digits, `yyyyMMdd` + 9 digits;
//! * ersReference (payments, refunds) and transactionPeriodId: 25 digits,
//!   `yyyyMMddHHmmssSSS` + 2-digit node + 6-digit sequence;
//! * terminalId: 32 lower-case hex characters; payerTerminalId: 25 lower-case hex characters.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

/// The node number written into every 25-digit reference.
const NODE: u32 = 1;

/// Generates identifiers; deterministic when built from a seed.
#[derive(Debug)]
pub struct IdGenerator {
    rng: StdRng,
    sequence: u32,
}

impl IdGenerator {
    /// A generator seeded from `seed`, or from the operating system when there is none.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self { rng, sequence: 0 }
    }

    /// The random generator, shared with fault selection so that one seed fixes both.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A fresh 17-digit invoice reference for the day of `now`.
    pub fn invoice_reference(&mut self, now: OffsetDateTime) -> String {
        let n: u32 = self.rng.random_range(0..1_000_000_000);
        format!(
            "{:04}{:02}{:02}{n:09}",
            now.year(),
            u8::from(now.month()),
            now.day()
        )
    }

    /// A fresh 25-digit reference (ersReference, transactionPeriodId) for `now`.
    pub fn ers_reference(&mut self, now: OffsetDateTime) -> String {
        self.sequence = (self.sequence + 1) % 1_000_000;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:03}{NODE:02}{:06}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.millisecond(),
            self.sequence
        )
    }

    /// A fresh 32-character lower-case hex terminal id.
    pub fn terminal_id(&mut self) -> String {
        self.hex(32)
    }

    /// A fresh 25-character lower-case hex payer terminal id.
    pub fn payer_terminal_id(&mut self) -> String {
        self.hex(25)
    }

    fn hex(&mut self, len: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        (0..len)
            .map(|_| char::from(DIGITS[self.rng.random_range(0..16)]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn shapes_follow_the_protocol_document() {
        let mut ids = IdGenerator::new(Some(7));
        let now = datetime!(2015-10-29 10:18:48.663 UTC);
        let invoice = ids.invoice_reference(now);
        assert_eq!(invoice.len(), 17);
        assert!(invoice.starts_with("20151029") && invoice.bytes().all(|b| b.is_ascii_digit()));
        let ers = ids.ers_reference(now);
        assert_eq!(ers, "2015102910184866301000001");
        assert_eq!(ids.ers_reference(now), "2015102910184866301000002");
        let terminal = ids.terminal_id();
        assert_eq!(terminal.len(), 32);
        assert!(
            terminal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(ids.payer_terminal_id().len(), 25);
    }

    #[test]
    fn the_same_seed_gives_the_same_identifiers() {
        let now = datetime!(2020-01-02 03:04:05 UTC);
        let mut a = IdGenerator::new(Some(42));
        let mut b = IdGenerator::new(Some(42));
        assert_eq!(a.invoice_reference(now), b.invoice_reference(now));
        assert_eq!(a.terminal_id(), b.terminal_id());
    }
}
