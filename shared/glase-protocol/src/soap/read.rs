//! Parsing of envelopes into the model: limits first, then lenient element lookup.
//!
//! Children are found by local name whatever their order or namespace prefix; unknown children are
//! ignored; an absent optional element stays `None`; an absent primitive (`xs:int`/`xs:long` without
//! `minOccurs="0"`) is 0. A present primitive or enum that does not parse is an error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use roxmltree::{Document, Node, ParsingOptions};

use super::{DecodeError, Limits, MAX_DEPTH, SOAP_ENV_NS};
use crate::model::{
    AcknowledgmentMode, Amount, ClientContext, CustomerToken, Decimal, Invoice, InvoiceRow, InvoiceStatus,
    ParameterMap, Password, PaymentMode, PrincipalId, PrincipalType, Receipt, ReceiptDocument, Report,
};

/// Checks size and encoding, parses with DTDs refused, and checks the depth, with the limits of an
/// ordinary message ([`Limits::MESSAGE`]).
pub(crate) fn parse(bytes: &[u8]) -> Result<Document<'_>, DecodeError> {
    parse_within(bytes, Limits::MESSAGE)
}

/// [`parse`] with other size limits.
pub(crate) fn parse_within(bytes: &[u8], limits: Limits) -> Result<Document<'_>, DecodeError> {
    if bytes.len() > limits.bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: limits.bytes,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.nodes,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => DecodeError::DtdNotAllowed,
        roxmltree::Error::NodesLimitReached => DecodeError::TooManyNodes,
        other => DecodeError::Malformed(other.to_string()),
    })?;
    check_depth(&doc)?;
    Ok(doc)
}

/// Rejects documents nested deeper than [`MAX_DEPTH`], in one pass over the nodes.
fn check_depth(doc: &Document<'_>) -> Result<(), DecodeError> {
    let mut depths: Vec<u32> = Vec::new();
    for node in doc.descendants() {
        let index = node.id().get_usize();
        let depth = node
            .parent()
            .map_or(0, |p| depths.get(p.id().get_usize()).copied().unwrap_or(0) + 1);
        if depth as usize > MAX_DEPTH {
            return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
        }
        if depths.len() <= index {
            depths.resize(index + 1, 0);
        }
        depths[index] = depth;
    }
    Ok(())
}

/// Returns the first element child of the SOAP 1.1 Body, after checking the envelope.
pub(crate) fn body_child<'a, 'input>(doc: &'a Document<'input>) -> Result<Node<'a, 'input>, DecodeError> {
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" || root.tag_name().namespace() != Some(SOAP_ENV_NS) {
        return Err(DecodeError::NotSoapEnvelope);
    }
    let body = root
        .children()
        .filter(Node::is_element)
        .find(|n| n.tag_name().name() == "Body" && n.tag_name().namespace() == Some(SOAP_ENV_NS))
        .ok_or(DecodeError::MissingBody)?;
    body.children()
        .find(Node::is_element)
        .ok_or(DecodeError::EmptyBody)
}

