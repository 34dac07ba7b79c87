//! The payment use cases: create, notification, read, cancel, update, and the shared confirmation.
//!
//! The rule that shapes them: a PAID invoice is final only after a getPaymentStatus within 20 seconds.
//! So the notification path asks Glase first and stores after; a reader of a pending payment asks Glase
//! too (at most once a second per payment, claimed through a conditional write so concurrent readers do
//! not multiply the calls); and every path that learns a new status pushes it to the browser.

use crate::idempotency::{Fingerprint, IdempotencyKey, Operation, SideEffect, StoredOutcome};
use crate::ids::{InvoiceReference, PaymentId, Timestamp};
use crate::order::Order;
use crate::payment::{
    Decision, GlaseInvoiceStatus, NewPayment, NoChange, Payment, PaymentStatus, PaymentTerminal,
};
use crate::ports::{
    Clock, GlaseError, GlaseGateway, GlaseTerminal, IdGenerator, Invoice, NotificationUrl, PaymentStore,
    Ports, StatusPush, StatusUpdate, StoreError, result_codes,
};
use crate::refund::Refund;
use crate::secret::{ClientSecret, NotificationToken};

use super::{
    ConflictReason, Deps, KeyTaken, MAX_RACES, Race, UseCaseError, key_taken_over, less, retry_on_race,
    retry_up_to,
};

/// How many times a write that must not be lost (the record of a change Glase already took) is retried
/// after the store failed.
const MAX_STORE_RETRIES: usize = 3;

/// A request to create a payment.
#[derive(Clone, Debug)]
pub struct CreatePayment {
    /// The order.
    pub order: Order,
    /// Where to send the invoice.
    pub terminal: PaymentTerminal,
    /// The client's idempotency key, if any, with the request's fingerprint.
    pub idempotency: Option<(IdempotencyKey, Fingerprint)>,
}

/// A created payment and the secret its browser or till uses to read it.
#[derive(Clone, Debug)]
pub struct CreatedPayment {
    /// The payment.
    pub payment: Payment,
    /// Its client secret (shown once; only its hash is stored on the payment).
    pub client_secret: ClientSecret,
    /// True when this answer replays the first request with the same idempotency key.
    pub replayed: bool,
}

/// Who calls a use case on a payment, to read or to change it: the merchant, or a holder of its client secret.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// The merchant, authenticated with an API key by the caller.
    Merchant,
    /// A browser or till presenting the payment's client secret.
    ClientSecret(&'a str),
}

/// A payment with its refunds, as a reader sees it.
#[derive(Clone, Debug)]
pub struct PaymentView {
    /// The payment.
    pub payment: Payment,
    /// Its refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// What the latest confirmation found, when this read asked Glase.
    pub confirmation: Option<ConfirmOutcome>,
}

/// What a confirmation with Glase found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmOutcome {
    /// The status before.
    pub before: PaymentStatus,
    /// The status after.
    pub after: PaymentStatus,
    /// Glase reports another final status than ours (e.g. it reversed a payment we hold as paid).
    pub disagreement: Option<GlaseInvoiceStatus>,
}

impl ConfirmOutcome {
    /// True when the status changed.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// What cancelling a payment came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    /// The payment, canceled.
    pub payment: Payment,
    /// Whether this call moved it from pending to canceled (`false`: it was canceled already).
    pub canceled_now: bool,
}

/// The Glase gateway of a use case, bounded for one step ([`GlaseGateway::bounded`]) or as configured.
pub(super) enum StepGlase<'a, G> {
    /// The gateway as configured (no deadline).
    Unbounded(&'a G),
    /// The gateway bounded by the step's end.
    Bounded(G),
}

impl<G> std::ops::Deref for StepGlase<'_, G> {
    type Target = G;
    fn deref(&self) -> &G {
        match self {
            StepGlase::Unbounded(g) => g,
            StepGlase::Bounded(g) => g,
        }
    }
}

impl<P: Ports> Deps<P> {
    // -----------------------------------------------------------------------------------------------------
    // Create
    // -----------------------------------------------------------------------------------------------------

