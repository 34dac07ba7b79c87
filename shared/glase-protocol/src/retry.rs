//! The retry policy, as pure functions: whether and when to repeat a Glase call after one attempt.
//!
//! The rules, per operation:
//!
//! | Operation | Repeated after... |
//! |---|---|
//! | getPaymentStatus, cancelInvoice, executeReport ("safe to repeat") | a connect failure, an ambiguous failure (timeout after send, reset, HTTP 5xx without SOAP body), `SYSTEM_BUSY` (93), `SERVICE_UNAVAILABLE` (94); executeReport also after `REPORT_NOT_READY` (2), with 1–3 s waits |
//! | every other operation | a connect failure only (the request provably never left) |
//!
//! Why those three are safe: getPaymentStatus only reads (the acknowledgement it implies is the very
//! thing a repeat re-sends); a second cancelInvoice on a cancelled invoice answers 95
//! `INVOICE_ALREADY_CANCELED`, which callers treat as success; executeReport only reads.
//! Why the others are not: sendInvoice creates an invoice (and on a POS cancels the previous one);
//! refundPayment moves money; updateInvoice bumps the invoice version and may acknowledge a customer;
//! commitReservation captures money; registerTerminal creates a terminal; unregisterTerminal would answer
//! 29 the second time and hide the first success; assignSeqrId could answer 53 after its own success;
//! markTransactionPeriod closes a period each time; submitPaymentReceipt may attach duplicates.
//! After an ambiguous failure of those, the caller gets `OutcomeUnknown` and must reconcile.
//!
//! A business rejection (any other non-zero result code), a SOAP fault, an HTTP 4xx and an undecodable
//! answer are never repeated. Nothing is repeated when the wait would end past the caller's deadline.

use std::time::Duration;

use crate::model::{Operation, ResultCode};

/// What one attempt produced, as far as the retry decision is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// No connection could be made: the request provably never left.
    ConnectFailed,
    /// The request may have reached Glase but no usable answer came back (timeout after sending,
    /// connection reset mid-response, HTTP 5xx without a SOAP body).
    Ambiguous,
    /// An HTTP status without a SOAP body (5xx is treated like [`AttemptOutcome::Ambiguous`]).
    HttpStatus(u16),
    /// A SOAP Fault.
    Fault,
    /// A response that could not be decoded.
    Undecodable,
    /// A decoded response with this result code.
    Answered(ResultCode),
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long (before jitter), then try again.
    RetryAfter(Duration),
    /// Return the attempt's result to the caller.
    Stop,
}

/// Tunables of the retry policy. [`RetryPolicy::default`] is what the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts for transient failures (connect, ambiguous, 93, 94), the first included.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles each time.
    pub base_delay: Duration,
    /// The longest wait between transient retries.
    pub max_delay: Duration,
    /// The first wait after `REPORT_NOT_READY`; it grows by this much each time up to `max_report_wait`.
    pub report_wait: Duration,
    /// The longest wait after `REPORT_NOT_READY`.
    pub max_report_wait: Duration,
    /// The most attempts while the report is not ready, the first included.
    pub max_report_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            report_wait: Duration::from_secs(1),
            max_report_wait: Duration::from_secs(3),
            max_report_attempts: 20,
        }
    }
}

/// Whether repeating `op` after an ambiguous failure cannot cause a second effect.
pub fn is_safe_to_repeat(op: Operation) -> bool {
    matches!(
        op,
        Operation::GetPaymentStatus | Operation::CancelInvoice | Operation::ExecuteReport
    )
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 for the first) of `op`, `elapsed` after the call began,
    /// with the caller's total `deadline`.
    pub fn decide(
        &self,
        op: Operation,
        attempt: u32,
        outcome: &AttemptOutcome,
        elapsed: Duration,
        deadline: Duration,
    ) -> RetryDecision {
        let wait = match outcome {
            AttemptOutcome::ConnectFailed => self.transient_wait(attempt),
            AttemptOutcome::Ambiguous if is_safe_to_repeat(op) => self.transient_wait(attempt),
            AttemptOutcome::HttpStatus(status) if *status >= 500 && is_safe_to_repeat(op) => {
                self.transient_wait(attempt)
            }
            AttemptOutcome::Answered(ResultCode::SystemBusy | ResultCode::ServiceUnavailable)
                if is_safe_to_repeat(op) =>
            {
                self.transient_wait(attempt)
            }
            AttemptOutcome::Answered(ResultCode::ReportNotReady) if op == Operation::ExecuteReport => {
                self.report_wait(attempt)
            }
            _ => None,
        };
        match wait {
            Some(wait) if elapsed.saturating_add(wait) < deadline => RetryDecision::RetryAfter(wait),
            _ => RetryDecision::Stop,
        }
    }

    fn transient_wait(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let factor = 1_u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }

    fn report_wait(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_report_attempts {
            return None;
        }
        Some(
            self.report_wait
                .saturating_mul(attempt.max(1))
                .min(self.max_report_wait),
        )
    }
}

