//! The SOAP 1.1 document/literal codec for Glase requests and responses, in both directions.
//!
//! Requests are written like the documented examples: a `soapenv:` envelope with an empty Header and the
//! wrapper element qualified with prefix `ext:`; every child is unqualified and in WSDL `xs:sequence`
//! order. Responses are written like the server's: `soap:` envelope without a Header, the wrapper with
//! prefix `ns2:` and exactly one `<return>` child. Faults use the SOAP 1.1 `Fault` element.
//!
//! Decoding accepts any child order, any prefixes, absent optional elements (absent primitives are 0),
//! unknown elements and an empty `<customerTokens/>`. It rejects, with a typed error and never a panic:
//! input over [`MAX_INPUT_BYTES`], non-UTF-8 input, DTDs (hence entity bombs), malformed or truncated XML,
//! nesting deeper than [`MAX_DEPTH`], more than [`MAX_NODES`] nodes, anything but a SOAP 1.1 envelope,
//! a wrapper outside the Glase namespace and unknown operations. A response without `<return>` or
//! without `<resultCode>` is rejected too: treating a missing result code as SUCCESS would be unsafe.

pub(crate) mod read;
mod write;

use roxmltree::Node;

use crate::model::{
    AssignSeqrIdRequest, AssignSeqrIdResponse, CancelInvoiceRequest, CancelInvoiceResponse,
    CommitReservationRequest, CommitReservationResponse, ExecuteReportRequest, ExecuteReportResponse,
    GetPaymentStatusRequest, GetPaymentStatusResponse, MarkTransactionPeriodRequest,
    MarkTransactionPeriodResponse, Operation, Password, RefundPaymentRequest, RefundPaymentResponse,
    RegisterTerminalRequest, RegisterTerminalResponse, Request, Response, ResultCode, SendInvoiceRequest,
    SendInvoiceResponse, SubmitPaymentReceiptRequest, SubmitPaymentReceiptResponse,
    UnregisterTerminalRequest, UnregisterTerminalResponse, UpdateInvoiceRequest, UpdateInvoiceResponse,
};
use read::{child, int, opt_string};
use write::XmlWriter;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The Glase (SEQR) service namespace of every wrapper element.
pub const GLASE_NS: &str = "http://external.interfaces.ers.seamless.com/";
/// The largest message the decoder accepts (1 MiB), except an executeReport answer.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;
/// The deepest element nesting the decoder accepts (real messages stay below 12).
pub const MAX_DEPTH: usize = 32;
/// The most XML nodes the decoder accepts, except in an executeReport answer or a report.
pub const MAX_NODES: u32 = 100_000;
/// The largest executeReport answer and report document accepted (16 MiB): a period's details report
/// carries a row per payment and refund, about 330 bytes each once base64-encoded, so a shop with 1,500
/// payments a day already passes 1 MiB; 16 MiB holds about 50,000 rows.
pub const MAX_REPORT_BYTES: usize = 16 * 1024 * 1024;
/// The most XML nodes of an executeReport answer or a report document (about 25 per row, whitespace
/// included; roughly 70 MB of parsed tree at the most, inside the reporting function's 256 MB).
pub const MAX_REPORT_NODES: u32 = 1_250_000;

/// The size limits one decode applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes.
    pub bytes: usize,
    /// The most XML nodes.
    pub nodes: u32,
}

impl Limits {
    /// Every message but an executeReport answer.
    pub const MESSAGE: Limits = Limits {
        bytes: MAX_INPUT_BYTES,
        nodes: MAX_NODES,
    };
    /// An executeReport answer and the report document inside it.
    pub const REPORT: Limits = Limits {
        bytes: MAX_REPORT_BYTES,
        nodes: MAX_REPORT_NODES,
    };

