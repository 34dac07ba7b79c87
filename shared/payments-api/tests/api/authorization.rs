//! The authorisation matrix: every operation of the served OpenAPI document (read from
//! `GET /v1/openapi.json`, so a new endpoint cannot be forgotten) is called with each wrong credential:
//! none, a wrong API key, another payment's client secret (header and query), the payment's own client
//! secret where only the merchant may act, a wrong notification token and another payment's notification
//! token. Each is refused with the status the document gives for it, with no Glase call and nothing
//! changed (store contents and write count, queue, push). A final pass with the right credential shows
//! that the same requests are otherwise acceptable, so the refusals came from the credential.

use crate::support;

use http::Method;
use serde_json::Value;
use support::{
    Answer, Created, KEY, TestApp, changes_nothing, create_payment, merchant, pay_and_notify, send,
};

/// Operations anyone may call, and why.
const PUBLIC: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/v1/openapi.json",
        "the contract of the API; it holds no data of any merchant or payment",
    ),
    (
        "GET",
        "/widget/glase-checkout.js",
        "the checkout widget script every shopper's browser loads; it holds no data of any merchant or \
         payment",
    ),
];

/// Operations whose credential is a token in the URL rather than a security scheme, and why.
const TOKEN_IN_URL: &[(&str, &str, &str)] = &[(
    "POST",
    "/v1/notifications/{payment_id}",
    "Glase calls it and can send no header; the per-payment token in the notification URL is the \
     credential, and a wrong one answers 404 so that ids cannot be probed",
)];

/// A valid body for every operation that takes one (the refusal must come from the credential).
fn body_of(method: &str, template: &str) -> Option<&'static str> {
    Some(match (method, template) {
        ("POST", "/v1/payments") => r#"{"order_id":"M-1","currency":"SEK","total":1000}"#,
        ("PATCH", "/v1/payments/{payment_id}") => r#"{"total":2000}"#,
        ("POST", "/v1/payments/{payment_id}/refunds") => r#"{"amount":100}"#,
        ("POST", "/v1/notifications/{payment_id}") => "invoiceReference=x",
        ("POST", "/v1/terminals") => r#"{"external_id":"till-matrix","name":"Till"}"#,
        ("PUT", "/v1/terminals/{terminal_id}/glase-id") => r#"{"glase_id":"MATRIX1"}"#,
        ("POST", "/v1/reports") => r#"{"period_key":"matrix"}"#,
        _ => return None,
    })
}

/// The wrong credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Nothing,
    WrongApiKey,
    OtherClientSecretHeader,
    OtherClientSecretQuery,
    OwnClientSecret,
    WrongNotificationToken,
    OtherNotificationToken,
}

const WRONG: [Credential; 7] = [
    Credential::Nothing,
    Credential::WrongApiKey,
    Credential::OtherClientSecretHeader,
    Credential::OtherClientSecretQuery,
    Credential::OwnClientSecret,
    Credential::WrongNotificationToken,
    Credential::OtherNotificationToken,
];

/// What an operation accepts, from its `security` in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The merchant's API key only.
    Merchant,
    /// The API key or the payment's client secret.
    MerchantOrClientSecret,
    /// The notification token in the URL.
    Token,
    /// Anyone.
    Public,
}

/// The resources the requests are aimed at.
struct World {
    /// A pending payment: the target of the payment routes.
    pending: Created,
    /// Another payment, whose client secret and token are the "other payment's".
    other: Created,
    /// A paid payment with a refund: the target of the refund routes.
    paid: Created,
    refund_id: String,
    terminal_id: String,
    report_id: String,
}

