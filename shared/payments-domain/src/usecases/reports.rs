//! Period reports and reconciliation: close a transaction period at Glase, fetch its reports, and check
//! Glase's books against ours.
//!
//! - **Claim first, then mark.** A period is closed under an idempotency record keyed by its scope and
//!   period key (the schedule uses the UTC date). The record is written before markTransactionPeriod is
//!   called, so a repeated or retried request finds it and never opens a second period: a completed record
//!   answers the same period (and resumes its reports), a running one answers "retry later", and one whose
//!   run vanished between the mark and storing the period answers "outcome unknown" (the mark may have
//!   happened; it is not repeated).
//! - **Reports.** The summary and the details report of the scope are fetched; `REPORT_NOT_READY` (and
//!   Glase's "busy" answers) are retried with growing waits for as long as the caller's deadline allows.
//!   The wait is the caller's closure: the domain does no I/O. A period whose reports are not ready in
//!   time stays `reports_pending`, and the same request later resumes it. A report fetched again replaces
//!   its earlier copy, so nothing is stored twice.
//! - **Reconciliation** ([`reconcile`], a pure function) matches every transaction of the details report
//!   by `ErsReference` and amount with our payments and refunds; our paid payments are those paid since
//!   the previous period of the scope was marked (24 hours for the first one). It settles refunds whose
//!   outcome was unknown: found in the report means `succeeded`, absent means `failed` (it never
//!   happened; its amount is refundable again, so a new refund can safely be requested).
//! - **Which report may fail a refund.** A refund's Glase call may have landed (if at all) between the
//!   worker's claim and the moment its outcome became unknown plus the settle margin (Glase may still be
//!   working on a call that timed out). Only a period whose window (from the previous mark of its scope
//!   to its own mark) holds all of that time may declare the refund absent, as only that period's report
//!   would list it. A refund whose time straddles a mark may be found by either report; while no report
//!   lists it, it stays `needs_reconciliation` and each period it straddles reports it as a
//!   `refund_undecided` mismatch (counted by the mismatch metric and its alarm): it is never `failed` on
//!   a report that could not contain it ([`unsettled_refunds_of`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use futures::stream::{self, StreamExt as _};

use crate::idempotency::{
    FingerprintBuilder, IdempotencyKey, IdempotencyPolicy, IdempotencyRecord, Operation, SideEffect,
    StoredOutcome,
};
use crate::ids::{ErsReference, PeriodId, TerminalId, Timestamp};
use crate::money::{Currency, Money};
use crate::payment::{Payment, PaymentTerminal};
use crate::period::{
    FetchedReport, Mismatch, MismatchKind, PeriodScope, Reconciliation, ReportRow, ReportTransaction,
    ReportingPeriod,
};
use crate::ports::{
    Clock, GlaseError, GlaseGateway, IdGenerator, PaymentStore, Ports, ReportRequest, StoreError,
    result_codes,
};
use crate::refund::{Refund, RefundFailure, RefundStatus};

use super::{ConflictReason, Deps, KeyTaken, MAX_RACES, Race, UseCaseError, key_taken_over, retry_on_race};

/// How long a period key is remembered: a key used again within this time answers the same period.
pub const PERIOD_KEY_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// How far back from the mark our paid payments are checked against the report ("paid with us only")
/// when no earlier period of the scope exists: the schedule's interval. Otherwise the window starts at
/// the previous period's mark.
pub const PAID_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest window of our own payments one reconciliation reads, however old the previous period.
pub const MAX_PAID_WINDOW: Duration = Duration::from_secs(31 * 24 * 60 * 60);
/// How long after a refund's outcome became unknown Glase may still have been working on its call: a
/// refund unknown this shortly before a mark may be in either period's report, so neither may declare
/// it absent. The default of [`super::UseCaseSettings::refund_settle_margin`].
pub const REFUND_SETTLE_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The waits before a throttled store request is tried again where failing would lose work: the writes
/// after a mark, and the reads and settlements of a reconciliation.
pub const THROTTLED_WRITE_WAITS: [Duration; 5] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1_600),
];

/// How the period use cases wait between tries: any `Fn(Duration) -> impl Future<Output = ()>`, such
/// as `tokio::time::sleep` in a function, or a test's step of its clock.
pub trait Wait: Send + Sync {
    /// Waits `pause`.
    fn wait(&self, pause: Duration) -> impl Future<Output = ()> + Send;
}