    /// Creates a payment: sends the invoice to Glase and stores the payment. With an idempotency key, a
    /// repeated request answers the first outcome, another body under the same key is a conflict, and a
    /// first request that vanished after sending its invoice is reported as `OutcomeUnknown`, never
    /// sent again.
    pub async fn create_payment(&self, request: CreatePayment) -> Result<CreatedPayment, UseCaseError> {
        self.create_payment_within(request, None).await
    }

    /// [`Self::create_payment`] inside an invocation that must have answered by `deadline`: sendInvoice
    /// ends early enough to leave time for the payment's store write and a compensating cancel; when
    /// the time left cannot cover that, nothing is sent or changed and the answer is
    /// [`UseCaseError::TooLittleTime`] (see the module docs of [`crate::usecases`], "Deadlines").
    pub async fn create_payment_within(
        &self,
        request: CreatePayment,
        deadline: Option<Timestamp>,
    ) -> Result<CreatedPayment, UseCaseError> {
        // Refused before the idempotency key is taken, so a refusal changes nothing at all.
        self.send_by(deadline)?;
        let Some((key, fingerprint)) = request.idempotency.clone() else {
            return self.send_and_store(&request, deadline).await;
        };
        let taken = self.take_key(
            self.key_record(Operation::CreatePayment, &key, fingerprint),
            SideEffect::NotRepeatable,
            "an earlier request with this idempotency key did not finish",
            |e| match e {
                StoreError::ConditionFailed => key_taken_over(),
                e => e.into(),
            },
        );
        let owned = match taken.await? {
            KeyTaken::Owned(owned) => owned,
            KeyTaken::Replay(outcome) => return self.replay_create(outcome).await,
        };

        let result = self.send_and_store(&request, deadline).await;
        let outcome = match &result {
            Ok(created) => Some(StoredOutcome::PaymentCreated {
                payment_id: created.payment.id().clone(),
                stored_client_secret: None,
            }),
            Err(UseCaseError::GlaseRejected { code, description }) => Some(StoredOutcome::GlaseRejected {
                code: *code,
                description: description.clone(),
            }),
            Err(UseCaseError::OutcomeUnknown(_)) => Some(StoredOutcome::OutcomeUnknown),
            // Nothing was sent (validation, Glase unreachable, store down before sending): free the key.
            Err(_) => None,
        };
        match outcome {
            Some(outcome) => {
                // Losing this write only costs the replay: the lease then ends as "outcome unknown".
                let _ = self
                    .store
                    .replace_idempotency_record(&owned.completed(outcome), owned.revision)
                    .await;
            }
            None => {
                let _ = self
                    .store
                    .delete_idempotency_record(Operation::CreatePayment, &key, owned.revision)
                    .await;
            }
        }
        result
    }

    async fn replay_create(&self, outcome: StoredOutcome) -> Result<CreatedPayment, UseCaseError> {
        match outcome {
            StoredOutcome::PaymentCreated {
                payment_id,
                stored_client_secret,
            } => {
                let payment = self.stored_payment(&payment_id).await?;
                let client_secret = match stored_client_secret {
                    Some(stored) => stored,
                    None => self.client_secret_of(&payment_id)?,
                };
                // A secret derived under another key than the payment's would open nothing: say so
                // rather than answer it.
                if !payment.client_secret_matches(client_secret.expose()) {
                    return Err(UseCaseError::NotConfigured(
                        "the client secret key is not the one this payment was created with",
                    ));
                }
                Ok(CreatedPayment {
                    payment,
                    client_secret,
                    replayed: true,
                })
            }
            StoredOutcome::GlaseRejected { code, description } => {
                Err(UseCaseError::GlaseRejected { code, description })
            }
            StoredOutcome::OutcomeUnknown => Err(UseCaseError::OutcomeUnknown(
                "the first request with this idempotency key had no clear outcome".to_owned(),
            )),
            _ => Err(UseCaseError::Conflict(ConflictReason::IdempotencyKeyReused)),
        }
    }

