//! The `glase-local` binary as a person uses it: start it on a free port with a fresh data directory, buy in
//! the demo shop, pay from the sandbox's shopper side, read the outcome on the backURL page; restart it on
//! the same data and find the payment again.

use std::time::Duration;

use crate::running::{Running, client, data_dir, json, poll, send_ok, start, text};

/// Starts glase-local over `data`, logging warnings only.
fn start_quiet(data: &std::path::Path) -> Running {
    start(data, &[("RUST_LOG", Some("warn"))])
}

fn attribute<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + html[start..].find('"').unwrap();
    &html[start..end]
}

/// The payment `payment_id` as the merchant reads it with `api_key`.
async fn merchant_read(
    http: &reqwest::Client,
    base: &str,
    payment_id: &str,
    api_key: &str,
) -> serde_json::Value {
    json(
        http.get(format!("{base}/v1/payments/{payment_id}"))
            .bearer_auth(api_key),
    )
    .await
}

#[tokio::test]
async fn a_shopper_buys_in_the_demo_shop_and_the_payment_survives_a_restart() {
    let data = data_dir("test");
    let stack = start_quiet(&data);
    let http = client();

    let shop = text(http.get(format!("{}/shop/", stack.base))).await;
    assert!(shop.contains("Pay with Glase"));
    let checkout = http
        .post(format!("{}/shop/checkout", stack.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("qty_mug=1&qty_cake=2")
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status().as_u16(), 303);
    let pay_path = checkout.headers()["location"].to_str().unwrap().to_owned();
    let page = text(http.get(format!("{}{pay_path}", stack.base))).await;
    assert!(page.contains("/widget/glase-checkout.js"));
    let payment_id = attribute(&page, "data-payment-id").to_owned();
    let secret = attribute(&page, "data-client-secret").to_owned();
    assert!(page.contains("195.50 SEK"), "125.50 + 2 × 35.00");

    let payment = json(
        http.get(format!("{}/v1/payments/{payment_id}", stack.base))
            .header("X-Client-Secret", &secret),
    )
    .await;
    assert_eq!(payment["status"], "pending");
    let reference = payment["invoice_reference"].as_str().unwrap();
    let qr = http
        .get(format!(
            "{}/v1/payments/{payment_id}/qr.svg?client_secret={secret}",
            stack.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");

    send_ok(http.post(format!("{}/sandbox/invoices/{reference}/pay", stack.base))).await;
    let shown = poll(
        || text(http.get(format!("{}/shop/return?payment_id={payment_id}", stack.base))),
        |shown| shown.contains("data-status=\"paid\""),
    )
    .await;
    assert!(shown.contains("Paid. Thank you!"), "{shown}");
    // A partial refund goes through the in-process queue and worker to the sandbox.
    let refund = json(
        http.post(format!("{}/v1/payments/{payment_id}/refunds", stack.base))
            .bearer_auth(&stack.api_key)
            .json(&serde_json::json!({ "amount": 3_500, "reason": "One bun less" })),
    )
    .await;
    assert_eq!(refund["status"], "queued", "{refund}");
    let refund_id = refund["id"].as_str().unwrap();
    let refund_url = format!("{}/v1/payments/{payment_id}/refunds/{refund_id}", stack.base);
    let state = poll(
        || json(http.get(&refund_url).bearer_auth(&stack.api_key)),
        |state| state["status"] == "succeeded",
    )
    .await;
    assert_eq!(state["status"], "succeeded", "{state}");
    // The receipt sweep of the timer loop sent the paid payment's receipt to the sandbox.
    let read = merchant_read(&http, &stack.base, &payment_id, &stack.api_key).await;
    let ers = read["ers_reference"].as_str().unwrap();
    let receipts_of = |events: &serde_json::Value| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "receipt_submitted" && e["ers_reference"] == ers)
            .count()
    };
    let events = poll(
        || json(http.get(format!("{}/sandbox/events", stack.base))),
        |events| receipts_of(events) > 0,
    )
    .await;
    let receipts = receipts_of(&events);
    assert_eq!(receipts, 1, "one receipt for the paid payment");

    let api_key = stack.api_key.clone();
    drop(stack);

    let again = start_quiet(&data);
    assert_eq!(
        again.api_key, api_key,
        "the development key is kept in the data directory"
    );
    let read = merchant_read(&http, &again.base, &payment_id, &again.api_key).await;
    assert_eq!(read["status"], "paid");
    assert!(read["ers_reference"].as_str().is_some_and(|e| !e.is_empty()));
    drop(again);
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn a_request_whose_caller_hangs_up_is_still_handled_to_its_end() {
    let data = data_dir("test");
    let stack = start_quiet(&data);
    let http = client();
    // sendInvoice is executed at once and answered 1.5 s later; the caller gives up after 0.3 s.
    let faults = http
        .put(format!("{}/sandbox/faults", stack.base))
        .json(&serde_json::json!({"rules": [
            {"target": "sendInvoice", "action": "latency", "delay_ms": 1500, "count": 1}
        ]}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success(), "{}", faults.text().await.unwrap());
    let create = || {
        http.post(format!("{}/v1/payments", stack.base))
            .bearer_auth(&stack.api_key)
            .header("idempotency-key", "hang-up-1")
            .json(&serde_json::json!({
                "order_id": "hang-up-1", "currency": "SEK", "total": 2500,
                "rows": [{"description": "Tea", "total": 2500}]
            }))
    };
    let hung_up = create().timeout(Duration::from_millis(300)).send().await;
    assert!(hung_up.is_err_and(|e| e.is_timeout()));

    // The handler went on: the payment was stored and the key's outcome recorded, so the retry is
    // answered from it (dropped with the connection, the key would still be in progress: 409).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let retry = create().send().await.unwrap();
    assert_eq!(retry.status().as_u16(), 201);
    let payment: serde_json::Value = retry.json().await.unwrap();
    let invoices = json(http.get(format!("{}/sandbox/invoices", stack.base))).await;
    let invoices = invoices["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "one invoice was sent: {invoices:?}");
    assert!(
        invoices[0]
            .to_string()
            .contains(payment["invoice_reference"].as_str().unwrap_or("missing")),
        "the stored payment is the invoice's: {payment} {invoices:?}"
    );
    drop(stack);
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn an_idempotent_create_replayed_after_a_restart_answers_the_same_client_secret() {
    let data = data_dir("test");
    let http = client();
    let body = serde_json::json!({
        "order_id": "R-1",
        "currency": "SEK",
        "total": 12_550,
        "rows": [{"description": "Mug", "total": 12_550}]
    });
    let create = |stack: &Running| {
        http.post(format!("{}/v1/payments", stack.base))
            .bearer_auth(&stack.api_key)
            .header("Idempotency-Key", "restart-replay-1")
            .json(&body)
            .send()
    };
    let stack = start_quiet(&data);
    let first = create(&stack).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    drop(stack);

    // The key's record holds no secret: the restarted stack derives it again under the key it kept.
    let again = start_quiet(&data);
    let replay = create(&again).await.unwrap();
    assert_eq!(replay.status().as_u16(), 201);
    let replay: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["client_secret"], first["client_secret"]);
    let read = http
        .get(format!(
            "{}/v1/payments/{}",
            again.base,
            first["id"].as_str().unwrap()
        ))
        .header("X-Client-Secret", replay["client_secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status().as_u16(),
        200,
        "the replayed secret opens the payment"
    );
    drop(again);
    let _ = std::fs::remove_dir_all(&data);
}
