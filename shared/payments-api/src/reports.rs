//! Period reports: `POST /v1/reports` closes a transaction period and reconciles it, `GET
//! /v1/reports/{id}` reads one, and the daily schedule (`{"job":"close-period"}`) closes the shop's period
//! under the key of its UTC date.
//!
//! The handlers are thin: they parse, call [`Deps::close_period`](payments_domain::usecases::Deps) or
//! read the period, count mismatches in the `ReconciliationMismatches` metric (the template's alarm) and
//! render a [`ReportDto`].

use std::time::Duration;

use http::StatusCode;
use payments_domain::ids::{PeriodId, TerminalId, Timestamp};
use payments_domain::period::{Mismatch, PeriodScope, PeriodStatus, ReportingPeriod};
use payments_domain::ports::{Clock, Ports};
use payments_domain::usecases::{ClosePeriod, ClosedPeriod};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::app::{ApiRequest, App, Handled, json, parse_body};
use crate::dto::rfc3339;
use crate::error::ApiError;
use crate::metrics::Metric;

/// How long one close may spend waiting for reports before it answers `reports_pending` (the function's
/// timeout is 60 s and one executeReport call may itself take up to 20 s).
pub const REPORTS_BUDGET: Duration = Duration::from_secs(30);

/// The schedule's job name.
pub const CLOSE_PERIOD_JOB: &str = "close-period";

/// The body of `POST /v1/reports` (optional as a whole).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosePeriodBody {
    /// A POS terminal: close its period instead of the shop's.
    pub terminal_id: Option<String>,
    /// Makes the close idempotent.
    pub period_key: Option<String>,
}

/// The event the schedule sends: `{"job":"close-period"}`, optionally with the slot's time (EventBridge
/// Scheduler's `<aws.scheduler.scheduled-time>`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledJob {
    /// The job; only `close-period` exists.
    pub job: String,
    /// The time the schedule fired for (RFC 3339); without it, the function's clock.
    pub scheduled_time: Option<String>,
}

impl ScheduledJob {
    /// The period key of the slot: `daily-` and the UTC date of the scheduled time (or of `now`). A
    /// retried or repeated event of the same day maps to the same key, hence the same period.
    pub fn period_key(&self, now: Timestamp) -> Result<String, ApiError> {
        if self.job != CLOSE_PERIOD_JOB {
            return Err(ApiError::invalid_field(
                "job",
                format!("unknown job; the only job is `{CLOSE_PERIOD_JOB}`"),
            ));
        }
        let at = match &self.scheduled_time {
            Some(text) => OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| ApiError::invalid_field("scheduled_time", "not an RFC 3339 time"))?,
            None => OffsetDateTime::from_unix_timestamp_nanos(i128::from(now.unix_millis()) * 1_000_000)
                .map_err(|_| ApiError::internal())?,
        };
        let date = at
            .to_offset(time::UtcOffset::UTC)
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::internal())?;
        Ok(format!("daily-{date}"))
    }
}

/// One report document as the API shows it.
#[derive(Debug, Serialize)]
pub struct ReportDocumentDto {
    /// The `reportId`.
    pub report_id: String,
    /// Glase's title.
    pub title: String,
    /// Glase's MIME type (`text/html` although the content is XML).
    pub mime_type: String,
    /// The raw document.
    pub content: String,
}

/// One mismatch as the API shows it.
#[derive(Debug, Serialize)]
pub struct MismatchDto {
    /// `paid_at_glase_only`, `paid_with_us_only`, `amount_differs`, `refund_unknown` or
    /// `refund_undecided`.
    pub kind: &'static str,
    /// The transaction's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ers_reference: Option<String>,
    /// Our payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Our refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Glase's amount in minor units (negative for a refund).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glase_amount: Option<i64>,
    /// Our amount in minor units (negative for a refund).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub our_amount: Option<i64>,
    /// The currency of the amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl From<&Mismatch> for MismatchDto {
    fn from(m: &Mismatch) -> Self {
        MismatchDto {
            kind: m.kind.as_str(),
            ers_reference: m.ers_reference.as_ref().map(|e| e.as_str().to_owned()),
            payment_id: m.payment_id.as_ref().map(|p| p.as_str().to_owned()),
            refund_id: m.refund_id.as_ref().map(|r| r.as_str().to_owned()),
            glase_amount: m.glase_amount.map(|a| a.minor_units()),
            our_amount: m.our_amount.map(|a| a.minor_units()),
            currency: m
                .glase_amount
                .or(m.our_amount)
                .map(|a| a.currency().code().to_owned()),
        }
    }
}

/// A period with its documents and reconciliation.
#[derive(Debug, Serialize)]
pub struct ReportDto {
    /// Our id of the period.
    pub id: String,
    /// Glase's `transactionPeriodId`.
    pub transaction_period_id: String,
    /// The terminal of a per-terminal period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// `reports_pending`, `reconciled` or `mismatches_found`.
    pub status: &'static str,
    /// When the period was marked.
    pub created_at: String,
    /// The documents fetched.
    pub documents: Vec<ReportDocumentDto>,
    /// How many Glase transactions matched ours (once reconciled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u32>,
    /// When it was reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// Every mismatch.
    pub mismatches: Vec<MismatchDto>,
}

