//! Tool arguments: each tool's arguments struct is its schema, its validator
//! and its documentation at once. The published input schema is generated
//! from the struct (ranges, enums, lengths and defaults declared on it);
//! arguments are checked against that schema, then deserialized into the
//! struct, and every refusal becomes the seed's `ValidationError` naming the
//! field. A `null` argument counts as absent, and unknown arguments are
//! refused, so a typo never silently falls back to a default.

use crate::error::ToolError;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Marks a string schema whose `enum` is the loaded frameworks' short names,
/// filled in when the tools are registered ([`fill_frameworks`]).
pub const FRAMEWORK_ENUM_MARKER: &str = "x-posture-frameworks";

/// The input schema of `T`: inline (no `$ref`), without the generator's
/// `$schema` and `title`.
pub fn input_schema<T: JsonSchema>() -> JsonObject {
    let settings = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true);
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut object = match schema.to_value() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    object.remove("$schema");
    object.remove("title");
    // The struct's doc comment is for developers; the tool description speaks to clients.
    object.remove("description");
    let properties = object.entry("properties").or_insert_with(|| json!({}));
    // An optional argument is simply not required: `null` counts as absent
    // (see `parse`), so it is published as its own type, without a `null`
    // type or default.
    if let Value::Object(properties) = properties {
        for rule in properties.values_mut().filter_map(Value::as_object_mut) {
            if rule.get("default") == Some(&Value::Null) {
                rule.remove("default");
            }
            if let Some(Value::Array(types)) = rule.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    rule.insert("type".into(), only);
                }
            }
        }
    }
    object
}

/// Puts the loaded frameworks' short names into every schema marked with
/// [`FRAMEWORK_ENUM_MARKER`].
pub fn fill_frameworks(schema: &mut Value, names: &[String]) {
    match schema {
        Value::Object(o) => {
            if o.remove(FRAMEWORK_ENUM_MARKER).is_some() {
                o.insert("enum".into(), json!(names));
            }
            o.values_mut().for_each(|v| fill_frameworks(v, names));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill_frameworks(v, names)),
        _ => {}
    }
}

/// Checks `args` against `schema` and deserializes them into `T`.
pub fn parse<T: DeserializeOwned>(args: &JsonObject, schema: &JsonObject) -> Result<T, ToolError> {
    let present: Map<String, Value> = args
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_object(&present, schema)?;
    // An integral float (3.0) passed the schema as an integer: give serde one.
    let present = present
        .into_iter()
        .map(|(k, v)| match v.as_f64() {
            Some(f) if !v.is_i64() && !v.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => (k, json!(f as i64)),
            _ => (k, v),
        })
        .collect();
    serde_path_to_error::deserialize(Value::Object(present)).map_err(|e| {
        let field = e
            .path()
            .iter()
            .next()
            .map_or_else(|| "arguments".to_string(), |s| s.to_string());
        let detail = e.inner().to_string();
        ToolError::validation(&field, format!("{field} {detail}"), json!({}))
    })
}

