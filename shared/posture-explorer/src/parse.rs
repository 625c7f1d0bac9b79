//! A response made into JSON by the operation's output shape (member names
//! as the API documents them, numbers and booleans typed, timestamps in
//! RFC 3339), or the service's error (code, message, request id).

use crate::model::{Operation, Protocol, Resolved, ServiceModel};
use serde_json::{Map, Number, Value};

/// What came back over HTTP.
#[derive(Debug, Clone, Default)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The service's refusal or failure, as it said it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("AWS answered {} {}: {}", .0.status, .0.code, .0.message)]
    Api(ApiError),
    #[error("the response cannot be read: {0}")]
    Malformed(String),
}

/// Parses `response` to `operation`.
pub fn parse(model: &ServiceModel, operation: &Operation, response: &RawResponse) -> Result<Value, ResponseError> {
    let protocol = model.metadata.protocol;
    if response.status >= 300 {
        return Err(ResponseError::Api(api_error(protocol, response)));
    }
    let Some(output_ref) = &operation.output else {
        return Ok(Value::Object(Map::new()));
    };
    let output = model
        .resolve(output_ref)
        .map_err(|e| ResponseError::Malformed(e.to_string()))?;
    match protocol {
        Protocol::Json => {
            let body = json_body(&response.body)?;
            json_value(model, output, &body)
        }
        Protocol::RestJson => {
            let mut out = rest_bound(model, output, response)?;
            match payload_member(model, output)? {
                Some((name, member)) => {
                    let body = json_body(&response.body)?;
                    out.insert(name.to_string(), json_value(model, member, &body)?);
                }
                None => {
                    if let Value::Object(parsed) = json_value(model, output, &json_body(&response.body)?)? {
                        out.extend(parsed);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Protocol::Query | Protocol::Ec2 => {
            let root = xml::parse(&response.body).map_err(ResponseError::Malformed)?;
            let node = match output_ref.traits.result_wrapper.as_deref() {
                Some(wrapper) => root
                    .child(wrapper)
                    .ok_or_else(|| ResponseError::Malformed(format!("no <{wrapper}> in <{}>", root.name)))?,
                None => &root,
            };
            xml_value(model, output, &XmlItem::One(node))
        }
        Protocol::RestXml => {
            let mut out = rest_bound(model, output, response)?;
            if !response.body.iter().all(u8::is_ascii_whitespace) {
                let root = xml::parse(&response.body).map_err(ResponseError::Malformed)?;
                match payload_member(model, output)? {
                    Some((name, member)) => {
                        out.insert(name.to_string(), xml_value(model, member, &XmlItem::One(&root))?);
                    }
                    None => {
                        if let Value::Object(parsed) = xml_value(model, output, &XmlItem::One(&root))? {
                            out.extend(parsed);
                        }
                    }
                }
            }
            Ok(Value::Object(out))
        }
    }
}

fn json_body(body: &[u8]) -> Result<Value, ResponseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| ResponseError::Malformed(format!("JSON: {e}")))
}

fn malformed(e: crate::model::ModelError) -> ResponseError {
    ResponseError::Malformed(e.to_string())
}

/// The output's payload member (a structure the whole body is), if any.
fn payload_member<'m>(
    model: &'m ServiceModel,
    output: Resolved<'m>,
) -> Result<Option<(&'m str, Resolved<'m>)>, ResponseError> {
    let Some(name) = output.trait_of(|t| t.payload.as_deref()) else {
        return Ok(None);
    };
    let Some(member) = output.shape.members.get(name) else {
        return Ok(None);
    };
    Ok(Some((name, model.resolve(member).map_err(malformed)?)))
}

/// Members bound to headers and the status code (rest protocols).
fn rest_bound(
    model: &ServiceModel,
    output: Resolved<'_>,
    response: &RawResponse,
) -> Result<Map<String, Value>, ResponseError> {
    let mut out = Map::new();
    for (name, member_ref) in &output.shape.members.0 {
        let member = model.resolve(member_ref).map_err(malformed)?;
        match member.location() {
            Some("header") => {
                let header = member.location_name().unwrap_or(name);
                if let Some(text) = response.header(header) {
                    out.insert(name.clone(), scalar(member, text));
                }
            }
            Some("headers") => {
                let prefix = member.location_name().unwrap_or_default().to_ascii_lowercase();
                let map: Map<String, Value> = response
                    .headers
                    .iter()
                    .filter(|(k, _)| k.to_ascii_lowercase().starts_with(&prefix))
                    .map(|(k, v)| (k[prefix.len()..].to_string(), Value::String(v.clone())))
                    .collect();
                if !map.is_empty() {
                    out.insert(name.clone(), Value::Object(map));
                }
            }
            Some("statusCode") => {
                out.insert(name.clone(), Value::from(response.status));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A scalar from text (XML, headers): typed by the shape.
fn scalar(shape: Resolved<'_>, text: &str) -> Value {
    match shape.kind() {
        "integer" | "long" => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.into())),
        "float" | "double" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.into())),
        "boolean" => Value::Bool(text.trim().eq_ignore_ascii_case("true")),
        "timestamp" => Value::String(timestamp_text(text)),
        _ => Value::String(text.into()),
    }
}

/// A timestamp as RFC 3339, whichever format it came in (ISO 8601, epoch
/// seconds, RFC 822); the text kept as is when it cannot be read.
fn timestamp_text(text: &str) -> String {
    let text = text.trim();
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return at.to_string();
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return epoch_text(seconds).unwrap_or_else(|| text.to_string());
    }
    if let Ok(at) = jiff::fmt::rfc2822::parse(text) {
        return at.timestamp().to_string();
    }
    text.to_string()
}

