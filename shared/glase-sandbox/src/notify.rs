//! The notification POST to the merchant's `notificationUrl`.

use std::time::Duration;

use crate::config::NotificationBody;
use crate::events::NotificationOutcome;

/// Builds the form body: `invoiceReference=…&clientInvoiceId=…` (the latter only when the invoice has one).
pub fn form_body(invoice_reference: &str, client_invoice_id: Option<&str>) -> String {
    let mut fields = vec![("invoiceReference", invoice_reference)];
    if let Some(id) = client_invoice_id {
        fields.push(("clientInvoiceId", id));
    }
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

/// POSTs one notification and reports what came back.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    mode: NotificationBody,
    invoice_reference: &str,
    client_invoice_id: Option<&str>,
    timeout: Duration,
) -> NotificationOutcome {
    let mut request = client.post(url).timeout(timeout);
    request = match mode {
        NotificationBody::Form => request
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(invoice_reference, client_invoice_id)),
        NotificationBody::Empty => request
            .header(http::header::CONTENT_LENGTH, "0")
            .body(Vec::<u8>::new()),
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // The body is read and dropped so that the connection can be reused.
            let _ = response.bytes().await;
            NotificationOutcome::HttpStatus(status)
        }
        Err(error) => {
            let kind = if error.is_timeout() {
                "timeout"
            } else if error.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            NotificationOutcome::Error(kind.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_body_carries_the_reference_and_the_client_invoice_id() {
        assert_eq!(
            form_body("2026", Some("order 7&x")),
            "invoiceReference=2026&clientInvoiceId=order+7%26x"
        );
        assert_eq!(form_body("2026", None), "invoiceReference=2026");
    }
}
