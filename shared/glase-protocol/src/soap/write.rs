//! A small XML writer for the envelopes this crate emits, and the per-type element writers.
//!
//! Output is compact (no indentation, no XML declaration). Empty text is written as `<x></x>`, the way
//! the documented examples show `<itemUnit></itemUnit>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::model::{
    Amount, ClientContext, CustomerToken, Invoice, InvoiceRow, ParameterMap, Receipt, ReceiptDocument, Report,
};

/// Accumulates XML text.
pub(crate) struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self {
            out: String::with_capacity(1024),
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// Writes markup verbatim (only for constant, trusted text).
    pub(crate) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    pub(crate) fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>escaped text</name>`.
    pub(crate) fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_into(&mut self.out, value);
        self.close(name);
    }

    pub(crate) fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(name, value);
        }
    }

    pub(crate) fn display(&mut self, name: &str, value: impl std::fmt::Display) {
        self.text(name, &value.to_string());
    }

    pub(crate) fn opt_display<T: std::fmt::Display>(&mut self, name: &str, value: Option<T>) {
        if let Some(value) = value {
            self.display(name, value);
        }
    }

    pub(crate) fn opt_base64(&mut self, name: &str, value: Option<&[u8]>) {
        if let Some(bytes) = value {
            self.text(name, &BASE64.encode(bytes));
        }
    }
}

/// Escapes character data. `&`, `<` and `>` become entities; a carriage return becomes `&#13;` so that
/// XML line-end normalisation does not turn it into a line feed; characters XML 1.0 cannot carry
/// (most C0 controls, U+FFFE, U+FFFF) are replaced by U+FFFD.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Whether XML 1.0 allows `c` in a document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(crate) fn context(w: &mut XmlWriter, ctx: &ClientContext) {
    w.open("context");
    w.opt_text("channel", ctx.channel.as_deref());
    w.opt_text("clientComment", ctx.client_comment.as_deref());
    w.opt_text("clientId", ctx.client_id.as_deref());
    w.opt_text("clientReference", ctx.client_reference.as_deref());
    w.display("clientRequestTimeout", ctx.client_request_timeout);
    w.open("initiatorPrincipalId");
    w.text("id", &ctx.initiator.id);
    w.text("type", ctx.initiator.kind.as_str());
    w.opt_text("userId", ctx.initiator.user_id.as_deref());
    w.close("initiatorPrincipalId");
    w.text("password", ctx.password.expose());
    w.close("context");
}

pub(crate) fn amount(w: &mut XmlWriter, name: &str, amount: &Amount) {
    w.open(name);
    w.text("currency", &amount.currency);
    w.display("value", amount.value);
    w.close(name);
}

pub(crate) fn opt_amount(w: &mut XmlWriter, name: &str, value: Option<&Amount>) {
    if let Some(value) = value {
        amount(w, name, value);
    }
}

pub(crate) fn invoice(w: &mut XmlWriter, name: &str, inv: &Invoice) {
    w.open(name);
    w.opt_text("paymentMode", inv.payment_mode.as_ref().map(|m| m.as_str()));
    w.opt_text(
        "acknowledgmentMode",
        inv.acknowledgment_mode.as_ref().map(|m| m.as_str()),
    );
    w.opt_text("issueDate", inv.issue_date.as_deref());
    w.opt_text("title", inv.title.as_deref());
    w.opt_text("clientInvoiceId", inv.client_invoice_id.as_deref());
    if let Some(rows) = &inv.invoice_rows {
        w.open("invoiceRows");
        for row in rows {
            invoice_row(w, row);
        }
        w.close("invoiceRows");
    }
    opt_amount(w, "totalAmount", inv.total_amount.as_ref());
    w.opt_text("cashierId", inv.cashier_id.as_deref());
    w.opt_text("footer", inv.footer.as_deref());
    w.opt_text("backURL", inv.back_url.as_deref());
    w.opt_text("notificationUrl", inv.notification_url.as_deref());
    w.opt_display("commitReservationTimeout", inv.commit_reservation_timeout);
    w.close(name);
}

