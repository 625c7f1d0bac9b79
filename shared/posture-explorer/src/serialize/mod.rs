//! An operation's parameters (the API's own JSON shape) into the parts of
//! its HTTP request, per protocol, as the AWS SDKs write them; the
//! parameters are checked against the input shape on the way (unknown
//! names, missing required members, wrong types).

pub(crate) mod encode;
mod json;
mod query;
mod rest;

use crate::model::{Operation, Protocol, Resolved, ServiceModel};
use serde_json::{Map, Value};

/// Parameters that do not fit the operation's input shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerializeError {
    #[error("{path}: expected {expected}")]
    Invalid { path: String, expected: String },
    #[error("{path}: unknown parameter {name:?}; valid parameters: {valid}")]
    Unknown { path: String, name: String, valid: String },
    #[error("{path}: missing required parameter {name:?}")]
    Missing { path: String, name: String },
    #[error("the model is inconsistent: {0}")]
    Model(String),
}

impl SerializeError {
    pub(crate) fn invalid(path: &str, expected: &str) -> Self {
        Self::Invalid {
            path: display_path(path),
            expected: expected.into(),
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "parameters".into()
    } else {
        path.into()
    }
}

impl From<crate::model::ModelError> for SerializeError {
    fn from(e: crate::model::ModelError) -> Self {
        Self::Model(e.to_string())
    }
}

/// The request an operation makes, before its endpoint and signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestParts {
    pub method: String,
    /// Path (percent-encoded), possibly with a query of its own (`/?policy`).
    pub path: String,
    /// Query parameters, in order, not yet encoded.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Prepended to the endpoint's host (`hostPrefix`, labels filled).
    pub host_prefix: Option<String>,
}

/// Serializes `params` for `operation` of `model`.
pub fn serialize(model: &ServiceModel, operation: &Operation, params: &Value) -> Result<RequestParts, SerializeError> {
    let empty = Map::new();
    let params = match params {
        Value::Null => &empty,
        Value::Object(map) => map,
        _ => return Err(SerializeError::invalid("", "an object of parameters")),
    };
    let input = operation.input.as_ref().map(|r| model.resolve(r)).transpose()?;
    match input {
        Some(input) => check_structure(model, input, params, "")?,
        None if !params.is_empty() => {
            return Err(SerializeError::Unknown {
                path: display_path(""),
                name: params.keys().next().cloned().unwrap_or_default(),
                valid: "none (the operation takes no parameters)".into(),
            });
        }
        None => {}
    }
    let mut parts = match model.metadata.protocol {
        Protocol::Query | Protocol::Ec2 => query::serialize(model, operation, input, params)?,
        Protocol::Json => json::serialize(model, operation, input, params)?,
        Protocol::RestJson | Protocol::RestXml => rest::serialize(model, operation, input, params)?,
    };
    parts.host_prefix = host_prefix(model, operation, input, params)?;
    Ok(parts)
}

/// The members of a structure parameter: no unknown names, every required
/// member given.
pub(crate) fn check_structure(
    model: &ServiceModel,
    shape: Resolved<'_>,
    value: &Map<String, Value>,
    path: &str,
) -> Result<(), SerializeError> {
    if shape.trait_of(|t| t.document).unwrap_or(false) {
        return Ok(());
    }
    for name in value.keys() {
        if shape.shape.members.get(name).is_none() {
            let valid: Vec<&str> = shape.shape.members.0.iter().map(|(n, _)| n.as_str()).collect();
            return Err(SerializeError::Unknown {
                path: display_path(path),
                name: name.clone(),
                valid: if valid.is_empty() {
                    "none".into()
                } else {
                    valid.join(", ")
                },
            });
        }
    }
    for required in &shape.shape.required {
        if value.get(required).is_none_or(Value::is_null) {
            return Err(SerializeError::Missing {
                path: display_path(path),
                name: required.clone(),
            });
        }
    }
    // Members are checked where each protocol writes them; nested
    // structures here, so every protocol refuses the same inputs.
    for (name, member_value) in value {
        if let Some(member) = shape.shape.members.get(name) {
            check_nested(model, model.resolve(member)?, member_value, &join(path, name))?;
        }
    }
    Ok(())
}

