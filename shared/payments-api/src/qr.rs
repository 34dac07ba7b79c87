//! QR codes of invoices as SVG, rendered here so the checkout widget needs no third-party service.
//!
//! Glase's printing guidance for its codes: error correction level M and a quiet zone; the invoice URL
//! (`HTTP://SEQR.SE/R…`) is upper case so it fits the QR alphanumeric mode and stays small.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Why a text cannot be drawn as a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text does not fit in a QR code")]
pub struct QrError;

/// The SVG document of `text` as a QR code, `size` pixels square at least.
pub fn svg(text: &str, size: u32) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_url_becomes_an_svg_document() {
        let doc = svg("HTTP://SEQR.SE/R20261122123456789", 220).unwrap();
        assert!(doc.starts_with("<?xml"));
        assert!(doc.contains("<svg"));
        assert!(doc.contains("#000000"));
    }

    #[test]
    fn different_texts_draw_different_codes() {
        assert_ne!(
            svg("HTTP://SEQR.SE/R1", 100).unwrap(),
            svg("HTTP://SEQR.SE/R2", 100).unwrap()
        );
    }

    #[test]
    fn an_oversized_text_is_an_error() {
        assert_eq!(svg(&"X".repeat(5000), 100), Err(QrError));
    }
}