    /// The limits of `operation`'s response.
    pub fn of_response(operation: Operation) -> Limits {
        match operation {
            Operation::ExecuteReport => Limits::REPORT,
            _ => Limits::MESSAGE,
        }
    }
}
/// The `Content-Type` of every SOAP 1.1 message.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than [`MAX_INPUT_BYTES`].
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is not UTF-8.
    #[error("message is not UTF-8")]
    NotUtf8,
    /// The input contains a DTD (and so possibly entity declarations).
    #[error("DTDs and entity declarations are not accepted")]
    DtdNotAllowed,
    /// The input is not well-formed XML (including truncated input).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// The input nests elements deeper than [`MAX_DEPTH`].
    #[error("XML nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The input has more than [`MAX_NODES`] nodes.
    #[error("too many XML nodes")]
    TooManyNodes,
    /// The root element is not a SOAP 1.1 `Envelope`.
    #[error("not a SOAP 1.1 envelope")]
    NotSoapEnvelope,
    /// The envelope has no `Body`.
    #[error("SOAP envelope without a Body")]
    MissingBody,
    /// The `Body` has no element.
    #[error("SOAP Body is empty")]
    EmptyBody,
    /// The wrapper element is not in the Glase namespace.
    #[error("element {element} is in namespace {found:?}, expected {GLASE_NS}")]
    WrongNamespace {
        /// The wrapper's local name.
        element: String,
        /// Its namespace, if any.
        found: Option<String>,
    },
    /// The request wrapper names no merchant operation.
    #[error("unknown operation {0:?}")]
    UnknownOperation(String),
    /// The response wrapper is not the expected one.
    #[error("expected element {expected}, found {found}")]
    UnexpectedElement {
        /// The expected local name.
        expected: String,
        /// The local name found.
        found: String,
    },
    /// A required element is absent.
    #[error("missing element {0}")]
    MissingElement(&'static str),
    /// A primitive, decimal or base64 element does not parse.
    #[error("invalid value in element {element}: {reason}")]
    InvalidValue {
        /// The element's local name.
        element: &'static str,
        /// Why the value is invalid (the value itself is not repeated).
        reason: String,
    },
    /// A request body holds a SOAP Fault.
    #[error("a request cannot be a SOAP Fault")]
    UnexpectedFault,
}

/// Why a response could not be turned into a [`Response`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// The server answered with a SOAP Fault.
    #[error("SOAP fault {code}: {message}")]
    Fault {
        /// The `faultcode`, e.g. `soap:Server`.
        code: String,
        /// The `faultstring`.
        message: String,
    },
    /// The response could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Encodes a request envelope, ready to POST.
pub fn encode_request(request: &Request) -> String {
    let op = request.operation();
    let mut w = XmlWriter::new();
    w.raw(concat!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"",
        " xmlns:ext=\"http://external.interfaces.ers.seamless.com/\">",
        "<soapenv:Header/><soapenv:Body>"
    ));
    let wrapper = format!("ext:{}", op.name());
    w.open(&wrapper);
    write::context(&mut w, request.context());
    match request {
        Request::SendInvoice(r) => write::invoice_and_tokens(&mut w, r.invoice.as_ref(), &r.tokens),
        Request::UpdateInvoice(r) => {
            w.opt_text("invoiceReference", r.invoice_reference.as_deref());
            write::invoice_and_tokens(&mut w, r.invoice.as_ref(), &r.tokens);
        }
        Request::GetPaymentStatus(r) => {
            w.opt_text("invoiceReference", r.invoice_reference.as_deref());
            w.display("invoiceVersion", r.invoice_version);
        }
        Request::CancelInvoice(r) => w.opt_text("invoiceReference", r.invoice_reference.as_deref()),
        Request::CommitReservation(r) => {
            write::opt_amount(&mut w, "amount", r.amount.as_ref());
            w.opt_text("invoiceReference", r.invoice_reference.as_deref());
        }
        Request::SubmitPaymentReceipt(r) => {
            w.opt_text("ersReference", r.ers_reference.as_deref());
            if let Some(doc) = &r.receipt_document {
                write::receipt_document(&mut w, doc);
            }
        }
        Request::RefundPayment(r) => {
            w.opt_text("ersReference", r.ers_reference.as_deref());
            if let Some(inv) = &r.invoice {
                write::invoice(&mut w, "invoice", inv);
            }
        }
        Request::RegisterTerminal(r) => {
            w.opt_text("externalTerminalId", r.external_terminal_id.as_deref());
            w.opt_text("password", r.password.as_ref().map(Password::expose));
            w.opt_text("name", r.name.as_deref());
        }
        Request::UnregisterTerminal(_) => {}
        Request::AssignSeqrId(r) => w.opt_text("seqrId", r.seqr_id.as_deref()),
        Request::MarkTransactionPeriod(r) => {
            if let Some(p) = &r.parameters {
                write::parameters(&mut w, p);
            }
        }
        Request::ExecuteReport(r) => {
            w.opt_text("reportId", r.report_id.as_deref());
            w.opt_text("language", r.language.as_deref());
            if let Some(p) = &r.parameters {
                write::parameters(&mut w, p);
            }
        }
    }
    w.close(&wrapper);
    w.raw("</soapenv:Body></soapenv:Envelope>");
    w.finish()
}

