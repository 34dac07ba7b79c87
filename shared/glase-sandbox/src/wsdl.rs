//! The sandbox's own WSDL, generated from the tables below.
//!
//! It describes the twelve merchant operations as document/literal wrapped SOAP 1.1, with the target
//! namespace `http://external.interfaces.ers.seamless.com/`, `elementFormDefault="unqualified"` (only the
//! request and response wrappers are qualified), the element names, types and sequence order of the
//! Glase schema, and every element optional except the schema primitives (`clientRequestTimeout`,
//! `invoiceVersion`, `resultCode`, `version`, `customerToken.status`). The service, port type, binding and
//! port carry the names of the Glase contract so that clients generated from the original contract find
//! them. `soap:address` is the endpoint the WSDL was fetched from.

use std::fmt::Write as _;

/// The Glase target namespace.
pub const NAMESPACE: &str = "http://external.interfaces.ers.seamless.com/";

/// How often an element occurs.
#[derive(Clone, Copy)]
enum Occurs {
    /// `minOccurs="0"`.
    Optional,
    /// Exactly once (a schema primitive).
    Required,
    /// `minOccurs="0" maxOccurs="unbounded"`.
    Repeated,
}

/// One child element of a sequence.
struct Field {
    name: &'static str,
    kind: FieldKind,
    occurs: Occurs,
}

enum FieldKind {
    /// A named type, e.g. `xs:string` or `tns:amount`.
    Typed(&'static str),
    /// An anonymous wrapper holding a repeated element of a named type (`invoiceRows` → `invoiceRow*`).
    Wrapper {
        item: &'static str,
        item_type: &'static str,
    },
}

const fn opt(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        kind: FieldKind::Typed(ty),
        occurs: Occurs::Optional,
    }
}

const fn req(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        kind: FieldKind::Typed(ty),
        occurs: Occurs::Required,
    }
}

const fn many(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        kind: FieldKind::Typed(ty),
        occurs: Occurs::Repeated,
    }
}

const fn wrapper(name: &'static str, item: &'static str, item_type: &'static str) -> Field {
    Field {
        name,
        kind: FieldKind::Wrapper { item, item_type },
        occurs: Occurs::Optional,
    }
}

/// A named complex type: its fields, and the base type it extends (if any).
struct ComplexType {
    name: &'static str,
    base: Option<&'static str>,
    fields: &'static [Field],
}

const CONTEXT: Field = opt("context", "tns:clientContext");

/// The request and response wrapper types: (operation, request fields, return type).
const OPERATIONS: &[(&str, &[Field], &str)] = &[
    (
        "sendInvoice",
        &[
            CONTEXT,
            opt("invoice", "tns:invoice"),
            many("tokens", "tns:customerToken"),
        ],
        "erswsSendInvoiceResponse",
    ),
    (
        "updateInvoice",
        &[
            CONTEXT,
            opt("invoiceReference", "xs:string"),
            opt("invoice", "tns:invoice"),
            many("tokens", "tns:customerToken"),
        ],
        "erswsResponse",
    ),
    (
        "getPaymentStatus",
        &[
            CONTEXT,
            opt("invoiceReference", "xs:string"),
            req("invoiceVersion", "xs:int"),
        ],
        "erswsPaymentStatusResponse",
    ),
    (
        "cancelInvoice",
        &[CONTEXT, opt("invoiceReference", "xs:string")],
        "erswsResponse",
    ),
    (
        "commitReservation",
        &[
            CONTEXT,
            opt("amount", "tns:amount"),
            opt("invoiceReference", "xs:string"),
        ],
        "erswsResponse",
    ),
    (
        "submitPaymentReceipt",
        &[
            CONTEXT,
            opt("ersReference", "xs:string"),
            opt("receiptDocument", "tns:receiptDocument"),
        ],
        "erswsResponse",
    ),
    (
        "refundPayment",
        &[
            CONTEXT,
            opt("ersReference", "xs:string"),
            opt("invoice", "tns:invoice"),
        ],
        "erswsResponse",
    ),
    (
        "registerTerminal",
        &[
            CONTEXT,
            opt("externalTerminalId", "xs:string"),
            opt("password", "xs:string"),
            opt("name", "xs:string"),
        ],
        "erswsRegisterTerminalResponse",
    ),
    ("unregisterTerminal", &[CONTEXT], "erswsResponse"),
    (
        "assignSeqrId",
        &[CONTEXT, opt("seqrId", "xs:string")],
        "erswsResponse",
    ),
    (
        "markTransactionPeriod",
        &[CONTEXT, opt("parameters", "tns:parameterMap")],
        "erswsMarkTransactionPeriodResponse",
    ),
    (
        "executeReport",
        &[
            CONTEXT,
            opt("reportId", "xs:string"),
            opt("language", "xs:string"),
            opt("parameters", "tns:parameterMap"),
        ],
        "erswsExecuteReportResponse",
    ),
];

