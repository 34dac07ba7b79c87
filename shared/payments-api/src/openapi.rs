//! The OpenAPI 3 document of the v1 API, served at `GET /v1/openapi.json`.
//!
//! The document is written by hand (`openapi.json` beside this crate's manifest) and is the contract:
//! the handlers' tests check their answers against its schemas.

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_with_every_v1_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();
        for route in [
            "/v1/payments",
            "/v1/payments/{payment_id}",
            "/v1/payments/{payment_id}/cancel",
            "/v1/payments/{payment_id}/refunds",
            "/v1/payments/{payment_id}/refunds/{refund_id}",
            "/v1/notifications/{payment_id}",
            "/v1/terminals",
            "/v1/terminals/{terminal_id}",
            "/v1/terminals/{terminal_id}/glase-id",
            "/v1/reports",
            "/v1/reports/{report_id}",
            "/v1/openapi.json",
        ] {
            assert!(paths.contains_key(route), "{route} is missing");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if k == "$ref" {
                        out.push(child.as_str().unwrap().to_owned());
                    } else {
                        collect_refs(child, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
            _ => {}
        }
    }
}
