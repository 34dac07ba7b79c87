//! The invariants, checked on what the soak collected: our payments as the API answers them, the
//! sandbox's invoices and events (its ledger), the times glase-local was down, and the logs. Pure
//! functions over plain data, so each can be tested on its own.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

/// Glase's acknowledgement window, in milliseconds.
pub const ACK_WINDOW_MS: i64 = 20_000;

/// One of our payments as `GET /v1/payments/{id}` answered it at the end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OurPayment {
    /// Our id.
    pub id: String,
    /// Glase's invoice reference.
    pub invoice_reference: String,
    /// `pending`, `paid`, `canceled`, ...
    pub status: String,
    /// The total in minor units.
    pub total: i64,
    /// The expiry in Unix milliseconds.
    pub expires_at_ms: i64,
    /// Glase's payment reference once paid.
    pub ers_reference: Option<String>,
    /// Its refunds.
    pub refunds: Vec<OurRefund>,
    /// Refund requests the API accepted (202) for it.
    pub refunds_asked: u32,
}

/// One of our refunds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OurRefund {
    /// Our id.
    pub id: String,
    /// The amount in minor units.
    pub amount: i64,
    /// `queued`, `sending`, `succeeded`, `failed`, `needs_reconciliation`.
    pub status: String,
    /// Its last change, Unix milliseconds.
    pub updated_at_ms: i64,
}

/// One answer to a refund request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KeyAnswer {
    /// Nothing came back (the client's timeout, or nothing answered within its patience): the request
    /// may have recorded a refund.
    #[default]
    NoAnswer,
    /// Accepted (2xx) as this refund.
    Accepted(String),
    /// Refused with this HTTP status.
    Refused(u16),
}

/// The answers one refund request's `Idempotency-Key` got: the first attempt and, when the client asked
/// again with the same key and body after the idempotency lease ran out, that retry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRetry {
    /// The payment.
    pub payment_id: String,
    /// The first attempt's answer.
    pub first: KeyAnswer,
    /// The retry's answer, when there was one.
    pub retry: Option<KeyAnswer>,
}

impl KeyRetry {
    fn accepted(&self) -> bool {
        matches!(self.first, KeyAnswer::Accepted(_)) || matches!(self.retry, Some(KeyAnswer::Accepted(_)))
    }

    /// No attempt was accepted and one got no answer: the key may stand for a refund nobody saw.
    fn unanswered(&self) -> bool {
        !self.accepted() && (self.first == KeyAnswer::NoAnswer || self.retry == Some(KeyAnswer::NoAnswer))
    }

    /// Why the retry contradicts the first answer, if it does: one key must stand for one refund.
    fn contradiction(&self) -> Option<String> {
        match (&self.first, &self.retry) {
            (KeyAnswer::Accepted(a), Some(KeyAnswer::Accepted(b))) if a != b => Some(format!(
                "{}: one key answered refund {a}, then {b} after the lease",
                self.payment_id
            )),
            (KeyAnswer::Accepted(a), Some(KeyAnswer::Refused(status))) => Some(format!(
                "{}: one key answered refund {a}, then {status} after the lease",
                self.payment_id
            )),
            _ => None,
        }
    }
}

/// An invoice as the sandbox holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SandboxInvoice {
    /// The reference.
    pub reference: String,
    /// The wire status (`PAID`, `ISSUED`, `CANCELED`, ...).
    pub status: String,
    /// The payment's reference, when paid.
    pub ers_reference: Option<String>,
    /// Whether the payment was reversed (not acknowledged in the window).
    pub reversed: bool,
}

/// What the sandbox's event log says about money.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    /// `refund_issued`: original payment reference and amount, one entry per executed refund.
    pub refunds: Vec<(String, i64)>,
    /// `payment_reversed`: invoice reference and the time of the payment (Unix ms).
    pub reversals: Vec<(String, i64)>,
    /// `payment_received`: invoice reference to payment time (Unix ms).
    pub paid_at: HashMap<String, i64>,
    /// `fault_injected` counts by `target action`.
    pub faults: BTreeMap<String, u64>,
}

/// One invariant's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The invariant.
    pub name: &'static str,
    /// Whether it holds.
    pub pass: bool,
    /// The counts behind the verdict, and what failed.
    pub detail: String,
}

/// Unix milliseconds of an RFC 3339 text (0 when unreadable).
pub fn unix_ms(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
        .unwrap_or(0)
}

