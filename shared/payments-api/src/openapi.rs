//! The OpenAPI 3 document of the v1 API, served at `GET /v1/openapi.json`.
//!
//! The document is written by hand (`openapi.json` beside this crate's manifest) and is the contract.
//! Tests keep the code to it: every answer of every handler test, sample event and fuzz input is checked
//! against its schema by the `jsonschema` crate (`validate_response`, feature `testing`, so no function
//! links it), `routes` has a test that the document's paths and the router's templates are the same set,
//! and Schemathesis sends the requests the document describes to the local stack.
//!
//! The document is not generated from the DTOs (as `utoipa` would): it says what the types do not (the
//! pattern of free text, the currencies Glase takes, every code's meaning and the examples), and
//! served as a static string it costs the function that serves it nothing at start-up. A generated
//! document would add its schema builders to that function; the checks above already fail a test when a
//! DTO and the document disagree.

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

#[cfg(feature = "testing")]
pub use check::validate_response;

/// The check of answers against the document, with the `jsonschema` crate (feature `testing`).
///
/// The document is OpenAPI 3.0, whose schema objects are JSON Schema draft 4/5 with a few changes of
/// their own. Before a schema is compiled (as draft 7), it becomes plain JSON Schema:
/// - `nullable: true` admits `null` (the type gains `"null"`, an enum gains `null`, a composed schema
///   becomes `anyOf` it and `null`);
/// - an `allOf` becomes one object schema with the properties and the required names of every part;
/// - an object schema that lists `properties` and says nothing of `additionalProperties` is closed: the
///   document describes every field an answer has, so a field it does not list is an error;
/// - `format` is checked where JSON Schema defines the format (`date-time`); `int64` and the
///   annotations (`description`, `example`) check nothing.
///
/// Every other keyword the document uses (`type`, `required`, `properties`, `items`, `enum`, `minimum`,
/// `maximum`, `minLength`, `maxLength`, `pattern`, `maxItems`, `$ref`) is checked by the crate as JSON
/// Schema defines it; a test keeps that list equal to the keywords the document uses.
#[cfg(feature = "testing")]
mod check {
    use serde_json::{Map, Value, json};
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    /// Checks a JSON answer against the schema the document gives for `method` `template` and `status`.
    ///
    /// The error names every place that does not match, as a JSON pointer into the answer and the
    /// reason. Tests of every handler call it on every answer.
    pub fn validate_response(method: &str, template: &str, status: u16, body: &Value) -> Result<(), String> {
        let validator = validator(method, template, status)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template} {status}: {}", errors.join("; ")))
        }
    }

    type Key = (String, String, u16);

    /// One compiled validator per documented answer, built on first use.
    fn validator(method: &str, template: &str, status: u16) -> Result<Arc<jsonschema::Validator>, String> {
        static VALIDATORS: LazyLock<Mutex<HashMap<Key, Arc<jsonschema::Validator>>>> =
            LazyLock::new(Default::default);
        let key = (method.to_ascii_lowercase(), template.to_owned(), status);
        if let Some(v) = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Arc::clone(v));
        }
        let compiled = Arc::new(compile(&key.0, template, status)?);
        VALIDATORS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, Arc::clone(&compiled));
        Ok(compiled)
    }

    fn compile(method: &str, template: &str, status: u16) -> Result<jsonschema::Validator, String> {
        let doc: Value = serde_json::from_str(super::OPENAPI_JSON).map_err(|e| e.to_string())?;
        let op = &doc["paths"][template][method];
        if op.is_null() {
            return Err(format!("{method} {template} is not in the document"));
        }
        let response = &op["responses"][status.to_string()];
        if response.is_null() {
            return Err(format!("{method} {template} does not document status {status}"));
        }
        let schema = &resolve(&doc, response)["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!("{method} {template} {status} has no JSON schema"));
        }
        // The answer's schema at the root, beside the converted components its references point into.
        let components: Map<String, Value> = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, s)| (name.clone(), json_schema(&doc, s)))
            .collect();
        let mut root = json!({"allOf": [json_schema(&doc, schema)]});
        root["components"] = json!({ "schemas": components });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("{method} {template} {status}: the schema does not compile: {e}"))
    }

    fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
        match v
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => doc.pointer(pointer).map_or(v, |target| resolve(doc, target)),
            None => v,
        }
    }

    /// The OpenAPI schema object `schema` as plain JSON Schema (see the module docs).
    fn json_schema(doc: &Value, schema: &Value) -> Value {
        let Some(object) = schema.as_object() else {
            return schema.clone();
        };
        let mut out = match object.get("allOf").and_then(Value::as_array) {
            Some(parts) => {
                let mut merged = merge(doc, parts);
                merged.extend(
                    object
                        .iter()
                        .filter(|(k, _)| *k != "allOf")
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                merged
            }
            None => object.clone(),
        };
        if let Some(properties) = out.get_mut("properties").and_then(Value::as_object_mut) {
            for p in properties.values_mut() {
                *p = json_schema(doc, p);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(sub) = out.get_mut(key).filter(|s| s.is_object()) {
                *sub = json_schema(doc, sub);
            }
        }
        if out.contains_key("properties") && !out.contains_key("additionalProperties") {
            out.insert("additionalProperties".into(), Value::Bool(false));
        }
        if out.remove("nullable") == Some(Value::Bool(true)) {
            if let Some(options) = out.get_mut("enum").and_then(Value::as_array_mut) {
                options.push(Value::Null);
            }
            match out.get("type").cloned() {
                Some(Value::String(t)) => {
                    out.insert("type".into(), json!([t, "null"]));
                }
                _ => return json!({"anyOf": [Value::Object(out), {"type": "null"}]}),
            }
        }
        Value::Object(out)
    }

    /// One object schema with the properties and required names of every part of an `allOf`.
    fn merge(doc: &Value, parts: &[Value]) -> Map<String, Value> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = resolve(doc, part);
            let part = match part.get("allOf").and_then(Value::as_array) {
                Some(inner) => Value::Object(merge(doc, inner)),
                None => part.clone(),
            };
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                properties.extend(p.clone());
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(r.iter().cloned());
            }
        }
        let mut merged = Map::new();
        merged.insert("type".into(), json!("object"));
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), Value::Array(required));
        merged
    }
}

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
    fn the_validator_accepts_a_documented_answer_and_names_what_is_wrong() {
        let error = serde_json::json!({"error": {"code": "not_found", "message": "no such payment"}});
        validate_response("GET", "/v1/payments/{payment_id}", 404, &error).unwrap();
        let wrong = serde_json::json!({"error": {"code": 4}});
        let message = validate_response("GET", "/v1/payments/{payment_id}", 404, &wrong).unwrap_err();
        assert!(
            message.contains(r#"at '/error': "message" is a required property"#),
            "{message}"
        );
        assert!(
            message.contains(r#"at '/error/code': 4 is not of type "string""#),
            "{message}"
        );
        assert!(validate_response("GET", "/v1/payments/{payment_id}", 418, &error).is_err());
        let undocumented = serde_json::json!({"status": "paid", "surprise": 1});
        assert!(validate_response("POST", "/v1/notifications/{payment_id}", 200, &undocumented).is_err());
    }

    #[test]
    fn the_validator_checks_patterns_enums_formats_nesting_and_null() {
        let answer =
            |body: &serde_json::Value| validate_response("GET", "/v1/payments/{payment_id}", 200, body);
        let documented = serde_json::json!({
            "id": "p-1", "status": "pending", "order_id": "o-1", "title": "Shop", "currency": "SEK",
            "total": 1000, "invoice_reference": "R1", "qr_code_url": "HTTP://SEQR.SE/R1",
            "app_url": "SEQR://SEQR.SE/R1", "created_at": "2026-12-02T10:00:00Z",
            "expires_at": "2026-12-02T10:15:00Z", "refunded_amount": 0, "refunds": [],
        });
        answer(&documented).unwrap();
        for (field, value, reason) in [
            (
                "currency",
                serde_json::json!("sek"),
                r#""sek" does not match "^[A-Z]{3}$""#,
            ),
            ("status", serde_json::json!("lost"), r#""lost" is not one of"#),
            (
                "created_at",
                serde_json::json!("yesterday"),
                r#""yesterday" is not a "date-time""#,
            ),
            ("id", serde_json::json!(null), r#"null is not of type "string""#),
            ("refunds", serde_json::json!([{}]), "is a required property"),
        ] {
            let mut wrong = documented.clone();
            wrong[field] = value;
            let message = answer(&wrong).unwrap_err();
            assert!(message.contains(&format!("at '/{field}")), "{field}: {message}");
            assert!(message.contains(reason), "{field}: {message}");
        }
    }

    /// The keywords `check` gives a meaning (see its docs): the document uses exactly these.
    #[test]
    fn every_keyword_the_document_uses_is_checked() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let mut used = std::collections::BTreeSet::new();
        for schema in doc["components"]["schemas"].as_object().unwrap().values() {
            schema_keywords(schema, &mut used);
        }
        for path in doc["paths"].as_object().unwrap().values() {
            for op in path.as_object().unwrap().values() {
                for response in op["responses"].as_object().into_iter().flatten().map(|(_, r)| r) {
                    for media in response["content"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(_, m)| m)
                    {
                        schema_keywords(&media["schema"], &mut used);
                    }
                }
            }
        }
        let checked = [
            "$ref",
            "additionalProperties",
            "allOf",
            "description",
            "enum",
            "example",
            "format",
            "items",
            "maxItems",
            "maxLength",
            "maximum",
            "minLength",
            "minimum",
            "nullable",
            "pattern",
            "properties",
            "required",
            "type",
        ];
        assert_eq!(used.into_iter().collect::<Vec<_>>(), checked);
    }

    fn schema_keywords<'a>(schema: &'a serde_json::Value, out: &mut std::collections::BTreeSet<&'a str>) {
        let Some(object) = schema.as_object() else { return };
        out.extend(object.keys().map(String::as_str));
        for p in object
            .get("properties")
            .and_then(|p| p.as_object())
            .into_iter()
            .flatten()
        {
            schema_keywords(p.1, out);
        }
        for key in ["items", "additionalProperties"] {
            if let Some(sub) = object.get(key) {
                schema_keywords(sub, out);
            }
        }
        for part in object
            .get("allOf")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            schema_keywords(part, out);
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