async fn world(app: &TestApp) -> World {
    let pending = create_payment(app, "A-1", 1000).await;
    let other = create_payment(app, "B-1", 2000).await;
    let paid = create_payment(app, "C-1", 3000).await;
    pay_and_notify(app, &paid).await;
    let refund = merchant(
        app,
        Method::POST,
        &format!("/v1/payments/{}/refunds", paid.id),
        r#"{"amount":500}"#,
    )
    .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    let terminal = merchant(
        app,
        Method::POST,
        "/v1/terminals",
        r#"{"external_id":"till-1","name":"Till 1"}"#,
    )
    .await;
    assert_eq!(terminal.status, 201, "{}", terminal.text);
    let report = merchant(app, Method::POST, "/v1/reports", "{}").await;
    assert_eq!(report.status, 201, "{}", report.text);
    World {
        pending,
        other,
        paid,
        refund_id: refund.json["id"].as_str().unwrap().to_owned(),
        terminal_id: terminal.json["id"].as_str().unwrap().to_owned(),
        report_id: report.json["id"].as_str().unwrap().to_owned(),
    }
}

/// One operation of the document.
struct Operation {
    method: String,
    template: String,
    access: Access,
    documented: Vec<u16>,
    has_body: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                continue;
            }
            let method = method.to_uppercase();
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .or_else(|| doc["security"].as_array())
                .map(|list| {
                    list.iter()
                        .flat_map(|req| req.as_object().unwrap().keys().map(String::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let listed = |list: &[(&str, &str, &str)]| {
                list.iter()
                    .any(|(m, t, _)| *m == method && *t == template.as_str())
            };
            let access = match schemes.as_slice() {
                [] if listed(PUBLIC) => Access::Public,
                [] if listed(TOKEN_IN_URL) => Access::Token,
                [] => panic!(
                    "{method} {template} has no security requirement: protect it, or list it with its \
                     reason in PUBLIC or TOKEN_IN_URL"
                ),
                ["apiKey"] => Access::Merchant,
                s if s.contains(&"apiKey")
                    && s.contains(&"clientSecretHeader")
                    && s.contains(&"clientSecretQuery") =>
                {
                    Access::MerchantOrClientSecret
                }
                s => panic!("{method} {template}: security schemes {s:?} are not covered by this test"),
            };
            ops.push(Operation {
                documented: op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter_map(|k| k.parse().ok())
                    .collect(),
                has_body: !op["requestBody"].is_null(),
                method,
                template: template.clone(),
                access,
            });
        }
    }
    ops
}

/// The concrete path of `template` and the payment it is about.
fn path_of<'a>(w: &'a World, template: &str) -> (String, &'a Created) {
    let target = if template.contains("/refunds") {
        &w.paid
    } else {
        &w.pending
    };
    let mut path = template.to_owned();
    for (name, value) in [
        ("{payment_id}", target.id.as_str()),
        ("{refund_id}", w.refund_id.as_str()),
        ("{terminal_id}", w.terminal_id.as_str()),
        ("{report_id}", w.report_id.as_str()),
    ] {
        path = path.replace(name, value);
    }
    assert!(
        !path.contains('{'),
        "{template}: a path parameter this test does not know; add it to path_of"
    );
    (path, target)
}

fn token_of(c: &Created) -> &str {
    c.notification.split("token=").nth(1).unwrap()
}

fn status_expected(access: Access, credential: Credential) -> u16 {
    match (access, credential) {
        (Access::Public, _) => 200,
        // A wrong or missing token (whatever else the request carries) is "no such payment".
        (Access::Token, _) => 404,
        // Another payment's secret is "no such payment": ids cannot be probed.
        (
            Access::MerchantOrClientSecret,
            Credential::OtherClientSecretHeader | Credential::OtherClientSecretQuery,
        ) => 404,
        (Access::MerchantOrClientSecret, Credential::OwnClientSecret) => {
            unreachable!("the payment's own secret is accepted there")
        }
        _ => 401,
    }
}

async fn call(app: &TestApp, w: &World, op: &Operation, credential: Credential, body: &str) -> Answer {
    let (path, target) = path_of(w, &op.template);
    // The notification route carries its token in the query; the others get one only as a wrong credential.
    let query = match credential {
        Credential::OtherClientSecretQuery => format!("client_secret={}", w.other.client_secret),
        Credential::WrongNotificationToken => format!("token={}", "0".repeat(32)),
        Credential::OtherNotificationToken => format!("token={}", token_of(&w.other)),
        _ => String::new(),
    };
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let wrong_auth = "Bearer sk_test_not_the_key".to_owned();
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    match credential {
        Credential::WrongApiKey => headers.push(("authorization", &wrong_auth)),
        Credential::OtherClientSecretHeader => headers.push(("x-client-secret", &w.other.client_secret)),
        Credential::OwnClientSecret => headers.push(("x-client-secret", &target.client_secret)),
        _ => {}
    }
    let method: Method = op.method.parse().unwrap();
    send(app, method, &uri, &headers, body).await
}

