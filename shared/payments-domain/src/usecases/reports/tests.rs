//! Closing periods and reconciling them, on the in-memory fakes.

use std::sync::{Arc, Mutex};

use crate::faults::{FaultyStore, StoreFaultRates};
use crate::order::RefundReason;
use crate::order::tests::{order_of, row, sek};
use crate::payment::PaymentStatus;
use crate::period::{PeriodStatus, SHOP_DETAILS_REPORT, SHOP_SUMMARY_REPORT};
use crate::ports::StoreError;
use crate::refund::RefundState;
use crate::testing::{FakeDeps, GlaseCall};
use crate::usecases::{CreatePayment, UseCaseSettings};

use super::*;
use crate::usecases::tests::{
    assert_err, from_calls, glase_calls, refund_of, rejected, request, unavailable, unknown,
};

type TestDeps = FakeDeps;

fn deps() -> TestDeps {
    crate::testing::fake_deps(UseCaseSettings::default())
}

/// A webshop payment of `total` öre, paid and confirmed.
async fn paid(d: &TestDeps, total: i64) -> Payment {
    paid_as_asked(d, request(total)).await
}

/// The payment `request` asks for, paid and confirmed, as stored.
async fn paid_as_asked(d: &TestDeps, request: CreatePayment) -> Payment {
    let created = d.create_payment(request).await.unwrap();
    d.glase.pay(created.payment.invoice_reference());
    d.confirm(created.payment.clone()).await.unwrap();
    d.store.get_payment(created.payment.id()).await.unwrap().unwrap()
}

/// The fakes with one webshop payment of 1 000 öre, paid and confirmed.
async fn one_paid() -> (TestDeps, Payment) {
    let d = deps();
    let payment = paid(&d, 1_000).await;
    (d, payment)
}

/// A refund whose refundPayment call timed out: `needs_reconciliation`.
async fn unsettled_refund(d: &TestDeps, payment: &Payment, amount: i64) -> Refund {
    let refund = d.request_refund(refund_of(payment.id(), amount)).await.unwrap();
    d.glase.fail_next("refundPayment", unknown("timeout"));
    let message = crate::ports::RefundMessage {
        payment_id: payment.id().clone(),
        refund_id: refund.id().clone(),
    };
    d.process_refund(&message).await.unwrap();
    let refund = stored_refund(d, payment.id(), refund.id()).await;
    assert_eq!(refund.status(), RefundStatus::NeedsReconciliation);
    refund
}

/// [`one_paid`] with an [`unsettled_refund`] of `amount`, 10 s before the period's reports (which list
/// only the payment) are ready.
async fn refund_unknown_just_before_the_mark(amount: i64) -> (TestDeps, Payment, Refund) {
    let (d, payment) = one_paid().await;
    let refund = unsettled_refund(&d, &payment, amount).await;
    d.clock.advance(Duration::from_secs(10));
    set_reports(&d, vec![tx(&ers(&payment), 1_000)]);
    (d, payment, refund)
}

fn tx(ers: &str, minor: i64) -> ReportTransaction {
    ReportTransaction {
        ers_reference: ErsReference::parse(ers).unwrap(),
        amount: sek(minor),
        terminal: Some("t1".into()),
        cashier: None,
    }
}

fn ers(p: &Payment) -> String {
    p.ers_reference().unwrap().as_str().to_owned()
}

/// `count` payments paid with us (totals 1,000, 1,001, …) and the report row of each.
async fn paid_rows(d: &TestDeps, count: i64) -> Vec<ReportTransaction> {
    let mut rows = Vec::new();
    for i in 0..count {
        let p = paid(d, 1_000 + i).await;
        rows.push(tx(&ers(&p), 1_000 + i));
    }
    rows
}

fn close(key: &str) -> ClosePeriod {
    ClosePeriod {
        period_key: Some(key.into()),
        terminal_id: None,
    }
}

/// A wait that records each pause and moves the manual clock by it.
fn recording_wait(
    d: &TestDeps,
) -> (
    Arc<Mutex<Vec<Duration>>>,
    impl Fn(Duration) -> std::future::Ready<()>,
) {
    let waited = Arc::new(Mutex::new(Vec::new()));
    let clock = d.clock.clone();
    let log = waited.clone();
    let wait = move |pause: Duration| {
        log.lock().unwrap().push(pause);
        clock.advance(pause);
        std::future::ready(())
    };
    (waited, wait)
}

