//! The reconciliation reports of the Glase merchant API (executeReport), built from the sandbox's own ledger.
//!
//! Each report is an XML document with a `<Meta>` block (`ResellerId`, `TerminalId` for per-terminal
//! reports, `TransactionPeriodId`, `GeneratedAt` as `yyyy-MM-dd HH:mm`) followed by `<Row>` elements.
//! Amounts are printed with five decimals (`93.31000`); a missing cashier prints `NULL`.
//!
//! Ledger rules: every payment that is still valid (not reversed) is one row with a positive
//! `SalesAmount`; every refund is one row with a negative `SalesAmount` and its own `ErsReference`.
//! Summaries count payments and refunds alike in `SalesCount` and add the signed amounts in
//! `SalesTotal`, one row per group and currency. Reversed payments do not appear at all. Details rows
//! (`TerminalId`, `CashierId`, `SalesAmount`, `ErsReference`) name no currency, as Glase's do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;
use time::macros::format_description;

/// The reports executeReport knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// `Reconciliation/Shop.xml` (STD_RECON_001): totals for the shop.
    ShopSummary,
    /// `Reconciliation/STD_RECON_002.xml`: totals terminal by terminal.
    TerminalByTerminal,
    /// `Reconciliation/STD_RECON_003.xml`: one row per transaction.
    Details,
    /// `Reconciliation/STD_RECON_004.xml`: totals cashier by cashier.
    CashierByCashier,
    /// `Reconciliation/STD_RECON_006.xml`: totals of one terminal.
    TerminalSummary,
    /// `Reconciliation/STD_RECON_007.xml`: the transactions of one terminal.
    TerminalDetails,
}

impl ReportKind {
    /// Every report.
    pub const ALL: [ReportKind; 6] = [
        Self::ShopSummary,
        Self::TerminalByTerminal,
        Self::Details,
        Self::CashierByCashier,
        Self::TerminalSummary,
        Self::TerminalDetails,
    ];

    /// The `reportId` of the report.
    pub fn id(self) -> &'static str {
        match self {
            Self::ShopSummary => "Reconciliation/Shop.xml",
            Self::TerminalByTerminal => "Reconciliation/STD_RECON_002.xml",
            Self::Details => "Reconciliation/STD_RECON_003.xml",
            Self::CashierByCashier => "Reconciliation/STD_RECON_004.xml",
            Self::TerminalSummary => "Reconciliation/STD_RECON_006.xml",
            Self::TerminalDetails => "Reconciliation/STD_RECON_007.xml",
        }
    }

    /// The report with this `reportId`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Whether the report needs a per-terminal period (STD_RECON_006 and 007).
    pub fn per_terminal(self) -> bool {
        matches!(self, Self::TerminalSummary | Self::TerminalDetails)
    }

    /// `report.title`: `STD_RECON_00N_<transactionPeriodId>.xml`, empty for the shop summary.
    pub fn title(self, period_id: &str) -> String {
        let number = match self {
            Self::ShopSummary => return String::new(),
            Self::TerminalByTerminal => 2,
            Self::Details => 3,
            Self::CashierByCashier => 4,
            Self::TerminalSummary => 6,
            Self::TerminalDetails => 7,
        };
        format!("STD_RECON_00{number}_{period_id}.xml")
    }

    fn root(self) -> &'static str {
        match self {
            Self::ShopSummary => "ResellerTransactionSummary",
            Self::TerminalByTerminal | Self::TerminalSummary => "TerminalTransactionSummary",
            Self::Details | Self::TerminalDetails => "TransactionDetails",
            Self::CashierByCashier => "CashierTransactionSummary",
        }
    }
}

/// One ledger line as the reports see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLine {
    /// The terminal that took the payment or made the refund.
    pub terminal_id: String,
    /// The invoice's cashier, if any.
    pub cashier_id: Option<String>,
    /// Signed amount in minor units: positive for payments, negative for refunds.
    pub amount_minor: i64,
    /// The currency.
    pub currency: String,
    /// The payment's or the refund's reference.
    pub ers_reference: String,
}

/// The `<Meta>` block.
#[derive(Clone, Debug)]
pub struct ReportMeta {
    /// The reseller.
    pub reseller_id: String,
    /// The terminal of a per-terminal report.
    pub terminal_id: Option<String>,
    /// The period.
    pub transaction_period_id: String,
    /// When the report was produced (sandbox time).
    pub generated_at: OffsetDateTime,
}

/// Formats minor units with five decimals: `9331` → `93.31000`.
pub fn five_decimals(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}000", abs / 100, abs % 100)
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

#[derive(Default)]
struct Totals {
    count: u64,
    total: i64,
}

