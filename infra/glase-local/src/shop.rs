//! The demo shop: a small webshop whose server side plays the merchant's backend. It holds the API key,
//! creates payments through the public v1 API over loopback (exactly as a real shop would), and embeds
//! the checkout widget. Nothing here is part of the product; it shows the product at work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// One product of the demo shop.
struct Product {
    sku: &'static str,
    name: &'static str,
    price_minor: i64,
}

const PRODUCTS: &[Product] = &[
    Product {
        sku: "coffee",
        name: "Coffee beans, 500 g",
        price_minor: 8_900,
    },
    Product {
        sku: "mug",
        name: "Glase mug",
        price_minor: 12_550,
    },
    Product {
        sku: "cake",
        name: "Cinnamon bun",
        price_minor: 3_500,
    },
];

const CURRENCY: &str = "SEK";

/// What the shop remembers of a checkout: the payment and the secret its page needs.
#[derive(Clone)]
struct Checkout {
    client_secret: String,
    total_minor: i64,
}

/// The shop's state: where the API is, the key, and the checkouts in progress.
#[derive(Clone)]
pub struct Shop {
    api_base: String,
    api_key: Arc<str>,
    http: reqwest::Client,
    checkouts: Arc<Mutex<HashMap<String, Checkout>>>,
    orders: Arc<Mutex<HashMap<String, String>>>,
}

impl Shop {
    /// A shop talking to the API at `api_base` with `api_key`.
    pub fn new(api_base: String, api_key: &str) -> Self {
        Self {
            api_base,
            api_key: Arc::from(api_key),
            http: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
            checkouts: Arc::default(),
            orders: Arc::default(),
        }
    }

    /// The shop's routes, under `/shop`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/shop/", get(index))
            .route("/shop", get(|| async { Redirect::permanent("/shop/") }))
            .route("/shop/checkout", post(checkout))
            .route("/shop/pay/{payment_id}", get(pay_page))
            .route("/shop/return", get(return_page))
            .route("/shop/receipt", get(return_page))
            .with_state(self)
    }
}

/// `12550` → `125.50`.
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}}\
table{{border-collapse:collapse;width:100%}}td,th{{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}}\
button{{font-size:1.1rem;padding:.6rem 1.2rem;background:#1a7f5a;color:#fff;border:0;border-radius:.4rem;cursor:pointer}}\
.glase-checkout{{text-align:center;padding:1rem;border:1px solid #ddd;border-radius:.6rem}}\
.glase-paid{{color:#1a7f5a;font-size:1.4rem}}.glase-canceled,.glase-failed{{color:#b00020}}\
.glase-app-link{{display:inline-block;padding:1rem 2rem;background:#1a7f5a;color:#fff;border-radius:.6rem;text-decoration:none}}\
</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    ))
}

async fn index() -> Html<String> {
    let mut rows = String::new();
    for p in PRODUCTS {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{} {CURRENCY}</td><td><input type=\"number\" min=\"0\" max=\"9\" value=\"{}\" \
name=\"qty_{}\" aria-label=\"quantity of {}\"></td></tr>",
            escape(p.name),
            format_minor(p.price_minor),
            if p.sku == "mug" { 1 } else { 0 },
            p.sku,
            escape(p.name)
        ));
    }
    page(
        "Glase demo shop",
        &format!(
            "<form method=\"post\" action=\"/shop/checkout\"><table><tr><th>Product</th><th>Price</th>\
<th>Quantity</th></tr>{rows}</table><p><button type=\"submit\" id=\"pay\">Pay with Glase</button></p></form>\
<p><small>Pay from a second tab with the <a href=\"/sandbox/phone\">sandbox phone</a>.</small></p>"
        ),
    )
}

async fn checkout(State(shop): State<Shop>, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut rows = Vec::new();
    let mut total = 0i64;
    for p in PRODUCTS {
        let qty: i64 = form
            .get(&format!("qty_{}", p.sku))
            .and_then(|q| q.trim().parse().ok())
            .unwrap_or(0);
        if !(0..=9).contains(&qty) {
            return (
                StatusCode::BAD_REQUEST,
                page("Checkout", "<p>Quantities go from 0 to 9.</p>"),
            )
                .into_response();
        }
        if qty > 0 {
            let row_total = p.price_minor * qty;
            total += row_total;
            rows.push(json!({
                "description": p.name, "quantity": qty, "unit_price": p.price_minor, "total": row_total, "sku": p.sku
            }));
        }
    }
    if rows.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Checkout",
                "<p>The cart is empty. <a href=\"/shop/\">Back</a></p>",
            ),
        )
            .into_response();
    }
    let order_id = format!("demo-{}", rand::random::<u32>());
    let body = json!({
        "order_id": order_id,
        "title": "Glase demo shop",
        "currency": CURRENCY,
        "total": total,
        "rows": rows,
        "back_url": format!("{}/shop/return?order={order_id}", shop.api_base),
    });
    let answer = shop
        .http
        .post(format!("{}/v1/payments", shop.api_base))
        .bearer_auth(&*shop.api_key)
        .header("Idempotency-Key", &order_id)
        .json(&body)
        .send()
        .await;
    let (status, value) = match answer {
        Ok(r) => {
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the shop could not reach the payments API");
            return (
                StatusCode::BAD_GATEWAY,
                page("Checkout", "<p>The payment service is unreachable.</p>"),
            )
                .into_response();
        }
    };
    let (Some(id), Some(secret)) = (value["id"].as_str(), value["client_secret"].as_str()) else {
        let message = value["error"]["message"]
            .as_str()
            .unwrap_or("the payment could not be created");
        return (
            StatusCode::BAD_GATEWAY,
            page("Checkout", &format!("<p>{} ({status})</p>", escape(message))),
        )
            .into_response();
    };
    if let Ok(mut map) = shop.checkouts.lock() {
        map.insert(
            id.to_owned(),
            Checkout {
                client_secret: secret.to_owned(),
                total_minor: total,
            },
        );
    }
    if let Ok(mut map) = shop.orders.lock() {
        map.insert(order_id.clone(), id.to_owned());
    }
    Redirect::to(&format!("/shop/pay/{id}")).into_response()
}