/// Decodes a request envelope (the sandbox side).
pub fn decode_request(bytes: &[u8]) -> Result<Request, DecodeError> {
    let doc = read::parse(bytes)?;
    let wrapper = read::body_child(&doc)?;
    let name = wrapper.tag_name().name();
    if wrapper.tag_name().namespace() == Some(SOAP_ENV_NS) && name == "Fault" {
        return Err(DecodeError::UnexpectedFault);
    }
    check_namespace(wrapper)?;
    let op: Operation = name
        .parse()
        .map_err(|_| DecodeError::UnknownOperation(name.to_owned()))?;
    let n = wrapper;
    let context = read::context(child(n, "context"))?;
    Ok(match op {
        Operation::SendInvoice => Request::SendInvoice(SendInvoiceRequest {
            context,
            invoice: read::opt_invoice(n, "invoice")?,
            tokens: read::tokens(n, "tokens")?,
        }),
        Operation::UpdateInvoice => Request::UpdateInvoice(UpdateInvoiceRequest {
            context,
            invoice_reference: opt_string(n, "invoiceReference"),
            invoice: read::opt_invoice(n, "invoice")?,
            tokens: read::tokens(n, "tokens")?,
        }),
        Operation::GetPaymentStatus => Request::GetPaymentStatus(GetPaymentStatusRequest {
            context,
            invoice_reference: opt_string(n, "invoiceReference"),
            invoice_version: int(n, "invoiceVersion")?,
        }),
        Operation::CancelInvoice => Request::CancelInvoice(CancelInvoiceRequest {
            context,
            invoice_reference: opt_string(n, "invoiceReference"),
        }),
        Operation::CommitReservation => Request::CommitReservation(CommitReservationRequest {
            context,
            amount: read::opt_amount(n, "amount")?,
            invoice_reference: opt_string(n, "invoiceReference"),
        }),
        Operation::SubmitPaymentReceipt => Request::SubmitPaymentReceipt(SubmitPaymentReceiptRequest {
            context,
            ers_reference: opt_string(n, "ersReference"),
            receipt_document: read::opt_receipt_document(n)?,
        }),
        Operation::RefundPayment => Request::RefundPayment(RefundPaymentRequest {
            context,
            ers_reference: opt_string(n, "ersReference"),
            invoice: read::opt_invoice(n, "invoice")?,
        }),
        Operation::RegisterTerminal => Request::RegisterTerminal(RegisterTerminalRequest {
            context,
            external_terminal_id: opt_string(n, "externalTerminalId"),
            password: opt_string(n, "password").map(Password::new),
            name: opt_string(n, "name"),
        }),
        Operation::UnregisterTerminal => Request::UnregisterTerminal(UnregisterTerminalRequest { context }),
        Operation::AssignSeqrId => Request::AssignSeqrId(AssignSeqrIdRequest {
            context,
            seqr_id: opt_string(n, "seqrId"),
        }),
        Operation::MarkTransactionPeriod => Request::MarkTransactionPeriod(MarkTransactionPeriodRequest {
            context,
            parameters: read::opt_parameters(n),
        }),
        Operation::ExecuteReport => Request::ExecuteReport(ExecuteReportRequest {
            context,
            report_id: opt_string(n, "reportId"),
            language: opt_string(n, "language"),
            parameters: read::opt_parameters(n),
        }),
    })
}

