//! Limits of what the API accepts: body size, number of rows, string lengths (Glase's and our own),
//! amount ranges, numbers with too many decimals, headers, path ids and query parameters. Each
//! violation is a 4xx documented for its route, naming the field when there is one, with no Glase call
//! and nothing changed (store contents and write count, queue, push).

use crate::support;

use http::Method;
use payments_api::app::MAX_BODY_BYTES;
use support::{Answer, KEY, TestApp, changes_nothing, create_payment, merchant, send};

/// Sends `body` to `uri` as the merchant and checks the refusal: `status`, the field named, the answer
/// matching the document, nothing changed.
async fn refused(
    app: &TestApp,
    method: Method,
    uri: &str,
    template: &str,
    body: &str,
    status: u16,
    field: Option<&str>,
) -> Answer {
    let what = format!("{method} {uri} {}", &body[..body.len().min(160)]);
    let m = method.clone();
    let answer = changes_nothing(app, &what, || merchant(app, m, uri, body)).await;
    assert_eq!(answer.status, status, "{what}: {}", answer.text);
    assert_eq!(
        answer.json["error"]["field"].as_str(),
        field,
        "{what}: {}",
        answer.text
    );
    payments_api::openapi::validate_response(method.as_str(), template, status, &answer.json)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    answer
}

/// Sends `body` to `POST /v1/payments` and checks the refusal as [`refused`] does, with status 400.
async fn refused_create(app: &TestApp, body: &str, field: Option<&str>) -> Answer {
    refused(
        app,
        Method::POST,
        "/v1/payments",
        "/v1/payments",
        body,
        400,
        field,
    )
    .await
}