/// Reads the sandbox's `GET /sandbox/events` answer.
pub fn ledger_of(events: &Value) -> Ledger {
    let mut ledger = Ledger::default();
    for e in events["events"].as_array().into_iter().flatten() {
        let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        match e["type"].as_str().unwrap_or_default() {
            "refund_issued" => ledger.refunds.push((
                text("original_ers_reference"),
                e["amount_minor"].as_i64().unwrap_or(0),
            )),
            "payment_received" | "reservation_committed" => {
                ledger
                    .paid_at
                    .insert(text("invoice_reference"), unix_ms(&text("at")));
            }
            "payment_reversed" => {
                let invoice = text("invoice_reference");
                let paid = ledger.paid_at.get(&invoice).copied().unwrap_or(0);
                ledger.reversals.push((invoice, paid));
            }
            "fault_injected" => {
                *ledger
                    .faults
                    .entry(format!("{} {}", text("target"), text("action")))
                    .or_insert(0) += 1;
            }
            _ => {}
        }
    }
    ledger
}

/// Reads the sandbox's `GET /sandbox/invoices` answer.
pub fn invoices_of(list: &Value) -> Vec<SandboxInvoice> {
    list["invoices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| SandboxInvoice {
            reference: i["invoice_reference"].as_str().unwrap_or_default().to_owned(),
            status: i["status"].as_str().unwrap_or_default().to_owned(),
            ers_reference: i["payment"]["ers_reference"].as_str().map(str::to_owned),
            reversed: i["payment"]["reversed"].as_bool().unwrap_or(false),
        })
        .collect()
}

/// Reads a payment answer of the API.
pub fn payment_of(body: &Value, refunds_asked: u32) -> OurPayment {
    OurPayment {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        invoice_reference: body["invoice_reference"].as_str().unwrap_or_default().to_owned(),
        status: body["status"].as_str().unwrap_or_default().to_owned(),
        total: body["total"].as_i64().unwrap_or(0),
        expires_at_ms: unix_ms(body["expires_at"].as_str().unwrap_or_default()),
        ers_reference: body["ers_reference"].as_str().map(str::to_owned),
        refunds: body["refunds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| OurRefund {
                id: r["id"].as_str().unwrap_or_default().to_owned(),
                amount: r["amount"].as_i64().unwrap_or(0),
                status: r["status"].as_str().unwrap_or_default().to_owned(),
                updated_at_ms: unix_ms(r["updated_at"].as_str().unwrap_or_default()),
            })
            .collect(),
        refunds_asked,
    }
}

/// `lead` and a [`sample`] of `list`, or nothing when it is empty.
fn sample_after(lead: &str, list: &[String]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!("{lead}{}", sample(list))
    }
}