/// Encodes a response envelope the way the server writes it (the sandbox side).
pub fn encode_response(response: &Response) -> String {
    let op = response.operation();
    let mut w = XmlWriter::new();
    w.raw("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>");
    let wrapper = format!("ns2:{}", op.response_name());
    w.raw(&format!("<{wrapper} xmlns:ns2=\"{GLASE_NS}\">"));
    w.open("return");
    let base = |w: &mut XmlWriter, ers: &Option<String>, code: ResultCode, desc: &Option<String>| {
        w.opt_text("ersReference", ers.as_deref());
        w.display("resultCode", code.code());
        w.opt_text("resultDescription", desc.as_deref());
    };
    match response {
        Response::SendInvoice(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description);
            w.opt_text("invoiceQRCode", r.invoice_qr_code.as_deref());
            w.opt_text("invoiceReference", r.invoice_reference.as_deref());
        }
        Response::GetPaymentStatus(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description);
            w.opt_text("status", r.status.as_ref().map(|s| s.as_str()));
            if let Some(receipt) = &r.receipt {
                write::receipt(&mut w, receipt);
            }
            if let Some(tokens) = r.customer_tokens.as_ref().filter(|t| t.is_empty()) {
                debug_assert!(tokens.is_empty());
                // The server writes an empty token list as a self-closing element.
                w.raw("<customerTokens/>");
            } else if let Some(tokens) = &r.customer_tokens {
                w.open("customerTokens");
                for t in tokens {
                    write::token(&mut w, "token", t);
                }
                w.close("customerTokens");
            }
            w.display("version", r.version);
        }
        Response::RegisterTerminal(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description);
            w.opt_text("terminalId", r.terminal_id.as_deref());
        }
        Response::MarkTransactionPeriod(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description);
            w.opt_text("transactionPeriodId", r.transaction_period_id.as_deref());
        }
        Response::ExecuteReport(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description);
            if let Some(report) = &r.report {
                write::report(&mut w, report);
            }
        }
        Response::UpdateInvoice(r) => base(&mut w, &r.ers_reference, r.result_code, &r.result_description),
        Response::CancelInvoice(r) => base(&mut w, &r.ers_reference, r.result_code, &r.result_description),
        Response::CommitReservation(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description)
        }
        Response::SubmitPaymentReceipt(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description)
        }
        Response::RefundPayment(r) => base(&mut w, &r.ers_reference, r.result_code, &r.result_description),
        Response::UnregisterTerminal(r) => {
            base(&mut w, &r.ers_reference, r.result_code, &r.result_description)
        }
        Response::AssignSeqrId(r) => base(&mut w, &r.ers_reference, r.result_code, &r.result_description),
    }
    w.close("return");
    w.close(&wrapper);
    w.raw("</soap:Body></soap:Envelope>");
    w.finish()
}

