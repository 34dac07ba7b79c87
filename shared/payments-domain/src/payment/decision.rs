//! What a Glase status answer means for us: the observation, and [`decide`], which turns it into a
//! decision for a payment.

use super::{Payment, PaymentState, PaymentStatus};
use crate::ids::{ErsReference, StatusVersion, Timestamp};

/// An invoice status as Glase reports it (`invoiceStatus`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum GlaseInvoiceStatus {
    /// `ISSUED`: waiting for payment.
    Issued,
    /// `PENDING_ISSUER_ACKNOWLEDGE`: the shopper is identified; waiting for the merchant.
    PendingIssuerAcknowledge,
    /// `PAID`.
    Paid,
    /// `CANCELED`.
    Canceled,
    /// `FAILED`.
    Failed,
    /// `RESERVED`: amount reserved, awaiting commitReservation (not used by our invoices).
    Reserved,
    /// `EXPIRED` (2.10+): the invoice lapsed.
    Expired,
    /// Anything else, kept verbatim.
    Unknown(String),
}

impl GlaseInvoiceStatus {
    /// Maps the wire literal; unknown literals are kept, never an error.
    pub fn from_wire(value: &str) -> Self {
        match value {
            "ISSUED" => GlaseInvoiceStatus::Issued,
            "PENDING_ISSUER_ACKNOWLEDGE" => GlaseInvoiceStatus::PendingIssuerAcknowledge,
            "PAID" => GlaseInvoiceStatus::Paid,
            "CANCELED" => GlaseInvoiceStatus::Canceled,
            "FAILED" => GlaseInvoiceStatus::Failed,
            "RESERVED" => GlaseInvoiceStatus::Reserved,
            "EXPIRED" => GlaseInvoiceStatus::Expired,
            other => GlaseInvoiceStatus::Unknown(other.to_owned()),
        }
    }

    /// The wire literal.
    pub fn as_wire(&self) -> &str {
        match self {
            GlaseInvoiceStatus::Issued => "ISSUED",
            GlaseInvoiceStatus::PendingIssuerAcknowledge => "PENDING_ISSUER_ACKNOWLEDGE",
            GlaseInvoiceStatus::Paid => "PAID",
            GlaseInvoiceStatus::Canceled => "CANCELED",
            GlaseInvoiceStatus::Failed => "FAILED",
            GlaseInvoiceStatus::Reserved => "RESERVED",
            GlaseInvoiceStatus::Expired => "EXPIRED",
            GlaseInvoiceStatus::Unknown(other) => other,
        }
    }
}

/// One answer of getPaymentStatus, in domain terms.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Observation {
    /// The invoice status.
    pub status: GlaseInvoiceStatus,
    /// The status version Glase reported.
    pub version: StatusVersion,
    /// The payment's `ersReference` (present when paid).
    pub ers_reference: Option<ErsReference>,
    /// The receipt's `paymentDate` (present when paid).
    pub paid_at: Option<Timestamp>,
    /// When we received the answer.
    pub observed_at: Timestamp,
}

/// Why an observation changes nothing.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum NoChange {
    /// The payment is already final and the observation agrees with it (a duplicate).
    AlreadyFinal,
    /// The payment is final but Glase now reports another final status (for example a paid payment that
    /// Glase reversed). We never move a final payment; callers log and alert on this.
    FinalDisagrees {
        /// Our final status.
        ours: PaymentStatus,
        /// What Glase reported.
        glase: GlaseInvoiceStatus,
    },
    /// The observation's version is older than one we already stored (out of order).
    Stale,
    /// Still waiting, and nothing newer than what we know.
    NothingNew,
    /// Glase says paid but gave no `ersReference`; we cannot record a payment we cannot refund or
    /// reconcile, so the payment stays pending and the next check tries again.
    PaidWithoutReference,
    /// A status this crate does not know.
    UnknownStatus(String),
}

/// The outcome of [`decide`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Decision {
    /// Leave the payment as it is.
    NoChange(NoChange),
    /// Store this state and version.
    Advance {
        /// The next state (the same `Pending` when only the version moved on).
        state: PaymentState,
        /// The version to remember.
        version: StatusVersion,
    },
}

/// Decides what an observation means for a payment. Pure: the same inputs always give the same decision.
///
/// Rules: a final payment never changes; an observation older than the stored version changes nothing;
/// `ISSUED`, `PENDING_ISSUER_ACKNOWLEDGE` and `RESERVED` keep the payment pending (remembering a newer
/// version); `PAID` with an `ersReference` makes it paid; `CANCELED` and `EXPIRED` make it canceled;
/// `FAILED` makes it failed; unknown statuses change nothing.
pub fn decide(payment: &Payment, observation: &Observation) -> Decision {
    let ours = payment.state.status();
    if ours.is_final() {
        let agrees = matches!(
            (ours, &observation.status),
            (PaymentStatus::Paid, GlaseInvoiceStatus::Paid)
                | (
                    PaymentStatus::Canceled,
                    GlaseInvoiceStatus::Canceled | GlaseInvoiceStatus::Expired
                )
                | (PaymentStatus::Failed, GlaseInvoiceStatus::Failed)
        );
        let still_open = matches!(
            observation.status,
            GlaseInvoiceStatus::Issued
                | GlaseInvoiceStatus::PendingIssuerAcknowledge
                | GlaseInvoiceStatus::Reserved
                | GlaseInvoiceStatus::Unknown(_)
        );
        return Decision::NoChange(
            if agrees || still_open || observation.version < payment.glase_version {
                NoChange::AlreadyFinal
            } else {
                NoChange::FinalDisagrees {
                    ours,
                    glase: observation.status.clone(),
                }
            },
        );
    }
    if observation.version < payment.glase_version {
        return Decision::NoChange(NoChange::Stale);
    }
    let version = observation.version;
    let at = observation.observed_at;
    match &observation.status {
        GlaseInvoiceStatus::Issued
        | GlaseInvoiceStatus::PendingIssuerAcknowledge
        | GlaseInvoiceStatus::Reserved => {
            if version > payment.glase_version {
                Decision::Advance {
                    state: PaymentState::Pending,
                    version,
                }
            } else {
                Decision::NoChange(NoChange::NothingNew)
            }
        }
        GlaseInvoiceStatus::Paid => match &observation.ers_reference {
            Some(ers_reference) => Decision::Advance {
                state: PaymentState::Paid {
                    ers_reference: ers_reference.clone(),
                    paid_at: observation.paid_at.unwrap_or(at),
                },
                version,
            },
            None => Decision::NoChange(NoChange::PaidWithoutReference),
        },
        GlaseInvoiceStatus::Canceled | GlaseInvoiceStatus::Expired => Decision::Advance {
            state: PaymentState::Canceled { at },
            version,
        },
        GlaseInvoiceStatus::Failed => Decision::Advance {
            state: PaymentState::Failed { at },
            version,
        },
        GlaseInvoiceStatus::Unknown(other) => Decision::NoChange(NoChange::UnknownStatus(other.clone())),
    }
}
