//! Reporting periods and their document parts ↔ items.

use payments_domain::ids::{
    ErsReference, GlaseTerminalId, PaymentId, PeriodId, RefundId, TerminalId, TransactionPeriodId,
};
use payments_domain::money::{Currency, Money};
use payments_domain::period::{
    Mismatch, MismatchKind, PeriodRecord, PeriodScope, Reconciliation, ReportDocument, ReportingPeriod,
};

use super::{keyed, millis, opt_time, revision, time, typed_reader, u32_attr};
use crate::attrs as a;
use crate::error::DynamoError;
use crate::item::{Item, Reader, Writer};
use crate::keys::{self, item_type};

/// The most compressed bytes one document item holds. DynamoDB refuses items over 400 KB; a busy shop's
/// details report (about 300 bytes of XML per transaction) passed that as plain text at about 1,300
/// transactions a period (found by the soak), so documents are stored deflate-compressed, in parts.
pub const DOCUMENT_PART_BYTES: usize = 300_000;
/// The most compressed bytes all documents of a period may take: the period is written in one
/// transaction, which DynamoDB limits to 4 MB. Reports compress about tenfold, so this holds the
/// largest report the Glase client accepts (16 MiB).
pub const PERIOD_DOCUMENT_BYTES: usize = 3_600_000;
/// The most a stored document may inflate to: more is a damaged item, not a report.
const DOCUMENT_TEXT_LIMIT: u64 = 64 * 1024 * 1024;