/// The items joined with commas, or `none`.
fn joined_or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn sample(list: &[String]) -> String {
    let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
    if list.len() > shown.len() {
        format!("{} …", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Invariant 1: every invoice the sandbox holds as paid is paid with us, and the reverse.
pub fn paid_both_ways(ours: &[OurPayment], invoices: &[SandboxInvoice]) -> Outcome {
    let by_reference: HashMap<&str, &OurPayment> =
        ours.iter().map(|p| (p.invoice_reference.as_str(), p)).collect();
    let paid_at_glase: HashSet<&str> = invoices
        .iter()
        .filter(|i| i.status == "PAID")
        .map(|i| i.reference.as_str())
        .collect();
    let mut problems = Vec::new();
    for reference in &paid_at_glase {
        match by_reference.get(reference) {
            Some(p) if p.status == "paid" => {}
            Some(p) => problems.push(format!("{} paid at Glase, {} with us", p.id, p.status)),
            None => problems.push(format!("invoice {reference} paid at Glase, unknown to us")),
        }
    }
    let paid_with_us = ours.iter().filter(|p| p.status == "paid").count();
    for p in ours.iter().filter(|p| p.status == "paid") {
        if !paid_at_glase.contains(p.invoice_reference.as_str()) {
            problems.push(format!("{} paid with us, not at Glase", p.id));
        }
    }
    Outcome {
        name: "paid at Glase = paid with us",
        pass: problems.is_empty(),
        detail: format!(
            "{} paid at Glase, {paid_with_us} paid with us, {} differ{}",
            paid_at_glase.len(),
            problems.len(),
            sample_after(": ", &problems)
        ),
    }
}

/// Invariant 2: no reversal of a payment made while our side was up for its window: a reversal is
/// excused only when glase-local was down for longer than the window after the payment (`downtimes` in Unix ms).
pub fn no_reversals(ledger: &Ledger, downtimes: &[(i64, i64)]) -> Outcome {
    let mut excused = Vec::new();
    let mut unexcused = Vec::new();
    for (invoice, paid) in &ledger.reversals {
        let window_end = paid + ACK_WINDOW_MS;
        let down: i64 = downtimes
            .iter()
            .map(|(from, to)| (to.min(&window_end) - from.max(paid)).max(0))
            .sum();
        if down >= ACK_WINDOW_MS {
            excused.push(invoice.clone());
        } else {
            unexcused.push(format!("{invoice} (down {down} ms of its window)"));
        }
    }
    Outcome {
        name: "no reversal while we were up",
        pass: unexcused.is_empty(),
        detail: format!(
            "{} reversals, {} excused (down the whole window){}{}",
            ledger.reversals.len(),
            excused.len(),
            sample_after(": ", &excused),
            sample_after("; not excused: ", &unexcused)
        ),
    }
}

/// Invariant 3: no refund executed twice. Per payment, Glase's refunds and our refund records are no
/// more than the refund keys we asked with (accepted, or unanswered and so perhaps recorded), and
/// Glase's refunds add up to no more than the payment; a key asked again with the same body after the
/// idempotency lease (`retries`) answers the refund it answered first; and our books agree with
/// Glase's: every refund Glase executed is one we hold as succeeded or still unsettled (queued,
/// sending, needs_reconciliation), never one we hold as failed (which would make its amount refundable
/// again), and every refund we hold as succeeded was executed.
pub fn refunds_once(ours: &[OurPayment], ledger: &Ledger, retries: &[KeyRetry]) -> Outcome {
    let mut unanswered: HashMap<&str, u32> = HashMap::new();
    for k in retries.iter().filter(|k| k.unanswered()) {
        *unanswered.entry(k.payment_id.as_str()).or_insert(0) += 1;
    }
    let keys_of = |p: &OurPayment| p.refunds_asked + unanswered.get(p.id.as_str()).copied().unwrap_or(0);
    let mut at_glase: HashMap<&str, (u32, i64)> = HashMap::new();
    for (ers, amount) in &ledger.refunds {
        let entry = at_glase.entry(ers.as_str()).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += amount;
    }
    let by_ers: HashMap<&str, &OurPayment> = ours
        .iter()
        .filter_map(|p| p.ers_reference.as_deref().map(|e| (e, p)))
        .collect();
    let mut problems = Vec::new();
    for (ers, (count, sum)) in &at_glase {
        let Some(p) = by_ers.get(ers) else {
            problems.push(format!("{count} refunds at Glase of unknown payment {ers}"));
            continue;
        };
        if *count > keys_of(p) {
            problems.push(format!(
                "{}: {count} refunds at Glase, {} asked",
                p.id,
                keys_of(p)
            ));
        }
        if *sum > p.total {
            problems.push(format!("{}: {sum} refunded at Glase of {}", p.id, p.total));
        }
    }
    problems.extend(retries.iter().filter_map(KeyRetry::contradiction));
    let mut succeeded_total = 0usize;
    let mut unsettled_total = 0usize;
    for p in ours {
        let recorded = u32::try_from(p.refunds.len()).unwrap_or(u32::MAX);
        if recorded > keys_of(p) {
            problems.push(format!(
                "{}: {recorded} refunds recorded with us, {} asked",
                p.id,
                keys_of(p)
            ));
        }
        let count = |statuses: &[&str]| {
            let rs: Vec<&OurRefund> = p
                .refunds
                .iter()
                .filter(|r| statuses.contains(&r.status.as_str()))
                .collect();
            (rs.len(), rs.iter().map(|r| r.amount).sum::<i64>())
        };
        let (ok, ok_sum) = count(&["succeeded"]);
        let (open, open_sum) = count(&["queued", "sending", "needs_reconciliation"]);
        succeeded_total += ok;
        unsettled_total += open;
        let (glase, glase_sum) = p
            .ers_reference
            .as_deref()
            .and_then(|e| at_glase.get(e))
            .map_or((0, 0), |(c, s)| (*c as usize, *s));
        if glase < ok || glase_sum < ok_sum || glase > ok + open || glase_sum > ok_sum + open_sum {
            let statuses: Vec<String> = p
                .refunds
                .iter()
                .map(|r| format!("{} {}", r.amount, r.status))
                .collect();
            problems.push(format!(
                "{}: {glase} ({glase_sum}) at Glase, ours: [{}]",
                p.id,
                statuses.join(", ")
            ));
        }
    }
    Outcome {
        name: "no refund executed twice",
        pass: problems.is_empty(),
        detail: format!(
            "{} refunds at Glase; with us {succeeded_total} succeeded and {unsettled_total} not yet settled; \
             {} asked ({} unanswered); {} keys asked again after the lease ({} after a client-side \
             time-out); {} problems{}",
            ledger.refunds.len(),
            ours.iter().map(|p| p.refunds_asked).sum::<u32>(),
            unanswered.values().sum::<u32>(),
            retries.iter().filter(|k| k.retry.is_some()).count(),
            retries
                .iter()
                .filter(|k| k.retry.is_some() && k.first == KeyAnswer::NoAnswer)
                .count(),
            problems.len(),
            sample_after(": ", &problems)
        ),
    }
}

/// Invariant 4: no payment left pending past its expiry (plus `grace_ms` for the expiry pass to run).
pub fn none_pending_past_expiry(ours: &[OurPayment], now_ms: i64, grace_ms: i64) -> Outcome {
    let pending: Vec<&OurPayment> = ours.iter().filter(|p| p.status == "pending").collect();
    let late: Vec<String> = pending
        .iter()
        .filter(|p| now_ms > p.expires_at_ms + grace_ms)
        .map(|p| format!("{} ({} s past)", p.id, (now_ms - p.expires_at_ms) / 1000))
        .collect();
    Outcome {
        name: "none pending past expiry",
        pass: late.is_empty(),
        detail: format!(
            "{} pending at the end, {} past expiry{}",
            pending.len(),
            late.len(),
            sample_after(": ", &late)
        ),
    }
}

fn in_status<'a>(ours: &'a [OurPayment], status: &'a str) -> impl Iterator<Item = &'a OurRefund> + 'a {
    ours.iter()
        .flat_map(|p| p.refunds.iter())
        .filter(move |r| r.status == status)
}

/// The newest change of a refund in `needs_reconciliation` (0 when none): a period report settles a
/// refund only when its outcome became unknown long enough before the mark.
pub fn newest_unsettled_change(ours: &[OurPayment]) -> i64 {
    ours.iter()
        .flat_map(|p| p.refunds.iter())
        .filter(|r| r.status == "needs_reconciliation")
        .map(|r| r.updated_at_ms)
        .max()
        .unwrap_or(0)
}

/// Refunds still on their way (`queued` for a retry, or `sending`, which the outbox sweep hands to
/// reconciliation when a kill left it so).
pub fn in_flight(ours: &[OurPayment]) -> usize {
    ours.iter()
        .flat_map(|p| p.refunds.iter())
        .filter(|r| r.status == "queued" || r.status == "sending")
        .count()
}

/// Invariant 5: every refund that needed reconciliation before the period reports is settled after them,
/// and no refund that existed before them is left needing it. Refunds asked later (those whose outcome
/// became unknown moments before the mark, `margin_ids`, wait for the next period) are not judged here.
pub fn reconciliation_settled(
    before: &[OurPayment],
    after: &[OurPayment],
    reports: usize,
    margin_ids: &HashSet<String>,
) -> Outcome {
    let waiting: HashSet<&str> = in_status(before, "needs_reconciliation")
        .map(|r| r.id.as_str())
        .collect();
    let after_by_id: HashMap<&str, &OurRefund> = after
        .iter()
        .flat_map(|p| p.refunds.iter())
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &waiting {
        let status = after_by_id.get(id).map_or("missing", |r| r.status.as_str());
        *outcomes.entry(status).or_insert(0) += 1;
    }
    let before_by_id: HashMap<&str, &OurRefund> = before
        .iter()
        .flat_map(|p| p.refunds.iter())
        .map(|r| (r.id.as_str(), r))
        .collect();
    let waiting_next = in_status(after, "needs_reconciliation")
        .filter(|r| margin_ids.contains(&r.id))
        .count();
    let left: Vec<String> = in_status(after, "needs_reconciliation")
        .filter_map(|r| {
            before_by_id
                .get(r.id.as_str())
                .map(|b| format!("{} (before the reports: {})", r.id, b.status))
        })
        .collect();
    let settled: Vec<String> = outcomes.iter().map(|(s, n)| format!("{n} {s}")).collect();
    Outcome {
        name: "needs_reconciliation settled by the report",
        pass: left.is_empty(),
        detail: format!(
            "{} needed reconciliation before {reports} period reports ({}); {} left after \
             ({waiting_next} more, unknown within the settle margin, wait for the next period){}",
            waiting.len(),
            joined_or_none(&settled),
            left.len(),
            sample_after(": ", &left)
        ),
    }
}

/// A refund whose outcome became unknown (`needs_reconciliation`) moments before a period's mark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarginRefund {
    /// The payment.
    pub payment_id: String,
    /// The refund.
    pub refund_id: String,
    /// When it became unknown, Unix milliseconds.
    pub unknown_at_ms: i64,
}

/// The refunds of `margin` that became unknown less than `margin_ms` before the mark at `mark_ms`.
pub fn within_margin(margin: &[MarginRefund], mark_ms: i64, margin_ms: i64) -> Vec<MarginRefund> {
    margin
        .iter()
        .filter(|m| (0..margin_ms).contains(&(mark_ms - m.unknown_at_ms)))
        .cloned()
        .collect()
}

/// Invariant 7: refunds whose outcome became unknown within the settle margin before the mark
/// (`margin`, as [`within_margin`] picks them; `asked` says how many were made unknown before the mark
/// at all) are left for a later period: none is declared `failed` by that period's report, and none
/// is refunded again (`refunded_again`: the payments where a second refund of the whole amount, asked
/// after the reports, was accepted). Fails too when no refund was unknown within the margin at the
/// mark, since then nothing was shown.
pub fn margin_refunds_kept(
    margin: &[MarginRefund],
    asked: usize,
    after: &[OurPayment],
    mark_ms: i64,
    refunded_again: &[String],
) -> Outcome {
    let status_of: HashMap<&str, &str> = after
        .iter()
        .flat_map(|p| p.refunds.iter())
        .map(|r| (r.id.as_str(), r.status.as_str()))
        .collect();
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failed = Vec::new();
    for m in margin {
        let status = status_of.get(m.refund_id.as_str()).copied().unwrap_or("missing");
        *statuses.entry(status).or_insert(0) += 1;
        if status == "failed" || status == "missing" {
            failed.push(format!("{} of {} ({status})", m.refund_id, m.payment_id));
        }
    }
    let before_mark: Vec<i64> = margin.iter().map(|m| mark_ms - m.unknown_at_ms).collect();
    let shown: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
    Outcome {
        name: "refunds unknown at the mark not failed, not refunded again",
        pass: !margin.is_empty() && failed.is_empty() && refunded_again.is_empty(),
        detail: format!(
            "{} of {asked} refunds made unknown before the mark turned needs_reconciliation within the \
             margin ({}-{} ms before it); after the reports: {}; refunded again: {}{}{}",
            margin.len(),
            before_mark.iter().min().copied().unwrap_or(0),
            before_mark.iter().max().copied().unwrap_or(0),
            joined_or_none(&shown),
            refunded_again.len(),
            sample_after("; declared failed: ", &failed),
            sample_after("; refunded again: ", refunded_again)
        ),
    }
}

/// Of the reversals, those of `invoices` (a set of invoice references) and those whose acknowledgement
/// window overlapped `stretch` (Unix ms, from and to).
pub fn reversals_among(ledger: &Ledger, invoices: &HashSet<String>, stretch: (i64, i64)) -> (u64, u64) {
    let among = ledger
        .reversals
        .iter()
        .filter(|(invoice, _)| invoices.contains(invoice))
        .count() as u64;
    let within = ledger
        .reversals
        .iter()
        .filter(|(_, paid)| *paid + ACK_WINDOW_MS >= stretch.0 && *paid <= stretch.1)
        .count() as u64;
    (among, within)
}

/// Where secrets were found in the logs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretScan {
    /// Lines read.
    pub lines: usize,
    /// Lines left out as the allowed banner line.
    pub excused: usize,
    /// `file:line: kind` of each hit.
    pub hits: Vec<String>,
}