fn set_reports(d: &TestDeps, transactions: Vec<ReportTransaction>) {
    d.glase
        .set_report(SHOP_SUMMARY_REPORT, "<ResellerTransactionSummary/>", Vec::new());
    d.glase
        .set_report(SHOP_DETAILS_REPORT, "<TransactionDetails/>", transactions);
}

fn marks(d: &TestDeps) -> usize {
    glase_calls(d, |c| matches!(c, GlaseCall::MarkPeriod))
}

/// The stored refund `refund` of `payment`, which must exist.
async fn stored_refund(
    d: &TestDeps,
    payment: &crate::ids::PaymentId,
    refund: &crate::ids::RefundId,
) -> Refund {
    d.store.get_refund(payment, refund).await.unwrap().unwrap()
}

/// Closes the period `key` of the shop, its waits moving the clock; the close must succeed.
async fn close_at_once(d: &TestDeps, key: &str) -> ClosedPeriod {
    let (_, wait) = recording_wait(d);
    d.close_period(close(key), deadline(d), &wait).await.unwrap()
}

fn deadline(d: &TestDeps) -> Timestamp {
    d.clock.now().plus(Duration::from_secs(45))
}

#[tokio::test]
async fn reconciliation_lists_every_kind_of_mismatch_and_settles_unknown_refunds() {
    let d = deps();
    let matched = paid(&d, 1_000).await;
    let differs = paid(&d, 2_000).await;
    let ours_only = paid(&d, 3_000).await;
    let found = unsettled_refund(&d, &matched, 300).await;
    let absent = unsettled_refund(&d, &differs, 200).await;
    d.clock.advance(Duration::from_secs(600));
    let transactions = vec![
        tx(&ers(&matched), 1_000),
        tx(&ers(&differs), 2_500),
        tx("29990000000000000000001", 700),
        tx("29990000000000000000002", -300),
        tx("29990000000000000000003", -400),
    ];
    let payments: HashMap<_, _> = [&matched, &differs]
        .into_iter()
        .map(|p| (p.ers_reference().unwrap().clone(), p.clone()))
        .collect();
    let outcome = reconcile(&ReconcileInput {
        transactions: &transactions,
        payments: &payments,
        refunds: &HashMap::new(),
        paid_with_us: &[matched.clone(), differs.clone(), ours_only.clone()],
        unsettled_refunds: &[absent.clone(), found.clone()],
        undecided_refunds: &[],
        now: d.clock.now(),
    });
    let r = &outcome.reconciliation;
    assert_eq!(
        r.matched, 2,
        "the equal payment and the refund found by its amount"
    );
    let kinds: Vec<_> = r
        .mismatches
        .iter()
        .map(|m| (m.kind, m.ers_reference.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (MismatchKind::AmountDiffers, differs.ers_reference().cloned()),
            (
                MismatchKind::PaidAtGlaseOnly,
                ErsReference::parse("29990000000000000000001").ok()
            ),
            (
                MismatchKind::RefundUnknown,
                ErsReference::parse("29990000000000000000003").ok()
            ),
            (MismatchKind::PaidWithUsOnly, ours_only.ers_reference().cloned()),
        ]
    );
    let differ = &r.mismatches[0];
    assert_eq!(differ.payment_id.as_ref(), Some(differs.id()));
    assert_eq!(
        (differ.glase_amount, differ.our_amount),
        (Some(sek(2_500)), Some(sek(2_000)))
    );
    assert_eq!(r.mismatches[2].glase_amount, Some(sek(-400)));
    assert_eq!(r.mismatches[3].our_amount, Some(sek(3_000)));
    assert_eq!(
        outcome.settlements,
        [
            RefundSettlement::FoundInReport {
                refund: found,
                ers_reference: ErsReference::parse("29990000000000000000002").unwrap()
            },
            RefundSettlement::AbsentFromReport { refund: absent }
        ]
    );
}