fn properties(schema: &JsonObject) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn check_object(args: &Map<String, Value>, schema: &JsonObject) -> Result<(), ToolError> {
    let props = properties(schema);
    let mut allowed: Vec<&str> = props.keys().map(String::as_str).collect();
    allowed.sort_unstable();
    if let Some(unknown) = args.keys().find(|k| !props.contains_key(*k)) {
        return Err(ToolError::validation(
            unknown,
            format!(
                "unknown argument {unknown:?}; this tool accepts: {}",
                if allowed.is_empty() {
                    "no arguments".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
            json!({"allowed": allowed}),
        ));
    }
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        if !args.contains_key(name) {
            let mut context = json!({});
            if let Some(choices) = props.get(name).and_then(|p| p.get("enum")) {
                context = json!({"allowed": choices});
            }
            let hint = props
                .get(name)
                .and_then(|p| p.get("enum"))
                .and_then(Value::as_array)
                .map(|c| format!(": one of {}", join(c)))
                .unwrap_or_default();
            return Err(ToolError::validation(
                name,
                format!("{name} is required{hint}"),
                context,
            ));
        }
    }
    for (name, value) in args {
        if let Some(Value::Object(rule)) = props.get(name) {
            check_value(name, value, rule)?;
        }
    }
    Ok(())
}

fn join(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON types `rule` admits (`type` may be a string or a list).
fn types(rule: &JsonObject) -> Vec<&str> {
    match rule.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn check_value(field: &str, value: &Value, rule: &JsonObject) -> Result<(), ToolError> {
    let admitted = types(rule);
    let is = |t: &str| admitted.contains(&t);
    if let Some(choices) = rule.get("enum").and_then(Value::as_array) {
        if !choices.contains(value) {
            return Err(ToolError::validation(
                field,
                format!("{field} must be one of {}", join(choices)),
                json!({"allowed": choices, "received": truncate_for_echo(value)}),
            ));
        }
        return Ok(());
    }
    match value {
        Value::Bool(_) if is("boolean") => Ok(()),
        Value::Number(n) if is("integer") || is("number") => {
            let (min, max) = (rule.get("minimum"), rule.get("maximum"));
            let integral = n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            });
            let range = json!({"minimum": min, "maximum": max, "received": value});
            let bounds = match (min, max) {
                (Some(a), Some(b)) => format!(" between {a} and {b}"),
                (Some(a), None) => format!(" of at least {a}"),
                _ => String::new(),
            };
            let Some(n) = integral.filter(|_| is("integer")) else {
                return Err(ToolError::validation(
                    field,
                    format!("{field} must be an integer{bounds}"),
                    range,
                ));
            };
            let below = min.and_then(Value::as_i64).is_some_and(|m| n < m);
            let above = max.and_then(Value::as_i64).is_some_and(|m| n > m);
            if below || above {
                return Err(ToolError::validation(
                    field,
                    format!("{field} must be{bounds}, got {n}"),
                    range,
                ));
            }
            Ok(())
        }
        Value::String(s) if is("string") => {
            let length = s.chars().count();
            if s.trim().is_empty()
                || rule
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| (length as u64) < m)
            {
                return Err(ToolError::validation(
                    field,
                    format!("{field} must be a non-empty string"),
                    json!({"received": truncate_for_echo(value)}),
                ));
            }
            if let Some(max) = rule.get("maxLength").and_then(Value::as_u64)
                && length as u64 > max
            {
                return Err(ToolError::validation(
                    field,
                    format!("{field} is longer than {max} characters"),
                    json!({"maximum": max}),
                ));
            }
            Ok(())
        }
        Value::Array(items) if is("array") => {
            if let Some(max) = rule.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                return Err(ToolError::validation(
                    field,
                    format!("{field} takes at most {max} items, got {}", items.len()),
                    json!({"maximum": max}),
                ));
            }
            if let Some(min) = rule.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                return Err(ToolError::validation(
                    field,
                    format!("{field} must name at least {min} item(s)"),
                    json!({"minItems": min}),
                ));
            }
            if let Some(Value::Object(item_rule)) = rule.get("items") {
                for item in items {
                    check_value(field, item, item_rule)?;
                }
            }
            Ok(())
        }
        // A free-form object (the API parameters of aws_read): its content
        // is checked by whoever takes it.
        Value::Object(_) if is("object") => Ok(()),
        _ => Err(ToolError::validation(
            field,
            format!("{field} must be {}", describe(&admitted)),
            json!({"received": truncate_for_echo(value)}),
        )),
    }
}

fn describe(types: &[&str]) -> String {
    let names: Vec<&str> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "boolean" => "true or false",
            "integer" => "an integer",
            "number" => "a number",
            "string" => "a string",
            "array" => "an array",
            _ => "an object",
        })
        .collect();
    if names.is_empty() {
        "a valid value".to_string()
    } else {
        names.join(" or ")
    }
}

/// Echoes at most 100 characters of a rejected value back to the caller.
pub(crate) fn truncate_for_echo(value: &Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > 100 => {
            Value::String(format!("{}…", s.chars().take(100).collect::<String>()))
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value.clone(),
        Value::Null => Value::String("<null>".into()),
        Value::Array(_) => Value::String("<array>".into()),
        Value::Object(_) => Value::String("<object>".into()),
    }
}

/// A closed set of string choices as a type: its schema is a string `enum`,
/// its `Deserialize` accepts exactly those strings.
macro_rules! choice {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every choice, in schema order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The choice as written in arguments.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                $name::ALL.iter().copied().find(|c| c.as_str() == text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "must be one of {}",
                        $name::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                    ))
                })
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "enum": [$($text),+]})
            }
        }
    };
}

pub(crate) use choice;