/// Searches `text` (one log file named `file`) for any of `secrets` (value to kind), skipping lines
/// equal to one of `allowed` exactly. Every secret here is made of letters, digits and `_`, so only runs
/// of those characters at least as long as the shortest secret are looked at, each at every offset.
pub fn scan_secrets(
    file: &str,
    text: &str,
    secrets: &HashMap<String, &'static str>,
    allowed: &[String],
    scan: &mut SecretScan,
) {
    let mut lengths: Vec<usize> = secrets
        .keys()
        .map(String::len)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    lengths.sort_unstable();
    let shortest = lengths.first().copied().unwrap_or(usize::MAX);
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (n, line) in text.lines().enumerate() {
        scan.lines += 1;
        if allowed.iter().any(|a| a == line) {
            scan.excused += 1;
            continue;
        }
        let bytes = line.as_bytes();
        let mut hit = None;
        let mut start = 0;
        while start < bytes.len() && hit.is_none() {
            if !word(bytes[start]) {
                start += 1;
                continue;
            }
            let end = bytes[start..]
                .iter()
                .position(|b| !word(*b))
                .map_or(bytes.len(), |p| start + p);
            if end - start >= shortest {
                // The run is ASCII, so every offset is a character boundary.
                let run = &line[start..end];
                'run: for len in lengths.iter().filter(|l| **l <= run.len()) {
                    for offset in 0..=run.len() - len {
                        if let Some(kind) = secrets.get(&run[offset..offset + len]) {
                            hit = Some(*kind);
                            break 'run;
                        }
                    }
                }
            }
            start = end;
        }
        if let Some(kind) = hit {
            scan.hits.push(format!("{file}:{}: {kind}", n + 1));
        }
    }
}

