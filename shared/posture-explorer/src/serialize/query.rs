//! The query and ec2 protocols: `Action`, `Version` and the parameters
//! flattened into a form body (`Filter.1.Name`, `Names.member.1`).

use super::encode::{self, form};
use super::{RequestParts, SerializeError, given, join};
use crate::model::{Operation, Protocol, Resolved, ServiceModel};
use serde_json::{Map, Value};

pub(super) fn serialize(
    model: &ServiceModel,
    operation: &Operation,
    input: Option<Resolved<'_>>,
    params: &Map<String, Value>,
) -> Result<RequestParts, SerializeError> {
    let mut writer = Writer {
        model,
        ec2: model.metadata.protocol == Protocol::Ec2,
        pairs: vec![
            ("Action".to_string(), operation.name.clone()),
            ("Version".to_string(), model.metadata.api_version.clone()),
        ],
    };
    if let Some(input) = input {
        writer.structure(input, params, "", "")?;
    }
    Ok(RequestParts {
        method: operation.http.method.clone(),
        path: operation.http.request_uri.clone(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        body: form(&writer.pairs).into_bytes(),
        ..Default::default()
    })
}

struct Writer<'m> {
    model: &'m ServiceModel,
    ec2: bool,
    pairs: Vec<(String, String)>,
}

impl Writer<'_> {
    /// The name a member is sent under: ec2 prefers `queryName`, then the
    /// capitalized `locationName`; query the `locationName`.
    fn member_name(&self, member: Resolved<'_>, default: &str) -> String {
        if self.ec2 {
            if let Some(name) = member.trait_of(|t| t.query_name.as_deref()) {
                return name.to_string();
            }
            if let Some(name) = member.location_name() {
                let mut chars = name.chars();
                return chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default();
            }
            return default.to_string();
        }
        member.location_name().unwrap_or(default).to_string()
    }

    fn structure(
        &mut self,
        shape: Resolved<'_>,
        value: &Map<String, Value>,
        prefix: &str,
        path: &str,
    ) -> Result<(), SerializeError> {
        for (key, member, member_value) in given(self.model, shape, value)? {
            let name = self.member_name(member, key);
            let member_prefix = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            self.value(member, member_value, &member_prefix, &join(path, key))?;
        }
        Ok(())
    }

    fn value(&mut self, shape: Resolved<'_>, value: &Value, prefix: &str, path: &str) -> Result<(), SerializeError> {
        match shape.kind() {
            "structure" => {
                let map = value
                    .as_object()
                    .ok_or_else(|| SerializeError::invalid(path, "an object"))?;
                self.structure(shape, map, prefix, path)
            }
            "list" => self.list(shape, value, prefix, path),
            "map" => self.map(shape, value, prefix, path),
            "boolean" => {
                let b = value
                    .as_bool()
                    .ok_or_else(|| SerializeError::invalid(path, "true or false"))?;
                self.pairs.push((prefix.into(), b.to_string()));
                Ok(())
            }
            "blob" => {
                let text = encode::base64(value, path)?;
                self.pairs.push((prefix.into(), text));
                Ok(())
            }
            "timestamp" => {
                let at = encode::timestamp(value, path)?;
                let text = encode::timestamp_text(at, shape.timestamp_format().unwrap_or("iso8601"));
                self.pairs.push((prefix.into(), text));
                Ok(())
            }
            _ => {
                let text = encode::scalar_text(value, path)?;
                self.pairs.push((prefix.into(), text));
                Ok(())
            }
        }
    }

    fn list(&mut self, shape: Resolved<'_>, value: &Value, prefix: &str, path: &str) -> Result<(), SerializeError> {
        let items = value
            .as_array()
            .ok_or_else(|| SerializeError::invalid(path, "a list"))?;
        let member = self.model.list_member(shape)?;
        let list_prefix = if self.ec2 {
            prefix.to_string()
        } else if items.is_empty() {
            // The query protocol sends an empty list as an empty value.
            self.pairs.push((prefix.into(), String::new()));
            return Ok(());
        } else if shape.flattened() {
            match member.location_name() {
                Some(name) => match prefix.rsplit_once('.') {
                    Some((head, _)) => format!("{head}.{name}"),
                    None => name.to_string(),
                },
                None => prefix.to_string(),
            }
        } else {
            format!("{prefix}.{}", member.location_name().unwrap_or("member"))
        };
        for (i, item) in items.iter().enumerate() {
            self.value(
                member,
                item,
                &format!("{list_prefix}.{}", i + 1),
                &format!("{path}[{i}]"),
            )?;
        }
        Ok(())
    }

    fn map(&mut self, shape: Resolved<'_>, value: &Value, prefix: &str, path: &str) -> Result<(), SerializeError> {
        let map = value
            .as_object()
            .ok_or_else(|| SerializeError::invalid(path, "an object (a map)"))?;
        let (key_shape, value_shape) = self.model.map_entry(shape)?;
        let full_prefix = if shape.flattened() {
            prefix.to_string()
        } else {
            format!("{prefix}.entry")
        };
        let key_suffix = self.member_name(key_shape, "key");
        let value_suffix = self.member_name(value_shape, "value");
        for (i, (k, v)) in map.iter().enumerate() {
            let n = i + 1;
            self.pairs.push((format!("{full_prefix}.{n}.{key_suffix}"), k.clone()));
            self.value(
                value_shape,
                v,
                &format!("{full_prefix}.{n}.{value_suffix}"),
                &join(path, k),
            )?;
        }
        Ok(())
    }
}