fn epoch_text(seconds: f64) -> Option<String> {
    let millis = (seconds * 1000.0).round() as i64;
    jiff::Timestamp::from_millisecond(millis).ok().map(|t| t.to_string())
}

fn json_value(model: &ServiceModel, shape: Resolved<'_>, value: &Value) -> Result<Value, ResponseError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    Ok(match (shape.kind(), value) {
        ("structure", Value::Object(map)) => {
            if shape.trait_of(|t| t.document).unwrap_or(false) {
                return Ok(value.clone());
            }
            let mut out = Map::new();
            for (name, member_ref) in &shape.shape.members.0 {
                let member = model.resolve(member_ref).map_err(malformed)?;
                if member.location().is_some() {
                    continue;
                }
                let key = member.location_name().unwrap_or(name);
                if let Some(v) = map.get(key)
                    && !v.is_null()
                {
                    out.insert(name.clone(), json_value(model, member, v)?);
                }
            }
            Value::Object(out)
        }
        ("list", Value::Array(items)) => {
            let member = model.list_member(shape).map_err(malformed)?;
            Value::Array(
                items
                    .iter()
                    .map(|i| json_value(model, member, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        ("map", Value::Object(map)) => {
            let (_, value_shape) = model.map_entry(shape).map_err(malformed)?;
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), json_value(model, value_shape, v)?);
            }
            Value::Object(out)
        }
        ("timestamp", Value::Number(n)) => n
            .as_f64()
            .and_then(epoch_text)
            .map(Value::String)
            .unwrap_or_else(|| value.clone()),
        ("timestamp", Value::String(s)) => Value::String(timestamp_text(s)),
        _ => value.clone(),
    })
}

/// One XML node, or the repeated nodes of one name (a flattened list).
enum XmlItem<'x> {
    One(&'x xml::Node),
    Many(Vec<&'x xml::Node>),
}

impl<'x> XmlItem<'x> {
    fn first(&self) -> Option<&'x xml::Node> {
        match self {
            Self::One(n) => Some(n),
            Self::Many(v) => v.first().copied(),
        }
    }

    fn nodes(&self) -> Vec<&'x xml::Node> {
        match self {
            Self::One(n) => vec![*n],
            Self::Many(v) => v.clone(),
        }
    }
}

