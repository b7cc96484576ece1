//! Checks management-API responses against the registry's own OpenAPI document
//! (`/api/v1/openapi.json`): the operation for the request's method and path must
//! exist, declare the response's status, and its schema must accept the body.
//!
//! The validator covers the JSON Schema keywords the document uses and panics on
//! any other, so the document cannot drift into something this check skips.

use std::sync::OnceLock;

use serde_json::Value;

use crate::{registry, Resp};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let resp = registry().get("/api/v1/openapi.json").no_auth().call();
        resp.expect(200);
        let doc = resp.json();
        assert_eq!(doc["openapi"], "3.1.0");
        doc
    })
}

/// Whether an OpenAPI path template (`/api/v1/users/{id}`) matches `path`.
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    segments_match(&t, &p)
}

/// `{name}` (an artifact's name, which has slashes) spans one or more segments;
/// any other parameter exactly one.
fn segments_match(t: &[&str], p: &[&str]) -> bool {
    match (t.split_first(), p.split_first()) {
        (None, None) => true,
        (Some((&"{name}", t_rest)), Some(_)) => (1..=p.len())
            .take_while(|&n| !p[n - 1].is_empty())
            .any(|n| segments_match(t_rest, &p[n..])),
        (Some((t0, t_rest)), Some((p0, p_rest))) => {
            ((t0.starts_with('{') && !p0.is_empty()) || t0 == p0) && segments_match(t_rest, p_rest)
        }
        _ => false,
    }
}

/// How specific a template is: its literal segments.
fn literals(template: &str) -> usize {
    template.split('/').filter(|s| !s.starts_with('{')).count()
}

/// Panics unless the document describes `resp`: its operation, status and body.
pub fn check(resp: &Resp) {
    let url = &resp.url;
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap();
    let doc = document();
    let (_, item) = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(template, _)| template_matches(template, path))
        .max_by_key(|(template, _)| literals(template))
        .unwrap_or_else(|| panic!("the OpenAPI document has no path for {path}"));
    let operation = &item[resp.method.to_lowercase()];
    assert!(
        operation.is_object(),
        "no {} operation for {path} in the document",
        resp.method
    );
    let response = &operation["responses"][resp.status.to_string()];
    assert!(
        response.is_object(),
        "{} {path} answered {} which the document does not list:\n{resp:?}",
        resp.method,
        resp.status
    );
    let Some(content) = response.get("content") else {
        assert!(
            resp.body.is_empty(),
            "{} {path}: body where the document has none",
            resp.method
        );
        return;
    };
    let (media_type, media) = content.as_object().unwrap().iter().next().unwrap();
    let declared = resp.header("Content-Type").unwrap_or_default();
    let essence = declared.split(';').next().unwrap_or_default().trim();
    assert_eq!(essence, media_type, "{} {path}: Content-Type", resp.method);
    if !media_type.ends_with("json") {
        return;
    }
    if let Err(e) = validate(doc, &media["schema"], &resp.json(), "$") {
        panic!(
            "{} {path} ({}): {e}\nbody: {}",
            resp.method,
            resp.status,
            resp.text()
        );
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .expect("local refs only");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other} in the document"),
    }
}

/// Validates `value` against `schema`; the error names the JSON path that failed.
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    for key in schema.as_object().unwrap().keys() {
        let known = [
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "enum",
            "description",
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
        ];
        assert!(
            known.contains(&key.as_str()),
            "the validator does not know keyword {key:?}"
        );
    }
    if let Some(ty) = schema.get("type") {
        let ok = match ty {
            Value::String(t) => type_matches(t, value),
            Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), value)),
            _ => panic!("bad type in the document"),
        };
        if !ok {
            return Err(format!("{at}: {value} is not of type {ty}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(n), Some(min)) = (
        value.as_i64(),
        schema.get("minimum").and_then(Value::as_i64),
    ) {
        if n < min {
            return Err(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some(n), Some(max)) = (
        value.as_i64(),
        schema.get("maximum").and_then(Value::as_i64),
    ) {
        if n > max {
            return Err(format!("{at}: {n} > {max}"));
        }
    }
    let bounds = |key: &str| schema.get(key).and_then(Value::as_u64);
    let length = value
        .as_str()
        .map(|s| s.chars().count())
        .or(value.as_array().map(Vec::len));
    for (min, max) in [("minLength", "maxLength"), ("minItems", "maxItems")] {
        if let (Some(n), Some(lo)) = (length, bounds(min)) {
            if (n as u64) < lo {
                return Err(format!("{at}: length {n} < {lo}"));
            }
        }
        if let (Some(n), Some(hi)) = (length, bounds(max)) {
            if n as u64 > hi {
                return Err(format!("{at}: length {n} > {hi}"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(name.as_str().unwrap()) {
                return Err(format!("{at}: required property {name} missing"));
            }
        }
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => validate(doc, s, v, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: property {key:?} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_validator_refuses_what_it_should() {
        let doc = json!({"components": {"schemas": {"T": {
            "type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": ["string", "null"]}, "n": {"type": "integer", "minimum": 1},
                           "e": {"type": "string", "enum": ["x"]}, "l": {"type": "array", "items": {"type": "integer"}}}}}}});
        let t = json!({"$ref": "#/components/schemas/T"});
        assert!(validate(
            &doc,
            &t,
            &json!({"a": null, "n": 2, "e": "x", "l": [1]}),
            "$"
        )
        .is_ok());
        for bad in [
            json!({}),
            json!({"a": 1}),
            json!({"a": "s", "z": 1}),
            json!({"a": "s", "n": 0}),
            json!({"a": "s", "e": "y"}),
            json!({"a": "s", "l": ["1"]}),
            json!([]),
        ] {
            assert!(validate(&doc, &t, &bad, "$").is_err(), "{bad}");
        }
        assert!(template_matches("/api/v1/users/{id}", "/api/v1/users/abc"));
        assert!(!template_matches("/api/v1/users/{id}", "/api/v1/users"));
        assert!(!template_matches("/api/v1/users/{id}", "/api/v1/users/a/b"));
        let tags = "/api/v1/artifacts/{name}/tags";
        assert!(template_matches(tags, "/api/v1/artifacts/acme/app/tags"));
        assert!(template_matches(tags, "/api/v1/artifacts/app/tags"));
        assert!(!template_matches(tags, "/api/v1/artifacts/tags"));
        assert!(literals(tags) > literals("/api/v1/artifacts/{name}"));
    }
}
