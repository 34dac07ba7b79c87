//! Refunds against the ledger, transaction periods and the reconciliation reports.

use std::time::Duration;

use glase_protocol::{
    Amount, ClientContext, ExecuteReportRequest, ExecuteReportResponse, Invoice,
    MarkTransactionPeriodRequest, MarkTransactionPeriodResponse, ParameterMap, RefundPaymentRequest,
    RefundPaymentResponse,
};

use crate::common::*;

fn refund_invoice(minor: i64) -> Invoice {
    Invoice {
        title: Some("Refund".into()),
        cashier_id: Some("Alice".into()),
        total_amount: Some(sek(minor)),
        ..Invoice::default()
    }
}

async fn refund(t: &TestSandbox, ers: &str, invoice: Invoice) -> RefundPaymentResponse {
    let request = RefundPaymentRequest {
        context: shop(),
        ers_reference: Some(ers.into()),
        invoice: Some(invoice),
    };
    RefundPaymentResponse::try_from(t.call(request).await).unwrap()
}

async fn mark(
    t: &TestSandbox,
    context: ClientContext,
    parameters: Option<ParameterMap>,
) -> MarkTransactionPeriodResponse {
    let request = MarkTransactionPeriodRequest { context, parameters };
    MarkTransactionPeriodResponse::try_from(t.call(request).await).unwrap()
}

async fn report(t: &TestSandbox, report_id: &str, parameters: ParameterMap) -> ExecuteReportResponse {
    let request = ExecuteReportRequest {
        context: reseller(),
        report_id: Some(report_id.into()),
        language: Some("en".into()),
        parameters: Some(parameters),
    };
    ExecuteReportResponse::try_from(t.call(request).await).unwrap()
}

#[tokio::test]
async fn partial_refunds_are_accepted_up_to_the_original_and_refused_beyond() {
    let t = start().await;
    let (reference, ers) = t.paid_and_acknowledged(10_000).await;
    let first = refund(&t, &ers, refund_invoice(4000)).await;
    assert_eq!(first.result_code.code(), 0);
    let first_ref = first.ers_reference.unwrap();
    assert_eq!(first_ref.len(), 25);
    assert_ne!(first_ref, ers, "a refund has its own reference");
    let over = refund(&t, &ers, refund_invoice(6001)).await;
    assert_eq!(over.result_code.code(), 98);
    assert_eq!(
        over.result_description.as_deref(),
        Some("Sum of refunds can not be more than original transaction")
    );
    let rest = refund(&t, &ers, refund_invoice(6000)).await;
    assert_eq!(rest.result_code.code(), 0);
    assert_eq!(refund(&t, &ers, refund_invoice(1)).await.result_code.code(), 98);
    let payment = t.sandbox().invoice(&reference).unwrap().payment.unwrap();
    assert_eq!(payment.refunded_minor, 10_000);
    assert_eq!(payment.refunds, vec![first_ref, rest.ers_reference.unwrap()]);
}

#[tokio::test]
async fn refunds_of_unknown_unacknowledged_or_reversed_payments_are_refused() {
    let t = start().await;
    assert_eq!(
        refund(&t, "2015102910184861801032678", refund_invoice(100))
            .await
            .result_code
            .code(),
        23
    );
    let ers = t.paid_unacknowledged(1000).await;
    assert_eq!(
        refund(&t, &ers, refund_invoice(100)).await.result_code.code(),
        48,
        "not acknowledged yet"
    );
    t.sandbox().advance_clock(Duration::from_secs(21));
    assert_eq!(
        refund(&t, &ers, refund_invoice(100)).await.result_code.code(),
        23,
        "reversed"
    );

    let (_, ers) = t.paid_and_acknowledged(1000).await;
    let eur = Invoice {
        total_amount: Some(Amount::from_minor_units("EUR", 100)),
        ..refund_invoice(0)
    };
    assert_eq!(refund(&t, &ers, eur).await.result_code.code(), 49);
    let bad_url = Invoice {
        notification_url: Some("mailto:x".into()),
        ..refund_invoice(100)
    };
    assert_eq!(refund(&t, &ers, bad_url).await.result_code.code(), 64);
    assert_eq!(refund(&t, &ers, refund_invoice(0)).await.result_code.code(), 11);
}