/// Writes one report over `lines` (already restricted to the period, reversed payments left out).
pub fn render(kind: ReportKind, meta: &ReportMeta, lines: &[ReportLine]) -> String {
    let root = kind.root();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<{root}>");
    out.push_str("  <Meta>\n");
    let _ = writeln!(
        out,
        "    <ResellerId>{}</ResellerId>",
        xml_escape(&meta.reseller_id)
    );
    if let Some(t) = &meta.terminal_id {
        let _ = writeln!(out, "    <TerminalId>{}</TerminalId>", xml_escape(t));
    }
    let _ = writeln!(
        out,
        "    <TransactionPeriodId>{}</TransactionPeriodId>",
        xml_escape(&meta.transaction_period_id)
    );
    let generated = meta
        .generated_at
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default();
    let _ = writeln!(out, "    <GeneratedAt>{generated}</GeneratedAt>");
    out.push_str("  </Meta>\n");
    let cashier = |l: &ReportLine| l.cashier_id.clone().unwrap_or_else(|| "NULL".to_owned());
    match kind {
        ReportKind::Details | ReportKind::TerminalDetails => {
            for l in lines {
                let _ = writeln!(
                    out,
                    "  <Row>\n    <TerminalId>{}</TerminalId>\n    <CashierId>{}</CashierId>\n    \
                     <SalesAmount>{}</SalesAmount>\n    <ErsReference>{}</ErsReference>\n  </Row>",
                    xml_escape(&l.terminal_id),
                    xml_escape(&cashier(l)),
                    five_decimals(l.amount_minor),
                    xml_escape(&l.ers_reference)
                );
            }
        }
        ReportKind::ShopSummary | ReportKind::TerminalSummary => {
            write_groups(&mut out, None, lines, |_| String::new());
        }
        ReportKind::TerminalByTerminal => {
            write_groups(&mut out, Some("TerminalId"), lines, |l| l.terminal_id.clone());
        }
        ReportKind::CashierByCashier => {
            write_groups(&mut out, Some("CashierId"), lines, cashier);
        }
    }
    let _ = writeln!(out, "</{root}>");
    out
}

fn write_groups(
    out: &mut String,
    key_element: Option<&str>,
    lines: &[ReportLine],
    key: impl Fn(&ReportLine) -> String,
) {
    let mut groups: BTreeMap<(String, String), Totals> = BTreeMap::new();
    for l in lines {
        let entry = groups.entry((key(l), l.currency.clone())).or_default();
        entry.count += 1;
        entry.total = entry.total.saturating_add(l.amount_minor);
    }
    for ((k, currency), totals) in groups {
        out.push_str("  <Row>\n");
        if let Some(element) = key_element {
            let _ = writeln!(out, "    <{element}>{}</{element}>", xml_escape(&k));
        }
        let _ = writeln!(
            out,
            "    <Currency>{}</Currency>\n    <SalesCount>{}</SalesCount>\n    <SalesTotal>{}</SalesTotal>\n  </Row>",
            xml_escape(&currency),
            totals.count,
            five_decimals(totals.total)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn lines() -> Vec<ReportLine> {
        let line = |t: &str, c: Option<&str>, a: i64, e: &str| ReportLine {
            terminal_id: t.into(),
            cashier_id: c.map(Into::into),
            amount_minor: a,
            currency: "SEK".into(),
            ers_reference: e.into(),
        };
        vec![
            line("t1", Some("Bob"), 9331, "1"),
            line("t2", None, 1000, "2"),
            line("t1", Some("Bob"), -331, "3"),
        ]
    }

    fn meta() -> ReportMeta {
        ReportMeta {
            reseller_id: "shop".into(),
            terminal_id: None,
            transaction_period_id: "P1".into(),
            generated_at: datetime!(2026-01-02 03:04:05 UTC),
        }
    }

    #[test]
    fn amounts_have_five_decimals() {
        assert_eq!(five_decimals(9331), "93.31000");
        assert_eq!(five_decimals(-5), "-0.05000");
        assert_eq!(five_decimals(0), "0.00000");
    }

    #[test]
    fn details_list_refunds_as_negative_rows_and_null_cashiers() {
        let xml = render(ReportKind::Details, &meta(), &lines());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "TransactionDetails");
        let amounts: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("SalesAmount"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(amounts, ["93.31000", "10.00000", "-3.31000"]);
        assert!(xml.contains("<CashierId>NULL</CashierId>"));
        assert!(xml.contains("<GeneratedAt>2026-01-02 03:04</GeneratedAt>"));
    }

    #[test]
    fn summaries_group_count_and_net_the_amounts() {
        let xml = render(ReportKind::TerminalByTerminal, &meta(), &lines());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let rows: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Row"))
            .map(|r| {
                let text = |name: &str| {
                    r.children()
                        .find(|c| c.has_tag_name(name))
                        .and_then(|c| c.text())
                        .unwrap()
                };
                (
                    text("TerminalId").to_owned(),
                    text("SalesCount").to_owned(),
                    text("SalesTotal").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("t1".into(), "2".into(), "90.00000".into()),
                ("t2".into(), "1".into(), "10.00000".into())
            ]
        );
        let shop = render(ReportKind::ShopSummary, &meta(), &lines());
        assert!(
            shop.contains("<SalesCount>3</SalesCount>")
                && shop.contains("<SalesTotal>100.00000</SalesTotal>")
        );
        let cashiers = render(ReportKind::CashierByCashier, &meta(), &lines());
        assert!(
            cashiers.contains("<CashierId>NULL</CashierId>")
                && cashiers.contains("<CashierId>Bob</CashierId>")
        );
    }

    #[test]
    fn titles_and_ids_follow_the_protocol_document() {
        assert_eq!(ReportKind::ShopSummary.title("9"), "");
        assert_eq!(ReportKind::TerminalDetails.title("9"), "STD_RECON_007_9.xml");
        for k in ReportKind::ALL {
            assert_eq!(ReportKind::from_id(k.id()), Some(k));
        }
        assert_eq!(ReportKind::from_id("SOME_REPORT"), None);
    }
}
