//! The `/sandbox/` JSON controls over HTTP.

use serde_json::{Value, json};

use crate::common::*;

async fn post(t: &TestSandbox, path: &str) -> (u16, Value) {
    let response = t.http.post(t.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(t: &TestSandbox, path: &str) -> (u16, Value) {
    let response = t.http.get(t.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn shopper_actions_answer_the_invoice_and_the_back_url() {
    let t = start().await;
    let reference = t.send(invoice(12550)).await;
    let (status, scanned) = post(&t, &format!("/sandbox/invoices/{reference}/scan")).await;
    assert_eq!((status, &scanned["invoice"]["in_progress"]), (200, &json!(true)));
    assert_eq!(scanned["back_url"], Value::Null);
    let (status, paid) = post(&t, &format!("/sandbox/invoices/{reference}/pay")).await;
    assert_eq!(status, 200);
    assert_eq!(paid["back_url"], "https://shop.example/done?order=42");
    assert_eq!(paid["invoice"]["status"], "PAID");
    assert_eq!(paid["invoice"]["amount"], "125.50");
    assert_eq!(paid["invoice"]["payment"]["acknowledged"], false);
    let (status, again) = post(&t, &format!("/sandbox/invoices/{reference}/pay")).await;
    assert_eq!((status, &again["error"]["code"]), (409, &json!("conflict")));

    let cancelled = t.send(invoice(100)).await;
    let (_, body) = post(&t, &format!("/sandbox/invoices/{cancelled}/cancel")).await;
    assert_eq!(
        (&body["invoice"]["status"], &body["invoice"]["cancel_reason"]),
        (&json!("CANCELED"), &json!("shopper"))
    );
    assert_eq!(body["back_url"], "https://shop.example/done?order=42");
    let failed = t.send(invoice(100)).await;
    let (_, body) = post(&t, &format!("/sandbox/invoices/{failed}/fail")).await;
    assert_eq!(
        (&body["invoice"]["status"], &body["invoice"]["version"]),
        (&json!("FAILED"), &json!(1))
    );

    assert_eq!(post(&t, "/sandbox/invoices/123/pay").await.0, 404);
    assert_eq!(
        post(&t, &format!("/sandbox/invoices/{failed}/explode")).await.0,
        404
    );
    assert_eq!(get(&t, "/sandbox/invoices/123").await.0, 404);
    let (_, list) = get(&t, "/sandbox/invoices").await;
    assert_eq!(list["invoices"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_clock_control_drives_the_reversal_and_the_invoice_shows_it() {
    let t = start().await;
    let reference = t.send(invoice(100)).await;
    post(&t, &format!("/sandbox/invoices/{reference}/pay")).await;
    let advance = async |body: Value| {
        t.request(reqwest::Method::POST, "/sandbox/clock/advance", Some(&body))
            .await
            .status()
    };
    assert_eq!(advance(json!({"secs": 21})).await, 400);
    assert_eq!(advance(json!({"seconds": 21})).await, 200);
    let (_, view) = get(&t, &format!("/sandbox/invoices/{reference}")).await;
    assert_eq!(view["status"], "CANCELED");
    assert_eq!(view["payment"]["reversed"], true);
    assert_eq!(view["payment"]["acknowledged"], false);
    let (_, clock) = get(&t, "/sandbox/clock").await;
    assert_eq!(clock["offset_seconds"], 21);
}

#[tokio::test]
async fn the_event_log_is_ordered_and_filtered_by_sequence() {
    let t = start().await;
    let reference = t.send(invoice(100)).await;
    post(&t, &format!("/sandbox/invoices/{reference}/pay")).await;
    let (_, all) = get(&t, "/sandbox/events").await;
    let events = all["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["invoice_issued", "call", "payment_received"]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(events[1]["operation"], "sendInvoice");
    assert_eq!(events[1]["result_code"], 0);
    let (_, tail) = get(&t, "/sandbox/events?after=2").await;
    assert_eq!(tail["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.request(reqwest::Method::GET, "/sandbox/events?after=x", None)
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn accounts_list_the_credentials_and_the_phone_page_is_served() {
    let t = start().await;
    let (_, accounts) = get(&t, "/sandbox/accounts").await;
    assert_eq!(
        accounts["reseller"],
        json!({"id": "public_test_shop", "user_id": "9900", "password": "1234"})
    );
    assert_eq!(accounts["terminals"][0]["terminal_id"], TERMINAL);
    assert_eq!(accounts["terminals"][0]["password"], TERMINAL_PASSWORD);
    assert_eq!(accounts["terminals"][0]["kind"], "webshop");
    let phone = t.http.get(t.url("/sandbox/phone")).send().await.unwrap();
    assert_eq!(phone.status(), 200);
    assert!(content_type(&phone).starts_with("text/html"));
    let html = phone.text().await.unwrap();
    assert!(html.contains("invoices/") && html.contains("stickers/"));
}
