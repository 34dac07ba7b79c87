//! The checkout widget script, served at `GET /widget/glase-checkout.js` by the payment-status function
//! in AWS and by the local stack, from this one embedded copy (`assets/glase-checkout.js`).
//!
//! Browsers and CDNs may keep it five minutes (`Cache-Control: public, max-age=300`), so a new version of
//! the widget reaches every shopper within five minutes of a deploy; after that a browser revalidates
//! with its `ETag` (a hash of the script) and gets a `304 Not Modified` without the body while the script
//! is unchanged.

use std::sync::OnceLock;

use http::{HeaderValue, Response, StatusCode, header};
use sha2::{Digest, Sha256};

use crate::app::{ApiRequest, ApiResponse};

/// The script.
pub const WIDGET_JS: &str = include_str!("../assets/glase-checkout.js");

/// Its path on the API.
pub const PATH: &str = "/widget/glase-checkout.js";

/// How long browsers and caches may keep it.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// The script's entity tag: the first 128 bits of its SHA-256, quoted.
pub fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let digest = Sha256::digest(WIDGET_JS.as_bytes());
        format!("\"{}\"", hex::encode(&digest[..16]))
    })
}

/// The answer to `GET /widget/glase-checkout.js`: the script, or 304 when the request's `If-None-Match`
/// names its current entity tag.
pub fn response(request: &ApiRequest) -> ApiResponse {
    let tag = etag();
    let unchanged = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_start_matches("W/"))
        .any(|v| v == tag || v == "*");
    let mut r = if unchanged {
        let mut r = Response::new(String::new());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(WIDGET_JS.to_owned());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        r
    };
    let headers = r.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    r
}