/// Decodes the response to `operation`; a SOAP Fault becomes [`SoapError::Fault`].
pub fn decode_response(operation: Operation, bytes: &[u8]) -> Result<Response, SoapError> {
    let doc = read::parse_within(bytes, Limits::of_response(operation))?;
    let wrapper = read::body_child(&doc)?;
    let name = wrapper.tag_name().name();
    if wrapper.tag_name().namespace() == Some(SOAP_ENV_NS) && name == "Fault" {
        return Err(SoapError::Fault {
            code: opt_string(wrapper, "faultcode")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            message: opt_string(wrapper, "faultstring").unwrap_or_default(),
        });
    }
    check_namespace(wrapper)?;
    let expected = operation.response_name();
    if name != expected {
        return Err(DecodeError::UnexpectedElement {
            expected,
            found: name.to_owned(),
        }
        .into());
    }
    let n = child(wrapper, "return").ok_or(DecodeError::MissingElement("return"))?;
    let ers_reference = opt_string(n, "ersReference");
    if child(n, "resultCode").is_none() {
        return Err(DecodeError::MissingElement("resultCode").into());
    }
    let result_code = ResultCode::from_code(int(n, "resultCode")?);
    let result_description = opt_string(n, "resultDescription");
    macro_rules! plain {
        ($variant:ident, $ty:ident) => {
            Response::$variant($ty {
                ers_reference,
                result_code,
                result_description,
            })
        };
    }
    Ok(match operation {
        Operation::SendInvoice => Response::SendInvoice(SendInvoiceResponse {
            ers_reference,
            result_code,
            result_description,
            invoice_qr_code: opt_string(n, "invoiceQRCode"),
            invoice_reference: opt_string(n, "invoiceReference"),
        }),
        Operation::GetPaymentStatus => Response::GetPaymentStatus(GetPaymentStatusResponse {
            ers_reference,
            result_code,
            result_description,
            status: read::opt_status(n),
            receipt: read::opt_receipt(n)?,
            customer_tokens: child(n, "customerTokens")
                .map(|t| read::tokens(t, "token"))
                .transpose()?,
            version: int(n, "version")?,
        }),
        Operation::RegisterTerminal => Response::RegisterTerminal(RegisterTerminalResponse {
            ers_reference,
            result_code,
            result_description,
            terminal_id: opt_string(n, "terminalId"),
        }),
        Operation::MarkTransactionPeriod => Response::MarkTransactionPeriod(MarkTransactionPeriodResponse {
            ers_reference,
            result_code,
            result_description,
            transaction_period_id: opt_string(n, "transactionPeriodId"),
        }),
        Operation::ExecuteReport => Response::ExecuteReport(ExecuteReportResponse {
            ers_reference,
            result_code,
            result_description,
            report: read::opt_report(n)?,
        }),
        Operation::UpdateInvoice => plain!(UpdateInvoice, UpdateInvoiceResponse),
        Operation::CancelInvoice => plain!(CancelInvoice, CancelInvoiceResponse),
        Operation::CommitReservation => plain!(CommitReservation, CommitReservationResponse),
        Operation::SubmitPaymentReceipt => plain!(SubmitPaymentReceipt, SubmitPaymentReceiptResponse),
        Operation::RefundPayment => plain!(RefundPayment, RefundPaymentResponse),
        Operation::UnregisterTerminal => plain!(UnregisterTerminal, UnregisterTerminalResponse),
        Operation::AssignSeqrId => plain!(AssignSeqrId, AssignSeqrIdResponse),
    })
}

/// Encodes a SOAP 1.1 Fault, e.g. `encode_fault("soap:Client", "Unmarshalling Error")`.
pub fn encode_fault(code: &str, message: &str) -> String {
    let mut w = XmlWriter::new();
    w.raw("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>");
    w.text("faultcode", code);
    w.text("faultstring", message);
    w.raw("</soap:Fault></soap:Body></soap:Envelope>");
    w.finish()
}

/// Reads which operation a request envelope is for, without decoding its content.
pub fn peek_operation(bytes: &[u8]) -> Result<Operation, DecodeError> {
    let doc = read::parse(bytes)?;
    let wrapper = read::body_child(&doc)?;
    check_namespace(wrapper)?;
    let name = wrapper.tag_name().name();
    name.parse()
        .map_err(|_| DecodeError::UnknownOperation(name.to_owned()))
}

fn check_namespace(wrapper: Node<'_, '_>) -> Result<(), DecodeError> {
    let ns = wrapper.tag_name().namespace();
    if ns == Some(GLASE_NS) {
        Ok(())
    } else {
        Err(DecodeError::WrongNamespace {
            element: wrapper.tag_name().name().to_owned(),
            found: ns.map(str::to_owned),
        })
    }
}
