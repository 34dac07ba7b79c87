//! Point of sale: terminals (register, list, assign a Glase ID, unregister), the till's "try again",
//! and the receipt sweep.
//!
//! A terminal's password is never seen here: the gateway derives it from our terminal id. Registration
//! is idempotent on the till's external id. Unregistering first settles the till's open payment (a paid
//! one is acknowledged, an unpaid one cancelled), so no payment is left that nobody can confirm.

use crate::ids::{PaymentId, SeqrId, TerminalId};
use crate::order::{DisplayName, ExternalTerminalId};
use crate::payment::{Payment, PaymentStatus, PaymentTerminal, ReceiptState};
use crate::ports::{
    Clock, GlaseError, GlaseGateway, GlaseTerminal, IdGenerator, PaymentStore, Ports, StoreError,
};
use crate::pos::receipt_document;
use crate::terminal::Terminal;

use super::payments::{Caller, PaymentView};
use super::{ConflictReason, Deps, Race, UseCaseError, at_most, retry_on_race};

/// How many receipts one sweep sends at once: a slow submitPaymentReceipt (each may take a whole Glase
/// timeout) holds up only its own receipt.
pub const RECEIPT_CONCURRENCY: usize = 8;

/// A registered terminal, and whether this request registered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredTerminal {
    /// The terminal.
    pub terminal: Terminal,
    /// False when the external id was registered already (the existing terminal is answered).
    pub created: bool,
}

/// What one run of the receipt sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptSweepReport {
    /// Receipts Glase accepted.
    pub sent: usize,
    /// Receipts that did not get through and are tried again on a later run.
    pub retrying: usize,
    /// Receipts given up (refused by Glase, or too many attempts).
    pub given_up: usize,
}

fn pos_terminal(t: &Terminal) -> GlaseTerminal {
    GlaseTerminal::Pos {
        terminal_id: t.id().clone(),
        glase_terminal_id: t.glase_terminal_id().clone(),
    }
}