/// The element children of `node` with this local name.
pub(crate) fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The first element child of `node` with this local name.
pub(crate) fn child<'a, 'input>(node: Node<'a, 'input>, name: &'static str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

/// The character data directly inside `node` (text and CDATA, concatenated).
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

pub(crate) fn opt_string(node: Node<'_, '_>, name: &'static str) -> Option<String> {
    child(node, name).map(text_of)
}

fn trimmed(node: Node<'_, '_>) -> String {
    text_of(node)
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
        .to_owned()
}

fn invalid(element: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidValue {
        element,
        reason: reason.into(),
    }
}

/// An `xs:int` primitive: 0 when absent.
pub(crate) fn int(node: Node<'_, '_>, name: &'static str) -> Result<i32, DecodeError> {
    match child(node, name) {
        None => Ok(0),
        Some(n) => trimmed(n)
            .parse()
            .map_err(|_| invalid(name, "not a 32-bit integer")),
    }
}

/// An `xs:long` primitive: 0 when absent.
pub(crate) fn long(node: Node<'_, '_>, name: &'static str) -> Result<i64, DecodeError> {
    Ok(opt_long(node, name)?.unwrap_or(0))
}

pub(crate) fn opt_long(node: Node<'_, '_>, name: &'static str) -> Result<Option<i64>, DecodeError> {
    child(node, name)
        .map(|n| {
            trimmed(n)
                .parse()
                .map_err(|_| invalid(name, "not a 64-bit integer"))
        })
        .transpose()
}

pub(crate) fn opt_decimal(node: Node<'_, '_>, name: &'static str) -> Result<Option<Decimal>, DecodeError> {
    child(node, name)
        .map(|n| trimmed(n).parse().map_err(|e| invalid(name, format!("{e}"))))
        .transpose()
}

pub(crate) fn opt_base64(node: Node<'_, '_>, name: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
    child(node, name)
        .map(|n| {
            let compact: String = text_of(n).chars().filter(|c| !c.is_ascii_whitespace()).collect();
            BASE64.decode(compact).map_err(|_| invalid(name, "not base64"))
        })
        .transpose()
}

pub(crate) fn context(node: Option<Node<'_, '_>>) -> Result<ClientContext, DecodeError> {
    let Some(node) = node else {
        return Ok(ClientContext::default());
    };
    let initiator = match child(node, "initiatorPrincipalId") {
        None => PrincipalId::default(),
        Some(p) => PrincipalId {
            id: opt_string(p, "id").unwrap_or_default(),
            kind: PrincipalType::from_wire(&opt_string(p, "type").unwrap_or_default()),
            user_id: opt_string(p, "userId"),
        },
    };
    Ok(ClientContext {
        channel: opt_string(node, "channel"),
        client_comment: opt_string(node, "clientComment"),
        client_id: opt_string(node, "clientId"),
        client_reference: opt_string(node, "clientReference"),
        client_request_timeout: long(node, "clientRequestTimeout")?,
        initiator,
        password: Password::new(opt_string(node, "password").unwrap_or_default()),
    })
}

pub(crate) fn opt_amount(node: Node<'_, '_>, name: &'static str) -> Result<Option<Amount>, DecodeError> {
    child(node, name)
        .map(|n| {
            Ok(Amount {
                currency: opt_string(n, "currency").unwrap_or_default(),
                value: opt_decimal(n, "value")?.unwrap_or_default(),
            })
        })
        .transpose()
}

pub(crate) fn opt_invoice(node: Node<'_, '_>, name: &'static str) -> Result<Option<Invoice>, DecodeError> {
    child(node, name).map(invoice).transpose()
}

fn invoice(node: Node<'_, '_>) -> Result<Invoice, DecodeError> {
    let invoice_rows = child(node, "invoiceRows")
        .map(|rows| {
            children(rows, "invoiceRow")
                .map(invoice_row)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Invoice {
        payment_mode: child(node, "paymentMode").map(|n| PaymentMode::from_wire(&trimmed(n))),
        acknowledgment_mode: child(node, "acknowledgmentMode")
            .map(|n| AcknowledgmentMode::from_wire(&trimmed(n))),
        issue_date: opt_string(node, "issueDate"),
        title: opt_string(node, "title"),
        client_invoice_id: opt_string(node, "clientInvoiceId"),
        invoice_rows,
        total_amount: opt_amount(node, "totalAmount")?,
        cashier_id: opt_string(node, "cashierId"),
        footer: opt_string(node, "footer"),
        back_url: opt_string(node, "backURL"),
        notification_url: opt_string(node, "notificationUrl"),
        commit_reservation_timeout: opt_long(node, "commitReservationTimeout")?,
    })
}

fn invoice_row(node: Node<'_, '_>) -> Result<InvoiceRow, DecodeError> {
    Ok(InvoiceRow {
        item_description: opt_string(node, "itemDescription"),
        item_discount: opt_amount(node, "itemDiscount")?,
        item_ean: opt_string(node, "itemEAN"),
        item_quantity: opt_decimal(node, "itemQuantity")?,
        item_sku: opt_string(node, "itemSKU"),
        item_tax_rate: opt_decimal(node, "itemTaxRate")?,
        item_total_amount: opt_amount(node, "itemTotalAmount")?,
        item_unit: opt_string(node, "itemUnit"),
        item_unit_price: opt_amount(node, "itemUnitPrice")?,
    })
}

pub(crate) fn token(node: Node<'_, '_>) -> Result<CustomerToken, DecodeError> {
    Ok(CustomerToken {
        description: opt_string(node, "description"),
        id: opt_string(node, "id"),
        status: int(node, "status")?,
        value: opt_string(node, "value"),
    })
}

pub(crate) fn tokens(node: Node<'_, '_>, name: &'static str) -> Result<Vec<CustomerToken>, DecodeError> {
    children(node, name).map(token).collect()
}

pub(crate) fn opt_parameters(node: Node<'_, '_>) -> Option<ParameterMap> {
    child(node, "parameters").map(|params| ParameterMap {
        entries: children(params, "parameter")
            .flat_map(|p| children(p, "entry"))
            .map(|e| {
                (
                    opt_string(e, "key").unwrap_or_default(),
                    opt_string(e, "value").unwrap_or_default(),
                )
            })
            .collect(),
    })
}

pub(crate) fn opt_receipt_document(node: Node<'_, '_>) -> Result<Option<ReceiptDocument>, DecodeError> {
    child(node, "receiptDocument")
        .map(|d| {
            Ok(ReceiptDocument {
                mime_type: opt_string(d, "mimeType"),
                receipt_data: opt_base64(d, "receiptData")?,
                receipt_type: opt_string(d, "receiptType"),
            })
        })
        .transpose()
}

pub(crate) fn opt_status(node: Node<'_, '_>) -> Option<InvoiceStatus> {
    child(node, "status").map(|n| InvoiceStatus::from_wire(&trimmed(n)))
}

pub(crate) fn opt_receipt(node: Node<'_, '_>) -> Result<Option<Receipt>, DecodeError> {
    child(node, "receipt")
        .map(|r| {
            Ok(Receipt {
                terminal_id: opt_string(r, "terminalId"),
                payment_date: opt_string(r, "paymentDate"),
                client_invoice_id: opt_string(r, "clientInvoiceId"),
                invoice_reference: opt_string(r, "invoiceReference"),
                payment_reference: opt_string(r, "paymentReference"),
                payer_terminal_id: opt_string(r, "payerTerminalId"),
                receiver_name: opt_string(r, "receiverName"),
                invoice: opt_invoice(r, "invoice")?,
            })
        })
        .transpose()
}

pub(crate) fn opt_report(node: Node<'_, '_>) -> Result<Option<Report>, DecodeError> {
    child(node, "report")
        .map(|r| {
            Ok(Report {
                title: opt_string(r, "title"),
                mime_type: opt_string(r, "mimeType"),
                content: opt_base64(r, "content")?,
                content_string: opt_string(r, "contentString"),
            })
        })
        .transpose()
}