fn deflate(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

fn inflate(reader: &Reader<'_>, compressed: &[u8]) -> Result<String, DynamoError> {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(DOCUMENT_TEXT_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| reader.malformed(a::CONTENT_PART, format!("does not inflate to text: {e}")))?;
    Ok(text)
}

/// The item of a period and the items of its documents' parts (so a period is not bound by the 400 KB
/// item limit). Refused when the documents together are too large for one transaction.
pub fn period_items(period: &ReportingPeriod) -> Result<(Item, Vec<Item>), DynamoError> {
    let record = period.to_record();
    let mut w = keyed(keys::period(&record.id), item_type::PERIOD)
        .string(a::PERIOD_ID, record.id.as_str())
        .string(a::TRANSACTION_PERIOD_ID, record.transaction_period_id.as_str())
        .number(a::MARKED_AT, millis(record.marked_at))
        .number(a::REVISION, record.revision.get())
        .string(a::TIMELINE_PK, keys::periods_of(&record.scope))
        .string(a::TIMELINE_SK, keys::timed(record.marked_at, record.id.as_str()));
    w = match &record.scope {
        PeriodScope::Shop => w.string(a::SCOPE, "shop"),
        PeriodScope::Terminal {
            terminal_id,
            glase_terminal_id,
        } => w
            .string(a::SCOPE, "terminal")
            .string(a::TERMINAL_ID, terminal_id.as_str())
            .string(a::GLASE_TERMINAL_ID, glase_terminal_id.as_str()),
    };
    let compressed: Vec<Vec<u8>> = record.documents.iter().map(|d| deflate(&d.content)).collect();
    let total: usize = compressed.iter().map(Vec::len).sum();
    if total > PERIOD_DOCUMENT_BYTES {
        return Err(DynamoError::Rejected {
            code: "DocumentsTooLarge".to_owned(),
            message: format!(
                "the period's report documents take {total} bytes compressed; at most {PERIOD_DOCUMENT_BYTES} fit"
            ),
        });
    }
    w = w
        .string_list(
            a::DOCUMENT_IDS,
            record.documents.iter().map(|d| d.report_id.clone()).collect(),
        )
        .number_list(
            a::DOCUMENT_PARTS,
            compressed.iter().map(|c| parts_of(c.len()) as u64),
        );
    if let Some(reconciliation) = &record.reconciliation {
        let mismatches = reconciliation
            .mismatches
            .iter()
            .map(|m| {
                let currency = m
                    .glase_amount
                    .or(m.our_amount)
                    .map(|amount| amount.currency().code().to_owned());
                Writer::new()
                    .string(a::MISMATCH_KIND, m.kind.as_str())
                    .opt_string(a::ERS_REFERENCE, m.ers_reference.as_ref().map(|e| e.as_str()))
                    .opt_string(a::PAYMENT_ID, m.payment_id.as_ref().map(|p| p.as_str()))
                    .opt_string(a::REFUND_ID, m.refund_id.as_ref().map(|p| p.as_str()))
                    .opt_string(a::CURRENCY, currency)
                    .opt_number(a::GLASE_AMOUNT, m.glase_amount.map(|m| m.minor_units()))
                    .opt_number(a::OUR_AMOUNT, m.our_amount.map(|m| m.minor_units()))
                    .build()
            })
            .collect();
        w = w
            .number(a::RECONCILED_AT, millis(reconciliation.reconciled_at))
            .number(a::MATCHED, reconciliation.matched)
            .list_of_maps(a::MISMATCHES, mismatches);
    }
    let mut documents = Vec::new();
    for (position, (document, compressed)) in record.documents.iter().zip(&compressed).enumerate() {
        // An empty document has no chunk but still takes one (empty) part.
        let mut chunks = compressed.chunks(DOCUMENT_PART_BYTES);
        for part in 0..parts_of(compressed.len()) {
            let bytes = chunks.next().unwrap_or_default().to_vec();
            documents.push(
                keyed(
                    keys::period_document(&record.id, position, part),
                    item_type::PERIOD_DOCUMENT,
                )
                .string(a::REPORT_ID, document.report_id.as_str())
                .string(a::TITLE, document.title.as_str())
                .string(a::MIME_TYPE, document.mime_type.as_str())
                .number(a::PART, part as u64)
                .binary(a::CONTENT_PART, bytes)
                .build(),
            );
        }
    }
    Ok((w.build(), documents))
}

/// How many items a document of `compressed` bytes takes (an empty one still takes one).
pub fn parts_of(compressed: usize) -> usize {
    compressed.div_ceil(DOCUMENT_PART_BYTES).max(1)
}

/// Reads a period from its item and its document items (in any order; the period item lists them).
pub fn period_from(item: &Item, documents: &[Item]) -> Result<ReportingPeriod, DynamoError> {
    let r = typed_reader(item_type::PERIOD, item)?;
    let scope = match r.string(a::SCOPE)? {
        "shop" => PeriodScope::Shop,
        "terminal" => PeriodScope::Terminal {
            terminal_id: r.parsed(a::TERMINAL_ID, TerminalId::parse)?,
            glase_terminal_id: r.parsed(a::GLASE_TERMINAL_ID, GlaseTerminalId::parse)?,
        },
        other => return Err(r.malformed(a::SCOPE, format!("`{other}` is not a period scope"))),
    };
    let mut parts = Vec::with_capacity(documents.len());
    for document in documents {
        let d = typed_reader(item_type::PERIOD_DOCUMENT, document)?;
        parts.push((d.string(a::REPORT_ID)?, d.u64(a::PART)?, d));
    }
    let ids = r.string_list(a::DOCUMENT_IDS)?;
    let counts = r.u64_list(a::DOCUMENT_PARTS)?;
    if counts.len() != ids.len() {
        return Err(r.malformed(a::DOCUMENT_PARTS, "does not count the parts of every document"));
    }
    let mut ordered = Vec::with_capacity(ids.len());
    for (id, count) in ids.iter().zip(counts) {
        let mut compressed = Vec::new();
        let mut first = None;
        for part in 0..count {
            let (_, _, d) = parts
                .iter()
                .find(|(report_id, n, _)| report_id == id && *n == part)
                .ok_or_else(|| {
                    r.malformed(
                        a::DOCUMENT_IDS,
                        format!("names document `{id}`, whose part {part} is missing"),
                    )
                })?;
            compressed.extend_from_slice(d.binary(a::CONTENT_PART)?);
            first.get_or_insert(d);
        }
        let d = first.ok_or_else(|| r.malformed(a::DOCUMENT_PARTS, format!("gives `{id}` no parts")))?;
        ordered.push(ReportDocument {
            report_id: id.clone(),
            title: d.string(a::TITLE)?.to_owned(),
            mime_type: d.string(a::MIME_TYPE)?.to_owned(),
            content: inflate(d, &compressed)?,
        });
    }
    let reconciliation = match opt_time(&r, a::RECONCILED_AT)? {
        None => None,
        Some(reconciled_at) => Some(Reconciliation {
            reconciled_at,
            matched: u32_attr(&r, a::MATCHED)?,
            mismatches: r.list_of_maps(a::MISMATCHES, |m| {
                let kind = m.string(a::MISMATCH_KIND)?;
                let kind = MismatchKind::parse(kind).ok_or_else(|| {
                    m.malformed(a::MISMATCH_KIND, format!("`{kind}` is not a mismatch kind"))
                })?;
                let currency = m.opt_parsed(a::CURRENCY, Currency::parse)?;
                let amount = |name: &str| -> Result<Option<Money>, DynamoError> {
                    match (m.opt_i64(name)?, currency) {
                        (None, _) => Ok(None),
                        (Some(minor), Some(currency)) => Ok(Some(Money::new(minor, currency))),
                        (Some(_), None) => Err(m.malformed(a::CURRENCY, "is missing")),
                    }
                };
                Ok(Mismatch {
                    kind,
                    ers_reference: m.opt_parsed(a::ERS_REFERENCE, ErsReference::parse)?,
                    payment_id: m.opt_parsed(a::PAYMENT_ID, PaymentId::parse)?,
                    refund_id: m.opt_parsed(a::REFUND_ID, RefundId::parse)?,
                    glase_amount: amount(a::GLASE_AMOUNT)?,
                    our_amount: amount(a::OUR_AMOUNT)?,
                })
            })?,
        }),
    };
    Ok(ReportingPeriod::from(PeriodRecord {
        id: r.parsed(a::PERIOD_ID, PeriodId::parse)?,
        transaction_period_id: r.parsed(a::TRANSACTION_PERIOD_ID, TransactionPeriodId::parse)?,
        scope,
        marked_at: time(&r, a::MARKED_AT)?,
        documents: ordered,
        reconciliation,
        revision: revision(&r)?,
    }))
}