/// The data types, in the order they are written.
const TYPES: &[ComplexType] = &[
    ComplexType {
        name: "clientContext",
        base: None,
        fields: &[
            opt("channel", "xs:string"),
            opt("clientComment", "xs:string"),
            opt("clientId", "xs:string"),
            opt("clientReference", "xs:string"),
            req("clientRequestTimeout", "xs:long"),
            opt("initiatorPrincipalId", "tns:principalId"),
            opt("password", "xs:string"),
        ],
    },
    ComplexType {
        name: "principalId",
        base: None,
        fields: &[
            opt("id", "xs:string"),
            opt("type", "xs:string"),
            opt("userId", "xs:string"),
        ],
    },
    ComplexType {
        name: "amount",
        base: None,
        fields: &[opt("currency", "xs:string"), opt("value", "xs:decimal")],
    },
    ComplexType {
        name: "invoice",
        base: None,
        fields: &[
            opt("paymentMode", "tns:paymentMode"),
            opt("acknowledgmentMode", "tns:acknowledgmentMode"),
            opt("issueDate", "xs:dateTime"),
            opt("title", "xs:string"),
            opt("clientInvoiceId", "xs:string"),
            wrapper("invoiceRows", "invoiceRow", "tns:paymentInvoiceRow"),
            opt("totalAmount", "tns:amount"),
            opt("cashierId", "xs:string"),
            opt("footer", "xs:string"),
            opt("backURL", "xs:string"),
            opt("notificationUrl", "xs:string"),
            opt("commitReservationTimeout", "xs:long"),
        ],
    },
    ComplexType {
        name: "paymentInvoiceRow",
        base: None,
        fields: &[
            opt("itemDescription", "xs:string"),
            opt("itemDiscount", "tns:amount"),
            opt("itemEAN", "xs:string"),
            opt("itemQuantity", "xs:decimal"),
            opt("itemSKU", "xs:string"),
            opt("itemTaxRate", "xs:decimal"),
            opt("itemTotalAmount", "tns:amount"),
            opt("itemUnit", "xs:string"),
            opt("itemUnitPrice", "tns:amount"),
        ],
    },
    ComplexType {
        name: "customerToken",
        base: None,
        fields: &[
            opt("description", "xs:string"),
            opt("id", "xs:string"),
            req("status", "xs:int"),
            opt("value", "xs:string"),
        ],
    },
    ComplexType {
        name: "receiptDocument",
        base: None,
        fields: &[
            opt("mimeType", "xs:string"),
            opt("receiptData", "xs:base64Binary"),
            opt("receiptType", "xs:string"),
        ],
    },
    ComplexType {
        name: "parameterMap",
        base: None,
        fields: &[opt("parameter", "tns:mapArray")],
    },
    ComplexType {
        name: "mapArray",
        base: None,
        fields: &[many("entry", "tns:parameter")],
    },
    ComplexType {
        name: "parameter",
        base: None,
        fields: &[opt("key", "xs:string"), opt("value", "xs:string")],
    },
    ComplexType {
        name: "receipt",
        base: None,
        fields: &[
            opt("terminalId", "xs:string"),
            opt("paymentDate", "xs:dateTime"),
            opt("clientInvoiceId", "xs:string"),
            opt("invoiceReference", "xs:string"),
            opt("paymentReference", "xs:string"),
            opt("payerTerminalId", "xs:string"),
            opt("receiverName", "xs:string"),
            opt("invoice", "tns:invoice"),
        ],
    },
    ComplexType {
        name: "report",
        base: None,
        fields: &[
            opt("title", "xs:string"),
            opt("mimeType", "xs:string"),
            opt("content", "xs:base64Binary"),
            opt("contentString", "xs:string"),
        ],
    },
    ComplexType {
        name: "erswsResponse",
        base: None,
        fields: &[
            opt("ersReference", "xs:string"),
            req("resultCode", "xs:int"),
            opt("resultDescription", "xs:string"),
        ],
    },
    ComplexType {
        name: "erswsSendInvoiceResponse",
        base: Some("tns:erswsResponse"),
        fields: &[
            opt("invoiceQRCode", "xs:string"),
            opt("invoiceReference", "xs:string"),
        ],
    },
    ComplexType {
        name: "erswsPaymentStatusResponse",
        base: Some("tns:erswsResponse"),
        fields: &[
            opt("status", "tns:invoiceStatus"),
            opt("receipt", "tns:receipt"),
            wrapper("customerTokens", "token", "tns:customerToken"),
            req("version", "xs:int"),
        ],
    },
    ComplexType {
        name: "erswsRegisterTerminalResponse",
        base: Some("tns:erswsResponse"),
        fields: &[opt("terminalId", "xs:string")],
    },
    ComplexType {
        name: "erswsMarkTransactionPeriodResponse",
        base: Some("tns:erswsResponse"),
        fields: &[opt("transactionPeriodId", "xs:string")],
    },
    ComplexType {
        name: "erswsExecuteReportResponse",
        base: Some("tns:erswsResponse"),
        fields: &[opt("report", "tns:report")],
    },
];