#[tokio::test]
async fn a_known_refund_matches_by_its_reference_and_amount() {
    let (d, payment) = one_paid().await;
    let refund = d.request_refund(refund_of(payment.id(), 400)).await.unwrap();
    let message = d.queue.sent()[0].clone();
    d.process_refund(&message).await.unwrap();
    let refund = stored_refund(&d, payment.id(), refund.id()).await;
    let reference = refund.ers_reference().unwrap().clone();
    let refunds: HashMap<_, _> = [(reference.clone(), refund.clone())].into_iter().collect();
    let rows = [tx(reference.as_str(), -400), tx(reference.as_str(), -500)];
    let outcome = reconcile(&ReconcileInput {
        transactions: &rows,
        payments: &HashMap::new(),
        refunds: &refunds,
        paid_with_us: &[],
        unsettled_refunds: &[],
        undecided_refunds: &[],
        now: d.clock.now(),
    });
    assert_eq!(outcome.reconciliation.matched, 1);
    let m = &outcome.reconciliation.mismatches;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].kind, MismatchKind::AmountDiffers);
    assert_eq!(m[0].refund_id.as_ref(), Some(refund.id()));
    assert_eq!(m[0].our_amount, Some(sek(-400)));
}

#[tokio::test]
async fn the_same_period_key_twice_marks_once_and_answers_the_same_period() {
    let (d, payment) = one_paid().await;
    d.clock.advance(Duration::from_secs(1));
    set_reports(&d, vec![tx(&ers(&payment), 1_000)]);
    let (_, wait) = recording_wait(&d);
    let first = d
        .close_period(close("2026-11-30"), deadline(&d), &wait)
        .await
        .unwrap();
    assert!(first.created && first.reconciled_now);
    assert_eq!(first.period.status(), PeriodStatus::Reconciled);
    assert_eq!(first.period.reconciliation().unwrap().matched, 1);
    assert_eq!(first.period.documents().len(), 2);
    let again = d
        .close_period(close("2026-11-30"), deadline(&d), &wait)
        .await
        .unwrap();
    assert!(!again.created && !again.reconciled_now);
    assert_eq!(again.period, first.period);
    assert_eq!(marks(&d), 1, "one markTransactionPeriod");
    let other = d
        .close_period(close("2026-12-01"), deadline(&d), &wait)
        .await
        .unwrap();
    assert_ne!(other.period.id(), first.period.id());
    assert_eq!(marks(&d), 2);
    let unkeyed = ClosePeriod {
        period_key: None,
        terminal_id: None,
    };
    let once = d
        .close_period(unkeyed.clone(), deadline(&d), &wait)
        .await
        .unwrap();
    let twice = d.close_period(unkeyed, deadline(&d), &wait).await.unwrap();
    assert!(
        once.created && twice.created,
        "without a key every close is a new period"
    );
    assert_eq!(marks(&d), 4);
    assert_eq!(d.get_period(first.period.id()).await.unwrap(), first.period);
}

#[tokio::test]
async fn report_not_ready_is_retried_with_growing_waits() {
    let d = deps();
    set_reports(&d, Vec::new());
    for _ in 0..2 {
        d.glase
            .fail_next("executeReport", rejected(2, "REPORT_NOT_READY"));
    }
    let (waited, wait) = recording_wait(&d);
    let closed = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
    assert_eq!(closed.period.status(), PeriodStatus::Reconciled);
    assert_eq!(
        *waited.lock().unwrap(),
        [Duration::from_secs(3), Duration::from_secs(5)]
    );
}

#[tokio::test]
async fn reports_not_ready_by_the_deadline_leave_the_period_pending_and_the_same_key_resumes_it() {
    let d = deps();
    let (waited, wait) = recording_wait(&d);
    let pending = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
    assert!(pending.created && !pending.reconciled_now);
    assert_eq!(pending.period.status(), PeriodStatus::ReportsPending);
    let total: Duration = waited.lock().unwrap().iter().sum();
    assert!(
        total < Duration::from_secs(45),
        "never waits past the deadline: {total:?}"
    );
    // A wait that does not move the clock still ends: the waits themselves count.
    let still = |_: Duration| std::future::ready(());
    let stuck = d.close_period(close("k0"), deadline(&d), &still).await.unwrap();
    assert_eq!(stuck.period.status(), PeriodStatus::ReportsPending);
    set_reports(&d, Vec::new());
    let resumed = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
    assert!(!resumed.created && resumed.reconciled_now);
    assert_eq!(resumed.period.id(), pending.period.id());
    assert_eq!(resumed.period.status(), PeriodStatus::Reconciled);
    assert_eq!(marks(&d), 2, "k1 and k0, each once");
}