fn xml_value(model: &ServiceModel, shape: Resolved<'_>, item: &XmlItem<'_>) -> Result<Value, ResponseError> {
    let Some(node) = item.first() else {
        return Ok(Value::Null);
    };
    Ok(match shape.kind() {
        "structure" => {
            let mut out = Map::new();
            for (name, member_ref) in &shape.shape.members.0 {
                let member = model.resolve(member_ref).map_err(malformed)?;
                if member.location().is_some() {
                    continue;
                }
                if member.trait_of(|t| t.xml_attribute).unwrap_or(false) {
                    let attr = member.location_name().unwrap_or(name);
                    if let Some(v) = node.attribute(attr) {
                        out.insert(name.clone(), scalar(member, v));
                    }
                    continue;
                }
                let key = xml_member_name(model, member, name)?;
                let children: Vec<&xml::Node> = node.children.iter().filter(|c| c.name == key).collect();
                let found = match children.len() {
                    0 => continue,
                    1 => XmlItem::One(children[0]),
                    _ => XmlItem::Many(children),
                };
                out.insert(name.clone(), xml_value(model, member, &found)?);
            }
            Value::Object(out)
        }
        "list" => {
            let member = model.list_member(shape).map_err(malformed)?;
            let items: Vec<&xml::Node> = if shape.flattened() {
                item.nodes()
            } else {
                node.children.iter().collect()
            };
            Value::Array(
                items
                    .into_iter()
                    .map(|n| xml_value(model, member, &XmlItem::One(n)))
                    .collect::<Result<_, _>>()?,
            )
        }
        "map" => {
            let (key_shape, value_shape) = model.map_entry(shape).map_err(malformed)?;
            let key_name = key_shape.location_name().unwrap_or("key");
            let value_name = value_shape.location_name().unwrap_or("value");
            let entries: Vec<&xml::Node> = if shape.flattened() {
                item.nodes()
            } else {
                node.children.iter().collect()
            };
            let mut out = Map::new();
            for entry in entries {
                let (Some(k), Some(v)) = (entry.child(key_name), entry.child(value_name)) else {
                    continue;
                };
                out.insert(k.text.clone(), xml_value(model, value_shape, &XmlItem::One(v))?);
            }
            Value::Object(out)
        }
        _ => scalar(shape, &node.text),
    })
}

/// The element name a member is read from (botocore's rule: a flattened
/// list's items are named by the list member's `locationName`).
fn xml_member_name<'m>(model: &'m ServiceModel, member: Resolved<'m>, name: &'m str) -> Result<&'m str, ResponseError> {
    if member.kind() == "list"
        && member.flattened()
        && let Some(item_ref) = &member.shape.member
    {
        let item = model.resolve(item_ref).map_err(malformed)?;
        if let Some(item_name) = item.location_name() {
            return Ok(item_name);
        }
    }
    Ok(member.location_name().unwrap_or(name))
}

