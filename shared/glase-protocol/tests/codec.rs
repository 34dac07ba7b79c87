//! Golden envelopes for every operation in both directions, the documented sendInvoice
//! example and its answer, and the decoder's leniency rules.

mod support;

use glase_protocol::soap::*;
use glase_protocol::*;
use support::*;

/// The client fields of the documented examples: comment, client id and client reference.
const DOCUMENTED_CLIENT: [&str; 3] = ["comment", "testClient", "12345"];

/// The documented envelope `documented/<name>.xml`.
fn documented(name: &str) -> String {
    golden(&format!("documented/{name}.xml"))
}

/// `encoded` is the golden file `documented/<name>.golden.xml` and the documented envelope, compacted.
fn assert_documented(name: &str, encoded: &str) {
    assert_golden(&format!("documented/{name}.golden.xml"), encoded);
    assert_eq!(encoded, compact(&documented(name)));
}

#[test]
fn every_request_envelope_matches_its_golden_file_and_decodes_back() {
    for op in Operation::ALL {
        let request = full_request(op);
        let xml = encode_request(&request);
        assert_golden(&format!("requests/{}.xml", op.name()), &xml);
        assert_eq!(decode_request(xml.as_bytes()).unwrap(), request, "{op}");
        assert_eq!(peek_operation(xml.as_bytes()), Ok(op));
    }
}

#[test]
fn every_response_envelope_matches_its_golden_file_and_decodes_back() {
    for op in Operation::ALL {
        let response = full_response(op);
        let xml = encode_response(&response);
        assert_golden(&format!("responses/{}Response.xml", op.name()), &xml);
        assert_eq!(decode_response(op, xml.as_bytes()).unwrap(), response, "{op}");
    }
}

#[test]
fn rejection_responses_match_their_golden_files() {
    let cases = [
        (Operation::SendInvoice, ResultCode::InvalidInvoiceData),
        (
            Operation::RefundPayment,
            ResultCode::SumOfRefundsCanNotBeMoreThanOriginalTransaction,
        ),
        (Operation::ExecuteReport, ResultCode::ReportNotReady),
        (Operation::GetPaymentStatus, ResultCode::from_code(77)),
    ];
    for (op, code) in cases {
        let response = Response::with_code(op, code);
        let xml = encode_response(&response);
        assert_golden(
            &format!("responses/{}Response-{}.xml", op.name(), code.code()),
            &xml,
        );
        assert_eq!(decode_response(op, xml.as_bytes()).unwrap(), response);
    }
}

#[test]
fn fault_envelope_matches_its_golden_file_and_decodes_as_a_typed_fault() {
    let xml = encode_fault("soap:Client", "Unmarshalling Error: unexpected <element> & more");
    assert_golden("responses/fault.xml", &xml);
    for op in Operation::ALL {
        assert_eq!(
            decode_response(op, xml.as_bytes()),
            Err(SoapError::Fault {
                code: "soap:Client".into(),
                message: "Unmarshalling Error: unexpected <element> & more".into()
            })
        );
    }
    assert_eq!(decode_request(xml.as_bytes()), Err(DecodeError::UnexpectedFault));
}

/// The data of the documented sendInvoice example (the merchant API's own sample request).
fn documented_send_invoice() -> SendInvoiceRequest {
    let row = |desc: &str, qty: &str, sku: &str, total: &str, unit: &str| InvoiceRow {
        item_description: Some(desc.into()),
        item_quantity: Some(dec(qty)),
        item_sku: Some(sku.into()),
        item_tax_rate: Some(dec("24")),
        item_total_amount: Some(Amount::new("SEK", dec(total))),
        item_unit: Some(String::new()),
        item_unit_price: Some(Amount::new("SEK", dec(unit))),
        ..Default::default()
    };
    SendInvoiceRequest {
        context: ws_terminal_context(
            DOCUMENTED_CLIENT,
            "8609bf533abf4a20816e8bfe76639521",
            "N2YFUhKaB1ZSuVF",
        ),
        invoice: Some(Invoice {
            payment_mode: Some(PaymentMode::ImmediateDebit),
            acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
            issue_date: Some("2015-12-25T12:34:56".into()),
            title: Some("Some Invoice".into()),
            client_invoice_id: Some("Merchant34213421".into()),
            invoice_rows: Some(vec![
                row("Laptop Samsung Ultrabook", "2", "16", "500", "250"),
                row("Laptop Apple MacBook Air", "1", "3", "1000", "1000"),
            ]),
            total_amount: Some(Amount::new("SEK", dec("1500"))),
            cashier_id: Some("Bob".into()),
            footer: None,
            back_url: Some("https://merchant.example/seqr/done?order=42".into()),
            notification_url: Some("http://www.thirdparty.com/notifyMeHere".into()),
            commit_reservation_timeout: None,
        }),
        tokens: vec![],
    }
}