impl<W, F> Wait for W
where
    W: Fn(Duration) -> F + Send + Sync,
    F: Future<Output = ()> + Send,
{
    fn wait(&self, pause: Duration) -> impl Future<Output = ()> + Send {
        self(pause)
    }
}

/// Runs `write` (or a read), and again after each of [`THROTTLED_WRITE_WAITS`] while the store throttles
/// it (a throttled request wrote nothing, so repeating it is safe).
async fn retry_throttled<T, Fut>(wait: &impl Wait, write: impl Fn() -> Fut) -> Result<T, StoreError>
where
    Fut: Future<Output = Result<T, StoreError>>,
{
    for pause in THROTTLED_WRITE_WAITS {
        match write().await {
            Err(StoreError::Throttled) => wait.wait(pause).await,
            other => return other,
        }
    }
    write().await
}

/// The waits between executeReport attempts that Glase answered "not ready" (the last one repeats).
pub const NOT_READY_WAITS: [Duration; 4] = [
    Duration::from_secs(3),
    Duration::from_secs(5),
    Duration::from_secs(8),
    Duration::from_secs(13),
];
/// How many report rows a reconciliation looks up in the store at once.
pub const RECONCILE_READS_AT_ONCE: usize = 16;

/// One report row looked up in the store.
enum Found {
    Payment(ErsReference, Option<Box<Payment>>),
    Refund(ErsReference, Option<Refund>),
}

/// The most unsettled refunds one reconciliation looks at.
const UNSETTLED_REFUND_LIMIT: usize = 1_000;
/// The longest period key.
pub const MAX_PERIOD_KEY_CHARS: usize = 128;

/// The request to close a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosePeriod {
    /// The period key (e.g. `daily-2026-11-30`): the same key and scope always answer the same period.
    /// Without one, every request closes a new period.
    pub period_key: Option<String>,
    /// A POS terminal for a per-terminal period; `None` closes the shop's period.
    pub terminal_id: Option<TerminalId>,
}

/// What closing a period did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedPeriod {
    /// The period as stored now.
    pub period: ReportingPeriod,
    /// Whether this request marked it (`false`: the key had closed it before).
    pub created: bool,
    /// Whether this request reconciled it (count its mismatches once).
    pub reconciled_now: bool,
}

/// Checks a period key: 1 to [`MAX_PERIOD_KEY_CHARS`] ASCII letters, digits and `- _ . :`.
pub fn check_period_key(key: &str) -> Result<(), UseCaseError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_PERIOD_KEY_CHARS
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(UseCaseError::Invalid(format!(
            "period_key must be 1 to {MAX_PERIOD_KEY_CHARS} ASCII letters, digits, '-', '_', '.' or ':'"
        )))
    }
}

/// What the report says about a refund whose outcome was unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundSettlement {
    /// The report lists it (matched by amount, its own reference unknown to us until now): it succeeded.
    FoundInReport {
        /// The refund as it was.
        refund: Refund,
        /// Its reference from the report.
        ers_reference: ErsReference,
    },
    /// The report does not list it: it never happened.
    AbsentFromReport {
        /// The refund as it was.
        refund: Refund,
    },
}

/// Everything reconciliation compares, read from the store by the use case.
#[derive(Clone, Debug)]
pub struct ReconcileInput<'a> {
    /// The transactions of the period's details report.
    pub transactions: &'a [ReportTransaction],
    /// Our payments found by the references of the report's payment rows.
    pub payments: &'a HashMap<ErsReference, Payment>,
    /// Our refunds found by the references of the report's refund rows.
    pub refunds: &'a HashMap<ErsReference, Refund>,
    /// Our payments paid in the period's window (and scope).
    pub paid_with_us: &'a [Payment],
    /// Our refunds in `needs_reconciliation` whose Glase call lies wholly in the period's window: found
    /// in the report they succeeded, absent they never happened.
    pub unsettled_refunds: &'a [Refund],
    /// Our refunds in `needs_reconciliation` whose Glase call may have landed on either side of one of
    /// the period's marks: found in the report they succeeded; absent, the report decides nothing.
    pub undecided_refunds: &'a [Refund],
    /// Now.
    pub now: Timestamp,
}

/// The result of [`reconcile`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileOutcome {
    /// Matches and mismatches.
    pub reconciliation: Reconciliation,
    /// What to do with each unsettled refund.
    pub settlements: Vec<RefundSettlement>,
}