/// The enumerations: (type name, values).
const ENUMS: &[(&str, &[&str])] = &[
    (
        "paymentMode",
        &[
            "IMMEDIATE_DEBIT",
            "RESERVATION_DESIRED",
            "RESERVATION_REQUIRED",
            "RESERVATION_REQUIRED_PRELIMINARY_AMOUNT",
        ],
    ),
    (
        "acknowledgmentMode",
        &[
            "NO_ACKNOWLEDGMENT",
            "OPTIONAL_ACKNOWLEDGMENT",
            "REQUIRE_ACKNOWLEDGMENT",
        ],
    ),
    (
        "invoiceStatus",
        &[
            "ISSUED",
            "PAID",
            "PENDING_ISSUER_ACKNOWLEDGE",
            "CANCELED",
            "FAILED",
            "RESERVED",
            "EXPIRED",
        ],
    ),
];

/// The names the Glase contract gives its service, port type, binding and port.
const SERVICE: &str = "ERSWSExternalClientServiceService";
const PORT_TYPE: &str = "ERSWSExternalClientService";
const BINDING: &str = "ERSWSExternalClientServiceServiceSoapBinding";
const PORT: &str = "ERSWSExternalClientServicePort";

/// The wire names of the operations the WSDL describes, in document order.
pub fn operation_names() -> impl Iterator<Item = &'static str> {
    OPERATIONS.iter().map(|(name, _, _)| *name)
}

/// Writes the WSDL with `endpoint` as the `soap:address` location.
pub fn render(endpoint: &str) -> String {
    let mut out = String::with_capacity(24 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<!-- Glase sandbox WSDL: document/literal wrapped SOAP 1.1, generated by the sandbox. -->\n",
    );
    let _ = writeln!(
        out,
        "<wsdl:definitions name=\"{SERVICE}\" targetNamespace=\"{NAMESPACE}\" \
         xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" \
         xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:tns=\"{NAMESPACE}\">"
    );
    out.push_str("  <wsdl:types>\n");
    let _ = writeln!(
        out,
        "    <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:tns=\"{NAMESPACE}\" \
         targetNamespace=\"{NAMESPACE}\" elementFormDefault=\"unqualified\" version=\"1.0\">"
    );
    for (op, _, _) in OPERATIONS {
        let _ = writeln!(out, "      <xs:element name=\"{op}\" type=\"tns:{op}\"/>");
        let _ = writeln!(
            out,
            "      <xs:element name=\"{op}Response\" type=\"tns:{op}Response\"/>"
        );
    }
    for (op, fields, ret) in OPERATIONS {
        write_sequence_type(&mut out, op, None, fields);
        let _ = writeln!(
            out,
            "      <xs:complexType name=\"{op}Response\">\n        <xs:sequence>\n          \
             <xs:element name=\"return\" type=\"tns:{ret}\" minOccurs=\"0\"/>\n        </xs:sequence>\n      \
             </xs:complexType>"
        );
    }
    for ty in TYPES {
        write_sequence_type(&mut out, ty.name, ty.base, ty.fields);
    }
    for (name, values) in ENUMS {
        let _ = writeln!(
            out,
            "      <xs:simpleType name=\"{name}\">\n        <xs:restriction base=\"xs:string\">"
        );
        for v in *values {
            let _ = writeln!(out, "          <xs:enumeration value=\"{v}\"/>");
        }
        out.push_str("        </xs:restriction>\n      </xs:simpleType>\n");
    }
    out.push_str("    </xs:schema>\n  </wsdl:types>\n");
    for (op, _, _) in OPERATIONS {
        for suffix in ["", "Response"] {
            let _ = writeln!(
                out,
                "  <wsdl:message name=\"{op}{suffix}\">\n    <wsdl:part name=\"parameters\" element=\"tns:{op}{suffix}\"/>\n  </wsdl:message>"
            );
        }
    }
    let _ = writeln!(out, "  <wsdl:portType name=\"{PORT_TYPE}\">");
    for (op, _, _) in OPERATIONS {
        let _ = writeln!(
            out,
            "    <wsdl:operation name=\"{op}\">\n      <wsdl:input name=\"{op}\" message=\"tns:{op}\"/>\n      \
             <wsdl:output name=\"{op}Response\" message=\"tns:{op}Response\"/>\n    </wsdl:operation>"
        );
    }
    out.push_str("  </wsdl:portType>\n");
    let _ = writeln!(
        out,
        "  <wsdl:binding name=\"{BINDING}\" type=\"tns:{PORT_TYPE}\">\n    \
         <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>"
    );
    for (op, _, _) in OPERATIONS {
        let _ = writeln!(
            out,
            "    <wsdl:operation name=\"{op}\">\n      <soap:operation soapAction=\"\" style=\"document\"/>\n      \
             <wsdl:input name=\"{op}\">\n        <soap:body use=\"literal\"/>\n      </wsdl:input>\n      \
             <wsdl:output name=\"{op}Response\">\n        <soap:body use=\"literal\"/>\n      </wsdl:output>\n    \
             </wsdl:operation>"
        );
    }
    out.push_str("  </wsdl:binding>\n");
    let _ = writeln!(
        out,
        "  <wsdl:service name=\"{SERVICE}\">\n    <wsdl:port name=\"{PORT}\" binding=\"tns:{BINDING}\">\n      \
         <soap:address location=\"{}\"/>\n    </wsdl:port>\n  </wsdl:service>\n</wsdl:definitions>",
        crate::reports::xml_escape(endpoint)
    );
    out
}

