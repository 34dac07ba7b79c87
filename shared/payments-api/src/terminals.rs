//! The point-of-sale routes: the merchant's terminal administration (`/v1/terminals…`) and the till's
//! "try again" (`POST /v1/payments/{id}/try-again`), with their JSON bodies.
//!
//! Handlers are thin like the others: authenticate, parse, call one use case, render. A terminal's
//! password never appears here; the gateway derives it.

use http::StatusCode;
use payments_domain::ids::{SeqrId, TerminalId};
use payments_domain::order::{DisplayName, ExternalTerminalId};
use payments_domain::ports::Ports;
use payments_domain::terminal::{Terminal, TerminalState};
use payments_domain::usecases::UseCaseError;
use serde::{Deserialize, Serialize};

use crate::app::{ApiRequest, App, Handled, json};
use crate::dto::rfc3339;
use crate::error::ApiError;

/// `POST /v1/terminals`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterTerminalBody {
    /// The merchant's id of the till; unique.
    pub external_id: String,
    /// The name shown on the shopper's phone.
    pub name: String,
}

/// `PUT /v1/terminals/{id}/glase-id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignGlaseIdBody {
    /// The Glase ID printed on the sticker (typed, or scanned from its Code 128 barcode).
    pub glase_id: String,
}

/// A terminal as the API shows it (never its password).
#[derive(Debug, Clone, Serialize)]
pub struct TerminalDto {
    /// Our id.
    pub id: String,
    /// The merchant's id of the till.
    pub external_id: String,
    /// The display name.
    pub name: String,
    /// `active` or `unregistered`.
    pub status: &'static str,
    /// The sticker's Glase ID, once assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glase_id: Option<String>,
    /// The sticker QR text `HTTP://SEQR.SE/Q<glase_id>`, once assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticker_qr: Option<String>,
    /// When it was registered.
    pub created_at: String,
}

impl From<&Terminal> for TerminalDto {
    fn from(t: &Terminal) -> Self {
        Self {
            id: t.id().as_str().to_owned(),
            external_id: t.external_id().as_str().to_owned(),
            name: t.name().as_str().to_owned(),
            status: match t.state() {
                TerminalState::Active => "active",
                TerminalState::Unregistered { .. } => "unregistered",
            },
            glase_id: t.seqr_id().map(|s| s.as_str().to_owned()),
            sticker_qr: t.seqr_id().map(SeqrId::sticker_qr),
            created_at: rfc3339(t.to_record().created_at),
        }
    }
}

/// `GET /v1/terminals`.
#[derive(Debug, Clone, Serialize)]
pub struct TerminalListDto {
    /// Every terminal, oldest first.
    pub terminals: Vec<TerminalDto>,
}

fn terminal_id(raw: &str) -> Result<TerminalId, ApiError> {
    TerminalId::parse(raw).map_err(|_| ApiError::not_found("terminal"))
}

impl<P: Ports> App<P> {
    pub(crate) async fn register_terminal(&self, request: &ApiRequest) -> Handled {
        let body: RegisterTerminalBody = self.merchant_body(request)?;
        let external_id = ExternalTerminalId::parse(&body.external_id)
            .map_err(|e| ApiError::invalid_field("external_id", e.to_string()))?;
        let name =
            DisplayName::parse(&body.name).map_err(|e| ApiError::invalid_field("name", e.to_string()))?;
        let registering = self.deps.register_terminal(external_id, name);
        let registered = self.recorded("registerTerminal", registering).await?;
        let status = if registered.created {
            tracing::info!(
                terminal_id = registered.terminal.id().as_str(),
                "terminal registered"
            );
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json(status, &TerminalDto::from(&registered.terminal)))
    }

    pub(crate) async fn list_terminals(&self, request: &ApiRequest) -> Handled {
        self.merchant(request)?;
        let terminals = self.deps.list_terminals().await?;
        Ok(json(
            StatusCode::OK,
            &TerminalListDto {
                terminals: terminals.iter().map(TerminalDto::from).collect(),
            },
        ))
    }

    pub(crate) async fn assign_glase_id(&self, request: &ApiRequest, id: &str) -> Handled {
        let body: AssignGlaseIdBody = self.merchant_body(request)?;
        let id = terminal_id(id)?;
        let seqr_id =
            SeqrId::parse(&body.glase_id).map_err(|e| ApiError::invalid_field("glase_id", e.to_string()))?;
        let assigning = self.deps.assign_glase_id(&id, seqr_id);
        let terminal = self
            .recorded("assignSeqrId", assigning)
            .await
            .map_err(|e| match e {
                UseCaseError::GlaseRejected { code: 53, .. } => ApiError::glase_rejected(
                    53,
                    "the Glase ID is not valid or is assigned to another terminal",
                    true,
                ),
                other => other.into(),
            })?;
        Ok(json(StatusCode::OK, &TerminalDto::from(&terminal)))
    }

    pub(crate) async fn unregister_terminal(&self, request: &ApiRequest, id: &str) -> Handled {
        self.merchant(request)?;
        let id = terminal_id(id)?;
        let unregistering = self.deps.unregister_terminal(&id);
        let terminal = self.recorded("unregisterTerminal", unregistering).await?;
        tracing::info!(terminal_id = id.as_str(), "terminal unregistered");
        Ok(json(StatusCode::OK, &TerminalDto::from(&terminal)))
    }

    pub(crate) async fn try_again(&self, request: &ApiRequest, id: &str) -> Handled {
        let (id, asker) = self.payment_asker(request, id)?;
        let view = self.deps.restart_pos_window(&id, asker.caller()).await?;
        Ok(json(
            StatusCode::OK,
            &self.payment_dto(&view.payment, &view.refunds),
        ))
    }
}