fn negated(amount: Money) -> Option<Money> {
    amount
        .minor_units()
        .checked_neg()
        .map(|minor| Money::new(minor, amount.currency()))
}

/// The report's rows as transactions in their currencies. A row that names no `Currency` (Glase's refund
/// rows name none) is read in the period's currency: the one currency of the period's own records (our
/// payments paid in its window, the payments and refunds its rows name, the refunds it may settle).
/// When those are in several currencies, or there are none, such a row is read in the currency of our
/// payment or refund it names; a row that names neither a currency nor a record of ours makes the report
/// unreadable (an error naming the row), rather than being read in a guessed currency.
fn rows_in_currency(
    rows: &[ReportRow],
    paid_with_us: &[Payment],
    payments: &HashMap<ErsReference, Payment>,
    refunds: &HashMap<ErsReference, Refund>,
    unsettled: &[Refund],
) -> Result<Vec<ReportTransaction>, UseCaseError> {
    let currencies: HashSet<Currency> = paid_with_us
        .iter()
        .chain(payments.values())
        .map(|p| p.amount().currency())
        .chain(refunds.values().chain(unsettled).map(|r| r.amount().currency()))
        .collect();
    let period_currency = match currencies.len() {
        1 => currencies.into_iter().next(),
        _ => None,
    };
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let unreadable = |why: String| {
                UseCaseError::OutcomeUnknown(format!(
                    "Glase sent a report that cannot be read: report row {}: {why}",
                    index + 1
                ))
            };
            let named = if row.is_refund() {
                refunds.get(&row.ers_reference).map(|r| r.amount().currency())
            } else {
                payments.get(&row.ers_reference).map(|p| p.amount().currency())
            };
            let currency = row.currency.or(period_currency).or(named).ok_or_else(|| {
                unreadable(
                    "it names no currency, and neither the period nor a record of ours gives one".to_owned(),
                )
            })?;
            row.in_currency(currency)
                .map_err(|e| unreadable(format!("amount: {e}")))
        })
        .collect()
}

/// Matches Glase's transactions with ours. Pure: every input is passed in.
///
/// - A payment row (positive) whose reference is one of our paid payments matches when the amounts are
///   equal, else it is `amount_differs`; an unknown reference is `paid_at_glase_only`.
/// - A refund row (negative) whose reference is one of our refunds matches when the amounts are equal,
///   else `amount_differs`. An unknown reference is matched to the oldest unsettled refund of the same
///   amount (which then settles as succeeded), or else it is `refund_unknown`.
/// - Each of our paid payments the report does not list is `paid_with_us_only`.
/// - Each unsettled refund left over is absent from the report; each undecided one left over is
///   `refund_undecided` (it stays as it is).
pub fn reconcile(input: &ReconcileInput<'_>) -> ReconcileOutcome {
    let mut matched: u32 = 0;
    let mut mismatches = Vec::new();
    let mut settlements = Vec::new();
    // Each candidate with whether the report's silence decides it.
    let mut unsettled: Vec<(&Refund, bool)> = input
        .unsettled_refunds
        .iter()
        .map(|r| (r, true))
        .chain(input.undecided_refunds.iter().map(|r| (r, false)))
        .collect();
    unsettled.sort_by_key(|(r, _)| (r.created_at(), r.id().as_str().to_owned()));
    let mut listed: HashSet<&ErsReference> = HashSet::new();
    for t in input.transactions {
        listed.insert(&t.ers_reference);
        let mismatch = |kind: MismatchKind| Mismatch {
            kind,
            ers_reference: Some(t.ers_reference.clone()),
            payment_id: None,
            refund_id: None,
            glase_amount: Some(t.amount),
            our_amount: None,
        };
        if !t.amount.is_negative() {
            match input.payments.get(&t.ers_reference) {
                Some(p) if p.amount() == t.amount => matched = matched.saturating_add(1),
                Some(p) => mismatches.push(Mismatch {
                    payment_id: Some(p.id().clone()),
                    our_amount: Some(p.amount()),
                    ..mismatch(MismatchKind::AmountDiffers)
                }),
                None => mismatches.push(mismatch(MismatchKind::PaidAtGlaseOnly)),
            }
            continue;
        }
        let refunded = negated(t.amount);
        match input.refunds.get(&t.ers_reference) {
            Some(r) if Some(r.amount()) == refunded => matched = matched.saturating_add(1),
            Some(r) => mismatches.push(Mismatch {
                payment_id: Some(r.payment_id().clone()),
                refund_id: Some(r.id().clone()),
                our_amount: negated(r.amount()),
                ..mismatch(MismatchKind::AmountDiffers)
            }),
            None => match unsettled.iter().position(|(r, _)| Some(r.amount()) == refunded) {
                Some(position) => {
                    let (refund, _) = unsettled.remove(position);
                    settlements.push(RefundSettlement::FoundInReport {
                        refund: refund.clone(),
                        ers_reference: t.ers_reference.clone(),
                    });
                    matched = matched.saturating_add(1);
                }
                None => mismatches.push(mismatch(MismatchKind::RefundUnknown)),
            },
        }
    }
    for p in input.paid_with_us {
        if p.ers_reference().is_some_and(|e| !listed.contains(e)) {
            mismatches.push(Mismatch {
                kind: MismatchKind::PaidWithUsOnly,
                ers_reference: p.ers_reference().cloned(),
                payment_id: Some(p.id().clone()),
                refund_id: None,
                glase_amount: None,
                our_amount: Some(p.amount()),
            });
        }
    }
    for (refund, decided_by_silence) in unsettled {
        if decided_by_silence {
            settlements.push(RefundSettlement::AbsentFromReport {
                refund: refund.clone(),
            });
        } else {
            mismatches.push(Mismatch {
                kind: MismatchKind::RefundUndecided,
                ers_reference: None,
                payment_id: Some(refund.payment_id().clone()),
                refund_id: Some(refund.id().clone()),
                glase_amount: None,
                our_amount: negated(refund.amount()),
            });
        }
    }
    ReconcileOutcome {
        reconciliation: Reconciliation {
            reconciled_at: input.now,
            matched,
            mismatches,
        },
        settlements,
    }
}