fn check_nested(model: &ServiceModel, shape: Resolved<'_>, value: &Value, path: &str) -> Result<(), SerializeError> {
    match (shape.kind(), value) {
        (_, Value::Null) => Ok(()),
        ("structure", Value::Object(map)) => check_structure(model, shape, map, path),
        ("structure", _) => Err(SerializeError::invalid(path, "an object")),
        ("list", Value::Array(items)) => {
            let member = model.list_member(shape)?;
            for (i, item) in items.iter().enumerate() {
                check_nested(model, member, item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        ("list", _) => Err(SerializeError::invalid(path, "a list")),
        ("map", Value::Object(map)) => {
            let (_, value_shape) = model.map_entry(shape)?;
            for (k, v) in map {
                check_nested(model, value_shape, v, &join(path, k))?;
            }
            Ok(())
        }
        ("map", _) => Err(SerializeError::invalid(path, "an object (a map)")),
        // Enum values are not enforced, as the SDKs do not: the services
        // take new values before the models list them.
        ("string", Value::String(_)) => Ok(()),
        ("string", _) => Err(SerializeError::invalid(path, "text")),
        ("boolean", Value::Bool(_)) => Ok(()),
        ("boolean", _) => Err(SerializeError::invalid(path, "true or false")),
        ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => check_range(shape, n.as_f64(), path),
        ("integer" | "long", _) => Err(SerializeError::invalid(path, "a whole number")),
        ("float" | "double", Value::Number(n)) => check_range(shape, n.as_f64(), path),
        ("float" | "double", _) => Err(SerializeError::invalid(path, "a number")),
        ("timestamp", _) => encode::timestamp(value, path).map(|_| ()),
        ("blob", Value::String(_)) => Ok(()),
        ("blob", _) => Err(SerializeError::invalid(path, "text")),
        _ => Ok(()),
    }
}

fn check_range(shape: Resolved<'_>, value: Option<f64>, path: &str) -> Result<(), SerializeError> {
    let Some(value) = value else { return Ok(()) };
    if let Some(min) = shape.shape.min
        && value < min
    {
        return Err(SerializeError::invalid(path, &format!("a number of at least {min}")));
    }
    if let Some(max) = shape.shape.max
        && value > max
    {
        return Err(SerializeError::invalid(path, &format!("a number of at most {max}")));
    }
    Ok(())
}

/// The parameters given (not null) of a structure, each with its member's
/// shape, in name order (unknown names were refused by `check_structure`).
pub(crate) fn given<'m, 'v>(
    model: &'m ServiceModel,
    shape: Resolved<'m>,
    params: &'v Map<String, Value>,
) -> Result<Vec<(&'v str, Resolved<'m>, &'v Value)>, SerializeError> {
    let mut out = Vec::with_capacity(params.len());
    for (name, value) in params {
        if value.is_null() {
            continue;
        }
        if let Some(member) = shape.shape.members.get(name) {
            out.push((name.as_str(), model.resolve(member)?, value));
        }
    }
    Ok(out)
}

pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The operation's `hostPrefix` with its labels filled from the parameters
/// (each a host label: letters, digits, hyphens and dots).
fn host_prefix(
    model: &ServiceModel,
    operation: &Operation,
    input: Option<Resolved<'_>>,
    params: &Map<String, Value>,
) -> Result<Option<String>, SerializeError> {
    let Some(template) = operation.endpoint.as_ref().and_then(|e| e.host_prefix.as_deref()) else {
        return Ok(None);
    };
    let mut prefix = template.to_string();
    if let Some(input) = input {
        for (name, member) in &input.shape.members.0 {
            if !model.resolve(member)?.trait_of(|t| t.host_label).unwrap_or(false) {
                continue;
            }
            let value = params
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| SerializeError::Missing {
                    path: display_path(""),
                    name: name.clone(),
                })?;
            let label_ok = !value.is_empty()
                && value.len() <= 255
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !label_ok {
                return Err(SerializeError::invalid(
                    name,
                    "only letters, digits, hyphens and dots (it becomes part of the host name)",
                ));
            }
            prefix = prefix.replace(&format!("{{{name}}}"), value);
        }
    }
    Ok(Some(prefix))
}