/// Spreads a wait ("equal jitter"): `permille` in `0..=1000` maps the wait onto `[wait/2, wait]`.
/// Values above 1000 count as 1000. Integer arithmetic only.
pub fn jittered(wait: Duration, permille: u16) -> Duration {
    let permille = u128::from(permille.min(1000));
    let nanos = wait.as_nanos();
    let half = nanos / 2;
    let spread = (nanos - half) * permille / 1000;
    Duration::from_nanos(u64::try_from(half + spread).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::AttemptOutcome::*;
    use super::*;
    use crate::model::Operation::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const LONG: Duration = Duration::from_secs(30);

    fn retry(ms: u64) -> RetryDecision {
        RetryDecision::RetryAfter(MS(ms))
    }

    #[test]
    fn decision_table() {
        use ResultCode as C;
        use RetryDecision::Stop;
        const Z: Duration = Duration::ZERO;
        let cases: Vec<(Operation, u32, AttemptOutcome, Duration, RetryDecision)> = vec![
            // Success is never repeated.
            (GetPaymentStatus, 1, Answered(C::Success), Z, Stop),
            // Safe operations: transient failures back off exponentially.
            (GetPaymentStatus, 1, Answered(C::SystemBusy), Z, retry(100)),
            (
                GetPaymentStatus,
                2,
                Answered(C::ServiceUnavailable),
                Z,
                retry(200),
            ),
            (GetPaymentStatus, 3, Ambiguous, Z, retry(400)),
            (GetPaymentStatus, 4, Ambiguous, Z, Stop),
            (CancelInvoice, 1, Ambiguous, Z, retry(100)),
            (CancelInvoice, 1, HttpStatus(503), Z, retry(100)),
            (ExecuteReport, 1, ConnectFailed, Z, retry(100)),
            // Business rejections, faults, 4xx and garbage are final.
            (GetPaymentStatus, 1, Answered(C::InvalidInvoiceReference), Z, Stop),
            (GetPaymentStatus, 1, Answered(C::SystemError), Z, Stop),
            (CancelInvoice, 1, Answered(C::CannotCancelPaidInvoice), Z, Stop),
            (GetPaymentStatus, 1, Fault, Z, Stop),
            (GetPaymentStatus, 1, HttpStatus(404), Z, Stop),
            (GetPaymentStatus, 1, Undecodable, Z, Stop),
            // REPORT_NOT_READY: 1 s, 2 s, then 3 s waits, executeReport only.
            (ExecuteReport, 1, Answered(C::ReportNotReady), Z, retry(1000)),
            (ExecuteReport, 2, Answered(C::ReportNotReady), Z, retry(2000)),
            (ExecuteReport, 7, Answered(C::ReportNotReady), Z, retry(3000)),
            (ExecuteReport, 20, Answered(C::ReportNotReady), Z, Stop),
            (GetPaymentStatus, 1, Answered(C::ReportNotReady), Z, Stop),
            // Non-idempotent writes: only a connect failure is repeated.
            (SendInvoice, 1, ConnectFailed, Z, retry(100)),
            (SendInvoice, 1, Ambiguous, Z, Stop),
            (SendInvoice, 1, HttpStatus(502), Z, Stop),
            (SendInvoice, 1, Answered(C::SystemBusy), Z, Stop),
            (RefundPayment, 1, Ambiguous, Z, Stop),
            (RefundPayment, 2, ConnectFailed, Z, retry(200)),
            (UpdateInvoice, 1, Ambiguous, Z, Stop),
            (CommitReservation, 1, Ambiguous, Z, Stop),
            (SubmitPaymentReceipt, 1, Answered(C::ServiceUnavailable), Z, Stop),
            (RegisterTerminal, 1, Ambiguous, Z, Stop),
            (UnregisterTerminal, 1, Ambiguous, Z, Stop),
            (AssignSeqrId, 1, Ambiguous, Z, Stop),
            (MarkTransactionPeriod, 1, Ambiguous, Z, Stop),
            (MarkTransactionPeriod, 3, ConnectFailed, Z, retry(400)),
            (MarkTransactionPeriod, 4, ConnectFailed, Z, Stop),
            // The deadline wins: no retry whose wait would end at or past it.
            (GetPaymentStatus, 1, Ambiguous, LONG - MS(100), Stop),
            (GetPaymentStatus, 1, Ambiguous, LONG - MS(101), retry(100)),
            (
                ExecuteReport,
                1,
                Answered(C::ReportNotReady),
                LONG - MS(500),
                Stop,
            ),
        ];
        let policy = RetryPolicy::default();
        for (op, attempt, outcome, elapsed, expected) in cases {
            assert_eq!(
                policy.decide(op, attempt, &outcome, elapsed, LONG),
                expected,
                "{op} #{attempt} {outcome:?}"
            );
        }
    }

    #[test]
    fn backoff_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        let d = policy.decide(
            GetPaymentStatus,
            40,
            &Ambiguous,
            Duration::ZERO,
            Duration::from_secs(3600),
        );
        assert_eq!(d, RetryDecision::RetryAfter(Duration::from_secs(2)));
    }

    #[test]
    fn only_reads_and_cancel_are_safe_to_repeat() {
        let safe: Vec<Operation> = Operation::ALL
            .into_iter()
            .filter(|op| is_safe_to_repeat(*op))
            .collect();
        assert_eq!(safe, vec![GetPaymentStatus, CancelInvoice, ExecuteReport]);
    }

    #[test]
    fn jitter_maps_onto_the_upper_half() {
        assert_eq!(jittered(MS(1000), 0), MS(500));
        assert_eq!(jittered(MS(1000), 1000), MS(1000));
        assert_eq!(jittered(MS(1000), 500), MS(750));
        assert_eq!(jittered(MS(1000), u16::MAX), MS(1000));
        assert_eq!(jittered(Duration::ZERO, 700), Duration::ZERO);
    }
}