/// Which of the `needs_reconciliation` refunds a period may settle. The period's window runs from
/// `window_start` (the previous mark of its scope; `None` for the first period, whose window has no
/// start) to `marked`. A refund's call may have landed from its claim ([`Refund::call_began_at`]) to its
/// `updated_at` plus `margin`. Answers the refunds whose time lies wholly in the window (the report's
/// silence means they never happened) and those whose time straddles one of the window's ends (the
/// report may list them; its silence decides nothing); the others belong to other periods.
pub fn unsettled_refunds_of(
    refunds: Vec<Refund>,
    window_start: Option<Timestamp>,
    marked: Timestamp,
    margin: Duration,
) -> (Vec<Refund>, Vec<Refund>) {
    let mut decidable = Vec::new();
    let mut undecided = Vec::new();
    for refund in refunds {
        let began = refund.call_began_at().unwrap_or(refund.updated_at());
        let landed_by = refund.updated_at().plus(margin);
        let after_start = |t: Timestamp| window_start.is_none_or(|start| t > start);
        if began > marked || !after_start(landed_by) {
            continue;
        }
        if after_start(began) && landed_by <= marked {
            decidable.push(refund);
        } else {
            undecided.push(refund);
        }
    }
    (decidable, undecided)
}

fn in_scope(payment: &Payment, scope: &PeriodScope) -> bool {
    match scope {
        PeriodScope::Shop => true,
        PeriodScope::Terminal { terminal_id, .. } => {
            matches!(payment.terminal(), PaymentTerminal::Pos(t) if t == terminal_id)
        }
    }
}