impl<P: Ports> Deps<P> {
    /// Registers a till with Glase (registerTerminal with the reseller credentials) and stores it. An
    /// external id that is registered already answers the existing terminal without calling Glase.
    pub async fn register_terminal(
        &self,
        external_id: ExternalTerminalId,
        name: DisplayName,
    ) -> Result<RegisteredTerminal, UseCaseError> {
        if let Some(terminal) = self.store.find_terminal_by_external_id(&external_id).await? {
            return Ok(RegisteredTerminal {
                terminal,
                created: false,
            });
        }
        let id = self.ids.terminal_id();
        let glase_id = self.glase.register_terminal(&id, &external_id, &name).await?;
        let terminal = Terminal::registered(id, external_id.clone(), name, glase_id, self.clock.now());
        match self.store.insert_terminal(&terminal).await {
            Ok(()) => Ok(RegisteredTerminal {
                terminal,
                created: true,
            }),
            Err(e) => {
                // Not stored: withdraw the Glase terminal so no till exists that we do not know.
                let _ = self.glase.unregister_terminal(&pos_terminal(&terminal)).await;
                if e == StoreError::ConditionFailed {
                    // A concurrent registration of the same external id won; answer its terminal.
                    if let Some(existing) = self.store.find_terminal_by_external_id(&external_id).await? {
                        return Ok(RegisteredTerminal {
                            terminal: existing,
                            created: false,
                        });
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Every terminal, registered and unregistered.
    pub async fn list_terminals(&self) -> Result<Vec<Terminal>, UseCaseError> {
        Ok(self.store.list_terminals().await?)
    }

    async fn active_terminal(&self, id: &TerminalId) -> Result<Terminal, UseCaseError> {
        let terminal = self.stored_terminal(id).await?;
        if terminal.is_active() {
            Ok(terminal)
        } else {
            Err(UseCaseError::Conflict(ConflictReason::TerminalUnregistered))
        }
    }

    /// Links the sticker's Glase ID to an active terminal (assignSeqrId) and records it. Glase's 53
    /// (invalid, or assigned to another terminal) comes back as a rejection and changes nothing.
    pub async fn assign_glase_id(&self, id: &TerminalId, seqr_id: SeqrId) -> Result<Terminal, UseCaseError> {
        let terminal = self.active_terminal(id).await?;
        self.glase
            .assign_seqr_id(&pos_terminal(&terminal), &seqr_id)
            .await?;
        let seqr_id = &seqr_id;
        let assigned = retry_on_race(terminal, |current, _| async move {
            let next = current
                .with_seqr_id(seqr_id.clone())
                .map_err(|_| UseCaseError::Conflict(ConflictReason::TerminalUnregistered))?;
            match self.store.update_terminal(&next, current.revision()).await {
                Ok(()) => Ok(Race::Done(next)),
                Err(StoreError::ConditionFailed) => Ok(Race::Retry(self.active_terminal(id).await?)),
                Err(e) => Err(e.into()),
            }
        });
        Ok(assigned.await?.won()?)
    }

    /// Unregisters a terminal (unregisterTerminal) and records it; it takes no payments afterwards. The
    /// till's open payment is settled first: cancelled while unpaid, confirmed (and so acknowledged) if
    /// paid; while the shopper is paying it is a conflict and nothing changes. An unregistered terminal
    /// is answered as it is.
    pub async fn unregister_terminal(&self, id: &TerminalId) -> Result<Terminal, UseCaseError> {
        let terminal = self.stored_terminal(id).await?;
        if !terminal.is_active() {
            return Ok(terminal);
        }
        if let Some(open) = terminal.open_payment() {
            self.settle_open_payment(open).await?;
        }
        self.glase.unregister_terminal(&pos_terminal(&terminal)).await?;
        let unregistered = retry_on_race(terminal, |current, _| async move {
            let Ok(next) = current.unregistered(self.clock.now()) else {
                return Ok(Race::Done(current));
            };
            match self.store.update_terminal(&next, current.revision()).await {
                Ok(()) => Ok(Race::Done(next)),
                Err(StoreError::ConditionFailed) => Ok(Race::Retry(self.stored_terminal(id).await?)),
                Err(e) => Err(e.into()),
            }
        });
        Ok(unregistered.await?.won()?)
    }

    async fn settle_open_payment(&self, open: &PaymentId) -> Result<(), UseCaseError> {
        let Some(payment) = self.store.get_payment(open).await? else {
            return Ok(());
        };
        if payment.status() != PaymentStatus::Pending {
            return Ok(());
        }
        match self.cancel_payment(open, Caller::Merchant).await {
            Ok(_) | Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid | ConflictReason::NotPending)) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// "Try again" on the till: starts a new waiting window on a pending POS payment (the invoice stays
    /// the same and lives at least until the window ends). A paid or closed payment, or a webshop
    /// payment, is a conflict and nothing changes.
    pub async fn restart_pos_window(
        &self,
        id: &PaymentId,
        caller: Caller<'_>,
    ) -> Result<PaymentView, UseCaseError> {
        let payment = self.load_for(id, caller).await?;
        let restarted = retry_on_race(payment, |current, _| async move {
            if current.terminal() == &PaymentTerminal::Webshop {
                return Err(UseCaseError::Conflict(ConflictReason::NotPos));
            }
            match current.status() {
                PaymentStatus::Pending => {}
                PaymentStatus::Paid => return Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid)),
                _ => return Err(UseCaseError::Conflict(ConflictReason::NotPending)),
            }
            let next = current.with_new_pos_window(self.clock.now(), self.settings.pos_window)?;
            self.write_payment(next, &current).await
        });
        let payment = restarted.await?.won()?;
        let refunds = self.refunds_of(&payment).await?;
        Ok(PaymentView {
            payment,
            refunds,
            confirmation: None,
        })
    }

    /// Sends the receipts of paid payments that are due (submitPaymentReceipt), at most `limit`, the
    /// earliest due first and [`RECEIPT_CONCURRENCY`] at once. Glase's acceptance marks a receipt sent; a
    /// refusal gives it up at once; anything else (unreachable, busy, no clear answer) is tried again
    /// after a wait that doubles with each attempt ([`ReceiptState::due_at`]), up to
    /// [`ReceiptState::MAX_ATTEMPTS`] times. A receipt never changes its payment's status.
    pub async fn submit_due_receipts(&self, limit: usize) -> Result<ReceiptSweepReport, UseCaseError> {
        let due = self
            .store
            .payments_with_receipt_due(self.clock.now(), limit)
            .await?;
        let outcomes = at_most(due, RECEIPT_CONCURRENCY, |payment| self.submit_receipt(payment)).await;
        let mut report = ReceiptSweepReport::default();
        for outcome in outcomes {
            match outcome {
                Some(ReceiptState::Sent { .. }) => report.sent += 1,
                Some(ReceiptState::Failed { .. }) => report.given_up += 1,
                Some(_) => report.retrying += 1,
                None => {}
            }
        }
        Ok(report)
    }

    /// Sends one due receipt and records the outcome; answers the stored receipt state (`None` when
    /// the payment has no receipt to send, `Some(Pending)` when it could not be recorded).
    async fn submit_receipt(&self, payment: Payment) -> Option<ReceiptState> {
        let (Some(document), Some(ers)) = (receipt_document(&payment), payment.ers_reference()) else {
            return None;
        };
        let pending = payment.receipt();
        let Ok(terminal) = self.glase_terminal_of(&payment).await else {
            return Some(pending);
        };
        let refused = match self.glase.submit_receipt(&terminal, ers, &document).await {
            Ok(()) => None,
            Err(e) if e.is_transient() => Some(None),
            Err(GlaseError::Rejected { code, .. }) => Some(Some(code)),
            Err(_) => Some(None),
        };
        Some(self.record_receipt(payment, refused).await.unwrap_or(pending))
    }

    /// Writes a receipt attempt's outcome (`refused`: `None` sent, `Some(code)` failed) with a conditional
    /// write, re-reading after a lost race; answers the stored receipt state.
    async fn record_receipt(&self, payment: Payment, refused: Option<Option<i32>>) -> Option<ReceiptState> {
        let recorded = retry_on_race(payment, |current, _| async move {
            let now = self.clock.now();
            let next = match refused {
                None => current.receipt_sent(now),
                Some(code) => current.receipt_attempt_failed(now, code),
            };
            let Ok(next) = next else {
                return Ok(Race::Done(Some(current.receipt())));
            };
            Ok(match self.store.update_payment(&next, current.revision()).await {
                Ok(()) => Race::Done(Some(next.receipt())),
                Err(StoreError::ConditionFailed) => match self.store.get_payment(current.id()).await {
                    Ok(Some(fresh)) => Race::Retry(fresh),
                    _ => Race::Done(None),
                },
                Err(_) => Race::Done(None),
            })
        });
        // Every race lost: the outcome is not recorded.
        recorded.await.ok()?.won().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::order::tests::{order_of, row, sek};
    use crate::pos::{PosDisplay, pos_view};
    use crate::testing::{FakeDeps, GlaseCall};
    use crate::usecases::tests::{assert_err, glase_calls, rejected, store_down, unavailable, unknown};
    use crate::usecases::{CreatePayment, UseCaseSettings};

    type TestDeps = FakeDeps;

    fn deps() -> TestDeps {
        crate::testing::fake_deps(UseCaseSettings::default())
    }

    async fn register(d: &TestDeps, external: &str, name: &str) -> Result<RegisteredTerminal, UseCaseError> {
        d.register_terminal(
            ExternalTerminalId::parse(external).unwrap(),
            DisplayName::parse(name).unwrap(),
        )
        .await
    }

    async fn till(d: &TestDeps, external: &str) -> Terminal {
        register(d, external, "Till").await.unwrap().terminal
    }

    /// A request for a payment of one row of `total` öre on the till `t`.
    fn on_till(t: &Terminal, total: i64) -> CreatePayment {
        CreatePayment {
            order: order_of(vec![row("Milk", sek(total))], sek(total)).unwrap(),
            terminal: PaymentTerminal::Pos(t.id().clone()),
            idempotency: None,
        }
    }

    async fn pos_payment(d: &TestDeps, t: &Terminal, total: i64) -> Payment {
        d.create_payment(on_till(t, total)).await.unwrap().payment
    }

    /// The fakes with one registered till, `T1`.
    async fn one_till() -> (TestDeps, Terminal) {
        let d = deps();
        let t = till(&d, "T1").await;
        (d, t)
    }

    async fn in_store(d: &TestDeps, id: &PaymentId) -> Payment {
        d.store.get_payment(id).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn registering_an_external_id_twice_answers_the_first_terminal_and_calls_glase_once() {
        let d = deps();
        let first = register(&d, "Store 1/Till 4", "Till 4").await.unwrap();
        assert!(first.created);
        let again = register(&d, "Store 1/Till 4", "Another name").await.unwrap();
        assert!(!again.created);
        assert_eq!(again.terminal.id(), first.terminal.id());
        assert_eq!(
            glase_calls(&d, |c| matches!(c, GlaseCall::RegisterTerminal { .. })),
            1
        );
        assert_eq!(d.list_terminals().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_registration_stores_nothing() {
        let d = deps();
        d.glase
            .fail_next("registerTerminal", rejected(20, "AUTHENTICATION_FAILED"));
        assert_err!(
            register(&d, "T1", "Till").await,
            UseCaseError::GlaseRejected { code: 20, .. }
        );
        assert!(d.list_terminals().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_store_failure_after_registering_withdraws_the_glase_terminal() {
        let d = deps();
        d.store.pass_next();
        d.store.fail_next(store_down("down"));
        assert_err!(
            register(&d, "T1", "Till").await,
            UseCaseError::Store(StoreError::Unavailable { .. })
        );
        assert_eq!(
            glase_calls(&d, |c| matches!(c, GlaseCall::RegisterTerminal { .. })),
            1
        );
        assert_eq!(glase_calls(&d, |c| matches!(c, GlaseCall::UnregisterTerminal)), 1);
        assert!(d.list_terminals().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn assigning_a_glase_id_records_it_and_a_refusal_changes_nothing() {
        let (d, t) = one_till().await;
        d.glase.fail_next("assignSeqrId", rejected(53, "INVALID_SEQR_ID"));
        assert_err!(
            d.assign_glase_id(t.id(), SeqrId::parse("42").unwrap()).await,
            UseCaseError::GlaseRejected { code: 53, .. }
        );
        assert_eq!(
            d.store.get_terminal(t.id()).await.unwrap().unwrap().seqr_id(),
            None
        );
        let assigned = d
            .assign_glase_id(t.id(), SeqrId::parse("42").unwrap())
            .await
            .unwrap();
        assert_eq!(assigned.seqr_id().unwrap().sticker_qr(), "HTTP://SEQR.SE/Q42");
        assert_eq!(
            d.store.get_terminal(t.id()).await.unwrap().unwrap().seqr_id(),
            Some(&SeqrId::parse("42").unwrap())
        );
        assert!(matches!(
            d.assign_glase_id(&TerminalId::from_random([7; 16]), SeqrId::parse("1").unwrap())
                .await,
            Err(UseCaseError::NotFound("terminal"))
        ));
    }

    #[tokio::test]
    async fn an_unregistered_terminal_takes_no_payment_and_no_glase_id() {
        let (d, t) = one_till().await;
        let gone = d.unregister_terminal(t.id()).await.unwrap();
        assert!(!gone.is_active());
        assert_eq!(glase_calls(&d, |c| matches!(c, GlaseCall::UnregisterTerminal)), 1);
        let before = d.glase.call_count();
        let err = d.create_payment(on_till(&t, 100)).await.unwrap_err();
        assert_eq!(err, UseCaseError::Conflict(ConflictReason::TerminalUnregistered));
        assert_eq!(
            d.assign_glase_id(t.id(), SeqrId::parse("42").unwrap())
                .await
                .unwrap_err(),
            UseCaseError::Conflict(ConflictReason::TerminalUnregistered)
        );
        // Unregistering again answers the terminal without calling Glase.
        assert!(!d.unregister_terminal(t.id()).await.unwrap().is_active());
        assert_eq!(d.glase.call_count(), before);
    }

    #[tokio::test]
    async fn unregistering_cancels_the_tills_open_payment_first() {
        let (d, t) = one_till().await;
        let p = pos_payment(&d, &t, 500).await;
        d.unregister_terminal(t.id()).await.unwrap();
        let stored = in_store(&d, p.id()).await;
        assert_eq!(stored.status(), PaymentStatus::Canceled);
        assert_eq!(
            glase_calls(&d, |c| matches!(c, GlaseCall::CancelInvoice { .. })),
            1
        );
    }

    #[tokio::test]
    async fn unregistering_while_the_shopper_pays_is_a_conflict_and_keeps_the_terminal() {
        let (d, t) = one_till().await;
        pos_payment(&d, &t, 500).await;
        d.glase
            .fail_next("cancelInvoice", rejected(51, "CANNOT_CANCEL_INVOICE_IN_PROGRESS"));
        assert_eq!(
            d.unregister_terminal(t.id()).await.unwrap_err(),
            UseCaseError::Conflict(ConflictReason::PaymentInProgress)
        );
        assert!(d.store.get_terminal(t.id()).await.unwrap().unwrap().is_active());
        assert_eq!(glase_calls(&d, |c| matches!(c, GlaseCall::UnregisterTerminal)), 0);
    }

    #[tokio::test]
    async fn a_second_payment_on_the_till_cancels_the_first() {
        let (d, t) = one_till().await;
        let first = pos_payment(&d, &t, 500).await;
        let second = pos_payment(&d, &t, 700).await;
        assert_eq!(in_store(&d, first.id()).await.status(), PaymentStatus::Canceled);
        assert_eq!(in_store(&d, second.id()).await.status(), PaymentStatus::Pending);
        let stored = d.store.get_terminal(t.id()).await.unwrap().unwrap();
        assert_eq!(stored.open_payment(), Some(second.id()));
    }

    #[tokio::test]
    async fn a_previous_invoice_the_shopper_paid_just_before_is_recorded_paid_not_canceled() {
        let (d, t) = one_till().await;
        let first = pos_payment(&d, &t, 500).await;
        d.glase.pay(first.invoice_reference());
        pos_payment(&d, &t, 700).await;
        let stored = in_store(&d, first.id()).await;
        assert_eq!(stored.status(), PaymentStatus::Paid);
        assert!(
            glase_calls(&d, |c| matches!(
                c,
                GlaseCall::PaymentStatus { invoice_reference, .. } if invoice_reference == first.invoice_reference()
            )) >= 1
        );
    }

    #[tokio::test]
    async fn a_previous_invoice_glase_cannot_be_asked_about_stays_pending_for_the_safety_net() {
        let (d, t) = one_till().await;
        let first = pos_payment(&d, &t, 500).await;
        d.glase.fail_next("getPaymentStatus", unavailable("down"));
        pos_payment(&d, &t, 700).await;
        let stored = in_store(&d, first.id()).await;
        assert_eq!(stored.status(), PaymentStatus::Pending);
        d.clock.advance(Duration::from_secs(10));
        d.confirm_due_payments(10).await.unwrap();
        let stored = in_store(&d, first.id()).await;
        assert_eq!(stored.status(), PaymentStatus::Canceled);
    }

    #[tokio::test]
    async fn try_again_restarts_the_window_of_a_pending_till_payment_only() {
        let (d, t) = one_till().await;
        let p = pos_payment(&d, &t, 500).await;
        let window = d.settings.pos_window;
        d.clock.advance(Duration::from_secs(31));
        let stored = in_store(&d, p.id()).await;
        assert_eq!(
            pos_view(&stored, d.clock.now(), window).unwrap().display,
            PosDisplay::WindowEnded
        );
        let view = d.restart_pos_window(p.id(), Caller::Merchant).await.unwrap();
        let shown = pos_view(&view.payment, d.clock.now(), window).unwrap();
        assert_eq!(shown.display, PosDisplay::PleaseWait);
        assert_eq!(shown.window_ends_at, d.clock.now().plus(window));
        assert_eq!(
            d.store
                .get_payment(p.id())
                .await
                .unwrap()
                .unwrap()
                .pos_window_started_at(),
            Some(d.clock.now())
        );
        assert!(matches!(
            d.restart_pos_window(p.id(), Caller::ClientSecret("cs_wrong"))
                .await,
            Err(UseCaseError::NotFound(_))
        ));
        d.cancel_payment(p.id(), Caller::Merchant).await.unwrap();
        assert_eq!(
            d.restart_pos_window(p.id(), Caller::Merchant).await.unwrap_err(),
            UseCaseError::Conflict(ConflictReason::NotPending)
        );
        let webshop = d
            .create_payment(CreatePayment {
                terminal: PaymentTerminal::Webshop,
                ..on_till(&t, 100)
            })
            .await
            .unwrap()
            .payment;
        assert_eq!(
            d.restart_pos_window(webshop.id(), Caller::Merchant)
                .await
                .unwrap_err(),
            UseCaseError::Conflict(ConflictReason::NotPos)
        );
    }

    async fn sweep_receipts(d: &TestDeps) -> ReceiptSweepReport {
        d.submit_due_receipts(10).await.unwrap()
    }

    fn receipts_sent(d: &TestDeps) -> usize {
        glase_calls(d, |c| matches!(c, GlaseCall::SubmitReceipt { .. }))
    }

    async fn paid_on_till(d: &TestDeps) -> Payment {
        let t = till(d, "T9").await;
        let p = pos_payment(d, &t, 500).await;
        d.glase.pay(p.invoice_reference());
        let (paid, _) = d.confirm(p).await.unwrap();
        assert_eq!(paid.status(), PaymentStatus::Paid);
        paid
    }

    #[tokio::test]
    async fn the_receipt_sweep_sends_a_paid_payments_receipt_once() {
        let d = deps();
        let paid = paid_on_till(&d).await;
        let report = sweep_receipts(&d).await;
        assert_eq!(report.sent, 1);
        let stored = in_store(&d, paid.id()).await;
        assert!(matches!(stored.receipt(), ReceiptState::Sent { .. }));
        assert_eq!(stored.status(), PaymentStatus::Paid);
        assert_eq!(sweep_receipts(&d).await, ReceiptSweepReport::default());
        assert_eq!(receipts_sent(&d), 1);
    }

    #[tokio::test]
    async fn an_unreachable_glase_leaves_the_receipt_for_the_next_run_and_the_payment_paid() {
        let d = deps();
        let paid = paid_on_till(&d).await;
        d.glase.fail_next("submitPaymentReceipt", unavailable("down"));
        let report = sweep_receipts(&d).await;
        assert_eq!(report.retrying, 1);
        let stored = in_store(&d, paid.id()).await;
        assert!(matches!(
            stored.receipt(),
            ReceiptState::Pending { attempts: 1, .. }
        ));
        assert_eq!(stored.status(), PaymentStatus::Paid);
        // The retry waits its time: a sweep before then neither calls Glase nor counts it.
        assert_eq!(sweep_receipts(&d).await, ReceiptSweepReport::default());
        assert_eq!(receipts_sent(&d), 1);
        d.clock.advance(ReceiptState::FIRST_RETRY_DELAY);
        assert_eq!(sweep_receipts(&d).await.sent, 1);
    }

    #[tokio::test]
    async fn a_refused_receipt_is_given_up_and_never_sent_again() {
        let d = deps();
        let paid = paid_on_till(&d).await;
        d.glase
            .fail_next("submitPaymentReceipt", rejected(23, "INVALID_ERS_REFERENCE"));
        assert_eq!(sweep_receipts(&d).await.given_up, 1);
        let stored = in_store(&d, paid.id()).await;
        assert!(matches!(
            stored.receipt(),
            ReceiptState::Failed { code: Some(23), .. }
        ));
        assert_eq!(stored.status(), PaymentStatus::Paid);
        assert_eq!(sweep_receipts(&d).await, ReceiptSweepReport::default());
    }

    #[tokio::test]
    async fn a_status_read_without_a_clear_answer_is_glase_unavailable_never_a_guess() {
        let (d, t) = one_till().await;
        let p = pos_payment(&d, &t, 500).await;
        d.glase.pay(p.invoice_reference());
        d.clock.advance(Duration::from_secs(1));
        d.glase.fail_next("getPaymentStatus", unknown("timeout"));
        assert!(matches!(
            d.read_payment(p.id(), Caller::Merchant).await,
            Err(UseCaseError::GlaseUnavailable(_))
        ));
        assert_eq!(in_store(&d, p.id()).await.status(), PaymentStatus::Pending);
        d.clock.advance(Duration::from_secs(1));
        let view = d.read_payment(p.id(), Caller::Merchant).await.unwrap();
        assert_eq!(view.payment.status(), PaymentStatus::Paid);
    }
}
