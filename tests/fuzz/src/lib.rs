//! What each fuzz target checks for one input. The targets in `fuzz_targets/` call these functions; the
//! ordinary test suite replays the kept inputs (`seeds/<target>/`, `regressions/<target>/`) through the
//! same functions (`shared/payments-api/tests/api/fuzz_regressions.rs` includes this file), so a crash found
//! once stays fixed without cargo-fuzz.
//!
//! Each function panics when a property fails; libFuzzer reports a panic as a crash.

use bytes::Bytes;
use glase_protocol::Operation;
use glase_protocol::soap::{decode_request, decode_response, encode_request};
use http::Method;
use payments_api::app::request;
use payments_api::routes::Route;
use payments_api::testing::{CountedApp, counted_app};

/// The SOAP decoder and the report parser on arbitrary bytes. The first byte picks the operation whose
/// answer the rest is read as; the rest is also read as a request (the sandbox's side) and, when it is
/// text, as a period report.
///
/// Properties: nothing panics; a request that decodes encodes to an envelope that decodes to the same
/// request.
pub fn soap_decode(data: &[u8]) {
    let Some((&selector, xml)) = data.split_first() else {
        return;
    };
    let operation = Operation::ALL[usize::from(selector) % Operation::ALL.len()];
    let _ = decode_response(operation, xml);
    if let Ok(decoded) = decode_request(xml) {
        let again = decode_request(encode_request(&decoded).as_bytes());
        assert_eq!(
            again.as_ref(),
            Ok(&decoded),
            "a decoded request does not survive encoding"
        );
    }
    if let Ok(text) = std::str::from_utf8(xml) {
        let _ = glase_protocol::report::parse_report(text);
    }
}

/// The merchant's API key of the app under fuzzing.
pub const KEY: &str = "sk_fuzz_key";

type FuzzApp = CountedApp;

fn app() -> FuzzApp {
    counted_app(KEY)
}

/// What a request could change: every stored item, the write count, queued messages and pushes.
fn state(app: &FuzzApp) -> String {
    let store = app.deps.store.inner();
    format!(
        "{:?}{:?}{:?}{:?}{}{}{}",
        store.payments(),
        store.refunds(),
        store.terminals(),
        store.idempotency_records(),
        store.writes(),
        app.deps.queue.sent().len(),
        app.deps.push.pushed().len()
    )
}

/// Bytes as a query string: `&` and `=` kept, everything else outside the unreserved set escaped.
fn query_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~&=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One request of the v1 API through `App::handle`, over in-memory test doubles holding one pending
/// payment and one terminal.
///
/// Input: byte 0 picks the route (of `Route::TEMPLATES`, so a new route is fuzzed too); byte 1 holds
/// flags (bit 0: the merchant's API key; bit 1: the payment's client secret in a header; bit 2: an
/// `Idempotency-Key` made of the query bytes; bit 3: path ids from the query bytes instead of the real
/// ones); then the query string, a newline, and the body.
///
/// Properties: nothing panics; nothing answers 5xx (the doubles never fail); every JSON answer matches
/// the OpenAPI document for its route and status; a request refused as malformed, unauthorised, unknown,
/// of a wrong method or too large (400, 401, 404, 405, 413) made no Glase call and changed nothing.
pub fn api_request(data: &[u8]) {
    let [selector, flags, rest @ ..] = data else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (method, template) = Route::TEMPLATES[usize::from(*selector) % Route::TEMPLATES.len()];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let app = app();
        let auth = format!("Bearer {KEY}");
        let merchant = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let created = app
            .handle(request(
                Method::POST,
                "/v1/payments",
                &merchant,
                r#"{"order_id":"F-1","currency":"SEK","total":1000}"#,
            ))
            .await;
        let created: serde_json::Value = serde_json::from_str(created.body()).unwrap_or_default();
        let terminal = app
            .handle(request(
                Method::POST,
                "/v1/terminals",
                &merchant,
                r#"{"external_id":"till-1","name":"Till"}"#,
            ))
            .await;
        let terminal: serde_json::Value = serde_json::from_str(terminal.body()).unwrap_or_default();
        let payment_id = created["id"].as_str().unwrap_or_default().to_owned();
        let secret = created["client_secret"].as_str().unwrap_or_default().to_owned();
        let terminal_id = terminal["id"].as_str().unwrap_or_default().to_owned();

        let fuzzed_id = query_text(query);
        let path = if flags & 8 != 0 {
            template
                .replace("{payment_id}", &fuzzed_id)
                .replace("{refund_id}", &fuzzed_id)
                .replace("{terminal_id}", &fuzzed_id)
                .replace("{report_id}", &fuzzed_id)
        } else {
            template
                .replace("{payment_id}", &payment_id)
                .replace("{refund_id}", "ref_1")
                .replace("{terminal_id}", &terminal_id)
                .replace("{report_id}", "per_1")
        };
        let uri = if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query_text(query))
        };
        let idempotency_key = String::from_utf8_lossy(query).into_owned();
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if flags & 1 != 0 {
            headers.push(("authorization", &auth));
        }
        if flags & 2 != 0 {
            headers.push(("x-client-secret", &secret));
        }
        if flags & 4 != 0 && http::HeaderValue::from_str(&idempotency_key).is_ok() {
            headers.push(("idempotency-key", &idempotency_key));
        }
        let method: Method = method.parse().expect("a method");
        let before = state(&app);
        app.deps.glase.reset();
        let response = app
            .handle(request(
                method.clone(),
                &uri,
                &headers,
                Bytes::copy_from_slice(body),
            ))
            .await;
        let status = response.status().as_u16();
        assert!(
            status < 500,
            "{method} {template} answered {status}: {}",
            response.body()
        );
        let is_json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        if is_json && template != "/v1/openapi.json" {
            let answer: serde_json::Value =
                serde_json::from_str(response.body()).expect("a JSON answer is JSON");
            // A path the fuzzer made unroutable is answered by the router, not by this route.
            if let Err(e) =
                payments_api::openapi::validate_response(method.as_str(), template, status, &answer)
                && Route::parse(&method, uri.split('?').next().unwrap_or_default()).is_ok()
            {
                panic!("{method} {template} {status}: the answer does not match the document: {e}");
            }
        }
        if [400, 401, 404, 405, 413].contains(&status) {
            assert_eq!(
                app.deps.glase.total(),
                0,
                "{method} {template} refused with {status} after calling Glase: {}",
                response.body()
            );
            assert!(
                state(&app) == before,
                "{method} {template} refused with {status} but changed something: {}",
                response.body()
            );
        }
    });
}