choice! {
    /// A severity threshold (seed 000).
    pub enum Threshold {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
}

impl Threshold {
    /// The lowest severity included.
    pub fn severity(self) -> posture_core::Severity {
        match self {
            Threshold::Low => posture_core::Severity::Low,
            Threshold::Medium => posture_core::Severity::Medium,
            Threshold::High => posture_core::Severity::High,
            Threshold::Critical => posture_core::Severity::Critical,
        }
    }
}

/// Arguments of a tool that takes none.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The short name of a loaded framework (`CIS`, `NIST`, ...): the schema's
/// `enum` is filled with the loaded frameworks when the tools are
/// registered, and arguments are checked against it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FrameworkName(pub String);

impl FrameworkName {
    /// CIS, the default framework of the tools that take one.
    pub fn cis() -> FrameworkName {
        FrameworkName("CIS".to_string())
    }
}

impl schemars::JsonSchema for FrameworkName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FrameworkName".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", FRAMEWORK_ENUM_MARKER: true})
    }
}

/// Defaults named for `#[serde(default = ...)]`.
pub mod default {
    /// `true`.
    pub fn yes() -> bool {
        true
    }

    /// MEDIUM.
    pub fn medium() -> super::Threshold {
        super::Threshold::Medium
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Arguments of a test tool.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        /// Days back.
        #[serde(default = "thirty")]
        #[schemars(range(min = 1, max = 365))]
        days: u32,
        /// A flag.
        #[serde(default)]
        flag: bool,
        /// Names.
        #[serde(default)]
        #[schemars(length(max = 2))]
        names: Vec<String>,
        /// Frameworks.
        #[serde(default)]
        framework: Option<String>,
        /// An account.
        account_id: Option<posture_core::ids::AccountId>,
    }

    fn thirty() -> u32 {
        30
    }

    fn call(v: Value) -> Result<Sample, ToolError> {
        let schema = input_schema::<Sample>();
        parse(v.as_object().unwrap(), &schema)
    }

    #[test]
    fn the_schema_carries_ranges_defaults_and_descriptions() {
        let s = input_schema::<Sample>();
        let days = &s["properties"]["days"];
        assert_eq!(
            (days["minimum"].clone(), days["maximum"].clone()),
            (json!(1), json!(365))
        );
        assert_eq!(days["default"], 30);
        assert_eq!(days["description"], "Days back.");
        assert_eq!(s["properties"]["names"]["maxItems"], 2);
        assert_eq!(s["properties"]["account_id"]["pattern"], "^[0-9]{12}$");
        // Optional: not required, published as a plain string.
        assert_eq!(s["properties"]["account_id"]["type"], "string");
        assert!(s["properties"]["account_id"].get("default").is_none());
        assert_eq!(s["additionalProperties"], false);
        assert!(s.get("$schema").is_none() && s.get("title").is_none());
    }

    #[test]
    fn each_refusal_names_its_field() {
        for (args, field) in [
            (json!({"days": 0}), "days"),
            (json!({"days": 366}), "days"),
            (json!({"days": 2.5}), "days"),
            (json!({"days": "5"}), "days"),
            (json!({"flag": "yes"}), "flag"),
            (json!({"names": ["a", "b", "c"]}), "names"),
            (json!({"names": [1]}), "names"),
            (json!({"dayz": 3}), "dayz"),
            (json!({"account_id": "12345"}), "account_id"),
        ] {
            let e = call(args.clone()).unwrap_err();
            assert_eq!(e.context["field"], field, "{args}: {e:?}");
            assert_eq!(e.error_type, crate::error::ErrorType::ValidationError);
        }
    }

    #[test]
    fn absent_and_null_take_the_default() {
        let s = call(json!({"days": null, "flag": true})).unwrap();
        assert_eq!((s.days, s.flag), (30, true));
        let s = call(json!({"days": 3.0})).unwrap();
        assert_eq!(s.days, 3);
        let s = call(json!({})).unwrap();
        assert_eq!((s.days, s.flag, s.names.len(), s.framework), (30, false, 0, None));
        let s = call(json!({"account_id": "123456789012"})).unwrap();
        assert_eq!(s.account_id.unwrap().as_str(), "123456789012");
    }

    #[test]
    fn framework_enums_are_filled_from_the_loaded_frameworks() {
        let mut v = json!({"properties": {"framework": {"type": "string", FRAMEWORK_ENUM_MARKER: true}}});
        fill_frameworks(&mut v, &["CIS".to_string(), "NIST".to_string()]);
        assert_eq!(v["properties"]["framework"]["enum"], json!(["CIS", "NIST"]));
        assert!(v["properties"]["framework"].get(FRAMEWORK_ENUM_MARKER).is_none());
    }
}