/// Invariant 6: secrets never logged.
pub fn secrets_outcome(scan: &SecretScan, secrets: &HashMap<String, &'static str>) -> Outcome {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for kind in secrets.values() {
        *kinds.entry(kind).or_insert(0) += 1;
    }
    let searched: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    Outcome {
        name: "secrets never logged",
        pass: scan.hits.is_empty(),
        detail: format!(
            "{} log lines searched for {}; {} hits{}; {} banner line(s) with the API key left out",
            scan.lines,
            searched.join(", "),
            scan.hits.len(),
            sample_after(": ", &scan.hits),
            scan.excused
        ),
    }
}

/// The summary as JSON.
pub fn summary_json(faults: &[(String, u64)], outcomes: &[Outcome], counts: &[(String, u64)]) -> Value {
    json!({
        "faults": faults.iter().map(|(f, n)| json!({"fault": f, "injected": n})).collect::<Vec<_>>(),
        "invariants": outcomes
            .iter()
            .map(|o| json!({"invariant": o.name, "pass": o.pass, "detail": o.detail}))
            .collect::<Vec<_>>(),
        "counts": counts.iter().map(|(c, n)| json!({"what": c, "count": n})).collect::<Vec<_>>(),
    })
}

/// The summary as a Markdown table.
pub fn summary_table(faults: &[(String, u64)], outcomes: &[Outcome], counts: &[(String, u64)]) -> String {
    let mut out = String::from("| Fault injected | Count |\n|---|---|\n");
    for (f, n) in faults {
        out.push_str(&format!("| {f} | {n} |\n"));
    }
    out.push_str("\n| What happened | Count |\n|---|---|\n");
    for (c, n) in counts {
        out.push_str(&format!("| {c} | {n} |\n"));
    }
    out.push_str("\n| Invariant | Result | Counts |\n|---|---|---|\n");
    for o in outcomes {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            o.name,
            if o.pass { "pass" } else { "FAIL" },
            o.detail.replace('|', "/")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(id: &str, invoice: &str, status: &str) -> OurPayment {
        OurPayment {
            id: id.into(),
            invoice_reference: invoice.into(),
            status: status.into(),
            total: 1_000,
            ers_reference: (status == "paid").then(|| format!("ers-{invoice}")),
            ..OurPayment::default()
        }
    }

    fn invoice(reference: &str, status: &str) -> SandboxInvoice {
        SandboxInvoice {
            reference: reference.into(),
            status: status.into(),
            ..SandboxInvoice::default()
        }
    }

    #[test]
    fn paid_must_agree_both_ways() {
        let ours = vec![payment("p1", "i1", "paid"), payment("p2", "i2", "canceled")];
        assert!(paid_both_ways(&ours, &[invoice("i1", "PAID"), invoice("i2", "CANCELED")]).pass);
        let lost = paid_both_ways(&ours, &[invoice("i1", "PAID"), invoice("i2", "PAID")]);
        assert!(
            !lost.pass && lost.detail.contains("p2 paid at Glase, canceled with us"),
            "{lost:?}"
        );
        let unknown = paid_both_ways(&ours, &[invoice("i1", "PAID"), invoice("i9", "PAID")]);
        assert!(!unknown.pass && unknown.detail.contains("i9 paid at Glase, unknown to us"));
        let only_ours = paid_both_ways(&ours, &[invoice("i1", "CANCELED")]);
        assert!(!only_ours.pass && only_ours.detail.contains("p1 paid with us, not at Glase"));
    }

    #[test]
    fn a_reversal_is_excused_only_when_we_were_down_for_the_whole_window() {
        let ledger = Ledger {
            reversals: vec![("i1".into(), 100_000)],
            ..Ledger::default()
        };
        assert!(no_reversals(&ledger, &[(90_000, 125_000)]).pass);
        let short = no_reversals(&ledger, &[(100_000, 102_000)]);
        assert!(
            !short.pass && short.detail.contains("i1 (down 2000 ms"),
            "{short:?}"
        );
        assert!(no_reversals(&Ledger::default(), &[]).pass);
    }

    #[test]
    fn refunds_at_glase_must_match_what_we_asked_and_recorded() {
        let mut p = payment("p1", "i1", "paid");
        p.refunds_asked = 1;
        p.refunds = vec![OurRefund {
            id: "r1".into(),
            amount: 300,
            status: "succeeded".into(),
            ..OurRefund::default()
        }];
        let once = Ledger {
            refunds: vec![("ers-i1".into(), 300)],
            ..Ledger::default()
        };
        assert!(refunds_once(std::slice::from_ref(&p), &once, &[]).pass);
        let twice = Ledger {
            refunds: vec![("ers-i1".into(), 300), ("ers-i1".into(), 300)],
            ..Ledger::default()
        };
        let o = refunds_once(std::slice::from_ref(&p), &twice, &[]);
        assert!(
            !o.pass && o.detail.contains("p1: 2 refunds at Glase, 1 asked"),
            "{o:?}"
        );
        p.refunds[0].status = "sending".into();
        assert!(
            refunds_once(std::slice::from_ref(&p), &once, &[]).pass,
            "not settled yet is no error"
        );
        p.refunds[0].status = "failed".into();
        let lost = refunds_once(std::slice::from_ref(&p), &once, &[]);
        assert!(
            !lost.pass && lost.detail.contains("p1: 1 (300) at Glase, ours: [300 failed]"),
            "{lost:?}"
        );
        let too_much = Ledger {
            refunds: vec![("ers-i1".into(), 1_001)],
            ..Ledger::default()
        };
        assert!(
            refunds_once(&[p], &too_much, &[])
                .detail
                .contains("1001 refunded at Glase of 1000")
        );
    }

    #[test]
    fn a_key_asked_again_after_the_lease_must_answer_its_first_refund() {
        let refund = |id: &str, status: &str| OurRefund {
            id: id.into(),
            amount: 300,
            status: status.into(),
            ..OurRefund::default()
        };
        let mut p = payment("p1", "i1", "paid");
        p.refunds_asked = 1;
        p.refunds = vec![refund("r1", "succeeded")];
        let once = Ledger {
            refunds: vec![("ers-i1".into(), 300)],
            ..Ledger::default()
        };
        let key = |first: KeyAnswer, retry: KeyAnswer| KeyRetry {
            payment_id: "p1".into(),
            first,
            retry: Some(retry),
        };
        let same = key(KeyAnswer::Accepted("r1".into()), KeyAnswer::Accepted("r1".into()));
        let o = refunds_once(std::slice::from_ref(&p), &once, std::slice::from_ref(&same));
        assert!(
            o.pass && o.detail.contains("1 keys asked again after the lease (0 after"),
            "{o:?}"
        );
        let other = key(KeyAnswer::Accepted("r1".into()), KeyAnswer::Accepted("r2".into()));
        let o = refunds_once(std::slice::from_ref(&p), &once, &[other]);
        assert!(
            !o.pass
                && o.detail
                    .contains("p1: one key answered refund r1, then r2 after the lease"),
            "{o:?}"
        );
        let refused = key(KeyAnswer::Accepted("r1".into()), KeyAnswer::Refused(409));
        assert!(!refunds_once(std::slice::from_ref(&p), &once, &[refused]).pass);
        // A first attempt that timed out may have recorded the refund its retry then refuses: allowed
        // once, but never two refunds for one key.
        p.refunds_asked = 0;
        let timed_out = key(KeyAnswer::NoAnswer, KeyAnswer::Refused(409));
        let o = refunds_once(std::slice::from_ref(&p), &once, std::slice::from_ref(&timed_out));
        assert!(o.pass && o.detail.contains("0 asked (1 unanswered)"), "{o:?}");
        p.refunds_asked = 1;
        p.refunds.push(refund("r2", "succeeded"));
        let twice = Ledger {
            refunds: vec![("ers-i1".into(), 300), ("ers-i1".into(), 300)],
            ..Ledger::default()
        };
        let retried = key(KeyAnswer::NoAnswer, KeyAnswer::Accepted("r2".into()));
        let o = refunds_once(std::slice::from_ref(&p), &twice, &[retried]);
        assert!(
            !o.pass
                && o.detail.contains("p1: 2 refunds at Glase, 1 asked")
                && o.detail.contains("p1: 2 refunds recorded with us, 1 asked"),
            "{o:?}"
        );
    }

    #[test]
    fn refunds_unknown_at_the_mark_must_not_fail_or_be_refunded_again() {
        let mut p = payment("p1", "i1", "paid");
        let with = |p: &mut OurPayment, status: &str| {
            p.refunds = vec![OurRefund {
                id: "r1".into(),
                amount: 1_000,
                status: status.into(),
                ..OurRefund::default()
            }];
            p.clone()
        };
        let unknown_at = |refund_id: &str, at: i64| MarginRefund {
            payment_id: "p1".into(),
            refund_id: refund_id.into(),
            unknown_at_ms: at,
        };
        let made = [
            unknown_at("r1", 9_000),
            unknown_at("r0", -5_000),
            unknown_at("r9", 11_000),
        ];
        let margin = within_margin(&made, 10_000, 10_000);
        assert_eq!(
            margin,
            vec![unknown_at("r1", 9_000)],
            "15 s before and after the mark are not"
        );
        let kept = margin_refunds_kept(&margin, 3, &[with(&mut p, "needs_reconciliation")], 10_000, &[]);
        assert!(
            kept.pass
                && kept
                    .detail
                    .contains("1 of 3 refunds made unknown before the mark turned needs_reconciliation")
                && kept
                    .detail
                    .contains("(1000-1000 ms before it); after the reports: 1 needs_reconciliation"),
            "{kept:?}"
        );
        let failed = margin_refunds_kept(&margin, 1, &[with(&mut p, "failed")], 10_000, &[]);
        assert!(!failed.pass && failed.detail.contains("declared failed: r1 of p1 (failed)"));
        let again = margin_refunds_kept(
            &margin,
            1,
            &[with(&mut p, "needs_reconciliation")],
            10_000,
            &["p1".to_owned()],
        );
        assert!(!again.pass && again.detail.contains("refunded again: p1"));
        assert!(
            !margin_refunds_kept(&[], 3, &[], 10_000, &[]).pass,
            "nothing shown"
        );
    }

    #[test]
    fn reversals_are_told_apart_by_group_and_by_stretch() {
        let ledger = Ledger {
            reversals: vec![
                ("i1".into(), 100_000),
                ("i2".into(), 130_000),
                ("i3".into(), 200_000),
            ],
            ..Ledger::default()
        };
        let push_only = HashSet::from(["i2".to_owned(), "i3".to_owned()]);
        // i1's window (100-120 s) overlaps the stretch from 115 s; i2 is inside it; i3 is after it.
        assert_eq!(reversals_among(&ledger, &push_only, (115_000, 150_000)), (2, 2));
    }

    #[test]
    fn a_payment_pending_past_its_expiry_fails() {
        let mut p = payment("p1", "i1", "pending");
        p.expires_at_ms = 10_000;
        assert!(none_pending_past_expiry(std::slice::from_ref(&p), 14_000, 5_000).pass);
        assert!(!none_pending_past_expiry(std::slice::from_ref(&p), 16_000, 5_000).pass);
        p.status = "canceled".into();
        assert!(none_pending_past_expiry(&[p], 100_000, 5_000).pass);
    }

    #[test]
    fn the_newest_unsettled_change_ignores_settled_refunds() {
        let mut p = payment("p1", "i1", "paid");
        let refund = |status: &str, at: i64| OurRefund {
            status: status.into(),
            updated_at_ms: at,
            ..OurRefund::default()
        };
        p.refunds = vec![
            refund("needs_reconciliation", 5),
            refund("sending", 7),
            refund("succeeded", 9),
        ];
        assert_eq!(in_flight(std::slice::from_ref(&p)), 1);
        assert_eq!(newest_unsettled_change(&[p]), 5);
        assert_eq!(newest_unsettled_change(&[]), 0);
    }

    #[test]
    fn refunds_left_needing_reconciliation_fail() {
        let with = |status: &str| {
            let mut p = payment("p1", "i1", "paid");
            p.refunds = vec![OurRefund {
                id: "r1".into(),
                amount: 100,
                status: status.into(),
                ..OurRefund::default()
            }];
            vec![p]
        };
        let none = HashSet::new();
        let settled = reconciliation_settled(&with("needs_reconciliation"), &with("succeeded"), 2, &none);
        assert!(
            settled.pass
                && settled
                    .detail
                    .contains("1 needed reconciliation before 2 period reports (1 succeeded)")
        );
        let left = with("needs_reconciliation");
        assert!(!reconciliation_settled(&left, &left, 2, &none).pass);
        let o = reconciliation_settled(&with("succeeded"), &left, 2, &none);
        assert!(
            !o.pass && o.detail.contains("r1 (before the reports: succeeded)"),
            "{o:?}"
        );
        let o = reconciliation_settled(&[], &left, 2, &HashSet::from(["r1".to_owned()]));
        assert!(
            o.pass
                && o.detail
                    .contains("0 left after (1 more, unknown within the settle margin"),
            "{o:?}"
        );
    }

    #[test]
    fn secrets_are_found_anywhere_in_a_line_except_the_allowed_banner() {
        let secrets: HashMap<String, &'static str> = [
            ("cs_0123456789abcdef".to_owned(), "client secret"),
            ("tok123".to_owned(), "notification token"),
        ]
        .into();
        let mut scan = SecretScan::default();
        let text =
            "ok line\nGET /v1/x?client_secret=cs_0123456789abcdef\nkey=xtok123y é\n  API key  tok123\n";
        scan_secrets(
            "a.log",
            text,
            &secrets,
            &["  API key  tok123".to_owned()],
            &mut scan,
        );
        assert_eq!(scan.lines, 4);
        assert_eq!(scan.excused, 1);
        assert_eq!(
            scan.hits,
            vec!["a.log:2: client secret", "a.log:3: notification token"]
        );
        let o = secrets_outcome(&scan, &secrets);
        assert!(
            !o.pass && o.detail.contains("1 client secret, 1 notification token"),
            "{o:?}"
        );
    }

    #[test]
    fn the_sandbox_log_becomes_a_ledger() {
        let events = json!({"events": [
            {"seq": 1, "at": "2026-11-30T05:00:00Z", "type": "payment_received", "invoice_reference": "i1",
             "ers_reference": "e1", "amount_minor": 100, "currency": "SEK", "ack_deadline": "2026-11-30T05:00:20Z"},
            {"seq": 2, "at": "2026-11-30T05:00:21Z", "type": "payment_reversed", "invoice_reference": "i1",
             "ers_reference": "e1"},
            {"seq": 3, "at": "2026-11-30T05:00:22Z", "type": "refund_issued", "original_ers_reference": "e0",
             "ers_reference": "r1", "amount_minor": 50, "currency": "SEK"},
            {"seq": 4, "at": "2026-11-30T05:00:22Z", "type": "fault_injected", "target": "notification",
             "action": "drop"},
            {"seq": 5, "at": "2026-11-30T05:00:23Z", "type": "fault_injected", "target": "notification",
             "action": "drop"}
        ]});
        let ledger = ledger_of(&events);
        assert_eq!(ledger.refunds, vec![("e0".to_owned(), 50)]);
        assert_eq!(
            ledger.reversals,
            vec![("i1".to_owned(), unix_ms("2026-11-30T05:00:00Z"))]
        );
        assert_eq!(ledger.faults.get("notification drop"), Some(&2));
    }
}
