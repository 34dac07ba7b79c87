//! The sandbox clock: real time plus an offset that tests move forward.
//!
//! Every deadline of the sandbox (the acknowledgement window, reservation timeouts, report readiness, the
//! optional expiry of unpaid invoices) is measured on this clock, so a test advances it instead of
//! sleeping. It never goes backwards.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// A monotonic wall clock that can be advanced.
#[derive(Debug)]
pub struct SandboxClock {
    start_wall: OffsetDateTime,
    start: Instant,
    offset: Mutex<Duration>,
}

impl Default for SandboxClock {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxClock {
    /// A clock that starts at the current UTC time.
    pub fn new() -> Self {
        Self {
            start_wall: OffsetDateTime::now_utc(),
            start: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The current sandbox time (UTC).
    pub fn now(&self) -> OffsetDateTime {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        self.start_wall + self.start.elapsed() + offset
    }

    /// Moves the clock forward by `by` and answers the new time.
    pub fn advance(&self, by: Duration) -> OffsetDateTime {
        {
            let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
            *offset = offset.saturating_add(by);
        }
        self.now()
    }

    /// How far the clock has been moved forward in total.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_by_at_least_the_amount() {
        let clock = SandboxClock::new();
        let before = clock.now();
        let after = clock.advance(Duration::from_secs(21));
        assert!(after - before >= time::Duration::seconds(21));
        assert!(after - before < time::Duration::seconds(22));
        assert_eq!(clock.offset(), Duration::from_secs(21));
    }
}
