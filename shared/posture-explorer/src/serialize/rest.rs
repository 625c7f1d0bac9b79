//! The rest-json and rest-xml protocols: members bound to the URI, the
//! query string and headers; the rest in a JSON or XML body.

use super::encode::{self, percent, percent_path};
use super::{RequestParts, SerializeError, given, join, json};
use crate::model::{Operation, Protocol, Resolved, ServiceModel, XmlNamespace};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub(super) fn serialize(
    model: &ServiceModel,
    operation: &Operation,
    input: Option<Resolved<'_>>,
    params: &Map<String, Value>,
) -> Result<RequestParts, SerializeError> {
    let mut parts = RequestParts {
        method: operation.http.method.clone(),
        ..Default::default()
    };
    let Some(input) = input else {
        parts.path = operation.http.request_uri.clone();
        return Ok(parts);
    };
    let xml = model.metadata.protocol == Protocol::RestXml;
    let mut labels = BTreeMap::new();
    let mut body_params = Map::new();
    for (name, member, value) in given(model, input, params)? {
        let key = member.location_name().unwrap_or(name).to_string();
        match member.location() {
            Some("uri") => {
                labels.insert(key, uri_text(member, value, name)?);
            }
            Some("querystring") => query_params(model, member, value, &key, name, &mut parts.query)?,
            Some("header") => {
                if member.kind() == "list" && value.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                parts.headers.push((key, header_text(model, member, value, name)?));
            }
            Some("headers") => {
                let map = value
                    .as_object()
                    .ok_or_else(|| SerializeError::invalid(name, "an object of headers"))?;
                for (suffix, v) in map {
                    parts
                        .headers
                        .push((format!("{key}{suffix}"), encode::scalar_text(v, &join(name, suffix))?));
                }
            }
            _ => {
                body_params.insert(name.to_string(), value.clone());
            }
        }
    }
    parts.path = render_uri(&operation.http.request_uri, &labels)?;

    let payload = input.trait_of(|t| t.payload.as_deref());
    let payload_member = payload
        .and_then(|p| input.shape.members.get(p).map(|r| (p, r)))
        .map(|(p, r)| model.resolve(r).map(|m| (p, m)))
        .transpose()?;
    let streaming = payload_member.is_some_and(|(_, m)| matches!(m.kind(), "blob" | "string"));
    if let Some((name, member)) = payload_member {
        match params.get(name) {
            Some(Value::String(s)) if streaming => parts.body = s.clone().into_bytes(),
            Some(Value::Object(map)) if !streaming => {
                parts.body = if xml {
                    xml_body(model, member, map, member.location_name().unwrap_or(name))?
                } else {
                    json::body_text(model, member, map)?.into_bytes()
                };
            }
            Some(Value::Null) | None => {
                if !xml && !streaming {
                    parts.body = b"{}".to_vec();
                }
            }
            Some(_) => {
                return Err(SerializeError::invalid(
                    name,
                    if streaming { "text" } else { "an object" },
                ));
            }
        }
    } else if !body_params.is_empty() {
        parts.body = if xml {
            let root = input
                .location_name()
                .or_else(|| operation.input.as_ref().and_then(|r| r.traits.location_name.as_deref()))
                .unwrap_or(input.name);
            xml_body(model, input, &body_params, root)?
        } else {
            json::body_text(model, input, &body_params)?.into_bytes()
        };
    } else if !xml && input.shape.members.0.iter().any(|(_, r)| r.traits.location.is_none()) {
        parts.body = b"{}".to_vec();
    }
    if !xml
        && !streaming
        && !parts.body.is_empty()
        && !parts
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        parts.headers.push(("Content-Type".into(), "application/json".into()));
    }
    Ok(parts)
}