#[test]
fn documented_send_invoice_request_decodes_and_re_encodes_to_the_same_bytes() {
    let decoded = decode_request(documented("sendInvoice-request").as_bytes()).unwrap();
    let Request::SendInvoice(request) = &decoded else {
        panic!("wrong operation {decoded:?}")
    };
    assert!(request.context.password.verify_str("N2YFUhKaB1ZSuVF"));
    assert_eq!(request.context.initiator.kind, PrincipalType::TerminalId);
    let invoice = request.invoice.as_ref().unwrap();
    assert_eq!(
        invoice.total_amount.as_ref().unwrap().to_minor_units(),
        Some(150_000)
    );
    assert_eq!(invoice.invoice_rows.as_ref().unwrap().len(), 2);
    assert_eq!(
        invoice.invoice_rows.as_ref().unwrap()[0].item_unit.as_deref(),
        Some("")
    );
    assert_eq!(decoded, Request::SendInvoice(documented_send_invoice()));

    let encoded = encode_request(&Request::SendInvoice(documented_send_invoice()));
    assert_documented("sendInvoice-request", &encoded);
}

#[test]
fn documented_send_invoice_response_decodes_and_re_encodes_to_the_same_bytes() {
    let decoded = decode_response(
        Operation::SendInvoice,
        documented("sendInvoice-response").as_bytes(),
    )
    .unwrap();
    let expected = SendInvoiceResponse {
        ers_reference: None,
        result_code: ResultCode::Success,
        result_description: Some("SUCCESS".into()),
        invoice_qr_code: Some("HTTP://SEQR.SE/R1397222701693".into()),
        invoice_reference: Some("1397222701693".into()),
    };
    assert_eq!(decoded, Response::SendInvoice(expected.clone()));
    let encoded = encode_response(&expected.into());
    assert_documented("sendInvoice-response", &encoded);
}

#[test]
fn documented_get_payment_status_request_decodes_and_re_encodes_to_the_same_bytes() {
    let expected = GetPaymentStatusRequest {
        context: ws_terminal_context(DOCUMENTED_CLIENT, "87e791f9e24148a6892c52aa85bb0331", "123456"),
        invoice_reference: Some("1397222701693".into()),
        invoice_version: 0,
    };
    assert_eq!(
        decode_request(documented("getPaymentStatus-request").as_bytes()).unwrap(),
        Request::GetPaymentStatus(expected.clone())
    );
    let encoded = encode_request(&expected.into());
    assert_documented("getPaymentStatus-request", &encoded);
}

#[test]
fn documented_get_payment_status_responses_decode_and_re_encode_to_the_same_bytes() {
    let issued = documented("getPaymentStatus-response-issued");
    let decoded = decode_response(Operation::GetPaymentStatus, issued.as_bytes()).unwrap();
    let expected = GetPaymentStatusResponse {
        result_description: Some("SUCCESS".into()),
        status: Some(InvoiceStatus::Issued),
        version: 1,
        ..Default::default()
    };
    assert_eq!(decoded, Response::GetPaymentStatus(expected.clone()));
    let encoded = encode_response(&expected.into());
    assert_documented("getPaymentStatus-response-issued", &encoded);

    let paid = documented("getPaymentStatus-response-paid");
    let decoded = decode_response(Operation::GetPaymentStatus, paid.as_bytes()).unwrap();
    let Response::GetPaymentStatus(status) = &decoded else {
        panic!("{decoded:?}")
    };
    assert_eq!(status.status, Some(InvoiceStatus::Paid));
    assert_eq!(status.ers_reference.as_deref(), Some("2015102910184861801032678"));
    assert_eq!(status.customer_tokens, Some(vec![]));
    assert_eq!(status.version, 2);
    let receipt = status.receipt.as_ref().unwrap();
    assert_eq!(receipt.payment_reference, status.ers_reference);
    assert_eq!(
        receipt.payment_date.as_deref(),
        Some("2015-10-29T10:18:48.663+01:00")
    );
    assert_eq!(receipt.receiver_name.as_deref(), Some("My Shop's Name"));
    assert_eq!(receipt.invoice, Some(Invoice::default()));
    let encoded = encode_response(&decoded);
    assert_documented("getPaymentStatus-response-paid", &encoded);
}