#[tokio::test]
async fn reports_are_not_ready_at_first_then_built_from_the_ledger_of_the_period() {
    let t = start().await;
    let (_, kept) = t.paid_and_acknowledged(9331).await;
    let refund_ref = refund(&t, &kept, refund_invoice(331))
        .await
        .ers_reference
        .unwrap();
    let reversed_ref = {
        let ers = t.paid_unacknowledged(5000).await;
        t.sandbox().advance_clock(Duration::from_secs(21));
        ers
    };
    let period = mark(&t, reseller(), None).await;
    assert_eq!(period.result_code.code(), 0);
    let period_id = period.transaction_period_id.unwrap();
    assert_eq!(period_id.len(), 25);
    let params = ParameterMap::new().with("transactionPeriodId", period_id.clone());

    let early = report(&t, "Reconciliation/STD_RECON_003.xml", params.clone()).await;
    assert_eq!(early.result_code.code(), 2);
    assert_eq!(early.result_description.as_deref(), Some("REPORT_NOT_READY"));
    t.sandbox().advance_clock(Duration::from_secs(3));

    let details = report(&t, "Reconciliation/STD_RECON_003.xml", params.clone()).await;
    assert_eq!(details.result_code.code(), 0);
    let r = details.report.unwrap();
    assert_eq!(r.title, Some(format!("STD_RECON_003_{period_id}.xml")));
    assert_eq!(r.mime_type.as_deref(), Some("text/html"));
    let text = r.content_string.unwrap();
    assert_eq!(r.content.unwrap(), text.as_bytes());
    assert!(text.contains(&format!("<ErsReference>{kept}</ErsReference>")));
    assert!(text.contains("<SalesAmount>93.31000</SalesAmount>"));
    assert!(text.contains(&format!("<ErsReference>{refund_ref}</ErsReference>")));
    assert!(text.contains("<SalesAmount>-3.31000</SalesAmount>"));
    assert!(!text.contains(&reversed_ref), "reversed payments are left out");
    assert!(text.contains(&format!("<TransactionPeriodId>{period_id}</TransactionPeriodId>")));
    assert!(text.contains("<CashierId>Bob</CashierId>"));

    let shop = report(&t, "Reconciliation/Shop.xml", params.clone())
        .await
        .report
        .unwrap();
    assert_eq!(shop.title.as_deref(), Some(""));
    let shop_text = shop.content_string.unwrap();
    assert!(
        shop_text.contains("<SalesCount>2</SalesCount>")
            && shop_text.contains("<SalesTotal>90.00000</SalesTotal>")
    );
    for id in [
        "Reconciliation/STD_RECON_002.xml",
        "Reconciliation/STD_RECON_004.xml",
    ] {
        assert_eq!(report(&t, id, params.clone()).await.result_code.code(), 0, "{id}");
    }
    // Per-terminal reports of a shop period stay "not ready", as the FAQ describes.
    assert_eq!(
        report(&t, "Reconciliation/STD_RECON_006.xml", params.clone())
            .await
            .result_code
            .code(),
        2
    );
    assert_eq!(report(&t, "SOME_REPORT", params).await.result_code.code(), 91);
    let unknown = ParameterMap::new().with("transactionPeriodId", "1");
    assert_eq!(
        report(&t, "Reconciliation/Shop.xml", unknown)
            .await
            .result_code
            .code(),
        10
    );

    // The next period starts empty.
    let next = mark(&t, reseller(), None).await.transaction_period_id.unwrap();
    t.sandbox().advance_clock(Duration::from_secs(3));
    let next_params = ParameterMap::new().with("transactionPeriodId", next);
    let empty = report(&t, "Reconciliation/STD_RECON_003.xml", next_params)
        .await
        .report
        .unwrap();
    assert!(!empty.content_string.unwrap().contains("<Row>"));
}

#[tokio::test]
async fn per_terminal_periods_feed_the_terminal_reports() {
    let t = start().await;
    let (_, ers) = t.paid_and_acknowledged(2500).await;
    let params = ParameterMap::new().with("TERMINALID", TERMINAL);
    let period_id = mark(&t, reseller(), Some(params))
        .await
        .transaction_period_id
        .unwrap();
    t.sandbox().advance_clock(Duration::from_secs(3));
    let params = ParameterMap::new()
        .with("transactionPeriodId", period_id.clone())
        .with("TERMINALID", TERMINAL);
    let details = report(&t, "Reconciliation/STD_RECON_007.xml", params.clone())
        .await
        .report
        .unwrap();
    assert_eq!(details.title, Some(format!("STD_RECON_007_{period_id}.xml")));
    let text = details.content_string.unwrap();
    assert!(text.contains(&ers) && text.contains(&format!("<TerminalId>{TERMINAL}</TerminalId>")));
    let summary = report(&t, "Reconciliation/STD_RECON_006.xml", params)
        .await
        .report
        .unwrap();
    assert!(
        summary
            .content_string
            .unwrap()
            .contains("<SalesTotal>25.00000</SalesTotal>")
    );
    let unknown_terminal = ParameterMap::new().with("TERMINALID", "nope");
    assert_eq!(
        mark(&t, reseller(), Some(unknown_terminal))
            .await
            .result_code
            .code(),
        29
    );
    // A terminal may close its own period with its own context.
    assert_eq!(mark(&t, shop(), None).await.result_code.code(), 0);
}