#[tokio::test]
async fn every_endpoint_refuses_every_wrong_credential_and_changes_nothing() {
    let app = support::app();
    let w = world(&app).await;
    let served = send(&app, Method::GET, "/v1/openapi.json", &[], "").await;
    assert_eq!(served.status, 200);
    let ops = operations(&served.json);
    assert!(ops.len() >= 16, "the document lists {} operations", ops.len());

    let mut refusals = 0;
    for op in &ops {
        let body = body_of(&op.method, &op.template);
        assert!(
            !op.has_body || body.is_some(),
            "{} {}: give this test a valid body for it in body_of",
            op.method,
            op.template
        );
        let body = body.unwrap_or("");
        for credential in WRONG {
            if op.access == Access::MerchantOrClientSecret && credential == Credential::OwnClientSecret {
                continue;
            }
            let what = format!("{} {} with {credential:?}", op.method, op.template);
            let answer = changes_nothing(&app, &what, || call(&app, &w, op, credential, body)).await;
            let expected = status_expected(op.access, credential);
            assert_eq!(answer.status, expected, "{what}: {}", answer.text);
            assert!(
                op.documented.contains(&answer.status),
                "{what}: status {} is not documented",
                answer.status
            );
            if expected != 200 {
                assert!(
                    !answer.text.contains(&w.other.client_secret) && !answer.text.contains(KEY),
                    "{what}: a secret in the answer"
                );
                payments_api::openapi::validate_response(&op.method, &op.template, expected, &answer.json)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                refusals += 1;
            }
        }
    }
    // 14 protected operations × 6 or 7 wrong credentials.
    assert!(refusals >= 14 * 6, "only {refusals} refusals were checked");

    // The control: the same requests with the right credential are not refused as unauthorised or
    // unknown (state-changing ones may conflict, e.g. a glase-id after the terminal was deleted).
    for op in &ops {
        let (path, target) = path_of(&w, &op.template);
        let body = body_of(&op.method, &op.template).unwrap_or("");
        let method: Method = op.method.parse().unwrap();
        let answers = match op.access {
            Access::Public => vec![send(&app, method, &path, &[], body).await],
            Access::Token => vec![send(&app, method, &target.notification, &[], body).await],
            Access::Merchant => vec![merchant(&app, method, &path, body).await],
            Access::MerchantOrClientSecret => vec![
                send(
                    &app,
                    method.clone(),
                    &path,
                    &[("x-client-secret", &target.client_secret)],
                    body,
                )
                .await,
                send(
                    &app,
                    method.clone(),
                    &format!("{path}?client_secret={}", target.client_secret),
                    &[],
                    body,
                )
                .await,
                merchant(&app, method, &path, body).await,
            ],
        };
        for a in answers {
            assert!(
                ![401, 404].contains(&a.status),
                "{} {} with the right credential: {} {}",
                op.method,
                op.template,
                a.status,
                a.text
            );
        }
    }
}

#[tokio::test]
async fn a_notification_with_another_payments_token_neither_calls_glase_nor_confirms() {
    let app = support::app();
    let w = world(&app).await;
    // Both payments pending and paid at Glase: the wrong token must still not confirm the target.
    let payments = app.deps.store.inner().payments();
    let target = payments.iter().find(|p| p.id().as_str() == w.pending.id).unwrap();
    app.deps.glase.inner().pay(target.invoice_reference());
    let uri = format!("/v1/notifications/{}?token={}", w.pending.id, token_of(&w.other));
    let answer = changes_nothing(&app, "swapped token", || send(&app, Method::POST, &uri, &[], "")).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    // The right token confirms it (so the refusal above came from the token).
    let right = send(&app, Method::POST, &w.pending.notification, &[], "").await;
    assert_eq!(right.json["status"], "paid", "{}", right.text);
}
