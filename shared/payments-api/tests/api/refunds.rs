//! Refunds through `App::handle` and the worker's batch, on the in-memory test doubles.

use crate::support;

use std::time::Duration;

use http::Method;
use payments_api::app::{BatchTime, QueuedMessage};
use payments_domain::ports::Clock;
use payments_domain::refund::RefundStatus;
use support::{Answer, KEY, TestApp, app, create_payment, merchant, pay_and_notify, send};

/// A payment of `total` paid through its notification; answers its id.
async fn paid(app: &TestApp, order_id: &str, total: i64) -> String {
    let created = create_payment(app, order_id, total).await;
    pay_and_notify(app, &created).await;
    created.id
}

/// `POST /v1/payments/{payment}/refunds` with `body` under the Idempotency-Key `key`.
async fn refund_with_key(app: &TestApp, payment: &str, key: &str, body: &str) -> Answer {
    let auth = format!("Bearer {KEY}");
    send(
        app,
        Method::POST,
        &format!("/v1/payments/{payment}/refunds"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn an_idempotency_key_used_on_another_payment_is_a_conflict_not_that_payments_refund() {
    let app = app();
    let first = paid(&app, "R-1", 1_000).await;
    let second = paid(&app, "R-2", 1_000).await;
    let body = r#"{"amount":300,"reason":"Returned"}"#;

    let refunded = refund_with_key(&app, &first, "refund-key-1", body).await;
    assert_eq!(refunded.status, 202, "{}", refunded.text);
    let again = refund_with_key(&app, &first, "refund-key-1", body).await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(
        again.json["id"], refunded.json["id"],
        "the same payment replays its refund"
    );

    let other = refund_with_key(&app, &second, "refund-key-1", body).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.json["error"]["code"], "conflict", "{}", other.text);
    let refunds = app.deps.store.inner().refunds();
    assert_eq!(refunds.len(), 1, "no refund of the second payment was recorded");
    assert_eq!(refunds[0].payment_id().as_str(), first);
    assert_eq!(app.deps.queue.sent().len(), 1);

    // The second payment takes its own refund under its own key.
    let own = refund_with_key(&app, &second, "refund-key-2", body).await;
    assert_eq!(own.status, 202, "{}", own.text);
    assert_ne!(own.json["id"], refunded.json["id"]);
}

#[tokio::test]
async fn a_batch_takes_only_the_messages_its_time_left_covers_and_gives_the_rest_back() {
    let app = app();
    for n in 0..5 {
        let id = paid(&app, &format!("W-{n}"), 1_000).await;
        let queued = merchant(
            &app,
            Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            r#"{"amount":100}"#,
        )
        .await;
        assert_eq!(queued.status, 202, "{}", queued.text);
    }
    let messages: Vec<QueuedMessage> = app
        .deps
        .queue
        .sent()
        .iter()
        .enumerate()
        .map(|(n, m)| QueuedMessage {
            id: format!("m{n}"),
            body: payments_sqs::encode_refund(m),
            receipt_handle: format!("h{n}"),
            receive_count: 1,
        })
        .collect();
    // Every refundPayment call takes the worst a call can take; the deadline covers three of them.
    let per_message = Duration::from_secs(15);
    app.deps.glase.inner().set_clock_latency(per_message);
    let time = BatchTime {
        deadline: app
            .deps
            .clock
            .now()
            .plus(per_message * 3 + Duration::from_secs(5)),
        per_message,
    };
    let batch = app.process_refund_messages_within(&messages, Some(time)).await;

    assert_eq!(
        batch.failed,
        ["m3", "m4"],
        "the messages the time left cannot cover go back"
    );
    assert!(
        batch.delays.is_empty(),
        "they are delivered again without a delay"
    );
    assert_eq!(app.deps.glase.count("refund_payment"), 3);
    let statuses: Vec<RefundStatus> = messages
        .iter()
        .map(|m| {
            let message = payments_sqs::decode_refund(&m.body).unwrap();
            app.deps
                .store
                .inner()
                .refunds()
                .into_iter()
                .find(|r| r.id() == &message.refund_id)
                .unwrap()
                .status()
        })
        .collect();
    assert_eq!(
        statuses,
        [
            RefundStatus::Succeeded,
            RefundStatus::Succeeded,
            RefundStatus::Succeeded,
            RefundStatus::Queued,
            RefundStatus::Queued,
        ],
        "none is left sending"
    );

    // Without a limit (and on the next delivery) the rest are refunded.
    let rest = app.process_refund_messages(&messages[3..]).await;
    assert!(rest.failed.is_empty(), "{rest:?}");
    assert_eq!(app.deps.glase.count("refund_payment"), 5);
}

#[test]
fn a_refund_message_budget_covers_the_glase_clients_worst_refund_call() {
    use std::collections::BTreeMap;

    use payments_api::settings::{Function, REFUND_STORE_ALLOWANCE, Settings};
    let base = [
        ("TABLE_NAME", "t"),
        ("GLASE_ENDPOINT", "https://glase.example/service"),
        ("GLASE_TERMINAL_ID", "term"),
        ("GLASE_TERMINAL_PASSWORD", "pw"),
        ("TERMINAL_PASSWORD_SECRET", "s"),
        ("REFUND_QUEUE_URL", "https://sqs.example/q"),
    ];
    let load = |extra: &[(&str, &str)]| {
        let env: BTreeMap<String, String> = base
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(Function::RefundWorker, &env).unwrap()
    };
    // 10-second attempts: the gateway's 15-second deadline for writes bounds the call.
    assert_eq!(
        load(&[]).refund_message_budget(),
        payments_glase::DEFAULT_WRITE_DEADLINE + REFUND_STORE_ALLOWANCE
    );
    // 1-second attempts: four attempts and the longest waits between them (2 s each).
    assert_eq!(
        load(&[("GLASE_TIMEOUT_MS", "1000")]).refund_message_budget(),
        Duration::from_secs(4 + 3 * 2) + REFUND_STORE_ALLOWANCE
    );
}