/// Fills `{Label}` (percent-encoded) and `{Label+}` (slashes kept).
fn render_uri(template: &str, labels: &BTreeMap<String, String>) -> Result<String, SerializeError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| SerializeError::Model(format!("unclosed label in {template}")))?;
        let label = &rest[open + 1..close];
        let (name, greedy) = label.strip_suffix('+').map_or((label, false), |n| (n, true));
        let value = labels.get(name).ok_or_else(|| SerializeError::Missing {
            path: "parameters".into(),
            name: name.into(),
        })?;
        if value.is_empty() {
            return Err(SerializeError::invalid(
                name,
                "a non-empty value (it is part of the request path)",
            ));
        }
        out.push_str(&if greedy { percent_path(value) } else { percent(value) });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A URI label or query-string value.
fn uri_text(shape: Resolved<'_>, value: &Value, path: &str) -> Result<String, SerializeError> {
    match shape.kind() {
        "timestamp" => Ok(encode::timestamp_text(
            encode::timestamp(value, path)?,
            shape.timestamp_format().unwrap_or("iso8601"),
        )),
        _ => encode::scalar_text(value, path),
    }
}

fn query_params(
    model: &ServiceModel,
    member: Resolved<'_>,
    value: &Value,
    key: &str,
    path: &str,
    query: &mut Vec<(String, String)>,
) -> Result<(), SerializeError> {
    match (member.kind(), value) {
        ("map", Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            query.push((k.clone(), encode::scalar_text(item, &join(path, k))?));
                        }
                    }
                    _ => query.push((k.clone(), encode::scalar_text(v, &join(path, k))?)),
                }
            }
        }
        ("list", Value::Array(items)) => {
            let item_shape = model.list_member(member)?;
            for (i, item) in items.iter().enumerate() {
                query.push((key.to_string(), uri_text(item_shape, item, &format!("{path}[{i}]"))?));
            }
        }
        _ => query.push((key.to_string(), uri_text(member, value, path)?)),
    }
    Ok(())
}

