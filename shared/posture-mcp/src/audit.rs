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
    let arguments = mask(arguments).to_string();
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