impl From<&ReportingPeriod> for ReportDto {
    fn from(p: &ReportingPeriod) -> Self {
        ReportDto {
            id: p.id().as_str().to_owned(),
            transaction_period_id: p.transaction_period_id().as_str().to_owned(),
            terminal_id: match p.scope() {
                PeriodScope::Shop => None,
                PeriodScope::Terminal { terminal_id, .. } => Some(terminal_id.as_str().to_owned()),
            },
            status: p.status().as_str(),
            created_at: rfc3339(p.marked_at()),
            documents: p
                .documents()
                .iter()
                .map(|d| ReportDocumentDto {
                    report_id: d.report_id.clone(),
                    title: d.title.clone(),
                    mime_type: d.mime_type.clone(),
                    content: d.content.clone(),
                })
                .collect(),
            matched: p.reconciliation().map(|r| r.matched),
            reconciled_at: p.reconciliation().map(|r| rfc3339(r.reconciled_at)),
            mismatches: p
                .reconciliation()
                .map(|r| r.mismatches.iter().map(MismatchDto::from).collect())
                .unwrap_or_default(),
        }
    }
}

impl<P: Ports> App<P> {
    async fn close(&self, request: ClosePeriod) -> Result<ClosedPeriod, ApiError> {
        let deadline = self.deps.clock.now().plus(REPORTS_BUDGET);
        let closing = self.deps.close_period(request, deadline, tokio::time::sleep);
        let closed = self.recorded("markTransactionPeriod", closing).await?;
        let period = &closed.period;
        if let Some(r) = period.reconciliation().filter(|_| closed.reconciled_now) {
            let count = u64::try_from(r.mismatches.len()).unwrap_or(u64::MAX);
            self.metrics.record(&Metric::ReconciliationMismatches(count));
            tracing::info!(
                period_id = period.id().as_str(),
                matched = r.matched,
                mismatches = count,
                "period reconciled"
            );
        }
        tracing::info!(
            period_id = period.id().as_str(),
            created = closed.created,
            status = period.status().as_str(),
            "period closed"
        );
        Ok(closed)
    }

    /// `POST /v1/reports`.
    pub(crate) async fn close_period(&self, request: &ApiRequest) -> Handled {
        self.merchant(request)?;
        let body: ClosePeriodBody = if request.body().iter().all(u8::is_ascii_whitespace) {
            ClosePeriodBody::default()
        } else {
            parse_body(request)?
        };
        if let Some(key) = &body.period_key {
            payments_domain::usecases::reports::check_period_key(key).map_err(|e| match e {
                payments_domain::usecases::UseCaseError::Invalid(message) => {
                    ApiError::invalid_field("period_key", message)
                }
                other => other.into(),
            })?;
        }
        let terminal_id = body
            .terminal_id
            .map(|t| TerminalId::parse(&t).map_err(|_| ApiError::not_found("terminal")))
            .transpose()?;
        let closed = self
            .close(ClosePeriod {
                period_key: body.period_key,
                terminal_id,
            })
            .await?;
        let status = if closed.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json(status, &ReportDto::from(&closed.period)))
    }

    /// `GET /v1/reports/{id}`.
    pub(crate) async fn get_report(&self, request: &ApiRequest, id: &str) -> Handled {
        self.merchant(request)?;
        let id = PeriodId::parse(id).map_err(|_| ApiError::not_found("report"))?;
        let period = self.deps.get_period(&id).await?;
        Ok(json(StatusCode::OK, &ReportDto::from(&period)))
    }

    /// Runs the schedule's job: closes the shop's period of the slot's UTC date and reconciles it.
    ///
    /// A period whose reports are not all fetched within [`REPORTS_BUDGET`] stays `reports_pending` and
    /// the job fails with 503 `unavailable`: the reporting function's invocation then fails, Lambda runs
    /// the same event again (the function's asynchronous retries), and the retry, with the same slot and
    /// hence the same period key, resumes the same period instead of closing another. A job that still
    /// fails after the last retry goes to the schedules' dead-letter queue, which has an alarm.
    pub async fn run_scheduled_job(&self, job: &ScheduledJob) -> Result<ReportDto, ApiError> {
        let period_key = job.period_key(self.deps.clock.now())?;
        let closed = self
            .close(ClosePeriod {
                period_key: Some(period_key),
                terminal_id: None,
            })
            .await?;
        if closed.period.status() == PeriodStatus::ReportsPending {
            return Err(ApiError::unavailable(format!(
                "period {} is closed but its reports are not all fetched yet; the retry resumes it",
                closed.period.id().as_str()
            )));
        }
        Ok(ReportDto::from(&closed.period))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(json: &str) -> ScheduledJob {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_schedule_maps_to_the_utc_date_of_its_slot() {
        // 2026-11-22T09:00:00Z.
        let now = Timestamp::from_unix_millis(1_795_338_000_000);
        assert_eq!(
            job(r#"{"job":"close-period"}"#).period_key(now).unwrap(),
            "daily-2026-11-22"
        );
        assert_eq!(
            job(r#"{"job":"close-period","scheduled_time":"2026-11-30T00:05:00+01:00"}"#)
                .period_key(now)
                .unwrap(),
            "daily-2026-11-29",
            "the slot's time in UTC wins over the clock"
        );
    }

    #[test]
    fn unknown_jobs_and_times_are_refused() {
        let now = Timestamp::from_unix_millis(0);
        assert_eq!(
            job(r#"{"job":"sweep"}"#).period_key(now).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            job(r#"{"job":"close-period","scheduled_time":"yesterday"}"#)
                .period_key(now)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        assert!(serde_json::from_str::<ScheduledJob>(r#"{"job":"close-period","x":1}"#).is_err());
    }
}
