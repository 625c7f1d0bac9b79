//! Argument parsing with the seed's types, enums, ranges and defaults. Every
//! rejection is a `ValidationError` naming the field; unknown arguments are
//! rejected too, so a typo never silently falls back to a default.

use crate::error::ToolError;
use crate::tools::args::truncate_for_echo;
use posture_core::Severity;
use posture_core::severity::THRESHOLD_LABELS;
use serde_json::{Map, Value, json};

/// Arguments of a call, checked field by field.
pub struct Args<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// Wraps the arguments, rejecting any name not in `allowed`.
    pub fn new(map: &'a Map<String, Value>, allowed: &[&str]) -> Result<Args<'a>, ToolError> {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
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
        Ok(Args { map })
    }

    fn present(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// An integer in `[min, max]`, or `default` when absent.
    pub fn integer(&self, field: &str, min: i64, max: i64, default: i64) -> Result<i64, ToolError> {
        let Some(value) = self.present(field) else {
            return Ok(default);
        };
        let range = json!({"minimum": min, "maximum": max, "received": value});
        let n = match value {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        };
        let Some(n) = n else {
            return Err(ToolError::validation(
                field,
                format!("{field} must be an integer between {min} and {max}"),
                range,
            ));
        };
        if n < min || n > max {
            return Err(ToolError::validation(
                field,
                format!("{field} must be between {min} and {max}, got {n}"),
                range,
            ));
        }
        Ok(n)
    }

    /// A boolean, or `default` when absent.
    pub fn boolean(&self, field: &str, default: bool) -> Result<bool, ToolError> {
        match self.present(field) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ToolError::validation(
                field,
                format!("{field} must be true or false"),
                json!({"received": other}),
            )),
        }
    }

    /// A severity threshold (`LOW`, `MEDIUM`, `HIGH`, `CRITICAL`).
    pub fn severity(&self, field: &str, default: Severity) -> Result<Severity, ToolError> {
        let Some(value) = self.present(field) else {
            return Ok(default);
        };
        value.as_str().and_then(Severity::parse_threshold).ok_or_else(|| {
            ToolError::validation(
                field,
                format!("{field} must be one of {}", THRESHOLD_LABELS.join(", ")),
                json!({"allowed": THRESHOLD_LABELS, "received": truncate_for_echo(value)}),
            )
        })
    }
}

impl Args<'_> {
    /// A required string that must be one of `allowed`.
    pub fn one_of(&self, field: &str, allowed: &[String]) -> Result<String, ToolError> {
        let value = self.present(field).ok_or_else(|| {
            ToolError::validation(
                field,
                format!("{field} is required: one of {}", allowed.join(", ")),
                json!({"allowed": allowed}),
            )
        })?;
        value
            .as_str()
            .filter(|v| allowed.iter().any(|a| a == v))
            .map(str::to_string)
            .ok_or_else(|| {
                ToolError::validation(
                    field,
                    format!("{field} must be one of {}", allowed.join(", ")),
                    json!({"allowed": allowed, "received": truncate_for_echo(value)}),
                )
            })
    }

    /// A required, non-empty string of at most `max` characters.
    pub fn required_string(&self, field: &str, max: usize) -> Result<String, ToolError> {
        match self.present(field) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => Ok(s.clone()),
            Some(Value::String(s)) if !s.trim().is_empty() => Err(ToolError::validation(
                field,
                format!("{field} is longer than {max} characters"),
                json!({"maximum": max}),
            )),
            Some(other) => Err(ToolError::validation(
                field,
                format!("{field} must be a non-empty string"),
                json!({"received": truncate_for_echo(other)}),
            )),
            None => Err(ToolError::validation(field, format!("{field} is required"), json!({}))),
        }
    }

    /// An array of at most `max` strings, or empty when absent.
    pub fn strings(&self, field: &str, max: usize) -> Result<Vec<String>, ToolError> {
        let Some(value) = self.present(field) else {
            return Ok(Vec::new());
        };
        let items = value.as_array().ok_or_else(|| {
            ToolError::validation(
                field,
                format!("{field} must be an array of strings"),
                json!({"received": truncate_for_echo(value)}),
            )
        })?;
        if items.len() > max {
            return Err(ToolError::validation(
                field,
                format!("{field} takes at most {max} items, got {}", items.len()),
                json!({"maximum": max}),
            ));
        }
        items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ToolError::validation(
                        field,
                        format!("{field} must contain only strings"),
                        json!({"received": truncate_for_echo(v)}),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn integers_are_range_checked() {
        let m = args(json!({"max_findings": 0, "days": 400, "ok": 7, "float": 3.0, "frac": 2.5, "text": "5"}));
        let a = Args::new(&m, &["max_findings", "days", "ok", "float", "frac", "text", "absent"]).unwrap();
        let e = a.integer("max_findings", 1, 1000, 500).unwrap_err();
        assert_eq!(e.context["field"], "max_findings");
        assert!(a.integer("days", 1, 365, 30).is_err());
        assert_eq!(a.integer("ok", 1, 10, 1).unwrap(), 7);
        assert_eq!(a.integer("float", 1, 10, 1).unwrap(), 3);
        assert!(a.integer("frac", 1, 10, 1).is_err());
        assert!(a.integer("text", 1, 10, 1).is_err());
        assert_eq!(a.integer("absent", 1, 10, 4).unwrap(), 4);
    }

    #[test]
    fn unknown_arguments_are_rejected() {
        let m = args(json!({"max_finding": 3}));
        let e = Args::new(&m, &["max_findings"]).err().unwrap();
        assert_eq!(e.context["field"], "max_finding");
    }

    #[test]
    fn severities_accept_only_the_seed_labels() {
        let m = args(json!({"a": "URGENT", "b": "HIGH", "c": 3}));
        let a = Args::new(&m, &["a", "b", "c"]).unwrap();
        assert!(a.severity("a", Severity::Medium).is_err());
        assert_eq!(a.severity("b", Severity::Medium).unwrap(), Severity::High);
        assert!(a.severity("c", Severity::Medium).is_err());
        assert_eq!(a.severity("d", Severity::Medium).unwrap(), Severity::Medium);
    }
}