    /// The gateway bounded by `by`, or as configured when there is no bound.
    pub(super) fn glase_by(&self, by: Option<Timestamp>) -> StepGlase<'_, P::Glase> {
        match by {
            Some(by) => StepGlase::Bounded(self.glase.bounded(by)),
            None => StepGlase::Unbounded(&self.glase),
        }
    }

    /// When a Glase call whose outcome is stored afterwards must have answered: one store write
    /// ([`super::Reserves::store_write`]) before `deadline`. Refused, before anything is asked or
    /// stored, when that leaves less than [`super::Reserves::send_invoice_min`], the least worth giving
    /// a Glase call.
    pub(super) fn call_by(&self, deadline: Option<Timestamp>) -> Result<Option<Timestamp>, UseCaseError> {
        let reserves = self.settings.reserves;
        self.step_by(
            deadline,
            reserves.store_write.saturating_add(reserves.send_invoice_min),
            reserves.store_write,
        )
    }

    /// When sendInvoice must have answered: the deadline less one store write and one cancel. Refused
    /// when that leaves less than [`super::Reserves::send_invoice_min`] from now.
    fn send_by(&self, deadline: Option<Timestamp>) -> Result<Option<Timestamp>, UseCaseError> {
        let reserves = self.settings.reserves;
        self.step_by(deadline, reserves.to_create(), reserves.after_send())
    }

    /// When a Glase step must end: `keep` before `deadline`, or no bound without a deadline. Refused
    /// ([`UseCaseError::TooLittleTime`]) when less than `needed` is left from now.
    fn step_by(
        &self,
        deadline: Option<Timestamp>,
        needed: std::time::Duration,
        keep: std::time::Duration,
    ) -> Result<Option<Timestamp>, UseCaseError> {
        let Some(deadline) = deadline else {
            return Ok(None);
        };
        let left = deadline.since(self.clock.now());
        if left < needed {
            return Err(UseCaseError::TooLittleTime { left, needed });
        }
        Ok(less(Some(deadline), keep))
    }

    async fn send_and_store(
        &self,
        request: &CreatePayment,
        deadline: Option<Timestamp>,
    ) -> Result<CreatedPayment, UseCaseError> {
        let now = self.clock.now();
        let terminal = match &request.terminal {
            PaymentTerminal::Webshop => None,
            PaymentTerminal::Pos(id) => {
                let t = self.stored_terminal(id).await?;
                if !t.is_active() {
                    return Err(UseCaseError::Conflict(ConflictReason::TerminalUnregistered));
                }
                Some(t)
            }
        };
        let glase_terminal = match &terminal {
            None => GlaseTerminal::Webshop,
            Some(t) => GlaseTerminal::Pos {
                terminal_id: t.id().clone(),
                glase_terminal_id: t.glase_terminal_id().clone(),
            },
        };
        let id = self.ids.payment_id();
        let client_secret = self.client_secret_of(&id)?;
        let token = self.ids.notification_token();
        let invoice = Invoice {
            order: request.order.clone(),
            notification_url: NotificationUrl::new(&self.settings.public_base_url, &id, &token),
            issued_at: now,
        };
        // Checked again after the terminal's read; from here on, whenever sendInvoice answers, the
        // store write and the cancel below still fit before the deadline.
        let send_by = self.send_by(deadline)?;
        let reference = self
            .glase_by(send_by)
            .send_invoice(&glase_terminal, &invoice)
            .await?;
        let payment = Payment::new(NewPayment {
            id: id.clone(),
            terminal: match &terminal {
                None => PaymentTerminal::Webshop,
                Some(t) => PaymentTerminal::Pos(t.id().clone()),
            },
            order: request.order.clone(),
            invoice_reference: reference.clone(),
            client_secret_hash: client_secret.hash(),
            notification_token_hash: token.hash(),
            created_at: now,
            expires_at: now.plus(self.settings.payment_expiry),
        });
        let stored = match &terminal {
            None => self.store.insert_payment(&payment).await,
            Some(t) => match t.with_open_payment(id.clone()) {
                Ok(next) => {
                    self.store
                        .insert_payment_on_terminal(&payment, &next, t.revision())
                        .await
                }
                Err(_) => Err(StoreError::ConditionFailed),
            },
        };
        if let Err(e) = stored {
            // The invoice exists at Glase but not with us: withdraw it so nobody can pay it unseen.
            // It has the time kept back for it: what is left until the deadline.
            let _ = self
                .glase_by(deadline)
                .cancel_invoice(&glase_terminal, &reference)
                .await;
            return Err(e.into());
        }
        if let Some(previous) = terminal.as_ref().and_then(|t| t.open_payment()) {
            // Glase cancelled the till's previous invoice when this one was sent; our record follows.
            self.follow_replaced(previous, deadline).await;
        }
        Ok(CreatedPayment {
            payment,
            client_secret,
            replayed: false,
        })
    }

    /// The client secret of payment `id`, derived under the key of this process.
    fn client_secret_of(&self, id: &PaymentId) -> Result<ClientSecret, UseCaseError> {
        self.ids.client_secret(id).ok_or(UseCaseError::NotConfigured(
            "this function has no client secret key",
        ))
    }

    /// Glase cancelled the till's previous invoice when the new one was sent, unless the shopper had paid
    /// it just before. So the previous payment is confirmed with Glase rather than assumed canceled: a
    /// paid one is acknowledged and recorded (never left to be reversed), a canceled one is recorded
    /// canceled. If Glase cannot be asked now, it stays pending and the safety net asks later.
    async fn follow_replaced(&self, previous: &PaymentId, deadline: Option<Timestamp>) {
        let Ok(Some(p)) = self.store.get_payment(previous).await else {
            return;
        };
        if p.status() == PaymentStatus::Pending {
            let _ = self.confirm_by(p, deadline).await;
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Confirmation, shared by every path
    // -----------------------------------------------------------------------------------------------------

    pub(super) async fn glase_terminal_of(&self, payment: &Payment) -> Result<GlaseTerminal, UseCaseError> {
        match payment.terminal() {
            PaymentTerminal::Webshop => Ok(GlaseTerminal::Webshop),
            PaymentTerminal::Pos(id) => {
                let t = self.stored_terminal(id).await?;
                Ok(GlaseTerminal::Pos {
                    terminal_id: id.clone(),
                    glase_terminal_id: t.glase_terminal_id().clone(),
                })
            }
        }
    }

    /// Asks Glase for the payment's status (which also acknowledges a paid invoice), stores what changed
    /// with a conditional write (re-reading and re-deciding after a lost race), and pushes a new status to
    /// the payment's browsers. Returns the stored payment and what changed.
    pub async fn confirm(&self, payment: Payment) -> Result<(Payment, ConfirmOutcome), UseCaseError> {
        self.confirm_by(payment, None).await
    }

    /// [`Self::confirm`] inside an invocation that must have answered by `deadline`: getPaymentStatus
    /// gets what is left less one store write, the write of what it found.
    pub async fn confirm_by(
        &self,
        payment: Payment,
        deadline: Option<Timestamp>,
    ) -> Result<(Payment, ConfirmOutcome), UseCaseError> {
        let terminal = self.glase_terminal_of(&payment).await?;
        let observation = self
            .glase_by(less(deadline, self.settings.reserves.store_write))
            .payment_status(&terminal, payment.invoice_reference(), payment.glase_version())
            .await?;
        let before = payment.status();
        let observation = &observation;
        let confirmed = retry_on_race(payment, |current, _| async move {
            let (decision, next) = current.observe(observation);
            let disagreement = match &decision {
                Decision::NoChange(NoChange::FinalDisagrees { glase, .. }) => Some(glase.clone()),
                _ => None,
            };
            let Some(next) = next else {
                let after = current.status();
                return Ok(Race::Done((
                    current,
                    ConfirmOutcome {
                        before,
                        after,
                        disagreement,
                    },
                )));
            };
            match self.write_payment(next, &current).await? {
                Race::Done(next) => {
                    let outcome = ConfirmOutcome {
                        before,
                        after: next.status(),
                        disagreement,
                    };
                    if outcome.changed() {
                        self.push_status(&next).await;
                    }
                    Ok(Race::Done((next, outcome)))
                }
                Race::Retry(read) => Ok(Race::Retry(read)),
            }
        });
        Ok(confirmed.await?.won()?)
    }

    /// Pushes the payment's status to every connection listening to it. A gone connection is forgotten; a
    /// failed push never fails the caller (the browser's polling covers it).
    pub async fn push_status(&self, payment: &Payment) {
        let Ok(connections) = self.store.connections_for_payment(payment.id()).await else {
            return;
        };
        let update = StatusUpdate {
            payment_id: payment.id().clone(),
            status: payment.status(),
            ers_reference: payment.ers_reference().cloned(),
        };
        for c in connections {
            if let Err(crate::ports::PushError::Gone) = self.push.push(&c.connection_id, &update).await {
                let _ = self.store.delete_connection(&c.connection_id).await;
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Notification
    // -----------------------------------------------------------------------------------------------------

    /// Glase's notification: checks the token (constant time, against the stored hash) and then asks Glase
    /// at once. An unknown payment or a wrong token is `NotFound` and makes no Glase call; a payment that is
    /// already final is answered from the store (a duplicate notification changes nothing twice).
    ///
    /// Notifications of one payment ask Glase at most once per `status_check_interval`: the call is
    /// claimed with a conditional write of the payment's last notification time (its own, so a status
    /// read never delays the first notification's call). A notification inside the interval is answered
    /// from the store, so a leaked notification URL cannot turn the route's throttle into Glase calls.
    /// When the store cannot take the claim (throttled, unreachable), Glase is asked anyway: the
    /// 20-second rule comes first.
    pub async fn handle_notification(
        &self,
        id: &PaymentId,
        token: &str,
    ) -> Result<(Payment, Option<ConfirmOutcome>), UseCaseError> {
        self.handle_notification_within(id, token, None).await
    }

    /// [`Self::handle_notification`] inside an invocation that must have answered by `deadline` (see
    /// [`Self::confirm_by`]).
    pub async fn handle_notification_within(
        &self,
        id: &PaymentId,
        token: &str,
        deadline: Option<Timestamp>,
    ) -> Result<(Payment, Option<ConfirmOutcome>), UseCaseError> {
        let payment = self.stored_payment(id).await?;
        if !payment.notification_token_matches(token) {
            return Err(UseCaseError::NotFound("payment"));
        }
        // Done with `Err(payment)`: the claim could not be written.
        let claimed = retry_on_race(payment, |payment, _| async move {
            let now = self.clock.now();
            if !payment.notification_due(now, self.settings.status_check_interval) {
                // Final, or another notification asked Glase within the interval.
                return Ok(Race::Done(Ok((payment, None))));
            }
            let claim = payment.notified_at(now);
            match self.store.update_payment(&claim, payment.revision()).await {
                Ok(()) => {
                    let release = claim.notification_released(payment.last_notified_at());
                    let expected = claim.revision();
                    let confirmed = self.confirm_by(claim, deadline).await;
                    if confirmed.is_err() {
                        let _ = self.store.update_payment(&release, expected).await;
                    }
                    let (payment, outcome) = confirmed?;
                    Ok(Race::Done(Ok((payment, Some(outcome)))))
                }
                Err(StoreError::ConditionFailed) => Ok(Race::Retry(self.stored_payment(id).await?)),
                Err(_) => Ok(Race::Done(Err(payment))),
            }
        });
        let payment = match claimed.await? {
            Race::Done(Ok(answer)) => return Ok(answer),
            Race::Done(Err(payment)) | Race::Retry(payment) => payment,
        };
        // The claim could not be written: ask Glase unclaimed rather than risk the 20-second window.
        if payment.status().is_final() {
            return Ok((payment, None));
        }
        let (payment, outcome) = self.confirm_by(payment, deadline).await?;
        Ok((payment, Some(outcome)))
    }

    // -----------------------------------------------------------------------------------------------------
    // Read
    // -----------------------------------------------------------------------------------------------------

    pub(super) async fn load_for(&self, id: &PaymentId, caller: Caller<'_>) -> Result<Payment, UseCaseError> {
        let payment = self.stored_payment(id).await?;
        match caller {
            Caller::Merchant => Ok(payment),
            Caller::ClientSecret(s) if payment.client_secret_matches(s) => Ok(payment),
            Caller::ClientSecret(_) => Err(UseCaseError::NotFound("payment")),
        }
    }

    /// Confirms a payment whose check `claim` holds (written with [`Payment::checked_at`] over a last
    /// check of `before`). When the confirmation fails, the claim is given back (see
    /// [`Payment::check_released`]). Only the claim itself is given back: when the store moved on
    /// meanwhile (the confirmation wrote its outcome, or another check claimed), the conditional write
    /// fails and nothing changes. A release that fails leaves the claim in place: the payment is asked
    /// about again one interval later.
    pub(super) async fn confirm_claimed(
        &self,
        claim: Payment,
        before: Option<Timestamp>,
    ) -> Result<(Payment, ConfirmOutcome), UseCaseError> {
        self.confirm_claimed_by(claim, before, None).await
    }

    /// [`Self::confirm_claimed`] by `deadline` (see [`Self::confirm_by`]).
    async fn confirm_claimed_by(
        &self,
        claim: Payment,
        before: Option<Timestamp>,
        deadline: Option<Timestamp>,
    ) -> Result<(Payment, ConfirmOutcome), UseCaseError> {
        let release = claim.check_released(before);
        let expected = claim.revision();
        let confirmed = self.confirm_by(claim, deadline).await;
        if confirmed.is_err() {
            let _ = self.store.update_payment(&release, expected).await;
        }
        confirmed
    }

    /// Reads a payment. While it is pending, and Glase was not asked about it within the check interval,
    /// this read claims the check with a conditional write and asks Glase: polling clients keep a payment
    /// alive even when notifications are lost. A final payment is served from the store.
    pub async fn read_payment(
        &self,
        id: &PaymentId,
        caller: Caller<'_>,
    ) -> Result<PaymentView, UseCaseError> {
        self.read_payment_within(id, caller, None).await
    }

    /// [`Self::read_payment`] inside an invocation that must have answered by `deadline` (see
    /// [`Self::confirm_by`]).
    pub async fn read_payment_within(
        &self,
        id: &PaymentId,
        caller: Caller<'_>,
        deadline: Option<Timestamp>,
    ) -> Result<PaymentView, UseCaseError> {
        let mut payment = self.load_for(id, caller).await?;
        let mut confirmation = None;
        let now = self.clock.now();
        if payment.due_for_check(now, self.settings.status_check_interval) {
            let claim = payment.checked_at(now);
            match self.store.update_payment(&claim, payment.revision()).await {
                Ok(()) => {
                    // A status read changes nothing on our side and is safe to repeat (a paid invoice
                    // answers PAID again), so for the reader a lost answer is "Glase unreachable, try
                    // again": a till shows its offline message, never a guessed status.
                    let (confirmed, outcome) = self
                        .confirm_claimed_by(claim, payment.last_checked_at(), deadline)
                        .await
                        .map_err(|e| match e {
                            UseCaseError::OutcomeUnknown(reason) => UseCaseError::GlaseUnavailable(reason),
                            other => other,
                        })?;
                    payment = confirmed;
                    confirmation = Some(outcome);
                }
                // Another reader claimed this second's check; serve what is stored.
                Err(StoreError::ConditionFailed) => {
                    payment = self.stored_payment(id).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let refunds = self.refunds_of(&payment).await?;
        Ok(PaymentView {
            payment,
            refunds,
            confirmation,
        })
    }

    // -----------------------------------------------------------------------------------------------------
    // Cancel and update
    // -----------------------------------------------------------------------------------------------------

    /// Cancels a pending payment with Glase and records it. Already canceled: answered unchanged. Paid
    /// (also when Glase answers 50, which this records as paid): `AlreadyPaid`. The shopper paying right
    /// now (51, 48): `PaymentInProgress`.
    pub async fn cancel_payment(&self, id: &PaymentId, caller: Caller<'_>) -> Result<Payment, UseCaseError> {
        Ok(self.cancel_payment_within(id, caller, None).await?.payment)
    }

    /// [`Deps::cancel_payment`] inside an invocation that must have answered by `deadline`: cancelInvoice
    /// ends one store write before it (see [`Deps::call_by`]), and with too little time left nothing is
    /// asked at all.
    pub async fn cancel_payment_within(
        &self,
        id: &PaymentId,
        caller: Caller<'_>,
        deadline: Option<Timestamp>,
    ) -> Result<Cancellation, UseCaseError> {
        let by = self.call_by(deadline)?;
        let payment = self.load_for(id, caller).await?;
        let already = |payment| Cancellation {
            payment,
            canceled_now: false,
        };
        match payment.status() {
            PaymentStatus::Canceled => return Ok(already(payment)),
            PaymentStatus::Paid => return Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid)),
            PaymentStatus::Failed => return Err(UseCaseError::Conflict(ConflictReason::NotPending)),
            PaymentStatus::Pending => {}
        }
        let terminal = self.glase_terminal_of(&payment).await?;
        match self
            .glase_by(by)
            .cancel_invoice(&terminal, payment.invoice_reference())
            .await
        {
            Ok(()) => {}
            Err(GlaseError::Rejected { code, .. }) if code == result_codes::INVOICE_ALREADY_CANCELED => {}
            Err(GlaseError::Rejected { code, .. }) if code == result_codes::CANNOT_CANCEL_PAID_INVOICE => {
                // Paid meanwhile: confirm it now, so the payment is acknowledged and recorded.
                let _ = self.confirm(payment).await;
                return Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid));
            }
            Err(GlaseError::Rejected { code, .. })
                if code == result_codes::CANNOT_CANCEL_INVOICE_IN_PROGRESS
                    || code == result_codes::PAYMENT_IN_PROGRESS =>
            {
                return Err(UseCaseError::Conflict(ConflictReason::PaymentInProgress));
            }
            Err(e) => return Err(e.into()),
        }
        let canceled = retry_on_race(payment, |current, _| async move {
            if current.status() != PaymentStatus::Pending {
                return match current.status() {
                    PaymentStatus::Canceled => Ok(Race::Done(already(current))),
                    PaymentStatus::Paid => Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid)),
                    _ => Err(UseCaseError::Conflict(ConflictReason::NotPending)),
                };
            }
            let next = current.canceled_by_us(self.clock.now())?;
            let written = self.write_payment(next, &current).await?;
            Ok(written.map(|payment| Cancellation {
                payment,
                canceled_now: true,
            }))
        });
        let next = canceled.await?.won()?;
        if next.canceled_now {
            self.push_status(&next.payment).await;
        }
        Ok(next)
    }

    /// Replaces the rows and total of a pending payment (updateInvoice). The invoice gets a fresh
    /// notification token, whose hash replaces the old one: the old token is never stored in clear, so
    /// it cannot be sent again.
    ///
    /// The new token's hash is stored before updateInvoice is sent (as the payment's next token, accepted
    /// beside the current one), so whatever Glase holds afterwards, its notification is verified. When
    /// updateInvoice succeeded but the payment's new order cannot be stored (after retries), the answer
    /// is [`UseCaseError::NotRecorded`], never "nothing changed": Glase holds the new total, the payment
    /// shows the previous order, and the same request sent again brings the two together.
    pub async fn update_payment(&self, id: &PaymentId, order: Order) -> Result<Payment, UseCaseError> {
        self.update_payment_within(id, order, None).await
    }

    /// [`Deps::update_payment`] inside an invocation that must have answered by `deadline`:
    /// updateInvoice ends one store write before it (see [`Deps::call_by`]), and with too little time
    /// left nothing is stored or asked.
    pub async fn update_payment_within(
        &self,
        id: &PaymentId,
        order: Order,
        deadline: Option<Timestamp>,
    ) -> Result<Payment, UseCaseError> {
        let by = self.call_by(deadline)?;
        let payment = self.load_for(id, Caller::Merchant).await?;
        self.update_loaded(payment, order, by).await
    }

    /// [`Deps::update_payment_within`] with the new order made from the payment's current one by `edit`
    /// (a change that names only what changes, as a PATCH does). The payment is read first, so a change
    /// of an unknown payment is `NotFound` whatever it says; an `edit` that refuses the change is answered
    /// `Ok(Err(_))` as it refused it, before anything is sent or stored.
    pub async fn update_payment_with<E>(
        &self,
        id: &PaymentId,
        edit: impl FnOnce(&Order) -> Result<Order, E> + Send,
        deadline: Option<Timestamp>,
    ) -> Result<Result<Payment, E>, UseCaseError> {
        let payment = self.load_for(id, Caller::Merchant).await?;
        let order = match edit(payment.order()) {
            Ok(order) => order,
            Err(refused) => return Ok(Err(refused)),
        };
        let by = self.call_by(deadline)?;
        self.update_loaded(payment, order, by).await.map(Ok)
    }

    /// The update of `payment`, as read, to `order`, with updateInvoice answered `by`.
    async fn update_loaded(
        &self,
        payment: Payment,
        order: Order,
        by: Option<Timestamp>,
    ) -> Result<Payment, UseCaseError> {
        let id = &payment.id().clone();
        match payment.status() {
            PaymentStatus::Pending => {}
            PaymentStatus::Paid => return Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid)),
            _ => return Err(UseCaseError::Conflict(ConflictReason::NotPending)),
        }
        if order.currency() != payment.order().currency() {
            return Err(UseCaseError::Invalid(
                "the currency of a payment cannot change".to_owned(),
            ));
        }
        let terminal = self.glase_terminal_of(&payment).await?;
        let token = self.ids.notification_token();
        let payment = self.store_next_token(payment, &token).await?;
        let invoice = Invoice {
            order: order.clone(),
            notification_url: NotificationUrl::new(&self.settings.public_base_url, payment.id(), &token),
            issued_at: self.clock.now(),
        };
        match self
            .glase_by(by)
            .update_invoice(&terminal, payment.invoice_reference(), &invoice)
            .await
        {
            Ok(()) => {}
            Err(GlaseError::Rejected { code, .. }) if code == result_codes::PAYMENT_IN_PROGRESS => {
                return Err(UseCaseError::Conflict(ConflictReason::PaymentInProgress));
            }
            Err(e) => return Err(e.into()),
        }
        // Glase holds the new invoice now: every failure from here on is reported as not recorded.
        let not_recorded = |e: StoreError| {
            UseCaseError::NotRecorded(format!(
                "Glase holds the updated invoice, but the payment could not be updated ({e})"
            ))
        };
        let (order, token, not_recorded) = (&order, &token, &not_recorded);
        // The state of a try: the payment as last read, and how many store calls failed so far.
        let updated = retry_up_to(
            MAX_RACES + MAX_STORE_RETRIES,
            (payment, 0),
            |(current, mut failures), _| async move {
                let next = current.with_updated_invoice(order.clone(), token.hash())?;
                match self.store.update_payment(&next, current.revision()).await {
                    Ok(()) => return Ok(Race::Done(next)),
                    Err(StoreError::ConditionFailed) => {}
                    Err(e @ StoreError::Malformed { .. }) => return Err(not_recorded(e)),
                    Err(e) => {
                        failures += 1;
                        if failures > MAX_STORE_RETRIES {
                            return Err(not_recorded(e));
                        }
                    }
                }
                // Lost a race or the write failed: re-read (the write may have been taken) and decide again.
                match self.store.get_payment(id).await {
                    Ok(Some(read)) if read == next => Ok(Race::Done(read)),
                    Ok(Some(read)) => Ok(Race::Retry((read, failures))),
                    Ok(None) => Err(UseCaseError::NotFound("payment")),
                    Err(e) => {
                        failures += 1;
                        if failures > MAX_STORE_RETRIES {
                            return Err(not_recorded(e));
                        }
                        Ok(Race::Retry((current, failures)))
                    }
                }
            },
        );
        updated.await?.won().map_err(not_recorded)
    }

    /// Stores `token`'s hash as the payment's next notification token, re-reading after a lost race.
    async fn store_next_token(
        &self,
        payment: Payment,
        token: &NotificationToken,
    ) -> Result<Payment, UseCaseError> {
        let stored = retry_on_race(payment, |current, _| async move {
            if current.status() == PaymentStatus::Paid {
                return Err(UseCaseError::Conflict(ConflictReason::AlreadyPaid));
            }
            let next = current.with_next_notification_token(token.hash())?;
            self.write_payment(next, &current).await
        });
        Ok(stored.await?.won()?)
    }

    /// The invoice reference of a payment the caller may read (for the QR code route).
    pub async fn invoice_reference(
        &self,
        id: &PaymentId,
        caller: Caller<'_>,
    ) -> Result<InvoiceReference, UseCaseError> {
        Ok(self.load_for(id, caller).await?.invoice_reference().clone())
    }
}
