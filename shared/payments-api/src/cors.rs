//! The CORS rules of the v1 API: which request headers and methods a browser on the merchant's site may
//! use, and how long it may keep a preflight answer.
//!
//! The checkout widget runs on the shop's origin and reads its payment from the API's origin, sending
//! `X-Client-Secret` (and `Accept`, which the Fetch standard safelists); the merchant's own front end may
//! also send `Authorization`, `Content-Type` and `Idempotency-Key`. These constants are the one source of
//! the rules: the local stack builds its CORS layer from them, and the template's `CorsConfiguration`
//! (with `AllowOrigins` from the `WidgetOrigin` parameter) is checked against them by the template drift
//! tests. Origins are deployment settings, not constants: the `WidgetOrigin` parameter in AWS, the
//! `--widget-origin` flag locally.

/// The request headers a cross-origin caller may send, in lower case (HTTP APIs compare them so).
pub const ALLOW_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "idempotency-key",
    "x-client-secret",
];

/// The methods a cross-origin caller may use: every method of a v1 route.
pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE"];

/// How long a browser may keep a preflight answer, in seconds.
pub const MAX_AGE_SECONDS: u64 = 600;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Route;

    #[test]
    fn every_method_of_a_route_is_allowed() {
        for (method, _) in Route::TEMPLATES {
            assert!(ALLOW_METHODS.contains(method), "{method} is not allowed");
        }
    }

    #[test]
    fn the_widget_may_send_its_client_secret_header() {
        let widget = crate::widget::WIDGET_JS;
        assert!(widget.contains("\"X-Client-Secret\""));
        assert!(ALLOW_HEADERS.contains(&"x-client-secret"));
        for name in ALLOW_HEADERS {
            assert_eq!(*name, name.to_ascii_lowercase());
        }
    }
}