/// The error a service answered with, in its protocol's shape.
fn api_error(protocol: Protocol, response: &RawResponse) -> ApiError {
    let request_id = response
        .header("x-amzn-requestid")
        .or_else(|| response.header("x-amz-request-id"))
        .map(String::from);
    let mut error = ApiError {
        status: response.status,
        code: String::new(),
        message: String::new(),
        request_id,
    };
    match protocol {
        Protocol::Json | Protocol::RestJson => {
            let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            let code = response
                .header("x-amzn-errortype")
                .map(String::from)
                .or_else(|| body.get("__type").and_then(Value::as_str).map(String::from))
                .or_else(|| body.get("code").and_then(Value::as_str).map(String::from))
                .unwrap_or_default();
            // "ns#Code" and "Code:http://..." forms carry the code in one part.
            let code = code.split(':').next().unwrap_or_default();
            error.code = code.rsplit('#').next().unwrap_or_default().to_string();
            error.message = ["message", "Message", "errorMessage"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string();
        }
        Protocol::Query | Protocol::Ec2 | Protocol::RestXml => {
            if let Ok(root) = xml::parse(&response.body) {
                let err = root.find("Error").unwrap_or(&root);
                error.code = err.child("Code").map(|n| n.text.clone()).unwrap_or_default();
                error.message = err.child("Message").map(|n| n.text.clone()).unwrap_or_default();
                if error.request_id.is_none() {
                    error.request_id = root
                        .find("RequestId")
                        .or_else(|| root.find("RequestID"))
                        .map(|n| n.text.clone());
                }
            }
        }
    }
    if error.code.is_empty() {
        error.code = format!("HTTP{}", response.status);
    }
    if error.message.is_empty() {
        error.message = String::from_utf8_lossy(&response.body).chars().take(300).collect();
    }
    error
}

pub(crate) mod xml {
    //! A small XML tree: elements, attributes and text (namespace
    //! prefixes dropped), enough for AWS responses.

    #[derive(Debug, Default)]
    pub struct Node {
        pub name: String,
        pub attributes: Vec<(String, String)>,
        pub text: String,
        pub children: Vec<Node>,
    }

    impl Node {
        pub fn child(&self, name: &str) -> Option<&Node> {
            self.children.iter().find(|c| c.name == name)
        }

        /// The first descendant (or this node) named `name`, depth first.
        pub fn find(&self, name: &str) -> Option<&Node> {
            if self.name == name {
                return Some(self);
            }
            self.children.iter().find_map(|c| c.find(name))
        }

        pub fn attribute(&self, name: &str) -> Option<&str> {
            self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Node, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("XML is not UTF-8: {e}"))?;
        let mut stack: Vec<Node> = Vec::new();
        let mut root = None;
        for token in xmlparser::Tokenizer::from(text) {
            let token = token.map_err(|e| format!("XML: {e}"))?;
            match token {
                xmlparser::Token::ElementStart { local, .. } => stack.push(Node {
                    name: local.as_str().to_string(),
                    ..Default::default()
                }),
                xmlparser::Token::Attribute { local, value, .. } => {
                    if let Some(top) = stack.last_mut() {
                        top.attributes
                            .push((local.as_str().to_string(), unescape(value.as_str())));
                    }
                }
                xmlparser::Token::ElementEnd { end, .. } => match end {
                    xmlparser::ElementEnd::Open => {}
                    xmlparser::ElementEnd::Close(..) | xmlparser::ElementEnd::Empty => {
                        let done = stack.pop().ok_or("XML: unbalanced end tag")?;
                        match stack.last_mut() {
                            Some(parent) => parent.children.push(done),
                            None => root = Some(done),
                        }
                    }
                },
                xmlparser::Token::Text { text } => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&unescape(text.as_str()));
                    }
                }
                xmlparser::Token::Cdata { text, .. } => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(text.as_str());
                    }
                }
                _ => {}
            }
        }
        root.ok_or_else(|| "XML: no root element".to_string())
    }

    fn unescape(text: &str) -> String {
        if !text.contains('&') {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp..];
            let Some(semi) = after.find(';') else {
                out.push_str(after);
                return out;
            };
            let entity = &after[1..semi];
            let decoded = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            match decoded {
                Some(c) => out.push(c),
                None => out.push_str(&after[..=semi]),
            }
            rest = &after[semi + 1..];
        }
        out.push_str(rest);
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn elements_attributes_text_and_entities() {
            let root = super::parse(br#"<?xml version="1.0"?><a xmlns="x"><b k="v&amp;w">1 &lt; 2 &#233;</b><c/></a>"#)
                .unwrap();
            assert_eq!(root.name, "a");
            assert_eq!(root.child("b").unwrap().text, "1 < 2 \u{e9}");
            assert_eq!(root.child("b").unwrap().attribute("k"), Some("v&w"));
            assert!(root.child("c").is_some());
        }
    }
}