impl<P: Ports> Deps<P> {
    /// Closes a period (or answers the one its key closed before, resuming its reports), fetches the
    /// reports until `deadline`, waiting with `wait` between "not ready" answers, and reconciles.
    pub async fn close_period<W: Wait>(
        &self,
        request: ClosePeriod,
        deadline: Timestamp,
        wait: W,
    ) -> Result<ClosedPeriod, UseCaseError> {
        let period_key = match &request.period_key {
            Some(key) => {
                check_period_key(key)?;
                key.clone()
            }
            None => format!("once-{}", self.ids.period_id()),
        };
        let scope = match &request.terminal_id {
            None => PeriodScope::Shop,
            Some(id) => {
                let terminal = self.stored_terminal(id).await?;
                if !terminal.is_active() {
                    return Err(UseCaseError::Conflict(ConflictReason::TerminalUnregistered));
                }
                PeriodScope::Terminal {
                    terminal_id: id.clone(),
                    glase_terminal_id: terminal.glase_terminal_id().clone(),
                }
            }
        };
        let scoped_key = match &request.terminal_id {
            None => format!("shop/{period_key}"),
            Some(id) => format!("terminal/{id}/{period_key}"),
        };
        let key = IdempotencyKey::parse(&scoped_key).map_err(|e| UseCaseError::Invalid(e.to_string()))?;
        let fingerprint = FingerprintBuilder::new(Operation::ClosePeriod)
            .optional_text("terminal_id", request.terminal_id.as_ref().map(|t| t.as_str()))
            .text("period_key", &period_key)
            .finish();
        let now = self.clock.now();
        let policy = IdempotencyPolicy {
            key_lifetime: PERIOD_KEY_LIFETIME,
            ..self.settings.idempotency
        };
        let fresh = IdempotencyRecord::start(Operation::ClosePeriod, key.clone(), fingerprint, now, policy);
        const UNKNOWN: &str = "an earlier close of this period did not finish; its mark is not repeated";
        let taken = self.take_key(fresh, SideEffect::NotRepeatable, UNKNOWN, |_| key_taken_over());
        let owned = match taken.await? {
            KeyTaken::Owned(owned) => owned,
            KeyTaken::Replay(StoredOutcome::PeriodClosed { period_id }) => {
                let period = self.get_period(&period_id).await?;
                let (period, reconciled_now) = self.complete_or_current(period, deadline, &wait).await?;
                return Ok(ClosedPeriod {
                    period,
                    created: false,
                    reconciled_now,
                });
            }
            KeyTaken::Replay(StoredOutcome::GlaseRejected { code, description }) => {
                return Err(UseCaseError::GlaseRejected { code, description });
            }
            KeyTaken::Replay(StoredOutcome::OutcomeUnknown) => {
                return Err(UseCaseError::OutcomeUnknown(UNKNOWN.into()));
            }
            KeyTaken::Replay(_) => return Err(UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused)),
        };
        let transaction_period_id = match self.glase.mark_period(&scope).await {
            Ok(id) => id,
            Err(e) => {
                let outcome = match &e {
                    e if e.is_transient() => None,
                    GlaseError::Rejected { code, description } => Some(StoredOutcome::GlaseRejected {
                        code: *code,
                        description: description.clone(),
                    }),
                    _ => Some(StoredOutcome::OutcomeUnknown),
                };
                let _ = match outcome {
                    // Nothing happened at Glase: free the key so the next attempt marks.
                    None => {
                        self.store
                            .delete_idempotency_record(Operation::ClosePeriod, &key, owned.revision)
                            .await
                    }
                    Some(outcome) => {
                        self.store
                            .replace_idempotency_record(&owned.completed(outcome), owned.revision)
                            .await
                    }
                };
                return Err(e.into());
            }
        };
        let period = ReportingPeriod::marked(
            self.ids.period_id(),
            transaction_period_id,
            scope,
            self.clock.now(),
        );
        // Glase has marked the period: from here a lost write cannot be undone by asking again (a second
        // mark would split the period), so a throttled write, which wrote nothing, is tried again.
        retry_throttled(&wait, || self.store.insert_period(&period)).await?;
        let outcome = StoredOutcome::PeriodClosed {
            period_id: period.id().clone(),
        };
        let completed = owned.completed(outcome);
        retry_throttled(&wait, || {
            self.store.replace_idempotency_record(&completed, owned.revision)
        })
        .await?;
        let (period, reconciled_now) = self.complete_or_current(period, deadline, &wait).await?;
        Ok(ClosedPeriod {
            period,
            created: true,
            reconciled_now,
        })
    }

    /// Reads a period.
    pub async fn get_period(&self, id: &PeriodId) -> Result<ReportingPeriod, UseCaseError> {
        self.store
            .get_period(id)
            .await?
            .ok_or(UseCaseError::NotFound("report"))
    }

    async fn store_period(
        &self,
        next: ReportingPeriod,
        current: &ReportingPeriod,
    ) -> Result<ReportingPeriod, UseCaseError> {
        self.store.update_period(&next, current.revision()).await?;
        Ok(next)
    }

    /// [`Self::complete_period`]; when another request with the same key moved the period on meanwhile
    /// (its revision changed), that request owns the work and the period is answered as it is now.
    async fn complete_or_current<W: Wait>(
        &self,
        period: ReportingPeriod,
        deadline: Timestamp,
        wait: &W,
    ) -> Result<(ReportingPeriod, bool), UseCaseError> {
        let id = period.id().clone();
        match self.complete_period(period, deadline, wait).await {
            Err(UseCaseError::Store(StoreError::ConditionFailed)) => Ok((self.get_period(&id).await?, false)),
            other => other,
        }
    }

    /// Fetches what is missing and reconciles; returns the period and whether it was reconciled now.
    async fn complete_period<W: Wait>(
        &self,
        period: ReportingPeriod,
        deadline: Timestamp,
        wait: &W,
    ) -> Result<(ReportingPeriod, bool), UseCaseError> {
        if period.reconciliation().is_some() {
            return Ok((period, false));
        }
        let mut current = period;
        let [summary_id, details_id] = current.scope().report_ids();
        if !current.documents().iter().any(|d| d.report_id == summary_id) {
            let Some(summary) = self.fetch_report(&current, summary_id, deadline, wait).await? else {
                return Ok((current, false));
            };
            current = self
                .store_period(current.with_document(summary.document), &current)
                .await?;
        }
        // The details are fetched again on a resume: their rows are not stored, only the document.
        let Some(details) = self.fetch_report(&current, details_id, deadline, wait).await? else {
            return Ok((current, false));
        };
        current = self
            .store_period(current.with_document(details.document.clone()), &current)
            .await?;
        let outcome = self.reconcile_period(&current, &details, wait).await?;
        for settlement in &outcome.settlements {
            self.settle(settlement, wait).await?;
        }
        let next = current.with_reconciliation(outcome.reconciliation);
        let current = self.store_period(next, &current).await?;
        Ok((current, true))
    }

    /// executeReport, retried while Glase answers "not ready" or "busy" and the deadline allows another
    /// wait; `None` when the deadline came first.
    async fn fetch_report<W: Wait>(
        &self,
        period: &ReportingPeriod,
        report_id: &str,
        deadline: Timestamp,
        wait: &W,
    ) -> Result<Option<FetchedReport>, UseCaseError> {
        let request = ReportRequest {
            report_id: report_id.to_owned(),
            transaction_period_id: period.transaction_period_id().clone(),
            scope: period.scope().clone(),
        };
        let started = self.clock.now();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            match self.glase.execute_report(&request).await {
                Ok(report) => return Ok(Some(report)),
                Err(e) if e.code() == Some(result_codes::REPORT_NOT_READY) || e.is_transient() => {
                    let pause = NOT_READY_WAITS[attempt.min(NOT_READY_WAITS.len() - 1)];
                    attempt += 1;
                    // The clock, and the waits themselves (should the clock stand still), bound the loop.
                    if self.clock.now().plus(pause) >= deadline || started.plus(waited + pause) >= deadline {
                        return Ok(None);
                    }
                    waited += pause;
                    wait.wait(pause).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Every read here is one of hundreds for a large period: a throttled one is tried again (see
    /// [`THROTTLED_WRITE_WAITS`]) rather than failing the whole reconciliation, which would then fail
    /// again on its next try with the same odds (found by the soak).
    async fn reconcile_period<W: Wait>(
        &self,
        period: &ReportingPeriod,
        details: &FetchedReport,
        wait: &W,
    ) -> Result<ReconcileOutcome, UseCaseError> {
        let marked = period.marked_at();
        let previous_mark = retry_throttled(wait, || self.store.latest_period_before(period.scope(), marked))
            .await?
            .map(|previous| previous.marked_at());
        let from = match previous_mark {
            Some(previous) => previous.max(marked.minus(MAX_PAID_WINDOW)),
            None => marked.minus(PAID_WINDOW),
        };
        let paid_with_us: Vec<Payment> =
            retry_throttled(wait, || self.store.payments_paid_between(from, marked))
                .await?
                .into_iter()
                .filter(|p| in_scope(p, period.scope()))
                .collect();
        // A payment row of one of our payments paid in the window is matched from that list; only the
        // other rows (refunds, and payments from outside the window or scope) are looked up, several at
        // once: one read after another, a period of 5,000 rows outlasted the caller (found by the soak).
        let mut payments: HashMap<ErsReference, Payment> = paid_with_us
            .iter()
            .filter_map(|p| p.ers_reference().map(|e| (e.clone(), p.clone())))
            .collect();
        let mut refunds = HashMap::new();
        let reads: Vec<_> = details
            .transactions
            .iter()
            .filter(|t| t.is_refund() || !payments.contains_key(&t.ers_reference))
            .map(|t| self.look_up_row(t, wait))
            .collect();
        let found: Vec<Result<Found, StoreError>> = stream::iter(reads)
            .buffer_unordered(RECONCILE_READS_AT_ONCE)
            .collect()
            .await;
        for lookup in found {
            match lookup? {
                Found::Payment(reference, Some(p)) => {
                    payments.insert(reference, *p);
                }
                Found::Refund(reference, Some(r)) => {
                    refunds.insert(reference, r);
                }
                Found::Payment(_, None) | Found::Refund(_, None) => {}
            }
        }
        // Every refund unknown by now: one whose call began before the mark may have become unknown
        // after it.
        let now = self.clock.now();
        let mut covered_refunds = Vec::new();
        for refund in retry_throttled(wait, || {
            self.store.refunds_in_status(
                RefundStatus::NeedsReconciliation,
                now.plus(Duration::from_millis(1)),
                UNSETTLED_REFUND_LIMIT,
            )
        })
        .await?
        {
            let covered = match period.scope() {
                PeriodScope::Shop => true,
                PeriodScope::Terminal { .. } => {
                    retry_throttled(wait, || self.store.get_payment(refund.payment_id()))
                        .await?
                        .is_some_and(|p| in_scope(&p, period.scope()))
                }
            };
            if covered {
                covered_refunds.push(refund);
            }
        }
        let transactions = rows_in_currency(
            &details.transactions,
            &paid_with_us,
            &payments,
            &refunds,
            &covered_refunds,
        )?;
        let (unsettled, undecided) = unsettled_refunds_of(
            covered_refunds,
            previous_mark,
            marked,
            self.settings.refund_settle_margin,
        );
        Ok(reconcile(&ReconcileInput {
            transactions: &transactions,
            payments: &payments,
            refunds: &refunds,
            paid_with_us: &paid_with_us,
            unsettled_refunds: &unsettled,
            undecided_refunds: &undecided,
            now: self.clock.now(),
        }))
    }

    /// Our payment or refund of one report row, by its reference; a throttled read is tried again.
    async fn look_up_row<W: Wait>(&self, row: &ReportRow, wait: &W) -> Result<Found, StoreError> {
        let reference = &row.ers_reference;
        if row.is_refund() {
            retry_throttled(wait, || self.store.find_refund_by_ers_reference(reference))
                .await
                .map(|r| Found::Refund(reference.clone(), r))
        } else {
            retry_throttled(wait, || self.store.find_payment_by_ers_reference(reference))
                .await
                .map(|p| Found::Payment(reference.clone(), p.map(Box::new)))
        }
    }

    /// Settles one refund and its payment's ledger in one transaction, re-reading after a race; a
    /// throttled read or write is tried again.
    async fn settle<W: Wait>(&self, settlement: &RefundSettlement, wait: &W) -> Result<(), UseCaseError> {
        let (refund, found) = match settlement {
            RefundSettlement::FoundInReport {
                refund,
                ers_reference,
            } => (refund.clone(), Some(ers_reference.clone())),
            RefundSettlement::AbsentFromReport { refund } => (refund.clone(), None),
        };
        let found = &found;
        let settled = retry_on_race(refund, |refund, attempt| async move {
            if refund.status() != RefundStatus::NeedsReconciliation {
                return Ok(Race::Done(()));
            }
            let now = self.clock.now();
            let next = match found {
                Some(ers) => refund.succeed(ers.clone(), now),
                None => refund.fail(RefundFailure::AbsentFromReport, now),
            }
            .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
            let payment = retry_throttled(wait, || self.store.get_payment(refund.payment_id()))
                .await?
                .ok_or(UseCaseError::NotFound("payment"))?;
            let ledger = payment
                .settle_refund(refund.amount(), found.is_some())
                .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
            match retry_throttled(wait, || {
                self.store
                    .settle_refund(&next, refund.revision(), &ledger, payment.revision())
            })
            .await
            {
                Ok(()) => Ok(Race::Done(())),
                Err(StoreError::ConditionFailed) if attempt + 1 < MAX_RACES => Ok(Race::Retry(
                    retry_throttled(wait, || self.store.get_refund(refund.payment_id(), refund.id()))
                        .await?
                        .ok_or(UseCaseError::NotFound("refund"))?,
                )),
                Err(e) => Err(e.into()),
            }
        });
        // The last try answers its lost race as an error, so every race lost cannot come back here.
        settled.await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