fn header_text(model: &ServiceModel, shape: Resolved<'_>, value: &Value, path: &str) -> Result<String, SerializeError> {
    match shape.kind() {
        "timestamp" => Ok(encode::timestamp_text(
            encode::timestamp(value, path)?,
            shape.timestamp_format().unwrap_or("rfc822"),
        )),
        "list" => {
            let items = value
                .as_array()
                .ok_or_else(|| SerializeError::invalid(path, "a list"))?;
            let item_shape = model.list_member(shape)?;
            let texts = items
                .iter()
                .filter(|v| !v.is_null())
                .enumerate()
                .map(|(i, v)| {
                    let p = format!("{path}[{i}]");
                    match (item_shape.kind(), v) {
                        ("string", Value::String(s)) if s.contains('"') || s.contains(',') => {
                            Ok(format!("\"{}\"", s.replace('"', "\\\"")))
                        }
                        _ => header_text(model, item_shape, v, &p),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(texts.join(","))
        }
        _ if shape.trait_of(|t| t.jsonvalue).unwrap_or(false) => {
            use base64::Engine;
            let compact = serde_json::to_string(value).map_err(|e| SerializeError::invalid(path, &e.to_string()))?;
            Ok(base64::engine::general_purpose::STANDARD.encode(compact))
        }
        _ => encode::scalar_text(value, path),
    }
}

/// An XML body: the structure under `root`, as ElementTree writes it.
fn xml_body(
    model: &ServiceModel,
    shape: Resolved<'_>,
    params: &Map<String, Value>,
    root: &str,
) -> Result<Vec<u8>, SerializeError> {
    let mut out = String::new();
    xml_structure(model, shape, params, root, "", &mut out)?;
    Ok(out.into_bytes())
}

fn xml_structure(
    model: &ServiceModel,
    shape: Resolved<'_>,
    params: &Map<String, Value>,
    name: &str,
    path: &str,
    out: &mut String,
) -> Result<(), SerializeError> {
    let mut attributes = namespace_attribute(shape);
    let mut children = String::new();
    for (key, member, value) in given(model, shape, params)? {
        let member_name = member.location_name().unwrap_or(key);
        if member.trait_of(|t| t.xml_attribute).unwrap_or(false) {
            attributes.push((member_name.to_string(), encode::scalar_text(value, &join(path, key))?));
            continue;
        }
        xml_value(model, member, value, member_name, &join(path, key), &mut children)?;
    }
    element(name, &attributes, &children, out);
    Ok(())
}

fn xml_value(
    model: &ServiceModel,
    shape: Resolved<'_>,
    value: &Value,
    name: &str,
    path: &str,
    out: &mut String,
) -> Result<(), SerializeError> {
    match shape.kind() {
        "structure" => {
            let map = value
                .as_object()
                .ok_or_else(|| SerializeError::invalid(path, "an object"))?;
            xml_structure(model, shape, map, name, path, out)
        }
        "list" => {
            let items = value
                .as_array()
                .ok_or_else(|| SerializeError::invalid(path, "a list"))?;
            let member = model.list_member(shape)?;
            let mut inner = String::new();
            let flattened = shape.flattened();
            let item_name = if flattened {
                name
            } else {
                member.location_name().unwrap_or("member")
            };
            for (i, item) in items.iter().enumerate() {
                xml_value(model, member, item, item_name, &format!("{path}[{i}]"), &mut inner)?;
            }
            if flattened {
                out.push_str(&inner);
            } else {
                element(name, &namespace_attribute(shape), &inner, out);
            }
            Ok(())
        }
        "map" => {
            let map = value
                .as_object()
                .ok_or_else(|| SerializeError::invalid(path, "an object (a map)"))?;
            let (key_shape, value_shape) = model.map_entry(shape)?;
            let key_name = key_shape.location_name().unwrap_or("key");
            let value_name = value_shape.location_name().unwrap_or("value");
            let mut entries = String::new();
            for (k, v) in map {
                let mut entry = String::new();
                xml_value(model, key_shape, &Value::String(k.clone()), key_name, path, &mut entry)?;
                xml_value(model, value_shape, v, value_name, &join(path, k), &mut entry)?;
                element(
                    if shape.flattened() { name } else { "entry" },
                    &[],
                    &entry,
                    &mut entries,
                );
            }
            if shape.flattened() {
                out.push_str(&entries);
            } else {
                element(name, &namespace_attribute(shape), &entries, out);
            }
            Ok(())
        }
        kind => {
            let text = match kind {
                "timestamp" => encode::timestamp_text(
                    encode::timestamp(value, path)?,
                    shape.timestamp_format().unwrap_or("iso8601"),
                ),
                "blob" => encode::base64(value, path)?,
                _ => encode::scalar_text(value, path)?,
            };
            element(name, &namespace_attribute(shape), &escape(&text, false), out);
            Ok(())
        }
    }
}

fn namespace_attribute(shape: Resolved<'_>) -> Vec<(String, String)> {
    match shape.trait_of(|t| t.xml_namespace.as_ref()) {
        Some(XmlNamespace::Uri(uri)) => vec![("xmlns".into(), uri.clone())],
        Some(XmlNamespace::Prefixed { prefix, uri }) => {
            let name = prefix
                .as_deref()
                .filter(|p| !p.is_empty())
                .map_or("xmlns".to_string(), |p| format!("xmlns:{p}"));
            vec![(name, uri.clone())]
        }
        None => Vec::new(),
    }
}

/// `<name a="v">children</name>`, or `<name a="v" />` when empty.
fn element(name: &str, attributes: &[(String, String)], children: &str, out: &mut String) {
    out.push('<');
    out.push_str(name);
    for (k, v) in attributes {
        out.push_str(&format!(" {k}=\"{}\"", escape(v, true)));
    }
    if children.is_empty() {
        out.push_str(" />");
    } else {
        out.push('>');
        out.push_str(children);
        out.push_str(&format!("</{name}>"));
    }
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#09;"),
            c => out.push(c),
        }
    }
    out
}