fn write_sequence_type(out: &mut String, name: &str, base: Option<&str>, fields: &[Field]) {
    let _ = writeln!(out, "      <xs:complexType name=\"{name}\">");
    let indent = if let Some(base) = base {
        let _ = writeln!(
            out,
            "        <xs:complexContent>\n          <xs:extension base=\"{base}\">"
        );
        "            "
    } else {
        "        "
    };
    let _ = writeln!(out, "{indent}<xs:sequence>");
    for field in fields {
        let occurs = match field.occurs {
            Occurs::Optional => " minOccurs=\"0\"",
            Occurs::Required => "",
            Occurs::Repeated => " minOccurs=\"0\" maxOccurs=\"unbounded\"",
        };
        match field.kind {
            FieldKind::Typed(ty) => {
                let _ = writeln!(
                    out,
                    "{indent}  <xs:element name=\"{}\" type=\"{ty}\"{occurs}/>",
                    field.name
                );
            }
            FieldKind::Wrapper { item, item_type } => {
                let _ = writeln!(
                    out,
                    "{indent}  <xs:element name=\"{}\"{occurs}>\n{indent}    <xs:complexType>\n{indent}      \
                     <xs:sequence>\n{indent}        <xs:element name=\"{item}\" type=\"{item_type}\" \
                     minOccurs=\"0\" maxOccurs=\"unbounded\"/>\n{indent}      </xs:sequence>\n{indent}    \
                     </xs:complexType>\n{indent}  </xs:element>",
                    field.name
                );
            }
        }
    }
    let _ = writeln!(out, "{indent}</xs:sequence>");
    if base.is_some() {
        out.push_str("          </xs:extension>\n        </xs:complexContent>\n");
    }
    out.push_str("      </xs:complexType>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wsdl_is_well_formed_and_carries_the_endpoint() {
        let text = render("http://127.0.0.1:8913/extclientproxy/service/v2?a=1&b=2");
        let doc = roxmltree::Document::parse(&text).unwrap();
        let address = doc
            .descendants()
            .find(|n| n.tag_name().name() == "address")
            .and_then(|n| n.attribute("location"))
            .unwrap();
        assert_eq!(address, "http://127.0.0.1:8913/extclientproxy/service/v2?a=1&b=2");
        let ops: Vec<_> = doc
            .descendants()
            .filter(|n| {
                n.tag_name().name() == "operation"
                    && n.parent().is_some_and(|p| p.tag_name().name() == "portType")
            })
            .filter_map(|n| n.attribute("name"))
            .collect();
        assert_eq!(ops.len(), 12);
        for op in glase_protocol::Operation::ALL {
            assert!(ops.contains(&op.name()), "{op}");
        }
    }

    #[test]
    fn every_referenced_type_is_defined() {
        let text = render("http://x/");
        let doc = roxmltree::Document::parse(&text).unwrap();
        let defined: Vec<_> = doc
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "complexType" | "simpleType"))
            .filter_map(|n| n.attribute("name"))
            .collect();
        for n in doc.descendants().filter(|n| n.tag_name().name() == "element") {
            if let Some(ty) = n.attribute("type").and_then(|t| t.strip_prefix("tns:")) {
                assert!(defined.contains(&ty), "{ty} is not defined");
            }
        }
    }
}
