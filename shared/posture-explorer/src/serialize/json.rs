//! The json protocol (`X-Amz-Target`, a JSON body) and the JSON bodies of
//! rest-json, with members renamed as the model says and timestamps and
//! blobs encoded.

use super::encode;
use super::{RequestParts, SerializeError, given, join};
use crate::model::{Operation, Resolved, ServiceModel};
use serde_json::{Map, Value};

pub(super) fn serialize(
    model: &ServiceModel,
    operation: &Operation,
    input: Option<Resolved<'_>>,
    params: &Map<String, Value>,
) -> Result<RequestParts, SerializeError> {
    let target_prefix = model.metadata.target_prefix.as_deref().unwrap_or_default();
    let json_version = model.metadata.json_version.as_deref().unwrap_or("1.0");
    let body = match input {
        Some(input) => body_text(model, input, params)?,
        None => "{}".to_string(),
    };
    Ok(RequestParts {
        method: operation.http.method.clone(),
        path: operation.http.request_uri.clone(),
        headers: vec![
            ("X-Amz-Target".into(), format!("{target_prefix}.{}", operation.name)),
            ("Content-Type".into(), format!("application/x-amz-json-{json_version}")),
        ],
        body: body.into_bytes(),
        ..Default::default()
    })
}

/// A structure's members as a JSON body.
pub(super) fn body_text(
    model: &ServiceModel,
    shape: Resolved<'_>,
    params: &Map<String, Value>,
) -> Result<String, SerializeError> {
    let value = structure(model, shape, params, "")?;
    Ok(encode::python_json(&value))
}

/// JSON of a structure parameter as the service takes it; members in
/// name order (of the names sent).
pub(super) fn structure(
    model: &ServiceModel,
    shape: Resolved<'_>,
    params: &Map<String, Value>,
    path: &str,
) -> Result<Value, SerializeError> {
    if shape.trait_of(|t| t.document).unwrap_or(false) {
        return Ok(Value::Object(params.clone()));
    }
    let mut out = Map::new();
    for (key, member, member_value) in given(model, shape, params)? {
        let name = member.location_name().unwrap_or(key).to_string();
        out.insert(name, value(model, member, member_value, &join(path, key))?);
    }
    Ok(Value::Object(out))
}

fn value(model: &ServiceModel, shape: Resolved<'_>, v: &Value, path: &str) -> Result<Value, SerializeError> {
    match shape.kind() {
        "structure" => {
            let map = v
                .as_object()
                .ok_or_else(|| SerializeError::invalid(path, "an object"))?;
            structure(model, shape, map, path)
        }
        "list" => {
            let items = v.as_array().ok_or_else(|| SerializeError::invalid(path, "a list"))?;
            let member = model.list_member(shape)?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| value(model, member, item, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        "map" => {
            let map = v
                .as_object()
                .ok_or_else(|| SerializeError::invalid(path, "an object (a map)"))?;
            let (_, value_shape) = model.map_entry(shape)?;
            let mut out = Map::new();
            for (k, item) in map {
                out.insert(k.clone(), value(model, value_shape, item, &join(path, k))?);
            }
            Ok(Value::Object(out))
        }
        "timestamp" => {
            let at = encode::timestamp(v, path)?;
            let text = encode::timestamp_text(at, shape.timestamp_format().unwrap_or("unixTimestamp"));
            // Epoch seconds are a JSON number; the other formats text.
            Ok(text
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or(Value::String(text)))
        }
        "blob" => encode::base64(v, path).map(Value::String),
        _ => Ok(v.clone()),
    }
}
