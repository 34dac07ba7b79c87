//! Hostile and broken input: every case gives a typed error, none panics.

mod support;

use glase_protocol::soap::*;
use glase_protocol::*;
use proptest::prelude::*;
use support::*;

const ENV_OPEN: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ext="http://external.interfaces.ers.seamless.com/"><soapenv:Body>"#;
const ENV_CLOSE: &str = "</soapenv:Body></soapenv:Envelope>";

fn in_envelope(body: &str) -> String {
    format!("{ENV_OPEN}{body}{ENV_CLOSE}")
}

fn response_with(return_children: &str) -> String {
    in_envelope(&format!(
        "<ext:getPaymentStatusResponse><return>{return_children}</return></ext:getPaymentStatusResponse>"
    ))
}

#[test]
fn every_truncation_of_a_valid_envelope_is_rejected() {
    for op in Operation::ALL {
        let request = encode_request(&full_request(op));
        let response = encode_response(&full_response(op));
        for cut in (0..request.len()).filter(|i| request.is_char_boundary(*i)) {
            assert!(
                decode_request(&request.as_bytes()[..cut]).is_err(),
                "{op} request cut at {cut}"
            );
        }
        for cut in (0..response.len()).filter(|i| response.is_char_boundary(*i)) {
            assert!(
                decode_response(op, &response.as_bytes()[..cut]).is_err(),
                "{op} response cut at {cut}"
            );
        }
    }
    assert!(matches!(decode_request(b""), Err(DecodeError::Malformed(_))));
    assert!(matches!(
        decode_request(b"<soapenv:Envelope"),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn a_wrapper_outside_the_glase_namespace_is_rejected() {
    let wrong = encode_request(&full_request(Operation::CancelInvoice)).replace(
        "http://external.interfaces.ers.seamless.com/",
        "http://example.com/other/",
    );
    assert_eq!(
        decode_request(wrong.as_bytes()),
        Err(DecodeError::WrongNamespace {
            element: "cancelInvoice".into(),
            found: Some("http://example.com/other/".into())
        })
    );
    let none = in_envelope("<cancelInvoice><invoiceReference>1</invoiceReference></cancelInvoice>");
    assert_eq!(
        decode_request(none.as_bytes()),
        Err(DecodeError::WrongNamespace {
            element: "cancelInvoice".into(),
            found: None
        })
    );
    let response = encode_response(&full_response(Operation::CancelInvoice))
        .replace("http://external.interfaces.ers.seamless.com/", "urn:wrong");
    assert!(matches!(
        decode_response(Operation::CancelInvoice, response.as_bytes()),
        Err(SoapError::Decode(DecodeError::WrongNamespace { .. }))
    ));
}

#[test]
fn anything_but_a_soap_1_1_envelope_is_rejected() {
    assert_eq!(
        decode_request(b"<sendInvoice/>"),
        Err(DecodeError::NotSoapEnvelope)
    );
    let soap12 = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#;
    assert_eq!(
        decode_request(soap12.as_bytes()),
        Err(DecodeError::NotSoapEnvelope)
    );
    let no_body =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>"#;
    assert_eq!(decode_request(no_body.as_bytes()), Err(DecodeError::MissingBody));
    assert_eq!(
        decode_request(in_envelope("  ").as_bytes()),
        Err(DecodeError::EmptyBody)
    );
    assert_eq!(
        decode_response(Operation::SendInvoice, in_envelope("").as_bytes()),
        Err(SoapError::Decode(DecodeError::EmptyBody))
    );
}

#[test]
fn unknown_operations_and_mismatched_responses_are_rejected() {
    assert_eq!(
        decode_request(in_envelope("<ext:benchmarkingNop/>").as_bytes()),
        Err(DecodeError::UnknownOperation("benchmarkingNop".into()))
    );
    assert_eq!(
        peek_operation(in_envelope("<ext:requestTopup/>").as_bytes()),
        Err(DecodeError::UnknownOperation("requestTopup".into()))
    );
    let send = encode_response(&full_response(Operation::SendInvoice));
    assert_eq!(
        decode_response(Operation::GetPaymentStatus, send.as_bytes()),
        Err(SoapError::Decode(DecodeError::UnexpectedElement {
            expected: "getPaymentStatusResponse".into(),
            found: "sendInvoiceResponse".into()
        }))
    );
    let request = encode_request(&full_request(Operation::SendInvoice));
    assert!(decode_response(Operation::SendInvoice, request.as_bytes()).is_err());
}

#[test]
fn responses_without_return_or_result_code_are_rejected() {
    let no_return = in_envelope("<ext:getPaymentStatusResponse/>");
    assert_eq!(
        decode_response(Operation::GetPaymentStatus, no_return.as_bytes()),
        Err(SoapError::Decode(DecodeError::MissingElement("return")))
    );
    assert_eq!(
        decode_response(
            Operation::GetPaymentStatus,
            response_with("<status>PAID</status>").as_bytes()
        ),
        Err(SoapError::Decode(DecodeError::MissingElement("resultCode")))
    );
}

#[test]
fn unparsable_primitives_decimals_and_base64_are_rejected() {
    let cases = [
        ("<resultCode>abc</resultCode>", "resultCode"),
        ("<resultCode>99999999999</resultCode>", "resultCode"),
        ("<resultCode>0</resultCode><version></version>", "version"),
        (
            "<resultCode>0</resultCode><receipt><invoice><totalAmount><value>1e3</value></totalAmount></invoice></receipt>",
            "value",
        ),
        (
            "<resultCode>0</resultCode><receipt><invoice><commitReservationTimeout>soon</commitReservationTimeout></invoice></receipt>",
            "commitReservationTimeout",
        ),
        (
            "<resultCode>0</resultCode><customerTokens><token><status>x</status></token></customerTokens>",
            "status",
        ),
    ];
    for (children, element) in cases {
        match decode_response(Operation::GetPaymentStatus, response_with(children).as_bytes()) {
            Err(SoapError::Decode(DecodeError::InvalidValue { element: e, .. })) => assert_eq!(e, element),
            other => panic!("{children}: {other:?}"),
        }
    }
    let report = in_envelope(
        "<ext:executeReportResponse><return><resultCode>0</resultCode><report><content>***</content></report></return></ext:executeReportResponse>",
    );
    assert!(matches!(
        decode_response(Operation::ExecuteReport, report.as_bytes()),
        Err(SoapError::Decode(DecodeError::InvalidValue {
            element: "content",
            ..
        }))
    ));
    let request =
        in_envelope("<ext:getPaymentStatus><invoiceVersion>one</invoiceVersion></ext:getPaymentStatus>");
    assert!(matches!(
        decode_request(request.as_bytes()),
        Err(DecodeError::InvalidValue {
            element: "invoiceVersion",
            ..
        })
    ));
}

#[test]
fn dtds_and_entity_bombs_are_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&lol3;</soapenv:Body></soapenv:Envelope>"#;
    assert_eq!(decode_request(bomb.as_bytes()), Err(DecodeError::DtdNotAllowed));
    let xxe = r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
    assert_eq!(decode_request(xxe.as_bytes()), Err(DecodeError::DtdNotAllowed));
    assert_eq!(
        decode_response(Operation::SendInvoice, bomb.as_bytes()),
        Err(SoapError::Decode(DecodeError::DtdNotAllowed))
    );
    let undeclared = in_envelope(
        "<ext:cancelInvoice><invoiceReference>&undeclared;</invoiceReference></ext:cancelInvoice>",
    );
    assert!(matches!(
        decode_request(undeclared.as_bytes()),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let padding = "x".repeat(MAX_INPUT_BYTES);
    let huge = in_envelope(&format!(
        "<ext:cancelInvoice><invoiceReference>{padding}</invoiceReference></ext:cancelInvoice>"
    ));
    assert_eq!(
        decode_request(huge.as_bytes()),
        Err(DecodeError::TooLarge {
            size: huge.len(),
            limit: MAX_INPUT_BYTES
        })
    );
    assert!(matches!(
        decode_response(Operation::CancelInvoice, huge.as_bytes()),
        Err(SoapError::Decode(DecodeError::TooLarge { .. }))
    ));
}

#[test]
fn deep_nesting_and_node_floods_are_refused() {
    let deep = in_envelope(&format!(
        "<ext:cancelInvoice>{}{}</ext:cancelInvoice>",
        "<a>".repeat(50_000),
        "</a>".repeat(50_000)
    ));
    assert_eq!(
        decode_request(deep.as_bytes()),
        Err(DecodeError::TooDeep { limit: MAX_DEPTH })
    );
    let just_too_deep = in_envelope(&format!(
        "<ext:cancelInvoice>{}{}</ext:cancelInvoice>",
        "<a>".repeat(MAX_DEPTH),
        "</a>".repeat(MAX_DEPTH)
    ));
    assert_eq!(
        decode_request(just_too_deep.as_bytes()),
        Err(DecodeError::TooDeep { limit: MAX_DEPTH })
    );
    let flood = in_envelope(&format!(
        "<ext:cancelInvoice>{}</ext:cancelInvoice>",
        "<a/>".repeat(150_000)
    ));
    assert_eq!(decode_request(flood.as_bytes()), Err(DecodeError::TooManyNodes));
}

#[test]
fn non_utf8_input_is_refused_and_a_byte_order_mark_is_accepted() {
    let mut latin1 = encode_request(&full_request(Operation::CancelInvoice)).into_bytes();
    latin1.push(0xE5);
    assert_eq!(decode_request(&latin1), Err(DecodeError::NotUtf8));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(encode_request(&full_request(Operation::CancelInvoice)).as_bytes());
    assert_eq!(decode_request(&bom), Ok(full_request(Operation::CancelInvoice)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Random bytes are no envelope; and decoding, whatever it answers, returns instead of panicking.
        prop_assert!(decode_request(&bytes).is_err());
        for op in Operation::ALL {
            prop_assert!(decode_response(op, &bytes).is_err());
        }
    }

    #[test]
    fn mutated_envelopes_never_panic(
        op_index in 0..12_usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let op = Operation::ALL[op_index];
        for mut bytes in [encode_request(&full_request(op)).into_bytes(), encode_response(&full_response(op)).into_bytes()] {
            for (index, byte) in &edits {
                let i = index.index(bytes.len());
                bytes[i] = *byte;
            }
            // Whatever still decodes must survive its own re-encoding unchanged.
            if let Ok(request) = decode_request(&bytes) {
                prop_assert_eq!(decode_request(encode_request(&request).as_bytes()), Ok(request));
            }
            if let Ok(response) = decode_response(op, &bytes) {
                prop_assert_eq!(decode_response(op, encode_response(&response).as_bytes()), Ok(response));
            }
        }
    }
}

/// A details report of `rows` rows, laid out as the sandbox and Glase write it.
fn details_report(rows: usize) -> String {
    let mut text = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TransactionDetails>\n  <Meta>\n    \
         <ResellerId>shop</ResellerId>\n    <TransactionPeriodId>1</TransactionPeriodId>\n  </Meta>\n",
    );
    for i in 0..rows {
        text.push_str(&format!(
            "  <Row>\n    <TerminalId>webshop-1</TerminalId>\n    <CashierId>NULL</CashierId>\n    \
             <SalesAmount>25.00000</SalesAmount>\n    <Currency>SEK</Currency>\n    \
             <ErsReference>{}</ErsReference>\n  </Row>\n",
            100_000_000 + i
        ));
    }
    text.push_str("</TransactionDetails>\n");
    text
}

#[test]
fn a_busy_periods_report_is_read_though_it_is_far_over_the_message_limit() {
    use base64::Engine as _;
    // 20,000 rows: a shop with about 15,000 payments and 5,000 refunds in the period.
    let report = details_report(20_000);
    let escaped = report
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let content = base64::engine::general_purpose::STANDARD.encode(&report);
    let response = in_envelope(&format!(
        "<ext:executeReportResponse><return><resultCode>0</resultCode><report><title>details</title>\
         <content>{content}</content><contentString>{escaped}</contentString></report></return>\
         </ext:executeReportResponse>"
    ));
    assert!(response.len() > 4 * MAX_INPUT_BYTES, "{} bytes", response.len());
    assert!(response.len() < MAX_REPORT_BYTES);

    let Ok(Response::ExecuteReport(decoded)) = decode_response(Operation::ExecuteReport, response.as_bytes())
    else {
        panic!("the executeReport answer decodes");
    };
    let text = decoded
        .report
        .and_then(|r| r.content_string)
        .expect("contentString");
    let parsed = report::parse_report(&text).expect("the report parses");
    assert_eq!(parsed.transactions.len(), 20_000);

    // Every other answer keeps the message limit.
    assert!(matches!(
        decode_response(Operation::GetPaymentStatus, response.as_bytes()),
        Err(SoapError::Decode(DecodeError::TooLarge {
            limit: MAX_INPUT_BYTES,
            ..
        }))
    ));
}

#[test]
fn a_report_past_the_report_limits_is_refused_with_a_clear_error() {
    let padding = "x".repeat(MAX_REPORT_BYTES);
    let response = in_envelope(&format!(
        "<ext:executeReportResponse><return><resultCode>0</resultCode><report>\
         <contentString>{padding}</contentString></report></return></ext:executeReportResponse>"
    ));
    assert_eq!(
        decode_response(Operation::ExecuteReport, response.as_bytes()),
        Err(SoapError::Decode(DecodeError::TooLarge {
            size: response.len(),
            limit: MAX_REPORT_BYTES
        }))
    );
}