fn invoice_row(w: &mut XmlWriter, row: &InvoiceRow) {
    w.open("invoiceRow");
    w.opt_text("itemDescription", row.item_description.as_deref());
    opt_amount(w, "itemDiscount", row.item_discount.as_ref());
    w.opt_text("itemEAN", row.item_ean.as_deref());
    w.opt_display("itemQuantity", row.item_quantity);
    w.opt_text("itemSKU", row.item_sku.as_deref());
    w.opt_display("itemTaxRate", row.item_tax_rate);
    opt_amount(w, "itemTotalAmount", row.item_total_amount.as_ref());
    w.opt_text("itemUnit", row.item_unit.as_deref());
    opt_amount(w, "itemUnitPrice", row.item_unit_price.as_ref());
    w.close("invoiceRow");
}

/// The `invoice` (when there is one) and the repeated `tokens` of sendInvoice and updateInvoice.
pub(crate) fn invoice_and_tokens(w: &mut XmlWriter, inv: Option<&Invoice>, tokens: &[CustomerToken]) {
    if let Some(inv) = inv {
        invoice(w, "invoice", inv);
    }
    for t in tokens {
        token(w, "tokens", t);
    }
}

pub(crate) fn token(w: &mut XmlWriter, name: &str, token: &CustomerToken) {
    w.open(name);
    w.opt_text("description", token.description.as_deref());
    w.opt_text("id", token.id.as_deref());
    w.display("status", token.status);
    w.opt_text("value", token.value.as_deref());
    w.close(name);
}

pub(crate) fn parameters(w: &mut XmlWriter, map: &ParameterMap) {
    w.open("parameters");
    w.open("parameter");
    for (key, value) in &map.entries {
        w.open("entry");
        w.text("key", key);
        w.text("value", value);
        w.close("entry");
    }
    w.close("parameter");
    w.close("parameters");
}

pub(crate) fn receipt_document(w: &mut XmlWriter, doc: &ReceiptDocument) {
    w.open("receiptDocument");
    w.opt_text("mimeType", doc.mime_type.as_deref());
    w.opt_base64("receiptData", doc.receipt_data.as_deref());
    w.opt_text("receiptType", doc.receipt_type.as_deref());
    w.close("receiptDocument");
}

pub(crate) fn receipt(w: &mut XmlWriter, r: &Receipt) {
    w.open("receipt");
    w.opt_text("terminalId", r.terminal_id.as_deref());
    w.opt_text("paymentDate", r.payment_date.as_deref());
    w.opt_text("clientInvoiceId", r.client_invoice_id.as_deref());
    w.opt_text("invoiceReference", r.invoice_reference.as_deref());
    w.opt_text("paymentReference", r.payment_reference.as_deref());
    w.opt_text("payerTerminalId", r.payer_terminal_id.as_deref());
    w.opt_text("receiverName", r.receiver_name.as_deref());
    if let Some(inv) = &r.invoice {
        invoice(w, "invoice", inv);
    }
    w.close("receipt");
}

pub(crate) fn report(w: &mut XmlWriter, r: &Report) {
    w.open("report");
    w.opt_text("title", r.title.as_deref());
    w.opt_text("mimeType", r.mime_type.as_deref());
    w.opt_base64("content", r.content.as_deref());
    w.opt_text("contentString", r.content_string.as_deref());
    w.close("report");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_carriage_returns_and_invalid_characters() {
        let mut out = String::new();
        escape_into(&mut out, "a<b>&c\"d'\r\n\t\u{0}\u{1F}\u{FFFE}é😀");
        assert_eq!(out, "a&lt;b&gt;&amp;c\"d'&#13;\n\t\u{FFFD}\u{FFFD}\u{FFFD}é😀");
    }
}