#[tokio::test]
async fn unknown_refunds_are_settled_by_the_report() {
    let (d, payment) = one_paid().await;
    let found = unsettled_refund(&d, &payment, 300).await;
    let absent = unsettled_refund(&d, &payment, 200).await;
    d.clock.advance(Duration::from_secs(600));
    set_reports(
        &d,
        vec![tx(&ers(&payment), 1_000), tx("29990000000000000000009", -300)],
    );
    let closed = close_at_once(&d, "k1").await;
    assert_eq!(closed.period.status(), PeriodStatus::Reconciled);
    let found = stored_refund(&d, payment.id(), found.id()).await;
    assert_eq!(found.status(), RefundStatus::Succeeded);
    assert_eq!(found.ers_reference().unwrap().as_str(), "29990000000000000000009");
    let absent = stored_refund(&d, payment.id(), absent.id()).await;
    assert!(matches!(
        absent.state(),
        RefundState::Failed {
            failure: RefundFailure::AbsentFromReport,
            ..
        }
    ));
    let payment = d.store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(payment.refunds().refunded(), sek(300));
    assert_eq!(payment.refunds().reserved(), sek(0));
    assert_eq!(payment.status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn a_refund_unknown_only_moments_before_the_mark_waits_for_the_next_period() {
    let (d, payment, recent) = refund_unknown_just_before_the_mark(300).await;
    close_at_once(&d, "k1").await;
    let recent = stored_refund(&d, payment.id(), recent.id()).await;
    assert_eq!(recent.status(), RefundStatus::NeedsReconciliation);
}

/// A refund whose outcome became unknown within the settle margin before a mark may have reached Glase
/// on either side of it: neither period's report alone shows that it never happened.
#[tokio::test]
async fn a_refund_unknown_just_before_a_mark_is_never_failed_by_a_report_that_cannot_list_it() {
    let (d, payment, refund) = refund_unknown_just_before_the_mark(1_000).await;
    let (_, wait) = recording_wait(&d);
    let undecided = |period: &ReportingPeriod| {
        period
            .reconciliation()
            .unwrap()
            .mismatches
            .iter()
            .filter(|m| m.kind.as_str() == "refund_undecided" && m.refund_id.as_ref() == Some(refund.id()))
            .count()
    };
    let first = d.close_period(close("day-1"), deadline(&d), &wait).await.unwrap();

    // The next period's report cannot list a refund made before its window began.
    d.clock.advance(Duration::from_secs(24 * 60 * 60));
    set_reports(&d, Vec::new());
    let second = d.close_period(close("day-2"), deadline(&d), &wait).await.unwrap();
    let now = stored_refund(&d, payment.id(), refund.id()).await;
    assert_eq!(now.status(), RefundStatus::NeedsReconciliation, "never failed");
    assert_eq!(undecided(&first.period), 1, "the alarm's mismatch names it");
    assert_eq!(undecided(&second.period), 1);
    let held = d.store.get_payment(payment.id()).await.unwrap().unwrap();
    assert_eq!(held.refunds().reserved(), sek(1_000), "its amount stays held");
    assert_err!(
        d.request_refund(refund_of(payment.id(), 1_000)).await,
        UseCaseError::Unprocessable(_)
    );
}

/// A refund whose call lies wholly inside the window is settled by that period alone, even when its
/// outcome became unknown right after the previous mark.
#[tokio::test]
async fn a_refund_wholly_inside_a_later_window_is_settled_by_that_period() {
    let d = deps();
    let (_, wait) = recording_wait(&d);
    set_reports(&d, Vec::new());
    d.close_period(close("day-0"), deadline(&d), &wait).await.unwrap();
    d.clock.advance(Duration::from_secs(1));
    let payment = paid(&d, 1_000).await;
    let refund = unsettled_refund(&d, &payment, 400).await;
    d.clock.advance(Duration::from_secs(24 * 60 * 60));
    set_reports(&d, vec![tx(&ers(&payment), 1_000)]);
    d.close_period(close("day-1"), deadline(&d), &wait).await.unwrap();
    let settled = stored_refund(&d, payment.id(), refund.id()).await;
    assert!(matches!(
        settled.state(),
        RefundState::Failed {
            failure: RefundFailure::AbsentFromReport,
            ..
        }
    ));
}

/// The store may throttle the write of the period right after Glase has marked it (the soak's store
/// faults, `shared/soak`, produce this). The write is tried again and the period is kept: otherwise the
/// request would fail with "nothing was changed", the period would never be stored, and its key would
/// answer `outcome_unknown` forever, so the period's reports would never be fetched.
#[tokio::test]
async fn a_throttled_store_after_the_mark_is_tried_again_and_the_period_is_kept() {
    for throttled_write in 0..2 {
        let d = deps();
        let payment = paid(&d, 1_000).await;
        set_reports(&d, vec![tx(&ers(&payment), 1_000)]);
        // The idempotency record goes through; then the period (0) or the key's completion (1) is
        // throttled twice.
        d.store.pass_next();
        for _ in 0..throttled_write {
            d.store.pass_next();
        }
        d.store.fail_next(StoreError::Throttled);
        d.store.fail_next(StoreError::Throttled);
        let (waited, wait) = recording_wait(&d);
        let closed = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
        assert!(closed.created);
        assert_eq!(closed.period.status(), PeriodStatus::Reconciled);
        assert_eq!(marks(&d), 1);
        assert_eq!(
            waited.lock().unwrap()[..2],
            [Duration::from_millis(100), Duration::from_millis(200)]
        );
        let again = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
        assert_eq!(
            again.period.id(),
            closed.period.id(),
            "the key answers the stored period"
        );
        assert_eq!(marks(&d), 1);
    }
}

/// A reconciliation reads the store once per report row, so when a small share of requests is throttled
/// (as in the soak, `shared/soak`) almost every try at a large period meets a throttled read; the period
/// still reconciles instead of staying `reports_pending`.
#[tokio::test]
async fn a_large_period_reconciles_while_the_store_throttles() {
    let d = deps();
    let rows = paid_rows(&d, 40).await;
    set_reports(&d, rows);
    let throttled = d.with_store(FaultyStore::new(
        d.store.clone(),
        StoreFaultRates {
            throttle_ppm: 100_000,
            conflict_ppm: 0,
            seed: 3,
        },
    ));
    let (_, wait) = recording_wait(&d);
    let mut status = None;
    for _ in 0..5 {
        if let Ok(closed) = throttled.close_period(close("k1"), deadline(&d), &wait).await {
            status = Some(closed.period.status());
            if status == Some(PeriodStatus::Reconciled) {
                break;
            }
        }
    }
    assert_eq!(status, Some(PeriodStatus::Reconciled));
    assert_eq!(marks(&d), 1);
    assert!(throttled.store.counts().throttled > 0);
}

#[tokio::test]
async fn payment_rows_of_payments_paid_in_the_window_need_no_lookup_of_their_own() {
    let d = deps();
    let mut rows = paid_rows(&d, 30).await;
    // A payment row we do not know and a refund row: those two are looked up.
    rows.push(tx("77700000000001", 5_000));
    rows.push(tx("77700000000002", -300));
    set_reports(&d, rows);
    d.clock.advance(Duration::from_secs(1));
    let counted = d.with_store(crate::counting::Counting::new(d.store.clone()));
    let (_, wait) = recording_wait(&d);
    let closed = counted
        .close_period(close("k1"), deadline(&d), &wait)
        .await
        .unwrap();
    let reconciliation = closed.period.reconciliation().unwrap().clone();
    assert_eq!(reconciliation.matched, 30);
    let kinds: Vec<MismatchKind> = reconciliation.mismatches.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [MismatchKind::PaidAtGlaseOnly, MismatchKind::RefundUnknown]
    );
    assert_eq!(counted.store.count("find_payment_by_ers_reference"), 1);
    assert_eq!(counted.store.count("find_refund_by_ers_reference"), 1);
}

#[tokio::test]
async fn a_shorter_settle_margin_settles_a_refund_unknown_that_long_before_the_mark() {
    let mut d = deps();
    d.settings.refund_settle_margin = Duration::from_secs(5);
    let payment = paid(&d, 1_000).await;
    let refund = unsettled_refund(&d, &payment, 300).await;
    d.clock.advance(Duration::from_secs(10));
    set_reports(
        &d,
        vec![tx(&ers(&payment), 1_000), tx("29990000000000000000009", -300)],
    );
    close_at_once(&d, "k1").await;
    let refund = stored_refund(&d, payment.id(), refund.id()).await;
    assert_eq!(refund.status(), RefundStatus::Succeeded);
}

#[tokio::test]
async fn an_unreachable_glase_frees_the_key_and_an_unknown_mark_is_never_repeated() {
    let d = deps();
    let (_, wait) = recording_wait(&d);
    let close_now = |key| d.close_period(close(key), deadline(&d), &wait);
    d.glase.fail_next("markTransactionPeriod", unavailable("refused"));
    assert_err!(close_now("k1").await, UseCaseError::GlaseUnavailable(_));
    set_reports(&d, Vec::new());
    assert!(close_now("k1").await.unwrap().created);

    d.glase.fail_next("markTransactionPeriod", unknown("timeout"));
    assert_err!(close_now("k2").await, UseCaseError::OutcomeUnknown(_));
    assert_err!(close_now("k2").await, UseCaseError::OutcomeUnknown(_));
    assert_eq!(marks(&d), 3, "refused, then k1, then k2 once");
}

#[tokio::test]
async fn bad_keys_and_unknown_terminals_change_nothing() {
    let d = deps();
    let (_, wait) = recording_wait(&d);
    for key in ["", "has space", &"x".repeat(129), "slash/"] {
        let err = d.close_period(close(key), deadline(&d), &wait).await.unwrap_err();
        assert!(matches!(err, UseCaseError::Invalid(_)), "{key:?}");
    }
    let err = d
        .close_period(
            ClosePeriod {
                period_key: Some("k".into()),
                terminal_id: Some(TerminalId::from_random([9; 16])),
            },
            deadline(&d),
            &wait,
        )
        .await
        .unwrap_err();
    assert_eq!(err, UseCaseError::NotFound("terminal"));
    assert_eq!(d.glase.call_count(), 0);
}

#[tokio::test]
async fn our_payments_are_checked_from_the_previous_mark_so_none_counts_twice() {
    let d = deps();
    let earlier = paid(&d, 1_000).await;
    d.clock.advance(Duration::from_secs(1));
    set_reports(&d, vec![tx(&ers(&earlier), 1_000)]);
    let first = close_at_once(&d, "day-1").await;
    assert_eq!(first.period.status(), PeriodStatus::Reconciled);
    // The next period, hours later: the payment of the first one is not ours-only in it.
    d.clock.advance(Duration::from_secs(3_600));
    let later = paid(&d, 2_000).await;
    d.clock.advance(Duration::from_secs(1));
    set_reports(&d, Vec::new());
    let second = close_at_once(&d, "day-2").await;
    let mismatches = &second.period.reconciliation().unwrap().mismatches;
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!(mismatches[0].kind, MismatchKind::PaidWithUsOnly);
    assert_eq!(mismatches[0].payment_id.as_ref(), Some(later.id()));
    assert_eq!(
        d.store
            .latest_period_before(&PeriodScope::Shop, second.period.marked_at())
            .await
            .unwrap()
            .map(|p| p.id().clone()),
        Some(first.period.id().clone())
    );
}

#[tokio::test]
async fn a_terminal_period_fetches_the_terminal_reports_and_checks_only_that_terminals_payments() {
    use crate::ids::GlaseTerminalId;
    use crate::order::{DisplayName, ExternalTerminalId};
    use crate::period::{TERMINAL_DETAILS_REPORT, TERMINAL_SUMMARY_REPORT};
    use crate::terminal::Terminal;
    let d = deps();
    let terminal = Terminal::registered(
        TerminalId::from_random([7; 16]),
        ExternalTerminalId::parse("Shop 1/Till 2").unwrap(),
        DisplayName::parse("Till 2").unwrap(),
        GlaseTerminalId::parse("glase-till-2").unwrap(),
        d.clock.now(),
    );
    d.store.insert_terminal(&terminal).await.unwrap();
    let webshop = paid(&d, 1_000).await;
    let created = d
        .create_payment(CreatePayment {
            order: order_of(vec![row("Tea", sek(700))], sek(700)).unwrap(),
            terminal: PaymentTerminal::Pos(terminal.id().clone()),
            idempotency: None,
        })
        .await
        .unwrap();
    d.glase.pay(created.payment.invoice_reference());
    d.confirm(created.payment.clone()).await.unwrap();
    d.clock.advance(Duration::from_secs(1));
    d.glase.set_report(
        TERMINAL_SUMMARY_REPORT,
        "<TerminalTransactionSummary/>",
        Vec::new(),
    );
    d.glase
        .set_report(TERMINAL_DETAILS_REPORT, "<TransactionDetails/>", Vec::new());
    let (_, wait) = recording_wait(&d);
    let request = ClosePeriod {
        period_key: Some("day-1".into()),
        terminal_id: Some(terminal.id().clone()),
    };
    let closed = d.close_period(request, deadline(&d), &wait).await.unwrap();
    assert_eq!(
        closed.period.scope(),
        &PeriodScope::Terminal {
            terminal_id: terminal.id().clone(),
            glase_terminal_id: terminal.glase_terminal_id().clone(),
        }
    );
    let reports = from_calls(&d, |c| match c {
        GlaseCall::ExecuteReport { report_id } => Some(report_id),
        _ => None,
    });
    assert_eq!(reports, [TERMINAL_SUMMARY_REPORT, TERMINAL_DETAILS_REPORT]);
    let mismatches = &closed.period.reconciliation().unwrap().mismatches;
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!(mismatches[0].payment_id.as_ref(), Some(created.payment.id()));
    assert_ne!(mismatches[0].payment_id.as_ref(), Some(webshop.id()));
    // The shop's period with the same key is another period.
    set_reports(&d, vec![tx(&ers(&webshop), 1_000)]);
    let shop = d.close_period(close("day-1"), deadline(&d), &wait).await.unwrap();
    assert!(shop.created);
    assert_ne!(shop.period.id(), closed.period.id());
}

#[tokio::test]
async fn a_second_request_that_resumes_the_period_meanwhile_leaves_the_first_one_a_clean_answer() {
    let (d, payment) = one_paid().await;
    d.clock.advance(Duration::from_secs(1));
    // The reports are not ready at first; while the first request waits, a retry with the same key
    // arrives, finds them ready and reconciles the period.
    let other = d.clone();
    let ready = vec![tx(&ers(&payment), 1_000)];
    let wait = move |_: Duration| {
        let other = other.clone();
        let ready = ready.clone();
        async move {
            set_reports(&other, ready);
            let still = |_: Duration| std::future::ready(());
            let retry = other
                .close_period(close("k1"), deadline(&other), &still)
                .await
                .unwrap();
            assert!(!retry.created && retry.reconciled_now);
        }
    };
    let first = d.close_period(close("k1"), deadline(&d), &wait).await.unwrap();
    assert!(first.created);
    assert!(!first.reconciled_now, "the retry did the work and counted it");
    assert_eq!(first.period.status(), PeriodStatus::Reconciled);
    assert_eq!(marks(&d), 1);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::refund::NewRefund;

    fn unsettled(n: u8, amount: i64) -> Refund {
        let mut bytes = [0u8; 16];
        bytes[15] = n;
        let queued = Refund::new(NewRefund {
            id: crate::ids::RefundId::from_random(bytes),
            payment_id: crate::ids::PaymentId::from_random([1; 16]),
            amount: sek(amount),
            reason: RefundReason::parse("Returned").unwrap(),
            cashier_id: None,
            created_at: Timestamp::from_unix_millis(1_000 + i64::from(n)),
        })
        .unwrap();
        let now = Timestamp::from_unix_millis(2_000);
        queued
            .start_sending(now)
            .unwrap()
            .needs_reconciliation(now)
            .unwrap()
    }

    proptest! {
        /// Every refund row Glase lists is either matched to one unsettled refund or reported unknown; every
        /// unsettled refund is settled exactly once, found or absent.
        #[test]
        fn every_refund_row_and_every_unsettled_refund_is_accounted_for_once(
            unsettled_amounts in prop::collection::vec(1i64..5, 0..8),
            row_amounts in prop::collection::vec(1i64..5, 0..8),
        ) {
            let refunds: Vec<Refund> = unsettled_amounts
                .iter()
                .enumerate()
                .map(|(i, a)| unsettled(u8::try_from(i).unwrap(), *a))
                .collect();
            let rows: Vec<ReportTransaction> = row_amounts
                .iter()
                .enumerate()
                .map(|(i, a)| tx(&format!("3999000000000000000{i:04}"), -a))
                .collect();
            let outcome = reconcile(&ReconcileInput {
                transactions: &rows,
                payments: &HashMap::new(),
                refunds: &HashMap::new(),
                paid_with_us: &[],
                unsettled_refunds: &refunds,
                undecided_refunds: &[],
                now: Timestamp::from_unix_millis(3_000),
            });
            let unknown = outcome.reconciliation.count(MismatchKind::RefundUnknown);
            let matched = usize::try_from(outcome.reconciliation.matched).unwrap();
            prop_assert_eq!(matched + unknown, rows.len());
            prop_assert_eq!(outcome.reconciliation.mismatches.len(), unknown);
            prop_assert_eq!(outcome.settlements.len(), refunds.len());
            let mut ids: Vec<&str> = outcome
                .settlements
                .iter()
                .map(|s| match s {
                    RefundSettlement::FoundInReport { refund, ers_reference } => {
                        let row = rows.iter().find(|r| &r.ers_reference == ers_reference).unwrap();
                        assert_eq!(Some(refund.amount()), negated(row.amount), "found by its amount");
                        refund.id().as_str()
                    }
                    RefundSettlement::AbsentFromReport { refund } => refund.id().as_str(),
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), refunds.len());
            let found = outcome
                .settlements
                .iter()
                .filter(|s| matches!(s, RefundSettlement::FoundInReport { .. }))
                .count();
            prop_assert_eq!(found, matched);
        }
    }
}

fn row_without_currency(ers: &str, hundredths: i64) -> ReportRow {
    ReportRow {
        ers_reference: ErsReference::parse(ers).unwrap(),
        hundredths,
        currency: None,
        terminal: None,
        cashier: None,
    }
}

#[tokio::test]
async fn rows_without_a_currency_take_the_periods_then_their_records_and_never_a_guessed_one() {
    let d = deps();
    let coffee = paid(&d, 1_000).await;
    let rows = [
        row_without_currency(&ers(&coffee), 1_000),
        row_without_currency("999", 700),
    ];
    // One currency among the period's records: every row without one is read in it.
    let read = rows_in_currency(
        &rows,
        std::slice::from_ref(&coffee),
        &HashMap::new(),
        &HashMap::new(),
        &[],
    )
    .unwrap();
    assert_eq!(read[0].amount, sek(1_000));
    assert_eq!(
        read[1].amount,
        sek(700),
        "an unknown row is read in the period's currency"
    );

    // Several currencies: a row takes its own record's; one naming no record of ours cannot be read.
    let eur = Currency::parse("EUR").unwrap();
    let euros = d
        .create_payment(CreatePayment {
            order: order_of(vec![row("Tea", Money::new(500, eur))], Money::new(500, eur)).unwrap(),
            terminal: PaymentTerminal::Webshop,
            idempotency: None,
        })
        .await
        .unwrap();
    d.glase.pay(euros.payment.invoice_reference());
    d.confirm(euros.payment.clone()).await.unwrap();
    let euros = d.store.get_payment(euros.payment.id()).await.unwrap().unwrap();
    let paid_with_us = [coffee.clone(), euros.clone()];
    let payments: HashMap<_, _> = paid_with_us
        .iter()
        .map(|p| (p.ers_reference().unwrap().clone(), p.clone()))
        .collect();
    let known = [
        row_without_currency(&ers(&euros), 500),
        row_without_currency(&ers(&coffee), 1_000),
    ];
    let read = rows_in_currency(&known, &paid_with_us, &payments, &HashMap::new(), &[]).unwrap();
    assert_eq!(read[0].amount, Money::new(500, eur));
    assert_eq!(read[1].amount, sek(1_000));
    let err = rows_in_currency(&rows, &paid_with_us, &payments, &HashMap::new(), &[]).unwrap_err();
    assert!(
        matches!(&err, UseCaseError::OutcomeUnknown(why) if why.contains("report row 2") && why.contains("no currency")),
        "{err:?}"
    );
    // A row that names its currency keeps it.
    let stated = ReportRow {
        currency: Some(eur),
        ..row_without_currency("999", 700)
    };
    let read = rows_in_currency(
        &[stated],
        std::slice::from_ref(&coffee),
        &HashMap::new(),
        &HashMap::new(),
        &[],
    )
    .unwrap();
    assert_eq!(read[0].amount, Money::new(700, eur));
}