fn create_body(extra: &str) -> String {
    format!(r#"{{"order_id":"L-1","currency":"SEK","total":1000{extra}}}"#)
}

fn with_row(row: &str) -> String {
    create_body(&format!(r#","rows":[{row}]"#))
}

#[tokio::test]
async fn a_payment_beyond_any_limit_is_refused_naming_the_field() {
    let app = support::app();
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, &str)> = vec![
        // Text lengths: Glase's clientReference (32) bounds the order id; the others are ours.
        (
            format!(r#"{{"order_id":"{}","currency":"SEK","total":1000}}"#, long(33)),
            "order_id",
        ),
        (r#"{"order_id":"","currency":"SEK","total":1000}"#.into(), "order_id"),
        (
            r#"{"order_id":"L-1\u0000","currency":"SEK","total":1000}"#.into(),
            "order_id",
        ),
        (create_body(&format!(r#","title":"{}""#, long(81))), "title"),
        (create_body(r#","title":"a\nb""#), "title"),
        (create_body(&format!(r#","cashier_id":"{}""#, long(33))), "cashier_id"),
        (
            create_body(&format!(r#","back_url":"https://shop.example/{}""#, long(2048))),
            "back_url",
        ),
        (create_body(r#","back_url":"javascript:alert(1)""#), "back_url"),
        (create_body(r#","terminal_id":"../x""#), "terminal_id"),
        (
            with_row(&format!(r#"{{"description":"{}","total":1000}}"#, long(201))),
            "rows[0].description",
        ),
        (
            with_row(&format!(r#"{{"description":"d","sku":"{}","total":1000}}"#, long(65))),
            "rows[0].sku",
        ),
        (
            with_row(&format!(r#"{{"description":"d","unit":"{}","total":1000}}"#, long(17))),
            "rows[0].unit",
        ),
        (with_row(r#"{"description":"d","ean":"12345","total":1000}"#), "rows[0].ean"),
        // Currency.
        (r#"{"order_id":"L-1","currency":"sek","total":1000}"#.into(), "currency"),
        (r#"{"order_id":"L-1","currency":"KWD","total":1000}"#.into(), "currency"),
        // Amounts: zero, negative, above the maximum, not an integer of minor units, out of range.
        (r#"{"order_id":"L-1","currency":"SEK","total":0}"#.into(), "total"),
        (r#"{"order_id":"L-1","currency":"SEK","total":-100}"#.into(), "total"),
        (
            r#"{"order_id":"L-1","currency":"SEK","total":10000000001}"#.into(),
            "total",
        ),
        (r#"{"order_id":"L-1","currency":"SEK","total":10.5}"#.into(), "total"),
        (r#"{"order_id":"L-1","currency":"SEK","total":1e3}"#.into(), "total"),
        (r#"{"order_id":"L-1","currency":"SEK","total":"1000"}"#.into(), "total"),
        (
            r#"{"order_id":"L-1","currency":"SEK","total":9223372036854775808}"#.into(),
            "total",
        ),
        (
            create_body(r#","rows":[{"description":"a","total":10000000001},{"description":"b","total":-10000000000}]"#)
                .replace("\"total\":1000,", "\"total\":1,"),
            "rows[0].total",
        ),
        (
            with_row(r#"{"description":"d","unit_price":-10000000001,"total":1000}"#),
            "rows[0].unit_price",
        ),
        (with_row(r#"{"description":"d","discount":-1,"total":1000}"#), "rows[0].discount"),
        (with_row(r#"{"description":"d","total":10.5}"#), "rows[0].total"),
        (with_row(r#"{"description":"d","total":999}"#), "rows"),
        // Quantities: Glase refuses below 1; at most three decimals; at most a million.
        (with_row(r#"{"description":"d","quantity":0.5,"total":1000}"#), "rows[0].quantity"),
        (with_row(r#"{"description":"d","quantity":0,"total":1000}"#), "rows[0].quantity"),
        (with_row(r#"{"description":"d","quantity":-2,"total":1000}"#), "rows[0].quantity"),
        (with_row(r#"{"description":"d","quantity":1.0005,"total":1000}"#), "rows[0].quantity"),
        (
            with_row(r#"{"description":"d","quantity":1000001,"total":1000}"#),
            "rows[0].quantity",
        ),
        (
            with_row(r#"{"description":"d","quantity":1e300,"total":1000}"#),
            "rows[0].quantity",
        ),
        (with_row(r#"{"description":"d","tax_rate":100.01,"total":1000}"#), "rows[0].tax_rate"),
        (with_row(r#"{"description":"d","tax_rate":12.345,"total":1000}"#), "rows[0].tax_rate"),
        (with_row(r#"{"description":"d","tax_rate":-1,"total":1000}"#), "rows[0].tax_rate"),
        // Unknown fields.
        (with_row(r#"{"description":"d","total":1000,"colour":"red"}"#), "rows[0].colour"),
    ];
    for (body, field) in &cases {
        refused_create(&app, body, Some(field)).await;
    }
}

#[tokio::test]
async fn rows_beyond_the_limit_and_bodies_beyond_the_size_are_refused() {
    let app = support::app();
    let row = r#"{"description":"d","total":10}"#;
    let rows = |n: usize| vec![row; n].join(",");
    // 100 rows are accepted, 101 are not.
    let ok = merchant(
        &app,
        Method::POST,
        "/v1/payments",
        &format!(
            r#"{{"order_id":"L-1","currency":"SEK","total":1000,"rows":[{}]}}"#,
            rows(100)
        ),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let body = format!(
        r#"{{"order_id":"L-2","currency":"SEK","total":1010,"rows":[{}]}}"#,
        rows(101)
    );
    refused_create(&app, &body, Some("rows")).await;

    // A body one byte over the limit, on every route that reads one.
    let id = create_payment(&app, "L-3", 1000).await.id;
    let padding = " ".repeat(MAX_BODY_BYTES);
    let big = format!(r#"{{"order_id":"L-4","currency":"SEK","total":1000}}{padding}"#);
    let targets = [
        (Method::POST, "/v1/payments".to_owned(), "/v1/payments"),
        (
            Method::PATCH,
            format!("/v1/payments/{id}"),
            "/v1/payments/{payment_id}",
        ),
        (
            Method::POST,
            format!("/v1/payments/{id}/refunds"),
            "/v1/payments/{payment_id}/refunds",
        ),
        (Method::POST, "/v1/terminals".to_owned(), "/v1/terminals"),
        (
            Method::PUT,
            "/v1/terminals/term_1/glase-id".to_owned(),
            "/v1/terminals/{terminal_id}/glase-id",
        ),
        (Method::POST, "/v1/reports".to_owned(), "/v1/reports"),
    ];
    for (method, uri, template) in targets {
        let answer = refused(&app, method, &uri, template, &big, 413, None).await;
        assert_eq!(answer.json["error"]["code"], "body_too_large");
    }
    // Rubbish, an empty body, an array in place of the object and trailing data are refused too.
    for body in [
        "",
        "{",
        "null",
        "[]",
        r#"["L-5", null, "SEK", 1000]"#,
        r#"{"order_id":"L-5","currency":"SEK","total":1000} {}"#,
    ] {
        refused_create(&app, body, None).await;
    }
}

#[tokio::test]
async fn updates_refunds_terminals_and_reports_have_their_limits() {
    let app = support::app();
    let id = create_payment(&app, "L-1", 1000).await.id;
    let patch = format!("/v1/payments/{id}");
    let t = "/v1/payments/{payment_id}";
    for (body, field) in [
        (r#"{"total":0}"#.to_owned(), "total"),
        (r#"{"total":10000000001}"#.to_owned(), "total"),
        (r#"{"total":1.5}"#.to_owned(), "total"),
        (
            format!(r#"{{"total":1000,"title":"{}"}}"#, "t".repeat(81)),
            "title",
        ),
        (
            r#"{"total":1000,"rows":[{"description":"d","quantity":0.25,"total":1000}]}"#.to_owned(),
            "rows[0].quantity",
        ),
        (r#"{"total":1000,"currency":"EUR"}"#.to_owned(), "currency"),
    ] {
        refused(&app, Method::PATCH, &patch, t, &body, 400, Some(field)).await;
    }

    let refunds = format!("/v1/payments/{id}/refunds");
    let t = "/v1/payments/{payment_id}/refunds";
    for (body, field) in [
        (r#"{"amount":0}"#.to_owned(), "amount"),
        (r#"{"amount":-5}"#.to_owned(), "amount"),
        (r#"{"amount":10000000001}"#.to_owned(), "amount"),
        (r#"{"amount":2.5}"#.to_owned(), "amount"),
        (
            format!(r#"{{"amount":100,"reason":"{}"}}"#, "r".repeat(81)),
            "reason",
        ),
        (
            format!(r#"{{"amount":100,"cashier_id":"{}"}}"#, "c".repeat(33)),
            "cashier_id",
        ),
    ] {
        refused(&app, Method::POST, &refunds, t, &body, 400, Some(field)).await;
    }

    for (body, field) in [
        (
            format!(r#"{{"external_id":"{}","name":"Till"}}"#, "e".repeat(65)),
            "external_id",
        ),
        (r#"{"external_id":"","name":"Till"}"#.to_owned(), "external_id"),
        (
            format!(r#"{{"external_id":"t-1","name":"{}"}}"#, "n".repeat(65)),
            "name",
        ),
    ] {
        refused(
            &app,
            Method::POST,
            "/v1/terminals",
            "/v1/terminals",
            &body,
            400,
            Some(field),
        )
        .await;
    }
    let terminal = merchant(
        &app,
        Method::POST,
        "/v1/terminals",
        r#"{"external_id":"t-1","name":"Till"}"#,
    )
    .await;
    assert_eq!(terminal.status, 201, "{}", terminal.text);
    let glase_id = format!("/v1/terminals/{}/glase-id", terminal.json["id"].as_str().unwrap());
    for body in [
        format!(r#"{{"glase_id":"{}"}}"#, "A".repeat(33)),
        r#"{"glase_id":"AB-12"}"#.to_owned(),
        r#"{"glase_id":""}"#.to_owned(),
    ] {
        refused(
            &app,
            Method::PUT,
            &glase_id,
            "/v1/terminals/{terminal_id}/glase-id",
            &body,
            400,
            Some("glase_id"),
        )
        .await;
    }

    for body in [
        format!(r#"{{"period_key":"{}"}}"#, "k".repeat(129)),
        r#"{"period_key":"a b"}"#.to_owned(),
        r#"{"period_key":""}"#.to_owned(),
    ] {
        refused(
            &app,
            Method::POST,
            "/v1/reports",
            "/v1/reports",
            &body,
            400,
            Some("period_key"),
        )
        .await;
    }
}

#[tokio::test]
async fn headers_path_ids_and_query_parameters_have_their_limits() {
    let app = support::app();
    let created = create_payment(&app, "L-1", 1000).await;
    let auth = format!("Bearer {KEY}");

    // Idempotency keys of 256 characters or with control characters.
    let body = create_body("");
    for key in ["k".repeat(256), "a\tb".to_owned()] {
        let headers = [
            ("authorization", auth.as_str()),
            ("idempotency-key", key.as_str()),
        ];
        let answer = changes_nothing(&app, "idempotency key", || {
            send(&app, Method::POST, "/v1/payments", &headers, &body)
        })
        .await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.json["error"]["field"], "Idempotency-Key");
    }

    // Ids that are not ids, however long, are unknown.
    for id in ["x".repeat(10_000), "pay_%00".to_owned(), "..".to_owned()] {
        for (method, uri) in [
            (Method::GET, format!("/v1/payments/{id}")),
            (Method::POST, format!("/v1/payments/{id}/cancel")),
            (Method::GET, format!("/v1/payments/{}/refunds/{id}", created.id)),
            (Method::GET, format!("/v1/reports/{id}")),
            (Method::DELETE, format!("/v1/terminals/{id}")),
        ] {
            let what = format!("{method} {}", &uri[..uri.len().min(60)]);
            let answer = changes_nothing(&app, &what, || merchant(&app, method, &uri, "")).await;
            assert_eq!(answer.status, 404, "{what}: {}", answer.text);
        }
    }

    // Client secrets and tokens: too long, repeated, empty, or not valid URL encoding.
    let long = "s".repeat(100_000);
    let queries = [
        format!("/v1/payments/{}?client_secret={long}", created.id),
        format!("/v1/payments/{}?client_secret=", created.id),
        format!("/v1/payments/{}?client_secret=%FF%FE", created.id),
        format!(
            "/v1/payments/{}?client_secret=wrong&client_secret={}",
            created.id, created.client_secret
        ),
    ];
    for uri in &queries {
        let answer = changes_nothing(&app, "client secret", || send(&app, Method::GET, uri, &[], "")).await;
        assert!([401, 404].contains(&answer.status), "{uri:.80}: {}", answer.text);
    }
    let token = created.notification.split("token=").nth(1).unwrap();
    let notifications = [
        format!("/v1/notifications/{}?token={long}", created.id),
        format!("/v1/notifications/{}?token=", created.id),
        format!("/v1/notifications/{}?token=%ZZ", created.id),
        format!("/v1/notifications/{}?token=wrong&token={token}", created.id),
        format!("/v1/notifications/{}?token={token}%00", created.id),
    ];
    for uri in &notifications {
        let answer = changes_nothing(&app, "token", || send(&app, Method::POST, uri, &[], "")).await;
        assert_eq!(answer.status, 404, "{uri:.80}: {}", answer.text);
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_take_is_405_listing_the_methods_it_takes() {
    let app = support::app();
    let id = create_payment(&app, "L-1", 1000).await.id;
    for (method, uri, allow) in [
        (Method::DELETE, "/v1/payments".to_owned(), "POST"),
        (Method::TRACE, format!("/v1/payments/{id}"), "GET, PATCH"),
        (Method::PUT, "/v1/terminals".to_owned(), "GET, POST"),
        (Method::GET, format!("/v1/payments/{id}/cancel"), "POST"),
    ] {
        let what = format!("{method} {uri}");
        let m = method.clone();
        let response = changes_nothing(&app, &what, || async {
            let r = app.handle(payments_api::app::request(m, &uri, &[], "")).await;
            let allow = r.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
            Answer {
                status: r.status().as_u16(),
                text: allow.unwrap_or_default(),
                json: serde_json::from_str(r.body()).unwrap_or_default(),
            }
        })
        .await;
        assert_eq!(response.status, 405, "{what}");
        assert_eq!(response.text, allow, "{what}: the Allow header");
        assert_eq!(response.json["error"]["code"], "method_not_allowed");
    }
}
