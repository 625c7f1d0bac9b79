//! One structured JSON audit line per tool call, with secrets masked.

use serde_json::{Map, Value};
use std::time::Duration;

/// Who called, as established by the transport (never taken from a header a
/// client can set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// The request id the transport assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

const SECRET_MARKERS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "credential",
    "session",
    "private",
    "signature",
    "authorization",
    "access_key",
    "accesskey",
    "apikey",
    "api_key",
];

/// Whether a key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| k.contains(m))
}

/// Whether a value looks like an AWS credential (access key ids, secret keys).
fn looks_like_credential(text: &str) -> bool {
    let access_key = text.len() == 20
        && (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let secret_key = text.len() == 40
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+')
        && text.chars().any(|c| c.is_ascii_lowercase())
        && text.chars().any(|c| c.is_ascii_uppercase());
    access_key || secret_key
}

/// A copy of `value` with secret-named fields and credential-looking strings
/// replaced by `***`.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = if is_secret_key(k) {
                        Value::String("***".into())
                    } else {
                        mask(v)
                    };
                    (k.clone(), masked)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        Value::String(s) if looks_like_credential(s) => Value::String("***".into()),
        other => other.clone(),
    }
}

/// Longest audit rendering of a call's arguments: a caller cannot make the
/// log grow faster than the calls it makes (200 calls of 1 MB once wrote
/// 200 MB of log).
pub const AUDIT_ARGUMENTS_MAX_BYTES: usize = 2048;

/// Longest string kept whole in the audit line, and most array items listed.
const AUDIT_STRING_CHARS: usize = 200;
const AUDIT_ARRAY_ITEMS: usize = 20;

/// The audit rendering of (masked) `arguments`: long strings and arrays
/// shortened, saying how much was left out, and the whole bounded by
/// [`AUDIT_ARGUMENTS_MAX_BYTES`].
pub fn audit_arguments(arguments: &Value) -> String {
    fn shorten(value: &Value) -> Value {
        match value {
            Value::String(s) if s.chars().count() > AUDIT_STRING_CHARS => Value::String(format!(
                "{}… ({} chars)",
                s.chars().take(AUDIT_STRING_CHARS).collect::<String>(),
                s.chars().count()
            )),
            Value::Array(items) if items.len() > AUDIT_ARRAY_ITEMS => {
                let mut kept: Vec<Value> = items.iter().take(AUDIT_ARRAY_ITEMS).map(shorten).collect();
                kept.push(Value::String(format!("… ({} items)", items.len())));
                Value::Array(kept)
            }
            Value::Array(items) => Value::Array(items.iter().map(shorten).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shorten(v))).collect()),
            other => other.clone(),
        }
    }
    let text = posture_core::secrets::mask(&shorten(&mask(arguments)).to_string());
    if text.len() <= AUDIT_ARGUMENTS_MAX_BYTES {
        return text;
    }
    let mut end = AUDIT_ARGUMENTS_MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Writes the audit line for one tool call.
pub fn record(
    tool: &str,
    caller: &str,
    request_id: &str,
    arguments: &Value,
    elapsed: Duration,
    outcome: &str,
    error_type: Option<&str>,
) {
    let arguments = audit_arguments(arguments);
    tracing::info!(
        target: "audit",
        event = "tool_call",
        tool,
        caller,
        request_id,
        arguments = %arguments,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        outcome,
        error_type = error_type.unwrap_or(""),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_arguments_are_bounded_whatever_the_call_sends() {
        let huge = json!({"control_ids": vec!["x".repeat(10); 100_000], "target": "y".repeat(1_000_000)});
        let line = audit_arguments(&huge);
        assert!(line.len() <= AUDIT_ARGUMENTS_MAX_BYTES + 40, "{}", line.len());
        assert!(
            line.contains("(100000 items)") && line.contains("(1000000 chars)"),
            "{line}"
        );
        let keys = json!({"k": (0..5_000).map(|i| (format!("key{i}"), json!(i))).collect::<Map<String, Value>>()});
        assert!(audit_arguments(&keys).len() <= AUDIT_ARGUMENTS_MAX_BYTES + 40);
        let small = json!({"framework": "CIS", "aws_session_token": "abc"});
        assert_eq!(
            audit_arguments(&small),
            r#"{"aws_session_token":"***","framework":"CIS"}"#
        );
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let v = json!({
            "max_findings": 5,
            "aws_session_token": "IQoJb3JpZ2luX2VjE...",
            "nested": {"SecretAccessKey": "x", "list": ["AKIAIOSFODNN7EXAMPLE", "ok"]},
            "note": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        });
        let m = mask(&v);
        assert_eq!(m["max_findings"], 5);
        assert_eq!(m["aws_session_token"], "***");
        assert_eq!(m["nested"]["SecretAccessKey"], "***");
        assert_eq!(m["nested"]["list"][0], "***");
        assert_eq!(m["nested"]["list"][1], "ok");
        assert_eq!(m["note"], "***");
    }
}
