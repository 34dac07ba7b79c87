//! The Glase gateway: the domain's [`GlaseGateway`] port over the `glase-protocol` client.
//!
//! This crate turns domain requests (orders, refunds, terminals, periods) into Glase operations and
//! Glase answers back into domain observations. It holds the credentials: the webshop terminal's, the
//! reseller's, and the master secret from which every point-of-sale terminal's password is derived, so
//! no terminal password is ever stored anywhere (the domain and the store never see one).
//!
//! # Layout
//! - [`GlaseSettings`]: endpoint, credentials, deadlines; [`GlaseSettings::sandbox`] gives those of a
//!   default `glase-sandbox`, for tests and benchmarks.
//! - [`ProtocolGateway`]: the port implementation; one per process, cheap to clone.
//! - [`derive_terminal_password`]: HMAC-SHA256 of our terminal id under the master secret.
//! - `map`: pure conversions between domain and protocol types, and the error mapping.
//!
//! # Deadlines
//! Each call ends by its deadline in [`GlaseSettings`] (status reads, writes, reports) and, on a
//! gateway made with [`GlaseGateway::bounded`], by that bound too: the protocol client gets the
//! shorter of the two as the call's deadline, and gives every attempt at most what is left of it (and
//! at most its per-attempt timeout). So the port stays one method per operation; the use cases narrow
//! a gateway for one step of one invocation, and the bound is a time on the gateway's clock, the same
//! clock the use cases read and the Lambda deadline is given in. A call whose bound has passed before
//! it is sent leaves nothing (`Unavailable`); one whose answer does not come by it is `OutcomeUnknown`.
//!
//! # Error mapping
//! A non-zero result code is `Rejected` with that code. A call that provably never reached Glase is
//! `Unavailable`. A call whose request may have left without a usable answer (timeout after sending, a
//! SOAP fault, an undecodable answer) is `OutcomeUnknown`: the caller must not repeat a non-idempotent
//! operation on it. Deciding on retries for safe operations (getPaymentStatus, cancelInvoice,
//! executeReport) is the protocol client's, inside the deadlines set here.

mod map;

use std::sync::Arc;
use std::time::Duration;

