//! The OpenAPI 3 document of the v1 API, served at `GET /v1/openapi.json`.
//!
//! The document is written by hand (`openapi.json` beside this crate's manifest) and is the contract:
//! the handlers' tests check their answers against its schemas.

use serde_json::Value;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Checks a JSON answer against the schema the document gives for `method` `template` and `status`.
///
/// It covers the parts of JSON Schema the document uses: `$ref`, `allOf`, `type`, `required`,
/// `properties`, `additionalProperties: false`, `enum`, `items`, `minimum`, `maxLength` and `pattern`
/// prefixes are not checked. Tests of every handler call it on every answer.
pub fn validate_response(method: &str, template: &str, status: u16, body: &Value) -> Result<(), String> {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).map_err(|e| e.to_string())?;
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    if op.is_null() {
        return Err(format!("{method} {template} is not in the document"));
    }
    let response = &op["responses"][status.to_string()];
    if response.is_null() {
        return Err(format!("{method} {template} does not document status {status}"));
    }
    let response = resolve(&doc, response);
    let schema = &response["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Err(format!("{method} {template} {status} has no JSON schema"));
    }
    check(&doc, schema, body, "$")
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

/// One object schema with the properties and required names of every part of an `allOf`.
fn merge(doc: &Value, parts: &[Value]) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for part in parts {
        let part = resolve(doc, part);
        let part = match part.get("allOf").and_then(Value::as_array) {
            Some(inner) => merge(doc, inner),
            None => part.clone(),
        };
        if let Some(p) = part.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
        }
        if let Some(r) = part.get("required").and_then(Value::as_array) {
            required.extend(r.iter().cloned());
        }
    }
    serde_json::json!({"type": "object", "properties": properties, "required": required})
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return check(doc, &merge(doc, all), value, at);
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") if !value.is_object() => return Err(format!("{at}: expected an object")),
        Some("array") if !value.is_array() => return Err(format!("{at}: expected an array")),
        Some("string") if !value.is_string() => return Err(format!("{at}: expected a string")),
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            return Err(format!("{at}: expected an integer"));
        }
        Some("number") if !value.is_number() => return Err(format!("{at}: expected a number")),
        Some("boolean") if !value.is_boolean() => return Err(format!("{at}: expected a boolean")),
        _ => {}
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64())
        && n < min
    {
        return Err(format!("{at}: {n} is below {min}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: missing required {name}"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, v) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => check(doc, s, v, &format!("{at}.{name}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: {name} is not allowed"));
                }
                None if properties.is_some() => {
                    return Err(format!("{at}: {name} is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
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
            message.contains("missing required message") || message.contains("expected a string"),
            "{message}"
        );
        assert!(validate_response("GET", "/v1/payments/{payment_id}", 418, &error).is_err());
        let undocumented = serde_json::json!({"status": "paid", "surprise": 1});
        assert!(validate_response("POST", "/v1/notifications/{payment_id}", 200, &undocumented).is_err());
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