async fn pay_page(State(shop): State<Shop>, Path(payment_id): Path<String>) -> Response {
    let checkout = shop
        .checkouts
        .lock()
        .ok()
        .and_then(|m| m.get(&payment_id).cloned());
    let Some(checkout) = checkout else {
        return (
            StatusCode::NOT_FOUND,
            page("Pay", "<p>No such checkout. <a href=\"/shop/\">Back</a></p>"),
        )
            .into_response();
    };
    page(
        "Pay with Glase",
        &format!(
            "<p>Total: <strong>{amount} {CURRENCY}</strong></p><div id=\"glase-checkout\"></div>\
<script src=\"/widget/glase-checkout.js\" data-target=\"glase-checkout\" data-api-base=\"{base}\" \
data-payment-id=\"{id}\" data-client-secret=\"{secret}\" data-amount=\"{amount} {CURRENCY}\" \
data-retry-url=\"/shop/\"></script>",
            amount = format_minor(checkout.total_minor),
            base = escape(&shop.api_base),
            id = escape(&payment_id),
            secret = escape(&checkout.client_secret),
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
struct ReturnQuery {
    payment_id: Option<String>,
    order: Option<String>,
}

/// The backURL page: the app returns the shopper here (also the receipt page). It reads the final status
/// server-side with the API key, which also confirms a pending payment with Glase.
async fn return_page(State(shop): State<Shop>, Query(q): Query<ReturnQuery>) -> Response {
    let payment_id = match q.payment_id {
        Some(id) => Some(id),
        None => q.order.as_deref().and_then(|order| shop.find_by_order(order)),
    };
    let Some(payment_id) = payment_id else {
        return (
            StatusCode::NOT_FOUND,
            page("Your payment", "<p>No such payment.</p>"),
        )
            .into_response();
    };
    let answer = shop
        .http
        .get(format!("{}/v1/payments/{}", shop.api_base, payment_id))
        .bearer_auth(&*shop.api_key)
        .send()
        .await;
    let value = match answer {
        Ok(r) if r.status().is_success() => r.json::<Value>().await.unwrap_or(Value::Null),
        _ => {
            return (
                StatusCode::BAD_GATEWAY,
                page("Your payment", "<p>Cannot read the payment.</p>"),
            )
                .into_response();
        }
    };
    let status = value["status"].as_str().unwrap_or("unknown");
    let amount = value["total"].as_i64().map(format_minor).unwrap_or_default();
    let body = match status {
        "paid" => format!(
            "<div class=\"glase-checkout\" data-status=\"paid\"><p class=\"glase-paid\">Paid. Thank you!</p>\
<p>Amount: <span class=\"glase-amount\">{amount} {CURRENCY}</span></p><p>Glase reference: \
<span class=\"glase-ers-reference\">{}</span></p></div>",
            escape(value["ers_reference"].as_str().unwrap_or(""))
        ),
        "pending" => format!(
            "<meta http-equiv=\"refresh\" content=\"1\">\
<div class=\"glase-checkout\" data-status=\"pending\"><p>Waiting for your payment…</p>\
<p><a href=\"/shop/pay/{}\">Back to the payment</a></p></div>",
            escape(&payment_id)
        ),
        other => format!(
            "<div class=\"glase-checkout\" data-status=\"{s}\"><p class=\"glase-{s}\">The payment was {s}.</p>\
<p><a href=\"/shop/\">Try again</a></p></div>",
            s = escape(other)
        ),
    };
    page("Your payment", &body).into_response()
}

impl Shop {
    /// The payment of one of this shop's orders (the backURL carries the order id).
    fn find_by_order(&self, order: &str) -> Option<String> {
        self.orders.lock().ok().and_then(|m| m.get(order).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_are_shown_with_two_decimals() {
        assert_eq!(format_minor(12_550), "125.50");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(-100), "-1.00");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