use glase_protocol::{
    AssignSeqrIdRequest, CancelInvoiceRequest, ClientContext, ExecuteReportRequest, GetPaymentStatusRequest,
    GlaseClient, MarkTransactionPeriodRequest, ParameterMap, Password, RefundPaymentRequest,
    RegisterTerminalRequest, SendInvoiceRequest, SubmitPaymentReceiptRequest, UnregisterTerminalRequest,
    UpdateInvoiceRequest,
};
use hmac::{Hmac, Mac};
use payments_domain::ids::{
    ErsReference, GlaseTerminalId, InvoiceReference, SeqrId, StatusVersion, TerminalId, Timestamp,
    TransactionPeriodId,
};
use payments_domain::order::{DisplayName, ExternalTerminalId};
use payments_domain::payment::Observation;
use payments_domain::period::{FetchedReport, PeriodScope};
use payments_domain::ports::{
    Clock, GlaseError, GlaseGateway, GlaseTerminal, Invoice, ReceiptDocument, RefundInvoice, ReportRequest,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub use map::{from_protocol_error, observation_from_status};

/// The name this backend gives itself in `clientId`, and its version in `clientReference`, as the Glase
/// certification asks ("Your system name and version").
pub const CLIENT_ID: &str = "glase-payments";

/// How the gateway reaches and authenticates with Glase. Its `Debug` shows the secrets redacted
/// (`SecretString`).
#[derive(Clone, Debug)]
pub struct GlaseSettings {
    /// The webshop terminal issued by Glase.
    pub webshop_terminal_id: String,
    /// Its password.
    pub webshop_password: SecretString,
    /// The reseller (shop) id, for registerTerminal, markTransactionPeriod and executeReport.
    pub reseller_id: String,
    /// The reseller user id (`9900` in every Glase example).
    pub reseller_user_id: String,
    /// The reseller password.
    pub reseller_password: SecretString,
    /// The master secret from which point-of-sale terminal passwords are derived.
    pub terminal_password_secret: SecretString,
    /// Overall deadline of a getPaymentStatus call, retries included. Short: it runs inside the
    /// 20-second acknowledgement window.
    pub status_deadline: Duration,
    /// Deadline of calls that change something (never repeated after an ambiguous failure anyway).
    pub write_deadline: Duration,
    /// Deadline of executeReport, including its REPORT_NOT_READY retries.
    pub report_deadline: Duration,
}

/// The default deadline of a Glase call that changes something ([`GlaseSettings::write_deadline`]).
pub const DEFAULT_WRITE_DEADLINE: Duration = Duration::from_secs(15);

impl GlaseSettings {
    /// Settings with the default deadlines: 5 s for status reads, 15 s for writes, 20 s for reports.
    pub fn new(
        webshop_terminal_id: impl Into<String>,
        webshop_password: SecretString,
        reseller_id: impl Into<String>,
        reseller_user_id: impl Into<String>,
        reseller_password: SecretString,
        terminal_password_secret: SecretString,
    ) -> Self {
        Self {
            webshop_terminal_id: webshop_terminal_id.into(),
            webshop_password,
            reseller_id: reseller_id.into(),
            reseller_user_id: reseller_user_id.into(),
            reseller_password,
            terminal_password_secret,
            status_deadline: Duration::from_secs(5),
            write_deadline: DEFAULT_WRITE_DEADLINE,
            report_deadline: Duration::from_secs(20),
        }
    }

    /// Settings for the accounts a Glase sandbox (the `glase-sandbox` crate) has by default: its
    /// webshop terminal `public_test_shop_terminal` and its reseller `public_test_shop` (user `9900`),
    /// with the default deadlines and point-of-sale passwords derived from `terminal_password_secret`.
    ///
    /// They hold for a sandbox at any base URL; the gateway's client goes to the sandbox's SOAP
    /// endpoint, `<base URL>/extclientproxy/service/v2` (`SandboxHandle::soap_endpoint_url`).
    /// Tests and benchmarks use it, and change a field after where they need to (a wrong password).
    ///
    /// ```
    /// let settings = payments_glase::GlaseSettings::sandbox("a master secret");
    /// assert_eq!(settings.webshop_terminal_id, "public_test_shop_terminal");
    /// ```
    pub fn sandbox(terminal_password_secret: &str) -> Self {
        Self::new(
            "public_test_shop_terminal",
            SecretString::from("12345678"),
            "public_test_shop",
            "9900",
            SecretString::from("1234"),
            SecretString::from(terminal_password_secret),
        )
    }
}

/// The password of our point-of-sale terminal `terminal_id`: the first 128 bits of
/// HMAC-SHA256(master secret, `glase-terminal-password/v1/<terminal id>`), as 32 hex digits.
/// Deterministic, so nothing has to be stored; rotating the master secret means re-registering tills.
pub fn derive_terminal_password(master: &SecretString, terminal_id: &TerminalId) -> Password {
    let mut mac = Hmac::<Sha256>::new_from_slice(master.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(b"glase-terminal-password/v1/");
    mac.update(terminal_id.as_str().as_bytes());
    let digest = mac.finalize().into_bytes();
    Password::new(hex::encode(&digest[..16]))
}

/// The domain's Glase port over the protocol client.
#[derive(Clone)]
pub struct ProtocolGateway<C> {
    client: GlaseClient,
    settings: Arc<GlaseSettings>,
    clock: C,
    /// When every call must have ended ([`GlaseGateway::bounded`]).
    until: Option<Timestamp>,
}

impl<C> std::fmt::Debug for ProtocolGateway<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolGateway")
            .field("endpoint", &self.client.endpoint())
            .field("settings", &self.settings)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl<C: Clock> ProtocolGateway<C> {
    /// A gateway over `client` (built once per process) with `settings`; `clock` stamps observations.
    pub fn new(client: GlaseClient, settings: GlaseSettings, clock: C) -> Self {
        Self {
            client,
            settings: Arc::new(settings),
            clock,
            until: None,
        }
    }

    /// The deadline of one call: `configured`, or what is left until the gateway's bound when that
    /// is shorter (zero once the bound has passed: the client then sends nothing).
    pub fn call_deadline(&self, configured: Duration) -> Duration {
        match self.until {
            Some(until) => configured.min(until.since(self.clock.now())),
            None => configured,
        }
    }

    fn write_deadline(&self) -> Duration {
        self.call_deadline(self.settings.write_deadline)
    }

    /// The protocol client, e.g. to open a connection during a cold start.
    pub fn client(&self) -> &GlaseClient {
        &self.client
    }

    fn tag(context: ClientContext) -> ClientContext {
        context
            .with_client_id(CLIENT_ID)
            .with_client_reference(concat!("glase-payments ", env!("CARGO_PKG_VERSION")))
    }

    fn terminal_context(&self, terminal: &GlaseTerminal) -> ClientContext {
        let context = match terminal {
            GlaseTerminal::Webshop => ClientContext::terminal(
                self.settings.webshop_terminal_id.clone(),
                Password::new(self.settings.webshop_password.expose_secret()),
            ),
            GlaseTerminal::Pos {
                terminal_id,
                glase_terminal_id,
            } => ClientContext::terminal(
                glase_terminal_id.as_str(),
                derive_terminal_password(&self.settings.terminal_password_secret, terminal_id),
            ),
        };
        Self::tag(context)
    }

    fn reseller_context(&self) -> ClientContext {
        Self::tag(ClientContext::reseller(
            self.settings.reseller_id.clone(),
            self.settings.reseller_user_id.clone(),
            Password::new(self.settings.reseller_password.expose_secret()),
        ))
    }

    fn period_parameters(scope: &PeriodScope) -> Option<ParameterMap> {
        match scope {
            PeriodScope::Shop => None,
            PeriodScope::Terminal {
                glase_terminal_id, ..
            } => Some(ParameterMap::new().with("TERMINALID", glase_terminal_id.as_str())),
        }
    }
}

fn malformed(what: &str) -> GlaseError {
    GlaseError::OutcomeUnknown {
        reason: format!("Glase answered success without a usable {what}"),
    }
}

/// An answer's `value` parsed by `parse`, or `OutcomeUnknown` when it is missing or does not parse.
fn parsed<T, E>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
    what: &str,
) -> Result<T, GlaseError> {
    value.and_then(|v| parse(v).ok()).ok_or_else(|| malformed(what))
}

/// The answer of one protocol call, its error mapped to the domain's.
async fn answer<T>(
    call: impl Future<Output = Result<T, glase_protocol::GlaseError>>,
) -> Result<T, GlaseError> {
    call.await.map_err(|e| from_protocol_error(&e))
}

/// A call whose answer carries nothing the domain needs beyond success.
async fn done<T>(
    call: impl Future<Output = Result<T, glase_protocol::GlaseError>>,
) -> Result<(), GlaseError> {
    answer(call).await.map(drop)
}

/// The protocol's invoice for the domain's: its order, notification URL and issue time.
fn wire_invoice(invoice: &Invoice) -> Result<glase_protocol::Invoice, GlaseError> {
    map::invoice(
        &invoice.order,
        Some(invoice.notification_url.expose()),
        invoice.issued_at,
    )
}

impl<C: Clock + Clone> GlaseGateway for ProtocolGateway<C> {
    fn bounded(&self, by: Timestamp) -> Self {
        Self {
            until: Some(self.until.map_or(by, |until| until.min(by))),
            ..self.clone()
        }
    }

    async fn send_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice: &Invoice,
    ) -> Result<InvoiceReference, GlaseError> {
        let request = SendInvoiceRequest {
            context: self.terminal_context(terminal),
            invoice: Some(wire_invoice(invoice)?),
            tokens: Vec::new(),
        };
        let response = answer(self.client.send_invoice(&request, self.write_deadline())).await?;
        parsed(
            response.invoice_reference.as_deref(),
            InvoiceReference::parse,
            "invoiceReference",
        )
    }

    async fn payment_status(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        last_seen: StatusVersion,
    ) -> Result<Observation, GlaseError> {
        let request = GetPaymentStatusRequest {
            context: self.terminal_context(terminal),
            invoice_reference: Some(invoice_reference.as_str().to_owned()),
            invoice_version: i32::try_from(last_seen.get()).unwrap_or(i32::MAX),
        };
        let response = answer(
            self.client
                .get_payment_status(&request, self.call_deadline(self.settings.status_deadline)),
        )
        .await?;
        observation_from_status(&response, self.clock.now())
    }

    async fn cancel_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
    ) -> Result<(), GlaseError> {
        let request = CancelInvoiceRequest {
            context: self.terminal_context(terminal),
            invoice_reference: Some(invoice_reference.as_str().to_owned()),
        };
        done(self.client.cancel_invoice(&request, self.write_deadline())).await
    }

    async fn update_invoice(
        &self,
        terminal: &GlaseTerminal,
        invoice_reference: &InvoiceReference,
        invoice: &Invoice,
    ) -> Result<(), GlaseError> {
        let request = UpdateInvoiceRequest {
            context: self.terminal_context(terminal),
            invoice_reference: Some(invoice_reference.as_str().to_owned()),
            invoice: Some(wire_invoice(invoice)?),
            tokens: Vec::new(),
        };
        done(self.client.update_invoice(&request, self.write_deadline())).await
    }

    async fn refund_payment(
        &self,
        terminal: &GlaseTerminal,
        payment_reference: &ErsReference,
        refund: &RefundInvoice,
    ) -> Result<ErsReference, GlaseError> {
        let request = RefundPaymentRequest {
            context: self.terminal_context(terminal),
            ers_reference: Some(payment_reference.as_str().to_owned()),
            invoice: Some(map::refund_invoice(refund)?),
        };
        let response = answer(self.client.refund_payment(&request, self.write_deadline())).await?;
        parsed(
            response.ers_reference.as_deref(),
            ErsReference::parse,
            "refund ersReference",
        )
    }

    async fn register_terminal(
        &self,
        terminal_id: &TerminalId,
        external_id: &ExternalTerminalId,
        name: &DisplayName,
    ) -> Result<GlaseTerminalId, GlaseError> {
        let request = RegisterTerminalRequest {
            context: self.reseller_context(),
            external_terminal_id: Some(external_id.as_str().to_owned()),
            password: Some(derive_terminal_password(
                &self.settings.terminal_password_secret,
                terminal_id,
            )),
            name: Some(name.as_str().to_owned()),
        };
        let response = answer(self.client.register_terminal(&request, self.write_deadline())).await?;
        parsed(
            response.terminal_id.as_deref(),
            GlaseTerminalId::parse,
            "terminalId",
        )
    }

    async fn unregister_terminal(&self, terminal: &GlaseTerminal) -> Result<(), GlaseError> {
        let request = UnregisterTerminalRequest {
            context: self.terminal_context(terminal),
        };
        done(self.client.unregister_terminal(&request, self.write_deadline())).await
    }

    async fn assign_seqr_id(&self, terminal: &GlaseTerminal, seqr_id: &SeqrId) -> Result<(), GlaseError> {
        let request = AssignSeqrIdRequest {
            context: self.terminal_context(terminal),
            seqr_id: Some(seqr_id.as_str().to_owned()),
        };
        done(self.client.assign_seqr_id(&request, self.write_deadline())).await
    }

    async fn submit_receipt(
        &self,
        terminal: &GlaseTerminal,
        ers_reference: &ErsReference,
        receipt: &ReceiptDocument,
    ) -> Result<(), GlaseError> {
        let request = SubmitPaymentReceiptRequest {
            context: self.terminal_context(terminal),
            ers_reference: Some(ers_reference.as_str().to_owned()),
            receipt_document: Some(glase_protocol::ReceiptDocument {
                mime_type: Some(receipt.mime_type.clone()),
                receipt_data: Some(receipt.data.clone()),
                receipt_type: Some(receipt.receipt_type.clone()),
            }),
        };
        done(
            self.client
                .submit_payment_receipt(&request, self.write_deadline()),
        )
        .await
    }

    async fn mark_period(&self, scope: &PeriodScope) -> Result<TransactionPeriodId, GlaseError> {
        let request = MarkTransactionPeriodRequest {
            context: self.reseller_context(),
            parameters: Self::period_parameters(scope),
        };
        let response = answer(
            self.client
                .mark_transaction_period(&request, self.write_deadline()),
        )
        .await?;
        // REPORTING calls the id "ersReference"; the schema calls it transactionPeriodId. Take either.
        parsed(
            response
                .transaction_period_id
                .as_deref()
                .or(response.ers_reference.as_deref()),
            TransactionPeriodId::parse,
            "transactionPeriodId",
        )
    }

    async fn execute_report(&self, request: &ReportRequest) -> Result<FetchedReport, GlaseError> {
        let mut parameters =
            ParameterMap::new().with("transactionPeriodId", request.transaction_period_id.as_str());
        if let PeriodScope::Terminal {
            glase_terminal_id, ..
        } = &request.scope
        {
            parameters = parameters.with("TERMINALID", glase_terminal_id.as_str());
        }
        let wire = ExecuteReportRequest {
            context: self.reseller_context(),
            report_id: Some(request.report_id.clone()),
            language: Some("en".to_owned()),
            parameters: Some(parameters),
        };
        let response = answer(
            self.client
                .execute_report(&wire, self.call_deadline(self.settings.report_deadline)),
        )
        .await?;
        let report = response.report.ok_or_else(|| malformed("report"))?;
        let document =
            map::report_document(&request.report_id, report).ok_or_else(|| malformed("report content"))?;
        let transactions = map::report_transactions(
            &document.report_id,
            request.transaction_period_id.as_str(),
            &document.content,
        )
        .map_err(|reason| GlaseError::OutcomeUnknown {
            reason: format!("Glase sent a report that cannot be read: {reason}"),
        })?;
        Ok(FetchedReport {
            document,
            transactions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_passwords_are_deterministic_per_terminal_and_secret() {
        let master = SecretString::from("master-secret-one");
        let a = TerminalId::from_random([1; 16]);
        let b = TerminalId::from_random([2; 16]);
        let pa = derive_terminal_password(&master, &a);
        assert!(pa.verify(&derive_terminal_password(&master, &a)));
        assert!(!pa.verify(&derive_terminal_password(&master, &b)));
        assert!(!pa.verify(&derive_terminal_password(
            &SecretString::from("master-secret-two"),
            &a
        )));
        assert_eq!(pa.char_count(), 32);
    }

    /// A clock standing still at one time.
    #[derive(Clone, Copy)]
    struct At(Timestamp);

    impl Clock for At {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    fn gateway(endpoint: &str, now: Timestamp) -> ProtocolGateway<At> {
        let client = GlaseClient::new(glase_protocol::GlaseClientConfig::new(endpoint)).unwrap();
        ProtocolGateway::new(client, GlaseSettings::sandbox("master-secret"), At(now))
    }

    #[test]
    fn a_bounded_gateway_gives_each_call_the_shorter_of_its_deadline_and_the_time_left() {
        let now = Timestamp::from_unix_millis(1_795_338_000_000);
        let g = gateway("http://127.0.0.1:9/service", now);
        assert_eq!(g.call_deadline(Duration::from_secs(5)), Duration::from_secs(5));
        let bounded = g.bounded(now.plus(Duration::from_secs(2)));
        assert_eq!(
            bounded.call_deadline(Duration::from_secs(5)),
            Duration::from_secs(2)
        );
        assert_eq!(
            bounded.call_deadline(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        // A later bound never extends an earlier one; a bound that has passed leaves nothing.
        let rebounded = bounded.bounded(now.plus(Duration::from_secs(9)));
        assert_eq!(
            rebounded.call_deadline(Duration::from_secs(5)),
            Duration::from_secs(2)
        );
        let passed = g.bounded(now.minus(Duration::from_secs(1)));
        assert_eq!(passed.call_deadline(Duration::from_secs(5)), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_call_whose_bound_has_passed_is_never_sent() {
        // A listener that would take the call: nothing must connect to it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}/service", listener.local_addr().unwrap());
        let now = Timestamp::from_unix_millis(1_795_338_000_000);
        let g = gateway(&endpoint, now).bounded(now);
        let err = g
            .cancel_invoice(
                &GlaseTerminal::Webshop,
                &InvoiceReference::parse("20261122000000001").unwrap(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, GlaseError::Unavailable { .. }), "{err:?}");
        assert!(listener.accept().is_err(), "the call reached the listener");
    }

    #[test]
    fn settings_debug_shows_no_secret() {
        let settings = GlaseSettings::new(
            "webshop",
            SecretString::from("webshop-password-x"),
            "reseller",
            "9900",
            SecretString::from("reseller-password-y"),
            SecretString::from("master-secret-z"),
        );
        let text = format!("{settings:?}");
        assert!(text.contains("webshop") && text.contains("reseller"));
        for secret in ["webshop-password-x", "reseller-password-y", "master-secret-z"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }
}