#[test]
fn decoding_accepts_any_order_any_prefix_unknown_elements_and_absent_optionals() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">
  <S:Header><x:trace xmlns:x="urn:x">1</x:trace></S:Header>
  <S:Body>
    <g:getPaymentStatus xmlns:g="http://external.interfaces.ers.seamless.com/">
      <futureField>ignored</futureField>
      <invoiceReference>  42 </invoiceReference>
      <context>
        <password>pw</password>
        <initiatorPrincipalId><type>TERMINALID</type><id>t1</id></initiatorPrincipalId>
      </context>
    </g:getPaymentStatus>
  </S:Body>
</S:Envelope>"#;
    let expected = GetPaymentStatusRequest {
        context: ClientContext {
            initiator: PrincipalId::terminal("t1"),
            password: Password::new("pw"),
            ..ClientContext::default()
        },
        invoice_reference: Some("  42 ".into()),
        invoice_version: 0,
    };
    assert_eq!(
        decode_request(xml.as_bytes()),
        Ok(Request::GetPaymentStatus(expected))
    );
}

#[test]
fn decoding_a_response_accepts_an_empty_customer_tokens_element_and_cdata() {
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<ns2:getPaymentStatusResponse xmlns:ns2="http://external.interfaces.ers.seamless.com/"><return>
<version> 7 </version><customerTokens/><status>ISSUED</status><resultCode>0</resultCode>
<resultDescription><![CDATA[SUCC]]>ESS</resultDescription><unknown><deep>x</deep></unknown>
</return></ns2:getPaymentStatusResponse></soap:Body></soap:Envelope>"#;
    let Response::GetPaymentStatus(r) = decode_response(Operation::GetPaymentStatus, xml.as_bytes()).unwrap()
    else {
        panic!("wrong variant")
    };
    assert_eq!(r.customer_tokens, Some(vec![]));
    assert_eq!(r.version, 7);
    assert_eq!(r.status, Some(InvoiceStatus::Issued));
    assert_eq!(r.result_description.as_deref(), Some("SUCCESS"));
}

#[test]
fn report_amounts_and_unknown_codes_and_statuses_survive_decoding() {
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<ns2:getPaymentStatusResponse xmlns:ns2="http://external.interfaces.ers.seamless.com/"><return>
<resultCode>123</resultCode><status>SOMETHING_NEW</status><receipt><invoice><totalAmount>
<currency>SEK</currency><value>93.31000</value></totalAmount></invoice></receipt><version>1</version>
</return></ns2:getPaymentStatusResponse></soap:Body></soap:Envelope>"#;
    let Response::GetPaymentStatus(r) = decode_response(Operation::GetPaymentStatus, xml.as_bytes()).unwrap()
    else {
        panic!("wrong variant")
    };
    assert_eq!(r.result_code, ResultCode::Unknown(123));
    assert_eq!(r.status, Some(InvoiceStatus::Unknown("SOMETHING_NEW".into())));
    let total = r.receipt.unwrap().invoice.unwrap().total_amount.unwrap();
    assert_eq!(total.to_minor_units(), Some(9331));
    assert_eq!(total.value.to_string(), "93.31000");
}

#[test]
fn amounts_with_more_than_two_decimals_decode_so_the_sandbox_can_answer_49() {
    let mut request = full_request(Operation::SendInvoice);
    let Request::SendInvoice(r) = &mut request else {
        unreachable!()
    };
    r.invoice.as_mut().unwrap().total_amount = Some(Amount::new("SEK", dec("10.005")));
    let decoded = decode_request(encode_request(&request).as_bytes()).unwrap();
    let Request::SendInvoice(r) = decoded else {
        unreachable!()
    };
    assert_eq!(r.invoice.unwrap().total_amount.unwrap().to_minor_units(), None);
}

#[test]
fn minor_units_are_encoded_with_two_decimals() {
    let request = Request::CommitReservation(CommitReservationRequest {
        context: ClientContext::terminal("t", Password::new("p")),
        amount: Some(Amount::from_minor_units("SEK", 12550)),
        invoice_reference: None,
    });
    assert!(
        encode_request(&request).contains("<amount><currency>SEK</currency><value>125.50</value></amount>")
    );
}
